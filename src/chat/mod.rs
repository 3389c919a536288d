//! Platform adapters. They only translate: text or events in, `Command` to the app,
//! `Reply` rendered back out. The shell is the first; Slack and Discord follow.

pub mod shell;
