//! `baton serve`: the long-running service. Three kinds of loop run side by side:
//!
//! - the **ticker** calls [`crate::app::schedule::run_due`] and sleeps until the next thing
//!   is due (at most `tick_seconds`); a failing tick (e.g. the database is down) is logged
//!   and retried on the next one, never fatal;
//! - **outbox workers** claim and deliver batches through a [`ChatAdapter`];
//! - the **HTTP server** ([`crate::http::router`]).
//!
//! Shutdown (SIGTERM or Ctrl-C) is one [`Shutdown`] flag: `/readyz` turns 503, the ticker
//! stops, workers finish the batch they hold but claim nothing new, the HTTP server drains.
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
use crate::chat::{AdapterError, ChatAdapter, Delivered, Outbound, Target};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::http::{HttpState, router};
use crate::metrics::Metrics;
use crate::store::{Store, redact_url};

/// The shutdown flag every loop and `/readyz` watch. Cloning shares it.
#[derive(Clone)]
pub struct Shutdown(Arc<watch::Sender<bool>>);

impl Default for Shutdown {
    fn default() -> Self {
        Shutdown::new()
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown(Arc::new(watch::channel(false).0))
    }

    /// Starts shutting down (idempotent).
    pub fn trigger(&self) {
        self.0.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.0.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.0.subscribe()
    }

    /// Resolves once shutdown has been triggered.
    pub async fn wait(&self) {
        stopped(&mut self.subscribe()).await;
    }
}

/// Resolves once the flag is set (or its sender is gone, which also means stop).
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

pub(crate) fn is_stopped(rx: &watch::Receiver<bool>) -> bool {
    *rx.borrow() || rx.has_changed().is_err()
}

/// Sleeps for `d`, or less if shutdown comes first.
pub(crate) async fn pause(d: Duration, rx: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = stopped(rx) => {}
    }
}

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
    /// Extra routes merged into the HTTP router (Slack HTTP mode).
    routes: Option<axum::Router>,
    /// Slack Socket Mode, run beside the other loops.
    socket: Option<Arc<crate::chat::slack::SlackBot>>,
    /// The Discord interactions endpoint.
    discord: Option<crate::chat::discord::Interactions>,
    /// Discord gateway mode (run while this replica holds the gateway lock).
    gateway: Option<crate::chat::discord::Gateway>,
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
            socket: None,
            discord: None,
            gateway: None,
        }
    }

    /// Also serve these routes on the HTTP listener (e.g. Slack HTTP mode).
    pub fn with_routes(mut self, routes: axum::Router) -> Service {
        self.routes = Some(match self.routes.take() {
            Some(r) => r.merge(routes),
            None => routes,
        });
        self
    }

    /// Also run Slack Socket Mode until shutdown.
    pub fn with_socket_mode(mut self, bot: Arc<crate::chat::slack::SlackBot>) -> Service {
        self.socket = Some(bot);
        self
    }

    /// Also serve HTTP on this listener.
    pub fn with_http(mut self, listener: TcpListener) -> Service {
        self.listener = Some(listener);
        self
    }

    /// Also serve Discord's interactions endpoint (`POST /discord/interactions`).
    pub fn with_discord(mut self, cfg: crate::chat::discord::Interactions) -> Service {
        self.discord = Some(cfg);
        self
    }

    /// Also run Discord gateway mode (see [`crate::chat::discord::gateway`]).
    pub fn with_discord_gateway(mut self, gateway: crate::chat::discord::Gateway) -> Service {
        self.gateway = Some(gateway);
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
            socket,
            discord,
            gateway,
        } = self;
        let mut tasks = JoinSet::new();
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
        if let Some(bot) = socket {
            tasks.spawn(crate::chat::slack::socket::run(bot, shutdown.clone()));
        }
        if let Some(gw) = gateway {
            tasks.spawn(crate::chat::discord::gateway::run(gw, shutdown.clone()));
        }
        let mut http = None;
        if let Some(listener) = listener {
            let state = HttpState::new(app.clone(), metrics.clone(), shutdown.clone());
            let stop = shutdown.clone();
            let mut service_router = router(state.clone());
            if let Some(r) = routes {
                service_router = service_router.merge(r);
            }
            if let Some(cfg) = discord {
                service_router = service_router.merge(crate::chat::discord::routes(state, cfg));
            }
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

    tracing::info!(
        database = %redact_url(&settings.database_url),
        config = ?config,
        "baton serve starting"
    );
    let store = Store::connect(&settings.database_url, true).await?;
    store.migrate().await?;
    let mut app = App::new(store, Arc::new(SystemClock));
    app.nudge_cap = i64::from(settings.nudge_cap);
    let app = Arc::new(app);

    let listener = TcpListener::bind(settings.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.http_addr))?;
    let opts = ServiceOptions::from_settings(&settings);
    tracing::info!(
        addr = %listener.local_addr()?,
        workers = opts.workers,
        tick_s = opts.tick.as_secs(),
        grace_s = opts.grace.as_secs(),
        "listening"
    );
    let metrics = app.metrics.clone();
    let slack = &settings.slack;
    let d = &settings.discord;
    use secrecy::ExposeSecret;
    let slack_bot = match &slack.bot_token {
        Some(t) => Some(Arc::new(crate::chat::slack::SlackBot::new(
            app.clone(),
            &slack.api_url,
            t.expose_secret(),
            slack.app_token.as_ref().map(|t| t.expose_secret()),
        )?)),
        None => None,
    };
    let discord_http = d.bot_token.as_ref().map(|t| {
        crate::chat::discord::http(
            t.expose_secret(),
            d.application_id,
            d.api_url.as_deref(),
            false,
        )
    });
    if let Some(http) = &discord_http
        && d.application_id.is_some()
    {
        match crate::chat::discord::register_commands(http, d.guild_id).await {
            Ok(()) => tracing::info!(guild = ?d.guild_id, "registered /baton on Discord"),
            Err(e) => tracing::error!(error = %e, "registering /baton on Discord failed"),
        }
    }
    // Every configured platform delivers, side by side: the router sends each message to
    // the platform of its recipient (see `chat::router`). With none, messages are logged.
    let mut adapters: Vec<Arc<dyn ChatAdapter>> = Vec::new();
    if let Some(bot) = &slack_bot {
        adapters.push(Arc::new(crate::chat::slack::SlackAdapter {
            bot: bot.clone(),
        }));
    }
    if let Some(http) = &discord_http {
        adapters.push(Arc::new(crate::chat::discord::DiscordAdapter::new(
            app.clone(),
            http.clone(),
        )));
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
    if let Some(bot) = &slack_bot {
        // People linked by email are looked up in Slack, paced, beside everything else;
        // their messages wait (retried) until the lookup has reached them.
        let bot = bot.clone();
        tokio::spawn(async move {
            if let Err(e) = bot
                .link_all_by_email(crate::chat::slack::people::LOOKUP_PACE)
                .await
            {
                tracing::error!(error = %e, "looking up email-linked people in Slack failed");
            }
        });
    }
    let (service_app, service_metrics) = (app.clone(), metrics.clone());
    let mut service = Service::new(app, metrics, adapter, opts).with_http(listener);
    if let Some(bot) = slack_bot {
        service = match slack.mode {
            crate::config::SlackMode::Socket => {
                anyhow::ensure!(
                    slack.app_token.is_some(),
                    "Slack Socket Mode needs BATON_SLACK_APP_TOKEN (an xapp-… app-level token with \
                     connections:write), or set BATON_SLACK_MODE=http"
                );
                tracing::info!(api = %slack.api_url, "Slack: Socket Mode");
                service.with_socket_mode(bot)
            }
            crate::config::SlackMode::Http => {
                let secret = slack.signing_secret.clone().context(
                    "Slack HTTP mode needs BATON_SLACK_SIGNING_SECRET (Basic Information → Signing Secret)",
                )?;
                tracing::info!(api = %slack.api_url, "Slack: HTTP mode on /slack/events, /slack/commands, /slack/interactions");
                service.with_routes(crate::chat::slack::http::routes(bot, secret))
            }
        };
    }
    if d.bot_token.is_some() && d.mode() == crate::config::DiscordMode::Http {
        anyhow::ensure!(
            d.public_key.is_some(),
            "Discord HTTP mode needs BATON_DISCORD_PUBLIC_KEY (General Information → Public Key), \
             or leave BATON_DISCORD_MODE unset for gateway mode"
        );
    }
    // The endpoint is served whenever a public key is set (in gateway mode too: Discord
    // sends interactions to the endpoint once its URL is set in the portal); interaction ids
    // are recorded once across both.
    if let Some(key) = &d.public_key {
        match crate::chat::discord::Interactions::new(
            key.expose_secret(),
            discord_http.filter(|_| d.application_id.is_some()),
        ) {
            Ok(cfg) => service = service.with_discord(cfg),
            // The rest of baton still runs; Discord's endpoint check will fail visibly.
            Err(e) => tracing::error!(error = %e, "the Discord interactions endpoint is off"),
        }
    }
    if let Some(token) = &d.bot_token
        && d.mode() == crate::config::DiscordMode::Gateway
    {
        tracing::info!(
            message_content = d.message_content,
            "Discord: gateway mode (one replica at a time holds the connection)"
        );
        service = service.with_discord_gateway(
            crate::chat::discord::Gateway::new(
                service_app,
                service_metrics,
                token.expose_secret(),
                d.application_id,
                d.api_url.as_deref(),
            )
            .poll(Duration::from_secs(d.lock_poll_seconds.get()))
            .intents(crate::chat::discord::gateway::intents(d.message_content)),
        );
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
