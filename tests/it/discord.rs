//! Discord: signed interactions against the endpoint, the outbox adapter against a fake
//! Discord REST API (loopback), and the generated command manifest.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use baton::app::App;
use baton::bot::{Block, Reply};
use baton::chat::discord::{self, DiscordAdapter, Interactions};
use baton::chat::{AdapterError, ChatAdapter, Outbound, Target};
use baton::clock::FixedClock;
use baton::outbox::{Payload, deliver_batch};
use chrono::{DateTime, Utc};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;

use crate::common::{actor, app_at, app_with, count, example_spec, now};

pub(crate) const GUILD: &str = "1187532046617530408";
pub(crate) const CHLOE: &str = "904412873301729300";

pub(crate) fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

pub(crate) fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

async fn router(pool: PgPool) -> axum::Router {
    let app = Arc::new(app_with(pool, &example_spec()).await);
    router_for(app, None, None)
}

/// The endpoint finishing deferred responses through `followup`, deferring after
/// `defer_after` (the default when `None`).
pub(crate) fn router_for(
    app: Arc<App>,
    followup: Option<Arc<serenity::http::Http>>,
    defer_after: Option<Duration>,
) -> axum::Router {
    let mut cfg = Interactions::new(&hex(key().verifying_key().as_bytes()), followup).unwrap();
    if let Some(d) = defer_after {
        cfg.defer_after = d;
    }
    discord::routes(app, cfg)
}

pub(crate) fn signed(body: &Value, ts: i64, k: &SigningKey) -> Request<Body> {
    let body = serde_json::to_vec(body).unwrap();
    let ts = ts.to_string();
    let sig = k.sign(&[ts.as_bytes(), &body].concat());
    Request::post("/discord/interactions")
        .header("content-type", "application/json")
        .header("x-signature-ed25519", hex(&sig.to_bytes()))
        .header("x-signature-timestamp", ts)
        .body(Body::from(body))
        .unwrap()
}

async fn send(r: &axum::Router, body: Value) -> (StatusCode, Value) {
    send_at(r, body, now().timestamp()).await
}

/// Sends `body` signed at `ts` (the app's clock, for the freshness check).
pub(crate) async fn send_at(r: &axum::Router, body: Value, ts: i64) -> (StatusCode, Value) {
    let resp = r.clone().oneshot(signed(&body, ts, &key())).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub(crate) fn interaction(
    id: &str,
    kind: u8,
    user: &str,
    guild: Option<&str>,
    data: Value,
) -> Value {
    let mut v =
        json!({"id": id, "type": kind, "token": "tok", "application_id": "42", "data": data});
    match guild {
        Some(g) => {
            v["guild_id"] = json!(g);
            v["member"] = json!({"user": {"id": user}});
        }
        None => v["user"] = json!({"id": user}),
    }
    v
}

pub(crate) fn command(sub: &str, opts: Value) -> Value {
    json!({"name": "baton", "type": 1, "options": [{"name": sub, "type": 1, "options": opts}]})
}

/// Everything the embeds of an answer say: each embed's description, title, fields
/// (name and value) and footer.
pub(crate) fn description(v: &Value) -> String {
    let mut out = String::new();
    for e in v["data"]["embeds"].as_array().into_iter().flatten() {
        for k in ["description", "title"] {
            out.push_str(e[k].as_str().unwrap_or_default());
            out.push('\n');
        }
        for f in e["fields"].as_array().into_iter().flatten() {
            out.push_str(f["name"].as_str().unwrap_or_default());
            out.push('\n');
            out.push_str(f["value"].as_str().unwrap_or_default());
            out.push('\n');
        }
        out.push_str(e["footer"]["text"].as_str().unwrap_or_default());
        out.push('\n');
    }
    out
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn ping_pong_and_bad_requests_get_401(pool: PgPool) {
    let r = router(pool.clone()).await;
    let before = crate::common::snapshot(&pool).await;
    let ping = json!({"id": "1", "type": 1, "token": "t"});
    assert_eq!(
        send(&r, ping.clone()).await,
        (StatusCode::OK, json!({"type": 1}))
    );

    // Wrong key, stale and future timestamps, missing headers: 401.
    let other = SigningKey::from_bytes(&[9u8; 32]);
    for req in [
        signed(&ping, now().timestamp(), &other),
        signed(&ping, now().timestamp() - 301, &key()),
        signed(&ping, now().timestamp() + 301, &key()),
        Request::post("/discord/interactions")
            .body(Body::from(serde_json::to_vec(&ping).unwrap()))
            .unwrap(),
    ] {
        let resp = r.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    // A body changed after signing: 401, and no handler ran (nothing recorded).
    let mut req = signed(&ping, now().timestamp(), &key());
    *req.body_mut() = Body::from(r#"{"id":"2","type":2}"#);
    assert_eq!(
        r.clone().oneshot(req).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    let after = crate::common::snapshot(&pool).await;
    assert_eq!(crate::common::changed(&before, &after), []);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn command_runs_as_the_mapped_person_once(pool: PgPool) {
    let r = router(pool.clone()).await;
    let (st, v) = send(
        &r,
        interaction("100", 2, CHLOE, Some(GUILD), command("whoami", json!([]))),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["type"], 4);
    assert_eq!(v["data"]["flags"], 64, "ephemeral");
    assert!(description(&v).contains("Chloe"), "{v}");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM inbound_deliveries WHERE platform = 'discord' AND delivery_id = 'int:100'"
        )
        .await,
        1
    );
    // The same interaction id again is not run twice.
    let (_, v) = send(
        &r,
        interaction("100", 2, CHLOE, Some(GUILD), command("whoami", json!([]))),
    )
    .await;
    assert!(description(&v).contains("already handled"), "{v}");

    // Unknown user in a known guild, and an unknown guild: polite refusals.
    let (_, v) = send(
        &r,
        interaction("101", 2, "1", Some(GUILD), command("whoami", json!([]))),
    )
    .await;
    assert!(description(&v).contains("don't know you"), "{v}");
    let (_, v) = send(
        &r,
        interaction("102", 2, CHLOE, Some("555"), command("whoami", json!([]))),
    )
    .await;
    assert!(description(&v).contains("not connected"), "{v}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn checkin_by_command_button_and_modal(pool: PgPool) {
    let r = router(pool.clone()).await;
    let checkins = "SELECT count(*) FROM checkins";
    let before = count(&pool, checkins).await;

    // A one-line check-in through the command's options.
    let (_, v) = send(
        &r,
        interaction(
            "200",
            2,
            CHLOE,
            Some(GUILD),
            command(
                "checkin",
                json!([{"name": "code", "type": 3, "value": "EO-K1"},
                       {"name": "value", "type": 3, "value": "9"},
                       {"name": "note", "type": 3, "value": "two steps gone"}]),
            ),
        ),
    )
    .await;
    assert_eq!(v["type"], 4, "{v}");
    assert_eq!(count(&pool, checkins).await, before + 1, "{v}");

    // The Update button (in a DM: no guild) opens the modal.
    let (_, v) = send(
        &r,
        interaction(
            "201",
            3,
            CHLOE,
            None,
            json!({"custom_id": "baton:update:EO-K1", "component_type": 2}),
        ),
    )
    .await;
    assert_eq!(v["type"], 9, "{v}");
    assert_eq!(v["data"]["custom_id"], "checkin:EO-K1");
    let inputs: Vec<&str> = v["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["components"][0]["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(inputs, ["value", "confidence", "note", "blockers"]);

    let submit = |id: &str, value: &str| {
        interaction(
            id,
            5,
            CHLOE,
            Some(GUILD),
            json!({"custom_id": "checkin:EO-K1", "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": "value", "value": value}]},
                {"type": 1, "components": [{"type": 4, "custom_id": "confidence", "value": "at risk"}]},
                {"type": 1, "components": [{"type": 4, "custom_id": "note", "value": ""}]},
                {"type": 1, "components": [{"type": 4, "custom_id": "blockers", "value": ""}]}]}),
        )
    };
    // Invalid input: an ephemeral error, nothing stored.
    let (_, v) = send(&r, submit("202", "lots")).await;
    assert_eq!(v["type"], 4);
    assert_eq!(v["data"]["flags"], 64);
    assert!(description(&v).contains("value"), "{v}");
    assert_eq!(count(&pool, checkins).await, before + 1);
    // Valid input is stored.
    let (_, v) = send(&r, submit("203", "8")).await;
    assert_eq!(v["type"], 4, "{v}");
    assert_eq!(count(&pool, checkins).await, before + 2, "{v}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn autocomplete_offers_codes(pool: PgPool) {
    let r = router(pool).await;
    let data = json!({"name": "baton", "options": [{"name": "kr", "type": 1, "options": [
        {"name": "code", "type": 3, "value": "eo-", "focused": true}]}]});
    let (_, v) = send(&r, interaction("300", 4, CHLOE, Some(GUILD), data)).await;
    assert_eq!(v["type"], 8);
    let values: Vec<&str> = v["data"]["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert!(
        values.contains(&"EO-K1") && values.iter().all(|c| c.starts_with("EO-")),
        "{v}"
    );
}

// ── Fake Discord REST API ─────────────────────────────────────────────────────────

/// One uploaded file of a multipart request.
#[derive(Clone, Debug)]
struct File {
    field: String,
    filename: String,
    content_type: String,
    data: Vec<u8>,
}

/// One request the fake received: its JSON (a multipart request's `payload_json`) and files.
#[derive(Clone, Debug)]
struct Hit {
    method: String,
    path: String,
    json: Value,
    files: Vec<File>,
}

/// A scripted answer to the next message post or interaction edit.
#[derive(Clone, Debug)]
enum Answer {
    Status(u16, Value),
    /// The message is created but the answer is lost (a 500 reaches baton).
    Lost,
}

/// The guild text channels the fake knows from the start (the example organisation's).
pub(crate) const GUILD_CHANNELS: &[&str] = &["1187532046617530999"];

/// What the fake has handed out. Every message, thread and DM channel gets its own id,
/// counting up in its own space: messages from 1000, threads from 5000, DM channels from
/// 9000 (one per recipient, as Discord keeps one DM channel per user). A thread started
/// from a message is the exception, as on Discord: "the created thread and the message it
/// was started from will share the same id" (Discord's API reference, "Start Thread from
/// Message").
#[derive(Debug)]
pub(crate) struct Ids {
    next_message: u64,
    next_thread: u64,
    next_dm: u64,
    /// Channels that exist (guild channels, threads, DMs) and the messages in each.
    channels: std::collections::HashMap<String, Vec<String>>,
    /// DM channel per recipient.
    dms: std::collections::HashMap<String, String>,
    /// Threads created, in order.
    threads: Vec<String>,
    /// (channel, nonce) → the message created with it (Discord answers a repeated
    /// enforced nonce with that message).
    nonces: std::collections::HashMap<(String, String), String>,
}

impl Default for Ids {
    fn default() -> Ids {
        Ids {
            next_message: 1000,
            next_thread: 5000,
            next_dm: 9000,
            channels: GUILD_CHANNELS
                .iter()
                .map(|c| (c.to_string(), Vec::new()))
                .collect(),
            dms: Default::default(),
            threads: Vec::new(),
            nonces: Default::default(),
        }
    }
}

fn take(next: &mut u64) -> String {
    let id = next.to_string();
    *next += 1;
    id
}

#[derive(Clone, Default)]
pub(crate) struct Fake {
    log: Arc<Mutex<Vec<Hit>>>,
    /// Ids handed out, channels and their messages.
    ids: Arc<Mutex<Ids>>,
    /// What `GET /gateway` hands out (a local fake gateway's `ws://` URL).
    pub(crate) gateway: Arc<Mutex<String>>,
    /// Status to answer every message post with (0 = success).
    fail: Arc<Mutex<u16>>,
    /// Answers used once each, before `fail`.
    script: Arc<Mutex<VecDeque<Answer>>>,
    /// Messages created, with their nonces (Discord drops a repeated nonce).
    created: Arc<Mutex<Vec<Option<String>>>>,
    seen: Arc<tokio::sync::Notify>,
    /// The bot token the fake accepts (`Authorization: Bot …`); `None` accepts any.
    token: Arc<Mutex<Option<String>>>,
    /// The @everyone role's permissions in every guild (the bot has no other role);
    /// `None`: everything baton's invite link asks for.
    permissions: Arc<Mutex<Option<u64>>>,
    /// The application's flags (`GET /applications/@me`); `None`: the message-content
    /// intent enabled (`GATEWAY_MESSAGE_CONTENT_LIMITED`, as for a bot in few servers).
    app_flags: Arc<Mutex<Option<u64>>>,
    /// Session starts left today (`GET /gateway/bot`); `None`: 999.
    sessions_left: Arc<Mutex<Option<u64>>>,
}

/// The permissions baton's invite asks for: View Channel, Send Messages, Embed Links,
/// Attach Files, Create Public Threads, Send Messages in Threads.
pub(crate) const INVITE_PERMISSIONS: u64 =
    (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 35) | (1 << 38);
/// The application and bot user the fake reports (`GET /applications/@me`).
pub(crate) const APPLICATION_ID: &str = "42";
pub(crate) const BOT_USER_ID: &str = "4242";

impl Fake {
    /// The threads created, in order.
    pub(crate) fn threads(&self) -> Vec<String> {
        self.ids.lock().unwrap().threads.clone()
    }

    /// The messages posted in `channel`, in order.
    pub(crate) fn messages_in(&self, channel: &str) -> Vec<String> {
        self.ids
            .lock()
            .unwrap()
            .channels
            .get(channel)
            .cloned()
            .unwrap_or_default()
    }

    fn hits(&self) -> Vec<Hit> {
        self.log.lock().unwrap().clone()
    }

    /// The JSON bodies of the recorded calls to `path`, in order.
    pub(crate) fn calls(&self, method: &str, path: &str) -> Vec<Value> {
        self.hits()
            .into_iter()
            .filter(|h| h.method == method && h.path == path)
            .map(|h| h.json)
            .collect()
    }

    /// Accept only this bot token from now on.
    pub(crate) fn require_token(&self, token: &str) {
        *self.token.lock().unwrap() = Some(token.to_string());
    }

    /// The application's flags, as the developer portal's switches set them.
    pub(crate) fn set_app_flags(&self, flags: u64) {
        *self.app_flags.lock().unwrap() = Some(flags);
    }

    /// Session starts the gateway still allows today.
    pub(crate) fn set_sessions_left(&self, n: u64) {
        *self.sessions_left.lock().unwrap() = Some(n);
    }

    /// What the bot may do in every guild (its @everyone role's permissions).
    pub(crate) fn set_permissions(&self, bits: u64) {
        *self.permissions.lock().unwrap() = Some(bits);
    }

    fn answer(&self, a: Answer) {
        self.script.lock().unwrap().push_back(a);
    }

    /// Waits (bounded) until the requests received satisfy `done`.
    async fn until(&self, done: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        timed(async {
            loop {
                let seen = self.seen.notified();
                tokio::pin!(seen);
                seen.as_mut().enable();
                let hits = self.hits();
                if done(&hits) {
                    return hits;
                }
                seen.await;
            }
        })
        .await
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// Parses a multipart/form-data body into its fields: (name, filename, content type, data).
fn multipart(content_type: &str, body: &[u8]) -> Vec<File> {
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .expect("a multipart boundary")
        .trim_matches('"');
    let delim = format!("--{boundary}");
    let next = format!("\r\n{delim}");
    let mut at = find(body, delim.as_bytes(), 0).expect("an opening boundary") + delim.len();
    let mut parts = Vec::new();
    while body[at..].starts_with(b"\r\n") {
        let start = at + 2;
        let head_end = find(body, b"\r\n\r\n", start).expect("part headers");
        let end = find(body, next.as_bytes(), head_end).expect("a closing boundary");
        let head = std::str::from_utf8(&body[start..head_end]).unwrap();
        let mut file = File {
            field: String::new(),
            filename: String::new(),
            content_type: String::new(),
            data: body[head_end + 4..end].to_vec(),
        };
        for line in head.split("\r\n") {
            let (name, value) = line.split_once(':').expect("a header");
            match name.trim().to_ascii_lowercase().as_str() {
                "content-type" => file.content_type = value.trim().to_string(),
                "content-disposition" => {
                    for p in value.split(';').map(str::trim) {
                        if let Some(v) = p.strip_prefix("name=") {
                            file.field = v.trim_matches('"').to_string();
                        } else if let Some(v) = p.strip_prefix("filename=") {
                            file.filename = v.trim_matches('"').to_string();
                        }
                    }
                }
                _ => {}
            }
        }
        parts.push(file);
        at = end + next.len();
    }
    assert!(
        body[at..].starts_with(b"--"),
        "the body ends with the closing boundary"
    );
    parts
}

/// A message as Discord returns it (serenity parses edits' answers into `Message`).
fn message_json(id: &str, channel: &str) -> Value {
    json!({"id": id, "channel_id": channel, "content": "", "timestamp": "2026-11-16T12:00:00+00:00",
           "edited_timestamp": null, "tts": false, "mention_everyone": false, "mentions": [],
           "mention_roles": [], "attachments": [], "embeds": [], "pinned": false, "type": 0,
           "author": {"id": "42", "username": "baton", "discriminator": "0000", "avatar": null, "bot": true}})
}

fn error_response(status: u16, body: Value) -> Response {
    let mut resp = (StatusCode::from_u16(status).unwrap(), axum::Json(&body)).into_response();
    // Discord's header is whole seconds, rounded up; the body has the precise wait.
    if let Some(s) = body["retry_after"].as_f64() {
        resp.headers_mut()
            .insert("retry-after", s.ceil().to_string().parse().unwrap());
    }
    resp
}

async fn fake_api(
    State(f): State<Fake>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let (json, files) = if content_type.starts_with("multipart/form-data") {
        let mut parts = multipart(content_type, &body);
        let payload = parts
            .iter()
            .position(|p| p.field == "payload_json")
            .map(|i| parts.remove(i))
            .expect("a payload_json field");
        (serde_json::from_slice(&payload.data).unwrap(), parts)
    } else {
        (
            serde_json::from_slice(&body).unwrap_or(Value::Null),
            Vec::new(),
        )
    };
    f.log.lock().unwrap().push(Hit {
        method: method.to_string(),
        path: path.clone(),
        json: json.clone(),
        files,
    });
    f.seen.notify_waiters();
    let api = path.strip_prefix("/api/v10").unwrap_or(&path);
    let parts: Vec<&str> = api.trim_matches('/').split('/').collect();
    if let Some(wanted) = f.token.lock().unwrap().clone() {
        let given = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bot "));
        if given != Some(wanted.as_str()) && !path.ends_with("/callback") {
            return error_response(401, json!({"message": "401: Unauthorized", "code": 0}));
        }
    }
    let unknown = |what: &str, code: u32| {
        error_response(
            404,
            json!({"message": format!("Unknown {what}"), "code": code}),
        )
    };
    // Routes on a channel: the channel must exist, and a message in it must have been
    // posted there (Discord: 10003 Unknown Channel, 10008 Unknown Message).
    if let ["channels", channel, rest @ ..] = parts.as_slice() {
        let ids = f.ids.lock().unwrap();
        let Some(messages) = ids.channels.get(*channel) else {
            return unknown("Channel", 10003);
        };
        if let ["messages", message, ..] = rest
            && !messages.iter().any(|m| m == message)
        {
            return unknown("Message", 10008);
        }
    }
    if method == Method::GET {
        let everyone = f.permissions.lock().unwrap().unwrap_or(INVITE_PERMISSIONS);
        match parts.as_slice() {
            ["applications", "@me"] => {
                let flags = f.app_flags.lock().unwrap().unwrap_or(1 << 19);
                return axum::Json(json!({"id": APPLICATION_ID, "name": "baton",
                    "flags": flags, "bot": {"id": BOT_USER_ID, "username": "baton"}}))
                .into_response();
            }
            ["guilds", guild, "roles"] => {
                return axum::Json(json!([{"id": guild, "name": "@everyone",
                    "permissions": everyone.to_string()}]))
                .into_response();
            }
            ["guilds", _, "members", user] => {
                return axum::Json(json!({"user": {"id": user}, "roles": []})).into_response();
            }
            ["channels", channel] => {
                return axum::Json(json!({"id": channel, "type": 0, "guild_id": GUILD,
                    "permission_overwrites": []}))
                .into_response();
            }
            _ => {}
        }
    }
    let posts_message =
        method == Method::POST && matches!(parts.as_slice(), ["channels", _, "messages"]);
    let edits_original = method == Method::PATCH && path.ends_with("/messages/@original");
    if posts_message || edits_original {
        let scripted = f.script.lock().unwrap().pop_front();
        let lost = match scripted {
            Some(Answer::Status(status, body)) => return error_response(status, body),
            Some(Answer::Lost) => true,
            None => false,
        };
        let fail = *f.fail.lock().unwrap();
        if fail != 0 {
            return error_response(
                fail,
                json!({"message": "nope", "code": 0, "retry_after": 2.0}),
            );
        }
        let mut ids = f.ids.lock().unwrap();
        let (id, channel) = if posts_message {
            let channel = parts[1].to_string();
            let nonce = json["nonce"].as_str().map(str::to_string);
            let repeat = nonce
                .clone()
                .filter(|_| json["enforce_nonce"] == true)
                .and_then(|n| ids.nonces.get(&(channel.clone(), n)).cloned());
            let id = match repeat {
                Some(id) => id,
                None => {
                    f.created.lock().unwrap().push(nonce.clone());
                    let id = take(&mut ids.next_message);
                    ids.channels.get_mut(&channel).unwrap().push(id.clone());
                    if let Some(n) = nonce {
                        ids.nonces.insert((channel.clone(), n), id.clone());
                    }
                    id
                }
            };
            (id, channel)
        } else {
            // The original interaction response: a message in a channel the fake does not
            // track; its id is still a message id.
            (take(&mut ids.next_message), "1".to_string())
        };
        if lost {
            return error_response(500, json!({"message": "Internal Server Error", "code": 0}));
        }
        return axum::Json(message_json(&id, &channel)).into_response();
    }
    if method == Method::PATCH
        && let ["channels", channel, "messages", message] = parts.as_slice()
    {
        return axum::Json(message_json(message, channel)).into_response();
    }
    if path.ends_with("/callback") {
        // Interaction responses: 204 No Content, as Discord answers.
        return StatusCode::NO_CONTENT.into_response();
    }
    let body = if path.ends_with("/gateway") || path.ends_with("/gateway/bot") {
        let url = f.gateway.lock().unwrap().clone();
        let left = f.sessions_left.lock().unwrap().unwrap_or(999);
        json!({"url": url, "shards": 1, "session_start_limit":
            {"total": 1000, "remaining": left, "reset_after": 3_600_000, "max_concurrency": 1}})
    } else if path.ends_with("/users/@me/channels") {
        let mut ids = f.ids.lock().unwrap();
        let recipient = json["recipient_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let id = match ids.dms.get(&recipient) {
            Some(id) => id.clone(),
            None => {
                let id = take(&mut ids.next_dm);
                ids.dms.insert(recipient, id.clone());
                ids.channels.insert(id.clone(), Vec::new());
                id
            }
        };
        json!({"id": id, "type": 1})
    } else if let ["channels", channel, rest @ ..] = parts.as_slice()
        && method == Method::POST
        && rest.last() == Some(&"threads")
    {
        let mut ids = f.ids.lock().unwrap();
        let id = match rest {
            // From a message: the thread takes the message's id; one thread per message.
            ["messages", message, "threads"] => {
                if ids.threads.iter().any(|t| t == message) {
                    return error_response(
                        400,
                        json!({"message": "A thread has already been created for this message", "code": 160004}),
                    );
                }
                message.to_string()
            }
            _ => take(&mut ids.next_thread),
        };
        ids.threads.push(id.clone());
        ids.channels.insert(id.clone(), Vec::new());
        json!({"id": id, "type": 11, "parent_id": channel})
    } else if path.contains("/commands") {
        json!([])
    } else {
        let mut ids = f.ids.lock().unwrap();
        json!({"id": take(&mut ids.next_message)})
    };
    axum::Json(body).into_response()
}

pub(crate) async fn fake() -> (Fake, String) {
    let f = Fake::default();
    let app = axum::Router::new().fallback(fake_api).with_state(f.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (f, format!("http://{addr}"))
}

/// The fake hands out ids as Discord does and refuses what Discord refuses: a message id
/// it never issued in that channel (404, 10008), a channel that does not exist (404,
/// 10003), a second thread from one message (400, 160004).
#[tokio::test]
async fn the_fake_issues_its_own_ids_and_refuses_unknown_ones() {
    let (_f, url) = fake().await;
    let c = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: Value| {
        let req = c
            .request(method, format!("{url}/api/v10{path}"))
            .header("content-type", "application/json")
            .body(body.to_string());
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            (status, v)
        }
    };
    use reqwest::Method as M;
    const CH: &str = "1187532046617530999";
    let post = |ch: &str| format!("/channels/{ch}/messages");
    assert_eq!(
        call(M::POST, &post("42"), json!({})).await,
        (404, json!({"message": "Unknown Channel", "code": 10003}))
    );
    let (status, m) = call(M::POST, &post(CH), json!({"content": "a"})).await;
    assert_eq!((status, m["id"].as_str()), (200, Some("1000")));
    assert_eq!(m["channel_id"], CH);
    // Edits only of messages posted in that channel.
    assert_eq!(
        call(M::PATCH, &format!("{}/999", post(CH)), json!({})).await,
        (404, json!({"message": "Unknown Message", "code": 10008}))
    );
    assert_eq!(
        call(M::PATCH, &format!("{}/1000", post(CH)), json!({}))
            .await
            .0,
        200
    );
    // DM channels: their own space, one per recipient.
    let dm = |who: &str| call(M::POST, "/users/@me/channels", json!({"recipient_id": who}));
    assert_eq!(dm("7").await.1["id"], "9000");
    assert_eq!(dm("8").await.1["id"], "9001");
    assert_eq!(dm("7").await.1["id"], "9000");
    assert_eq!(
        call(M::POST, &post("9000"), json!({})).await.1["id"],
        "1001"
    );
    // A thread from a message shares the message's id (as on Discord); only one per message.
    let from = format!("{}/1000/threads", post(CH));
    assert_eq!(
        call(M::POST, &from, json!({"name": "t"})).await.1["id"],
        "1000"
    );
    assert_eq!(call(M::POST, &from, json!({"name": "t"})).await.0, 400);
    assert_eq!(
        call(
            M::POST,
            &format!("{}/999/threads", post(CH)),
            json!({"name": "t"})
        )
        .await
        .0,
        404
    );
    // Messages in the thread get their own ids; the starter message is not in the thread.
    assert_eq!(
        call(M::POST, &post("1000"), json!({})).await.1["id"],
        "1002"
    );
    assert_eq!(
        call(M::PATCH, &format!("{}/1000", post("1000")), json!({}))
            .await
            .0,
        404
    );
    // A thread of its own (not from a message): the thread space.
    let own = call(
        M::POST,
        &format!("/channels/{CH}/threads"),
        json!({"name": "u"}),
    )
    .await;
    assert_eq!(own.1["id"], "5000");
}

#[test]
fn the_fakes_message_is_a_discord_message() {
    serde_json::from_value::<serenity::all::Message>(message_json("1000", "9000")).unwrap();
}

fn out(org_id: i64, key: &str) -> Outbound {
    Outbound {
        org_id,
        kind: "test".into(),
        idempotency_key: key.into(),
        reply: baton::bot::Reply::new()
            .heading("Digest")
            .text("All on track."),
    }
}

pub(crate) async fn timed<T>(f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), f)
        .await
        .expect("bounded")
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn outbox_delivers_dms_channels_and_threads(pool: PgPool) {
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    let org = app.org(Some("northwind")).await.unwrap().id;
    let (f, url) = fake().await;
    let http = discord::http("bot-token", Some(42), Some(&url), true);
    let a = DiscordAdapter::new(app.clone(), http.clone());

    let d = timed(a.send(
        &Target::Person {
            person: "chloe".into(),
        },
        &out(org, "k1"),
    ))
    .await
    .unwrap();
    // Each message, thread and DM channel has its own id.
    assert_eq!(d.message_id.as_deref(), Some("1000"));
    timed(a.send(
        &Target::Channel {
            department: "eng-onboarding".into(),
        },
        &out(org, "k2"),
    ))
    .await
    .unwrap();
    let thread = Target::Thread {
        department: "eng-onboarding".into(),
        thread: "checkins:2026-11-16".into(),
    };
    timed(a.send(&thread, &out(org, "k3"))).await.unwrap();
    timed(a.send(&thread, &out(org, "k4"))).await.unwrap();
    let log: Vec<(String, String)> = f.hits().into_iter().map(|h| (h.method, h.path)).collect();
    // The thread is started from the third message (1002) and, as on Discord, shares its id.
    let expect = [
        ("POST", "/api/v10/users/@me/channels"),
        ("POST", "/api/v10/channels/9000/messages"),
        ("POST", "/api/v10/channels/1187532046617530999/messages"),
        ("POST", "/api/v10/channels/1187532046617530999/messages"),
        (
            "POST",
            "/api/v10/channels/1187532046617530999/messages/1002/threads",
        ),
        ("POST", "/api/v10/channels/1002/messages"),
    ];
    assert_eq!(
        log,
        expect.map(|(m, p)| (m.to_string(), p.to_string())).to_vec()
    );
    let first = f.hits()[1].json.clone();
    assert_eq!(first["embeds"][0]["title"], "Digest");
    assert!(
        first.get("flags").is_none(),
        "channel posts are not ephemeral"
    );
    assert_eq!(first["nonce"], discord::outbox::nonce("k1"));
    assert_eq!(f.hits()[0].json["recipient_id"], CHLOE);

    // A department without a Discord channel: permanent, nothing sent.
    let n = f.log.lock().unwrap().len();
    let e = timed(a.send(
        &Target::Channel {
            department: "eng-platform".into(),
        },
        &out(org, "k5"),
    ))
    .await
    .unwrap_err();
    assert!(matches!(e, AdapterError::Permanent(_)), "{e:?}");
    assert_eq!(f.log.lock().unwrap().len(), n);

    // 429 → rate limited, 5xx → transient, other 4xx → permanent.
    let chan = Target::Channel {
        department: "eng-onboarding".into(),
    };
    for (status, want) in [
        (429u16, "rate"),
        (500, "transient"),
        (503, "transient"),
        (403, "permanent"),
        (404, "permanent"),
    ] {
        *f.fail.lock().unwrap() = status;
        let e = timed(a.send(&chan, &out(org, "k6"))).await.unwrap_err();
        let got = match e {
            AdapterError::RateLimited { .. } => "rate",
            AdapterError::Transient(_) => "transient",
            AdapterError::Permanent(_) => "permanent",
        };
        assert_eq!(got, want, "{status}");
    }
    // Network failure (nothing listening) → transient.
    let dead = discord::http("t", None, Some("http://127.0.0.1:9"), true);
    let e = timed(DiscordAdapter::new(app.clone(), dead).send(&chan, &out(org, "k7")))
        .await
        .unwrap_err();
    assert!(matches!(e, AdapterError::Transient(_)), "{e:?}");

    // Registration: a bulk overwrite of guild commands, or of global ones.
    *f.fail.lock().unwrap() = 0;
    timed(discord::register_commands(&http, Some(5)))
        .await
        .unwrap();
    timed(discord::register_commands(&http, None))
        .await
        .unwrap();
    let log = f.hits();
    let regs: Vec<_> = log.iter().rev().take(2).collect();
    assert_eq!(regs[1].method, "PUT");
    assert_eq!(regs[1].path, "/api/v10/applications/42/guilds/5/commands");
    assert_eq!(regs[0].path, "/api/v10/applications/42/commands");
    assert_eq!(
        regs[0].json,
        baton::chat::discord::commands::commands_json()
    );
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The alt text the app gives the trend picture of `code` (what Discord must receive).
async fn trend_alt(app: &App, code: &str) -> (Reply, String) {
    let chloe = actor(app, "northwind", "chloe").await;
    let reply = app
        .handle_line(&chloe, &format!("kr {code}"), "probe")
        .await;
    let alt = reply
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Image(i) => Some(i.alt.clone()),
            _ => None,
        })
        .expect("kr carries a trend picture");
    (reply, alt)
}

/// Asserts `hit` uploaded the trend of EO-K1 as attachment 0, described by `alt` and shown
/// in the embed.
fn assert_trend_attached(hit: &Hit, alt: &str) {
    assert_eq!(hit.files.len(), 1, "{hit:?}");
    let f = &hit.files[0];
    assert_eq!(
        (
            f.field.as_str(),
            f.filename.as_str(),
            f.content_type.as_str()
        ),
        ("files[0]", "kr-EO-K1.png", "image/png")
    );
    assert!(f.data.starts_with(PNG_SIGNATURE), "a PNG");
    assert!(f.data.len() > 1000, "a whole picture");
    assert_eq!(
        hit.json["attachments"],
        json!([{"id": 0, "filename": "kr-EO-K1.png", "description": alt}])
    );
    assert_eq!(
        hit.json["embeds"][0]["image"]["url"],
        "attachment://kr-EO-K1.png"
    );
}

fn kr(id: &str, code: &str) -> Value {
    interaction(
        id,
        2,
        CHLOE,
        Some(GUILD),
        command("kr", json!([{"name": "code", "type": 3, "value": code}])),
    )
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn kr_answers_with_its_trend_attached_after_a_deferral(pool: PgPool) {
    let app = Arc::new(app_with(pool, &example_spec()).await);
    let (_, alt) = trend_alt(&app, "EO-K1").await;
    let (f, url) = fake().await;
    let http = discord::http("bot-token", Some(42), Some(&url), true);
    let r = router_for(app, Some(http), None);
    // The first edit fails; the follow-up tries again.
    f.answer(Answer::Status(
        500,
        json!({"message": "Internal Server Error", "code": 0}),
    ));

    let (st, v) = send(&r, kr("400", "EO-K1")).await;
    assert_eq!(st, StatusCode::OK);
    // Drawing takes a while: "thinking…", as private as the answer.
    assert_eq!(v, json!({"type": 5, "data": {"flags": 64}}));

    let hits = f
        .until(|h| h.iter().filter(|h| h.method == "PATCH").count() == 2)
        .await;
    for h in &hits {
        // Only edits of the original response: the retry cannot post a second message.
        assert_eq!(
            (h.method.as_str(), h.path.as_str()),
            ("PATCH", "/api/v10/webhooks/42/tok/messages/@original")
        );
        assert_trend_attached(h, &alt);
        assert!(h.json.get("flags").is_none(), "an edit keeps the privacy");
        assert!(
            h.json["embeds"][0]["title"]
                .as_str()
                .unwrap()
                .contains("EO-K1"),
            "{}",
            h.json
        );
    }
    assert_eq!(hits.len(), 2);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn slow_commands_are_deferred_finished_by_an_edit_and_run_once(pool: PgPool) {
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    let (f, url) = fake().await;
    let http = discord::http("bot-token", Some(42), Some(&url), true);
    // Every command counts as slow.
    let r = router_for(app, Some(http), Some(Duration::ZERO));
    let checkins = "SELECT count(*) FROM checkins";
    let before = count(&pool, checkins).await;
    let ask = interaction(
        "500",
        2,
        CHLOE,
        Some(GUILD),
        command(
            "checkin",
            json!([{"name": "code", "type": 3, "value": "EO-K1"},
                   {"name": "value", "type": 3, "value": "9"}]),
        ),
    );

    let started = std::time::Instant::now();
    let (_, v) = send(&r, ask.clone()).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "within Discord's 3 s"
    );
    assert_eq!(v, json!({"type": 5, "data": {"flags": 64}}));

    let hits = f.until(|h| !h.is_empty()).await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    let edit = &hits[0];
    assert_eq!(
        (edit.method.as_str(), edit.path.as_str()),
        ("PATCH", "/api/v10/webhooks/42/tok/messages/@original")
    );
    assert!(edit.files.is_empty(), "no picture, plain JSON");
    let text = edit.json["embeds"][0].to_string();
    assert!(text.contains("EO-K1") && text.contains('9'), "{text}");
    assert_eq!(count(&pool, checkins).await, before + 1);

    // Discord delivering the same interaction again: refused at once, nothing run or sent.
    let (_, v) = send(&r, ask).await;
    assert_eq!(v["type"], 4, "{v}");
    assert!(description(&v).contains("already handled"), "{v}");
    assert_eq!(count(&pool, checkins).await, before + 1);
    assert_eq!(f.hits().len(), 1);
}

async fn clocked(pool: PgPool) -> (Arc<App>, Arc<FixedClock>, i64) {
    let clock = Arc::new(FixedClock::new(now()));
    let app = Arc::new(app_at(pool, &example_spec(), clock.clone()).await);
    let org = app.org(Some("northwind")).await.unwrap().id;
    (app, clock, org)
}

async fn enqueue(app: &App, org: i64, key: &str, reply: Reply) {
    let target = Target::Channel {
        department: "eng-onboarding".into(),
    };
    let now = app.clock.now();
    let queued = baton::store::outbox::enqueue_alone(
        &app.store,
        org,
        key,
        &target,
        &Payload::Reply { reply },
        now,
        now,
    )
    .await
    .unwrap();
    assert!(queued);
}

/// (state, not_before, attempts, last_error) of an outbox message.
async fn outbox_row(pool: &PgPool, key: &str) -> (String, DateTime<Utc>, i32, Option<String>) {
    sqlx::query_as(
        "SELECT state, not_before, attempts, last_error FROM outbox WHERE idempotency_key = $1",
    )
    .bind(key)
    .fetch_one(pool)
    .await
    .unwrap()
}

fn message_posts(f: &Fake) -> Vec<Hit> {
    f.hits()
        .into_iter()
        .filter(|h| h.method == "POST" && h.path.ends_with("/messages"))
        .collect()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn outbox_uploads_pictures_once_and_text_when_drawing_fails(pool: PgPool) {
    let (app, clock, org) = clocked(pool.clone()).await;
    let (reply, alt) = trend_alt(&app, "EO-K1").await;
    let (f, url) = fake().await;
    let a = DiscordAdapter::new(
        app.clone(),
        discord::http("bot-token", Some(42), Some(&url), true),
    );

    // The post is made but its answer is lost (500): retried later with the same nonce.
    enqueue(&app, org, "pic-1", reply).await;
    f.answer(Answer::Lost);
    assert_eq!(deliver_batch(&app, &a, "w", 10, None).await.unwrap(), 1);
    let (state, not_before, _, error) = outbox_row(&pool, "pic-1").await;
    assert_eq!(state, "pending");
    assert!(error.unwrap().contains("500"));
    clock.set(not_before);
    assert_eq!(deliver_batch(&app, &a, "w", 10, None).await.unwrap(), 1);
    assert_eq!(outbox_row(&pool, "pic-1").await.0, "sent");

    let posts = message_posts(&f);
    assert_eq!(posts.len(), 2);
    for p in &posts {
        assert_eq!(p.path, "/api/v10/channels/1187532046617530999/messages");
        assert_trend_attached(p, &alt);
        assert_eq!(p.json["nonce"], discord::outbox::nonce("pic-1"));
        assert!(p.json.get("flags").is_none(), "channel posts are public");
    }
    // Discord kept one message: the retry carried the same nonce.
    assert_eq!(f.created.lock().unwrap().len(), 1);

    // A picture that cannot be drawn: the text still goes, with a note, as plain JSON.
    let mut broken = Reply::new().heading("EO-K9").text("Figures as of today.");
    broken.push(Block::Image(baton::bot::reply::ImageRef {
        kind: "kr_trend".into(),
        subject: Some("EO-K9".into()),
        alt: "Trend of EO-K9".into(),
    }));
    enqueue(&app, org, "pic-2", broken).await;
    assert_eq!(deliver_batch(&app, &a, "w", 10, None).await.unwrap(), 1);
    assert_eq!(outbox_row(&pool, "pic-2").await.0, "sent");
    let last = message_posts(&f).pop().unwrap();
    assert!(last.files.is_empty());
    assert!(last.json.get("attachments").is_none());
    let text = last.json["embeds"][0]["description"].as_str().unwrap();
    assert!(
        text.contains("Figures as of today.") && text.contains(discord::pictures::NOT_DRAWN),
        "{text}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn outbox_waits_as_long_as_discord_says_and_never_retries_refusals(pool: PgPool) {
    let (app, clock, org) = clocked(pool.clone()).await;
    let (f, url) = fake().await;
    let a = DiscordAdapter::new(
        app.clone(),
        discord::http("bot-token", Some(42), Some(&url), true),
    );
    let limited = |s: f64| {
        Answer::Status(
            429,
            json!({"message": "You are being rate limited.", "retry_after": s, "global": false}),
        )
    };
    f.answer(limited(0.25));
    f.answer(limited(1.5));
    enqueue(&app, org, "rl-1", out(org, "rl-1").reply).await;

    let t0 = baton::clock::Clock::now(clock.as_ref());
    assert_eq!(deliver_batch(&app, &a, "w", 10, None).await.unwrap(), 1);
    let (state, next, _, error) = outbox_row(&pool, "rl-1").await;
    assert_eq!(state, "pending");
    // The body's precise wait, not the header's whole second nor a fixed default.
    assert_eq!(next, t0 + chrono::Duration::milliseconds(250));
    assert!(error.unwrap().contains("rate limited"));
    // Not due before then.
    clock.advance(chrono::Duration::milliseconds(249));
    assert_eq!(deliver_batch(&app, &a, "w", 10, None).await.unwrap(), 0);
    assert_eq!(message_posts(&f).len(), 1);

    clock.set(next);
    assert_eq!(deliver_batch(&app, &a, "w", 10, None).await.unwrap(), 1);
    let (state, next2, attempts, _) = outbox_row(&pool, "rl-1").await;
    assert_eq!((state.as_str(), attempts), ("pending", 2));
    assert_eq!(next2, next + chrono::Duration::milliseconds(1500));

    clock.set(next2);
    assert_eq!(deliver_batch(&app, &a, "w", 10, None).await.unwrap(), 1);
    assert_eq!(outbox_row(&pool, "rl-1").await.0, "sent");
    assert_eq!(message_posts(&f).len(), 3);

    // A refusal other than 429 is final: one request, the message parked with the reason.
    f.answer(Answer::Status(
        403,
        json!({"message": "Missing Access", "code": 50001}),
    ));
    enqueue(&app, org, "no-1", out(org, "no-1").reply).await;
    assert_eq!(deliver_batch(&app, &a, "w", 10, None).await.unwrap(), 1);
    let (state, _, attempts, error) = outbox_row(&pool, "no-1").await;
    assert_eq!((state.as_str(), attempts), ("dead", 1));
    let error = error.unwrap();
    assert!(
        error.contains("403")
            && error.contains("Missing Access (code 50001)")
            && error.contains("POST /channels/1187532046617530999/messages"),
        "{error}"
    );
    clock.advance(chrono::Duration::hours(1));
    assert_eq!(deliver_batch(&app, &a, "w", 10, None).await.unwrap(), 0);
    assert_eq!(message_posts(&f).len(), 4);
}

#[test]
fn commands_manifest_does_not_drift() {
    let path = crate::common::root().join("manifests/discord-commands.json");
    let want = serde_json::to_string_pretty(&baton::chat::discord::commands::commands_json())
        .unwrap()
        + "\n";
    if std::env::var_os("BATON_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "manifests/discord-commands.json is out of date; regenerate with BATON_BLESS=1 cargo test commands_manifest"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_periods_checkin_summary_is_a_thread_whose_starter_message_is_edited(pool: PgPool) {
    let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let clock = Arc::new(FixedClock::new(at("2026-11-22T21:00:00Z")));
    let app = Arc::new(app_at(pool.clone(), &example_spec(), clock.clone()).await);
    let (f, url) = fake().await;
    let http = discord::http("bot-token", Some(42), Some(&url), true);
    let a = DiscordAdapter::new(app.clone(), http);
    let deliver = || async {
        while timed(deliver_batch(&app, &a, "w", 100, None))
            .await
            .unwrap()
            > 0
        {}
    };
    const CHANNEL: &str = "/api/v10/channels/1187532046617530999/messages";

    // Monday 09:00 in Sydney: the Onboarding squad's fortnightly check-in.
    clock.set(at("2026-11-22T22:00:30Z"));
    baton::app::schedule::run_due(&app, None).await.unwrap();
    deliver().await;
    let parents: Vec<Value> = f
        .calls("POST", CHANNEL)
        .into_iter()
        .filter(|b| {
            b.to_string()
                .contains("Onboarding squad check-in · Mon 23 Nov 2026")
        })
        .collect();
    assert_eq!(parents.len(), 1, "{parents:?}");
    assert!(
        parents[0].to_string().contains("0 of 2 answered"),
        "{}",
        parents[0]
    );
    let starter = f.messages_in("1187532046617530999")[0].clone();
    let threads = f.calls("POST", &format!("{CHANNEL}/{starter}/threads"));
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0]["name"], "check-ins 2026-11-23 09:00");
    let thread = f.threads()[0].clone();

    // Chloe answers: a line in the thread, and the starter message is edited in place.
    let out = crate::common::shell(
        &app,
        "northwind",
        "chloe",
        "EO-K1 9 at risk: wizard slips\n",
    )
    .await;
    assert!(out.contains("Recorded EO-K1"), "{out}");
    clock.advance(chrono::Duration::seconds(10));
    deliver().await;
    let lines = f.calls("POST", &format!("/api/v10/channels/{thread}/messages"));
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = lines[0].to_string();
    assert!(
        line.contains("Chloe") && line.contains("EO-K1 9 steps (at risk)"),
        "{line}"
    );
    // The edit goes to the starter message, in the channel (not in the thread).
    let edits = f.calls("PATCH", &format!("{CHANNEL}/{starter}"));
    assert_eq!(edits.len(), 1, "{edits:?}");
    let edit = edits[0].to_string();
    assert!(
        edit.contains("1 of 2 answered") && edit.contains("1 waiting"),
        "{edit}"
    );
    assert!(edits[0].get("nonce").is_none() && edits[0].get("flags").is_none());
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbox WHERE kind LIKE 'summary%' AND state <> 'sent'"
        )
        .await,
        0
    );
}
