//! Figures held for confirmation (`pending_figures`): a check-in outside its key result's
//! plausibility range waits here until its person says yes. One per person. Whether the
//! person recorded another figure since is read when the question is answered, so the hot
//! path of every other command costs nothing.

use chrono::{DateTime, Utc};

use super::{Store, StoreResult};
use crate::domain::Confidence;

/// A figure waiting for its person's yes.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PendingFigure {
    pub id: i64,
    pub code: String,
    pub value: f64,
    pub confidence: Option<String>,
    pub note: Option<String>,
    pub blockers: Option<String>,
    pub correct: bool,
    pub idempotency_key: String,
    pub expires_at: DateTime<Utc>,
    /// The person recorded a check-in after the figure was held (a different answer).
    pub answered_since: bool,
}

/// What to hold.
pub struct HeldFigure<'a> {
    pub code: &'a str,
    pub value: f64,
    pub confidence: Option<Confidence>,
    pub note: Option<&'a str>,
    pub blockers: Option<&'a str>,
    pub correct: bool,
    pub idempotency_key: &'a str,
}

impl Store {
    /// Holds a figure for `person_id`, replacing any they had waiting. Returns its id.
    #[tracing::instrument(skip_all, fields(org = org_id))]
    pub async fn hold_figure(
        &self,
        org_id: i64,
        person_id: i64,
        f: &HeldFigure<'_>,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO pending_figures (org_id, person_id, code, value, confidence, note,
                 blockers, correct, idempotency_key, created_at, expires_at, after_checkin)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                 (SELECT coalesce(max(id), 0) FROM checkins WHERE org_id = $1))
             ON CONFLICT (org_id, person_id) DO UPDATE SET code = EXCLUDED.code,
                 value = EXCLUDED.value, confidence = EXCLUDED.confidence,
                 note = EXCLUDED.note, blockers = EXCLUDED.blockers,
                 correct = EXCLUDED.correct, idempotency_key = EXCLUDED.idempotency_key,
                 created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
                 after_checkin = EXCLUDED.after_checkin,
                 id = nextval('pending_figures_id_seq')
             RETURNING id",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(f.code)
        .bind(f.value)
        .bind(f.confidence.map(|c| c.as_str()))
        .bind(f.note)
        .bind(f.blockers)
        .bind(f.correct)
        .bind(f.idempotency_key)
        .bind(now)
        .bind(expires_at)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Takes (removes and returns) the person's held figure, if it is `id` (any, when
    /// `None`). An expired one is removed too, and returned for the caller to refuse.
    #[tracing::instrument(skip_all, fields(org = org_id))]
    pub async fn take_figure(
        &self,
        org_id: i64,
        person_id: i64,
        id: Option<i64>,
    ) -> StoreResult<Option<PendingFigure>> {
        Ok(sqlx::query_as(
            "DELETE FROM pending_figures f
             WHERE f.org_id = $1 AND f.person_id = $2 AND ($3::bigint IS NULL OR f.id = $3)
             RETURNING f.id, f.code, f.value, f.confidence, f.note, f.blockers, f.correct,
                       f.idempotency_key, f.expires_at,
                       EXISTS (SELECT 1 FROM checkins c WHERE c.org_id = f.org_id
                               AND c.person_id = f.person_id AND c.id > f.after_checkin)
                           AS answered_since",
        )
        .bind(org_id)
        .bind(person_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await?)
    }
}
