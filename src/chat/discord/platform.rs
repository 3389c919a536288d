//! Discord as one of `serve`'s platforms: on when a bot token is set. The interactions
//! endpoint is served whenever a public key is set; gateway mode holds one connection per
//! deployment (see [`super::gateway`]). The outbox delivers through [`DiscordAdapter`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::ExposeSecret;

use super::{DiscordAdapter, Gateway, Interactions};
use crate::app::App;
use crate::chat::{Platform, Wired};
use crate::config::{DiscordMode, Settings};

pub struct Discord;

#[async_trait]
impl Platform for Discord {
    fn name(&self) -> &'static str {
        super::PLATFORM
    }

    async fn wire(&self, app: &Arc<App>, settings: &Settings) -> anyhow::Result<Option<Wired>> {
        let d = &settings.discord;
        let Some(token) = &d.bot_token else {
            return Ok(None);
        };
        let http = super::http(
            token.expose_secret(),
            d.application_id,
            d.api_url.as_deref(),
            false,
        );
        if d.application_id.is_some() {
            match super::register_commands(&http, d.guild_id).await {
                Ok(()) => tracing::info!(guild = ?d.guild_id, "registered /baton on Discord"),
                Err(e) => tracing::error!(error = %e, "registering /baton on Discord failed"),
            }
        }
        if d.mode() == DiscordMode::Http {
            anyhow::ensure!(
                d.public_key.is_some(),
                "Discord HTTP mode needs BATON_DISCORD_PUBLIC_KEY (General Information → Public Key), \
                 or leave BATON_DISCORD_MODE unset for gateway mode"
            );
        }
        let mut wired = Wired {
            adapter: Arc::new(DiscordAdapter::new(app.clone(), http.clone())),
            routes: None,
            connections: Vec::new(),
        };
        // The endpoint is served whenever a public key is set (in gateway mode too: Discord
        // sends interactions to the endpoint once its URL is set in the portal); interaction
        // ids are recorded once across both.
        if let Some(key) = &d.public_key {
            match Interactions::new(
                key.expose_secret(),
                Some(http.clone()).filter(|_| d.application_id.is_some()),
            ) {
                Ok(cfg) => wired.routes = Some(super::routes(app.clone(), cfg)),
                // The rest of baton still runs; Discord's endpoint check will fail visibly.
                Err(e) => tracing::error!(error = %e, "the Discord interactions endpoint is off"),
            }
        }
        if d.mode() == DiscordMode::Gateway {
            tracing::info!(
                message_content = d.message_content,
                "Discord: gateway mode (one replica at a time holds the connection)"
            );
            let gateway = Gateway::new(
                app.clone(),
                token.expose_secret(),
                d.application_id,
                d.api_url.as_deref(),
            )
            .poll(Duration::from_secs(d.lock_poll_seconds.get()))
            .intents(super::gateway::intents(d.message_content));
            wired.connections.push(Box::new(move |shutdown| {
                Box::pin(super::gateway::run(gateway, shutdown))
            }));
        }
        Ok(Some(wired))
    }
}
