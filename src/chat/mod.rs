//! Platform adapters. They only translate: what people send becomes one neutral
//! [`crate::bot::inbound::Inbound`] for [`crate::app::inbound::handle`], and `Reply`s are
//! rendered back out. Everything baton says on its own goes through the outbox and reaches
//! a platform through [`ChatAdapter::send`].
//!
//! **Adding a platform** touches its own folder and one line: implement [`Platform`] (build
//! the adapter, its inbound routes or connection from the settings) in `chat/<name>/`, and
//! list it in [`PLATFORMS`]. `serve` wires whatever is listed and configured; the router
//! sends each outbound message to its recipient's platform; the inbound pipeline,
//! identities, de-duplication, threads and button mapping are shared.

pub mod discord;
pub mod recording;
pub mod router;
pub mod shell;
pub mod slack;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;

use crate::app::App;
use crate::config::Settings;
use crate::shutdown::Shutdown;

/// A connection a platform holds until shutdown (Slack Socket Mode, Discord's gateway).
pub type Connection = Box<dyn FnOnce(Shutdown) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// What a configured platform brings to `serve`.
pub struct Wired {
    /// Delivers outbound messages (registered with the router under its platform name).
    pub adapter: Arc<dyn ChatAdapter>,
    /// Inbound over HTTP, merged into the service's router.
    pub routes: Option<axum::Router>,
    /// Run beside the other loops until shutdown.
    pub connections: Vec<Connection>,
}

/// A chat platform baton can run on.
#[async_trait]
pub trait Platform: Sync {
    fn name(&self) -> &'static str;
    /// Wires the platform from the settings; `Ok(None)` when it is not configured.
    async fn wire(&self, app: &Arc<App>, settings: &Settings) -> anyhow::Result<Option<Wired>>;
}

/// Every platform `serve` can wire. Adding a platform adds one line here.
pub static PLATFORMS: &[&dyn Platform] = &[&slack::platform::Slack, &discord::platform::Discord];

pub use crate::delivery::{AdapterError, ChatAdapter, Delivered, Outbound, Recovered, Target};
