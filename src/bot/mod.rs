//! The bot's language: commands in, neutral replies out, and the renderers between the
//! reply and each platform.

pub mod command;
pub mod inbound;
pub mod render;
pub mod reply;

pub use command::{Command, OkrScope};
pub use reply::{Align, Block, Cell, Reply, Table};
