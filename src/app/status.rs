//! Read-only views: `help`, `whoami`, `status`, `okrs` and `kr`.

use crate::bot::command::COMMANDS;
use crate::bot::{Align, Cell, OkrScope, Reply, Table};
use crate::domain::progress::{PartKind, child_objectives, initiative_state, objective_parts};
use crate::domain::{Code, Key, KeyResultSpec, KrKind, ObjectiveSpec, Perspective, Status};
use crate::error::{AppError, Result};

use super::view::View;
use super::{Actor, App};

/// `help [command]`, read from the parser's own table ([`COMMANDS`]).
pub fn help(topic: Option<&str>) -> Reply {
    if let Some(t) = topic {
        return match crate::bot::command::lookup(t) {
            Some(c) => {
                let mut r = Reply::new()
                    .text(format!("Usage: {}", c.usage))
                    .text(c.summary);
                if !c.aliases.is_empty() {
                    r = r.note(format!(
                        "Also: {}.",
                        c.aliases
                            .iter()
                            .map(|a| format!("`{a}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                r
            }
            None => Reply::error(format!("There is no command `{t}`. `help` lists them all.")),
        };
    }
    let mut t = Table::new(&[("Command", Align::Left), ("What it does", Align::Left)]);
    for c in COMMANDS {
        t.row(vec![Cell::text(c.usage), Cell::text(c.summary)]);
    }
    Reply::new().heading("baton commands").table(t).note(
        "A check-in is one line: `S1 42 at risk: churn spike in EMEA` (blockers after `blocker:`).",
    )
}

pub async fn whoami(app: &App, actor: &Actor) -> Result<Reply> {
    let spec = app.spec(actor.org.id).await?;
    let p = &actor.person.spec;
    let depts: Vec<String> = actor
        .person
        .departments
        .iter()
        .map(|(d, head)| {
            if *head {
                format!("{d} (head)")
            } else {
                d.clone()
            }
        })
        .collect();
    let tz = app.person_zone(actor.org.id, &spec, p).await?;
    Ok(Reply::new()
        .text(format!(
            "You are {} (`{}`) in {}.",
            p.name, p.key, actor.org.name
        ))
        .text(format!(
            "Departments: {}",
            if depts.is_empty() {
                "none".into()
            } else {
                depts.join(", ")
            }
        ))
        .text(format!(
            "Roles: {}",
            if p.roles.is_empty() {
                "member".into()
            } else {
                p.roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ))
        .text(format!("Time zone: {tz}")))
}

fn okr_table() -> Table {
    Table::new(&[
        ("Code", Align::Left),
        ("Objective / key result", Align::Left),
        ("Value", Align::Right),
        ("Target", Align::Right),
        ("Progress", Align::Left),
        ("Status", Align::Left),
        ("Due", Align::Left),
        ("Owner", Align::Left),
    ])
}

fn objective_row(v: &View, t: &mut Table, o: &ObjectiveSpec) {
    t.row(vec![
        Cell::text(o.code.as_str()),
        Cell::text(&o.title),
        Cell::text(""),
        Cell::text(""),
        Cell::Progress(v.progress(&o.code)),
        v.status_cell(&o.code),
        Cell::text(""),
        Cell::text(o.owner.as_ref().map(|o| o.as_str()).unwrap_or("—")),
    ]);
    v.kr_rows(t, &o.code);
    initiative_rows(v, t, &o.code);
}

/// Initiatives serving `objective`, as rows under it: owner, state (from the milestones)
/// and due date. They have no progress figure and count in none.
fn initiative_rows(v: &View, t: &mut Table, objective: &Code) {
    for i in v
        .spec
        .initiatives
        .iter()
        .filter(|i| i.objectives.contains(objective))
    {
        let s = initiative_state(i, v.now.date_naive());
        t.row(vec![
            Cell::text(format!("  {}", i.code)),
            Cell::text(format!("  initiative: {}", i.title)),
            Cell::text(format!("{}/{} milestones", s.done, s.total)),
            Cell::text(""),
            Cell::text(""),
            Cell::text(format!("{} {}", s.status().mark(), s.label())),
            Cell::text(s.due.map(|d| d.to_string()).unwrap_or_default()),
            Cell::text(i.owner.as_ref().map(|o| o.as_str()).unwrap_or("—")),
        ]);
    }
}

/// The initiatives serving `code` in detail: each with its owner, state and due date,
/// then its milestones.
fn initiatives_section(v: &View, code: &Code, mut r: Reply) -> Reply {
    let today = v.now.date_naive();
    let mut first = true;
    for i in v
        .spec
        .initiatives
        .iter()
        .filter(|i| i.objectives.contains(code))
    {
        if first {
            r = r.heading(format!("Initiatives serving {code}"));
            first = false;
        }
        let s = initiative_state(i, today);
        r = r.text(format!(
            "{} {} · owner {} · {} {} · {} of {} milestones done{}",
            i.code,
            i.title,
            i.owner.as_ref().map(|o| o.as_str()).unwrap_or("—"),
            s.status().mark(),
            s.label(),
            s.done,
            s.total,
            s.due.map(|d| format!(" · due {d}")).unwrap_or_default()
        ));
        if !i.milestones.is_empty() {
            let mut t = Table::new(&[
                ("Milestone", Align::Left),
                ("Due", Align::Left),
                ("State", Align::Left),
            ]);
            for m in &i.milestones {
                let state = if m.done {
                    "✔ done"
                } else if m.due.is_some_and(|d| today > d) {
                    "✖ passed, not done"
                } else {
                    "open"
                };
                t.row(vec![
                    Cell::text(&m.title),
                    Cell::text(m.due.map(|d| d.to_string()).unwrap_or_else(|| "—".into())),
                    Cell::text(state),
                ]);
            }
            r = r.table(t);
        }
    }
    if !first {
        r = r
            .note("Initiatives are tracked by their milestones; they count in no progress figure.");
    }
    r
}

/// `status [dept|perspective|code]`.
pub async fn status(app: &App, actor: &Actor, scope: Option<&str>) -> Result<Reply> {
    let v = View::load(app, actor).await?;
    let Some(scope) = scope else {
        let mut r = company(&v);
        let pic = super::pictures::scorecard(&v, None);
        r.push(super::pictures::image(
            super::pictures::SCORECARD,
            Some("company"),
            pic.alt(),
        ));
        return Ok(r);
    };
    let lower = scope.to_ascii_lowercase();
    if let Some(d) = v.spec.departments.iter().find(|d| d.key.as_str() == lower) {
        let key = d.key.clone();
        return department(app, actor, &v, &key).await;
    }
    if let Ok(p) = Perspective::parse(scope) {
        if v.spec.perspectives.iter().any(|x| x.perspective == p) {
            return Ok(perspective_with_picture(&v, p));
        }
        return Err(AppError::NotFound(format!(
            "The {} perspective is not enabled in {}.",
            p.default_label(),
            actor.org.name
        )));
    }
    if let Some(p) = v
        .spec
        .perspectives
        .iter()
        .find(|x| x.label.eq_ignore_ascii_case(scope))
    {
        return Ok(perspective_with_picture(&v, p.perspective));
    }
    if let Ok(code) = Code::parse(scope) {
        if v.spec.scorecard.iter().any(|s| s.code == code) {
            return Ok(scorecard_objective(&v, &code));
        }
        if let Some(o) = v.spec.objectives.iter().find(|o| o.code == code) {
            let mut t = okr_table();
            objective_row(&v, &mut t, o);
            let mut r = Reply::new()
                .heading(format!("{} — {}", o.code, o.title))
                .table(t);
            r = objective_breakdown(&v, o, r);
            r = initiatives_section(&v, &o.code, r);
            if !o.aligns_to.is_empty() {
                r = r.note(format!(
                    "Serves {}",
                    o.aligns_to
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            return Ok(r);
        }
        if v.rollup.key_results.contains_key(&code)
            || v.spec.measures.iter().any(|m| m.code == code)
        {
            return kr(app, actor, &code).await;
        }
    }
    let depts: Vec<&str> = v.spec.departments.iter().map(|d| d.key.as_str()).collect();
    Err(AppError::NotFound(format!(
        "`{scope}` is not a department, perspective or code in {}. Departments: {}.\nUsage: status [dept|perspective|code]",
        actor.org.name,
        depts.join(", ")
    )))
}

/// A share as a percentage people can redo sums with: whole percent, one decimal when
/// that hides a fraction.
fn pct(p: f64) -> String {
    let tenths = (p * 1000.0).round();
    if tenths % 10.0 == 0.0 {
        format!("{:.0}%", p * 100.0)
    } else {
        format!("{:.1}%", p * 100.0)
    }
}

fn weight(w: f64) -> String {
    crate::bot::render::figure(Some(w), "")
}

/// "How the figure is computed": every row behind an objective's progress with its weight
/// and figure, the rows left out and why, and the arithmetic.
fn objective_breakdown(v: &View, o: &ObjectiveSpec, mut r: Reply) -> Reply {
    let parts = objective_parts(&v.spec, &v.rollup, &o.code);
    let mut t = Table::new(&[
        ("Code", Align::Left),
        ("Counts", Align::Left),
        ("Weight", Align::Right),
        ("Progress", Align::Right),
        ("In the mean", Align::Left),
    ]);
    for c in &parts {
        let what = match c.kind {
            PartKind::KeyResult => "key result",
            PartKind::ChildObjective => "child objective",
        };
        let why = if c.counted {
            "yes".to_string()
        } else if c.progress.is_none() {
            let baseline = v
                .spec
                .key_results
                .iter()
                .find(|k| k.code == c.code)
                .and_then(|k| {
                    super::view::empty_state(k, v.rollup.key_results.get(&k.code)?.value)
                        .filter(|s| *s == "no target yet")
                });
            match baseline {
                Some(_) => "no: baseline, no target yet".to_string(),
                None => "no: not measured".to_string(),
            }
        } else {
            "no: weight 0".to_string()
        };
        t.row(vec![
            Cell::text(c.code.as_str()),
            Cell::text(what),
            Cell::text(weight(c.weight)),
            Cell::text(c.progress.map(pct).unwrap_or_else(|| "—".into())),
            Cell::text(why),
        ]);
    }
    r = r.heading(format!("How {} is computed", o.code));
    if !parts.is_empty() {
        r = r.table(t);
    }
    let counted: Vec<_> = parts.iter().filter(|c| c.counted).collect();
    let total: f64 = counted.iter().map(|c| c.weight).sum();
    r = match v.progress(&o.code) {
        Some(p) if !counted.is_empty() => r.text(format!(
            "{} = ({}) ÷ {} = {}",
            o.code,
            counted
                .iter()
                .map(|c| format!("{} × {}", weight(c.weight), pct(c.progress.unwrap_or(0.0))))
                .collect::<Vec<_>>()
                .join(" + "),
            weight(total),
            pct(p)
        )),
        _ => r.text(format!(
            "No key result of {} is measured yet, so it has no progress.",
            o.code
        )),
    };
    let children = child_objectives(&v.spec, &o.code);
    if !o.include_children && !children.is_empty() {
        let (s, its) = if children.len() == 1 {
            ("", "its own figure")
        } else {
            ("s", "their own figures")
        };
        r = r.note(format!(
            "Not counted: child objective{s} {} ({its}; `include_children: true` on {} counts them).",
            children
                .iter()
                .map(|c| c.code.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            o.code
        ));
    }
    r
}

/// How a key result's progress follows from its figure, as arithmetic; `None` when it has
/// no progress.
fn kr_arithmetic(k: &KeyResultSpec, value: Option<f64>, progress: Option<f64>) -> Option<String> {
    let p = progress?;
    let f = |x: Option<f64>| crate::bot::render::figure(x, "");
    Some(match k.kind {
        KrKind::Metric | KrKind::Baseline => format!(
            "(value − start) ÷ (target − start) = ({} − {}) ÷ ({} − {}) = {}",
            f(value),
            f(k.start.or(Some(0.0))),
            f(k.target),
            f(k.start.or(Some(0.0))),
            pct(p)
        ),
        KrKind::AtLeast | KrKind::AtMost | KrKind::Band if p >= 1.0 - 1e-9 => {
            format!("{} holds the bound: {}", f(value), pct(p))
        }
        KrKind::AtLeast => format!(
            "(value − reference) ÷ (bound − reference) = ({} − {}) ÷ ({} − {}) = {}",
            f(value),
            f(k.start),
            f(k.target),
            f(k.start),
            pct(p)
        ),
        KrKind::AtMost => format!(
            "(reference − value) ÷ (reference − bound) = ({} − {}) ÷ ({} − {}) = {}",
            f(k.start),
            f(value),
            f(k.start),
            f(k.target),
            pct(p)
        ),
        KrKind::Band => format!("outside the band: 1 − distance ÷ width = {}", pct(p)),
        KrKind::Milestone => format!(
            "milestone {}: {}",
            if p >= 1.0 { "done" } else { "not done" },
            pct(p)
        ),
    })
}

fn company(v: &View) -> Reply {
    let mut r = Reply::new().heading(format!("{} — scorecard", v.spec.org.name));
    r = r.text(format!(
        "Company  {}  {} {}   · {}",
        crate::bot::render::progress_bar(v.rollup.company.progress),
        v.rollup.company.status.mark(),
        v.rollup.company.status.label(),
        v.cycle_line()
    ));
    let mut t = Table::new(&[
        ("Perspective", Align::Left),
        ("Progress", Align::Left),
        ("Status", Align::Left),
        ("Objectives", Align::Right),
    ]);
    let mut persp: Vec<_> = v.rollup.perspectives.clone();
    persp.sort_by_key(|(p, _)| std::cmp::Reverse(*p));
    for (p, e) in &persp {
        let n = v
            .spec
            .scorecard
            .iter()
            .filter(|s| s.perspective == *p)
            .count();
        t.row(vec![
            Cell::text(v.label(*p)),
            Cell::Progress(e.progress),
            Cell::Status {
                status: e.status,
                stale: false,
            },
            Cell::text(n.to_string()),
        ]);
    }
    r = r.table(t);
    for (p, _) in &persp {
        let mut t = Table::new(&[
            ("Code", Align::Left),
            ("Objective", Align::Left),
            ("Progress", Align::Left),
            ("Status", Align::Left),
        ]);
        for s in v.spec.scorecard.iter().filter(|s| s.perspective == *p) {
            t.row(vec![
                Cell::text(s.code.as_str()),
                Cell::text(&s.title),
                Cell::Progress(v.progress(&s.code)),
                v.status_cell(&s.code),
            ]);
        }
        if !t.rows.is_empty() {
            r = r.heading(v.label(*p)).table(t);
        }
    }
    let mut behind = Table::new(&[
        ("Department", Align::Left),
        ("Progress", Align::Left),
        ("Status", Align::Left),
    ]);
    for d in &v.spec.departments {
        if let Some(e) = v.rollup.departments.get(&d.key)
            && e.status.is_bad()
        {
            behind.row(vec![
                Cell::text(&d.name),
                Cell::Progress(e.progress),
                Cell::Status {
                    status: e.status,
                    stale: false,
                },
            ]);
        }
    }
    if behind.rows.is_empty() {
        r = r
            .heading("Departments behind")
            .text("None: every department is on track.");
    } else {
        r = r.heading("Departments behind").table(behind);
    }
    r.note("`status <dept>` for one department · `map` for the strategy map · `gaps` for what is missing")
}

/// Forecast lines `status <dept>` shows at most.
const FORECAST_LINES: usize = 25;

/// The active cycle's objectives owned by a department of `scope` (a department and its
/// sub-teams), in manifest order.
fn owned_objectives<'a>(
    v: &'a View,
    scope: &'a [&'a Key],
) -> impl Iterator<Item = &'a ObjectiveSpec> + 'a {
    v.spec
        .objectives
        .iter()
        .filter(|o| v.in_active_cycle(o))
        .filter(|o| {
            crate::domain::org::owning_department(&v.spec, o).is_some_and(|k| scope.contains(&k))
        })
}

async fn department(app: &App, actor: &Actor, v: &View, key: &Key) -> Result<Reply> {
    let d = v
        .spec
        .departments
        .iter()
        .find(|d| &d.key == key)
        .expect("checked by caller");
    let e = v.rollup.departments.get(key).copied();
    let mut r = Reply::new().heading(format!("{} — {}", d.name, v.cycle_line()));
    r = r.text(format!(
        "{}  {}  {} {}",
        d.name,
        crate::bot::render::progress_bar(e.and_then(|e| e.progress)),
        e.map(|e| e.status).unwrap_or(Status::NoData).mark(),
        e.map(|e| e.status).unwrap_or(Status::NoData).label()
    ));
    let scope = crate::domain::org::descendants(&v.spec, key.as_str());
    let mut t = okr_table();
    let mut serves: Vec<&Code> = Vec::new();
    for o in owned_objectives(v, &scope) {
        objective_row(v, &mut t, o);
        for a in &o.aligns_to {
            if !serves.contains(&a) {
                serves.push(a);
            }
        }
    }
    if t.rows.is_empty() {
        r = r.text("No objectives in this cycle.");
    } else {
        r = r.table(t);
    }
    if !serves.is_empty() {
        let mut s = Table::new(&[
            ("Serves", Align::Left),
            ("Scorecard objective", Align::Left),
            ("Progress", Align::Left),
            ("Status", Align::Left),
        ]);
        for c in serves {
            if let Some(so) = v.spec.scorecard.iter().find(|x| &x.code == c) {
                s.row(vec![
                    Cell::text(c.as_str()),
                    Cell::text(&so.title),
                    Cell::Progress(v.progress(c)),
                    v.status_cell(c),
                ]);
            }
        }
        r = r.heading("Scorecard objectives served").table(s);
    }
    let owned: Vec<&Code> = owned_objectives(v, &scope).map(|o| &o.code).collect();
    let forecasts = super::evidence::forecast_lines(app, actor.org.id, v, &owned).await?;
    if !forecasts.is_empty() {
        r = r.heading("Forecasts (where each key result lands at the cycle's end)");
        let shown = forecasts.len().min(FORECAST_LINES);
        for f in &forecasts[..shown] {
            r = r.text(f.clone());
        }
        if forecasts.len() > shown {
            r = r.note(format!(
                "… and {} more: `kr <code>` shows each.",
                forecasts.len() - shown
            ));
        }
    }
    r = head_questions(app, actor, v, key, &scope, r).await?;
    let deps = super::strategy::deps_table_of(v, Some(scope.as_slice()));
    if !deps.rows.is_empty() {
        r = r
            .heading(if scope.len() > 1 {
                "Dependencies (with sub-teams)"
            } else {
                "Dependencies"
            })
            .table(deps);
    }
    Ok(r)
}

/// What a department head asks of `status <dept>` beyond the figures (README, *status
/// <dept>*): who answered this period's check-in and who is missing, reported blockers,
/// due dates, what changed since the last digest, open actions, and the next check-in and
/// review. `scope` is the department and its sub-teams.
async fn head_questions(
    app: &App,
    actor: &Actor,
    v: &View,
    key: &Key,
    scope: &[&Key],
    mut r: Reply,
) -> Result<Reply> {
    use crate::domain::calendar::{department_events, events, next_occurrence};
    let org = actor.org.id;
    let zone = app.person_zone(org, &v.spec, &actor.person.spec).await?;
    let fmt = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&zone).format("%a %-d %b %H:%M").to_string()
    };
    let krs: Vec<&KeyResultSpec> = owned_objectives(v, scope)
        .flat_map(|o| v.key_results_of(&o.code))
        .collect();

    // Who answered this period's check-in, per department with a check-in cadence.
    r = r.heading("This period's check-in");
    let mut any = false;
    for d in scope {
        let states = app
            .store
            .latest_prompt_states(org, d.as_str(), v.now)
            .await?;
        let Some(due) = states.iter().map(|s| s.3).min() else {
            continue;
        };
        any = true;
        let names = |want: &[&str]| -> Vec<String> {
            let mut n: Vec<String> = states
                .iter()
                .filter(|s| want.contains(&s.2.as_str()))
                .map(|s| s.1.clone())
                .collect();
            n.dedup();
            n
        };
        let answered = names(&["answered", "late"][..]);
        let excused = names(&["skipped", "away"][..]);
        let missing: Vec<String> = {
            let mut n: Vec<String> = states
                .iter()
                .filter(|s| {
                    !matches!(
                        s.2.as_str(),
                        "answered" | "late" | "skipped" | "away" | "undeliverable"
                    )
                })
                .map(|s| s.1.clone())
                .collect();
            n.dedup();
            n
        };
        let list = |n: &[String]| {
            if n.is_empty() {
                "nobody".to_string()
            } else {
                n.join(", ")
            }
        };
        let mut line = format!(
            "{d} (asked {}): answered {} · missing {}",
            fmt(due),
            list(&answered),
            list(&missing)
        );
        if !excused.is_empty() {
            line.push_str(&format!(" · skipped or away {}", excused.join(", ")));
        }
        r = r.text(line);
    }
    if !any {
        r = r.text("No check-in prompt has gone out yet.");
    }

    // Blockers reported in the latest check-in of each key result.
    let codes: Vec<String> = krs.iter().map(|k| k.code.as_str().to_string()).collect();
    let latest = app.store.latest_blockers(org, &codes).await?;
    let mut blockers = Vec::new();
    for k in &krs {
        if let Some((b, who, at)) = latest.get(k.code.as_str()) {
            blockers.push(format!(
                "{}: {b} ({who}, {})",
                k.code,
                at.with_timezone(&zone).format("%-d %b")
            ));
        }
    }
    r = r.heading("Blockers reported");
    r = if blockers.is_empty() {
        r.text("None in the latest check-ins.")
    } else {
        blockers
            .into_iter()
            .fold(r, |r, b| r.text(format!("• {b}")))
    };

    // Due dates: key results and initiatives of the scope not done yet.
    let today = v.now.date_naive();
    let mut due = Table::new(&[
        ("Due", Align::Left),
        ("Code", Align::Left),
        ("What", Align::Left),
    ]);
    let mut dues: Vec<(chrono::NaiveDate, String, String)> = krs
        .iter()
        .filter(|k| v.progress(&k.code).is_none_or(|p| p < 1.0 - 1e-9))
        .filter_map(|k| Some((k.due?, k.code.to_string(), k.title.clone())))
        .collect();
    for i in v
        .spec
        .initiatives
        .iter()
        .filter(|i| i.departments.iter().any(|d| scope.contains(&d)))
    {
        let st = initiative_state(i, today);
        if let Some(m) = st.next
            && let Some(d) = m.due
        {
            dues.push((
                d,
                i.code.to_string(),
                format!("{} (milestone of {})", m.title, i.title),
            ));
        }
    }
    dues.sort();
    for (d, code, what) in dues {
        due.row(vec![
            Cell::text(if d < today {
                format!("{d} passed")
            } else {
                d.to_string()
            }),
            Cell::text(code),
            Cell::text(what),
        ]);
    }
    r = r.heading("Due dates");
    r = if due.rows.is_empty() {
        r.text("Nothing due.")
    } else {
        r.table(due)
    };

    // What moved since the last digest of the department (else the last seven days).
    let all = events(&v.spec);
    let mine = department_events(&v.spec, &all, key);
    let digest = mine
        .iter()
        .filter(|e| e.purpose == "digest" && e.department.as_ref() == Some(key))
        .filter_map(|e| {
            let local = v.now.with_timezone(&e.tz).naive_local();
            let l = e.rule.latest_at_or_before(local)?;
            Some(crate::domain::cadence::to_instant(l, e.tz))
        })
        .max();
    let (since, since_words) = match digest {
        Some(t) => (t, format!("since the last digest ({})", fmt(t))),
        None => (
            v.now - chrono::Duration::days(7),
            "in the last 7 days (no digest cadence)".to_string(),
        ),
    };
    let then = app.store.load_key_results_at(org, &codes, since).await?;
    let before = crate::domain::progress::rollup(&v.spec, &then, since);
    let mut moved = Table::new(&[
        ("Code", Align::Left),
        ("Was", Align::Right),
        ("Now", Align::Right),
        ("Change", Align::Left),
    ]);
    for k in &krs {
        let was = before.key_results.get(&k.code);
        let now = v.rollup.key_results.get(&k.code);
        let (wv, nv) = (was.and_then(|e| e.value), now.and_then(|e| e.value));
        if wv == nv {
            continue;
        }
        let (wp, np) = (was.and_then(|e| e.progress), now.and_then(|e| e.progress));
        let change = match (wp, np) {
            (Some(a), Some(b)) if b > a + 1e-9 => format!("↑ {} → {}", pct(a), pct(b)),
            (Some(a), Some(b)) if b < a - 1e-9 => format!("↓ {} → {}", pct(a), pct(b)),
            (None, Some(b)) => format!("new figure: {}", pct(b)),
            _ => "= same progress".to_string(),
        };
        moved.row(vec![
            Cell::text(k.code.as_str()),
            Cell::Figure {
                value: wv,
                unit: k.unit.clone(),
            },
            Cell::Figure {
                value: nv,
                unit: k.unit.clone(),
            },
            Cell::text(change),
        ]);
    }
    r = r.heading(format!("Changed {since_words}"));
    r = if moved.rows.is_empty() {
        r.text("No figure moved.")
    } else {
        r.table(moved)
    };

    // Open actions of the department and its sub-teams.
    let actions = app.store.captures(org, None, Some("action")).await?;
    let mut open = Table::new(&[
        ("#", Align::Right),
        ("Action", Align::Left),
        ("Owner", Align::Left),
        ("Due", Align::Left),
    ]);
    for c in actions.iter().filter(|c| {
        c.status == "open"
            && c.department
                .as_deref()
                .is_some_and(|d| scope.iter().any(|k| k.as_str() == d))
    }) {
        open.row(vec![
            Cell::text(c.id.to_string()),
            Cell::text(&c.text),
            Cell::text(c.owner_name.as_deref().unwrap_or("—")),
            Cell::text(
                c.due_on
                    .map(|d| {
                        if d < today {
                            format!("{d} passed")
                        } else {
                            d.to_string()
                        }
                    })
                    .unwrap_or_else(|| "—".into()),
            ),
        ]);
    }
    r = r.heading("Open actions");
    r = if open.rows.is_empty() {
        r.text("None.")
    } else {
        r.table(open)
    };

    // The next check-in and review.
    // The department's own cadence (not a measure's collection), else an ancestor's.
    let own_prefix = format!("department.{key}.");
    let next = |purpose: &str| {
        let own = mine
            .iter()
            .filter(|e| e.purpose == purpose && e.uid.starts_with(&own_prefix));
        let inherited = mine
            .iter()
            .filter(|e| e.purpose == purpose && e.uid.starts_with("department."));
        own.filter_map(|e| next_occurrence(e, v.now))
            .min()
            .or_else(|| inherited.filter_map(|e| next_occurrence(e, v.now)).min())
    };
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map(fmt).unwrap_or_else(|| "none declared".into())
    };
    r = r.heading("Next").text(format!(
        "Check-in {} · review {} ({zone})",
        when(next("checkin")),
        when(next("review"))
    ));
    Ok(r)
}

/// A perspective's view with its scorecard picture attached.
fn perspective_with_picture(v: &View, p: Perspective) -> Reply {
    let mut r = perspective(v, p);
    let pic = super::pictures::scorecard(v, Some(p));
    r.push(super::pictures::image(
        super::pictures::SCORECARD,
        Some(p.as_str()),
        pic.alt(),
    ));
    r
}

fn perspective(v: &View, p: Perspective) -> Reply {
    let e = v
        .rollup
        .perspectives
        .iter()
        .find(|(x, _)| *x == p)
        .map(|(_, e)| *e);
    let mut r = Reply::new().heading(format!("{} perspective", v.label(p)));
    if let Some(e) = e {
        r = r.text(format!(
            "{}  {} {}",
            crate::bot::render::progress_bar(e.progress),
            e.status.mark(),
            e.status.label()
        ));
    }
    let mut t = Table::new(&[
        ("Code", Align::Left),
        ("Objective / measure", Align::Left),
        ("Value", Align::Right),
        ("Target", Align::Right),
        ("Progress", Align::Left),
        ("Status", Align::Left),
    ]);
    for s in v.spec.scorecard.iter().filter(|s| s.perspective == p) {
        t.row(vec![
            Cell::text(s.code.as_str()),
            Cell::text(&s.title),
            Cell::text(""),
            Cell::text(""),
            Cell::Progress(v.progress(&s.code)),
            v.status_cell(&s.code),
        ]);
        measure_rows(v, &mut t, &s.code);
    }
    r.table(t)
}

fn measure_rows(v: &View, t: &mut Table, objective: &Code) {
    for m in v.spec.measures.iter().filter(|m| &m.objective == objective) {
        let current = v.rollup_measure_value(&m.code);
        t.row(vec![
            Cell::text(format!("  {}", m.code)),
            Cell::text(format!("  {}", m.title)),
            Cell::Figure {
                value: current,
                unit: m.unit.clone(),
            },
            Cell::Figure {
                value: Some(m.target),
                unit: m.unit.clone(),
            },
            if current.is_none() {
                Cell::text("not measured")
            } else {
                Cell::Progress(v.progress(&m.code))
            },
            v.status_cell(&m.code),
        ]);
    }
}

impl View {
    fn rollup_measure_value(&self, code: &Code) -> Option<f64> {
        self.state.measures.get(code).map(|c| c.value)
    }
}

fn scorecard_objective(v: &View, code: &Code) -> Reply {
    let s = v
        .spec
        .scorecard
        .iter()
        .find(|s| &s.code == code)
        .expect("checked by caller");
    let mut r = Reply::new().heading(format!(
        "{} — {} ({})",
        s.code,
        s.title,
        v.label(s.perspective)
    ));
    r = r.text(format!(
        "{}  {}",
        crate::bot::render::progress_bar(v.progress(code)),
        match v.status_cell(code) {
            Cell::Status { status, .. } => format!("{} {}", status.mark(), status.label()),
            _ => String::new(),
        }
    ));
    let mut t = Table::new(&[
        ("Code", Align::Left),
        ("Measure", Align::Left),
        ("Value", Align::Right),
        ("Target", Align::Right),
        ("Progress", Align::Left),
        ("Status", Align::Left),
    ]);
    measure_rows(v, &mut t, code);
    if !t.rows.is_empty() {
        r = r.heading("Measures").table(t);
    }
    let mut o = okr_table();
    for obj in v
        .spec
        .objectives
        .iter()
        .filter(|x| x.aligns_to.contains(code) && v.in_active_cycle(x))
    {
        objective_row(v, &mut o, obj);
    }
    if !o.rows.is_empty() {
        r = r.heading("Aligned OKRs").table(o);
    }
    r = initiatives_section(v, code, r);
    for l in v
        .spec
        .links
        .iter()
        .filter(|l| &l.from == code || &l.to == code)
    {
        if &l.to == code {
            r = r.note(format!("← driven by {}: {}", l.from, l.hypothesis));
        } else {
            r = r.note(format!("→ drives {}: {}", l.to, l.hypothesis));
        }
    }
    r
}

/// `okrs [dept|me|all]`.
pub async fn okrs(app: &App, actor: &Actor, scope: OkrScope) -> Result<Reply> {
    let v = View::load(app, actor).await?;
    type Keep = Box<dyn Fn(&ObjectiveSpec) -> bool>;
    let (title, keep): (String, Keep) = match &scope {
        OkrScope::All => ("All OKRs".into(), Box::new(|_| true)),
        OkrScope::Me => {
            let me = actor.key().to_string();
            let spec = v.spec.clone();
            (
                format!("OKRs of {}", actor.person.spec.name),
                Box::new(move |o: &ObjectiveSpec| {
                    o.owner.as_ref().is_some_and(|x| x.as_str() == me)
                        || spec.key_results.iter().any(|k| {
                            k.objective == o.code
                                && k.owner.as_ref().is_some_and(|x| x.as_str() == me)
                        })
                }),
            )
        }
        OkrScope::Mine | OkrScope::Department(_) => {
            let key = match &scope {
                OkrScope::Department(d) => d.clone(),
                _ => match actor.departments().next() {
                    Some(d) => d.to_string(),
                    None => {
                        return Err(AppError::NotFound(
                            "You belong to no department; try `okrs all` or `okrs me`.".into(),
                        ));
                    }
                },
            };
            let Some(d) = v.spec.departments.iter().find(|d| d.key.as_str() == key) else {
                let depts: Vec<&str> = v.spec.departments.iter().map(|d| d.key.as_str()).collect();
                return Err(AppError::NotFound(format!(
                    "There is no department `{key}`. Departments: {}.\nUsage: okrs [dept|me|all]",
                    depts.join(", ")
                )));
            };
            let scope_keys: Vec<String> = crate::domain::org::descendants(&v.spec, d.key.as_str())
                .iter()
                .map(|k| k.as_str().to_string())
                .collect();
            let spec = v.spec.clone();
            (
                format!("OKRs of {}", d.name),
                Box::new(move |o: &ObjectiveSpec| {
                    crate::domain::org::owning_department(&spec, o)
                        .is_some_and(|k| scope_keys.iter().any(|s| s == k.as_str()))
                }),
            )
        }
    };
    let mut t = okr_table();
    for o in v
        .spec
        .objectives
        .iter()
        .filter(|o| v.in_active_cycle(o) && keep(o))
    {
        objective_row(&v, &mut t, o);
    }
    let r = Reply::new().heading(format!("{title} — {}", v.cycle_line()));
    if t.rows.is_empty() {
        return Ok(r.text("No objectives in this cycle."));
    }
    Ok(r.table(t)
        .note("Check in with `<code> <value> [on track|at risk|off track]: note`"))
}

/// `kr <code>`: one key result or measure with the check-ins that produced its figure.
/// A bare code (`S1`): a key result's or measure's card (as `kr`) with how to check in on
/// it; an objective's (as `status <code>`).
pub async fn card(app: &App, actor: &Actor, code: &Code) -> Result<Reply> {
    let spec = app.spec(actor.org.id).await?;
    let checkable = spec
        .key_results
        .iter()
        .find(|k| &k.code == code)
        .map(|k| (k.kind, k.unit.clone()))
        .or_else(|| {
            spec.measures
                .iter()
                .find(|m| &m.code == code)
                .map(|m| (KrKind::Metric, m.unit.clone()))
        });
    if let Some((kind, _unit)) = checkable {
        let example = if matches!(kind, KrKind::Milestone) {
            format!("`{code} done` or `{code} not done`")
        } else {
            format!(
                "`{code} <value> [on track|at risk|off track][: note]`, e.g. `{code} 42 on track: note`"
            )
        };
        return Ok(kr(app, actor, code)
            .await?
            .note(format!("To check in on {code}: {example}.")));
    }
    if spec.objectives.iter().any(|o| &o.code == code)
        || spec.scorecard.iter().any(|o| &o.code == code)
    {
        return status(app, actor, Some(code.as_str())).await;
    }
    Err(AppError::NotFound(format!(
        "There is no key result, measure or objective `{code}`. `okrs` lists the codes; a check-in looks like `S1 42 on track: note`."
    )))
}

pub async fn kr(app: &App, actor: &Actor, code: &Code) -> Result<Reply> {
    let v = View::load(app, actor).await?;
    let mut r;
    let unit;
    if let Some(k) = v.spec.key_results.iter().find(|k| &k.code == code) {
        let ev = v.rollup.key_results.get(code);
        unit = k.unit.clone();
        r = Reply::new().heading(format!("{} — {}", k.code, k.title));
        let objective = v.spec.objectives.iter().find(|o| o.code == k.objective);
        r = r.text(format!(
            "Objective {} {} · kind {} · owner {} · weight {}",
            k.objective,
            objective.map(|o| o.title.as_str()).unwrap_or(""),
            k.kind,
            k.owner.as_ref().map(|o| o.as_str()).unwrap_or("—"),
            k.weight
        ));
        let f = |x| crate::bot::render::figure(x, &k.unit);
        let range = match k.kind {
            KrKind::Band => k
                .band
                .map(|(a, b)| format!("stay within {}–{}", f(Some(a)), f(Some(b))))
                .unwrap_or_default(),
            KrKind::AtLeast => format!("hold at least {}", f(k.target)),
            KrKind::AtMost => format!("hold at most {}", f(k.target)),
            KrKind::Milestone => "milestone: done or not done".into(),
            KrKind::Baseline => match k.target {
                None => {
                    "establish a baseline (stays out of progress until its target is set)".into()
                }
                Some(_) => format!("baseline, now from {} to {}", f(k.start), f(k.target)),
            },
            KrKind::Metric => format!("from {} to {}", f(k.start), f(k.target)),
        };
        let value = ev.and_then(|e| e.value);
        let current = match super::view::empty_state(k, value) {
            Some("not measured") => "not measured".to_string(),
            Some(_) => format!("baseline: {}", f(value)),
            None => f(value),
        };
        r = r.text(format!("Current {current} · {range}"));
        if let Some(d) = k.due {
            let days = (d - v.now.date_naive()).num_days();
            let when = match days {
                0 => "today".to_string(),
                1 => "tomorrow".to_string(),
                n if n > 1 => format!("in {n} days"),
                -1 => "passed yesterday".to_string(),
                n => format!("passed {} days ago", -n),
            };
            let overdue =
                crate::domain::progress::milestone_overdue(k, ev.and_then(|e| e.progress), v.now);
            r = r.text(format!(
                "Due {d} ({when}){}",
                if overdue {
                    ": not done, so it is off track"
                } else {
                    ""
                }
            ));
        }
        if let Some(ev) = ev.filter(|_| super::view::empty_state(k, value).is_none()) {
            r = r.text(format!(
                "Progress {}   expected by now {}   {} {}{}",
                crate::bot::render::progress_bar(ev.progress),
                ev.expected
                    .map(|x| format!("{:.0}%", x * 100.0))
                    .unwrap_or_else(|| "—".into()),
                ev.status.mark(),
                ev.status.label(),
                if ev.stale {
                    " · stale: no check-in for two periods"
                } else {
                    ""
                }
            ));
            if let Some(a) = kr_arithmetic(k, ev.value, ev.progress) {
                r = r.text(format!("Progress = {a}"));
            }
        }
        if let Some(line) =
            super::evidence::forecast_line(app, actor.org.id, &v.spec, k, v.now).await?
        {
            r = r.text(format!("Forecast: {line}"));
        }
        if let Some(o) = objective {
            let parts = objective_parts(&v.spec, &v.rollup, &o.code);
            let total: f64 = parts.iter().filter(|c| c.counted).map(|c| c.weight).sum();
            let me = parts.iter().find(|c| &c.code == code);
            r = r.text(match me {
                Some(c) if c.counted => format!(
                    "Counts towards {} with weight {} of {} ({} of its figure).",
                    o.code,
                    weight(c.weight),
                    weight(total),
                    pct(c.weight / total)
                ),
                Some(c) if c.progress.is_none() => format!(
                    "Not counted in {} yet: {} (weight {}).",
                    o.code,
                    super::view::empty_state(k, ev.and_then(|e| e.value)).unwrap_or("no figure"),
                    weight(c.weight)
                ),
                _ => format!("Not counted in {}: weight 0.", o.code),
            });
        }
    } else if let Some(m) = v.spec.measures.iter().find(|m| &m.code == code) {
        unit = m.unit.clone();
        r = Reply::new().heading(format!(
            "{} — {} (measure of {})",
            m.code, m.title, m.objective
        ));
        r = r.text(format!(
            "Direction {} · target {} · red {} · {} indicator{}",
            m.direction,
            crate::bot::render::figure(Some(m.target), &m.unit),
            crate::bot::render::figure(Some(m.red), &m.unit),
            m.lead_lag,
            m.source
                .as_ref()
                .map(|s| format!(" · source {s}"))
                .unwrap_or_default()
        ));
        r = r.text(match v.rollup_measure_value(code) {
            Some(_) => format!(
                "Attainment {}",
                crate::bot::render::progress_bar(v.progress(code))
            ),
            None => format!(
                "Not measured yet{}: left out of its objective's figure.",
                m.baseline
                    .map(|b| format!(
                        " (baseline {})",
                        crate::bot::render::figure(Some(b), &m.unit)
                    ))
                    .unwrap_or_default()
            ),
        });
    } else {
        return Err(AppError::NotFound(format!(
            "There is no key result or measure `{code}` in {}. `okrs all` lists them.",
            actor.org.name
        )));
    }
    let (rows, total) = app.store.history(actor.org.id, code.as_str(), 20).await?;
    let picture = super::pictures::trend(app, &v, actor.org.id, code)
        .await?
        .map(|t| super::pictures::image(super::pictures::KR_TREND, Some(code.as_str()), t.alt()));
    if rows.is_empty() {
        let mut r = r.note("No check-ins yet: not measured, so it counts in no figure.");
        r.blocks.extend(picture);
        return Ok(r);
    }
    let mut t = Table::new(&[
        ("#", Align::Right),
        ("When (UTC)", Align::Left),
        ("Who", Align::Left),
        ("Value", Align::Right),
        ("Confidence", Align::Left),
        ("Note", Align::Left),
    ]);
    for c in &rows {
        let mut note = c.note.clone().unwrap_or_default();
        if let Some(b) = &c.blockers {
            note = format!(
                "{note}{}blocker: {b}",
                if note.is_empty() { "" } else { " · " }
            );
        }
        if let Some(s) = c.superseded_by {
            note = format!("(superseded by #{s}) {note}");
        }
        if let Some(s) = c.supersedes {
            note = format!("(corrects #{s}) {note}");
        }
        t.row(vec![
            Cell::text(c.id.to_string()),
            Cell::text(c.recorded_at.format("%Y-%m-%d %H:%M").to_string()),
            Cell::text(&c.person_name),
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
            Cell::text(note),
        ]);
    }
    r = r.heading("Check-ins (newest first)").table(t);
    if total > rows.len() as i64 {
        r = r.note(format!(
            "… and {} earlier check-ins.",
            total - rows.len() as i64
        ));
    }
    r.blocks.extend(picture);
    Ok(r)
}
