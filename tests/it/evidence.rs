//! Is the strategy working? `map --evidence`, `evidence [link]` and the forecasts in `kr`,
//! `status <dept>` and the strategic review, through the shell adapter on the demo's
//! seeded history.

use std::sync::Arc;

use baton::clock::FixedClock;
use chrono::{DateTime, Duration, TimeZone, Utc};
use sqlx::PgPool;

use crate::common::*;

/// Monday of week 13 of 2026-Q4: twelve weeks of the cycle behind it.
fn late() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 21, 12, 0, 0).unwrap()
}

async fn demo(pool: PgPool, weeks: i64) -> baton::app::App {
    let spec = example_spec();
    let app = app_at(pool, &spec, Arc::new(FixedClock::new(late()))).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let rows = baton::app::seed::demo_history(&spec, late(), weeks, 42);
    app.store.seed_checkins(org.id, &rows).await.unwrap();
    app
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_demo_map_shows_a_supported_link_and_one_that_is_not(pool: PgPool) {
    let app = demo(pool, 12).await;
    let out = shell(&app, "northwind", "priya", "map --evidence\n").await;
    let text = flat(&out);
    assert!(text.contains("Is the strategy holding?"), "{out}");
    assert!(
        text.contains("P1 → C1 supported: gains in P1 were followed by gains in C1 about 2 weeks later (12 weeks of data"),
        "{out}"
    );
    assert!(text.contains("→ C2 no evidence yet"), "{out}");
    assert!(text.contains("not proof of causation"), "{out}");
    // The plain map does not read the history.
    let plain = flat(&shell(&app, "northwind", "priya", "map\n").await);
    assert!(!plain.contains("Is the strategy holding?"), "{plain}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn evidence_names_one_link_or_says_there_is_no_such_link(pool: PgPool) {
    let app = demo(pool, 12).await;
    let out = flat(&shell(&app, "northwind", "priya", "evidence P1->C1\n").await);
    assert!(out.contains("P1 → C1 supported"), "{out}");
    assert!(!out.contains("C1 → C2"), "only the named link: {out}");
    assert!(out.contains("1 supported · 0 no evidence yet"), "{out}");
    let out = flat(&shell(&app, "northwind", "priya", "evidence F1->L1\n").await);
    assert!(
        out.contains("The strategy map has no link F1 → L1.")
            && out.contains("Usage: evidence [link]"),
        "{out}"
    );
    let out = flat(&shell(&app, "northwind", "priya", "evidence 9x\n").await);
    assert!(out.contains("must start with a letter"), "{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn with_five_weeks_of_history_there_is_no_verdict(pool: PgPool) {
    let app = demo(pool, 5).await;
    let out = flat(&shell(&app, "northwind", "priya", "evidence P1->C1\n").await);
    assert!(
        out.contains("P1 → C1: not enough history yet: 5 of 8 weeks"),
        "{out}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn kr_and_status_dept_forecast_the_landing(pool: PgPool) {
    let app = demo(pool, 12).await;
    let out = flat(&shell(&app, "northwind", "priya", "kr SA-K1\nstatus sales\n").await);
    let kr = out
        .find("Forecast: SA-K1 on course to land at ")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(out[kr..].contains(" by 31 Dec"), "{out}");
    assert!(
        out.contains("Forecasts (where each key result lands at the cycle's end)"),
        "{out}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn too_few_check_ins_give_no_forecast(pool: PgPool) {
    let spec = example_spec();
    let app = app_at(pool, &spec, Arc::new(FixedClock::new(late()))).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let rows: Vec<baton::app::seed::SeedRow> = (0..3)
        .map(|w| {
            (
                "SA-K1".to_string(),
                "priya".to_string(),
                0.5 + 0.3 * w as f64,
                None,
                None,
                late() - Duration::weeks(3 - w),
            )
        })
        .collect();
    app.store.seed_checkins(org.id, &rows).await.unwrap();
    let out = flat(&shell(&app, "northwind", "priya", "kr SA-K1\n").await);
    assert!(
        out.contains("SA-K1: too few check-ins to forecast (3 of 4 this cycle)"),
        "{out}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_correction_replaces_the_figure_it_corrects_in_the_forecast(pool: PgPool) {
    let spec = example_spec();
    let app = app_at(pool, &spec, Arc::new(FixedClock::new(late()))).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let rows: Vec<baton::app::seed::SeedRow> = (0..4)
        .map(|w| {
            (
                "SA-K1".to_string(),
                "priya".to_string(),
                1.0,
                None,
                None,
                late() - Duration::weeks(4 - w),
            )
        })
        .collect();
    app.store.seed_checkins(org.id, &rows).await.unwrap();
    // A fifth check-in, then its correction: four standing check-ins plus the
    // correction, the corrected one left out.
    let out = shell(
        &app,
        "northwind",
        "priya",
        "SA-K1 2 on track\ncorrect SA-K1 3 on track\n",
    )
    .await;
    assert!(!out.contains("Error"), "{out}");
    let k = spec
        .key_results
        .iter()
        .find(|k| k.code.as_str() == "SA-K1")
        .unwrap();
    let got = app
        .store
        .recent_checkins(
            org.id,
            &["SA-K1".to_string()],
            late() - Duration::weeks(10),
            late(),
            8,
        )
        .await
        .unwrap();
    let values: Vec<f64> = got["SA-K1"].iter().map(|p| p.1).collect();
    assert_eq!(values, vec![1.0, 1.0, 1.0, 1.0, 3.0], "{k:?}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_map_with_evidence_is_drawn_with_its_legend(pool: PgPool) {
    let app = demo(pool, 12).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let actor = actor(&app, "northwind", "priya").await;
    let reply = app
        .handle(&actor, baton::bot::Command::MapEvidence, "t")
        .await;
    let image = reply
        .blocks
        .iter()
        .find_map(|b| match b {
            baton::bot::Block::Image(i) => Some(i.clone()),
            _ => None,
        })
        .expect("map --evidence carries the map");
    assert_eq!(image.subject.as_deref(), Some("evidence"));
    let with = baton::app::pictures::render(&app, org.id, &image)
        .await
        .unwrap();
    let plain = baton::app::pictures::render(
        &app,
        org.id,
        &baton::bot::reply::ImageRef {
            subject: None,
            ..image.clone()
        },
    )
    .await
    .unwrap();
    // The legend row makes the picture taller than the plain map.
    assert!(
        with.height > plain.height,
        "{} vs {}",
        with.height,
        plain.height
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_trend_picture_carries_the_forecast_when_there_is_one(pool: PgPool) {
    let app = demo(pool, 12).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let v = baton::app::view::View::for_org(&app, org.id).await.unwrap();
    let code = baton::domain::Code::parse("SA-K1").unwrap();
    let t = baton::app::pictures::trend(&app, &v, org.id, &code)
        .await
        .unwrap()
        .unwrap();
    let image = baton::bot::reply::ImageRef {
        kind: baton::app::pictures::KR_TREND.into(),
        subject: Some("SA-K1".into()),
        alt: String::new(),
    };
    let drawn = baton::app::pictures::render(&app, org.id, &image)
        .await
        .unwrap();
    let plain = baton::pictures::kr_trend(&t).unwrap();
    assert_ne!(
        drawn.bytes, plain.bytes,
        "the forecast is drawn over the chart"
    );
    // A bound to hold (`at_least`) has no landing to project: the plain chart.
    let held = baton::domain::Code::parse("SA-K2").unwrap();
    let t = baton::app::pictures::trend(&app, &v, org.id, &held)
        .await
        .unwrap()
        .unwrap();
    let image = baton::bot::reply::ImageRef {
        subject: Some("SA-K2".into()),
        ..image
    };
    let drawn = baton::app::pictures::render(&app, org.id, &image)
        .await
        .unwrap();
    assert_eq!(
        drawn.bytes,
        baton::pictures::kr_trend(&t).unwrap().bytes,
        "at_least: no projection"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_strategic_review_asks_whether_the_strategy_is_holding(pool: PgPool) {
    let app = demo(pool, 12).await;
    let out = flat(
        &shell(
            &app,
            "northwind",
            "oliver",
            "review start strategic\nreview next\nreview next\nreview next\nreview next\nreview next\nreview next\n",
        )
        .await,
    );
    let item = out
        .find("Is the strategy holding?")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(out[item..].contains("P1 → C1 supported"), "{out}");
    // Not on the tactical agenda.
    let out = flat(&shell(&app, "northwind", "oliver", "review end\nreview start tactical\nreview next\nreview next\nreview next\nreview next\nreview next\n").await);
    assert!(!out.contains("Is the strategy holding?"), "{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_department_digest_forecasts_its_key_results(pool: PgPool) {
    let app = demo(pool, 12).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let spec = app.spec(org.id).await.unwrap();
    let reply = baton::app::schedule::digest(
        &app,
        org.id,
        &spec,
        "sales",
        late() - Duration::weeks(1),
        late(),
    )
    .await
    .unwrap();
    let out = flat(&baton::bot::render::text::render(&reply));
    let at = out.find("Forecasts").unwrap_or_else(|| panic!("{out}"));
    assert!(out[at..].contains("SA-K1 on course to land at "), "{out}");
    assert!(out[at..].contains(" by 31 Dec"), "{out}");
}
