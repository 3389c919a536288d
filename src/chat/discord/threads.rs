//! Review meetings in Discord threads: what people write in a baton review thread (a thread
//! the outbox started for `review-<id>`, remembered in `platform_threads`) arrives as
//! MESSAGE_CREATE over the gateway and goes through the app's one inbound pipeline as a
//! reply in that thread: captures (`action:`, `decision:`, `note:`) and moves run as the
//! writer in that review, near misses get a hint, discussion is left alone (the rule is
//! [`crate::domain::review::classify_thread_line`], the same for every platform).
//!
//! Bots' messages (baton's own included) are dropped here; a message is handled once (its
//! id is recorded by the pipeline); unknown writers get a polite refusal in the thread.
//! Threads have no private messages, so what baton answers here everyone in it sees.

use serde_json::json;
use serenity::all::ChannelId;
use serenity::http::{LightMethod, Route};

use crate::app::App;
use crate::app::inbound::{self as pipeline, NoDirectory};
use crate::bot::Reply;
use crate::bot::inbound::{Identity, Inbound, Place, What};
use crate::bot::render::discord as render;

use super::DiscordAdapter;

/// One MESSAGE_CREATE, as far as baton reads it.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub id: String,
    /// The thread's channel id (a thread is a channel).
    pub channel_id: String,
    pub guild_id: Option<String>,
    pub author_id: String,
    /// Bots and webhooks (baton itself included).
    pub author_is_bot: bool,
    pub content: String,
}

/// What became of a message (logged; tests read it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Not for baton: a bot, discussion, not a review thread, or seen before.
    Ignored(&'static str),
    /// Run as the writer's command; `ok` is false when the app refused it (the refusal was
    /// posted in the thread).
    Ran { ok: bool },
    /// A hint or a refusal was posted in the thread.
    Answered,
}

/// Handles one message: see the module documentation.
pub async fn on_message(app: &App, out: &DiscordAdapter, m: &Incoming) -> Outcome {
    if m.author_is_bot {
        return Outcome::Ignored("a bot");
    }
    if m.id.is_empty() || m.author_id.is_empty() || m.channel_id.is_empty() {
        return Outcome::Ignored("malformed");
    }
    let (text, mentions) = super::neutral_text(&m.content);
    let inbound = Inbound {
        who: Identity {
            platform: super::PLATFORM,
            workspace: m.guild_id.clone(),
            user: m.author_id.clone(),
        },
        place: Place::Thread {
            channel: None,
            thread: m.channel_id.clone(),
        },
        what: What::Text(text),
        delivery: Some(format!("msg:{}", m.id)),
        key: format!("discord-msg:{}", m.id),
        mentions,
    };
    match pipeline::handle(app, &NoDirectory, inbound).await {
        pipeline::Outcome::Duplicate => Outcome::Ignored("seen before"),
        pipeline::Outcome::Ignored(why) => Outcome::Ignored(why),
        pipeline::Outcome::Refused(r) => {
            post(out, m, &r).await;
            Outcome::Answered
        }
        pipeline::Outcome::Done(d) => {
            if d.echoed() {
                // The app has posted what it understood into the meeting's thread (outbox).
                tracing::info!(person = %d.actor.key(), "captured from a discord thread");
                return Outcome::Ran { ok: true };
            }
            post(out, m, &d.reply).await;
            match d.scoped {
                None if !d.reply.is_error() => Outcome::Answered,
                _ => Outcome::Ran {
                    ok: !d.reply.is_error(),
                },
            }
        }
    }
}

/// Answers `m` in its thread (a reply to it, visible to all: threads have no ephemeral
/// messages). Failures are logged: the message itself is already handled.
async fn post(out: &DiscordAdapter, m: &Incoming, reply: &Reply) {
    let Ok(channel) = m.channel_id.parse::<u64>() else {
        return;
    };
    let mut body = render::message(reply, render::DEFAULT_POINTER);
    if let Some(o) = body.as_object_mut() {
        o.remove("flags");
        o.insert(
            "message_reference".into(),
            json!({ "message_id": m.id, "fail_if_not_exists": false }),
        );
    }
    if let Err(e) = out
        .call(
            Route::ChannelMessages {
                channel_id: ChannelId::new(channel),
            },
            LightMethod::Post,
            &body,
            Vec::new(),
        )
        .await
    {
        tracing::warn!(error = %e, channel, "answering in a discord thread failed");
    }
}
