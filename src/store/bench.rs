//! The benchmark's and soak harness's own statements: fresh databases, baselines (plain
//! batched INSERTs into copies of baton's tables, to compare the tick with) and the counts
//! they check. Nothing in baton itself calls these.

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::AssertSqlSafe;

use super::{Store, StoreResult};

/// Prompt-shaped rows for the baselines, one entry per row in each column.
pub struct BaselineRows<'a> {
    pub ids: &'a [i64],
    pub occurrences: &'a [NaiveDateTime],
    pub codes: &'a [String],
    pub times: &'a [DateTime<Utc>],
    pub states: &'a [&'a str],
}

/// The schedule baseline: prompt-shaped rows into `bench_like` (a copy of `prompts`).
fn like_prompts<'q>(
    r: &'q BaselineRows<'q>,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(
        "INSERT INTO bench_like (org_id, cadence_id, occurrence, person_id, codes, due_at, window_ends_at, remind_at, state, created_at)
         SELECT 1, x.a, x.b, x.c, string_to_array(x.d, ','), x.e, x.f, x.g, x.h, x.e
         FROM UNNEST($1::bigint[], $2::timestamp[], $3::bigint[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[], $8::text[])
              AS x(a, b, c, d, e, f, g, h)",
    )
    .bind(r.ids)
    .bind(r.occurrences)
    .bind(r.ids)
    .bind(r.codes)
    .bind(r.times)
    .bind(r.times)
    .bind(r.times)
    .bind(r.states)
}

impl Store {
    /// Drops a database (connected to another one, e.g. `postgres`), whoever is using it.
    pub async fn drop_database(&self, name: &str) -> StoreResult<()> {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        sqlx::query(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"
        )))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Refreshes the planner's statistics after bulk loading.
    pub async fn analyze(&self) -> StoreResult<()> {
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }

    /// Sent prompts that an outbox group stands for.
    pub async fn bench_prompts_in_groups(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM prompts p
             WHERE p.state = 'sent' AND EXISTS (
                 SELECT 1 FROM outbox o WHERE o.kind = 'prompts'
                   AND o.payload->>'cadence_id' = p.cadence_id::text)",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Outbox rows of one kind.
    pub async fn bench_outbox_count(&self, kind: &str) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM outbox WHERE kind = $1")
                .bind(kind)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Creates the baseline tables: `bench_plain` (bare), `bench_like` and
    /// `bench_like_outbox` (copies of `prompts` and `outbox` with their indexes).
    pub async fn bench_create_baselines(&self) -> StoreResult<()> {
        for sql in [
            "CREATE TABLE bench_plain (a bigint, b timestamp, c bigint, d text[], e timestamptz, f timestamptz, g timestamptz, h text)",
            "CREATE TABLE bench_like (LIKE prompts INCLUDING ALL)",
            "CREATE TABLE bench_like_outbox (LIKE outbox INCLUDING ALL)",
        ] {
            sqlx::query(sql).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Baseline 1: one plain batched INSERT into the bare table.
    pub async fn bench_insert_plain(&self, r: &BaselineRows<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO bench_plain SELECT x.a, x.b, x.c, string_to_array(x.d, ','), x.e, x.f, x.g, x.h
             FROM UNNEST($1::bigint[], $2::timestamp[], $3::bigint[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[], $8::text[])
                  AS x(a, b, c, d, e, f, g, h)",
        )
        .bind(r.ids)
        .bind(r.occurrences)
        .bind(r.ids)
        .bind(r.codes)
        .bind(r.times)
        .bind(r.times)
        .bind(r.times)
        .bind(r.states)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Baseline 2: the same rows into the copy of `prompts`.
    pub async fn bench_insert_like(&self, r: &BaselineRows<'_>) -> StoreResult<()> {
        like_prompts(r).execute(&self.pool).await?;
        Ok(())
    }

    /// Baseline 3: empties the copy of `prompts`, then stores the rows there and
    /// `outbox_rows` outbox-shaped rows into the copy of `outbox`, in one transaction. The
    /// truncation is not part of what a caller should time: it runs first, on its own.
    pub async fn bench_truncate_like(&self) -> StoreResult<()> {
        sqlx::query("TRUNCATE bench_like")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// See [`Store::bench_truncate_like`].
    pub async fn bench_insert_like_both(
        &self,
        r: &BaselineRows<'_>,
        outbox_rows: usize,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        like_prompts(r).execute(&mut *tx).await?;
        // Plain SQL on purpose: the baseline is what the database does at the least.
        sqlx::query(
            "INSERT INTO bench_like_outbox (org_id, idempotency_key, kind, target, payload, not_before, created_at)
             SELECT 1, 'prompt:' || x.a, 'prompt', jsonb_build_object('to', 'person', 'person', x.d),
                    jsonb_build_object('type', 'prompt', 'prompt_id', x.a), x.e, x.e
             FROM UNNEST($1::bigint[], $2::text[], $3::timestamptz[]) AS x(a, d, e)",
        )
        .bind(&r.ids[..outbox_rows])
        .bind(&r.codes[..outbox_rows])
        .bind(&r.times[..outbox_rows])
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ids of up to `limit` key results, in id order.
    pub async fn bench_key_result_ids(&self, org_id: i64, limit: i64) -> StoreResult<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM key_results WHERE org_id = $1 ORDER BY id LIMIT $2")
                .bind(org_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The ingest baseline: one plain single-row INSERT of a check-in.
    pub async fn bench_plain_checkin(
        &self,
        org_id: i64,
        key_result_id: i64,
        person_id: i64,
        value: f64,
        key: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO checkins (org_id, key_result_id, person_id, value, confidence, note, source, idempotency_key, recorded_at)
             VALUES ($1, $2, $3, $4, 'on_track', 'bench', 'api', $5, $6)",
        )
        .bind(org_id)
        .bind(key_result_id)
        .bind(person_id)
        .bind(value)
        .bind(key)
        .bind(at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Claimed outbox rows per worker: `(claimed_by, rows)`.
    pub async fn bench_claims_by_worker(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT claimed_by, count(*) FROM outbox
             WHERE state = 'sending' AND claimed_by IS NOT NULL
             GROUP BY claimed_by",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Outbox rows being worked on or due within a few seconds (by the database's clock).
    pub async fn bench_outbox_busy(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM outbox
             WHERE state = 'sending' OR (state = 'pending' AND not_before <= now() + interval '5 seconds')",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Ids of the organisation's prompts and of its check-in summaries, in id order.
    pub async fn bench_prompt_and_summary_ids(
        &self,
        org_id: i64,
    ) -> StoreResult<(Vec<i64>, Vec<i64>)> {
        let prompts = sqlx::query_scalar("SELECT id FROM prompts WHERE org_id = $1 ORDER BY id")
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        let summaries =
            sqlx::query_scalar("SELECT id FROM checkin_summaries WHERE org_id = $1 ORDER BY id")
                .bind(org_id)
                .fetch_all(&self.pool)
                .await?;
        Ok((prompts, summaries))
    }

    /// Up to `limit` dead outbox rows: `(key, last error)`.
    pub async fn bench_dead(&self, limit: i64) -> StoreResult<Vec<(String, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT idempotency_key, last_error FROM outbox WHERE state = 'dead' ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Opens `n` connections of the pool at once (each answers a query), so a measurement
    /// on `n` connections does not pay for connecting.
    pub async fn bench_warm_connections(&self, n: usize) -> StoreResult<()> {
        let mut held = Vec::with_capacity(n);
        for _ in 0..n {
            held.push(self.pool.acquire().await?);
        }
        for c in &mut held {
            sqlx::query("SELECT 1").execute(&mut **c).await?;
        }
        Ok(())
    }

    /// `(code, person key)` for every code of every open (`sent`) prompt of the
    /// organisation: check-ins that a prompt is waiting for.
    pub async fn bench_prompted_codes(&self, org_id: i64) -> StoreResult<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT c.code, pe.key FROM prompts p
             JOIN people pe ON pe.id = p.person_id
             CROSS JOIN LATERAL unnest(p.codes) AS c(code)
             WHERE p.org_id = $1 AND p.state = 'sent'
             ORDER BY 1, 2",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Opens again the prompts check-ins answered, and forgets the summary lines those
    /// answers queued, so the next measurement finds the same open prompts. Returns the
    /// prompts open afterwards.
    pub async fn bench_reopen_prompts(&self, org_id: i64) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE prompts SET state = 'sent', answered_at = NULL
             WHERE org_id = $1 AND state IN ('answered', 'late')",
        )
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
        let n: i64 =
            sqlx::query_scalar("SELECT count(*) FROM prompts WHERE org_id = $1 AND state = 'sent'")
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "DELETE FROM outbox WHERE org_id = $1 AND idempotency_key LIKE 'summary-line:%'",
        )
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(n)
    }
}
