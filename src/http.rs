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
        Ok(None) => return not_found(),
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
