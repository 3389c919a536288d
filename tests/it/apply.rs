//! `apply`: dry-run diffs, idempotency and archiving, on the real store.

use baton::app::apply::{Change, apply, plan};
use sqlx::PgPool;

use crate::common::*;

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn dry_run_writes_nothing_and_lists_everything(pool: PgPool) {
    let app = app(pool.clone());
    let spec = example_spec();
    let applied = apply(&app, &spec, true).await.unwrap();
    assert!(!applied.written);
    assert_eq!(
        applied.changes[0],
        Change::Add {
            kind: "organisation",
            id: "northwind".into()
        }
    );
    let adds = applied
        .changes
        .iter()
        .filter(|c| matches!(c, Change::Add { .. }))
        .count();
    let expected = 1
        + spec.perspectives.len()
        + spec.people.len()
        + spec.departments.len()
        + spec.holidays.len()
        + spec.scorecard.len()
        + spec.measures.len()
        + spec.links.len()
        + spec.cycles.len()
        + spec.objectives.len()
        + spec.key_results.len()
        + spec.dependencies.len()
        + spec.initiatives.len();
    assert_eq!(adds, expected);
    assert_eq!(count(&pool, "SELECT count(*) FROM organisations").await, 0);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn applying_twice_changes_nothing(pool: PgPool) {
    let spec = example_spec();
    let app = app_with(pool.clone(), &spec).await;
    let rev = count(&pool, "SELECT revision FROM organisations").await;
    let again = apply(&app, &spec, false).await.unwrap();
    assert!(again.changes.is_empty(), "{:?}", again.changes);
    assert!(!again.written);
    assert_eq!(
        count(&pool, "SELECT revision FROM organisations").await,
        rev
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM manifest_applies").await,
        1
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn changes_show_fields_and_removals_archive_keeping_history(pool: PgPool) {
    let spec = example_spec();
    let app = app_with(pool.clone(), &spec).await;
    let kofi = actor(&app, "northwind", "kofi").await;
    app.handle_line(&kofi, "S3 41 on track", "h1").await;

    let mut next = spec.clone();
    let s1 = next
        .key_results
        .iter_mut()
        .find(|k| k.code.as_str() == "S1")
        .unwrap();
    s1.target = Some(90.0);
    next.key_results.retain(|k| k.code.as_str() != "S3");
    let changes = plan(Some(&spec), &next);
    let shown: Vec<String> = changes.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        shown,
        vec![
            "~ key result S1: target 85.0 → 90.0".to_string(),
            "- key result S3 (archived; its history is kept)".to_string()
        ]
    );
    let applied = apply(&app, &next, false).await.unwrap();
    assert!(applied.written);
    let org = app.org(Some("northwind")).await.unwrap();
    assert_eq!(
        app.store.archived(org.id, "key_results").await.unwrap(),
        vec!["S3".to_string()]
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM checkins").await,
        1,
        "history kept"
    );
    // The archived key result no longer accepts check-ins.
    let out = shell(&app, "northwind", "kofi", "S3 45\n").await;
    assert!(
        out.contains("There is no key result or measure `S3`"),
        "{out}"
    );
    // Declaring it again restores it with its history.
    apply(&app, &spec, false).await.unwrap();
    let out = shell(&app, "northwind", "kofi", "kr S3\n").await;
    assert!(out.contains("41 NPS"), "{out}");
}

/// A manifest for `people` people, all members of one department.
fn big_org(people: usize) -> String {
    let mut y =
        String::from("organisation: {key: big, name: Big, time_zone: Europe/London}\npeople:\n");
    for i in 0..people {
        y.push_str(&format!(
            "  - key: p{i}\n    name: Person {i}\n    email: p{i}@big.example\n    chat: [{{platform: slack, workspace: T1, user: U{i:08}}}]\n"
        ));
    }
    y.push_str("departments:\n  - key: all\n    name: Everyone\n    members:\n");
    for i in 0..people {
        y.push_str(&format!("      - p{i}\n"));
    }
    y
}

/// The YAML limits scale with real organisations: 50,000 people (once refused by the
/// parser's 250,000-node default) parse, validate and apply.
#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_fifty_thousand_person_manifest_applies(pool: PgPool) {
    let spec =
        baton::manifest::parse_manifest("big.yaml", &big_org(50_000)).expect("50,000 people parse");
    assert_eq!(spec.departments[0].members.len(), 50_000);
    let app = baton::app::App::new(
        baton::store::Store::new(pool.clone()),
        std::sync::Arc::new(baton::clock::FixedClock::new(now())),
    );
    let applied = apply(&app, &spec, false).await.expect("apply");
    assert!(applied.written);
    assert_eq!(count(&pool, "SELECT count(*) FROM people").await, 50_000);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_failed_update_of_an_existing_organisation_changes_no_table(pool: PgPool) {
    let spec = example_spec();
    let app = app_with(pool.clone(), &spec).await;
    let kofi = actor(&app, "northwind", "kofi").await;
    assert!(
        !app.handle_line(&kofi, "S3 41 on track", "h1")
            .await
            .is_error()
    );
    let before = snapshot(&pool).await;

    // An update touching the organisation, a key result, an archive and a person.
    let mut next = spec.clone();
    next.org.name = "Northwind Renamed".into();
    next.key_results
        .iter_mut()
        .find(|k| k.code.as_str() == "S1")
        .unwrap()
        .target = Some(90.0);
    next.key_results.retain(|k| k.code.as_str() != "S3");
    next.people[0].name = "Someone Else".into();
    // The apply's very last write fails: everything before it must go too.
    sqlx::query(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE INSERT ON manifest_applies \
         FOR EACH ROW EXECUTE FUNCTION refuse()",
    )
    .execute(&pool)
    .await
    .unwrap();
    assert!(apply(&app, &next, false).await.is_err());
    let after = snapshot(&pool).await;
    assert_eq!(
        changed(&before, &after),
        vec![],
        "a failed apply left changes"
    );
    assert_eq!(before, after);

    // Without the fault the same update goes through, and does change those tables.
    sqlx::query("DROP TRIGGER refuse ON manifest_applies")
        .execute(&pool)
        .await
        .unwrap();
    assert!(apply(&app, &next, false).await.unwrap().written);
    let applied = changed(&before, &snapshot(&pool).await);
    for table in ["organisations", "key_results", "people", "manifest_applies"] {
        assert!(
            applied.iter().any(|(t, _, _)| t == table),
            "{table}: {applied:?}"
        );
    }
}
