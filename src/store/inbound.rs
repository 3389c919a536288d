//! What the inbound pipeline (`app::inbound`) asks the database, for every platform alike:
//! de-duplication of deliveries, the organisation of a workspace, the person behind a
//! platform identity (declared in the manifest or learned), and time zones a platform
//! reported.

use chrono::{DateTime, Utc};

use super::{OrgRow, Store, StoreResult};

impl Store {
    /// Records an inbound delivery; `false` if it was recorded before (a retry or a
    /// re-delivery). Only the platform's delivery id is kept: no organisation, no person.
    pub async fn first_delivery(
        &self,
        platform: &str,
        delivery: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = sqlx::query(
            "INSERT INTO inbound_deliveries (platform, delivery_id, received_at)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(platform)
        .bind(delivery)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// The organisations that use `workspace` on `platform`: through an identity declared
    /// in a manifest or learned at run time. With no workspace (a direct message where the
    /// platform names none), the organisations that know `user` on the platform.
    pub async fn orgs_of_workspace(
        &self,
        platform: &str,
        workspace: Option<&str>,
        user: &str,
    ) -> StoreResult<Vec<OrgRow>> {
        Ok(sqlx::query_as(
            "SELECT o.id, o.key, o.name, o.revision FROM organisations o
             WHERE o.id IN (
                 SELECT org_id FROM chat_identities
                 WHERE platform = $1
                   AND CASE WHEN $2::text IS NULL THEN user_id = $3 ELSE workspace = $2 END
                 UNION
                 SELECT org_id FROM learned_identities
                 WHERE platform = $1 AND user_id IS NOT NULL
                   AND CASE WHEN $2::text IS NULL THEN user_id = $3 ELSE workspace = $2 END)
             ORDER BY o.id",
        )
        .bind(platform)
        .bind(workspace)
        .bind(user)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The key of the person `user` is in `org_id` on `platform`: declared in the manifest,
    /// else learned (by email, or from an earlier message). Archived people are nobody.
    pub async fn person_of_identity(
        &self,
        org_id: i64,
        platform: &str,
        workspace: Option<&str>,
        user: &str,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT p.key FROM (
                 SELECT person_id, 0 AS rank FROM chat_identities
                 WHERE org_id = $1 AND platform = $2 AND user_id = $4
                   AND ($3::text IS NULL OR workspace = $3)
                 UNION ALL
                 SELECT person_id, 1 FROM learned_identities
                 WHERE org_id = $1 AND platform = $2 AND user_id = $4
                   AND (workspace IS NULL OR $3::text IS NULL OR workspace = $3)
             ) ci JOIN people p ON p.id = ci.person_id
             WHERE p.archived_at IS NULL
             ORDER BY ci.rank, p.key
             LIMIT 1",
        )
        .bind(org_id)
        .bind(platform)
        .bind(workspace)
        .bind(user)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The key of the (unarchived) person whose email is `email`, compared without case.
    pub async fn person_of_email(&self, org_id: i64, email: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT key FROM people
             WHERE org_id = $1 AND lower(email) = lower($2) AND archived_at IS NULL
             ORDER BY key LIMIT 1",
        )
        .bind(org_id)
        .bind(email)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Whether `platform` already reported a time zone for a person.
    pub async fn has_platform_zone(
        &self,
        org_id: i64,
        person_id: i64,
        platform: &str,
    ) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM platform_zones
             WHERE org_id = $1 AND person_id = $2 AND platform = $3)",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(platform)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Records the time zone `platform` reported for a person (an IANA name, checked by
    /// the caller).
    pub async fn record_platform_zone(
        &self,
        org_id: i64,
        person_id: i64,
        platform: &str,
        zone: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO platform_zones (org_id, person_id, platform, time_zone)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (org_id, person_id, platform) DO UPDATE SET time_zone = $4",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(platform)
        .bind(zone)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
