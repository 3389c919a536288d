//! Storage for review meetings, their agenda items and captures (actions, decisions, notes).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

use super::{Store, StoreError, StoreResult, Tx};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReviewRow {
    pub id: i64,
    pub tier: String,
    pub scope: String,
    pub channel_dept: String,
    pub facilitator_id: i64,
    pub status: String,
    pub current_item: i32,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The last move or capture (the start, before any).
    pub last_activity_at: DateTime<Utc>,
    /// `ended` or `idle` once it has ended.
    pub end_reason: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub id: i64,
    pub position: i32,
    pub section: String,
    pub title: String,
    pub lines: Vec<String>,
    pub reached: bool,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CaptureRow {
    pub id: i64,
    pub review_id: Option<i64>,
    pub item_id: Option<i64>,
    pub kind: String,
    pub text: String,
    pub owner_id: Option<i64>,
    pub owner_key: Option<String>,
    pub owner_name: Option<String>,
    pub due_on: Option<NaiveDate>,
    pub status: String,
    pub department: Option<String>,
    pub created_by: i64,
    pub created_at: DateTime<Utc>,
}

const REVIEW_COLS: &str = "id, tier, scope, channel_dept, facilitator_id, status, current_item, started_at, ended_at, last_activity_at, end_reason";
const CAPTURE_SELECT: &str =
    "SELECT c.id, c.review_id, c.item_id, c.kind, c.text, c.owner_id, p.key AS owner_key,
        p.name AS owner_name, c.due_on, c.status, c.department, c.created_by, c.created_at
    FROM captures c LEFT JOIN people p ON p.id = c.owner_id";

/// A new capture.
pub struct NewCapture<'a> {
    pub review_id: Option<i64>,
    pub item_id: Option<i64>,
    pub kind: &'a str,
    pub text: &'a str,
    pub owner_id: Option<i64>,
    pub due_on: Option<NaiveDate>,
    pub department: Option<&'a str>,
    pub created_by: i64,
}

impl Store {
    /// Starts a review with its agenda; `None` if one is already running for the scope.
    #[allow(clippy::too_many_arguments)]
    pub async fn start_review(
        &self,
        org_id: i64,
        tier: &str,
        scope: &str,
        channel_dept: &str,
        facilitator: i64,
        items: &[(String, String, Vec<String>)],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO reviews (org_id, tier, scope, channel_dept, facilitator_id, status, current_item, started_at, last_activity_at)
             VALUES ($1, $2, $3, $4, $5, 'running', 0, $6, $6)
             ON CONFLICT (org_id, scope) WHERE status = 'running' DO NOTHING RETURNING id",
        )
        .bind(org_id)
        .bind(tier)
        .bind(scope)
        .bind(channel_dept)
        .bind(facilitator)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            return Ok(None);
        };
        for (i, (section, title, lines)) in items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO review_items (review_id, position, section, title, lines, reached)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id)
            .bind(i as i32)
            .bind(section)
            .bind(title)
            .bind(lines)
            .bind(i == 0)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Some(id))
    }

    pub async fn running_reviews(&self, org_id: i64) -> StoreResult<Vec<ReviewRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REVIEW_COLS} FROM reviews WHERE org_id = $1 AND status = 'running' ORDER BY started_at DESC, id DESC"
        )))
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn review(&self, org_id: i64, id: i64) -> StoreResult<Option<ReviewRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REVIEW_COLS} FROM reviews WHERE org_id = $1 AND id = $2"
        )))
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The latest ended review of the same tier and scope, before `before`.
    pub async fn previous_review(
        &self,
        org_id: i64,
        tier: &str,
        scope: &str,
    ) -> StoreResult<Option<ReviewRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REVIEW_COLS} FROM reviews WHERE org_id = $1 AND tier = $2 AND scope = $3 AND status = 'ended'
             ORDER BY ended_at DESC, id DESC LIMIT 1"
        )))
        .bind(org_id)
        .bind(tier)
        .bind(scope)
        .fetch_optional(&self.pool)
        .await?)
    }

    pub async fn review_items(&self, review_id: i64) -> StoreResult<Vec<ItemRow>> {
        Ok(sqlx::query_as(
            "SELECT id, position, section, title, lines, reached FROM review_items WHERE review_id = $1 ORDER BY position",
        )
        .bind(review_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Moves the review to `position` (marking it reached), if it is still running.
    pub async fn move_review(
        &self,
        org_id: i64,
        id: i64,
        position: i32,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let res = sqlx::query(
            "UPDATE reviews SET current_item = $3, last_activity_at = greatest(last_activity_at, $4)
             WHERE org_id = $1 AND id = $2 AND status = 'running'",
        )
        .bind(org_id)
        .bind(id)
        .bind(position)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE review_items SET reached = true WHERE review_id = $1 AND position = $2",
        )
        .bind(id)
        .bind(position)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(res.rows_affected() == 1)
    }

    pub async fn end_review(&self, org_id: i64, id: i64, now: DateTime<Utc>) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE reviews SET status = 'ended', ended_at = $3, end_reason = 'ended'
             WHERE org_id = $1 AND id = $2 AND status = 'running'",
        )
        .bind(org_id)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Running reviews whose last move or capture was at or before `idle_since`.
    pub async fn idle_reviews(
        &self,
        org_id: i64,
        idle_since: DateTime<Utc>,
    ) -> StoreResult<Vec<ReviewRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {REVIEW_COLS} FROM reviews
             WHERE org_id = $1 AND status = 'running' AND last_activity_at <= $2 ORDER BY id"
        )))
        .bind(org_id)
        .bind(idle_since)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Ends a review that is still idle since `idle_since` (a move or capture in between
    /// keeps it running); false if it was not.
    pub async fn end_idle_review(
        &self,
        org_id: i64,
        id: i64,
        idle_since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE reviews SET status = 'ended', ended_at = $4, end_reason = 'idle'
             WHERE org_id = $1 AND id = $2 AND status = 'running' AND last_activity_at <= $3",
        )
        .bind(org_id)
        .bind(id)
        .bind(idle_since)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// The earliest last activity among the organisation's running reviews.
    pub async fn oldest_review_activity(&self, org_id: i64) -> StoreResult<Option<DateTime<Utc>>> {
        Ok(sqlx::query_scalar(
            "SELECT min(last_activity_at) FROM reviews WHERE org_id = $1 AND status = 'running'",
        )
        .bind(org_id)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn add_capture(
        &self,
        org_id: i64,
        c: &NewCapture<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let status = if c.kind == "action" {
            "open"
        } else {
            "recorded"
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO captures (org_id, review_id, item_id, kind, text, owner_id, due_on, status, department, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(org_id)
        .bind(c.review_id)
        .bind(c.item_id)
        .bind(c.kind)
        .bind(c.text)
        .bind(c.owner_id)
        .bind(c.due_on)
        .bind(status)
        .bind(c.department)
        .bind(c.created_by)
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        if let Some(review) = c.review_id {
            sqlx::query(
                "UPDATE reviews SET last_activity_at = greatest(last_activity_at, $3)
                 WHERE org_id = $1 AND id = $2 AND status = 'running'",
            )
            .bind(org_id)
            .bind(review)
            .bind(now)
            .execute(&self.pool)
            .await?;
        }
        Ok(id)
    }

    pub async fn capture(&self, org_id: i64, id: i64) -> StoreResult<Option<CaptureRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{CAPTURE_SELECT} WHERE c.org_id = $1 AND c.id = $2 AND c.deleted_at IS NULL"
        )))
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Captures matching a filter; `review` narrows to one review.
    pub async fn captures(
        &self,
        org_id: i64,
        review: Option<i64>,
        kind: Option<&str>,
    ) -> StoreResult<Vec<CaptureRow>> {
        Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{CAPTURE_SELECT} WHERE c.org_id = $1 AND c.deleted_at IS NULL
               AND ($2::bigint IS NULL OR c.review_id = $2) AND ($3::text IS NULL OR c.kind = $3)
             ORDER BY c.id"
        )))
        .bind(org_id)
        .bind(review)
        .bind(kind)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn update_capture(
        &self,
        org_id: i64,
        id: i64,
        text: &str,
        owner: Option<i64>,
        due: Option<NaiveDate>,
    ) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE captures SET text = $3, owner_id = $4, due_on = $5,
                reminded_before_at = NULL, reminded_overdue_at = NULL
             WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL",
        )
        .bind(org_id)
        .bind(id)
        .bind(text)
        .bind(owner)
        .bind(due)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    pub async fn delete_capture(
        &self,
        org_id: i64,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = sqlx::query("UPDATE captures SET deleted_at = $3 WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL")
            .bind(org_id)
            .bind(id)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(res.rows_affected() == 1)
    }

    pub async fn close_action(
        &self,
        org_id: i64,
        id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE captures SET status = 'done', done_at = $3
             WHERE org_id = $1 AND id = $2 AND kind = 'action' AND status = 'open' AND deleted_at IS NULL",
        )
        .bind(org_id)
        .bind(id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// Marks a reminder as sent for an action; false if it was sent before.
    pub async fn mark_action_reminded(
        tx: &mut Tx,
        id: i64,
        overdue: bool,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let conn: &mut PgConnection = &mut tx.0;
        let sql = if overdue {
            "UPDATE captures SET reminded_overdue_at = $2 WHERE id = $1 AND reminded_overdue_at IS NULL AND status = 'open'"
        } else {
            "UPDATE captures SET reminded_before_at = $2 WHERE id = $1 AND reminded_before_at IS NULL AND status = 'open'"
        };
        let res = sqlx::query(sql)
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(StoreError::from)?;
        Ok(res.rows_affected() == 1)
    }
}
