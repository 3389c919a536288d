//! Storage for routing outbound messages: identities learned at run time (beside the
//! manifest's), the platforms a multi-platform message already reached, and the people baton
//! cannot reach (see `chat::router`).

use chrono::{DateTime, Utc};

use super::{Store, StoreResult};

/// A chat identity baton learned (not declared in the manifest).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Learned {
    pub platform: String,
    pub workspace: Option<String>,
    /// `None`: looked up by email, and nobody found.
    pub user_id: Option<String>,
}

/// A person whose address on a platform is to be looked up by email.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EmailLookup {
    pub person_id: i64,
    pub key: String,
    pub email: String,
}

/// What a lookup or an inbound message taught baton about a person.
#[derive(Debug, Clone)]
pub struct Learning<'a> {
    pub org_id: i64,
    pub person_id: i64,
    pub platform: &'a str,
    pub workspace: Option<&'a str>,
    /// `None`: the lookup found nobody for `email`.
    pub user_id: Option<&'a str>,
    /// `email` (looked up) or `inbound` (they wrote to baton).
    pub source: &'a str,
    pub email: Option<&'a str>,
}

/// After this long a lookup that found nobody is tried again (the person may have joined).
const RETRY_NOT_FOUND_HOURS: i32 = 24;

impl Store {
    /// What was learned about a person (by key), per platform: found identities, and
    /// lookups that found nobody.
    pub async fn learned_identities(&self, org_id: i64, person: &str) -> StoreResult<Vec<Learned>> {
        Ok(sqlx::query_as(
            "SELECT l.platform, l.workspace, l.user_id FROM learned_identities l
             JOIN people p ON p.id = l.person_id
             WHERE l.org_id = $1 AND p.key = $2
             ORDER BY l.platform",
        )
        .bind(org_id)
        .bind(person)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records what was learned about a person on a platform (replacing what was known).
    /// A person who became reachable this way is no longer listed as unreachable.
    pub async fn learn_identity(&self, l: &Learning<'_>, now: DateTime<Utc>) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO learned_identities
                 (org_id, person_id, platform, workspace, user_id, source, email, learned_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (org_id, person_id, platform) DO UPDATE SET
                 workspace = EXCLUDED.workspace, user_id = EXCLUDED.user_id,
                 source = EXCLUDED.source, email = EXCLUDED.email,
                 learned_at = EXCLUDED.learned_at",
        )
        .bind(l.org_id)
        .bind(l.person_id)
        .bind(l.platform)
        .bind(l.workspace)
        .bind(l.user_id)
        .bind(l.source)
        .bind(l.email)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if l.user_id.is_some() {
            sqlx::query("DELETE FROM unreachable_people WHERE org_id = $1 AND person_id = $2")
                .bind(l.org_id)
                .bind(l.person_id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// People with an email and no declared identity on `platform` whose address was not
    /// looked up yet: never, for another address, or without result more than a day ago.
    pub async fn email_lookups_due(
        &self,
        org_id: i64,
        platform: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<EmailLookup>> {
        Ok(sqlx::query_as(
            "SELECT p.id AS person_id, p.key, p.email FROM people p
             WHERE p.org_id = $1 AND p.archived_at IS NULL AND p.email IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM chat_identities ci
                               WHERE ci.person_id = p.id AND ci.platform = $2)
               AND NOT EXISTS (SELECT 1 FROM learned_identities l
                               WHERE l.org_id = p.org_id AND l.person_id = p.id
                                 AND l.platform = $2
                                 AND (l.user_id IS NOT NULL
                                      OR (lower(l.email) = lower(p.email)
                                          AND l.learned_at > $3 - make_interval(hours => $4))))
             ORDER BY p.id",
        )
        .bind(org_id)
        .bind(platform)
        .bind(now)
        .bind(RETRY_NOT_FOUND_HOURS)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Every organisation's id.
    pub async fn org_ids(&self) -> StoreResult<Vec<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM organisations ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// The platforms (with the message id there) a message already reached.
    pub async fn delivered_platforms(
        &self,
        org_id: i64,
        key: &str,
    ) -> StoreResult<Vec<(String, Option<String>)>> {
        Ok(sqlx::query_as(
            "SELECT platform, message_id FROM delivered_platforms
             WHERE org_id = $1 AND idempotency_key = $2",
        )
        .bind(org_id)
        .bind(key)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Records that a message reached one of its platforms.
    pub async fn platform_delivered(
        &self,
        org_id: i64,
        key: &str,
        platform: &str,
        message_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO delivered_platforms (org_id, idempotency_key, platform, message_id, delivered_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(org_id)
        .bind(key)
        .bind(platform)
        .bind(message_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Lists a person as unreachable; true the first time (until they become reachable).
    pub async fn mark_unreachable(
        &self,
        org_id: i64,
        person: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = sqlx::query(
            "INSERT INTO unreachable_people (org_id, person_id, reason, since)
             SELECT $1, id, $3, $4 FROM people WHERE org_id = $1 AND key = $2
             ON CONFLICT DO NOTHING",
        )
        .bind(org_id)
        .bind(person)
        .bind(reason)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    /// A person is reachable (again): no longer listed.
    pub async fn mark_reachable(&self, org_id: i64, person: &str) -> StoreResult<()> {
        sqlx::query(
            "DELETE FROM unreachable_people u USING people p
             WHERE u.org_id = $1 AND p.id = u.person_id AND p.key = $2",
        )
        .bind(org_id)
        .bind(person)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many people baton cannot reach, over all organisations (the `/metrics` gauge).
    pub async fn unreachable_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(*) FROM unreachable_people u JOIN people p ON p.id = u.person_id
             WHERE p.archived_at IS NULL",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// Forgets who was unreachable in an organisation (after its manifest changed: the next
    /// delivery judges each person again).
    pub async fn clear_unreachable(&self, org_id: i64) -> StoreResult<()> {
        sqlx::query("DELETE FROM unreachable_people WHERE org_id = $1")
            .bind(org_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a prompt that could not be delivered to anyone: neither answered nor missed.
    /// Only an open prompt changes (true then).
    pub async fn prompt_undeliverable(
        &self,
        org_id: i64,
        prompt_id: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let res = sqlx::query(
            "UPDATE prompts SET state = 'undeliverable', delivered_at = COALESCE(delivered_at, $3)
             WHERE org_id = $1 AND id = $2 AND state = 'sent'",
        )
        .bind(org_id)
        .bind(prompt_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }
}
