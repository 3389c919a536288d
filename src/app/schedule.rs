//! The cadence engine's use cases: materialise due prompts exactly once, remind, expire,
//! post digests, and the person's side of the loop (`skip`, `snooze`, `away`, `nochange`).
//!
//! A tick works from watermarks: each cadence remembers the instant up to which its
//! occurrences were materialised. Everything between the watermark and now is handled in
//! one transaction that holds the cadence rows (`FOR UPDATE SKIP LOCKED`), and every prompt
//! is keyed by (cadence, occurrence, person) with `ON CONFLICT DO NOTHING`, so two
//! replicas, or a restart mid-tick, never prompt twice. After downtime, occurrences whose
//! response window is still open are sent late; older ones are recorded as missed.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::bot::reply::Block;
use crate::bot::{Align, Cell, Reply, Table};
use crate::delivery::Target;
use crate::domain::cadence::{CadenceRule, department_zone, parse_rule_fy, to_instant};
use crate::domain::hours::{WorkCalendar, WorkingHours};
use crate::domain::org::hours_of_all;
use crate::domain::parse::parse_date;
use crate::domain::progress::{active_cycle, rollup};
use crate::domain::{Key, KrKind, OrgSpec, PersonSpec, Status};
use crate::error::{AppError, Result};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::store::outbox::Payload;
use crate::store::schedule::{CadenceRow, NewPrompt};

use super::{Actor, App};

/// How far back a tick looks for occurrences after downtime. Older ones are not recorded.
const MAX_CATCH_UP: Duration = Duration::days(35);
/// A reminder time depends on the window (due, end), the zone and the working hours.
type ReminderKey = (DateTime<Utc>, DateTime<Utc>, Tz, WorkingHours);
/// Reminders go when this share of the person's working time inside the window has passed.
const REMIND_AT_SHARE: f64 = 0.8;
/// A digest more than this late is recorded but not posted (nobody wants last week's news).
const DIGEST_STALE_AFTER: Duration = Duration::hours(12);

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickReport {
    pub prompts_sent: u64,
    pub prompts_missed: u64,
    pub prompts_skipped: u64,
    pub reminders: u64,
    pub digests: u64,
    /// When something next becomes due (a cadence occurrence, a reminder, a window end).
    pub next_wake: Option<DateTime<Utc>>,
    /// Wall time from the start of the tick until its prompts were committed to the
    /// outbox (instrumentation for the benchmark; not domain time).
    pub queued_in: std::time::Duration,
}

impl TickReport {
    fn wake_at(&mut self, t: Option<DateTime<Utc>>) {
        if let Some(t) = t {
            self.next_wake = Some(self.next_wake.map_or(t, |w| w.min(t)));
        }
    }
}

/// Lookups built once per tick, so materialising prompts for thousands of people stays
/// linear in their number.
struct Index<'a> {
    people: HashMap<&'a str, &'a PersonSpec>,
    zones: HashMap<&'a str, Tz>,
    /// Everyone's working hours (reminders land inside them).
    hours: HashMap<&'a str, WorkingHours>,
    /// (owner, department) → codes of the owner's key results in that department's
    /// active-cycle objectives that follow the department's cadence.
    krs: HashMap<(&'a str, String), Vec<String>>,
}

impl<'a> Index<'a> {
    fn new(spec: &'a OrgSpec, now: DateTime<Utc>, reported: &HashMap<String, Tz>) -> Index<'a> {
        let cycle = active_cycle(spec, now).map(|c| c.key.clone());
        let zones = super::zones::zones_of(spec, reported);
        let org = crate::domain::org::OrgIndex::new(spec);
        let owning: HashMap<&crate::domain::Code, Option<String>> = spec
            .objectives
            .iter()
            .filter(|o| cycle.as_ref().is_none_or(|cy| *cy == o.cycle))
            .map(|o| {
                let dept = org.owning(o).map(|i| spec.departments[i].key.to_string());
                (&o.code, dept)
            })
            .collect();
        let mut krs: HashMap<(&str, String), Vec<String>> = HashMap::new();
        for k in spec.key_results.iter().filter(|k| k.cadence.is_none()) {
            if let (Some(owner), Some(Some(dept))) = (&k.owner, owning.get(&k.objective)) {
                krs.entry((owner.as_str(), dept.clone()))
                    .or_default()
                    .push(k.code.to_string());
            }
        }
        Index {
            people: spec.people.iter().map(|p| (p.key.as_str(), p)).collect(),
            zones,
            hours: hours_of_all(spec),
            krs,
        }
    }

    /// Who a check-in cadence prompts, and about what: `(person key, codes)`.
    fn recipients(&self, spec: &'a OrgSpec, c: &CadenceRow) -> Vec<(&'a Key, Vec<String>)> {
        match c.scope.as_str() {
            "department" => {
                let Some(d) = spec
                    .departments
                    .iter()
                    .find(|d| d.key.as_str() == c.scope_key)
                else {
                    return Vec::new();
                };
                let mut people: Vec<&Key> = d.heads.iter().collect();
                people.extend(d.members.iter().filter(|m| !d.heads.contains(m)));
                people
                    .into_iter()
                    .filter_map(|p| {
                        self.krs
                            .get(&(p.as_str(), d.key.to_string()))
                            .map(|codes| (p, codes.clone()))
                    })
                    .collect()
            }
            "measure" => spec
                .measures
                .iter()
                .find(|m| m.code.as_str() == c.scope_key)
                .and_then(|m| m.owner.as_ref().map(|o| (o, vec![m.code.to_string()])))
                .into_iter()
                .collect(),
            "key_result" => spec
                .key_results
                .iter()
                .find(|k| k.code.as_str() == c.scope_key)
                .and_then(|k| k.owner.as_ref().map(|o| (o, vec![k.code.to_string()])))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        }
    }

    fn zone(&self, person: &str, spec: &OrgSpec) -> Tz {
        self.zones
            .get(person)
            .copied()
            .unwrap_or(spec.org.time_zone)
    }
}

fn is_away(
    p: &PersonSpec,
    person_id: i64,
    day: NaiveDate,
    runtime: &[(i64, NaiveDate, NaiveDate)],
) -> bool {
    p.away.iter().any(|a| a.from <= day && day <= a.to)
        || runtime
            .iter()
            .any(|(id, f, t)| *id == person_id && *f <= day && day <= *t)
}

/// Local occurrences worth looking at for a watermark `w` and `now`, whatever the zone.
fn local_candidates(
    rule: &CadenceRule,
    w: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<NaiveDateTime> {
    let from = w.max(now - MAX_CATCH_UP);
    // Zones span UTC−12…UTC+14: widen by a day on both sides, then filter per zone.
    rule.occurrences(
        (from - Duration::days(1)).naive_utc(),
        (now + Duration::days(1)).naive_utc(),
        2000,
    )
}

/// Processes everything due at or before the app clock's now, for every organisation.
pub async fn run_due(app: &App, metrics: Option<&Metrics>) -> Result<TickReport> {
    let metrics = metrics.unwrap_or(&app.metrics);
    let mut report = TickReport::default();
    for org in app.store.orgs().await? {
        run_org(app, org.id, &mut report).await?;
        // Time-based alert conditions (staleness, needed-by dates, escalation).
        super::alerts::evaluate(app, org.id).await?;
        // Action items due tomorrow or overdue today.
        super::reviews::remind(app, org.id).await?;
        // Reviews left running with nobody moving them close themselves.
        let idle = super::reviews::close_idle(app, org.id, app.clock.now()).await?;
        report.wake_at(idle.next);
    }
    Metrics::add(&metrics.prompts_sent, report.prompts_sent);
    Metrics::add(&metrics.prompts_missed, report.prompts_missed);
    Metrics::add(&metrics.reminders_sent, report.reminders);
    Metrics::add(&metrics.digests_posted, report.digests);
    Ok(report)
}

#[tracing::instrument(skip_all, fields(org = org_id))]
async fn run_org(app: &App, org_id: i64, report: &mut TickReport) -> Result<()> {
    let now = app.clock.now();
    let t0 = std::time::Instant::now();
    let spec = app.spec(org_id).await?;
    tracing::debug!(elapsed = ?t0.elapsed(), "tick: spec");
    let people: HashMap<String, i64> = app
        .store
        .people_ids(org_id)
        .await?
        .into_iter()
        .map(|(id, k)| (k, id))
        .collect();
    tracing::debug!(elapsed = ?t0.elapsed(), "tick: people");
    let away = app.store.away_periods(org_id).await?;
    tracing::debug!(elapsed = ?t0.elapsed(), "tick: away");
    let holidays: BTreeSet<NaiveDate> = spec.holidays.iter().map(|h| h.date).collect();
    let holiday_list: Vec<NaiveDate> = holidays.iter().copied().collect();

    let mut tx = app.store.begin().await?;
    let cadences = Store::claim_cadences(&mut tx, org_id, now).await?;
    tracing::debug!(elapsed = ?t0.elapsed(), "tick: claimed");
    let index = Index::new(&spec, now, &app.reported_zones(org_id).await?);
    tracing::debug!(elapsed = ?t0.elapsed(), "tick: index");
    let mut prompts: Vec<NewPrompt> = Vec::new();
    let mut digests: Vec<(CadenceRow, NaiveDateTime, DateTime<Utc>)> = Vec::new();
    let mut review_events: Vec<(CadenceRow, NaiveDateTime, bool)> = Vec::new();
    for c in &cadences {
        let Ok(rule) = parse_rule_fy(&c.rule, spec.org.fiscal_year_start) else {
            tracing::warn!(cadence = %c.key, "unparseable cadence rule; skipped");
            continue;
        };
        let w = c.checked_until;
        match c.purpose.as_str() {
            "checkin" => {
                // Occurrences and their window ends are computed once per cadence; the
                // instants once per (occurrence, zone).
                let locals: Vec<(NaiveDateTime, Option<NaiveDateTime>)> =
                    local_candidates(&rule, w, now)
                        .into_iter()
                        .map(|l| (l, rule.next_after(l)))
                        .collect();
                let mut instants: HashMap<(NaiveDateTime, Tz), DateTime<Utc>> = HashMap::new();
                let mut instant = |l: NaiveDateTime, tz: Tz| {
                    *instants.entry((l, tz)).or_insert_with(|| to_instant(l, tz))
                };
                // The reminder goes when 80 % of the person's working time inside the
                // window has passed: always inside working hours. A window with no working
                // time in it gets none (it is due at the window's end, which never comes).
                let mut reminders: HashMap<ReminderKey, DateTime<Utc>> = HashMap::new();
                let mut remind =
                    |due: DateTime<Utc>, ends: DateTime<Utc>, tz: Tz, hours: WorkingHours| {
                        *reminders.entry((due, ends, tz, hours)).or_insert_with(|| {
                            WorkCalendar {
                                hours,
                                tz,
                                holidays: &holiday_list,
                            }
                            .share_of_working_time(due, ends, REMIND_AT_SHARE)
                            .unwrap_or(ends)
                        })
                    };
                for (person, codes) in index.recipients(&spec, c) {
                    let (Some(p), Some(&pid)) = (
                        index.people.get(person.as_str()),
                        people.get(person.as_str()),
                    ) else {
                        continue;
                    };
                    let tz = index.zone(person.as_str(), &spec);
                    let hours = index
                        .hours
                        .get(person.as_str())
                        .copied()
                        .unwrap_or_default();
                    for (local, next) in &locals {
                        let due = instant(*local, tz);
                        if due <= w || due > now || due <= now - MAX_CATCH_UP {
                            continue;
                        }
                        let window_ends = next
                            .map(|n| instant(n, tz))
                            .unwrap_or(due + rule.nominal_period());
                        let remind_at = remind(due, window_ends, tz, hours);
                        let state = if holidays.contains(&local.date()) {
                            "skipped"
                        } else if is_away(p, pid, local.date(), &away) {
                            "away"
                        } else if window_ends <= now {
                            "missed"
                        } else {
                            "sent"
                        };
                        prompts.push(NewPrompt {
                            cadence_id: c.id,
                            occurrence: *local,
                            person_id: pid,
                            codes: codes.clone(),
                            due_at: due,
                            window_ends_at: window_ends,
                            remind_at,
                            state,
                        });
                    }
                }
            }
            "digest" | "planning" => {
                let is_root = spec
                    .departments
                    .iter()
                    .any(|d| d.key.as_str() == c.scope_key && d.parent.is_none());
                // Planning is a company digest only at the tactical layer of the company.
                if c.purpose == "planning" && !(is_root && c.layer == "tactical") {
                    continue;
                }
                let tz: Tz = c.time_zone.parse().unwrap_or(spec.org.time_zone);
                for local in local_candidates(&rule, w, now) {
                    let due = to_instant(local, tz);
                    if due > w && due <= now {
                        digests.push((c.clone(), local, due));
                    }
                }
            }
            "review" => {
                // At the review time the facilitator is asked to start it; 24 hours before,
                // the agenda goes to the channel as a pre-read.
                let tz: Tz = c.time_zone.parse().unwrap_or(spec.org.time_zone);
                for local in rule.occurrences(
                    (w.max(now - MAX_CATCH_UP) - Duration::days(1)).naive_utc(),
                    (now + Duration::days(2)).naive_utc(),
                    100,
                ) {
                    let due = to_instant(local, tz);
                    if due > w && due <= now && now - due < Duration::hours(12) {
                        review_events.push((c.clone(), local, false));
                    }
                    let pre = due - Duration::hours(24);
                    if pre > w && pre <= now && now - pre < Duration::hours(12) {
                        review_events.push((c.clone(), local, true));
                    }
                }
            }
            // Coordination meetings are announced by the calendar.
            _ => {}
        }
    }

    tracing::debug!(elapsed = ?t0.elapsed(), prompts = prompts.len(), "tick: prompts built");
    // Prompts and the outbox rows of those actually sent: one statement for all.
    for (state, n) in Store::insert_prompts(&mut tx, org_id, &prompts, now).await? {
        match state.as_str() {
            "sent" => report.prompts_sent += n,
            "missed" => report.prompts_missed += n,
            _ => report.prompts_skipped += n,
        }
    }

    // Each department occurrence that asked someone gets its summary thread.
    let summaries = super::summaries::occurrences(&cadences, &prompts);
    Store::open_summaries(&mut tx, org_id, &summaries, now).await?;
    tracing::debug!(elapsed = ?t0.elapsed(), "tick: prompts inserted");
    // Digests: recorded once per occurrence; posted unless hopelessly late.
    for (c, local, due) in &digests {
        if !Store::record_digest(&mut tx, org_id, c.id, *local, now).await? {
            continue;
        }
        if now - *due > DIGEST_STALE_AFTER {
            continue;
        }
        let rule = parse_rule_fy(&c.rule, spec.org.fiscal_year_start).expect("parsed above");
        let since = rule
            .latest_at_or_before(*local - Duration::seconds(1))
            .map(|l| to_instant(l, c.time_zone.parse().unwrap_or(spec.org.time_zone)))
            .unwrap_or(*due - rule.nominal_period());
        let reply = digest(app, org_id, &spec, &c.scope_key, since, *due).await?;
        let key = format!("digest:{}:{}", c.id, local.format("%Y%m%dT%H%M"));
        crate::store::outbox::enqueue(
            &mut tx,
            org_id,
            &key,
            &Target::Channel {
                department: c.scope_key.clone(),
            },
            &Payload::Reply { reply },
            now,
            now,
        )
        .await?;
        report.digests += 1;
    }
    for (c, local, preread) in &review_events {
        super::reviews::cadence_event(app, &mut tx, org_id, &spec, c, *local, *preread).await?;
    }
    let ids: Vec<i64> = cadences.iter().map(|c| c.id).collect();
    Store::advance_watermarks(&mut tx, &ids, now).await?;

    // Reminders at ~80 % of the window, within the weekly nudge cap.
    for (id, person_id, person_key, channel) in Store::claim_reminders(&mut tx, org_id, now).await?
    {
        let nudges = Store::nudges_this_week(&mut tx, org_id, person_id, now).await?;
        Store::mark_reminded(&mut tx, id, now).await?;
        if nudges >= app.nudge_cap {
            tracing::info!(prompt = id, "reminder skipped: weekly nudge cap reached");
            continue;
        }
        Store::record_nudge(&mut tx, org_id, person_id, id, now).await?;
        let target = match channel {
            Some(d) => Target::Channel { department: d },
            None => Target::Person { person: person_key },
        };
        crate::store::outbox::enqueue(
            &mut tx,
            org_id,
            &format!("remind:{id}"),
            &target,
            &Payload::Reminder { prompt_id: id },
            now,
            now,
        )
        .await?;
        report.reminders += 1;
    }
    // Snoozed prompts come back when asked.
    for (id, person_key, until) in Store::claim_snoozed(&mut tx, org_id, now).await? {
        Store::clear_snooze(&mut tx, id).await?;
        let key = format!("snooze:{id}:{}", until.timestamp());
        crate::store::outbox::enqueue(
            &mut tx,
            org_id,
            &key,
            &Target::Person { person: person_key },
            &Payload::Prompt { prompt_id: id },
            now,
            now,
        )
        .await?;
    }
    tx.commit().await?;

    report.prompts_missed += app.store.expire_prompts(org_id, now).await?;

    report.queued_in += t0.elapsed();
    tracing::debug!(elapsed = ?t0.elapsed(), "tick: committed");
    // When does this organisation next need a tick?
    for c in app.store.cadences(org_id).await? {
        if !matches!(
            c.purpose.as_str(),
            "checkin" | "digest" | "planning" | "review"
        ) {
            continue;
        }
        let Ok(rule) = parse_rule_fy(&c.rule, spec.org.fiscal_year_start) else {
            continue;
        };
        let zones: Vec<Tz> = if c.purpose == "checkin" {
            let mut z: Vec<Tz> = index
                .recipients(&spec, &c)
                .iter()
                .map(|(k, _)| index.zone(k.as_str(), &spec))
                .collect();
            z.sort_by_key(|t| t.name());
            z.dedup();
            z
        } else {
            vec![c.time_zone.parse().unwrap_or(spec.org.time_zone)]
        };
        for local in rule.occurrences(
            (now - Duration::days(1)).naive_utc(),
            (now + Duration::days(400)).naive_utc(),
            3,
        ) {
            for tz in &zones {
                let t = to_instant(local, *tz);
                if t > now {
                    report.wake_at(Some(t));
                }
            }
        }
    }
    report.wake_at(app.store.next_prompt_event(org_id, now).await?);
    tracing::debug!(elapsed = ?t0.elapsed(), "tick: done");
    Ok(())
}

fn kr_table(
    spec: &OrgSpec,
    state: &crate::domain::OrgState,
    codes: &[String],
    now: DateTime<Utc>,
) -> Table {
    let mut t = Table::new(&[
        ("Code", Align::Left),
        ("Key result", Align::Left),
        ("Current", Align::Right),
        ("Target", Align::Right),
        ("Progress", Align::Left),
        ("Last confidence", Align::Left),
        ("Due", Align::Left),
    ]);
    for code in codes {
        let Ok(c) = crate::domain::Code::parse(code) else {
            continue;
        };
        if let Some(k) = spec.key_results.iter().find(|k| k.code == c) {
            let cur = state.key_results.get(&c);
            // Never measured reads "not measured", not the start (README, empty states).
            let value = cur.map(|x| x.value);
            let progress = crate::domain::progress::kr_progress(k, value);
            let due = k.due.map(|d| {
                if crate::domain::progress::milestone_overdue(k, progress, now) {
                    format!("{d} passed")
                } else {
                    d.to_string()
                }
            });
            t.row(vec![
                Cell::text(code),
                Cell::text(&k.title),
                if k.kind == KrKind::Milestone {
                    Cell::text(if value == Some(1.0) {
                        "done"
                    } else {
                        "not done"
                    })
                } else {
                    Cell::Figure {
                        value,
                        unit: k.unit.clone(),
                    }
                },
                Cell::Figure {
                    value: k.target.or(k.band.map(|b| b.1)),
                    unit: k.unit.clone(),
                },
                match crate::app::view::empty_state(k, value) {
                    Some(text) => Cell::text(text),
                    None => Cell::Progress(progress),
                },
                Cell::text(
                    cur.and_then(|e| e.confidence)
                        .map(|c| Status::from(c).label())
                        .unwrap_or("—"),
                ),
                Cell::text(due.unwrap_or_default()),
            ]);
        } else if let Some(m) = spec.measures.iter().find(|m| m.code == c) {
            t.row(vec![
                Cell::text(code),
                Cell::text(&m.title),
                Cell::Figure {
                    value: state.measures.get(&c).map(|x| x.value),
                    unit: m.unit.clone(),
                },
                Cell::Figure {
                    value: Some(m.target),
                    unit: m.unit.clone(),
                },
                match state.measures.get(&c) {
                    Some(x) => Cell::Progress(crate::domain::progress::measure_attainment(
                        m,
                        Some(x.value),
                    )),
                    None => Cell::text("not measured"),
                },
                Cell::text("—"),
                Cell::text(""),
            ]);
        }
    }
    t
}

/// Renders a prompt (or its reminder) as it should look now; `None` once it is closed.
pub async fn render_prompt(
    app: &App,
    org_id: i64,
    prompt_id: i64,
    reminder: bool,
) -> Result<Option<Reply>> {
    let Some(p) = app.store.prompt(org_id, prompt_id).await? else {
        return Ok(None);
    };
    let now = app.clock.now();
    if p.state != "sent" || p.snoozed_until.is_some_and(|s| s > now) {
        return Ok(None);
    }
    let spec = app.spec_recent(org_id).await?;
    let state = app.store.current_of(org_id, &p.codes).await?;
    let person = app.store.person_key(p.person_id).await?.ok_or_else(|| {
        crate::store::StoreError::Corrupt(format!("prompt {prompt_id}'s person is missing"))
    })?;
    let tz = app.zone_of_key(org_id, &spec, &person).await?;
    let closes = p
        .window_ends_at
        .with_timezone(&tz)
        .format("%a %-d %b %H:%M");
    let mut reply = Reply::new();
    reply.ephemeral = false;
    reply = if reminder {
        reply.heading(format!("Reminder: your check-in closes {closes}"))
    } else {
        reply.heading(format!(
            "Check-in for {} — answer by {closes}",
            p.occurrence.format("%a %-d %b")
        ))
    };
    reply = reply.table(kr_table(&spec, &state, &p.codes, now));
    let mut actions: Vec<crate::bot::reply::Action> = p
        .codes
        .iter()
        .map(|c| crate::bot::reply::Action {
            id: "update".into(),
            label: format!("Update {c}"),
            value: c.clone(),
        })
        .collect();
    for (id, label) in [
        ("nochange", "No change"),
        ("skip", "Skip"),
        ("snooze", "Snooze"),
    ] {
        actions.push(crate::bot::reply::Action {
            id: id.into(),
            label: label.into(),
            value: prompt_id.to_string(),
        });
    }
    reply.push(Block::Actions(actions));
    Ok(Some(reply.note(format!(
        "Reply `{} <value> [on track|at risk|off track]: note`, or `nochange`, `skip`, `snooze 2h`.",
        p.codes.first().map(String::as_str).unwrap_or("<code>")
    ))))
}

/// Forecast lines a department digest shows at most.
const DIGEST_FORECASTS: usize = 25;

/// A department's digest (or the company's, for the root department) covering `(since, until]`.
pub async fn digest(
    app: &App,
    org_id: i64,
    spec: &OrgSpec,
    dept: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Reply> {
    let Some(d) = spec.departments.iter().find(|d| d.key.as_str() == dept) else {
        return Ok(Reply::error(format!("no department `{dept}`")));
    };
    let then = app.store.load_state_at(org_id, since).await?;
    let now_state = app.store.load_state_at(org_id, until).await?;
    let before = rollup(spec, &then, since);
    let after = rollup(spec, &now_state, until);
    let tz = department_zone(spec, &d.key);
    let mut reply = Reply::new();
    reply.ephemeral = false;
    let root = d.parent.is_none();
    reply = reply.heading(format!(
        "{} {} — {} to {}",
        d.name,
        if root { "company digest" } else { "digest" },
        since.with_timezone(&tz).format("%a %-d %b"),
        until.with_timezone(&tz).format("%a %-d %b")
    ));
    if root {
        let mut t = Table::new(&[
            ("Perspective", Align::Left),
            ("Progress", Align::Left),
            ("Status", Align::Left),
            ("Was", Align::Left),
        ]);
        let mut persp = after.perspectives.clone();
        persp.sort_by_key(|(p, _)| std::cmp::Reverse(*p));
        for (p, e) in persp {
            let was = before
                .perspectives
                .iter()
                .find(|(x, _)| *x == p)
                .map(|(_, e)| e.status)
                .unwrap_or(Status::NoData);
            let label = spec
                .perspectives
                .iter()
                .find(|x| x.perspective == p)
                .map(|x| x.label.clone())
                .unwrap_or_default();
            t.row(vec![
                Cell::text(label),
                Cell::Progress(e.progress),
                Cell::Status {
                    status: e.status,
                    stale: false,
                },
                Cell::text(was.label()),
            ]);
        }
        reply = reply.table(t);
    } else {
        let states = app.store.prompt_states(org_id, dept, since, until).await?;
        // Per person: prompts answered out of those that asked (skipped/away excused).
        let mut tally: Vec<(String, usize, usize, usize)> = Vec::new();
        for (_, name, state) in &states {
            let pos = match tally.iter().position(|t| &t.0 == name) {
                Some(p) => p,
                None => {
                    tally.push((name.clone(), 0, 0, 0));
                    tally.len() - 1
                }
            };
            match state.as_str() {
                "answered" | "late" => {
                    tally[pos].1 += 1;
                    tally[pos].2 += 1;
                }
                "skipped" | "away" => tally[pos].3 += 1,
                // Never reached them: neither answered nor missing (listed apart below).
                "undeliverable" => {}
                _ => tally[pos].2 += 1,
            }
        }
        let list = |v: Vec<String>, empty: &str| {
            if v.is_empty() {
                empty.to_string()
            } else {
                v.join(", ")
            }
        };
        let answered: Vec<String> = tally
            .iter()
            .filter(|t| t.1 > 0)
            .map(|t| format!("{} ({} of {})", t.0, t.1, t.2))
            .collect();
        let missing: Vec<String> = tally
            .iter()
            .filter(|t| t.1 == 0 && t.2 > 0)
            .map(|t| format!("{} (0 of {})", t.0, t.2))
            .collect();
        let excused: Vec<String> = tally
            .iter()
            .filter(|t| t.3 > 0)
            .map(|t| format!("{} ({})", t.0, t.3))
            .collect();
        reply = reply.text(format!("Answered: {}", list(answered, "nobody yet")));
        reply = reply.text(format!("Missing: {}", list(missing, "nobody")));
        if !excused.is_empty() {
            reply = reply.text(format!("Skipped or away: {}", excused.join(", ")));
        }
        let mut unreachable: Vec<&str> = states
            .iter()
            .filter(|(_, _, state)| state == "undeliverable")
            .map(|(_, name, _)| name.as_str())
            .collect();
        unreachable.sort_unstable();
        unreachable.dedup();
        if !unreachable.is_empty() {
            reply = reply.text(format!(
                "Not reachable on any chat platform: {}",
                unreachable.join(", ")
            ));
        }
        let mut t = Table::new(&[
            ("Code", Align::Left),
            ("Key result", Align::Left),
            ("Was", Align::Right),
            ("Now", Align::Right),
            ("Progress", Align::Left),
            ("Status", Align::Left),
        ]);
        for o in spec.objectives.iter().filter(|o| {
            crate::domain::org::owning_department(spec, o).map(|k| k.as_str()) == Some(dept)
        }) {
            if after.cycle.as_ref().is_some_and(|c| *c != o.cycle) {
                continue;
            }
            for k in spec.key_results.iter().filter(|k| k.objective == o.code) {
                let was = before.key_results.get(&k.code).and_then(|e| e.value);
                let now_v = after.key_results.get(&k.code).and_then(|e| e.value);
                let ev = after.key_results.get(&k.code);
                t.row(vec![
                    Cell::text(k.code.as_str()),
                    Cell::text(&k.title),
                    Cell::Figure {
                        value: was,
                        unit: k.unit.clone(),
                    },
                    Cell::Figure {
                        value: now_v,
                        unit: k.unit.clone(),
                    },
                    Cell::Progress(ev.and_then(|e| e.progress)),
                    Cell::Status {
                        status: ev.map(|e| e.status).unwrap_or(Status::NoData),
                        stale: ev.is_some_and(|e| e.stale),
                    },
                ]);
            }
        }
        if !t.rows.is_empty() {
            reply = reply.heading("Key results since the last digest").table(t);
        }
        let krs: Vec<&crate::domain::KeyResultSpec> = spec
            .key_results
            .iter()
            .filter(|k| {
                spec.objective(&k.objective).is_some_and(|o| {
                    crate::domain::org::owning_department(spec, o).map(|k| k.as_str()) == Some(dept)
                        && after.cycle.as_ref().is_none_or(|c| *c == o.cycle)
                })
            })
            .collect();
        let forecasts = super::evidence::forecasts(app, org_id, spec, &krs, until).await?;
        let lines: Vec<String> = krs
            .iter()
            .filter_map(|k| {
                forecasts
                    .get(&k.code)
                    .map(|o| crate::domain::forecast::sentence(k.code.as_str(), o))
            })
            .collect();
        if !lines.is_empty() {
            reply = reply.heading("Forecasts");
            for l in lines.iter().take(DIGEST_FORECASTS) {
                reply = reply.text(l.clone());
            }
            if lines.len() > DIGEST_FORECASTS {
                reply = reply.note(format!("… and {} more.", lines.len() - DIGEST_FORECASTS));
            }
        }
    }
    // Objectives that turned at risk or off track.
    let mut turned = Vec::new();
    let worse = |a: Status, b: Status| {
        let rank = |s: Status| match s {
            Status::OnTrack | Status::NoData => 0,
            Status::AtRisk => 1,
            Status::OffTrack => 2,
        };
        rank(b) > rank(a) && b.is_bad()
    };
    for o in &spec.objectives {
        if !root && crate::domain::org::owning_department(spec, o).map(|k| k.as_str()) != Some(dept)
        {
            continue;
        }
        let (a, b) = (
            before.objectives.get(&o.code).map(|e| e.status),
            after.objectives.get(&o.code).map(|e| e.status),
        );
        if let (Some(a), Some(b)) = (a, b)
            && worse(a, b)
        {
            turned.push(format!(
                "{} {} — {} → {}",
                o.code,
                o.title,
                a.label(),
                b.label()
            ));
        }
    }
    if root {
        for s in &spec.scorecard {
            let (a, b) = (
                before.scorecard.get(&s.code).map(|e| e.status),
                after.scorecard.get(&s.code).map(|e| e.status),
            );
            if let (Some(a), Some(b)) = (a, b)
                && worse(a, b)
            {
                turned.push(format!(
                    "{} {} — {} → {}",
                    s.code,
                    s.title,
                    a.label(),
                    b.label()
                ));
            }
        }
    }
    if turned.is_empty() {
        reply = reply.note("No objective turned at risk or off track.");
    } else {
        reply = reply.heading("Turned at risk or off track");
        for t in turned {
            reply = reply.text(t);
        }
    }
    Ok(reply)
}

async fn open_prompt(app: &App, actor: &Actor) -> Result<crate::store::schedule::PromptRow> {
    app.store
        .open_prompt(actor.org.id, actor.person.id, app.clock.now())
        .await?
        .ok_or_else(|| AppError::NotFound("You have no open check-in prompt right now.".into()))
}

/// `skip`.
pub async fn skip(app: &App, actor: &Actor) -> Result<Reply> {
    let p = open_prompt(app, actor).await?;
    app.store
        .set_prompt_state(actor.org.id, p.id, "skipped", app.clock.now())
        .await?;
    Ok(Reply::new().text(format!(
        "Skipped your check-in for {}. See you next time.",
        p.occurrence.format("%a %-d %b")
    )))
}

/// `snooze <duration>`.
pub async fn snooze(app: &App, actor: &Actor, d: Duration) -> Result<Reply> {
    let p = open_prompt(app, actor).await?;
    let now = app.clock.now();
    let asked = now + d;
    let spec = app.spec(actor.org.id).await?;
    let tz = app
        .person_zone(actor.org.id, &spec, &actor.person.spec)
        .await?;
    // The prompt comes back inside the person's working hours: at the next start if the
    // snooze would end outside them.
    let holidays: Vec<NaiveDate> = spec.holidays.iter().map(|h| h.date).collect();
    let calendar = WorkCalendar {
        hours: crate::domain::org::hours_of(&spec, actor.key()),
        tz,
        holidays: &holidays,
    };
    let until = calendar.next_start(asked);
    let moved = until != asked;
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%a %-d %b %H:%M").to_string();
    if until >= p.window_ends_at {
        return Err(AppError::Invalid(format!(
            "That is after the check-in closes ({}){}; snooze for less, or `skip`.",
            local(p.window_ends_at),
            if moved {
                format!(
                    " once moved into your working hours ({}: {})",
                    calendar.hours,
                    local(until)
                )
            } else {
                String::new()
            }
        )));
    }
    app.store.snooze_prompt(actor.org.id, p.id, until).await?;
    let mut reply = Reply::new().text(format!("Snoozed: I'll ask again at {}.", local(until)));
    if moved {
        reply = reply.note(format!(
            "{} is outside your working hours ({}), so it waits for their start.",
            local(asked),
            calendar.hours
        ));
    }
    Ok(reply)
}

/// `away <from> <to>`.
pub async fn away(app: &App, actor: &Actor, from: &str, to: &str) -> Result<Reply> {
    let spec = app.spec(actor.org.id).await?;
    let tz = app
        .person_zone(actor.org.id, &spec, &actor.person.spec)
        .await?;
    let today = app.clock.now().with_timezone(&tz).date_naive();
    let usage = |e: String| AppError::Usage(format!("{e}\nUsage: away <from> <to>"));
    let from = parse_date(from, today).map_err(usage)?;
    let to = parse_date(to, today).map_err(usage)?;
    if to < from {
        return Err(AppError::Usage(format!(
            "`{to}` is before `{from}`.\nUsage: away <from> <to>"
        )));
    }
    if (to - from).num_days() > 366 {
        return Err(AppError::Usage(
            "An away period can be at most a year.".into(),
        ));
    }
    if to < today {
        return Err(AppError::Usage(format!("`{to}` is in the past.")));
    }
    let closed = app
        .store
        .add_away(actor.org.id, actor.person.id, from, to, app.clock.now())
        .await?;
    let mut r = Reply::new().text(format!(
        "Away from {from} to {to}: no check-in prompts then."
    ));
    if closed > 0 {
        r = r.note(format!("{closed} open prompt(s) in that period closed."));
    }
    Ok(r)
}

/// `nochange`: re-confirms the current figure of each key result in the open prompt.
pub async fn no_change(app: &App, actor: &Actor, delivery: &str) -> Result<Reply> {
    let p = open_prompt(app, actor).await?;
    let state = app.store.load_state(actor.org.id).await?;
    let spec = app.spec(actor.org.id).await?;
    let mut done = Vec::new();
    for code in &p.codes {
        let Ok(c) = crate::domain::Code::parse(code) else {
            continue;
        };
        let current = state.key_results.get(&c).or_else(|| state.measures.get(&c));
        let value = current.map(|x| x.value).or_else(|| {
            spec.key_results
                .iter()
                .find(|k| k.code == c)
                .and_then(|k| k.start)
                .or_else(|| {
                    spec.measures
                        .iter()
                        .find(|m| m.code == c)
                        .and_then(|m| m.baseline)
                })
        });
        let Some(value) = value else { continue };
        let line = crate::domain::parse::CheckinLine {
            code: c.clone(),
            value,
            confidence: current.and_then(|x| x.confidence),
            note: Some("no change".into()),
            blockers: None,
        };
        // Re-confirming a figure on record asks no question, however unusual it is.
        let key = format!("{}:{delivery}:{code}", actor.source.as_str());
        super::checkins::record_checked(app, actor, &line, false, &key, true).await?;
        done.push(code.clone());
    }
    // A prompt about things with no figure yet cannot be confirmed; close it anyway.
    app.store
        .set_prompt_state(actor.org.id, p.id, "answered", app.clock.now())
        .await?;
    Ok(Reply::new().text(format!(
        "✔ No change recorded for {}.",
        if done.is_empty() {
            "your key results".into()
        } else {
            done.join(", ")
        }
    )))
}
