//! baton: a self-hosted chat-ops bot that runs a company's strategy rhythm.
//!
//! Module map (three rings, see ARCHITECTURE.md):
//! - [`domain`]: pure model, rollup math, cadence rules and parsers.
//! - [`manifest`]: the `org.yaml` schema, validation and diff.
//! - [`app`]: use cases; the only place where domain meets storage.
//! - [`bot`]: `Command` parsing, the neutral `Reply`, and its renderers.
//! - [`chat`]: platform adapters (shell today).
//! - [`store`]: Postgres through sqlx.

pub mod domain;
pub mod manifest;
