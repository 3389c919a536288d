//! Dependency alerts (PRODUCT §6): raised once per (dependency, condition) while the
//! condition holds, announced in the dependent department's channel (in a thread of their
//! own) and by DM to the provider's owner; cleared in the same thread; escalated to the
//! provider's head when nobody acknowledges them. People acknowledge, post updates and
//! resolve with buttons, or with `ack`, `update` and `resolve` in the shell.

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

fn dept_name(spec: &OrgSpec, key: &Key) -> String {
    spec.departments
        .iter()
        .find(|d| &d.key == key)
        .map(|d| d.name.clone())
        .unwrap_or_else(|| key.to_string())
}

/// The alert message: the dependency, the provider's figures and trend, the needed-by date,
/// the coordination rhythm, and the three actions.
async fn alert_message(
    app: &App,
    org_id: i64,
    spec: &OrgSpec,
    dep: &DependencySpec,
    id: i64,
    cond: Condition,
    detail: &str,
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
    r = r.heading(format!("⚠ Dependency alert #{id}: {}", dep.key));
    r = r.text(format!(
        "{dependent} relies on {provider}'s {what} ({} importance). It {}.",
        dep.importance,
        cond.describe()
    ));
    r = r.text(detail.to_string());
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

async fn say(
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

/// Evaluates every dependency of the organisation: opens, clears and escalates alerts.
/// Safe to run from any number of replicas at once.
#[tracing::instrument(skip_all, fields(org = org_id))]
pub async fn evaluate(app: &App, org_id: i64) -> Result<AlertReport> {
    let spec = app.spec(org_id).await?;
    if spec.dependencies.is_empty() {
        return Ok(AlertReport::default());
    }
    let state = app.state(org_id).await?;
    let blockers = app.store.open_blockers(org_id).await?;
    evaluate_in(app, org_id, &spec, &spec, &state, blockers).await
}

/// Re-evaluates only the dependencies a check-in on `code` can change (PRODUCT §6: on
/// every check-in), reading just their providers' key results. Time-based conditions and
/// escalations of the others wait for the next tick's full evaluation.
#[tracing::instrument(skip_all, fields(org = org_id, code = %code))]
pub async fn evaluate_after_checkin(app: &App, org_id: i64, code: &Code) -> Result<AlertReport> {
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
    evaluate_in(app, org_id, &spec, &scope, &state, blockers).await
}

/// One evaluation over `scope` (the whole organisation, or the part of it around some
/// providers): its dependencies are the ones judged; `spec` names people and departments.
async fn evaluate_in(
    app: &App,
    org_id: i64,
    spec: &OrgSpec,
    scope: &OrgSpec,
    state: &crate::domain::OrgState,
    blockers: Vec<(String, String, String)>,
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
    for dep in &scope.dependencies {
        for (cond, detail) in conditions(scope, &roll, &blockers, dep, today) {
            active.insert((dep.key.to_string(), cond.as_str()));
            if suppressed.contains(&(dep.key.to_string(), cond.as_str().to_string())) {
                continue;
            }
            if let Some(id) = Store::open_alert(
                &mut tx,
                org_id,
                dep.key.as_str(),
                cond.as_str(),
                &detail,
                None,
                now,
            )
            .await?
            {
                let msg = alert_message(app, org_id, spec, dep, id, cond, &detail).await?;
                say(
                    &mut tx,
                    org_id,
                    format!("alert:{id}:open"),
                    thread(dep, id),
                    msg.clone(),
                    now,
                )
                .await?;
                if let Some(owner) = provider_owner(spec, dep) {
                    say(
                        &mut tx,
                        org_id,
                        format!("alert:{id}:owner"),
                        Target::Person {
                            person: owner.to_string(),
                        },
                        msg,
                        now,
                    )
                    .await?;
                }
                report.opened.push(id);
            }
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
    for a in &open {
        let Some(dep) = spec
            .dependencies
            .iter()
            .find(|d| d.key.as_str() == a.dependency_key)
        else {
            // The dependency was removed from the manifest: the alert has no subject any more.
            Store::close_alert(&mut tx, org_id, a.id, "cleared", None, now).await?;
            continue;
        };
        let cond = Condition::parse(&a.condition);
        let still = active.contains(&(
            a.dependency_key.clone(),
            cond.map(|c| c.as_str()).unwrap_or(""),
        ));
        if cond != Some(Condition::Declared) && !still {
            if Store::close_alert(&mut tx, org_id, a.id, "cleared", None, now).await? {
                let reply = Reply::new().text(format!(
                    "✔ Cleared: {} no longer {} — alert #{} is closed.",
                    dep.provider_ref
                        .as_ref()
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| dep.provider_department.to_string()),
                    cond.map(|c| c
                        .describe()
                        .trim_start_matches("is ")
                        .trim_start_matches("has "))
                        .unwrap_or("holds"),
                    a.id
                ));
                say(
                    &mut tx,
                    org_id,
                    format!("alert:{}:cleared", a.id),
                    thread(dep, a.id),
                    reply,
                    now,
                )
                .await?;
                report.cleared.push(a.id);
            }
            continue;
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
        if a.acknowledged_at.is_none()
            && a.escalated_at.is_none()
            && due_reached
            && Store::escalate_alert(&mut tx, org_id, a.id, now).await?
        {
            if let Some(head) = provider_head(spec, dep) {
                let mut msg = alert_message(
                    app,
                    org_id,
                    spec,
                    dep,
                    a.id,
                    cond.unwrap_or(Condition::Behind),
                    &a.detail,
                )
                .await?;
                msg.blocks.insert(0, Block::Text(format!(
                    "Escalated to you as head of {}: nobody has acknowledged this alert for {ESCALATE_AFTER_WORKING_DAYS} working days.",
                    dept_name(spec, &dep.provider_department)
                )));
                say(
                    &mut tx,
                    org_id,
                    format!("alert:{}:escalated", a.id),
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
fn may_act(spec: &OrgSpec, actor: &Actor, dep: &DependencySpec) -> bool {
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
    let mut tx = app.store.begin().await?;
    let Some(id) = Store::open_alert(
        &mut tx,
        actor.org.id,
        dep.key.as_str(),
        Condition::Declared.as_str(),
        &detail,
        Some(actor.person.id),
        now,
    )
    .await?
    else {
        let open = app.store.open_alerts(actor.org.id).await?;
        let existing = open
            .iter()
            .find(|a| a.dependency_key == dep.key.as_str() && a.condition == "declared")
            .map(|a| a.id);
        return Ok(Reply::new().text(format!(
            "`{}` is already declared blocked (alert #{}); post to its thread or `update {}`.",
            dep.key,
            existing.unwrap_or_default(),
            existing.unwrap_or_default()
        )));
    };
    let msg = alert_message(
        app,
        actor.org.id,
        &spec,
        dep,
        id,
        Condition::Declared,
        &detail,
    )
    .await?;
    say(
        &mut tx,
        actor.org.id,
        format!("alert:{id}:open"),
        thread(dep, id),
        msg.clone(),
        now,
    )
    .await?;
    if let Some(owner) = provider_owner(&spec, dep) {
        say(
            &mut tx,
            actor.org.id,
            format!("alert:{id}:owner"),
            Target::Person {
                person: owner.to_string(),
            },
            msg,
            now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Reply::new().text(format!(
        "⚠ Alert #{id} raised: `{}` is blocked. {} and the provider's owner are told.",
        dep.key,
        dept_name(&spec, &dep.dependent_department)
    )))
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
        format!("alert:{}:ack", a.id),
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
    // Do not raise the same alert again while its condition still holds.
    if a.condition != "declared" {
        Store::suppress(&mut tx, actor.org.id, &a.dependency_key, &a.condition).await?;
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
        format!("alert:{}:resolved", a.id),
        thread(dep, a.id),
        Reply::new().text(text),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(Reply::new().text(format!("Resolved alert #{}.", a.id)))
}

/// `update <alert> <check-in line | note>`: records a check-in on the provider's key
/// result (or the note against its current figure) and posts it in the alert's thread.
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
