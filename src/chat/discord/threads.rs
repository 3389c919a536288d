//! Review meetings in Discord threads: what people write in a baton review thread (a thread
//! the outbox started for `review-<id>`, remembered in `discord_threads`) arrives as
//! MESSAGE_CREATE over the gateway and is read with one rule:
//!
//! - a message starting with `action:`, `decision:` or `note:` (any case) followed by text
//!   is captured: it runs as the writer's own command line, and the app posts what it
//!   understood (with Edit and Delete buttons) into the meeting's thread;
//! - an attempt baton cannot read gets a hint in the thread and captures nothing: one of
//!   those words with nothing after the colon, `action` without the colon (`action @kofi …`,
//!   `Action - …`), `todo`/`to-do` with or without a colon, and the plurals `actions:`,
//!   `decisions:`, `notes:`;
//! - everything else is discussion and is ignored (baton reads no further, and says
//!   nothing).
//!
//! Bots' messages (baton's own included) are ignored; a message is handled once (its id is
//! recorded); writers are mapped to people like interactions (guild → organisation, user →
//! person), and unknown writers get a polite refusal in the thread.

use serde_json::json;
use serenity::all::ChannelId;
use serenity::http::{LightMethod, Route};

use crate::app::App;
use crate::app::reviews::THREAD_HINT;
use crate::bot::Reply;
use crate::bot::render::discord as render;

use super::DiscordAdapter;

/// What a message in a review thread is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A capture: the command line to run as the writer.
    Capture(String),
    /// An attempt at a capture baton cannot read; what is wrong with it.
    Hint(String),
    /// Discussion: not for baton.
    Discussion,
}

const KINDS: [&str; 3] = ["action", "decision", "note"];

/// Reads a message with the rule in the module documentation. Pure.
pub fn classify(content: &str) -> Line {
    let text = content.trim();
    let first = text.split_whitespace().next().unwrap_or_default();
    // ASCII lower-casing keeps byte offsets, so `text` can be cut where `lower` matches.
    let lower = first.to_ascii_lowercase();
    for kind in KINDS {
        if lower
            .strip_prefix(kind)
            .is_some_and(|rest| rest.starts_with(':'))
        {
            let body = text[kind.len() + 1..].trim();
            if body.is_empty() {
                return Line::Hint(format!("`{kind}:` needs some text after the colon."));
            }
            return Line::Capture(format!("{kind}: {}", normalise_mentions(body)));
        }
    }
    let bare = lower.trim_end_matches([':', '-', ',', '.', '!', ';']);
    match bare {
        "action" => Line::Hint("start the line with `action:`, colon included.".into()),
        "todo" | "to-do" => Line::Hint("to-dos are captured as `action: …`.".into()),
        "actions" | "decisions" | "notes" if lower.ends_with(':') => Line::Hint(format!(
            "one capture per message, starting with `{}:`.",
            bare.trim_end_matches('s')
        )),
        _ => Line::Discussion,
    }
}

/// `<@!id>` (a nickname mention) reads as `<@id>`, which the app matches against people's
/// Discord user ids.
fn normalise_mentions(text: &str) -> String {
    text.replace("<@!", "<@")
}

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

/// Handles one message: see the module documentation for the rule.
pub async fn on_message(app: &App, out: &DiscordAdapter, m: &Incoming) -> Outcome {
    if m.author_is_bot {
        return Outcome::Ignored("a bot");
    }
    let line = classify(&m.content);
    if line == Line::Discussion {
        return Outcome::Ignored("discussion");
    }
    let thread: Option<(i64, String)> = match sqlx::query_as(
        "SELECT org_id, thread_key FROM discord_threads WHERE thread_id = $1 \
         AND thread_key LIKE 'review-%'",
    )
    .bind(&m.channel_id)
    .fetch_optional(app.store.pool())
    .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "looking up a discord thread failed");
            return Outcome::Ignored("database unavailable");
        }
    };
    let Some((org_id, key)) = thread else {
        return Outcome::Ignored("not a review thread");
    };
    let delivery = format!("discord-msg:{}", m.id);
    if !super::first_delivery(app, org_id, &delivery).await {
        tracing::info!(delivery, "discord message already handled");
        return Outcome::Ignored("seen before");
    }
    let answer = |reply: Reply| async move {
        post(out, m, &reply).await;
        Outcome::Answered
    };
    let actor = match super::person(app, Some(&m.author_id), m.guild_id.as_deref()).await {
        Ok(a) if a.org.id == org_id => a,
        Ok(a) => {
            tracing::warn!(user = %m.author_id, org = %a.org.key, thread_org = org_id,
                "discord writer belongs to another organisation than the thread");
            return answer(Reply::error(
                "Sorry, this review belongs to another baton organisation.",
            ))
            .await;
        }
        Err(msg) => return answer(Reply::error(msg)).await,
    };
    let review_id = key
        .strip_prefix("review-")
        .and_then(|n| n.parse::<i64>().ok());
    let running = match review_id {
        Some(id) => app
            .store
            .review(org_id, id)
            .await
            .ok()
            .flatten()
            .filter(|r| r.ended_at.is_none()),
        None => None,
    };
    let Some(review) = running else {
        return answer(Reply::new().text(
            "This review has ended, so I did not capture that. `/baton review action|decision|note` records it outside a meeting.",
        ))
        .await;
    };
    let line = match line {
        Line::Capture(l) => l,
        Line::Hint(why) => {
            return answer(
                Reply::new()
                    .text(format!("I did not capture that: {why}"))
                    .note(THREAD_HINT),
            )
            .await;
        }
        Line::Discussion => return Outcome::Ignored("discussion"),
    };
    // The capture belongs to this thread's review, whichever review the writer is "in".
    let reply = match crate::bot::Command::parse(&line) {
        Ok(cmd) => {
            app.handle_in_review(&actor, review.id, cmd, &delivery)
                .await
        }
        Err(msg) => Reply::error(msg),
    };
    if reply.is_error() {
        post(out, m, &reply).await;
        return Outcome::Ran { ok: false };
    }
    // The app has posted what it understood into the meeting's thread (outbox).
    tracing::info!(person = %actor.key(), review = ?review_id, "captured from a discord thread");
    Outcome::Ran { ok: true }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capture_rule() {
        let cap = |s: &str| Line::Capture(s.to_string());
        let cases: &[(&str, Line)] = &[
            (
                "action: @kofi send it by Friday",
                cap("action: @kofi send it by Friday"),
            ),
            ("  Action:   ship it ", cap("action: ship it")),
            ("DECISION: we go", cap("decision: we go")),
            ("note:the vendor is late", cap("note: the vendor is late")),
            ("action:<@!42> call them", cap("action: <@42> call them")),
            ("action: <@42> call them", cap("action: <@42> call them")),
        ];
        for (text, want) in cases {
            assert_eq!(&classify(text), want, "{text}");
        }
        for hint in [
            "action:",
            "note:   ",
            "Decision:",
            "action @kofi send it",
            "Action - send it",
            "todo: send it",
            "TODO send it",
            "to-do: x",
            "actions: a, b",
            "decisions: none",
        ] {
            assert!(matches!(classify(hint), Line::Hint(_)), "{hint}");
        }
        for talk in [
            "",
            "I think we should ship",
            "note that the vendor is late",
            "decision time, folks",
            "actionable, yes",
            "the action: is on kofi",
            "notes are in the doc",
            "😀 action: nope",
        ] {
            assert_eq!(classify(talk), Line::Discussion, "{talk}");
        }
    }
}
