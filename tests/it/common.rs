//! Shared fixtures: the example organisation, a fixed clock, and a scripted shell.

use std::path::PathBuf;
use std::sync::Arc;

use baton::app::{Actor, App, apply};
use baton::clock::FixedClock;
use baton::domain::{OrgSpec, Source};
use baton::store::Store;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::PgPool;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn example_path() -> PathBuf {
    root().join("manifests/example-org.yaml")
}

pub fn example_spec() -> OrgSpec {
    baton::manifest::load_manifest(&example_path()).expect("the example manifest is valid")
}

/// Monday of week 7 of 2026-Q4.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 16, 12, 0, 0).unwrap()
}

pub fn app(pool: PgPool) -> App {
    App::new(Store::new(pool), Arc::new(FixedClock::new(now())))
}

pub async fn app_with(pool: PgPool, spec: &OrgSpec) -> App {
    app_at(pool, spec, Arc::new(FixedClock::new(now()))).await
}

/// An organisation applied on a clock the test moves.
pub async fn app_at(pool: PgPool, spec: &OrgSpec, clock: Arc<FixedClock>) -> App {
    let app = App::new(Store::new(pool), clock);
    let applied = apply::apply(&app, spec, false).await.expect("apply");
    assert!(applied.written);
    app
}

pub async fn actor(app: &App, org: &str, person: &str) -> Actor {
    let org = app.org(Some(org)).await.expect("org");
    app.actor(org, person, Source::Shell).await.expect("person")
}

/// Runs a script through the shell adapter and returns what it printed.
pub async fn shell(app: &App, org: &str, person: &str, script: &str) -> String {
    let actor = actor(app, org, person).await;
    let mut out = Vec::new();
    baton::chat::shell::run(app, &actor, script.as_bytes(), &mut out, false, None, None)
        .await
        .expect("shell io");
    String::from_utf8(out).expect("utf-8 output")
}

pub async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .expect("count")
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/manifests").join(name)
}

/// Every table of the schema (migrations' bookkeeping aside) with its row count and a hash
/// of its contents (rows as text, sorted), so a test can show that nothing at all changed.
pub async fn snapshot(pool: &PgPool) -> std::collections::BTreeMap<String, (i64, String)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
         AND table_name <> '_sqlx_migrations' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("tables");
    assert!(tables.len() > 10, "{tables:?}");
    let mut out = std::collections::BTreeMap::new();
    for t in tables {
        let sql = format!(
            "SELECT count(*), coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '') \
             FROM \"{t}\" r"
        );
        let row: (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(pool)
            .await
            .expect("table");
        out.insert(t, row);
    }
    out
}

/// The tables whose snapshots differ, with their row counts before and after.
pub fn changed(
    before: &std::collections::BTreeMap<String, (i64, String)>,
    after: &std::collections::BTreeMap<String, (i64, String)>,
) -> Vec<(String, i64, i64)> {
    after
        .iter()
        .filter(|(t, a)| before.get(*t) != Some(*a))
        .map(|(t, a)| (t.clone(), before.get(t).map_or(-1, |b| b.0), a.0))
        .collect()
}

/// `s` with every run of whitespace (line breaks included) as one space: what a wrapped
/// answer says, whatever width it was wrapped at.
pub fn flat(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The shell's output with wrapped lines joined back: a line indented deeper than the
/// line that started its group (a record's fields, a wrapped sentence) joins that group.
pub fn unwrapped(s: &str) -> Vec<String> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut out: Vec<(usize, String)> = Vec::new();
    for l in s.lines() {
        match out.last_mut() {
            Some((base, joined)) if !l.trim().is_empty() && indent(l) > *base => {
                joined.push(' ');
                joined.push_str(l.trim());
            }
            _ => out.push((indent(l), l.to_string())),
        }
    }
    out.into_iter().map(|(_, l)| l).collect()
}

/// Runs a script through the shell adapter on a simulated clock (what the commands post to
/// channels and threads is delivered and printed, as `baton shell --clock` does).
pub async fn shell_sim(
    app: &App,
    sim: &baton::chat::shell::Simulation,
    org: &str,
    person: &str,
    script: &str,
) -> String {
    let actor = actor(app, org, person).await;
    let mut out = Vec::new();
    baton::chat::shell::run(
        app,
        &actor,
        script.as_bytes(),
        &mut out,
        false,
        Some(sim),
        None,
    )
    .await
    .expect("shell io");
    String::from_utf8(out).expect("utf-8 output")
}

/// What a tracing subscriber writes, kept for a test to read.
#[derive(Clone, Default)]
pub struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    /// Captures every event at `level` or above on this thread until the guard is dropped.
    /// Other tests' threads may have cached "no subscriber wants this" for a callsite before
    /// this subscriber existed, so every callsite is asked again.
    pub fn capture(level: tracing::Level) -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .with_max_level(level)
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        tracing::callsite::rebuild_interest_cache();
        (logs, guard)
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("utf-8 logs")
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
