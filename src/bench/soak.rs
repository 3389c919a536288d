//! `baton bench --suite soak`: proves exactly-once delivery end to end, under faults.
//!
//! One run:
//! 1. starts a Postgres cluster of its own (binaries from `/usr/lib/postgresql/<major>/bin`,
//!    run as the `postgres` OS user because initdb and postgres refuse root; data directory
//!    and unix socket in a fresh temporary directory; 127.0.0.1 on a free port; trust auth).
//!    It never touches any other cluster and stops its own on every exit path ([`Cluster`]'s
//!    `Drop`, and Ctrl-C drops everything);
//! 2. starts the Slack Web API stand-in ([`FakeSlack`]) in this process: a latency per call,
//!    Slack's chat.postMessage pacing per channel enforced exactly, and (with faults) a seeded
//!    fraction of calls answered 429 with `Retry-After` or 500;
//! 3. applies an organisation of `people` people in `departments` departments, each with a
//!    Slack identity and every department with a channel, all checking in daily at the same
//!    minute, shortly after the harness started;
//! 4. runs `replicas` copies of `baton serve` (this very binary) as separate processes in
//!    Slack HTTP mode against the stand-in, logging into the temporary directory;
//! 5. injects the faults: `kill -9` of the replica whose workers hold the most claimed outbox
//!    rows once a quarter of the prompts went out (then its restart), and `pg_ctl restart -m
//!    fast` of the cluster at half;
//! 6. waits until every expected prompt and department summary was accepted by the stand-in
//!    (or the deadline passes), then until nothing was posted for the settle period with the
//!    outbox quiet, to catch late duplicates;
//! 7. prints expected / delivered / duplicates / lost / due → last delivery / delivery rate
//!    and fails on any duplicate or loss.
//!
//! What counts: the stand-in counts accepted posts per idempotency key
//! (`metadata.event_payload.key`). A post counts when the stand-in accepted it, even if the
//! replica died before reading the answer (that is what Slack does). A duplicate is every
//! accepted post beyond the first for a key; a loss is an expected key never accepted.
//!
//! This is a harness, not a unit test: it paces itself by wall-clock time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use chrono::{DateTime, Duration, Timelike, Utc};
use tokio::process::{Child, Command};

use crate::app::App;
use crate::chat::slack::fake::FakeSlack;
use crate::clock::SystemClock;
use crate::domain::*;
use crate::embedded::{Auth, Embedded, Options as EmbeddedOptions, free_port};
use crate::store::Store;

use super::{BenchArgs, schedule_org};

/// Which faults a soak run injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Faults {
    pub rate_limits: bool,
    pub server_errors: bool,
    pub kill: bool,
    pub pg_restart: bool,
}

impl Faults {
    pub const ALL: Faults = Faults {
        rate_limits: true,
        server_errors: true,
        kill: true,
        pg_restart: true,
    };

    /// `all`, `none`, or a comma-separated list of `429`, `500`, `kill`, `pg-restart`.
    pub fn parse(s: &str) -> Result<Faults, String> {
        match s.trim() {
            "all" => return Ok(Faults::ALL),
            "none" | "" => return Ok(Faults::default()),
            _ => {}
        }
        let mut f = Faults::default();
        for part in s.split(',').map(str::trim) {
            match part {
                "429" => f.rate_limits = true,
                "500" | "5xx" => f.server_errors = true,
                "kill" => f.kill = true,
                "pg-restart" | "pg" => f.pg_restart = true,
                other => {
                    return Err(format!(
                        "unknown fault `{other}`: use all, none, or a list of 429, 500, kill, pg-restart"
                    ));
                }
            }
        }
        Ok(f)
    }

    fn describe(&self, rate: f64) -> String {
        let mut v = Vec::new();
        if self.rate_limits {
            v.push(format!("{:.0} % 429", rate * 100.0));
        }
        if self.server_errors {
            v.push(format!("{:.0} % 500", rate * 100.0));
        }
        if self.kill {
            v.push("kill -9 of the busiest replica".into());
        }
        if self.pg_restart {
            v.push("Postgres restart".into());
        }
        if v.is_empty() {
            "none".into()
        } else {
            v.join(", ")
        }
    }
}

/// The soak's knobs (from [`BenchArgs`]).
#[derive(Debug, Clone)]
pub struct SoakOptions {
    pub people: usize,
    pub departments: usize,
    pub runs: usize,
    pub replicas: usize,
    pub faults: Faults,
    /// Share of calls answered 429, and the same share answered 500 (when those faults are on).
    pub error_rate: f64,
    pub latency: StdDuration,
    /// From the due minute until every prompt must have been delivered.
    pub deadline: StdDuration,
    /// How long nothing may be posted before the run ends (late duplicates).
    pub settle: StdDuration,
    pub seed: u64,
    /// Enforce Web API tiers (conversations.open and chat.update: Tier 3) as well.
    pub tiers: bool,
    /// Keep the temporary directory (cluster, logs) even when the run passes.
    pub keep: bool,
}

impl SoakOptions {
    pub fn from_args(a: &BenchArgs) -> anyhow::Result<SoakOptions> {
        Ok(SoakOptions {
            people: a.people.unwrap_or(2_000),
            departments: a.departments.unwrap_or(40),
            runs: a.runs.unwrap_or(1).max(1),
            replicas: a.replicas.max(1),
            faults: Faults::parse(&a.faults).map_err(anyhow::Error::msg)?,
            error_rate: a.error_rate,
            latency: StdDuration::from_millis(a.latency_ms),
            deadline: StdDuration::from_secs(a.deadline_seconds),
            settle: StdDuration::from_secs(a.settle_seconds),
            seed: a.seed,
            tiers: a.slack_tiers,
            keep: a.keep,
        })
    }
}

// ---------------------------------------------------------------------------------------
// The harness's own Postgres cluster.

/// The harness's own Postgres cluster: baton's embedded one ([`crate::embedded`]: the
/// machine's binaries, run as the `postgres` OS user, loopback on a free port), with trust
/// authentication and room for the replicas' pools. Dropping it stops the server and,
/// unless told to keep it, removes its directory.
pub type Cluster = Embedded;

/// initdb into `dir/data` and start the server on a free loopback port.
async fn start_cluster(dir: &Path) -> anyhow::Result<Cluster> {
    Embedded::start(
        dir,
        EmbeddedOptions {
            auth: Auth::Trust,
            keep: false,
            max_connections: Some(200),
            binaries: None,
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------
// Replicas.

/// One `baton serve` child process. Dropping it kills the process.
struct Replica {
    index: usize,
    child: Child,
    pid: u32,
    log: PathBuf,
    /// Set when the harness killed it on purpose.
    killed: bool,
}

struct ReplicaEnv {
    exe: PathBuf,
    database_url: String,
    api_url: String,
    dir: PathBuf,
}

fn spawn_replica(env: &ReplicaEnv, index: usize, port: u16) -> anyhow::Result<Replica> {
    let log = env.dir.join(format!("replica-{index}.log"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let mut cmd = Command::new(&env.exe);
    cmd.arg("serve");
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str()
            && (k.starts_with("BATON_") || k == "DATABASE_URL")
        {
            cmd.env_remove(k);
        }
    }
    cmd.env("BATON_DATABASE_URL", &env.database_url)
        .env("BATON_HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("BATON_SLACK_BOT_TOKEN", crate::chat::slack::fake::BOT_TOKEN)
        .env("BATON_SLACK_SIGNING_SECRET", "soak-signing-secret")
        .env("BATON_SLACK_MODE", "http")
        .env("BATON_SLACK_API_URL", &env.api_url)
        .env("BATON_TICK_SECONDS", "5")
        .env("BATON_SHUTDOWN_GRACE_SECONDS", "5")
        .env("BATON_LOG", "info,sqlx=warn")
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {} serve", env.exe.display()))?;
    let pid = child.id().context("the replica exited at once")?;
    Ok(Replica {
        index,
        child,
        pid,
        log,
        killed: false,
    })
}

/// The pid in a worker name `worker-<host>-<pid>-<n>`.
pub fn worker_pid(worker: &str) -> Option<u32> {
    let mut parts = worker.rsplitn(3, '-');
    let _n = parts.next()?;
    parts.next()?.parse().ok()
}

// ---------------------------------------------------------------------------------------
// The run.

/// The figures of one soak run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub expected_prompts: usize,
    pub expected_summaries: usize,
    pub delivered_prompts: usize,
    pub delivered_summaries: usize,
    /// Accepted posts beyond the first per key, by kind.
    pub duplicates: HashMap<String, u64>,
    pub duplicate_keys: usize,
    pub lost: Vec<String>,
    /// From the due minute to the last first delivery of an expected key.
    pub due_to_last: Option<StdDuration>,
    /// From the due minute to the first post.
    pub due_to_first: Option<StdDuration>,
    /// Prompts and summaries delivered ÷ `due_to_last`.
    pub rate: f64,
    /// The earliest duplicate post, after the due minute.
    pub first_duplicate: Option<StdDuration>,
    pub notes: Vec<String>,
}

impl RunReport {
    pub fn duplicates_total(&self) -> u64 {
        self.duplicates.values().sum()
    }

    pub fn passed(&self) -> bool {
        self.duplicates_total() == 0 && self.lost.is_empty()
    }
}

/// The soak organisation: `people` people in `departments` departments, each person with a
/// Slack identity and each department with a channel, all checking in daily at `due`
/// (UTC, minute precision).
pub fn soak_org(people: usize, departments: usize, due: DateTime<Utc>) -> OrgSpec {
    let mut spec = schedule_org(people, departments, due - Duration::minutes(5));
    let rule = format!("daily at {:02}:{:02}", due.hour(), due.minute());
    let mut n = 0usize;
    let mut seen = std::collections::HashSet::new();
    for (d, dept) in spec.departments.iter_mut().enumerate() {
        dept.cadences = vec![CadenceSpec {
            purpose: "checkin".into(),
            rule: rule.clone(),
            layer: None,
        }];
        dept.channels
            .insert("slack".into(), format!("C0SOAK{d:04}"));
        for m in &dept.members {
            seen.insert(m.clone());
        }
    }
    for p in spec.people.iter_mut() {
        p.chat = vec![ChatIdentity {
            platform: "slack".into(),
            workspace: "T0SOAK".into(),
            user: format!("U0SOAK{n:06}"),
        }];
        n += 1;
    }
    debug_assert_eq!(seen.len(), spec.people.len());
    spec.org.key = Key::parse("soak").expect("key");
    spec.org.name = "Soak Corp".into();
    spec
}

/// The next whole minute at least `lead` from `now`.
pub fn due_minute(now: DateTime<Utc>, lead: Duration) -> DateTime<Utc> {
    let t = now + lead;
    let floor = t
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .expect("a valid instant");
    if floor == t {
        floor
    } else {
        floor + Duration::minutes(1)
    }
}

fn secs(d: StdDuration) -> f64 {
    d.as_secs_f64()
}

/// Which replica's workers hold the most claimed outbox rows: (replica index, rows).
async fn busiest(store: &Store, replicas: &[Replica]) -> Option<(usize, i64)> {
    let rows = store.bench_claims_by_worker().await.ok()?;
    let mut by_pid: HashMap<u32, i64> = HashMap::new();
    for (w, n) in rows {
        if let Some(pid) = worker_pid(&w) {
            *by_pid.entry(pid).or_default() += n;
        }
    }
    replicas
        .iter()
        .filter(|r| !r.killed)
        .filter_map(|r| by_pid.get(&r.pid).map(|n| (r.index, *n)))
        .max_by_key(|(_, n)| *n)
}

/// Outbox rows being worked on or due within a few seconds.
async fn outbox_busy(store: &Store) -> Option<i64> {
    store.bench_outbox_busy().await.ok()
}

/// One soak run in `dir` (which it owns).
async fn run_once(opts: &SoakOptions, run: usize, dir: &Path) -> anyhow::Result<RunReport> {
    let started = Instant::now();
    let mut notes = Vec::new();
    let mut cluster = start_cluster(dir).await?;
    cluster.keep = true; // Until the run has passed.
    println!(
        "  Postgres cluster of the harness on 127.0.0.1:{} (data in {})",
        cluster.port,
        cluster.dir.join("data").display()
    );

    let fake = FakeSlack::start().await?;
    fake.forget_bodies();
    fake.set_latency(opts.latency);
    // Slack's chat.postMessage pacing: one per second per channel, short bursts.
    fake.limit_per_channel(1.0, 3);
    if opts.tiers {
        fake.limit_method("conversations.open", 50.0, 50);
        fake.limit_method("chat.update", 50.0, 50);
    }
    let (r429, r500) = (
        if opts.faults.rate_limits {
            opts.error_rate
        } else {
            0.0
        },
        if opts.faults.server_errors {
            opts.error_rate
        } else {
            0.0
        },
    );
    if r429 > 0.0 || r500 > 0.0 {
        fake.chaos(
            r429,
            r500,
            1,
            &["chat.postMessage", "chat.update", "conversations.open"],
            opts.seed.wrapping_add(run as u64),
        );
    }

    let url = cluster.url("baton");
    let store = Store::connect_sized(&url, true, 4).await?;
    store.migrate().await?;
    let app = App::new(store.clone(), Arc::new(SystemClock));
    let lead = Duration::seconds(10 + (opts.people / 200) as i64);
    let due = due_minute(Utc::now(), lead);
    let spec = soak_org(opts.people, opts.departments, due);
    let people = spec.people.len();
    let t = Instant::now();
    crate::app::apply::apply(&app, &spec, false).await?;
    println!(
        "  applied {} people in {} departments in {:.1} s; all due at {} UTC",
        spec.people.len(),
        spec.departments.len(),
        secs(t.elapsed()),
        due.format("%H:%M:%S")
    );
    anyhow::ensure!(
        Utc::now() + Duration::seconds(3) < due,
        "applying the organisation took too long: it is already (nearly) {due}"
    );
    let org_id = app.org(Some("soak")).await?.id;

    let env = ReplicaEnv {
        exe: std::env::current_exe().context("cannot find the baton binary")?,
        database_url: url.clone(),
        api_url: fake.api_url(),
        dir: dir.to_path_buf(),
    };
    let ports: Vec<u16> = (0..opts.replicas)
        .map(|_| free_port())
        .collect::<Result<_, _>>()?;
    let mut replicas: Vec<Replica> = (0..opts.replicas)
        .map(|i| spawn_replica(&env, i, ports[i]))
        .collect::<Result<_, _>>()?;
    println!(
        "  {} replicas: {}",
        replicas.len(),
        replicas
            .iter()
            .map(|r| format!("pid {} (log {})", r.pid, r.log.display()))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Wall clock ↔ monotonic clock, to place the due minute among the stand-in's instants.
    let (anchor_i, anchor_u) = (Instant::now(), Utc::now());
    let due_i = anchor_i + (due - anchor_u).to_std().unwrap_or_default();
    let since_due = |i: Instant| i.saturating_duration_since(due_i);
    let expected = people + spec.departments.len();
    let delivered_of = |kind: &str| {
        fake.posts_by_key()
            .values()
            .filter(|k| k.kind == kind)
            .count()
    };

    // Delivery, with faults.
    let hard_end = due_i + opts.deadline;
    let mut killed_at: Option<Instant> = None;
    let mut restarted = false;
    let mut pg_done = false;
    let mut exited_early = Vec::new();
    loop {
        tokio::time::sleep(StdDuration::from_millis(200)).await;
        let now = Instant::now();
        let (keys, _) = fake.post_totals();
        let prompts = delivered_of("prompt");
        for r in replicas.iter_mut() {
            if !r.killed
                && let Ok(Some(status)) = r.child.try_wait()
            {
                exited_early.push(format!(
                    "replica {} (pid {}) exited on its own: {status}; log {}",
                    r.index,
                    r.pid,
                    r.log.display()
                ));
                r.killed = true;
            }
        }
        if !exited_early.is_empty() {
            anyhow::bail!("{}", exited_early.join("; "));
        }
        if opts.faults.kill && killed_at.is_none() && prompts * 4 >= people && now > due_i {
            let pick = match busiest(&store, &replicas).await {
                Some(p) => Some(p),
                // Nothing claimed right now: try again, but do not miss the fan-out.
                None if prompts * 5 >= people * 4 => Some((replicas.len() - 1, 0)),
                None => None,
            };
            if let Some((i, rows)) = pick {
                let r = &mut replicas[i];
                r.killed = true;
                let _ = r.child.start_kill();
                let _ = r.child.wait().await;
                let msg = format!(
                    "kill -9 of replica {i} (pid {}) holding {rows} claimed outbox rows, {prompts}/{} prompts out, {:.1} s after due",
                    r.pid,
                    people,
                    secs(since_due(now))
                );
                println!("  {msg}");
                notes.push(msg);
                killed_at = Some(Instant::now());
            }
        }
        if let Some(at) = killed_at
            && !restarted
            && at.elapsed() >= StdDuration::from_secs(3)
        {
            let i = replicas
                .iter()
                .position(|r| r.killed)
                .expect("a killed replica");
            let r = spawn_replica(&env, i, ports[i])?;
            let msg = format!(
                "restarted replica {i} as pid {}, {:.1} s after due",
                r.pid,
                secs(since_due(Instant::now()))
            );
            println!("  {msg}");
            notes.push(msg);
            replicas[i] = r;
            restarted = true;
        }
        if opts.faults.pg_restart
            && !pg_done
            && prompts * 2 >= people
            && (!opts.faults.kill || killed_at.is_some())
        {
            let t = Instant::now();
            cluster.restart().await?;
            let msg = format!(
                "Postgres restarted (-m fast) in {:.1} s, {prompts}/{} prompts out, {:.1} s after due",
                secs(t.elapsed()),
                people,
                secs(since_due(t))
            );
            println!("  {msg}");
            notes.push(msg);
            pg_done = true;
        }
        let faults_done = (!opts.faults.kill || restarted) && (!opts.faults.pg_restart || pg_done);
        if keys >= expected
            && delivered_of("prompt") >= people
            && delivered_of("checkin_summary") >= spec.departments.len()
            && faults_done
        {
            break;
        }
        if now > hard_end {
            notes.push(format!(
                "deadline of {:.0} s after due passed with {prompts}/{} prompts delivered",
                secs(opts.deadline),
                people
            ));
            break;
        }
    }
    let delivered_at = Instant::now();
    println!(
        "  delivered; settling until nothing is posted for {:.0} s and the outbox is quiet",
        secs(opts.settle)
    );
    // Settle: catch late duplicates (a lease running out, a worker that lost its claim).
    let settle_end = delivered_at + opts.settle.max(StdDuration::from_secs(1)) * 12;
    loop {
        tokio::time::sleep(StdDuration::from_millis(500)).await;
        let quiet_since = fake
            .last_call("chat.postMessage")
            .map_or(StdDuration::MAX, |t| t.elapsed());
        let busy = outbox_busy(&store).await.unwrap_or(1);
        if quiet_since >= opts.settle && busy == 0 {
            break;
        }
        if Instant::now() > settle_end {
            notes.push(format!(
                "the outbox was not quiet after {:.0} s of settling ({busy} rows due or claimed)",
                secs(settle_end - delivered_at)
            ));
            break;
        }
    }
    let posts = fake.posts_by_key();
    for r in replicas.iter_mut() {
        let _ = r.child.start_kill();
        let _ = r.child.wait().await;
    }

    // What was expected, from the harness's database.
    let (prompt_ids, summary_ids) = store.bench_prompt_and_summary_ids(org_id).await?;
    let dead = store.bench_dead(5).await?;
    for (k, e) in dead {
        notes.push(format!(
            "dead in the outbox: {k}: {}",
            e.unwrap_or_default()
        ));
    }
    if prompt_ids.len() != people {
        notes.push(format!(
            "{} prompts materialised for {} people",
            prompt_ids.len(),
            people
        ));
    }
    let mut lost: Vec<String> = prompt_ids
        .iter()
        .map(|id| format!("prompt:{id}"))
        .chain(
            summary_ids
                .iter()
                .map(|id| crate::app::summaries::summary_key(*id)),
        )
        .filter(|k| !posts.contains_key(k))
        .collect();
    // People who never got a prompt row at all are lost too.
    for i in prompt_ids.len()..people {
        lost.push(format!("person #{i} (no prompt materialised)"));
    }
    for i in summary_ids.len()..spec.departments.len() {
        lost.push(format!("department #{i} (no summary materialised)"));
    }
    let mut duplicates: HashMap<String, u64> = HashMap::new();
    let mut duplicate_keys = 0;
    let mut first_duplicate: Option<Instant> = None;
    let mut examples = Vec::new();
    for (key, p) in &posts {
        if p.count > 1 {
            duplicate_keys += 1;
            *duplicates.entry(p.kind.clone()).or_default() += u64::from(p.count - 1);
            let second = p.at[1];
            first_duplicate = Some(first_duplicate.map_or(second, |f| f.min(second)));
            if examples.len() < 5 {
                examples.push(format!(
                    "{key} ×{} at {}",
                    p.count,
                    p.at.iter()
                        .map(|t| format!("{:.1} s", secs(since_due(*t))))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    if !examples.is_empty() {
        notes.push(format!("duplicates, e.g.: {}", examples.join("; ")));
    }
    let expected_keys: Vec<String> = prompt_ids
        .iter()
        .map(|id| format!("prompt:{id}"))
        .chain(
            summary_ids
                .iter()
                .map(|id| crate::app::summaries::summary_key(*id)),
        )
        .collect();
    let firsts: Vec<Instant> = expected_keys
        .iter()
        .filter_map(|k| posts.get(k).map(|p| p.at[0]))
        .collect();
    let last = firsts.iter().max().copied();
    let first = firsts.iter().min().copied();
    let due_to_last = last.map(since_due);
    let delivered_prompts = prompt_ids
        .iter()
        .filter(|id| posts.contains_key(&format!("prompt:{id}")))
        .count();
    let delivered_summaries = summary_ids
        .iter()
        .filter(|id| posts.contains_key(&crate::app::summaries::summary_key(**id)))
        .count();
    let rate = match due_to_last {
        Some(d) if !d.is_zero() => firsts.len() as f64 / secs(d),
        _ => 0.0,
    };
    let report = RunReport {
        expected_prompts: people,
        expected_summaries: spec.departments.len(),
        delivered_prompts,
        delivered_summaries,
        duplicates,
        duplicate_keys,
        lost,
        due_to_last,
        due_to_first: first.map(since_due),
        rate,
        first_duplicate: first_duplicate.map(since_due),
        notes,
    };
    let stand_in = format!(
        "stand-in: {} chat.postMessage calls, {} answered 429, {} answered 500; chat.update {}",
        fake.calls("chat.postMessage").len(),
        fake.count("chat.postMessage", 429),
        fake.count("chat.postMessage", 500),
        fake.calls("chat.update").len(),
    );
    println!("  {stand_in}");
    store.close().await;
    let passed = report.passed();
    if !passed {
        println!(
            "  kept for inspection: {} (replica logs replica-<n>.log, postgres.log)",
            dir.display()
        );
        for r in &replicas {
            if let Some(s) = log_summary(&r.log) {
                println!("  replica {} log: {s}", r.index);
            }
        }
    }
    cluster.keep = !passed || opts.keep;
    drop(cluster);
    println!("  run took {:.0} s", secs(started.elapsed()));
    Ok(report)
}

/// Counts of warnings and errors in a replica's log, and the first few distinct ones.
fn log_summary(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut warn = 0;
    let mut err = 0;
    let mut samples: Vec<String> = Vec::new();
    for line in text.lines() {
        let is_err = line.contains("ERROR");
        let is_warn = line.contains("WARN");
        if is_err {
            err += 1;
        } else if is_warn {
            warn += 1;
        } else {
            continue;
        }
        // The message without the timestamp, shortened.
        let msg: String = line
            .split_once(' ')
            .map_or(line, |(_, rest)| rest)
            .chars()
            .take(160)
            .collect();
        let head: String = msg.chars().take(60).collect();
        if samples.len() < 3 && !samples.iter().any(|s| s.starts_with(&head)) {
            samples.push(msg);
        }
    }
    Some(format!(
        "{err} ERROR, {warn} WARN lines{}{}",
        if samples.is_empty() { "" } else { "; e.g. " },
        samples.join(" | ")
    ))
}

fn print_report(r: &RunReport) {
    let dup_by_kind = if r.duplicates.is_empty() {
        String::new()
    } else {
        let mut v: Vec<_> = r.duplicates.iter().collect();
        v.sort();
        format!(
            " ({})",
            v.iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    println!(
        "  expected {} prompts + {} department summaries",
        r.expected_prompts, r.expected_summaries
    );
    println!(
        "  delivered {} prompts + {} summaries",
        r.delivered_prompts, r.delivered_summaries
    );
    println!(
        "  duplicates {} extra posts over {} keys{dup_by_kind}{}",
        r.duplicates_total(),
        r.duplicate_keys,
        r.first_duplicate
            .map(|d| format!("; the first {:.1} s after due", secs(d)))
            .unwrap_or_default()
    );
    println!(
        "  lost {}{}",
        r.lost.len(),
        if r.lost.is_empty() {
            String::new()
        } else {
            format!(
                " (e.g. {})",
                r.lost
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    match r.due_to_last {
        Some(d) => println!(
            "  due → first post {:.1} s, due → last delivery {:.1} s; delivery rate {:.1} msg/s",
            r.due_to_first.map_or(0.0, secs),
            secs(d),
            r.rate
        ),
        None => println!("  nothing was delivered"),
    }
    for n in &r.notes {
        println!("  note: {n}");
    }
}

fn median_spread(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    let median = if v.is_empty() {
        0.0
    } else if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (
        median,
        v.first().copied().unwrap_or(0.0),
        v.last().copied().unwrap_or(0.0),
    )
}

/// Median and spread as `median (min–max)`.
pub fn median_text(v: Vec<f64>, digits: usize) -> String {
    let (m, lo, hi) = median_spread(v);
    format!("{m:.digits$} ({lo:.digits$}–{hi:.digits$})")
}

/// The soak suite: `runs` runs, each from scratch; fails on any duplicate or loss.
pub async fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let opts = SoakOptions::from_args(args)?;
    println!(
        "baton bench (soak) — {} people in {} departments, {} replicas, stand-in latency {} ms, Slack pacing 1 msg/s per channel (burst 3){}, faults: {}",
        opts.people,
        opts.departments,
        opts.replicas,
        opts.latency.as_millis(),
        if opts.tiers {
            ", Tier 3 (50/min) on conversations.open and chat.update"
        } else {
            ""
        },
        opts.faults.describe(opts.error_rate)
    );
    let work = async {
        let mut reports = Vec::new();
        for run in 0..opts.runs {
            println!("run {}/{}", run + 1, opts.runs);
            let dir = std::env::temp_dir().join(format!(
                "baton-soak-{}-{run}-{}",
                std::process::id(),
                Utc::now().timestamp_millis()
            ));
            std::fs::create_dir_all(&dir)?;
            let r = match run_once(&opts, run, &dir).await {
                Ok(r) => r,
                Err(e) => {
                    return Err(e.context(format!(
                        "soak run {} failed; its directory (logs) is {}",
                        run + 1,
                        dir.display()
                    )));
                }
            };
            print_report(&r);
            reports.push(r);
        }
        Ok::<_, anyhow::Error>(reports)
    };
    let reports = tokio::select! {
        r = work => r?,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted; the harness's cluster and replicas were stopped"),
    };
    if reports.len() > 1 {
        println!(
            "over {} runs: delivery rate {} msg/s; due → last delivery {} s (median, min–max)",
            reports.len(),
            median_text(reports.iter().map(|r| r.rate).collect(), 1),
            median_text(
                reports
                    .iter()
                    .map(|r| r.due_to_last.map_or(f64::NAN, secs))
                    .collect(),
                1
            ),
        );
    }
    if opts.faults == Faults::default() {
        println!(
            "  the stand-in's pacing (1 msg/s per channel, burst 3) does not bind here: every prompt goes to its own DM, one summary per department channel; the target is ≥ 50 msg/s"
        );
    }
    let dups: u64 = reports.iter().map(RunReport::duplicates_total).sum();
    let lost: usize = reports.iter().map(|r| r.lost.len()).sum();
    anyhow::ensure!(
        dups == 0 && lost == 0,
        "soak failed: {dups} duplicate posts and {lost} lost messages over {} run(s)",
        reports.len()
    );
    println!("soak passed: every prompt and summary delivered exactly once");
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn faults_parse() {
        assert_eq!(Faults::parse("all"), Ok(Faults::ALL));
        assert_eq!(Faults::parse("none"), Ok(Faults::default()));
        let f = Faults::parse("429,kill").unwrap();
        assert!(f.rate_limits && f.kill && !f.server_errors && !f.pg_restart);
        assert!(Faults::parse("fire").unwrap_err().contains("fire"));
    }

    #[test]
    fn worker_names_give_the_pid() {
        assert_eq!(worker_pid("worker-host-1234-2"), Some(1234));
        assert_eq!(worker_pid("worker-my-host-name-77-1"), Some(77));
        assert_eq!(worker_pid("bench-1"), None);
    }

    #[test]
    fn due_is_a_whole_minute_after_the_lead() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 22, 41, 50).unwrap();
        assert_eq!(
            due_minute(now, Duration::seconds(15)),
            Utc.with_ymd_and_hms(2026, 12, 1, 22, 43, 0).unwrap()
        );
        assert_eq!(
            due_minute(now, Duration::seconds(10)),
            Utc.with_ymd_and_hms(2026, 12, 1, 22, 42, 0).unwrap()
        );
    }

    #[test]
    fn the_soak_org_reaches_everyone_on_slack() {
        let due = Utc.with_ymd_and_hms(2026, 12, 1, 23, 59, 0).unwrap();
        let s = soak_org(300, 40, due);
        assert_eq!((s.people.len() >= 300, s.departments.len()), (true, 40));
        assert!(s.people.iter().all(|p| p.chat.len() == 1));
        let users: std::collections::HashSet<_> =
            s.people.iter().map(|p| p.chat[0].user.clone()).collect();
        assert_eq!(users.len(), s.people.len());
        assert!(
            s.departments
                .iter()
                .all(|d| d.channels.contains_key("slack") && d.cadences[0].rule == "daily at 23:59")
        );
    }

    #[test]
    fn medians_and_spread() {
        assert_eq!(median_text(vec![3.0, 1.0, 2.0], 1), "2.0 (1.0–3.0)");
        assert_eq!(median_text(vec![4.0, 2.0], 0), "3 (2–4)");
    }
}
