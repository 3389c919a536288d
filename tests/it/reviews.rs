//! Review meetings through the shell: a full scripted review, permissions, one per scope,
//! a restart mid-meeting, carry-forward, the action register and its reminders.

use std::sync::Arc;

use baton::app::App;
use baton::chat::Target;
use baton::chat::recording::RecordingAdapter;
use baton::clock::FixedClock;
use baton::outbox::deliver_batch;
use baton::store::Store;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::common::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The example org on Wednesday 18 November 2026, 15:00 London, with history.
async fn setup(pool: PgPool) -> (App, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(at("2026-11-18T15:00:00Z")));
    let app = App::new(Store::new(pool), clock.clone());
    let spec = example_spec();
    baton::app::apply::apply(&app, &spec, false).await.unwrap();
    let org = app.org(Some("northwind")).await.unwrap();
    let rows = baton::app::seed::history(&spec, at("2026-11-18T15:00:00Z"), 8, 42);
    app.store.seed_checkins(org.id, &rows).await.unwrap();
    (app, clock)
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_scripted_tactical_review_captures_actions_decisions_and_notes(pool: PgPool) {
    let (app, _clock) = setup(pool.clone()).await;
    let rec = RecordingAdapter::new();
    // Emma (a facilitator, in New York) runs Customer Success's review.
    // Sentences wrap at 80 columns: compare them flat.
    let out = flat(
        &shell(
            &app,
            "northwind",
            "emma",
            "review start tactical success\n\
         action: @kofi send the onboarding readiness update by Friday\n\
         decision: pause the EMEA discount until churn is understood\n\
         note: churn spike is concentrated in two accounts\n\
         action: something without an owner\n\
         what about churn?\n\
         review next\n\
         review back\n\
         edit 4 @kofi call the two accounts tomorrow\n\
         review end\n",
        )
        .await,
    );
    assert!(
        out.contains("🗓 Tactical review #1 — Customer Success"),
        "{out}"
    );
    assert!(out.contains("Facilitator: Emma Davies"), "{out}");
    assert!(out.contains("Item 1/"), "{out}");
    // "by Friday" read on Wednesday 18 November in New York.
    assert!(
        out.contains(
            "✔ Action #1 for Kofi Mensah, due Fri 20 Nov 2026: send the onboarding readiness update"
        ),
        "{out}"
    );
    assert!(
        out.contains("✔ Decision #2 recorded: pause the EMEA discount"),
        "{out}"
    );
    assert!(out.contains("✔ Note #3 recorded"), "{out}");
    assert!(
        out.contains("Missing an owner and a due date: `edit 4"),
        "{out}"
    );
    assert!(
        out.contains("I capture replies that start with `action:`"),
        "a hint, not silence: {out}"
    );
    assert!(out.contains("Item 2/"), "{out}");
    assert!(
        out.contains("✔ Action #4 now: call the two accounts — Kofi Mensah, due Thu 19 Nov 2026"),
        "{out}"
    );
    assert!(out.contains("Summary of the tactical review #1"), "{out}");
    // The agenda is generated from live data: the off-track section lists figures.
    assert!(out.contains("off track and at risk"), "{out}");
    // Everything is stored and can be read back.
    let show = shell(
        &app,
        "northwind",
        "kofi",
        "review show 1\nactions\ndecisions success\n",
    )
    .await;
    assert!(show.contains("Tactical review #1 — success"), "{show}");
    assert!(show.contains("pause the EMEA discount"), "{show}");
    assert!(show.contains("Your open actions"), "{show}");
    assert!(
        show.contains("send the onboarding readiness update")
            && show.contains("call the two accounts"),
        "{show}"
    );
    // The thread got the header, the items, the echoes and the summary; the channel the summary.
    while deliver_batch(&app, &rec, "w", 100, None).await.unwrap() > 0 {}
    let sent = rec.take();
    let thread = Target::Thread {
        department: "success".into(),
        thread: "review-1".into(),
    };
    let in_thread: Vec<_> = sent.iter().filter(|(t, _)| *t == thread).collect();
    assert!(
        in_thread.len() >= 8,
        "header, 3 items, 4 captures, summary: {}",
        in_thread.len()
    );
    assert!(sent.iter().any(|(t, m)| {
        *t == Target::Channel {
            department: "success".into(),
        } && baton::bot::render::text::render(&m.reply)
            .contains("Summary of the tactical review #1")
    }));
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn only_facilitators_heads_and_admins_run_reviews_one_per_scope(pool: PgPool) {
    let (app, _clock) = setup(pool.clone()).await;
    let out = shell(
        &app,
        "northwind",
        "kofi",
        "review start tactical success\nreview start weekly sales\n",
    )
    .await;
    assert!(
        out.contains("Only facilitators, heads and admins may start, move and end a review."),
        "{out}"
    );
    assert!(out.contains("`weekly` is not a review tier"), "{out}");
    let out = shell(&app, "northwind", "priya", "review start operational sales\nreview start tactical sales\nreview start tactical nowhere\n").await;
    assert!(out.contains("Operational review #1 — Sales"), "{out}");
    assert!(out.contains("is already running (#1)"), "{out}");
    assert!(out.contains("There is no department `nowhere`"), "{out}");
    let out = shell(&app, "northwind", "tom", "review next\nreview end\n").await;
    assert_eq!(
        out.matches("Only facilitators, heads and admins").count(),
        2,
        "{out}"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM reviews").await, 1);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_meeting_survives_a_restart_and_carries_forward_what_it_did_not_reach(pool: PgPool) {
    let (app, clock) = setup(pool.clone()).await;
    // A reported blocker and a declared dependency give the agenda more sections.
    shell(&app, "northwind", "priya", "SA-K1 2.4 at risk: slow month; blocker: legal review of the MSA\nblocked sales-needs-sso SSO is a deal-breaker for two prospects\n").await;
    let out = shell(&app, "northwind", "priya", "review start tactical sales\naction: @tom fix the pipeline report by 2026-11-19\nreview next\n").await;
    assert!(out.contains("Item 2/"), "{out}");
    let total: i64 = count(&pool, "SELECT count(*) FROM review_items").await;
    assert!(total >= 4, "enough items to leave some unreached: {total}");
    // The process restarts: a new App over the same database resumes at item 2.
    drop(app);
    let app = App::new(Store::new(pool.clone()), clock.clone());
    let out = shell(&app, "northwind", "priya", "review\nreview end\n").await;
    assert!(out.contains("is at item 2/"), "{out}");
    assert!(
        out.contains("Not reached: carried forward to the next review"),
        "{out}"
    );
    // The next review of the same tier and scope opens with the open actions and the
    // items not reached.
    clock.set(at("2026-11-25T15:00:00Z"));
    let out = shell(&app, "northwind", "priya", "review start tactical sales\n").await;
    let agenda_start = out.find("1. ").unwrap();
    assert!(
        out[agenda_start..].starts_with("1. Open and overdue actions"),
        "{out}"
    );
    assert!(
        out.contains("fix the pipeline report") && out.contains("OVERDUE"),
        "{out}"
    );
    assert!(out.contains("Carried forward:"), "{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn owners_are_reminded_before_the_due_date_and_when_overdue_exactly_once(pool: PgPool) {
    let (app, clock) = setup(pool.clone()).await;
    let rec = RecordingAdapter::new();
    // Wednesday: an action due Friday, outside any review.
    let out = shell(
        &app,
        "northwind",
        "priya",
        "action @tom send the renewal forecast by Friday\n",
    )
    .await;
    assert!(
        out.contains("✔ Action #1 for Tom Okafor, due Fri 20 Nov 2026"),
        "{out}"
    );
    baton::app::schedule::run_due(&app, None).await.unwrap();
    while deliver_batch(&app, &rec, "w", 100, None).await.unwrap() > 0 {}
    assert!(
        rec.take().iter().all(|(t, _)| *t
            != Target::Person {
                person: "tom".into()
            }),
        "not yet"
    );
    // Thursday in New York: one working day before.
    clock.set(at("2026-11-19T14:00:00Z"));
    baton::app::schedule::run_due(&app, None).await.unwrap();
    baton::app::schedule::run_due(&app, None).await.unwrap();
    while deliver_batch(&app, &rec, "w", 100, None).await.unwrap() > 0 {}
    let to_tom: Vec<_> = rec
        .take()
        .into_iter()
        .filter(|(t, m)| {
            *t == Target::Person {
                person: "tom".into(),
            } && m.idempotency_key.starts_with("action:")
        })
        .collect();
    assert_eq!(to_tom.len(), 1, "{to_tom:?}");
    assert!(
        baton::bot::render::text::render(&to_tom[0].1.reply)
            .contains("Action #1 is due Fri 20 Nov 2026")
    );
    // Saturday: overdue, but outside Tom's working hours: nothing yet.
    clock.set(at("2026-11-21T14:00:00Z"));
    baton::app::schedule::run_due(&app, None).await.unwrap();
    while deliver_batch(&app, &rec, "w", 100, None).await.unwrap() > 0 {}
    assert!(
        rec.take()
            .iter()
            .all(|(_, m)| !m.idempotency_key.starts_with("action:")),
        "an overdue reminder at the weekend"
    );
    // Monday 09:00 in New York: overdue, once.
    clock.set(at("2026-11-23T14:00:00Z"));
    baton::app::schedule::run_due(&app, None).await.unwrap();
    baton::app::schedule::run_due(&app, None).await.unwrap();
    while deliver_batch(&app, &rec, "w", 100, None).await.unwrap() > 0 {}
    let to_tom: Vec<_> = rec
        .take()
        .into_iter()
        .filter(|(t, m)| {
            *t == Target::Person {
                person: "tom".into(),
            } && m.idempotency_key.starts_with("action:")
        })
        .collect();
    assert_eq!(to_tom.len(), 1, "{to_tom:?}");
    assert!(baton::bot::render::text::render(&to_tom[0].1.reply).contains("is overdue"));
    let out = shell(
        &app,
        "northwind",
        "tom",
        "actions overdue\ndone 1\ndone 1\nactions\n",
    )
    .await;
    assert!(
        out.contains("send the renewal forecast") && out.contains("(overdue)"),
        "{out}"
    );
    assert!(out.contains("✔ Action #1 done"), "{out}");
    assert!(out.contains("already closed"), "{out}");
    let out = shell(&app, "northwind", "kofi", "done 1\n").await;
    assert!(out.contains("Only the author, the owner"), "{out}");
}
