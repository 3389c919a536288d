//! Discord gateway mode against a fake gateway (a local WebSocket server speaking Hello,
//! Identify, Ready, heartbeats and dispatches) and the fake REST API: commands answered
//! once across transports, one replica at a time holding the gateway, and a review meeting
//! run through Discord.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use baton::app::App;
use baton::chat::discord::{self, DiscordAdapter, Gateway, Interactions};
use baton::clock::FixedClock;
use baton::metrics::Metrics;
use baton::serve::{LogAdapter, Service, ServiceOptions, Shutdown, WorkerOptions};
use baton::store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as Ws;

use crate::common::{count, example_spec};
use crate::discord::{
    CHLOE, Fake, GUILD, command, description, fake, hex, interaction, key, send_at, timed,
};

const APP_ID: u64 = 42;
const BOT_USER: &str = "1187000000000000042";
/// The Onboarding squad's channel, and the thread the fake REST creates for a review.
const CHANNEL: &str = "1187532046617530999";
const SAM: &str = "904412873301729311";
/// How long any one wait may take.
const LIMIT: Duration = Duration::from_secs(15);

// ── Fake gateway ──────────────────────────────────────────────────────────────────

#[derive(Default)]
struct GwState {
    /// The `d` of every Identify, in order.
    identifies: Vec<Value>,
    /// Identified sessions whose connection is still open, and the most at once.
    active: usize,
    max_active: usize,
    heartbeats_acked: usize,
    /// Where to push dispatches for each open identified session.
    sessions: Vec<(usize, mpsc::UnboundedSender<(String, Value)>)>,
}

#[derive(Clone)]
struct FakeGateway {
    url: String,
    st: Arc<Mutex<GwState>>,
    changed: Arc<Notify>,
}

impl FakeGateway {
    async fn start() -> FakeGateway {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gw = FakeGateway {
            url: format!("ws://{}", listener.local_addr().unwrap()),
            st: Arc::default(),
            changed: Arc::new(Notify::new()),
        };
        let g = gw.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((tcp, _)) = listener.accept().await {
                n += 1;
                tokio::spawn(g.clone().connection(n, tcp));
            }
        });
        gw
    }

    fn bump(&self) {
        self.changed.notify_waiters();
    }

    async fn connection(self, n: usize, tcp: tokio::net::TcpStream) {
        let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
            return;
        };
        let send = |v: Value| Ws::Text(v.to_string().into());
        // Heartbeats every 300 ms, so a test sees several acked.
        if ws
            .send(send(
                json!({"op": 10, "s": null, "t": null, "d": {"heartbeat_interval": 300}}),
            ))
            .await
            .is_err()
        {
            return;
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, Value)>();
        let mut seq = 0u64;
        let mut identified = false;
        loop {
            tokio::select! {
                frame = ws.next() => {
                    let Some(Ok(frame)) = frame else { break };
                    let v: Value = match frame {
                        Ws::Text(t) => serde_json::from_str(t.as_str()).unwrap_or(Value::Null),
                        Ws::Close(_) => break,
                        _ => continue,
                    };
                    match v["op"].as_u64() {
                        Some(2) if !identified => {
                            identified = true;
                            {
                                let mut st = self.st.lock().unwrap();
                                st.identifies.push(v["d"].clone());
                                st.active += 1;
                                st.max_active = st.max_active.max(st.active);
                                st.sessions.push((n, tx.clone()));
                            }
                            seq += 1;
                            let ready = json!({"op": 0, "s": seq, "t": "READY", "d": {
                                "v": 10,
                                "user": {"id": BOT_USER, "username": "baton", "discriminator": "0",
                                         "global_name": null, "avatar": null, "bot": true},
                                "guilds": [{"id": GUILD, "unavailable": true}],
                                "session_id": format!("session-{n}"),
                                "resume_gateway_url": self.url,
                                "shard": [0, 1],
                                "application": {"id": APP_ID.to_string(), "flags": 0}
                            }});
                            if ws.send(send(ready)).await.is_err() {
                                break;
                            }
                            self.bump();
                        }
                        Some(1) => {
                            if ws.send(send(json!({"op": 11, "s": null, "t": null, "d": null}))).await.is_err() {
                                break;
                            }
                            self.st.lock().unwrap().heartbeats_acked += 1;
                            self.bump();
                        }
                        _ => {}
                    }
                }
                Some((t, d)) = rx.recv() => {
                    seq += 1;
                    if ws.send(send(json!({"op": 0, "s": seq, "t": t, "d": d}))).await.is_err() {
                        break;
                    }
                }
            }
        }
        if identified {
            let mut st = self.st.lock().unwrap();
            st.active -= 1;
            st.sessions.retain(|(m, _)| *m != n);
        }
        self.bump();
    }

    /// Waits (bounded) until `f` holds for the gateway's state.
    async fn until(&self, what: &str, f: impl Fn(&GwState) -> bool) {
        let wait = async {
            loop {
                let notified = self.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if f(&self.st.lock().unwrap()) {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(LIMIT, wait)
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
    }

    /// Sends a dispatch to every open session; returns how many got it.
    fn dispatch(&self, t: &str, d: Value) -> usize {
        let st = self.st.lock().unwrap();
        for (_, tx) in &st.sessions {
            tx.send((t.to_string(), d.clone())).unwrap();
        }
        st.sessions.len()
    }

    fn identified(&self) -> usize {
        self.st.lock().unwrap().identifies.len()
    }
}

/// Waits (bounded) until the gateway has handled `n` events in all.
async fn handled(rx: &mut watch::Receiver<u64>, n: u64) {
    tokio::time::timeout(LIMIT, rx.wait_for(|h| *h >= n))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {n} events handled"))
        .unwrap();
}

// ── Payloads, as Discord sends them ───────────────────────────────────────────────

fn user(id: &str, name: &str, bot: bool) -> Value {
    json!({"id": id, "username": name, "discriminator": "0", "global_name": name,
           "avatar": null, "bot": bot, "public_flags": 0})
}

fn member(id: &str, name: &str) -> Value {
    json!({"user": user(id, name, false), "roles": [], "joined_at": "2026-01-05T09:00:00.000000+00:00",
           "deaf": false, "mute": false, "flags": 0, "permissions": "2248473465835073"})
}

fn message(id: &str, channel: &str, author: Value, content: &str) -> Value {
    json!({
        "id": id, "channel_id": channel, "guild_id": GUILD, "author": author,
        "member": {"roles": [], "joined_at": "2026-01-05T09:00:00.000000+00:00",
                   "deaf": false, "mute": false, "flags": 0},
        "content": content, "timestamp": "2026-11-19T14:00:00.000000+00:00",
        "edited_timestamp": null, "tts": false, "mention_everyone": false,
        "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
        "pinned": false, "type": 0, "flags": 0, "components": []
    })
}

/// INTERACTION_CREATE: a command (type 2) or a button (type 3, on `on_message`).
fn gateway_interaction(
    id: &str,
    kind: u8,
    who: (&str, &str),
    channel: &str,
    data: Value,
    on_message: Option<Value>,
) -> Value {
    let mut v = json!({
        "id": id, "application_id": APP_ID.to_string(), "type": kind, "data": data,
        "guild_id": GUILD, "channel_id": channel,
        "channel": {"id": channel, "type": if channel == CHANNEL { 0 } else { 11 }},
        "member": member(who.0, who.1), "token": format!("token-{id}"), "version": 1,
        "app_permissions": "2248473465835073", "locale": "en-GB", "guild_locale": "en-GB",
        "entitlements": [], "authorizing_integration_owners": {"0": GUILD},
        "context": 0, "attachment_size_limit": 26214400
    });
    if let Some(m) = on_message {
        v["message"] = m;
    }
    v
}

fn slash(sub: &str) -> Value {
    json!({"id": "1187000000000000100", "name": "baton", "type": 1,
           "options": [{"name": sub, "type": 1, "options": []}]})
}

fn button(custom_id: &str) -> Value {
    json!({"custom_id": custom_id, "component_type": 2})
}

// ── Rig ───────────────────────────────────────────────────────────────────────────

struct Rig {
    app: Arc<App>,
    fake: Fake,
    url: String,
    gw: FakeGateway,
}

async fn rig(app: App) -> Rig {
    let (fake, url) = fake().await;
    let gw = FakeGateway::start().await;
    *fake.gateway.lock().unwrap() = gw.url.clone();
    Rig {
        app: Arc::new(app),
        fake,
        url,
        gw,
    }
}

impl Rig {
    fn gateway(&self, token: &str) -> Gateway {
        Gateway::new(self.app.clone(), token, Some(APP_ID), Some(&self.url))
            .ratelimiter_disabled(true)
            .poll(Duration::from_millis(100))
    }

    /// `baton serve` with gateway mode only (no ticker, no outbox workers): one runner,
    /// connecting at once; with the count of events it has handled.
    fn run_one(&self) -> (Shutdown, JoinHandle<()>, watch::Receiver<u64>) {
        let gw = self.gateway("bot-token").takeover_delay(Duration::ZERO);
        let done = gw.handled();
        let service = Service::new(
            self.app.clone(),
            Arc::new(Metrics::new()),
            Arc::new(LogAdapter),
            ServiceOptions {
                workers: 0,
                tick: Duration::from_secs(60),
                grace: LIMIT,
                worker: WorkerOptions::default(),
                worker_prefix: "test".into(),
            },
        )
        .without_ticker()
        .with_connection(Box::new(move |s| {
            Box::pin(baton::chat::discord::gateway::run(gw, s))
        }));
        let shutdown = service.shutdown();
        let task = tokio::spawn(async move {
            service
                .run_until(std::future::pending())
                .await
                .expect("serve stops cleanly")
        });
        (shutdown, task, done)
    }

    fn router(&self) -> axum::Router {
        let cfg = Interactions::new(&hex(key().verifying_key().as_bytes()), None).unwrap();
        discord::routes(self.app.clone(), cfg)
    }

    /// The answers posted to an interaction's callback.
    fn callbacks(&self, id: &str) -> Vec<Value> {
        self.fake.calls(
            "POST",
            &format!("/api/v10/interactions/{id}/token-{id}/callback"),
        )
    }

    async fn deliver_outbox(&self) {
        let http = discord::http("bot-token", Some(APP_ID), Some(&self.url), true);
        let adapter = DiscordAdapter::new(self.app.clone(), http);
        // A thread's posts go out one claim after another (the first starts the thread).
        while timed(baton::outbox::deliver_batch(
            &self.app, &adapter, "test", 50, None,
        ))
        .await
        .unwrap()
            > 0
        {}
    }
}

async fn stop(shutdown: Shutdown, task: JoinHandle<()>) {
    shutdown.trigger();
    timed(task).await.unwrap();
}

// ── Tests ─────────────────────────────────────────────────────────────────────────

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn gateway_answers_a_command_once_across_transports(pool: PgPool) {
    let r = rig(crate::common::app_with(pool.clone(), &example_spec()).await).await;
    let (shutdown, task, mut done) = r.run_one();

    r.gw.until("an identify", |s| s.identifies.len() == 1).await;
    let identify = r.gw.st.lock().unwrap().identifies[0].clone();
    assert_eq!(identify["token"], "Bot bot-token");
    // GUILD_MESSAGES (1 << 9) and MESSAGE_CONTENT (1 << 15), nothing else.
    assert_eq!(identify["intents"], (1 << 9) | (1 << 15));
    assert_eq!(identify["shard"], json!([0, 1]));
    r.gw.until("a heartbeat acked", |s| s.heartbeats_acked >= 1)
        .await;

    // `/baton status` arrives over the gateway: answered once, through the REST callback.
    let id = "1187000000000000201";
    let status = gateway_interaction(id, 2, (CHLOE, "chloe"), CHANNEL, slash("status"), None);
    assert_eq!(r.gw.dispatch("INTERACTION_CREATE", status.clone()), 1);
    handled(&mut done, 1).await;
    let answers = r.callbacks(id);
    assert_eq!(answers.len(), 1);
    // `status` carries a picture: deferred at once (only for the asker), then finished by
    // editing the original answer, picture attached.
    assert_eq!(answers[0]["type"], 5);
    assert_eq!(answers[0]["data"]["flags"], 64, "only for the asker");
    let edit_path = format!("/api/v10/webhooks/{APP_ID}/token-{id}/messages/@original");
    let edits = timed(async {
        loop {
            let edits = r.fake.calls("PATCH", &edit_path);
            if !edits.is_empty() {
                return edits;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert_eq!(edits.len(), 1);
    let embed = &edits[0]["embeds"];
    assert!(embed.to_string().contains("Northwind"), "{embed}");
    assert_eq!(
        edits[0]["attachments"][0]["filename"], "scorecard-company.png",
        "the picture rides along"
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM inbound_deliveries WHERE platform = 'discord' AND delivery_id = 'int:1187000000000000201'"
        )
        .await,
        1
    );

    // Redelivered over the gateway: not run again, and not answered twice (the first
    // answer acknowledged it).
    assert_eq!(r.gw.dispatch("INTERACTION_CREATE", status), 1);
    handled(&mut done, 2).await;
    assert_eq!(r.callbacks(id).len(), 1);
    // The same interaction on the HTTP endpoint: already handled.
    let mut http_copy = interaction(id, 2, CHLOE, Some(GUILD), command("status", json!([])));
    http_copy["token"] = json!(format!("token-{id}"));
    let (st, v) = send_at(&r.router(), http_copy, r.app.clock.now().timestamp()).await;
    assert_eq!(st, StatusCode::OK);
    assert!(description(&v).contains("already handled"), "{v}");
    // And the other way round: first on the endpoint, then over the gateway.
    let id2 = "1187000000000000202";
    let mut http_first = interaction(id2, 2, CHLOE, Some(GUILD), command("whoami", json!([])));
    http_first["token"] = json!(format!("token-{id2}"));
    let (_, v) = send_at(&r.router(), http_first, r.app.clock.now().timestamp()).await;
    assert!(description(&v).contains("Chloe"), "{v}");
    r.gw.dispatch(
        "INTERACTION_CREATE",
        gateway_interaction(id2, 2, (CHLOE, "chloe"), CHANNEL, slash("whoami"), None),
    );
    handled(&mut done, 3).await;
    assert!(r.callbacks(id2).is_empty());
    assert_eq!(
        count(&pool, "SELECT count(*) FROM inbound_deliveries").await,
        2
    );

    // Unknown people are refused politely, only to them.
    let id3 = "1187000000000000203";
    r.gw.dispatch(
        "INTERACTION_CREATE",
        gateway_interaction(id3, 2, ("1", "stranger"), CHANNEL, slash("whoami"), None),
    );
    handled(&mut done, 4).await;
    let answers = r.callbacks(id3);
    assert!(
        description(&answers[0]).contains("don't know you"),
        "{}",
        answers[0]
    );
    assert_eq!(answers[0]["data"]["flags"], 64);

    stop(shutdown, task).await;
    r.gw.until("the session closed", |s| s.active == 0).await;
    assert_eq!(r.gw.identified(), 1);
}

/// The backend pid holding the gateway lock in this test's database.
async fn lock_holder(pool: &PgPool, key: i64) -> Option<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND classid = (($1::bigint >> 32) & 4294967295)::oid \
         AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1",
    )
    .bind(key)
    .fetch_optional(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn one_replica_holds_the_gateway_and_another_takes_over(pool: PgPool) {
    let r = rig(crate::common::app_with(pool.clone(), &example_spec()).await).await;
    let (a, b) = (r.gateway("token-a"), r.gateway("token-b"));
    assert_eq!(a.key(), b.key(), "one lock per bot");
    let key = a.key();

    // Replica A takes the lock and identifies; B, started after, stands by.
    let stop_a = Shutdown::new();
    let task_a = tokio::spawn(discord::gateway::run(a, stop_a.clone()));
    r.gw.until("A identifies", |s| s.identifies.len() == 1)
        .await;
    let stop_b = Shutdown::new();
    let mut b_tries = b.lock_attempts();
    let task_b = tokio::spawn(discord::gateway::run(b, stop_b.clone()));
    let a_pid = lock_holder(&pool, key).await.expect("A holds the lock");
    // B tries every 100 ms: wait for three of its tries to have been answered. Had one of
    // them won the lock, B would be holding it instead of trying again.
    tokio::time::timeout(LIMIT, b_tries.wait_for(|n| *n >= 3))
        .await
        .expect("B keeps trying the lock")
        .unwrap();
    assert_eq!(lock_holder(&pool, key).await, Some(a_pid));
    assert_eq!(
        r.gw.identified(),
        1,
        "B does not connect while A holds the lock"
    );

    // A dies (its task is aborted: its lock connection and its shard go with it): B takes
    // over and identifies.
    task_a.abort();
    r.gw.until("B identifies", |s| s.identifies.len() == 2)
        .await;
    assert_eq!(
        r.gw.st.lock().unwrap().identifies[1]["token"],
        "Bot token-b"
    );
    let b_pid = lock_holder(&pool, key).await.expect("B holds the lock");
    assert_ne!(a_pid, b_pid);

    // A comes back as a standby, and B's lock connection is cut: B stops its shard at once
    // and A takes over.
    let stop_a = Shutdown::new();
    let task_a = tokio::spawn(discord::gateway::run(r.gateway("token-a"), stop_a.clone()));
    let killed: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
        .bind(b_pid)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(killed);
    r.gw.until("A identifies again", |s| s.identifies.len() == 3)
        .await;
    assert_eq!(
        r.gw.st.lock().unwrap().identifies[2]["token"],
        "Bot token-a"
    );
    r.gw.until("one session open", |s| s.active == 1).await;

    stop(stop_a, task_a).await;
    stop(stop_b, task_b).await;
    r.gw.until("all sessions closed", |s| s.active == 0).await;
    assert_eq!(
        r.gw.st.lock().unwrap().max_active,
        1,
        "never two gateway sessions at once"
    );
    assert_eq!(r.gw.identified(), 3);
    assert_eq!(lock_holder(&pool, key).await, None, "the lock is released");
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn custom_ids(msg: &Value) -> Vec<String> {
    msg["components"][0]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["custom_id"].as_str().unwrap().to_string())
        .collect()
}

/// The titles and descriptions of every embed of a message.
fn text_of(msg: &Value) -> String {
    msg["embeds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            let fields = e["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    format!(
                        "{}\n{}",
                        f["name"].as_str().unwrap_or_default(),
                        f["value"].as_str().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n");
            format!(
                "{}\n{}\n{fields}",
                e["title"].as_str().unwrap_or_default(),
                e["description"].as_str().unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_review_runs_through_discord(pool: PgPool) {
    // Thursday 19 November 2026, 14:00 UTC: still Thursday in London, where Sam is, and
    // already Friday 01:00 in Sydney, where Chloe (head of the Onboarding squad) runs the
    // review.
    let clock = Arc::new(FixedClock::new(at("2026-11-19T14:00:00Z")));
    let app = App::new(Store::new(pool.clone()), clock.clone());
    let mut spec = example_spec();
    let sam = spec
        .people
        .iter_mut()
        .find(|p| p.key.as_str() == "sam")
        .unwrap();
    sam.time_zone = Some(chrono_tz::Europe::London);
    sam.chat = vec![baton::domain::ChatIdentity {
        platform: "discord".into(),
        workspace: GUILD.into(),
        user: SAM.into(),
    }];
    baton::app::apply::apply(&app, &spec, false).await.unwrap();
    let r = rig(app).await;
    let router = r.router();
    let ts = r.app.clock.now().timestamp();
    let (shutdown, task, mut done) = r.run_one();
    r.gw.until("an identify", |s| s.identifies.len() == 1).await;

    // Chloe starts the review with a signed interaction on the HTTP endpoint.
    let start = interaction(
        "1187000000000000301",
        2,
        CHLOE,
        Some(GUILD),
        json!({"name": "baton", "type": 1, "options": [{"name": "review", "type": 2, "options": [
            {"name": "start", "type": 1, "options": [
                {"name": "tier", "type": 3, "value": "tactical"},
                {"name": "dept", "type": 3, "value": "eng-onboarding"}]}]}]}),
    );
    let (st, v) = send_at(&router, start, ts).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["data"]["flags"], 64, "the thread gets it for everyone");
    assert!(description(&v).contains("Tactical review #1"), "{v}");

    // The outbox posts the header in the squad's channel and starts the thread from it.
    r.deliver_outbox().await;
    let header = r.fake.messages_in(CHANNEL)[0].clone();
    let threads = r.fake.calls(
        "POST",
        &format!("/api/v10/channels/{CHANNEL}/messages/{header}/threads"),
    );
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0]["name"], "review-1");
    let thread = r.fake.threads()[0].clone();
    let thread = thread.as_str();
    let in_thread = || {
        r.fake
            .calls("POST", &format!("/api/v10/channels/{thread}/messages"))
    };
    assert_eq!(in_thread().len(), 1, "item 1 in the thread");
    assert!(text_of(&in_thread()[0]).starts_with("Item 1/"));
    assert_eq!(
        custom_ids(&in_thread()[0]),
        [
            "baton:review_back:1",
            "baton:review_next:1",
            "baton:review_end:1"
        ]
    );
    let item_message = message(
        &r.fake.messages_in(thread)[0],
        thread,
        user(BOT_USER, "baton", true),
        "",
    );

    // Sam (a member, not a facilitator) presses Next: refused, only to him.
    let sam_next = interaction(
        "1187000000000000302",
        3,
        SAM,
        Some(GUILD),
        button("baton:review_next:1"),
    );
    let (_, v) = send_at(&router, sam_next, ts).await;
    assert_eq!(v["data"]["flags"], 64);
    assert!(description(&v).contains("Only facilitators"), "{v}");

    // Chloe presses Next over the gateway: moved; item 2 goes to the thread.
    let next = "1187000000000000303";
    r.gw.dispatch(
        "INTERACTION_CREATE",
        gateway_interaction(
            next,
            3,
            (CHLOE, "chloe"),
            thread,
            button("baton:review_next:1"),
            Some(item_message.clone()),
        ),
    );
    handled(&mut done, 1).await;
    let answer = r.callbacks(next);
    assert_eq!(answer[0]["data"]["flags"], 64, "{}", answer[0]);
    assert!(description(&answer[0]).contains("Item 2/"), "{}", answer[0]);
    r.deliver_outbox().await;
    assert_eq!(in_thread().len(), 2);
    assert!(text_of(&in_thread()[1]).starts_with("Item 2/"));

    // Thread messages over the gateway.
    let say = |id: &str, who: Value, text: &str| {
        assert_eq!(
            r.gw.dispatch("MESSAGE_CREATE", message(id, thread, who, text)),
            1
        );
    };
    // Discussion and bots are ignored: nothing recorded, nothing posted.
    let before = crate::common::snapshot(&pool).await;
    say(
        "1187000000000000401",
        user(SAM, "sam", false),
        "I think the checklist is late",
    );
    say(
        "1187000000000000402",
        user(BOT_USER, "baton", true),
        "action: an echo of myself",
    );
    handled(&mut done, 3).await;
    assert_eq!(in_thread().len(), 2);
    let after = crate::common::snapshot(&pool).await;
    assert_eq!(crate::common::changed(&before, &after), []);
    // A capture attempt baton cannot read gets a hint, as a reply to it.
    say(
        "1187000000000000403",
        user(SAM, "sam", false),
        "action @chloe send the checklist",
    );
    handled(&mut done, 4).await;
    let hint = in_thread()[2].clone();
    assert!(
        text_of(&hint).contains("start the line with `action:`"),
        "{hint}"
    );
    assert_eq!(
        hint["message_reference"]["message_id"],
        "1187000000000000403"
    );
    assert!(
        hint.get("flags").is_none(),
        "threads have no ephemeral messages"
    );
    // An unknown writer is refused politely, and nothing about them is recorded: of every
    // table only the delivery ids gain a row (theirs).
    let before = crate::common::snapshot(&pool).await;
    say(
        "1187000000000000404",
        user("1", "stranger", false),
        "note: hello",
    );
    handled(&mut done, 5).await;
    assert!(
        text_of(&in_thread()[3]).contains("don't know you"),
        "{}",
        in_thread()[3]
    );
    let after = crate::common::snapshot(&pool).await;
    let deliveries = before["inbound_deliveries"].0;
    assert_eq!(
        crate::common::changed(&before, &after),
        [("inbound_deliveries".to_string(), deliveries, deliveries + 1)]
    );

    // Sam writes the action with a Discord mention of Chloe: stored with Chloe as owner,
    // due "Friday" read in the facilitator's Sydney, where it is Friday already: the 27th
    // (read in Sam's London it would be the 20th).
    let action = format!("action: <@!{CHLOE}> send the onboarding checklist by Friday");
    say("1187000000000000405", user(SAM, "sam", false), &action);
    // The same message again (a redelivery) is not captured twice.
    say("1187000000000000405", user(SAM, "sam", false), &action);
    handled(&mut done, 7).await;
    let (text, owner, due, review): (String, String, NaiveDate, i64) = sqlx::query_as(
        "SELECT c.text, p.key, c.due_on, c.review_id FROM captures c \
         JOIN people p ON p.id = c.owner_id WHERE c.kind = 'action'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(text, "send the onboarding checklist");
    assert_eq!(owner, "chloe");
    assert_eq!(due, NaiveDate::from_ymd_opt(2026, 11, 27).unwrap());
    assert_eq!(review, 1);
    assert_eq!(
        in_thread().len(),
        4,
        "a capture is echoed by the outbox, not directly"
    );
    // The echo reaches the thread through the outbox, with Edit and Delete.
    r.deliver_outbox().await;
    assert_eq!(in_thread().len(), 5);
    let echo = in_thread()[4].clone();
    assert!(
        text_of(&echo).contains("Action #1 for Chloe Martin, due Fri 27 Nov 2026"),
        "{echo}"
    );
    assert_eq!(
        custom_ids(&echo),
        ["baton:capture_edit:1", "baton:capture_delete:1"]
    );

    // Chloe ends the meeting over the gateway: the summary goes to the thread and the
    // channel, and the review is closed.
    let end = "1187000000000000304";
    r.gw.dispatch(
        "INTERACTION_CREATE",
        gateway_interaction(
            end,
            3,
            (CHLOE, "chloe"),
            thread,
            button("baton:review_end:1"),
            Some(item_message),
        ),
    );
    handled(&mut done, 8).await;
    assert!(description(&r.callbacks(end)[0]).contains("Summary"));
    r.deliver_outbox().await;
    let summary = in_thread().last().unwrap().clone();
    assert!(
        text_of(&summary).starts_with("Summary of the tactical review #1"),
        "{summary}"
    );
    assert!(
        text_of(&summary).contains("send the onboarding checklist"),
        "{summary}"
    );
    let in_channel = r
        .fake
        .calls("POST", &format!("/api/v10/channels/{CHANNEL}/messages"));
    assert_eq!(in_channel.len(), 2, "the header, then the summary");
    assert_eq!(in_channel[1]["embeds"], summary["embeds"]);
    let status: String = sqlx::query_scalar("SELECT status FROM reviews WHERE id = 1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "ended");
    assert_eq!(
        count(&pool, "SELECT count(*) FROM captures").await,
        1,
        "one capture: no duplicate, nothing from discussion, hints or refusals"
    );

    stop(shutdown, task).await;
}
