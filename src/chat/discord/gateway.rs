//! Gateway mode: baton's own WebSocket connection to Discord (serenity's [`Client`]), held by
//! exactly one replica.
//!
//! **One holder.** A replica runs the gateway only while it holds a Postgres session-level
//! advisory lock (`pg_try_advisory_lock`, key from the application id, see [`lock_key`])
//! on a connection of its own, kept for as long as it holds the gateway. Replicas without
//! the lock try again every `poll`. The holder checks its lock connection every `poll`
//! (each check bounded by `poll`); when a check fails, Postgres has released (or is about
//! to release) the lock, so the holder stops its shard at once, and then stays out of the
//! race for one takeover delay so that a standby takes over. A replica that takes the lock
//! waits `takeover_delay` (two polls plus the time a shard gets to close) before it
//! identifies, so a holder that has just lost its connection has closed its shard first:
//! there are never two gateway sessions. When a holder dies, its connections drop,
//! Postgres releases the lock and a standby takes over within a poll plus the delay.
//!
//! **The same handling as the endpoint.** INTERACTION_CREATE runs
//! [`interactions::answer`] (commands, autocomplete, buttons, modal submits; interaction
//! ids recorded once across both transports) and posts the answer to the interaction's
//! callback. MESSAGE_CREATE goes to [`threads`] (review threads only).
//!
//! [`interactions::answer`]: super::interactions::answer
//! [`threads`]: super::threads

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::json;
use serenity::Client;
use serenity::all::{
    Context, EventHandler, GatewayIntents, Interaction, Message, Ready, ShardManager,
};
use serenity::client::ClientBuilder;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::shutdown::{Shutdown, is_stopped, pause, stopped};
use crate::store::StoreError;
use crate::store::locks::AdvisoryLock;

use super::interactions::{self, DiscordState, Interactions};
use super::threads::{self, Incoming};
use super::{DiscordAdapter, http_builder};

/// The advisory-lock key of a bot: the first 8 bytes of SHA-256 over
/// `baton:discord-gateway:<application id>` (over the token when no application id is
/// configured). Stable across builds and replicas.
pub fn lock_key(token: &str, application_id: Option<u64>) -> i64 {
    let id = application_id
        .map(|a| a.to_string())
        .unwrap_or_else(|| token.to_string());
    let digest = Sha256::digest(format!("baton:discord-gateway:{id}").as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// The intents baton asks for: guild messages and their content (privileged), which review
/// threads need, or none at all (commands, buttons and modals need no intent).
pub fn intents(message_content: bool) -> GatewayIntents {
    if message_content {
        GatewayIntents::GUILD_MESSAGES | GatewayIntents::MESSAGE_CONTENT
    } else {
        GatewayIntents::empty()
    }
}

/// How long a stopping shard may take to close (serenity needs about half a second).
const STOP_WAIT: Duration = Duration::from_secs(3);

/// After the connection ends on its own (Discord refused the token or the intents), the
/// first wait before trying again; it doubles up to [`MAX_BACKOFF`] so a bad setting does
/// not burn Discord's daily identify allowance.
const FIRST_BACKOFF: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(30 * 60);
/// A connection that lasted this long was healthy: its end starts the backoff afresh.
const HEALTHY_FOR: Duration = Duration::from_secs(10 * 60);

/// The wait after a connection that ended on its own, having lasted `held`, and the
/// backoff for the next such end. Pure.
fn after_failure(backoff: Duration, held: Duration, first: Duration) -> (Duration, Duration) {
    let wait = if held >= HEALTHY_FOR { first } else { backoff };
    (wait, (wait * 2).min(MAX_BACKOFF))
}

/// Everything the gateway runner needs. Build with [`Gateway::new`].
#[derive(Clone)]
pub struct Gateway {
    app: Arc<App>,
    token: String,
    application_id: Option<u64>,
    api_url: Option<String>,
    ratelimiter_disabled: bool,
    intents: GatewayIntents,
    lock_key: i64,
    poll: Duration,
    takeover_delay: Duration,
    /// Counts gateway events handled to the end (tests wait on it).
    handled: Arc<watch::Sender<u64>>,
    /// Counts tries of the gateway lock, whatever their outcome (tests wait on it).
    lock_attempts: Arc<watch::Sender<u64>>,
}

impl Gateway {
    pub fn new(
        app: Arc<App>,
        token: &str,
        application_id: Option<u64>,
        api_url: Option<&str>,
    ) -> Gateway {
        Gateway {
            app,
            token: token.to_string(),
            application_id,
            api_url: api_url.map(str::to_string),
            ratelimiter_disabled: false,
            intents: intents(true),
            lock_key: lock_key(token, application_id),
            poll: Duration::ZERO,
            takeover_delay: Duration::ZERO,
            handled: Arc::new(watch::channel(0).0),
            lock_attempts: Arc::new(watch::channel(0).0),
        }
        .poll(Duration::from_secs(5))
    }

    /// How often a standby tries the lock and the holder checks it. The takeover delay
    /// becomes what a holder that lost its lock needs to notice (a poll and a bounded check)
    /// and to close its shard.
    pub fn poll(mut self, poll: Duration) -> Gateway {
        self.poll = poll;
        self.takeover_delay = poll * 2 + STOP_WAIT;
        self
    }

    /// Overrides the takeover delay. Shorter than the default risks two sessions for a
    /// moment after a holder loses its lock; tests with a single runner use zero.
    pub fn takeover_delay(mut self, delay: Duration) -> Gateway {
        self.takeover_delay = delay;
        self
    }

    pub fn intents(mut self, intents: GatewayIntents) -> Gateway {
        self.intents = intents;
        self
    }

    /// Tests only: serenity ignores a proxy URL while its rate limiter is on.
    pub fn ratelimiter_disabled(mut self, disabled: bool) -> Gateway {
        self.ratelimiter_disabled = disabled;
        self
    }

    pub fn key(&self) -> i64 {
        self.lock_key
    }

    /// The number of gateway events (interactions, messages) handled to the end, answers
    /// sent included.
    pub fn handled(&self) -> watch::Receiver<u64> {
        self.handled.subscribe()
    }

    /// The number of times this runner has tried the gateway lock (counted once the try
    /// has an answer, before a won lock is held).
    pub fn lock_attempts(&self) -> watch::Receiver<u64> {
        self.lock_attempts.subscribe()
    }

    /// A connection of its own holding the lock, or `None` if another replica holds it.
    async fn try_lock(&self) -> Result<Option<AdvisoryLock>, StoreError> {
        let tried = self.app.store.try_advisory_lock(self.lock_key).await;
        self.lock_attempts.send_modify(|n| *n += 1);
        tried
    }

    /// Whether the lock connection is still there (the lock lives as long as it does).
    async fn still_holding(&self, lock: &mut AdvisoryLock) -> bool {
        matches!(
            tokio::time::timeout(self.poll, lock.ping()).await,
            Ok(Ok(()))
        )
    }

    /// Starts serenity's client (one shard) in a task of its own.
    async fn start(&self) -> serenity::Result<Running> {
        let http = http_builder(
            &self.token,
            self.application_id,
            self.api_url.as_deref(),
            self.ratelimiter_disabled,
        )
        .build();
        let handler = Handler {
            handled: self.handled.clone(),
            state: DiscordState {
                app: self.app.clone(),
                cfg: Interactions::gateway(None),
            },
        };
        let mut client: Client = ClientBuilder::new_with_http(http, self.intents)
            .event_handler(handler)
            .await?;
        let manager = client.shard_manager.clone();
        let task = tokio::spawn(async move { client.start().await });
        Ok(Running {
            manager,
            task: Some(task),
        })
    }

    /// Holds the lock: runs the gateway until shutdown, until the lock connection is lost,
    /// or until the connection ends on its own.
    async fn hold(&self, mut lock: AdvisoryLock, shutdown: &Shutdown) -> Ended {
        let mut rx = shutdown.subscribe();
        tracing::info!(key = self.lock_key, "took the Discord gateway lock");
        // A holder that has just lost its lock connection stops its shard within this.
        pause(self.takeover_delay, &mut rx).await;
        if is_stopped(&rx) {
            return Ended::Shutdown;
        }
        if !self.still_holding(&mut lock).await {
            return Ended::LockLost;
        }
        let mut running = match self.start().await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the Discord gateway client");
                return Ended::Failed;
            }
        };
        tracing::info!("Discord gateway: connecting");
        let mut ended = Ended::Shutdown;
        let why = loop {
            let task = running.task.as_mut().expect("running until stopped");
            tokio::select! {
                _ = stopped(&mut rx) => break "shutting down",
                r = task => {
                    running.task = None;
                    ended = Ended::Failed;
                    match r {
                        Ok(Err(e)) => tracing::error!(error = %e, "the Discord gateway connection failed"),
                        Ok(Ok(())) => tracing::error!("the Discord gateway connection ended"),
                        Err(e) => tracing::error!(error = %e, "the Discord gateway task failed"),
                    }
                    break "the connection ended";
                }
                _ = tokio::time::sleep(self.poll) => {
                    if !self.still_holding(&mut lock).await {
                        ended = Ended::LockLost;
                        break "lost the lock connection (another replica may take over)";
                    }
                }
            }
        };
        running.stop().await;
        tracing::info!(why, "stopped the Discord gateway");
        // Closing the connection releases the lock (if Postgres had not already).
        let _ = lock.close().await;
        ended
    }
}

/// Why a replica stopped holding the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Shutdown,
    /// The lock connection failed its check: stay out of the race for a takeover delay.
    LockLost,
    /// The connection ended on its own (Discord refused the token or the intents).
    Failed,
}

/// A started client. Stopping closes its shard; dropping it without [`Running::stop`] (the
/// runner's task was aborted) closes the shard in the background.
struct Running {
    manager: Arc<ShardManager>,
    task: Option<JoinHandle<serenity::Result<()>>>,
}

impl Running {
    async fn stop(mut self) {
        if tokio::time::timeout(STOP_WAIT, self.manager.shutdown_all())
            .await
            .is_err()
        {
            tracing::warn!("the Discord shard did not close in time; dropping it");
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let Some(task) = self.task.take() else {
            return;
        };
        task.abort();
        // The shard runs in serenity's own tasks: tell them to close the connection.
        let manager = self.manager.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { manager.shutdown_all().await });
        }
    }
}

/// Runs gateway mode until shutdown: waits for the lock, holds the gateway while it holds
/// the lock, and waits again when it loses it.
pub async fn run(gw: Gateway, shutdown: Shutdown) {
    let mut rx: watch::Receiver<bool> = shutdown.subscribe();
    tracing::info!(
        key = gw.lock_key,
        poll_ms = gw.poll.as_millis() as u64,
        "Discord gateway mode: waiting for the gateway lock"
    );
    let mut backoff = FIRST_BACKOFF.max(gw.poll);
    while !is_stopped(&rx) {
        let wait = match gw.try_lock().await {
            Ok(Some(lock)) => match (Instant::now(), gw.hold(lock, &shutdown).await) {
                (since, Ended::Failed) => {
                    let (w, next) =
                        after_failure(backoff, since.elapsed(), FIRST_BACKOFF.max(gw.poll));
                    tracing::warn!(
                        retry_s = w.as_secs(),
                        "the Discord gateway stopped on its own; trying again later"
                    );
                    backoff = next;
                    w
                }
                (_, Ended::LockLost) => gw.takeover_delay.max(gw.poll),
                (_, Ended::Shutdown) => gw.poll,
            },
            Ok(None) => {
                tracing::trace!("another replica holds the Discord gateway");
                gw.poll
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot try the Discord gateway lock; retrying");
                gw.poll
            }
        };
        pause(wait, &mut rx).await;
    }
    tracing::info!("Discord gateway mode stopped");
}

/// serenity's event handler: interactions and review-thread messages.
struct Handler {
    state: DiscordState,
    handled: Arc<watch::Sender<u64>>,
}

/// Discord's interaction type number (serenity's enum does not serialise it).
fn kind(i: &Interaction) -> Option<u8> {
    Some(match i {
        Interaction::Ping(_) => 1,
        Interaction::Command(_) => 2,
        Interaction::Component(_) => 3,
        Interaction::Autocomplete(_) => 4,
        Interaction::Modal(_) => 5,
        _ => return None,
    })
}

/// serenity's interaction back in Discord's own JSON, as the endpoint receives it.
fn discord_json(i: &Interaction) -> Option<serde_json::Value> {
    let mut v = serde_json::to_value(i).ok()?;
    v["type"] = json!(kind(i)?);
    Some(v)
}

fn neutral(i: &Interaction) -> Option<interactions::Interaction> {
    serde_json::from_value(discord_json(i)?).ok()
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        tracing::info!(
            session = %ready.session_id,
            user = %ready.user.name,
            guilds = ready.guilds.len(),
            "Discord gateway ready"
        );
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        self.interaction(&ctx, &interaction).await;
        self.done();
    }

    async fn message(&self, ctx: Context, msg: Message) {
        let m = Incoming {
            id: msg.id.to_string(),
            channel_id: msg.channel_id.to_string(),
            guild_id: msg.guild_id.map(|g| g.to_string()),
            author_id: msg.author.id.to_string(),
            author_is_bot: msg.author.bot || msg.webhook_id.is_some(),
            content: msg.content,
        };
        let app = &self.state.app;
        let out = DiscordAdapter::new(app.clone(), ctx.http.clone());
        let outcome = threads::on_message(app, &out, &m).await;
        tracing::debug!(id = %m.id, ?outcome, "discord message");
        self.done();
    }
}

impl Handler {
    fn done(&self) {
        self.handled.send_modify(|n| *n += 1);
    }

    async fn interaction(&self, ctx: &Context, interaction: &Interaction) {
        let Some(i) = neutral(interaction).filter(|_| kind(interaction) != Some(1)) else {
            tracing::warn!(id = %interaction.id(), "an interaction baton cannot read");
            return;
        };
        // Deferred answers are finished through the client's own REST (its application id
        // is set from READY).
        let mut state = self.state.clone();
        state.cfg.followup = Some(ctx.http.clone());
        let Some(body) = interactions::answer(&state, i).await else {
            return;
        };
        if let Err(e) = ctx
            .http
            .create_interaction_response(interaction.id(), interaction.token(), &body, vec![])
            .await
        {
            tracing::warn!(error = %e, "answering a Discord interaction failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_back_off_and_a_healthy_connection_starts_afresh() {
        let first = FIRST_BACKOFF;
        let quick = Duration::from_secs(2);
        // Refused again and again: 30 s, 60 s, 120 s … up to 30 minutes.
        let (w1, b) = after_failure(first, quick, first);
        let (w2, b) = after_failure(b, quick, first);
        let (w3, _) = after_failure(b, quick, first);
        assert_eq!((w1, w2, w3), (first, first * 2, first * 4));
        assert_eq!(after_failure(MAX_BACKOFF, quick, first).1, MAX_BACKOFF);
        // After a session that ran for an hour, the next end waits the first step again.
        let (w, next) = after_failure(MAX_BACKOFF, Duration::from_secs(3600), first);
        assert_eq!((w, next), (first, first * 2));
    }

    #[test]
    fn lock_keys_are_stable_and_per_bot() {
        let a = lock_key("token-a", Some(1187000000000000001));
        assert_eq!(a, lock_key("token-b", Some(1187000000000000001)));
        assert_ne!(a, lock_key("token-a", Some(1187000000000000002)));
        assert_ne!(lock_key("token-a", None), lock_key("token-b", None));
        // Pinned: replicas running different builds must agree.
        assert_eq!(lock_key("x", Some(42)), -3460944663195539763);
    }

    /// What the shared handler reads survives serenity's model: options (focused ones
    /// too), custom ids and modal values, ids, token and the user.
    #[test]
    fn interactions_keep_what_the_handler_reads() {
        let base = json!({"id": "1187000000000000901", "application_id": "42",
            "guild_id": "5", "channel_id": "6", "token": "tok", "version": 1, "locale": "en-GB",
            "entitlements": [], "attachment_size_limit": 26214400,
            "member": {"user": {"id": "77", "username": "u", "discriminator": "0",
                "global_name": null, "avatar": null}, "roles": [], "joined_at": null,
                "deaf": false, "mute": false, "flags": 0},
            // The message a button is on (commands and modals ignore it).
            "message": {"id": "9", "channel_id": "6", "content": "", "tts": false,
                "author": {"id": "42", "username": "baton", "discriminator": "0",
                    "global_name": null, "avatar": null, "bot": true},
                "timestamp": "2026-11-19T14:00:00.000000+00:00", "edited_timestamp": null,
                "mention_everyone": false, "mentions": [], "mention_roles": [],
                "attachments": [], "embeds": [], "pinned": false, "type": 0}});
        let parse = |kind: u8, data: serde_json::Value| -> Interaction {
            let mut v = base.clone();
            v["type"] = json!(kind);
            v["data"] = data;
            serde_json::from_value(v).expect("serenity reads it")
        };
        let with = |kind, data| discord_json(&parse(kind, data)).expect("and writes it back");
        let v = with(
            4,
            json!({"id": "1", "name": "baton", "type": 1, "options": [{"name": "kr", "type": 1,
                "options": [{"name": "code", "type": 3, "value": "eo-", "focused": true}]}]}),
        );
        assert_eq!(v["type"], 4);
        assert_eq!(v["id"], "1187000000000000901");
        assert_eq!(v["token"], "tok");
        assert_eq!(v["guild_id"], "5");
        assert_eq!(v["member"]["user"]["id"], "77");
        let (def, typed) = super::super::commands::focused(&v["data"]).expect("focused");
        assert_eq!((def.name, typed.as_str()), ("code", "eo-"));
        let v = with(
            5,
            json!({"custom_id": "checkin:EO-K1", "components": [{"type": 1, "components": [
                {"type": 4, "custom_id": "value", "value": "8", "style": 1, "label": "Value"}]}]}),
        );
        assert_eq!(v["type"], 5);
        assert_eq!(v["data"]["custom_id"], "checkin:EO-K1");
        assert_eq!(
            v["data"]["components"][0]["components"][0]["custom_id"],
            "value"
        );
        assert_eq!(v["data"]["components"][0]["components"][0]["value"], "8");
        let v = with(
            3,
            json!({"custom_id": "baton:review_next:1", "component_type": 2}),
        );
        assert_eq!(v["data"]["custom_id"], "baton:review_next:1");
        assert!(neutral(&parse(2, json!({"id": "1", "name": "baton", "type": 1}))).is_some());
    }

    #[test]
    fn message_content_is_asked_for_only_when_wanted() {
        assert!(intents(true).contains(GatewayIntents::MESSAGE_CONTENT));
        assert!(intents(true).contains(GatewayIntents::GUILD_MESSAGES));
        assert!(intents(false).is_empty());
    }
}
