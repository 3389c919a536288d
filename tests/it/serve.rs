//! `baton serve`: the HTTP endpoints over real loopback sockets, the outbox workers'
//! graceful shutdown, loops that survive a database outage, and the real binary stopping
//! cleanly on SIGTERM without printing its secrets.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use baton::app::App;
use baton::bot::Reply;
use baton::chat::{AdapterError, ChatAdapter, Delivered, Outbound, Target};
use baton::http::{HttpState, router};
use baton::metrics::Metrics;
use baton::outbox::{Payload, enqueue};
use baton::serve::{Service, ServiceOptions, Shutdown, WorkerOptions, run_ticker, run_worker};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, oneshot};
use tower::ServiceExt;

use crate::common::*;

/// A bound for every wait in these tests: they never sleep to synchronise, but a bug must
/// fail the test rather than hang it.
const BOUND: Duration = Duration::from_secs(10);

struct Response {
    status: u16,
    head: String,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// A minimal HTTP/1.1 GET over a fresh loopback connection.
async fn get(addr: SocketAddr, path: &str) -> Response {
    tokio::time::timeout(BOUND, async {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("write request");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.expect("read response");
        let raw = String::from_utf8(raw).expect("utf-8 response");
        let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        Response {
            status,
            head: head.to_string(),
            body: body.to_string(),
        }
    })
    .await
    .expect("the server answered in time")
}

/// Serves the router on 127.0.0.1 with an OS-chosen port.
async fn serve(state: HttpState) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, router(state)).await.expect("serve");
    });
    (addr, server)
}

async fn queue(app: &App, keys: &[&str]) {
    let org = app.org(None).await.expect("org");
    let now = app.clock.now();
    let mut tx = app.store.begin().await.expect("begin");
    for key in keys {
        let queued = enqueue(
            &mut tx,
            org.id,
            key,
            &Target::Person {
                person: "maya".into(),
            },
            &Payload::Reply {
                reply: Reply::new().text(format!("message {key}")),
            },
            now,
            now,
        )
        .await
        .expect("enqueue");
        assert!(queued);
    }
    tx.commit().await.expect("commit");
}

async fn state_of(pool: &PgPool, key: &str) -> (String, i32, Option<String>) {
    sqlx::query_as("SELECT state, attempts, claimed_by FROM outbox WHERE idempotency_key = $1")
        .bind(key)
        .fetch_one(pool)
        .await
        .expect("outbox row")
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn health_readiness_and_metrics_over_http(pool: PgPool) {
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    queue(&app, &["m-1"]).await;
    let metrics = Arc::new(Metrics::new());
    Metrics::add(&metrics.prompts_sent, 3);
    let shutdown = Shutdown::new();
    let (addr, server) = serve(HttpState::new(app, metrics, shutdown.clone())).await;

    let r = get(addr, "/healthz").await;
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));

    let r = get(addr, "/readyz").await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = get(addr, "/metrics").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/plain; version=0.0.4")
    );
    for needle in [
        "# TYPE baton_outbox_depth gauge",
        "baton_outbox_depth 1",
        "baton_prompts_sent_total 3",
        "baton_messages_sent_total 0",
        "baton_send_failures_total 0",
        "baton_send_latency_seconds_count 0",
    ] {
        assert!(
            r.body.contains(needle),
            "{needle} missing from:\n{}",
            r.body
        );
    }

    // Shutting down: still alive, no longer ready.
    shutdown.trigger();
    let r = get(addr, "/readyz").await;
    assert_eq!((r.status, r.body.as_str()), (503, "shutting down\n"));
    assert_eq!(get(addr, "/healthz").await.status, 200);
    server.abort();
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn readiness_fails_when_the_database_is_gone(pool: PgPool) {
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    let routes = router(HttpState::new(
        app,
        Arc::new(Metrics::new()),
        Shutdown::new(),
    ));
    let call = |path: &'static str| {
        let routes = routes.clone();
        async move {
            let res = routes
                .oneshot(Request::get(path).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let status = res.status();
            let body = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };
    assert_eq!(call("/readyz").await.0, StatusCode::OK);

    pool.close().await;
    let (status, body) = call("/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, "database unavailable\n");
    // Liveness does not depend on the database, and metrics still render (without depth).
    assert_eq!(call("/healthz").await.0, StatusCode::OK);
    let (status, body) = call("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains("baton_outbox_depth"), "{body}");
    assert!(body.contains("baton_messages_sent_total 0"), "{body}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn calendar_feeds_need_the_organisations_token(pool: PgPool) {
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    let token: String = sqlx::query_scalar("SELECT calendar_token FROM organisations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(token.len() >= 32, "tokens are unguessable: {token}");
    let (addr, server) = serve(HttpState::new(
        app,
        Arc::new(Metrics::new()),
        Shutdown::new(),
    ))
    .await;

    for file in ["all.ics", "sales.ics", "company.ics"] {
        let r = get(addr, &format!("/calendar/{file}?token={token}")).await;
        assert_eq!(r.status, 200, "{file}: {}", r.body);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("text/calendar; charset=utf-8"),
            "{file}"
        );
        assert!(
            r.body.starts_with("BEGIN:VCALENDAR") && r.body.contains("RRULE:"),
            "{file}: {}",
            r.body
        );
    }

    // Wrong, missing or empty token, unknown department, not a feed: all the same 404.
    let wrong = "0".repeat(token.len());
    let missing = [
        format!("/calendar/all.ics?token={wrong}"),
        "/calendar/all.ics".to_string(),
        "/calendar/all.ics?token=".to_string(),
        format!("/calendar/sales.ics?token={wrong}"),
        format!("/calendar/nowhere.ics?token={token}"),
        format!("/calendar/sales?token={token}"),
        format!("/calendar/.ics?token={token}"),
    ];
    for path in &missing {
        let r = get(addr, path).await;
        assert_eq!((r.status, r.body.as_str()), (404, "not found\n"), "{path}");
    }
    server.abort();
}

/// An adapter whose sends report that they started, then wait to be released.
struct GatedAdapter {
    started: mpsc::UnboundedSender<String>,
    release: Notify,
    sent: Mutex<Vec<String>>,
}

impl GatedAdapter {
    fn new() -> (Arc<GatedAdapter>, mpsc::UnboundedReceiver<String>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let adapter = GatedAdapter {
            started: tx,
            release: Notify::new(),
            sent: Mutex::new(Vec::new()),
        };
        (Arc::new(adapter), rx)
    }

    fn sent(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }
}

#[async_trait]
impl ChatAdapter for GatedAdapter {
    fn platform(&self) -> &'static str {
        "gated"
    }

    async fn send(&self, _to: &Target, msg: &Outbound) -> Result<Delivered, AdapterError> {
        let _ = self.started.send(msg.idempotency_key.clone());
        self.release.notified().await;
        self.sent.lock().unwrap().push(msg.idempotency_key.clone());
        Ok(Delivered {
            message_id: Some(msg.idempotency_key.clone()),
        })
    }
}

fn options(workers: usize, batch: i64, grace: Duration) -> ServiceOptions {
    ServiceOptions {
        workers,
        tick: Duration::from_secs(60),
        grace,
        worker: WorkerOptions {
            batch,
            ..WorkerOptions::default()
        },
        worker_prefix: "worker-test".into(),
    }
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn workers_deliver_what_is_queued(pool: PgPool) {
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    queue(&app, &["d-1", "d-2", "d-3"]).await;
    let (adapter, mut started) = GatedAdapter::new();
    let metrics = Arc::new(Metrics::new());
    let service = Service::new(app, metrics.clone(), adapter.clone(), options(2, 50, BOUND));
    let (stop, signal) = oneshot::channel::<()>();
    let running = tokio::spawn(service.run_until(async move {
        let _ = signal.await;
    }));
    for _ in 0..3 {
        tokio::time::timeout(BOUND, started.recv())
            .await
            .expect("a send started")
            .expect("adapter alive");
        adapter.release.notify_one();
    }
    stop.send(()).unwrap();
    tokio::time::timeout(BOUND, running)
        .await
        .expect("stopped within the bound")
        .unwrap()
        .expect("clean stop");

    let mut sent = adapter.sent();
    sent.sort();
    assert_eq!(sent, ["d-1", "d-2", "d-3"]);
    for key in ["d-1", "d-2", "d-3"] {
        assert_eq!(state_of(&pool, key).await.0, "sent", "{key}");
    }
    assert_eq!(
        metrics
            .messages_sent
            .load(std::sync::atomic::Ordering::Relaxed),
        3
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn shutdown_lets_the_send_in_flight_finish_and_claims_nothing_new(pool: PgPool) {
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    queue(&app, &["s-1", "s-2", "s-3"]).await;
    let (adapter, mut started) = GatedAdapter::new();
    let service = Service::new(
        app,
        Arc::new(Metrics::new()),
        adapter.clone(),
        options(1, 1, BOUND),
    );
    let shutdown = service.shutdown();
    let running = tokio::spawn(service.run_until(std::future::pending()));

    // The worker claimed the first message and is in the middle of sending it.
    let first = tokio::time::timeout(BOUND, started.recv())
        .await
        .expect("a send started")
        .unwrap();
    assert_eq!(first, "s-1");
    assert_eq!(state_of(&pool, "s-1").await.0, "sending");

    shutdown.trigger();
    adapter.release.notify_one();
    tokio::time::timeout(BOUND, running)
        .await
        .expect("stopped within the bound")
        .unwrap()
        .expect("clean stop");

    // The in-flight send completed and was recorded; nothing else was claimed.
    assert_eq!(adapter.sent(), ["s-1"]);
    assert_eq!(state_of(&pool, "s-1").await.0, "sent");
    for key in ["s-2", "s-3"] {
        assert_eq!(
            state_of(&pool, key).await,
            ("pending".to_string(), 0, None),
            "{key}"
        );
    }
    assert!(started.try_recv().is_err(), "no second send started");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_grace_period_bounds_a_send_that_never_finishes(pool: PgPool) {
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    queue(&app, &["h-1"]).await;
    let (adapter, mut started) = GatedAdapter::new();
    let service = Service::new(
        app,
        Arc::new(Metrics::new()),
        adapter.clone(),
        options(1, 1, Duration::from_millis(200)),
    );
    let shutdown = service.shutdown();
    let running = tokio::spawn(service.run_until(std::future::pending()));
    tokio::time::timeout(BOUND, started.recv())
        .await
        .expect("a send started")
        .unwrap();
    shutdown.trigger();
    // Never released: the service still stops, once the grace period is over.
    tokio::time::timeout(BOUND, running)
        .await
        .expect("stopped within the bound")
        .unwrap()
        .expect("clean stop");
    assert!(adapter.sent().is_empty());
    // The message is still leased to the stopped worker; the lease runs out and another
    // worker delivers it.
    let (state, attempts, claimed_by) = state_of(&pool, "h-1").await;
    assert_eq!((state.as_str(), attempts), ("sending", 1));
    assert_eq!(claimed_by.as_deref(), Some("worker-test-1"));
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_loops_outlive_a_database_outage(pool: PgPool) {
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    // The loops' warnings are how they show they are still going round.
    let (logs, _guard) = Logs::capture(tracing::Level::WARN);
    let failures = || {
        let text = logs.text();
        (
            text.matches("outbox batch failed").count(),
            text.matches("tick failed").count(),
        )
    };
    pool.close().await;
    // Every database call now fails at once, without I/O, so virtual time is safe here.
    tokio::time::pause();
    let shutdown = Shutdown::new();
    let metrics = Arc::new(Metrics::new());
    let worker = tokio::spawn(run_worker(
        app.clone(),
        Arc::new(baton::serve::LogAdapter),
        metrics.clone(),
        "worker-outage".into(),
        WorkerOptions::default(),
        shutdown.subscribe(),
    ));
    let ticker = tokio::spawn(run_ticker(
        app,
        metrics,
        Duration::from_secs(60),
        shutdown.subscribe(),
    ));
    // Ten virtual minutes of failing batches and ticks.
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(!worker.is_finished(), "the worker gave up");
    assert!(!ticker.is_finished(), "the ticker gave up");
    // Not stuck either: a batch every 2 s and a tick every 60 s failed all along, and they
    // keep failing (and retrying) over the next two minutes.
    let (batches, ticks) = failures();
    assert!((295..=301).contains(&batches), "{batches} failed batches");
    assert!((10..=11).contains(&ticks), "{ticks} failed ticks");
    tokio::time::sleep(Duration::from_secs(120)).await;
    let (more_batches, more_ticks) = failures();
    assert!(
        (59..=61).contains(&(more_batches - batches)),
        "{batches} then {more_batches} failed batches"
    );
    assert_eq!(
        more_ticks - ticks,
        2,
        "{ticks} then {more_ticks} failed ticks"
    );
    shutdown.trigger();
    worker.await.expect("the worker did not panic");
    ticker.await.expect("the ticker did not panic");
    tokio::time::resume();
}

/// The URL of the per-test database created by `#[sqlx::test]`, with a password added (the
/// local server trusts loopback, so it is never checked) to show it is never printed.
async fn url_with_password(pool: &PgPool, password: &str) -> String {
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let prefix = base
        .rsplit_once('/')
        .map(|(p, _)| p.to_string())
        .unwrap_or(base);
    let url = format!("{prefix}/{db}");
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((user, host)) if !user.contains(':') => {
                format!("{scheme}://{user}:{password}@{host}")
            }
            _ => url,
        },
        None => url,
    }
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_binary_serves_and_stops_cleanly_on_sigterm(pool: PgPool) {
    const DB_PASSWORD: &str = "db-password-never-printed";
    const SECRETS: [(&str, &str); 5] = [
        ("BATON_SLACK_BOT_TOKEN", "xoxb-never-printed-1"),
        ("BATON_SLACK_APP_TOKEN", "xapp-never-printed-2"),
        ("BATON_SLACK_SIGNING_SECRET", "signing-never-printed-3"),
        ("BATON_DISCORD_BOT_TOKEN", "discord-never-printed-4"),
        ("BATON_DISCORD_PUBLIC_KEY", "discord-key-never-printed-5"),
    ];
    let url = url_with_password(&pool, DB_PASSWORD).await;
    // A free port: bind port 0, note it, let it go.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();

    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.arg("serve")
        .env_remove("DATABASE_URL")
        .env("BATON_DATABASE_URL", &url)
        .env("BATON_HTTP_ADDR", addr.to_string())
        .env("BATON_LOG", "info,baton=debug,sqlx=warn")
        .env("BATON_LOG_FORMAT", "json")
        .env("BATON_OUTBOX_WORKERS", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in SECRETS {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("run baton serve");
    let pid = child.id().expect("a running child");

    // Poll /healthz until the service answers (a separate process: there is nothing to
    // await but its socket). Bounded.
    let ready = tokio::time::timeout(BOUND, async {
        loop {
            if let Ok(mut s) = TcpStream::connect(addr).await {
                let _ = s
                    .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .await;
                let mut raw = Vec::new();
                let _ = s.read_to_end(&mut raw).await;
                if raw.starts_with(b"HTTP/1.1 200") {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    if ready.is_err() {
        let out = child.wait_with_output().await.unwrap();
        panic!(
            "baton serve never became ready:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(get(addr, "/healthz").await.status, 200);

    let killed = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(killed.success());
    let out = tokio::time::timeout(BOUND, child.wait_with_output())
        .await
        .expect("baton serve stopped in time")
        .expect("baton serve output");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");

    for (var, secret) in SECRETS {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{var} was printed:\n{stderr}"
        );
    }
    if url.contains(DB_PASSWORD) {
        assert!(!stderr.contains(DB_PASSWORD), "{stderr}");
        assert!(
            stderr.contains(":***@"),
            "the redacted URL is logged: {stderr}"
        );
    }
    assert!(stderr.contains(&addr.to_string()), "{stderr}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    // Every line is JSON.
    for line in stderr.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
}

/// Runs `baton <args>` to its end (bounded) with `env`, and returns its exit code and
/// everything it printed on both streams.
async fn run_to_end(args: &[&str], env: &[(String, String)]) -> (Option<i32>, String) {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"));
    cmd.args(args)
        .env_remove("DATABASE_URL")
        .env_remove("BATON_DATABASE_URL")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(BOUND, cmd.output())
        .await
        .expect("baton ended in time")
        .expect("run baton");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), all)
}

/// Every secret baton can be given, at debug level, through a broken config file, a
/// database that refuses the connection, and `migrate`: none is ever printed.
#[tokio::test]
async fn no_secret_is_printed_at_debug_level_on_any_failure() {
    const SECRETS: [(&str, &str); 5] = [
        ("BATON_SLACK_BOT_TOKEN", "xoxb-never-printed-11"),
        ("BATON_SLACK_APP_TOKEN", "xapp-never-printed-12"),
        ("BATON_SLACK_SIGNING_SECRET", "signing-never-printed-13"),
        ("BATON_DISCORD_BOT_TOKEN", "discord-never-printed-14"),
        ("BATON_DISCORD_PUBLIC_KEY", "discord-key-never-printed-15"),
    ];
    const USER_PASSWORD: &str = "userinfo-password-16";
    const QUERY_PASSWORD: &str = "query-password-17";
    const FILE_TOKEN: &str = "xoxb-file-token-18";
    // Nothing listens on this port: bind it, note it, let it go.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!(
        "postgres://baton:{USER_PASSWORD}@{closed}/baton?sslmode=disable&password={QUERY_PASSWORD}"
    );
    let dir = std::env::temp_dir().join(format!("baton-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.toml");
    std::fs::write(
        &broken,
        format!("[slack]\nbot_token = \"{FILE_TOKEN}\" trailing\n"),
    )
    .unwrap();
    let good = dir.join("good.toml");
    std::fs::write(
        &good,
        format!("database_url = \"{url}\"\n[slack]\nbot_token = \"{FILE_TOKEN}\"\n"),
    )
    .unwrap();

    let env = |url: Option<&str>| {
        let mut e: Vec<(String, String)> = SECRETS
            .iter()
            .chain(&[("BATON_LOG", "debug"), ("RUST_LOG", "debug")])
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if let Some(url) = url {
            e.push(("BATON_DATABASE_URL".into(), url.into()));
        }
        e
    };
    let broken_s = broken.display().to_string();
    let good_s = good.display().to_string();
    let runs = [
        // A config error: the secret's own line is broken.
        (
            vec!["serve", "--config", broken_s.as_str()],
            env(Some(&url)),
            "line 2",
        ),
        // Start-up with every secret, then a database that refuses the connection.
        (vec!["serve"], env(Some(&url)), "database"),
        // The same URL from the config file instead of the environment.
        (
            vec!["serve", "--config", good_s.as_str()],
            env(None),
            "database",
        ),
        // `migrate` against the refusing database.
        (vec!["migrate"], env(Some(&url)), "baton"),
    ];
    for (args, env, expected) in runs {
        let (code, all) = run_to_end(&args, &env).await;
        assert_ne!(code, Some(0), "baton {args:?} failed as it should:\n{all}");
        assert!(
            all.contains(expected),
            "baton {args:?} said why ({expected:?}):\n{all}"
        );
        for secret in
            SECRETS
                .iter()
                .map(|(_, s)| *s)
                .chain([USER_PASSWORD, QUERY_PASSWORD, FILE_TOKEN])
        {
            assert!(
                !all.contains(secret),
                "baton {args:?} printed the secret {secret}:\n{all}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A handler that panics answers 500 with a request id; the service keeps answering, on
/// the same route and every other, and stops cleanly afterwards.
#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_panicking_handler_answers_500_and_the_service_keeps_answering(pool: PgPool) {
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let boom = axum::Router::new().route(
        "/boom",
        axum::routing::get(|| async {
            let v: Vec<u8> = Vec::new();
            // An index out of bounds, as a bug in a handler would.
            format!("{}", v[usize::from(v.is_empty())])
        }),
    );
    let (adapter, _started) = GatedAdapter::new();
    let service = Service::new(
        app,
        Arc::new(Metrics::new()),
        adapter,
        options(1, 50, BOUND),
    )
    .without_ticker()
    .with_http(listener)
    .with_routes(boom);
    let (stop, signal) = oneshot::channel::<()>();
    let running = tokio::spawn(service.run_until(async move {
        let _ = signal.await;
    }));
    let mut ids = std::collections::HashSet::new();
    for _ in 0..3 {
        let r = get(addr, "/boom").await;
        assert_eq!(r.status, 500, "{}", r.body);
        let id = r
            .body
            .trim()
            .strip_prefix("internal error; request id ")
            .unwrap_or_else(|| panic!("no request id: {}", r.body));
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
        ids.insert(id.to_string());
        assert_eq!(get(addr, "/healthz").await.status, 200);
    }
    assert_eq!(ids.len(), 3, "each answer has its own id");
    stop.send(()).unwrap();
    tokio::time::timeout(BOUND, running)
        .await
        .expect("stopped within the bound")
        .unwrap()
        .expect("clean stop");
}
