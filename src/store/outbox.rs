//! The outbox's tables: every statement that queues, claims, fences, renews and finishes
//! outbound messages (`outbox`), and that records the delivery of the prompts a group
//! stands for (`prompts.send_started_at`, `prompts.delivered_at`).
//!
//! **Fencing.** Each claim draws a fresh token from the `outbox_claims` sequence. Every
//! later statement about a claimed row names its token, so a worker whose claim ran out
//! and was taken over changes nothing, and learns that it lost the claim. Before each send
//! the worker renews its lease and records that an attempt started, in one statement
//! ([`begin_attempt`], [`begin_prompt`]); the send itself is bounded well inside the lease
//! (see `outbox::SEND_TIMEOUT`), so no other worker can claim the row while it is in flight.
//!
//! **Uncertain attempts.** An attempt that started and was never seen to finish (its worker
//! died, or its answer timed out) leaves `attempt_started_at` (or a prompt's
//! `send_started_at`) set. The next claimant asks the platform about it before sending.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, Row};

use super::{Store, StoreResult, Tx};
use crate::bot::Reply;
use crate::delivery::Target;

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
    /// (see `outbox::deliver_batch`).
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
    /// A dependency alert re-rendered (its open conditions of the moment of sending),
    /// replacing the first message of its thread in place.
    AlertEdit {
        /// The alert's number in its organisation.
        alert: i64,
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
            Payload::AlertEdit { .. } => "alert_edit",
        }
    }
}

/// Queues a message in the caller's transaction. Returns false if the key was queued before.
pub async fn enqueue(
    tx: &mut Tx,
    org_id: i64,
    key: &str,
    target: &Target,
    payload: &Payload,
    not_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    enqueue_on(&mut tx.0, org_id, key, target, payload, not_before, now).await
}

/// Queues one message on its own (no transaction of the caller's). Returns false if the
/// key was queued before.
pub async fn enqueue_alone(
    store: &Store,
    org_id: i64,
    key: &str,
    target: &Target,
    payload: &Payload,
    not_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut conn = store.pool().acquire().await?;
    enqueue_on(&mut conn, org_id, key, target, payload, not_before, now).await
}

async fn enqueue_on(
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
        "INSERT INTO outbox (org_id, idempotency_key, kind, target, payload, not_before, created_at,
                             due_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6)
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

/// A message to queue, built in Rust: its payload and target are serialised here and
/// bound, never assembled as JSON in SQL.
#[derive(Debug, Clone)]
pub(super) struct Queued {
    pub key: String,
    pub target: Target,
    pub payload: Payload,
    pub not_before: DateTime<Utc>,
}

/// Whether queueing a key that was queued before is skipped or fails the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OnConflict {
    Skip,
    Fail,
}

/// Queues many messages in one statement, in the given order, in the caller's
/// transaction. Returns how many were queued.
pub(super) async fn enqueue_all(
    conn: &mut PgConnection,
    org_id: i64,
    rows: &[Queued],
    on_conflict: OnConflict,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    let kinds: Vec<&str> = rows.iter().map(|r| r.payload.kind()).collect();
    let targets: Vec<String> = rows.iter().map(|r| super::to_json(&r.target)).collect();
    let payloads: Vec<String> = rows.iter().map(|r| super::to_json(&r.payload)).collect();
    let not_before: Vec<DateTime<Utc>> = rows.iter().map(|r| r.not_before).collect();
    let sql = match on_conflict {
        OnConflict::Skip => concat!(
            "INSERT INTO outbox (org_id, idempotency_key, kind, target, payload, not_before, created_at,
                                 due_at)
             SELECT $1, x.k, x.kind, x.t::jsonb, x.p::jsonb, x.nb, $7, x.nb
             FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
                  WITH ORDINALITY AS x(k, kind, t, p, nb, n)
             ORDER BY x.n",
            " ON CONFLICT (idempotency_key) DO NOTHING"
        ),
        OnConflict::Fail => {
            "INSERT INTO outbox (org_id, idempotency_key, kind, target, payload, not_before, created_at,
                                 due_at)
             SELECT $1, x.k, x.kind, x.t::jsonb, x.p::jsonb, x.nb, $7, x.nb
             FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
                  WITH ORDINALITY AS x(k, kind, t, p, nb, n)
             ORDER BY x.n"
        }
    };
    let res = sqlx::query(sql)
        .bind(org_id)
        .bind(&keys)
        .bind(&kinds)
        .bind(&targets)
        .bind(&payloads)
        .bind(&not_before)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(res.rows_affected())
}

/// A check-in summary a change touched.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct SummaryRef {
    pub id: i64,
    pub department: String,
    pub thread_key: String,
}

impl SummaryRef {
    pub(super) fn thread(&self) -> Target {
        Target::Thread {
            department: self.department.clone(),
            thread: self.thread_key.clone(),
        }
    }
}

/// One coalesced edit of each summary, queued at `now`. Edits coalesce per summary into
/// 10-second buckets: the first change in a bucket queues an edit due at the bucket's end,
/// later ones find it queued; it renders the summary when sent, so it shows every change
/// made until then.
pub(super) fn summary_edits(summaries: &[SummaryRef], now: DateTime<Utc>) -> Vec<Queued> {
    let bucket = now.timestamp().div_euclid(10);
    let due = DateTime::from_timestamp((bucket + 1) * 10, 0).expect("a time in range");
    let mut seen = std::collections::BTreeSet::new();
    let mut sorted: Vec<&SummaryRef> = summaries.iter().collect();
    sorted.sort_by_key(|s| s.id);
    sorted
        .into_iter()
        .filter(|s| seen.insert(s.id))
        .map(|s| Queued {
            key: format!("summary-edit:{}:{bucket}", s.id),
            target: s.thread(),
            payload: Payload::SummaryEdit { summary_id: s.id },
            not_before: due,
        })
        .collect()
}

/// Queues the coalesced edits of the summaries (see [`summary_edits`]).
pub(super) async fn queue_summary_edits(
    conn: &mut PgConnection,
    org_id: i64,
    summaries: &[SummaryRef],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    enqueue_all(
        conn,
        org_id,
        &summary_edits(summaries, now),
        OnConflict::Skip,
        now,
    )
    .await?;
    Ok(())
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
    /// The fencing token of this claim: every later statement about the row names it.
    pub token: i64,
    /// When an earlier attempt started that was never seen to finish.
    pub uncertain_since: Option<DateTime<Utc>>,
    /// When the message became due (for a group: its prompts' due instant), however often
    /// it was put off since.
    pub due: DateTime<Utc>,
}

/// Claims up to `limit` messages that are due (or whose previous claim expired), each
/// under a fresh fencing token and a lease until `now + lease`. A message to one of
/// baton's threads waits until every earlier post to that thread is done, so the first
/// one posted is the parent and no two workers ever start the same thread.
pub async fn claim(
    store: &Store,
    worker: &str,
    limit: i64,
    now: DateTime<Utc>,
    lease: Duration,
) -> StoreResult<Vec<Claimed>> {
    let rows = sqlx::query(
        "UPDATE outbox o SET state = 'sending', claimed_by = $1, claimed_until = $2,
                claimed_at = $3, claim_token = nextval('outbox_claims'),
                attempts = o.attempts + 1
         FROM (SELECT id FROM outbox m
               WHERE ((state = 'pending' AND not_before <= $3)
                      OR (state = 'sending' AND claimed_until <= $3))
                 -- One post to a thread at a time, in order: the first starts it. (Edits
                 -- of a thread's parent post nothing; they wait for the parent itself.)
                 AND NOT (target->>'to' = 'thread' AND kind <> 'summary_edit' AND EXISTS (
                     SELECT 1 FROM outbox e
                     WHERE e.state IN ('pending', 'sending') AND e.target->>'to' = 'thread'
                       AND e.kind <> 'summary_edit'
                       AND e.target->>'department' = m.target->>'department'
                       AND e.target->>'thread' = m.target->>'thread'
                       AND e.org_id = m.org_id AND e.id < m.id))
               ORDER BY not_before, id
               LIMIT $4
               FOR UPDATE SKIP LOCKED) c
         WHERE o.id = c.id
         RETURNING o.id, o.org_id, o.idempotency_key, o.kind, o.target, o.payload, o.attempts,
                   o.claim_token, o.attempt_started_at, coalesce(o.due_at, o.created_at) AS due",
    )
    .bind(worker)
    .bind(now + lease)
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
            token: r.try_get("claim_token")?,
            uncertain_since: r.try_get("attempt_started_at")?,
            due: r.try_get("due")?,
        });
    }
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// Renews the lease of a claim; false if the claim was lost (taken over or finished).
pub async fn renew(
    store: &Store,
    c: &Claimed,
    now: DateTime<Utc>,
    lease: Duration,
) -> StoreResult<bool> {
    let res = sqlx::query(
        "UPDATE outbox SET claimed_until = $3
         WHERE id = $1 AND claim_token = $2 AND state = 'sending'",
    )
    .bind(c.id)
    .bind(c.token)
    .bind(now + lease)
    .execute(store.pool())
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Checks the claim, renews its lease and records that an attempt starts now, in one
/// statement; false if the claim was lost (nothing may be sent then).
pub async fn begin_attempt(
    store: &Store,
    c: &Claimed,
    now: DateTime<Utc>,
    lease: Duration,
) -> StoreResult<bool> {
    let res = sqlx::query(
        "UPDATE outbox SET claimed_until = $3, attempt_started_at = $4
         WHERE id = $1 AND claim_token = $2 AND state = 'sending'",
    )
    .bind(c.id)
    .bind(c.token)
    .bind(now + lease)
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(res.rows_affected() == 1)
}

/// May one prompt of a claimed group be sent now?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptGo {
    /// Yes: the group's claim holds (its lease renewed) and the attempt is recorded.
    Send,
    /// No: the prompt left the group meanwhile.
    Done,
    /// No: the group's claim was lost; stop sending from it.
    Lost,
}

/// For one prompt of a claimed group: checks the group's claim, renews its lease and
/// records that the prompt's attempt starts now, in one statement.
pub async fn begin_prompt(
    store: &Store,
    group: &Claimed,
    prompt_id: i64,
    now: DateTime<Utc>,
    lease: Duration,
) -> StoreResult<PromptGo> {
    let (held, started): (bool, bool) = sqlx::query_as(
        "WITH c AS (
             UPDATE outbox SET claimed_until = $3
             WHERE id = $1 AND claim_token = $2 AND state = 'sending'
             RETURNING id),
         p AS (
             UPDATE prompts SET send_started_at = $5
             WHERE id = $4 AND delivered_at IS NULL AND EXISTS (SELECT 1 FROM c)
             RETURNING id)
         SELECT EXISTS (SELECT 1 FROM c), EXISTS (SELECT 1 FROM p)",
    )
    .bind(group.id)
    .bind(group.token)
    .bind(now + lease)
    .bind(prompt_id)
    .bind(now)
    .fetch_one(store.pool())
    .await?;
    Ok(match (held, started) {
        (false, _) => PromptGo::Lost,
        (true, false) => PromptGo::Done,
        (true, true) => PromptGo::Send,
    })
}

/// How a delivery attempt ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// `sent`, `dropped`, `dead` or `pending`.
    pub state: &'static str,
    pub not_before: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub delivered: Option<serde_json::Value>,
    /// The attempt's outcome is not known (e.g. its answer timed out): the next claimant
    /// asks the platform first.
    pub uncertain: bool,
}

impl Outcome {
    pub fn new(state: &'static str) -> Self {
        Outcome {
            state,
            not_before: None,
            error: None,
            delivered: None,
            uncertain: false,
        }
    }
}

/// Records how a claimed message ended and releases the claim; false if the claim was
/// lost (the new claimant's outcome stands).
pub async fn finish(
    store: &Store,
    c: &Claimed,
    o: &Outcome,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let res = sqlx::query(
        "UPDATE outbox SET state = $3, not_before = COALESCE($4, not_before), last_error = $5,
                delivered = COALESCE($6, delivered),
                sent_at = CASE WHEN $3 = 'sent' THEN $7 ELSE sent_at END,
                attempt_started_at = CASE WHEN $8 THEN attempt_started_at END,
                claimed_by = NULL, claimed_until = NULL, claim_token = NULL
         WHERE id = $1 AND claim_token = $2 AND state = 'sending'",
    )
    .bind(c.id)
    .bind(c.token)
    .bind(o.state)
    .bind(o.not_before)
    .bind(o.error.as_deref())
    .bind(o.delivered.as_ref())
    .bind(now)
    .bind(o.uncertain)
    .execute(store.pool())
    .await?;
    Ok(res.rows_affected() == 1)
}

/// Puts a claimed message back without counting the attempt: it has not been tried (or,
/// for a group of prompts, it made progress and continues). False if the claim was lost.
pub async fn put_back(store: &Store, c: &Claimed, until: DateTime<Utc>) -> StoreResult<bool> {
    let res = sqlx::query(
        "UPDATE outbox SET state = 'pending', not_before = $3, attempts = attempts - 1,
                claimed_by = NULL, claimed_until = NULL, claim_token = NULL
         WHERE id = $1 AND claim_token = $2 AND state = 'sending'",
    )
    .bind(c.id)
    .bind(c.token)
    .bind(until)
    .execute(store.pool())
    .await?;
    Ok(res.rows_affected() == 1)
}

/// The outbox state of a message, by key, if it was ever queued.
pub async fn state_of(store: &Store, key: &str) -> StoreResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT state FROM outbox WHERE idempotency_key = $1")
            .bind(key)
            .fetch_optional(store.pool())
            .await?,
    )
}

/// The scope of a cadence (`department` and its key, or `person`…), if it exists.
pub async fn cadence_scope(
    store: &Store,
    org_id: i64,
    cadence_id: i64,
) -> StoreResult<Option<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT scope, scope_key FROM cadences WHERE org_id = $1 AND id = $2")
            .bind(org_id)
            .bind(cadence_id)
            .fetch_optional(store.pool())
            .await?,
    )
}

/// One prompt of a group still to deliver.
#[derive(Debug, Clone)]
pub struct GroupPrompt {
    pub id: i64,
    pub person: String,
    /// When an earlier attempt of it started and was never seen to finish.
    pub uncertain_since: Option<DateTime<Utc>>,
}

/// The next `limit` prompts of a group that have not left it, in id order.
pub async fn group_prompts(
    store: &Store,
    org_id: i64,
    cadence_id: i64,
    occurrence: NaiveDateTime,
    due_at: DateTime<Utc>,
    limit: i64,
) -> StoreResult<Vec<GroupPrompt>> {
    let rows: Vec<(i64, String, Option<DateTime<Utc>>)> = sqlx::query_as(
        "SELECT p.id, pe.key, p.send_started_at FROM prompts p JOIN people pe ON pe.id = p.person_id
         WHERE p.org_id = $1 AND p.cadence_id = $2 AND p.occurrence = $3 AND p.due_at = $4
           AND p.delivered_at IS NULL
         ORDER BY p.id LIMIT $5",
    )
    .bind(org_id)
    .bind(cadence_id)
    .bind(occurrence)
    .bind(due_at)
    .bind(limit)
    .fetch_all(store.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, person, uncertain_since)| GroupPrompt {
            id,
            person,
            uncertain_since,
        })
        .collect())
}

/// Records that a prompt left its group (delivered, or dropped as answered meanwhile).
/// A fact, recorded whoever holds the group now: the send it records happened under a
/// claim that held when it started.
pub async fn prompt_delivered(
    store: &Store,
    org_id: i64,
    prompt_id: i64,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE prompts SET delivered_at = $3
         WHERE org_id = $1 AND id = $2 AND delivered_at IS NULL",
    )
    .bind(org_id)
    .bind(prompt_id)
    .bind(now)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Clears the record of a prompt's attempt that the platform refused (429): nothing
/// landed, so the next attempt needs no lookup.
pub async fn prompt_not_started(store: &Store, org_id: i64, prompt_id: i64) -> StoreResult<()> {
    sqlx::query(
        "UPDATE prompts SET send_started_at = NULL
         WHERE org_id = $1 AND id = $2 AND delivered_at IS NULL",
    )
    .bind(org_id)
    .bind(prompt_id)
    .execute(store.pool())
    .await?;
    Ok(())
}

/// Moves one prompt of a claimed group into an outbox message of its own after a failed
/// attempt (`state` is `pending` with `not_before`, or `dead`), in one transaction that
/// first checks the group's claim; false (nothing written) if the claim was lost.
#[allow(clippy::too_many_arguments)]
pub async fn spill(
    store: &Store,
    group: &Claimed,
    prompt_id: i64,
    target: &Target,
    state: &str,
    not_before: DateTime<Utc>,
    error: &str,
    uncertain: bool,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut tx = store.pool().begin().await?;
    let held: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM outbox WHERE id = $1 AND claim_token = $2 AND state = 'sending' FOR UPDATE",
    )
    .bind(group.id)
    .bind(group.token)
    .fetch_optional(&mut *tx)
    .await?;
    if held.is_none() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO outbox (org_id, idempotency_key, kind, target, payload, not_before, created_at,
                             state, attempts, last_error, attempt_started_at, due_at)
         VALUES ($1, $2, 'prompt', $3, $4, $5, $6, $7, 1, $8, CASE WHEN $9 THEN $6 END, $10)
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(group.org_id)
    .bind(format!("prompt:{prompt_id}"))
    .bind(sqlx::types::Json(target))
    .bind(sqlx::types::Json(Payload::Prompt { prompt_id }))
    .bind(not_before)
    .bind(now)
    .bind(state)
    .bind(error)
    .bind(uncertain)
    .bind(group.due)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE prompts SET delivered_at = $3 WHERE org_id = $1 AND id = $2")
        .bind(group.org_id)
        .bind(prompt_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(true)
}

/// Messages waiting to be delivered.
pub async fn depth(store: &Store) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM outbox WHERE state IN ('pending', 'sending')")
            .fetch_one(store.pool())
            .await?,
    )
}

/// Outbox messages by state, for `/metrics`: `due` (waiting, due now), `scheduled`
/// (waiting for a later moment: a retry, a 429's `Retry-After`, a scheduled post),
/// `sending` (claimed by a worker) and `dead` (parked for good). Every state is listed,
/// with 0 when empty.
pub async fn depth_by_state(
    store: &Store,
    now: DateTime<Utc>,
) -> StoreResult<Vec<(&'static str, i64)>> {
    let (due, scheduled, sending): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 'pending' AND not_before <= $1),
                count(*) FILTER (WHERE state = 'pending' AND not_before > $1),
                count(*) FILTER (WHERE state = 'sending')
         FROM outbox WHERE state IN ('pending', 'sending')",
    )
    .bind(now)
    .fetch_one(store.pool())
    .await?;
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox WHERE state = 'dead'")
        .fetch_one(store.pool())
        .await?;
    Ok(vec![
        ("due", due),
        ("scheduled", scheduled),
        ("sending", sending),
        ("dead", dead),
    ])
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
