//! Time zones chat platforms reported for people (`platform_zones`), as the app reads them.

use super::{Store, StoreResult};

impl Store {
    /// `(person key, zone name)` of every reported zone, platforms in reverse name order
    /// (so a caller that lets later rows win keeps the platform first in name order).
    pub async fn reported_zones(&self, org_id: i64) -> StoreResult<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT p.key, z.time_zone FROM platform_zones z JOIN people p ON p.id = z.person_id
             WHERE z.org_id = $1 ORDER BY z.platform DESC",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The zone a platform reported for one person (the platform first in name order).
    pub async fn reported_zone(&self, org_id: i64, person: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT z.time_zone FROM platform_zones z JOIN people pe ON pe.id = z.person_id
             WHERE z.org_id = $1 AND pe.org_id = $1 AND pe.key = $2
             ORDER BY z.platform LIMIT 1",
        )
        .bind(org_id)
        .bind(person)
        .fetch_optional(&self.pool)
        .await?)
    }
}
