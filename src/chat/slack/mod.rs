//! The Slack adapter. It only translates: slash commands, buttons, modal submissions and DM
//! lines become [`Command`](crate::bot::Command)s run by the app; replies are rendered by
//! [`crate::bot::render::slack`] and delivered through Slack's Web API.
//!
//! - [`SlackBot`] is shared by both connection modes and by the outbox: it holds the app,
//!   the Web API client (slack-morphism's hyper connector, base URL configurable), the
//!   per-channel [`Pacer`] and the identity caches.
//! - [`http`]: HTTP mode (`/slack/events`, `/slack/commands`, `/slack/interactions`),
//!   signature-verified with a 5-minute window; anything forged or stale gets 401.
//! - [`socket`]: Socket Mode. baton speaks the envelope protocol itself (hello, envelopes,
//!   acks) instead of slack-morphism's listener, because that listener acks only after the
//!   callback completes (PLATFORM-NOTES trap 2): here events are acked first and processed
//!   after, and commands are bounded to about one second before the ack.
//! - [`inbound`]: the handlers both modes share, with de-duplication by event id, trigger id
//!   or view id, so retries and re-deliveries store an answer once.
//! - [`files`]: pictures, uploaded with Slack's external file upload flow.
//! - [`fake`]: a fake Slack Web API for tests and `baton bench` only (never built by `serve`).
//!
//! Web API calls go through slack-morphism's session (`http_post`/`http_get` with JSON values),
//! which maps HTTP 429 (with `Retry-After`), other HTTP statuses and `ok: false` to typed errors.
//! Its own rate control is off (it caps chat.postMessage per team, trap 3): pacing is per
//! channel, here.
//!
//! **Never twice.** The outbox calls [`ChatAdapter::send`] once per claim and marks the row
//! sent on success. A post whose response is lost (timeout after Slack accepted it) is retried
//! by the outbox and may appear twice: that window cannot be closed without reading the
//! channel history, so every post carries `metadata.event_payload.key` (the outbox
//! idempotency key) to make such a duplicate identifiable; Slack never replays a post itself.

pub mod fake;
pub mod files;
pub mod http;
pub mod inbound;
pub mod people;
pub mod platform;
pub mod recover;
pub mod socket;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;

use crate::app::App;
use crate::bot::render::slack as render;
use crate::chat::{AdapterError, ChatAdapter, Delivered, Outbound, Recovered, Target};

pub const PLATFORM: &str = "slack";

/// Computes Slack's request signature: `v0=` + hex(HMAC-SHA256(secret, `v0:{ts}:{body}`)).
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// The longest a request's timestamp may differ from now.
pub const MAX_SKEW_SECONDS: i64 = 300;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("missing signature headers")]
    Missing,
    #[error("timestamp outside the 5-minute window")]
    Stale,
    #[error("signature does not match")]
    Forged,
}

impl VerifyError {
    /// The reason label counted on `/metrics`.
    pub fn reason(&self) -> crate::refused::Refusal {
        use crate::refused::Refusal;
        match self {
            VerifyError::Missing => Refusal::MissingSignature,
            VerifyError::Stale => Refusal::StaleTimestamp,
            VerifyError::Forged => Refusal::BadSignature,
        }
    }
}

/// Verifies a request: the timestamp within five minutes of `now` (unix seconds) and the
/// signature matching, compared in constant time.
pub fn verify(
    secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let (Some(ts), Some(sig)) = (timestamp, signature) else {
        return Err(VerifyError::Missing);
    };
    let t: i64 = ts.trim().parse().map_err(|_| VerifyError::Stale)?;
    if now
        .checked_sub(t)
        .is_none_or(|skew| skew.unsigned_abs() > MAX_SKEW_SECONDS.unsigned_abs())
    {
        return Err(VerifyError::Stale);
    }
    let Some(hex_sig) = sig.trim().strip_prefix("v0=") else {
        return Err(VerifyError::Forged);
    };
    let Ok(raw) = hex::decode(hex_sig) else {
        return Err(VerifyError::Forged);
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(b"v0:");
    mac.update(ts.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&raw).map_err(|_| VerifyError::Forged)
}

/// The bot scopes baton needs: the ones `manifests/slack-app.yaml` asks for, in its order
/// (`baton doctor` checks the token against them; the stand-in grants them by default).
pub fn required_scopes() -> Vec<&'static str> {
    const MANIFEST: &str = include_str!("../../../manifests/slack-app.yaml");
    let mut out = Vec::new();
    let mut inside = false;
    for line in MANIFEST.lines() {
        let t = line.trim();
        if t == "bot:" {
            inside = true;
            continue;
        }
        if inside {
            match t.strip_prefix("- ") {
                Some(item) => out.push(item.split('#').next().unwrap_or_default().trim()),
                None if t.is_empty() || t.starts_with('#') => {}
                None => break,
            }
        }
    }
    out
}

/// A Web API failure, classified for the outbox.
pub fn classify(e: &SlackClientError) -> AdapterError {
    match e {
        SlackClientError::RateLimitError(r) => AdapterError::RateLimited {
            retry_after: r.retry_after.unwrap_or(Duration::from_secs(1)),
        },
        SlackClientError::HttpError(h) if h.status_code.is_server_error() => {
            AdapterError::Transient(format!("HTTP {}", h.status_code))
        }
        SlackClientError::HttpError(h) if h.status_code.as_u16() == 408 => {
            AdapterError::Transient(format!("HTTP {}", h.status_code))
        }
        SlackClientError::HttpError(h) => {
            AdapterError::Permanent(format!("HTTP {}", h.status_code))
        }
        SlackClientError::ApiError(a) => match a.code.as_str() {
            "ratelimited" => AdapterError::RateLimited {
                retry_after: Duration::from_secs(1),
            },
            "internal_error" | "fatal_error" | "service_unavailable" | "request_timeout" => {
                AdapterError::Transient(a.code.clone())
            }
            code => AdapterError::Permanent(code.to_string()),
        },
        SlackClientError::ProtocolError(p) => AdapterError::Permanent(p.to_string()),
        other => AdapterError::Transient(other.to_string()),
    }
}

/// Paces posts per channel: a token bucket of `burst` posts refilled at `per_second`.
/// A caller that would wait longer than `max_wait` is told to come back later instead
/// (the outbox reschedules the message), so one busy channel never stalls a worker.
pub struct Pacer {
    per_second: f64,
    burst: f64,
    max_wait: Duration,
    channels: Mutex<HashMap<String, Bucket>>,
    /// Where the bot reads the time for pacing: the monotonic clock, or a test's own.
    clock: PacerClock,
}

/// The time source of a [`Pacer`] as the bot uses it.
pub type PacerClock = Arc<dyn Fn() -> Instant + Send + Sync>;

struct Bucket {
    tokens: f64,
    at: Instant,
    blocked_until: Option<Instant>,
}

impl Pacer {
    pub fn new(per_second: f64, burst: u32, max_wait: Duration) -> Pacer {
        Pacer {
            per_second,
            burst: f64::from(burst.max(1)),
            max_wait,
            channels: Mutex::new(HashMap::new()),
            clock: Arc::new(Instant::now),
        }
    }

    /// Reads the time from `clock` instead of the monotonic clock (tests move it by hand).
    pub fn with_clock(mut self, clock: PacerClock) -> Pacer {
        self.clock = clock;
        self
    }

    /// The pacer's time now.
    pub fn now(&self) -> Instant {
        (self.clock)()
    }

    /// Slack's guidance for chat.postMessage: about one per second per channel, short bursts.
    /// Paced 5 % under the limit, so network jitter between two posts to one channel (a post
    /// that leaves late followed by one on time) does not look like a burst to Slack.
    pub fn slack_default() -> Pacer {
        Pacer::new(0.95, 3, Duration::from_millis(1500))
    }

    /// Reserves a slot on `channel`: how long to wait before posting, or `Err(wait)` when
    /// that is longer than allowed (nothing reserved then).
    pub fn reserve(&self, channel: &str, now: Instant) -> Result<Duration, Duration> {
        let mut map = self.channels.lock().expect("pacer");
        let b = map.entry(channel.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
            blocked_until: None,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        b.at = now;
        let mut wait = if b.tokens >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - b.tokens) / self.per_second)
        };
        if let Some(until) = b.blocked_until {
            wait = wait.max(until.saturating_duration_since(now));
        }
        if wait > self.max_wait {
            return Err(wait);
        }
        b.tokens -= 1.0;
        Ok(wait)
    }

    /// Slack said 429 for this channel: nothing goes there until `retry_after` has passed.
    pub fn block(&self, channel: &str, retry_after: Duration, now: Instant) {
        let mut map = self.channels.lock().expect("pacer");
        let b = map.entry(channel.to_string()).or_insert(Bucket {
            tokens: 0.0,
            at: now,
            blocked_until: None,
        });
        b.tokens = b.tokens.min(0.0);
        b.blocked_until = Some(now + retry_after);
    }
}

/// What Slack mode needs at run time.
pub struct SlackBot {
    pub app: Arc<App>,
    client: Arc<SlackClient<SlackClientHyperHttpsConnector>>,
    bot_token: SlackApiToken,
    app_token: Option<SlackApiToken>,
    pub pacer: Pacer,
    /// (org, person key) → DM channel id.
    dms: Mutex<HashMap<(i64, String), String>>,
    /// How long a slash command may run before it is acked and finished via `response_url`.
    pub ack_budget: Duration,
    /// Events handled so far (including duplicates dropped): lets tests and operators see
    /// that work acked early has finished.
    pub events_done: tokio::sync::watch::Sender<u64>,
}

fn token(s: &str) -> SlackApiToken {
    SlackApiToken::new(SlackApiTokenValue::new(s.to_string()))
}

/// A slack-morphism client for `api_url` that also speaks plain http (local fakes, proxies).
pub fn client(api_url: &str) -> anyhow::Result<SlackClient<SlackClientHyperHttpsConnector>> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    let connector =
        SlackClientHyperConnector::from(https).with_slack_api_url(api_url.trim_end_matches('/'));
    Ok(SlackClient::new(connector))
}

impl SlackBot {
    pub fn new(
        app: Arc<App>,
        api_url: &str,
        bot_token: &str,
        app_token: Option<&str>,
    ) -> anyhow::Result<SlackBot> {
        Ok(SlackBot {
            app,
            client: Arc::new(client(api_url)?),
            bot_token: token(bot_token),
            app_token: app_token.map(token),
            pacer: Pacer::slack_default(),
            dms: Mutex::new(HashMap::new()),
            ack_budget: Duration::from_millis(1000),
            events_done: tokio::sync::watch::channel(0).0,
        })
    }

    pub fn with_pacer(mut self, pacer: Pacer) -> SlackBot {
        self.pacer = pacer;
        self
    }

    /// Calls a Web API method with a JSON body (bot token).
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, SlackClientError> {
        let session = self.client.open_session(&self.bot_token);
        session
            .http_session_api
            .http_post::<Value, Value>(method, body, None)
            .await
    }

    /// Calls a read method with query parameters (bot token).
    pub async fn get(
        &self,
        method: &str,
        params: &[(&str, &str)],
    ) -> Result<Value, SlackClientError> {
        let session = self.client.open_session(&self.bot_token);
        let params: Vec<(&str, Option<&str>)> =
            params.iter().map(|(k, v)| (*k, Some(*v))).collect();
        session
            .http_session_api
            .http_get::<Value, _, &str>(method, &params, None)
            .await
    }

    /// Posts to a `response_url` (an absolute URL from the payload).
    pub async fn respond(&self, response_url: &str, body: &Value) -> anyhow::Result<()> {
        let url: url::Url = response_url.parse()?;
        let session = self.client.open_session(&self.bot_token);
        session
            .http_session_api
            .http_post_uri::<Value, Value>(url, body, None)
            .await?;
        Ok(())
    }

    /// `apps.connections.open` with the app-level token: the Socket Mode WebSocket URL.
    pub async fn socket_url(&self) -> anyhow::Result<String> {
        let app_token = self
            .app_token
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("Socket Mode needs an app-level token (xapp-…)"))?;
        let session = self.client.open_session(app_token);
        let v: Value = session
            .http_session_api
            .http_post("apps.connections.open", &json!({}), None)
            .await?;
        v["url"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow::anyhow!("apps.connections.open returned no url"))
    }

    /// The DM channel with a Slack user (conversations.open).
    pub async fn open_dm(&self, user: &str) -> Result<String, AdapterError> {
        let v = self
            .call("conversations.open", &json!({ "users": user }))
            .await
            .map_err(|e| classify(&e))?;
        v["channel"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| AdapterError::Transient("conversations.open returned no channel".into()))
    }

    async fn department_channel(&self, org_id: i64, dept: &str) -> Result<String, AdapterError> {
        let spec = self
            .app
            .spec(org_id)
            .await
            .map_err(|e| AdapterError::Transient(e.to_string()))?;
        spec.departments
            .iter()
            .find(|d| d.key.as_str() == dept)
            .and_then(|d| d.channels.get(PLATFORM).cloned())
            .ok_or_else(|| {
                AdapterError::Permanent(format!("department `{dept}` has no Slack channel"))
            })
    }

    async fn thread_parent(
        &self,
        org_id: i64,
        dept: &str,
        thread: &str,
    ) -> Result<Option<String>, AdapterError> {
        Ok(self
            .thread_parent_in(org_id, dept, thread)
            .await?
            .map(|(_, ts)| ts))
    }

    /// The channel and `ts` of a baton thread's parent, once posted.
    async fn thread_parent_in(
        &self,
        org_id: i64,
        dept: &str,
        thread: &str,
    ) -> Result<Option<(String, String)>, AdapterError> {
        self.app
            .store
            .thread(org_id, PLATFORM, dept, thread)
            .await
            .map(|t| t.map(|t| (t.channel, t.parent)))
            .map_err(|e| AdapterError::Transient(e.to_string()))
    }

    /// Posts one message to `channel` (optionally in a thread), paced. Returns its `ts`.
    pub async fn post(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        msg: &Outbound,
    ) -> Result<String, AdapterError> {
        Ok(self.post_in(channel, thread_ts, msg).await?.1)
    }

    /// [`SlackBot::post`], also returning the channel Slack posted in: the DM channel when
    /// `channel` is a user id.
    pub async fn post_in(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        msg: &Outbound,
    ) -> Result<(String, String), AdapterError> {
        self.pace(channel).await?;
        let mut body = render::message(&msg.reply);
        body["channel"] = json!(channel);
        body["unfurl_links"] = json!(false);
        body["metadata"] = json!({
            "event_type": "baton_message",
            "event_payload": { "key": msg.idempotency_key, "kind": msg.kind },
        });
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
        }
        match self.call("chat.postMessage", &body).await {
            Ok(v) => Ok((
                v["channel"].as_str().unwrap_or(channel).to_string(),
                v["ts"].as_str().unwrap_or_default().to_string(),
            )),
            Err(e) => Err(self.failed(channel, &e)),
        }
    }

    /// Waits for a slot to post in `channel`, or says how long to come back after.
    async fn pace(&self, channel: &str) -> Result<(), AdapterError> {
        match self.pacer.reserve(channel, self.pacer.now()) {
            Ok(wait) if !wait.is_zero() => tokio::time::sleep(wait).await,
            Ok(_) => {}
            Err(wait) => return Err(AdapterError::RateLimited { retry_after: wait }),
        }
        Ok(())
    }

    /// Classifies a failed post to `channel`; a 429 also holds the channel back.
    fn failed(&self, channel: &str, e: &SlackClientError) -> AdapterError {
        let err = classify(e);
        if let AdapterError::RateLimited { retry_after } = &err {
            // Slack's own 429 (the pacer's waits are baton's and are not counted).
            self.app.metrics.rate_limited(PLATFORM);
            self.pacer.block(channel, *retry_after, self.pacer.now());
        }
        err
    }
}

/// Where a target lands in Slack: the channel, the thread's parent `ts` once posted, and
/// the thread's (department, key) when it is one of baton's threads.
type Place<'a> = (String, Option<String>, Option<(&'a String, &'a String)>);

impl SlackBot {
    /// Resolves a target to a place. A person's DM is their user id until the DM channel is
    /// known, unless `real_dm` asks for the channel itself (`conversations.open`).
    async fn place<'a>(
        &self,
        org_id: i64,
        to: &'a Target,
        real_dm: bool,
    ) -> Result<Place<'a>, AdapterError> {
        Ok(match to {
            Target::Prompted { .. } => return Err(to.not_a_place()),
            Target::Person { person } if real_dm => {
                (self.dm_channel(org_id, person).await?, None, None)
            }
            Target::Person { person } => (self.dm_destination(org_id, person).await?, None, None),
            Target::Channel { department } => (
                self.department_channel(org_id, department).await?,
                None,
                None,
            ),
            Target::Thread { department, thread } => {
                let ch = self.department_channel(org_id, department).await?;
                let parent = self.thread_parent(org_id, department, thread).await?;
                (ch, parent, Some((department, thread)))
            }
        })
    }
}

/// The outbox's view of Slack.
pub struct SlackAdapter {
    pub bot: Arc<SlackBot>,
}

#[async_trait]
impl ChatAdapter for SlackAdapter {
    fn platform(&self) -> &'static str {
        PLATFORM
    }

    #[tracing::instrument(skip_all, fields(org = msg.org_id, kind = %msg.kind))]
    async fn send(&self, to: &Target, msg: &Outbound) -> Result<Delivered, AdapterError> {
        let bot = &self.bot;
        // A DM goes to the user id until Slack has told us the DM channel.
        let (channel, parent, thread) = bot.place(msg.org_id, to, false).await?;
        // Messages with pictures are delivered part by part (see `files`); a retry skips
        // the text when it went out before.
        let pictures = crate::app::pictures::images(&msg.reply).next().is_some();
        let key = &msg.idempotency_key;
        let posted = if pictures {
            bot.part_done(msg.org_id, key, "text").await?.flatten()
        } else {
            None
        };
        let (channel, ts) = match posted {
            // The text went out before: pictures to a person need their DM channel.
            Some(ts) => match to {
                Target::Person { person } => (bot.dm_channel(msg.org_id, person).await?, ts),
                _ => (channel, ts),
            },
            None => {
                let (channel, ts) = bot.post_in(&channel, parent.as_deref(), msg).await?;
                if let Target::Person { person } = to {
                    bot.remember_dm(msg.org_id, person, &channel);
                }
                if let (None, Some((department, thread))) = (&parent, thread) {
                    // The first message of a thread is its parent.
                    bot.remember_parent(msg.org_id, department, thread, &channel, &ts)
                        .await;
                }
                if pictures {
                    bot.part_delivered(msg.org_id, key, "text", &channel, Some(&ts))
                        .await;
                }
                (channel, ts)
            }
        };
        if pictures {
            // In a thread, pictures go under its parent (this message, if it is the parent).
            let under = thread.map(|_| parent.clone().unwrap_or_else(|| ts.clone()));
            bot.outbox_pictures(msg.org_id, key, &msg.reply, &channel, under.as_deref())
                .await?;
        }
        Ok(Delivered {
            message_id: Some(format!("{channel}/{ts}")),
        })
    }

    /// Looks for the message in its channel's history by the key in its metadata (see
    /// [`recover`]). A thread parent found this way is remembered, so the thread goes on
    /// under it; for a message with pictures, a found text is recorded as its first part
    /// and the send goes on with the pictures alone.
    #[tracing::instrument(skip_all, fields(org = msg.org_id, kind = %msg.kind))]
    async fn recover(
        &self,
        to: &Target,
        msg: &Outbound,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Recovered, AdapterError> {
        let bot = &self.bot;
        // History is read by channel id, so a DM needs its real channel.
        let (channel, parent, thread) = bot.place(msg.org_id, to, true).await?;
        let key = &msg.idempotency_key;
        let ts = match bot
            .find_posted(&channel, parent.as_deref(), key, since)
            .await
        {
            Ok(Some(ts)) => ts,
            Ok(None) => return Ok(Recovered::Absent),
            Err(e) => return e.into_recovered(),
        };
        if let (None, Some((department, thread))) = (&parent, thread) {
            bot.remember_parent(msg.org_id, department, thread, &channel, &ts)
                .await;
        }
        if crate::app::pictures::images(&msg.reply).next().is_some() {
            bot.part_delivered(msg.org_id, key, "text", &channel, Some(&ts))
                .await;
            return Ok(Recovered::Absent);
        }
        Ok(recover::landed(&channel, &ts))
    }

    /// `chat.update` of the thread's parent, paced like a post in its channel.
    #[tracing::instrument(skip_all, fields(org = msg.org_id, kind = %msg.kind))]
    async fn edit_parent(
        &self,
        department: &str,
        thread: &str,
        msg: &Outbound,
    ) -> Result<Delivered, AdapterError> {
        let bot = &self.bot;
        let Some((channel, ts)) = bot.thread_parent_in(msg.org_id, department, thread).await?
        else {
            return Err(AdapterError::Transient(format!(
                "thread {thread} has no parent yet"
            )));
        };
        bot.pace(&channel).await?;
        let mut body = render::message(&msg.reply);
        body["channel"] = json!(channel);
        body["ts"] = json!(ts);
        match bot.call("chat.update", &body).await {
            Ok(_) => Ok(Delivered {
                message_id: Some(format!("{channel}/{ts}")),
            }),
            Err(e) => Err(bot.failed(&channel, &e)),
        }
    }
}

impl SlackBot {
    /// Remembers a thread's parent. Failing that is logged loudly, not returned: the post
    /// happened, and later messages of the thread start a new one.
    async fn remember_parent(
        &self,
        org_id: i64,
        department: &str,
        thread: &str,
        channel: &str,
        ts: &str,
    ) {
        let row = crate::store::threads::ThreadRow {
            channel: channel.to_string(),
            parent: ts.to_string(),
            thread_ref: ts.to_string(),
        };
        if let Err(e) = self
            .app
            .store
            .remember_thread(
                org_id,
                PLATFORM,
                department,
                thread,
                &row,
                self.app.clock.now(),
            )
            .await
        {
            tracing::error!(error = %e, "thread parent not stored");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_slacks_documented_vector() {
        let body = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(sign(secret, "1531420618", body.as_bytes()), expected);
        let now = 1531420618 + 10;
        assert_eq!(
            verify(
                secret,
                Some("1531420618"),
                Some(expected),
                body.as_bytes(),
                now
            ),
            Ok(())
        );
        // Six minutes later the same request is stale.
        assert_eq!(
            verify(
                secret,
                Some("1531420618"),
                Some(expected),
                body.as_bytes(),
                now + 360
            ),
            Err(VerifyError::Stale)
        );
        let mut forged = body.to_string();
        forged.push('x');
        assert_eq!(
            verify(
                secret,
                Some("1531420618"),
                Some(expected),
                forged.as_bytes(),
                now
            ),
            Err(VerifyError::Forged)
        );
        assert_eq!(
            verify(secret, None, Some(expected), body.as_bytes(), now),
            Err(VerifyError::Missing)
        );
    }

    #[test]
    fn pacer_allows_a_burst_then_one_per_second() {
        let p = Pacer::new(1.0, 3, Duration::from_millis(1500));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(p.reserve("C1", t0), Ok(Duration::ZERO));
        }
        // The fourth waits a second; another channel does not.
        assert_eq!(p.reserve("C1", t0), Ok(Duration::from_secs(1)));
        assert_eq!(p.reserve("C2", t0), Ok(Duration::ZERO));
        // The fifth would wait two seconds: too long, come back later (nothing reserved).
        assert!(p.reserve("C1", t0).is_err());
        assert_eq!(
            p.reserve("C1", t0 + Duration::from_secs(2)),
            Ok(Duration::ZERO)
        );
        // A 429 blocks the channel for Retry-After.
        p.block("C2", Duration::from_secs(5), t0);
        assert_eq!(
            p.reserve("C2", t0 + Duration::from_secs(1)),
            Err(Duration::from_secs(4))
        );
    }

    #[test]
    fn errors_are_classified_for_the_outbox() {
        let rl = SlackClientError::RateLimitError(
            slack_morphism::errors::SlackRateLimitError::new()
                .with_retry_after(Duration::from_secs(7)),
        );
        assert_eq!(
            classify(&rl),
            AdapterError::RateLimited {
                retry_after: Duration::from_secs(7)
            }
        );
        let e500 = SlackClientError::HttpError(slack_morphism::errors::SlackClientHttpError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        ));
        assert!(matches!(classify(&e500), AdapterError::Transient(_)));
        let nf = SlackClientError::ApiError(slack_morphism::errors::SlackClientApiError::new(
            "channel_not_found".into(),
        ));
        assert_eq!(
            classify(&nf),
            AdapterError::Permanent("channel_not_found".into())
        );
    }
}
