//! baton: a self-hosted chat-ops bot that runs a company's strategy rhythm.
//!
//! Module map (three rings, see ARCHITECTURE.md). Each module may use the ones listed
//! below it, never one above (no import cycles):
//!
//! - `src/main.rs`: the CLI, thin.
//! - [`bench`]: the benchmark and soak harness behind `baton bench`.
//! - [`serve`]: `baton serve`'s wiring: ticker, outbox workers, HTTP, the platforms of
//!   [`chat::PLATFORMS`].
//! - [`housekeeping`]: fixed UTC jobs of `serve` on tokio-cron-scheduler (retention, the
//!   idle-review sweep, the daily self-check), each run claimed in Postgres by one replica.
//! - [`doctor`]: `baton doctor`: checks the database, the platforms' credentials, scopes,
//!   channels and permissions, who can be reached, and the calendar link.
//! - [`http`]: health, readiness, metrics and calendar feeds (platform routes are merged in
//!   by `serve`).
//! - [`chat`]: platform adapters (Slack, Discord, the shell, a recording adapter for tests),
//!   the [`chat::Platform`] registry and the router that sends each outbound message to its
//!   recipient's platform(s). Adapters only translate: inbound into
//!   [`bot::inbound::Inbound`], replies out.
//! - [`outbox`]: delivers what the outbox holds, through a [`chat::ChatAdapter`], exactly
//!   once (fencing, recovery).
//! - [`app`]: use cases, including [`app::inbound`], the one entry for everything people
//!   send; the only place where the domain meets storage.
//! - [`delivery`]: what leaves baton (`Target`, `Outbound`) and the `ChatAdapter` trait.
//! - [`bot`]: the bot's language: `Command` parsing, neutral inbound values and `Reply`s,
//!   and the renderers (Slack, Discord, text).
//! - [`store`]: Postgres through sqlx; all SQL lives here and the pool is private to it.
//! - [`manifest`]: the `org.yaml` schema and validation.
//! - [`pictures`]: pure PNG renderers (trend chart, scorecard, strategy map).
//! - [`domain`]: pure model, rollup math, cadence rules and parsers.
//! - [`config`], [`telemetry`], [`metrics`], [`refused`], [`shutdown`], [`clock`],
//!   [`error`]: settings, logging, Prometheus metrics, refused-request counts (logged at
//!   most once per reason per minute), the shutdown flag, time as a parameter, error types.
//! - [`embedded`]: a Postgres of baton's own (the machine's binaries, run as the `postgres`
//!   user when baton runs as root) for `demo` and single-node `serve`.

pub mod app;
pub mod bench;
pub mod bot;
pub mod chat;
pub mod clock;
pub mod config;
pub mod delivery;
pub mod doctor;
pub mod domain;
pub mod embedded;
pub mod error;
pub mod housekeeping;
pub mod http;
pub mod manifest;
pub mod metrics;
pub mod outbox;
pub mod pictures;
pub mod refused;
pub mod serve;
pub mod shutdown;
pub mod store;
pub mod telemetry;
