//! Storage for the cadence engine: cadences, prompts, digests, nudges and away periods.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use sqlx::PgConnection;

use sqlx::AssertSqlSafe;

use super::outbox::{OnConflict, Payload, Queued, SummaryRef, enqueue_all, queue_summary_edits};
use super::{Store, StoreResult, Tx};
use crate::delivery::Target;
use crate::domain::cadence::DeclaredCadence;

/// A cadence row claimed for processing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CadenceRow {
    pub id: i64,
    pub key: String,
    pub scope: String,
    pub scope_key: String,
    pub purpose: String,
    pub layer: String,
    pub rule: String,
    pub time_zone: String,
    pub checked_until: DateTime<Utc>,
}

/// A prompt to materialise.
#[derive(Debug, Clone)]
pub struct NewPrompt {
    pub cadence_id: i64,
    pub occurrence: NaiveDateTime,
    pub person_id: i64,
    pub codes: Vec<String>,
    pub due_at: DateTime<Utc>,
    pub window_ends_at: DateTime<Utc>,
    pub remind_at: DateTime<Utc>,
    pub state: &'static str,
}

/// An open prompt as commands see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PromptRow {
    pub id: i64,
    pub cadence_id: i64,
    pub occurrence: NaiveDateTime,
    pub person_id: i64,
    pub codes: Vec<String>,
    pub due_at: DateTime<Utc>,
    pub window_ends_at: DateTime<Utc>,
    pub state: String,
    pub snoozed_until: Option<DateTime<Utc>>,
}

/// Brings the cadence table in line with the manifest, in the apply transaction. New
/// cadences start at `now` (no backfill); changed rules keep their watermark; removed ones
/// are archived.
pub(super) async fn sync_cadences(
    conn: &mut PgConnection,
    org_id: i64,
    declared: &[DeclaredCadence],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let keys: Vec<&str> = declared.iter().map(|c| c.key.as_str()).collect();
    let scopes: Vec<&str> = declared.iter().map(|c| c.scope).collect();
    let scope_keys: Vec<&str> = declared.iter().map(|c| c.scope_key.as_str()).collect();
    let purposes: Vec<&str> = declared.iter().map(|c| c.purpose.as_str()).collect();
    let layers: Vec<&str> = declared.iter().map(|c| c.layer.as_str()).collect();
    let rules: Vec<&str> = declared.iter().map(|c| c.rule.as_str()).collect();
    let zones: Vec<&str> = declared.iter().map(|c| c.time_zone.name()).collect();
    sqlx::query(
        "INSERT INTO cadences (org_id, key, scope, scope_key, purpose, layer, rule, time_zone, checked_until)
         SELECT $1, x.* , $9 FROM UNNEST($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
             AS x(key, scope, scope_key, purpose, layer, rule, tz)
         ON CONFLICT (org_id, key) DO UPDATE SET scope = EXCLUDED.scope, scope_key = EXCLUDED.scope_key,
             purpose = EXCLUDED.purpose, layer = EXCLUDED.layer, rule = EXCLUDED.rule,
             time_zone = EXCLUDED.time_zone,
             checked_until = CASE WHEN cadences.archived_at IS NULL THEN cadences.checked_until ELSE EXCLUDED.checked_until END,
             archived_at = NULL",
    )
    .bind(org_id)
    .bind(&keys)
    .bind(&scopes)
    .bind(&scope_keys)
    .bind(&purposes)
    .bind(&layers)
    .bind(&rules)
    .bind(&zones)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE cadences SET archived_at = $3
         WHERE org_id = $1 AND archived_at IS NULL AND NOT (key = ANY($2))",
    )
    .bind(org_id)
    .bind(&keys)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

type PgQueryAs<'q> =
    sqlx::query::QueryAs<'q, sqlx::Postgres, PromptClosed, sqlx::postgres::PgArguments>;

/// A prompt an update closed, with the summary of its occurrence (if one was opened).
#[derive(sqlx::FromRow)]
struct PromptClosed {
    id: Option<i64>,
    department: Option<String>,
    thread_key: Option<String>,
}

/// Runs `update` (an `UPDATE prompts … RETURNING cadence_id, occurrence`, its parameters
/// bound by `bind`) and queues an edit of each summary whose prompts it changed, in the
/// caller's transaction. Returns how many prompts it changed.
async fn close_prompts<'q>(
    conn: &mut PgConnection,
    org_id: i64,
    update: &'static str,
    bind: impl FnOnce(PgQueryAs<'q>) -> PgQueryAs<'q>,
    now: DateTime<Utc>,
) -> StoreResult<u64> {
    let sql = format!(
        "WITH u AS ({update})
         SELECT s.id, s.department, s.thread_key
         FROM u LEFT JOIN checkin_summaries s
              ON s.cadence_id = u.cadence_id AND s.occurrence = u.occurrence"
    );
    let rows: Vec<PromptClosed> = bind(sqlx::query_as(AssertSqlSafe(sql)))
        .fetch_all(&mut *conn)
        .await?;
    let summaries: Vec<SummaryRef> = rows
        .iter()
        .filter_map(|r| {
            Some(SummaryRef {
                id: r.id?,
                department: r.department.clone()?,
                thread_key: r.thread_key.clone()?,
            })
        })
        .collect();
    queue_summary_edits(conn, org_id, &summaries, now).await?;
    Ok(rows.len() as u64)
}

impl Store {
    /// Claims the organisation's cadences that have work up to `now`; rows stay locked
    /// until the transaction ends, so another replica skips them.
    pub async fn claim_cadences(
        tx: &mut Tx,
        org_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<CadenceRow>> {
        let conn: &mut PgConnection = &mut tx.0;
        Ok(sqlx::query_as(
            "SELECT id, key, scope, scope_key, purpose, layer, rule, time_zone, checked_until
             FROM cadences WHERE org_id = $1 AND archived_at IS NULL AND checked_until < $2
             ORDER BY id FOR UPDATE SKIP LOCKED",
        )
        .bind(org_id)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?)
    }

    pub async fn cadences(&self, org_id: i64) -> StoreResult<Vec<CadenceRow>> {
        Ok(sqlx::query_as(
            "SELECT id, key, scope, scope_key, purpose, layer, rule, time_zone, checked_until
             FROM cadences WHERE org_id = $1 AND archived_at IS NULL ORDER BY id",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn advance_watermarks(
        tx: &mut Tx,
        ids: &[i64],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let conn: &mut PgConnection = &mut tx.0;
        sqlx::query(
            "UPDATE cadences SET checked_until = $2 WHERE id = ANY($1) AND checked_until < $2",
        )
        .bind(ids)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Inserts prompts, skipping any that exist, and queues one outbox message per group of
    /// new prompts in state `sent` that share a cadence, an occurrence and a due instant
    /// (the outbox fans it out prompt by prompt), in one statement. Returns the count of
    /// new prompts per state.
    pub async fn insert_prompts(
        tx: &mut Tx,
        org_id: i64,
        prompts: &[NewPrompt],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, u64)>> {
        let conn: &mut PgConnection = &mut tx.0;
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        let cadence: Vec<i64> = prompts.iter().map(|p| p.cadence_id).collect();
        let occ: Vec<NaiveDateTime> = prompts.iter().map(|p| p.occurrence).collect();
        let person: Vec<i64> = prompts.iter().map(|p| p.person_id).collect();
        // Postgres arrays must be rectangular: codes travel as one comma-joined string each.
        let codes: Vec<String> = prompts.iter().map(|p| p.codes.join(",")).collect();
        let due: Vec<DateTime<Utc>> = prompts.iter().map(|p| p.due_at).collect();
        let ends: Vec<DateTime<Utc>> = prompts.iter().map(|p| p.window_ends_at).collect();
        let remind: Vec<DateTime<Utc>> = prompts.iter().map(|p| p.remind_at).collect();
        let state: Vec<&str> = prompts.iter().map(|p| p.state).collect();
        // The new prompts, by group and state.
        let rows: Vec<(i64, NaiveDateTime, DateTime<Utc>, String, i64)> = sqlx::query_as(
            "WITH ins AS (
                INSERT INTO prompts (org_id, cadence_id, occurrence, person_id, codes, due_at,
                     window_ends_at, remind_at, state, created_at)
                SELECT $1, x.c, x.o, x.p, string_to_array(x.codes, ','), x.d, x.e, x.r, x.s, $10
                FROM UNNEST($2::bigint[], $3::timestamp[], $4::bigint[], $5::text[],
                            $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::text[])
                     AS x(c, o, p, codes, d, e, r, s)
                ON CONFLICT (cadence_id, occurrence, person_id) DO NOTHING
                RETURNING cadence_id, occurrence, due_at, state
             )
             SELECT cadence_id, occurrence, due_at, state, count(*) FROM ins
             GROUP BY cadence_id, occurrence, due_at, state
             ORDER BY cadence_id, occurrence, due_at, state",
        )
        .bind(org_id)
        .bind(&cadence)
        .bind(&occ)
        .bind(&person)
        .bind(&codes)
        .bind(&due)
        .bind(&ends)
        .bind(&remind)
        .bind(&state)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
        let groups: Vec<Queued> = rows
            .iter()
            .filter(|r| r.3 == "sent")
            .map(|&(cadence_id, occurrence, due_at, _, _)| Queued {
                key: format!(
                    "prompts:{cadence_id}:{}:{}",
                    occurrence.format("%Y%m%dT%H%M"),
                    due_at.timestamp()
                ),
                target: Target::Prompted {
                    cadence: cadence_id,
                },
                payload: Payload::Prompts {
                    cadence_id,
                    occurrence,
                    due_at,
                },
                not_before: now,
            })
            .collect();
        // A group is made whole by the tick that claimed its cadence (later ticks only see
        // later instants), so its key cannot exist yet; were it to, the statement fails
        // and the tick's transaction writes nothing.
        enqueue_all(conn, org_id, &groups, OnConflict::Fail, now).await?;
        let mut by_state: Vec<(String, u64)> = Vec::new();
        for (_, _, _, state, n) in rows {
            match by_state.iter_mut().find(|(s, _)| *s == state) {
                Some((_, total)) => *total += n as u64,
                None => by_state.push((state, n as u64)),
            }
        }
        Ok(by_state)
    }

    /// Opens the check-in summaries of the given occurrences `(cadence, occurrence,
    /// department, thread key)`: a new one is recorded and its post queued; one opened
    /// before (its department's members in another zone were asked earlier) gets an edit,
    /// since it now counts more prompts. Returns how many were opened.
    pub async fn open_summaries(
        tx: &mut Tx,
        org_id: i64,
        occurrences: &[(i64, NaiveDateTime, String, String)],
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let conn: &mut PgConnection = &mut tx.0;
        if occurrences.is_empty() {
            return Ok(0);
        }
        let cadence: Vec<i64> = occurrences.iter().map(|o| o.0).collect();
        let occ: Vec<NaiveDateTime> = occurrences.iter().map(|o| o.1).collect();
        let dept: Vec<&str> = occurrences.iter().map(|o| o.2.as_str()).collect();
        let thread: Vec<&str> = occurrences.iter().map(|o| o.3.as_str()).collect();
        // Summaries opened before (by members in another zone) now count more prompts.
        let before: Vec<SummaryRef> = sqlx::query_as(
            "SELECT s.id, s.department, s.thread_key
             FROM UNNEST($1::bigint[], $2::timestamp[]) AS x(cadence_id, occurrence)
             JOIN checkin_summaries s ON s.cadence_id = x.cadence_id AND s.occurrence = x.occurrence",
        )
        .bind(&cadence)
        .bind(&occ)
        .fetch_all(&mut *conn)
        .await?;
        let opened: Vec<SummaryRef> = sqlx::query_as(
            "INSERT INTO checkin_summaries
                 (org_id, cadence_id, occurrence, department, thread_key, created_at)
             SELECT $1, cadence_id, occurrence, department, thread_key, $6
             FROM UNNEST($2::bigint[], $3::timestamp[], $4::text[], $5::text[])
                  AS x(cadence_id, occurrence, department, thread_key)
             ON CONFLICT (cadence_id, occurrence) DO NOTHING
             RETURNING id, department, thread_key",
        )
        .bind(org_id)
        .bind(&cadence)
        .bind(&occ)
        .bind(&dept)
        .bind(&thread)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?;
        let posts: Vec<Queued> = opened
            .iter()
            .map(|s| Queued {
                key: format!("summary:{}", s.id),
                target: s.thread(),
                payload: Payload::CheckinSummary { summary_id: s.id },
                not_before: now,
            })
            .collect();
        enqueue_all(conn, org_id, &posts, OnConflict::Fail, now).await?;
        queue_summary_edits(conn, org_id, &before, now).await?;
        Ok(opened.len() as i64)
    }

    /// Runtime away periods `(person_id, from, to)`.
    pub async fn away_periods(&self, org_id: i64) -> StoreResult<Vec<(i64, NaiveDate, NaiveDate)>> {
        Ok(sqlx::query_as(
            "SELECT person_id, from_date, to_date FROM away_periods WHERE org_id = $1",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Active people `(id, key)`.
    pub async fn people_ids(&self, org_id: i64) -> StoreResult<Vec<(i64, String)>> {
        Ok(
            sqlx::query_as("SELECT id, key FROM people WHERE org_id = $1 AND archived_at IS NULL")
                .bind(org_id)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    pub async fn prompt(&self, org_id: i64, id: i64) -> StoreResult<Option<PromptRow>> {
        Ok(sqlx::query_as(
            "SELECT id, cadence_id, occurrence, person_id, codes, due_at, window_ends_at, state, snoozed_until
             FROM prompts WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The person's latest prompt still open at `now`.
    pub async fn open_prompt(
        &self,
        org_id: i64,
        person_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PromptRow>> {
        Ok(sqlx::query_as(
            "SELECT id, cadence_id, occurrence, person_id, codes, due_at, window_ends_at, state, snoozed_until
             FROM prompts WHERE org_id = $1 AND person_id = $2 AND state = 'sent'
               AND due_at <= $3 AND window_ends_at > $3
             ORDER BY due_at DESC, id DESC LIMIT 1",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Closes an open prompt (`skipped`, `answered`) and queues an edit of its summary.
    pub async fn set_prompt_state(
        &self,
        org_id: i64,
        id: i64,
        state: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let changed = close_prompts(
            &mut tx,
            org_id,
            "UPDATE prompts SET state = $3 WHERE org_id = $1 AND id = $2 AND state = 'sent'
             RETURNING cadence_id, occurrence",
            |q| q.bind(org_id).bind(id).bind(state),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(changed == 1)
    }

    pub async fn snooze_prompt(
        &self,
        org_id: i64,
        id: i64,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE prompts SET snoozed_until = $3 WHERE org_id = $1 AND id = $2 AND state = 'sent'",
        )
        .bind(org_id)
        .bind(id)
        .bind(until)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Records an away period and closes the person's open prompts inside it.
    pub async fn add_away(
        &self,
        org_id: i64,
        person_id: i64,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO away_periods (org_id, person_id, from_date, to_date, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(from)
        .bind(to)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let closed = close_prompts(
            &mut tx,
            org_id,
            "UPDATE prompts SET state = 'away' WHERE org_id = $1 AND person_id = $2 AND state = 'sent'
               AND occurrence::date BETWEEN $3 AND $4
             RETURNING cadence_id, occurrence",
            |q| q.bind(org_id).bind(person_id).bind(from).bind(to),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(closed)
    }

    /// Prompt states of one department's check-in cadence(s) with occurrences due in
    /// `(from, to]`: `(person_key, person_name, state)`.
    pub async fn prompt_states(
        &self,
        org_id: i64,
        department: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT pe.key, pe.name, p.state FROM prompts p
             JOIN cadences c ON c.id = p.cadence_id
             JOIN people pe ON pe.id = p.person_id
             WHERE p.org_id = $1 AND c.scope = 'department' AND c.scope_key = $2
               AND c.purpose = 'checkin' AND p.due_at > $3 AND p.due_at <= $4
             ORDER BY pe.name",
        )
        .bind(org_id)
        .bind(department)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The prompts of one department's latest check-in occurrence that has come due by
    /// `now` (each check-in cadence of the department): `(person_key, person_name, state,
    /// due_at)`, by name. Empty when no prompt has gone out.
    pub async fn latest_prompt_states(
        &self,
        org_id: i64,
        department: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(String, String, String, DateTime<Utc>)>> {
        Ok(sqlx::query_as(
            "SELECT pe.key, pe.name, p.state, p.due_at FROM prompts p
             JOIN cadences c ON c.id = p.cadence_id
             JOIN people pe ON pe.id = p.person_id
             WHERE p.org_id = $1 AND c.scope = 'department' AND c.scope_key = $2
               AND c.purpose = 'checkin'
               AND p.occurrence = (SELECT max(p2.occurrence) FROM prompts p2
                                   WHERE p2.cadence_id = c.id AND p2.due_at <= $3)
             ORDER BY pe.name",
        )
        .bind(org_id)
        .bind(department)
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records a digest occurrence; false if it was recorded before.
    pub async fn record_digest(
        tx: &mut Tx,
        org_id: i64,
        cadence_id: i64,
        occurrence: NaiveDateTime,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let conn: &mut PgConnection = &mut tx.0;
        let res = sqlx::query(
            "INSERT INTO digests (org_id, cadence_id, occurrence, posted_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(org_id)
        .bind(cadence_id)
        .bind(occurrence)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Prompts due a reminder, locked for this transaction: `(id, person_id, person_key)`.
    pub async fn claim_reminders(
        tx: &mut Tx,
        org_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(i64, i64, String, Option<String>)>> {
        let conn: &mut PgConnection = &mut tx.0;
        Ok(sqlx::query_as(
            "SELECT p.id, p.person_id, pe.key, d.key FROM prompts p
             JOIN people pe ON pe.id = p.person_id
             JOIN cadences c ON c.id = p.cadence_id
             LEFT JOIN departments d ON d.org_id = p.org_id AND c.scope = 'department' AND d.key = c.scope_key
                  AND (d.spec->>'prompts_in_channel')::boolean
             WHERE p.org_id = $1 AND p.state = 'sent' AND p.reminded_at IS NULL
               AND p.remind_at <= $2 AND p.window_ends_at > $2
             ORDER BY p.id FOR UPDATE OF p SKIP LOCKED",
        )
        .bind(org_id)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?)
    }

    /// Snoozed prompts whose time has come, locked: `(id, person_key, snoozed_until)`.
    pub async fn claim_snoozed(
        tx: &mut Tx,
        org_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<(i64, String, DateTime<Utc>)>> {
        let conn: &mut PgConnection = &mut tx.0;
        Ok(sqlx::query_as(
            "SELECT p.id, pe.key, p.snoozed_until FROM prompts p JOIN people pe ON pe.id = p.person_id
             WHERE p.org_id = $1 AND p.state = 'sent' AND p.snoozed_until <= $2 AND p.window_ends_at > $2
             ORDER BY p.id FOR UPDATE OF p SKIP LOCKED",
        )
        .bind(org_id)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?)
    }

    /// Records that a prompt's reminder came due (sent or skipped by the nudge cap).
    pub async fn mark_reminded(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query("UPDATE prompts SET reminded_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut *tx.0)
            .await?;
        Ok(())
    }

    /// Records a nudge (a reminder sent), counted against the weekly cap.
    pub async fn record_nudge(
        tx: &mut Tx,
        org_id: i64,
        person_id: i64,
        prompt_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO nudges (org_id, person_id, prompt_id, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(prompt_id)
        .bind(now)
        .execute(&mut *tx.0)
        .await?;
        Ok(())
    }

    /// Ends a prompt's snooze (it is being sent again).
    pub async fn clear_snooze(tx: &mut Tx, id: i64) -> StoreResult<()> {
        sqlx::query("UPDATE prompts SET snoozed_until = NULL WHERE id = $1")
            .bind(id)
            .execute(&mut *tx.0)
            .await?;
        Ok(())
    }

    /// Nudges a person received in the week before `now`.
    pub async fn nudges_this_week(
        tx: &mut Tx,
        org_id: i64,
        person_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let conn: &mut PgConnection = &mut tx.0;
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM nudges WHERE org_id = $1 AND person_id = $2 AND at > $3 - interval '7 days' AND at <= $3",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?)
    }

    /// Closes prompts whose window ended unanswered (their summaries then say so); returns
    /// how many.
    pub async fn expire_prompts(&self, org_id: i64, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.pool.begin().await?;
        let missed = close_prompts(
            &mut tx,
            org_id,
            "UPDATE prompts SET state = 'missed'
             WHERE org_id = $1 AND state = 'sent' AND window_ends_at <= $2
             RETURNING cadence_id, occurrence",
            |q| q.bind(org_id).bind(now),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(missed)
    }

    /// The earliest pending prompt event after `now` (reminder, snooze or window end).
    pub async fn next_prompt_event(
        &self,
        org_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(sqlx::query_scalar(
            "SELECT min(t) FROM (
                SELECT remind_at AS t FROM prompts WHERE org_id = $1 AND state = 'sent' AND reminded_at IS NULL AND remind_at > $2
                UNION ALL SELECT snoozed_until FROM prompts WHERE org_id = $1 AND state = 'sent' AND snoozed_until > $2
                UNION ALL SELECT window_ends_at FROM prompts WHERE org_id = $1 AND state = 'sent' AND window_ends_at > $2
             ) x",
        )
        .bind(org_id)
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    /// The blockers of the named key results' current check-ins (the one each key result's
    /// figure comes from: the latest, or the correction that superseded it), with who
    /// reported them and when; key results whose current check-in names none are left out.
    /// One join on the key results' current check-in ids, whatever the history's length.
    pub async fn latest_blockers(
        &self,
        org_id: i64,
        codes: &[String],
    ) -> StoreResult<std::collections::HashMap<String, (String, String, DateTime<Utc>)>> {
        let rows: Vec<(String, String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT k.code, c.blockers, p.name, c.recorded_at
             FROM key_results k
             JOIN checkins c ON c.id = k.current_checkin_id AND c.org_id = $1
             JOIN people p ON p.id = c.person_id AND p.org_id = $1
             WHERE k.org_id = $1 AND k.code = ANY($2) AND k.archived_at IS NULL
               AND btrim(coalesce(c.blockers, '')) <> ''",
        )
        .bind(org_id)
        .bind(codes)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(code, b, who, at)| (code, (b, who, at)))
            .collect())
    }

    /// The figures of the named key results as of `at`: one index lookup per key result,
    /// nothing else of the organisation read (`status <dept>`'s "changed since the last
    /// digest" needs only the department's own key results).
    pub async fn load_key_results_at(
        &self,
        org_id: i64,
        codes: &[String],
        at: DateTime<Utc>,
    ) -> StoreResult<crate::domain::OrgState> {
        self.state_at(org_id, Some(codes), at).await
    }

    /// The latest figure of every key result and measure as of `at`: one index lookup per
    /// key result and measure (`checkins_kr`, `checkins_measure`), not a sort of every
    /// check-in before `at` (digests ask this for what changed since the last one).
    pub async fn load_state_at(
        &self,
        org_id: i64,
        at: DateTime<Utc>,
    ) -> StoreResult<crate::domain::OrgState> {
        self.state_at(org_id, None, at).await
    }

    /// The figures as of `at` of every key result and measure, or (`codes`) of the named
    /// key results only: the newest check-in at or before `at` of each, by index.
    async fn state_at(
        &self,
        org_id: i64,
        codes: Option<&[String]>,
        at: DateTime<Utc>,
    ) -> StoreResult<crate::domain::OrgState> {
        type Row = (
            Option<String>,
            Option<String>,
            f64,
            Option<String>,
            DateTime<Utc>,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT k.code, NULL::text, c.value, c.confidence, c.recorded_at, c.id
             FROM key_results k
             CROSS JOIN LATERAL (
                 SELECT value, confidence, recorded_at, id FROM checkins c
                 WHERE c.org_id = $1 AND c.key_result_id = k.id AND c.recorded_at <= $2
                 ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1) c
             WHERE k.org_id = $1 AND ($3::text[] IS NULL OR k.code = ANY($3))
             UNION ALL
             SELECT NULL::text, m.code, c.value, c.confidence, c.recorded_at, c.id
             FROM measures m
             CROSS JOIN LATERAL (
                 SELECT value, confidence, recorded_at, id FROM checkins c
                 WHERE c.org_id = $1 AND c.measure_id = m.id AND c.recorded_at <= $2
                 ORDER BY c.recorded_at DESC, c.id DESC LIMIT 1) c
             WHERE m.org_id = $1 AND $3::text[] IS NULL",
        )
        .bind(org_id)
        .bind(at)
        .bind(codes)
        .fetch_all(&self.pool)
        .await?;
        let mut state = crate::domain::OrgState::default();
        for (kr, m, value, conf, at, id) in rows {
            let current = crate::domain::Current {
                value,
                confidence: conf.and_then(|c| crate::domain::Confidence::parse(&c).ok()),
                at,
                checkin_id: id,
            };
            if let Some(code) = kr.and_then(|c| crate::domain::Code::parse(&c).ok()) {
                state.key_results.insert(code, current);
            } else if let Some(code) = m.and_then(|c| crate::domain::Code::parse(&c).ok()) {
                state.measures.insert(code, current);
            }
        }
        Ok(state)
    }
}
