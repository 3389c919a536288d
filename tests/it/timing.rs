//! Timing people can trust, on a controlled clock: working hours (reminders, snooze
//! returns, action reminders) in Berlin, New York and Sydney across daylight-saving
//! changes, and fiscal years (cadence presets, cycles, calendar, due dates).

use std::sync::Arc;

use baton::app::App;
use baton::app::schedule::run_due;
use baton::chat::recording::RecordingAdapter;
use baton::clock::{Clock, FixedClock};
use baton::outbox::deliver_batch;
use baton::store::Store;
use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use sqlx::PgPool;

use crate::common::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn clocked(pool: PgPool, manifest: &str, start: DateTime<Utc>) -> (App, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(start));
    let app = App::new(Store::new(pool), clock.clone());
    let spec = baton::manifest::parse_manifest("timing.yaml", manifest).expect("valid manifest");
    baton::app::apply::apply(&app, &spec, false)
        .await
        .expect("apply");
    (app, clock)
}

async fn run_until(app: &App, clock: &FixedClock, until: DateTime<Utc>, step: Duration) {
    while clock.now() < until {
        clock.advance(step);
        run_due(app, None).await.expect("tick");
    }
}

/// Berta (Berlin) works the default hours; Nate (New York) sets his own; Sid (Sydney)
/// takes his department's. Everyone is prompted daily at 07:00 local, before work.
const HOURS_ORG: &str = r#"
organisation: { key: hours, name: Hours Co, time_zone: UTC }
people:
  - { key: berta, name: Berta, time_zone: Europe/Berlin }
  - { key: nate, name: Nate, time_zone: America/New_York, working_hours: "mon-fri 10:00-19:00" }
  - { key: sid, name: Sid, time_zone: Australia/Sydney }
departments:
  - { key: hq, name: HQ, heads: [berta] }
  - { key: berlin, name: Berlin, parent: hq, heads: [berta], time_zone: Europe/Berlin, cadences: { checkin: "daily at 07:00" } }
  - { key: ny, name: New York, parent: hq, heads: [nate], time_zone: America/New_York, cadences: { checkin: "daily at 07:00" } }
  - { key: sydney, name: Sydney, parent: hq, heads: [sid], time_zone: Australia/Sydney, working_hours: "mon-fri 08:00-17:00", cadences: { checkin: "daily at 07:00" } }
cycles:
  - { key: y2026, start: 2026-01-01, end: 2026-12-31 }
objectives:
  - { code: B-O, title: Berlin, level: department, department: berlin, owner: berta, cycle: y2026, key_results: [{ code: B1, title: Berlin KR, unit: "%", start: 0, target: 100, owner: berta }] }
  - { code: N-O, title: NY, level: department, department: ny, owner: nate, cycle: y2026, key_results: [{ code: N1, title: NY KR, unit: "%", start: 0, target: 100, owner: nate }] }
  - { code: S-O, title: Sydney, level: department, department: sydney, owner: sid, cycle: y2026, key_results: [{ code: S1, title: Sydney KR, unit: "%", start: 0, target: 100, owner: sid }] }
"#;

/// A prompt's person, due, window end, reminder time and when it was reminded.
type PromptTimes = (
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

/// (person, zone, working-day start, end, expected reminder time on a working day).
const WHO: [(&str, &str, u32, u32, &str); 3] = [
    // 09:00 + 80 % of 9 h.
    ("berta", "Europe/Berlin", 9, 18, "16:12"),
    // 10:00 + 80 % of 9 h: his own hours.
    ("nate", "America/New_York", 10, 19, "17:12"),
    // 08:00 + 80 % of 9 h: his department's.
    ("sid", "Australia/Sydney", 8, 17, "15:12"),
];

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn reminders_land_in_working_hours_in_berlin_new_york_and_sydney_across_dst(pool: PgPool) {
    // 5 March to 8 April 2026: New York springs forward on 8 March, Berlin on 29 March,
    // Sydney falls back on 5 April.
    let (mut app, clock) = clocked(pool.clone(), HOURS_ORG, at("2026-03-05T00:00:00Z")).await;
    app.nudge_cap = 100;
    let rec = RecordingAdapter::new();
    let mut sent_at: Vec<(DateTime<Utc>, String)> = Vec::new();
    while clock.now() < at("2026-04-08T00:00:00Z") {
        clock.advance(Duration::minutes(15));
        run_due(&app, None).await.expect("tick");
        while deliver_batch(&app, &rec, "w", 100, None).await.unwrap() > 0 {}
        for (t, m) in rec.take() {
            if m.kind == "reminder"
                && let baton::chat::Target::Person { person } = t
            {
                sent_at.push((clock.now(), person));
            }
        }
    }
    let rows: Vec<PromptTimes> = sqlx::query_as(
        "SELECT pe.key, p.due_at, p.window_ends_at, p.remind_at, p.reminded_at FROM prompts p
             JOIN people pe ON pe.id = p.person_id ORDER BY p.due_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for (who, zone, start, end, expected) in WHO {
        let tz: Tz = zone.parse().unwrap();
        let mine: Vec<_> = rows.iter().filter(|r| r.0 == who).collect();
        assert!(mine.len() >= 33, "{who}: {} prompts", mine.len());
        let mut working_days = 0;
        for (_, due, ends, remind, reminded) in mine {
            let local_due = due.with_timezone(&tz);
            // Prompts still go at their cadence's time, before work.
            assert_eq!(
                local_due.time(),
                NaiveTime::from_hms_opt(7, 0, 0).unwrap(),
                "{who}: prompt at {local_due}"
            );
            if matches!(local_due.weekday(), Weekday::Sat | Weekday::Sun) {
                // No working time in a weekend window: no reminder at all.
                assert_eq!(remind, ends, "{who}: weekend reminder {remind}");
                assert!(reminded.is_none(), "{who}: reminded on {local_due}");
                continue;
            }
            working_days += 1;
            let local = remind.with_timezone(&tz);
            assert_eq!(
                (local.date_naive(), local.format("%H:%M").to_string()),
                (local_due.date_naive(), expected.to_string()),
                "{who}: reminder for {local_due} at {local}"
            );
        }
        assert!(working_days >= 23, "{who}: {working_days} working days");
        // What was actually sent arrived inside working hours, within one tick.
        let sends: Vec<_> = sent_at.iter().filter(|(_, p)| p == who).collect();
        assert!(sends.len() >= 20, "{who}: {} reminders sent", sends.len());
        for (t, _) in sends {
            let l = t.with_timezone(&tz);
            let h = l.time();
            assert!(
                h >= NaiveTime::from_hms_opt(start, 0, 0).unwrap()
                    && h < NaiveTime::from_hms_opt(end, 0, 0).unwrap()
                    && l.weekday().num_days_from_monday() < 5,
                "{who}: reminder delivered at {l}"
            );
        }
    }
}

/// A weekly Monday check-in in Berlin.
const BERLIN_ORG: &str = r#"
organisation: { key: snooze, name: Snooze Co, time_zone: Europe/Berlin }
people:
  - { key: berta, name: Berta, time_zone: Europe/Berlin }
  - { key: sid, name: Sid, time_zone: Australia/Sydney }
departments:
  - { key: hq, name: HQ, heads: [berta], members: [sid], cadences: { checkin: "weekly on mon at 09:00" } }
cycles:
  - { key: q4, start: 2026-10-01, end: 2026-12-31 }
objectives:
  - { code: O1, title: Run, level: department, department: hq, owner: berta, cycle: q4, key_results: [{ code: K1, title: Uptime, unit: "%", start: 0, target: 100, owner: berta }] }
"#;

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_snooze_at_night_returns_at_the_start_of_the_next_working_day(pool: PgPool) {
    // Monday 23 November 2026, 08:00 Berlin: the prompt goes at 09:00.
    let (app, clock) = clocked(pool.clone(), BERLIN_ORG, at("2026-11-23T07:00:00Z")).await;
    let rec = RecordingAdapter::new();
    run_until(
        &app,
        &clock,
        at("2026-11-23T21:10:00Z"),
        Duration::minutes(10),
    )
    .await;
    while deliver_batch(&app, &rec, "w", 100, None).await.unwrap() > 0 {}
    rec.take();
    // 22:10 in Berlin: two hours later would be 00:10.
    let out = shell(&app, "snooze", "berta", "snooze 2h\n").await;
    assert!(
        out.contains("Snoozed: I'll ask again at Tue 24 Nov 09:00."),
        "{out}"
    );
    assert!(
        out.contains("Tue 24 Nov 00:10 is outside your working hours (mon-fri 09:00-18:00)"),
        "{out}"
    );
    let mut back = Vec::new();
    while clock.now() < at("2026-11-24T09:00:00Z") {
        clock.advance(Duration::minutes(10));
        run_due(&app, None).await.unwrap();
        while deliver_batch(&app, &rec, "w", 100, None).await.unwrap() > 0 {}
        for (_, m) in rec.take() {
            if m.kind == "prompt" {
                back.push(clock.now());
            }
        }
    }
    // 09:00 CET is 08:00Z: not at 00:10, once.
    assert_eq!(back, vec![at("2026-11-24T08:00:00Z")]);
    // Snoozing past the close, once moved into working hours, is refused and says why:
    // Friday 27 November 22:00 + 2 days = Sunday → Monday 09:00, when the check-in closes.
    clock.set(at("2026-11-27T21:00:00Z"));
    let out = shell(&app, "snooze", "berta", "snooze 2d\n").await;
    assert!(
        crate::common::flat(&out).contains(
            "That is after the check-in closes (Mon 30 Nov 09:00) once moved into your working hours"
        ),
        "{out}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn action_reminders_wait_for_the_owners_working_hours_in_sydney(pool: PgPool) {
    // Wednesday 25 November 2026, 10:00 Berlin: Berta gives Sid an action due Friday.
    let (app, clock) = clocked(pool.clone(), BERLIN_ORG, at("2026-11-25T09:00:00Z")).await;
    let rec = RecordingAdapter::new();
    let out = shell(
        &app,
        "snooze",
        "berta",
        "action @sid send the uptime report by 2026-11-27\n",
    )
    .await;
    assert!(out.contains("✔ Action #1 for Sid"), "{out}");
    let mut seen: Vec<(DateTime<Utc>, String)> = Vec::new();
    while clock.now() < at("2026-11-30T06:00:00Z") {
        clock.advance(Duration::minutes(15));
        run_due(&app, None).await.unwrap();
        while deliver_batch(&app, &rec, "w", 100, None).await.unwrap() > 0 {}
        for (_, m) in rec.take() {
            if m.idempotency_key.starts_with("action:") {
                seen.push((clock.now(), m.idempotency_key.clone()));
            }
        }
    }
    assert_eq!(
        seen,
        vec![
            // Thursday 26 Nov 09:00 AEDT (not just after midnight, 13:00Z on Wednesday).
            (at("2026-11-25T22:00:00Z"), "action:1:before".to_string()),
            // Overdue from Saturday, a weekend: Monday 30 Nov 09:00 AEDT.
            (at("2026-11-29T22:00:00Z"), "action:1:overdue".to_string()),
        ]
    );
}

/// Fiscal years from February: quarterly presets, cycles named after fiscal quarters.
const FISCAL_ORG: &str = r#"
organisation: { key: fiscal, name: Fiscal Co, time_zone: Europe/London, fiscal_year_start: 2 }
people:
  - { key: fay, name: Fay, time_zone: Europe/London }
departments:
  - { key: company, name: Fiscal Co, heads: [fay], cadences: { checkin: quarterly, planning: "quarterly on first mon at 10:00" } }
cycles:
  - { key: 2026-Q3 }
  - { key: 2026-Q4 }
objectives:
  - { code: O1, title: Grow, level: company, owner: fay, cycle: 2026-Q4, key_results: [{ code: K1, title: Revenue, unit: k, start: 0, target: 100, owner: fay }] }
"#;

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn quarters_cycles_and_the_calendar_follow_the_fiscal_year(pool: PgPool) {
    let (app, clock) = clocked(pool.clone(), FISCAL_ORG, at("2026-09-20T00:00:00Z")).await;
    let org = app.org(Some("fiscal")).await.unwrap();
    let spec = app.spec(org.id).await.unwrap();
    let cycles: Vec<(String, String, String)> = spec
        .cycles
        .iter()
        .map(|c| (c.key.to_string(), c.starts.to_string(), c.ends.to_string()))
        .collect();
    assert_eq!(
        cycles,
        vec![
            ("2026-q3".into(), "2026-08-01".into(), "2026-10-31".into()),
            ("2026-q4".into(), "2026-11-01".into(), "2027-01-31".into()),
        ]
    );
    // The quarterly check-in fires on the fiscal quarter (1 November), not on 1 October.
    run_until(&app, &clock, at("2026-11-02T00:00:00Z"), Duration::hours(1)).await;
    let due: Vec<DateTime<Utc>> = sqlx::query_scalar("SELECT due_at FROM prompts ORDER BY due_at")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(due, vec![at("2026-11-01T09:00:00Z")]);
    // The calendar's next planning is the first Monday of the next fiscal quarter.
    clock.set(at("2026-11-20T12:00:00Z"));
    let out = shell(&app, "fiscal", "fay", "calendar\n").await;
    assert!(
        out.contains("Mon 2027-02-01 10:00  Fiscal Co planning"),
        "{out}"
    );
    assert!(!out.contains("2027-01-04"), "{out}");
    // "End of quarter" in a due date is the fiscal quarter's end.
    let out = shell(&app, "fiscal", "fay", "action @fay close the books EOQ\n").await;
    assert!(out.contains("due Sun 31 Jan 2027"), "{out}");
}
