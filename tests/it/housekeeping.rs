//! Housekeeping (issue 16, part 6): the job bodies on a controlled clock, the claim that
//! lets one replica run each scheduled run, and the scheduler stopping with the service.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use baton::app::housekeeping::retention;
use baton::chat::recording::RecordingAdapter;
use baton::clock::{Clock, FixedClock};
use baton::config::Settings;
use baton::housekeeping::{Event, Housekeeper, JOBS, JobSpec, Task, When};
use baton::metrics::Metrics;
use baton::serve::{Service, ServiceOptions, WorkerOptions};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use crate::common::*;

/// How long a test waits for an event before failing (never a pause that passes time).
const BOUND: StdDuration = StdDuration::from_secs(20);

async fn outbox_row(pool: &PgPool, key: &str, state: &str, created: DateTime<Utc>) {
    let sent = (state == "sent").then_some(created + Duration::minutes(1));
    sqlx::query(
        "INSERT INTO outbox (org_id, idempotency_key, kind, target, payload, state, not_before,
                             created_at, sent_at)
         VALUES (1, $1, 'reply', '{}'::jsonb, '{}'::jsonb, $2, $3, $3, $4)",
    )
    .bind(key)
    .bind(state)
    .bind(created)
    .bind(sent)
    .execute(pool)
    .await
    .unwrap();
}

async fn keys(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT idempotency_key FROM outbox ORDER BY idempotency_key")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn deliveries(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT delivery_id FROM inbound_deliveries ORDER BY delivery_id")
        .fetch_all(pool)
        .await
        .unwrap()
}

fn settings(pool_url: Option<&str>) -> Arc<Settings> {
    let mut s = Settings::default();
    if let Some(u) = pool_url {
        s.database_url = u.to_string();
    }
    Arc::new(s)
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn retention_deletes_only_old_finished_rows(pool: PgPool) {
    let now = now();
    let app = app(pool.clone());
    let old = now - Duration::days(31);
    let young = now - Duration::days(29);
    for (key, state, at) in [
        ("old-sent", "sent", old),
        ("old-dropped", "dropped", old),
        ("old-pending", "pending", old),
        ("old-sending", "sending", old),
        ("old-dead", "dead", old),
        ("young-sent", "sent", young),
        ("young-dropped", "dropped", young),
    ] {
        outbox_row(&pool, key, state, at).await;
    }
    for (id, at) in [("old", old), ("young", young)] {
        assert!(app.store.first_delivery("slack", id, at).await.unwrap());
    }

    let r = retention(&app, now, Duration::days(30)).await.unwrap();

    assert_eq!((r.outbox, r.deliveries), (2, 1), "{r:?}");
    assert_eq!(
        keys(&pool).await,
        [
            "old-dead",
            "old-pending",
            "old-sending",
            "young-dropped",
            "young-sent"
        ]
    );
    assert_eq!(deliveries(&pool).await, ["young"]);
    // A delivery id that is gone counts as new again, which is why only old ones go.
    assert!(
        !app.store
            .first_delivery("slack", "young", now)
            .await
            .unwrap()
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_retention_job_runs_on_the_controlled_clock_with_the_configured_age(pool: PgPool) {
    let clock = Arc::new(FixedClock::new(now()));
    let app = Arc::new(baton::app::App::new(
        baton::store::Store::new(pool.clone()),
        clock.clone(),
    ));
    outbox_row(&pool, "ten-days", "sent", now() - Duration::days(10)).await;
    let mut s = Settings {
        retention_days: std::num::NonZeroU64::new(30).unwrap(),
        ..Settings::default()
    };
    let keeper = Housekeeper::new(app.clone(), Arc::new(s.clone()), "replica-a");
    let job = JOBS.iter().find(|j| j.task == Task::Retention).unwrap();

    let ran = keeper.run_claimed(job, clock.now()).await.unwrap();
    assert!(
        ran.claimed && ran.outcome.starts_with("ok: deleted 0"),
        "{ran:?}"
    );
    assert_eq!(keys(&pool).await, ["ten-days"]);

    // Five days later (a later day's slot), with a 7-day setting: 15 days old, gone.
    clock.advance(Duration::days(5));
    s.retention_days = std::num::NonZeroU64::new(7).unwrap();
    let keeper = Housekeeper::new(app, Arc::new(s), "replica-a");
    let ran = keeper.run_claimed(job, clock.now()).await.unwrap();
    assert!(
        ran.claimed && ran.outcome.starts_with("ok: deleted 1"),
        "{ran:?}"
    );
    assert!(keys(&pool).await.is_empty());
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn each_scheduled_run_is_claimed_by_exactly_one_of_two_replicas(pool: PgPool) {
    let a = Housekeeper::new(Arc::new(app(pool.clone())), settings(None), "replica-a");
    let b = Housekeeper::new(Arc::new(app(pool.clone())), settings(None), "replica-b");
    let job = JOBS.iter().find(|j| j.task == Task::Retention).unwrap();
    // The two fire a few milliseconds apart: the same scheduled run.
    let at = now();
    let (ra, rb) = tokio::join!(
        a.run_claimed(job, at),
        b.run_claimed(job, at + Duration::milliseconds(40))
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.scheduled_at, rb.scheduled_at);
    assert_eq!(
        [ra.claimed, rb.claimed].iter().filter(|c| **c).count(),
        1,
        "{ra:?} {rb:?}"
    );
    let winner = if ra.claimed { "replica-a" } else { "replica-b" };
    let rows: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT job, claimed_by, outcome FROM job_runs")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].0, "retention");
    assert_eq!(rows[0].1, winner);
    assert!(
        rows[0].2.as_deref().unwrap().starts_with("ok: "),
        "{rows:?}"
    );

    // Many claimers at once, on their own connections: still one.
    let slot = job.when.slot(at + Duration::days(1));
    let mut claims = tokio::task::JoinSet::new();
    for n in 0..8 {
        let store = baton::store::Store::new(pool.clone());
        claims.spawn(async move {
            store
                .claim_job_run("retention", slot, &format!("replica-{n}"), slot)
                .await
                .unwrap()
        });
    }
    let won = claims.join_all().await.into_iter().filter(|w| *w).count();
    assert_eq!(won, 1);
}

/// A job firing every second, so the scheduler visibly runs it.
const PROBE: &[JobSpec] = &[JobSpec {
    name: "probe",
    when: When::EverySecond,
    task: Task::IdleReviewSweep,
}];

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_scheduler_runs_jobs_and_stops_with_the_service(pool: PgPool) {
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    let (tx, mut events) = mpsc::unbounded_channel();
    let keeper =
        Arc::new(Housekeeper::new(app.clone(), settings(None), "replica-a").with_events(tx));
    let opts = ServiceOptions {
        workers: 0,
        tick: StdDuration::from_secs(60),
        grace: BOUND,
        worker: WorkerOptions::default(),
        worker_prefix: "worker-test".into(),
    };
    let service = Service::new(
        app,
        Arc::new(Metrics::new()),
        Arc::new(RecordingAdapter::new()),
        opts,
    )
    .without_ticker()
    .with_housekeeping(keeper, PROBE);
    let (stop, signal) = oneshot::channel::<()>();
    let running = tokio::spawn(service.run_until(async move {
        let _ = signal.await;
    }));

    // The scheduler fired the job, which claimed its run (the clock is fixed, so every
    // later firing finds its run taken).
    let first = tokio::time::timeout(BOUND, events.recv())
        .await
        .expect("the probe ran")
        .unwrap();
    match first {
        Event::Ran(r) => {
            assert!(r.claimed && r.outcome.starts_with("ok: "), "{r:?}");
            assert_eq!(r.scheduled_at, now());
        }
        other => panic!("expected a run, got {other:?}"),
    }

    // SIGTERM (the service's signal): the scheduler is shut down and the service returns.
    stop.send(()).unwrap();
    tokio::time::timeout(BOUND, running)
        .await
        .expect("the service stopped within the bound")
        .unwrap()
        .expect("clean stop");
    let mut stopped = false;
    while let Ok(e) = events.try_recv() {
        if e == Event::Stopped {
            stopped = true;
        }
    }
    assert!(stopped, "the scheduler's shutdown was not called");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_self_check_counts_dead_letters_and_the_unreachable(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    outbox_row(&pool, "parked", "dead", now()).await;
    let report = baton::doctor::self_check(&app, &Settings::default(), now()).await;
    let text = report.render();
    assert!(text.contains("✔ migrations: all"), "{text}");
    assert!(text.contains("✔ organisation northwind"), "{text}");
    assert!(text.contains("✖ outbox: 1 dead letter(s)"), "{text}");
    assert!(text.contains("people:"), "{text}");
    assert!(!report.ok());

    // The job's body logs it and says how many failed.
    let keeper = Housekeeper::new(Arc::new(app), settings(None), "replica-a");
    let summary = keeper.run_task(Task::SelfCheck, now()).await.unwrap();
    assert!(
        summary.contains("failed") && !summary.contains(" 0 failed"),
        "{summary}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_idle_review_sweep_slot_runs(pool: PgPool) {
    let app = Arc::new(app_with(pool, &example_spec()).await);
    let keeper = Housekeeper::new(app, settings(None), "replica-a");
    let job = JOBS.iter().find(|j| j.name == "idle-review-sweep").unwrap();
    assert_eq!(job.when, When::EveryMinutes(5));
    let ran = keeper.run_claimed(job, now()).await.unwrap();
    assert!(ran.claimed && ran.outcome.starts_with("ok: "), "{ran:?}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_idle_review_sweep_closes_a_review_left_running(pool: PgPool) {
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    shell(&app, "northwind", "priya", "review start tactical sales\n").await;
    let keeper = Housekeeper::new(app.clone(), settings(None), "replica-a");
    let job = JOBS.iter().find(|j| j.name == "idle-review-sweep").unwrap();
    let running = "SELECT count(*) FROM reviews WHERE status = 'running'";
    // Eleven hours on: not idle yet.
    let ran = keeper
        .run_claimed(job, now() + Duration::hours(11))
        .await
        .unwrap();
    assert_eq!(ran.outcome, "ok: 0 idle review(s) closed", "{ran:?}");
    assert_eq!(count(&pool, running).await, 1);
    // Twelve hours and five minutes without a move: the sweep closes it, once.
    let at = now() + Duration::hours(12) + Duration::minutes(5);
    let ran = keeper.run_claimed(job, at).await.unwrap();
    assert_eq!(ran.outcome, "ok: 1 idle review(s) closed", "{ran:?}");
    assert_eq!(count(&pool, running).await, 0);
    let ended: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, end_reason FROM reviews")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(ended, vec![("ended".to_string(), Some("idle".to_string()))]);
    let summaries = count(
        &pool,
        "SELECT count(*) FROM outbox WHERE idempotency_key LIKE '%review:%:summary:%'",
    )
    .await;
    assert_eq!(
        summaries, 2,
        "the summary goes to the thread and the channel"
    );
}
