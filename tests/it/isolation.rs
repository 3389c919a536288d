//! Organisation A can never read or change organisation B's data through any command.

use baton::domain::{Key, OrgSpec};
use sqlx::PgPool;

use crate::common::*;

fn other_org() -> OrgSpec {
    let mut spec = example_spec();
    spec.org.key = Key::parse("southwind").unwrap();
    spec.org.name = "Southwind Freight".into();
    for p in &mut spec.people {
        p.chat.clear();
    }
    // B has a key result A does not have, and different people.
    spec.key_results[0].title = "Southwind secret KR".into();
    spec.people.retain(|p| p.key.as_str() != "tom");
    for d in &mut spec.departments {
        d.members.retain(|m| m.as_str() != "tom");
        d.heads.retain(|m| m.as_str() != "tom");
    }
    let mut extra = spec
        .key_results
        .iter()
        .find(|k| k.code.as_str() == "S1")
        .unwrap()
        .clone();
    extra.code = baton::domain::Code::parse("SW-ONLY").unwrap();
    extra.title = "Only in Southwind".into();
    spec.key_results.push(extra);
    spec
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn organisations_are_isolated_through_every_command(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    baton::app::apply::apply(&app, &other_org(), false)
        .await
        .unwrap();
    // B records a figure on its own S1.
    let b = shell(
        &app,
        "southwind",
        "kofi",
        "S1 84 on track: southwind figure\n",
    )
    .await;
    assert!(b.contains("Recorded S1 = 84%"), "{b}");

    let every = "status\nstatus sales\nstatus S1\nokrs all\nokrs me\nkr S1\nkr SW-ONLY\nSW-ONLY 70\ncheckin SW-ONLY\ngaps\nmap\ndeps\nwhoami\nS1 61 at risk: northwind figure\n";
    let a = shell(&app, "northwind", "kofi", every).await;
    assert!(
        !a.contains("southwind") && !a.contains("Southwind"),
        "A saw B:\n{a}"
    );
    assert!(!a.contains("84%"), "A saw B's figure:\n{a}");
    assert!(
        a.contains("There is no key result or measure `SW-ONLY` in Northwind Cloud"),
        "{a}"
    );
    assert!(a.contains("Recorded S1 = 61% · at risk"), "{a}");
    assert!(!a.contains("(was 84%)"), "A's S1 is not B's:\n{a}");

    // B's data is unchanged by A.
    let (b_value,): (f64,) = sqlx::query_as(
        "SELECT k.current_value FROM key_results k JOIN organisations o ON o.id = k.org_id
         WHERE o.key = 'southwind' AND k.code = 'S1'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(b_value, 84.0);
    let b_count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM checkins c JOIN organisations o ON o.id = c.org_id WHERE o.key = 'southwind'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(b_count, 1);
    // A person of B who is missing in A cannot act in A.
    let org_a = app.org(Some("northwind")).await.unwrap();
    assert!(
        app.actor(org_a, "tom", baton::domain::Source::Shell)
            .await
            .is_ok()
    );
    let org_b = app.org(Some("southwind")).await.unwrap();
    assert!(
        app.actor(org_b, "tom", baton::domain::Source::Shell)
            .await
            .is_err()
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_chat_identity_cannot_belong_to_two_organisations(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let mut b = other_org();
    b.people[0].chat = example_spec().people[0].chat.clone();
    let err = baton::app::apply::apply(&app, &b, false).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("already belongs to organisation `northwind`"),
        "{err}"
    );
    // Nothing of B was written.
    assert_eq!(count(&pool, "SELECT count(*) FROM organisations").await, 1);
}
