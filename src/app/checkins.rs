//! Recording check-ins: parse → permission check → store → rollup update, plus the
//! interactive form that chat modals and the shell share.

use crate::bot::reply::{Block, Field, FieldKind, Form};
use crate::bot::{Align, Cell, Reply, Table};
use crate::domain::parse::{CheckinLine, parse_value};
use crate::domain::progress::{kr_progress, measure_attainment};
use crate::domain::{Code, Confidence, KeyResultSpec, KrKind, Status};
use crate::error::{AppError, Result};
use crate::store::{NewCheckin, Recorded, Target, TargetKind};

use super::{Actor, App};

/// Checks that a figure is plausible for what it measures. A value far outside the range
/// between start and target is almost always a typo (an extra zero, a percentage typed
/// as a fraction), so it is refused with the range that would be accepted.
pub fn check_plausible(kr: &KeyResultSpec, v: f64) -> Result<(), String> {
    if kr.kind == KrKind::Milestone {
        if v != 0.0 && v != 1.0 {
            return Err(format!(
                "`{}` is a milestone: answer `done` or `not done` (1 or 0), not {v}",
                kr.code
            ));
        }
        return Ok(());
    }
    let Some((min, max)) = crate::domain::plausible::possible_range(kr) else {
        return Ok(());
    };
    if v < min || v > max {
        return Err(format!(
            "{v} is implausible for `{}` (from {} to {}); figures between {} and {} are accepted. Nothing was recorded.",
            kr.code,
            crate::bot::render::figure(kr.start.or(kr.band.map(|b| b.0)), &kr.unit),
            crate::bot::render::figure(kr.target.or(kr.band.map(|b| b.1)), &kr.unit),
            crate::bot::render::figure(Some(min), &kr.unit),
            crate::bot::render::figure(Some(max), &kr.unit),
        ));
    }
    Ok(())
}

fn no_such(actor: &Actor, code: &Code) -> AppError {
    AppError::NotFound(format!(
        "There is no key result or measure `{code}` in {}. `okrs me` lists yours.",
        actor.org.name
    ))
}

/// Explains why the store refused a check-in, from what the database says now.
async fn explain_refusal(app: &App, actor: &Actor, line: &CheckinLine, correct: bool) -> AppError {
    let target = match app
        .store
        .checkin_target(
            actor.org.id,
            line.code.as_str(),
            actor.person.id,
            actor.key(),
        )
        .await
    {
        Ok(Some(t)) => t,
        Ok(None) => return no_such(actor, &line.code),
        Err(e) => return e.into(),
    };
    let (allowed, latest, owner_desc) = match &target {
        Target::KeyResult {
            spec,
            department,
            latest_checkin,
            allowed,
            ..
        } => {
            let owner = match (&spec.owner, department) {
                (Some(o), Some(d)) => format!("owned by {o} in {d}"),
                (Some(o), None) => format!("owned by {o}"),
                (None, Some(d)) => format!("owned by {d}"),
                (None, None) => "unowned".into(),
            };
            (*allowed, *latest_checkin, owner)
        }
        Target::Measure {
            spec,
            latest_checkin,
            allowed,
            ..
        } => {
            let owner = spec
                .owner
                .as_ref()
                .map(|o| format!("measured by {o}"))
                .unwrap_or_else(|| "a measure with no owner".into());
            (*allowed, *latest_checkin, owner)
        }
    };
    if !allowed {
        return AppError::Forbidden(format!(
            "`{}` is {owner_desc}; you can check in only on key results you own or your department owns. Nothing was recorded.",
            line.code
        ));
    }
    if correct && latest.is_none() {
        return AppError::Invalid(format!(
            "`{}` has no check-in to correct yet; record one with `{} <value>`.",
            line.code, line.code
        ));
    }
    AppError::Invalid(format!(
        "`{}` changed while recording; nothing was recorded, please try again.",
        line.code
    ))
}

/// Records a one-line check-in (or a correction that supersedes the latest one).
///
/// The happy path is one database statement: the figure is checked against the declared
/// key result (from the cached organisation), then stored with the permission rule enforced
/// inside the same statement. Only a refusal costs a second look, to explain it.
///
/// A figure outside the key result's plausibility range (`domain::plausible`) is not
/// recorded: it is held, and the person is asked to confirm it ([`confirm`]).
pub async fn record(
    app: &App,
    actor: &Actor,
    line: &CheckinLine,
    correct: bool,
    delivery: &str,
) -> Result<Reply> {
    let key = format!("{}:{delivery}", actor.source.as_str());
    Ok(record_checked(app, actor, line, correct, &key, false)
        .await?
        .reply)
}

/// What [`record_checked`] did.
pub struct Checked {
    pub reply: Reply,
    /// The figure was held for confirmation, not recorded.
    pub held: bool,
}

/// How long a figure waits for its person's yes.
pub const CONFIRM_WITHIN: chrono::Duration = chrono::Duration::minutes(10);

/// [`record`] with the check-in's full idempotency key; `confirmed` skips the question
/// (the person said yes, or re-confirms a figure already on record).
#[tracing::instrument(skip_all, fields(org = %actor.org.key, code = %line.code))]
pub async fn record_checked(
    app: &App,
    actor: &Actor,
    line: &CheckinLine,
    correct: bool,
    key: &str,
    confirmed: bool,
) -> Result<Checked> {
    let spec = app.spec_recent(actor.org.id).await?;
    let index = app.kr_index(actor.org.id, &spec);
    let (kind, unit, kr, measure) =
        if let Some(k) = index.get(&line.code).map(|&i| &spec.key_results[i]) {
            check_plausible(k, line.value).map_err(AppError::Invalid)?;
            (TargetKind::KeyResult, k.unit.clone(), Some(k), None)
        } else if let Some(m) = spec.measures.iter().find(|m| m.code == line.code) {
            (TargetKind::Measure, m.unit.clone(), None, Some(m))
        } else {
            return Err(explain_refusal(app, actor, line, correct).await);
        };
    if !confirmed
        && let Some(k) = kr
        && let Some(why) = crate::domain::plausible::suspicious(k, line.value)
    {
        return hold(app, actor, k, line, correct, key, &why).await;
    }
    let key = key.to_string();
    let recorded = app
        .store
        .record_checkin(
            actor.org.id,
            kind,
            line.code.as_str(),
            actor.key(),
            &NewCheckin {
                person_id: actor.person.id,
                value: line.value,
                confidence: line.confidence,
                note: line.note.as_deref(),
                blockers: line.blockers.as_deref(),
                source: actor.source,
                idempotency_key: &key,
                correct,
                at: app.clock.now(),
            },
        )
        .await?;
    let (id, previous, supersedes) = match recorded {
        Recorded::New {
            id,
            previous,
            supersedes,
            closed_prompts,
        } => {
            crate::metrics::Metrics::add(&app.metrics.prompts_answered, closed_prompts as u64);
            (id, previous, supersedes)
        }
        Recorded::Duplicate(id) => {
            return Ok(Checked {
                reply: Reply::new().text(format!(
                    "Already recorded as check-in #{id}; nothing new was stored."
                )),
                held: false,
            });
        }
        Recorded::Refused => return Err(explain_refusal(app, actor, line, correct).await),
    };
    let progress = match (kr, measure) {
        (Some(k), _) => kr_progress(k, Some(line.value)),
        (_, Some(m)) => measure_attainment(m, Some(line.value)),
        _ => None,
    };
    let fig = |v| crate::bot::render::figure(v, &unit);
    let mut headline = format!(
        "✔ {} {} = {}",
        if correct { "Corrected" } else { "Recorded" },
        line.code,
        fig(Some(line.value))
    );
    if let Some(prev) = previous {
        headline.push_str(&format!(" (was {})", fig(Some(prev))));
    }
    if let Some(c) = line.confidence {
        headline.push_str(&format!(" · {}", Status::from(c).label()));
    }
    let mut reply = Reply::new().text(headline).text(format!(
        "Progress {}   · check-in #{id}{}",
        crate::bot::render::progress_bar(progress),
        supersedes
            .map(|s| format!(", supersedes #{s}"))
            .unwrap_or_default()
    ));
    if let Some(b) = &line.blockers {
        reply = reply.note(format!("Blocker noted: {b}"));
    }
    // Other departments may depend on this figure: re-evaluate their alerts now. The
    // check-in itself is stored either way; an alert failure is logged, not returned.
    if !crate::domain::alerts::affected_dependencies_of(&spec, &line.code, kr.map(|k| &k.objective))
        .is_empty()
    {
        match super::alerts::evaluate_after_checkin(
            app,
            actor.org.id,
            &line.code,
            Some(&actor.person.spec.name),
        )
        .await
        {
            // The person whose check-in cleared an alert hears of it.
            Ok(report) => {
                for n in &report.cleared {
                    reply = reply.note(format!(
                        "✔ Your check-in cleared dependency alert #{n}: its thread says so."
                    ));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "dependency alerts could not be evaluated after a check-in")
            }
        }
    }
    Ok(Checked { reply, held: false })
}

/// Holds a suspicious figure and asks its person whether it is right. Who may check in is
/// checked first, so nobody is asked to confirm what they could not record anyway.
async fn hold(
    app: &App,
    actor: &Actor,
    k: &KeyResultSpec,
    line: &CheckinLine,
    correct: bool,
    key: &str,
    why: &crate::domain::plausible::Suspicion,
) -> Result<Checked> {
    let spec = app.spec_recent(actor.org.id).await?;
    if !crate::domain::org::may_check_in(&spec, actor.key(), k) {
        return Err(explain_refusal(app, actor, line, correct).await);
    }
    let now = app.clock.now();
    let id = app
        .store
        .hold_figure(
            actor.org.id,
            actor.person.id,
            &crate::store::figures::HeldFigure {
                code: line.code.as_str(),
                value: line.value,
                confidence: line.confidence,
                note: line.note.as_deref(),
                blockers: line.blockers.as_deref(),
                correct,
                idempotency_key: key,
            },
            now,
            now + CONFIRM_WITHIN,
        )
        .await?;
    let fig = |v: f64| crate::bot::render::figure(Some(v), &k.unit);
    let range = match (why.low.is_finite(), why.high.is_finite()) {
        (true, true) => format!("from {} to {}", fig(why.low), fig(why.high)),
        (true, false) => format!("from {} up", fig(why.low)),
        _ => format!("up to {}", fig(why.high)),
    };
    let mut reply = Reply::new()
        .heading(format!("Is {} = {} right?", line.code, fig(line.value)))
        .text(format!(
            "{} is {}; for `{}` ({}) figures {range} are expected. Nothing is recorded until you confirm.",
            fig(line.value),
            why.why,
            line.code,
            k.title
        ));
    reply.push(Block::Actions(vec![
        crate::bot::reply::Action {
            id: "figure_yes".into(),
            label: "Yes, it is correct".into(),
            value: id.to_string(),
        },
        crate::bot::reply::Action {
            id: "figure_no".into(),
            label: "No".into(),
            value: id.to_string(),
        },
    ]));
    let reply = reply.note(format!(
        "Answer `yes` to record it, or `no`; another figure from you drops it, and so do {} minutes without an answer.",
        CONFIRM_WITHIN.num_minutes()
    ));
    Ok(Checked { reply, held: true })
}

/// `yes` / `no` (or the Yes / No buttons) on a held figure: records it or drops it. Only
/// the person who sent it can answer; an expired or replaced figure is never recorded.
pub async fn confirm(app: &App, actor: &Actor, id: Option<i64>, yes: bool) -> Result<Reply> {
    let Some(f) = app
        .store
        .take_figure(actor.org.id, actor.person.id, id)
        .await?
    else {
        return Err(AppError::NotFound(if yes {
            "No figure of yours is waiting for a yes (it was answered, replaced by something else you sent, or it expired). Nothing was recorded; send the figure again if you meant it.".into()
        } else {
            "No figure of yours is waiting for an answer; nothing changed.".into()
        }));
    };
    let what = format!(
        "{} = {}",
        f.code,
        crate::bot::render::figure(Some(f.value), "")
    );
    if f.expires_at <= app.clock.now() {
        return Err(AppError::Invalid(format!(
            "That question expired after {} minutes: {what} was not recorded. Send the figure again if you meant it.",
            CONFIRM_WITHIN.num_minutes()
        )));
    }
    if !yes {
        return Ok(Reply::new().text(format!("Dropped: {what} was not recorded.")));
    }
    if f.answered_since {
        return Err(AppError::Invalid(format!(
            "You recorded another figure after the question, so {what} was not recorded. Send it again if you meant it."
        )));
    }
    let line = CheckinLine {
        code: Code::parse(&f.code).map_err(AppError::Invalid)?,
        value: f.value,
        confidence: f
            .confidence
            .as_deref()
            .map(Confidence::parse)
            .transpose()
            .map_err(AppError::Invalid)?,
        note: f.note,
        blockers: f.blockers,
    };
    Ok(
        record_checked(app, actor, &line, f.correct, &f.idempotency_key, true)
            .await?
            .reply,
    )
}

/// Key results the person may check in on in the active cycle, in manifest order.
fn candidates<'a>(spec: &'a crate::domain::OrgSpec, actor: &Actor) -> Vec<&'a KeyResultSpec> {
    spec.key_results
        .iter()
        .filter(|k| crate::domain::org::may_check_in(spec, actor.key(), k))
        .collect()
}

const CONFIDENCES: [&str; 3] = ["on track", "at risk", "off track"];

/// The interactive check-in: with no code, a choice of the person's key results; with a
/// code, the fields of one check-in, pre-filled with the current figure.
pub async fn form(app: &App, actor: &Actor, code: Option<&Code>) -> Result<Reply> {
    let spec = app.spec(actor.org.id).await?;
    let now = app.clock.now();
    let cycle = crate::domain::progress::active_cycle(&spec, now).map(|c| c.key.clone());
    let mine: Vec<&KeyResultSpec> = candidates(&spec, actor)
        .into_iter()
        .filter(|k| {
            let obj_cycle = spec
                .objectives
                .iter()
                .find(|o| o.code == k.objective)
                .map(|o| &o.cycle);
            cycle.is_none() || obj_cycle == cycle.as_ref()
        })
        .collect();
    let code = match code {
        Some(c) => c.clone(),
        None => match mine.as_slice() {
            [] => {
                return Err(AppError::NotFound(
                    "You have no key results to check in on this cycle. `okrs` shows your departments' key results.".into(),
                ));
            }
            [only] => only.code.clone(),
            many => {
                let state = app.state(actor.org.id).await?;
                let mut t = Table::new(&[
                    ("Code", Align::Left),
                    ("Key result", Align::Left),
                    ("Current", Align::Right),
                    ("Target", Align::Right),
                ]);
                for k in many {
                    let cur = state.key_results.get(&k.code).map(|c| c.value).or(k.start);
                    t.row(vec![
                        Cell::text(k.code.as_str()),
                        Cell::text(&k.title),
                        Cell::Figure {
                            value: cur,
                            unit: k.unit.clone(),
                        },
                        Cell::Figure {
                            value: k.target,
                            unit: k.unit.clone(),
                        },
                    ]);
                }
                let mut reply = Reply::new().heading("Your key results").table(t);
                reply.push(Block::Form(Form {
                    id: "checkin".into(),
                    title: "Which key result?".into(),
                    fields: vec![Field {
                        name: "code".into(),
                        label: "Key result code".into(),
                        kind: FieldKind::Choice(many.iter().map(|k| k.code.to_string()).collect()),
                        default: None,
                        required: true,
                    }],
                }));
                return Ok(reply);
            }
        },
    };
    let target = app
        .store
        .checkin_target(actor.org.id, code.as_str(), actor.person.id, actor.key())
        .await?
        .ok_or_else(|| no_such(actor, &code))?;
    let (title, unit, current, allowed, is_milestone) = match &target {
        Target::KeyResult {
            spec,
            current,
            allowed,
            ..
        } => (
            spec.title.clone(),
            spec.unit.clone(),
            current.or(spec.start),
            *allowed,
            spec.kind == KrKind::Milestone,
        ),
        Target::Measure {
            spec,
            current,
            allowed,
            ..
        } => (
            spec.title.clone(),
            spec.unit.clone(),
            current.or(spec.baseline),
            *allowed,
            false,
        ),
    };
    if !allowed {
        return Err(AppError::Forbidden(format!(
            "You can check in only on key results you own or your department owns; `{code}` is not one of them."
        )));
    }
    let value_field = if is_milestone {
        Field {
            name: "value".into(),
            label: "Done?".into(),
            kind: FieldKind::Choice(vec!["done".into(), "not done".into()]),
            default: Some(
                if current == Some(1.0) {
                    "done"
                } else {
                    "not done"
                }
                .into(),
            ),
            required: true,
        }
    } else {
        Field {
            name: "value".into(),
            label: format!(
                "New value{}",
                if unit.is_empty() {
                    String::new()
                } else {
                    format!(" ({unit})")
                }
            ),
            kind: FieldKind::Number,
            default: current.map(|v| crate::bot::render::figure(Some(v), "").replace(',', "")),
            required: true,
        }
    };
    let mut reply = Reply::new();
    reply.push(Block::Form(Form {
        id: format!("checkin:{code}"),
        title: format!("Check in on {code} — {title}"),
        fields: vec![
            value_field,
            Field {
                name: "confidence".into(),
                label: "Confidence".into(),
                kind: FieldKind::Choice(CONFIDENCES.iter().map(|s| s.to_string()).collect()),
                default: None,
                required: false,
            },
            Field {
                name: "note".into(),
                label: "Note".into(),
                kind: FieldKind::Text,
                default: None,
                required: false,
            },
            Field {
                name: "blockers".into(),
                label: "Blockers".into(),
                kind: FieldKind::Text,
                default: None,
                required: false,
            },
        ],
    }));
    Ok(reply)
}

/// Handles a submitted form.
pub async fn submit(
    app: &App,
    actor: &Actor,
    id: &str,
    values: &[(String, String)],
    delivery: &str,
) -> Result<Reply> {
    let get = |name: &str| {
        values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    if id == "checkin" {
        let code =
            get("code").ok_or_else(|| AppError::Usage("Choose a key result code.".into()))?;
        let code = Code::parse(code).map_err(|e| AppError::Usage(format!("code: {e}")))?;
        return form(app, actor, Some(&code)).await;
    }
    let Some(code) = id.strip_prefix("checkin:") else {
        return Err(AppError::Usage(format!("Unknown form `{id}`.")));
    };
    let code = Code::parse(code).map_err(|e| AppError::Usage(format!("code: {e}")))?;
    let value =
        get("value").ok_or_else(|| AppError::Usage("value: a value is required.".into()))?;
    let value = parse_value(value).map_err(|e| AppError::Usage(format!("value: {e}")))?;
    let confidence = get("confidence")
        .map(Confidence::parse)
        .transpose()
        .map_err(|e| AppError::Usage(format!("confidence: {e}")))?;
    let line = CheckinLine {
        code,
        value,
        confidence,
        note: get("note").map(str::to_string),
        blockers: get("blockers").map(str::to_string),
    };
    record(app, actor, &line, false, delivery).await
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::domain::plausible::tests::kr;

    #[test]
    fn implausible_figures_are_refused() {
        let k = kr(KrKind::Metric, Some(60.0), Some(85.0));
        assert!(check_plausible(&k, 72.0).is_ok());
        assert!(check_plausible(&k, 0.0).is_ok());
        let err = check_plausible(&k, 7200.0).unwrap_err();
        assert!(
            err.contains("implausible") && err.contains("Nothing was recorded"),
            "{err}"
        );
        let m = kr(KrKind::Milestone, None, None);
        assert!(check_plausible(&m, 1.0).is_ok());
        assert!(check_plausible(&m, 0.5).unwrap_err().contains("milestone"));
        let b = kr(KrKind::Baseline, None, None);
        assert!(check_plausible(&b, 123456.0).is_ok());
    }
}
