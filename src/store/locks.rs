//! Session-level advisory locks on a connection of their own (the Discord gateway's: one
//! replica at a time holds the shard).

use sqlx::{Connection, PgConnection};

use super::{Store, StoreResult};

/// A held advisory lock: it lives as long as its connection does.
pub struct AdvisoryLock(PgConnection);

impl Store {
    /// Takes the advisory lock `key` on a connection of its own (detached from the pool),
    /// or `None` if another session holds it.
    pub async fn try_advisory_lock(&self, key: i64) -> StoreResult<Option<AdvisoryLock>> {
        let mut conn = self.pool.acquire().await?.detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut conn)
            .await?;
        if got {
            Ok(Some(AdvisoryLock(conn)))
        } else {
            // Closing returns nothing we could use; the lock was never ours.
            let _ = conn.close().await;
            Ok(None)
        }
    }
}

impl AdvisoryLock {
    /// Whether the lock's connection still answers (the lock lives as long as it does).
    pub async fn ping(&mut self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&mut self.0).await?;
        Ok(())
    }

    /// Releases the lock by closing its connection.
    pub async fn close(self) -> StoreResult<()> {
        Ok(self.0.close().await?)
    }
}
