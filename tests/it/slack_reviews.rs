//! A review meeting run entirely through Slack: the slash command that starts it, the outbox
//! opening the thread, buttons (Next, End, Edit, Delete) pressed by the facilitator and by
//! someone who may not, and captures typed as signed `event_callback` thread replies, with
//! retries. Everything Slack receives is read back from the fake Web API.

use std::sync::Arc;

use baton::chat::slack::SlackAdapter;
use baton::clock::FixedClock;
use baton::outbox::deliver_batch;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::common::{count, example_spec};
use crate::slack::{EMMA, MAYA, Rig, TEAM, event_callback, rig_on};

const PRIYA: &str = "U04PRIYA2R";
const SUCCESS: &str = "C04SUCCESS5";

/// (id, text, owner key, due date, review id) of a stored action.
type ActionRow = (i64, String, Option<String>, Option<chrono::NaiveDate>, i64);

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Friday 20 November 2026, 03:00 UTC: still Thursday evening in New York, where Emma (the
/// facilitator) is, so "by Friday" means tomorrow for her and next week in London.
fn start() -> DateTime<Utc> {
    at("2026-11-20T03:00:00Z")
}

async fn meeting_rig(pool: PgPool) -> Rig {
    let spec = example_spec();
    let r = rig_on(pool, &spec, Arc::new(FixedClock::new(start()))).await;
    let org = r.app.org(Some("northwind")).await.unwrap();
    let rows = baton::app::seed::history(&spec, start(), 8, 42);
    r.app.store.seed_checkins(org.id, &rows).await.unwrap();
    r
}

/// Delivers the outbox through the Slack adapter until it is empty.
async fn flush(r: &Rig) {
    let adapter = SlackAdapter { bot: r.bot.clone() };
    while deliver_batch(&r.app, &adapter, "w", 100, None)
        .await
        .unwrap()
        > 0
    {}
}

fn thread_event(event_id: &str, user: &str, text: &str, parent: &str, ts: &str) -> Value {
    event_callback(
        event_id,
        json!({
            "type": "message",
            "channel": SUCCESS,
            "channel_type": "channel",
            "user": user,
            "text": text,
            "ts": ts,
            "thread_ts": parent,
            "event_ts": ts
        }),
    )
}

fn press(r: &Rig, user: &str, action: &str, value: &str, ts: &str, trigger: &str) -> Value {
    json!({
        "type": "block_actions",
        "team": { "id": TEAM, "domain": "northwind" },
        "user": { "id": user, "team_id": TEAM },
        "api_app_id": "A0BATON001",
        "trigger_id": trigger,
        "container": { "type": "message", "message_ts": ts, "channel_id": SUCCESS, "is_ephemeral": false },
        "channel": { "id": SUCCESS, "name": "customer-success" },
        "response_url": r.fake.response_url(trigger),
        "actions": [{
            "type": "button", "action_id": format!("{action}:{value}"), "block_id": "b1",
            "value": value, "text": { "type": "plain_text", "text": action },
            "action_ts": "1763607600.000001"
        }]
    })
}

/// The texts of the messages posted into the review thread (after `parent`).
fn in_thread(r: &Rig, parent: &str) -> Vec<String> {
    r.fake
        .ok_calls("chat.postMessage")
        .into_iter()
        .filter(|b| b["channel"] == SUCCESS && b["thread_ts"] == parent)
        .map(|b| b["text"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Where the outbox put the message with this idempotency key: (channel, ts).
async fn landed(pool: &PgPool, key: &str) -> (String, String) {
    let id: String = sqlx::query_scalar(
        "SELECT delivered->>'message_id' FROM outbox WHERE idempotency_key = $1 AND state = 'sent'",
    )
    .bind(key)
    .fetch_one(pool)
    .await
    .unwrap();
    let (c, t) = id.split_once('/').unwrap();
    (c.to_string(), t.to_string())
}

async fn current_item(pool: &PgPool) -> i32 {
    sqlx::query_scalar("SELECT current_item FROM reviews WHERE id = 1")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_scripted_review_runs_through_slack(pool: PgPool) {
    let r = meeting_rig(pool.clone()).await;

    // Emma starts the review; the answer is hers, the header and first item go to the channel.
    let (_, ack) = r
        .slash(EMMA, "review start tactical success", "900.1")
        .await;
    assert!(
        ack["text"]
            .as_str()
            .unwrap()
            .contains("Tactical review #1 — Customer Success"),
        "{ack}"
    );
    flush(&r).await;
    let (channel, parent): (String, String) = sqlx::query_as(
        "SELECT channel, ts FROM platform_threads WHERE platform = 'slack' AND thread_key = 'review-1'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(channel, SUCCESS);
    let posts = r.fake.ok_calls("chat.postMessage");
    let header = posts
        .iter()
        .find(|b| b["text"].as_str().unwrap().contains("🗓 Tactical review #1"))
        .expect("the header is posted");
    assert_eq!(header["channel"], SUCCESS);
    assert!(
        header.get("thread_ts").is_none(),
        "the header opens the thread"
    );
    assert!(
        in_thread(&r, &parent)
            .iter()
            .any(|t| t.starts_with("Item 1/")),
        "{posts:?}"
    );
    let (_, item1_ts) = landed(&pool, &format!("review:1:item:0:{}", start().timestamp())).await;

    // Next, pressed by the facilitator: the second item appears in the thread.
    r.interact(&press(&r, EMMA, "review_next", "1", &item1_ts, "901.1"))
        .await;
    flush(&r).await;
    assert_eq!(current_item(&pool).await, 1);
    assert!(
        in_thread(&r, &parent)
            .iter()
            .any(|t| t.starts_with("Item 2/")),
        "{:?}",
        in_thread(&r, &parent)
    );

    // An action typed in the thread, delivered twice (Slack retried it).
    let action = thread_event(
        "Ev09ACTION1",
        EMMA,
        "action: @Kofi send the readiness update by Friday",
        &parent,
        "1763607700.000100",
    );
    assert_eq!(r.event(&action, None).await, axum::http::StatusCode::OK);
    assert_eq!(
        r.event(&action, Some("1")).await,
        axum::http::StatusCode::OK
    );
    // A mention in Slack's own form, a decision, discussion and a near miss.
    r.event(
        &thread_event(
            "Ev09ACTION2",
            EMMA,
            "Action: <@U04MAYA7QK> confirm the EMEA budget tomorrow",
            &parent,
            "1763607710.000100",
        ),
        None,
    )
    .await;
    r.event(
        &thread_event(
            "Ev09DECIDE1",
            EMMA,
            "decision: pause the EMEA discount until churn is understood",
            &parent,
            "1763607720.000100",
        ),
        None,
    )
    .await;
    r.event(
        &thread_event(
            "Ev09CHAT001",
            EMMA,
            "Note that churn is concentrated in two accounts",
            &parent,
            "1763607730.000100",
        ),
        None,
    )
    .await;
    r.event(
        &thread_event(
            "Ev09TODO001",
            EMMA,
            "todo: call the two accounts",
            &parent,
            "1763607740.000100",
        ),
        None,
    )
    .await;
    let actions: Vec<ActionRow> = sqlx::query_as(
        "SELECT c.id, c.text, p.key, c.due_on, c.review_id FROM captures c
             LEFT JOIN people p ON p.id = c.owner_id WHERE c.kind = 'action' ORDER BY c.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let friday = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    assert_eq!(
        actions,
        vec![
            (
                1,
                "send the readiness update".to_string(),
                Some("kofi".to_string()),
                Some(friday),
                1
            ),
            (
                2,
                "confirm the EMEA budget".to_string(),
                Some("maya".to_string()),
                Some(friday),
                1
            ),
        ],
        "one action per event despite the retry; due dates read in New York"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM captures WHERE kind = 'decision'"
        )
        .await,
        1
    );
    // The discussion line was left alone; the near miss got a private hint in the thread.
    let hints = r.fake.ok_calls("chat.postEphemeral");
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert_eq!(hints[0]["user"], EMMA);
    assert_eq!(hints[0]["thread_ts"], parent.as_str());
    assert!(
        hints[0]["text"].as_str().unwrap().contains("`action:`"),
        "{hints:?}"
    );

    // The echoes reach the thread with their buttons.
    flush(&r).await;
    let echo = r
        .fake
        .ok_calls("chat.postMessage")
        .into_iter()
        .find(|b| {
            b["text"].as_str().unwrap().contains(
                "✔ Action #1 for Kofi Mensah, due Fri 20 Nov 2026: send the readiness update",
            )
        })
        .expect("the action is echoed");
    assert_eq!(echo["thread_ts"], parent.as_str());
    let ids: Vec<&str> = echo["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap())
        .map(|e| e["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["capture_edit:1", "capture_delete:1"]);
    assert!(
        in_thread(&r, &parent)
            .iter()
            .any(|t| t.contains("✔ Decision #3 recorded: pause the EMEA discount")),
    );

    // Priya (head of Sales) may not move Customer Success's review: told privately.
    r.interact(&press(&r, PRIYA, "review_next", "1", &item1_ts, "902.1"))
        .await;
    assert!(
        r.fake
            .wait_for("response/902.1", 1, crate::slack::LIMIT)
            .await
    );
    let refusal = &r.fake.calls("response/902.1")[0].body;
    assert_eq!(refusal["response_type"], "ephemeral");
    assert!(
        refusal["text"]
            .as_str()
            .unwrap()
            .contains("Only facilitators, heads and admins"),
        "{refusal}"
    );
    assert_eq!(current_item(&pool).await, 1, "nothing moved");

    // Edit on action #1: a modal pre-filled as typed; the submission updates the echo.
    let (_, echo_ts) = landed(&pool, "review:1:capture:1").await;
    r.interact(&press(&r, EMMA, "capture_edit", "1", &echo_ts, "903.1"))
        .await;
    let opened = r.fake.ok_calls("views.open");
    assert_eq!(opened.len(), 1, "{:?}", r.fake.requests());
    let view = &opened[0]["view"];
    assert_eq!(view["callback_id"], "capture_edit:1");
    assert_eq!(
        view["blocks"][0]["element"]["initial_value"],
        "@kofi send the readiness update by 2026-11-20"
    );
    let submit = json!({
        "type": "view_submission",
        "team": { "id": TEAM, "domain": "northwind" },
        "user": { "id": EMMA, "team_id": TEAM },
        "api_app_id": "A0BATON001",
        "view": {
            "id": "V09EDIT0001", "type": "modal",
            "callback_id": view["callback_id"],
            "private_metadata": view["private_metadata"],
            "blocks": view["blocks"],
            "state": { "values": { "text": { "text": {
                "type": "plain_text_input",
                "value": "@kofi send the readiness update with the churn numbers by Monday"
            } } } }
        }
    });
    let (_, ack) = r.interact(&submit).await;
    assert_eq!(ack["response_action"], "clear", "{ack}");
    let updates = r.fake.ok_calls("chat.update");
    assert_eq!(updates.len(), 1);
    assert_eq!(
        (updates[0]["channel"].as_str(), updates[0]["ts"].as_str()),
        (Some(SUCCESS), Some(echo_ts.as_str()))
    );
    assert!(
        updates[0]["text"].as_str().unwrap().contains(
            "Action #1 now: send the readiness update with the churn numbers — Kofi Mensah, due Mon 23 Nov 2026"
        ),
        "{updates:?}"
    );

    // Delete on action #2: gone from the register, its echo says so.
    let (_, echo2_ts) = landed(&pool, "review:1:capture:2").await;
    r.interact(&press(&r, EMMA, "capture_delete", "2", &echo2_ts, "904.1"))
        .await;
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM captures WHERE id = 2 AND deleted_at IS NOT NULL"
        )
        .await,
        1
    );
    let updates = r.fake.ok_calls("chat.update");
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1]["ts"], echo2_ts.as_str());
    assert!(
        updates[1]["text"]
            .as_str()
            .unwrap()
            .contains("Deleted action #2"),
        "{updates:?}"
    );

    // End: the summary goes to the thread and to the channel, and is stored.
    r.interact(&press(&r, EMMA, "review_end", "1", &item1_ts, "905.1"))
        .await;
    flush(&r).await;
    let summaries: Vec<Value> = r
        .fake
        .ok_calls("chat.postMessage")
        .into_iter()
        .filter(|b| {
            b["text"]
                .as_str()
                .unwrap()
                .contains("Summary of the tactical review #1")
        })
        .collect();
    assert_eq!(summaries.len(), 2, "{summaries:?}");
    assert!(summaries.iter().all(|b| b["channel"] == SUCCESS));
    assert_eq!(
        summaries
            .iter()
            .filter(|b| b["thread_ts"] == parent.as_str())
            .count(),
        1
    );
    for s in &summaries {
        let text = s["text"].as_str().unwrap();
        assert!(text.contains("pause the EMEA discount"), "{text}");
        assert!(text.contains("with the churn numbers"), "{text}");
        assert!(!text.contains("confirm the EMEA budget"), "deleted: {text}");
    }
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM reviews WHERE status = 'ended' AND ended_at IS NOT NULL"
        )
        .await,
        1
    );
    // No answer to a button ever leaked the meeting privately to the facilitator.
    assert!(r.fake.calls("response/901.1").is_empty());
    assert!(r.fake.calls("response/905.1").is_empty());
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn only_review_threads_are_read_and_strangers_store_nothing(pool: PgPool) {
    let r = meeting_rig(pool.clone()).await;
    r.slash(EMMA, "review start tactical success", "910.1")
        .await;
    flush(&r).await;
    let parent: String =
        sqlx::query_scalar("SELECT ts FROM platform_threads WHERE thread_key = 'review-1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    // A capture in some other thread, and a top-level channel message: ignored.
    r.event(
        &thread_event(
            "Ev10OTHER01",
            EMMA,
            "action: @kofi something",
            "1763000000.000001",
            "1763607800.000100",
        ),
        None,
    )
    .await;
    let mut top = thread_event(
        "Ev10TOP0001",
        EMMA,
        "action: @kofi something",
        &parent,
        "1763607810.000100",
    );
    top["event"].as_object_mut().unwrap().remove("thread_ts");
    r.event(&top, None).await;
    // A stranger trying to capture in the thread: a polite private answer, nothing stored.
    r.event(
        &thread_event(
            "Ev10STRANGE",
            "U0STRANGER",
            "action: @kofi something",
            &parent,
            "1763607820.000100",
        ),
        None,
    )
    .await;
    // Slack retries the stranger's event: dropped before anyone is looked up again.
    r.event(
        &thread_event(
            "Ev10STRANGE",
            "U0STRANGER",
            "action: @kofi something",
            &parent,
            "1763607820.000100",
        ),
        None,
    )
    .await;
    // Someone known writes `action:` with nothing after it: a hint; an ended review refuses.
    r.event(
        &thread_event("Ev10EMPTY01", MAYA, "action:", &parent, "1763607830.000100"),
        None,
    )
    .await;
    assert_eq!(count(&pool, "SELECT count(*) FROM captures").await, 0);
    let eph = r.fake.ok_calls("chat.postEphemeral");
    assert_eq!(eph.len(), 2, "{eph:?}");
    assert_eq!(eph[0]["user"], "U0STRANGER");
    assert!(eph[0]["text"].as_str().unwrap().contains("don't know you"));
    assert_eq!(eph[1]["user"], MAYA);
    assert!(eph[1]["text"].as_str().unwrap().contains("`action:`"));
    // Only the delivery id is kept of the stranger's event (that is what drops the retry);
    // nothing about them is.
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM inbound_deliveries WHERE platform = 'slack' AND delivery_id = 'evt:Ev10STRANGE'"
        )
        .await,
        1
    );
    let asked = r
        .fake
        .calls("users.info")
        .into_iter()
        .filter(|c| c.body["user"] == "U0STRANGER")
        .count();
    assert_eq!(asked, 1, "one lookup, not one per retry");
    for sql in [
        "SELECT count(*) FROM learned_identities",
        "SELECT count(*) FROM platform_zones",
        "SELECT count(*) FROM captures",
    ] {
        assert_eq!(count(&pool, sql).await, 0, "{sql}");
    }

    r.slash(EMMA, "review end", "910.2").await;
    r.event(
        &thread_event(
            "Ev10LATE001",
            EMMA,
            "decision: too late",
            &parent,
            "1763607840.000100",
        ),
        None,
    )
    .await;
    assert_eq!(count(&pool, "SELECT count(*) FROM captures").await, 0);
    let eph = r.fake.ok_calls("chat.postEphemeral");
    assert_eq!(eph.len(), 3);
    assert!(
        eph[2]["text"]
            .as_str()
            .unwrap()
            .contains("Review #1 has ended"),
        "{eph:?}"
    );
}
