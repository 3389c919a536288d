//! Housekeeping's statements: claiming a job run (one replica runs each scheduled run) and
//! retention of finished outbox rows, seen inbound-delivery ids and old job runs.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult};

/// Rows deleted per statement, so retention never holds one long lock on a big table.
const BATCH: i64 = 5_000;

impl Store {
    /// Claims the run of `job` scheduled at `scheduled_at` for `holder`: `true` for the one
    /// caller that inserted the row, `false` for every other (another replica has it).
    pub async fn claim_job_run(
        &self,
        job: &str,
        scheduled_at: DateTime<Utc>,
        holder: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = sqlx::query(
            "INSERT INTO job_runs (job, scheduled_at, claimed_by, claimed_at)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(job)
        .bind(scheduled_at)
        .bind(holder)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Records how a claimed run ended (`ok: …` or `failed: …`).
    pub async fn finish_job_run(
        &self,
        job: &str,
        scheduled_at: DateTime<Utc>,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE job_runs SET finished_at = $3, outcome = $4
             WHERE job = $1 AND scheduled_at = $2",
        )
        .bind(job)
        .bind(scheduled_at)
        .bind(now)
        .bind(outcome)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Who claimed the run of `job` at `scheduled_at`, if anyone.
    pub async fn job_run_holder(
        &self,
        job: &str,
        scheduled_at: DateTime<Utc>,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT claimed_by FROM job_runs WHERE job = $1 AND scheduled_at = $2",
        )
        .bind(job)
        .bind(scheduled_at)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Deletes outbox messages that finished (`sent`, or `dropped` because there was
    /// nothing left to say) before `before`, by when they were sent (else queued). Waiting,
    /// in-flight and dead messages are never touched.
    pub async fn delete_finished_outbox(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let n = sqlx::query(
                "DELETE FROM outbox WHERE id IN (
                     SELECT id FROM outbox
                     WHERE state IN ('sent', 'dropped') AND coalesce(sent_at, created_at) < $1
                     LIMIT $2)",
            )
            .bind(before)
            .bind(BATCH)
            .execute(&self.pool)
            .await?
            .rows_affected();
            total += n;
            if n < BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// Deletes the inbound-delivery ids first seen before `before` (platforms retry for
    /// minutes, not weeks).
    pub async fn delete_seen_deliveries(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let n = sqlx::query(
                "DELETE FROM inbound_deliveries WHERE (platform, delivery_id) IN (
                     SELECT platform, delivery_id FROM inbound_deliveries
                     WHERE received_at < $1 LIMIT $2)",
            )
            .bind(before)
            .bind(BATCH)
            .execute(&self.pool)
            .await?
            .rows_affected();
            total += n;
            if n < BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// Deletes the records of job runs scheduled before `before`.
    pub async fn delete_job_runs(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        Ok(sqlx::query("DELETE FROM job_runs WHERE scheduled_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
