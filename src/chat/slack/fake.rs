//! A fake Slack Web API for tests and `baton bench` (a test double: `baton serve` never
//! builds one; it listens on 127.0.0.1 only). It records every request, answers like Slack
//! (`{"ok": true, …}`), and can be told to answer the next calls with 429 + `Retry-After`
//! or 500, or to enforce a per-channel rate on chat.postMessage.
//!
//! Routes: `POST|GET /api/<method>` (JSON, form or query parameters),
//! `POST /response/<id>` (stands in for `response_url`s) and `POST /upload/<file id>` (the
//! `upload_url` that `files.getUploadURLExternal` hands out; it records the bytes, and
//! `files.completeUploadExternal` fails with `file_not_found` for a file never uploaded).
//! Faults for the upload URL are queued under the method name `upload`.
//!
//! For the soak harness and the delivery benchmark it can also:
//! - answer every Web API call after a set latency ([`FakeSlack::set_latency`]); a call is
//!   decided (accepted, refused) when it arrives and answered after the latency, so a post
//!   counts as delivered even if the client dies before reading the answer, as with Slack;
//! - answer a random, seeded fraction of calls 429 (with `Retry-After`) or 500
//!   ([`FakeSlack::chaos`]);
//! - enforce chat.postMessage's per-channel pacing exactly: a token bucket that never lets
//!   more than `burst + rate × elapsed` posts through ([`FakeSlack::limit_per_channel`]);
//! - count accepted posts per idempotency key (`metadata.event_payload.key`, which baton
//!   puts into every post) ([`FakeSlack::posts_by_key`]);
//! - serve `conversations.history` (`channel`, `oldest`, `latest`, `inclusive`, `limit`,
//!   `cursor`, `include_all_metadata`) from what was posted, newest first, and
//!   `conversations.replies` (the same, plus the parent's `ts`), oldest first;
//! - post to a user id (`U…`) given as `channel`: like Slack, it lands in the app's DM with
//!   that user and the answer names the DM (`D…`, the same id `conversations.open` gives).
//!
//! Message `ts` values are real Unix time with a unique, increasing fraction, so
//! `conversations.history`'s `oldest` works with wall-clock instants.
//!
//! It is as strict as Slack where baton could go wrong unnoticed:
//! - every Web API call must carry `Authorization: Bearer <token>`: the bot token
//!   ([`BOT_TOKEN`] unless [`FakeSlack::set_tokens`]) for bot methods, the app-level token
//!   ([`APP_TOKEN`]) for `apps.connections.open`. No token is `not_authed`, a wrong one
//!   `invalid_auth`, the other kind of token `not_allowed_token_type` (HTTP 200, as Slack);
//! - a method the fake does not serve is `unknown_method` (as Slack answers a method it
//!   does not have): add it here when baton starts calling it;
//! - a `ts` the fake never issued in that channel is refused: chat.update and reactions
//!   `message_not_found`, `thread_ts` on chat.postMessage / chat.postEphemeral and
//!   conversations.replies' `ts` `thread_not_found`. Messages Slack would already have
//!   (posted by people, or before the test) are declared with
//!   [`FakeSlack::existing_message`];
//! - Block Kit limits ([`blockkit`]): a message over a limit is `invalid_blocks` (or
//!   `msg_too_long`), a modal `invalid_arguments`, with `response_metadata.messages`.
//!
//! Refused calls are recorded with `ok: false` and their error ([`FakeSlack::refused`]).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

pub mod blockkit;

/// The bot token the fake accepts unless told otherwise ([`FakeSlack::set_tokens`]).
pub const BOT_TOKEN: &str = "xoxb-test";
/// The app-level token the fake accepts for `apps.connections.open`.
pub const APP_TOKEN: &str = "xapp-test";

/// The Web API methods the fake serves, and the kind of token each needs.
const BOT_METHODS: &[&str] = &[
    "auth.test",
    "conversations.info",
    "chat.postMessage",
    "chat.postEphemeral",
    "chat.update",
    "conversations.history",
    "conversations.replies",
    "conversations.open",
    "users.info",
    "users.lookupByEmail",
    "views.open",
    "files.getUploadURLExternal",
    "files.completeUploadExternal",
    "reactions.add",
    "reactions.remove",
];
const APP_METHODS: &[&str] = &["apps.connections.open"];

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The Web API method (`chat.postMessage`), or `response/<id>`.
    pub method: String,
    pub body: Value,
    pub at: Instant,
    /// The HTTP status the fake answered.
    pub status: u16,
    /// The answer's `ok`.
    pub ok: bool,
    /// The answer's `error`, when refused.
    pub error: Option<String>,
}

/// A forced answer for the next call(s) of a method.
#[derive(Debug, Clone)]
pub enum Fault {
    RateLimited {
        retry_after_s: u64,
    },
    ServerError,
    /// `{"ok": false, "error": code}` with HTTP 200, as Slack reports most errors.
    Api(String),
}

/// A token bucket that lets through at most `burst + rate × elapsed` calls in any stretch
/// of time: a call passes only with a whole token in hand.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn full(burst: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: burst,
            at: now,
        }
    }

    /// Takes a token if one is there (true), or refuses (false, nothing taken).
    pub fn take(&mut self, rate: f64, burst: f64, now: Instant) -> bool {
        // Time never runs backwards for the bucket (calls may carry slightly older instants).
        if now > self.at {
            let elapsed = now.duration_since(self.at).as_secs_f64();
            self.tokens = (self.tokens + elapsed * rate).min(burst);
            self.at = now;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One message as `conversations.history` returns it.
#[derive(Debug, Clone)]
struct Posted {
    ts: String,
    text: Value,
    metadata: Value,
    thread_ts: Value,
}

/// A random fraction of calls refused (seeded).
struct Chaos {
    rate_limited: f64,
    server_error: f64,
    retry_after_s: u64,
    methods: Vec<String>,
    rng: ChaCha8Rng,
}

/// What the fake accepted for one idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPosts {
    /// `metadata.event_payload.kind` of the first accepted post.
    pub kind: String,
    /// Accepted posts (the first is the delivery; the rest are duplicates).
    pub count: u32,
    /// When each accepted post arrived.
    pub at: Vec<Instant>,
}

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    faults: HashMap<String, VecDeque<Fault>>,
    users: HashMap<String, Value>,
    socket_url: Option<String>,
    /// Bytes received on upload URLs, by file id.
    uploads: HashMap<String, Vec<u8>>,
    /// chat.postMessage per channel: (per second, burst) and the buckets.
    limit: Option<(f64, f64)>,
    /// Per-method limits for the whole workspace (Web API tiers): (per second, burst, bucket).
    method_limits: HashMap<String, (f64, f64, Option<Bucket>)>,
    buckets: HashMap<String, Bucket>,
    seq: u64,
    /// The last `ts` handed out (seconds, micros), so every ts is unique and increasing.
    last_ts: (u64, u32),
    latency: Duration,
    chaos: Option<Chaos>,
    /// Accepted chat.postMessage calls by idempotency key.
    by_key: HashMap<String, KeyPosts>,
    /// What was posted, per (DM-resolved) channel, oldest first.
    history: HashMap<String, Vec<Posted>>,
    /// Keep request bodies in `requests` (off for large benchmarks to save memory).
    keep_bodies: Option<bool>,
    /// Every message `ts` issued (or declared existing), as `channel/ts`.
    issued: std::collections::HashSet<String>,
    /// (bot token, app token) when not [`BOT_TOKEN`] / [`APP_TOKEN`].
    tokens: Option<(String, String)>,
    /// The bot token's scopes (`auth.test`'s `x-oauth-scopes`); `None`: every scope of
    /// `manifests/slack-app.yaml`.
    scopes: Option<Vec<String>>,
    /// Channels `conversations.info` knows, and whether the bot is a member.
    channels: HashMap<String, bool>,
}

#[derive(Clone, Default)]
pub struct FakeSlack {
    inner: Arc<Mutex<Inner>>,
    /// Woken on every recorded request (tests wait on it instead of sleeping).
    seen: Arc<tokio::sync::Notify>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

impl FakeSlack {
    /// Starts the fake on an ephemeral port of 127.0.0.1.
    pub async fn start() -> std::io::Result<FakeSlack> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let fake = FakeSlack {
            inner: Arc::default(),
            seen: Arc::default(),
            base: format!("http://{addr}"),
        };
        let app = Router::new()
            .route("/api/{method}", post(api).get(api_get))
            .route("/response/{id}", post(response_url))
            .route("/upload/{id}", post(upload))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(fake)
    }

    /// The Web API base URL to configure (`BATON_SLACK_API_URL`).
    pub fn api_url(&self) -> String {
        format!("{}/api", self.base)
    }

    /// A `response_url` served by the fake.
    pub fn response_url(&self, id: &str) -> String {
        format!("{}/response/{id}", self.base)
    }

    /// A user `users.info` knows (email, tz).
    pub fn add_user(&self, id: &str, email: &str, tz: &str) {
        self.inner.lock().expect("fake").users.insert(
            id.to_string(),
            json!({ "id": id, "tz": tz, "profile": { "email": email } }),
        );
    }

    /// Accept these tokens instead of [`BOT_TOKEN`] and [`APP_TOKEN`].
    pub fn set_tokens(&self, bot: &str, app: &str) {
        self.inner.lock().expect("fake").tokens = Some((bot.to_string(), app.to_string()));
    }

    /// The bot token the fake accepts.
    pub fn bot_token(&self) -> String {
        let inner = self.inner.lock().expect("fake");
        inner
            .tokens
            .as_ref()
            .map_or_else(|| BOT_TOKEN.to_string(), |t| t.0.clone())
    }

    /// A message Slack already has in `channel` (a person's post, or one baton made before
    /// the test): its `ts` may be updated, replied to and listed.
    pub fn existing_message(&self, channel: &str, ts: &str, text: &str) {
        let mut inner = self.inner.lock().expect("fake");
        inner.issued.insert(format!("{channel}/{ts}"));
        let h = inner.history.entry(channel.to_string()).or_default();
        h.push(Posted {
            ts: ts.to_string(),
            text: json!(text),
            metadata: Value::Null,
            thread_ts: Value::Null,
        });
        h.sort_by_key(|m| ts_key(&m.ts));
    }

    /// Calls refused with `ok: false` (HTTP 200): (method, error), in order.
    pub fn refused(&self) -> Vec<(String, String)> {
        self.inner
            .lock()
            .expect("fake")
            .requests
            .iter()
            .filter_map(|r| r.error.clone().map(|e| (r.method.clone(), e)))
            .collect()
    }

    /// The scopes the bot token was granted (what `auth.test` reports).
    pub fn set_scopes(&self, scopes: &[&str]) {
        self.inner.lock().expect("fake").scopes =
            Some(scopes.iter().map(|s| s.to_string()).collect());
    }

    /// A channel `conversations.info` knows, with the bot in it or not.
    pub fn add_channel(&self, id: &str, bot_is_member: bool) {
        self.inner
            .lock()
            .expect("fake")
            .channels
            .insert(id.to_string(), bot_is_member);
    }

    /// What `apps.connections.open` hands out.
    pub fn set_socket_url(&self, url: &str) {
        self.inner.lock().expect("fake").socket_url = Some(url.to_string());
    }

    /// Enforce `per_second` posts per channel (bursts of `burst`) with 429s, exactly: in
    /// any stretch of `t` seconds a channel accepts at most `burst + per_second × t` posts.
    pub fn limit_per_channel(&self, per_second: f64, burst: u32) {
        self.inner.lock().expect("fake").limit = Some((per_second, f64::from(burst)));
    }

    /// Enforce a Web API tier on `method` for the whole workspace: `per_minute` calls a
    /// minute, bursts of `burst` (e.g. Tier 3, conversations.open: 50 a minute).
    pub fn limit_method(&self, method: &str, per_minute: f64, burst: u32) {
        self.inner.lock().expect("fake").method_limits.insert(
            method.to_string(),
            (per_minute / 60.0, f64::from(burst), None),
        );
    }

    /// Answer every Web API call after `latency` (decided on arrival, answered after).
    pub fn set_latency(&self, latency: Duration) {
        self.inner.lock().expect("fake").latency = latency;
    }

    /// Answer a random fraction of calls of `methods` 429 (with `Retry-After:
    /// retry_after_s`) and another fraction 500, drawn from a generator seeded with `seed`.
    /// A refused call has no effect (nothing is posted).
    pub fn chaos(
        &self,
        rate_limited: f64,
        server_error: f64,
        retry_after_s: u64,
        methods: &[&str],
        seed: u64,
    ) {
        self.inner.lock().expect("fake").chaos = Some(Chaos {
            rate_limited,
            server_error,
            retry_after_s,
            methods: methods.iter().map(|m| m.to_string()).collect(),
            rng: ChaCha8Rng::seed_from_u64(seed),
        });
    }

    /// Stop keeping request bodies (large benchmarks); counts per key are kept.
    pub fn forget_bodies(&self) {
        self.inner.lock().expect("fake").keep_bodies = Some(false);
    }

    /// Accepted posts per idempotency key (`metadata.event_payload.key`).
    pub fn posts_by_key(&self) -> HashMap<String, KeyPosts> {
        self.inner.lock().expect("fake").by_key.clone()
    }

    /// Accepted posts, counted: (distinct keys, all accepted posts with a key).
    pub fn post_totals(&self) -> (usize, u64) {
        let inner = self.inner.lock().expect("fake");
        let total = inner.by_key.values().map(|k| u64::from(k.count)).sum();
        (inner.by_key.len(), total)
    }

    /// Calls of `method` answered with `status`, counted.
    pub fn count(&self, method: &str, status: u16) -> usize {
        self.inner
            .lock()
            .expect("fake")
            .requests
            .iter()
            .filter(|r| r.method == method && r.status == status)
            .count()
    }

    /// The latest request of `method`, when it came.
    pub fn last_call(&self, method: &str) -> Option<Instant> {
        self.inner
            .lock()
            .expect("fake")
            .requests
            .iter()
            .rev()
            .find(|r| r.method == method)
            .map(|r| r.at)
    }

    /// The next call of `method` gets `fault` (queued in order).
    pub fn fail_next(&self, method: &str, fault: Fault) {
        self.inner
            .lock()
            .expect("fake")
            .faults
            .entry(method.to_string())
            .or_default()
            .push_back(fault);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().expect("fake").requests.clone()
    }

    /// Requests of one method.
    pub fn calls(&self, method: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method)
            .collect()
    }

    /// Successful calls of one method (HTTP 200 and `ok: true`).
    pub fn ok_calls(&self, method: &str) -> Vec<Value> {
        self.calls(method)
            .into_iter()
            .filter(|r| r.status == 200 && r.ok)
            .map(|r| r.body)
            .collect()
    }

    /// Waits until `method` has been called `n` times (any status), at most `limit`.
    pub async fn wait_for(&self, method: &str, n: usize, limit: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.seen.notified();
            if self.calls(method).len() >= n {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.calls(method).len() >= n;
            }
        }
    }

    /// Records a request and wakes whoever waits for one.
    fn record(&self, method: String, body: Value, status: u16, error: Option<String>) {
        self.inner.lock().expect("fake").requests.push(Recorded {
            method,
            body,
            at: Instant::now(),
            status,
            ok: status == 200 && error.is_none(),
            error,
        });
        self.seen.notify_waiters();
    }

    /// The bytes uploaded for a file id.
    pub fn uploaded(&self, file_id: &str) -> Option<Vec<u8>> {
        self.inner
            .lock()
            .expect("fake")
            .uploads
            .get(file_id)
            .cloned()
    }

    /// Messages in a channel's history (tests).
    #[cfg(test)]
    fn history_len(&self, channel: &str) -> usize {
        self.inner
            .lock()
            .expect("fake")
            .history
            .get(channel)
            .map_or(0, Vec::len)
    }

    pub fn clear(&self) {
        self.inner.lock().expect("fake").requests.clear();
    }
}

/// The DM channel id of a user (`U…` → `D…`), the same for conversations.open and a post
/// addressed to the user.
pub fn dm_of(user: &str) -> String {
    format!("D{}", user.trim_start_matches('U'))
}

/// A `ts` of the current wall-clock second, unique and increasing across calls.
fn next_ts(last: &mut (u64, u32)) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut next = (now.as_secs(), now.subsec_micros());
    if next <= *last {
        next = if last.1 >= 999_999 {
            (last.0 + 1, 0)
        } else {
            (last.0, last.1 + 1)
        };
    }
    *last = next;
    format!("{}.{:06}", next.0, next.1)
}

/// Parses a Slack `ts` (or `oldest`/`latest`) into comparable (seconds, micros).
fn ts_key(ts: &str) -> Option<(u64, u32)> {
    let (s, f) = ts.split_once('.').unwrap_or((ts, "0"));
    let f = format!("{f:0<6}");
    Some((s.parse().ok()?, f.get(..6)?.parse().ok()?))
}

/// `conversations.history` (the channel's messages, newest first) and
/// `conversations.replies` (with `ts`: the thread's parent and its replies, oldest first),
/// within `oldest`/`latest` (exclusive unless `inclusive`).
fn history(inner: &Inner, body: &Value, replies: bool) -> Value {
    let Some(channel) = body["channel"].as_str() else {
        return json!({ "ok": false, "error": "channel_not_found" });
    };
    let param = |k: &str| match &body[k] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let thread = param("ts");
    if replies && thread.is_none() {
        return json!({ "ok": false, "error": "thread_not_found" });
    }
    let oldest = param("oldest").and_then(|s| ts_key(&s));
    let latest = param("latest").and_then(|s| ts_key(&s));
    let inclusive = matches!(param("inclusive").as_deref(), Some("true" | "1"));
    let limit = param("limit")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(100)
        .min(999);
    let skip = param("cursor")
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0);
    let metadata = matches!(param("include_all_metadata").as_deref(), Some("true" | "1"));
    let empty = Vec::new();
    let in_channel = inner.history.get(channel).unwrap_or(&empty);
    let within = |m: &&Posted| {
        let k = ts_key(&m.ts);
        let after = oldest.is_none_or(|o| if inclusive { k >= Some(o) } else { k > Some(o) });
        let before = latest.is_none_or(|l| if inclusive { k <= Some(l) } else { k < Some(l) });
        after && before
    };
    let all: Vec<&Posted> = match &thread {
        Some(t) if replies => in_channel
            .iter()
            .filter(|m| m.ts == *t || m.thread_ts.as_str() == Some(t.as_str()))
            .filter(within)
            .collect(),
        _ => in_channel.iter().rev().filter(within).collect(),
    };
    let page: Vec<Value> = all
        .iter()
        .skip(skip)
        .take(limit)
        .map(|m| {
            let mut v =
                json!({ "type": "message", "ts": m.ts, "text": m.text, "bot_id": "B0FAKE" });
            if !m.thread_ts.is_null() {
                v["thread_ts"] = m.thread_ts.clone();
            }
            if metadata && !m.metadata.is_null() {
                v["metadata"] = m.metadata.clone();
            }
            v
        })
        .collect();
    let has_more = all.len() > skip + page.len();
    let mut v = json!({ "ok": true, "messages": page, "has_more": has_more });
    if has_more {
        v["response_metadata"] = json!({ "next_cursor": (skip + page.len()).to_string() });
    }
    v
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Value {
    let json_ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("json"));
    if json_ct && let Ok(v) = serde_json::from_slice(body) {
        return v;
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return v;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    )
}

fn reply(status: StatusCode, v: Value, retry_after: Option<u64>) -> Response {
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response();
    if let Some(s) = retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, s.to_string().parse().expect("digits"));
    }
    r
}

/// The bearer token of a request, if any.
fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

async fn api_get(
    State(f): State<FakeSlack>,
    Path(method): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or_default()).unwrap_or_default();
    let body = Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
    );
    answer_later(&f, method, bearer(&headers), body).await
}

async fn api(
    State(f): State<FakeSlack>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = parse_body(&headers, &body);
    answer_later(&f, method, bearer(&headers), body).await
}

/// Decides the call now and answers it after the configured latency.
async fn answer_later(
    f: &FakeSlack,
    method: String,
    token: Option<String>,
    body: Value,
) -> Response {
    let latency = f.inner.lock().expect("fake").latency;
    let r = answer(f, method, token.as_deref(), body);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    r
}

async fn response_url(
    State(f): State<FakeSlack>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = parse_body(&headers, &body);
    // A `response_url` message has the same Block Kit limits as a posted one
    // (`delete_original` alone carries no content).
    let checked = if body["delete_original"] == true {
        Ok(())
    } else {
        blockkit::check_message(&body)
    };
    match checked {
        Ok(()) => {
            f.record(format!("response/{id}"), body, 200, None);
            reply(StatusCode::OK, json!({ "ok": true }), None)
        }
        Err(r) => {
            f.record(format!("response/{id}"), body, 200, Some(r.error.into()));
            reply(StatusCode::OK, refusal(&r), None)
        }
    }
}

async fn upload(
    State(f): State<FakeSlack>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (status, retry) = {
        let mut inner = f.inner.lock().expect("fake");
        match inner.faults.get_mut("upload").and_then(VecDeque::pop_front) {
            Some(Fault::RateLimited { retry_after_s }) => {
                (StatusCode::TOO_MANY_REQUESTS, Some(retry_after_s))
            }
            Some(_) => (StatusCode::INTERNAL_SERVER_ERROR, None),
            None => {
                inner.uploads.insert(id.clone(), body.to_vec());
                (StatusCode::OK, None)
            }
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    f.record(
        format!("upload/{id}"),
        json!({ "length": body.len(), "content_type": content_type }),
        status.as_u16(),
        None,
    );
    // Slack's upload URL answers in plain text.
    let mut r = (status, format!("OK - {}", body.len())).into_response();
    if let Some(s) = retry {
        r.headers_mut()
            .insert(header::RETRY_AFTER, s.to_string().parse().expect("digits"));
    }
    r
}

/// Slack's answer to a refused call.
fn refusal(r: &blockkit::Refusal) -> Value {
    json!({ "ok": false, "error": r.error, "response_metadata": { "messages": [r.detail] } })
}

/// Whether `token` may call `method`: `None` when it may, else Slack's error.
fn authorize(inner: &Inner, method: &str, token: Option<&str>) -> Option<&'static str> {
    let (bot, app) = inner
        .tokens
        .as_ref()
        .map_or((BOT_TOKEN, APP_TOKEN), |(b, a)| (b.as_str(), a.as_str()));
    let wanted = if APP_METHODS.contains(&method) {
        app
    } else {
        bot
    };
    match token {
        None => Some("not_authed"),
        Some(t) if t == wanted => None,
        Some(t) if t == bot || t == app => Some("not_allowed_token_type"),
        Some(_) => Some("invalid_auth"),
    }
}

/// A parameter as text (JSON strings, numbers and booleans; form and query values).
fn param(body: &Value, k: &str) -> Option<String> {
    match &body[k] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The arguments of a call that Slack would refuse: a `ts` it never issued in that
/// channel, or content over a Block Kit limit.
fn validate(
    inner: &Inner,
    method: &str,
    body: &Value,
    channel: &str,
) -> Result<(), blockkit::Refusal> {
    let known = |ts: &str| inner.issued.contains(&format!("{channel}/{ts}"));
    let refuse = |error: &'static str, k: &str, ts: &str| {
        Err(blockkit::Refusal {
            error,
            detail: format!("[ERROR] no message {ts} in {channel} [json-pointer:/{k}]"),
        })
    };
    match method {
        "chat.postMessage" | "chat.postEphemeral" => {
            if let Some(ts) = param(body, "thread_ts").filter(|t| !t.is_empty())
                && !known(&ts)
            {
                return refuse("thread_not_found", "thread_ts", &ts);
            }
            blockkit::check_message(body)
        }
        "chat.update" => {
            let ts = param(body, "ts").unwrap_or_default();
            if !known(&ts) {
                return refuse("message_not_found", "ts", &ts);
            }
            blockkit::check_message(body)
        }
        "conversations.replies" => {
            let ts = param(body, "ts").unwrap_or_default();
            if !known(&ts) {
                return refuse("thread_not_found", "ts", &ts);
            }
            Ok(())
        }
        "reactions.add" | "reactions.remove" => {
            let ts = param(body, "timestamp").unwrap_or_default();
            if !known(&ts) {
                return refuse("message_not_found", "timestamp", &ts);
            }
            Ok(())
        }
        "views.open" => blockkit::check_view(&body["view"]),
        _ => Ok(()),
    }
}

fn answer(f: &FakeSlack, method: String, token: Option<&str>, mut body: Value) -> Response {
    let now = Instant::now();
    let mut guard = f.inner.lock().expect("fake");
    let inner = &mut *guard;
    // Slack answers an unknown method, or a call without the right token, before anything
    // else (HTTP 200, `ok: false`); the call has no effect.
    let denied =
        if !BOT_METHODS.contains(&method.as_str()) && !APP_METHODS.contains(&method.as_str()) {
            Some("unknown_method")
        } else {
            authorize(inner, &method, token)
        };
    if let Some(error) = denied {
        let v = json!({ "ok": false, "error": error, "req_method": method });
        inner.requests.push(Recorded {
            method,
            body,
            at: now,
            status: 200,
            ok: false,
            error: Some(error.to_string()),
        });
        drop(guard);
        f.seen.notify_waiters();
        return reply(StatusCode::OK, v, None);
    }
    // A post addressed to a user lands in the app's DM with them.
    let mut dm_channel = None;
    if method == "chat.postMessage"
        && let Some(user) = body["channel"].as_str().filter(|c| c.starts_with('U'))
    {
        dm_channel = Some(dm_of(user));
    }
    let mut fault = inner.faults.get_mut(&method).and_then(VecDeque::pop_front);
    if fault.is_none()
        && let Some(c) = inner.chaos.as_mut()
        && c.methods.contains(&method)
    {
        let x: f64 = c.rng.random();
        if x < c.rate_limited {
            fault = Some(Fault::RateLimited {
                retry_after_s: c.retry_after_s,
            });
        } else if x < c.rate_limited + c.server_error {
            fault = Some(Fault::ServerError);
        }
    }
    let mut rate_limited = fault.as_ref().and_then(|x| match x {
        Fault::RateLimited { retry_after_s } => Some(*retry_after_s),
        _ => None,
    });
    if fault.is_none()
        && let Some((rate, burst, bucket)) = inner.method_limits.get_mut(&method)
        && !bucket
            .get_or_insert_with(|| Bucket::full(*burst, now))
            .take(*rate, *burst, now)
    {
        rate_limited = Some((1.0 / *rate).ceil() as u64);
    }
    if fault.is_none()
        && rate_limited.is_none()
        && method == "chat.postMessage"
        && let Some((rate, burst)) = inner.limit
    {
        let channel = dm_channel
            .clone()
            .unwrap_or_else(|| body["channel"].as_str().unwrap_or_default().to_string());
        let bucket = inner
            .buckets
            .entry(channel)
            .or_insert_with(|| Bucket::full(burst, now));
        if !bucket.take(rate, burst, now) {
            rate_limited = Some(1);
        }
    }
    let (status, v, retry) = if let Some(s) = rate_limited {
        (
            StatusCode::TOO_MANY_REQUESTS,
            json!({ "ok": false, "error": "ratelimited" }),
            Some(s),
        )
    } else if let Some(Fault::Api(code)) = &fault {
        (StatusCode::OK, json!({ "ok": false, "error": code }), None)
    } else if matches!(fault, Some(Fault::ServerError)) {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "ok": false, "error": "internal_error" }),
            None,
        )
    } else if let Err(r) = validate(
        inner,
        &method,
        &body,
        dm_channel
            .as_deref()
            .or(body["channel"].as_str())
            .unwrap_or_default(),
    ) {
        (StatusCode::OK, refusal(&r), None)
    } else {
        inner.seq += 1;
        let ts = next_ts(&mut inner.last_ts);
        let v = match method.as_str() {
            "chat.postMessage" => {
                let channel = dm_channel
                    .clone()
                    .map(Value::String)
                    .unwrap_or_else(|| body["channel"].clone());
                let metadata = body["metadata"].clone();
                if let Some(key) = metadata["event_payload"]["key"].as_str() {
                    let e = inner
                        .by_key
                        .entry(key.to_string())
                        .or_insert_with(|| KeyPosts {
                            kind: metadata["event_payload"]["kind"]
                                .as_str()
                                .unwrap_or_default()
                                .to_string(),
                            count: 0,
                            at: Vec::new(),
                        });
                    e.count += 1;
                    e.at.push(now);
                }
                let channel_id = channel.as_str().unwrap_or_default().to_string();
                inner.issued.insert(format!("{channel_id}/{ts}"));
                inner.history.entry(channel_id).or_default().push(Posted {
                    ts: ts.clone(),
                    text: body["text"].clone(),
                    metadata,
                    thread_ts: body["thread_ts"].clone(),
                });
                json!({
                    "ok": true, "channel": channel, "ts": ts,
                    "message": { "ts": ts, "text": body["text"] }
                })
            }
            "chat.update" => {
                if let (Some(c), Some(t)) = (body["channel"].as_str(), body["ts"].as_str())
                    && let Some(m) = inner
                        .history
                        .get_mut(c)
                        .and_then(|h| h.iter_mut().find(|m| m.ts == t))
                {
                    m.text = body["text"].clone();
                }
                json!({ "ok": true, "channel": body["channel"], "ts": body["ts"] })
            }
            "conversations.history" => history(inner, &body, false),
            "conversations.replies" => history(inner, &body, true),
            // Ephemeral messages cannot be updated or replied to: their ts is not issued.
            "chat.postEphemeral" => json!({ "ok": true, "message_ts": ts }),
            "reactions.add" | "reactions.remove" => json!({ "ok": true }),
            "conversations.open" => {
                let user = body["users"].as_str().unwrap_or("U0").to_string();
                json!({ "ok": true, "channel": { "id": dm_of(&user) } })
            }
            "users.lookupByEmail" => {
                let email = body["email"].as_str().unwrap_or_default().to_lowercase();
                let found = inner.users.values().find(|u| {
                    u["profile"]["email"].as_str().map(str::to_lowercase) == Some(email.clone())
                });
                match found {
                    Some(u) => json!({ "ok": true, "user": u }),
                    None => json!({ "ok": false, "error": "users_not_found" }),
                }
            }
            "users.info" => match body["user"].as_str().and_then(|u| inner.users.get(u)) {
                Some(u) => json!({ "ok": true, "user": u }),
                None => json!({ "ok": false, "error": "user_not_found" }),
            },
            "views.open" => json!({ "ok": true, "view": { "id": format!("V{}", inner.seq) } }),
            "files.getUploadURLExternal" => {
                let id = format!("F0FAKE{:05}", inner.seq);
                json!({ "ok": true, "upload_url": format!("{}/upload/{id}", f.base), "file_id": id })
            }
            "files.completeUploadExternal" => {
                let files: Vec<Value> = body["files"].as_array().cloned().unwrap_or_default();
                if files.is_empty()
                    || files.iter().any(|x| {
                        !x["id"]
                            .as_str()
                            .is_some_and(|id| inner.uploads.contains_key(id))
                    })
                {
                    json!({ "ok": false, "error": "file_not_found" })
                } else {
                    json!({ "ok": true, "files": files })
                }
            }
            "auth.test" => json!({
                "ok": true, "url": "https://northwind.slack.com/", "team": "Northwind",
                "user": "baton", "team_id": "T04NWCLOUD", "user_id": "U0BATON001",
                "bot_id": "B0BATON001"
            }),
            "conversations.info" => {
                let id = body["channel"].as_str().unwrap_or_default();
                match inner.channels.get(id) {
                    Some(member) => json!({
                        "ok": true,
                        "channel": { "id": id, "is_channel": true, "is_member": member }
                    }),
                    None => json!({ "ok": false, "error": "channel_not_found" }),
                }
            }
            "apps.connections.open" => match &inner.socket_url {
                Some(u) => json!({ "ok": true, "url": u }),
                None => json!({ "ok": false, "error": "invalid_auth" }),
            },
            // Listed in BOT_METHODS or APP_METHODS but not served here.
            _ => json!({ "ok": false, "error": "unknown_method", "req_method": method }),
        };
        (StatusCode::OK, v, None)
    };
    if inner.keep_bodies == Some(false) {
        body = Value::Null;
    }
    let ok = status == StatusCode::OK && v["ok"] == true;
    let error = (status == StatusCode::OK && !ok)
        .then(|| v["error"].as_str().unwrap_or("error").to_string());
    let method_is_auth_test = method == "auth.test";
    inner.requests.push(Recorded {
        method,
        body,
        at: now,
        status: status.as_u16(),
        ok,
        error,
    });
    // `auth.test` names the token's scopes in a header, as Slack does for every call.
    let scopes = (method_is_auth_test && ok).then(|| {
        inner
            .scopes
            .clone()
            .unwrap_or_else(|| {
                super::required_scopes()
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            })
            .join(",")
    });
    drop(guard);
    f.seen.notify_waiters();
    let mut r = reply(status, v, retry);
    if let Some(s) = scopes {
        r.headers_mut()
            .insert("x-oauth-scopes", s.parse().expect("scopes are ASCII"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(f: &FakeSlack, channel: &str, key: &str) -> u16 {
        let body = json!({
            "channel": channel, "text": key,
            "metadata": { "event_type": "baton_message", "event_payload": { "key": key, "kind": "prompt" } }
        });
        answer(f, "chat.postMessage".into(), Some(BOT_TOKEN), body)
            .status()
            .as_u16()
    }

    #[test]
    fn the_bucket_never_lets_more_than_the_limit_through() {
        let t0 = Instant::now();
        let (rate, burst) = (1.0, 3.0);
        let mut b = Bucket::full(burst, t0);
        // Calls every 10 ms for 20 s: at most burst + rate × t at every instant.
        let mut passed = 0u32;
        for i in 0..2_000u64 {
            let now = t0 + Duration::from_millis(10 * i);
            if b.take(rate, burst, now) {
                passed += 1;
            }
            let allowed = burst + rate * (10 * i) as f64 / 1000.0;
            assert!(f64::from(passed) <= allowed, "{passed} > {allowed} at {i}");
        }
        // And it does let the whole allowance through: 3 + 19.99 s × 1/s, floored.
        assert_eq!(passed, 22);
        // A call just short of a whole token is refused (the old fake allowed 0.98).
        let mut b = Bucket::full(1.0, t0);
        assert!(b.take(1.0, 1.0, t0));
        assert!(!b.take(1.0, 1.0, t0 + Duration::from_millis(985)));
        assert!(b.take(1.0, 1.0, t0 + Duration::from_millis(1001)));
    }

    #[test]
    fn posts_are_counted_per_key_and_limited_per_channel() {
        let f = FakeSlack::default();
        f.limit_per_channel(1.0, 2);
        assert_eq!(post(&f, "C1", "a"), 200);
        assert_eq!(post(&f, "C1", "a"), 200);
        assert_eq!(post(&f, "C1", "b"), 429);
        assert_eq!(post(&f, "C2", "b"), 200);
        let keys = f.posts_by_key();
        assert_eq!(keys["a"].count, 2);
        assert_eq!(keys["b"].count, 1);
        assert_eq!(keys["b"].kind, "prompt");
        assert_eq!(f.post_totals(), (2, 3));
        assert_eq!(f.count("chat.postMessage", 429), 1);
    }

    #[test]
    fn a_method_tier_limits_the_whole_workspace() {
        let f = FakeSlack::default();
        f.limit_method("conversations.open", 60.0, 2);
        let open = |u: &str| {
            answer(
                &f,
                "conversations.open".into(),
                Some(BOT_TOKEN),
                json!({ "users": u }),
            )
            .status()
            .as_u16()
        };
        assert_eq!((open("U1"), open("U2"), open("U3")), (200, 200, 429));
        assert_eq!(post(&f, "C1", "a"), 200, "other methods are not limited");
    }

    #[test]
    fn a_post_to_a_user_lands_in_their_dm_and_history_returns_it() {
        let f = FakeSlack::default();
        let r = answer(
            &f,
            "chat.postMessage".into(),
            Some(BOT_TOKEN),
            json!({ "channel": "U0ANNA", "text": "hi",
                    "metadata": { "event_type": "baton_message", "event_payload": { "key": "k1", "kind": "prompt" } } }),
        );
        assert_eq!(r.status(), StatusCode::OK);
        post(&f, "D0ANNA", "k2");
        post(&f, "C0OTHER", "k3");
        let open = answer(
            &f,
            "conversations.open".into(),
            Some(BOT_TOKEN),
            json!({ "users": "U0ANNA" }),
        );
        assert_eq!(open.status(), StatusCode::OK);
        let inner = f.inner.lock().unwrap();
        let h = history(
            &inner,
            &json!({ "channel": "D0ANNA", "include_all_metadata": "true", "limit": "1" }),
            false,
        );
        assert_eq!(h["ok"], true);
        let msgs = h["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), 1);
        // Newest first, with metadata when asked for.
        assert_eq!(msgs[0]["metadata"]["event_payload"]["key"], "k2");
        assert_eq!(h["has_more"], true);
        let next = h["response_metadata"]["next_cursor"].as_str().unwrap();
        let h2 = history(
            &inner,
            &json!({ "channel": "D0ANNA", "cursor": next }),
            false,
        );
        assert_eq!(h2["messages"][0]["text"], "hi");
        assert!(
            h2["messages"][0]["metadata"].is_null(),
            "metadata only on request"
        );
        // `oldest` is exclusive unless `inclusive`.
        let first_ts = h2["messages"][0]["ts"].as_str().unwrap().to_string();
        let h3 = history(
            &inner,
            &json!({ "channel": "D0ANNA", "oldest": first_ts }),
            false,
        );
        assert_eq!(h3["messages"].as_array().unwrap().len(), 1);
        let h4 = history(
            &inner,
            &json!({ "channel": "D0ANNA", "oldest": first_ts, "inclusive": "true" }),
            false,
        );
        assert_eq!(h4["messages"].as_array().unwrap().len(), 2);
        assert_eq!(dm_of("U0ANNA"), "D0ANNA");
    }

    #[test]
    fn replies_list_a_thread_oldest_first() {
        let f = FakeSlack::default();
        post(&f, "C1", "parent");
        let parent_ts = f.inner.lock().unwrap().history["C1"][0].ts.clone();
        post(&f, "C1", "other");
        let r = answer(
            &f,
            "chat.postMessage".into(),
            Some(BOT_TOKEN),
            json!({ "channel": "C1", "text": "line", "thread_ts": parent_ts,
                    "metadata": { "event_type": "baton_message", "event_payload": { "key": "line", "kind": "summary_line" } } }),
        );
        assert_eq!(r.status(), StatusCode::OK);
        let inner = f.inner.lock().unwrap();
        let v = history(
            &inner,
            &json!({ "channel": "C1", "ts": parent_ts, "include_all_metadata": true }),
            true,
        );
        let keys: Vec<&str> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["metadata"]["event_payload"]["key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["parent", "line"]);
        assert_eq!(
            history(&inner, &json!({ "channel": "C1" }), true)["ok"],
            false
        );
    }

    #[test]
    fn chaos_is_seeded_and_refused_calls_post_nothing() {
        let run = || {
            let f = FakeSlack::default();
            f.chaos(0.1, 0.1, 2, &["chat.postMessage"], 7);
            let statuses: Vec<u16> = (0..200).map(|i| post(&f, "C1", &format!("k{i}"))).collect();
            (statuses, f.post_totals())
        };
        let (a, totals) = run();
        assert_eq!(a, run().0, "same seed, same faults");
        let ok = a.iter().filter(|s| **s == 200).count();
        let limited = a.iter().filter(|s| **s == 429).count();
        let failed = a.iter().filter(|s| **s == 500).count();
        assert_eq!(ok + limited + failed, 200);
        assert!(limited > 5 && failed > 5, "{limited} {failed}");
        assert_eq!(totals, (ok, ok as u64));
    }

    #[test]
    fn tokens_methods_ts_and_limits_are_checked_like_slack() {
        let f = FakeSlack::default();
        let call = |method: &str, token: Option<&str>, body: Value| {
            let before = f.refused().len();
            let status = answer(&f, method.into(), token, body).status();
            assert_eq!(status, StatusCode::OK, "Slack refuses with HTTP 200");
            f.refused().get(before).map(|(_, e)| e.clone())
        };
        let hi = || json!({ "channel": "C1", "text": "hi" });
        // Tokens: none, wrong, the other kind; the app token only opens sockets.
        assert_eq!(
            call("chat.postMessage", None, hi()).as_deref(),
            Some("not_authed")
        );
        assert_eq!(
            call("chat.postMessage", Some("xoxb-wrong"), hi()).as_deref(),
            Some("invalid_auth")
        );
        assert_eq!(
            call("chat.postMessage", Some(APP_TOKEN), hi()).as_deref(),
            Some("not_allowed_token_type")
        );
        f.set_socket_url("ws://127.0.0.1:1/socket");
        assert_eq!(
            call("apps.connections.open", Some(BOT_TOKEN), json!({})).as_deref(),
            Some("not_allowed_token_type")
        );
        assert_eq!(
            call("apps.connections.open", Some(APP_TOKEN), json!({})),
            None
        );
        // Methods Slack does not have (or the fake does not serve).
        assert_eq!(
            call("chat.postMesage", Some(BOT_TOKEN), hi()).as_deref(),
            Some("unknown_method")
        );
        assert!(f.history_len("C1") == 0, "refused posts land nowhere");
        // A ts it never issued, in that channel.
        assert_eq!(call("chat.postMessage", Some(BOT_TOKEN), hi()), None);
        let ts = f.inner.lock().unwrap().history["C1"][0].ts.clone();
        let update =
            |channel: &str, ts: &str| json!({ "channel": channel, "ts": ts, "text": "new" });
        assert_eq!(
            call("chat.update", Some(BOT_TOKEN), update("C1", &ts)),
            None
        );
        assert_eq!(
            call("chat.update", Some(BOT_TOKEN), update("C2", &ts)).as_deref(),
            Some("message_not_found")
        );
        assert_eq!(
            call(
                "chat.update",
                Some(BOT_TOKEN),
                update("C1", "1700000000.000001")
            )
            .as_deref(),
            Some("message_not_found")
        );
        let reply = |t: &str| json!({ "channel": "C1", "text": "r", "thread_ts": t });
        assert_eq!(call("chat.postMessage", Some(BOT_TOKEN), reply(&ts)), None);
        assert_eq!(
            call("chat.postMessage", Some(BOT_TOKEN), reply("1.2")).as_deref(),
            Some("thread_not_found")
        );
        assert_eq!(
            call(
                "chat.postEphemeral",
                Some(BOT_TOKEN),
                json!({ "channel": "C1", "user": "U1", "text": "e", "thread_ts": "1.2" })
            )
            .as_deref(),
            Some("thread_not_found")
        );
        assert_eq!(
            call(
                "conversations.replies",
                Some(BOT_TOKEN),
                json!({ "channel": "C1", "ts": "1.2" })
            )
            .as_deref(),
            Some("thread_not_found")
        );
        assert_eq!(
            call(
                "reactions.add",
                Some(BOT_TOKEN),
                json!({ "channel": "C1", "timestamp": "1.2", "name": "eyes" })
            )
            .as_deref(),
            Some("message_not_found")
        );
        // A message Slack already has may be used.
        f.existing_message("C1", "1.2", "a person's message");
        assert_eq!(
            call("chat.postMessage", Some(BOT_TOKEN), reply("1.2")),
            None
        );
        // Over a Block Kit limit: refused, nothing posted.
        let n = f.history_len("C1");
        let long = json!({ "channel": "C1", "text": "t", "blocks": [
            { "type": "section", "text": { "type": "mrkdwn", "text": "x".repeat(3001) } }] });
        assert_eq!(
            call("chat.postMessage", Some(BOT_TOKEN), long).as_deref(),
            Some("invalid_blocks")
        );
        assert_eq!(f.history_len("C1"), n);
        let view = json!({ "trigger_id": "t", "view": { "type": "modal", "blocks": [],
            "title": { "type": "plain_text", "text": "t".repeat(25) } } });
        assert_eq!(
            call("views.open", Some(BOT_TOKEN), view).as_deref(),
            Some("invalid_arguments")
        );
        // Refused calls are not counted as successful ones.
        assert_eq!(f.ok_calls("chat.update").len(), 1);
    }

    #[test]
    fn ts_values_are_unique_and_increasing() {
        let mut last = (0, 0);
        let a: Vec<String> = (0..1000).map(|_| next_ts(&mut last)).collect();
        for w in a.windows(2) {
            assert!(ts_key(&w[0]) < ts_key(&w[1]));
        }
    }
}
