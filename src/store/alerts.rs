//! Storage for dependency alerts: one open alert per dependency (`alerts`), the conditions
//! it lists (`alert_conditions`), and the notes posted to it (`alert_notes`).
//!
//! Outside this module an alert is known by its **number** (dense per organisation, what
//! people type: `ack 3`); the table's own id stays inside. A number is taken only when an
//! alert is created, under a per-organisation transaction lock, so numbers never skip.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{Store, StoreResult, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertRow {
    /// The alert's number in its organisation.
    pub id: i64,
    pub dependency_key: String,
    pub opened_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_reason: Option<String>,
    /// The conditions it lists: the open ones, or for a closed alert the ones open when it
    /// closed (by name, in name order).
    pub conditions: Vec<String>,
    /// Each condition's detail line, in the order of `conditions`.
    pub details: Vec<String>,
}

impl AlertRow {
    pub fn has(&self, condition: &str) -> bool {
        self.conditions.iter().any(|c| c == condition)
    }
}

/// What raising conditions on a dependency did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raised {
    /// The alert's number.
    pub number: i64,
    /// The alert was created by this call.
    pub created: bool,
    /// Conditions this call added to the alert (all of them when it was created).
    pub added: Vec<String>,
    /// Conditions already open whose detail line changed.
    pub changed: Vec<String>,
}

const SELECT: &str = "SELECT a.number AS id, a.dependency_key, a.opened_at, a.acknowledged_at,
        a.escalated_at, a.closed_at, a.closed_reason,
        coalesce(array_agg(c.condition ORDER BY c.condition) FILTER (WHERE c.condition IS NOT NULL), '{}') AS conditions,
        coalesce(array_agg(c.detail ORDER BY c.condition) FILTER (WHERE c.condition IS NOT NULL), '{}') AS details
    FROM alerts a
    LEFT JOIN alert_conditions c ON c.alert_id = a.id
        AND (c.cleared_at IS NULL OR c.cleared_at = a.closed_at)";

/// The dependency's open alert: (table id, number).
async fn open_alert_of(
    conn: &mut PgConnection,
    org_id: i64,
    dependency: &str,
) -> StoreResult<Option<(i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT id, number FROM alerts
         WHERE org_id = $1 AND dependency_key = $2 AND closed_at IS NULL",
    )
    .bind(org_id)
    .bind(dependency)
    .fetch_optional(conn)
    .await?)
}

/// The advisory lock class under which alert numbers are taken (with the organisation id).
const NUMBER_LOCK: i32 = 0x0a1e_0001;

impl Store {
    pub async fn open_alerts(&self, org_id: i64) -> StoreResult<Vec<AlertRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE a.org_id = $1 AND a.closed_at IS NULL GROUP BY a.id ORDER BY a.number"
        )))
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The alert numbered `number`, open or closed.
    pub async fn alert(&self, org_id: i64, number: i64) -> StoreResult<Option<AlertRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE a.org_id = $1 AND a.number = $2 GROUP BY a.id"
        )))
        .bind(org_id)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// As [`Store::alert`], inside a transaction (it sees the transaction's own changes).
    pub async fn alert_in(tx: &mut Tx, org_id: i64, number: i64) -> StoreResult<Option<AlertRow>> {
        let conn: &mut PgConnection = &mut tx.0;
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE a.org_id = $1 AND a.number = $2 GROUP BY a.id"
        )))
        .bind(org_id)
        .bind(number)
        .fetch_optional(&mut *conn)
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

    /// Puts `conditions` (name, detail) on the dependency's open alert, creating the alert
    /// (with the organisation's next number) if there is none. Conditions already open keep
    /// their opening time; their detail line is brought up to date.
    pub async fn raise_conditions(
        tx: &mut Tx,
        org_id: i64,
        dependency: &str,
        conditions: &[(&str, &str)],
        by: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Raised> {
        let conn: &mut PgConnection = &mut tx.0;
        let mut created = false;
        let (id, number) = match open_alert_of(conn, org_id, dependency).await? {
            Some(found) => found,
            None => {
                // Numbers are taken one creator at a time per organisation; a creator that
                // finds the alert opened meanwhile (another replica) takes no number.
                sqlx::query("SELECT pg_advisory_xact_lock($1, $2::int)")
                    .bind(NUMBER_LOCK)
                    .bind(org_id)
                    .execute(&mut *conn)
                    .await?;
                match open_alert_of(conn, org_id, dependency).await? {
                    Some(found) => found,
                    None => {
                        created = true;
                        sqlx::query_as(
                            "INSERT INTO alerts (org_id, number, dependency_key, opened_at, opened_by)
                             VALUES ($1, (SELECT coalesce(max(number), 0) + 1 FROM alerts WHERE org_id = $1),
                                     $2, $3, $4)
                             RETURNING id, number",
                        )
                        .bind(org_id)
                        .bind(dependency)
                        .bind(now)
                        .bind(by)
                        .fetch_one(&mut *conn)
                        .await?
                    }
                }
            }
        };
        let mut added = Vec::new();
        let mut changed = Vec::new();
        for (condition, detail) in conditions {
            let row: Option<bool> = sqlx::query_scalar(
                "INSERT INTO alert_conditions (alert_id, condition, detail, opened_at)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (alert_id, condition) WHERE cleared_at IS NULL
                 DO UPDATE SET detail = EXCLUDED.detail
                    WHERE alert_conditions.detail <> EXCLUDED.detail
                 RETURNING (xmax = 0)",
            )
            .bind(id)
            .bind(condition)
            .bind(detail)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            match row {
                Some(true) => added.push(condition.to_string()),
                Some(false) => changed.push(condition.to_string()),
                None => {}
            }
        }
        Ok(Raised {
            number,
            created,
            added,
            changed,
        })
    }

    /// Clears the named conditions of an open alert; returns the ones this call cleared.
    pub async fn clear_conditions(
        tx: &mut Tx,
        org_id: i64,
        number: i64,
        conditions: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>> {
        let conn: &mut PgConnection = &mut tx.0;
        Ok(sqlx::query_scalar(
            "UPDATE alert_conditions c SET cleared_at = $4
             FROM alerts a
             WHERE a.org_id = $1 AND a.number = $2 AND a.closed_at IS NULL AND c.alert_id = a.id
               AND c.cleared_at IS NULL AND c.condition = ANY($3)
             RETURNING c.condition",
        )
        .bind(org_id)
        .bind(number)
        .bind(conditions)
        .bind(now)
        .fetch_all(&mut *conn)
        .await?)
    }

    /// Closes an open alert whose conditions have all cleared; false if one remains or it
    /// was closed already.
    pub async fn close_alert_if_clear(
        tx: &mut Tx,
        org_id: i64,
        number: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let conn: &mut PgConnection = &mut tx.0;
        let res = sqlx::query(
            "UPDATE alerts a SET closed_at = $3, closed_reason = 'cleared'
             WHERE a.org_id = $1 AND a.number = $2 AND a.closed_at IS NULL
               AND NOT EXISTS (SELECT 1 FROM alert_conditions c
                               WHERE c.alert_id = a.id AND c.cleared_at IS NULL)",
        )
        .bind(org_id)
        .bind(number)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Closes an open alert and the conditions it lists; false if it was already closed
    /// (by another replica or person).
    pub async fn close_alert(
        tx: &mut Tx,
        org_id: i64,
        number: i64,
        reason: &str,
        by: Option<i64>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let conn: &mut PgConnection = &mut tx.0;
        let id: Option<i64> = sqlx::query_scalar(
            "UPDATE alerts SET closed_at = $3, closed_reason = $4, closed_by = $5
             WHERE org_id = $1 AND number = $2 AND closed_at IS NULL
             RETURNING id",
        )
        .bind(org_id)
        .bind(number)
        .bind(now)
        .bind(reason)
        .bind(by)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(id) = id else { return Ok(false) };
        sqlx::query(
            "UPDATE alert_conditions SET cleared_at = $2 WHERE alert_id = $1 AND cleared_at IS NULL",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(true)
    }

    pub async fn acknowledge_alert(
        &self,
        org_id: i64,
        number: i64,
        by: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE alerts SET acknowledged_at = $3, acknowledged_by = $4
             WHERE org_id = $1 AND number = $2 AND closed_at IS NULL AND acknowledged_at IS NULL",
        )
        .bind(org_id)
        .bind(number)
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
        number: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let conn: &mut PgConnection = &mut tx.0;
        let res = sqlx::query(
            "UPDATE alerts SET escalated_at = $3
             WHERE org_id = $1 AND number = $2 AND closed_at IS NULL AND acknowledged_at IS NULL AND escalated_at IS NULL",
        )
        .bind(org_id)
        .bind(number)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Records a note posted to an alert (`update <alert> <note>`); false if there is no
    /// such alert.
    pub async fn add_alert_note(
        tx: &mut Tx,
        org_id: i64,
        number: i64,
        person_id: i64,
        note: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let conn: &mut PgConnection = &mut tx.0;
        let res = sqlx::query(
            "INSERT INTO alert_notes (alert_id, person_id, note, created_at)
             SELECT id, $3, $4, $5 FROM alerts WHERE org_id = $1 AND number = $2",
        )
        .bind(org_id)
        .bind(number)
        .bind(person_id)
        .bind(note)
        .bind(now)
        .execute(&mut *conn)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// The notes posted to an alert, oldest first: (person's name, note, when).
    pub async fn alert_notes(
        &self,
        org_id: i64,
        number: i64,
    ) -> StoreResult<Vec<(String, String, DateTime<Utc>)>> {
        Ok(sqlx::query_as(
            "SELECT p.name, n.note, n.created_at
             FROM alert_notes n JOIN alerts a ON a.id = n.alert_id JOIN people p ON p.id = n.person_id
             WHERE a.org_id = $1 AND a.number = $2 ORDER BY n.id",
        )
        .bind(org_id)
        .bind(number)
        .fetch_all(&self.pool)
        .await?)
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
