//! The outbox under crashes and races: a send cut off mid-flight is looked up before it is
//! repeated, a worker that lost its claim sends nothing more, a group is handed back on
//! time, and sends to different people overlap. Every count is taken at the adapter, per
//! idempotency key.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use async_trait::async_trait;
use baton::app::App;
use baton::app::schedule::run_due;
use baton::chat::recording::RecordingAdapter;
use baton::chat::{AdapterError, ChatAdapter, Delivered, Outbound, Recovered, Target};
use baton::clock::{Clock, FixedClock};
use baton::outbox::{Deliverer, LEASE, Payload, deliver_batch, enqueue};
use baton::store::Store;
use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::common::*;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// One department of `n` people, all checking in on weekdays at 09:00 London time.
fn team(n: usize) -> String {
    let people: String = (0..n)
        .map(|i| format!("  - {{ key: p{i:02}, name: Person {i} }}\n"))
        .collect();
    let members: Vec<String> = (1..n).map(|i| format!("p{i:02}")).collect();
    // Everyone owns a key result, so everyone is asked.
    let krs: String = (0..n)
        .map(|i| {
            format!(
                "      - {{ code: K{i}, title: Figure {i}, unit: \"%\", start: 0, target: 100, owner: p{i:02} }}\n"
            )
        })
        .collect();
    format!(
        r#"
organisation: {{ key: team, name: Team, time_zone: Europe/London }}
people:
{people}departments:
  - key: ops
    name: Ops
    heads: [p00]
    members: [{}]
    cadences: {{ checkin: "daily on weekdays at 09:00" }}
cycles:
  - {{ key: q4, start: 2026-11-01, end: 2026-12-31 }}
objectives:
  - code: O1
    title: Run well
    level: department
    department: ops
    owner: p00
    cycle: q4
    key_results:
{krs}"#,
        members.join(", ")
    )
}

/// The team's organisation on a clock at Monday 16 November 2026, 09:00 UTC, with its
/// prompts due and queued as one group.
async fn due_team(pool: PgPool, n: usize) -> (Arc<App>, Arc<FixedClock>) {
    let clock = Arc::new(FixedClock::new(at("2026-11-16T08:59:00Z")));
    let app = Arc::new(App::new(Store::new(pool.clone()), clock.clone()));
    let spec = baton::manifest::parse_manifest("team.yaml", &team(n)).expect("valid manifest");
    baton::app::apply::apply(&app, &spec, false)
        .await
        .expect("apply");
    clock.set(at("2026-11-16T09:00:00Z"));
    run_due(&app, None).await.expect("tick");
    assert_eq!(
        count(&pool, "SELECT count(*) FROM outbox WHERE kind = 'prompts'").await,
        1,
        "one group of prompts"
    );
    (app, clock)
}

/// Leaves only the outbox messages of `kind`.
async fn only(pool: &PgPool, kind: &str) {
    sqlx::query("DELETE FROM outbox WHERE kind <> $1")
        .bind(kind)
        .execute(pool)
        .await
        .unwrap();
}

/// Queues a channel note under `key`.
async fn note(app: &App, key: &str) {
    let org = app.org(Some("team")).await.unwrap();
    let mut tx = app.store.begin().await.unwrap();
    enqueue(
        &mut tx,
        org.id,
        key,
        &Target::Channel {
            department: "ops".into(),
        },
        &Payload::Reply {
            reply: baton::bot::Reply::new().text(key),
        },
        app.clock.now(),
        app.clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// Worker A delivering one batch through the shared platform, as a task the test can kill.
fn worker_a(
    app: &Arc<App>,
    platform: &Arc<RecordingAdapter>,
) -> tokio::task::JoinHandle<baton::error::Result<usize>> {
    let (app, platform) = (app.clone(), platform.clone());
    tokio::spawn(async move {
        let h = Handle { platform };
        deliver_batch(&app, &h, "worker-a", 10, None).await
    })
}

/// How often each idempotency key reached the platform.
fn sends_per_key(sent: &[(Target, Outbound)]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for (_, msg) in sent {
        *m.entry(msg.idempotency_key.clone()).or_insert(0) += 1;
    }
    m
}

fn prompts_per_key(sent: &[(Target, Outbound)]) -> HashMap<String, usize> {
    let only: Vec<(Target, Outbound)> = sent
        .iter()
        .filter(|(_, m)| m.kind == "prompt")
        .cloned()
        .collect();
    sends_per_key(&only)
}

/// A platform shared by several workers: each worker's handle counts its own sends, and
/// they all land on (and are looked up in) the same recording.
struct Handle {
    platform: Arc<RecordingAdapter>,
}

#[async_trait]
impl ChatAdapter for Handle {
    fn platform(&self) -> &'static str {
        "recording"
    }
    async fn send(&self, to: &Target, msg: &Outbound) -> Result<Delivered, AdapterError> {
        self.platform.send(to, msg).await
    }
    async fn recover(
        &self,
        to: &Target,
        msg: &Outbound,
        since: DateTime<Utc>,
    ) -> Result<Recovered, AdapterError> {
        self.platform.recover(to, msg, since).await
    }
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_message_cut_off_mid_send_is_looked_up_not_repeated(pool: PgPool) {
    let (app, clock) = due_team(pool.clone(), 1).await;
    note(&app, "note-1").await;
    only(&pool, "reply").await;

    // Worker A posts it; the platform takes it, and A is killed before it hears back.
    let platform = Arc::new(RecordingAdapter::new());
    platform.hold_landing(1);
    let a = worker_a(&app, &platform);
    platform.wait_landed(1).await;
    a.abort();
    let _ = a.await;

    // B may take it over only once A's lease ran out; it asks first, and finds it.
    let b = Handle {
        platform: platform.clone(),
    };
    assert_eq!(
        deliver_batch(&app, &b, "worker-b", 10, None).await.unwrap(),
        0
    );
    clock.advance(LEASE + Duration::seconds(1));
    assert_eq!(
        deliver_batch(&app, &b, "worker-b", 10, None).await.unwrap(),
        1
    );
    assert_eq!(platform.recoveries(), ["note-1"]);
    assert_eq!(sends_per_key(&platform.sent())["note-1"], 1, "posted once");
    let (state, delivered): (String, Option<serde_json::Value>) =
        sqlx::query_as("SELECT state, delivered FROM outbox WHERE idempotency_key = 'note-1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(state, "sent");
    assert!(delivered.is_some(), "where it landed is recorded");
    assert_eq!(app.metrics.recovered_sends.load(Relaxed), 1);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_group_killed_mid_fan_out_resumes_without_repeating_anyone(pool: PgPool) {
    let (app, clock) = due_team(pool.clone(), 6).await;
    only(&pool, "prompts").await;
    // Two prompts go out; the third lands, and its worker is killed before the answer.
    let platform = Arc::new(RecordingAdapter::new());
    platform.hold_landing(3);
    let a = worker_a(&app, &platform);
    platform.wait_landed(3).await;
    a.abort();
    let _ = a.await;
    assert_eq!(prompts_per_key(&platform.sent()).len(), 3);

    clock.advance(LEASE + Duration::seconds(1));
    let b = Handle {
        platform: platform.clone(),
    };
    while deliver_batch(&app, &b, "worker-b", 10, None).await.unwrap() > 0 {}
    let per_key = prompts_per_key(&platform.sent());
    assert_eq!(per_key.len(), 6, "everyone asked: {per_key:?}");
    assert!(
        per_key.values().all(|n| *n == 1),
        "nobody asked twice: {per_key:?}"
    );
    assert_eq!(
        platform.recoveries().len(),
        1,
        "only the prompt whose answer was never seen is looked up"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM prompts WHERE delivered_at IS NULL"
        )
        .await,
        0
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn where_the_platform_cannot_tell_the_send_is_repeated_and_counted(pool: PgPool) {
    let (app, clock) = due_team(pool.clone(), 1).await;
    only(&pool, "prompts").await;
    let platform = Arc::new(RecordingAdapter::new());
    platform.without_lookup();
    platform.hold_landing(1);
    let a = worker_a(&app, &platform);
    platform.wait_landed(1).await;
    a.abort();
    let _ = a.await;
    clock.advance(LEASE + Duration::seconds(1));
    let b = Handle {
        platform: platform.clone(),
    };
    while deliver_batch(&app, &b, "worker-b", 10, None).await.unwrap() > 0 {}
    let per_key = prompts_per_key(&platform.sent());
    assert_eq!(per_key.values().copied().collect::<Vec<_>>(), [2]);
    assert_eq!(
        app.metrics.uncertain_sends.load(Relaxed),
        1,
        "the possible duplicate is counted"
    );
    let metrics = app.metrics.render(None);
    assert!(
        metrics.contains("baton_outbox_uncertain_sends_total 1"),
        "{metrics}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_worker_that_lost_its_claim_sends_nothing_more(pool: PgPool) {
    let (app, clock) = due_team(pool.clone(), 1).await;
    note(&app, "note-1").await;
    note(&app, "note-2").await;
    only(&pool, "reply").await;
    // A claims both; the first lands and its answer is slow, longer than the lease.
    let platform = Arc::new(RecordingAdapter::new());
    platform.hold_landing(1);
    let a = worker_a(&app, &platform);
    platform.wait_landed(1).await;
    clock.advance(LEASE + Duration::seconds(1));
    // B takes both over: it finds the first on the platform and sends the second.
    let b = Handle {
        platform: platform.clone(),
    };
    assert_eq!(
        deliver_batch(&app, &b, "worker-b", 10, None).await.unwrap(),
        2
    );
    // A hears back at last: it must neither send the second nor touch B's outcomes.
    platform.release_held(1);
    assert_eq!(a.await.unwrap().unwrap(), 2);
    let per_key = sends_per_key(&platform.sent());
    assert_eq!(per_key.len(), 2);
    assert!(per_key.values().all(|n| *n == 1), "{per_key:?}");
    assert_eq!(app.metrics.lost_claims.load(Relaxed), 2);
    let states: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT state, claimed_by FROM outbox ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        states,
        [("sent".to_string(), None), ("sent".to_string(), None)]
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_group_whose_claim_ran_out_is_not_continued_by_its_old_worker(pool: PgPool) {
    let (app, clock) = due_team(pool.clone(), 5).await;
    only(&pool, "prompts").await;
    let platform = Arc::new(RecordingAdapter::new());
    platform.hold_landing(1);
    let a = worker_a(&app, &platform);
    platform.wait_landed(1).await;
    clock.advance(LEASE + Duration::seconds(1));
    let b = Handle {
        platform: platform.clone(),
    };
    while deliver_batch(&app, &b, "worker-b", 10, None).await.unwrap() > 0 {}
    assert_eq!(prompts_per_key(&platform.sent()).len(), 5);
    platform.release_held(1);
    a.await.unwrap().unwrap();
    let per_key = prompts_per_key(&platform.sent());
    assert!(per_key.values().all(|n| *n == 1), "{per_key:?}");
    assert_eq!(platform.sent().len(), 5);
    assert_eq!(app.metrics.lost_claims.load(Relaxed), 1);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM outbox WHERE state <> 'sent'").await,
        0,
        "A's late bookkeeping did not undo B's outcome"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_group_is_handed_back_a_fixed_time_after_its_claim(pool: PgPool) {
    let (app, clock) = due_team(pool.clone(), 4).await;
    only(&pool, "prompts").await;
    let platform = Arc::new(RecordingAdapter::new());
    platform.hold_landing(1);
    let a = worker_a(&app, &platform);
    platform.wait_landed(1).await;
    // The first send took the group to its share of time (well inside its lease).
    clock.advance(baton::outbox::HAND_BACK);
    platform.release_held(1);
    a.await.unwrap().unwrap();
    assert_eq!(platform.sent().len(), 1, "A stops after its share");
    let (state, claimed_by, not_before): (String, Option<String>, DateTime<Utc>) =
        sqlx::query_as("SELECT state, claimed_by, not_before FROM outbox WHERE kind = 'prompts'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((state.as_str(), claimed_by), ("pending", None));
    assert_eq!(not_before, clock.now(), "free for any worker at once");
    assert_eq!(app.metrics.lost_claims.load(Relaxed), 0);
    let b = Handle {
        platform: platform.clone(),
    };
    while deliver_batch(&app, &b, "worker-b", 10, None).await.unwrap() > 0 {}
    let per_key = prompts_per_key(&platform.sent());
    assert_eq!(per_key.len(), 4);
    assert!(per_key.values().all(|n| *n == 1), "{per_key:?}");
}

/// Holds every send until `n` are in flight at once.
struct Overlap {
    platform: RecordingAdapter,
    barrier: tokio::sync::Barrier,
    first: std::sync::atomic::AtomicUsize,
    n: usize,
}

#[async_trait]
impl ChatAdapter for Overlap {
    fn platform(&self) -> &'static str {
        "recording"
    }
    async fn send(&self, to: &Target, msg: &Outbound) -> Result<Delivered, AdapterError> {
        if self.first.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < self.n {
            self.barrier.wait().await;
        }
        self.platform.send(to, msg).await
    }
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn sends_to_different_people_are_in_flight_together(pool: PgPool) {
    let (app, _clock) = due_team(pool.clone(), 12).await;
    only(&pool, "prompts").await;
    let adapter = Overlap {
        platform: RecordingAdapter::new(),
        barrier: tokio::sync::Barrier::new(4),
        first: Default::default(),
        n: 4,
    };
    // Four sends must be in flight at once for any of them to finish: one at a time
    // would never get past the first. The bound only turns such a hang into a failure.
    let run = async {
        let d = Deliverer::new(&app, &adapter, "worker-p", None).parallel(4);
        while d.batch(10).await.unwrap() > 0 {}
    };
    tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .expect("sends overlapped");
    let per_key = prompts_per_key(&adapter.platform.sent());
    assert_eq!(per_key.len(), 12);
    assert!(per_key.values().all(|n| *n == 1), "{per_key:?}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn posts_to_one_thread_go_out_one_at_a_time_in_order(pool: PgPool) {
    let (app, _clock) = due_team(pool.clone(), 1).await;
    only(&pool, "none").await;
    let org = app.org(Some("team")).await.unwrap();
    let thread = Target::Thread {
        department: "ops".into(),
        thread: "alert-7".into(),
    };
    for key in ["t-1", "t-2", "t-3"] {
        let mut tx = app.store.begin().await.unwrap();
        enqueue(
            &mut tx,
            org.id,
            key,
            &thread,
            &Payload::Reply {
                reply: baton::bot::Reply::new().text(key),
            },
            app.clock.now(),
            app.clock.now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    // A's post of the first (the thread's parent-to-be) is in flight…
    let platform = Arc::new(RecordingAdapter::new());
    platform.hold_landing(1);
    let a = worker_a(&app, &platform);
    platform.wait_landed(1).await;
    // …so no worker may post anything else to that thread yet: it would start a second.
    let b = Handle {
        platform: platform.clone(),
    };
    let d = Deliverer::new(&app, &b, "worker-b", None).parallel(4);
    assert_eq!(d.batch(10).await.unwrap(), 0);
    platform.release_held(1);
    assert_eq!(
        a.await.unwrap().unwrap(),
        1,
        "A claimed the first post only"
    );
    while d.batch(10).await.unwrap() > 0 {}
    let keys: Vec<String> = platform
        .sent()
        .into_iter()
        .map(|(_, m)| m.idempotency_key)
        .collect();
    assert_eq!(keys, ["t-1", "t-2", "t-3"]);
}
