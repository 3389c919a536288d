//! `update <alert> <check-in or note>`: an update posted to an alert's thread. A check-in
//! line is recorded as a check-in (and judged like any other); anything else is a note,
//! kept with the alert and posted to its thread, and records no check-in: the figures and
//! the blockers on record stay as they are, so a note never closes a blocker alert. It sits
//! apart from `alerts` so that check-ins (which evaluate alerts) and alert updates (which
//! record check-ins) do not import each other.

use crate::bot::Reply;
use crate::error::{AppError, Result};
use crate::store::Store;

use super::{Actor, App};

const USAGE: &str = "update <alert> <check-in or note>";

pub async fn post_update(
    app: &App,
    actor: &Actor,
    id: &str,
    text: &str,
    delivery: &str,
) -> Result<Reply> {
    let (a, spec) = super::alerts::alert_for(app, actor, id, USAGE).await?;
    let dep = super::alerts::dependency(&spec, &a.dependency_key)?;
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::Usage(format!(
            "An update needs a check-in or a note.\nUsage: {USAGE}"
        )));
    }
    if !super::alerts::may_act(&spec, actor, dep) {
        return Err(AppError::Forbidden(format!(
            "Only {}'s people and the heads of either department can post to alert #{}.",
            super::alerts::dept_name(&spec, &dep.provider_department),
            a.id
        )));
    }
    let now = app.clock.now();
    let thread_key = super::alerts::alert_key(actor.org.id, a.id, &format!("update:{delivery}"));
    if let Ok(line) = crate::domain::parse::parse_checkin_line(text) {
        let key = format!("{}:{delivery}", actor.source.as_str());
        let checked =
            super::checkins::record_checked(app, actor, &line, false, &key, false).await?;
        if checked.held {
            // Nothing was recorded yet: the thread hears of it once the figure is confirmed
            // and posted again.
            return Ok(checked.reply.note(format!(
                "Once it is confirmed, post your update to alert #{} again.",
                a.id
            )));
        }
        let recorded = checked.reply;
        let mut posted = Reply::new().text(format!(
            "📝 Update from {} on alert #{}:",
            actor.person.spec.name, a.id
        ));
        posted.blocks.extend(recorded.blocks.iter().cloned());
        super::alerts::say_alone(
            app,
            actor.org.id,
            thread_key,
            super::alerts::thread(dep, a.id),
            posted,
            now,
        )
        .await?;
        return Ok(recorded.note(format!("Posted to the thread of alert #{}.", a.id)));
    }
    // A note: kept with the alert and posted, in one transaction.
    let mut tx = app.store.begin().await?;
    Store::add_alert_note(&mut tx, actor.org.id, a.id, actor.person.id, text, now).await?;
    let mut posted = Reply::new().text(format!(
        "📝 Note from {} on alert #{}: {text}",
        actor.person.spec.name, a.id
    ));
    posted.ephemeral = false;
    super::alerts::say(
        &mut tx,
        actor.org.id,
        thread_key,
        super::alerts::thread(dep, a.id),
        posted,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Reply::new()
        .text(format!("📝 Noted on alert #{}: {text}", a.id))
        .note(format!(
            "Posted to the thread of alert #{}. No check-in was recorded: the figures{} stay as they are.",
            a.id,
            if a.has("blocker") { " and the blocker" } else { "" }
        )))
}
