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

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The Web API method (`chat.postMessage`), or `response/<id>`.
    pub method: String,
    pub body: Value,
    pub at: Instant,
    /// The HTTP status the fake answered.
    pub status: u16,
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
    buckets: HashMap<String, (f64, Instant)>,
    seq: u64,
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

    /// What `apps.connections.open` hands out.
    pub fn set_socket_url(&self, url: &str) {
        self.inner.lock().expect("fake").socket_url = Some(url.to_string());
    }

    /// Enforce `per_second` posts per channel (bursts of `burst`) with 429s.
    pub fn limit_per_channel(&self, per_second: f64, burst: u32) {
        self.inner.lock().expect("fake").limit = Some((per_second, f64::from(burst)));
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

    /// Successful calls of one method.
    pub fn ok_calls(&self, method: &str) -> Vec<Value> {
        self.calls(method)
            .into_iter()
            .filter(|r| r.status == 200)
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
    fn record(&self, method: String, body: Value, status: u16) {
        self.inner.lock().expect("fake").requests.push(Recorded {
            method,
            body,
            at: Instant::now(),
            status,
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

    pub fn clear(&self) {
        self.inner.lock().expect("fake").requests.clear();
    }
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

async fn api_get(
    State(f): State<FakeSlack>,
    Path(method): Path<String>,
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
    answer(&f, method, body)
}

async fn api(
    State(f): State<FakeSlack>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = parse_body(&headers, &body);
    answer(&f, method, body)
}

async fn response_url(
    State(f): State<FakeSlack>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    f.record(format!("response/{id}"), parse_body(&headers, &body), 200);
    reply(StatusCode::OK, json!({ "ok": true }), None)
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
    );
    // Slack's upload URL answers in plain text.
    let mut r = (status, format!("OK - {}", body.len())).into_response();
    if let Some(s) = retry {
        r.headers_mut()
            .insert(header::RETRY_AFTER, s.to_string().parse().expect("digits"));
    }
    r
}

fn answer(f: &FakeSlack, method: String, body: Value) -> Response {
    let now = Instant::now();
    let mut inner = f.inner.lock().expect("fake");
    let fault = inner.faults.get_mut(&method).and_then(VecDeque::pop_front);
    let mut rate_limited = fault.as_ref().and_then(|x| match x {
        Fault::RateLimited { retry_after_s } => Some(*retry_after_s),
        _ => None,
    });
    if fault.is_none()
        && method == "chat.postMessage"
        && let Some((rate, burst)) = inner.limit
    {
        let channel = body["channel"].as_str().unwrap_or_default().to_string();
        let (tokens, at) = inner.buckets.entry(channel).or_insert((burst, now));
        let refilled =
            (*tokens + now.saturating_duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        // A little slack for clock granularity between client and fake.
        if refilled >= 0.98 {
            *tokens = refilled - 1.0;
        } else {
            *tokens = refilled;
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
    } else {
        inner.seq += 1;
        let ts = format!("1763294400.{:06}", inner.seq);
        let v = match method.as_str() {
            // Posting to a user id lands in the app's DM with them: Slack answers with it.
            "chat.postMessage" => json!({
                "ok": true, "channel": dm_for_user(&body["channel"]), "ts": ts,
                "message": { "ts": ts, "text": body["text"] }
            }),
            "chat.update" => json!({ "ok": true, "channel": body["channel"], "ts": body["ts"] }),
            "chat.postEphemeral" => json!({ "ok": true, "message_ts": ts }),
            "conversations.open" => {
                let user = body["users"].as_str().unwrap_or("U0").to_string();
                json!({ "ok": true, "channel": { "id": format!("D{}", user.trim_start_matches('U')) } })
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
            "apps.connections.open" => match &inner.socket_url {
                Some(u) => json!({ "ok": true, "url": u }),
                None => json!({ "ok": false, "error": "invalid_auth" }),
            },
            _ => json!({ "ok": true }),
        };
        (StatusCode::OK, v, None)
    };
    inner.requests.push(Recorded {
        method,
        body,
        at: now,
        status: status.as_u16(),
    });
    drop(inner);
    f.seen.notify_waiters();
    reply(status, v, retry)
}

/// The channel Slack reports for a post: a user id (`U…`) stands for the DM with that user,
/// whose id is the one `conversations.open` hands out here (`D` + the rest of the user id).
fn dm_for_user(channel: &Value) -> Value {
    match channel.as_str().and_then(|c| c.strip_prefix('U')) {
        Some(rest) => json!(format!("D{rest}")),
        None => channel.clone(),
    }
}
