//! Discord: signed interactions against the endpoint, the outbox adapter against a fake
//! Discord REST API (loopback), and the generated command manifest.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{Method, Request, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use baton::chat::discord::{self, DiscordAdapter, Interactions};
use baton::chat::{AdapterError, ChatAdapter, Outbound, Target};
use baton::http::HttpState;
use baton::metrics::Metrics;
use baton::serve::Shutdown;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;

use crate::common::{app_with, count, example_spec, now};

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
    let cfg = Interactions::new(&hex(key().verifying_key().as_bytes()), None).unwrap();
    discord::routes(
        HttpState::new(app, Arc::new(Metrics::new()), Shutdown::new()),
        cfg,
    )
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

pub(crate) fn description(v: &Value) -> String {
    v["data"]["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_string()
        + v["data"]["embeds"][0]["title"].as_str().unwrap_or_default()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn ping_pong_and_bad_requests_get_401(pool: PgPool) {
    let r = router(pool).await;
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
            "SELECT count(*) FROM inbound_events WHERE delivery_id = 'discord:100'"
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

#[derive(Clone, Default)]
pub(crate) struct Fake {
    pub(crate) log: Arc<Mutex<Vec<(String, String, Value)>>>,
    /// Status to answer message posts with (0 = success).
    fail: Arc<Mutex<u16>>,
    /// What `GET /gateway` hands out (a local fake gateway's `ws://` URL).
    pub(crate) gateway: Arc<Mutex<String>>,
}

impl Fake {
    /// The bodies of the recorded calls to `path`, in order.
    pub(crate) fn calls(&self, method: &str, path: &str) -> Vec<Value> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, p, _)| m == method && p == path)
            .map(|(_, _, v)| v.clone())
            .collect()
    }
}

async fn fake_api(State(f): State<Fake>, method: Method, uri: Uri, body: Bytes) -> Response {
    let path = uri.path().to_string();
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    f.log
        .lock()
        .unwrap()
        .push((method.to_string(), path.clone(), v));
    let fail = *f.fail.lock().unwrap();
    if fail != 0 {
        return (
            StatusCode::from_u16(fail).unwrap(),
            [("retry-after", "2")],
            axum::Json(json!({"message": "nope", "code": 0, "retry_after": 2.0})),
        )
            .into_response();
    }
    if path.ends_with("/callback") {
        // Interaction responses: 204 No Content, as Discord answers.
        return StatusCode::NO_CONTENT.into_response();
    }
    let body = if path.ends_with("/gateway") || path.ends_with("/gateway/bot") {
        let url = f.gateway.lock().unwrap().clone();
        json!({"url": url, "shards": 1, "session_start_limit":
            {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})
    } else if path.ends_with("/users/@me/channels") {
        json!({"id": "777", "type": 1})
    } else if path.ends_with("/threads") {
        json!({"id": "888", "type": 11})
    } else if path.contains("/commands") {
        json!([])
    } else {
        json!({"id": "999"})
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
    let app = app_with(pool.clone(), &example_spec()).await;
    let org = app.org(Some("northwind")).await.unwrap().id;
    let (f, url) = fake().await;
    let http = discord::http("bot-token", Some(42), Some(&url), true);
    let a = DiscordAdapter::new(app.store.clone(), http.clone());

    let d = timed(a.send(
        &Target::Person {
            person: "chloe".into(),
        },
        &out(org, "k1"),
    ))
    .await
    .unwrap();
    assert_eq!(d.message_id.as_deref(), Some("999"));
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
    let log: Vec<(String, String)> = f
        .log
        .lock()
        .unwrap()
        .iter()
        .map(|(m, p, _)| (m.clone(), p.clone()))
        .collect();
    let expect = [
        ("POST", "/api/v10/users/@me/channels"),
        ("POST", "/api/v10/channels/777/messages"),
        ("POST", "/api/v10/channels/1187532046617530999/messages"),
        ("POST", "/api/v10/channels/1187532046617530999/messages"),
        (
            "POST",
            "/api/v10/channels/1187532046617530999/messages/999/threads",
        ),
        ("POST", "/api/v10/channels/888/messages"),
    ];
    assert_eq!(
        log,
        expect.map(|(m, p)| (m.to_string(), p.to_string())).to_vec()
    );
    let first = f.log.lock().unwrap()[1].2.clone();
    assert_eq!(first["embeds"][0]["title"], "Digest");
    assert!(
        first.get("flags").is_none(),
        "channel posts are not ephemeral"
    );
    assert_eq!(first["nonce"], discord::outbox::nonce("k1"));
    assert_eq!(f.log.lock().unwrap()[0].2["recipient_id"], CHLOE);

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
    let e = timed(DiscordAdapter::new(app.store.clone(), dead).send(&chan, &out(org, "k7")))
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
    let log = f.log.lock().unwrap().clone();
    let regs: Vec<_> = log.iter().rev().take(2).collect();
    assert_eq!(regs[1].0, "PUT");
    assert_eq!(regs[1].1, "/api/v10/applications/42/guilds/5/commands");
    assert_eq!(regs[0].1, "/api/v10/applications/42/commands");
    assert_eq!(regs[0].2, baton::chat::discord::commands::commands_json());
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
