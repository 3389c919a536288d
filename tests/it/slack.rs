//! The Slack adapter against a fake Slack Web API on 127.0.0.1: signed HTTP-mode requests
//! (slash commands, buttons, modal submissions, DM events with retries), Socket Mode
//! against a local WebSocket server, outbox delivery with pacing and 429s, and Block Kit
//! snapshots. Fixtures are baton's own, modelled on Slack's documented payload shapes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use baton::bot::render::slack as render;
use baton::chat::slack::fake::{FakeSlack, Fault};
use baton::chat::slack::{SlackAdapter, SlackBot, sign};
use baton::chat::{ChatAdapter, Target};
use baton::outbox::{self, Payload};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sqlx::PgPool;
use tower::ServiceExt;

use crate::common::{Logs, app_with, count, example_spec, now};

pub(crate) const SECRET: &str = "baton-test-signing-secret";
pub(crate) const TEAM: &str = "T04NWCLOUD";
pub(crate) const EMMA: &str = "U04EMMADV5";
pub(crate) const MAYA: &str = "U04MAYA7QK";
/// The bound on waiting for something that must happen (generous: the machine may be loaded).
pub(crate) const LIMIT: Duration = Duration::from_secs(30);
/// How long the rig's acks wait for a command's, button's or submission's work.
const ACK_WAIT: Duration = Duration::from_secs(60);

pub(crate) struct Rig {
    pub app: Arc<baton::app::App>,
    pub fake: FakeSlack,
    pub bot: Arc<SlackBot>,
    pub router: axum::Router,
}

async fn rig(pool: PgPool) -> Rig {
    rig_on(
        pool,
        &example_spec(),
        Arc::new(baton::clock::FixedClock::new(now())),
    )
    .await
}

/// A rig over `spec` on a clock the test controls (signatures are made at its now).
pub(crate) async fn rig_on(
    pool: PgPool,
    spec: &baton::domain::OrgSpec,
    clock: Arc<baton::clock::FixedClock>,
) -> Rig {
    let app = baton::app::App::new(baton::store::Store::new(pool), clock);
    let applied = baton::app::apply::apply(&app, spec, false)
        .await
        .expect("apply");
    assert!(applied.written);
    let app = Arc::new(app);
    let fake = FakeSlack::start().await.expect("fake slack");
    let mut bot =
        SlackBot::new(app.clone(), &fake.api_url(), "xoxb-test", Some("xapp-test")).unwrap();
    // Acks wait for the work to be done (up to a minute, not Slack's one second), so what
    // a test reads in an ack does not depend on how fast this machine is. The path past
    // the budget (through response_url) has its own test with a zero budget.
    bot.ack_budget = ACK_WAIT;
    let bot = Arc::new(bot);
    let router = baton::chat::slack::http::routes(bot.clone(), SECRET.to_string().into());
    Rig {
        app,
        fake,
        bot,
        router,
    }
}

impl Rig {
    fn ts(&self) -> i64 {
        self.app.clock.now().timestamp()
    }

    /// `/baton <text>` from `user`, signed at the app's now.
    pub(crate) async fn slash(&self, user: &str, text: &str, trigger: &str) -> (StatusCode, Value) {
        let body = command_body(&self.fake, user, TEAM, text, trigger);
        let req = signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            body,
            self.ts(),
        );
        send(&self.router, req).await
    }

    /// An interaction payload, signed at the app's now.
    pub(crate) async fn interact(&self, payload: &Value) -> (StatusCode, Value) {
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        let req = signed(
            "/slack/interactions",
            "application/x-www-form-urlencoded",
            body,
            self.ts(),
        );
        send(&self.router, req).await
    }

    /// An Events API payload, signed at the app's now; `retry` sets `X-Slack-Retry-Num`.
    pub(crate) async fn event(&self, v: &Value, retry: Option<&str>) -> StatusCode {
        let mut req = signed(
            "/slack/events",
            "application/json",
            v.to_string(),
            self.ts(),
        );
        if let Some(n) = retry {
            req.headers_mut()
                .insert("x-slack-retry-num", n.parse().unwrap());
            req.headers_mut()
                .insert("x-slack-retry-reason", "http_timeout".parse().unwrap());
        }
        self.post_event(req).await
    }

    /// Posts a signed `/slack/events` request and, when it was accepted, waits until the
    /// bot has finished processing it (`events_done`): the handler acks after a bounded
    /// wait, so its answer alone does not mean the event's work is over.
    pub(crate) async fn post_event(&self, req: Request<Body>) -> StatusCode {
        let mut done = self.bot.events_done.subscribe();
        let before = *done.borrow_and_update();
        let (status, ack) = send(&self.router, req).await;
        // Refused requests and `url_verification` reach no event handler.
        if status == StatusCode::OK && ack.get("challenge").is_none() {
            tokio::time::timeout(LIMIT, done.wait_for(|n| *n > before))
                .await
                .expect("the event was processed to the end")
                .unwrap();
        }
        status
    }
}

pub(crate) fn signed(path: &str, content_type: &str, body: String, ts: i64) -> Request<Body> {
    let ts = ts.to_string();
    Request::post(path)
        .header("content-type", content_type)
        .header("x-slack-request-timestamp", &ts)
        .header("x-slack-signature", sign(SECRET, &ts, body.as_bytes()))
        .body(Body::from(body))
        .unwrap()
}

pub(crate) async fn send(router: &axum::Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, v)
}

fn command_body(fake: &FakeSlack, user: &str, team: &str, text: &str, trigger: &str) -> String {
    serde_urlencoded::to_string([
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", team),
        ("team_domain", "northwind"),
        ("channel_id", "C04SALES7X2"),
        ("channel_name", "sales"),
        ("user_id", user),
        ("user_name", "someone"),
        ("command", "/baton"),
        ("text", text),
        ("api_app_id", "A0BATON001"),
        ("response_url", &fake.response_url(trigger)),
        ("trigger_id", trigger),
    ])
    .unwrap()
}

async fn command(r: &Rig, user: &str, text: &str, trigger: &str) -> (StatusCode, Value) {
    let body = command_body(&r.fake, user, TEAM, text, trigger);
    send(
        &r.router,
        signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            body,
            now().timestamp(),
        ),
    )
    .await
}

fn interaction_request(payload: &Value) -> Request<Body> {
    let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
    signed(
        "/slack/interactions",
        "application/x-www-form-urlencoded",
        body,
        now().timestamp(),
    )
}

/// An `event_callback` envelope around `event`.
pub(crate) fn event_callback(event_id: &str, event: Value) -> Value {
    json!({
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": TEAM,
        "api_app_id": "A0BATON001",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": now().timestamp(),
        "event": event
    })
}

pub(crate) fn dm_event(event_id: &str, user: &str, text: &str) -> Value {
    event_callback(
        event_id,
        json!({
            "type": "message",
            "channel": "D04EMMADV5",
            "channel_type": "im",
            "user": user,
            "text": text,
            "ts": "1763294400.000100",
            "event_ts": "1763294400.000100"
        }),
    )
}

async fn checkins(pool: &PgPool) -> i64 {
    count(pool, "SELECT count(*) FROM checkins WHERE source = 'slack'").await
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn slash_status_answers_ephemerally_in_block_kit(pool: PgPool) {
    let r = rig(pool).await;
    let (status, ack) = command(&r, MAYA, "status sales", "100.1.a").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ack["response_type"], "ephemeral", "{ack}");
    let blocks = ack["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty() && blocks.len() <= 50);
    assert!(ack["text"].as_str().unwrap().contains("Sales"), "{ack}");
    // `share` makes it visible to the channel.
    let (_, ack) = command(&r, MAYA, "share status sales", "100.1.b").await;
    assert_eq!(ack["response_type"], "in_channel", "{ack}");
    // A retried delivery (same trigger) answers nothing new.
    let (status, ack) = command(&r, MAYA, "status sales", "100.1.a").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ack, Value::Null);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn forged_or_stale_requests_get_401_and_reach_no_handler(pool: PgPool) {
    let r = rig(pool.clone()).await;
    let body = command_body(&r.fake, EMMA, TEAM, "S2 9 on track", "200.1");
    // Wrong signature.
    let mut req = signed(
        "/slack/commands",
        "application/x-www-form-urlencoded",
        body.clone(),
        now().timestamp(),
    );
    req.headers_mut().insert(
        "x-slack-signature",
        "v0=0000000000000000000000000000000000000000000000000000000000000000"
            .parse()
            .unwrap(),
    );
    assert_eq!(send(&r.router, req).await.0, StatusCode::UNAUTHORIZED);
    // Correctly signed, but six minutes old.
    let req = signed(
        "/slack/commands",
        "application/x-www-form-urlencoded",
        body.clone(),
        now().timestamp() - 360,
    );
    assert_eq!(send(&r.router, req).await.0, StatusCode::UNAUTHORIZED);
    // No signature at all, on every endpoint.
    for path in ["/slack/events", "/slack/interactions", "/slack/commands"] {
        let req = Request::post(path).body(Body::from(body.clone())).unwrap();
        assert_eq!(send(&r.router, req).await.0, StatusCode::UNAUTHORIZED);
    }
    // A signed event whose body was altered after signing.
    let ev = dm_event("Ev0FORGED", EMMA, "S2 9 on track").to_string();
    let mut req = signed("/slack/events", "application/json", ev, now().timestamp());
    *req.body_mut() = Body::from(dm_event("Ev0FORGED", EMMA, "S2 1 off track").to_string());
    assert_eq!(send(&r.router, req).await.0, StatusCode::UNAUTHORIZED);

    assert_eq!(checkins(&pool).await, 0);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM inbound_deliveries").await,
        0
    );
    assert!(r.fake.requests().is_empty(), "{:?}", r.fake.requests());
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn url_verification_is_answered(pool: PgPool) {
    let r = rig(pool).await;
    let body = json!({ "token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification" });
    let (status, v) = send(
        &r.router,
        signed(
            "/slack/events",
            "application/json",
            body.to_string(),
            now().timestamp(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        v["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_dm_line_is_stored_once_despite_event_retries(pool: PgPool) {
    let r = rig(pool.clone()).await;
    let ev = dm_event("Ev04CHECKIN1", EMMA, "S2 9 on track: templates shipped").to_string();
    let status = r
        .post_event(signed(
            "/slack/events",
            "application/json",
            ev.clone(),
            now().timestamp(),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    for retry in ["1", "2"] {
        let mut req = signed(
            "/slack/events",
            "application/json",
            ev.clone(),
            now().timestamp(),
        );
        req.headers_mut()
            .insert("x-slack-retry-num", retry.parse().unwrap());
        req.headers_mut()
            .insert("x-slack-retry-reason", "http_timeout".parse().unwrap());
        assert_eq!(r.post_event(req).await, StatusCode::OK);
    }
    assert_eq!(checkins(&pool).await, 1);
    let (value, conf): (f64, Option<String>) = sqlx::query_as(
        "SELECT c.value, c.confidence FROM checkins c JOIN people p ON p.id = c.person_id
         WHERE p.key = 'emma' AND c.source = 'slack'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((value, conf.as_deref()), (9.0, Some("on_track")));
    let posts = r.fake.ok_calls("chat.postMessage");
    assert_eq!(posts.len(), 1, "one answer: {posts:?}");
    assert_eq!(posts[0]["channel"], "D04EMMADV5");
    assert!(
        posts[0]["text"].as_str().unwrap().contains("S2"),
        "{posts:?}"
    );

    // Bot messages and edits are not commands.
    let mut own = dm_event("Ev04BOTECHO", EMMA, "Recorded S2");
    own["event"]["bot_id"] = json!("B0BATON");
    r.post_event(signed(
        "/slack/events",
        "application/json",
        own.to_string(),
        now().timestamp(),
    ))
    .await;
    assert_eq!(r.fake.ok_calls("chat.postMessage").len(), 1);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn unknown_users_get_a_polite_ephemeral_answer_and_nothing_is_stored(pool: PgPool) {
    let r = rig(pool.clone()).await;
    let (_, ack) = command(&r, "U0STRANGER", "checkin S2 9 on track", "300.1").await;
    assert_eq!(ack["response_type"], "ephemeral");
    assert!(
        ack["text"].as_str().unwrap().contains("don't know you"),
        "{ack}"
    );
    // An unknown workspace is refused.
    let body = command_body(&r.fake, EMMA, "T0ELSEWHERE", "status", "300.2");
    let (_, ack) = send(
        &r.router,
        signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            body,
            now().timestamp(),
        ),
    )
    .await;
    assert!(
        ack["text"].as_str().unwrap().contains("not connected"),
        "{ack}"
    );
    // A DM from a stranger gets an ephemeral explanation.
    let ev = dm_event("Ev04STRANGER", "U0STRANGER", "S2 9").to_string();
    r.post_event(signed(
        "/slack/events",
        "application/json",
        ev,
        now().timestamp(),
    ))
    .await;
    let eph = r.fake.ok_calls("chat.postEphemeral");
    assert_eq!(eph.len(), 1);
    assert_eq!(eph[0]["user"], "U0STRANGER");
    assert_eq!(checkins(&pool).await, 0);
    // Of the strangers, only the delivery ids are kept (retries are dropped by them).
    assert_eq!(
        count(&pool, "SELECT count(*) FROM inbound_deliveries").await,
        3
    );
    for sql in [
        "SELECT count(*) FROM learned_identities",
        "SELECT count(*) FROM platform_zones",
        "SELECT count(*) FROM captures",
    ] {
        assert_eq!(count(&pool, sql).await, 0, "{sql}");
    }
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn people_without_a_slack_id_are_found_by_email(pool: PgPool) {
    let r = rig(pool.clone()).await;
    // Kofi has no Slack id in the manifest; Slack knows his email.
    r.fake.add_user(
        "U07KOFI001",
        "Kofi.Mensah@northwind.example",
        "Africa/Accra",
    );
    let (_, ack) = command(&r, "U07KOFI001", "S1 70 on track: steady", "400.1").await;
    assert!(!ack.to_string().contains("warning"), "{ack}");
    let who: String = sqlx::query_scalar(
        "SELECT p.key FROM checkins c JOIN people p ON p.id = c.person_id WHERE c.source = 'slack'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(who, "kofi");
    assert_eq!(r.fake.calls("users.info").len(), 1);
}

/// The stand-in refuses over HTTP what Slack refuses: a missing or wrong token (read from
/// `Authorization: Bearer`), the other kind of token, a method Slack does not have, a `ts`
/// it never issued, and content over Block Kit's limits; what it refuses has no effect.
#[tokio::test]
async fn the_stand_in_refuses_what_slack_refuses() {
    use slack_morphism::prelude::{SlackApiToken, SlackApiTokenValue};
    let fake = FakeSlack::start().await.unwrap();
    let client = baton::chat::slack::client(&fake.api_url()).unwrap();
    let call = |token: &'static str, method: &'static str, body: Value| {
        let client = &client;
        let fake = &fake;
        async move {
            let before = fake.refused().len();
            let token = SlackApiToken::new(SlackApiTokenValue::new(token.to_string()));
            let answer = client
                .open_session(&token)
                .http_session_api
                .http_post::<Value, Value>(method, &body, None)
                .await;
            let refused = fake.refused().get(before).map(|(_, e)| e.clone());
            assert_eq!(answer.is_ok(), refused.is_none(), "{method}: {answer:?}");
            answer.map_err(|_| refused.unwrap())
        }
    };
    let hi = || json!({ "channel": "C0TEST", "text": "hi" });
    // No token at all.
    let raw = reqwest::Client::new()
        .post(format!("{}/chat.postMessage", fake.api_url()))
        .header("content-type", "application/json")
        .body(hi().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 200, "Slack refuses with HTTP 200");
    let v: Value = serde_json::from_slice(&raw.bytes().await.unwrap()).unwrap();
    assert_eq!(
        (v["ok"].as_bool(), v["error"].as_str()),
        (Some(false), Some("not_authed"))
    );
    // Wrong tokens.
    assert_eq!(
        call("xoxb-stolen", "chat.postMessage", hi())
            .await
            .unwrap_err(),
        "invalid_auth"
    );
    assert_eq!(
        call(
            baton::chat::slack::fake::APP_TOKEN,
            "chat.postMessage",
            hi()
        )
        .await
        .unwrap_err(),
        "not_allowed_token_type"
    );
    // A method Slack does not have.
    assert_eq!(
        call("xoxb-test", "chat.postMesage", hi())
            .await
            .unwrap_err(),
        "unknown_method"
    );
    assert!(
        fake.ok_calls("chat.postMessage").is_empty(),
        "nothing posted"
    );
    // A ts it never issued.
    let posted = call("xoxb-test", "chat.postMessage", hi()).await.unwrap();
    let ts = posted["ts"].as_str().unwrap().to_string();
    let update = |ts: &str| json!({ "channel": "C0TEST", "ts": ts, "text": "edited" });
    assert!(call("xoxb-test", "chat.update", update(&ts)).await.is_ok());
    assert_eq!(
        call("xoxb-test", "chat.update", update("1763294400.000042"))
            .await
            .unwrap_err(),
        "message_not_found"
    );
    assert_eq!(
        call(
            "xoxb-test",
            "chat.postMessage",
            json!({ "channel": "C0TEST", "text": "r", "thread_ts": "1763294400.000042" })
        )
        .await
        .unwrap_err(),
        "thread_not_found"
    );
    // Over a limit: 51 blocks.
    let blocks: Vec<Value> = (0..51)
        .map(|i| json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("{i}") } }))
        .collect();
    assert_eq!(
        call(
            "xoxb-test",
            "chat.postMessage",
            json!({ "channel": "C0TEST", "text": "t", "blocks": blocks })
        )
        .await
        .unwrap_err(),
        "invalid_blocks"
    );
    assert_eq!(fake.ok_calls("chat.postMessage").len(), 1);
    assert_eq!(fake.ok_calls("chat.update").len(), 1);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn update_opens_a_prefilled_modal_and_submission_stores_and_updates_the_prompt(pool: PgPool) {
    let r = rig(pool.clone()).await;
    // The prompt baton sent Emma earlier, which Slack has.
    r.fake
        .existing_message("D04EMMADV5", "1763294400.000042", "Time to check in");
    let press = json!({
        "type": "block_actions",
        "team": { "id": TEAM, "domain": "northwind" },
        "user": { "id": EMMA, "username": "emma", "team_id": TEAM },
        "api_app_id": "A0BATON001",
        "trigger_id": "500.1.abc",
        "container": { "type": "message", "message_ts": "1763294400.000042", "channel_id": "D04EMMADV5", "is_ephemeral": false },
        "channel": { "id": "D04EMMADV5", "name": "directmessage" },
        "response_url": r.fake.response_url("500"),
        "actions": [{
            "type": "button", "action_id": "update:S2", "block_id": "b1",
            "value": "S2", "text": { "type": "plain_text", "text": "Update S2" },
            "action_ts": "1763294460.000001"
        }]
    });
    let (status, _) = send(&r.router, interaction_request(&press)).await;
    assert_eq!(status, StatusCode::OK);
    let opened = r.fake.ok_calls("views.open");
    assert_eq!(opened.len(), 1, "{:?}", r.fake.requests());
    assert_eq!(opened[0]["trigger_id"], "500.1.abc");
    let view = &opened[0]["view"];
    assert_eq!(view["callback_id"], "checkin:S2");
    let value = view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block_id"] == "value")
        .expect("value input");
    assert_eq!(value["element"]["type"], "number_input");
    assert!(value["element"]["initial_value"].is_string(), "{value}");
    let confidence = view["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["block_id"] == "confidence")
        .expect("confidence");
    assert_eq!(confidence["element"]["type"], "static_select");

    let submit = |v: &str| {
        json!({
            "type": "view_submission",
            "team": { "id": TEAM, "domain": "northwind" },
            "user": { "id": EMMA, "username": "emma", "team_id": TEAM },
            "api_app_id": "A0BATON001",
            "trigger_id": "500.2.def",
            "view": {
                "id": "V0BATON0001",
                "type": "modal",
                "callback_id": view["callback_id"],
                "private_metadata": view["private_metadata"],
                "blocks": view["blocks"],
                "hash": "1763294470.abc",
                "state": { "values": {
                    "value": { "value": { "type": "number_input", "value": v } },
                    "confidence": { "confidence": { "type": "static_select",
                        "selected_option": { "text": { "type": "plain_text", "text": "at risk" }, "value": "at risk" } } },
                    "note": { "note": { "type": "plain_text_input", "value": "two templates late" } },
                    "blockers": { "blockers": { "type": "plain_text_input", "value": null } }
                } }
            }
        })
    };
    // Not a number: a field error on `value`, nothing stored.
    let (status, ack) = send(&r.router, interaction_request(&submit("ten"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ack["response_action"], "errors", "{ack}");
    assert!(ack["errors"]["value"].is_string(), "{ack}");
    assert_eq!(checkins(&pool).await, 0);
    // Valid: stored, the modal closes, the prompt message is updated in place.
    let (_, ack) = send(&r.router, interaction_request(&submit("10"))).await;
    assert_eq!(ack["response_action"], "clear", "{ack}");
    assert_eq!(checkins(&pool).await, 1);
    let updates = r.fake.ok_calls("chat.update");
    assert_eq!(updates.len(), 1);
    assert_eq!(updates[0]["channel"], "D04EMMADV5");
    assert_eq!(updates[0]["ts"], "1763294400.000042");
    // The same submission delivered again stores nothing new.
    send(&r.router, interaction_request(&submit("10"))).await;
    assert_eq!(checkins(&pool).await, 1);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_slow_command_is_acked_at_once_and_finished_through_response_url(pool: PgPool) {
    let r = rig(pool).await;
    let mut bot = SlackBot::new(r.app.clone(), &r.fake.api_url(), "xoxb-test", None).unwrap();
    bot.ack_budget = Duration::ZERO;
    let router = baton::chat::slack::http::routes(Arc::new(bot), SECRET.to_string().into());
    let body = command_body(&r.fake, MAYA, TEAM, "status", "600.1");
    let started = Instant::now();
    let (status, ack) = send(
        &router,
        signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            body,
            now().timestamp(),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ack, Value::Null, "empty ack");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(r.fake.wait_for("response/600.1", 1, LIMIT).await);
    let answer = &r.fake.calls("response/600.1")[0].body;
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(answer["blocks"].as_array().is_some_and(|b| !b.is_empty()));
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn outbox_posts_through_slack_and_honours_retry_after(pool: PgPool) {
    let r = rig(pool.clone()).await;
    let org = r.app.org(Some("northwind")).await.unwrap();
    let adapter = SlackAdapter { bot: r.bot.clone() };
    let reply = baton::bot::Reply::new()
        .heading("Sales digest")
        .text("Pipeline up 4%.");
    let mut tx = r.app.store.begin().await.unwrap();
    for (i, target) in [
        Target::Channel {
            department: "sales".into(),
        },
        Target::Channel {
            department: "sales".into(),
        },
        Target::Person {
            person: "emma".into(),
        },
        Target::Person {
            person: "kofi".into(),
        },
    ]
    .iter()
    .enumerate()
    {
        outbox::enqueue(
            &mut tx,
            org.id,
            &format!("test:{i}"),
            target,
            &Payload::Reply {
                reply: reply.clone(),
            },
            now(),
            now(),
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    r.fake
        .fail_next("chat.postMessage", Fault::RateLimited { retry_after_s: 7 });
    let handled = outbox::deliver_batch(&r.app, &adapter, "w1", 10, None)
        .await
        .unwrap();
    assert_eq!(handled, 4);
    let posts = r.fake.calls("chat.postMessage");
    // The first sales post met a 429: the second one is held back by the pacer without
    // asking Slack; emma's DM went out; kofi has no Slack identity (dead, not retried).
    let to_sales = posts
        .iter()
        .filter(|p| p.body["channel"] == "C04SALES7X2")
        .count();
    assert_eq!(to_sales, 1, "{posts:?}");
    assert_eq!(posts.iter().filter(|p| p.status == 429).count(), 1);
    let dm: Vec<_> = posts.iter().filter(|p| p.status == 200).collect();
    assert_eq!(dm.len(), 1);
    // A DM is posted to the user id: Slack delivers it to the app's DM with them.
    assert_eq!(dm[0].body["channel"], EMMA);
    assert!(r.fake.calls("conversations.open").is_empty());
    assert_eq!(dm[0].body["metadata"]["event_payload"]["key"], "test:2");
    let states: Vec<(String, String, Option<chrono::DateTime<chrono::Utc>>)> = sqlx::query_as(
        "SELECT idempotency_key, state, not_before FROM outbox ORDER BY idempotency_key",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(states[0].1, "pending");
    assert_eq!(states[0].2, Some(now() + chrono::Duration::seconds(7)));
    assert_eq!(states[1].1, "pending");
    assert_eq!(states[2].1, "sent");
    assert_eq!(states[3].1, "dead");

    // A 500 is transient; channel_not_found is permanent.
    r.fake.fail_next("chat.postMessage", Fault::ServerError);
    let msg = baton::chat::Outbound {
        org_id: org.id,
        kind: "reply".into(),
        idempotency_key: "direct:1".into(),
        reply: reply.clone(),
    };
    let to = Target::Person {
        person: "maya".into(),
    };
    assert!(matches!(
        adapter.send(&to, &msg).await,
        Err(baton::chat::AdapterError::Transient(_))
    ));
    r.fake
        .fail_next("chat.postMessage", Fault::Api("channel_not_found".into()));
    assert_eq!(
        adapter.send(&to, &msg).await,
        Err(baton::chat::AdapterError::Permanent(
            "channel_not_found".into()
        ))
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn posts_are_paced_per_channel(pool: PgPool) {
    // The pacer reads a clock this test moves by hand, not the wall clock. No waiting
    // allowed, so a post that would have to wait says how long instead.
    let r = rig(pool).await;
    let org = r.app.org(Some("northwind")).await.unwrap();
    let t0 = Instant::now();
    let elapsed = Arc::new(std::sync::Mutex::new(Duration::ZERO));
    let clock = {
        let elapsed = elapsed.clone();
        Arc::new(move || t0 + *elapsed.lock().unwrap())
    };
    let advance = |by: Duration| *elapsed.lock().unwrap() += by;
    let bot = SlackBot::new(r.app.clone(), &r.fake.api_url(), "xoxb-test", None)
        .unwrap()
        .with_pacer(baton::chat::slack::Pacer::new(0.95, 3, Duration::ZERO).with_clock(clock));
    let adapter = SlackAdapter { bot: Arc::new(bot) };
    let msg = baton::chat::Outbound {
        org_id: org.id,
        kind: "reply".into(),
        idempotency_key: "p".into(),
        reply: baton::bot::Reply::new().text("hi"),
    };
    let sales = Target::Channel {
        department: "sales".into(),
    };
    let product = Target::Channel {
        department: "product".into(),
    };
    let posts = || r.fake.ok_calls("chat.postMessage").len();
    // A burst of three goes at once.
    for _ in 0..3 {
        adapter.send(&sales, &msg).await.unwrap();
    }
    assert_eq!(posts(), 3);
    // The fourth would wait for a token (1/0.95 s): not posted, told when to come back.
    assert_eq!(
        adapter.send(&sales, &msg).await,
        Err(baton::chat::AdapterError::RateLimited {
            retry_after: Duration::from_secs_f64(1.0 / 0.95)
        })
    );
    assert_eq!(posts(), 3);
    // Another channel is not held up by the first one's pacing.
    adapter.send(&product, &msg).await.unwrap();
    assert_eq!(posts(), 4);
    // A second later the bucket holds 0.95 of a token: still not quite.
    advance(Duration::from_secs(1));
    assert!(matches!(
        adapter.send(&sales, &msg).await,
        Err(baton::chat::AdapterError::RateLimited { retry_after })
            if retry_after > Duration::ZERO && retry_after < Duration::from_millis(60)
    ));
    assert_eq!(posts(), 4);
    advance(Duration::from_millis(60));
    adapter.send(&sales, &msg).await.unwrap();
    assert_eq!(posts(), 5);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn thread_targets_post_a_parent_once_and_reply_under_it(pool: PgPool) {
    let r = rig(pool.clone()).await;
    let org = r.app.org(Some("northwind")).await.unwrap();
    let adapter = SlackAdapter { bot: r.bot.clone() };
    let to = Target::Thread {
        department: "sales".into(),
        thread: "checkins:2026-11-16".into(),
    };
    let msg = |k: &str, t: &str| baton::chat::Outbound {
        org_id: org.id,
        kind: "summary".into(),
        idempotency_key: k.into(),
        reply: baton::bot::Reply::new().text(t),
    };
    let first = adapter
        .send(&to, &msg("t1", "Check-ins for the week"))
        .await
        .unwrap();
    adapter
        .send(&to, &msg("t2", "Late: emma S2 = 10"))
        .await
        .unwrap();
    let posts = r.fake.ok_calls("chat.postMessage");
    assert!(posts[0].get("thread_ts").is_none());
    let parent_ts = first
        .message_id
        .unwrap()
        .split('/')
        .nth(1)
        .unwrap()
        .to_string();
    assert_eq!(posts[1]["thread_ts"], parent_ts.as_str());
    assert_eq!(
        count(&pool, "SELECT count(*) FROM platform_threads").await,
        1
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_workspace_cannot_belong_to_two_organisations(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let mut other = example_spec();
    other.org.key = baton::domain::Key::parse("southwind").unwrap();
    for p in &mut other.people {
        p.chat.clear();
    }
    other.people[0].chat = vec![baton::domain::ChatIdentity {
        platform: "slack".into(),
        workspace: TEAM.into(),
        user: "U09SOUTH01".into(),
    }];
    let err = baton::app::apply::apply(&app, &other, false)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Slack workspace T04NWCLOUD is already used by organisation `northwind`"),
        "{err}"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM organisations").await, 1);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn socket_mode_acks_in_time_and_processes_each_envelope_once(pool: PgPool) {
    let r = rig(pool.clone()).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    r.fake
        .set_socket_url(&format!("ws://{}/link", listener.local_addr().unwrap()));
    let shutdown = baton::serve::Shutdown::new();
    let client = tokio::spawn(baton::chat::slack::socket::run(
        r.bot.clone(),
        shutdown.clone(),
    ));
    let (tcp, _) = tokio::time::timeout(LIMIT, listener.accept())
        .await
        .expect("the bot connects")
        .unwrap();
    let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        json!({ "type": "hello", "num_connections": 1 })
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let envelope = json!({
        "envelope_id": "57d6a792-4d35-4d0b-b6aa-3361493e1caf",
        "type": "events_api",
        "accepts_response_payload": false,
        "retry_attempt": 0,
        "retry_reason": "",
        "payload": dm_event("Ev05SOCKET1", EMMA, "S2 11 on track")
    });
    let mut acks = Vec::new();
    let mut done = r.bot.events_done.subscribe();
    for attempt in 0..2 {
        let mut e = envelope.clone();
        e["retry_attempt"] = json!(attempt);
        let sent = Instant::now();
        ws.send(tokio_tungstenite::tungstenite::Message::Text(
            e.to_string().into(),
        ))
        .await
        .unwrap();
        let ack = tokio::time::timeout(LIMIT, ws.next())
            .await
            .expect("an ack")
            .unwrap()
            .unwrap();
        assert!(
            sent.elapsed() < Duration::from_secs(3),
            "acked within Slack's limit"
        );
        acks.push(serde_json::from_str::<Value>(ack.to_text().unwrap()).unwrap());
    }
    for a in &acks {
        assert_eq!(a["envelope_id"], "57d6a792-4d35-4d0b-b6aa-3361493e1caf");
    }
    tokio::time::timeout(LIMIT, done.wait_for(|n| *n >= 2))
        .await
        .expect("both deliveries handled")
        .unwrap();
    assert_eq!(checkins(&pool).await, 1);
    assert_eq!(r.fake.ok_calls("chat.postMessage").len(), 1);

    // A slash command is answered in its ack.
    let cmd = json!({
        "envelope_id": "9a3c-slash-1",
        "type": "slash_commands",
        "accepts_response_payload": true,
        "payload": {
            "team_id": TEAM, "user_id": MAYA, "channel_id": "C04SALES7X2",
            "command": "/baton", "text": "help", "trigger_id": "700.1",
            "response_url": r.fake.response_url("700.1")
        }
    });
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        cmd.to_string().into(),
    ))
    .await
    .unwrap();
    let ack = tokio::time::timeout(LIMIT, ws.next())
        .await
        .expect("an ack")
        .unwrap()
        .unwrap();
    let ack: Value = serde_json::from_str(ack.to_text().unwrap()).unwrap();
    assert_eq!(ack["envelope_id"], "9a3c-slash-1");
    assert_eq!(ack["payload"]["response_type"], "ephemeral", "{ack}");

    shutdown.trigger();
    tokio::time::timeout(LIMIT, client)
        .await
        .expect("socket mode stops on shutdown")
        .unwrap();
}

fn prompt_reply() -> baton::bot::Reply {
    use baton::bot::reply::{Action, Align, Block, Cell, Table};
    let mut t = Table::new(&[
        ("KR", Align::Left),
        ("Key result", Align::Left),
        ("Current", Align::Right),
        ("Target", Align::Right),
        ("Progress", Align::Left),
        ("Confidence", Align::Left),
    ]);
    t.row(vec![
        Cell::text("S2"),
        Cell::text("Days to first value"),
        Cell::Figure {
            value: Some(10.0),
            unit: "days".into(),
        },
        Cell::Figure {
            value: Some(7.0),
            unit: "days".into(),
        },
        Cell::Progress(Some(0.57)),
        Cell::Status {
            status: baton::domain::Status::AtRisk,
            stale: false,
        },
    ]);
    let mut r =
        baton::bot::Reply::new().heading("Check-in for Mon 16 Nov — answer by Tue 17 Nov 17:00");
    r.ephemeral = false;
    r = r.table(t);
    r.push(Block::Actions(vec![
        Action {
            id: "update".into(),
            label: "Update S2".into(),
            value: "S2".into(),
        },
        Action {
            id: "nochange".into(),
            label: "No change".into(),
            value: "42".into(),
        },
        Action {
            id: "skip".into(),
            label: "Skip".into(),
            value: "42".into(),
        },
        Action {
            id: "snooze".into(),
            label: "Snooze".into(),
            value: "42".into(),
        },
    ]));
    r.note("Reply `S2 <value> [on track|at risk|off track]: note`, or `nochange`, `skip`, `snooze 2h`.")
}

#[test]
fn block_kit_snapshots() {
    let prompt = prompt_reply();
    insta::assert_json_snapshot!("prompt_message", render::message(&prompt));
    let error = baton::bot::Reply::error("value: `ten` is not a number. Use e.g. `S2 9 on track`.");
    insta::assert_json_snapshot!("error_message", render::message(&error));
    let form = baton::bot::reply::Form {
        id: "checkin:S2".into(),
        title: "Check in on S2".into(),
        fields: vec![
            baton::bot::reply::Field {
                name: "value".into(),
                label: "Value (days)".into(),
                kind: baton::bot::reply::FieldKind::Number,
                default: Some("10".into()),
                required: true,
            },
            baton::bot::reply::Field {
                name: "confidence".into(),
                label: "Confidence".into(),
                kind: baton::bot::reply::FieldKind::Choice(vec![
                    "on track".into(),
                    "at risk".into(),
                    "off track".into(),
                ]),
                default: Some("at risk".into()),
                required: false,
            },
            baton::bot::reply::Field {
                name: "note".into(),
                label: "Note".into(),
                kind: baton::bot::reply::FieldKind::Text,
                default: None,
                required: false,
            },
            baton::bot::reply::Field {
                name: "blockers".into(),
                label: "Blockers".into(),
                kind: baton::bot::reply::FieldKind::Text,
                default: None,
                required: false,
            },
        ],
    };
    let origin = render::ModalOrigin {
        channel: Some("D04EMMADV5".into()),
        ts: Some("1763294400.000042".into()),
    };
    let modal = render::modal(&form, &origin);
    insta::assert_json_snapshot!("checkin_modal", modal);

    // The shapes are valid Block Kit as slack-morphism models it.
    let blocks: Vec<slack_morphism::prelude::SlackBlock> =
        serde_json::from_value(render::message(&prompt)["blocks"].clone()).expect("blocks parse");
    assert_eq!(blocks.len(), render::blocks(&prompt).len());
    let _: slack_morphism::prelude::SlackView =
        serde_json::from_value(modal).expect("the modal parses as a Slack view");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_zone_from_slack_places_prompts_and_due_dates_when_the_manifest_has_none(pool: PgPool) {
    use baton::app::schedule::run_due;
    use chrono::TimeZone;
    let at = |d: u32, h: u32, m: u32| chrono::Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
    let mut spec = example_spec();
    for p in &mut spec.people {
        if ["tom", "lena"].contains(&p.key.as_str()) {
            p.time_zone = None;
        }
    }
    // Monday 16 November, 12:00 UTC.
    let clock = Arc::new(baton::clock::FixedClock::new(now()));
    let r = rig_on(pool.clone(), &spec, clock.clone()).await;
    r.fake
        .add_user("U07TOM0001", "tom.okafor@northwind.example", "Asia/Tokyo");
    r.fake.add_user(
        "U07LENA001",
        "lena.vogel@northwind.example",
        "Mars/Olympus_Mons",
    );
    r.slash("U07TOM0001", "whoami", "960.1").await;
    r.slash("U07LENA001", "whoami", "960.2").await;
    let zones: Vec<(String, String)> = sqlx::query_as(
        "SELECT p.key, z.time_zone FROM platform_zones z JOIN people p ON p.id = z.person_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(zones, [("tom".to_string(), "Asia/Tokyo".to_string())]);

    // Sales checks in weekly on Monday at 09:00, in each person's zone.
    let due = |who: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>(
                "SELECT pr.due_at FROM prompts pr JOIN people p ON p.id = pr.person_id
                 WHERE p.key = $1 ORDER BY pr.due_at",
            )
            .bind(who)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    clock.set(at(22, 23, 59));
    run_due(&r.app, None).await.unwrap();
    assert!(due("tom").await.is_empty(), "not Monday in Tokyo yet");
    // Lena's Slack zone was not a zone: Sales' New York applies (09:00 EST = 14:00Z).
    assert_eq!(due("lena").await, [at(16, 14, 0)]);
    clock.set(at(23, 0, 0));
    run_due(&r.app, None).await.unwrap();
    assert_eq!(due("tom").await, [at(23, 0, 0)], "09:00 on Monday in Tokyo");

    // Due dates are read in Tokyo too: Monday 09:00 there is still Sunday in New York.
    let (_, ack) = r
        .slash("U07TOM0001", "action @tom call the bank tomorrow", "960.3")
        .await;
    assert!(
        ack["text"]
            .as_str()
            .unwrap()
            .contains("due Tue 24 Nov 2026"),
        "{ack}"
    );
    // A person linked by Slack id and without a manifest zone is looked up once for it.
    for p in &mut spec.people {
        if p.key.as_str() == "priya" {
            p.time_zone = None;
        }
    }
    baton::app::apply::apply(&r.app, &spec, false)
        .await
        .unwrap();
    r.app.invalidate(None);
    r.fake
        .add_user("U04PRIYA2R", "priya@northwind.example", "Asia/Kolkata");
    let before = r.fake.calls("users.info").len();
    r.slash("U04PRIYA2R", "whoami", "960.4").await;
    r.slash("U04PRIYA2R", "whoami", "960.5").await;
    assert_eq!(r.fake.calls("users.info").len(), before + 1);
    let priya: String = sqlx::query_scalar(
        "SELECT z.time_zone FROM platform_zones z JOIN people p ON p.id = z.person_id WHERE p.key = 'priya'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(priya, "Asia/Kolkata");
}

/// A button press on an alert message, as Slack sends it.
fn alert_press(r: &Rig, user: &str, action: &str, alert: i64, n: u32) -> Value {
    json!({
        "type": "block_actions",
        "team": { "id": TEAM, "domain": "northwind" },
        "user": { "id": user, "team_id": TEAM },
        "api_app_id": "A0BATON001",
        "trigger_id": format!("700.{n}.alert"),
        "container": { "type": "message", "message_ts": "1763294400.000077", "channel_id": "C04MARKETG", "is_ephemeral": false },
        "channel": { "id": "C04MARKETG", "name": "marketing" },
        "response_url": r.fake.response_url(&format!("700{n}")),
        "actions": [{
            "type": "button", "action_id": format!("{action}:{alert}"), "block_id": "a1",
            "value": alert.to_string(), "text": { "type": "plain_text", "text": action },
            "action_ts": "1763294460.000001"
        }]
    })
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn alert_buttons_acknowledge_refuse_strangers_and_post_updates(pool: PgPool) {
    let r = rig(pool.clone()).await;
    // Marketing's head declares its dependency on Customer Success blocked: alert opens.
    let yuki = crate::common::actor(&r.app, "northwind", "yuki").await;
    let out = r
        .app
        .handle_line(
            &yuki,
            "blocked marketing-needs-stories no stories yet",
            "b-1",
        )
        .await;
    assert!(!out.is_error(), "{out:?}");
    let alert: i64 = sqlx::query_scalar("SELECT number FROM alerts WHERE closed_at IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    let open =
        || async { count(&pool, "SELECT count(*) FROM alerts WHERE closed_at IS NULL").await };

    // Priya (head of Sales) is neither side: Resolve is refused privately, nothing changes.
    send(
        &r.router,
        interaction_request(&alert_press(&r, "U04PRIYA2R", "alert_resolve", alert, 1)),
    )
    .await;
    assert!(r.fake.wait_for("response/7001", 1, LIMIT).await);
    let refusal = &r.fake.calls("response/7001")[0].body;
    assert_eq!(refusal["response_type"], "ephemeral", "{refusal}");
    assert_eq!(open().await, 1);

    // Emma (head of the provider) acknowledges with the button.
    send(
        &r.router,
        interaction_request(&alert_press(&r, EMMA, "alert_ack", alert, 2)),
    )
    .await;
    let acked: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT acknowledged_at FROM alerts WHERE number = $1")
            .bind(alert)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(acked.is_some(), "acknowledged");

    // Post update opens a modal; blank text is a field error, a check-in line stores.
    send(
        &r.router,
        interaction_request(&alert_press(&r, EMMA, "alert_update", alert, 3)),
    )
    .await;
    let opened = r.fake.ok_calls("views.open");
    assert_eq!(opened.len(), 1, "{:?}", r.fake.requests());
    let view = opened[0]["view"].clone();
    assert_eq!(view["callback_id"], format!("alert_update:{alert}"));
    let submit = |text: &str| {
        json!({
            "type": "view_submission",
            "team": { "id": TEAM, "domain": "northwind" },
            "user": { "id": EMMA, "team_id": TEAM },
            "api_app_id": "A0BATON001",
            "view": {
                "id": "V0ALERT0001", "type": "modal",
                "callback_id": view["callback_id"], "private_metadata": view["private_metadata"],
                "blocks": view["blocks"],
                "state": { "values": { "text": { "text": { "type": "plain_text_input", "value": text } } } }
            }
        })
    };
    let (_, ack) = send(&r.router, interaction_request(&submit("   "))).await;
    assert_eq!(ack["response_action"], "errors", "{ack}");
    assert!(ack["errors"]["text"].is_string(), "{ack}");
    assert_eq!(checkins(&pool).await, 0);
    let (_, ack) = send(
        &r.router,
        interaction_request(&submit("S3 42 at risk: two stories drafted")),
    )
    .await;
    assert_eq!(ack["response_action"], "clear", "{ack}");
    assert_eq!(checkins(&pool).await, 1);
    let value: f64 = sqlx::query_scalar("SELECT current_value FROM key_results WHERE code = 'S3'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(value, 42.0);
}

const PRIYA: &str = "U04PRIYA2R";

/// Every outbox message due at the app's now, delivered to the fake Slack.
async fn deliver_due(r: &Rig) {
    let adapter = SlackAdapter { bot: r.bot.clone() };
    while outbox::deliver_batch(&r.app, &adapter, "w", 100, None)
        .await
        .unwrap()
        > 0
    {}
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_periods_checkin_summary_is_a_thread_whose_parent_is_updated_in_place(pool: PgPool) {
    let at = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let clock = Arc::new(baton::clock::FixedClock::new(at("2026-11-23T07:00:00Z")));
    let r = rig_on(pool.clone(), &example_spec(), clock.clone()).await;
    const SALES: &str = "C04SALES7X2";
    let summary_posts = |fake: &FakeSlack| -> Vec<Value> {
        fake.ok_calls("chat.postMessage")
            .into_iter()
            .filter(|b| b["channel"] == SALES && b.get("thread_ts").is_none())
            .filter(|b| b.to_string().contains("Sales check-in"))
            .collect()
    };

    // Monday 09:00 in Berlin: Lena's prompt goes out and Sales' summary thread opens.
    clock.set(at("2026-11-23T08:00:30Z"));
    baton::app::schedule::run_due(&r.app, None).await.unwrap();
    deliver_due(&r).await;
    let parents = summary_posts(&r.fake);
    assert_eq!(parents.len(), 1, "{parents:?}");
    assert!(
        parents[0].to_string().contains("0 of 1 answered"),
        "{}",
        parents[0]
    );
    let (parent_ts,): (String,) = sqlx::query_as(
        "SELECT ts FROM platform_threads WHERE platform = 'slack' AND department = 'sales'
           AND thread_key = 'check-ins 2026-11-23 09:00'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();

    // 09:00 in New York: Priya and Tom are asked too; the parent is edited, not re-posted.
    clock.set(at("2026-11-23T14:00:30Z"));
    baton::app::schedule::run_due(&r.app, None).await.unwrap();
    clock.advance(chrono::Duration::seconds(10));
    deliver_due(&r).await;
    assert_eq!(summary_posts(&r.fake).len(), 1, "one parent per period");
    let updates = r.fake.ok_calls("chat.update");
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0]["channel"], SALES);
    assert_eq!(updates[0]["ts"], parent_ts.as_str());
    assert!(
        updates[0].to_string().contains("0 of 3 answered"),
        "{}",
        updates[0]
    );

    // Priya answers by DM: a line in the thread, then the parent says 1 of 3.
    let ev = event_callback(
        "Ev04SUMMARY1",
        json!({
            "type": "message", "channel": "D04PRIYADM", "channel_type": "im",
            "user": PRIYA, "text": "SA-K1 1.4 on track: two enterprise wins",
            "ts": "1763906500.000100", "event_ts": "1763906500.000100"
        }),
    );
    assert_eq!(r.event(&ev, None).await, StatusCode::OK);
    deliver_due(&r).await;
    let lines: Vec<Value> = r
        .fake
        .ok_calls("chat.postMessage")
        .into_iter()
        .filter(|b| b["thread_ts"] == parent_ts.as_str())
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = lines[0].to_string();
    assert!(
        line.contains("Priya Raman* answered: SA-K1 1.4 $M (on track)")
            && line.contains("two enterprise wins"),
        "{line}"
    );
    clock.advance(chrono::Duration::seconds(10));
    deliver_due(&r).await;
    let updates = r.fake.ok_calls("chat.update");
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert_eq!(updates[1]["ts"], parent_ts.as_str());
    let text = updates[1].to_string();
    assert!(
        text.contains("1 of 3 answered") && text.contains("2 waiting"),
        "{text}"
    );

    // A failed update is retried, never re-posted as a new message.
    r.fake.fail_next("chat.update", Fault::ServerError);
    let ev = event_callback(
        "Ev04SUMMARY2",
        json!({
            "type": "message", "channel": "D04PRIYADM", "channel_type": "im",
            "user": PRIYA, "text": "SA-K3 60 at risk",
            "ts": "1763906600.000100", "event_ts": "1763906600.000100"
        }),
    );
    assert_eq!(r.event(&ev, None).await, StatusCode::OK);
    clock.advance(chrono::Duration::seconds(10));
    deliver_due(&r).await;
    assert_eq!(r.fake.ok_calls("chat.update").len(), 2, "the failed one");
    clock.advance(chrono::Duration::seconds(3));
    deliver_due(&r).await;
    let updates = r.fake.ok_calls("chat.update");
    assert_eq!(updates.len(), 3, "retried");
    assert!(
        updates[2].to_string().contains("SA-K3 60 days (at risk)"),
        "{}",
        updates[2]
    );
    assert_eq!(summary_posts(&r.fake).len(), 1);
}

/// A flood of unsigned and forged requests is counted by reason on `/metrics`, and the
/// log gets a line per reason, not a line per request.
#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_flood_of_refused_requests_is_counted_not_logged_line_by_line(pool: PgPool) {
    let (logs, _guard) = Logs::capture(tracing::Level::WARN);

    let r = rig(pool.clone()).await;
    let body = command_body(&r.fake, EMMA, TEAM, "status", "flood.1");
    for i in 0..400 {
        let unsigned = Request::post("/slack/commands")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body.clone()))
            .unwrap();
        assert_eq!(
            send(&r.router, unsigned).await.0,
            StatusCode::UNAUTHORIZED,
            "{i}"
        );
        let mut forged = signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            body.clone(),
            r.ts(),
        );
        forged.headers_mut().insert(
            "x-slack-signature",
            format!("v0={}", "0".repeat(64)).parse().unwrap(),
        );
        assert_eq!(
            send(&r.router, forged).await.0,
            StatusCode::UNAUTHORIZED,
            "{i}"
        );
    }
    use baton::metrics::Refusal;
    let metrics = &r.app.metrics;
    assert_eq!(
        metrics.refused_total("slack", Refusal::MissingSignature),
        400
    );
    assert_eq!(metrics.refused_total("slack", Refusal::BadSignature), 400);
    let text = r.app.metrics.render(None);
    assert!(
        text.contains(
            "baton_refused_requests_total{platform=\"slack\",reason=\"missing_signature\"} 400"
        ),
        "{text}"
    );
    let logged = logs.text();
    for reason in ["missing_signature", "bad_signature"] {
        let lines: Vec<&str> = logged
            .lines()
            .filter(|l| l.contains("refused") && l.contains(reason))
            .collect();
        // The first refusal is logged; the rest are counted, with a line at most once a
        // minute.
        assert!(
            lines[0].contains("request refused; more refusals for this reason are counted"),
            "{logged}"
        );
        assert!(
            lines.len() <= 2,
            "{} lines for {reason}:\n{logged}",
            lines.len()
        );
    }
    assert_eq!(
        count(&pool, "SELECT count(*) FROM inbound_deliveries").await,
        0
    );
}
