//! Inbound Slack traffic, shared by HTTP mode and Socket Mode. Each handler reads a
//! payload into a neutral [`Inbound`], hands it to [`crate::app::inbound::handle`] (which
//! de-duplicates, looks the person up, finds the thread and runs the command) and renders
//! the outcome the Slack way: the ack body, `response_url`, an ephemeral message, a modal.
//!
//! Delivery ids: events by `event_id` (`evt:…`), slash commands and button presses by
//! `trigger_id` (`cmd:…`, `act:…`). Modal submissions are never repeated by Slack; their
//! writes are idempotent by the view id, so a corrected resubmission after a field error
//! still counts once it is valid.
//!
//! A payload without the fields baton needs (a user that is not a string, no team, no
//! channel) is dropped here, with no Web API call.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Value, json};

use super::files::PictureTo;
use super::{PLATFORM, SlackBot};
use crate::app::inbound::{self as pipeline, Directory, Done, Outcome, Profile};
use crate::bot::Reply;
use crate::bot::inbound::{Identity, Inbound, Place, Pressed, What};
use crate::bot::render::slack::{self as render, ModalOrigin};

/// A slash command, as Slack sends it (form-encoded in HTTP mode, JSON in Socket Mode).
#[derive(Debug, Clone, Deserialize)]
pub struct CommandPayload {
    pub team_id: String,
    pub user_id: String,
    #[serde(default)]
    pub channel_id: String,
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub response_url: String,
    #[serde(default)]
    pub trigger_id: String,
}

fn ephemeral(text: &str) -> Value {
    json!({ "response_type": "ephemeral", "text": text })
}

/// A reply as a slash-command / response_url message.
fn response(reply: &Reply, share: bool) -> Value {
    let mut v = render::message(reply);
    v["response_type"] = json!(if share && !reply.is_error() {
        "in_channel"
    } else {
        "ephemeral"
    });
    v
}

/// Slack's mentions (`<@U123>`, `<@U123|emma>`) as baton writes them everywhere
/// (`@U123`), with the users mentioned.
pub fn neutral_text(text: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut users = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("<@") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        match after.find('>') {
            Some(end) => {
                let id = after[..end].split('|').next().unwrap_or_default();
                if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) {
                    out.push('@');
                    out.push_str(id);
                    if !users.iter().any(|u| u == id) {
                        users.push(id.to_string());
                    }
                } else {
                    out.push_str(&rest[i..i + 2 + end + 1]);
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    (out, users)
}

/// The button a `block_actions` action names (its `action_id`, `value` and, for a menu, the
/// selected option), read with the one mapping every platform shares.
pub fn press_of(action: &Value) -> Result<Pressed, crate::bot::inbound::Unreadable> {
    let action_id = action["action_id"].as_str().unwrap_or_default();
    let choice = action["selected_option"]["value"].as_str();
    let value = action["value"].as_str().or(choice).unwrap_or_default();
    Pressed::parse(render::parse_action_id(action_id), value, choice)
}

/// A non-empty string field of a payload.
fn field(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

fn identity(team: &str, user: &str) -> Identity {
    Identity {
        platform: PLATFORM,
        workspace: Some(team.to_string()),
        user: user.to_string(),
    }
}

/// The Web API's `users.info`: the one lookup of an unknown user (email and time zone).
#[async_trait]
impl Directory for SlackBot {
    async fn profile(&self, who: &Identity) -> Option<Profile> {
        match self.get("users.info", &[("user", who.user.as_str())]).await {
            Ok(v) => Some(Profile {
                email: v["user"]["profile"]["email"].as_str().map(str::to_string),
                time_zone: v["user"]["tz"].as_str().map(str::to_string),
            }),
            Err(e) => {
                tracing::warn!(user = %who.user, error = %e, "users.info failed");
                None
            }
        }
    }
}

/// A slash command as baton reads it; `None` without a team or a user.
pub fn command_inbound(p: &CommandPayload) -> Option<Inbound> {
    if p.team_id.is_empty() || p.user_id.is_empty() {
        return None;
    }
    let (text, mentions) = neutral_text(&p.text);
    Some(Inbound {
        who: identity(&p.team_id, &p.user_id),
        place: Place::Channel {
            channel: p.channel_id.clone(),
        },
        what: What::Text(text),
        delivery: (!p.trigger_id.is_empty()).then(|| format!("cmd:{}", p.trigger_id)),
        key: p.trigger_id.clone(),
        mentions,
    })
}

/// A message event as baton reads it: the neutral value and where to answer.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageEvent {
    pub inbound: Inbound,
    pub channel: String,
    pub user: String,
    /// The thread's parent `ts` for a reply in a channel thread; `None` in a DM.
    pub parent: Option<String>,
}

/// Reads an Events API payload (HTTP or Socket Mode). `None` for what baton ignores (not
/// a message, a bot's or an edit, a channel line outside a thread) and for what it cannot
/// read (no team, event id, user or channel: logged and dropped, never half-handled).
pub fn message_event(p: &Value) -> Option<MessageEvent> {
    if p["type"] != "event_callback" {
        return None;
    }
    let ev = &p["event"];
    // Only people's own lines: no bot posts (ours included), no edits or joins. A thread
    // reply also sent to the channel (`thread_broadcast`) is still a reply.
    if ev["type"] != "message"
        || ev.get("bot_id").is_some_and(|b| !b.is_null())
        || ev
            .get("subtype")
            .is_some_and(|s| !s.is_null() && s != "thread_broadcast")
    {
        return None;
    }
    let (Some(team), Some(event_id), Some(user), Some(channel)) = (
        field(&p["team_id"]),
        field(&p["event_id"]),
        field(&ev["user"]),
        field(&ev["channel"]),
    ) else {
        tracing::warn!("message event without a team, an event id, a user or a channel; dropped");
        return None;
    };
    let thread = match ev["channel_type"].as_str() {
        Some("im") => None,
        Some("channel" | "group") => match (field(&ev["ts"]), field(&ev["thread_ts"])) {
            // Only replies in threads matter in channels.
            (Some(ts), Some(parent)) if ts != parent => Some(parent.to_string()),
            _ => return None,
        },
        _ => return None,
    };
    let (text, mentions) = neutral_text(ev["text"].as_str().unwrap_or_default());
    let inbound = Inbound {
        who: identity(team, user),
        place: match &thread {
            Some(parent) => Place::Thread {
                channel: Some(channel.to_string()),
                thread: parent.clone(),
            },
            None => Place::Direct,
        },
        what: What::Text(text),
        delivery: Some(format!("evt:{event_id}")),
        key: event_id.to_string(),
        mentions,
    };
    Some(MessageEvent {
        inbound,
        channel: channel.to_string(),
        user: user.to_string(),
        parent: thread,
    })
}

impl SlackBot {
    /// Runs one inbound event through the app's pipeline.
    pub async fn pipeline(self: &Arc<Self>, inbound: Inbound) -> Outcome {
        pipeline::handle(&self.app, self.as_ref(), inbound).await
    }

    /// A slash command. Returns the ack body (empty object = plain 200).
    #[tracing::instrument(skip_all, fields(team = %p.team_id, user = %p.user_id))]
    pub async fn command(self: &Arc<Self>, p: CommandPayload) -> Value {
        let Some(inbound) = command_inbound(&p) else {
            tracing::warn!("slash command without a team or a user; dropped");
            return json!({});
        };
        let bot = self.clone();
        let mut task = tokio::spawn(async move { bot.pipeline(inbound).await });
        // A zero budget means "always finish through response_url" (never race the task).
        let quick = if self.ack_budget.is_zero() {
            None
        } else {
            tokio::time::timeout(self.ack_budget, &mut task).await.ok()
        };
        match quick {
            Some(Ok(outcome)) => self.command_outcome(&p, outcome).await,
            Some(Err(e)) => {
                tracing::error!(error = %e, "command task failed");
                ephemeral("Something went wrong running that command.")
            }
            None => {
                // Too slow for the ack: finish through response_url.
                let bot = self.clone();
                tokio::spawn(async move {
                    let body = match task.await {
                        Ok(outcome) => bot.command_outcome(&p, outcome).await,
                        Err(_) => ephemeral("Something went wrong running that command."),
                    };
                    if body.as_object().is_some_and(|o| !o.is_empty())
                        && let Err(e) = bot.respond(&p.response_url, &body).await
                    {
                        tracing::warn!(error = %e, "response_url post failed");
                    }
                });
                json!({})
            }
        }
    }

    async fn command_outcome(self: &Arc<Self>, p: &CommandPayload, outcome: Outcome) -> Value {
        match outcome {
            Outcome::Duplicate | Outcome::Ignored(_) => json!({}),
            Outcome::Refused(r) => response(&r, false),
            Outcome::Done(d) => {
                let (org, share) = (d.actor.org.id, d.share);
                self.command_reply(p, org, d.reply, share).await
            }
        }
    }

    /// What a command's reply becomes: a modal for forms, else a message. Its pictures
    /// follow by upload: into the channel when shared, else into the person's DM.
    async fn command_reply(
        self: &Arc<Self>,
        p: &CommandPayload,
        org_id: i64,
        reply: Reply,
        share: bool,
    ) -> Value {
        if let Some(form) = reply.form() {
            let view = render::modal(form, &ModalOrigin::default());
            match self
                .call(
                    "views.open",
                    &json!({ "trigger_id": p.trigger_id, "view": view }),
                )
                .await
            {
                Ok(_) => return json!({}),
                Err(e) => tracing::warn!(error = %e, "views.open failed; answering in text"),
            }
        }
        let mut body = response(&reply, share);
        if !reply.is_error() && crate::app::pictures::images(&reply).next().is_some() {
            let shared = body["response_type"] == "in_channel";
            let to = if shared {
                PictureTo::Channel {
                    channel: p.channel_id.clone(),
                    thread_ts: None,
                }
            } else {
                // A private answer's picture must not land in the channel.
                if let Some(blocks) = body["blocks"].as_array_mut()
                    && blocks.len() < render::MAX_BLOCKS
                {
                    blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn",
                        "text": ":frame_with_picture: The picture is on its way to your direct messages with baton." }] }));
                }
                PictureTo::Dm(p.user_id.clone())
            };
            let bot = self.clone();
            tokio::spawn(async move { bot.upload_pictures_now(org_id, &reply, to).await });
        }
        body
    }

    /// An interaction (`block_actions`, `view_submission`, …). Returns the ack body.
    pub async fn interaction(self: &Arc<Self>, payload: Value) -> Value {
        match payload["type"].as_str() {
            Some("block_actions") => {
                let bot = self.clone();
                // Everything a button does happens after the ack (views.open within the
                // trigger's 3 s, the rest through response_url).
                let task = tokio::spawn(async move { bot.block_actions(payload).await });
                // Wait briefly so quick work is done by the time Slack sees the ack; never
                // longer than the budget.
                let _ = tokio::time::timeout(self.ack_budget, task).await;
                json!({})
            }
            Some("view_submission") => self.view_submission(payload).await,
            other => {
                tracing::debug!(kind = ?other, "interaction ignored");
                json!({})
            }
        }
    }

    async fn block_actions(self: &Arc<Self>, p: Value) {
        let response_url = p["response_url"].as_str().unwrap_or_default().to_string();
        let (Some(team), Some(user), Some(trigger), Some(action)) = (
            field(&p["team"]["id"]),
            field(&p["user"]["id"]),
            field(&p["trigger_id"]),
            p["actions"].get(0),
        ) else {
            tracing::warn!("block_actions without a team, a user, a trigger or an action; dropped");
            return;
        };
        let channel = field(&p["container"]["channel_id"])
            .or_else(|| field(&p["channel"]["id"]))
            .map(str::to_string);
        let ts = field(&p["container"]["message_ts"]).map(str::to_string);
        let pressed = match press_of(action) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!(action = %action, error = %e, "a button baton cannot read");
                self.respond_quietly(&response_url, &ephemeral(&e.0)).await;
                return;
            }
        };
        let in_dm = channel.as_deref().is_some_and(|c| c.starts_with('D'));
        let inbound = Inbound {
            who: identity(team, user),
            place: match &channel {
                Some(c) if !in_dm => Place::Channel { channel: c.clone() },
                _ => Place::Direct,
            },
            what: What::Press(pressed.clone()),
            delivery: Some(format!("act:{trigger}")),
            key: trigger.to_string(),
            mentions: Vec::new(),
        };
        let done = match self.pipeline(inbound).await {
            Outcome::Duplicate | Outcome::Ignored(_) => return,
            Outcome::Refused(r) => {
                self.respond_quietly(&response_url, &response(&r, false))
                    .await;
                return;
            }
            Outcome::Done(d) => d,
        };
        if done.echoed() {
            // The app posts the next item or the summary into the thread (outbox).
            return;
        }
        let reply = done.reply;
        if matches!(pressed, Pressed::CaptureDelete(_))
            && !reply.is_error()
            && let (Some(channel), Some(ts)) = (&channel, &ts)
        {
            // The echo in the thread is everyone's: it becomes the deletion notice.
            let mut body = render::message(&reply);
            body["channel"] = json!(channel);
            body["ts"] = json!(ts);
            match self.call("chat.update", &body).await {
                Ok(_) => return,
                Err(e) => tracing::warn!(error = %e, "chat.update failed; answering privately"),
            }
        }
        if let Some(form) = reply.form() {
            let origin = ModalOrigin {
                channel: channel.clone(),
                ts: ts.clone(),
            };
            let view = render::modal(form, &origin);
            match self
                .call(
                    "views.open",
                    &json!({ "trigger_id": trigger, "view": view }),
                )
                .await
            {
                Ok(_) => return,
                Err(e) => tracing::warn!(error = %e, "views.open failed; answering in text"),
            }
        }
        // In a DM the prompt is the person's own: replace it with the answer. In a channel
        // the prompt is shared: answer privately.
        let mut body = response(&reply, false);
        if in_dm && !reply.is_error() && reply.form().is_none() {
            body["replace_original"] = json!(true);
        }
        self.respond_quietly(&response_url, &body).await;
    }

    async fn respond_quietly(&self, url: &str, body: &Value) {
        if url.is_empty() {
            return;
        }
        if let Err(e) = self.respond(url, body).await {
            tracing::warn!(error = %e, "response_url post failed");
        }
    }

    async fn view_submission(self: &Arc<Self>, p: Value) -> Value {
        let (Some(team), Some(user)) = (field(&p["team"]["id"]), field(&p["user"]["id"])) else {
            tracing::warn!("view_submission without a team or a user; dropped");
            return json!({});
        };
        let view = &p["view"];
        let id = view["callback_id"].as_str().unwrap_or_default().to_string();
        let view_id = view["id"].as_str().unwrap_or_default().to_string();
        let origin: ModalOrigin = view["private_metadata"]
            .as_str()
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        let fields: Vec<String> = view["blocks"]
            .as_array()
            .map(|b| {
                b.iter()
                    .filter_map(|x| x["block_id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut values = Vec::new();
        if let Some(blocks) = view["state"]["values"].as_object() {
            for (block, actions) in blocks {
                let Some(actions) = actions.as_object() else {
                    continue;
                };
                for (_, a) in actions {
                    let v = a["value"]
                        .as_str()
                        .or_else(|| a["selected_option"]["value"].as_str())
                        .unwrap_or_default();
                    values.push((block.clone(), v.to_string()));
                }
            }
        }
        let inbound = Inbound {
            who: identity(team, user),
            place: Place::Direct,
            what: What::Form { id, values },
            delivery: None,
            key: view_id,
            mentions: Vec::new(),
        };
        let reply = match self.pipeline(inbound).await {
            Outcome::Done(d) => d.reply,
            Outcome::Refused(r) => {
                let text = crate::bot::render::text::render(&r);
                return render::field_errors(&fields, text.trim());
            }
            Outcome::Duplicate | Outcome::Ignored(_) => {
                return json!({ "response_action": "clear" });
            }
        };
        if let Some(msg) = render::error_text(&reply) {
            return render::field_errors(&fields, &msg);
        }
        if let Some(form) = reply.form() {
            return json!({ "response_action": "update", "view": render::modal(form, &origin) });
        }
        // Stored: confirm in place of the prompt (or by DM when there is no prompt), waiting
        // at most the ack budget so the modal closes in time either way.
        let bot = self.clone();
        let user = user.to_string();
        let task = tokio::spawn(async move {
            let mut body = render::message(&reply);
            let res = match (origin.channel, origin.ts) {
                (Some(channel), Some(ts)) => {
                    body["channel"] = json!(channel);
                    body["ts"] = json!(ts);
                    bot.call("chat.update", &body).await
                }
                _ => {
                    body["channel"] = json!(user);
                    bot.call("chat.postMessage", &body).await
                }
            };
            if let Err(e) = res {
                tracing::warn!(error = %e, "confirming the check-in failed");
            }
        });
        let _ = tokio::time::timeout(self.ack_budget, task).await;
        json!({ "response_action": "clear" })
    }

    /// An Events API payload (`event_callback`); the ack has already been sent or is sent
    /// regardless of the outcome.
    pub async fn event(self: &Arc<Self>, p: Value) {
        self.event_inner(p).await;
        self.events_done.send_modify(|n| *n += 1);
    }

    async fn event_inner(self: &Arc<Self>, p: Value) {
        let Some(MessageEvent {
            inbound,
            channel,
            user,
            parent,
        }) = message_event(&p)
        else {
            return;
        };
        let parent = parent.as_deref();
        match self.pipeline(inbound).await {
            Outcome::Duplicate | Outcome::Ignored(_) => {}
            Outcome::Refused(r) => {
                self.ephemeral(&channel, &user, parent, &render::message(&r))
                    .await
            }
            Outcome::Done(d) => self.answer_line(&channel, &user, parent, *d).await,
        }
    }

    /// Answers a line: in a DM by a message (its pictures after it); in a review's thread,
    /// a refusal or a hint privately to the writer, what the app did not announce itself
    /// in the thread, and nothing for what it did.
    async fn answer_line(&self, channel: &str, user: &str, parent: Option<&str>, d: Done) {
        let Some(parent) = parent else {
            let mut body = render::message(&d.reply);
            body["channel"] = json!(channel);
            if let Err(e) = self.call("chat.postMessage", &body).await {
                tracing::warn!(error = %e, "answering the DM failed");
            }
            let to = PictureTo::Channel {
                channel: channel.to_string(),
                thread_ts: None,
            };
            self.upload_pictures_now(d.actor.org.id, &d.reply, to).await;
            return;
        };
        if d.echoed() {
            return;
        }
        if d.reply.is_error() || d.scoped.is_none() {
            self.ephemeral(channel, user, Some(parent), &render::message(&d.reply))
                .await;
            return;
        }
        let mut body = render::message(&d.reply);
        body["channel"] = json!(channel);
        body["thread_ts"] = json!(parent);
        if let Err(e) = self.call("chat.postMessage", &body).await {
            tracing::warn!(error = %e, "answering in the thread failed");
        }
    }

    /// A message only `user` sees (chat.postEphemeral), in a thread when given.
    async fn ephemeral(&self, channel: &str, user: &str, thread_ts: Option<&str>, body: &Value) {
        let mut body = body.clone();
        body["channel"] = json!(channel);
        body["user"] = json!(user);
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
        }
        if let Err(e) = self.call("chat.postEphemeral", &body).await {
            tracing::warn!(error = %e, "chat.postEphemeral failed");
        }
    }

    /// Runs an event with the ack already decided, waiting at most `budget` (HTTP mode waits
    /// so quick work is done before answering; slow work carries on in the background).
    pub async fn event_bounded(self: &Arc<Self>, p: Value, budget: Duration) {
        let bot = self.clone();
        let task = tokio::spawn(async move { bot.event(p).await });
        let _ = tokio::time::timeout(budget, task).await;
    }
}
