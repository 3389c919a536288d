//! Postgres storage through sqlx. Every query is scoped by organisation id.
//!
//! The store is a concrete type over a `PgPool` rather than a trait: there is one real
//! backend, and tests run against the real server through `#[sqlx::test]`.
//!
//! **Closed.** Every SQL statement of baton lives under `src/store` (the chat adapters'
//! inbound statements are on their way here with the one inbound pipeline), split by
//! table family: this file (organisations, the declared structure, check-ins),
//! [`alerts`], [`reviews`], [`schedule`] (cadences, prompts, digests, nudges, away),
//! [`summaries`], [`zones`], [`identities`], [`outbox`], [`parts`] (Slack's delivered
//! parts), [`locks`] (advisory locks), [`housekeeping`] (job-run claims, retention) and
//! [`bench`] (the benchmark's own statements).
//! Callers get rows as typed structs; work that spans several calls runs in a [`Tx`]
//! from [`Store::begin`]. Outbox payloads and targets are built in Rust and bound as
//! JSON, never assembled in SQL. A unique violation is a typed [`StoreError::Unique`]
//! (see [`ResultExt::on_constraint`]); the database's own words go to the log, not to
//! people (see `App::answer`).

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, ConnectOptions, PgPool, Postgres, Row, Transaction};

use crate::domain::{
    Code, Confidence, Current, CycleSpec, DepartmentSpec, DependencySpec, Holiday, InitiativeSpec,
    Key, KeyResultSpec, LinkSpec, MeasureSpec, ObjectiveSpec, OrgInfo, OrgSpec, OrgState,
    PersonSpec, PerspectiveSpec, ScorecardObjective, Source,
};

pub mod alerts;
pub mod bench;
pub mod figures;
pub mod housekeeping;
pub mod identities;
pub mod inbound;
pub mod locks;
pub mod outbox;
pub mod parts;
pub mod reviews;
pub mod schedule;
pub mod summaries;
pub mod threads;
pub mod zones;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot reach the database at {url}: {reason}. Is PostgreSQL running? Set DATABASE_URL to point baton at it."
    )]
    Unreachable { url: String, reason: String },
    #[error("the database is unavailable right now ({0}); nothing was written, try again")]
    Unavailable(String),
    #[error("{0}")]
    Conflict(String),
    /// A write broke a unique constraint (see [`ResultExt::on_constraint`]).
    #[error("a row with the same key already exists ({constraint})")]
    Unique { constraint: String },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Db(sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_) => StoreError::Unavailable(e.to_string()),
            _ => StoreError::Db(e),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

impl StoreError {
    /// The unique constraint a write broke, if that is what failed.
    pub fn unique_constraint(&self) -> Option<&str> {
        match self {
            StoreError::Unique { constraint } => Some(constraint),
            StoreError::Db(sqlx::Error::Database(d)) if d.is_unique_violation() => d.constraint(),
            _ => None,
        }
    }
}

/// Turns a unique-constraint violation into a typed answer, as realworld-axum-sqlx's
/// `ResultExt::on_constraint` does: callers match on [`StoreError::Unique`] (or map it
/// to their own error), never on database error text or codes.
pub trait ResultExt<T> {
    /// Maps a violation of the named unique constraint with `f`; other errors pass through.
    fn on_constraint(self, name: &str, f: impl FnOnce(StoreError) -> StoreError) -> StoreResult<T>;
}

impl<T, E: Into<StoreError>> ResultExt<T> for Result<T, E> {
    fn on_constraint(self, name: &str, f: impl FnOnce(StoreError) -> StoreError) -> StoreResult<T> {
        self.map_err(|e| {
            let e = e.into();
            if e.unique_constraint() == Some(name) {
                f(StoreError::Unique {
                    constraint: name.to_string(),
                })
            } else {
                e
            }
        })
    }
}

/// A transaction the store opened ([`Store::begin`]). Store functions that take one run in
/// it; nothing outside the store reaches its connection. Dropped without
/// [`Tx::commit`], it rolls back.
pub struct Tx(Transaction<'static, Postgres>);

impl Tx {
    pub async fn commit(self) -> StoreResult<()> {
        Ok(self.0.commit().await?)
    }
}

/// Hides the password in a connection URL before it is shown to anyone.
pub fn redact_url(url: &str) -> String {
    // Secrets in the query string (`?password=…`, `sslpassword=…`) are masked too.
    let (url, query) = match url.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (url, None),
    };
    let query = query.map(|q| {
        q.split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _))
                    if ["password", "secret", "token", "key"]
                        .iter()
                        .any(|s| k.to_ascii_lowercase().contains(s)) =>
                {
                    format!("{k}=***")
                }
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    let base = redact_base(url);
    match query {
        Some(q) => format!("{base}?{q}"),
        None => base,
    }
}

fn redact_base(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((cred, host)) => {
                let user = cred.split(':').next().unwrap_or("");
                if cred.contains(':') {
                    format!("{scheme}://{user}:***@{host}")
                } else {
                    format!("{scheme}://{user}@{host}")
                }
            }
            None => url.to_string(),
        },
        None => "<unparseable url>".to_string(),
    }
}

/// An organisation row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrgRow {
    pub id: i64,
    pub key: String,
    pub name: String,
    pub revision: i64,
}

/// A person as the app needs them to act.
#[derive(Debug, Clone)]
pub struct PersonRow {
    pub id: i64,
    pub spec: PersonSpec,
    /// Departments the person heads or belongs to, with headship: their home department
    /// first, then the others in manifest order (`domain::org::person_departments`).
    pub departments: Vec<(String, bool)>,
}

/// What a check-in targets, with the permission verdict for the asking person.
#[derive(Debug, Clone)]
pub enum Target {
    KeyResult {
        id: i64,
        spec: KeyResultSpec,
        department: Option<String>,
        current: Option<f64>,
        latest_checkin: Option<i64>,
        allowed: bool,
    },
    Measure {
        id: i64,
        spec: MeasureSpec,
        current: Option<f64>,
        latest_checkin: Option<i64>,
        allowed: bool,
    },
}

/// A check-in to store.
#[derive(Debug, Clone)]
pub struct NewCheckin<'a> {
    pub person_id: i64,
    pub value: f64,
    pub confidence: Option<Confidence>,
    pub note: Option<&'a str>,
    pub blockers: Option<&'a str>,
    pub source: Source,
    pub idempotency_key: &'a str,
    /// A correction: supersedes the target's latest check-in (refused if there is none).
    pub correct: bool,
    pub at: DateTime<Utc>,
}

/// What kind of thing a check-in targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    KeyResult,
    Measure,
}

/// The outcome of storing a check-in: new, or a repeat of one already stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Recorded {
    New {
        id: i64,
        /// The figure before this check-in.
        previous: Option<f64>,
        supersedes: Option<i64>,
        /// Check-in prompts this answer closed.
        closed_prompts: i64,
    },
    /// The same delivery was stored before, as this check-in.
    Duplicate(i64),
    /// Not stored: unknown or archived code, no permission, or nothing to correct.
    Refused,
}

/// One row of a key result's history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckinRow {
    pub id: i64,
    pub person_key: String,
    pub person_name: String,
    pub value: f64,
    pub confidence: Option<String>,
    pub note: Option<String>,
    pub blockers: Option<String>,
    pub source: String,
    pub supersedes: Option<i64>,
    pub superseded_by: Option<i64>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct Store {
    pool: PgPool,
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("spec types always serialise")
}

fn from_json<T: DeserializeOwned>(v: serde_json::Value, what: &str) -> StoreResult<T> {
    serde_json::from_value(v).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

type CurRow = (String, f64, Option<String>, DateTime<Utc>, i64);

/// See [`Store::state_fingerprint`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateFingerprint {
    rows: i64,
    checkin_ids: i64,
    values: u64,
}

fn current_map(rows: Vec<CurRow>) -> StoreResult<HashMap<Code, Current>> {
    rows.into_iter()
        .map(|(code, value, conf, at, id)| {
            let code = Code::parse(&code).map_err(StoreError::Corrupt)?;
            let confidence = conf
                .map(|c| Confidence::parse(&c).map_err(StoreError::Corrupt))
                .transpose()?;
            Ok((
                code,
                Current {
                    value,
                    confidence,
                    at,
                    checkin_id: id,
                },
            ))
        })
        .collect()
}

impl Store {
    pub fn new(pool: PgPool) -> Self {
        Store { pool }
    }

    /// The pool, for the store's own modules only: all SQL lives in `src/store`.
    pub(in crate::store) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Opens a transaction for store functions that take a [`Tx`].
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(Tx(self.pool.begin().await?))
    }

    /// Whether the database answers (`SELECT 1`).
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query_scalar::<_, i32>("SELECT 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    /// Closes the pool: later calls fail as [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Connects, creating the database first if it does not exist yet.
    pub async fn connect(url: &str, create_if_missing: bool) -> StoreResult<Store> {
        Self::connect_sized(url, create_if_missing, 16).await
    }

    /// As [`Store::connect`], with a chosen pool size.
    pub async fn connect_sized(
        url: &str,
        create_if_missing: bool,
        max_connections: u32,
    ) -> StoreResult<Store> {
        let unreachable = |e: &dyn std::fmt::Display| StoreError::Unreachable {
            url: redact_url(url),
            reason: e.to_string(),
        };
        let opts = PgConnectOptions::from_str(url).map_err(|e| unreachable(&e))?;
        if create_if_missing {
            let db = opts.get_database().unwrap_or("postgres").to_string();
            let admin = opts.clone().database("postgres");
            let mut conn = admin.connect().await.map_err(|e| unreachable(&e))?;
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                    .bind(&db)
                    .fetch_one(&mut conn)
                    .await
                    .map_err(|e| unreachable(&e))?;
            if !exists {
                let quoted = format!("\"{}\"", db.replace('"', "\"\""));
                // A concurrent creator may win the race; that is fine.
                let _ = sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {quoted}")))
                    .execute(&mut conn)
                    .await;
            }
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect_with(opts)
            .await
            .map_err(|e| unreachable(&e))?;
        Ok(Store { pool })
    }

    /// The versions of the migrations applied successfully (none when the database was
    /// never migrated).
    pub async fn applied_migrations(&self) -> StoreResult<Vec<i64>> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await?;
        if !exists {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Unavailable(format!("migrations failed: {e}")))
    }

    #[tracing::instrument(skip_all)]
    pub async fn orgs(&self) -> StoreResult<Vec<OrgRow>> {
        Ok(
            sqlx::query_as("SELECT id, key, name, revision FROM organisations ORDER BY id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    #[tracing::instrument(skip_all, fields(org = key))]
    pub async fn org_by_key(&self, key: &str) -> StoreResult<Option<OrgRow>> {
        Ok(
            sqlx::query_as("SELECT id, key, name, revision FROM organisations WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn org_revision(&self, org_id: i64) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT revision FROM organisations WHERE id = $1")
                .bind(org_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Loads the active (not archived) organisation as declared.
    #[tracing::instrument(skip_all, fields(org = org_id))]
    pub async fn load_spec(&self, org_id: i64) -> StoreResult<OrgSpec> {
        let mut conn = self.pool.acquire().await?;
        let sections: HashMap<String, serde_json::Value> =
            sqlx::query_as::<_, (String, serde_json::Value)>(
                "SELECT section, spec FROM org_sections WHERE org_id = $1",
            )
            .bind(org_id)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
        let section = |name: &str| -> StoreResult<serde_json::Value> {
            sections
                .get(name)
                .cloned()
                .ok_or_else(|| StoreError::Corrupt(format!("missing section {name}")))
        };
        let org: OrgInfo = from_json(section("org")?, "org")?;
        let perspectives: Vec<PerspectiveSpec> =
            from_json(section("perspectives")?, "perspectives")?;
        let links: Vec<LinkSpec> = from_json(section("links")?, "links")?;
        let holidays: Vec<Holiday> = from_json(section("holidays")?, "holidays")?;
        // Added after the first release: absent in older stores means "defaults".
        let review_templates = match sections.get("reviews") {
            Some(v) => from_json(v.clone(), "reviews")?,
            None => Default::default(),
        };

        async fn list<T: DeserializeOwned>(
            conn: &mut sqlx::PgConnection,
            table: &'static str,
            org_id: i64,
        ) -> StoreResult<Vec<T>> {
            let sql = format!(
                "SELECT spec FROM {table} WHERE org_id = $1 AND archived_at IS NULL ORDER BY position, id"
            );
            let rows: Vec<serde_json::Value> = sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(org_id)
                .fetch_all(&mut *conn)
                .await?;
            rows.into_iter().map(|v| from_json(v, table)).collect()
        }

        Ok(OrgSpec {
            org,
            perspectives,
            people: list(&mut conn, "people", org_id).await?,
            departments: list(&mut conn, "departments", org_id).await?,
            scorecard: list(&mut conn, "scorecard_objectives", org_id).await?,
            measures: list(&mut conn, "measures", org_id).await?,
            links,
            cycles: list(&mut conn, "cycles", org_id).await?,
            objectives: list(&mut conn, "objectives", org_id).await?,
            key_results: list(&mut conn, "key_results", org_id).await?,
            dependencies: list(&mut conn, "dependencies", org_id).await?,
            initiatives: list(&mut conn, "initiatives", org_id).await?,
            holidays,
            review_templates,
        })
    }

    /// Loads the latest figure of every active key result and measure.
    #[tracing::instrument(skip_all, fields(org = org_id))]
    pub async fn load_state(&self, org_id: i64) -> StoreResult<OrgState> {
        let krs: Vec<CurRow> = sqlx::query_as(
            "SELECT code, current_value, current_confidence, current_at, current_checkin_id
             FROM key_results
             WHERE org_id = $1 AND archived_at IS NULL AND current_checkin_id IS NOT NULL",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        let measures: Vec<CurRow> = sqlx::query_as(
            "SELECT code, current_value, NULL::text, current_at, current_checkin_id
             FROM measures
             WHERE org_id = $1 AND archived_at IS NULL AND current_checkin_id IS NOT NULL",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(OrgState {
            key_results: current_map(krs)?,
            measures: current_map(measures)?,
        })
    }

    /// A fingerprint of every current figure of the organisation: which key results and
    /// measures have one, which check-in it came from, and the values. A check-in or a
    /// correction always moves a row to a newer check-in (ids only grow), so any change
    /// to what [`Store::load_state`] returns changes the fingerprint; archiving changes the
    /// organisation's revision as well. One row back, however large the organisation.
    pub async fn state_fingerprint(&self, org_id: i64) -> StoreResult<StateFingerprint> {
        let (n, ids, values): (i64, i64, f64) = sqlx::query_as(
            "SELECT count(*), COALESCE(sum(current_checkin_id), 0)::bigint,
                    COALESCE(sum(current_value), 0)::float8
             FROM (SELECT current_checkin_id, current_value FROM key_results
                   WHERE org_id = $1 AND archived_at IS NULL AND current_checkin_id IS NOT NULL
                   UNION ALL
                   SELECT current_checkin_id, current_value FROM measures
                   WHERE org_id = $1 AND archived_at IS NULL AND current_checkin_id IS NOT NULL) f",
        )
        .bind(org_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(StateFingerprint {
            rows: n,
            checkin_ids: ids,
            values: values.to_bits(),
        })
    }

    /// The latest figures of the named key results only (no measures): what a rollup of a
    /// few key results needs, without reading the whole organisation.
    #[tracing::instrument(skip_all, fields(org = org_id, n = codes.len()))]
    pub async fn load_key_results_state(
        &self,
        org_id: i64,
        codes: &[String],
    ) -> StoreResult<OrgState> {
        let krs: Vec<CurRow> = sqlx::query_as(
            "SELECT code, current_value, current_confidence, current_at, current_checkin_id
             FROM key_results
             WHERE org_id = $1 AND code = ANY($2) AND archived_at IS NULL
               AND current_checkin_id IS NOT NULL",
        )
        .bind(org_id)
        .bind(codes)
        .fetch_all(&self.pool)
        .await?;
        Ok(OrgState {
            key_results: current_map(krs)?,
            measures: HashMap::new(),
        })
    }

    /// The latest figures of the given key results and measures only.
    pub async fn current_of(&self, org_id: i64, codes: &[String]) -> StoreResult<OrgState> {
        type CurRow = (bool, String, f64, Option<String>, DateTime<Utc>, i64);
        let rows: Vec<CurRow> = sqlx::query_as(
            "SELECT true, code, current_value, current_confidence, current_at, current_checkin_id
             FROM key_results WHERE org_id = $1 AND code = ANY($2) AND current_checkin_id IS NOT NULL
             UNION ALL
             SELECT false, code, current_value, NULL, current_at, current_checkin_id
             FROM measures WHERE org_id = $1 AND code = ANY($2) AND current_checkin_id IS NOT NULL",
        )
        .bind(org_id)
        .bind(codes)
        .fetch_all(&self.pool)
        .await?;
        let mut state = OrgState::default();
        for (is_kr, code, value, conf, at, id) in rows {
            let code = Code::parse(&code).map_err(StoreError::Corrupt)?;
            let current = Current {
                value,
                confidence: conf.and_then(|c| Confidence::parse(&c).ok()),
                at,
                checkin_id: id,
            };
            if is_kr {
                state.key_results.insert(code, current);
            } else {
                state.measures.insert(code, current);
            }
        }
        Ok(state)
    }

    /// The organisation whose calendar feeds this token opens.
    pub async fn org_by_calendar_token(&self, token: &str) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM organisations WHERE calendar_token = $1")
                .bind(token)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The token that opens the organisation's calendar feeds.
    pub async fn calendar_token(&self, org_id: i64) -> StoreResult<String> {
        Ok(
            sqlx::query_scalar("SELECT calendar_token FROM organisations WHERE id = $1")
                .bind(org_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Whether the organisation declares this (active) department.
    pub async fn department_exists(&self, org_id: i64, key: &str) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM departments
                            WHERE org_id = $1 AND key = $2 AND archived_at IS NULL)",
        )
        .bind(org_id)
        .bind(key)
        .fetch_one(&self.pool)
        .await?)
    }

    /// A department's channel on a platform, as the manifest declares it.
    pub async fn department_channel(
        &self,
        org_id: i64,
        department: &str,
        platform: &str,
    ) -> StoreResult<Option<String>> {
        let ch: Option<Option<String>> = sqlx::query_scalar(
            "SELECT spec->'channels'->>$3 FROM departments WHERE org_id = $1 AND key = $2",
        )
        .bind(org_id)
        .bind(department)
        .bind(platform)
        .fetch_optional(&self.pool)
        .await?;
        Ok(ch.flatten())
    }

    /// A person's user id on a platform, from the manifest's chat identities (the first).
    pub async fn manifest_user_id(
        &self,
        org_id: i64,
        person: &str,
        platform: &str,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT ci.user_id FROM chat_identities ci JOIN people p ON p.id = ci.person_id
             WHERE ci.org_id = $1 AND p.key = $2 AND ci.platform = $3 LIMIT 1",
        )
        .bind(org_id)
        .bind(person)
        .bind(platform)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The key of the person with this id.
    pub async fn person_key(&self, id: i64) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT key FROM people WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    #[tracing::instrument(skip_all, fields(org = org_id, person = key))]
    pub async fn person_by_key(&self, org_id: i64, key: &str) -> StoreResult<Option<PersonRow>> {
        let row: Option<(i64, serde_json::Value)> = sqlx::query_as(
            "SELECT id, spec FROM people WHERE org_id = $1 AND key = $2 AND archived_at IS NULL",
        )
        .bind(org_id)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, spec)) = row else {
            return Ok(None);
        };
        // The person's own departments, in manifest order: enough for the domain's rule to
        // put the home department first.
        let rows: Vec<serde_json::Value> = sqlx::query_scalar(
            "SELECT d.spec FROM memberships m JOIN departments d ON d.id = m.department_id
             WHERE m.org_id = $1 AND m.person_id = $2 AND d.archived_at IS NULL ORDER BY d.position",
        )
        .bind(org_id)
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let depts: Vec<DepartmentSpec> = rows
            .into_iter()
            .map(|d| from_json(d, "departments"))
            .collect::<StoreResult<_>>()?;
        let spec: PersonSpec = from_json(spec, "people")?;
        let departments = crate::domain::org::person_departments(&depts, spec.key.as_str())
            .into_iter()
            .map(|(k, head)| (k.as_str().to_string(), head))
            .collect();
        Ok(Some(PersonRow {
            id,
            spec,
            departments,
        }))
    }

    /// Finds what a check-in on `code` targets and whether `person_id` may check in on it:
    /// the owner, or a head or member of the department that owns the key result
    /// (`domain::org::may_check_in`, from the `department_key` stored at apply).
    #[tracing::instrument(skip_all, fields(org = org_id, code = code))]
    pub async fn checkin_target(
        &self,
        org_id: i64,
        code: &str,
        person_id: i64,
        person_key: &str,
    ) -> StoreResult<Option<Target>> {
        let row = sqlx::query(
            "SELECT k.id, k.spec, k.department_key, k.current_value, k.current_checkin_id,
                    (k.owner_key = $4 OR EXISTS (
                        SELECT 1 FROM memberships m JOIN departments d ON d.id = m.department_id
                        WHERE m.org_id = $1 AND m.person_id = $3 AND d.key = k.department_key
                    )) AS allowed
             FROM key_results k
             WHERE k.org_id = $1 AND k.code = $2 AND k.archived_at IS NULL",
        )
        .bind(org_id)
        .bind(code)
        .bind(person_id)
        .bind(person_key)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(r) = row {
            return Ok(Some(Target::KeyResult {
                id: r.try_get("id")?,
                spec: from_json(r.try_get("spec")?, "key_results")?,
                department: r.try_get("department_key")?,
                current: r.try_get("current_value")?,
                latest_checkin: r.try_get("current_checkin_id")?,
                allowed: r.try_get::<Option<bool>, _>("allowed")?.unwrap_or(false),
            }));
        }
        let row = sqlx::query(
            "SELECT id, spec, current_value, current_checkin_id, (owner_key = $3) AS allowed
             FROM measures WHERE org_id = $1 AND code = $2 AND archived_at IS NULL",
        )
        .bind(org_id)
        .bind(code)
        .bind(person_key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some(r) => Some(Target::Measure {
                id: r.try_get("id")?,
                spec: from_json(r.try_get("spec")?, "measures")?,
                current: r.try_get("current_value")?,
                latest_checkin: r.try_get("current_checkin_id")?,
                allowed: r.try_get::<Option<bool>, _>("allowed")?.unwrap_or(false),
            }),
            None => None,
        })
    }

    /// Stores one check-in and moves the target's current figure, in one statement: either
    /// both happen or neither does. The statement itself enforces the permission rule (the
    /// owner, or a member of the department that owns the key result; a measure's owner),
    /// so a check-in can never slip past it. A repeated idempotency key stores nothing new;
    /// anything refused returns [`Recorded::Refused`] for the caller to explain.
    #[tracing::instrument(skip_all, fields(org = org_id, code = code))]
    pub async fn record_checkin(
        &self,
        org_id: i64,
        kind: TargetKind,
        code: &str,
        person_key: &str,
        c: &NewCheckin<'_>,
    ) -> StoreResult<Recorded> {
        let sql = match kind {
            TargetKind::KeyResult => {
                "WITH k AS (
                    SELECT t.id, t.current_value, t.current_checkin_id FROM key_results t
                    WHERE t.org_id = $1 AND t.code = $2 AND t.archived_at IS NULL
                      AND (t.owner_key = $12 OR EXISTS (
                          SELECT 1 FROM memberships m JOIN departments d ON d.id = m.department_id
                          WHERE m.org_id = $1 AND m.person_id = $3 AND d.key = t.department_key))
                      AND (NOT $10 OR t.current_checkin_id IS NOT NULL)
                 ), ins AS (
                    INSERT INTO checkins (org_id, key_result_id, person_id, value, confidence, note,
                        blockers, source, idempotency_key, supersedes, recorded_at)
                    SELECT $1, k.id, $3, $4, $5, $6, $7, $8, $9,
                           CASE WHEN $10 THEN k.current_checkin_id END, $11
                    FROM k
                    ON CONFLICT (org_id, idempotency_key) DO NOTHING
                    RETURNING id, value, confidence, recorded_at, supersedes
                 ), upd AS (
                    UPDATE key_results t SET current_value = ins.value,
                        current_confidence = ins.confidence, current_at = ins.recorded_at,
                        current_checkin_id = ins.id
                    FROM ins, k
                    WHERE t.id = k.id
                      AND (t.current_at IS NULL OR t.current_at <= ins.recorded_at)
                 ), closed AS (
                    UPDATE prompts p SET answered_at = $11,
                        state = CASE WHEN p.window_ends_at <= $11 THEN 'late' ELSE 'answered' END
                    FROM ins
                    WHERE p.org_id = $1 AND p.person_id = $3 AND p.state IN ('sent', 'missed')
                      AND $2 = ANY(p.codes) AND p.due_at <= $11
                      AND p.window_ends_at > $11 - interval '14 days'
                    RETURNING p.id, p.cadence_id, p.occurrence
                 )
                 SELECT ins.id, k.current_value, ins.supersedes, (SELECT count(*) FROM closed),
                        ARRAY(SELECT id FROM closed) FROM ins, k"
            }
            TargetKind::Measure => {
                "WITH k AS (
                    SELECT t.id, t.current_value, t.current_checkin_id FROM measures t
                    WHERE t.org_id = $1 AND t.code = $2 AND t.archived_at IS NULL
                      AND t.owner_key = $12 AND $3::bigint IS NOT NULL
                      AND (NOT $10 OR t.current_checkin_id IS NOT NULL)
                 ), ins AS (
                    INSERT INTO checkins (org_id, measure_id, person_id, value, confidence, note,
                        blockers, source, idempotency_key, supersedes, recorded_at)
                    SELECT $1, k.id, $3, $4, $5, $6, $7, $8, $9,
                           CASE WHEN $10 THEN k.current_checkin_id END, $11
                    FROM k
                    ON CONFLICT (org_id, idempotency_key) DO NOTHING
                    RETURNING id, value, recorded_at, supersedes
                 ), upd AS (
                    UPDATE measures t SET current_value = ins.value,
                        current_at = ins.recorded_at, current_checkin_id = ins.id
                    FROM ins, k
                    WHERE t.id = k.id
                      AND (t.current_at IS NULL OR t.current_at <= ins.recorded_at)
                 ), closed AS (
                    UPDATE prompts p SET answered_at = $11,
                        state = CASE WHEN p.window_ends_at <= $11 THEN 'late' ELSE 'answered' END
                    FROM ins
                    WHERE p.org_id = $1 AND p.person_id = $3 AND p.state IN ('sent', 'missed')
                      AND $2 = ANY(p.codes) AND p.due_at <= $11
                      AND p.window_ends_at > $11 - interval '14 days'
                    RETURNING p.id
                 )
                 SELECT ins.id, k.current_value, ins.supersedes, (SELECT count(*) FROM closed),
                        ARRAY(SELECT id FROM closed) FROM ins, k"
            }
        };
        // The check-in, its figure and the prompts it closed in one statement; the summary
        // posts it causes in the same transaction.
        let mut tx = self.pool.begin().await?;
        type Stored = (i64, Option<f64>, Option<i64>, i64, Vec<i64>);
        let row: Option<Stored> = sqlx::query_as(sql)
            .bind(org_id)
            .bind(code)
            .bind(c.person_id)
            .bind(c.value)
            .bind(c.confidence.map(|x| x.as_str()))
            .bind(c.note)
            .bind(c.blockers)
            .bind(c.source.as_str())
            .bind(c.idempotency_key)
            .bind(c.correct)
            .bind(c.at)
            .bind(person_key)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some((id, previous, supersedes, closed_prompts, closed)) = row {
            if kind == TargetKind::KeyResult {
                summary_posts(&mut tx, org_id, code, c, &closed).await?;
            }
            tx.commit().await?;
            return Ok(Recorded::New {
                id,
                previous,
                supersedes,
                closed_prompts,
            });
        }
        drop(tx);
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM checkins WHERE org_id = $1 AND idempotency_key = $2",
        )
        .bind(org_id)
        .bind(c.idempotency_key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(existing.map_or(Recorded::Refused, Recorded::Duplicate))
    }

    /// History of a key result or measure, newest first.
    #[tracing::instrument(skip_all, fields(org = org_id, code = code))]
    pub async fn history(
        &self,
        org_id: i64,
        code: &str,
        limit: i64,
    ) -> StoreResult<(Vec<CheckinRow>, i64)> {
        let rows: Vec<CheckinRow> = sqlx::query_as(
            "WITH t AS (
                SELECT c.* FROM checkins c
                WHERE c.org_id = $1 AND (
                    c.key_result_id = (SELECT id FROM key_results WHERE org_id = $1 AND code = $2)
                    OR c.measure_id = (SELECT id FROM measures WHERE org_id = $1 AND code = $2))
             )
             SELECT t.id, p.key AS person_key, p.name AS person_name, t.value, t.confidence,
                    t.note, t.blockers, t.source, t.supersedes,
                    (SELECT s.id FROM t s WHERE s.supersedes = t.id ORDER BY s.id DESC LIMIT 1)
                        AS superseded_by,
                    t.recorded_at
             FROM t JOIN people p ON p.id = t.person_id AND p.org_id = $1
             ORDER BY t.recorded_at DESC, t.id DESC
             LIMIT $3",
        )
        .bind(org_id)
        .bind(code)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM checkins c WHERE c.org_id = $1 AND (
                c.key_result_id = (SELECT id FROM key_results WHERE org_id = $1 AND code = $2)
                OR c.measure_id = (SELECT id FROM measures WHERE org_id = $1 AND code = $2))",
        )
        .bind(org_id)
        .bind(code)
        .fetch_one(&self.pool)
        .await?;
        Ok((rows, total))
    }

    /// Blockers reported in the latest check-in of each key result, for the given codes.
    /// The reported blockers standing on the named key results' current check-ins.
    pub async fn open_blockers_of(
        &self,
        org_id: i64,
        codes: &[String],
    ) -> StoreResult<Vec<(String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT k.code, p.name, c.blockers FROM key_results k
             JOIN checkins c ON c.id = k.current_checkin_id AND c.org_id = k.org_id
             JOIN people p ON p.id = c.person_id
             WHERE k.org_id = $1 AND k.code = ANY($2) AND k.archived_at IS NULL
               AND c.blockers IS NOT NULL
             ORDER BY k.position",
        )
        .bind(org_id)
        .bind(codes)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn open_blockers(&self, org_id: i64) -> StoreResult<Vec<(String, String, String)>> {
        Ok(sqlx::query_as(
            "SELECT k.code, p.name, c.blockers FROM key_results k
             JOIN checkins c ON c.id = k.current_checkin_id AND c.org_id = k.org_id
             JOIN people p ON p.id = c.person_id
             WHERE k.org_id = $1 AND k.archived_at IS NULL AND c.blockers IS NOT NULL
             ORDER BY k.position",
        )
        .bind(org_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Writes the declared organisation: upserts everything declared, archives what is no
    /// longer declared, rebuilds memberships and chat identities. One transaction.
    #[tracing::instrument(skip_all, fields(org = %spec.org.key))]
    pub async fn apply_spec(
        &self,
        spec: &OrgSpec,
        summary: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await?;
        let org_id: i64 = sqlx::query_scalar(
            "INSERT INTO organisations (key, name, time_zone, fiscal_year_start, revision, created_at, updated_at)
             VALUES ($1, $2, $3, $4, 1, $5, $5)
             ON CONFLICT (key) DO UPDATE SET name = EXCLUDED.name, time_zone = EXCLUDED.time_zone,
                fiscal_year_start = EXCLUDED.fiscal_year_start,
                revision = organisations.revision + 1, updated_at = EXCLUDED.updated_at
             RETURNING id",
        )
        .bind(spec.org.key.as_str())
        .bind(&spec.org.name)
        .bind(spec.org.time_zone.name())
        .bind(spec.org.fiscal_year_start as i32)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;

        for (section, json) in [
            ("org", to_json(&spec.org)),
            ("perspectives", to_json(&spec.perspectives)),
            ("links", to_json(&spec.links)),
            ("holidays", to_json(&spec.holidays)),
            ("reviews", to_json(&spec.review_templates)),
        ] {
            sqlx::query(
                "INSERT INTO org_sections (org_id, section, spec) VALUES ($1, $2, $3::jsonb)
                 ON CONFLICT (org_id, section) DO UPDATE SET spec = EXCLUDED.spec",
            )
            .bind(org_id)
            .bind(section)
            .bind(json)
            .execute(&mut *tx)
            .await?;
        }

        let key_of = |k: &Key| k.as_str().to_string();
        let opt = |k: &Option<Key>| k.as_ref().map(|k| k.as_str().to_string());

        upsert(
            &mut tx,
            org_id,
            now,
            "people",
            "key",
            &["name", "email"],
            &[],
            spec.people.iter().map(|p| {
                (
                    key_of(&p.key),
                    to_json(p),
                    vec![Some(p.name.clone()), p.email.clone()],
                )
            }),
        )
        .await?;
        upsert(
            &mut tx,
            org_id,
            now,
            "departments",
            "key",
            &["name", "parent_key"],
            &[],
            spec.departments.iter().map(|d| {
                (
                    key_of(&d.key),
                    to_json(d),
                    vec![Some(d.name.clone()), opt(&d.parent)],
                )
            }),
        )
        .await?;
        upsert(
            &mut tx,
            org_id,
            now,
            "cycles",
            "key",
            &["starts_on", "ends_on"],
            &["date", "date"],
            spec.cycles.iter().map(|c: &CycleSpec| {
                (
                    key_of(&c.key),
                    to_json(c),
                    vec![Some(c.starts.to_string()), Some(c.ends.to_string())],
                )
            }),
        )
        .await?;
        upsert(
            &mut tx,
            org_id,
            now,
            "scorecard_objectives",
            "code",
            &["perspective"],
            &[],
            spec.scorecard.iter().map(|s: &ScorecardObjective| {
                (
                    s.code.to_string(),
                    to_json(s),
                    vec![Some(s.perspective.as_str().to_string())],
                )
            }),
        )
        .await?;
        upsert(
            &mut tx,
            org_id,
            now,
            "measures",
            "code",
            &["owner_key"],
            &[],
            spec.measures
                .iter()
                .map(|m: &MeasureSpec| (m.code.to_string(), to_json(m), vec![opt(&m.owner)])),
        )
        .await?;
        upsert(
            &mut tx,
            org_id,
            now,
            "objectives",
            "code",
            &["department_key", "owner_key"],
            &[],
            spec.objectives.iter().map(|o: &ObjectiveSpec| {
                (
                    o.code.to_string(),
                    to_json(o),
                    vec![
                        crate::domain::org::owning_department(spec, o).map(key_of),
                        opt(&o.owner),
                    ],
                )
            }),
        )
        .await?;
        let objectives: HashMap<&Code, &ObjectiveSpec> =
            spec.objectives.iter().map(|o| (&o.code, o)).collect();
        upsert(
            &mut tx,
            org_id,
            now,
            "key_results",
            "code",
            &["objective_code", "department_key", "owner_key"],
            &[],
            spec.key_results.iter().map(|k: &KeyResultSpec| {
                let dept = objectives
                    .get(&k.objective)
                    .and_then(|o| crate::domain::org::owning_department(spec, o))
                    .map(key_of);
                (
                    k.code.to_string(),
                    to_json(k),
                    vec![Some(k.objective.to_string()), dept, opt(&k.owner)],
                )
            }),
        )
        .await?;
        upsert(
            &mut tx,
            org_id,
            now,
            "dependencies",
            "key",
            &[],
            &[],
            spec.dependencies
                .iter()
                .map(|d: &DependencySpec| (key_of(&d.key), to_json(d), vec![])),
        )
        .await?;
        upsert(
            &mut tx,
            org_id,
            now,
            "initiatives",
            "code",
            &[],
            &[],
            spec.initiatives
                .iter()
                .map(|i: &InitiativeSpec| (i.code.to_string(), to_json(i), vec![])),
        )
        .await?;

        // Relationship tables are derived from the declared entities: rebuild them.
        sqlx::query("DELETE FROM memberships WHERE org_id = $1")
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        let (mut m_dept, mut m_person, mut m_head) = (Vec::new(), Vec::new(), Vec::new());
        for d in &spec.departments {
            for p in &d.heads {
                m_dept.push(d.key.as_str().to_string());
                m_person.push(p.as_str().to_string());
                m_head.push(true);
            }
            for p in d.members.iter().filter(|p| !d.heads.contains(p)) {
                m_dept.push(d.key.as_str().to_string());
                m_person.push(p.as_str().to_string());
                m_head.push(false);
            }
        }
        sqlx::query(
            "INSERT INTO memberships (org_id, department_id, person_id, is_head)
             SELECT $1, d.id, p.id, bool_or(x.head)
             FROM UNNEST($2::text[], $3::text[], $4::bool[]) AS x(dept, person, head)
             JOIN departments d ON d.org_id = $1 AND d.key = x.dept
             JOIN people p ON p.org_id = $1 AND p.key = x.person
             GROUP BY d.id, p.id",
        )
        .bind(org_id)
        .bind(&m_dept)
        .bind(&m_person)
        .bind(&m_head)
        .execute(&mut *tx)
        .await?;

        sqlx::query("DELETE FROM chat_identities WHERE org_id = $1")
            .bind(org_id)
            .execute(&mut *tx)
            .await?;
        for p in &spec.people {
            for c in &p.chat {
                let taken: Option<String> = sqlx::query_scalar(
                    "SELECT o.key FROM chat_identities ci JOIN organisations o ON o.id = ci.org_id
                     WHERE ci.platform = $1 AND ci.workspace = $2 AND ci.user_id = $3",
                )
                .bind(&c.platform)
                .bind(&c.workspace)
                .bind(&c.user)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(other) = taken {
                    return Err(StoreError::Conflict(format!(
                        "{} user {} in workspace {} (person `{}`) already belongs to organisation `{other}`; nothing was applied",
                        c.platform, c.user, c.workspace, p.key
                    )));
                }
                sqlx::query(
                    "INSERT INTO chat_identities (org_id, person_id, platform, workspace, user_id)
                     SELECT $1, id, $3, $4, $5 FROM people WHERE org_id = $1 AND key = $2",
                )
                .bind(org_id)
                .bind(p.key.as_str())
                .bind(&c.platform)
                .bind(&c.workspace)
                .bind(&c.user)
                .execute(&mut *tx)
                .await
                // Another organisation's apply took it since the check above.
                .on_constraint("chat_identities_pkey", |_| {
                    StoreError::Conflict(format!(
                        "{} user {} in workspace {} (person `{}`) already belongs to another organisation; nothing was applied",
                        c.platform, c.user, c.workspace, p.key
                    ))
                })?;
            }
        }
        // A Slack workspace belongs to one organisation: inbound events are routed by it.
        let mut workspaces: Vec<&str> = spec
            .people
            .iter()
            .flat_map(|p| p.chat.iter())
            .filter(|c| c.platform == "slack")
            .map(|c| c.workspace.as_str())
            .collect();
        workspaces.sort_unstable();
        workspaces.dedup();
        for w in workspaces {
            let other: Option<String> = sqlx::query_scalar(
                "SELECT o.key FROM chat_identities ci JOIN organisations o ON o.id = ci.org_id
                 WHERE ci.platform = 'slack' AND ci.workspace = $1 AND ci.org_id <> $2
                 LIMIT 1",
            )
            .bind(w)
            .bind(org_id)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(other) = other {
                return Err(StoreError::Conflict(format!(
                    "Slack workspace {w} is already used by organisation `{other}`; a workspace \
                     belongs to one organisation; nothing was applied"
                )));
            }
        }

        schedule::sync_cadences(
            &mut tx,
            org_id,
            &crate::domain::cadence::declared(spec),
            now,
        )
        .await?;

        sqlx::query(
            "INSERT INTO manifest_applies (org_id, applied_at, summary) VALUES ($1, $2, $3)",
        )
        .bind(org_id)
        .bind(now)
        .bind(summary)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(org_id)
    }

    /// Makes the cadence table match the declared organisation (new cadences start now).
    /// Idempotent: nothing changes when they already match.
    pub async fn sync_cadences(
        &self,
        org_id: i64,
        spec: &OrgSpec,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        schedule::sync_cadences(
            &mut tx,
            org_id,
            &crate::domain::cadence::declared(spec),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Bulk-loads historical check-ins (demo seeding and benchmarks) and recomputes the
    /// current figures from the newest row of each target.
    pub async fn seed_checkins(&self, org_id: i64, rows: &[SeedRow]) -> StoreResult<u64> {
        let mut inserted = 0;
        for chunk in rows.chunks(20_000) {
            inserted += self.insert_seed_chunk(org_id, chunk).await?;
        }
        self.refresh_current(org_id).await?;
        Ok(inserted)
    }

    /// Inserts one chunk of historical check-ins. Rows are
    /// `(code, person_key, value, confidence, note, recorded_at)`; unknown codes or people
    /// are skipped. Current figures are not touched: call [`Store::refresh_current`].
    pub async fn insert_seed_chunk(&self, org_id: i64, chunk: &[SeedRow]) -> StoreResult<u64> {
        let codes: Vec<&str> = chunk.iter().map(|r| r.0.as_str()).collect();
        let people: Vec<&str> = chunk.iter().map(|r| r.1.as_str()).collect();
        let values: Vec<f64> = chunk.iter().map(|r| r.2).collect();
        let confs: Vec<Option<&str>> = chunk.iter().map(|r| r.3.map(|c| c.as_str())).collect();
        let notes: Vec<Option<&str>> = chunk.iter().map(|r| r.4.as_deref()).collect();
        let ats: Vec<DateTime<Utc>> = chunk.iter().map(|r| r.5).collect();
        let res = sqlx::query(
            "INSERT INTO checkins (org_id, key_result_id, measure_id, person_id, value, confidence,
                note, source, idempotency_key, recorded_at)
             SELECT $1, k.id, m.id, p.id, x.value, x.conf, x.note, 'seed',
                    'seed:' || gen_random_uuid()::text, x.at
             FROM UNNEST($2::text[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::timestamptz[])
                  AS x(code, person, value, conf, note, at)
             JOIN people p ON p.org_id = $1 AND p.key = x.person
             LEFT JOIN key_results k ON k.org_id = $1 AND k.code = x.code
             LEFT JOIN measures m ON m.org_id = $1 AND m.code = x.code
             WHERE k.id IS NOT NULL OR m.id IS NOT NULL",
        )
        .bind(org_id)
        .bind(&codes)
        .bind(&people)
        .bind(&values)
        .bind(&confs)
        .bind(&notes)
        .bind(&ats)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected())
    }

    /// Recomputes every key result's and measure's current figure from its newest
    /// check-in.
    pub async fn refresh_current(&self, org_id: i64) -> StoreResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE key_results k SET current_value = c.value, current_confidence = c.confidence,
                current_at = c.recorded_at, current_checkin_id = c.id
             FROM (SELECT DISTINCT ON (key_result_id) * FROM checkins
                   WHERE org_id = $1 AND key_result_id IS NOT NULL
                   ORDER BY key_result_id, recorded_at DESC, id DESC) c
             WHERE k.org_id = $1 AND k.id = c.key_result_id",
        )
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE measures m SET current_value = c.value, current_at = c.recorded_at,
                current_checkin_id = c.id
             FROM (SELECT DISTINCT ON (measure_id) * FROM checkins
                   WHERE org_id = $1 AND measure_id IS NOT NULL
                   ORDER BY measure_id, recorded_at DESC, id DESC) c
             WHERE m.org_id = $1 AND m.id = c.measure_id",
        )
        .bind(org_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the organisation has any check-ins (the demo seeds only once).
    pub async fn checkin_count(&self, org_id: i64) -> StoreResult<i64> {
        Ok(
            sqlx::query_scalar("SELECT count(*) FROM checkins WHERE org_id = $1")
                .bind(org_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Archived rows of a table (for tests and `apply` reports).
    pub async fn archived(&self, org_id: i64, table: &'static str) -> StoreResult<Vec<String>> {
        let col = if matches!(table, "people" | "departments" | "cycles" | "dependencies") {
            "key"
        } else {
            "code"
        };
        let sql = format!(
            "SELECT {col} FROM {table} WHERE org_id = $1 AND archived_at IS NOT NULL ORDER BY {col}"
        );
        Ok(sqlx::query_scalar(AssertSqlSafe(sql))
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?)
    }
}

/// What a stored check-in on a key result posts to the summary threads of its prompts:
/// the answer that closed a prompt goes into its period's thread as a line, and every
/// summary of the person's prompts on the code changes (answered first or not), so each
/// gets a coalesced edit.
async fn summary_posts(
    conn: &mut sqlx::PgConnection,
    org_id: i64,
    code: &str,
    c: &NewCheckin<'_>,
    closed: &[i64],
) -> StoreResult<()> {
    #[derive(sqlx::FromRow)]
    struct Touched {
        prompt_id: i64,
        closed: bool,
        #[sqlx(flatten)]
        summary: outbox::SummaryRef,
    }
    let touched: Vec<Touched> = sqlx::query_as(
        "SELECT p.id AS prompt_id, p.id = ANY($5) AS closed, s.id, s.department, s.thread_key
         FROM prompts p
         JOIN checkin_summaries s ON s.cadence_id = p.cadence_id AND s.occurrence = p.occurrence
         WHERE p.org_id = $1 AND p.person_id = $2 AND $3 = ANY(p.codes)
           AND p.due_at <= $4 AND p.window_ends_at > $4 - interval '14 days'
           AND p.state IN ('sent', 'missed', 'answered', 'late')
         ORDER BY p.id",
    )
    .bind(org_id)
    .bind(c.person_id)
    .bind(code)
    .bind(c.at)
    .bind(closed)
    .fetch_all(&mut *conn)
    .await?;
    let lines: Vec<outbox::Queued> = touched
        .iter()
        .filter(|t| t.closed)
        .map(|t| outbox::Queued {
            key: format!("summary-line:{}", t.prompt_id),
            target: t.summary.thread(),
            payload: outbox::Payload::SummaryLine {
                summary_id: t.summary.id,
                prompt_id: t.prompt_id,
            },
            not_before: c.at,
        })
        .collect();
    outbox::enqueue_all(conn, org_id, &lines, outbox::OnConflict::Skip, c.at).await?;
    let summaries: Vec<outbox::SummaryRef> = touched.into_iter().map(|t| t.summary).collect();
    outbox::queue_summary_edits(conn, org_id, &summaries, c.at).await
}

type SpecRow = (String, String, Vec<Option<String>>);

/// A historical check-in for bulk loading: `(code, person_key, value, confidence, note, at)`.
pub type SeedRow = (
    String,
    String,
    f64,
    Option<Confidence>,
    Option<String>,
    DateTime<Utc>,
);

/// Upserts declared rows of one spec table and archives the undeclared ones.
#[allow(clippy::too_many_arguments)]
async fn upsert(
    tx: &mut Transaction<'_, Postgres>,
    org_id: i64,
    now: DateTime<Utc>,
    table: &'static str,
    key_col: &'static str,
    extra_cols: &[&'static str],
    extra_casts: &[&'static str],
    rows: impl Iterator<Item = SpecRow>,
) -> StoreResult<()> {
    let rows: Vec<SpecRow> = rows.collect();
    let keys: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let specs: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    let positions: Vec<i32> = (0..rows.len() as i32).collect();
    let mut cols = vec![key_col.to_string(), "spec".into(), "position".into()];
    let mut selects = vec!["x.k".to_string(), "x.s::jsonb".into(), "x.p".into()];
    let mut unnest = vec!["$2::text[]", "$3::text[]", "$4::int[]"]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
    let mut aliases = vec!["k".to_string(), "s".into(), "p".into()];
    for (i, c) in extra_cols.iter().enumerate() {
        cols.push((*c).to_string());
        let cast = extra_casts.get(i).copied().unwrap_or("text");
        selects.push(format!("x.e{i}::{cast}"));
        unnest.push(format!("${}::text[]", 5 + i));
        aliases.push(format!("e{i}"));
    }
    let updates: Vec<String> = cols[1..]
        .iter()
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO {table} (org_id, {cols})
         SELECT $1, {selects} FROM UNNEST({unnest}) AS x({aliases})
         ON CONFLICT (org_id, {key_col}) DO UPDATE SET {updates}, archived_at = NULL",
        cols = cols.join(", "),
        selects = selects.join(", "),
        unnest = unnest.join(", "),
        aliases = aliases.join(", "),
        updates = updates.join(", "),
    );
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(org_id)
        .bind(&keys)
        .bind(&specs)
        .bind(&positions);
    for i in 0..extra_cols.len() {
        let col: Vec<Option<String>> = rows.iter().map(|r| r.2[i].clone()).collect();
        q = q.bind(col);
    }
    q.execute(&mut **tx).await?;
    let archive = format!(
        "UPDATE {table} SET archived_at = $3
         WHERE org_id = $1 AND archived_at IS NULL AND NOT ({key_col} = ANY($2))"
    );
    sqlx::query(AssertSqlSafe(archive))
        .bind(org_id)
        .bind(&keys)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_in_the_query_string_are_masked() {
        let r = redact_url(
            "postgres://u@db:5432/baton?password=hunter2&sslmode=require&sslpassword=x1",
        );
        assert_eq!(
            r,
            "postgres://u@db:5432/baton?password=***&sslmode=require&sslpassword=***"
        );
        assert_eq!(redact_url("postgres://u:pw@db/b"), "postgres://u:***@db/b");
    }
}
