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

/// One check-in as the evidence and forecasts read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub code: String,
    /// A key result's (else a measure's).
    pub key_result: bool,
    pub at: DateTime<Utc>,
    pub value: f64,
}

impl Store {
    /// The last check-in of every key result and measure in each week `(now − (b+1) weeks,
    /// now − b weeks]`, for `b` below `weeks`: what a weekly grid ending at `now` carries
    /// forward, without shipping every check-in. Bounded by the window, read through the
    /// `(org_id, key_result_id | measure_id, recorded_at)` indexes.
    #[tracing::instrument(skip_all, fields(org = org_id, weeks = weeks))]
    pub async fn weekly_points(
        &self,
        org_id: i64,
        now: DateTime<Utc>,
        weeks: i32,
    ) -> StoreResult<Vec<Point>> {
        let since = now - chrono::Duration::weeks(i64::from(weeks));
        let rows: Vec<(String, bool, DateTime<Utc>, f64)> = sqlx::query_as(
            "SELECT code, kr, recorded_at, value FROM (
                SELECT DISTINCT ON (c.key_result_id, c.b) k.code, true AS kr, c.recorded_at, c.value
                FROM (SELECT key_result_id, recorded_at, value, id,
                             floor(extract(epoch FROM ($3 - recorded_at)) / 604800) AS b
                      FROM checkins
                      WHERE org_id = $1 AND key_result_id IS NOT NULL
                        AND recorded_at > $2 AND recorded_at <= $3) c
                JOIN key_results k ON k.id = c.key_result_id
                ORDER BY c.key_result_id, c.b, c.recorded_at DESC, c.id DESC) kr
             UNION ALL
             SELECT code, kr, recorded_at, value FROM (
                SELECT DISTINCT ON (c.measure_id, c.b) m.code, false AS kr, c.recorded_at, c.value
                FROM (SELECT measure_id, recorded_at, value, id,
                             floor(extract(epoch FROM ($3 - recorded_at)) / 604800) AS b
                      FROM checkins
                      WHERE org_id = $1 AND measure_id IS NOT NULL
                        AND recorded_at > $2 AND recorded_at <= $3) c
                JOIN measures m ON m.id = c.measure_id
                ORDER BY c.measure_id, c.b, c.recorded_at DESC, c.id DESC) m",
        )
        .bind(org_id)
        .bind(since)
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(code, key_result, at, value)| Point {
                code,
                key_result,
                at,
                value,
            })
            .collect())
    }

    /// The latest `limit` standing check-ins (a corrected one is left out) of each named
    /// key result recorded in `[since, until]`, oldest first per key result: what a
    /// forecast rests on. One index lookup per key result.
    #[tracing::instrument(skip_all, fields(org = org_id, n = codes.len()))]
    pub async fn recent_checkins(
        &self,
        org_id: i64,
        codes: &[String],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<std::collections::HashMap<String, Vec<crate::domain::evidence::Point>>> {
        type Row = (String, i64, Option<i64>, DateTime<Utc>, f64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT k.code, c.id, c.supersedes, c.recorded_at, c.value
             FROM key_results k
             CROSS JOIN LATERAL (
                 SELECT id, supersedes, recorded_at, value FROM checkins c
                 WHERE c.org_id = $1 AND c.key_result_id = k.id
                   AND c.recorded_at >= $3 AND c.recorded_at <= $4
                 ORDER BY c.recorded_at DESC, c.id DESC LIMIT $5) c
             WHERE k.org_id = $1 AND k.code = ANY($2)",
        )
        .bind(org_id)
        .bind(codes)
        .bind(since)
        .bind(until)
        // Room for the corrections left out.
        .bind(limit * 2)
        .fetch_all(&self.pool)
        .await?;
        let corrected: std::collections::HashSet<i64> = rows.iter().filter_map(|r| r.2).collect();
        let mut out: std::collections::HashMap<String, Vec<crate::domain::evidence::Point>> =
            Default::default();
        for (code, id, _, at, value) in rows {
            if !corrected.contains(&id) {
                out.entry(code).or_default().push((at, value));
            }
        }
        for v in out.values_mut() {
            v.sort_by_key(|p| p.0);
            let keep = v.len().saturating_sub(limit as usize);
            v.drain(..keep);
        }
        Ok(out)
    }
}
