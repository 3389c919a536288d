//! Slack HTTP mode: `/slack/events`, `/slack/commands`, `/slack/interactions`.
//!
//! Every request is verified before anything else runs: the `X-Slack-Signature` over
//! `v0:{timestamp}:{raw body}` with the signing secret, and the timestamp within five
//! minutes of the app clock. A forged or stale request gets **401** and reaches no handler
//! (PLATFORM-NOTES trap 1). `url_verification` is answered with its challenge.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::SlackBot;
use super::inbound::CommandPayload;

#[derive(Clone)]
struct SlackHttp {
    bot: Arc<SlackBot>,
    secret: Arc<SecretString>,
}

/// The Slack endpoints, state applied; merge into the service router.
pub fn routes(bot: Arc<SlackBot>, signing_secret: SecretString) -> Router {
    Router::new()
        .route("/slack/events", post(events))
        .route("/slack/commands", post(commands))
        .route("/slack/interactions", post(interactions))
        .with_state(SlackHttp {
            bot,
            secret: Arc::new(signing_secret),
        })
}

fn verified(s: &SlackHttp, headers: &HeaderMap, body: &[u8]) -> Result<(), Box<Response>> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = s.bot.app.clock.now().timestamp();
    super::verify(
        s.secret.expose_secret(),
        h("x-slack-request-timestamp"),
        h("x-slack-signature"),
        body,
        now,
    )
    .map_err(|e| {
        s.bot.app.metrics.refused("slack", e.reason());
        Box::new((StatusCode::UNAUTHORIZED, "invalid signature\n").into_response())
    })
}

fn json_ack(v: Value) -> Response {
    if v.as_object().is_some_and(|o| o.is_empty()) {
        StatusCode::OK.into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            v.to_string(),
        )
            .into_response()
    }
}

async fn events(State(s): State<SlackHttp>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = verified(&s, &headers, &body) {
        return *r;
    }
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not JSON\n").into_response();
    };
    if v["type"] == "url_verification" {
        return json_ack(json!({ "challenge": v["challenge"] }));
    }
    if let Some(n) = headers
        .get("x-slack-retry-num")
        .and_then(|v| v.to_str().ok())
    {
        tracing::debug!(retry = n, event_id = ?v["event_id"], "Slack retried an event");
    }
    // Acked within Slack's 3 s whatever happens; duplicates are dropped by event id.
    s.bot.event_bounded(v, Duration::from_millis(2000)).await;
    StatusCode::OK.into_response()
}

async fn commands(State(s): State<SlackHttp>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = verified(&s, &headers, &body) {
        return *r;
    }
    let Ok(p) = serde_urlencoded::from_bytes::<CommandPayload>(&body) else {
        return (StatusCode::BAD_REQUEST, "not a slash command\n").into_response();
    };
    json_ack(s.bot.command(p).await)
}

#[derive(serde::Deserialize)]
struct InteractionForm {
    payload: String,
}

async fn interactions(State(s): State<SlackHttp>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = verified(&s, &headers, &body) {
        return *r;
    }
    let Some(v) = serde_urlencoded::from_bytes::<InteractionForm>(&body)
        .ok()
        .and_then(|f| serde_json::from_str::<Value>(&f.payload).ok())
    else {
        return (StatusCode::BAD_REQUEST, "not an interaction\n").into_response();
    };
    json_ack(s.bot.interaction(v).await)
}
