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
    assert!(
        out.contains("There is no department or dependency `nowhere`"),
        "{out}"
    );
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

/// The numbered agenda lines of every review header in `out` ("1. Open and overdue
/// actions"), per header.
fn agendas(out: &str) -> Vec<Vec<String>> {
    let mut all: Vec<Vec<String>> = Vec::new();
    for line in out.lines() {
        if line.starts_with("🗓 ") {
            all.push(Vec::new());
        } else if let Some(cur) = all.last_mut()
            && let Some((n, title)) = line.split_once(". ")
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit())
        {
            cur.push(title.to_string());
        }
    }
    all
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn ending_early_and_starting_again_lists_each_item_once_and_keeps_any_other_business(
    pool: PgPool,
) {
    let (app, clock) = setup(pool.clone()).await;
    shell(
        &app,
        "northwind",
        "priya",
        "SA-K1 2.4 at risk: slow month; blocker: legal review of the MSA\n",
    )
    .await;
    // Ended at the first item, twice over: everything after it was not reached.
    for (i, t) in ["2026-11-18T15:05:00Z", "2026-11-18T15:10:00Z"]
        .iter()
        .enumerate()
    {
        clock.set(at(t));
        let out = shell(
            &app,
            "northwind",
            "priya",
            "review start tactical sales\nreview end\n",
        )
        .await;
        assert!(
            out.contains(&format!("Summary of the tactical review #{}", i + 1)),
            "{out}"
        );
        assert!(out.contains("Not reached: carried forward"), "{out}");
    }
    clock.set(at("2026-11-18T15:15:00Z"));
    let out = shell(&app, "northwind", "priya", "review start tactical sales\n").await;
    let agenda = agendas(&out).pop().expect("a header");
    // Each item once (any other business carried forward opens the agenda, and the
    // meeting's own still closes it).
    let mut seen = std::collections::HashSet::new();
    for title in &agenda {
        assert!(seen.insert(title.clone()), "`{title}` twice: {agenda:?}");
        let base = title.trim_start_matches("Carried forward: ");
        assert!(
            base == "Any other business" || !agenda.contains(&base.to_string()) || base == title,
            "`{base}` carried forward next to a fresh copy: {agenda:?}"
        );
    }
    assert!(
        agenda
            .iter()
            .all(|t| !t.contains("Carried forward: Carried forward")),
        "{agenda:?}"
    );
    // The live sections appear once, with today's figures, saying they were not reached.
    assert!(
        agenda
            .iter()
            .any(|t| t.ends_with("off track and at risk") && !t.starts_with("Carried")),
        "{agenda:?}"
    );
    let show = shell(&app, "northwind", "priya", "review show 3\n").await;
    assert!(
        show.contains("Not reached in review #2; these are today's figures."),
        "{show}"
    );
    // Any other business carries forward (and the agenda still ends with its own).
    assert!(
        agenda.contains(&"Carried forward: Any other business".to_string()),
        "{agenda:?}"
    );
    assert_eq!(
        agenda.last().map(String::as_str),
        Some("Any other business"),
        "{agenda:?}"
    );
    assert!(
        out.contains("Review #2 ended before any other business"),
        "{out}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn an_idle_review_closes_itself_and_posts_its_summary(pool: PgPool) {
    let (app, clock) = setup(pool.clone()).await;
    let rec = RecordingAdapter::new();
    shell(&app, "northwind", "priya", "review start tactical sales\n").await;
    // Six hours later someone captures a note: the idle time counts from there.
    clock.set(at("2026-11-18T21:00:00Z"));
    shell(&app, "northwind", "priya", "note: we ran out of time\n").await;
    clock.set(at("2026-11-19T08:59:00Z"));
    baton::app::schedule::run_due(&app, None).await.unwrap();
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM reviews WHERE status = 'running'"
        )
        .await,
        1
    );
    // The tick says when to wake for it.
    let report = baton::app::schedule::run_due(&app, None).await.unwrap();
    assert!(
        report
            .next_wake
            .is_some_and(|w| w <= at("2026-11-19T09:00:00Z")),
        "{:?}",
        report.next_wake
    );
    while deliver_batch(&app, &rec, "w", 100, None).await.unwrap() > 0 {}
    rec.take();
    // Twelve hours after the last capture: the tick closes it.
    clock.set(at("2026-11-19T09:00:00Z"));
    baton::app::schedule::run_due(&app, None).await.unwrap();
    baton::app::schedule::run_due(&app, None).await.unwrap();
    let ended: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT status, end_reason FROM reviews")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(ended, vec![("ended".to_string(), Some("idle".to_string()))]);
    while deliver_batch(&app, &rec, "w", 100, None).await.unwrap() > 0 {}
    let sent: Vec<(Target, String)> = rec
        .take()
        .into_iter()
        .map(|(t, m)| (t, baton::bot::render::text::render(&m.reply)))
        .collect();
    let summaries: Vec<&(Target, String)> = sent
        .iter()
        .filter(|(_, m)| m.contains("Summary of the tactical review #1"))
        .collect();
    assert_eq!(summaries.len(), 2, "thread and channel, once: {sent:?}");
    assert!(
        summaries.iter().all(|(_, m)| flat(m)
            .contains("closed itself after 12 hours without a move or a capture")
            && m.contains("we ran out of time")),
        "{summaries:?}"
    );
    let out = shell(&app, "northwind", "priya", "review show 1\nreview\n").await;
    assert!(out.contains("closed itself when idle"), "{out}");
    assert!(
        out.contains("No review is running in your departments"),
        "{out}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_idle_time_is_configurable(pool: PgPool) {
    let clock = Arc::new(FixedClock::new(at("2026-11-18T15:00:00Z")));
    let mut app = App::new(Store::new(pool.clone()), clock.clone());
    app.review_idle = chrono::Duration::hours(2);
    baton::app::apply::apply(&app, &example_spec(), false)
        .await
        .unwrap();
    shell(
        &app,
        "northwind",
        "priya",
        "review start operational sales\n",
    )
    .await;
    clock.set(at("2026-11-18T16:59:00Z"));
    baton::app::schedule::run_due(&app, None).await.unwrap();
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM reviews WHERE status = 'running'"
        )
        .await,
        1
    );
    clock.set(at("2026-11-18T17:00:00Z"));
    baton::app::schedule::run_due(&app, None).await.unwrap();
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM reviews WHERE status = 'running'"
        )
        .await,
        0
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_coordination_review_can_be_about_one_dependency(pool: PgPool) {
    let (app, _clock) = setup(pool.clone()).await;
    let out = shell(
        &app,
        "northwind",
        "priya",
        "blocked sales-needs-sso SSO is a deal-breaker\n",
    )
    .await;
    assert!(out.contains("Alert #1 raised"), "{out}");
    let out = shell(
        &app,
        "northwind",
        "hannah",
        "blocked people-needs-budget no budget yet\n",
    )
    .await;
    assert!(out.contains("Alert #2 raised"), "{out}");
    let out = shell(
        &app,
        "northwind",
        "priya",
        "review start tactical sales-needs-sso\nreview start coordination nowhere\nreview start coordination sales-needs-sso\n",
    )
    .await;
    let flat_out = flat(&out);
    assert!(
        flat_out.contains(
            "`sales-needs-sso` is a dependency: a review of a dependency is a coordination review."
        ) && flat_out.contains("Usage: review start coordination <dependency>"),
        "{out}"
    );
    assert!(
        out.contains("There is no department or dependency `nowhere`"),
        "{out}"
    );
    assert!(
        out.contains("🗓 Coordination review #1 — dependency sales-needs-sso"),
        "{out}"
    );
    let agenda = agendas(&out).pop().expect("a header");
    assert!(
        agenda.contains(&"Open dependency alerts".to_string()),
        "{agenda:?}"
    );
    let show = shell(&app, "northwind", "priya", "review show 1\n").await;
    assert!(show.contains("sales-needs-sso"), "{show}");
    assert!(
        !show.contains("people-needs-budget"),
        "only this dependency's alerts: {show}"
    );
    // Posted in the dependent department's channel; the provider's head may run it too,
    // someone from neither department may not.
    let scope: (String, String) = sqlx::query_as("SELECT scope, channel_dept FROM reviews")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        scope,
        (
            "dependency:sales-needs-sso".to_string(),
            "sales".to_string()
        )
    );
    let out = shell(&app, "northwind", "jonas", "review next\n").await;
    assert!(out.contains("Item 2/"), "{out}");
    let out = shell(
        &app,
        "northwind",
        "kofi",
        "review start coordination success-needs-wizard\n",
    )
    .await;
    assert!(out.contains("Only facilitators, heads and admins"), "{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn review_lists_the_reviews_running_in_my_departments(pool: PgPool) {
    let (app, _clock) = setup(pool.clone()).await;
    let out = shell(&app, "northwind", "kofi", "review\n").await;
    assert!(
        out.contains("No review is running in your departments."),
        "{out}"
    );
    assert!(out.contains("review start <tier>"), "{out}");
    shell(&app, "northwind", "priya", "review start tactical sales\n").await;
    // Kofi is in Customer Success and Implementation, not Sales: told what runs elsewhere.
    let out = flat(&shell(&app, "northwind", "kofi", "review\n").await);
    assert!(
        out.contains("No review is running in your departments."),
        "{out}"
    );
    assert!(
        out.contains("Also running: tactical review #1 of Sales."),
        "{out}"
    );
    shell(
        &app,
        "northwind",
        "emma",
        "review start operational success\n",
    )
    .await;
    let out = shell(&app, "northwind", "kofi", "review\n").await;
    assert!(
        out.contains("Operational review #2 of Customer Success is at item 1/"),
        "{out}"
    );
    assert!(out.contains("Item 1/"), "one review: where it is: {out}");
    let out = shell(&app, "northwind", "tom", "review\n").await;
    assert!(
        out.contains("Tactical review #1 of Sales is at item 1/"),
        "{out}"
    );
    // The company's head sees both.
    let out = shell(&app, "northwind", "maya", "review\n").await;
    assert!(
        out.contains("Tactical review #1 of Sales")
            && out.contains("Operational review #2 of Customer Success"),
        "{out}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn an_action_for_an_unknown_person_captures_nothing_and_suggests(pool: PgPool) {
    let (app, _clock) = setup(pool.clone()).await;
    let out = flat(
        &shell(
            &app,
            "northwind",
            "priya",
            "review start tactical sales\naction: @nobody send the deck\naction: @tomm send the deck\n",
        )
        .await,
    );
    assert!(
        out.contains("There is no person `nobody`; mention an owner by their key, e.g. `@kofi`. Nothing was captured."),
        "{out}"
    );
    assert!(
        out.contains("There is no person `tomm`; did you mean `@tom`? Nothing was captured."),
        "{out}"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM captures").await, 0);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn review_show_marks_done_actions(pool: PgPool) {
    let (app, _clock) = setup(pool.clone()).await;
    shell(
        &app,
        "northwind",
        "priya",
        "review start tactical sales\naction: @tom fix the pipeline report by Friday\naction: @lena call the two accounts by Friday\n",
    )
    .await;
    let out = shell(&app, "northwind", "tom", "done 1\n").await;
    assert!(out.contains("#1"), "{out}");
    let out = shell(&app, "northwind", "priya", "review show 1\n").await;
    let row = |needle: &str| {
        out.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in {out}"))
            .to_string()
    };
    assert!(row("fix the pipeline report").contains("✔ done"), "{out}");
    assert!(row("call the two accounts").contains("open"), "{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_check_in_typo_outside_a_review_gets_check_in_help(pool: PgPool) {
    let (app, _clock) = setup(pool.clone()).await;
    shell(&app, "northwind", "priya", "review start tactical sales\n").await;
    // Kofi is in no running review: a typo gets the check-in syntax, once, and no hint
    // about capturing in a review.
    let out = shell(
        &app,
        "northwind",
        "kofi",
        "S1 68 maybe\nwhat about churn?\n",
    )
    .await;
    assert!(!out.contains("In a review, I capture"), "{out}");
    assert_eq!(out.matches("Syntax: ").count(), 1, "{out}");
    assert!(out.contains("Nothing was recorded."), "{out}");
    // Tom is in Sales' review: the check-in typo still gets check-in help, other lines the
    // hint.
    let out = shell(&app, "northwind", "tom", "SA-K1 68 maybe\n").await;
    assert!(!out.contains("In a review, I capture"), "{out}");
    assert!(out.contains("Syntax: "), "{out}");
    let out = shell(&app, "northwind", "tom", "what about churn?\n").await;
    assert!(out.contains("In a review, I capture"), "{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_shell_prints_each_review_item_once(pool: PgPool) {
    let (app, clock) = setup(pool.clone()).await;
    let sim = baton::chat::shell::Simulation {
        clock,
        adapter: Arc::new(RecordingAdapter::new()),
    };
    let out = shell_sim(
        &app,
        &sim,
        "northwind",
        "priya",
        "review start tactical sales\nreview next\nnote: churn is in two accounts\n",
    )
    .await;
    assert_eq!(out.matches("🗓 Tactical review #1").count(), 1, "{out}");
    assert_eq!(out.matches("Item 1/").count(), 1, "{out}");
    assert_eq!(out.matches("Item 2/").count(), 1, "{out}");
    assert_eq!(out.matches("✔ Note #1 recorded").count(), 1, "{out}");
}
