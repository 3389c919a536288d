//! Discord: the HTTP interactions endpoint ([`interactions::routes`]), the gateway
//! connection held by one replica ([`gateway`]), review-thread capture ([`threads`]), the
//! outbox adapter ([`outbox::DiscordAdapter`]), the `/baton` command definition
//! ([`commands`]) and pictures as attachments ([`pictures`]).
//! Like every adapter it only translates: what people send becomes a neutral
//! [`crate::bot::inbound::Inbound`] for [`crate::app::inbound::handle`]; the app decides.

pub mod commands;
pub mod gateway;
pub mod interactions;
pub mod outbox;
pub mod pictures;
pub mod platform;
pub mod threads;

pub use gateway::Gateway;
pub use interactions::{Interactions, routes};
pub use outbox::DiscordAdapter;

use std::sync::Arc;

use serenity::all::{ApplicationId, GuildId};
use serenity::http::{Http, HttpBuilder};

/// serenity's REST client, unbuilt. `api_url` redirects every request to
/// `{api_url}/api/v10/...` (tests, rate-limiting proxies such as twilight-http-proxy).
/// serenity honours a proxy only with its own rate limiter off, so setting `api_url` turns
/// it off: the proxy is then the one that keeps Discord's buckets (429s and `Retry-After`
/// are still honoured by the outbox). `ratelimiter_disabled` alone is for tests.
pub fn http_builder(
    token: &str,
    application_id: Option<u64>,
    api_url: Option<&str>,
    ratelimiter_disabled: bool,
) -> HttpBuilder {
    let mut b =
        HttpBuilder::new(token).ratelimiter_disabled(ratelimiter_disabled || api_url.is_some());
    if let Some(url) = api_url {
        b = b.proxy(url.trim_end_matches('/'));
    }
    if let Some(id) = application_id {
        b = b.application_id(ApplicationId::new(id));
    }
    b
}

/// serenity's REST client (see [`http_builder`]).
pub fn http(
    token: &str,
    application_id: Option<u64>,
    api_url: Option<&str>,
    ratelimiter_disabled: bool,
) -> Arc<Http> {
    Arc::new(http_builder(token, application_id, api_url, ratelimiter_disabled).build())
}

/// The platform name identities and threads are stored under.
pub const PLATFORM: &str = "discord";

/// Discord's user mentions (`<@123>`, `<@!123>`) as baton writes them everywhere (`@123`),
/// with the users mentioned.
pub fn neutral_text(text: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut users = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("<@") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let body = after.strip_prefix('!').unwrap_or(after);
        let digits = body
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(body.len());
        if digits > 0 && body[digits..].starts_with('>') {
            let id = &body[..digits];
            out.push('@');
            out.push_str(id);
            if !users.iter().any(|u| u == id) {
                users.push(id.to_string());
            }
            rest = &body[digits + 1..];
        } else {
            out.push_str("<@");
            rest = after;
        }
    }
    out.push_str(rest);
    (out, users)
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

#[cfg(test)]
mod tests {
    #[test]
    fn mentions_become_neutral() {
        assert_eq!(
            super::neutral_text("action: <@!42> and <@42>, <@x> <@7"),
            (
                "action: @42 and @42, <@x> <@7".to_string(),
                vec!["42".to_string()]
            )
        );
    }
}
