//! baton: a self-hosted chat-ops bot that runs a company's strategy rhythm.
//!
//! Module map (three rings, see ARCHITECTURE.md):
//! - [`domain`]: pure model, rollup math, cadence rules and parsers.
//! - [`manifest`]: the `org.yaml` schema and validation.
//! - [`app`]: use cases; the only place where domain meets storage.
//! - [`bot`]: `Command` parsing, the neutral `Reply`, and its renderers.
//! - [`chat`]: platform adapters (Slack, Discord, the shell) and the router that sends each
//!   outbound message to its recipient's platform(s).
//! - [`store`]: Postgres through sqlx.
//! - [`pictures`]: pure PNG renderers (trend chart, scorecard, strategy map).
//! - [`clock`]: time as a parameter.
//! - [`bench`]: the benchmark harness behind `baton bench`.

pub mod app;
pub mod bench;
pub mod bot;
pub mod chat;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod http;
pub mod manifest;
pub mod metrics;
pub mod outbox;
pub mod pictures;
pub mod serve;
pub mod store;
pub mod telemetry;
