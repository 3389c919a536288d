//! Storage for dependency alerts.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{Store, StoreResult, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    pub id: i64,
    pub dependency_key: String,
    pub condition: String,
    pub detail: String,
    pub opened_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_reason: Option<String>,
}

const COLUMNS: &str = "id, dependency_key, condition, detail, opened_at, acknowledged_at, escalated_at, closed_at, closed_reason";

impl Store {
    pub async fn open_alerts(&self, org_id: i64) -> StoreResult<Vec<AlertRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM alerts WHERE org_id = $1 AND closed_at IS NULL ORDER BY id"
        )))
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn alert(&self, org_id: i64, id: i64) -> StoreResult<Option<AlertRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM alerts WHERE org_id = $1 AND id = $2"
        )))
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn suppressions(&self, org_id: i64) -> StoreResult<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT dependency_key, condition FROM alert_suppressions WHERE org_id = $1",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Opens an alert unless one is open for the same (dependency, condition).
    pub async fn open_alert(
        tx: &mut Tx,
        org_id: i64,
        dependency: &str,
        condition: &str,
        detail: &str,
        by: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        let conn: &mut PgConnection = &mut tx.0;
        Ok(sqlx::query_scalar(
            "INSERT INTO alerts (org_id, dependency_key, condition, detail, opened_at, opened_by)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (org_id, dependency_key, condition) WHERE closed_at IS NULL DO NOTHING
             RETURNING id",
        )
        .bind(org_id)
        .bind(dependency)
        .bind(condition)
        .bind(detail)
        .bind(now)
        .bind(by)
        .fetch_optional(&mut *conn)
        .await?)
    }

    /// Closes an open alert; false if it was already closed (by another replica or person).
    pub async fn close_alert(
        tx: &mut Tx,
        org_id: i64,
        id: i64,
        reason: &str,
        by: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let conn: &mut PgConnection = &mut tx.0;
        let res = sqlx::query(
            "UPDATE alerts SET closed_at = $3, closed_reason = $4, closed_by = $5
             WHERE org_id = $1 AND id = $2 AND closed_at IS NULL",
        )
        .bind(org_id)
        .bind(id)
        .bind(now)
        .bind(reason)
        .bind(by)
        .execute(&mut *conn)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    pub async fn acknowledge_alert(
        &self,
        org_id: i64,
        id: i64,
        by: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE alerts SET acknowledged_at = $3, acknowledged_by = $4
             WHERE org_id = $1 AND id = $2 AND closed_at IS NULL AND acknowledged_at IS NULL",
        )
        .bind(org_id)
        .bind(id)
        .bind(now)
        .bind(by)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Marks an alert escalated; false if it already was.
    pub async fn escalate_alert(
        tx: &mut Tx,
        org_id: i64,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let conn: &mut PgConnection = &mut tx.0;
        let res = sqlx::query(
            "UPDATE alerts SET escalated_at = $3
             WHERE org_id = $1 AND id = $2 AND closed_at IS NULL AND acknowledged_at IS NULL AND escalated_at IS NULL",
        )
        .bind(org_id)
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    pub async fn suppress(
        tx: &mut Tx,
        org_id: i64,
        dependency: &str,
        condition: &str,
    ) -> StoreResult<()> {
        let conn: &mut PgConnection = &mut tx.0;
        sqlx::query(
            "INSERT INTO alert_suppressions (org_id, dependency_key, condition) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(org_id)
        .bind(dependency)
        .bind(condition)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    pub async fn unsuppress(
        tx: &mut Tx,
        org_id: i64,
        dependency: &str,
        condition: &str,
    ) -> StoreResult<()> {
        let conn: &mut PgConnection = &mut tx.0;
        sqlx::query("DELETE FROM alert_suppressions WHERE org_id = $1 AND dependency_key = $2 AND condition = $3")
            .bind(org_id)
            .bind(dependency)
            .bind(condition)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}
