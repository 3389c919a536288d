//! The cadence engine on a controlled clock: daylight saving, holidays and away periods,
//! restart catch-up, two replicas, the response loop, digests and the outbox.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use baton::app::App;
use baton::app::schedule::run_due;
use baton::chat::recording::RecordingAdapter;
use baton::chat::{AdapterError, Target};
use baton::clock::{Clock, FixedClock};
use baton::outbox::{Payload, claim, deliver_batch, enqueue};
use baton::store::Store;
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::common::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Three one-person departments, each checking in daily at a time that falls into a
/// daylight-saving gap or repeat on the transition days of 2026.
const DST_ORG: &str = r#"
organisation: { key: tzco, name: TZ Co, time_zone: UTC }
people:
  - { key: berta, name: Berta, time_zone: Europe/Berlin }
  - { key: nate, name: Nate, time_zone: America/New_York }
  - { key: sid, name: Sid, time_zone: Australia/Sydney }
departments:
  - { key: hq, name: HQ, heads: [berta] }
  - { key: berlin, name: Berlin, parent: hq, heads: [berta], time_zone: Europe/Berlin, cadences: { checkin: "daily at 02:30" } }
  - { key: ny, name: New York, parent: hq, heads: [nate], time_zone: America/New_York, cadences: { checkin: "daily at 01:30" } }
  - { key: sydney, name: Sydney, parent: hq, heads: [sid], time_zone: Australia/Sydney, cadences: { checkin: "daily at 02:30" } }
cycles:
  - { key: y2026, start: 2026-01-01, end: 2026-12-31 }
objectives:
  - code: B-O
    title: Berlin
    level: department
    department: berlin
    owner: berta
    cycle: y2026
    key_results: [{ code: B1, title: Berlin KR, unit: "%", start: 0, target: 100, owner: berta }]
  - code: N-O
    title: NY
    level: department
    department: ny
    owner: nate
    cycle: y2026
    key_results: [{ code: N1, title: NY KR, unit: "%", start: 0, target: 100, owner: nate }]
  - code: S-O
    title: Sydney
    level: department
    department: sydney
    owner: sid
    cycle: y2026
    key_results: [{ code: S1, title: Sydney KR, unit: "%", start: 0, target: 100, owner: sid }]
"#;

async fn clocked(pool: PgPool, manifest: &str, start: DateTime<Utc>) -> (App, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(start));
    let app = App::new(Store::new(pool), clock.clone());
    let spec = baton::manifest::parse_manifest("test.yaml", manifest).expect("valid test manifest");
    baton::app::apply::apply(&app, &spec, false)
        .await
        .expect("apply");
    (app, clock)
}

/// Ticks every `step` from the clock's now to `until`.
async fn run_until(app: &App, clock: &FixedClock, until: DateTime<Utc>, step: Duration) {
    while clock.now() < until {
        clock.advance(step);
        run_due(app, None).await.expect("tick");
    }
}

async fn due_times(pool: &PgPool, person: &str) -> Vec<DateTime<Utc>> {
    sqlx::query_scalar(
        "SELECT p.due_at FROM prompts p JOIN people pe ON pe.id = p.person_id WHERE pe.key = $1 ORDER BY p.due_at",
    )
    .bind(person)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn daylight_saving_spring_and_autumn_in_three_zones(pool: PgPool) {
    // Spring: NY 2026-03-08, Berlin 2026-03-29; Sydney's autumn 2026-04-05.
    let (app, clock) = clocked(pool.clone(), DST_ORG, at("2026-03-06T12:00:00Z")).await;
    run_until(
        &app,
        &clock,
        at("2026-04-07T00:00:00Z"),
        Duration::minutes(30),
    )
    .await;
    let berta = due_times(&pool, "berta").await;
    // 02:30 does not exist in Berlin on 29 March: the prompt moves to 03:00 CEST = 01:00Z.
    assert!(berta.contains(&at("2026-03-29T01:00:00Z")), "{berta:?}");
    assert!(
        berta.contains(&at("2026-03-28T01:30:00Z")),
        "CET before: {berta:?}"
    );
    assert!(
        berta.contains(&at("2026-03-30T00:30:00Z")),
        "CEST after: {berta:?}"
    );
    let nate = due_times(&pool, "nate").await;
    // NY springs forward at 02:00 on 8 March; 01:30 exists both days, offsets differ.
    assert!(nate.contains(&at("2026-03-07T06:30:00Z")), "EST: {nate:?}");
    assert!(
        nate.contains(&at("2026-03-08T06:30:00Z")),
        "still EST at 01:30: {nate:?}"
    );
    assert!(nate.contains(&at("2026-03-09T05:30:00Z")), "EDT: {nate:?}");
    let sid = due_times(&pool, "sid").await;
    // Sydney falls back at 03:00 on 5 April: 02:30 happens twice; it fires once, first.
    assert!(sid.contains(&at("2026-04-04T15:30:00Z")), "{sid:?}");
    assert!(
        !sid.contains(&at("2026-04-04T16:30:00Z")),
        "fired twice: {sid:?}"
    );
    // Exactly one prompt per local day per person over the whole month.
    // Dates are the person's own: each local day from the first prompt to the last has
    // exactly one, none twice and none skipped.
    for (who, zone, times) in [
        ("berta", chrono_tz::Europe::Berlin, &berta),
        ("nate", chrono_tz::America::New_York, &nate),
        ("sid", chrono_tz::Australia::Sydney, &sid),
    ] {
        let mut days: Vec<_> = times
            .iter()
            .map(|t| t.with_timezone(&zone).date_naive())
            .collect();
        days.sort();
        assert!(days.len() >= 29, "{who}: {} prompts", days.len());
        for pair in days.windows(2) {
            assert_eq!(
                pair[0].succ_opt(),
                Some(pair[1]),
                "{who}: local days {pair:?} are not consecutive: {times:?}"
            );
        }
    }
    let (n,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM (SELECT cadence_id, occurrence, person_id FROM prompts GROUP BY 1, 2, 3 HAVING count(*) > 1) d",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(n, 0);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn daylight_saving_autumn_repeats_and_spring_gaps(pool: PgPool) {
    // Berlin and NY fall back (25 Oct, 1 Nov); Sydney springs forward (4 Oct).
    let (app, clock) = clocked(pool.clone(), DST_ORG, at("2026-10-02T12:00:00Z")).await;
    run_until(
        &app,
        &clock,
        at("2026-11-03T00:00:00Z"),
        Duration::minutes(30),
    )
    .await;
    let berta = due_times(&pool, "berta").await;
    assert!(
        berta.contains(&at("2026-10-25T00:30:00Z")),
        "first 02:30 (CEST): {berta:?}"
    );
    assert!(
        !berta.contains(&at("2026-10-25T01:30:00Z")),
        "second 02:30 fired: {berta:?}"
    );
    assert!(
        berta.contains(&at("2026-10-26T01:30:00Z")),
        "CET after: {berta:?}"
    );
    let nate = due_times(&pool, "nate").await;
    assert!(
        nate.contains(&at("2026-11-01T05:30:00Z")),
        "first 01:30 (EDT): {nate:?}"
    );
    assert!(
        !nate.contains(&at("2026-11-01T06:30:00Z")),
        "second 01:30 fired: {nate:?}"
    );
    let sid = due_times(&pool, "sid").await;
    // 02:30 does not exist in Sydney on 4 October: 03:00 AEDT = 16:00Z on the 3rd.
    assert!(sid.contains(&at("2026-10-03T16:00:00Z")), "{sid:?}");
}

const SMALL_ORG: &str = r#"
organisation: { key: small, name: Small Co, time_zone: Europe/London }
people:
  - { key: ana, name: Ana, time_zone: Europe/London }
  - { key: bo, name: Bo, time_zone: Europe/London, away: [{ from: 2026-11-18, to: 2026-11-18 }] }
departments:
  - { key: company, name: Small Co, heads: [ana] }
  - key: ops
    name: Ops
    parent: company
    heads: [ana]
    members: [bo]
    channels: { slack: C0OPS }
    cadences: { checkin: "daily on weekdays at 09:00", digest: "weekly on fri at 16:00" }
holidays: [{ date: 2026-11-19, name: Founders day }]
cycles:
  - { key: q4, start: 2026-11-01, end: 2026-12-31 }
objectives:
  - code: O1
    title: Run well
    level: department
    department: ops
    owner: ana
    cycle: q4
    key_results:
      - { code: K1, title: Uptime, unit: "%", start: 90, target: 99, owner: ana }
      - { code: K2, title: Tickets closed, unit: tickets, start: 0, target: 100, owner: bo }
"#;

async fn states(pool: &PgPool) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT pe.key, to_char(p.occurrence, 'YYYY-MM-DD'), p.state FROM prompts p
         JOIN people pe ON pe.id = p.person_id ORDER BY p.occurrence, pe.key",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn holidays_and_away_periods_skip_prompts(pool: PgPool) {
    // Monday 16 November 2026, 08:00 London.
    let (app, clock) = clocked(pool.clone(), SMALL_ORG, at("2026-11-16T08:00:00Z")).await;
    run_until(&app, &clock, at("2026-11-20T10:00:00Z"), Duration::hours(1)).await;
    let s = states(&pool).await;
    let get = |who: &str, day: &str| {
        s.iter()
            .find(|(p, d, _)| p == who && d == day)
            .map(|x| x.2.clone())
    };
    assert_eq!(get("bo", "2026-11-18").as_deref(), Some("away"), "{s:?}");
    assert_eq!(
        get("ana", "2026-11-19").as_deref(),
        Some("skipped"),
        "holiday: {s:?}"
    );
    assert_eq!(
        get("bo", "2026-11-19").as_deref(),
        Some("skipped"),
        "holiday: {s:?}"
    );
    // Unanswered days closed as missed when the next one opened.
    assert_eq!(get("ana", "2026-11-16").as_deref(), Some("missed"), "{s:?}");
    // Skipped and away prompts were never sent.
    let sent: Vec<String> =
        sqlx::query_scalar("SELECT idempotency_key FROM outbox WHERE kind = 'prompt'")
            .fetch_all(&pool)
            .await
            .unwrap();
    let skipped: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM prompts WHERE state IN ('away', 'skipped')")
            .fetch_all(&pool)
            .await
            .unwrap();
    for id in skipped {
        assert!(!sent.contains(&format!("prompt:{id}")));
    }
    // `away` from the shell closes the open prompt and skips the next ones.
    let out = shell(&app, "small", "ana", "away today 2026-11-24\n").await;
    assert!(out.contains("Away from 2026-11-20 to 2026-11-24"), "{out}");
    assert!(
        out.contains("1 open prompt(s) in that period closed"),
        "{out}"
    );
    run_until(
        &app,
        &clock,
        at("2026-11-24T12:00:00Z"),
        Duration::minutes(30),
    )
    .await;
    let s = states(&pool).await;
    let ana_23 = s
        .iter()
        .find(|(p, d, _)| p == "ana" && d == "2026-11-23")
        .map(|x| x.2.as_str());
    assert_eq!(ana_23, Some("away"), "{s:?}");
    let out = shell(
        &app,
        "small",
        "ana",
        "away 2026-11-30 2026-11-29\naway soon later\n",
    )
    .await;
    assert!(out.contains("is before"), "{out}");
    assert!(out.contains("is not a date"), "{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn after_downtime_open_windows_go_out_late_and_older_ones_are_missed(pool: PgPool) {
    let (app, clock) = clocked(pool.clone(), SMALL_ORG, at("2026-11-16T08:00:00Z")).await;
    run_due(&app, None).await.unwrap();
    assert_eq!(
        count(&pool, "SELECT count(*) FROM prompts").await,
        0,
        "nothing due yet"
    );
    // The service is down from Monday 08:00 until Wednesday 14:00.
    clock.set(at("2026-11-18T14:00:00Z"));
    let report = run_due(&app, None).await.unwrap();
    let s = states(&pool).await;
    let ana: Vec<(&str, &str)> = s
        .iter()
        .filter(|x| x.0 == "ana")
        .map(|x| (x.1.as_str(), x.2.as_str()))
        .collect();
    assert_eq!(
        ana,
        vec![
            ("2026-11-16", "missed"),
            ("2026-11-17", "missed"),
            ("2026-11-18", "sent")
        ]
    );
    // Only the open one is sent: no burst of old prompts. Bo is away on the 18th.
    assert_eq!(report.prompts_sent, 1, "{report:?}");
    assert_eq!(
        count(&pool, "SELECT count(*) FROM outbox WHERE kind = 'prompts'").await,
        1,
        "one group: ana's open prompt"
    );
    // One summary thread, for the one occurrence that asked anybody.
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbox WHERE kind = 'checkin_summary'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM checkin_summaries WHERE occurrence = '2026-11-18 09:00'"
        )
        .await,
        1
    );
    // A second tick at the same moment does nothing more.
    let again = run_due(&app, None).await.unwrap();
    assert_eq!((again.prompts_sent, again.prompts_missed), (0, 0));
    assert!(report.next_wake.is_some());
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn two_replicas_over_a_simulated_day_never_prompt_twice(pool: PgPool) {
    let spec = example_spec();
    let clock = Arc::new(FixedClock::new(at("2026-11-18T00:00:00Z")));
    let a = App::new(Store::new(pool.clone()), clock.clone());
    baton::app::apply::apply(&a, &spec, false).await.unwrap();
    // A second process: its own pool, the same database and clock.
    let opts = (*pool.connect_options()).clone();
    let pool_b = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_with(opts)
        .await
        .unwrap();
    let b = App::new(Store::new(pool_b), clock.clone());
    let (rec_a, rec_b) = (RecordingAdapter::new(), RecordingAdapter::new());
    let mut reported = 0;
    // Wednesday to Thursday: success (weekly Wed 10:00), support (daily), others.
    for _ in 0..(24 * 6) {
        clock.advance(Duration::minutes(10));
        let (ra, rb) = tokio::join!(run_due(&a, None), run_due(&b, None));
        reported += ra.unwrap().prompts_sent + rb.unwrap().prompts_sent;
        let (da, db) = tokio::join!(
            deliver_batch(&a, &rec_a, "replica-a", 7, None),
            deliver_batch(&b, &rec_b, "replica-b", 7, None)
        );
        da.unwrap();
        db.unwrap();
    }
    // Drain what is left. A summary line that met its summary still being sent by the other
    // replica waits `PARENT_WAIT` on the clock, so the clock moves on while rows remain.
    for _ in 0..10 {
        while deliver_batch(&a, &rec_a, "replica-a", 50, None)
            .await
            .unwrap()
            > 0
        {}
        let open = count(
            &pool,
            "SELECT count(*) FROM outbox WHERE state NOT IN ('sent', 'dropped')",
        )
        .await;
        if open == 0 {
            break;
        }
        clock.advance(baton::outbox::PARENT_WAIT);
    }
    let prompts = count(&pool, "SELECT count(*) FROM prompts WHERE state <> 'away'").await;
    assert!(
        prompts >= 4,
        "a day of the example org prompts several people, got {prompts}"
    );
    let mut keys: Vec<String> = rec_a
        .sent()
        .into_iter()
        .chain(rec_b.sent())
        .map(|(_, m)| m.idempotency_key)
        .collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), total, "a message was delivered twice");
    // Every message delivered once: each outbox message of its own, and each prompt of
    // the groups.
    let queued = count(
        &pool,
        "SELECT count(*) FROM outbox WHERE state = 'sent' AND kind <> 'prompts'",
    )
    .await;
    let grouped = count(
        &pool,
        "SELECT count(*) FROM prompts WHERE delivered_at IS NOT NULL",
    )
    .await;
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbox WHERE state NOT IN ('sent', 'dropped')"
        )
        .await,
        0,
        "every group finished"
    );
    let prompts_sent = rec_a
        .sent()
        .into_iter()
        .chain(rec_b.sent())
        .filter(|(_, m)| m.kind == "prompt")
        .count();
    assert_eq!(
        prompts_sent as i64, grouped,
        "no prompt was left in its group"
    );
    assert_eq!(total as i64, queued + grouped);
    // What the two schedulers say they sent adds up to the prompts asked: neither counted
    // (or sent) the other's work.
    let asked = count(
        &pool,
        "SELECT count(*) FROM prompts WHERE delivered_at IS NOT NULL OR state = 'sent'",
    )
    .await;
    assert_eq!(reported as i64, asked);
    let dup: i64 = count(
        &pool,
        "SELECT count(*) FROM (SELECT cadence_id, occurrence, person_id FROM prompts GROUP BY 1,2,3 HAVING count(*) > 1) d",
    )
    .await;
    assert_eq!(dup, 0);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn answering_closes_the_prompt_and_reminders_respect_the_cap(pool: PgPool) {
    let (mut app, clock) = clocked(pool.clone(), SMALL_ORG, at("2026-11-16T08:00:00Z")).await;
    app.nudge_cap = 1;
    let rec = RecordingAdapter::new();
    // Monday 09:00 prompt; window to Tuesday 09:00; reminder when 80 % of the working time
    // in it has passed (Monday 16:12).
    run_until(
        &app,
        &clock,
        at("2026-11-16T09:05:00Z"),
        Duration::minutes(5),
    )
    .await;
    while deliver_batch(&app, &rec, "w", 10, None).await.unwrap() > 0 {}
    let sent: Vec<_> = rec
        .take()
        .into_iter()
        .filter(|(_, m)| m.kind == "prompt")
        .collect();
    assert_eq!(sent.len(), 2, "ana and bo are prompted");
    let to_ana = sent
        .iter()
        .find(|(t, _)| {
            *t == Target::Person {
                person: "ana".into(),
            }
        })
        .unwrap();
    let text = baton::bot::render::text::render(&to_ana.1.reply);
    assert!(
        text.contains("K1") && text.contains("Uptime") && text.contains("[Update K1]"),
        "{text}"
    );
    assert!(
        !text.contains("K2"),
        "bo's key result is not in ana's prompt: {text}"
    );
    // Ana answers with a one-line check-in: her prompt closes, no reminder for her.
    let out = shell(&app, "small", "ana", "K1 95 on track\n").await;
    assert!(out.contains("Recorded K1"), "{out}");
    let ana_state: String = sqlx::query_scalar(
        "SELECT state FROM prompts p JOIN people pe ON pe.id = p.person_id WHERE pe.key = 'ana'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(ana_state, "answered");
    run_until(
        &app,
        &clock,
        at("2026-11-17T04:30:00Z"),
        Duration::minutes(10),
    )
    .await;
    while deliver_batch(&app, &rec, "w", 10, None).await.unwrap() > 0 {}
    let reminders: Vec<_> = rec
        .take()
        .into_iter()
        .filter(|(_, m)| m.kind == "reminder")
        .collect();
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert_eq!(
        reminders[0].0,
        Target::Person {
            person: "bo".into()
        }
    );
    let text = baton::bot::render::text::render(&reminders[0].1.reply);
    assert!(
        text.contains("Reminder: your check-in closes Tue 17 Nov 09:00"),
        "{text}"
    );
    // Tuesday's prompt for bo: the reminder would be his second nudge this week: capped.
    run_until(
        &app,
        &clock,
        at("2026-11-18T05:00:00Z"),
        Duration::minutes(10),
    )
    .await;
    while deliver_batch(&app, &rec, "w", 10, None).await.unwrap() > 0 {}
    let later: Vec<_> = rec
        .take()
        .into_iter()
        .filter(|(_, m)| m.kind == "reminder")
        .collect();
    // Ana's first nudge of the week is fine; Bo already had his one.
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(
        later[0].0,
        Target::Person {
            person: "ana".into()
        },
        "bo's cap exceeded"
    );
    let capped: (i64,) = sqlx::query_as(
        "SELECT count(*) FROM prompts p JOIN people pe ON pe.id = p.person_id
         WHERE pe.key = 'bo' AND p.reminded_at IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(capped.0, 2, "both of bo's prompts reached reminder time");
    assert_eq!(count(&pool, "SELECT count(*) FROM nudges").await, 2);
    // Bo answers Monday's prompt late: it was missed, now it is late.
    let out = shell(&app, "small", "bo", "K2 12\n").await;
    assert!(out.contains("Recorded K2"), "{out}");
    let bo: Vec<(String, String)> = sqlx::query_as(
        "SELECT to_char(p.occurrence, 'YYYY-MM-DD'), p.state FROM prompts p JOIN people pe ON pe.id = p.person_id
         WHERE pe.key = 'bo' ORDER BY p.occurrence",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        bo[0],
        ("2026-11-16".to_string(), "late".to_string()),
        "{bo:?}"
    );
    assert_eq!(bo[1].1, "answered", "{bo:?}");
    assert!(
        app.metrics
            .render(None)
            .contains("baton_prompts_answered_total 3")
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn skip_snooze_and_no_change(pool: PgPool) {
    let (app, clock) = clocked(pool.clone(), SMALL_ORG, at("2026-11-16T08:00:00Z")).await;
    let rec = RecordingAdapter::new();
    let out = shell(&app, "small", "ana", "skip\nsnooze 1h\nnochange\n").await;
    assert_eq!(
        out.matches("You have no open check-in prompt right now.")
            .count(),
        3,
        "{out}"
    );
    run_until(
        &app,
        &clock,
        at("2026-11-16T09:10:00Z"),
        Duration::minutes(10),
    )
    .await;
    while deliver_batch(&app, &rec, "w", 10, None).await.unwrap() > 0 {}
    rec.take();
    let out = shell(&app, "small", "ana", "snooze 2h\nsnooze 3d\n").await;
    assert!(
        out.contains("Snoozed: I'll ask again at Mon 16 Nov 11:10"),
        "{out}"
    );
    assert!(
        out.contains("That is after the check-in closes (Tue 17 Nov 09:00)"),
        "{out}"
    );
    run_until(
        &app,
        &clock,
        at("2026-11-16T11:20:00Z"),
        Duration::minutes(10),
    )
    .await;
    while deliver_batch(&app, &rec, "w", 10, None).await.unwrap() > 0 {}
    let again = rec.take();
    assert_eq!(
        again.len(),
        1,
        "the snoozed prompt comes back once: {again:?}"
    );
    assert_eq!(
        again[0].0,
        Target::Person {
            person: "ana".into()
        }
    );
    let out = shell(&app, "small", "ana", "nochange\n").await;
    assert!(out.contains("No change recorded for K1"), "{out}");
    assert_eq!(count(&pool, "SELECT count(*) FROM checkins").await, 1);
    let out = shell(&app, "small", "bo", "skip\n").await;
    assert!(
        out.contains("Skipped your check-in for Mon 16 Nov"),
        "{out}"
    );
    let st: Vec<String> = sqlx::query_scalar("SELECT state FROM prompts ORDER BY person_id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(st, vec!["answered".to_string(), "skipped".to_string()]);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn digests_say_who_answered_what_moved_and_what_turned(pool: PgPool) {
    let (app, clock) = clocked(pool.clone(), SMALL_ORG, at("2026-11-12T08:00:00Z")).await;
    let rec = RecordingAdapter::new();
    // Before Friday 13th's digest both key results are on pace.
    shell(&app, "small", "ana", "K1 97 on track\n").await;
    shell(&app, "small", "bo", "K2 30 on track\n").await;
    run_until(
        &app,
        &clock,
        at("2026-11-17T10:00:00Z"),
        Duration::minutes(30),
    )
    .await;
    shell(&app, "small", "ana", "K1 91 off track: outage\n").await;
    run_until(
        &app,
        &clock,
        at("2026-11-20T16:30:00Z"),
        Duration::minutes(30),
    )
    .await;
    while deliver_batch(&app, &rec, "w", 50, None).await.unwrap() > 0 {}
    let digests: Vec<_> = rec
        .sent()
        .into_iter()
        .filter(|(t, _)| {
            *t == Target::Channel {
                department: "ops".into(),
            }
        })
        .collect();
    assert_eq!(digests.len(), 2, "Fri 13th and Fri 20th: {digests:?}");
    let text = baton::bot::render::text::render(&digests[1].1.reply);
    assert!(
        text.contains("Ops digest — Fri 13 Nov to Fri 20 Nov"),
        "{text}"
    );
    // Mon–Fri: Ana answered Monday late and Tuesday on time; the 19th was a holiday.
    assert!(text.contains("Answered: Ana (2 of 4)"), "{text}");
    // Bo was away on the 18th.
    assert!(text.contains("Missing: Bo (0 of 3)"), "{text}");
    assert!(text.contains("Skipped or away: Ana (1), Bo (2)"), "{text}");
    assert!(text.contains("97%") && text.contains("91%"), "{text}");
    assert!(text.contains("O1 Run well — on track → at risk"), "{text}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn outbox_retries_honour_retry_after_and_deliver_once(pool: PgPool) {
    let (app, clock) = clocked(pool.clone(), SMALL_ORG, at("2026-11-16T08:00:00Z")).await;
    let org = app.org(Some("small")).await.unwrap();
    let mut tx = app.store.begin().await.unwrap();
    let reply = baton::bot::Reply::new().text("hello ops");
    let target = Target::Channel {
        department: "ops".into(),
    };
    assert!(
        enqueue(
            &mut tx,
            org.id,
            "k-1",
            &target,
            &Payload::Reply {
                reply: reply.clone()
            },
            clock.now(),
            clock.now()
        )
        .await
        .unwrap()
    );
    assert!(
        !enqueue(
            &mut tx,
            org.id,
            "k-1",
            &target,
            &Payload::Reply { reply },
            clock.now(),
            clock.now()
        )
        .await
        .unwrap()
    );
    tx.commit().await.unwrap();
    let rec = RecordingAdapter::new();
    rec.fail_with([
        AdapterError::Transient("502 bad gateway".into()),
        AdapterError::RateLimited {
            retry_after: StdDuration::from_secs(30),
        },
    ]);
    assert_eq!(deliver_batch(&app, &rec, "w", 10, None).await.unwrap(), 1);
    let nb: DateTime<Utc> = sqlx::query_scalar("SELECT not_before FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        nb,
        clock.now() + Duration::seconds(2),
        "backoff after the first failure"
    );
    assert_eq!(
        deliver_batch(&app, &rec, "w", 10, None).await.unwrap(),
        0,
        "not yet due"
    );
    clock.advance(Duration::seconds(2));
    assert_eq!(deliver_batch(&app, &rec, "w", 10, None).await.unwrap(), 1);
    let nb: DateTime<Utc> = sqlx::query_scalar("SELECT not_before FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        nb,
        clock.now() + Duration::seconds(30),
        "Retry-After honoured"
    );
    clock.advance(Duration::seconds(29));
    assert_eq!(deliver_batch(&app, &rec, "w", 10, None).await.unwrap(), 0);
    clock.advance(Duration::seconds(1));
    assert_eq!(deliver_batch(&app, &rec, "w", 10, None).await.unwrap(), 1);
    assert_eq!(rec.sent().len(), 1);
    assert_eq!(rec.attempts(), 3);
    let (state, attempts): (String, i32) = sqlx::query_as("SELECT state, attempts FROM outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((state.as_str(), attempts), ("sent", 3));
    clock.advance(Duration::hours(1));
    assert_eq!(
        deliver_batch(&app, &rec, "w", 10, None).await.unwrap(),
        0,
        "sent once"
    );
    // A permanent failure is parked as dead with its reason, never retried.
    let mut tx = app.store.begin().await.unwrap();
    enqueue(
        &mut tx,
        org.id,
        "k-2",
        &target,
        &Payload::Reply {
            reply: baton::bot::Reply::new().text("x"),
        },
        clock.now(),
        clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    rec.fail_with([AdapterError::Permanent("channel_not_found".into())]);
    deliver_batch(&app, &rec, "w", 10, None).await.unwrap();
    clock.advance(Duration::hours(1));
    assert_eq!(deliver_batch(&app, &rec, "w", 10, None).await.unwrap(), 0);
    let (state, err): (String, String) =
        sqlx::query_as("SELECT state, last_error FROM outbox WHERE idempotency_key = 'k-2'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(state, "dead");
    assert!(err.contains("channel_not_found"));
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_worker_killed_between_claim_and_send_loses_nothing(pool: PgPool) {
    let (app, clock) = clocked(pool.clone(), SMALL_ORG, at("2026-11-16T08:00:00Z")).await;
    let org = app.org(Some("small")).await.unwrap();
    let mut tx = app.store.begin().await.unwrap();
    let target = Target::Person {
        person: "ana".into(),
    };
    enqueue(
        &mut tx,
        org.id,
        "k-crash",
        &target,
        &Payload::Reply {
            reply: baton::bot::Reply::new().text("hi"),
        },
        clock.now(),
        clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // Worker A claims, then dies before sending (it never finishes).
    let claimed = claim(&app.store, "worker-a", 10, clock.now())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let rec = RecordingAdapter::new();
    assert_eq!(
        deliver_batch(&app, &rec, "worker-b", 10, None)
            .await
            .unwrap(),
        0,
        "A's lease holds"
    );
    clock.advance(Duration::seconds(61));
    assert_eq!(
        deliver_batch(&app, &rec, "worker-b", 10, None)
            .await
            .unwrap(),
        1,
        "B takes over"
    );
    assert_eq!(rec.sent().len(), 1);
    clock.advance(Duration::seconds(61));
    assert_eq!(
        deliver_batch(&app, &rec, "worker-c", 10, None)
            .await
            .unwrap(),
        0,
        "delivered once"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_shell_watches_prompts_arrive_on_a_simulated_clock(pool: PgPool) {
    let (app, clock) = clocked(pool.clone(), SMALL_ORG, at("2026-11-16T08:00:00Z")).await;
    let sim = baton::chat::shell::Simulation {
        clock: clock.clone(),
        adapter: Arc::new(RecordingAdapter::new()),
    };
    let actor = actor(&app, "small", "ana").await;
    let mut out = Vec::new();
    let script = "now\nadvance 2h\nK1 97 on track\nadvance 4d 8h\nadvance nonsense\n";
    baton::chat::shell::run(
        &app,
        &actor,
        script.as_bytes(),
        &mut out,
        false,
        Some(&sim),
        None,
    )
    .await
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("It is Mon 16 Nov 2026 08:00 (Europe/London)"),
        "{out}"
    );
    assert!(
        out.contains("── Mon 16 Nov 09:00 · direct message ──"),
        "{out}"
    );
    assert!(
        out.contains("Check-in for Mon 16 Nov — answer by Tue 17 Nov 09:00"),
        "{out}"
    );
    assert!(
        out.contains("(1 more message(s) went to other people and channels.)"),
        "{out}"
    );
    assert!(
        out.contains("── Fri 20 Nov 16:00 · #ops ──"),
        "digest in ana's channel: {out}"
    );
    assert!(out.contains("Error: `nonsense` is not a duration"), "{out}");
}

/// What the recording adapter delivered to one department thread, as `(kind, text)`.
fn in_thread(
    sent: &[(Target, baton::chat::Outbound)],
    department: &str,
    thread: &str,
) -> Vec<(String, String)> {
    let to = Target::Thread {
        department: department.into(),
        thread: thread.into(),
    };
    sent.iter()
        .filter(|(t, _)| *t == to)
        .map(|(_, m)| (m.kind.clone(), baton::bot::render::text::render(&m.reply)))
        .collect()
}

async fn deliver_all(app: &App, rec: &RecordingAdapter) -> Vec<(Target, baton::chat::Outbound)> {
    while deliver_batch(app, rec, "w", 50, None).await.unwrap() > 0 {}
    rec.take()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_periods_summary_thread_counts_answers_and_late_answers_edit_it(pool: PgPool) {
    let (app, clock) = clocked(pool.clone(), SMALL_ORG, at("2026-11-16T08:00:00Z")).await;
    let rec = RecordingAdapter::new();
    const MON: &str = "check-ins 2026-11-16 09:00";
    const TUE: &str = "check-ins 2026-11-17 09:00";
    run_until(
        &app,
        &clock,
        at("2026-11-16T09:05:00Z"),
        Duration::minutes(5),
    )
    .await;
    let sent = deliver_all(&app, &rec).await;
    let mon = in_thread(&sent, "ops", MON);
    assert_eq!(mon.len(), 1, "{mon:?}");
    assert_eq!(mon[0].0, "checkin_summary");
    for want in [
        "Ops check-in · Mon 16 Nov 2026",
        "0 of 2 answered",
        "2 waiting",
        "Ana",
        "Bo",
    ] {
        assert!(mon[0].1.contains(want), "{want:?} in {}", mon[0].1);
    }

    // Ana answers on time: a line in the thread at once; the parent is edited when the
    // 10-second bucket ends, once for both of her check-ins in it.
    let out = shell(&app, "small", "ana", "K1 95 on track: all green\n").await;
    assert!(out.contains("Recorded K1"), "{out}");
    let sent = deliver_all(&app, &rec).await;
    let mon = in_thread(&sent, "ops", MON);
    assert_eq!(mon.len(), 1, "{mon:?}");
    assert_eq!(mon[0].0, "summary_line");
    assert!(
        mon[0].1.contains("Ana* answered: K1 95% (on track)") && mon[0].1.contains("all green"),
        "{}",
        mon[0].1
    );
    clock.advance(Duration::seconds(3));
    shell(&app, "small", "ana", "K1 96 on track\n").await;
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbox WHERE kind = 'summary_edit'"
        )
        .await,
        1,
        "edits in one bucket coalesce"
    );
    assert!(
        deliver_all(&app, &rec).await.is_empty(),
        "the edit waits for its bucket to end"
    );
    clock.advance(Duration::seconds(10));
    let mon = in_thread(&deliver_all(&app, &rec).await, "ops", MON);
    assert_eq!(mon.len(), 1, "{mon:?}");
    assert_eq!(mon[0].0, "summary_edit");
    assert!(
        mon[0].1.contains("1 of 2 answered")
            && mon[0].1.contains("K1 96%")
            && !mon[0].1.contains("K1 95%"),
        "the latest figure: {}",
        mon[0].1
    );

    // Bo lets Monday's window close: the summary says he missed it, and Tuesday gets a
    // thread of its own.
    run_until(
        &app,
        &clock,
        at("2026-11-17T09:05:00Z"),
        Duration::minutes(10),
    )
    .await;
    clock.advance(Duration::seconds(10));
    let sent = deliver_all(&app, &rec).await;
    let mon = in_thread(&sent, "ops", MON);
    let last = &mon.last().expect("an edit when the window closed").1;
    assert!(
        last.contains("1 of 2 answered")
            && last.contains("1 missed")
            && last.contains("has closed"),
        "{last}"
    );
    let tue = in_thread(&sent, "ops", TUE);
    assert_eq!(tue.len(), 1, "{tue:?}");
    assert_eq!(tue[0].0, "checkin_summary");

    // Bo answers late: it closes Monday's (late) and Tuesday's prompts, with a line and
    // an edit in each thread.
    let out = shell(&app, "small", "bo", "K2 12 at risk: queue backlog\n").await;
    assert!(out.contains("Recorded K2"), "{out}");
    clock.advance(Duration::seconds(10));
    let sent = deliver_all(&app, &rec).await;
    let mut mon = in_thread(&sent, "ops", MON);
    mon.sort();
    assert_eq!(
        mon.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(),
        ["summary_edit", "summary_line"]
    );
    assert!(
        mon[1]
            .1
            .contains("Bo* answered late: K2 12 tickets (at risk)")
            && mon[1].1.contains("queue backlog"),
        "{}",
        mon[1].1
    );
    assert!(
        mon[0].1.contains("2 of 2 answered* (1 late)") && mon[0].1.contains("answered late"),
        "{}",
        mon[0].1
    );
    let tue = in_thread(&sent, "ops", TUE);
    assert!(
        tue.iter()
            .any(|m| m.0 == "summary_line" && m.1.contains("Bo* answered: K2 12")),
        "{tue:?}"
    );
    // Each occurrence was summarised exactly once, whatever was edited since.
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbox WHERE kind = 'checkin_summary'"
        )
        .await,
        2
    );
    let left: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT idempotency_key, kind, state FROM outbox WHERE state NOT IN ('sent', 'dropped')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    // (A reminder found its prompt already missed when finally delivered: dropped.)
    assert!(left.is_empty(), "nothing left behind or dead: {left:?}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_summary_line_waits_for_its_summary_and_skips_edit_it(pool: PgPool) {
    let (app, clock) = clocked(pool.clone(), SMALL_ORG, at("2026-11-16T08:59:00Z")).await;
    let rec = RecordingAdapter::new();
    clock.set(at("2026-11-16T09:00:00Z"));
    run_due(&app, None).await.unwrap();
    // The two prompts go out (one group, queued before the summary); then the summary's
    // own post fails.
    deliver_batch(&app, &rec, "w", 1, None).await.unwrap();
    assert_eq!(rec.attempts(), 2, "ana and bo were prompted");
    shell(&app, "small", "ana", "K1 95\n").await;
    rec.fail_with([AdapterError::Transient("503".into())]);
    let attempts = rec.attempts();
    deliver_batch(&app, &rec, "w", 50, None).await.unwrap();
    assert_eq!(rec.attempts(), attempts + 1, "only the summary was tried");
    let line: (String, i32) =
        sqlx::query_as("SELECT state, attempts FROM outbox WHERE kind = 'summary_line'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(line, ("pending".to_string(), 0), "waiting costs no attempt");
    // Bo skips: the summary is edited (not re-posted).
    let out = shell(&app, "small", "bo", "skip\n").await;
    assert!(out.contains("Skipped"), "{out}");
    clock.advance(Duration::seconds(20));
    let sent = deliver_all(&app, &rec).await;
    let thread = in_thread(&sent, "ops", "check-ins 2026-11-16 09:00");
    let mut kinds: Vec<&str> = thread.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(kinds[0], "checkin_summary", "the summary first: {kinds:?}");
    kinds.sort();
    assert_eq!(kinds, ["checkin_summary", "summary_edit", "summary_line"]);
    let edit = &thread.iter().find(|m| m.0 == "summary_edit").unwrap().1;
    assert!(
        edit.contains("1 of 1 answered") && edit.contains("1 excused"),
        "{edit}"
    );
    // Another organisation cannot read this summary.
    let id: i64 = sqlx::query_scalar("SELECT id FROM checkin_summaries")
        .fetch_one(&pool)
        .await
        .unwrap();
    let org: i64 = sqlx::query_scalar("SELECT org_id FROM checkin_summaries")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        baton::app::summaries::render(&app, org, id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        baton::app::summaries::render(&app, org + 1, id)
            .await
            .unwrap()
            .is_none()
    );
}

/// `(person, state)` of the outbox message of each prompt that left its group on its own.
async fn spilled(pool: &PgPool) -> Vec<(String, String, Option<String>)> {
    sqlx::query_as(
        "SELECT pe.key, o.state, o.last_error FROM outbox o
         JOIN prompts p ON o.idempotency_key = 'prompt:' || p.id
         JOIN people pe ON pe.id = p.person_id ORDER BY o.id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn people_prompted(sent: &[(Target, baton::chat::Outbound)]) -> Vec<String> {
    let mut v: Vec<String> = sent
        .iter()
        .filter(|(_, m)| m.kind == "prompt")
        .map(|(t, _)| match t {
            Target::Person { person } => person.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    v.sort();
    v
}

/// Delivers everything due a minute before `at` (so the next failure scripted hits the
/// prompts), then ticks at `at`.
async fn drain_then_tick(app: &App, clock: &FixedClock, rec: &RecordingAdapter, at: DateTime<Utc>) {
    clock.set(at - Duration::minutes(1));
    run_due(app, None).await.unwrap();
    // Summary edits wait for the end of their 10-second bucket.
    clock.set(at - Duration::seconds(30));
    while deliver_batch(app, rec, "w", 50, None).await.unwrap() > 0 {}
    rec.take();
    clock.set(at);
    run_due(app, None).await.unwrap();
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_group_of_prompts_survives_a_refusal_a_failure_and_a_429(pool: PgPool) {
    // (A worker killed mid fan-out is tested with a real send cut off midway in
    // `outbox::a_group_killed_mid_fan_out_resumes_without_repeating_anyone`.)
    let (app, clock) = clocked(pool.clone(), SMALL_ORG, at("2026-11-16T08:59:00Z")).await;
    let rec = RecordingAdapter::new();
    clock.set(at("2026-11-16T09:00:00Z"));
    run_due(&app, None).await.unwrap();
    assert_eq!(
        count(&pool, "SELECT count(*) FROM outbox WHERE kind = 'prompts'").await,
        1
    );
    while deliver_batch(&app, &rec, "w", 10, None).await.unwrap() > 0 {}
    assert_eq!(people_prompted(&rec.take()), ["ana", "bo"]);

    // Tuesday: Ana cannot be reached for good; Bo is still asked, in the same pass.
    drain_then_tick(&app, &clock, &rec, at("2026-11-17T09:00:00Z")).await;
    rec.fail_with([AdapterError::Permanent("user_not_found".into())]);
    deliver_batch(&app, &rec, "w", 1, None).await.unwrap();
    assert_eq!(people_prompted(&rec.take()), ["bo"]);
    assert_eq!(
        spilled(&pool).await,
        [(
            "ana".to_string(),
            "dead".to_string(),
            Some("permanent failure: user_not_found".to_string())
        )]
    );

    // Wednesday (Bo is away): a transient failure; Ana's prompt is retried on its own.
    drain_then_tick(&app, &clock, &rec, at("2026-11-18T09:00:00Z")).await;
    rec.fail_with([AdapterError::Transient("503".into())]);
    while deliver_batch(&app, &rec, "w", 10, None).await.unwrap() > 0 {}
    let sent = rec.take();
    assert!(people_prompted(&sent).is_empty(), "{sent:?}");
    assert_eq!(spilled(&pool).await[1].1, "pending");
    clock.advance(Duration::seconds(2));
    while deliver_batch(&app, &rec, "w", 10, None).await.unwrap() > 0 {}
    let sent = rec.take();
    assert_eq!(people_prompted(&sent), ["ana"]);
    let key: Vec<&str> = sent
        .iter()
        .filter(|(_, m)| m.kind == "prompt")
        .map(|(_, m)| m.idempotency_key.as_str())
        .collect();
    assert!(key[0].starts_with("prompt:"), "{key:?}");
    assert_eq!(spilled(&pool).await[1].1, "sent");

    // Friday (Thursday is a holiday): a 429 holds the whole group until Retry-After.
    drain_then_tick(&app, &clock, &rec, at("2026-11-20T09:00:00Z")).await;
    rec.fail_with([AdapterError::RateLimited {
        retry_after: StdDuration::from_secs(7),
    }]);
    while deliver_batch(&app, &rec, "w", 10, None).await.unwrap() > 0 {}
    let sent = rec.take();
    assert!(people_prompted(&sent).is_empty(), "{sent:?}");
    clock.advance(Duration::seconds(6));
    while deliver_batch(&app, &rec, "w", 10, None).await.unwrap() > 0 {}
    assert!(people_prompted(&rec.take()).is_empty(), "not before 7 s");
    clock.advance(Duration::seconds(1));
    while deliver_batch(&app, &rec, "w", 10, None).await.unwrap() > 0 {}
    assert_eq!(people_prompted(&rec.take()), ["ana", "bo"]);
    assert_eq!(spilled(&pool).await.len(), 2, "a 429 moves nobody out");
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbox WHERE kind = 'prompts' AND state <> 'sent'"
        )
        .await,
        0
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn metrics_outbox_depth_counts_a_group_of_prompts_once(pool: PgPool) {
    use tower::ServiceExt;
    let (app, clock) = clocked(pool.clone(), SMALL_ORG, at("2026-11-16T08:59:00Z")).await;
    let app = Arc::new(app);
    clock.set(at("2026-11-16T09:00:00Z"));
    run_due(&app, None).await.unwrap();
    // One group row holding both people's prompts, and the day's summary thread.
    let kinds: Vec<String> =
        sqlx::query_scalar("SELECT kind FROM outbox WHERE state = 'pending' ORDER BY kind")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(kinds, ["checkin_summary", "prompts"]);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM prompts WHERE delivered_at IS NULL"
        )
        .await,
        2
    );
    let metrics = || async {
        let state = baton::http::HttpState::new(
            app.clone(),
            Arc::new(baton::metrics::Metrics::new()),
            baton::serve::Shutdown::new(),
        );
        let req = axum::http::Request::get("/metrics")
            .body(axum::body::Body::empty())
            .unwrap();
        let res = baton::http::router(state).oneshot(req).await.unwrap();
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    };
    let depth = |body: &str| {
        body.lines()
            .find_map(|l| l.strip_prefix("baton_outbox_depth "))
            .map(str::to_string)
    };
    // Two messages wait (not three: the group counts once).
    assert_eq!(depth(&metrics().await).as_deref(), Some("2"));
    // Delivered, the group leaves the depth.
    let rec = RecordingAdapter::new();
    while deliver_batch(&app, &rec, "w", 10, None).await.unwrap() > 0 {}
    assert_eq!(people_prompted(&rec.take()), ["ana", "bo"]);
    assert_eq!(depth(&metrics().await).as_deref(), Some("0"));
}
