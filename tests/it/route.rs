//! Routing per recipient with Slack and Discord configured together (the fake Slack Web
//! API and the fake Discord REST API on 127.0.0.1): a person on their own platform, a
//! department on every platform with a channel, retries that do not repost, people linked
//! by email or learned when they write, and people nobody can reach.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::Request;
use baton::app::App;
use baton::bot::Reply;
use baton::chat::discord::{self, DiscordAdapter};
use baton::chat::router::Router;
use baton::chat::slack::SlackAdapter;
use baton::chat::slack::fake::Fault;
use baton::chat::{AdapterError, ChatAdapter, Outbound, Target};
use baton::clock::FixedClock;
use baton::domain::{ChatIdentity, OrgSpec};
use baton::outbox::{self, Payload};
use chrono::{DateTime, TimeZone, Utc};
use sqlx::PgPool;
use tower::ServiceExt;

use crate::common::{Logs, count, example_spec, now};
use crate::discord::{Fake as DiscordFake, fake as discord_fake, timed};
use crate::slack::{Rig, rig_on};

const TOM_ON_DISCORD: &str = "904412873301729301";
const TOM_IN_SLACK: &str = "U07TOM0001";
const ONBOARDING_SLACK: &str = "C05ONBOARD4";
const ONBOARDING_DISCORD: &str = "/api/v10/channels/1187532046617530999/messages";

/// Slack and Discord side by side behind one router, as `baton serve` wires them.
struct Both {
    slack: Rig,
    discord: DiscordFake,
    router: Router,
    clock: Arc<FixedClock>,
    org: i64,
    /// The test database, read directly.
    pool: PgPool,
}

async fn both(pool: PgPool, spec: &OrgSpec) -> Both {
    let clock = Arc::new(FixedClock::new(now()));
    let slack = rig_on(pool.clone(), spec, clock.clone()).await;
    let (discord, url) = discord_fake().await;
    let http = discord::http("bot-token", Some(42), Some(&url), true);
    let adapters: Vec<Arc<dyn ChatAdapter>> = vec![
        Arc::new(SlackAdapter {
            bot: slack.bot.clone(),
        }),
        Arc::new(DiscordAdapter::new(slack.app.clone(), http)),
    ];
    let router = Router::new(slack.app.clone(), adapters);
    let org = slack.app.org(Some("northwind")).await.unwrap().id;
    Both {
        slack,
        discord,
        router,
        clock,
        org,
        pool,
    }
}

impl Both {
    fn app(&self) -> &App {
        &self.slack.app
    }

    async fn enqueue(&self, key: &str, target: Target) {
        let now = self.app().clock.now();
        let reply = Reply::new().heading("Digest").text("All on track.");
        assert!(
            baton::store::outbox::enqueue_alone(
                &self.app().store,
                self.org,
                key,
                &target,
                &Payload::Reply { reply },
                now,
                now
            )
            .await
            .unwrap()
        );
    }

    /// Delivers everything due now through the router.
    async fn deliver(&self) {
        timed(async {
            while outbox::deliver_batch(self.app(), &self.router, "w", 100, None)
                .await
                .unwrap()
                > 0
            {}
        })
        .await
    }

    /// Slack posts (status 200) to `channel`.
    fn slack_posts_to(&self, channel: &str) -> usize {
        self.slack
            .fake
            .ok_calls("chat.postMessage")
            .iter()
            .filter(|b| b["channel"] == channel)
            .count()
    }

    fn discord_posts_to(&self, path: &str) -> usize {
        self.discord.calls("POST", path).len()
    }

    async fn state(&self, key: &str) -> (String, Option<String>) {
        sqlx::query_as("SELECT state, last_error FROM outbox WHERE idempotency_key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

fn spec_with(edit: impl Fn(&mut baton::domain::PersonSpec)) -> OrgSpec {
    let mut spec = example_spec();
    for p in &mut spec.people {
        if p.key.as_str() == "tom" {
            edit(p);
        }
    }
    spec
}

/// Tom (Sales) only on Discord.
fn tom_on_discord() -> OrgSpec {
    spec_with(|p| {
        p.chat = vec![ChatIdentity {
            platform: "discord".into(),
            workspace: crate::discord::GUILD.into(),
            user: TOM_ON_DISCORD.into(),
        }]
    })
}

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap()
}

/// Sales prompts at 09:00 in each member's zone: Tom's (New York) on Monday 16 November
/// at 14:00Z. Runs the tick there and returns Tom's prompt.
async fn prompt_tom(b: &Both) -> i64 {
    b.clock.set(at(16, 14, 0));
    baton::app::schedule::run_due(b.app(), None).await.unwrap();
    sqlx::query_scalar(
        "SELECT pr.id FROM prompts pr JOIN people p ON p.id = pr.person_id WHERE p.key = 'tom'",
    )
    .fetch_one(&b.pool)
    .await
    .unwrap()
}

async fn prompt_state(b: &Both, id: i64) -> String {
    sqlx::query_scalar("SELECT state FROM prompts WHERE id = $1")
        .bind(id)
        .fetch_one(&b.pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn each_person_on_their_platform_and_departments_on_every_platform(pool: PgPool) {
    let b = both(pool, &tom_on_discord()).await;
    b.enqueue(
        "to:tom",
        Target::Person {
            person: "tom".into(),
        },
    )
    .await;
    b.enqueue(
        "to:emma",
        Target::Person {
            person: "emma".into(),
        },
    )
    .await;
    b.enqueue(
        "to:onboarding",
        Target::Channel {
            department: "eng-onboarding".into(),
        },
    )
    .await;
    b.enqueue(
        "to:sales",
        Target::Channel {
            department: "sales".into(),
        },
    )
    .await;
    b.deliver().await;

    // Tom is only on Discord: a Discord DM, nothing in Slack.
    let dms = b.discord.calls("POST", "/api/v10/users/@me/channels");
    assert_eq!(dms.len(), 1, "{dms:?}");
    assert_eq!(dms[0]["recipient_id"], TOM_ON_DISCORD);
    assert_eq!(b.discord_posts_to("/api/v10/channels/9000/messages"), 1);
    // Emma is only on Slack: posted to her user id (Slack answers with the DM channel), no
    // conversations.open.
    assert_eq!(b.slack_posts_to("U04EMMADV5"), 1);
    assert!(b.slack.fake.calls("conversations.open").is_empty());
    // Onboarding has a channel on both platforms; Sales only on Slack.
    assert_eq!(b.slack_posts_to(ONBOARDING_SLACK), 1);
    assert_eq!(b.discord_posts_to(ONBOARDING_DISCORD), 1);
    assert_eq!(b.slack_posts_to("C04SALES7X2"), 1);
    assert_eq!(b.slack.fake.ok_calls("chat.postMessage").len(), 3);
    for key in ["to:tom", "to:emma", "to:onboarding", "to:sales"] {
        assert_eq!(b.state(key).await.0, "sent", "{key}");
    }
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_retry_after_one_platform_failed_does_not_post_again_on_the_other(pool: PgPool) {
    let b = both(pool, &example_spec()).await;
    b.enqueue(
        "to:onboarding",
        Target::Channel {
            department: "eng-onboarding".into(),
        },
    )
    .await;
    // Slack fails (500), Discord takes it: the message waits for Slack alone.
    b.slack
        .fake
        .fail_next("chat.postMessage", Fault::ServerError);
    b.deliver().await;
    assert_eq!(b.discord_posts_to(ONBOARDING_DISCORD), 1);
    assert_eq!(b.slack_posts_to(ONBOARDING_SLACK), 0);
    let (state, error) = b.state("to:onboarding").await;
    assert_eq!(state, "pending");
    assert!(error.unwrap().starts_with("transient failure: slack:"));

    // The retry posts on Slack only.
    b.clock.advance(chrono::Duration::minutes(1));
    b.deliver().await;
    assert_eq!(b.slack_posts_to(ONBOARDING_SLACK), 1);
    assert_eq!(
        b.discord_posts_to(ONBOARDING_DISCORD),
        1,
        "Discord had it already"
    );
    assert_eq!(b.state("to:onboarding").await.0, "sent");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn an_email_only_person_is_looked_up_once_and_then_prompted_in_slack(pool: PgPool) {
    let b = both(pool, &example_spec()).await;
    b.slack.fake.add_user(
        TOM_IN_SLACK,
        "Tom.Okafor@northwind.example",
        "America/New_York",
    );
    // Before the lookup has reached him, a message to Tom waits (it is retried).
    let msg = Outbound {
        org_id: b.org,
        kind: "reply".into(),
        idempotency_key: "early".into(),
        reply: Reply::new().text("hello"),
    };
    let tom = Target::Person {
        person: "tom".into(),
    };
    assert!(matches!(
        b.router.send(&tom, &msg).await,
        Err(AdapterError::Transient(_))
    ));

    // The lookup at apply / start: one call per email-only person, each found or not.
    let email_only = count(
        &b.pool,
        "SELECT count(*) FROM people p WHERE email IS NOT NULL AND NOT EXISTS
         (SELECT 1 FROM chat_identities c WHERE c.person_id = p.id AND c.platform = 'slack')",
    )
    .await as usize;
    let report = b
        .slack
        .bot
        .link_by_email(b.org, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(report.linked, 1);
    assert_eq!(report.not_found, email_only - 1);
    assert_eq!(b.slack.fake.calls("users.lookupByEmail").len(), email_only);
    // A second run asks nobody again.
    b.slack
        .bot
        .link_by_email(b.org, std::time::Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(b.slack.fake.calls("users.lookupByEmail").len(), email_only);
    assert_eq!(
        b.slack
            .bot
            .slack_user(b.org, "tom")
            .await
            .unwrap()
            .as_deref(),
        Some(TOM_IN_SLACK)
    );

    let prompt = prompt_tom(&b).await;
    b.deliver().await;
    let to_tom: Vec<_> = b
        .slack
        .fake
        .ok_calls("chat.postMessage")
        .into_iter()
        .filter(|p| p["channel"] == TOM_IN_SLACK)
        .collect();
    assert_eq!(to_tom.len(), 1, "{to_tom:?}");
    assert_eq!(
        to_tom[0]["metadata"]["event_payload"]["key"],
        format!("prompt:{prompt}")
    );
    assert_eq!(prompt_state(&b, prompt).await, "sent");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_person_learned_when_they_write_gets_later_prompts(pool: PgPool) {
    let b = both(pool, &example_spec()).await;
    b.slack.fake.add_user(
        TOM_IN_SLACK,
        "tom.okafor@northwind.example",
        "America/New_York",
    );
    // Tom writes to baton from Slack: matched by the email users.info reports.
    b.slack.slash(TOM_IN_SLACK, "whoami", "970.1").await;
    assert_eq!(b.slack.fake.calls("users.info").len(), 1);
    // Known from now on: no users.info again.
    b.slack.slash(TOM_IN_SLACK, "whoami", "970.2").await;
    assert_eq!(b.slack.fake.calls("users.info").len(), 1);

    let prompt = prompt_tom(&b).await;
    b.deliver().await;
    assert_eq!(b.slack_posts_to(TOM_IN_SLACK), 1);
    assert!(b.slack.fake.calls("users.lookupByEmail").is_empty());
    assert_eq!(prompt_state(&b, prompt).await, "sent");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn an_unreachable_person_is_reported_once_counted_and_their_prompt_undeliverable(
    pool: PgPool,
) {
    let (logs, _guard) = Logs::capture(tracing::Level::WARN);

    // Tom has neither a chat identity nor an email.
    let b = both(
        pool,
        &spec_with(|p| {
            p.email = None;
        }),
    )
    .await;
    let prompt = prompt_tom(&b).await;
    tracing::callsite::rebuild_interest_cache();
    b.deliver().await;
    assert_eq!(prompt_state(&b, prompt).await, "undeliverable");
    // His prompt is parked with the reason (never retried); nothing went anywhere for him.
    let (state, error) = b.state(&format!("prompt:{prompt}")).await;
    assert_eq!(state, "dead");
    let error = error.unwrap();
    assert!(
        error.contains("unreachable") && error.contains("no chat identity and no email"),
        "{error}"
    );
    // More messages for him: parked too, still one operator line.
    b.enqueue(
        "to:tom:1",
        Target::Person {
            person: "tom".into(),
        },
    )
    .await;
    b.enqueue(
        "to:tom:2",
        Target::Person {
            person: "tom".into(),
        },
    )
    .await;
    b.deliver().await;
    assert_eq!(b.state("to:tom:2").await.0, "dead");
    let text = logs.text();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("a person cannot be reached"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains("person=\"tom\"") || lines[0].contains("person=tom"),
        "{}",
        lines[0]
    );

    // The gauge.
    let state = baton::http::HttpState::new(
        Arc::new(App::new(
            baton::store::Store::new(b.pool.clone()),
            b.clock.clone(),
        )),
        Arc::new(baton::metrics::Metrics::new()),
        baton::serve::Shutdown::new(),
    );
    let resp = baton::http::router(state)
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.contains("baton_unreachable_people 1"), "{body}");

    // When his window ends he is not counted as missing: the prompt stays undeliverable,
    // and the Sales summary lists him as unreachable, outside those asked.
    b.clock.set(at(23, 14, 30));
    baton::app::schedule::run_due(b.app(), None).await.unwrap();
    assert_eq!(prompt_state(&b, prompt).await, "undeliverable");
    let summary: i64 = sqlx::query_scalar(
        "SELECT s.id FROM checkin_summaries s JOIN prompts p
           ON p.cadence_id = s.cadence_id AND p.occurrence = s.occurrence
         WHERE p.id = $1",
    )
    .bind(prompt)
    .fetch_one(&b.pool)
    .await
    .unwrap();
    let text = baton::bot::render::text::render(
        &baton::app::summaries::render(b.app(), b.org, summary)
            .await
            .unwrap()
            .unwrap(),
    );
    assert!(text.contains("1 unreachable"), "{text}");
    assert!(
        text.contains("Tom Okafor") && text.contains("unreachable"),
        "{text}"
    );
    let missed = count(
        &b.pool,
        "SELECT count(*) FROM prompts p JOIN people pe ON pe.id = p.person_id
         WHERE pe.key = 'tom' AND p.state = 'missed'",
    )
    .await;
    assert_eq!(missed, 0);
}

/// An adapter that answers `recover` as told and counts sends.
struct Stub {
    name: &'static str,
    recovered: baton::chat::Recovered,
    sent: Mutex<Vec<String>>,
}

impl Stub {
    fn new(name: &'static str, recovered: baton::chat::Recovered) -> Arc<Stub> {
        Arc::new(Stub {
            name,
            recovered,
            sent: Mutex::new(Vec::new()),
        })
    }

    fn sent(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl ChatAdapter for Stub {
    fn platform(&self) -> &'static str {
        self.name
    }

    async fn send(
        &self,
        _to: &Target,
        msg: &Outbound,
    ) -> Result<baton::chat::Delivered, AdapterError> {
        self.sent.lock().unwrap().push(msg.idempotency_key.clone());
        Ok(baton::chat::Delivered {
            message_id: Some(format!("{}-new", self.name)),
        })
    }

    async fn recover(
        &self,
        _to: &Target,
        _msg: &Outbound,
        _since: DateTime<Utc>,
    ) -> Result<baton::chat::Recovered, AdapterError> {
        Ok(self.recovered.clone())
    }
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn recovery_is_asked_per_platform_and_what_landed_is_not_sent_again(pool: PgPool) {
    use baton::chat::{Delivered, Recovered};
    let app = Arc::new(crate::common::app_with(pool, &example_spec()).await);
    let org = app.org(Some("northwind")).await.unwrap().id;
    let landed = Recovered::Landed(Delivered {
        message_id: Some("slack-old".into()),
    });
    let slack = Stub::new("slack", landed.clone());
    let discord = Stub::new("discord", Recovered::Absent);
    let adapters: Vec<Arc<dyn ChatAdapter>> = vec![slack.clone(), discord.clone()];
    let router = Router::new(app.clone(), adapters);
    let msg = Outbound {
        org_id: org,
        kind: "reply".into(),
        idempotency_key: "uncertain".into(),
        reply: Reply::new().text("hello"),
    };
    let onboarding = Target::Channel {
        department: "eng-onboarding".into(),
    };
    // Slack has it, Discord does not: send, and only Discord is posted to.
    assert_eq!(
        router.recover(&onboarding, &msg, now()).await,
        Ok(Recovered::Absent)
    );
    let d = router.send(&onboarding, &msg).await.unwrap();
    assert_eq!(d.message_id.as_deref(), Some("slack-old"));
    assert!(slack.sent().is_empty());
    assert_eq!(discord.sent(), ["uncertain"]);
    // Both have it now.
    assert_eq!(
        router.recover(&onboarding, &msg, now()).await,
        Ok(Recovered::Landed(Delivered {
            message_id: Some("slack-old".into())
        }))
    );
    // A person is asked on their platform only: Chloe is on Slack first.
    let chloe = Target::Person {
        person: "chloe".into(),
    };
    assert_eq!(router.recover(&chloe, &msg, now()).await, Ok(landed));
    // Sales has only a Slack channel: Slack's answer is the answer.
    let sales = Target::Channel {
        department: "sales".into(),
    };
    assert!(matches!(
        router.recover(&sales, &msg, now()).await,
        Ok(Recovered::Landed(_))
    ));
}

/// `/metrics` as served, read at the app's clock.
async fn scrape(app: Arc<App>) -> String {
    let state = baton::http::HttpState::new(
        app.clone(),
        app.metrics.clone(),
        baton::serve::Shutdown::new(),
    );
    let resp = baton::http::router(state)
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(body.to_vec()).unwrap()
}

/// The value of one series (exact name and labels) in a scrape.
fn series(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// What an operator alerts on, through `/metrics` with Slack and Discord behind the router:
/// the outbox by state, the due → sent lag, dead letters, platform 429s and refused
/// requests (bad signatures, strangers), each moving exactly when it should.
#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn metrics_follow_the_outbox_429s_dead_letters_and_refusals(pool: PgPool) {
    let b = both(pool, &example_spec()).await;
    let app = b.slack.app.clone();
    let m = scrape(app.clone()).await;
    for s in ["due", "scheduled", "sending", "dead"] {
        let name = format!("baton_outbox_messages{{state=\"{s}\"}}");
        assert_eq!(series(&m, &name), Some(0.0), "{name}\n{m}");
    }
    assert_eq!(series(&m, "baton_delivery_lag_seconds_count"), Some(0.0));

    b.enqueue(
        "to:onboarding",
        Target::Channel {
            department: "eng-onboarding".into(),
        },
    )
    .await;
    b.enqueue(
        "to:emma",
        Target::Person {
            person: "emma".into(),
        },
    )
    .await;
    let m = scrape(app.clone()).await;
    assert_eq!(
        series(&m, "baton_outbox_messages{state=\"due\"}"),
        Some(2.0),
        "{m}"
    );

    // Slack answers the first post 429 (Discord takes its copy) and refuses the second for
    // good.
    b.slack
        .fake
        .fail_next("chat.postMessage", Fault::RateLimited { retry_after_s: 1 });
    b.slack
        .fake
        .fail_next("chat.postMessage", Fault::Api("channel_not_found".into()));
    b.deliver().await;
    let m = scrape(app.clone()).await;
    assert_eq!(
        series(&m, "baton_platform_rate_limited_total{platform=\"slack\"}"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        series(
            &m,
            "baton_platform_rate_limited_total{platform=\"discord\"}"
        ),
        None
    );
    assert_eq!(
        series(&m, "baton_outbox_dead_letters_total"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        series(&m, "baton_outbox_messages{state=\"dead\"}"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        series(&m, "baton_outbox_messages{state=\"scheduled\"}"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        series(&m, "baton_outbox_messages{state=\"due\"}"),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        series(&m, "baton_delivery_lag_seconds_count"),
        Some(0.0),
        "nothing sent yet"
    );

    // 30 s later the retry lands: one delivery, 30 s after it was due.
    b.clock.advance(chrono::Duration::seconds(30));
    b.deliver().await;
    assert_eq!(b.state("to:onboarding").await.0, "sent");
    let m = scrape(app.clone()).await;
    assert_eq!(
        series(&m, "baton_delivery_lag_seconds_count"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        series(&m, "baton_delivery_lag_seconds_sum"),
        Some(30.0),
        "{m}"
    );
    assert_eq!(
        series(&m, "baton_delivery_lag_seconds_bucket{le=\"15\"}"),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        series(&m, "baton_delivery_lag_seconds_bucket{le=\"30\"}"),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        series(&m, "baton_outbox_messages{state=\"scheduled\"}"),
        Some(0.0),
        "{m}"
    );
    assert_eq!(
        series(&m, "baton_outbox_messages{state=\"dead\"}"),
        Some(1.0),
        "{m}"
    );

    // Refusals: a forged Slack request, a Slack stranger, a forged Discord interaction.
    let forged = crate::slack::signed(
        "/slack/commands",
        "application/x-www-form-urlencoded",
        "text=status".into(),
        app.clock.now().timestamp() - 3600,
    );
    let (status, _) = crate::slack::send(&b.slack.router, forged).await;
    assert_eq!(status, axum::http::StatusCode::UNAUTHORIZED);
    let (status, ack) = b.slack.slash("U0STRANGER", "status", "m.1").await;
    assert_eq!(status, axum::http::StatusCode::OK);
    assert!(ack.to_string().contains("I don't know you"), "{ack}");
    let other = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
    let resp = crate::discord::router_for(app.clone(), None, None)
        .oneshot(crate::discord::signed(
            &serde_json::json!({"id": "1", "type": 1, "token": "t"}),
            app.clock.now().timestamp(),
            &other,
        ))
        .await
        .unwrap();
    assert_eq!(resp.status(), axum::http::StatusCode::UNAUTHORIZED);
    let m = scrape(app.clone()).await;
    for (labels, n) in [
        ("platform=\"slack\",reason=\"stale_timestamp\"", 1.0),
        ("platform=\"slack\",reason=\"unknown_person\"", 1.0),
        ("platform=\"discord\",reason=\"bad_signature\"", 1.0),
    ] {
        let name = format!("baton_refused_requests_total{{{labels}}}");
        assert_eq!(series(&m, &name), Some(n), "{name}\n{m}");
    }
}
