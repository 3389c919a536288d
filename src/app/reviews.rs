//! Review meetings in chat (PRODUCT §8): a generated agenda walked item by item in a
//! thread, actions, decisions and notes captured as people write them, a summary at the
//! end, and the action register that chases owners afterwards. All state is in Postgres,
//! so a meeting survives a restart and resumes at its current item.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::bot::reply::{Action, Block};
use crate::bot::{Align, Cell, Reply, Table};
use crate::delivery::Target;
use crate::domain::alerts::add_working_days;
use crate::domain::due::parse_due_fy;
use crate::domain::hours::WorkCalendar;
use crate::domain::org::hours_of;
use crate::domain::{Key, OrgSpec, Perspective, Role};
use crate::error::{AppError, Result};
use crate::store::Tx;
use crate::store::outbox::{Payload, enqueue, enqueue_alone};
use crate::store::reviews::{CaptureRow, ItemRow, NewCapture, ReviewRow};

use super::view::View;
use super::{Actor, App};

pub use crate::domain::review::{SECTIONS, TIERS, default_template};

fn root(spec: &OrgSpec) -> Option<&Key> {
    spec.departments
        .iter()
        .find(|d| d.parent.is_none())
        .map(|d| &d.key)
}

/// The scope of a coordination review of one dependency: `dependency:<key>`.
const DEPENDENCY_SCOPE: &str = "dependency:";

/// The dependency a scope is about, if it is a dependency's.
fn scope_dependency<'a>(
    spec: &'a OrgSpec,
    scope: &str,
) -> Option<&'a crate::domain::DependencySpec> {
    let key = scope.strip_prefix(DEPENDENCY_SCOPE)?;
    spec.dependencies.iter().find(|d| d.key.as_str() == key)
}

/// The department keys a scope covers: the department and everything under it; for a
/// dependency, its two departments.
fn subtree(spec: &OrgSpec, scope: &str) -> Vec<String> {
    if scope == "company" {
        return spec.departments.iter().map(|d| d.key.to_string()).collect();
    }
    if let Some(key) = scope.strip_prefix(DEPENDENCY_SCOPE) {
        return spec
            .dependencies
            .iter()
            .find(|d| d.key.as_str() == key)
            .map(|d| {
                vec![
                    d.dependent_department.to_string(),
                    d.provider_department.to_string(),
                ]
            })
            .unwrap_or_default();
    }
    let mut out = vec![scope.to_string()];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i].clone();
        for d in &spec.departments {
            if d.parent.as_ref().is_some_and(|p| p.as_str() == cur)
                && !out.contains(&d.key.to_string())
            {
                out.push(d.key.to_string());
            }
        }
        i += 1;
    }
    out
}

fn fmt_due(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%a %-d %b %Y").to_string())
        .unwrap_or_else(|| "no due date".into())
}

fn owner_name(c: &CaptureRow) -> String {
    c.owner_name.clone().unwrap_or_else(|| "unassigned".into())
}

/// Builds the agenda from live data, section by section; empty sections are left out.
async fn agenda(
    app: &App,
    actor: &Actor,
    tier: &str,
    scope: &str,
) -> Result<Vec<(String, String, Vec<String>)>> {
    let v = View::load(app, actor).await?;
    let spec = &v.spec;
    let depts = subtree(spec, scope);
    let template: Vec<String> = spec.review_templates.get(tier).cloned().unwrap_or_else(|| {
        default_template(tier)
            .into_iter()
            .map(String::from)
            .collect()
    });
    let today = app
        .clock
        .now()
        .with_timezone(
            &app.person_zone(actor.org.id, spec, &actor.person.spec)
                .await?,
        )
        .date_naive();
    let mut items: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut carried: Vec<(i64, ItemRow)> = Vec::new();
    let mut carried_at: Option<usize> = None;
    let only_dependency = scope_dependency(spec, scope).map(|d| d.key.to_string());
    let live: Vec<String> = template.iter().filter(|s| *s != "aob").cloned().collect();
    for section in template {
        match section.as_str() {
            "actions" => {
                let prev = app.store.previous_review(actor.org.id, tier, scope).await?;
                let all = app
                    .store
                    .captures(actor.org.id, None, Some("action"))
                    .await?;
                let mut lines = Vec::new();
                for c in all.iter().filter(|c| c.status == "open") {
                    let from_prev = prev.as_ref().is_some_and(|p| c.review_id == Some(p.id));
                    let overdue = c.due_on.is_some_and(|d| d < today)
                        && c.department.as_ref().is_none_or(|d| depts.contains(d));
                    if from_prev || overdue {
                        lines.push(format!(
                            "#{} {} — {} · due {}{}",
                            c.id,
                            c.text,
                            owner_name(c),
                            fmt_due(c.due_on),
                            if overdue { " · OVERDUE" } else { "" }
                        ));
                    }
                }
                if !lines.is_empty() {
                    items.push((section.clone(), "Open and overdue actions".into(), lines));
                }
                // Items the previous meeting did not reach carry forward (placed here once
                // the rest of the agenda is known, see below).
                if let Some(p) = prev {
                    carried_at = Some(items.len());
                    carried = app
                        .store
                        .review_items(p.id)
                        .await?
                        .into_iter()
                        .filter(|i| !i.reached)
                        .map(|i| (p.id, i))
                        .collect();
                }
            }
            "off_track" => {
                let mut persp: Vec<Perspective> =
                    spec.perspectives.iter().map(|p| p.perspective).collect();
                persp.sort_by_key(|p| std::cmp::Reverse(*p));
                for p in persp {
                    let mut lines = Vec::new();
                    for o in spec.objectives.iter().filter(|o| v.in_active_cycle(o)) {
                        let dept = crate::domain::org::owning_department(spec, o);
                        if !dept.is_some_and(|d| depts.iter().any(|x| x == d.as_str())) {
                            continue;
                        }
                        let served = o
                            .aligns_to
                            .iter()
                            .filter_map(|c| spec.scorecard.iter().find(|s| &s.code == c))
                            .map(|s| s.perspective)
                            .next();
                        if served != Some(p) {
                            continue;
                        }
                        let bad_krs: Vec<_> = spec
                            .key_results
                            .iter()
                            .filter(|k| k.objective == o.code)
                            .filter(|k| {
                                v.rollup
                                    .key_results
                                    .get(&k.code)
                                    .is_some_and(|e| e.status.is_bad())
                            })
                            .collect();
                        let o_eval = v.rollup.objectives.get(&o.code);
                        if bad_krs.is_empty() && !o_eval.is_some_and(|e| e.status.is_bad()) {
                            continue;
                        }
                        lines.push(format!(
                            "{} {} — {} {}",
                            o.code,
                            o.title,
                            o_eval
                                .and_then(|e| e.progress)
                                .map(crate::bot::render::percent)
                                .unwrap_or_else(|| "—".into()),
                            o_eval
                                .map(|e| format!("{} {}", e.status.mark(), e.status.label()))
                                .unwrap_or_default()
                        ));
                        for k in bad_krs {
                            let e = &v.rollup.key_results[&k.code];
                            let (hist, _) =
                                app.store.history(actor.org.id, k.code.as_str(), 3).await?;
                            let trend: Vec<String> = hist
                                .iter()
                                .rev()
                                .map(|c| crate::bot::render::figure(Some(c.value), &k.unit))
                                .collect();
                            lines.push(format!(
                                "  {} {}: {} of {} · {} {}{}{}",
                                k.code,
                                k.title,
                                crate::bot::render::figure(e.value, &k.unit),
                                crate::bot::render::figure(
                                    k.target.or(k.band.map(|b| b.1)),
                                    &k.unit
                                ),
                                e.status.mark(),
                                e.status.label(),
                                if e.stale { " (stale)" } else { "" },
                                if trend.is_empty() {
                                    String::new()
                                } else {
                                    format!(" · trend {}", trend.join(" → "))
                                }
                            ));
                        }
                    }
                    if !lines.is_empty() {
                        items.push((
                            section.clone(),
                            format!("{}: off track and at risk", v.label(p)),
                            lines,
                        ));
                    }
                }
            }
            "alerts" => {
                let lines: Vec<String> = v
                    .alerts
                    .iter()
                    .filter_map(|a| {
                        let d = spec
                            .dependencies
                            .iter()
                            .find(|d| d.key.as_str() == a.dependency_key)?;
                        let in_scope = match &only_dependency {
                            Some(k) => d.key.as_str() == k,
                            None => {
                                depts.contains(&d.dependent_department.to_string())
                                    || depts.contains(&d.provider_department.to_string())
                            }
                        };
                        in_scope.then(|| {
                            format!(
                                "#{} {} ({}): {}{}",
                                a.id,
                                a.dependency_key,
                                a.conditions.join(", "),
                                a.details.join("; "),
                                if a.acknowledged_at.is_some() {
                                    " · acknowledged"
                                } else {
                                    ""
                                }
                            )
                        })
                    })
                    .collect();
                if !lines.is_empty() {
                    items.push((section.clone(), "Open dependency alerts".into(), lines));
                }
            }
            "gaps" => {
                let lines: Vec<String> = super::strategy::find_gaps(spec, v.rollup.cycle.as_ref())
                    .into_iter()
                    .map(|g| format!("{} {}: {}", g.kind, g.code, g.detail))
                    .collect();
                if !lines.is_empty() {
                    items.push((section.clone(), "Gaps in the strategy".into(), lines));
                }
            }
            "strategy" => {
                let lines: Vec<String> = super::evidence::links(app, actor.org.id, spec, v.now)
                    .await?
                    .iter()
                    .map(|l| l.sentence())
                    .collect();
                if !lines.is_empty() {
                    items.push((section.clone(), "Is the strategy holding?".into(), lines));
                }
            }
            "decisions" => {
                let krs_in: HashMap<&str, ()> = spec
                    .key_results
                    .iter()
                    .filter(|k| {
                        crate::domain::org::kr_department(spec, k)
                            .is_some_and(|d| depts.iter().any(|x| x == d.as_str()))
                    })
                    .map(|k| (k.code.as_str(), ()))
                    .collect();
                let lines: Vec<String> = app
                    .store
                    .open_blockers(actor.org.id)
                    .await?
                    .into_iter()
                    .filter(|(code, _, _)| krs_in.contains_key(code.as_str()))
                    .map(|(code, name, b)| format!("{code} ({name}): {b}"))
                    .collect();
                if !lines.is_empty() {
                    items.push((
                        section.clone(),
                        "Decisions needed: reported blockers".into(),
                        lines,
                    ));
                }
            }
            "aob" => items.push((
                section.clone(),
                "Any other business".into(),
                vec!["Anything else before we close?".into()],
            )),
            _ => {}
        }
    }
    // What the previous meeting did not reach. A section this agenda builds from live
    // data (actions, off track, alerts, gaps, decisions) is already here with today's
    // figures, so its old copy is not repeated: the fresh item says it was not reached.
    // Any other business, and sections this agenda does not have, carry forward as they
    // were (an item carried before is carried once, not as "Carried forward: Carried …").
    let mut forward: Vec<(String, String, Vec<String>)> = Vec::new();
    for (prev_id, it) in carried {
        let title = it.title.trim_start_matches("Carried forward: ").to_string();
        if it.section != "aob" && live.contains(&it.section) {
            if let Some(fresh) = items.iter_mut().find(|(_, t, _)| *t == title) {
                let note = format!("Not reached in review #{prev_id}; these are today's figures.");
                if !fresh.2.contains(&note) {
                    fresh.2.insert(0, note);
                }
            }
            continue;
        }
        if forward.iter().any(|(_, t, _)| t.ends_with(&title)) {
            continue;
        }
        let mut lines = it.lines.clone();
        if it.section == "aob" {
            lines = vec![format!(
                "Review #{prev_id} ended before any other business: raise it now."
            )];
        }
        forward.push((
            it.section.clone(),
            format!("Carried forward: {title}"),
            lines,
        ));
    }
    let at = carried_at.unwrap_or(0).min(items.len());
    items.splice(at..at, forward);
    Ok(items)
}

fn may_run(spec: &OrgSpec, actor: &Actor, scope: &str) -> bool {
    let me = &actor.person.spec.key;
    if actor.is_admin() || actor.person.spec.roles.contains(&Role::Facilitator) {
        return true;
    }
    if scope.starts_with(DEPENDENCY_SCOPE) {
        // Heads of either department (or above them).
        return subtree(spec, scope).iter().any(|t| {
            crate::domain::org::ancestors(spec, t)
                .iter()
                .any(|d| d.heads.contains(me))
        });
    }
    let target = if scope == "company" {
        root(spec).map(|k| k.to_string())
    } else {
        Some(scope.to_string())
    };
    // Heads of the scope's department or of any department above it.
    target.is_some_and(|t| {
        crate::domain::org::ancestors(spec, &t)
            .iter()
            .any(|d| d.heads.contains(me))
    })
}

fn thread(r: &ReviewRow) -> Target {
    Target::Thread {
        department: r.channel_dept.clone(),
        thread: format!("review-{}", r.id),
    }
}

fn item_reply(r: &ReviewRow, it: &ItemRow, total: usize) -> Reply {
    let mut reply =
        Reply::new().heading(format!("Item {}/{}: {}", it.position + 1, total, it.title));
    reply.ephemeral = false;
    for l in &it.lines {
        reply = reply.text(l.clone());
    }
    reply.push(Block::Actions(vec![
        Action {
            id: "review_back".into(),
            label: "Back".into(),
            value: r.id.to_string(),
        },
        Action {
            id: "review_next".into(),
            label: "Next".into(),
            value: r.id.to_string(),
        },
        Action {
            id: "review_end".into(),
            label: "End".into(),
            value: r.id.to_string(),
        },
    ]));
    reply.note("Reply `action: @owner … by Friday`, `decision: …` or `note: …` to capture; `review next`, `review back`, `review end` to move.")
}

async fn post(app: &App, org_id: i64, key: String, target: Target, reply: Reply) -> Result<()> {
    let now = app.clock.now();
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

/// `review start <tier> [dept]`.
pub async fn start(app: &App, actor: &Actor, tier: &str, dept: Option<&str>) -> Result<Reply> {
    let tier = tier.to_ascii_lowercase();
    if !TIERS.contains(&tier.as_str()) {
        return Err(AppError::Usage(format!(
            "`{tier}` is not a review tier; use {}.\nUsage: review start <tier> [dept]",
            TIERS.join(", ")
        )));
    }
    let spec = app.spec(actor.org.id).await?;
    let (scope, channel) = match dept {
        Some(d) => {
            let d = d.to_ascii_lowercase();
            let Some(x) = spec.departments.iter().find(|x| x.key.as_str() == d) else {
                // A coordination review may be about one dependency.
                if let Some(dep) = spec.dependencies.iter().find(|x| x.key.as_str() == d) {
                    if tier != "coordination" {
                        return Err(AppError::Usage(format!(
                            "`{d}` is a dependency: a review of a dependency is a coordination review.\nUsage: review start coordination <dependency>"
                        )));
                    }
                    let scope = format!("{DEPENDENCY_SCOPE}{}", dep.key);
                    return start_in(
                        app,
                        actor,
                        &spec,
                        &tier,
                        scope,
                        dep.dependent_department.to_string(),
                    )
                    .await;
                }
                return Err(AppError::NotFound(format!(
                    "There is no department or dependency `{d}`.\nUsage: review start <tier> [dept] · review start coordination <dependency>"
                )));
            };
            if x.parent.is_none() {
                ("company".to_string(), x.key.to_string())
            } else {
                (d.clone(), d)
            }
        }
        None => (
            "company".to_string(),
            root(&spec)
                .map(|k| k.to_string())
                .unwrap_or_else(|| "company".into()),
        ),
    };
    start_in(app, actor, &spec, &tier, scope, channel).await
}

/// The name of a scope for headings: the company's or department's name, or the
/// dependency's key.
fn scope_name(spec: &OrgSpec, scope: &str) -> String {
    if scope == "company" {
        return spec.org.name.clone();
    }
    if let Some(key) = scope.strip_prefix(DEPENDENCY_SCOPE) {
        return format!("dependency {key}");
    }
    spec.departments
        .iter()
        .find(|d| d.key.as_str() == scope)
        .map(|d| d.name.clone())
        .unwrap_or(scope.to_string())
}

/// Starts a review of `scope` posted in `channel`'s thread.
async fn start_in(
    app: &App,
    actor: &Actor,
    spec: &OrgSpec,
    tier: &str,
    scope: String,
    channel: String,
) -> Result<Reply> {
    let tier = tier.to_string();
    if !may_run(spec, actor, &scope) {
        return Err(AppError::Forbidden(
            "Only facilitators, heads and admins may start, move and end a review.".into(),
        ));
    }
    if let Some(r) = app
        .store
        .running_reviews(actor.org.id)
        .await?
        .into_iter()
        .find(|r| r.scope == scope)
    {
        return Err(AppError::Invalid(format!(
            "A {} review of {} is already running (#{}); `review end` it first.",
            r.tier, r.scope, r.id
        )));
    }
    let items = agenda(app, actor, &tier, &scope).await?;
    let now = app.clock.now();
    let Some(id) = app
        .store
        .start_review(
            actor.org.id,
            &tier,
            &scope,
            &channel,
            actor.person.id,
            &items,
            now,
        )
        .await?
    else {
        return Err(AppError::Invalid(format!(
            "A review of {scope} is already running; `review end` it first."
        )));
    };
    let r = app
        .store
        .review(actor.org.id, id)
        .await?
        .expect("just created");
    let scope_name = scope_name(spec, &scope);
    let mut header = Reply::new().heading(format!(
        "🗓 {} review #{id} — {scope_name}",
        capitalise(&tier)
    ));
    header.ephemeral = false;
    header = header.text(format!(
        "Facilitator: {} · {} agenda items",
        actor.person.spec.name,
        items.len()
    ));
    for (i, (_, title, _)) in items.iter().enumerate() {
        header = header.text(format!("{}. {title}", i + 1));
    }
    post(
        app,
        actor.org.id,
        format!("review:{id}:header"),
        thread(&r),
        header.clone(),
    )
    .await?;
    let rows = app.store.review_items(id).await?;
    let mut reply = header;
    if let Some(first) = rows.first() {
        let first_reply = item_reply(&r, first, rows.len());
        post(
            app,
            actor.org.id,
            format!("review:{id}:item:0:{}", now.timestamp()),
            thread(&r),
            first_reply.clone(),
        )
        .await?;
        reply.blocks.extend(first_reply.blocks);
    }
    Ok(reply)
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The running review the person is in: one they facilitate, else one of their
/// departments (or the company's).
async fn current(app: &App, actor: &Actor) -> Result<ReviewRow> {
    let running = app.store.running_reviews(actor.org.id).await?;
    let spec = app.spec(actor.org.id).await?;
    let mine: Vec<String> = actor.departments().map(String::from).collect();
    running
        .iter()
        .find(|r| r.facilitator_id == actor.person.id)
        .or_else(|| {
            running.iter().find(|r| {
                r.scope != "company" && subtree(&spec, &r.scope).iter().any(|d| mine.contains(d))
            })
        })
        .or_else(|| running.iter().find(|r| r.scope == "company"))
        .cloned()
        .ok_or_else(|| {
            AppError::NotFound(
                "No review is running. Start one with `review start <tier> [dept]`.".into(),
            )
        })
}

/// A review by number (from a thread or a button), which must still be running.
async fn running(app: &App, actor: &Actor, id: i64) -> Result<ReviewRow> {
    let r = app
        .store
        .review(actor.org.id, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no review #{id}.")))?;
    if r.status != "running" {
        return Err(AppError::Invalid(format!(
            "Review #{id} has ended. Capture it outside the meeting with `/baton action …` or `/baton decision …`."
        )));
    }
    Ok(r)
}

/// The review a command is about: the one named (a thread reply or a button carries its
/// number), else the running review the person is in.
async fn review_or_current(app: &App, actor: &Actor, review: Option<i64>) -> Result<ReviewRow> {
    match review {
        Some(id) => running(app, actor, id).await,
        None => current(app, actor).await,
    }
}

/// The running review, if the person may move or end it (its facilitator, any
/// facilitator, a head of its scope, or an admin).
async fn current_to_run(app: &App, actor: &Actor, review: Option<i64>) -> Result<ReviewRow> {
    let r = review_or_current(app, actor, review).await?;
    let spec = app.spec(actor.org.id).await?;
    if !may_run(&spec, actor, &r.scope) && r.facilitator_id != actor.person.id {
        return Err(AppError::Forbidden(
            "Only facilitators, heads and admins may start, move and end a review.".into(),
        ));
    }
    Ok(r)
}

/// `review next` / `review back` (of the review named, else the person's running one).
pub async fn step(app: &App, actor: &Actor, review: Option<i64>, forward: bool) -> Result<Reply> {
    let r = current_to_run(app, actor, review).await?;
    let items = app.store.review_items(r.id).await?;
    let pos = r.current_item + if forward { 1 } else { -1 };
    if pos < 0 {
        return Err(AppError::Invalid(
            "This is the first item; there is nothing before it.".into(),
        ));
    }
    if pos as usize >= items.len() {
        return Err(AppError::Invalid(
            "That was the last item; `review end` closes the meeting.".into(),
        ));
    }
    app.store
        .move_review(actor.org.id, r.id, pos, app.clock.now())
        .await?;
    let it = &items[pos as usize];
    let reply = item_reply(&r, it, items.len());
    post(
        app,
        actor.org.id,
        format!("review:{}:item:{pos}:{}", r.id, app.clock.now().timestamp()),
        thread(&r),
        reply.clone(),
    )
    .await?;
    Ok(reply)
}

/// `review end`: the summary goes to the thread and the channel.
pub async fn end(app: &App, actor: &Actor, review: Option<i64>) -> Result<Reply> {
    let r = current_to_run(app, actor, review).await?;
    if !app
        .store
        .end_review(actor.org.id, r.id, app.clock.now())
        .await?
    {
        return Err(AppError::Invalid(format!(
            "Review #{} has already ended.",
            r.id
        )));
    }
    let summary = summary(app, actor.org.id, &r, false).await?;
    post(
        app,
        actor.org.id,
        format!("review:{}:summary:thread", r.id),
        thread(&r),
        summary.clone(),
    )
    .await?;
    post(
        app,
        actor.org.id,
        format!("review:{}:summary:channel", r.id),
        Target::Channel {
            department: r.channel_dept.clone(),
        },
        summary.clone(),
    )
    .await?;
    Ok(summary)
}

/// The summary of a review; `with_status` marks each action's state now (`review show`),
/// the summary at the end lists them as captured.
async fn summary(app: &App, org_id: i64, r: &ReviewRow, with_status: bool) -> Result<Reply> {
    let caps = app.store.captures(org_id, Some(r.id), None).await?;
    let items = app.store.review_items(r.id).await?;
    let mut s = Reply::new().heading(format!(
        "Summary of the {} review #{} ({})",
        r.tier, r.id, r.scope
    ));
    s.ephemeral = false;
    let decisions: Vec<&CaptureRow> = caps.iter().filter(|c| c.kind == "decision").collect();
    s = s.heading("Decisions");
    if decisions.is_empty() {
        s = s.text("None recorded.");
    }
    for d in decisions {
        s = s.text(format!("#{} {}", d.id, d.text));
    }
    let actions: Vec<&CaptureRow> = caps.iter().filter(|c| c.kind == "action").collect();
    s = s.heading("Action items");
    if actions.is_empty() {
        s = s.text("None recorded.");
    } else {
        let mut cols = vec![
            ("#", Align::Right),
            ("Action", Align::Left),
            ("Owner", Align::Left),
            ("Due", Align::Left),
        ];
        if with_status {
            cols.push(("Status", Align::Left));
        }
        let mut t = Table::new(&cols);
        for a in actions {
            let mut row = vec![
                Cell::text(a.id.to_string()),
                Cell::text(&a.text),
                Cell::text(owner_name(a)),
                Cell::text(fmt_due(a.due_on)),
            ];
            if with_status {
                row.push(Cell::text(match a.status.as_str() {
                    "done" => "✔ done",
                    "dropped" => "dropped",
                    _ => "open",
                }));
            }
            t.row(row);
        }
        s = s.table(t);
    }
    let notes: Vec<&CaptureRow> = caps.iter().filter(|c| c.kind == "note").collect();
    if !notes.is_empty() {
        s = s.heading("Notes");
        for n in notes {
            s = s.text(format!("#{} {}", n.id, n.text));
        }
    }
    let not_reached: Vec<&ItemRow> = items.iter().filter(|i| !i.reached).collect();
    if !not_reached.is_empty() {
        s = s.heading("Not reached: carried forward to the next review");
        for i in not_reached {
            s = s.text(i.title.clone());
        }
    }
    Ok(s)
}

/// Finds the owner in a capture: a mention (`@kofi`; adapters write a platform's mention
/// as `@<user id>` and the inbound pipeline turns known ones into `@<key>`) or a person's
/// key or first name at the start. Returns the person's key and the text without it. A
/// mention of nobody baton knows is an error that suggests the nearest people: an action
/// must not be captured for a misspelt owner.
fn find_owner(spec: &OrgSpec, text: &str) -> Result<(Option<Key>, String)> {
    let (owner, rest) = find_owner_in(spec, text);
    if owner.is_none()
        && let Some(unknown) = text
            .split_whitespace()
            .filter_map(|w| {
                w.trim_matches(|c: char| matches!(c, ',' | ':' | '.'))
                    .strip_prefix('@')
            })
            .find(|m| !m.is_empty())
    {
        let keys: Vec<&str> = spec.people.iter().map(|p| p.key.as_str()).collect();
        let near = crate::domain::review::suggest(unknown, &keys, 3);
        let hint = if near.is_empty() {
            "mention an owner by their key, e.g. `@kofi`.".to_string()
        } else {
            format!(
                "did you mean {}?",
                near.iter()
                    .map(|k| format!("`@{k}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            )
        };
        return Err(AppError::Invalid(format!(
            "There is no person `{unknown}`; {hint} Nothing was captured."
        )));
    }
    Ok((owner, rest))
}

fn find_owner_in(spec: &OrgSpec, text: &str) -> (Option<Key>, String) {
    let words: Vec<&str> = text.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let bare = w.trim_matches(|c: char| matches!(c, ',' | ':' | '.'));
        let mention = bare.strip_prefix('@');
        let candidate = mention.unwrap_or(bare);
        // Only a mention anywhere, or a bare name as the first word, counts.
        if mention.is_none() && i > 0 {
            continue;
        }
        let lower = candidate.to_ascii_lowercase();
        let found = spec.people.iter().find(|p| {
            p.key.as_str() == lower
                || p.name
                    .split_whitespace()
                    .next()
                    .is_some_and(|f| f.eq_ignore_ascii_case(candidate))
                || p.chat.iter().any(|c| c.user == candidate)
        });
        if let Some(p) = found {
            let mut rest = words.clone();
            rest.remove(i);
            return (Some(p.key.clone()), rest.join(" "));
        }
    }
    (None, text.trim().to_string())
}

/// `action: …`, `decision: …`, `note: …` (in a review thread, or anywhere with
/// `action …` / `decision …`). A reply in a review's thread names its review; otherwise
/// the capture goes to the person's running review, if any.
pub async fn capture(
    app: &App,
    actor: &Actor,
    review: Option<i64>,
    kind: &str,
    text: &str,
) -> Result<Reply> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::Usage(format!(
            "`{kind}:` needs some text, e.g. `action: @kofi send the readiness update by Friday`."
        )));
    }
    let spec = app.spec(actor.org.id).await?;
    let review = match review {
        Some(id) => Some(running(app, actor, id).await?),
        None => current(app, actor).await.ok(),
    };
    // Due dates are read in the facilitator's time zone.
    let facilitator_zone = match &review {
        Some(r) => {
            let key = people_key(app, r.facilitator_id).await?.unwrap_or_default();
            app.zone_of_key(actor.org.id, &spec, &key).await?
        }
        None => {
            app.person_zone(actor.org.id, &spec, &actor.person.spec)
                .await?
        }
    };
    let today = app
        .clock
        .now()
        .with_timezone(&facilitator_zone)
        .date_naive();
    let (owner, due, body) = if kind == "action" {
        let (owner, rest) = find_owner(&spec, text)?;
        let (due, rest) = parse_due_fy(&rest, today, spec.org.fiscal_year_start);
        (owner, due, rest)
    } else {
        (None, None, text.to_string())
    };
    if body.trim().is_empty() {
        return Err(AppError::Usage("I found an owner and a date but no action. Try `action: @kofi send the readiness update by Friday`.".into()));
    }
    let owner_id = match &owner {
        Some(k) => app
            .store
            .person_by_key(actor.org.id, k.as_str())
            .await?
            .map(|p| p.id),
        None => None,
    };
    let item_id = match &review {
        Some(r) => app
            .store
            .review_items(r.id)
            .await?
            .into_iter()
            .find(|i| i.position == r.current_item)
            .map(|i| i.id),
        None => None,
    };
    let department = review
        .as_ref()
        .map(|r| r.scope.clone())
        .or_else(|| actor.departments().next().map(String::from));
    let id = app
        .store
        .add_capture(
            actor.org.id,
            &NewCapture {
                review_id: review.as_ref().map(|r| r.id),
                item_id,
                kind,
                text: body.trim(),
                owner_id,
                due_on: due,
                department: department.as_deref(),
                created_by: actor.person.id,
            },
            app.clock.now(),
        )
        .await?;
    let mut reply = Reply::new();
    reply.ephemeral = false;
    reply = match kind {
        "action" => {
            let who = owner
                .as_ref()
                .and_then(|k| spec.people.iter().find(|p| &p.key == k))
                .map(|p| p.name.clone())
                .unwrap_or_else(|| "nobody yet (mention an owner with @)".into());
            reply.text(format!(
                "✔ Action #{id} for {who}, due {}: {}",
                fmt_due(due),
                body.trim()
            ))
        }
        "decision" => reply.text(format!("✔ Decision #{id} recorded: {}", body.trim())),
        _ => reply.text(format!("✔ Note #{id} recorded: {}", body.trim())),
    };
    reply.push(capture_buttons(id));
    if kind == "action" && (owner.is_none() || due.is_none()) {
        reply = reply.note(format!(
            "Missing {}: `edit {id} @owner <text> by <date>` corrects it.",
            match (owner.is_none(), due.is_none()) {
                (true, true) => "an owner and a due date",
                (true, false) => "an owner",
                _ => "a due date",
            }
        ));
    } else {
        reply = reply.note(format!(
            "Not right? `edit {id} <new text>` or `delete {id}`."
        ));
    }
    if let Some(r) = &review {
        post(
            app,
            actor.org.id,
            format!("review:{}:capture:{id}", r.id),
            thread(r),
            reply.clone(),
        )
        .await?;
    }
    Ok(reply)
}

/// The Edit and Delete buttons under a captured item.
fn capture_buttons(id: i64) -> Block {
    Block::Actions(vec![
        Action {
            id: "capture_edit".into(),
            label: "Edit".into(),
            value: id.to_string(),
        },
        Action {
            id: "capture_delete".into(),
            label: "Delete".into(),
            value: id.to_string(),
        },
    ])
}

/// The form id of [`edit_form`]; submitting it runs [`edit`].
pub use crate::bot::inbound::EDIT_FORM;

/// `edit <id>` without text (the Edit button): a form with one field, pre-filled with the
/// item as it would be typed (`@owner text by <due date>`), for the people who may change it.
pub async fn edit_form(app: &App, actor: &Actor, id: &str) -> Result<Reply> {
    let c = own_capture(app, actor, id, "edit <id> [new text]").await?;
    let mut typed = String::new();
    if let Some(owner) = &c.owner_key {
        typed.push_str(&format!("@{owner} "));
    }
    typed.push_str(&c.text);
    if let Some(due) = c.due_on {
        typed.push_str(&format!(" by {due}"));
    }
    let mut r = Reply::new();
    r.push(Block::Form(crate::bot::reply::Form {
        id: format!("{EDIT_FORM}{}", c.id),
        title: format!("Edit {} #{}", c.kind, c.id),
        fields: vec![crate::bot::reply::Field {
            name: "text".into(),
            label: if c.kind == "action" {
                "Owner, action and due date (e.g. @kofi send the update by Friday)".into()
            } else {
                format!("The {}", c.kind)
            },
            kind: crate::bot::reply::FieldKind::Text,
            default: Some(typed),
            required: true,
        }],
    }));
    Ok(r)
}

/// A submitted [`edit_form`].
pub async fn submit_edit(
    app: &App,
    actor: &Actor,
    id: &str,
    values: &[(String, String)],
) -> Result<Reply> {
    let text = values
        .iter()
        .find(|(k, _)| k == "text")
        .map(|(_, v)| v.trim())
        .unwrap_or_default();
    if text.is_empty() {
        return Err(AppError::Usage(
            "text: write the corrected item, or press Delete to remove it.".into(),
        ));
    }
    edit(app, actor, id, text).await
}

async fn people_key(app: &App, id: i64) -> Result<Option<String>> {
    Ok(app.store.person_key(id).await?)
}

async fn own_capture(app: &App, actor: &Actor, id: &str, usage: &str) -> Result<CaptureRow> {
    let n: i64 = id
        .trim_start_matches('#')
        .parse()
        .map_err(|_| AppError::Usage(format!("`{id}` is not a number.\nUsage: {usage}")))?;
    let c =
        app.store.capture(actor.org.id, n).await?.ok_or_else(|| {
            AppError::NotFound(format!("There is no action, decision or note #{n}."))
        })?;
    let spec = app.spec(actor.org.id).await?;
    let may = c.created_by == actor.person.id
        || c.owner_id == Some(actor.person.id)
        || c.department
            .as_deref()
            .is_some_and(|d| may_run(&spec, actor, d))
        || actor.is_admin();
    if !may {
        return Err(AppError::Forbidden(format!(
            "Only the author, the owner, a facilitator or a head can change #{n}."
        )));
    }
    Ok(c)
}

/// `edit <id> <text>`: re-reads owner and due date from the new text.
pub async fn edit(app: &App, actor: &Actor, id: &str, text: &str) -> Result<Reply> {
    let c = own_capture(app, actor, id, "edit <id> <new text>").await?;
    let spec = app.spec(actor.org.id).await?;
    let today = app
        .clock
        .now()
        .with_timezone(
            &app.person_zone(actor.org.id, &spec, &actor.person.spec)
                .await?,
        )
        .date_naive();
    let (owner, due, body) = if c.kind == "action" {
        let (o, rest) = find_owner(&spec, text)?;
        let (d, rest) = parse_due_fy(&rest, today, spec.org.fiscal_year_start);
        (
            o.or(c.owner_key.as_deref().and_then(|k| Key::parse(k).ok())),
            d.or(c.due_on),
            rest,
        )
    } else {
        (None, None, text.trim().to_string())
    };
    if body.trim().is_empty() {
        return Err(AppError::Usage(format!(
            "text: `{}` leaves no text for #{}; nothing was changed.",
            text.trim(),
            c.id
        )));
    }
    let owner_id = match &owner {
        Some(k) => app
            .store
            .person_by_key(actor.org.id, k.as_str())
            .await?
            .map(|p| p.id),
        None => None,
    };
    app.store
        .update_capture(actor.org.id, c.id, body.trim(), owner_id, due)
        .await?;
    let who = owner
        .and_then(|k| spec.people.iter().find(|p| p.key == k))
        .map(|p| p.name.clone());
    let mut reply = Reply::new().text(match c.kind.as_str() {
        "action" => format!(
            "✔ Action #{} now: {} — {}, due {}",
            c.id,
            body.trim(),
            who.unwrap_or_else(|| "unassigned".into()),
            fmt_due(due)
        ),
        k => format!("✔ {} #{} now: {}", capitalise(k), c.id, body.trim()),
    });
    // The corrected item keeps its buttons (a chat message updated in place stays editable).
    reply.push(capture_buttons(c.id));
    Ok(reply)
}

/// `delete <id>`.
pub async fn delete(app: &App, actor: &Actor, id: &str) -> Result<Reply> {
    let c = own_capture(app, actor, id, "delete <id>").await?;
    app.store
        .delete_capture(actor.org.id, c.id, app.clock.now())
        .await?;
    Ok(Reply::new().text(format!(
        "🗑 Deleted {} #{} ({}) — by {}.",
        c.kind, c.id, c.text, actor.person.spec.name
    )))
}

/// `done <id>`.
pub async fn done(app: &App, actor: &Actor, id: &str) -> Result<Reply> {
    let c = own_capture(app, actor, id, "done <action>").await?;
    if c.kind != "action" {
        return Err(AppError::Invalid(format!(
            "#{} is a {}, not an action.",
            c.id, c.kind
        )));
    }
    if !app
        .store
        .close_action(actor.org.id, c.id, app.clock.now())
        .await?
    {
        return Err(AppError::Invalid(format!(
            "Action #{} is already closed.",
            c.id
        )));
    }
    Ok(Reply::new().text(format!("✔ Action #{} done: {}", c.id, c.text)))
}

/// `actions [mine|dept|overdue|<dept>]`.
pub async fn actions(app: &App, actor: &Actor, filter: Option<&str>) -> Result<Reply> {
    let spec = app.spec(actor.org.id).await?;
    let today = app
        .clock
        .now()
        .with_timezone(
            &app.person_zone(actor.org.id, &spec, &actor.person.spec)
                .await?,
        )
        .date_naive();
    let all = app
        .store
        .captures(actor.org.id, None, Some("action"))
        .await?;
    let mine_depts: Vec<String> = actor.departments().map(String::from).collect();
    let (title, rows): (String, Vec<&CaptureRow>) = match filter
        .map(|f| f.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("mine") => (
            "Your open actions".into(),
            all.iter()
                .filter(|c| c.status == "open" && c.owner_id == Some(actor.person.id))
                .collect(),
        ),
        Some("overdue") => (
            "Overdue actions".into(),
            all.iter()
                .filter(|c| c.status == "open" && c.due_on.is_some_and(|d| d < today))
                .collect(),
        ),
        Some("dept") => (
            "Open actions of your departments".into(),
            all.iter()
                .filter(|c| {
                    c.status == "open"
                        && c.department
                            .as_ref()
                            .is_some_and(|d| mine_depts.contains(d))
                })
                .collect(),
        ),
        Some(d) if spec.departments.iter().any(|x| x.key.as_str() == d) => {
            let tree = subtree(&spec, d);
            (
                format!("Open actions of {d}"),
                all.iter()
                    .filter(|c| {
                        c.status == "open"
                            && c.department.as_ref().is_some_and(|x| tree.contains(x))
                    })
                    .collect(),
            )
        }
        Some(other) => {
            return Err(AppError::Usage(format!(
                "`{other}` is not mine, dept, overdue or a department.\nUsage: actions [mine|dept|overdue]"
            )));
        }
    };
    let r = Reply::new().heading(title);
    if rows.is_empty() {
        return Ok(r.text("None."));
    }
    let mut t = Table::new(&[
        ("#", Align::Right),
        ("Action", Align::Left),
        ("Owner", Align::Left),
        ("Due", Align::Left),
        ("From", Align::Left),
    ]);
    for c in rows {
        let overdue = c.due_on.is_some_and(|d| d < today);
        t.row(vec![
            Cell::text(c.id.to_string()),
            Cell::text(&c.text),
            Cell::text(owner_name(c)),
            Cell::text(format!(
                "{}{}",
                fmt_due(c.due_on),
                if overdue { " (overdue)" } else { "" }
            )),
            Cell::text(
                c.review_id
                    .map(|r| format!("review #{r}"))
                    .unwrap_or_else(|| "—".into()),
            ),
        ]);
    }
    Ok(r.table(t).note("`done <id>` closes one."))
}

/// `decisions [dept]`.
pub async fn decisions(app: &App, actor: &Actor, dept: Option<&str>) -> Result<Reply> {
    let spec = app.spec(actor.org.id).await?;
    let tree = match dept {
        Some(d) => {
            let d = d.to_ascii_lowercase();
            if !spec.departments.iter().any(|x| x.key.as_str() == d) && d != "company" {
                return Err(AppError::NotFound(format!(
                    "There is no department `{d}`.\nUsage: decisions [dept]"
                )));
            }
            Some(subtree(&spec, &d))
        }
        None => None,
    };
    let all = app
        .store
        .captures(actor.org.id, None, Some("decision"))
        .await?;
    let rows: Vec<&CaptureRow> = all
        .iter()
        .filter(|c| {
            tree.as_ref().is_none_or(|t| {
                c.department
                    .as_ref()
                    .is_some_and(|d| t.contains(d) || d == "company")
            })
        })
        .collect();
    let r = Reply::new().heading(match dept {
        Some(d) => format!("Decisions of {d}"),
        None => "Decisions".into(),
    });
    if rows.is_empty() {
        return Ok(r.text("None recorded."));
    }
    let mut t = Table::new(&[
        ("#", Align::Right),
        ("Decision", Align::Left),
        ("When (UTC)", Align::Left),
        ("Where", Align::Left),
    ]);
    for c in rows {
        t.row(vec![
            Cell::text(c.id.to_string()),
            Cell::text(&c.text),
            Cell::text(c.created_at.format("%Y-%m-%d").to_string()),
            Cell::text(
                c.review_id
                    .map(|r| format!("review #{r}"))
                    .unwrap_or_else(|| c.department.clone().unwrap_or_default()),
            ),
        ]);
    }
    Ok(r.table(t))
}

/// `review show <id>`: agenda, notes, decisions and actions of a past (or running) review.
pub async fn show(app: &App, actor: &Actor, id: &str) -> Result<Reply> {
    let n: i64 = id.trim_start_matches('#').parse().map_err(|_| {
        AppError::Usage(format!(
            "`{id}` is not a review number.\nUsage: review show <id>"
        ))
    })?;
    let r = app
        .store
        .review(actor.org.id, n)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no review #{n}.")))?;
    let items = app.store.review_items(r.id).await?;
    let mut reply = Reply::new().heading(format!(
        "{} review #{} — {} · {} · {}",
        capitalise(&r.tier),
        r.id,
        r.scope,
        r.started_at.format("%Y-%m-%d"),
        if r.status == "running" {
            format!("running, at item {}", r.current_item + 1)
        } else if r.end_reason.as_deref() == Some("idle") {
            "closed itself when idle".into()
        } else {
            "ended".into()
        }
    ));
    reply = reply.heading("Agenda");
    for it in &items {
        reply = reply.text(format!(
            "{}. {}{}",
            it.position + 1,
            it.title,
            if it.reached { "" } else { " (not reached)" }
        ));
        for l in &it.lines {
            reply = reply.note(l.clone());
        }
    }
    let s = summary(app, actor.org.id, &r, true).await?;
    reply.blocks.extend(s.blocks.into_iter().skip(1));
    Ok(reply)
}

/// The running reviews a person is in: ones they facilitate, and ones whose scope covers
/// one of their departments (the company's covers everyone's).
fn reviews_of<'a>(spec: &OrgSpec, actor: &Actor, running: &'a [ReviewRow]) -> Vec<&'a ReviewRow> {
    // A head's departments include the teams under them.
    let mut mine: Vec<String> = Vec::new();
    for (d, head) in &actor.person.departments {
        if *head {
            mine.extend(subtree(spec, d));
        } else {
            mine.push(d.clone());
        }
    }
    running
        .iter()
        .filter(|r| {
            r.facilitator_id == actor.person.id
                || r.scope == "company"
                || subtree(spec, &r.scope).iter().any(|d| mine.contains(d))
        })
        .collect()
}

/// Whether a review the person is in is running (see [`where_now`]).
pub async fn in_review(app: &App, actor: &Actor) -> Result<bool> {
    let running = app.store.running_reviews(actor.org.id).await?;
    if running.is_empty() {
        return Ok(false);
    }
    let spec = app.spec(actor.org.id).await?;
    Ok(!reviews_of(&spec, actor, &running).is_empty())
}

/// `review`: the reviews running in the person's departments, and where each is; the
/// others running in the organisation are named, so nobody is told "none" while one runs.
pub async fn where_now(app: &App, actor: &Actor) -> Result<Reply> {
    let running = app.store.running_reviews(actor.org.id).await?;
    let spec = app.spec(actor.org.id).await?;
    let mine = reviews_of(&spec, actor, &running);
    let line = |r: &ReviewRow, total: usize| {
        format!(
            "{} review #{} of {} is at item {}/{total}.",
            capitalise(&r.tier),
            r.id,
            scope_name(&spec, &r.scope),
            r.current_item + 1,
        )
    };
    let mut reply = Reply::new();
    if mine.is_empty() {
        reply = reply.text("No review is running in your departments.");
    }
    for r in &mine {
        let items = app.store.review_items(r.id).await?;
        reply = reply.text(line(r, items.len()));
        // One review: show the item it is at, as before.
        if mine.len() == 1
            && let Some(it) = items.iter().find(|i| i.position == r.current_item)
        {
            reply.blocks.extend(item_reply(r, it, items.len()).blocks);
        }
    }
    let others: Vec<&ReviewRow> = running
        .iter()
        .filter(|r| !mine.iter().any(|m| m.id == r.id))
        .collect();
    if !others.is_empty() {
        let mut names = Vec::new();
        for r in &others {
            names.push(format!(
                "{} review #{} of {}",
                r.tier,
                r.id,
                scope_name(&spec, &r.scope)
            ));
        }
        reply = reply.note(format!("Also running: {}.", names.join(", ")));
    }
    if running.is_empty() {
        reply = reply.note("Start one with `review start <tier> [dept]`.");
    }
    Ok(reply)
}

/// "12 hours", "1 hour", "90 minutes".
fn hours_words(d: Duration) -> String {
    match (d.num_hours(), d.num_minutes() % 60) {
        (1, 0) => "1 hour".into(),
        (h, 0) => format!("{h} hours"),
        _ => format!("{} minutes", d.num_minutes()),
    }
}

/// Closes the organisation's reviews that have had no move or capture for
/// [`App::review_idle`]: each posts its summary to its thread and channel, saying it closed
/// itself. Runs on every tick and in the housekeeping sweep (closing is claimed in the
/// database, so a review closes once); says how many closed and when the next one would
/// become idle.
pub async fn close_idle(app: &App, org_id: i64, now: DateTime<Utc>) -> Result<IdleClosed> {
    let idle_since = now - app.review_idle;
    let mut closed = 0;
    for r in app.store.idle_reviews(org_id, idle_since).await? {
        if !app
            .store
            .end_idle_review(org_id, r.id, idle_since, now)
            .await?
        {
            continue;
        }
        closed += 1;
        let mut s = summary(app, org_id, &r, false).await?;
        s.blocks.insert(
            1,
            Block::Text(format!(
                "This review closed itself after {} without a move or a capture.",
                hours_words(app.review_idle)
            )),
        );
        post(
            app,
            org_id,
            format!("review:{}:summary:thread", r.id),
            thread(&r),
            s.clone(),
        )
        .await?;
        post(
            app,
            org_id,
            format!("review:{}:summary:channel", r.id),
            Target::Channel {
                department: r.channel_dept.clone(),
            },
            s,
        )
        .await?;
    }
    let next = app
        .store
        .oldest_review_activity(org_id)
        .await?
        .map(|t| t + app.review_idle);
    Ok(IdleClosed { closed, next })
}

/// What [`close_idle`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdleClosed {
    /// Reviews closed now.
    pub closed: u64,
    /// When the next running review becomes idle, if nothing moves it.
    pub next: Option<DateTime<Utc>>,
}

/// Reminds action owners one working day before the due date and on the day it becomes
/// overdue, once each. Runs on every tick.
pub async fn remind(app: &App, org_id: i64) -> Result<u64> {
    let spec = app.spec(org_id).await?;
    let holidays: Vec<NaiveDate> = spec.holidays.iter().map(|h| h.date).collect();
    let now: DateTime<Utc> = app.clock.now();
    let all = app.store.captures(org_id, None, Some("action")).await?;
    let reported = app.reported_zones(org_id).await?;
    let mut sent = 0;
    let mut tx = app.store.begin().await?;
    for c in all.iter().filter(|c| c.status == "open") {
        let (Some(due), Some(owner)) = (c.due_on, &c.owner_key) else {
            continue;
        };
        let tz: Tz = spec
            .people
            .iter()
            .find(|p| p.key.as_str() == owner)
            .map(|p| super::zones::zone_of(&spec, p, reported.get(owner).copied()))
            .unwrap_or(spec.org.time_zone);
        let today = now.with_timezone(&tz).date_naive();
        // The working day before the due date.
        let mut before = due - Duration::days(1);
        while add_working_days(before, 1, &holidays) != due && before > due - Duration::days(10) {
            before -= Duration::days(1);
        }
        // Each reminder waits for the owner's working hours on (or after) its day.
        let calendar = WorkCalendar {
            hours: hours_of(&spec, owner),
            tz,
            holidays: &holidays,
        };
        let day_starts = |d: NaiveDate| {
            calendar.next_start(crate::domain::cadence::to_instant(
                d.and_time(chrono::NaiveTime::MIN),
                tz,
            ))
        };
        let (overdue, when) = if now >= day_starts(due + Duration::days(1)) {
            (true, "is overdue")
        } else if now >= day_starts(before) && today < due {
            (false, "is due")
        } else {
            continue;
        };
        if !crate::store::Store::mark_action_reminded(&mut tx, c.id, overdue, now).await? {
            continue;
        }
        let text = format!(
            "⏰ Action #{} {when} {}: {}",
            c.id,
            fmt_due(Some(due)),
            c.text
        );
        let mut reply = Reply::new()
            .text(text)
            .note(format!("`done {}` when it is done.", c.id));
        reply.ephemeral = false;
        enqueue(
            &mut tx,
            org_id,
            &format!(
                "action:{}:{}",
                c.id,
                if overdue { "overdue" } else { "before" }
            ),
            &Target::Person {
                person: owner.clone(),
            },
            &Payload::Reply { reply },
            now,
            now,
        )
        .await?;
        sent += 1;
    }
    tx.commit().await?;
    Ok(sent)
}

/// The facilitator of a department's reviews: a facilitator among its people (or above
/// it), else its head.
pub fn facilitator_for(spec: &OrgSpec, dept: &str) -> Option<Key> {
    let mut cur = spec.departments.iter().find(|d| d.key.as_str() == dept);
    let head = cur.and_then(|d| d.heads.first().cloned());
    let mut hops = 0;
    while let Some(d) = cur {
        let people = d.heads.iter().chain(d.members.iter());
        for p in people {
            if spec
                .people
                .iter()
                .any(|x| &x.key == p && x.roles.contains(&Role::Facilitator))
            {
                return Some(p.clone());
            }
        }
        hops += 1;
        if hops > spec.departments.len() {
            break;
        }
        cur = d
            .parent
            .as_ref()
            .and_then(|p| spec.departments.iter().find(|x| &x.key == p));
    }
    head
}

/// A review cadence fired: the pre-read (24 hours before) or the prompt to start (at the
/// time), each queued once per occurrence.
pub async fn cadence_event(
    app: &App,
    tx: &mut Tx,
    org_id: i64,
    spec: &OrgSpec,
    c: &crate::store::schedule::CadenceRow,
    local: chrono::NaiveDateTime,
    preread: bool,
) -> Result<()> {
    let tier = match c.layer.as_str() {
        "strategic" => "strategic",
        "tactical" => "tactical",
        "coordination" => "coordination",
        _ => "operational",
    };
    let dept = c.scope_key.clone();
    let is_root = spec
        .departments
        .iter()
        .any(|d| d.key.as_str() == dept && d.parent.is_none());
    let now = app.clock.now();
    let when = local.format("%a %-d %b %H:%M");
    let start_cmd = if is_root {
        format!("review start {tier}")
    } else {
        format!("review start {tier} {dept}")
    };
    if preread {
        let Some(fac) = facilitator_for(spec, &dept) else {
            return Ok(());
        };
        let Some(person) = app.store.person_by_key(org_id, fac.as_str()).await? else {
            return Ok(());
        };
        let org = app
            .store
            .orgs()
            .await?
            .into_iter()
            .find(|o| o.id == org_id)
            .expect("org exists");
        let actor = Actor {
            org,
            person,
            source: crate::domain::Source::Api,
        };
        let scope = if is_root { "company" } else { dept.as_str() };
        let items = agenda(app, &actor, tier, scope).await?;
        let mut r = Reply::new().heading(format!("Pre-read: {} {tier} review, {when}", dept));
        r.ephemeral = false;
        for (i, (_, title, lines)) in items.iter().enumerate() {
            r = r.text(format!("{}. {title}", i + 1));
            for l in lines {
                r = r.note(l.clone());
            }
        }
        let key = format!("review-preread:{}:{}", c.id, local.format("%Y%m%dT%H%M"));
        enqueue(
            tx,
            org_id,
            &key,
            &Target::Channel {
                department: dept.clone(),
            },
            &Payload::Reply { reply: r },
            now,
            now,
        )
        .await?;
    } else if let Some(fac) = facilitator_for(spec, &dept) {
        let mut r = Reply::new().text(format!(
            "🗓 It is time for the {dept} {tier} review ({when}). Start it with `{start_cmd}`."
        ));
        r.ephemeral = false;
        let key = format!("review-prompt:{}:{}", c.id, local.format("%Y%m%dT%H%M"));
        enqueue(
            tx,
            org_id,
            &key,
            &Target::Person {
                person: fac.to_string(),
            },
            &Payload::Reply { reply: r },
            now,
            now,
        )
        .await?;
    }
    Ok(())
}

/// What the thread hears when a reply is not a capture.
pub const THREAD_HINT: &str = "In a review, I capture replies that start with `action:`, `decision:` or `note:` — e.g. `action: @kofi send the readiness update by Friday`.";
