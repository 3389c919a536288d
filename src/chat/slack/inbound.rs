//! Inbound Slack traffic, shared by HTTP mode and Socket Mode: each handler turns a payload
//! into a `Command`, runs it through the app and returns what Slack should get in the ack
//! (the rest goes out through the Web API or `response_url`).
//!
//! Message events: a person's line in their DM with baton runs as a command; in channels,
//! only replies in a review meeting's thread are read (found through `platform_threads`),
//! classified by [`classify_thread_line`]: captures and moves run as the writer in that
//! review (the app echoes them into the thread through the outbox), near misses get a
//! private hint, discussion is left alone. Review buttons act on the review they belong to.
//!
//! De-duplication: events by `event_id`, slash commands and button presses by `trigger_id`
//! (recorded in `inbound_events`); modal submissions by view id, through the check-in's own
//! idempotency key (`slack:<view id>`), so a corrected resubmission after a field error still
//! counts once it is valid.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::files::PictureTo;
use super::{SlackBot, Who};
use crate::app::reviews::THREAD_HINT;
use crate::bot::render::slack::{self as render, ModalOrigin};
use crate::bot::{Command, Reply};
use crate::domain::Code;
use crate::domain::review::{ThreadLine, classify_thread_line};

pub const UNKNOWN_USER: &str = "Hello! I don't know you yet: your Slack account is not linked to a \
person in this organisation's baton manifest. Ask a baton admin to add your Slack user id or your \
email address to the manifest, then try again. Nothing was recorded.";
pub const UNKNOWN_TEAM: &str = "This Slack workspace is not connected to a baton organisation, so \
baton cannot answer here. Nothing was recorded.";

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

/// Callback id prefix of the modal behind an alert's **Post update** button.
const ALERT_UPDATE_FORM: &str = "alert_update:";

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

fn refusal(who: &Who) -> &'static str {
    match who {
        Who::UnknownUser => UNKNOWN_USER,
        _ => UNKNOWN_TEAM,
    }
}

impl SlackBot {
    /// A slash command. Returns the ack body (empty object = plain 200).
    #[tracing::instrument(skip_all, fields(team = %p.team_id, user = %p.user_id))]
    pub async fn command(self: &Arc<Self>, p: CommandPayload) -> Value {
        let actor = match self.resolve(&p.team_id, &p.user_id).await {
            Ok(Who::Person(a)) => *a,
            Ok(who) => return ephemeral(refusal(&who)),
            Err(e) => {
                tracing::error!(error = %e, "cannot resolve the Slack user");
                return ephemeral("baton could not look you up just now; please try again.");
            }
        };
        match self
            .first_delivery(actor.org.id, &format!("cmd:{}", p.trigger_id))
            .await
        {
            Ok(true) => {}
            Ok(false) => return json!({}),
            Err(e) => tracing::warn!(error = %e, "cannot record the delivery; running anyway"),
        }
        // `share` in front makes the answer visible to the channel; otherwise ephemeral.
        let text = p.text.trim();
        let (share, line) = match text.split_once(char::is_whitespace) {
            Some((w, rest)) if w.eq_ignore_ascii_case("share") => (true, rest.trim().to_string()),
            _ if text.eq_ignore_ascii_case("share") => (true, String::new()),
            _ => (false, text.to_string()),
        };
        let line = if line.is_empty() {
            "help".to_string()
        } else {
            line
        };
        let bot = self.clone();
        let delivery = p.trigger_id.clone();
        let org_id = actor.org.id;
        let mut task =
            tokio::spawn(async move { bot.app.handle_line(&actor, &line, &delivery).await });
        // A zero budget means "always finish through response_url" (never race the task).
        let quick = if self.ack_budget.is_zero() {
            None
        } else {
            tokio::time::timeout(self.ack_budget, &mut task).await.ok()
        };
        match quick {
            Some(Ok(reply)) => self.command_reply(&p, org_id, reply, share).await,
            Some(Err(e)) => {
                tracing::error!(error = %e, "command task failed");
                ephemeral("Something went wrong running that command.")
            }
            None => {
                // Too slow for the ack: finish through response_url.
                let bot = self.clone();
                tokio::spawn(async move {
                    let body = match task.await {
                        Ok(reply) => bot.command_reply(&p, org_id, reply, share).await,
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
        let team = p["team"]["id"].as_str().unwrap_or_default();
        let user = p["user"]["id"].as_str().unwrap_or_default();
        let response_url = p["response_url"].as_str().unwrap_or_default().to_string();
        let trigger = p["trigger_id"].as_str().unwrap_or_default().to_string();
        let channel = p["container"]["channel_id"]
            .as_str()
            .or_else(|| p["channel"]["id"].as_str())
            .map(str::to_string);
        let ts = p["container"]["message_ts"].as_str().map(str::to_string);
        let actor = match self.resolve(team, user).await {
            Ok(Who::Person(a)) => *a,
            Ok(who) => {
                self.respond_quietly(&response_url, &ephemeral(refusal(&who)))
                    .await;
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot resolve the Slack user");
                return;
            }
        };
        match self
            .first_delivery(actor.org.id, &format!("act:{trigger}"))
            .await
        {
            Ok(false) => return,
            Ok(true) => {}
            Err(e) => tracing::warn!(error = %e, "cannot record the delivery; running anyway"),
        }
        let Some(action) = p["actions"].get(0) else {
            return;
        };
        let action_id = action["action_id"].as_str().unwrap_or_default();
        let value = action["value"]
            .as_str()
            .or_else(|| action["selected_option"]["value"].as_str())
            .unwrap_or_default();
        let kind = render::parse_action_id(action_id);
        // The review buttons name their review; the capture buttons their item.
        let review = match kind {
            "review_next" | "review_back" | "review_end" => match value.parse::<i64>() {
                Ok(id) => Some(id),
                Err(_) => return,
            },
            _ => None,
        };
        let cmd = match kind {
            "review_next" => Some(Command::ReviewNext),
            "review_back" => Some(Command::ReviewBack),
            "review_end" => Some(Command::ReviewEnd),
            "capture_edit" => Some(Command::EditForm(value.to_string())),
            "capture_delete" => Some(Command::Delete(value.to_string())),
            "update" => Code::parse(value)
                .map(|c| Command::CheckinForm(Some(c)))
                .ok(),
            "form" => match value.strip_prefix("checkin:") {
                Some(code) => Code::parse(code)
                    .map(|c| Command::CheckinForm(Some(c)))
                    .ok(),
                None => Some(Command::CheckinForm(None)),
            },
            "nochange" => Some(Command::NoChange),
            "skip" => Some(Command::Skip),
            "alert_ack" => Some(Command::Ack(value.to_string())),
            "alert_resolve" => Some(Command::Resolve {
                alert: value.to_string(),
                note: String::new(),
            }),
            "snooze" => Some(Command::Snooze(
                action["selected_option"]["value"]
                    .as_str()
                    .and_then(|d| crate::domain::parse::parse_duration(d).ok())
                    .unwrap_or_else(|| chrono::Duration::hours(2)),
            )),
            "alert_update" => {
                let form = crate::bot::reply::Form::text(
                    format!("{ALERT_UPDATE_FORM}{value}"),
                    format!("Update alert #{value}"),
                    "A check-in (e.g. PK1 40 at risk: vendor late) or a note",
                );
                let view = render::modal(&form, &ModalOrigin::default());
                if let Err(e) = self
                    .call(
                        "views.open",
                        &json!({ "trigger_id": trigger, "view": view }),
                    )
                    .await
                {
                    tracing::warn!(error = %e, "views.open failed for an alert update");
                    self.respond_quietly(
                        &response_url,
                        &ephemeral(&format!(
                            "Type `/baton update {value} <check-in or note>` instead."
                        )),
                    )
                    .await;
                }
                return;
            }
            other => {
                tracing::debug!(action = other, "unknown button");
                None
            }
        };
        let Some(cmd) = cmd else {
            return;
        };
        let reply = match review {
            Some(id) => self.app.handle_in_review(&actor, id, cmd, &trigger).await,
            None => self.app.handle(&actor, cmd, &trigger).await,
        };
        if review.is_some() && !reply.is_error() {
            // The app posts the next item or the summary into the thread (outbox).
            return;
        }
        if kind == "capture_delete"
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
        if channel.as_deref().is_some_and(|c| c.starts_with('D')) && !reply.is_error() {
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
        let team = p["team"]["id"].as_str().unwrap_or_default();
        let user = p["user"]["id"].as_str().unwrap_or_default();
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
        let actor = match self.resolve(team, user).await {
            Ok(Who::Person(a)) => *a,
            Ok(who) => return render::field_errors(&fields, refusal(&who)),
            Err(e) => {
                tracing::error!(error = %e, "cannot resolve the Slack user");
                return render::field_errors(&fields, "baton could not look you up; try again.");
            }
        };
        let cmd = match id.strip_prefix(ALERT_UPDATE_FORM) {
            Some(alert) => Command::AlertUpdate {
                alert: alert.to_string(),
                text: values
                    .iter()
                    .find(|(k, _)| k == "text")
                    .map(|(_, v)| v.trim().to_string())
                    .unwrap_or_default(),
            },
            None => Command::SubmitForm { id, values },
        };
        let reply = self.app.handle(&actor, cmd, &view_id).await;
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
        if p["type"] != "event_callback" {
            return;
        }
        let team = p["team_id"].as_str().unwrap_or_default();
        let event_id = p["event_id"].as_str().unwrap_or_default();
        let ev = &p["event"];
        // Only people's own lines: no bot posts (ours included), no edits or joins. A thread
        // reply also sent to the channel (`thread_broadcast`) is still a reply.
        if ev["type"] != "message"
            || ev.get("bot_id").is_some_and(|b| !b.is_null())
            || ev
                .get("subtype")
                .is_some_and(|s| !s.is_null() && s != "thread_broadcast")
        {
            return;
        }
        match ev["channel_type"].as_str() {
            Some("im") => {}
            Some("channel" | "group") => return self.thread_reply(team, event_id, ev).await,
            _ => return,
        }
        let user = ev["user"].as_str().unwrap_or_default();
        let channel = ev["channel"].as_str().unwrap_or_default();
        let text = ev["text"].as_str().unwrap_or_default();
        let Some(actor) = self.event_actor(team, user, channel, None, event_id).await else {
            return;
        };
        let reply = self.app.handle_line(&actor, text, event_id).await;
        let mut body = render::message(&reply);
        body["channel"] = json!(channel);
        if let Err(e) = self.call("chat.postMessage", &body).await {
            tracing::warn!(error = %e, "answering the DM failed");
        }
        let to = PictureTo::Channel {
            channel: channel.to_string(),
            thread_ts: None,
        };
        self.upload_pictures_now(actor.org.id, &reply, to).await;
    }

    /// A message in a channel: only replies in a review's thread matter (see
    /// [`classify_thread_line`] for which); everything else in channels is ignored, and
    /// ordinary discussion in the thread is left alone without looking anyone up.
    async fn thread_reply(self: &Arc<Self>, team: &str, event_id: &str, ev: &Value) {
        let (Some(channel), Some(ts), Some(parent)) = (
            ev["channel"].as_str(),
            ev["ts"].as_str(),
            ev["thread_ts"].as_str(),
        ) else {
            return;
        };
        if parent == ts {
            return;
        }
        let text = ev["text"].as_str().unwrap_or_default();
        let line = classify_thread_line(text);
        if line == ThreadLine::Discussion {
            return;
        }
        let Ok(Ok(org)) = self.org_for_team(team).await else {
            return;
        };
        let review = match self.review_of_thread(org.id, channel, parent).await {
            Ok(Some(r)) => r,
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %e, "cannot look up the thread");
                return;
            }
        };
        let user = ev["user"].as_str().unwrap_or_default();
        let Some(actor) = self
            .event_actor(team, user, channel, Some(parent), event_id)
            .await
        else {
            return;
        };
        let cmd = match line {
            ThreadLine::Capture { kind, text } => Command::Capture {
                kind: kind.to_string(),
                text,
            },
            ThreadLine::Command => match Command::parse(text) {
                Ok(c) => c,
                Err(e) => {
                    let reply = Reply::error(e);
                    self.ephemeral(channel, user, Some(parent), &render::message(&reply))
                        .await;
                    return;
                }
            },
            _ => {
                self.ephemeral(channel, user, Some(parent), &json!({ "text": THREAD_HINT }))
                    .await;
                return;
            }
        };
        // Captures and moves are posted into the thread by the app, through the outbox;
        // a correction typed in the thread is answered there; refusals only to the writer.
        let echoes = matches!(
            cmd,
            Command::Capture { .. }
                | Command::ReviewNext
                | Command::ReviewBack
                | Command::ReviewEnd
        );
        let reply = self
            .app
            .handle_in_review(&actor, review, cmd, event_id)
            .await;
        if reply.is_error() {
            self.ephemeral(channel, user, Some(parent), &render::message(&reply))
                .await;
        } else if !echoes {
            let mut body = render::message(&reply);
            body["channel"] = json!(channel);
            body["thread_ts"] = json!(parent);
            if let Err(e) = self.call("chat.postMessage", &body).await {
                tracing::warn!(error = %e, "answering in the thread failed");
            }
        }
    }

    /// The person behind a message event, the first time the event is seen: `None` for
    /// a retry, a stranger (told privately, nothing stored) or a workspace baton cannot place.
    async fn event_actor(
        &self,
        team: &str,
        user: &str,
        channel: &str,
        thread_ts: Option<&str>,
        event_id: &str,
    ) -> Option<crate::app::Actor> {
        let actor = match self.resolve(team, user).await {
            Ok(Who::Person(a)) => *a,
            Ok(Who::UnknownUser) => {
                self.ephemeral(channel, user, thread_ts, &json!({ "text": UNKNOWN_USER }))
                    .await;
                return None;
            }
            Ok(_) => return None,
            Err(e) => {
                tracing::error!(error = %e, "cannot resolve the Slack user");
                return None;
            }
        };
        match self
            .first_delivery(actor.org.id, &format!("evt:{event_id}"))
            .await
        {
            Ok(false) => {
                tracing::debug!(event_id, "duplicate event ignored");
                None
            }
            Ok(true) => Some(actor),
            Err(e) => {
                tracing::warn!(error = %e, "cannot record the delivery; running anyway");
                Some(actor)
            }
        }
    }

    /// The review whose thread starts at `ts` in `channel`, if any.
    async fn review_of_thread(
        &self,
        org_id: i64,
        channel: &str,
        ts: &str,
    ) -> crate::error::Result<Option<i64>> {
        let key: Option<String> = sqlx::query_scalar(
            "SELECT thread_key FROM platform_threads
             WHERE org_id = $1 AND platform = 'slack' AND channel = $2 AND ts = $3
               AND thread_key LIKE 'review-%'",
        )
        .bind(org_id)
        .bind(channel)
        .bind(ts)
        .fetch_optional(self.app.store.pool())
        .await
        .map_err(crate::store::StoreError::from)?;
        Ok(key.and_then(|k| k.strip_prefix("review-")?.parse().ok()))
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
