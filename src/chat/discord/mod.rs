//! Discord: the HTTP interactions endpoint ([`interactions::routes`]), the outbox adapter
//! ([`outbox::DiscordAdapter`]), the `/baton` command definition ([`commands`]) and
//! pictures as attachments ([`pictures`]).
//! Like every adapter it only translates; the app decides.

pub mod commands;
pub mod interactions;
pub mod outbox;
pub mod pictures;

pub use interactions::{Interactions, routes};
pub use outbox::DiscordAdapter;

use std::sync::Arc;

use serenity::all::{ApplicationId, GuildId};
use serenity::http::{Http, HttpBuilder};

/// Builds serenity's REST client. `api_url` redirects every request to
/// `{api_url}/api/v10/...` (tests, proxies); `ratelimiter_disabled` is for tests only.
pub fn http(
    token: &str,
    application_id: Option<u64>,
    api_url: Option<&str>,
    ratelimiter_disabled: bool,
) -> Arc<Http> {
    let mut b = HttpBuilder::new(token).ratelimiter_disabled(ratelimiter_disabled);
    if let Some(url) = api_url {
        b = b.proxy(url.trim_end_matches('/'));
    }
    if let Some(id) = application_id {
        b = b.application_id(ApplicationId::new(id));
    }
    Arc::new(b.build())
}

/// Registers `/baton` by bulk overwrite (idempotent): in one guild for development (instant),
/// globally otherwise.
pub async fn register_commands(http: &Http, guild: Option<u64>) -> serenity::Result<()> {
    let payload = commands::commands_json();
    match guild {
        Some(g) => http
            .create_guild_commands(GuildId::new(g), &payload)
            .await
            .map(|_| ()),
        None => http.create_global_commands(&payload).await.map(|_| ()),
    }
}
