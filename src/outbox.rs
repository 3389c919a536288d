//! The persisted outbox: everything baton says on its own is decided in a transaction that
//! also writes the message here, and delivered later by workers.
//!
//! - Workers claim with `FOR UPDATE SKIP LOCKED` and a lease: a worker that dies between
//!   claiming and sending loses nothing, because the lease runs out and another claims it.
//! - Failures retry with exponential backoff; a `Retry-After` from the adapter is honoured
//!   exactly; permanent failures are parked as `dead` with the reason.
//! - Each message has a unique idempotency key, so deciding twice queues once.
//! - All times come from the app's clock, so tests control them.

use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row};

use crate::app::App;
use crate::bot::Reply;
use crate::chat::{AdapterError, ChatAdapter, Outbound, Target};
use crate::error::Result;
use crate::metrics::Metrics;
use crate::store::{Store, StoreResult};

/// How long a claim is held before another worker may take the message over.
pub const LEASE: Duration = Duration::seconds(60);
/// Attempts before a message is parked as dead.
pub const MAX_ATTEMPTS: i32 = 8;

/// What to send. Prompts and reminders are rendered when sent, so they show the figures of
/// that moment, and are dropped if the prompt was answered in the meantime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    Reply {
        reply: Reply,
    },
    Prompt {
        prompt_id: i64,
    },
    Reminder {
        prompt_id: i64,
    },
    /// The prompts one cadence occurrence made due at one instant, delivered one by one
    /// (see [`deliver_prompts`]).
    Prompts {
        cadence_id: i64,
        occurrence: NaiveDateTime,
        due_at: DateTime<Utc>,
    },
    /// A period's check-in summary, posted as the parent of its thread.
    CheckinSummary {
        summary_id: i64,
    },
    /// One person's answer, posted into the summary's thread.
    SummaryLine {
        summary_id: i64,
        prompt_id: i64,
    },
    /// The summary re-rendered, replacing the thread's parent in place.
    SummaryEdit {
        summary_id: i64,
    },
}

impl Payload {
    /// The outbox `kind` column for this payload.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Reply { .. } => "reply",
            Payload::Prompt { .. } => "prompt",
            Payload::Prompts { .. } => "prompts",
            Payload::Reminder { .. } => "reminder",
            Payload::CheckinSummary { .. } => "checkin_summary",
            Payload::SummaryLine { .. } => "summary_line",
            Payload::SummaryEdit { .. } => "summary_edit",
        }
    }
}

/// Queues a message in the caller's transaction. Returns false if the key was queued before.
pub async fn enqueue(
    conn: &mut PgConnection,
    org_id: i64,
    key: &str,
    target: &Target,
    payload: &Payload,
    not_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let kind = payload.kind();
    let res = sqlx::query(
        "INSERT INTO outbox (org_id, idempotency_key, kind, target, payload, not_before, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(org_id)
    .bind(key)
    .bind(kind)
    .bind(sqlx::types::Json(target))
    .bind(sqlx::types::Json(payload))
    .bind(not_before)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(res.rows_affected() == 1)
}

/// A message claimed by a worker.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub org_id: i64,
    pub key: String,
    pub kind: String,
    pub target: Target,
    pub payload: Payload,
    pub attempts: i32,
}

/// Claims up to `limit` messages that are due (or whose previous claim expired).
pub async fn claim(
    store: &Store,
    worker: &str,
    limit: i64,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Claimed>> {
    let rows = sqlx::query(
        "UPDATE outbox o SET state = 'sending', claimed_by = $1, claimed_until = $2,
                attempts = o.attempts + 1
         FROM (SELECT id FROM outbox
               WHERE (state = 'pending' AND not_before <= $3)
                  OR (state = 'sending' AND claimed_until <= $3)
               ORDER BY not_before, id
               LIMIT $4
               FOR UPDATE SKIP LOCKED) c
         WHERE o.id = c.id
         RETURNING o.id, o.org_id, o.idempotency_key, o.kind, o.target, o.payload, o.attempts",
    )
    .bind(worker)
    .bind(now + LEASE)
    .bind(now)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let target: sqlx::types::Json<Target> = r.try_get("target")?;
        let payload: sqlx::types::Json<Payload> = r.try_get("payload")?;
        out.push(Claimed {
            id: r.try_get("id")?,
            org_id: r.try_get("org_id")?,
            key: r.try_get("idempotency_key")?,
            kind: r.try_get("kind")?,
            target: target.0,
            payload: payload.0,
            attempts: r.try_get("attempts")?,
        });
    }
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// Backoff after the n-th failed attempt: 2, 4, 8 … seconds, at most five minutes.
pub fn backoff(attempts: i32) -> Duration {
    let secs = 2i64.saturating_pow(attempts.clamp(1, 20) as u32).min(300);
    Duration::seconds(secs)
}

/// How a delivery attempt ended.
struct Outcome<'a> {
    state: &'a str,
    not_before: Option<DateTime<Utc>>,
    error: Option<String>,
    delivered: Option<serde_json::Value>,
}

impl<'a> Outcome<'a> {
    fn new(state: &'a str) -> Self {
        Outcome {
            state,
            not_before: None,
            error: None,
            delivered: None,
        }
    }
}

async fn finish(
    store: &Store,
    c: &Claimed,
    worker: &str,
    o: Outcome<'_>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    // Only the current claimant may finish a message (a slow worker whose lease expired
    // must not overwrite the new claimant's outcome).
    sqlx::query(
        "UPDATE outbox SET state = $3, not_before = COALESCE($4, not_before), last_error = $5,
                delivered = COALESCE($6, delivered),
                sent_at = CASE WHEN $3 = 'sent' THEN $7 ELSE sent_at END,
                claimed_by = NULL, claimed_until = NULL
         WHERE id = $1 AND claimed_by = $2 AND state = 'sending'",
    )
    .bind(c.id)
    .bind(worker)
    .bind(o.state)
    .bind(o.not_before)
    .bind(o.error)
    .bind(o.delivered)
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// How long a summary's line or edit waits before looking for its summary again.
pub const PARENT_WAIT: Duration = Duration::seconds(2);

/// The outbox state of a check-in summary's own message, if it was ever queued.
async fn summary_state(store: &Store, summary_id: i64) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT state FROM outbox WHERE idempotency_key = $1")
            .bind(crate::app::summaries::summary_key(summary_id))
            .fetch_optional(store.pool())
            .await?,
    )
}

/// Puts a claimed message back without counting the attempt: it has not been tried (or,
/// for a group of prompts, it made progress and continues).
async fn put_back(
    store: &Store,
    c: &Claimed,
    worker: &str,
    until: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE outbox SET state = 'pending', not_before = $3, attempts = attempts - 1,
                claimed_by = NULL, claimed_until = NULL
         WHERE id = $1 AND claimed_by = $2 AND state = 'sending'",
    )
    .bind(c.id)
    .bind(worker)
    .bind(until)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Which prompts a [`Payload::Prompts`] message stands for.
struct Group {
    cadence_id: i64,
    occurrence: NaiveDateTime,
    due_at: DateTime<Utc>,
}

/// Prompts fetched from a group per query.
const GROUP_CHUNK: i64 = 100;

/// Delivers a group of prompts one by one, each under its own idempotency key
/// (`prompt:<id>`) and to its own person, or to the department's channel when the
/// department takes prompts there. Each prompt is marked `delivered_at` once it left the
/// group, so a group claimed again (after a crash, or when its worker hands it back before
/// its lease runs out) continues where it stopped.
///
/// - A prompt answered meanwhile is dropped (rendering says there is nothing to ask).
/// - A 429 stops the group until the platform's `Retry-After`.
/// - Any other failure moves that one prompt into an outbox message of its own, retried
///   (transient) or parked as dead (permanent) by the usual rules; the group goes on.
async fn deliver_prompts(
    app: &App,
    adapter: &dyn ChatAdapter,
    c: &Claimed,
    worker: &str,
    g: &Group,
    metrics: Option<&Metrics>,
) -> Result<()> {
    let claimed_at = Instant::now();
    let pool = app.store.pool();
    let cadence: Option<(String, String)> =
        sqlx::query_as("SELECT scope, scope_key FROM cadences WHERE org_id = $1 AND id = $2")
            .bind(c.org_id)
            .bind(g.cadence_id)
            .fetch_optional(pool)
            .await
            .map_err(crate::store::StoreError::from)?;
    let Some((scope, scope_key)) = cadence else {
        finish(
            &app.store,
            c,
            worker,
            Outcome::new("dropped"),
            app.clock.now(),
        )
        .await?;
        return Ok(());
    };
    let spec = app.spec_recent(c.org_id).await?;
    let in_channel = scope == "department"
        && spec
            .departments
            .iter()
            .any(|d| d.key.as_str() == scope_key && d.prompts_in_channel);
    let mark = |id: i64, now: DateTime<Utc>| {
        sqlx::query("UPDATE prompts SET delivered_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(pool)
    };
    loop {
        let chunk: Vec<(i64, String)> = sqlx::query_as(
            "SELECT p.id, pe.key FROM prompts p JOIN people pe ON pe.id = p.person_id
             WHERE p.org_id = $1 AND p.cadence_id = $2 AND p.occurrence = $3 AND p.due_at = $4
               AND p.delivered_at IS NULL
             ORDER BY p.id LIMIT $5",
        )
        .bind(c.org_id)
        .bind(g.cadence_id)
        .bind(g.occurrence)
        .bind(g.due_at)
        .bind(GROUP_CHUNK)
        .fetch_all(pool)
        .await
        .map_err(crate::store::StoreError::from)?;
        if chunk.is_empty() {
            finish(&app.store, c, worker, Outcome::new("sent"), app.clock.now()).await?;
            return Ok(());
        }
        for (id, person) in chunk {
            let now = app.clock.now();
            // Hand the rest back well before the lease runs out, so no other worker ever
            // takes the group over while this one still sends from it.
            if claimed_at.elapsed() > (LEASE / 2).to_std().unwrap_or_default() {
                put_back(&app.store, c, worker, now).await?;
                return Ok(());
            }
            let Some(reply) = crate::app::schedule::render_prompt(app, c.org_id, id, false).await?
            else {
                mark(id, now)
                    .await
                    .map_err(crate::store::StoreError::from)?;
                continue;
            };
            let target = if in_channel {
                Target::Channel {
                    department: scope_key.clone(),
                }
            } else {
                Target::Person { person }
            };
            let msg = Outbound {
                org_id: c.org_id,
                kind: "prompt".into(),
                idempotency_key: format!("prompt:{id}"),
                reply,
            };
            let started = Instant::now();
            let result = adapter.send(&target, &msg).await;
            let now = app.clock.now();
            match result {
                Ok(_) => {
                    if let Some(m) = metrics {
                        m.observe_send(started.elapsed().as_secs_f64());
                        Metrics::add(&m.messages_sent, 1);
                    }
                    mark(id, now)
                        .await
                        .map_err(crate::store::StoreError::from)?;
                }
                Err(AdapterError::RateLimited { retry_after }) => {
                    if let Some(m) = metrics {
                        Metrics::add(&m.send_failures, 1);
                    }
                    let wait = Duration::from_std(retry_after).unwrap_or(Duration::seconds(1));
                    put_back(&app.store, c, worker, now + wait).await?;
                    return Ok(());
                }
                Err(e) => {
                    if let Some(m) = metrics {
                        Metrics::add(&m.send_failures, 1);
                    }
                    tracing::warn!(prompt = id, error = %e, "prompt delivery failed; it continues on its own");
                    spill(&app.store, c.org_id, id, &target, &e, now).await?;
                }
            }
        }
    }
}

/// Moves one prompt of a group into an outbox message of its own after a failed attempt:
/// pending with backoff if the failure was transient, dead if not. One transaction.
async fn spill(
    store: &Store,
    org_id: i64,
    prompt_id: i64,
    target: &Target,
    e: &AdapterError,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (state, not_before) = match e {
        AdapterError::Transient(_) => ("pending", now + backoff(1)),
        _ => ("dead", now),
    };
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO outbox (org_id, idempotency_key, kind, target, payload, not_before, created_at,
                             state, attempts, last_error)
         VALUES ($1, $2, 'prompt', $3, $4, $5, $6, $7, 1, $8)
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(org_id)
    .bind(format!("prompt:{prompt_id}"))
    .bind(sqlx::types::Json(target))
    .bind(sqlx::types::Json(Payload::Prompt { prompt_id }))
    .bind(not_before)
    .bind(now)
    .bind(state)
    .bind(e.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE prompts SET delivered_at = $2 WHERE id = $1")
        .bind(prompt_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if state == "dead" {
        tracing::error!(prompt = prompt_id, error = %e, "prompt parked as dead");
    }
    Ok(())
}

/// Claims and delivers one batch. Returns how many messages were handled.
pub async fn deliver_batch(
    app: &App,
    adapter: &dyn ChatAdapter,
    worker: &str,
    limit: i64,
    metrics: Option<&Metrics>,
) -> Result<usize> {
    let now = app.clock.now();
    let claimed = claim(&app.store, worker, limit, now).await?;
    let n = claimed.len();
    for c in claimed {
        if let Payload::Prompts {
            cadence_id,
            occurrence,
            due_at,
        } = &c.payload
        {
            let group = Group {
                cadence_id: *cadence_id,
                occurrence: *occurrence,
                due_at: *due_at,
            };
            deliver_prompts(app, adapter, &c, worker, &group, metrics).await?;
            continue;
        }
        // A summary's lines and edits wait for the summary itself: a line sent first would
        // start a second thread, and an edit would have nothing to replace.
        if let Payload::SummaryLine { summary_id, .. } | Payload::SummaryEdit { summary_id } =
            &c.payload
        {
            match summary_state(&app.store, *summary_id).await?.as_deref() {
                Some("sent") => {}
                Some("pending" | "sending") => {
                    put_back(&app.store, &c, worker, now + PARENT_WAIT).await?;
                    continue;
                }
                // The summary will never be posted: an edit has nothing to replace, and a
                // line starts the thread itself.
                _ if matches!(c.payload, Payload::SummaryEdit { .. }) => {
                    finish(&app.store, &c, worker, Outcome::new("dropped"), now).await?;
                    continue;
                }
                _ => {}
            }
        }
        let reply = match &c.payload {
            Payload::Reply { reply } => Some(reply.clone()),
            Payload::Prompt { prompt_id } => {
                crate::app::schedule::render_prompt(app, c.org_id, *prompt_id, false).await?
            }
            Payload::Reminder { prompt_id } => {
                crate::app::schedule::render_prompt(app, c.org_id, *prompt_id, true).await?
            }
            // Delivered above.
            Payload::Prompts { .. } => continue,
            Payload::CheckinSummary { summary_id } | Payload::SummaryEdit { summary_id } => {
                crate::app::summaries::render(app, c.org_id, *summary_id).await?
            }
            Payload::SummaryLine {
                summary_id,
                prompt_id,
            } => crate::app::summaries::render_line(app, c.org_id, *summary_id, *prompt_id).await?,
        };
        let Some(reply) = reply else {
            // Answered, skipped or snoozed before delivery: nothing to say any more.
            finish(&app.store, &c, worker, Outcome::new("dropped"), now).await?;
            continue;
        };
        let msg = Outbound {
            org_id: c.org_id,
            kind: c.kind.clone(),
            idempotency_key: c.key.clone(),
            reply,
        };
        let started = Instant::now();
        let result = match (&c.payload, &c.target) {
            (Payload::SummaryEdit { .. }, Target::Thread { department, thread }) => {
                adapter.edit_parent(department, thread, &msg).await
            }
            (Payload::SummaryEdit { .. }, _) => Err(AdapterError::Permanent(
                "a summary edit needs a thread target".into(),
            )),
            _ => adapter.send(&c.target, &msg).await,
        };
        let now = app.clock.now();
        match result {
            Ok(d) => {
                if let Some(m) = metrics {
                    m.observe_send(started.elapsed().as_secs_f64());
                    Metrics::add(&m.messages_sent, 1);
                }
                let o = Outcome {
                    delivered: serde_json::to_value(d).ok(),
                    ..Outcome::new("sent")
                };
                finish(&app.store, &c, worker, o, now).await?;
            }
            Err(e) => {
                if let Some(m) = metrics {
                    Metrics::add(&m.send_failures, 1);
                }
                tracing::warn!(message = c.id, attempts = c.attempts, error = %e, "delivery failed");
                let o = match e {
                    AdapterError::RateLimited { retry_after } => {
                        let wait = Duration::from_std(retry_after).unwrap_or(Duration::seconds(1));
                        Outcome {
                            not_before: Some(now + wait),
                            error: Some(e.to_string()),
                            ..Outcome::new("pending")
                        }
                    }
                    AdapterError::Transient(_) if c.attempts < MAX_ATTEMPTS => Outcome {
                        not_before: Some(now + backoff(c.attempts)),
                        error: Some(e.to_string()),
                        ..Outcome::new("pending")
                    },
                    _ => {
                        tracing::error!(message = c.id, error = %e, "message parked as dead");
                        Outcome {
                            error: Some(e.to_string()),
                            ..Outcome::new("dead")
                        }
                    }
                };
                finish(&app.store, &c, worker, o, now).await?;
            }
        }
    }
    Ok(n)
}

/// Messages waiting to be delivered.
pub async fn depth(store: &Store) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')")
            .fetch_one(store.pool())
            .await?,
    )
}

/// The earliest moment a waiting message becomes due.
pub async fn next_due(store: &Store) -> StoreResult<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "SELECT min(CASE WHEN state = 'pending' THEN not_before ELSE claimed_until END)
         FROM outbox WHERE state IN ('pending', 'sending')",
    )
    .fetch_one(store.pool())
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::seconds(2));
        assert_eq!(backoff(3), Duration::seconds(8));
        assert_eq!(backoff(30), Duration::seconds(300));
    }
}
