//! Housekeeping's use cases: plain async functions of the instant they run at, so tests run
//! them on a controlled clock. `crate::housekeeping` schedules them (UTC, one replica per
//! run); nothing here reads the wall clock.

use chrono::{DateTime, Duration, Utc};

use super::App;
use crate::error::Result;

/// What one retention run deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// Outbox messages that were sent (or dropped, with nothing left to say).
    pub outbox: u64,
    /// Inbound-delivery ids seen (de-duplication of platform retries).
    pub deliveries: u64,
    /// Records of earlier housekeeping runs.
    pub job_runs: u64,
}

/// Deletes what is older than `keep` at `now`: finished outbox messages, seen
/// inbound-delivery ids and job-run records. Waiting, in-flight and dead messages stay
/// whatever their age: they are work, or evidence an operator still has to read.
pub async fn retention(app: &App, now: DateTime<Utc>, keep: Duration) -> Result<Retention> {
    let before = now - keep;
    Ok(Retention {
        outbox: app.store.delete_finished_outbox(before).await?,
        deliveries: app.store.delete_seen_deliveries(before).await?,
        job_runs: app.store.delete_job_runs(before).await?,
    })
}

/// The idle-review sweep, run for every organisation: reviews with no move or capture for
/// the configured idle time close themselves and post their summaries
/// ([`super::reviews::close_idle`]; the ticker does the same on every tick, and a review
/// closes once whichever gets there first). Returns how many closed.
pub async fn idle_review_sweep(app: &App, now: DateTime<Utc>) -> Result<u64> {
    let mut closed = 0;
    for org in app.store.orgs().await? {
        closed += super::reviews::close_idle(app, org.id, now).await?.closed;
    }
    tracing::debug!(%now, closed, "idle-review sweep");
    Ok(closed)
}
