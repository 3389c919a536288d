//! Parts of one outbox message a platform delivered separately (Slack's file uploads),
//! so a retried message does not repeat them (`slack_delivered_parts`).

use chrono::{DateTime, Utc};

use super::{Store, StoreResult};

/// One delivered part to record.
#[derive(Debug, Clone, Copy)]
pub struct DeliveredPart<'a> {
    pub org_id: i64,
    pub key: &'a str,
    pub part: &'a str,
    pub channel: &'a str,
    pub ts: Option<&'a str>,
    pub at: DateTime<Utc>,
}

impl Store {
    /// Whether this part of an outbox message was delivered before (its ts, if any).
    pub async fn slack_part_done(
        &self,
        org_id: i64,
        key: &str,
        part: &str,
    ) -> StoreResult<Option<Option<String>>> {
        Ok(sqlx::query_scalar(
            "SELECT ts FROM slack_delivered_parts
             WHERE org_id = $1 AND idempotency_key = $2 AND part = $3",
        )
        .bind(org_id)
        .bind(key)
        .bind(part)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Records a delivered part (once).
    pub async fn slack_part_delivered(&self, p: &DeliveredPart<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO slack_delivered_parts
                 (org_id, idempotency_key, part, channel, ts, delivered_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(p.org_id)
        .bind(p.key)
        .bind(p.part)
        .bind(p.channel)
        .bind(p.ts)
        .bind(p.at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
