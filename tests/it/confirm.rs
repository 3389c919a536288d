//! Suspicious figures are confirmed, not swallowed: through the shell (`yes`, `no`,
//! something else, a timeout, a restart in between). The same buttons from Slack and
//! Discord are in `inbound.rs`.

use std::sync::Arc;

use baton::app::App;
use baton::clock::FixedClock;
use baton::store::Store;
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::common::*;

/// Kofi's S1 runs from 60 % to 85 %: figures from 60 to 97.5 are taken without a question.
async fn checkins_of_s1(pool: &PgPool) -> Vec<f64> {
    sqlx::query_scalar(
        "SELECT c.value FROM checkins c JOIN key_results k ON k.id = c.key_result_id
         WHERE k.code = 'S1' ORDER BY c.id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-16T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_figure_below_the_start_is_recorded_only_after_yes(pool: PgPool) {
    let clock = Arc::new(FixedClock::new(start()));
    let app = app_at(pool.clone(), &example_spec(), clock.clone()).await;
    // Asked, not recorded; `yes` records it, with its confidence and note.
    let out = said(
        &app,
        "northwind",
        "kofi",
        "S1 42 on track: new cohort\nyes\n",
    )
    .await;
    assert!(out.contains("Is S1 = 42% right?"), "{out}");
    assert!(
        out.contains("below the start (60)") && out.contains("from 60% to 97.5%"),
        "{out}"
    );
    assert!(out.contains("[1 Yes, it is correct] [2 No]"), "{out}");
    assert!(out.contains("✔ Recorded S1 = 42%"), "{out}");
    assert_eq!(checkins_of_s1(&pool).await, vec![42.0]);
    let (conf, note): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT confidence, note FROM checkins ORDER BY id DESC LIMIT 1")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (conf.as_deref(), note.as_deref()),
        (Some("on_track"), Some("new cohort"))
    );
    // Pressing the button in the shell works like `yes`; a second yes finds nothing.
    let out = said(&app, "northwind", "kofi", "S1 120\npress 1\nyes\n").await;
    assert!(out.contains("more than half the distance"), "{out}");
    assert!(out.contains("✔ Recorded S1 = 120%"), "{out}");
    assert!(
        out.contains("No figure of yours is waiting for a yes"),
        "{out}"
    );
    assert_eq!(checkins_of_s1(&pool).await, vec![42.0, 120.0]);
    // A plausible figure is recorded at once.
    let out = said(&app, "northwind", "kofi", "S1 70\n").await;
    assert!(out.contains("✔ Recorded S1 = 70%"), "{out}");
    assert_eq!(checkins_of_s1(&pool).await.len(), 3);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn no_another_answer_or_a_timeout_records_nothing(pool: PgPool) {
    let clock = Arc::new(FixedClock::new(start()));
    let app = app_at(pool.clone(), &example_spec(), clock.clone()).await;
    // `no` drops it.
    let out = said(&app, "northwind", "kofi", "S1 42\nno\nyes\n").await;
    assert!(out.contains("Dropped: S1 = 42 was not recorded."), "{out}");
    assert!(out.contains("No figure of yours is waiting"), "{out}");
    // Another figure in between is a different answer: the yes records nothing. (Reading
    // something in between is not an answer.)
    let out = said(
        &app,
        "northwind",
        "kofi",
        "S1 42\nstatus success\nS2 10\nyes\n",
    )
    .await;
    assert!(out.contains("✔ Recorded S2 = 10 days"), "{out}");
    assert!(
        out.contains(
            "You recorded another figure after the question, so S1 = 42 was not recorded."
        ),
        "{out}"
    );
    // A different figure replaces it: only the new one can be confirmed.
    let out = said(&app, "northwind", "kofi", "S1 42\nS1 43\n").await;
    assert!(out.contains("Is S1 = 43% right?"), "{out}");
    // Ten minutes without an answer: too late.
    clock.advance(Duration::minutes(10));
    let out = said(&app, "northwind", "kofi", "yes\n").await;
    assert!(
        out.contains("That question expired after 10 minutes: S1 = 43 was not recorded."),
        "{out}"
    );
    assert!(checkins_of_s1(&pool).await.is_empty());
    assert_eq!(
        count(&pool, "SELECT count(*) FROM pending_figures").await,
        0
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM checkins").await,
        1,
        "S2 only"
    );
    // Someone who may not check in on S1 is refused, not asked.
    let out = said(&app, "northwind", "tom", "S1 42\n").await;
    assert!(
        out.contains("you can check in only on key results"),
        "{out}"
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM pending_figures").await,
        0
    );
    // Figures far beyond any reading are still refused outright.
    let out = said(&app, "northwind", "kofi", "S1 7200\n").await;
    assert!(out.contains("implausible"), "{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_question_outlives_a_restart(pool: PgPool) {
    let clock = Arc::new(FixedClock::new(start()));
    let app = app_at(pool.clone(), &example_spec(), clock.clone()).await;
    let out = said(&app, "northwind", "kofi", "S1 42 at risk\n").await;
    assert!(out.contains("Is S1 = 42% right?"), "{out}");
    drop(app);
    // A new process on the same database.
    clock.advance(Duration::minutes(3));
    let app = App::new(Store::new(pool.clone()), clock.clone());
    let out = said(&app, "northwind", "kofi", "yes\n").await;
    assert!(out.contains("✔ Recorded S1 = 42% · at risk"), "{out}");
    assert_eq!(checkins_of_s1(&pool).await, vec![42.0]);
}

/// What the shell printed, with its 80-column wrapping undone (sentences compare whole).
async fn said(app: &baton::app::App, org: &str, person: &str, script: &str) -> String {
    flat(&shell(app, org, person, script).await)
}
