//! `POST /discord/interactions`: Discord's HTTP interactions endpoint. Every request is
//! checked (Ed25519 signature over timestamp + body, timestamp within five minutes of
//! the app's clock) before anything else; a bad one gets 401 and reaches no handler.
//!
//! [`answer`] is the one handler behind both transports: the endpoint returns its answer as
//! the response body, the gateway ([`super::gateway`]) posts it to the interaction's
//! callback. Interaction ids are recorded once whichever way they arrive.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use serenity::http::{Http, HttpError};
use serenity::interactions_endpoint::Verifier;

use crate::app::Actor;
use crate::app::App;
use crate::app::inbound::{self as pipeline, NoDirectory, Outcome};
use crate::bot::inbound::{Identity, Inbound, Place, Pressed, What};
use crate::bot::render::discord as render;
use crate::bot::render::discord::DEFAULT_POINTER;
use crate::bot::reply::{Block, Reply};
use crate::refused::Refusal;

use super::commands::{self, Complete};
use super::pictures;

/// How far a request's timestamp may be from now.
pub const MAX_SKEW_SECS: i64 = 300;

/// Settings of the endpoint.
#[derive(Clone)]
pub struct Interactions {
    /// Checks the endpoint's requests. `None` in gateway mode, where interactions arrive on
    /// baton's own connection; an endpoint without one refuses everything.
    pub verifier: Option<Verifier>,
    /// For finishing deferred responses (needs the application id set).
    pub followup: Option<Arc<Http>>,
    /// Work that takes longer than this is deferred and finished by a follow-up.
    pub defer_after: Duration,
}

impl Interactions {
    /// From the application's public key (64 hex digits).
    pub fn new(public_key_hex: &str, followup: Option<Arc<Http>>) -> anyhow::Result<Self> {
        let bytes = hex32(public_key_hex.trim())
            .ok_or_else(|| anyhow::anyhow!("the Discord public key must be 64 hex digits"))?;
        let verifier = Verifier::try_new(bytes)
            .map_err(|e| anyhow::anyhow!("the Discord public key is invalid: {e}"))?;
        Ok(Interactions {
            verifier: Some(verifier),
            ..Interactions::gateway(followup)
        })
    }

    /// Checks a request to the endpoint: the Ed25519 signature over timestamp and body,
    /// and the timestamp within [`MAX_SKEW_SECS`] of `now` (unix seconds). `Err` is the
    /// reason counted on `/metrics`.
    pub fn check(&self, sig: &str, ts: &str, body: &[u8], now: i64) -> Result<(), Refusal> {
        let Some(verifier) = &self.verifier else {
            return Err(Refusal::NoPublicKey);
        };
        if verifier.verify(sig, ts, body).is_err() {
            return Err(Refusal::BadSignature);
        }
        let Ok(ts) = ts.parse::<i64>() else {
            return Err(Refusal::BadTimestamp);
        };
        if now
            .checked_sub(ts)
            .is_none_or(|d| d.unsigned_abs() > MAX_SKEW_SECS.unsigned_abs())
        {
            return Err(Refusal::StaleTimestamp);
        }
        Ok(())
    }

    /// For interactions that arrive over the gateway (nothing to verify).
    pub fn gateway(followup: Option<Arc<Http>>) -> Self {
        Interactions {
            verifier: None,
            followup,
            defer_after: Duration::from_millis(2500),
        }
    }
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[derive(Clone)]
pub(crate) struct DiscordState {
    pub(crate) app: Arc<App>,
    pub(crate) cfg: Interactions,
}

/// The endpoint's routes, state applied; the wiring merges them into its router.
pub fn routes(app: Arc<App>, cfg: Interactions) -> Router {
    Router::new()
        .route("/discord/interactions", post(endpoint))
        .with_state(DiscordState { app, cfg })
}

#[derive(Debug, Deserialize)]
struct User {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Member {
    user: User,
}

/// The parts of an interaction baton reads, as Discord sends them (both transports).
#[derive(Debug, Deserialize)]
pub(crate) struct Interaction {
    id: String,
    #[serde(rename = "type")]
    kind: u8,
    #[serde(default)]
    token: String,
    guild_id: Option<String>,
    member: Option<Member>,
    user: Option<User>,
    #[serde(default)]
    data: Value,
}

fn json_response(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn unauthorized(app: &App, why: Refusal) -> Response {
    app.metrics.refused("discord", why);
    (StatusCode::UNAUTHORIZED, "invalid request signature\n").into_response()
}

/// An interaction's answer is for the one who asked: what baton says for everyone (review
/// items, captures, summaries) reaches the thread or channel through the outbox.
fn message(reply: &Reply, pointer: &str) -> Value {
    let mut data = render::message(reply, pointer);
    data["flags"] = json!(render::EPHEMERAL);
    json!({ "type": 4, "data": data })
}

fn refusal(text: &str) -> Value {
    message(&Reply::new().text(text), DEFAULT_POINTER)
}

async fn endpoint(State(s): State<DiscordState>, headers: HeaderMap, body: Bytes) -> Response {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    let (Some(sig), Some(ts)) = (
        header("x-signature-ed25519"),
        header("x-signature-timestamp"),
    ) else {
        return unauthorized(&s.app, Refusal::MissingSignature);
    };
    if let Err(why) = s.cfg.check(sig, ts, &body, s.app.clock.now().timestamp()) {
        return unauthorized(&s.app, why);
    }
    let Ok(i) = serde_json::from_slice::<Interaction>(&body) else {
        return (StatusCode::BAD_REQUEST, "not an interaction\n").into_response();
    };
    match i.kind {
        1 => json_response(json!({ "type": 1 })),
        2..=5 => json_response(
            answer(&s, i)
                .await
                .unwrap_or_else(|| refusal("That interaction was already handled.")),
        ),
        _ => (StatusCode::BAD_REQUEST, "unknown interaction type\n").into_response(),
    }
}

/// Reads an interaction's body as baton does after its signature is checked: the neutral
/// inbound value of a command, button or modal submission; `Ok(None)` for a ping or an
/// autocomplete; `Err` with the reason for anything baton cannot read. Pure: the fuzz
/// target `discord_interaction` drives it.
pub fn decode(body: &[u8]) -> Result<Option<Inbound>, String> {
    let i = serde_json::from_slice::<Interaction>(body).map_err(|_| "not an interaction")?;
    match i.kind {
        1 | 4 => Ok(None),
        2 | 3 | 5 => {
            let who = identity(&i).ok_or("I could not tell who you are.")?;
            inbound(&i, who).map(Some)
        }
        _ => Err("unknown interaction type".into()),
    }
}

/// Who is asking, as Discord names them.
fn identity(i: &Interaction) -> Option<Identity> {
    let user = i.member.as_ref().map(|m| &m.user).or(i.user.as_ref())?;
    if user.id.is_empty() {
        return None;
    }
    Some(Identity {
        platform: super::PLATFORM,
        workspace: i.guild_id.clone().filter(|g| !g.is_empty()),
        user: user.id.clone(),
    })
}

/// The button a component's `custom_id` names, read with the one mapping every platform
/// shares.
pub fn press_of(custom_id: &str) -> Result<Pressed, String> {
    let (action, value) =
        render::parse_custom_id(custom_id).ok_or("That button is not baton's.")?;
    Pressed::parse(action, value, None).map_err(|e| e.0)
}

/// What an interaction asks for, as a neutral inbound event (command, button or modal
/// submission; type 2, 3 or 5). `Err` says why it cannot be read.
fn inbound(i: &Interaction, who: Identity) -> Result<Inbound, String> {
    let what = match i.kind {
        2 => {
            let (text, mentions) = super::neutral_text(&commands::line(&i.data)?);
            return Ok(Inbound {
                who,
                place: Place::Direct,
                what: What::Text(text),
                delivery: Some(format!("int:{}", i.id)),
                key: format!("discord:{}", i.id),
                mentions,
            });
        }
        3 => What::Press(press_of(i.data["custom_id"].as_str().unwrap_or_default())?),
        5 => {
            let id = i.data["custom_id"].as_str().unwrap_or_default().to_string();
            let mut values = Vec::new();
            for row in i.data["components"].as_array().into_iter().flatten() {
                for c in row["components"].as_array().into_iter().flatten() {
                    if let (Some(k), Some(v)) = (c["custom_id"].as_str(), c["value"].as_str()) {
                        values.push((k.to_string(), v.to_string()));
                    }
                }
            }
            What::Form { id, values }
        }
        _ => return Err("I did not understand that interaction.".into()),
    };
    Ok(Inbound {
        who,
        place: Place::Direct,
        what,
        delivery: Some(format!("int:{}", i.id)),
        key: format!("discord:{}", i.id),
        mentions: Vec::new(),
    })
}

/// The answer to a command, button or modal submission (type 2, 3, 5) or autocomplete
/// (4), whichever transport brought it; `None` if this interaction id was handled before
/// (the endpoint still answers; over the gateway the first answer already acknowledged it).
pub(crate) async fn answer(s: &DiscordState, i: Interaction) -> Option<Value> {
    let Some(who) = identity(&i) else {
        return Some(refusal("I could not tell who you are."));
    };
    let app = s.app.clone();
    if i.kind == 4 {
        return Some(match pipeline::identify(&app, &NoDirectory, &who).await {
            Ok(Ok(actor)) => autocomplete(s, &actor, &i.data).await,
            _ => json!({ "type": 8, "data": { "choices": [] } }),
        });
    }
    let inbound = match inbound(&i, who) {
        Ok(x) => x,
        Err(e) => return Some(message(&Reply::error(e), DEFAULT_POINTER)),
    };
    let pointer = match &inbound.what {
        What::Text(l) => format!("`{l}` in the shell shows all"),
        _ => DEFAULT_POINTER.to_string(),
    };
    // A repeat is answered at once, whatever the rest would take.
    match pipeline::admit(&app, &inbound).await {
        Some(Outcome::Duplicate) => {
            tracing::info!(id = %i.id, "discord interaction already handled");
            return None;
        }
        Some(_) => return Some(refusal("Nothing to do.")),
        None => {}
    }
    let mut task =
        tokio::spawn(async move { pipeline::handle_admitted(&app, &NoDirectory, inbound).await });
    let finish = |reply: Reply, pointer: &str| -> Value {
        match reply.form() {
            Some(f) if i.kind != 5 => json!({ "type": 9, "data": render::modal(f) }),
            Some(f) => {
                // A modal cannot answer a modal: offer the next form behind a button.
                let mut r = reply.clone();
                if let Some(code) = f.id.strip_prefix("checkin:") {
                    r.push(Block::Actions(vec![crate::bot::reply::Action {
                        id: "update".into(),
                        label: format!("Update {code}"),
                        value: code.to_string(),
                    }]));
                }
                message(&r, pointer)
            }
            None => message(&reply, pointer),
        }
    };
    let failed = || {
        message(
            &Reply::error("Something went wrong on my side."),
            DEFAULT_POINTER,
        )
    };
    match tokio::time::timeout(s.cfg.defer_after, &mut task).await {
        Ok(Ok(Outcome::Duplicate)) => {
            tracing::info!(id = %i.id, "discord interaction already handled");
            None
        }
        Ok(Ok(Outcome::Ignored(why))) => Some(refusal(&format!("Nothing to do: {why}."))),
        Ok(Ok(Outcome::Refused(r))) => Some(message(&r, DEFAULT_POINTER)),
        Ok(Ok(Outcome::Done(d))) => {
            let reply = d.reply;
            Some(match (&s.cfg.followup, pictures::picture(&reply)) {
                // Drawing a picture takes a while: answer "thinking…" now (as private as
                // the answer will be) and send the answer with its picture by editing it.
                (Some(http), Some(_)) if reply.form().is_none() => {
                    let ephemeral = reply.ephemeral;
                    tokio::spawn(follow_up(
                        http.clone(),
                        s.app.clone(),
                        d.actor.org.id,
                        i.token.clone(),
                        reply,
                        pointer,
                    ));
                    deferred(ephemeral)
                }
                _ => finish(reply, &pointer),
            })
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "discord handler panicked");
            Some(failed())
        }
        Err(_) => {
            let Some(http) = s.cfg.followup.clone() else {
                // No way to follow up: wait for the answer after all.
                return match task.await {
                    Ok(Outcome::Done(d)) => Some(finish(d.reply, &pointer)),
                    Ok(Outcome::Refused(r)) => Some(message(&r, DEFAULT_POINTER)),
                    Ok(Outcome::Duplicate) => None,
                    Ok(Outcome::Ignored(why)) => Some(refusal(&format!("Nothing to do: {why}."))),
                    Err(_) => Some(failed()),
                };
            };
            let (app, token) = (s.app.clone(), i.token.clone());
            tokio::spawn(async move {
                let (org, reply) = match task.await {
                    Ok(Outcome::Done(d)) => (d.actor.org.id, d.reply),
                    Ok(Outcome::Refused(r)) => (0, r),
                    Ok(Outcome::Duplicate) => (
                        0,
                        Reply::new().text("That interaction was already handled."),
                    ),
                    Ok(Outcome::Ignored(why)) => {
                        (0, Reply::new().text(format!("Nothing to do: {why}.")))
                    }
                    Err(_) => (0, Reply::error("Something went wrong on my side.")),
                };
                follow_up(http, app, org, token, reply, pointer).await;
            });
            // Command answers are private unless they say otherwise; not known yet.
            Some(deferred(true))
        }
    }
}

/// A deferred response (type 5): Discord shows "baton is thinking…" until [`follow_up`].
/// Whether the answer is private is fixed here.
fn deferred(ephemeral: bool) -> Value {
    let flags = if ephemeral { render::EPHEMERAL } else { 0 };
    json!({ "type": 5, "data": { "flags": flags } })
}

/// How often finishing a deferred response is tried.
const FOLLOW_UP_ATTEMPTS: u32 = 3;

/// Finishes a deferred response: edits the original response (`PATCH
/// /webhooks/{app}/{token}/messages/@original`) into the answer, its picture uploaded
/// with it (multipart). An edit cannot post twice, so 5xx, 429 and network failures are
/// retried a few times.
async fn follow_up(
    http: Arc<Http>,
    app: Arc<crate::app::App>,
    org_id: i64,
    token: String,
    reply: Reply,
    pointer: String,
) {
    let (mut body, files) = pictures::message(&app, org_id, &reply, &pointer).await;
    // Privacy was settled by the deferral; an edit may not set it.
    if let Some(o) = body.as_object_mut() {
        o.remove("flags");
    }
    for attempt in 1..=FOLLOW_UP_ATTEMPTS {
        let err = match http
            .edit_original_interaction_response(&token, &body, files.clone())
            .await
        {
            Ok(_) => return,
            Err(e) => e,
        };
        let retry = match &err {
            serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => {
                r.status_code.is_server_error() || r.status_code.as_u16() == 429
            }
            serenity::Error::Http(HttpError::Request(_)) => true,
            _ => false,
        };
        if !retry || attempt == FOLLOW_UP_ATTEMPTS {
            tracing::warn!(error = %err, attempt, "discord follow-up failed");
            return;
        }
        tracing::debug!(error = %err, attempt, "discord follow-up failed; retrying");
        tokio::time::sleep(Duration::from_millis(200) * attempt).await;
    }
}

/// Suggestions for department and key-result options, from the organisation's spec.
async fn autocomplete(s: &DiscordState, actor: &Actor, data: &Value) -> Value {
    let mut choices = Vec::new();
    if let (Some((def, typed)), Ok(spec)) =
        (commands::focused(data), s.app.spec(actor.org.id).await)
    {
        let typed = typed.to_ascii_lowercase();
        let mut push = |value: String, name: String| {
            if choices.len() < 25 && value.to_ascii_lowercase().starts_with(&typed) {
                choices.push(json!({ "name": render::truncate(&name, 100), "value": value }));
            }
        };
        if matches!(def.complete, Complete::Department | Complete::Either) {
            for d in &spec.departments {
                push(d.key.to_string(), format!("{} — {}", d.key, d.name));
            }
        }
        if matches!(def.complete, Complete::Code | Complete::Either) {
            for k in &spec.key_results {
                push(k.code.to_string(), format!("{} — {}", k.code, k.title));
            }
        }
    }
    json!({ "type": 8, "data": { "choices": choices } })
}
