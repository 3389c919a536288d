//! One inbound pipeline: the same button or form, arriving from Slack, from Discord and from
//! the shell, becomes the same command and has the same effect. Buttons are read off what
//! baton really renders (prompts, alerts, review items, captures); presses go through each
//! platform's real transport (signed Slack interactions, signed Discord interactions, the
//! shell's `press`), with two reviews running at once and a press by someone without rights.

use std::collections::BTreeSet;
use std::sync::Arc;

use baton::app::inbound::Ran;
use baton::bot::Reply;
use baton::bot::inbound::{Pressed, Scoped};
use baton::bot::reply::{Block, Form};
use baton::bot::{Command, render};
use baton::chat::recording::RecordingAdapter;
use baton::chat::shell::{Simulation, advance};
use baton::clock::{Clock, FixedClock};
use baton::domain::{ChatIdentity, OrgSpec};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::broadcast;

use crate::common::{actor, app_at, example_spec};
use crate::discord::{GUILD, router_for, send_at};
use crate::slack::{LIMIT, TEAM, rig_on};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T03:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

const JONAS_SLACK: &str = "U04JONASWB";
const KOFI_SLACK: &str = "U04KOFIMEN";
const EMMA_DISCORD: &str = "904412873301729303";
const JONAS_DISCORD: &str = "904412873301729301";
const KOFI_DISCORD: &str = "904412873301729302";

/// The example organisation, with Slack and Discord identities for the people pressing.
fn spec() -> OrgSpec {
    let mut spec = example_spec();
    let mut add = |key: &str, platform: &str, workspace: &str, user: &str| {
        let p = spec
            .people
            .iter_mut()
            .find(|p| p.key.as_str() == key)
            .unwrap();
        p.chat.push(ChatIdentity {
            platform: platform.into(),
            workspace: workspace.into(),
            user: user.into(),
        });
    };
    add("kofi", "slack", TEAM, KOFI_SLACK);
    add("emma", "discord", GUILD, EMMA_DISCORD);
    add("jonas", "discord", GUILD, JONAS_DISCORD);
    add("kofi", "discord", GUILD, KOFI_DISCORD);
    spec
}

/// The buttons of a reply as each platform renders them, read back by each platform's own
/// decoder: (shell, Slack, Discord).
fn presses(reply: &Reply) -> (Vec<Pressed>, Vec<Pressed>, Vec<Pressed>) {
    let shell: Vec<Pressed> = reply
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Actions(a) => Some(a),
            _ => None,
        })
        .flatten()
        .map(|a| Pressed::parse(&a.id, &a.value, None).unwrap())
        .collect();
    let slack: Vec<Pressed> = render::slack::blocks(reply)
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().clone())
        // A form shown in a message is a Slack button of its own (the shell asks at once).
        .filter(|e| !e["action_id"].as_str().unwrap().starts_with("form:"))
        .map(|e| baton::chat::slack::inbound::press_of(&e).unwrap())
        .collect();
    let discord: Vec<Pressed> = render::discord::message(reply, "")["components"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .flat_map(|row| row["components"].as_array().unwrap().clone())
        .map(|c| {
            baton::chat::discord::interactions::press_of(c["custom_id"].as_str().unwrap()).unwrap()
        })
        .collect();
    (shell, slack, discord)
}

fn forms(reply: &Reply) -> Vec<Form> {
    reply
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Form(f) => Some(f.clone()),
            _ => None,
        })
        .collect()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn every_button_and_form_reads_the_same_on_every_platform(pool: PgPool) {
    let spec = spec();
    let clock = Arc::new(FixedClock::new(start()));
    let app = app_at(pool.clone(), &spec, clock.clone()).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let rows = baton::app::seed::history(&spec, start(), 8, 42);
    app.store.seed_checkins(org.id, &rows).await.unwrap();
    let sim = Simulation {
        clock: clock.clone(),
        adapter: Arc::new(RecordingAdapter::new()),
    };
    let emma = actor(&app, "northwind", "emma").await;
    let mut replies = vec![
        app.handle_line(&emma, "review start tactical success", "d1")
            .await,
        app.handle_line(&emma, "action: @kofi call them by Friday", "d2")
            .await,
        app.handle_line(&emma, "blocked success-needs-wizard vendor late", "d3")
            .await,
        // A figure below S1's start: asked to confirm.
        app.handle_line(&emma, "S1 42 on track", "d4").await,
    ];
    // A week of what baton says on its own: prompts, reminders, alerts, review items.
    for (_, _, m) in advance(&app, &sim, start() + Duration::days(7))
        .await
        .unwrap()
    {
        replies.push(m.reply);
    }
    // The forms: a check-in, a capture's edit, an alert's update.
    let alert: i64 = sqlx::query_scalar("SELECT min(number) FROM alerts WHERE closed_at IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    for line in [
        "checkin".to_string(),
        "edit 1".into(),
        format!("update {alert}"),
    ] {
        replies.push(app.handle_line(&emma, &line, &line).await);
    }

    let mut kinds = BTreeSet::new();
    for reply in &replies {
        let (shell, slack, discord) = presses(reply);
        assert_eq!(shell, slack, "Slack reads {reply:?} differently");
        assert_eq!(shell, discord, "Discord reads {reply:?} differently");
        for p in &shell {
            kinds.insert(format!("{p:?}").split('(').next().unwrap().to_string());
        }
        for f in forms(reply) {
            // Slack: a button that opens the form, then the modal's callback id and block ids.
            let button = render::slack::blocks(reply)
                .iter()
                .filter(|b| b["type"] == "actions")
                .flat_map(|b| b["elements"].as_array().unwrap().clone())
                .find(|e| e["value"] == f.id.as_str())
                .expect("a button opens the form in Slack");
            let opened = baton::chat::slack::inbound::press_of(&button).unwrap();
            kinds.insert(format!("form {}", f.id.split(':').next().unwrap()));
            match &opened {
                Pressed::CheckinForm(_) => assert!(f.id.starts_with("checkin")),
                Pressed::CaptureEdit(n) => assert_eq!(f.id, format!("capture_edit:{n}")),
                Pressed::AlertUpdate(n) => assert_eq!(f.id, format!("alert_update:{n}")),
                other => panic!("the form {} opens {other:?}", f.id),
            }
            let modal = render::slack::modal(&f, &Default::default());
            assert_eq!(modal["callback_id"], f.id.as_str());
            let slack_fields: Vec<String> = modal["blocks"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|b| b["block_id"].as_str().map(str::to_string))
                .collect();
            let discord_modal = render::discord::modal(&f);
            assert_eq!(discord_modal["custom_id"], f.id.as_str());
            let discord_fields: Vec<String> = discord_modal["components"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|row| row["components"].as_array().unwrap().clone())
                .map(|c| c["custom_id"].as_str().unwrap().to_string())
                .collect();
            let names: Vec<String> = f.fields.iter().map(|x| x.name.clone()).collect();
            assert_eq!(slack_fields, names, "{}", f.id);
            assert_eq!(discord_fields, names, "{}", f.id);
        }
    }
    for kind in [
        "ReviewNext",
        "ReviewBack",
        "ReviewEnd",
        "CaptureEdit",
        "CaptureDelete",
        "Update",
        "NoChange",
        "Skip",
        "Snooze",
        "AlertAck",
        "AlertResolve",
        "AlertUpdate",
        "ConfirmFigure",
        "DeclineFigure",
        "form checkin",
        "form capture_edit",
        "form alert_update",
    ] {
        assert!(kinds.contains(kind), "no {kind} among {kinds:?}");
    }
}

async fn current_items(pool: &PgPool) -> (i32, i32) {
    let rows: Vec<i32> = sqlx::query_scalar("SELECT current_item FROM reviews ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    (rows[0], rows[1])
}

async fn next_ran(rx: &mut broadcast::Receiver<Ran>, what: &str) -> Ran {
    tokio::time::timeout(LIMIT, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("{what} does not reach the pipeline"))
        .unwrap()
}

fn slack_press(r: &crate::slack::Rig, user: &str, value: &str, trigger: &str) -> Value {
    json!({
        "type": "block_actions",
        "team": { "id": TEAM },
        "user": { "id": user, "team_id": TEAM },
        "trigger_id": trigger,
        "container": { "type": "message", "message_ts": "1763607600.000100", "channel_id": "C04SUCCESS5" },
        "channel": { "id": "C04SUCCESS5" },
        "response_url": r.fake.response_url(trigger),
        "actions": [{ "type": "button", "action_id": format!("review_next:{value}"), "value": value }]
    })
}

fn discord_press(id: &str, user: &str, value: &str) -> Value {
    crate::discord::interaction(
        id,
        3,
        user,
        Some(GUILD),
        json!({ "custom_id": format!("baton:review_next:{value}"), "component_type": 2 }),
    )
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn two_reviews_one_press_the_same_effect_from_every_platform(pool: PgPool) {
    let spec = spec();
    let clock = Arc::new(FixedClock::new(start()));
    let r = rig_on(pool.clone(), &spec, clock.clone()).await;
    let discord = router_for(r.app.clone(), None, None);
    let app = r.app.clone();
    // Eight weeks of check-ins, so each review's agenda has items to move through (key
    // results never measured are "no data" and put nothing on an agenda).
    let org = app.org(Some("northwind")).await.unwrap();
    let rows = baton::app::seed::history(&spec, start(), 8, 42);
    app.store.seed_checkins(org.id, &rows).await.unwrap();
    // Two reviews at once: Emma's of Customer Success (#1), Jonas's of Product (#2).
    let emma = actor(&app, "northwind", "emma").await;
    let jonas = actor(&app, "northwind", "jonas").await;
    assert!(
        !app.handle_line(&emma, "review start tactical success", "s1")
            .await
            .is_error()
    );
    assert!(
        !app.handle_line(&jonas, "review start tactical product", "s2")
            .await
            .is_error()
    );
    assert_eq!(current_items(&pool).await, (0, 0));
    let mut rx = app.ran.subscribe();
    let next_on_1 = Scoped {
        command: Command::ReviewNext,
        review: Some(1),
    };
    let ts = clock.now().timestamp();

    // Jonas (a facilitator, running #2) presses Next on #1's message: #1 moves, #2 stays.
    let (st, ack) = r.interact(&slack_press(&r, JONAS_SLACK, "1", "t1")).await;
    assert_eq!(st, axum::http::StatusCode::OK, "{ack}");
    let slack_ran = next_ran(&mut rx, "jonas slack").await;
    assert_eq!(current_items(&pool).await, (1, 0));
    let (_, v) = send_at(&discord, discord_press("501", JONAS_DISCORD, "1"), ts).await;
    let discord_ran = next_ran(&mut rx, "jonas discord").await;
    assert_eq!(current_items(&pool).await, (2, 0), "{v}");
    for ran in [&slack_ran, &discord_ran] {
        assert_eq!(ran.scoped, next_on_1);
        assert_eq!(ran.person, "jonas");
        assert!(!ran.failed);
    }
    assert_eq!(
        (slack_ran.platform, discord_ran.platform),
        ("slack", "discord")
    );

    // Kofi may not run a review: refused on every platform, and nothing moves.
    r.interact(&slack_press(&r, KOFI_SLACK, "1", "t2")).await;
    let slack_ran = next_ran(&mut rx, "kofi slack").await;
    let (_, v) = send_at(&discord, discord_press("502", KOFI_DISCORD, "1"), ts).await;
    let discord_ran = next_ran(&mut rx, "kofi discord").await;
    assert!(
        crate::discord::description(&v).contains("Only facilitators"),
        "{v}"
    );
    assert!(
        r.fake.wait_for("response/t2", 1, LIMIT).await,
        "Kofi is answered through response_url"
    );
    let answer = r.fake.calls("response/t2")[0].body.to_string();
    assert!(answer.contains("Only facilitators"), "{answer}");
    assert_eq!(current_items(&pool).await, (2, 0));

    // Emma, in the shell, asks where the meeting is and presses the Back she sees (#1
    // is at its last item):
    // #1 moves back, #2 still stays.
    let sim = Simulation {
        clock: clock.clone(),
        adapter: Arc::new(RecordingAdapter::new()),
    };
    let mut out = Vec::new();
    baton::chat::shell::run(
        &app,
        &emma,
        &b"review\npress back\n"[..],
        &mut out,
        false,
        Some(&sim),
        None,
    )
    .await
    .unwrap();
    let _where = next_ran(&mut rx, "emma review").await;
    let shell_ran = next_ran(&mut rx, "emma shell").await;
    assert_eq!(
        shell_ran.scoped,
        Scoped {
            command: Command::ReviewBack,
            review: Some(1)
        }
    );
    assert!(!shell_ran.failed, "{}", String::from_utf8_lossy(&out));
    assert_eq!(current_items(&pool).await, (1, 0));

    // The shell: Kofi asks where the meeting is (its item, with its buttons) and presses
    // Next: refused like on the other platforms.
    let kofi = actor(&app, "northwind", "kofi").await;
    let mut out = Vec::new();
    baton::chat::shell::run(
        &app,
        &kofi,
        &b"review\npress next\n"[..],
        &mut out,
        false,
        Some(&sim),
        None,
    )
    .await
    .unwrap();
    let out = String::from_utf8(out).unwrap();
    let _where = next_ran(&mut rx, "kofi review").await;
    let shell_ran = next_ran(&mut rx, &format!("kofi's shell press ({out})")).await;
    assert!(out.contains("Only facilitators"), "{out}");
    for ran in [&slack_ran, &discord_ran, &shell_ran] {
        assert_eq!(ran.scoped, next_on_1, "{}", ran.platform);
        assert_eq!(ran.person, "kofi");
        assert!(ran.failed, "{} let Kofi move the review", ran.platform);
    }
    assert_eq!(current_items(&pool).await, (1, 0));
}

fn slack_button(
    r: &crate::slack::Rig,
    user: &str,
    action: &str,
    value: &str,
    trigger: &str,
) -> Value {
    json!({
        "type": "block_actions",
        "team": { "id": TEAM },
        "user": { "id": user, "team_id": TEAM },
        "trigger_id": trigger,
        "container": { "type": "message", "message_ts": "1763607600.000100", "channel_id": "C04SUCCESS5" },
        "channel": { "id": "C04SUCCESS5" },
        "response_url": r.fake.response_url(trigger),
        "actions": [{ "type": "button", "action_id": format!("{action}:{value}"), "value": value }]
    })
}

fn discord_button(id: &str, user: &str, action: &str, value: &str) -> Value {
    crate::discord::interaction(
        id,
        3,
        user,
        Some(GUILD),
        json!({ "custom_id": format!("baton:{action}:{value}"), "component_type": 2 }),
    )
}

/// The figure a confirmation question asks about, read off its Yes button.
fn held_id(reply: &Reply) -> String {
    reply
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Actions(a) => Some(a),
            _ => None,
        })
        .flatten()
        .find(|a| a.id == "figure_yes")
        .unwrap_or_else(|| panic!("no Yes button in {reply:?}"))
        .value
        .clone()
}

async fn s1_values(pool: &PgPool) -> Vec<f64> {
    sqlx::query_scalar(
        "SELECT c.value FROM checkins c JOIN key_results k ON k.id = c.key_result_id
         WHERE k.code = 'S1' ORDER BY c.id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_suspicious_figure_waits_for_yes_from_slack_and_discord(pool: PgPool) {
    let spec = spec();
    let clock = Arc::new(FixedClock::new(start()));
    let r = rig_on(pool.clone(), &spec, clock.clone()).await;
    let discord = router_for(r.app.clone(), None, None);
    let app = r.app.clone();
    let kofi = actor(&app, "northwind", "kofi").await;
    let mut rx = app.ran.subscribe();
    let ts = clock.now().timestamp();
    let confirm = |id: &str| Scoped {
        command: Command::Confirm(Some(id.parse().unwrap())),
        review: None,
    };

    // Yes in Slack records it.
    let asked = app.handle_line(&kofi, "S1 42 on track", "f1").await;
    let first = held_id(&asked);
    assert!(s1_values(&pool).await.is_empty());
    let (st, ack) = r
        .interact(&slack_button(&r, KOFI_SLACK, "figure_yes", &first, "f-t1"))
        .await;
    assert_eq!(st, axum::http::StatusCode::OK, "{ack}");
    let ran = next_ran(&mut rx, "kofi's yes in slack").await;
    assert_eq!(
        (ran.platform, ran.scoped.clone()),
        ("slack", confirm(&first))
    );
    assert!(!ran.failed);
    assert_eq!(s1_values(&pool).await, vec![42.0]);

    // Yes in Discord records the next one; the first question's button is spent.
    let asked = app.handle_line(&kofi, "S1 43", "f2").await;
    let second = held_id(&asked);
    let (_, v) = send_at(
        &discord,
        discord_button("601", KOFI_DISCORD, "figure_yes", &first),
        ts,
    )
    .await;
    let ran = next_ran(&mut rx, "kofi's stale yes in discord").await;
    assert!(ran.failed, "{v}");
    // A press on a spent question is a yes to nothing, and says so; 43 still waits.
    assert_eq!(s1_values(&pool).await, vec![42.0]);
    let (_, v) = send_at(
        &discord,
        discord_button("602", KOFI_DISCORD, "figure_yes", &second),
        ts,
    )
    .await;
    let ran = next_ran(&mut rx, "kofi's yes in discord").await;
    assert_eq!(
        (ran.platform, ran.scoped.clone()),
        ("discord", confirm(&second))
    );
    assert!(!ran.failed, "{v}");
    assert_eq!(s1_values(&pool).await, vec![42.0, 43.0]);

    // Someone else's Yes confirms nothing; Kofi's No drops it.
    let asked = app.handle_line(&kofi, "S1 44", "f3").await;
    let third = held_id(&asked);
    r.interact(&slack_button(&r, JONAS_SLACK, "figure_yes", &third, "f-t2"))
        .await;
    let ran = next_ran(&mut rx, "jonas's yes in slack").await;
    assert!(ran.failed, "jonas confirmed kofi's figure");
    let (_, v) = send_at(
        &discord,
        discord_button("603", KOFI_DISCORD, "figure_no", &third),
        ts,
    )
    .await;
    let ran = next_ran(&mut rx, "kofi's no in discord").await;
    assert!(!ran.failed, "{v}");
    assert!(
        crate::discord::description(&v).contains("Dropped: S1 = 44"),
        "{v}"
    );
    assert_eq!(s1_values(&pool).await, vec![42.0, 43.0]);
    assert_eq!(
        crate::common::count(&pool, "SELECT count(*) FROM pending_figures").await,
        0
    );
}

/// Rows per table, except the delivery ids the pipeline keeps to drop repeats.
async fn snapshot(pool: &PgPool) -> Vec<(String, i64)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'
           AND tablename NOT IN ('inbound_deliveries', '_sqlx_migrations') ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let sql = format!("SELECT count(*) FROM {t}");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .unwrap();
        out.push((t, n));
    }
    out
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn someone_the_platform_knows_but_the_manifest_does_not_changes_nothing(pool: PgPool) {
    let spec = spec();
    let clock = Arc::new(FixedClock::new(start()));
    let r = rig_on(pool.clone(), &spec, clock.clone()).await;
    let app = r.app.clone();
    let org = app.org(Some("northwind")).await.unwrap();
    let rows = baton::app::seed::history(&spec, start(), 8, 42);
    app.store.seed_checkins(org.id, &rows).await.unwrap();
    // Slack knows this person (a real email of the company's domain); the manifest does not.
    const NEW: &str = "U0NEWHIRE1";
    r.fake
        .add_user(NEW, "new.hire@northwind.example", "Europe/London");
    const NEW_DISCORD: &str = "904412873301729999";
    // What there is to write to: a running review with its Slack thread, a capture, an
    // alert, open prompts.
    let emma = actor(&app, "northwind", "emma").await;
    for line in [
        "review start tactical success",
        "action: @kofi call them by Friday",
        "blocked success-needs-wizard vendor late",
    ] {
        assert!(
            !app.handle_line(&emma, line, line).await.is_error(),
            "{line}"
        );
    }
    let sim = Simulation {
        clock: clock.clone(),
        adapter: Arc::new(RecordingAdapter::new()),
    };
    advance(&app, &sim, start() + Duration::days(3))
        .await
        .unwrap();
    let adapter = baton::chat::slack::SlackAdapter { bot: r.bot.clone() };
    app.store
        .remember_thread(
            org.id,
            "slack",
            "success",
            "review-1",
            &baton::store::threads::ThreadRow {
                channel: "C04SUCCESS5".into(),
                parent: "1763607600.000100".into(),
                thread_ref: "1763607600.000100".into(),
            },
            clock.now(),
        )
        .await
        .unwrap();
    app.store
        .remember_thread(
            org.id,
            "discord",
            "success",
            "review-1",
            &baton::store::threads::ThreadRow {
                channel: "1187532046617530999".into(),
                parent: "7000".into(),
                thread_ref: "7001".into(),
            },
            clock.now(),
        )
        .await
        .unwrap();
    drop(adapter);
    let before = snapshot(&pool).await;
    let alert: i64 = sqlx::query_scalar("SELECT min(number) FROM alerts WHERE closed_at IS NULL")
        .fetch_one(&pool)
        .await
        .unwrap();
    let alert = alert.to_string();

    // Slack: slash commands, a DM, a reply in the review's thread, every button, forms.
    for (i, line) in [
        "S1 42 on track",
        "checkin S1 42",
        "action: @kofi call them",
        "decision: we go",
        "review next",
        "nochange",
        "skip",
        "snooze 2h",
        &format!("ack {alert}"),
        &format!("update {alert} vendor late"),
        &format!("resolve {alert} done"),
        "blocked success-needs-wizard nope",
        "away 2026-12-01 2026-12-02",
        "done 1",
        "delete 1",
    ]
    .iter()
    .enumerate()
    {
        let (_, ack) = r.slash(NEW, line, &format!("c{i}")).await;
        assert!(ack.to_string().contains("don't know you"), "{line}: {ack}");
    }
    r.event(
        &crate::slack::dm_event("EvNEW0001", NEW, "S1 42 on track"),
        None,
    )
    .await;
    // A thread Slack has (the stand-in refuses a reply to a thread it never saw).
    r.fake
        .existing_message("C04SUCCESS5", "1763607600.000100", "a thread");
    r.event(
        &crate::slack::event_callback(
            "EvNEW0002",
            json!({ "type": "message", "channel": "C04SUCCESS5", "channel_type": "channel",
                    "user": NEW, "text": "action: @kofi call them", "ts": "1763607700.000100",
                    "thread_ts": "1763607600.000100" }),
        ),
        None,
    )
    .await;
    let buttons = [
        ("review_next", "1"),
        ("review_end", "1"),
        ("capture_delete", "1"),
        ("capture_edit", "1"),
        ("update", "S1"),
        ("nochange", "1"),
        ("skip", "1"),
        ("snooze", "1"),
        ("alert_ack", alert.as_str()),
        ("alert_resolve", alert.as_str()),
        ("alert_update", alert.as_str()),
    ];
    for (i, (action, value)) in buttons.iter().enumerate() {
        let trigger = format!("b{i}");
        let mut p = slack_press(&r, NEW, value, &trigger);
        p["actions"][0]["action_id"] = json!(format!("{action}:{value}"));
        r.interact(&p).await;
        assert!(
            r.fake
                .wait_for(&format!("response/{trigger}"), 1, LIMIT)
                .await,
            "{action}"
        );
        let answer = r.fake.calls(&format!("response/{trigger}"))[0]
            .body
            .to_string();
        assert!(answer.contains("don't know you"), "{action}: {answer}");
    }
    for (callback, field, value) in [
        ("checkin:S1", "value", "42"),
        ("capture_edit:1", "text", "@kofi something else"),
        (&*format!("alert_update:{alert}"), "text", "vendor late"),
    ] {
        let (_, ack) = r
            .interact(&json!({
                "type": "view_submission",
                "team": { "id": TEAM },
                "user": { "id": NEW },
                "view": { "id": "V0NEW", "callback_id": callback,
                          "blocks": [{ "block_id": field }],
                          "state": { "values": { field: { field: { "type": "plain_text_input", "value": value } } } } }
            }))
            .await;
        assert!(
            ack.to_string().contains("don't know you"),
            "{callback}: {ack}"
        );
    }
    assert!(r.fake.wait_for("chat.postEphemeral", 2, LIMIT).await);
    let eph = r.fake.ok_calls("chat.postEphemeral");
    assert_eq!(eph.len(), 2, "the DM and the thread reply: {eph:?}");
    assert!(
        eph.iter()
            .all(|e| e["user"] == NEW && e.to_string().contains("don't know you"))
    );

    // Discord: a command, every button, a modal and a message in the review's thread.
    let discord = router_for(app.clone(), None, None);
    let ts = clock.now().timestamp();
    let command = crate::discord::command(
        "checkin",
        json!([{"name": "code", "type": 3, "value": "S1"}, {"name": "value", "type": 3, "value": "42"}]),
    );
    let (_, v) = send_at(
        &discord,
        crate::discord::interaction("900", 2, NEW_DISCORD, Some(GUILD), command),
        ts,
    )
    .await;
    assert!(
        crate::discord::description(&v).contains("don't know you"),
        "{v}"
    );
    for (i, (action, value)) in buttons.iter().enumerate() {
        let (_, v) = send_at(
            &discord,
            crate::discord::interaction(
                &format!("91{i}"),
                3,
                NEW_DISCORD,
                Some(GUILD),
                json!({ "custom_id": format!("baton:{action}:{value}"), "component_type": 2 }),
            ),
            ts,
        )
        .await;
        assert!(
            crate::discord::description(&v).contains("don't know you"),
            "{action}: {v}"
        );
    }
    let (_, v) = send_at(
        &discord,
        crate::discord::interaction(
            "950",
            5,
            NEW_DISCORD,
            Some(GUILD),
            json!({ "custom_id": "checkin:S1", "components": [{ "type": 1, "components": [
                { "type": 4, "custom_id": "value", "value": "42" }] }] }),
        ),
        ts,
    )
    .await;
    assert!(
        crate::discord::description(&v).contains("don't know you"),
        "{v}"
    );
    let (fake, url) = crate::discord::fake().await;
    let out = baton::chat::discord::DiscordAdapter::new(
        app.clone(),
        baton::chat::discord::http("bot-token", Some(42), Some(&url), true),
    );
    let said = baton::chat::discord::threads::on_message(
        &app,
        &out,
        &baton::chat::discord::threads::Incoming {
            id: "960".into(),
            channel_id: "7001".into(),
            guild_id: Some(GUILD.into()),
            author_id: NEW_DISCORD.into(),
            author_is_bot: false,
            content: "action: @kofi call them".into(),
        },
    )
    .await;
    assert_eq!(said, baton::chat::discord::threads::Outcome::Answered);
    let posted = fake.calls("POST", "/api/v10/channels/7001/messages");
    assert!(
        posted
            .iter()
            .any(|b| b.to_string().contains("don't know you")),
        "{posted:?}"
    );

    // Nothing anywhere changed.
    assert_eq!(snapshot(&pool).await, before);
}
