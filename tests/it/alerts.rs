//! Dependency alerts on a controlled clock: every trigger, one alert per dependency listing
//! its conditions (updated in place, closed when none is left), dense numbers per
//! organisation, once across two replicas, clear and reopen, escalation timing, notes, and
//! who may act on them.

use std::sync::Arc;

use baton::app::App;
use baton::app::alerts::evaluate;
use baton::chat::Target;
use baton::chat::recording::RecordingAdapter;
use baton::clock::{Clock, FixedClock};
use baton::outbox::deliver_batch;
use baton::store::Store;
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::common::*;

const ORG: &str = r#"
organisation: { key: deps, name: Deps Co, time_zone: Europe/London }
people:
  - { key: hedy, name: Hedy, time_zone: Europe/London }
  - { key: pat, name: Pat, time_zone: Europe/London }
  - { key: sam, name: Sam, time_zone: Europe/London }
  - { key: olly, name: Olly, time_zone: Europe/London }
  - { key: eve, name: Eve, time_zone: Europe/London }
departments:
  - { key: company, name: Deps Co, heads: [hedy] }
  - { key: product, name: Product, parent: company, heads: [hedy], members: [pat], cadences: { checkin: "weekly on mon at 09:00" } }
  - { key: sales, name: Sales, parent: company, heads: [sam], members: [olly], channels: { slack: C0SALES } }
  - { key: marketing, name: Marketing, parent: company, heads: [eve] }
cycles:
  - { key: q4, start: 2026-11-01, end: 2026-12-31 }
objectives:
  - code: PO
    title: Ship SSO
    level: department
    department: product
    owner: hedy
    cycle: q4
    key_results:
      - { code: PK1, title: SSO rollout, unit: "%", start: 0, target: 100, owner: pat }
  - code: SO
    title: Sell to the mid-market
    level: department
    department: sales
    owner: sam
    cycle: q4
    key_results:
      - { code: SK1, title: Deals, unit: deals, start: 0, target: 10, owner: sam }
dependencies:
  - key: sales-needs-sso
    description: Mid-market deals need SSO
    dependent: { department: sales, ref: SO }
    provider: { department: product, ref: PK1 }
    importance: critical
    needed_by: 2026-12-15
"#;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The manifest applied when the cycle opens (nothing can hold yet), then the clock at
/// `start`.
async fn setup(pool: PgPool, start: &str) -> (App, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(at("2026-11-01T00:00:00Z")));
    let app = App::new(Store::new(pool), clock.clone());
    let spec = baton::manifest::parse_manifest("deps.yaml", ORG).expect("valid manifest");
    baton::app::apply::apply(&app, &spec, false)
        .await
        .expect("apply");
    clock.set(at(start));
    (app, clock)
}

/// The open alerts: (number, their open conditions joined with `+`).
async fn open(pool: &PgPool) -> Vec<(i64, String)> {
    sqlx::query_as(
        "SELECT a.number, string_agg(c.condition, '+' ORDER BY c.condition)
         FROM alerts a JOIN alert_conditions c ON c.alert_id = a.id AND c.cleared_at IS NULL
         WHERE a.closed_at IS NULL GROUP BY a.id ORDER BY a.number",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Every alert number of organisation `org`, in order.
async fn numbers(pool: &PgPool, org: i64) -> Vec<i64> {
    sqlx::query_scalar("SELECT number FROM alerts WHERE org_id = $1 ORDER BY number")
        .bind(org)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// What was delivered, with each message's kind (`reply`, `alert_edit`…).
async fn delivered_kinds(app: &App, rec: &RecordingAdapter) -> Vec<(Target, String, String)> {
    while deliver_batch(app, rec, "w", 50, None).await.unwrap() > 0 {}
    rec.take()
        .into_iter()
        .map(|(t, m)| {
            (
                t,
                m.kind.clone(),
                baton::bot::render::text::render(&m.reply),
            )
        })
        .collect()
}

async fn delivered(app: &App, rec: &RecordingAdapter) -> Vec<(Target, String)> {
    while deliver_batch(app, rec, "w", 50, None).await.unwrap() > 0 {}
    rec.take()
        .into_iter()
        .map(|(t, m)| (t, baton::bot::render::text::render(&m.reply)))
        .collect()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn behind_is_raised_once_cleared_in_its_thread_and_reopened_as_new(pool: PgPool) {
    // Mid-November: 25 % of the cycle gone.
    let (app, clock) = setup(pool.clone(), "2026-11-16T10:00:00Z").await;
    let rec = RecordingAdapter::new();
    let out = shell(&app, "deps", "pat", "PK1 5 off track: vendor slipped\n").await;
    assert!(out.contains("Recorded PK1"), "{out}");
    assert_eq!(open(&pool).await, vec![(1, "behind".to_string())]);
    let msgs = delivered(&app, &rec).await;
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    let (to_thread, text) = &msgs[0];
    assert_eq!(
        *to_thread,
        Target::Thread {
            department: "sales".into(),
            thread: "alert-1".into()
        }
    );
    assert!(
        text.contains("⚠ Dependency alert #1: sales-needs-sso"),
        "{text}"
    );
    assert!(
        text.contains("Sales relies on Product's PK1 “SSO rollout” (critical importance)"),
        "{text}"
    );
    assert!(text.contains("PK1 is off track"), "{text}");
    assert!(text.contains("Needed by: 2026-12-15"), "{text}");
    assert!(text.contains("Suggested coordination rhythm"), "{text}");
    assert!(
        text.contains("[Acknowledge] [Post update] [Resolve]"),
        "{text}"
    );
    assert!(
        text.contains("vendor slipped"),
        "the trend shows the check-in: {text}"
    );
    assert_eq!(
        msgs[1].0,
        Target::Person {
            person: "pat".into()
        },
        "DM to the provider's owner"
    );
    // Still off track: no new alert, no new message.
    shell(&app, "deps", "pat", "PK1 6 off track\n").await;
    evaluate(&app, 1).await.unwrap();
    assert_eq!(open(&pool).await.len(), 1);
    assert!(delivered(&app, &rec).await.is_empty());
    // Back on track: the same thread says so, the alert closes, its first message is
    // edited to say so, and the person whose check-in cleared it is told.
    let out = shell(&app, "deps", "pat", "PK1 40 on track\n").await;
    assert!(
        out.contains("Your check-in cleared dependency alert #1"),
        "{out}"
    );
    assert!(open(&pool).await.is_empty());
    let msgs = delivered_kinds(&app, &rec).await;
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    let thread1 = Target::Thread {
        department: "sales".into(),
        thread: "alert-1".into(),
    };
    assert!(msgs.iter().all(|(t, _, _)| *t == thread1), "{msgs:?}");
    assert!(
        msgs[0].2.contains("Cleared by Pat's check-in on PK1")
            && msgs[0].2.contains("alert #1 is closed"),
        "{}",
        msgs[0].2
    );
    assert_eq!(msgs[1].1, "alert_edit");
    assert!(msgs[1].2.contains("(closed: cleared)"), "{}", msgs[1].2);
    assert!(!msgs[1].2.contains("[Acknowledge]"), "{}", msgs[1].2);
    // It comes back: a new alert, not the old one.
    clock.advance(Duration::hours(1));
    shell(&app, "deps", "pat", "PK1 41 off track\n").await;
    let reopened = open(&pool).await;
    assert_eq!(reopened.len(), 1);
    assert_eq!(reopened[0].1, "behind");
    assert_eq!(
        reopened[0].0, 2,
        "a new alert, the next number: {reopened:?}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn blocker_stale_overdue_and_declared_join_the_dependencys_one_alert(pool: PgPool) {
    let (app, clock) = setup(pool.clone(), "2026-11-16T10:00:00Z").await;
    shell(
        &app,
        "deps",
        "pat",
        "PK1 30 on track: fine; blocker: waiting on the IdP vendor\n",
    )
    .await;
    assert_eq!(open(&pool).await, vec![(1, "blocker".to_string())]);
    let detail: String = sqlx::query_scalar("SELECT detail FROM alert_conditions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        detail.contains("waiting on the IdP vendor") && detail.contains("Pat"),
        "{detail}"
    );
    // A member of the dependent department declares it blocked: the same alert.
    let out = shell(
        &app,
        "deps",
        "olly",
        "blocked sales-needs-sso no SCIM yet\nblocked sales-needs-sso again\nblocked nowhere x\n",
    )
    .await;
    assert!(
        out.contains("Alert #1 on `sales-needs-sso` now also says it is blocked"),
        "{out}"
    );
    assert!(out.contains("already declared blocked (alert #1)"), "{out}");
    assert!(out.contains("There is no dependency `nowhere`"), "{out}");
    let out = shell(&app, "deps", "eve", "blocked sales-needs-sso not mine\n").await;
    assert!(out.contains("Only people of sales or product"), "{out}");
    assert_eq!(open(&pool).await, vec![(1, "blocker+declared".to_string())]);
    // Two weeks pass with no check-in: stale (the product cadence is weekly).
    clock.set(at("2026-12-01T10:00:00Z"));
    baton::app::schedule::run_due(&app, None).await.unwrap();
    let conds = open(&pool).await;
    assert_eq!(conds.len(), 1, "{conds:?}");
    assert!(conds[0].1.contains("stale"), "{conds:?}");
    // The needed-by date passes unfinished: overdue, still on alert #1.
    clock.set(at("2026-12-16T10:00:00Z"));
    baton::app::schedule::run_due(&app, None).await.unwrap();
    let conds = open(&pool).await;
    assert_eq!(conds.len(), 1, "{conds:?}");
    assert!(
        conds[0].1.contains("overdue") && conds[0].1.contains("declared"),
        "declared conditions stay until resolved: {conds:?}"
    );
    assert_eq!(numbers(&pool, 1).await, vec![1], "one alert, one number");
    // The board shows it.
    let out = shell(&app, "deps", "sam", "deps\n").await;
    assert!(
        out.contains("#1 ") && out.contains("declared") && out.contains("overdue"),
        "{out}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn one_alert_lists_its_conditions_and_is_updated_in_place(pool: PgPool) {
    let (app, clock) = setup(pool.clone(), "2026-11-16T10:00:00Z").await;
    let rec = RecordingAdapter::new();
    // Behind and blocked at once: one alert, announced once (thread and owner).
    shell(
        &app,
        "deps",
        "pat",
        "PK1 5 off track: slipping; blocker: no IdP contract\n",
    )
    .await;
    assert_eq!(open(&pool).await, vec![(1, "behind+blocker".to_string())]);
    let msgs = delivered_kinds(&app, &rec).await;
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    let text = &msgs[0].2;
    assert!(text.contains("Open conditions:"), "{text}");
    assert!(
        text.contains("It is behind: PK1 is off track")
            && text.contains("It reports a blocker: PK1: no IdP contract"),
        "{text}"
    );
    // The blocker clears, the figure is still off track: the alert stays, its first message
    // is edited in place and the thread hears what changed.
    clock.advance(Duration::hours(1));
    let out = shell(&app, "deps", "pat", "PK1 6 off track\n").await;
    assert!(!out.contains("cleared dependency alert"), "{out}");
    assert_eq!(open(&pool).await, vec![(1, "behind".to_string())]);
    let msgs = delivered_kinds(&app, &rec).await;
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert_eq!(msgs[0].1, "reply");
    assert!(
        msgs[0]
            .2
            .contains("No longer: it reports a blocker (cleared by Pat's check-in on PK1)"),
        "{}",
        msgs[0].2
    );
    assert_eq!(msgs[1].1, "alert_edit");
    assert!(
        msgs[1].2.contains("Open condition:") && !msgs[1].2.contains("no IdP contract"),
        "{}",
        msgs[1].2
    );
    // A condition joins: the same alert again.
    clock.advance(Duration::hours(1));
    shell(
        &app,
        "deps",
        "pat",
        "PK1 6 off track: still slipping; blocker: legal review\n",
    )
    .await;
    assert_eq!(open(&pool).await, vec![(1, "behind+blocker".to_string())]);
    let msgs = delivered_kinds(&app, &rec).await;
    assert!(
        msgs.iter()
            .any(|(_, k, m)| k == "reply" && m.contains("Now also: it reports a blocker")),
        "{msgs:?}"
    );
    assert!(
        msgs.iter()
            .any(|(_, k, m)| k == "alert_edit" && m.contains("legal review")),
        "{msgs:?}"
    );
    // Both clear at once: closed.
    clock.advance(Duration::hours(1));
    let out = shell(&app, "deps", "pat", "PK1 45 on track\n").await;
    assert!(
        out.contains("Your check-in cleared dependency alert #1"),
        "{out}"
    );
    assert!(open(&pool).await.is_empty());
    assert_eq!(numbers(&pool, 1).await, vec![1]);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn alert_numbers_are_dense_per_organisation_and_never_skip(pool: PgPool) {
    let (app, clock) = setup(pool.clone(), "2026-11-16T10:00:00Z").await;
    shell(&app, "deps", "pat", "PK1 5 off track\n").await;
    // An hour of ticks while the condition holds takes no numbers.
    for _ in 0..60 {
        clock.advance(Duration::minutes(1));
        evaluate(&app, 1).await.unwrap();
    }
    shell(&app, "deps", "pat", "PK1 40 on track\n").await;
    shell(&app, "deps", "pat", "PK1 3 off track\n").await;
    for _ in 0..10 {
        evaluate(&app, 1).await.unwrap();
    }
    assert_eq!(numbers(&pool, 1).await, vec![1, 2]);
    // Another organisation counts from 1.
    let other = ORG.replace("key: deps, name: Deps Co", "key: other, name: Other Co");
    let spec = baton::manifest::parse_manifest("other.yaml", &other).expect("valid manifest");
    baton::app::apply::apply(&app, &spec, false)
        .await
        .expect("apply");
    let out = shell(&app, "other", "pat", "PK1 5 off track\n").await;
    assert!(out.contains("Recorded PK1"), "{out}");
    let org2: i64 = sqlx::query_scalar("SELECT id FROM organisations WHERE key = 'other'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(numbers(&pool, org2).await, vec![1]);
    let out = shell(&app, "other", "pat", "ack 1\n").await;
    assert!(out.contains("Acknowledged alert #1"), "{out}");
    // The first organisation's alert #1 is closed and its #2 still unacknowledged.
    let acked: Vec<(i64, bool)> = sqlx::query_as(
        "SELECT number, acknowledged_at IS NOT NULL FROM alerts WHERE org_id = 1 ORDER BY number",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(acked, vec![(1, false), (2, false)]);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn an_update_note_records_no_checkin_and_leaves_a_blocker_alert_open(pool: PgPool) {
    let (app, _clock) = setup(pool.clone(), "2026-11-16T10:00:00Z").await;
    let rec = RecordingAdapter::new();
    shell(
        &app,
        "deps",
        "pat",
        "PK1 30 on track: fine; blocker: waiting on the IdP vendor\n",
    )
    .await;
    delivered(&app, &rec).await;
    let out = shell(
        &app,
        "deps",
        "pat",
        "update 1 vendor call moved to Friday\n",
    )
    .await;
    assert!(
        out.contains("Noted on alert #1: vendor call moved to Friday"),
        "{out}"
    );
    assert!(out.contains("No check-in was recorded"), "{out}");
    assert_eq!(count(&pool, "SELECT count(*) FROM checkins").await, 1);
    assert_eq!(open(&pool).await, vec![(1, "blocker".to_string())]);
    let notes: Vec<String> = sqlx::query_scalar("SELECT note FROM alert_notes")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(notes, vec!["vendor call moved to Friday".to_string()]);
    let msgs = delivered(&app, &rec).await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert!(
        msgs[0]
            .1
            .contains("Note from Pat on alert #1: vendor call moved to Friday"),
        "{}",
        msgs[0].1
    );
    // Someone outside both departments may not post to it.
    let out = shell(&app, "deps", "eve", "update 1 hello\n").await;
    assert!(out.contains("Only Product's people"), "{out}");
    assert_eq!(count(&pool, "SELECT count(*) FROM alert_notes").await, 1);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn two_replicas_raise_and_announce_once(pool: PgPool) {
    let (a, clock) = setup(pool.clone(), "2026-11-16T10:00:00Z").await;
    let opts = (*pool.connect_options()).clone();
    let pool_b = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect_with(opts)
        .await
        .unwrap();
    let b = App::new(Store::new(pool_b), clock.clone());
    // A figure lands without triggering evaluation in this process (written directly).
    sqlx::query(
        "UPDATE key_results SET current_value = 2, current_confidence = 'off_track', current_at = $1, current_checkin_id = 0
         WHERE code = 'PK1'",
    )
    .bind(clock.now())
    .execute(&pool)
    .await
    .unwrap();
    for _ in 0..5 {
        let (ra, rb) = tokio::join!(evaluate(&a, 1), evaluate(&b, 1));
        ra.unwrap();
        rb.unwrap();
    }
    assert_eq!(open(&pool).await.len(), 1);
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM outbox WHERE idempotency_key LIKE 'alert:%'"
        )
        .await,
        2
    );
    // Both replicas deliver at once; what reaches the platform is counted per key.
    let (rec_a, rec_b) = (RecordingAdapter::new(), RecordingAdapter::new());
    loop {
        let (da, db) = tokio::join!(
            deliver_batch(&a, &rec_a, "replica-a", 1, None),
            deliver_batch(&b, &rec_b, "replica-b", 1, None)
        );
        if da.unwrap() + db.unwrap() == 0 {
            break;
        }
    }
    let mut per_key = std::collections::HashMap::new();
    for (_, m) in rec_a.sent().into_iter().chain(rec_b.sent()) {
        *per_key.entry(m.idempotency_key).or_insert(0) += 1;
    }
    let alerts: Vec<_> = per_key
        .iter()
        .filter(|(k, _)| k.starts_with("alert:"))
        .collect();
    assert_eq!(alerts.len(), 2, "{per_key:?}");
    assert!(per_key.values().all(|n| *n == 1), "{per_key:?}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn unacknowledged_alerts_escalate_after_two_working_days(pool: PgPool) {
    // Friday 20 November 10:00: the alert opens.
    let (app, clock) = setup(pool.clone(), "2026-11-20T10:00:00Z").await;
    let rec = RecordingAdapter::new();
    shell(&app, "deps", "pat", "PK1 1 off track\n").await;
    delivered(&app, &rec).await;
    // Monday (one working day later): not yet.
    clock.set(at("2026-11-23T10:30:00Z"));
    evaluate(&app, 1).await.unwrap();
    assert!(delivered(&app, &rec).await.is_empty());
    // Tuesday 09:59: still not two full working days.
    clock.set(at("2026-11-24T09:59:00Z"));
    evaluate(&app, 1).await.unwrap();
    assert!(delivered(&app, &rec).await.is_empty());
    // Tuesday 10:00: escalated to the provider's head, once.
    clock.set(at("2026-11-24T10:00:00Z"));
    evaluate(&app, 1).await.unwrap();
    evaluate(&app, 1).await.unwrap();
    let msgs = delivered(&app, &rec).await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(
        msgs[0].0,
        Target::Person {
            person: "hedy".into()
        }
    );
    assert!(
        msgs[0].1.contains("Escalated to you as head of Product"),
        "{}",
        msgs[0].1
    );
    // An acknowledged alert does not escalate.
    shell(&app, "deps", "pat", "PK1 50 on track\n").await;
    clock.advance(Duration::hours(1));
    shell(&app, "deps", "pat", "PK1 3 off track\n").await;
    let id = open(&pool).await[0].0;
    let out = shell(&app, "deps", "pat", &format!("ack {id}\n")).await;
    assert!(out.contains(&format!("Acknowledged alert #{id}")), "{out}");
    clock.advance(Duration::days(7));
    evaluate(&app, 1).await.unwrap();
    let escalated: i64 =
        sqlx::query_scalar("SELECT count(*) FROM alerts WHERE escalated_at IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(escalated, 1);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn an_escalation_waits_for_the_heads_working_hours(pool: PgPool) {
    // The provider's head works in Sydney: two working days after Friday 10:00 London is
    // Tuesday 10:00 London, 21:00 in Sydney, after work there.
    let clock = Arc::new(FixedClock::new(at("2026-11-01T00:00:00Z")));
    let app = App::new(Store::new(pool.clone()), clock.clone());
    let manifest = ORG.replace(
        "{ key: hedy, name: Hedy, time_zone: Europe/London }",
        "{ key: hedy, name: Hedy, time_zone: Australia/Sydney }",
    );
    let spec = baton::manifest::parse_manifest("deps.yaml", &manifest).unwrap();
    baton::app::apply::apply(&app, &spec, false).await.unwrap();
    clock.set(at("2026-11-20T10:00:00Z"));
    let rec = RecordingAdapter::new();
    shell(&app, "deps", "pat", "PK1 1 off track\n").await;
    delivered(&app, &rec).await;
    for t in ["2026-11-24T10:00:00Z", "2026-11-24T21:59:00Z"] {
        clock.set(at(t));
        evaluate(&app, 1).await.unwrap();
        assert!(delivered(&app, &rec).await.is_empty(), "escalated at {t}");
    }
    // Wednesday 09:00 in Sydney (22:00Z on Tuesday): escalated, once.
    clock.set(at("2026-11-24T22:00:00Z"));
    evaluate(&app, 1).await.unwrap();
    evaluate(&app, 1).await.unwrap();
    let msgs = delivered(&app, &rec).await;
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    assert_eq!(
        msgs[0].0,
        Target::Person {
            person: "hedy".into()
        }
    );
    assert!(msgs[0].1.contains("Escalated to you"), "{}", msgs[0].1);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn only_the_providers_people_and_heads_act_and_resolve_holds(pool: PgPool) {
    let (app, _clock) = setup(pool.clone(), "2026-11-16T10:00:00Z").await;
    let rec = RecordingAdapter::new();
    shell(&app, "deps", "pat", "PK1 4 off track\n").await;
    delivered(&app, &rec).await;
    let out = shell(&app, "deps", "eve", "ack 1\nresolve 1\n").await;
    assert_eq!(
        out.matches("Only Product's people and the heads of either department")
            .count(),
        2,
        "{out}"
    );
    let out = shell(&app, "deps", "olly", "ack 1\n").await;
    assert!(
        out.contains("Only Product's people"),
        "a dependent member may not: {out}"
    );
    let out = shell(&app, "deps", "sam", "ack 1\nack 1\nack 99\nack x\n").await;
    assert!(out.contains("Acknowledged alert #1"), "{out}");
    assert!(out.contains("already acknowledged"), "{out}");
    assert!(out.contains("There is no alert #99"), "{out}");
    assert!(out.contains("`x` is not an alert number"), "{out}");
    // Post update: a note against the current figure, then a check-in.
    let out = shell(
        &app,
        "deps",
        "pat",
        "update 1 vendor call tomorrow\nupdate 1 PK1 9 at risk: vendor found\n",
    )
    .await;
    assert_eq!(
        out.matches("Posted to the thread of alert #1").count(),
        2,
        "{out}"
    );
    let values: Vec<f64> = sqlx::query_scalar("SELECT value FROM checkins ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(values, vec![4.0, 9.0], "a note is not a check-in");
    let msgs = delivered(&app, &rec).await;
    assert!(msgs.iter().any(|(t, m)| *t
        == Target::Thread {
            department: "sales".into(),
            thread: "alert-1".into()
        }
        && m.contains("Update from Pat")));
    // Resolve while still behind: closed, and not raised again until it clears.
    let out = shell(
        &app,
        "deps",
        "pat",
        "resolve 1 tracked in the weekly sync\nresolve 1\n",
    )
    .await;
    assert!(out.contains("Resolved alert #1"), "{out}");
    assert!(out.contains("already closed"), "{out}");
    evaluate(&app, 1).await.unwrap();
    assert!(
        open(&pool).await.is_empty(),
        "suppressed while the condition holds"
    );
    shell(&app, "deps", "pat", "PK1 60 on track\n").await;
    shell(&app, "deps", "pat", "PK1 5 off track\n").await;
    assert_eq!(
        open(&pool).await.len(),
        1,
        "after clearing once, a new condition raises again"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_manifest_apply_judges_the_dependencies_at_once(pool: PgPool) {
    // Product's key result has a fresh, on-pace figure; then the needed-by date moves into
    // the past in the manifest: the dependency is overdue on that apply, before any tick.
    let (app, clock) = setup(pool.clone(), "2026-11-10T10:00:00Z").await;
    let out = shell(&app, "deps", "pat", "PK1 90 on track\n").await;
    assert!(out.contains("Recorded PK1"), "{out}");
    assert_eq!(open(&pool).await, vec![]);
    let earlier = ORG.replace("needed_by: 2026-12-15", "needed_by: 2026-11-09");
    let spec = baton::manifest::parse_manifest("deps.yaml", &earlier).expect("valid manifest");
    baton::app::apply::apply(&app, &spec, false)
        .await
        .expect("apply");
    assert_eq!(open(&pool).await, vec![(1, "overdue".to_string())]);
    // Moving the date out again clears it on that apply, again with no tick.
    clock.set(at("2026-11-10T11:00:00Z"));
    let later = ORG.replace("needed_by: 2026-12-15", "needed_by: 2026-12-30");
    let spec = baton::manifest::parse_manifest("deps.yaml", &later).expect("valid manifest");
    baton::app::apply::apply(&app, &spec, false)
        .await
        .expect("apply");
    assert_eq!(open(&pool).await, vec![]);
    let closed: Vec<(i64, String)> =
        sqlx::query_as("SELECT number, closed_reason FROM alerts WHERE closed_at IS NOT NULL")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(closed, vec![(1, "cleared".to_string())]);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_checkin_on_a_non_provider_leaves_other_dependencies_alone(pool: PgPool) {
    // After the needed-by date, but evaluated only by check-ins (no tick, no apply since):
    // a check-in on Sales' own key result is not a provider, so nothing is judged; one on
    // the provider judges its dependency, overdue included.
    let (app, clock) = setup(pool.clone(), "2026-12-14T10:00:00Z").await;
    let out = shell(&app, "deps", "pat", "PK1 90 on track\n").await;
    assert!(out.contains("Recorded PK1"), "{out}");
    assert_eq!(open(&pool).await, vec![]);
    clock.set(at("2026-12-16T10:00:00Z"));
    let out = shell(&app, "deps", "sam", "SK1 3 on track\n").await;
    assert!(out.contains("Recorded SK1"), "{out}");
    assert_eq!(open(&pool).await, vec![]);
    let out = shell(&app, "deps", "pat", "PK1 92 on track\n").await;
    assert!(out.contains("Recorded PK1"), "{out}");
    assert_eq!(open(&pool).await, vec![(1, "overdue".to_string())]);
}
