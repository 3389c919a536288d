//! `calendar [dept]` and the ICS feed.
//!
//! Both read the declared cadences through [`crate::domain::calendar`]; the list shows times
//! in the reader's zone, the feed keeps each event in its own zone (with `VTIMEZONE`s) so a
//! calendar app shows it in whatever zone its user lives in.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::bot::{Align, Cell, Reply, Table};
use crate::domain::calendar::{
    CalendarEvent, department_events, events, ics, next_occurrence, upcoming,
};
use crate::domain::org::{descendants, owning_department};
use crate::domain::progress::{active_cycle, kr_progress};
use crate::domain::{Key, OrgSpec, OrgState};
use crate::error::{AppError, Result};

use super::{Actor, App};

/// How far ahead the list shows operational and coordination events.
const HORIZON_DAYS: i64 = 14;

/// The department a `dept` argument names, or the refusal listing the departments.
fn resolve(spec: &OrgSpec, dept: Option<&str>) -> Result<Option<Key>> {
    let Some(d) = dept else { return Ok(None) };
    let lower = d.trim().to_ascii_lowercase();
    match spec.departments.iter().find(|x| x.key.as_str() == lower) {
        Some(x) => Ok(Some(x.key.clone())),
        None => Err(AppError::NotFound(format!(
            "There is no department `{d}`. Departments: {}.\nUsage: calendar [dept]",
            spec.departments
                .iter()
                .map(|x| x.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

fn selected(spec: &OrgSpec, dept: Option<&Key>) -> Vec<CalendarEvent> {
    let all = events(spec);
    match dept {
        Some(k) => department_events(spec, &all, k),
        None => all,
    }
}

/// `calendar [dept]`: upcoming events of all four layers, in the reader's time zone.
pub async fn calendar(app: &App, actor: &Actor, dept: Option<&str>) -> Result<Reply> {
    let spec = app.spec(actor.org.id).await?;
    let key = resolve(&spec, dept)?;
    let now = app.clock.now();
    let evs = selected(&spec, key.as_ref());
    // The reader's zone (see `app::zones`).
    let zone = app
        .person_zone(actor.org.id, &spec, &actor.person.spec)
        .await?;

    // The next fortnight of the operational and coordination rhythm…
    let mut rows: Vec<(DateTime<Utc>, &CalendarEvent)> =
        upcoming(&evs, now, now + Duration::days(HORIZON_DAYS))
            .into_iter()
            .filter(|(_, e)| !matches!(e.layer.as_str(), "strategic" | "tactical"))
            .collect();
    // …and the next synchronisation point of every strategic and tactical cadence.
    for e in evs
        .iter()
        .filter(|e| matches!(e.layer.as_str(), "strategic" | "tactical"))
    {
        if let Some(t) = next_occurrence(e, now - Duration::seconds(1)) {
            rows.push((t, e));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.uid.cmp(&b.1.uid)));

    // …and the due dates of key results and initiative milestones not yet done.
    let state = app.state(actor.org.id).await?;
    let today = now.with_timezone(&zone).date_naive();
    let dues = due_dates(
        &spec,
        &state,
        key.as_ref(),
        now,
        today + Duration::days(HORIZON_DAYS),
    );

    let title = match &key {
        Some(k) => format!("Calendar of {k}"),
        None => format!("Calendar — {}", spec.org.name),
    };
    let r = Reply::new().heading(title).note(format!(
        "Times in {zone}. The next {HORIZON_DAYS} days of check-ins, digests, reviews, due dates and \
             coordination, plus the next strategic and tactical events."
    ));
    if rows.is_empty() && dues.is_empty() {
        return Ok(r.text("No cadences declared."));
    }
    let mut t = Table::new(&[
        ("When", Align::Left),
        ("Event", Align::Left),
        ("Layer", Align::Left),
        ("Department", Align::Left),
    ]);
    // Due dates are whole days: they sort before that day's timed events.
    let mut dues = dues.into_iter().peekable();
    for (at, e) in &rows {
        while let Some(d) = dues.next_if(|d| d.date <= at.with_timezone(&zone).date_naive()) {
            t.row(due_row(&d, today));
        }
        let dept = match (&e.department, e.also.as_slice()) {
            (Some(d), []) => d.to_string(),
            (Some(d), also) => format!(
                "{d} ↔ {}",
                also.iter().map(Key::as_str).collect::<Vec<_>>().join(", ")
            ),
            (None, _) => "—".into(),
        };
        t.row(vec![
            Cell::text(
                at.with_timezone(&zone)
                    .format("%a %Y-%m-%d %H:%M")
                    .to_string(),
            ),
            Cell::text(&e.summary),
            Cell::text(&e.layer),
            Cell::text(dept),
        ]);
    }
    for d in dues {
        t.row(due_row(&d, today));
    }
    let mut r = r.table(t);
    let suggested: Vec<&CalendarEvent> = evs.iter().filter(|e| e.suggested).collect();
    if !suggested.is_empty() {
        r = r.note(format!(
            "(suggested): {} — no coordination cadence declared; `deps` says why. Declare one \
             in the manifest to make it official.",
            suggested
                .iter()
                .map(|e| e
                    .uid
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("dependency."))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(r.note("Subscribe in a calendar app: `baton calendar --ics` (or the feed URL)."))
}

/// A due date on the calendar: a key result's or an initiative milestone's.
struct Due {
    date: NaiveDate,
    what: String,
    department: String,
}

fn due_row(d: &Due, today: NaiveDate) -> Vec<Cell> {
    vec![
        Cell::text(format!(
            "{}{}",
            d.date.format("%a %Y-%m-%d"),
            if d.date < today { " passed" } else { "" }
        )),
        Cell::text(&d.what),
        Cell::text("due date"),
        Cell::text(&d.department),
    ]
}

/// Due dates not yet met, oldest first: key results of the active cycle (not done) and
/// initiative milestones (not done), up to `until`, in `dept` and its sub-teams when given.
/// Dates already passed stay listed (marked) until the work is done.
fn due_dates(
    spec: &OrgSpec,
    state: &OrgState,
    dept: Option<&Key>,
    now: DateTime<Utc>,
    until: NaiveDate,
) -> Vec<Due> {
    let scope: Option<Vec<&Key>> = dept.map(|k| descendants(spec, k.as_str()));
    let in_scope = |k: &Key| scope.as_ref().is_none_or(|s| s.contains(&k));
    let cycle = active_cycle(spec, now).map(|c| &c.key);
    let mut out = Vec::new();
    for k in &spec.key_results {
        let Some(date) = k.due.filter(|d| *d <= until) else {
            continue;
        };
        let Some(o) = spec.objectives.iter().find(|o| o.code == k.objective) else {
            continue;
        };
        if cycle.is_some_and(|c| *c != o.cycle) {
            continue;
        }
        let Some(owner) = owning_department(spec, o).filter(|d| in_scope(d)) else {
            continue;
        };
        let value = state.key_results.get(&k.code).map(|c| c.value);
        if kr_progress(k, value).is_some_and(|p| p >= 1.0 - 1e-9) {
            continue;
        }
        out.push(Due {
            date,
            what: format!("{} due: {}", k.code, k.title),
            department: owner.to_string(),
        });
    }
    for i in &spec.initiatives {
        let depts: Vec<&Key> = i.departments.iter().filter(|d| in_scope(d)).collect();
        if depts.is_empty() {
            continue;
        }
        for m in i.milestones.iter().filter(|m| !m.done) {
            let Some(date) = m.due.filter(|d| *d <= until) else {
                continue;
            };
            out.push(Due {
                date,
                what: format!("{} milestone due: {}", i.code, m.title),
                department: i
                    .departments
                    .first()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            });
        }
    }
    out.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.what.cmp(&b.what)));
    out
}

/// The RFC 5545 feed for an organisation, or one department of it.
pub async fn ics_feed(app: &App, org_id: i64, dept: Option<&str>) -> Result<String> {
    let spec = app.spec(org_id).await?;
    let key = resolve(&spec, dept)?;
    let evs = selected(&spec, key.as_ref());
    Ok(ics(
        &spec.org.name,
        spec.org.key.as_str(),
        &evs,
        app.clock.now(),
    ))
}

/// The address of an organisation's ICS feed: the whole calendar (`all.ics`) or one
/// department's, under `base` (baton's public URL), opened by the organisation's token.
pub fn feed_url(base: &str, dept: Option<&str>, token: &str) -> String {
    format!(
        "{}/calendar/{}.ics?token={token}",
        base.trim_end_matches('/'),
        dept.unwrap_or("all")
    )
}

/// The feed's URL for `dept` (or the whole organisation) of `org_id`, checked like the feed
/// checks it (an unknown department is refused with the list).
pub async fn link_url(app: &App, org_id: i64, dept: Option<&str>) -> Result<String> {
    let spec = app.spec(org_id).await?;
    let key = resolve(&spec, dept)?;
    let token = app.store.calendar_token(org_id).await?;
    Ok(feed_url(
        &app.public_url,
        key.as_ref().map(Key::as_str),
        &token,
    ))
}

/// `calendar link [dept]`: the URL to subscribe to in a calendar app. The token in it opens
/// every feed of the organisation, so the answer only ever goes to the asker (the inbound
/// pipeline never shares it into a channel).
pub async fn link(app: &App, actor: &Actor, dept: Option<&str>) -> Result<Reply> {
    let url = link_url(app, actor.org.id, dept).await?;
    let spec = app.spec(actor.org.id).await?;
    let what = match resolve(&spec, dept)? {
        Some(k) => format!("the calendar of {k}"),
        None => format!("the calendar of {}", spec.org.name),
    };
    Ok(Reply::new()
        .heading(format!("Subscribe to {what}"))
        .text(url)
        .note(
            "Add it to your calendar app as a subscription (\"From URL\", \"Subscribe to \
             calendar\"): it follows every change to the cadences. Anyone with this link can \
             read the calendar, so keep it to yourself.",
        ))
}
