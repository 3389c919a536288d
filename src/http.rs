//! The HTTP edge (axum): liveness, readiness, Prometheus metrics and the per-organisation
//! ICS calendar feeds.
//!
//! [`router`] returns a finished `Router` (state applied), so the chat adapters can add
//! their endpoints later with `router(state).merge(slack_routes)`.
//!
//! Calendar feeds are addressed by the organisation's `calendar_token` (a capability URL,
//! the way calendar apps subscribe): a wrong or missing token and an unknown department
//! both answer 404 with the same body, so the feed reveals nothing about what exists.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::app::App;
use crate::error::AppError;
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::store::{Store, StoreError};

/// How long `/readyz` (and the outbox depth on `/metrics`) waits for the database.
pub const DB_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4";
pub const CALENDAR_CONTENT_TYPE: &str = "text/calendar; charset=utf-8";

/// What every handler shares.
#[derive(Clone)]
pub struct HttpState {
    pub app: Arc<App>,
    pub metrics: Arc<Metrics>,
    /// Once triggered, `/readyz` answers 503 so load balancers stop sending traffic.
    pub shutdown: Shutdown,
}

impl HttpState {
    pub fn new(app: Arc<App>, metrics: Arc<Metrics>, shutdown: Shutdown) -> HttpState {
        HttpState {
            app,
            metrics,
            shutdown,
        }
    }
}

/// The service's routes, state applied; merge further routers into it.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/calendar/{file}", get(calendar))
        .with_state(state)
}

fn text(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The process is alive (it answers); says nothing about the database.
async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n")
}

/// Ready to take traffic: not shutting down, and the database answers `SELECT 1` in time.
async fn readyz(State(state): State<HttpState>) -> Response {
    if state.shutdown.is_triggered() {
        return text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n");
    }
    let probe = state.app.store.ping();
    match tokio::time::timeout(DB_PROBE_TIMEOUT, probe).await {
        Ok(Ok(_)) => text(StatusCode::OK, "ready\n"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness probe: database unavailable");
            text(StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
        Err(_) => {
            tracing::warn!("readiness probe: database did not answer in time");
            text(StatusCode::SERVICE_UNAVAILABLE, "database timeout\n")
        }
    }
}

/// Prometheus metrics. The outbox depth is left out when the database cannot say.
async fn metrics(State(state): State<HttpState>) -> Response {
    let depth = tokio::time::timeout(DB_PROBE_TIMEOUT, crate::outbox::depth(&state.app.store))
        .await
        .ok()
        .and_then(Result::ok);
    let mut body = state.metrics.render(depth);
    let unreachable =
        tokio::time::timeout(DB_PROBE_TIMEOUT, state.app.store.unreachable_count()).await;
    if let Ok(Ok(n)) = unreachable {
        body.push_str(&crate::metrics::gauge(
            "baton_unreachable_people",
            "People baton cannot reach on any configured chat platform (see the log for why).",
            n,
        ));
    }
    let now = state.app.clock.now();
    let by_state = tokio::time::timeout(
        DB_PROBE_TIMEOUT,
        crate::outbox::depth_by_state(&state.app.store, now),
    )
    .await;
    if let Ok(Ok(rows)) = by_state {
        body.push_str(
            "# HELP baton_outbox_messages Outbox messages by state: due (waiting, due now), scheduled (waiting for a retry, a Retry-After or a later post), sending (claimed), dead (parked for good).\n# TYPE baton_outbox_messages gauge\n",
        );
        for (s, n) in rows {
            body.push_str(&format!("baton_outbox_messages{{state=\"{s}\"}} {n}\n"));
        }
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        body,
    )
        .into_response()
}

#[derive(Deserialize)]
struct CalendarQuery {
    token: Option<String>,
}

fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "not found\n")
}

fn failed(e: &dyn std::fmt::Display, unavailable: bool) -> Response {
    tracing::error!(error = %e, "calendar feed failed");
    if unavailable {
        text(StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
    } else {
        text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
    }
}

/// `GET /calendar/<dept>.ics?token=…` or `/calendar/all.ics?token=…`.
#[tracing::instrument(skip_all, fields(file = %file))]
async fn calendar(
    State(state): State<HttpState>,
    Path(file): Path<String>,
    Query(q): Query<CalendarQuery>,
) -> Response {
    let Some(name) = file.strip_suffix(".ics").filter(|n| !n.is_empty()) else {
        return not_found();
    };
    let Some(token) = q.token.filter(|t| !t.is_empty()) else {
        return not_found();
    };
    let store = &state.app.store;
    let org_id = match org_by_calendar_token(store, &token).await {
        Ok(Some(id)) => id,
        Ok(None) => {
            state
                .metrics
                .refused("calendar", crate::refused::Refusal::UnknownToken);
            return not_found();
        }
        Err(e) => return failed(&e, matches!(e, StoreError::Unavailable(_))),
    };
    let dept = if name == "all" { None } else { Some(name) };
    if let Some(d) = dept {
        match department_exists(store, org_id, d).await {
            Ok(true) => {}
            Ok(false) => return not_found(),
            Err(e) => return failed(&e, matches!(e, StoreError::Unavailable(_))),
        }
    }
    match crate::app::calendar::ics_feed(&state.app, org_id, dept).await {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, CALENDAR_CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Err(AppError::NotFound(_)) => not_found(),
        Err(e) => {
            let unavailable = matches!(e, AppError::Store(StoreError::Unavailable(_)));
            failed(&e, unavailable)
        }
    }
}

/// The organisation whose calendar feeds this token opens.
pub async fn org_by_calendar_token(store: &Store, token: &str) -> Result<Option<i64>, StoreError> {
    store.org_by_calendar_token(token).await
}

async fn department_exists(store: &Store, org_id: i64, key: &str) -> Result<bool, StoreError> {
    store.department_exists(org_id, key).await
}

/// Every route, guarded: a panic in any handler (baton's own or a platform's) becomes a
/// 500 naming a request id, plus one log line with the same id and where it panicked. The
/// service keeps answering.
pub fn guarded(routes: Router) -> Router {
    panic_guard::install_hook();
    routes.layer(axum::middleware::from_fn(panic_guard::catch))
}

mod panic_guard {
    use std::cell::{Cell, RefCell};
    use std::future::Future;
    use std::panic::AssertUnwindSafe;
    use std::pin::Pin;
    use std::sync::Once;
    use std::task::{Context, Poll};

    use axum::extract::Request;
    use axum::http::StatusCode;
    use axum::middleware::Next;
    use axum::response::{IntoResponse, Response};
    use futures_util::FutureExt;

    thread_local! {
        /// Set while a guarded handler is being polled on this thread.
        static GUARDED: Cell<bool> = const { Cell::new(false) };
        /// The last guarded panic's message and place, for the one log line.
        static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// The panic hook: inside a guarded handler it only notes the panic (the guard logs
    /// it once, with the request id); anywhere else the previous hook runs as before.
    pub(super) fn install_hook() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if GUARDED.with(Cell::get) {
                    let what = info
                        .payload()
                        .downcast_ref::<&str>()
                        .map(|s| s.to_string())
                        .or_else(|| info.payload().downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".into());
                    let what: String = what.chars().take(300).collect();
                    let at = info
                        .location()
                        .map(|l| format!(" at {}:{}", l.file(), l.line()))
                        .unwrap_or_default();
                    LAST.with(|l| *l.borrow_mut() = Some(format!("{what}{at}")));
                } else {
                    previous(info);
                }
            }));
        });
    }

    /// Marks the thread as guarded while the inner future is polled.
    struct Guarded<F>(Pin<Box<F>>);

    impl<F: Future> Future for Guarded<F> {
        type Output = F::Output;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
            let _reset = Reset(GUARDED.with(|g| g.replace(true)));
            self.0.as_mut().poll(cx)
        }
    }

    /// Puts the flag back, also when the poll unwinds.
    struct Reset(bool);

    impl Drop for Reset {
        fn drop(&mut self) {
            GUARDED.with(|g| g.set(self.0));
        }
    }

    pub(super) async fn catch(req: Request, next: Next) -> Response {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        match AssertUnwindSafe(Guarded(Box::pin(next.run(req))))
            .catch_unwind()
            .await
        {
            Ok(response) => response,
            Err(_) => {
                let what = LAST
                    .with(|l| l.borrow_mut().take())
                    .unwrap_or_else(|| "a panic".into());
                let id = uuid::Uuid::new_v4();
                tracing::error!(request_id = %id, %method, path, panic = %what, "a handler panicked; answered 500");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("internal error; request id {id}\n"),
                )
                    .into_response()
            }
        }
    }
}
