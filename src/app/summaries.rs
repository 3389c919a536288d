//! A period's check-in summary thread (PRODUCT §4): when a department's check-in
//! occurrence first prompts someone, a summary is posted in the department's channel as
//! the parent of a thread. It says how many answered, who answered with which figures and
//! confidence, and who is still missing.
//!
//! - Every answer that closes a prompt of the occurrence, on time or late, posts a line
//!   into the thread.
//! - Every change to the occurrence's prompts edits the parent in place: an answer, a
//!   correction while the window is open, a skip, an away period, the window closing.
//!   Edits coalesce per summary (see `summary_edits_from!` in the store).
//!
//! All of it goes through the outbox, queued in the same statement as the change it
//! reports, and is rendered from the stored prompts and check-ins when sent.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::bot::render::figure;
use crate::bot::{Align, Cell, Reply, Table};
use crate::domain::cadence::department_zone;
use crate::domain::{Confidence, OrgSpec, Status};
use crate::error::Result;
use crate::store::schedule::{CadenceRow, NewPrompt};

use super::App;

/// The outbox key of a summary's own post; its lines and edits wait for it.
pub fn summary_key(summary_id: i64) -> String {
    format!("summary:{summary_id}")
}

/// The thread key of a department's check-in occurrence (its local wall-clock time). A
/// department has one check-in cadence, so the occurrence names the thread; it reads well
/// as a Discord thread name.
pub fn thread_key(occurrence: NaiveDateTime) -> String {
    format!("check-ins {}", occurrence.format("%Y-%m-%d %H:%M"))
}

/// The department occurrences among prompts a tick materialised that asked at least one
/// person: `(cadence, occurrence, department, thread key)`. Occurrences where everyone was
/// excused (a holiday) or that were already over (catch-up after downtime) get none.
pub fn occurrences(
    cadences: &[CadenceRow],
    prompts: &[NewPrompt],
) -> Vec<(i64, NaiveDateTime, String, String)> {
    let departments: HashMap<i64, &str> = cadences
        .iter()
        .filter(|c| c.scope == "department" && c.purpose == "checkin")
        .map(|c| (c.id, c.scope_key.as_str()))
        .collect();
    let asked: BTreeSet<(i64, NaiveDateTime)> = prompts
        .iter()
        .filter(|p| p.state == "sent" && departments.contains_key(&p.cadence_id))
        .map(|p| (p.cadence_id, p.occurrence))
        .collect();
    asked
        .into_iter()
        .map(|(c, o)| (c, o, departments[&c].to_string(), thread_key(o)))
        .collect()
}

/// One answered code: `(code, value, confidence, note, blockers)`.
type Figure = (String, f64, Option<String>, Option<String>, Option<String>);

/// One prompt of the occurrence, with the answer's figures.
struct Row {
    prompt_id: i64,
    person: String,
    state: String,
    window_ends_at: DateTime<Utc>,
    /// The latest per code, in code order.
    figures: Vec<Figure>,
}

struct Summary {
    department: String,
    occurrence: NaiveDateTime,
    rows: Vec<Row>,
}

async fn load(app: &App, org_id: i64, summary_id: i64) -> Result<Option<Summary>> {
    let Some(head) = app.store.summary_head(org_id, summary_id).await? else {
        return Ok(None);
    };
    let (department, cadence_id, occurrence) = (head.department, head.cadence_id, head.occurrence);
    let prompts = app
        .store
        .summary_prompts(org_id, cadence_id, occurrence)
        .await?;
    let figures = app
        .store
        .answer_figures(org_id, cadence_id, occurrence)
        .await?;
    let mut by_prompt: HashMap<i64, Vec<_>> = HashMap::new();
    for f in figures {
        by_prompt.entry(f.prompt_id).or_default().push((
            f.code,
            f.value,
            f.confidence,
            f.note,
            f.blockers,
        ));
    }
    let rows = prompts
        .into_iter()
        .map(|p| Row {
            figures: by_prompt.remove(&p.id).unwrap_or_default(),
            prompt_id: p.id,
            person: p.person_key,
            state: p.state,
            window_ends_at: p.window_ends_at,
        })
        .collect();
    Ok(Some(Summary {
        department,
        occurrence,
        rows,
    }))
}

fn name_of<'a>(spec: &'a OrgSpec, key: &'a str) -> &'a str {
    spec.people
        .iter()
        .find(|p| p.key.as_str() == key)
        .map(|p| p.name.as_str())
        .unwrap_or(key)
}

/// `S1 42 % (on track)`, each asked code that was answered.
fn figures_text(spec: &OrgSpec, row: &Row) -> String {
    row.figures
        .iter()
        .map(|(code, value, conf, _, _)| {
            let unit = spec
                .key_results
                .iter()
                .find(|k| k.code.as_str() == code)
                .map(|k| k.unit.as_str())
                .unwrap_or("");
            let mut s = format!("{code} {}", figure(Some(*value), unit));
            if let Some(c) = conf.as_deref().and_then(|c| Confidence::parse(c).ok()) {
                s.push_str(&format!(" ({})", Status::from(c).label()));
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn state_label(state: &str) -> &'static str {
    match state {
        "answered" => "✔ answered",
        "late" => "✔ answered late",
        "sent" => "… waiting",
        "missed" => "✖ missed",
        "skipped" => "skipped",
        "away" => "away",
        "undeliverable" => "unreachable",
        _ => "—",
    }
}

/// The summary as it stands now; `None` if it is gone (another organisation's id, say).
pub async fn render(app: &App, org_id: i64, summary_id: i64) -> Result<Option<Reply>> {
    let Some(s) = load(app, org_id, summary_id).await? else {
        return Ok(None);
    };
    let spec = app.spec_recent(org_id).await?;
    let dept = spec
        .departments
        .iter()
        .find(|d| d.key.as_str() == s.department);
    let dept_name = dept.map_or(s.department.as_str(), |d| d.name.as_str());
    let count = |states: &[&str]| {
        s.rows
            .iter()
            .filter(|r| states.contains(&r.state.as_str()))
            .count()
    };
    let answered = count(&["answered", "late"]);
    let late = count(&["late"]);
    let waiting = count(&["sent"]);
    let missed = count(&["missed"]);
    let excused = count(&["skipped", "away"]);
    // Prompts baton could not deliver (nobody to reach them on) were never asked.
    let unreachable = count(&["undeliverable"]);
    let asked = s.rows.len() - excused - unreachable;

    let mut reply = Reply::new();
    reply.ephemeral = false;
    reply = reply.heading(format!(
        "{dept_name} check-in · {}",
        s.occurrence.format("%a %-d %b %Y")
    ));
    let mut line = format!("*{answered} of {asked} answered*");
    if late > 0 {
        line.push_str(&format!(" ({late} late)"));
    }
    for (n, what) in [
        (waiting, "waiting"),
        (missed, "missed"),
        (unreachable, "unreachable"),
    ] {
        if n > 0 {
            line.push_str(&format!(" · {n} {what}"));
        }
    }
    if excused > 0 {
        line.push_str(&format!(" · {excused} excused (skipped or away)"));
    }
    reply = reply.text(line);
    let mut t = Table::new(&[
        ("Person", Align::Left),
        ("Check-in", Align::Left),
        ("Figures", Align::Left),
    ]);
    for r in &s.rows {
        t.row(vec![
            Cell::text(name_of(&spec, &r.person)),
            Cell::text(state_label(&r.state)),
            Cell::text(figures_text(&spec, r)),
        ]);
    }
    reply = reply.table(t);
    let tz = dept.map_or(spec.org.time_zone, |d| department_zone(&spec, &d.key));
    let closes = s
        .rows
        .iter()
        .map(|r| r.window_ends_at)
        .max()
        .map(|t| t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string());
    let now = app.clock.now();
    let open = s.rows.iter().any(|r| r.window_ends_at > now);
    reply = match (open, closes) {
        (true, Some(c)) => reply.note(format!(
            "Answer in your prompt or with a one-line check-in (`<code> <value> [on track|at risk|off track]: note`) by {c}; answers appear in this thread."
        )),
        _ => reply.note("This check-in has closed; late answers still update this summary."),
    };
    Ok(Some(reply))
}

/// One answer, for the summary's thread.
pub async fn render_line(
    app: &App,
    org_id: i64,
    summary_id: i64,
    prompt_id: i64,
) -> Result<Option<Reply>> {
    let Some(s) = load(app, org_id, summary_id).await? else {
        return Ok(None);
    };
    let Some(r) = s.rows.iter().find(|r| r.prompt_id == prompt_id) else {
        return Ok(None);
    };
    let spec = app.spec_recent(org_id).await?;
    let mut reply = Reply::new();
    reply.ephemeral = false;
    let how = if r.state == "late" {
        "answered late"
    } else {
        "answered"
    };
    let figures = figures_text(&spec, r);
    let mut text = format!("*{}* {how}", name_of(&spec, &r.person));
    if !figures.is_empty() {
        text.push_str(&format!(": {figures}"));
    }
    reply = reply.text(text);
    for (code, _, _, note, blockers) in &r.figures {
        if let Some(n) = note.as_deref().filter(|n| !n.trim().is_empty()) {
            reply = reply.note(format!("{code}: {n}"));
        }
        if let Some(b) = blockers.as_deref().filter(|b| !b.trim().is_empty()) {
            reply = reply.note(format!("{code} blocked by: {b}"));
        }
    }
    Ok(Some(reply))
}
