//! `baton serve`: the long-running service. Three kinds of loop run side by side:
//!
//! - the **ticker** calls [`crate::app::schedule::run_due`] and sleeps until the next thing
//!   is due (at most `tick_seconds`); a failing tick (e.g. the database is down) is logged
//!   and retried on the next one, never fatal;
//! - **outbox workers** claim and deliver batches through a [`ChatAdapter`];
//! - the **HTTP server** ([`crate::http::router`]);
//! - **housekeeping** ([`crate::housekeeping`]): fixed UTC jobs on tokio-cron-scheduler
//!   (retention, the idle-review sweep, the daily self-check), each run claimed by one
//!   replica.
//!
//! Shutdown (SIGTERM or Ctrl-C) is one [`Shutdown`] flag: `/readyz` turns 503, the ticker
//! and the housekeeping scheduler stop, workers finish the batch they hold but claim nothing new, the HTTP server drains.
//! All of that is bounded by the grace period; anything still running then is dropped, and
//! the leases of messages it held run out so another replica delivers them.
//!
//! [`Service`] takes its app (and so its clock), adapter and listener from the caller, so
//! tests drive the same loops with a fixed clock and a recording adapter.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::app::App;
use crate::chat::{AdapterError, ChatAdapter, Connection, Delivered, Outbound, Target};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::housekeeping::{Housekeeper, JOBS, JobSpec};
use crate::http::{HttpState, router};
use crate::metrics::Metrics;
use crate::store::{Store, redact_url};

pub use crate::shutdown::{Shutdown, is_stopped, pause, stopped};

/// The shortest sleep between ticks, so a `next_wake` in the past cannot spin the loop.
pub const MIN_TICK: Duration = Duration::from_secs(1);

/// How long the ticker sleeps: until `next_wake`, but at least [`MIN_TICK`] and at most
/// `max`.
pub fn tick_wait(next_wake: Option<DateTime<Utc>>, now: DateTime<Utc>, max: Duration) -> Duration {
    let until = next_wake
        .and_then(|w| (w - now).to_std().ok())
        .unwrap_or(Duration::ZERO);
    let wait = if next_wake.is_some() { until } else { max };
    wait.clamp(MIN_TICK, max.max(MIN_TICK))
}

/// The scheduler loop: runs everything due, then sleeps until the next wake-up.
pub async fn run_ticker(
    app: Arc<App>,
    metrics: Arc<Metrics>,
    max_sleep: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(max_sleep_s = max_sleep.as_secs(), "ticker started");
    while !is_stopped(&shutdown) {
        let wait = match crate::app::schedule::run_due(&app, Some(&metrics)).await {
            Ok(report) => {
                tracing::debug!(?report, "tick");
                tick_wait(report.next_wake, app.clock.now(), max_sleep)
            }
            Err(e) => {
                tracing::warn!(error = %e, "tick failed; retrying on the next tick");
                max_sleep.max(MIN_TICK)
            }
        };
        pause(wait, &mut shutdown).await;
    }
    tracing::info!("ticker stopped");
}

/// One outbox delivery loop. Each batch it claims is delivered to the end (so a send in
/// flight at shutdown completes); after shutdown it claims nothing new.
pub async fn run_worker(
    app: Arc<App>,
    adapter: Arc<dyn ChatAdapter>,
    metrics: Arc<Metrics>,
    worker: String,
    opts: WorkerOptions,
    mut shutdown: watch::Receiver<bool>,
) {
    tracing::info!(worker = %worker, "outbox worker started");
    while !is_stopped(&shutdown) {
        let deliverer =
            crate::outbox::Deliverer::new(&app, adapter.as_ref(), &worker, Some(&metrics))
                .parallel(opts.parallel);
        match deliverer.batch(opts.batch).await {
            Ok(0) => pause(opts.idle, &mut shutdown).await,
            Ok(n) => tracing::debug!(worker = %worker, handled = n, "outbox batch"),
            Err(e) => {
                tracing::warn!(worker = %worker, error = %e, "outbox batch failed; retrying");
                pause(opts.retry, &mut shutdown).await;
            }
        }
    }
    tracing::info!(worker = %worker, "outbox worker stopped");
}

/// How an outbox worker paces itself.
#[derive(Debug, Clone, Copy)]
pub struct WorkerOptions {
    /// Messages claimed at once.
    pub batch: i64,
    /// Sends in flight at once.
    pub parallel: usize,
    /// Sleep after an empty batch.
    pub idle: Duration,
    /// Sleep after a failed batch (e.g. the database is down).
    pub retry: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            batch: 16,
            parallel: 16,
            idle: Duration::from_millis(500),
            retry: Duration::from_secs(2),
        }
    }
}

/// The knobs of a [`Service`].
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    pub workers: usize,
    pub tick: Duration,
    pub grace: Duration,
    pub worker: WorkerOptions,
    /// Worker names are `<prefix>-<n>`; unique per process so leases say who holds them.
    pub worker_prefix: String,
}

impl ServiceOptions {
    pub fn from_settings(s: &Settings) -> ServiceOptions {
        ServiceOptions {
            workers: s.outbox_workers.get(),
            tick: Duration::from_secs(s.tick_seconds.get()),
            grace: Duration::from_secs(s.shutdown_grace_seconds),
            worker: WorkerOptions {
                parallel: s.outbox_parallel.get(),
                ..WorkerOptions::default()
            },
            worker_prefix: format!("worker-{}-{}", hostname(), std::process::id()),
        }
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The running parts of `baton serve`, wired but not started.
pub struct Service {
    app: Arc<App>,
    metrics: Arc<Metrics>,
    adapter: Arc<dyn ChatAdapter>,
    opts: ServiceOptions,
    shutdown: Shutdown,
    listener: Option<TcpListener>,
    ticker: bool,
    /// Extra routes merged into the HTTP router (platforms' inbound endpoints).
    routes: Option<axum::Router>,
    /// Platforms' connections, run beside the other loops until shutdown.
    connections: Vec<Connection>,
    /// The housekeeping jobs and who runs them.
    housekeeping: Option<(Arc<Housekeeper>, &'static [JobSpec])>,
}

impl Service {
    pub fn new(
        app: Arc<App>,
        metrics: Arc<Metrics>,
        adapter: Arc<dyn ChatAdapter>,
        opts: ServiceOptions,
    ) -> Service {
        Service {
            app,
            metrics,
            adapter,
            opts,
            shutdown: Shutdown::new(),
            listener: None,
            ticker: true,
            routes: None,
            connections: Vec::new(),
            housekeeping: None,
        }
    }

    /// Also run these housekeeping jobs (tokio-cron-scheduler, UTC) until shutdown.
    pub fn with_housekeeping(
        mut self,
        keeper: Arc<Housekeeper>,
        jobs: &'static [JobSpec],
    ) -> Service {
        self.housekeeping = Some((keeper, jobs));
        self
    }

    /// Also serve these routes on the HTTP listener (e.g. Slack HTTP mode).
    pub fn with_routes(mut self, routes: axum::Router) -> Service {
        self.routes = Some(match self.routes.take() {
            Some(r) => r.merge(routes),
            None => routes,
        });
        self
    }

    /// Also run this connection (Slack Socket Mode, Discord's gateway) until shutdown.
    pub fn with_connection(mut self, connection: Connection) -> Service {
        self.connections.push(connection);
        self
    }

    /// Also serve HTTP on this listener.
    pub fn with_http(mut self, listener: TcpListener) -> Service {
        self.listener = Some(listener);
        self
    }

    /// Leaves the ticker out (tests of the outbox alone).
    pub fn without_ticker(mut self) -> Service {
        self.ticker = false;
        self
    }

    /// The flag [`Service::run_until`] sets when `signal` resolves; trigger it to stop early.
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Runs every loop until `signal` resolves (or the shutdown flag is triggered), then
    /// shuts down gracefully within the grace period.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Service {
            app,
            metrics,
            adapter,
            opts,
            shutdown,
            listener,
            ticker,
            routes,
            connections,
            housekeeping,
        } = self;
        let mut tasks = JoinSet::new();
        if let Some((keeper, jobs)) = housekeeping {
            let stop = shutdown.clone();
            tasks.spawn(async move {
                if let Err(e) = crate::housekeeping::run(keeper, jobs, stop).await {
                    tracing::error!(error = %format!("{e:#}"), "housekeeping failed");
                }
            });
        }
        if ticker {
            tasks.spawn(run_ticker(
                app.clone(),
                metrics.clone(),
                opts.tick,
                shutdown.subscribe(),
            ));
        }
        for n in 1..=opts.workers {
            tasks.spawn(run_worker(
                app.clone(),
                adapter.clone(),
                metrics.clone(),
                format!("{}-{n}", opts.worker_prefix),
                opts.worker,
                shutdown.subscribe(),
            ));
        }
        for connect in connections {
            tasks.spawn(connect(shutdown.clone()));
        }
        let mut http = None;
        if let Some(listener) = listener {
            let state = HttpState::new(app.clone(), metrics.clone(), shutdown.clone());
            let stop = shutdown.clone();
            let mut service_router = router(state.clone());
            if let Some(r) = routes {
                service_router = service_router.merge(r);
            }
            let service_router = crate::http::guarded(service_router);
            http = Some(tokio::spawn(async move {
                let wait = stop.clone();
                let res = axum::serve(listener, service_router)
                    .with_graceful_shutdown(async move { wait.wait().await })
                    .await;
                // The server returns on its own only if it failed: stop everything else too.
                let early = !stop.is_triggered();
                stop.trigger();
                match res {
                    Err(e) => Err(anyhow::Error::new(e).context("the HTTP server failed")),
                    Ok(()) if early => Err(anyhow::anyhow!("the HTTP server stopped unexpectedly")),
                    Ok(()) => Ok(()),
                }
            }));
        }

        tokio::select! {
            _ = signal => tracing::info!("shutdown signal received"),
            _ = shutdown.wait() => tracing::info!("shutdown requested"),
        }
        shutdown.trigger();
        tracing::info!(
            grace_s = opts.grace.as_secs_f64(),
            "shutting down: not ready, no new work, finishing in-flight sends"
        );

        let mut http_failed = None;
        let drain = async {
            while let Some(res) = tasks.join_next().await {
                if let Err(e) = res {
                    tracing::error!(error = %e, "a service loop panicked");
                }
            }
            if let Some(h) = http.take() {
                match h.await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => http_failed = Some(e),
                    Err(e) => {
                        http_failed =
                            Some(anyhow::Error::new(e).context("the HTTP server panicked"))
                    }
                }
            }
        };
        if tokio::time::timeout(opts.grace, drain).await.is_err() {
            tracing::warn!(
                "grace period over; dropping unfinished work (its outbox leases will expire and \
                 another worker will deliver it)"
            );
            tasks.abort_all();
        }
        match http_failed {
            Some(e) => Err(e),
            None => {
                tracing::info!("stopped");
                Ok(())
            }
        }
    }
}

/// Stands in for the chat platforms until the Slack and Discord adapters land: logs where
/// each message would go and its kind (the body only at debug level) and reports success.
#[derive(Debug, Default)]
pub struct LogAdapter;

#[async_trait]
impl ChatAdapter for LogAdapter {
    fn platform(&self) -> &'static str {
        "log"
    }

    async fn send(&self, to: &Target, msg: &Outbound) -> Result<Delivered, AdapterError> {
        tracing::info!(
            org = msg.org_id,
            target = ?to,
            kind = %msg.kind,
            key = %msg.idempotency_key,
            "outbound message (no chat platform configured; logged only)"
        );
        tracing::debug!(reply = ?msg.reply, "outbound message body");
        Ok(Delivered { message_id: None })
    }

    async fn edit_parent(
        &self,
        department: &str,
        thread: &str,
        msg: &Outbound,
    ) -> Result<Delivered, AdapterError> {
        tracing::info!(
            org = msg.org_id,
            department,
            thread,
            kind = %msg.kind,
            key = %msg.idempotency_key,
            "thread parent edited (no chat platform configured; logged only)"
        );
        Ok(Delivered { message_id: None })
    }
}

/// Resolves on SIGTERM or Ctrl-C. The handlers are installed when this is called (not when
/// first polled), so call it before anything slow.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install the SIGTERM handler")?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C"),
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// After `baton apply`: when Slack is configured (`BATON_SLACK_BOT_TOKEN`), looks up the
/// organisation's email-linked people in Slack (paced, Tier 3). `None` without Slack.
pub async fn link_emails_after_apply(
    app: Arc<App>,
    org_key: &str,
) -> anyhow::Result<Option<crate::chat::slack::people::LinkReport>> {
    use secrecy::ExposeSecret;
    let settings = Settings::from_env(None)?;
    let Some(token) = &settings.slack.bot_token else {
        return Ok(None);
    };
    let bot = crate::chat::slack::SlackBot::new(
        app.clone(),
        &settings.slack.api_url,
        token.expose_secret(),
        None,
    )?;
    let org = app.org(Some(org_key)).await?;
    Ok(Some(
        bot.link_by_email(org.id, crate::chat::slack::people::LOOKUP_PACE)
            .await?,
    ))
}

/// Runs the service until SIGTERM or Ctrl-C.
pub async fn run(config: Option<&Path>, database_url: Option<String>) -> anyhow::Result<()> {
    let mut settings = Settings::from_env(config)?;
    if let Some(url) = database_url.filter(|u| !u.trim().is_empty()) {
        settings.database_url = url;
    }
    crate::telemetry::init(&settings.log, settings.log_format)?;
    // Ctrl-C is handled by tokio as soon as it is first awaited; SIGTERM needs installing.
    let signal = shutdown_signal()?;
    // Single node: a Postgres of baton's own, kept between runs, stopped when this
    // function returns (by any path: its `Drop`).
    let _embedded = if settings.embedded_database {
        let dir = settings.data_dir().join("postgres");
        let pg = crate::embedded::Embedded::start(
            &dir,
            crate::embedded::Options::persistent().with_binaries(settings.postgres_binaries()),
        )
        .await?;
        tracing::info!(
            dir = %pg.dir.display(),
            port = pg.port,
            "embedded database (single node; the database URL setting is ignored)"
        );
        settings.database_url = pg.url("baton");
        Some(pg)
    } else {
        None
    };

    tracing::info!(
        database = %redact_url(&settings.database_url),
        config = ?config,
        "baton serve starting"
    );
    let store = Store::connect(&settings.database_url, true).await?;
    store.migrate().await?;
    let mut app = App::new(store, Arc::new(SystemClock));
    app.nudge_cap = i64::from(settings.nudge_cap);
    app.review_idle = chrono::Duration::hours(
        i64::try_from(settings.review_idle_hours.get()).unwrap_or(i64::MAX / 3_600_000),
    );
    app.public_url = settings.public_base_url();
    let app = Arc::new(app);

    let listener = TcpListener::bind(settings.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.http_addr))?;
    let opts = ServiceOptions::from_settings(&settings);
    let keeper = Arc::new(Housekeeper::new(
        app.clone(),
        Arc::new(settings.clone()),
        opts.worker_prefix.replacen("worker-", "", 1),
    ));
    tracing::info!(
        addr = %listener.local_addr()?,
        workers = opts.workers,
        tick_s = opts.tick.as_secs(),
        grace_s = opts.grace.as_secs(),
        "listening"
    );
    let metrics = app.metrics.clone();
    // Every configured platform delivers, side by side: the router sends each message to
    // the platform of its recipient (see `chat::router`). With none, messages are logged.
    let mut adapters: Vec<Arc<dyn ChatAdapter>> = Vec::new();
    let mut routes: Option<axum::Router> = None;
    let mut connections: Vec<Connection> = Vec::new();
    for platform in crate::chat::PLATFORMS {
        let Some(wired) = platform.wire(&app, &settings).await? else {
            continue;
        };
        tracing::info!(platform = platform.name(), "platform configured");
        adapters.push(wired.adapter);
        if let Some(r) = wired.routes {
            routes = Some(match routes {
                Some(all) => all.merge(r),
                None => r,
            });
        }
        connections.extend(wired.connections);
    }
    let adapter: Arc<dyn ChatAdapter> = if adapters.is_empty() {
        tracing::warn!(
            "no chat platform is configured: outbound messages are only logged (LogAdapter)"
        );
        Arc::new(LogAdapter)
    } else {
        let router = crate::chat::router::Router::new(app.clone(), adapters);
        tracing::info!(platforms = ?router.platforms(), "outbound messages are routed per recipient");
        Arc::new(router)
    };
    let mut service = Service::new(app, metrics, adapter, opts)
        .with_http(listener)
        .with_housekeeping(keeper, JOBS);
    if let Some(r) = routes {
        service = service.with_routes(r);
    }
    for c in connections {
        service = service.with_connection(c);
    }
    service.run_until(signal).await
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn tick_wait_is_bounded_both_ways() {
        let now = Utc.with_ymd_and_hms(2026, 11, 16, 12, 0, 0).unwrap();
        let max = Duration::from_secs(60);
        assert_eq!(tick_wait(None, now, max), max);
        assert_eq!(
            tick_wait(Some(now + chrono::Duration::seconds(10)), now, max),
            Duration::from_secs(10)
        );
        assert_eq!(
            tick_wait(Some(now + chrono::Duration::hours(3)), now, max),
            max
        );
        // Due already (or in the past): the minimum, not a busy loop.
        assert_eq!(tick_wait(Some(now), now, max), MIN_TICK);
        assert_eq!(
            tick_wait(Some(now - chrono::Duration::minutes(5)), now, max),
            MIN_TICK
        );
        assert_eq!(
            tick_wait(Some(now + chrono::Duration::milliseconds(10)), now, max),
            MIN_TICK
        );
    }

    #[tokio::test]
    async fn shutdown_wakes_waiters_and_is_sticky() {
        let s = Shutdown::new();
        let mut rx = s.subscribe();
        assert!(!s.is_triggered());
        assert!(!is_stopped(&rx));
        let waiter = tokio::spawn({
            let s = s.clone();
            async move { s.wait().await }
        });
        s.trigger();
        waiter.await.unwrap();
        assert!(s.is_triggered());
        assert!(is_stopped(&rx));
        // A waiter that arrives late returns at once.
        s.wait().await;
        stopped(&mut rx).await;
    }

    #[tokio::test(start_paused = true)]
    async fn pause_ends_early_on_shutdown() {
        let s = Shutdown::new();
        let mut rx = s.subscribe();
        let started = tokio::time::Instant::now();
        let t = tokio::spawn(async move { pause(Duration::from_secs(3600), &mut rx).await });
        tokio::task::yield_now().await;
        s.trigger();
        t.await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(3600));
    }
}
