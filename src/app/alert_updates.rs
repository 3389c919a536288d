//! `update <alert> <check-in or note>`: an update posted to an alert's thread, recorded as
//! a check-in on the key result the dependency relies on. It sits apart from `alerts` so
//! that check-ins (which evaluate alerts) and alert updates (which record check-ins) do not
//! import each other.

use crate::bot::Reply;
use crate::error::{AppError, Result};

use super::{Actor, App};

pub async fn post_update(
    app: &App,
    actor: &Actor,
    id: &str,
    text: &str,
    delivery: &str,
) -> Result<Reply> {
    let (a, spec) =
        super::alerts::alert_for(app, actor, id, "update <alert> <check-in or note>").await?;
    let dep = super::alerts::dependency(&spec, &a.dependency_key)?;
    if text.trim().is_empty() {
        return Err(AppError::Usage(
            "An update needs a check-in or a note.\nUsage: update <alert> <check-in or note>"
                .into(),
        ));
    }
    let code = dep
        .provider_ref
        .as_ref()
        .filter(|c| spec.key_results.iter().any(|k| &k.code == *c))
        .cloned();
    let line = match crate::domain::parse::parse_checkin_line(text) {
        Ok(l) => l,
        Err(_) => {
            let Some(code) = code else {
                return Err(AppError::Invalid(format!(
                    "`{}` relies on no single key result; post a check-in line such as `S1 42 on track: note`.",
                    dep.key
                )));
            };
            let state = app
                .store
                .current_of(actor.org.id, &[code.to_string()])
                .await?;
            let current = state.key_results.get(&code);
            let value = current
                .map(|c| c.value)
                .or_else(|| {
                    spec.key_results
                        .iter()
                        .find(|k| k.code == code)
                        .and_then(|k| k.start)
                })
                .ok_or_else(|| {
                    AppError::Invalid(format!(
                        "`{code}` has no figure yet; post a check-in such as `{code} 42`."
                    ))
                })?;
            crate::domain::parse::CheckinLine {
                code,
                value,
                confidence: current.and_then(|c| c.confidence),
                note: Some(text.trim().to_string()),
                blockers: None,
            }
        }
    };
    let key = format!("{}:{delivery}", actor.source.as_str());
    let checked = super::checkins::record_checked(app, actor, &line, false, &key, false).await?;
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
        format!("alert:{}:update:{delivery}", a.id),
        super::alerts::thread(dep, a.id),
        posted,
        app.clock.now(),
    )
    .await?;
    Ok(recorded.note(format!("Posted to the thread of alert #{}.", a.id)))
}
