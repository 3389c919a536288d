//! Pictures through Slack's external upload flow, against the fake Web API: private answers
//! send their picture to the requester's DM (never the channel), shared ones to the channel,
//! outbox messages into their target thread; failed uploads follow the retry rules and the
//! text is never posted twice.

use std::sync::Arc;

use baton::app::pictures::{KR_TREND, image};
use baton::bot::Reply;
use baton::chat::Target;
use baton::chat::slack::SlackAdapter;
use baton::chat::slack::fake::{FakeSlack, Fault};
use baton::clock::FixedClock;
use baton::outbox::{Payload, deliver_batch};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::common::{example_spec, now};
use crate::slack::{EMMA, LIMIT, MAYA, Rig, event_callback, rig_on};

const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

async fn picture_rig(pool: PgPool) -> (Rig, Arc<FixedClock>) {
    let spec = example_spec();
    let clock = Arc::new(FixedClock::new(now()));
    let r = rig_on(pool, &spec, clock.clone()).await;
    let org = r.app.org(Some("northwind")).await.unwrap();
    let rows = baton::app::seed::history(&spec, now(), 8, 42);
    r.app.store.seed_checkins(org.id, &rows).await.unwrap();
    (r, clock)
}

/// Checks one complete upload: the URL was asked for with name, length and alt text, the
/// bytes are that PNG, and the completion shares that file. Returns the completion body.
fn check_upload(fake: &FakeSlack, n: usize, filename: &str) -> Value {
    let asked: Vec<Value> = fake
        .calls("files.getUploadURLExternal")
        .into_iter()
        .filter(|c| c.status == 200)
        .map(|c| c.body)
        .collect();
    let ask = &asked[n];
    assert_eq!(ask["filename"], filename, "{ask}");
    assert!(
        ask["alt_txt"].as_str().is_some_and(|a| a.len() > 20),
        "alt text: {ask}"
    );
    let complete = &fake.ok_calls("files.completeUploadExternal")[n];
    let file = complete["files"][0]["id"].as_str().expect("a file id");
    let bytes = fake.uploaded(file).expect("the bytes were uploaded");
    assert!(bytes.starts_with(PNG_MAGIC), "a PNG");
    assert_eq!(ask["length"], bytes.len().to_string());
    assert!(
        complete["files"][0]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    complete.clone()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn private_answers_send_pictures_to_the_dm_and_shared_ones_to_the_channel(pool: PgPool) {
    let (r, _) = picture_rig(pool).await;
    // Slack is busy the first time: 429 with Retry-After, then the upload goes through.
    r.fake.fail_next(
        "files.getUploadURLExternal",
        Fault::RateLimited { retry_after_s: 1 },
    );
    let (_, ack) = r.slash(MAYA, "kr S1", "950.1").await;
    assert_eq!(ack["response_type"], "ephemeral", "{ack}");
    assert!(
        ack.to_string()
            .contains("on its way to your direct messages"),
        "{ack}"
    );
    assert!(
        r.fake
            .wait_for("files.completeUploadExternal", 1, LIMIT)
            .await
    );
    assert_eq!(r.fake.calls("files.getUploadURLExternal").len(), 2);
    let done = check_upload(&r.fake, 0, "kr-S1.png");
    assert_eq!(done["channel_id"], "D04MAYA7QK", "the requester's DM");
    assert!(done.get("thread_ts").is_none());
    let dm = r.fake.ok_calls("conversations.open");
    assert_eq!(dm[0]["users"], MAYA);

    // Shared: the picture follows the answer into the channel.
    let (_, ack) = r.slash(MAYA, "share kr S1", "950.2").await;
    assert_eq!(ack["response_type"], "in_channel");
    assert!(!ack.to_string().contains("on its way"));
    assert!(
        r.fake
            .wait_for("files.completeUploadExternal", 2, LIMIT)
            .await
    );
    assert_eq!(
        check_upload(&r.fake, 1, "kr-S1.png")["channel_id"],
        "C04SALES7X2"
    );

    // A line in the DM: text and picture in that DM.
    let ev = event_callback(
        "Ev11PICTURE",
        json!({
            "type": "message", "channel": "D04EMMADV5", "channel_type": "im",
            "user": EMMA, "text": "map",
            "ts": "1763294400.000200", "event_ts": "1763294400.000200"
        }),
    );
    r.event(&ev, None).await;
    assert!(
        r.fake
            .wait_for("files.completeUploadExternal", 3, LIMIT)
            .await
    );
    assert_eq!(
        check_upload(&r.fake, 2, "strategy-map.png")["channel_id"],
        "D04EMMADV5"
    );
    // Nothing but the shared answer's picture ever reached the channel.
    let in_sales = r
        .fake
        .ok_calls("files.completeUploadExternal")
        .iter()
        .filter(|c| c["channel_id"] == "C04SALES7X2")
        .count();
    assert_eq!(in_sales, 1);
}

async fn queue(r: &Rig, key: &str, target: &Target, reply: Reply) {
    let org = r.app.org(Some("northwind")).await.unwrap();
    let now = r.app.clock.now();
    baton::store::outbox::enqueue_alone(
        &r.app.store,
        org.id,
        key,
        target,
        &Payload::Reply { reply },
        now,
        now,
    )
    .await
    .unwrap();
}

async fn state(pool: &PgPool, key: &str) -> String {
    sqlx::query_scalar("SELECT state FROM outbox WHERE idempotency_key = $1")
        .bind(key)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn with_picture(text: &str) -> Reply {
    let mut reply = Reply::new().text(text);
    reply.ephemeral = false;
    reply.push(image(
        KR_TREND,
        Some("S1"),
        "Trend of S1, customers who finish onboarding: 8 check-ins".into(),
    ));
    reply
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn outbox_pictures_go_into_the_thread_and_a_failed_upload_never_reposts_the_text(
    pool: PgPool,
) {
    let (r, clock) = picture_rig(pool.clone()).await;
    let adapter = SlackAdapter { bot: r.bot.clone() };
    let thread = Target::Thread {
        department: "sales".into(),
        thread: "checkins:2026-11-16".into(),
    };
    // The thread's first message carries a picture: it goes under that message.
    queue(&r, "pic:1", &thread, with_picture("Check-ins for the week")).await;
    deliver_batch(&r.app, &adapter, "w", 10, None)
        .await
        .unwrap();
    assert_eq!(state(&pool, "pic:1").await, "sent");
    let parent: String = sqlx::query_scalar("SELECT ts FROM platform_threads")
        .fetch_one(&pool)
        .await
        .unwrap();
    let done = check_upload(&r.fake, 0, "kr-S1.png");
    assert_eq!(done["channel_id"], "C04SALES7X2");
    assert_eq!(done["thread_ts"], parent.as_str());

    // The next one meets a 500 on the upload URL: the text is out, the message is retried
    // later by the outbox's rules, and the retry uploads the picture only.
    r.fake.fail_next("upload", Fault::ServerError);
    queue(&r, "pic:2", &thread, with_picture("Late: emma S2 = 10")).await;
    deliver_batch(&r.app, &adapter, "w", 10, None)
        .await
        .unwrap();
    assert_eq!(state(&pool, "pic:2").await, "pending");
    let not_before: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT not_before FROM outbox WHERE idempotency_key = 'pic:2'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(not_before, now() + baton::outbox::backoff(1));
    assert_eq!(
        deliver_batch(&r.app, &adapter, "w", 10, None)
            .await
            .unwrap(),
        0
    );
    clock.set(not_before);
    deliver_batch(&r.app, &adapter, "w", 10, None)
        .await
        .unwrap();
    assert_eq!(state(&pool, "pic:2").await, "sent");
    let texts: Vec<Value> = r
        .fake
        .ok_calls("chat.postMessage")
        .into_iter()
        .filter(|b| b["metadata"]["event_payload"]["key"] == "pic:2")
        .collect();
    assert_eq!(texts.len(), 1, "the text once: {texts:?}");
    assert_eq!(texts[0]["thread_ts"], parent.as_str());
    assert_eq!(r.fake.ok_calls("files.completeUploadExternal").len(), 2);
    let done = check_upload(&r.fake, 1, "kr-S1.png");
    assert_eq!(done["thread_ts"], parent.as_str());

    // A 429 on completion: the outbox waits exactly Retry-After, then completes once.
    r.fake.fail_next(
        "files.completeUploadExternal",
        Fault::RateLimited { retry_after_s: 1 },
    );
    queue(
        &r,
        "pic:3",
        &Target::Channel {
            department: "product".into(),
        },
        with_picture("Product digest"),
    )
    .await;
    deliver_batch(&r.app, &adapter, "w", 10, None)
        .await
        .unwrap();
    let (st, nb): (String, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("SELECT state, not_before FROM outbox WHERE idempotency_key = 'pic:3'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (st.as_str(), nb),
        ("pending", r.app.clock.now() + chrono::Duration::seconds(1))
    );
    clock.set(nb);
    deliver_batch(&r.app, &adapter, "w", 10, None)
        .await
        .unwrap();
    assert_eq!(state(&pool, "pic:3").await, "sent");
    let product_texts = r
        .fake
        .ok_calls("chat.postMessage")
        .into_iter()
        .filter(|b| b["metadata"]["event_payload"]["key"] == "pic:3")
        .count();
    assert_eq!(product_texts, 1);
    let completions = r.fake.calls("files.completeUploadExternal");
    let to_product: Vec<u16> = completions
        .iter()
        .filter(|c| c.body["channel_id"] == "C04PRODUCT9")
        .map(|c| c.status)
        .collect();
    assert_eq!(to_product, [429, 200]);

    // Slack refuses uploads for good (the app lacks files:write): the text stands, the
    // message is done, nothing is retried.
    r.fake.fail_next(
        "files.getUploadURLExternal",
        Fault::Api("missing_scope".into()),
    );
    queue(
        &r,
        "pic:4",
        &Target::Person {
            person: "emma".into(),
        },
        with_picture("Your KR"),
    )
    .await;
    deliver_batch(&r.app, &adapter, "w", 10, None)
        .await
        .unwrap();
    assert_eq!(state(&pool, "pic:4").await, "sent");
    assert!(
        r.fake
            .ok_calls("chat.postMessage")
            .iter()
            .any(|b| b["metadata"]["event_payload"]["key"] == "pic:4")
    );
    clock.advance(chrono::Duration::minutes(10));
    assert_eq!(
        deliver_batch(&r.app, &adapter, "w", 10, None)
            .await
            .unwrap(),
        0
    );
}
