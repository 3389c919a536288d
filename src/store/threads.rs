//! baton's threads on every platform (`platform_threads`): the parent message a thread key
//! started, and how people's replies name the thread.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult};

/// Where one of baton's threads lives on a platform.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ThreadRow {
    /// The channel of the parent message.
    pub channel: String,
    /// The parent message (Slack `ts`, Discord message id): what an edit replaces.
    pub parent: String,
    /// How replies name the thread (Slack: the parent's `ts`; Discord: the thread's id).
    pub thread_ref: String,
}

/// A thread found from a reply: whose it is and which of baton's keys it carries.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ThreadOwner {
    pub org_id: i64,
    pub department: String,
    pub thread_key: String,
}

impl Store {
    /// The thread baton started for `thread_key` in a department on `platform`, once posted.
    pub async fn thread(
        &self,
        org_id: i64,
        platform: &str,
        department: &str,
        thread_key: &str,
    ) -> StoreResult<Option<ThreadRow>> {
        Ok(sqlx::query_as(
            "SELECT channel, ts AS parent, thread_ref FROM platform_threads
             WHERE org_id = $1 AND platform = $2 AND department = $3 AND thread_key = $4",
        )
        .bind(org_id)
        .bind(platform)
        .bind(department)
        .bind(thread_key)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Remembers a thread baton started (the first one remembered wins).
    pub async fn remember_thread(
        &self,
        org_id: i64,
        platform: &str,
        department: &str,
        thread_key: &str,
        row: &ThreadRow,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO platform_threads
                 (org_id, platform, department, thread_key, channel, ts, thread_ref, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT DO NOTHING",
        )
        .bind(org_id)
        .bind(platform)
        .bind(department)
        .bind(thread_key)
        .bind(&row.channel)
        .bind(&row.parent)
        .bind(&row.thread_ref)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The thread a reply was written in, by how the platform names it (and its channel,
    /// when the platform gives one): `None` when it is not one of baton's.
    pub async fn thread_of_reply(
        &self,
        platform: &str,
        channel: Option<&str>,
        thread_ref: &str,
    ) -> StoreResult<Option<ThreadOwner>> {
        Ok(sqlx::query_as(
            "SELECT org_id, department, thread_key FROM platform_threads
             WHERE platform = $1 AND thread_ref = $3 AND ($2::text IS NULL OR channel = $2)
             ORDER BY created_at LIMIT 1",
        )
        .bind(platform)
        .bind(channel)
        .bind(thread_ref)
        .fetch_optional(&self.pool)
        .await?)
    }
}
