//! Reading a period's check-in summary: its occurrence, its prompts and the answers'
//! figures (see `app::summaries`).

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{Store, StoreResult};

/// A summary's occurrence.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SummaryHead {
    pub department: String,
    pub cadence_id: i64,
    pub occurrence: NaiveDateTime,
}

/// One prompt of an occurrence.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SummaryPrompt {
    pub id: i64,
    pub person_key: String,
    pub state: String,
    pub window_ends_at: DateTime<Utc>,
}

/// One answered code of a prompt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AnswerFigure {
    pub prompt_id: i64,
    pub code: String,
    pub value: f64,
    pub confidence: Option<String>,
    pub note: Option<String>,
    pub blockers: Option<String>,
}

impl Store {
    pub async fn summary_head(
        &self,
        org_id: i64,
        summary_id: i64,
    ) -> StoreResult<Option<SummaryHead>> {
        Ok(sqlx::query_as(
            "SELECT department, cadence_id, occurrence FROM checkin_summaries
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id)
        .bind(summary_id)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The occurrence's prompts, answered first, then by person key.
    pub async fn summary_prompts(
        &self,
        org_id: i64,
        cadence_id: i64,
        occurrence: NaiveDateTime,
    ) -> StoreResult<Vec<SummaryPrompt>> {
        Ok(sqlx::query_as(
            "SELECT p.id, pe.key AS person_key, p.state, p.window_ends_at
             FROM prompts p JOIN people pe ON pe.id = p.person_id AND pe.org_id = p.org_id
             WHERE p.org_id = $1 AND p.cadence_id = $2 AND p.occurrence = $3
             ORDER BY p.answered_at NULLS LAST, pe.key",
        )
        .bind(org_id)
        .bind(cadence_id)
        .bind(occurrence)
        .fetch_all(&self.pool)
        .await?)
    }

    /// An answer's figures: the person's latest check-in per asked code from the prompt's
    /// due time until its window closed, or until a day after a late answer.
    pub async fn answer_figures(
        &self,
        org_id: i64,
        cadence_id: i64,
        occurrence: NaiveDateTime,
    ) -> StoreResult<Vec<AnswerFigure>> {
        Ok(sqlx::query_as(
            "SELECT DISTINCT ON (p.id, k.code) p.id AS prompt_id, k.code, c.value, c.confidence,
                    c.note, c.blockers
             FROM prompts p
             JOIN key_results k ON k.org_id = p.org_id AND k.code = ANY(p.codes)
             JOIN checkins c ON c.org_id = p.org_id AND c.key_result_id = k.id
                  AND c.person_id = p.person_id AND c.recorded_at >= p.due_at
                  AND c.recorded_at < GREATEST(p.window_ends_at, p.answered_at + interval '1 day')
             WHERE p.org_id = $1 AND p.cadence_id = $2 AND p.occurrence = $3
               AND p.state IN ('answered', 'late')
             ORDER BY p.id, k.code, c.recorded_at DESC, c.id DESC",
        )
        .bind(org_id)
        .bind(cadence_id)
        .bind(occurrence)
        .fetch_all(&self.pool)
        .await?)
    }
}
