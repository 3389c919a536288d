//! Dependency alerts (PRODUCT §6): one alert per dependency at a time, listing the
//! conditions that hold for it (behind, stale, blocker, overdue, declared), announced in
//! the dependent department's channel (in a thread of its own) and by DM to the
//! provider's owner. A condition joining or clearing edits the alert's first message in
//! place and is said in its thread; the alert closes when none is left (and the person
//! whose check-in cleared it is told). Numbers are dense per organisation (see
//! `store::alerts`). Unacknowledged alerts escalate to the provider's head. People
//! acknowledge, post updates and resolve with buttons, or with `ack`, `update` and
//! `resolve` in the shell.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::bot::reply::{Action, Block};
use crate::bot::{Align, Cell, Reply, Table};
use crate::delivery::Target;
use crate::domain::alerts::{Condition, add_working_days, conditions};
use crate::domain::calendar::suggest_rhythm;
use crate::domain::progress::rollup;
use crate::domain::{Code, DependencySpec, Key, OrgSpec};
use crate::error::{AppError, Result};
use crate::store::alerts::AlertRow;
use crate::store::outbox::{Payload, enqueue, enqueue_alone};
use crate::store::{Store, Tx};

use super::{Actor, App};

/// Working days an alert may stay unacknowledged before it goes to the provider's head.
pub const ESCALATE_AFTER_WORKING_DAYS: u32 = 2;

/// What one evaluation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertReport {
    pub opened: Vec<i64>,
    /// Alerts a condition joined or left (they stay open).
    pub updated: Vec<i64>,
    pub cleared: Vec<i64>,
    pub escalated: Vec<i64>,
}

pub(super) fn thread(dep: &DependencySpec, id: i64) -> Target {
    Target::Thread {
        department: dep.dependent_department.to_string(),
        thread: format!("alert-{id}"),
    }
}

/// Who answers for the provider side: the owner of the key result, objective or
/// initiative relied on, else the provider department's head.
fn provider_owner(spec: &OrgSpec, dep: &DependencySpec) -> Option<Key> {
    let code = dep.provider_ref.as_ref();
    code.and_then(|c| {
        spec.key_results
            .iter()
            .find(|k| &k.code == c)
            .and_then(|k| k.owner.clone())
    })
    .or_else(|| {
        code.and_then(|c| {
            spec.objectives
                .iter()
                .find(|o| &o.code == c)
                .and_then(|o| o.owner.clone())
        })
    })
    .or_else(|| {
        code.and_then(|c| {
            spec.initiatives
                .iter()
                .find(|i| &i.code == c)
                .and_then(|i| i.owner.clone())
        })
    })
    .or_else(|| provider_head(spec, dep))
}

fn provider_head(spec: &OrgSpec, dep: &DependencySpec) -> Option<Key> {
    spec.departments
        .iter()
        .find(|d| d.key == dep.provider_department)
        .and_then(|d| d.heads.first().cloned())
}

/// When an escalation due at `due_at` may be sent: inside the working hours of the
/// provider's head (in their zone), the next start if `due_at` is outside them.
async fn escalation_time(
    app: &App,
    org_id: i64,
    spec: &OrgSpec,
    dep: &DependencySpec,
    due_at: DateTime<Utc>,
    holidays: &[chrono::NaiveDate],
) -> Result<DateTime<Utc>> {
    let (hours, tz) = match provider_head(spec, dep) {
        Some(head) => (
            crate::domain::org::hours_of(spec, head.as_str()),
            app.zone_of_key(org_id, spec, head.as_str()).await?,
        ),
        None => (
            spec.org.working_hours.unwrap_or_default(),
            spec.org.time_zone,
        ),
    };
    Ok(crate::domain::hours::WorkCalendar {
        hours,
        tz,
        holidays,
    }
    .next_start(due_at))
}

pub(super) fn dept_name(spec: &OrgSpec, key: &Key) -> String {
    spec.departments
        .iter()
        .find(|d| &d.key == key)
        .map(|d| d.name.clone())
        .unwrap_or_else(|| key.to_string())
}

/// The idempotency key of one of alert `number`'s messages (`open`, `owner`, `cleared`…).
/// Numbers are per organisation and outbox keys are global, so the key names both.
pub fn alert_key(org_id: i64, number: i64, what: &str) -> String {
    format!("alert:{org_id}:{number}:{what}")
}

/// The conditions of an alert in the order of [`Condition`] (behind, stale, blocker,
/// overdue, declared), each with its detail line.
fn sorted(conds: impl IntoIterator<Item = (Condition, String)>) -> Vec<(Condition, String)> {
    let mut v: Vec<(Condition, String)> = conds.into_iter().collect();
    v.sort_by_key(|(c, _)| *c);
    v.dedup_by_key(|(c, _)| *c);
    v
}

/// The conditions a stored alert lists.
fn conditions_of(a: &AlertRow) -> Vec<(Condition, String)> {
    sorted(
        a.conditions
            .iter()
            .zip(&a.details)
            .filter_map(|(c, d)| Condition::parse(c).map(|c| (c, d.clone()))),
    )
}

/// The alert message: the dependency, every open condition, the provider's figures and
/// trend, the needed-by date, the coordination rhythm, and the three actions. A closed alert
/// (`closed` is why) keeps its conditions for the record and loses its buttons.
async fn alert_message(
    app: &App,
    org_id: i64,
    spec: &OrgSpec,
    dep: &DependencySpec,
    id: i64,
    conds: &[(Condition, String)],
    closed: Option<&str>,
) -> Result<Reply> {
    let mut r = Reply::new();
    r.ephemeral = false;
    let provider = dept_name(spec, &dep.provider_department);
    let dependent = dept_name(spec, &dep.dependent_department);
    let what = dep
        .provider_ref
        .as_ref()
        .map(|c| {
            let title = spec
                .key_results
                .iter()
                .find(|k| &k.code == c)
                .map(|k| k.title.clone())
                .or_else(|| {
                    spec.objectives
                        .iter()
                        .find(|o| &o.code == c)
                        .map(|o| o.title.clone())
                })
                .or_else(|| {
                    spec.initiatives
                        .iter()
                        .find(|i| &i.code == c)
                        .map(|i| i.title.clone())
                })
                .unwrap_or_default();
            format!("{c} “{title}”")
        })
        .unwrap_or_else(|| "its work".into());
    r = r.heading(match closed {
        None => format!("⚠ Dependency alert #{id}: {}", dep.key),
        Some(why) => format!("✔ Dependency alert #{id}: {} (closed: {why})", dep.key),
    });
    r = r.text(format!(
        "{dependent} relies on {provider}'s {what} ({} importance).",
        dep.importance,
    ));
    let lines: Vec<String> = conds
        .iter()
        .map(|(c, detail)| format!("• It {}: {detail}", c.describe()))
        .collect();
    r = r.text(format!(
        "{}\n{}",
        if closed.is_some() {
            "It had these conditions:"
        } else if conds.len() == 1 {
            "Open condition:"
        } else {
            "Open conditions:"
        },
        lines.join("\n")
    ));
    if let Some(code) = &dep.provider_ref
        && spec.key_results.iter().any(|k| &k.code == code)
    {
        let (rows, _) = app.store.history(org_id, code.as_str(), 4).await?;
        if !rows.is_empty() {
            let unit = spec
                .key_results
                .iter()
                .find(|k| &k.code == code)
                .map(|k| k.unit.clone())
                .unwrap_or_default();
            let mut t = Table::new(&[
                ("When (UTC)", Align::Left),
                ("Value", Align::Right),
                ("Confidence", Align::Left),
                ("Note", Align::Left),
            ]);
            for c in rows.iter().rev() {
                t.row(vec![
                    Cell::text(c.recorded_at.format("%Y-%m-%d").to_string()),
                    Cell::Figure {
                        value: Some(c.value),
                        unit: unit.clone(),
                    },
                    Cell::text(
                        c.confidence
                            .as_deref()
                            .map(|s| s.replace('_', " "))
                            .unwrap_or_else(|| "—".into()),
                    ),
                    Cell::text(c.note.clone().or(c.blockers.clone()).unwrap_or_default()),
                ]);
            }
            r = r.table(t);
        }
    }
    r = r.text(format!(
        "Needed by: {}",
        dep.needed_by
            .map(|d| d.to_string())
            .unwrap_or_else(|| "not set".into())
    ));
    r = r.text(match &dep.cadence {
        Some(c) => format!("Coordination rhythm: {c}"),
        None => {
            let s = suggest_rhythm(spec, dep);
            format!("Suggested coordination rhythm: {} — {}", s.summary, s.why)
        }
    });
    if closed.is_some() {
        return Ok(r);
    }
    r.push(Block::Actions(vec![
        Action {
            id: "alert_ack".into(),
            label: "Acknowledge".into(),
            value: id.to_string(),
        },
        Action {
            id: "alert_update".into(),
            label: "Post update".into(),
            value: id.to_string(),
        },
        Action {
            id: "alert_resolve".into(),
            label: "Resolve".into(),
            value: id.to_string(),
        },
    ]));
    Ok(r.note(format!(
        "In the shell: `ack {id}`, `update {id} <check-in or note>`, `resolve {id}`."
    )))
}

/// Alert `number` as it stands now, for an in-place edit of its thread's first message
/// (rendered when the edit is sent, so edits sent late or twice show the latest state).
/// `None` if the alert or its dependency is gone.
pub async fn render_current(app: &App, org_id: i64, number: i64) -> Result<Option<Reply>> {
    let Some(a) = app.store.alert(org_id, number).await? else {
        return Ok(None);
    };
    let spec = app.spec(org_id).await?;
    let Some(dep) = spec
        .dependencies
        .iter()
        .find(|d| d.key.as_str() == a.dependency_key)
    else {
        return Ok(None);
    };
    let msg = alert_message(
        app,
        org_id,
        &spec,
        dep,
        a.id,
        &conditions_of(&a),
        a.closed_reason.as_deref(),
    )
    .await?;
    Ok(Some(msg))
}

/// Queues an in-place edit of alert `number`'s first message.
async fn edit(
    tx: &mut Tx,
    org_id: i64,
    dep: &DependencySpec,
    number: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    enqueue(
        tx,
        org_id,
        &alert_key(org_id, number, &format!("edit:{}", now.timestamp_micros())),
        &thread(dep, number),
        &Payload::AlertEdit { alert: number },
        now,
        now,
    )
    .await?;
    Ok(())
}

/// Announces a new alert: in a thread of the dependent department's channel and by DM to
/// the provider's owner.
#[allow(clippy::too_many_arguments)]
async fn announce(
    app: &App,
    tx: &mut Tx,
    org_id: i64,
    spec: &OrgSpec,
    dep: &DependencySpec,
    number: i64,
    conds: &[(Condition, String)],
    now: DateTime<Utc>,
) -> Result<()> {
    let msg = alert_message(app, org_id, spec, dep, number, conds, None).await?;
    say(
        tx,
        org_id,
        alert_key(org_id, number, "open"),
        thread(dep, number),
        msg.clone(),
        now,
    )
    .await?;
    if let Some(owner) = provider_owner(spec, dep) {
        say(
            tx,
            org_id,
            alert_key(org_id, number, "owner"),
            Target::Person {
                person: owner.to_string(),
            },
            msg,
            now,
        )
        .await?;
    }
    Ok(())
}

fn names(conds: &[String]) -> String {
    let mut v: Vec<Condition> = conds.iter().filter_map(|c| Condition::parse(c)).collect();
    v.sort();
    v.iter()
        .map(|c| c.describe())
        .collect::<Vec<_>>()
        .join("; ")
}

pub(super) async fn say(
    tx: &mut Tx,
    org_id: i64,
    key: String,
    target: Target,
    reply: Reply,
    now: DateTime<Utc>,
) -> Result<()> {
    enqueue(
        tx,
        org_id,
        &key,
        &target,
        &Payload::Reply { reply },
        now,
        now,
    )
    .await?;
    Ok(())
}

/// As [`say`], on its own (no transaction to join).
pub(super) async fn say_alone(
    app: &App,
    org_id: i64,
    key: String,
    target: Target,
    reply: Reply,
    now: DateTime<Utc>,
) -> Result<()> {
    enqueue_alone(
        &app.store,
        org_id,
        &key,
        &target,
        &Payload::Reply { reply },
        now,
        now,
    )
    .await?;
    Ok(())
}

/// Evaluates every dependency of the organisation: opens, updates, clears and escalates
/// alerts. Safe to run from any number of replicas at once.
#[tracing::instrument(skip_all, fields(org = org_id))]
pub async fn evaluate(app: &App, org_id: i64) -> Result<AlertReport> {
    let spec = app.spec(org_id).await?;
    if spec.dependencies.is_empty() {
        return Ok(AlertReport::default());
    }
    let state = app.state(org_id).await?;
    let blockers = app.store.open_blockers(org_id).await?;
    evaluate_in(app, org_id, &spec, &spec, &state, blockers, None).await
}

/// Re-evaluates only the dependencies a check-in on `code` can change (PRODUCT §6: on
/// every check-in), reading just their providers' key results. Time-based conditions and
/// escalations of the others wait for the next tick's full evaluation. `by` is the name of
/// the person whose check-in it was: the thread of an alert it clears says so.
#[tracing::instrument(skip_all, fields(org = org_id, code = %code))]
pub async fn evaluate_after_checkin(
    app: &App,
    org_id: i64,
    code: &Code,
    by: Option<&str>,
) -> Result<AlertReport> {
    let spec = app.spec_recent(org_id).await?;
    let Some(scope) = crate::domain::alerts::provider_scope(&spec, code) else {
        return Ok(AlertReport::default());
    };
    let codes: Vec<String> = scope
        .key_results
        .iter()
        .map(|k| k.code.to_string())
        .collect();
    let state = app.store.load_key_results_state(org_id, &codes).await?;
    let blockers = app.store.open_blockers_of(org_id, &codes).await?;
    let by = by.map(|name| format!("{name}'s check-in on {code}"));
    evaluate_in(app, org_id, &spec, &scope, &state, blockers, by.as_deref()).await
}

/// One evaluation over `scope` (the whole organisation, or the part of it around some
/// providers): its dependencies are the ones judged; `spec` names people and departments.
/// Each dependency has at most one open alert, listing the conditions that hold: a new
/// condition joins it, a condition that went away leaves it (both edit its first message in
/// place and say so in its thread), and it closes when none is left. `cleared_by` names
/// what cleared it, for the thread.
async fn evaluate_in(
    app: &App,
    org_id: i64,
    spec: &OrgSpec,
    scope: &OrgSpec,
    state: &crate::domain::OrgState,
    blockers: Vec<(String, String, String)>,
    cleared_by: Option<&str>,
) -> Result<AlertReport> {
    let now = app.clock.now();
    let roll = rollup(scope, state, now);
    let blockers: HashMap<Code, String> = blockers
        .into_iter()
        .filter_map(|(code, name, b)| {
            Code::parse(&code)
                .ok()
                .map(|c| (c, format!("{b} (reported by {name})")))
        })
        .collect();
    let today = now.with_timezone(&spec.org.time_zone).date_naive();
    // A full evaluation also closes alerts whose dependency left the manifest.
    let full = std::ptr::eq(scope, spec);
    let in_scope = |dep_key: &str| scope.dependencies.iter().any(|d| d.key.as_str() == dep_key);
    let open: Vec<AlertRow> = app
        .store
        .open_alerts(org_id)
        .await?
        .into_iter()
        .filter(|a| full || in_scope(&a.dependency_key))
        .collect();
    let suppressed: HashSet<(String, String)> = app
        .store
        .suppressions(org_id)
        .await?
        .into_iter()
        .filter(|(d, _)| in_scope(d))
        .collect();
    let holidays: Vec<_> = spec.holidays.iter().map(|h| h.date).collect();
    let mut report = AlertReport::default();
    let mut tx = app.store.begin().await?;
    let mut active: HashSet<(String, &'static str)> = HashSet::new();
    for a in &open {
        if !spec
            .dependencies
            .iter()
            .any(|d| d.key.as_str() == a.dependency_key)
        {
            // The dependency was removed from the manifest: the alert has no subject any more.
            Store::close_alert(&mut tx, org_id, a.id, "cleared", None, now).await?;
        }
    }
    for dep in &scope.dependencies {
        let holds = conditions(scope, &roll, &blockers, dep, today);
        for (cond, _) in &holds {
            active.insert((dep.key.to_string(), cond.as_str()));
        }
        let raise: Vec<(&str, &str)> = holds
            .iter()
            .filter(|(c, _)| !suppressed.contains(&(dep.key.to_string(), c.as_str().to_string())))
            .map(|(c, d)| (c.as_str(), d.as_str()))
            .collect();
        let existing = open.iter().find(|a| a.dependency_key == dep.key.as_str());
        let mut news: Vec<String> = Vec::new();
        if !raise.is_empty() {
            let r = Store::raise_conditions(&mut tx, org_id, dep.key.as_str(), &raise, None, now)
                .await?;
            if r.created {
                let conds = sorted(
                    holds
                        .iter()
                        .filter(|(c, _)| r.added.iter().any(|a| a == c.as_str()))
                        .cloned(),
                );
                announce(app, &mut tx, org_id, spec, dep, r.number, &conds, now).await?;
                report.opened.push(r.number);
                continue;
            }
            if !r.added.is_empty() {
                news.push(format!("➕ Now also: it {}.", names(&r.added)));
            }
            if !r.changed.is_empty() && r.added.is_empty() && existing.is_some() {
                news.push(String::new());
            }
        }
        let Some(a) = existing else {
            continue;
        };
        // Conditions that went away (a declared block stays until someone resolves it).
        let gone: Vec<String> = a
            .conditions
            .iter()
            .filter(|c| *c != Condition::Declared.as_str())
            .filter(|c| !holds.iter().any(|(h, _)| h.as_str() == c.as_str()))
            .cloned()
            .collect();
        if !gone.is_empty() {
            let cleared = Store::clear_conditions(&mut tx, org_id, a.id, &gone, now).await?;
            if !cleared.is_empty() {
                if Store::close_alert_if_clear(&mut tx, org_id, a.id, now).await? {
                    let reply = Reply::new().text(format!(
                        "✔ Cleared{}: {} no longer {} — alert #{} is closed.",
                        cleared_by.map(|b| format!(" by {b}")).unwrap_or_default(),
                        dep.provider_ref
                            .as_ref()
                            .map(|c| c.to_string())
                            .unwrap_or_else(|| dep.provider_department.to_string()),
                        names(&cleared)
                            .replace("is behind", "behind")
                            .replace("has gone stale", "stale"),
                        a.id
                    ));
                    say(
                        &mut tx,
                        org_id,
                        alert_key(org_id, a.id, "cleared"),
                        thread(dep, a.id),
                        reply,
                        now,
                    )
                    .await?;
                    edit(&mut tx, org_id, dep, a.id, now).await?;
                    report.cleared.push(a.id);
                    continue;
                }
                news.push(format!(
                    "✔ No longer: it {}{}.",
                    names(&cleared),
                    cleared_by
                        .map(|b| format!(" (cleared by {b})"))
                        .unwrap_or_default()
                ));
                report.updated.push(a.id);
            }
        }
        if !news.is_empty() {
            let text: Vec<String> = news.into_iter().filter(|n| !n.is_empty()).collect();
            if !text.is_empty() {
                let mut r = Reply::new();
                r.ephemeral = false;
                say(
                    &mut tx,
                    org_id,
                    alert_key(org_id, a.id, &format!("change:{}", now.timestamp_micros())),
                    thread(dep, a.id),
                    r.text(format!("Alert #{}: {}", a.id, text.join(" "))),
                    now,
                )
                .await?;
                if !report.updated.contains(&a.id) {
                    report.updated.push(a.id);
                }
            }
            edit(&mut tx, org_id, dep, a.id, now).await?;
        }
        // Escalation: unacknowledged for two working days → the provider's head.
        let due = add_working_days(
            a.opened_at.with_timezone(&spec.org.time_zone).date_naive(),
            ESCALATE_AFTER_WORKING_DAYS,
            &holidays,
        );
        let local_now = now.with_timezone(&spec.org.time_zone);
        let opened_local = a.opened_at.with_timezone(&spec.org.time_zone);
        let due_reached = local_now.date_naive() > due
            || (local_now.date_naive() == due && local_now.time() >= opened_local.time());
        // …and then inside the head's working hours (the next start if it falls outside).
        let due_reached =
            due_reached && a.acknowledged_at.is_none() && a.escalated_at.is_none() && {
                let due_at = crate::domain::cadence::to_instant(
                    due.and_time(opened_local.time()),
                    spec.org.time_zone,
                );
                now >= escalation_time(app, org_id, spec, dep, due_at, &holidays).await?
            };
        if due_reached && Store::escalate_alert(&mut tx, org_id, a.id, now).await? {
            if let Some(head) = provider_head(spec, dep) {
                let current = Store::alert_in(&mut tx, org_id, a.id)
                    .await?
                    .map(|a| conditions_of(&a))
                    .unwrap_or_else(|| conditions_of(a));
                let mut msg = alert_message(app, org_id, spec, dep, a.id, &current, None).await?;
                msg.blocks.insert(0, Block::Text(format!(
                    "Escalated to you as head of {}: nobody has acknowledged this alert for {ESCALATE_AFTER_WORKING_DAYS} working days.",
                    dept_name(spec, &dep.provider_department)
                )));
                say(
                    &mut tx,
                    org_id,
                    alert_key(org_id, a.id, "escalated"),
                    Target::Person {
                        person: head.to_string(),
                    },
                    msg,
                    now,
                )
                .await?;
            }
            report.escalated.push(a.id);
        }
    }
    for (dep_key, cond) in &suppressed {
        if !active.contains(&(
            dep_key.clone(),
            Condition::parse(cond).map(|c| c.as_str()).unwrap_or(""),
        )) {
            Store::unsuppress(&mut tx, org_id, dep_key, cond).await?;
        }
    }
    tx.commit().await?;
    Ok(report)
}

pub(super) fn dependency<'a>(spec: &'a OrgSpec, key: &str) -> Result<&'a DependencySpec> {
    let lower = key.to_ascii_lowercase();
    spec.dependencies.iter().find(|d| d.key.as_str() == lower).ok_or_else(|| {
        AppError::NotFound(format!(
            "There is no dependency `{key}`. Dependencies: {}.\nUsage: blocked <dependency> <reason>",
            spec.dependencies.iter().map(|d| d.key.as_str()).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// The provider's people, either side's heads and admins may act on an alert.
pub(super) fn may_act(spec: &OrgSpec, actor: &Actor, dep: &DependencySpec) -> bool {
    let me = &actor.person.spec.key;
    actor.is_admin()
        || provider_owner(spec, dep).as_ref() == Some(me)
        || crate::domain::org::may_act_for(spec, me.as_str(), dep.provider_department.as_str())
        || spec
            .department(dep.dependent_department.as_str())
            .is_some_and(|d| {
                crate::domain::org::standing(d, me.as_str())
                    == Some(crate::domain::org::Standing::Head)
            })
}

pub(super) async fn alert_for(
    app: &App,
    actor: &Actor,
    id: &str,
    usage: &str,
) -> Result<(AlertRow, std::sync::Arc<OrgSpec>)> {
    let id: i64 = id
        .trim_start_matches('#')
        .parse()
        .map_err(|_| AppError::Usage(format!("`{id}` is not an alert number.\nUsage: {usage}")))?;
    let a = app.store.alert(actor.org.id, id).await?.ok_or_else(|| {
        AppError::NotFound(format!(
            "There is no alert #{id}. `deps` lists open alerts."
        ))
    })?;
    let spec = app.spec(actor.org.id).await?;
    Ok((a, spec))
}

/// `blocked <dependency> <reason>`.
pub async fn declare_blocked(app: &App, actor: &Actor, key: &str, reason: &str) -> Result<Reply> {
    let spec = app.spec(actor.org.id).await?;
    let dep = dependency(&spec, key)?;
    let me = &actor.person.spec.key;
    let involved = actor.is_admin()
        || [&dep.dependent_department, &dep.provider_department]
            .iter()
            .any(|d| crate::domain::org::may_act_for(&spec, me.as_str(), d.as_str()));
    if !involved {
        return Err(AppError::Forbidden(format!(
            "Only people of {} or {} can declare `{}` blocked.",
            dep.dependent_department, dep.provider_department, dep.key
        )));
    }
    let now = app.clock.now();
    let detail = format!("Declared blocked by {}: {reason}", actor.person.spec.name);
    if reason.trim().is_empty() {
        return Err(AppError::Usage(
            "`blocked` needs a reason.\nUsage: blocked <dependency> <reason>".into(),
        ));
    }
    let mut tx = app.store.begin().await?;
    let r = Store::raise_conditions(
        &mut tx,
        actor.org.id,
        dep.key.as_str(),
        &[(Condition::Declared.as_str(), &detail)],
        Some(actor.person.id),
        now,
    )
    .await?;
    let id = r.number;
    if r.created {
        let conds = [(Condition::Declared, detail.clone())];
        announce(app, &mut tx, actor.org.id, &spec, dep, id, &conds, now).await?;
    } else if r.added.is_empty() {
        // Already declared: nothing changes (the reason on record stays).
        return Ok(Reply::new().text(format!(
            "`{}` is already declared blocked (alert #{id}); post to its thread or `update {id}`.",
            dep.key,
        )));
    } else {
        let mut line = Reply::new();
        line.ephemeral = false;
        say(
            &mut tx,
            actor.org.id,
            alert_key(
                actor.org.id,
                id,
                &format!("change:{}", now.timestamp_micros()),
            ),
            thread(dep, id),
            line.text(format!("Alert #{id}: ➕ Now also: {detail}")),
            now,
        )
        .await?;
        edit(&mut tx, actor.org.id, dep, id, now).await?;
    }
    tx.commit().await?;
    Ok(Reply::new().text(if r.created {
        format!(
            "⚠ Alert #{id} raised: `{}` is blocked. {} and the provider's owner are told.",
            dep.key,
            dept_name(&spec, &dep.dependent_department)
        )
    } else {
        format!(
            "⚠ Alert #{id} on `{}` now also says it is blocked; {} sees it in the alert's thread.",
            dep.key,
            dept_name(&spec, &dep.dependent_department)
        )
    }))
}

/// `ack <alert>`.
pub async fn acknowledge(app: &App, actor: &Actor, id: &str) -> Result<Reply> {
    let (a, spec) = alert_for(app, actor, id, "ack <alert>").await?;
    let dep = dependency(&spec, &a.dependency_key)?;
    if !may_act(&spec, actor, dep) {
        return Err(AppError::Forbidden(format!(
            "Only {}'s people and the heads of either department can acknowledge alert #{}.",
            dept_name(&spec, &dep.provider_department),
            a.id
        )));
    }
    if a.closed_at.is_some() {
        return Err(AppError::Invalid(format!(
            "Alert #{} is already closed.",
            a.id
        )));
    }
    let now = app.clock.now();
    if !app
        .store
        .acknowledge_alert(actor.org.id, a.id, actor.person.id, now)
        .await?
    {
        return Ok(Reply::new().text(format!("Alert #{} was already acknowledged.", a.id)));
    }
    let note = Reply::new().text(format!(
        "👀 {} acknowledged alert #{}.",
        actor.person.spec.name, a.id
    ));
    say_alone(
        app,
        actor.org.id,
        alert_key(actor.org.id, a.id, "ack"),
        thread(dep, a.id),
        note,
        now,
    )
    .await?;
    Ok(Reply::new().text(format!(
        "Acknowledged alert #{}; it will not be escalated.",
        a.id
    )))
}

/// `resolve <alert> [note]`.
pub async fn resolve(app: &App, actor: &Actor, id: &str, note: &str) -> Result<Reply> {
    let (a, spec) = alert_for(app, actor, id, "resolve <alert> [note]").await?;
    let dep = dependency(&spec, &a.dependency_key)?;
    if !may_act(&spec, actor, dep) {
        return Err(AppError::Forbidden(format!(
            "Only {}'s people and the heads of either department can resolve alert #{}.",
            dept_name(&spec, &dep.provider_department),
            a.id
        )));
    }
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    if !Store::close_alert(
        &mut tx,
        actor.org.id,
        a.id,
        "resolved",
        Some(actor.person.id),
        now,
    )
    .await?
    {
        return Err(AppError::Invalid(format!(
            "Alert #{} is already closed.",
            a.id
        )));
    }
    // Do not raise the same conditions again while they still hold.
    for c in a
        .conditions
        .iter()
        .filter(|c| *c != Condition::Declared.as_str())
    {
        Store::suppress(&mut tx, actor.org.id, &a.dependency_key, c).await?;
    }
    let text = if note.trim().is_empty() {
        format!("✔ {} resolved alert #{}.", actor.person.spec.name, a.id)
    } else {
        format!(
            "✔ {} resolved alert #{}: {}",
            actor.person.spec.name,
            a.id,
            note.trim()
        )
    };
    say(
        &mut tx,
        actor.org.id,
        alert_key(actor.org.id, a.id, "resolved"),
        thread(dep, a.id),
        Reply::new().text(text),
        now,
    )
    .await?;
    edit(&mut tx, actor.org.id, dep, a.id, now).await?;
    tx.commit().await?;
    Ok(Reply::new().text(format!("Resolved alert #{}.", a.id)))
}

/// `update <alert>` alone, or an alert's **Post update** button: the form that takes the
/// update (a check-in line or a note), for an alert the person may act on.
pub async fn update_form(app: &App, actor: &Actor, id: &str) -> Result<Reply> {
    let (a, _) = alert_for(app, actor, id, "update <alert> <check-in or note>").await?;
    let mut r = Reply::new();
    r.push(crate::bot::Block::Form(crate::bot::reply::Form::text(
        format!("{}{}", crate::bot::inbound::ALERT_UPDATE_FORM, a.id),
        format!("Update alert #{}", a.id),
        "A check-in (e.g. PK1 40 at risk: vendor late) or a note",
    )));
    Ok(r)
}
