//! Slack as one of `serve`'s platforms: on when a bot token is set. Socket Mode (default)
//! holds a connection; HTTP mode serves `/slack/*` routes. Either way the outbox delivers
//! through [`SlackAdapter`], and people linked by email are looked up, paced, in the
//! background.

use std::sync::Arc;

use anyhow::Context;
use async_trait::async_trait;
use secrecy::ExposeSecret;

use super::{SlackAdapter, SlackBot};
use crate::app::App;
use crate::chat::{Platform, Wired};
use crate::config::{Settings, SlackMode};

pub struct Slack;

#[async_trait]
impl Platform for Slack {
    fn name(&self) -> &'static str {
        super::PLATFORM
    }

    async fn wire(&self, app: &Arc<App>, settings: &Settings) -> anyhow::Result<Option<Wired>> {
        let slack = &settings.slack;
        let Some(token) = &slack.bot_token else {
            return Ok(None);
        };
        let bot = Arc::new(SlackBot::new(
            app.clone(),
            &slack.api_url,
            token.expose_secret(),
            slack.app_token.as_ref().map(|t| t.expose_secret()),
        )?);
        let mut wired = Wired {
            adapter: Arc::new(SlackAdapter { bot: bot.clone() }),
            routes: None,
            connections: Vec::new(),
        };
        // People linked by email are looked up in Slack, paced, beside everything else;
        // their messages wait (retried) until the lookup has reached them.
        let lookups = bot.clone();
        wired.connections.push(Box::new(move |_| {
            Box::pin(async move {
                if let Err(e) = lookups.link_all_by_email(super::people::LOOKUP_PACE).await {
                    tracing::error!(error = %e, "looking up email-linked people in Slack failed");
                }
            })
        }));
        match slack.mode {
            SlackMode::Socket => {
                anyhow::ensure!(
                    slack.app_token.is_some(),
                    "Slack Socket Mode needs BATON_SLACK_APP_TOKEN (an xapp-… app-level token with \
                     connections:write), or set BATON_SLACK_MODE=http"
                );
                tracing::info!(api = %slack.api_url, "Slack: Socket Mode");
                wired.connections.push(Box::new(move |shutdown| {
                    Box::pin(super::socket::run(bot, shutdown))
                }));
            }
            SlackMode::Http => {
                let secret = slack.signing_secret.clone().context(
                    "Slack HTTP mode needs BATON_SLACK_SIGNING_SECRET (Basic Information → Signing Secret)",
                )?;
                tracing::info!(api = %slack.api_url, "Slack: HTTP mode on /slack/events, /slack/commands, /slack/interactions");
                wired.routes = Some(super::http::routes(bot, secret));
            }
        }
        Ok(Some(wired))
    }
}
