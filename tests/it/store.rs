//! Store behaviour on the real PostgreSQL: round trips, append-only history, idempotency.

use baton::domain::parse::parse_checkin_line;
use baton::domain::{Confidence, Source};
use baton::store::{NewCheckin, Recorded, Target, TargetKind};
use sqlx::PgPool;

use crate::common::*;

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn stored_spec_round_trips_to_the_manifest(pool: PgPool) {
    let spec = example_spec();
    let app = app_with(pool.clone(), &spec).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let loaded = app.store.load_spec(org.id).await.unwrap();
    assert_eq!(loaded, spec);
    // Memberships were derived: kofi is in success and implementation, not head.
    let kofi = app
        .store
        .person_by_key(org.id, "kofi")
        .await
        .unwrap()
        .unwrap();
    let mut depts = kofi.departments.clone();
    depts.sort();
    assert_eq!(
        depts,
        vec![
            ("implementation".to_string(), false),
            ("success".to_string(), false)
        ]
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn repeated_delivery_stores_nothing_new(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let kofi = actor(&app, "northwind", "kofi").await;
    let first = app
        .handle_line(&kofi, "S1 70 on track: good week", "evt-1")
        .await;
    assert!(!first.is_error(), "{first:?}");
    let again = app
        .handle_line(&kofi, "S1 70 on track: good week", "evt-1")
        .await;
    let text = baton::bot::render::text::render(&again);
    assert!(text.contains("Already recorded"), "{text}");
    assert_eq!(count(&pool, "SELECT count(*) FROM checkins").await, 1);
    // A different delivery is a new check-in.
    app.handle_line(&kofi, "S1 71", "evt-2").await;
    assert_eq!(count(&pool, "SELECT count(*) FROM checkins").await, 2);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn corrections_supersede_and_never_overwrite(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let kofi = actor(&app, "northwind", "kofi").await;
    app.handle_line(&kofi, "S1 700 on track", "a").await; // implausible: refused
    assert_eq!(count(&pool, "SELECT count(*) FROM checkins").await, 0);
    app.handle_line(&kofi, "S1 77 on track", "b").await;
    let r = app
        .handle_line(&kofi, "correct S1 67 at risk: typo", "c")
        .await;
    let text = baton::bot::render::text::render(&r);
    assert!(text.contains("Corrected S1 = 67% (was 77%)"), "{text}");
    let rows: Vec<(i64, f64, Option<i64>)> =
        sqlx::query_as("SELECT id, value, supersedes FROM checkins ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2, "the original is kept");
    assert_eq!(rows[0].1, 77.0);
    assert_eq!(rows[1].2, Some(rows[0].0));
    let (value, conf): (f64, String) = sqlx::query_as(
        "SELECT current_value, current_confidence FROM key_results WHERE code = 'S1'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((value, conf.as_str()), (67.0, "at_risk"));
    let kr = baton::bot::render::text::render(&app.handle_line(&kofi, "kr S1", "d").await);
    assert!(kr.contains("superseded by"), "{kr}");
    assert!(kr.contains("corrects"), "{kr}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn check_in_and_rollup_move_together(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let kofi = app
        .store
        .person_by_key(org.id, "kofi")
        .await
        .unwrap()
        .unwrap();
    let target = app
        .store
        .checkin_target(org.id, "S1", kofi.id, "kofi")
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(target, Target::KeyResult { allowed: true, .. }));
    let line = parse_checkin_line("S1 80 on track").unwrap();
    let c = NewCheckin {
        person_id: kofi.id,
        value: line.value,
        confidence: Some(Confidence::OnTrack),
        note: None,
        blockers: Some("none"),
        source: Source::Api,
        idempotency_key: "k1",
        correct: false,
        at: now(),
    };
    let kr = TargetKind::KeyResult;
    let first = app
        .store
        .record_checkin(org.id, kr, "S1", "kofi", &c)
        .await
        .unwrap();
    let Recorded::New {
        id,
        previous: None,
        supersedes: None,
        closed_prompts: 0,
    } = first
    else {
        panic!("unexpected {first:?}");
    };
    let second = app
        .store
        .record_checkin(org.id, kr, "S1", "kofi", &c)
        .await
        .unwrap();
    assert_eq!(second, Recorded::Duplicate(id));
    let state = app.store.load_state(org.id).await.unwrap();
    let cur = &state.key_results[&baton::domain::Code::parse("S1").unwrap()];
    assert_eq!(
        (cur.value, cur.confidence),
        (80.0, Some(Confidence::OnTrack))
    );
    // An older check-in arriving late does not move the current figure backwards.
    let late = NewCheckin {
        idempotency_key: "k0",
        value: 61.0,
        at: now() - chrono::Duration::days(3),
        ..c
    };
    app.store
        .record_checkin(org.id, kr, "S1", "kofi", &late)
        .await
        .unwrap();
    let state = app.store.load_state(org.id).await.unwrap();
    assert_eq!(
        state.key_results[&baton::domain::Code::parse("S1").unwrap()].value,
        80.0
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_store_itself_refuses_what_the_person_may_not_do(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let priya = app
        .store
        .person_by_key(org.id, "priya")
        .await
        .unwrap()
        .unwrap();
    let c = NewCheckin {
        person_id: priya.id,
        value: 70.0,
        confidence: None,
        note: None,
        blockers: None,
        source: Source::Api,
        idempotency_key: "p1",
        correct: false,
        at: now(),
    };
    // S1 belongs to success; priya heads sales.
    let r = app
        .store
        .record_checkin(org.id, TargetKind::KeyResult, "S1", "priya", &c)
        .await
        .unwrap();
    assert_eq!(r, Recorded::Refused);
    // A measure owned by someone else.
    let r = app
        .store
        .record_checkin(org.id, TargetKind::Measure, "C1.M1", "priya", &c)
        .await
        .unwrap();
    assert_eq!(r, Recorded::Refused);
    // A correction with nothing to correct.
    let fix = NewCheckin {
        correct: true,
        idempotency_key: "p2",
        ..c
    };
    let r = app
        .store
        .record_checkin(org.id, TargetKind::KeyResult, "SA-K1", "priya", &fix)
        .await
        .unwrap();
    assert_eq!(r, Recorded::Refused);
    assert_eq!(count(&pool, "SELECT count(*) FROM checkins").await, 0);
    // Her own key result works.
    let ok = NewCheckin {
        idempotency_key: "p3",
        value: 1.0,
        ..c
    };
    let r = app
        .store
        .record_checkin(org.id, TargetKind::KeyResult, "SA-K1", "priya", &ok)
        .await
        .unwrap();
    assert!(matches!(r, Recorded::New { .. }));
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_database_that_goes_away_gives_a_clear_error(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let kofi = actor(&app, "northwind", "kofi").await;
    pool.close().await;
    let r = app.handle_line(&kofi, "S1 70 on track", "x").await;
    let text = baton::bot::render::text::render(&r);
    assert!(r.is_error(), "{text}");
    assert!(text.contains("cannot reach its database"), "{text}");
    // What the pool said stays in the log.
    assert!(!text.contains("closed"), "{text}");
    assert!(text.contains("incident "), "{text}");
}

/// The figures a process caches are re-read whenever anything behind them changed, by
/// this process or by another replica: a check-in, a correction, an archived key result.
#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn cached_figures_follow_every_writer(pool: PgPool) {
    let spec = example_spec();
    let reader = app_with(pool.clone(), &spec).await;
    let writer = app(pool.clone());
    let org = reader.org(Some("northwind")).await.unwrap();
    let s1 = baton::domain::Code::parse("S1").unwrap();
    let value = |s: &baton::domain::OrgState| s.key_results.get(&s1).map(|c| c.value);

    let before = reader.state(org.id).await.unwrap();
    assert_eq!(value(&before), None);
    // Unchanged: the same cached figures come back.
    assert!(std::sync::Arc::ptr_eq(
        &before,
        &reader.state(org.id).await.unwrap()
    ));

    let kofi = actor(&writer, "northwind", "kofi").await;
    let r = writer.handle_line(&kofi, "S1 70 on track", "w-1").await;
    assert!(!r.is_error(), "{r:?}");
    assert_eq!(value(&reader.state(org.id).await.unwrap()), Some(70.0));

    let r = writer.handle_line(&kofi, "correct S1 72", "w-2").await;
    assert!(!r.is_error(), "{r:?}");
    assert_eq!(value(&reader.state(org.id).await.unwrap()), Some(72.0));

    // As a person sees it: the department's status lists S1 at 72.
    // Every row about S1 (the key result's record, and its line among the changes).
    // A row is the line that starts with `S1` and the more indented lines under it.
    let s1_lines = |out: &str| -> Vec<String> {
        let indent = |l: &str| l.len() - l.trim_start().len();
        let lines: Vec<&str> = out.lines().collect();
        let mut rows = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            if l.split_whitespace().next() != Some("S1") {
                continue;
            }
            let more = lines[i + 1..]
                .iter()
                .take_while(|m| !m.trim().is_empty() && indent(m) > indent(l));
            let row: Vec<&str> = std::iter::once(l.trim())
                .chain(more.map(|m| m.trim()))
                .collect();
            rows.push(row.join(" "));
        }
        rows
    };
    let out = shell(&reader, "northwind", "kofi", "status success\n").await;
    let shown: Vec<String> = s1_lines(&out)
        .into_iter()
        .filter(|l| l.contains("Value:"))
        .collect();
    assert!(
        shown.len() == 1 && shown[0].contains("Value: 72%"),
        "{shown:?}\n{out}"
    );

    // The key result leaves the manifest: its figure leaves the cached state.
    let mut smaller = spec.clone();
    smaller.key_results.retain(|k| k.code != s1);
    baton::app::apply::apply(&writer, &smaller, false)
        .await
        .unwrap();
    assert_eq!(value(&reader.state(org.id).await.unwrap()), None);
    // And through status, as a person sees it: the department's status has no S1 line.
    let out = shell(&reader, "northwind", "kofi", "status success\n").await;
    assert!(!out.contains("Error"), "{out}");
    assert_eq!(s1_lines(&out), Vec::<String>::new(), "{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_failing_database_answers_plainly_with_an_incident_id_that_the_log_carries(pool: PgPool) {
    let (logs, _guard) = Logs::capture(tracing::Level::ERROR);
    let app = app_with(pool.clone(), &example_spec()).await;
    let kofi = actor(&app, "northwind", "kofi").await;
    // The check-in table disappears under baton.
    sqlx::query("ALTER TABLE checkins RENAME TO checkins_gone")
        .execute(&pool)
        .await
        .unwrap();
    tracing::callsite::rebuild_interest_cache();
    let reply = app
        .handle_line(&kofi, "S1 70 on track: good week", "evt-1")
        .await;
    assert!(reply.is_error(), "{reply:?}");
    let text = baton::bot::render::text::render(&reply);
    for raw in [
        "checkins",
        "relation",
        "does not exist",
        "database",
        "error returned",
    ] {
        assert!(
            !text.contains(raw),
            "database text `{raw}` reached the person: {text}"
        );
    }
    assert!(
        text.contains("Something went wrong on baton's side"),
        "{text}"
    );
    let id = text
        .split("incident ")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .expect("an incident id")
        .to_string();
    assert!(!id.is_empty() && id.len() <= 8, "{id}");
    let logged = logs.text();
    let line = logged
        .lines()
        .find(|l| l.contains(&format!("incident={id}")))
        .unwrap_or_else(|| panic!("no log line with incident {id}: {logged}"));
    // The log keeps what the database said.
    assert!(line.contains("checkins"), "{line}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_unique_violation_is_a_typed_error(pool: PgPool) {
    use baton::store::{ResultExt, StoreError};
    let insert = || {
        sqlx::query(
            "INSERT INTO organisations (key, name, time_zone, fiscal_year_start, revision, created_at, updated_at)
             VALUES ('acme', 'Acme', 'UTC', 1, 1, now(), now())",
        )
        .execute(&pool)
    };
    insert().await.unwrap();
    let err = insert()
        .await
        .on_constraint("organisations_key_key", |e| e)
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Unique { constraint } if constraint == "organisations_key_key"),
        "{err:?}"
    );
    // Another constraint's name leaves the error as it was, still telling which broke.
    let err = insert()
        .await
        .on_constraint("people_org_id_key_key", |e| e)
        .unwrap_err();
    assert!(matches!(err, StoreError::Db(_)), "{err:?}");
    assert_eq!(err.unique_constraint(), Some("organisations_key_key"));
}

/// `status <dept>`'s "what changed" reads only the department's key results, as of an instant:
/// the newest check-in at or before it, nothing of key results it did not name.
#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn key_results_as_of_an_instant_read_only_the_named_ones(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let kofi = app
        .store
        .person_by_key(org.id, "kofi")
        .await
        .unwrap()
        .unwrap();
    let record = |code: &'static str, value: f64, days_ago: i64, key: &'static str| {
        let app = &app;
        async move {
            let c = NewCheckin {
                person_id: kofi.id,
                value,
                confidence: None,
                note: None,
                blockers: None,
                source: Source::Api,
                idempotency_key: key,
                correct: false,
                at: now() - chrono::Duration::days(days_ago),
            };
            let r = app
                .store
                .record_checkin(org.id, TargetKind::KeyResult, code, "kofi", &c)
                .await
                .unwrap();
            assert!(matches!(r, Recorded::New { .. }), "{code}: {r:?}");
        }
    };
    record("S1", 61.0, 5, "a").await;
    record("S1", 70.0, 1, "b").await;
    record("S3", 40.0, 5, "c").await;
    let code = |c: &str| baton::domain::Code::parse(c).unwrap();
    let at = now() - chrono::Duration::days(2);
    let state = app
        .store
        .load_key_results_at(org.id, &["S1".to_string()], at)
        .await
        .unwrap();
    // S1 as it stood two days ago; S3 had a figure then but was not asked for.
    assert_eq!(state.key_results.len(), 1, "{:?}", state.key_results);
    assert_eq!(state.key_results[&code("S1")].value, 61.0);
    assert!(state.measures.is_empty());
    // Both named: S3 too; as of now: S1's newer figure.
    let state = app
        .store
        .load_key_results_at(org.id, &["S1".to_string(), "S3".to_string()], now())
        .await
        .unwrap();
    assert_eq!(state.key_results[&code("S1")].value, 70.0);
    assert_eq!(state.key_results[&code("S3")].value, 40.0);
    // Before any check-in: nothing; and another organisation's id reads nothing of this one.
    let early = now() - chrono::Duration::days(10);
    let none = app
        .store
        .load_key_results_at(org.id, &["S1".to_string()], early)
        .await
        .unwrap();
    assert!(none.key_results.is_empty());
    let other = app
        .store
        .load_key_results_at(org.id + 1000, &["S1".to_string()], now())
        .await
        .unwrap();
    assert!(other.key_results.is_empty());
}
