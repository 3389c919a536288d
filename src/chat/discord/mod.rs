//! Discord: the HTTP interactions endpoint ([`interactions::routes`]), the gateway
//! connection held by one replica ([`gateway`]), review-thread capture ([`threads`]), the
//! outbox adapter ([`outbox::DiscordAdapter`]), the `/baton` command definition
//! ([`commands`]) and pictures as attachments ([`pictures`]).
//! Like every adapter it only translates; the app decides.

pub mod commands;
pub mod gateway;
pub mod interactions;
pub mod outbox;
pub mod pictures;
pub mod threads;

pub use gateway::Gateway;
pub use interactions::{Interactions, routes};
pub use outbox::DiscordAdapter;

use std::sync::Arc;

use serenity::all::{ApplicationId, GuildId};
use serenity::http::{Http, HttpBuilder};

use crate::app::{Actor, App};
use crate::domain::Source;

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

/// The person behind a Discord user in a guild (or in a DM: `guild` is `None`), mapped
/// through `chat_identities`. `Err` carries the polite refusal; each refusal is logged.
pub(crate) async fn person(
    app: &App,
    user: Option<&str>,
    guild: Option<&str>,
) -> Result<Actor, String> {
    let Some(user) = user else {
        return Err("I could not tell who you are.".into());
    };
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT o.key, p.key FROM chat_identities ci \
         JOIN organisations o ON o.id = ci.org_id \
         JOIN people p ON p.id = ci.person_id \
         WHERE ci.platform = 'discord' AND ci.user_id = $1 \
           AND ($2::text IS NULL OR ci.workspace = $2) AND p.archived_at IS NULL",
    )
    .bind(user)
    .bind(guild)
    .fetch_all(app.store.pool())
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "discord identity lookup failed");
        "Something went wrong on my side; please try again.".to_string()
    })?;
    match rows.as_slice() {
        [(org, person)] => {
            let org = app.org(Some(org)).await.map_err(|e| e.to_string())?;
            app.actor(org, person, Source::Discord)
                .await
                .map_err(|e| e.to_string())
        }
        [] => {
            let known_guild = match guild {
                Some(g) => sqlx::query_scalar::<_, bool>(
                    "SELECT EXISTS (SELECT 1 FROM chat_identities WHERE platform = 'discord' AND workspace = $1)",
                )
                .bind(g)
                .fetch_one(app.store.pool())
                .await
                .unwrap_or(false),
                None => true,
            };
            if known_guild {
                tracing::warn!(user = %user, guild = ?guild, "unknown discord user");
                Err(format!(
                    "Sorry, I don't know you yet. Ask a baton admin to add your Discord user id ({user}) to the manifest."
                ))
            } else {
                tracing::warn!(user = %user, guild = ?guild, "unknown discord guild");
                Err("Sorry, this Discord server is not connected to a baton organisation.".into())
            }
        }
        _ => {
            tracing::warn!(user = %user, "discord user known in several organisations");
            Err("You belong to several baton organisations; use the command in your organisation's server.".into())
        }
    }
}

/// Records an inbound delivery (interaction or message id); `false` if it was seen before.
/// A failure to record is logged and the delivery handled (better twice than never).
pub(crate) async fn first_delivery(app: &App, org_id: i64, delivery: &str) -> bool {
    match sqlx::query(
        "INSERT INTO inbound_events (org_id, delivery_id, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(org_id)
    .bind(delivery)
    .bind(app.clock.now())
    .execute(app.store.pool())
    .await
    {
        Ok(r) => r.rows_affected() == 1,
        Err(e) => {
            tracing::error!(error = %e, delivery, "recording a discord delivery failed");
            true
        }
    }
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
