//! `baton bench`: seeds a synthetic organisation (by default 200 departments, 2,000
//! objectives, 10,000 key results, 1,000,000 check-ins) in its own database and measures
//! `status` warm and cold with its reply rendered, picture drawing, and check-in ingestion
//! (with open prompts) against plain single-row INSERTs, and peak RSS (`core`); the
//! scheduler's whole tick and outbox delivery (`schedule`); `/baton status` over Slack HTTP
//! mode, answer and whole exchange, and paced delivery against the Slack stand-in (`slack`).
//!
//! These suites are benchmarks, not tests: they print figures and judge nothing. The
//! [`soak`] suite is the exception: it runs `baton serve` replicas under faults and fails
//! on any duplicate or lost message.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::app::{Actor, App};
use crate::bot::Command;
use crate::clock::FixedClock;
use crate::domain::*;
use crate::store::bench::BaselineRows;
use crate::store::{SeedRow, Store};

pub mod soak;

#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Departments (default: 200; the soak suite: 40).
    #[arg(long)]
    pub departments: Option<usize>,
    #[arg(long, default_value_t = 2_000)]
    pub objectives: usize,
    #[arg(long, default_value_t = 10_000)]
    pub key_results: usize,
    #[arg(long, default_value_t = 1_000_000)]
    pub checkins: usize,
    /// Timed runs per status measurement, warm and cold each (default 1,000), and of
    /// `/baton status` over Slack; for the soak suite, whole soak runs (default 1).
    #[arg(long)]
    pub runs: Option<usize>,
    /// Timed runs per picture drawn (default: as many as `--runs`).
    #[arg(long)]
    pub picture_runs: Option<usize>,
    /// Runs of each ingestion setting and of the schedule suite's tick (median and spread).
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Check-ins ingested per ingestion measurement.
    #[arg(long, default_value_t = 4_000)]
    pub ingest: usize,
    /// Database to use (dropped and recreated): defaults to `baton_bench` on the same server.
    #[arg(long, default_value = "baton_bench")]
    pub database: String,
    /// What to measure: `core` (status, ingestion, memory), `schedule` (prompt
    /// materialisation and outbox delivery), `slack` (`/baton status` over HTTP mode and
    /// paced outbox delivery against a fake Slack), `soak` (exactly-once delivery by two
    /// `baton serve` replicas under faults, on a Postgres cluster of its own) or `all`
    /// (everything but `soak`).
    #[arg(long, default_value = "all")]
    pub suite: String,
    /// People (all due in the same minute) for the schedule suite (default 10,000) and the
    /// soak suite (default 2,000).
    #[arg(long)]
    pub people: Option<usize>,
    /// Slack suite: timed runs of the paced delivery measurement (median and spread).
    #[arg(long, default_value_t = 3)]
    pub delivery_runs: usize,
    /// Soak: faults to inject: `all`, `none`, or a list of `429`, `500`, `kill`, `pg-restart`.
    #[arg(long, default_value = "all")]
    pub faults: String,
    /// Soak: `baton serve` replicas (separate processes).
    #[arg(long, default_value_t = 2)]
    pub replicas: usize,
    /// Soak: share of stand-in calls answered 429, and the same share answered 500.
    #[arg(long, default_value_t = 0.05)]
    pub error_rate: f64,
    /// Soak: the stand-in's latency per call, in milliseconds.
    #[arg(long, default_value_t = 20)]
    pub latency_ms: u64,
    /// Soak: seconds after the due minute by which everything must be delivered.
    #[arg(long, default_value_t = 600)]
    pub deadline_seconds: u64,
    /// Soak: seconds without any post (and with a quiet outbox) before a run ends.
    #[arg(long, default_value_t = 15)]
    pub settle_seconds: u64,
    /// Soak: seed of the stand-in's fault generator.
    #[arg(long, default_value_t = 12)]
    pub seed: u64,
    /// Soak: the stand-in also enforces Web API tiers for the workspace (conversations.open
    /// and chat.update: Tier 3, 50 a minute).
    #[arg(long)]
    pub slack_tiers: bool,
    /// Soak: keep each run's directory (cluster, logs) even when it passes.
    #[arg(long)]
    pub keep: bool,
}

impl Default for BenchArgs {
    fn default() -> Self {
        BenchArgs {
            departments: None,
            objectives: 2_000,
            key_results: 10_000,
            checkins: 1_000_000,
            runs: None,
            picture_runs: None,
            repeats: 3,
            ingest: 4_000,
            database: "baton_bench".into(),
            suite: "all".into(),
            people: None,
            delivery_runs: 3,
            faults: "all".into(),
            replicas: 2,
            error_rate: 0.05,
            latency_ms: 20,
            deadline_seconds: 600,
            settle_seconds: 15,
            seed: 12,
            slack_tiers: false,
            keep: false,
        }
    }
}

impl BenchArgs {
    /// Departments of the core, schedule and slack suites.
    pub fn departments(&self) -> usize {
        self.departments.unwrap_or(200)
    }

    /// Timed runs of a latency measurement.
    pub fn runs(&self) -> usize {
        self.runs.unwrap_or(1_000)
    }

    /// People of the schedule suite.
    pub fn people(&self) -> usize {
        self.people.unwrap_or(10_000)
    }
}

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn reset_peak_rss() {
    // Writing 5 to clear_refs resets VmHWM (Linux ≥ 4.0); harmless where unsupported.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn percentile(sorted: &[StdDuration], p: f64) -> StdDuration {
    if sorted.is_empty() {
        return StdDuration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: StdDuration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Builds the synthetic organisation.
pub fn synthetic_org(args: &BenchArgs, now: DateTime<Utc>) -> OrgSpec {
    let k = |s: String| Key::parse(&s).expect("synthetic key");
    let c = |s: String| Code::parse(&s).expect("synthetic code");
    let today = now.date_naive();
    let cycle = CycleSpec {
        key: k("bench-cycle".into()),
        starts: today - Duration::days(45),
        ends: today + Duration::days(45),
        name: None,
    };
    let depts = args.departments().max(2);
    let mut people = Vec::new();
    let mut departments = Vec::new();
    for d in 0..depts {
        let members: Vec<Key> = (0..5).map(|i| k(format!("p{d}-{i}"))).collect();
        for m in &members {
            people.push(PersonSpec {
                key: m.clone(),
                name: format!("Person {m}"),
                email: None,
                time_zone: None,
                roles: if d == 0 { vec![Role::Admin] } else { vec![] },
                chat: vec![],
                away: vec![],
                prefer: None,
                working_hours: None,
            });
        }
        departments.push(DepartmentSpec {
            key: k(format!("d{d}")),
            name: format!("Department {d}"),
            parent: (d > 0).then(|| k(format!("d{}", (d - 1) / 10))),
            heads: vec![members[0].clone()],
            members,
            time_zone: None,
            channels: BTreeMap::new(),
            prompts_in_channel: false,
            working_hours: None,
            cadences: vec![CadenceSpec {
                purpose: "checkin".into(),
                rule: [
                    "weekly on mon at 09:00",
                    "biweekly on mon at 09:00",
                    "monthly on last fri at 15:00",
                ][d % 3]
                    .into(),
                layer: Some("operational".into()),
            }],
        });
    }
    let perspectives: Vec<PerspectiveSpec> = [
        Perspective::Learning,
        Perspective::Internal,
        Perspective::Customer,
        Perspective::Financial,
    ]
    .iter()
    .map(|p| PerspectiveSpec {
        perspective: *p,
        label: p.default_label().into(),
    })
    .collect();
    let mut scorecard = Vec::new();
    let mut measures = Vec::new();
    for (pi, p) in perspectives.iter().enumerate() {
        for j in 0..5 {
            let code = c(format!("SC{pi}{j}"));
            scorecard.push(ScorecardObjective {
                code: code.clone(),
                title: format!("Scorecard objective {pi}.{j}"),
                perspective: p.perspective,
                owner: Some(k("p0-0".into())),
                horizon_years: 2,
                weight: 1.0,
            });
            measures.push(MeasureSpec {
                code: c(format!("M{pi}{j}")),
                objective: code,
                title: "Measure".into(),
                unit: "%".into(),
                direction: Direction::Up,
                baseline: Some(10.0),
                target: 90.0,
                red: 20.0,
                band: None,
                lead_lag: LeadLag::Lag,
                source: None,
                cadence: None,
                owner: Some(k("p0-0".into())),
                weight: 1.0,
            });
        }
    }
    let links = (0..3)
        .flat_map(|pi| (0..5).map(move |j| (pi, j)))
        .map(|(pi, j)| LinkSpec {
            from: c(format!("SC{pi}{j}")),
            to: c(format!("SC{}{j}", pi + 1)),
            hypothesis: "drives".into(),
        })
        .collect();
    let per_dept = (args.objectives / depts).max(1);
    let mut objectives = Vec::new();
    for i in 0..args.objectives {
        let d = (i / per_dept).min(depts - 1);
        let first_of_dept = i % per_dept == 0;
        objectives.push(ObjectiveSpec {
            code: c(format!("O{i}")),
            title: format!("Objective {i}"),
            level: if d == 0 {
                Level::Company
            } else {
                Level::Department
            },
            department: Some(k(format!("d{d}"))),
            owner: Some(k(format!("p{d}-0"))),
            cycle: cycle.key.clone(),
            aligns_to: if first_of_dept {
                vec![c(format!("SC{}{}", d % 4, d % 5))]
            } else {
                vec![]
            },
            parent: (!first_of_dept).then(|| c(format!("O{}", i - i % per_dept))),
            weight: 1.0,
            // Exercise the cascade path of the rollup.
            include_children: true,
        });
    }
    let mut key_results = Vec::new();
    let kinds = [
        KrKind::Metric,
        KrKind::Metric,
        KrKind::AtLeast,
        KrKind::AtMost,
        KrKind::Milestone,
    ];
    for i in 0..args.key_results {
        let o = i % args.objectives.max(1);
        let d = (o / per_dept).min(depts - 1);
        let kind = kinds[i % kinds.len()];
        key_results.push(KeyResultSpec {
            code: c(format!("K{i}")),
            objective: c(format!("O{o}")),
            title: format!("Key result {i}"),
            kind,
            unit: "%".into(),
            start: (kind != KrKind::Milestone).then_some(if kind == KrKind::AtMost {
                40.0
            } else {
                10.0
            }),
            target: (kind != KrKind::Milestone).then_some(if kind == KrKind::AtMost {
                20.0
            } else {
                90.0
            }),
            band: None,
            weight: 1.0,
            owner: Some(k(format!("p{d}-{}", 1 + i % 4))),
            due: Some(cycle.ends),
            cadence: None,
        });
    }
    let dependencies = (1..depts.min(40))
        .map(|d| DependencySpec {
            key: k(format!("dep{d}")),
            description: "needs".into(),
            dependent_department: k(format!("d{d}")),
            dependent_ref: None,
            provider_department: k(format!("d{}", (d + 1) % depts)),
            provider_ref: Some(c(format!("K{}", d * 7))),
            importance: Importance::High,
            needed_by: Some(cycle.ends),
            cadence: None,
        })
        .collect();
    OrgSpec {
        org: OrgInfo {
            key: k("bench".into()),
            name: "Bench Corp".into(),
            time_zone: chrono_tz::UTC,
            fiscal_year_start: 1,
            working_hours: None,
        },
        perspectives,
        people,
        departments,
        scorecard,
        measures,
        links,
        cycles: vec![cycle],
        objectives,
        key_results,
        dependencies,
        initiatives: vec![],
        holidays: vec![Holiday {
            date: NaiveDate::from_ymd_opt(2026, 12, 25).expect("date"),
            name: "Christmas".into(),
        }],
        review_templates: Default::default(),
    }
}

fn db_url(base: &str, db: &str) -> String {
    match base.rsplit_once('/') {
        Some((prefix, last))
            if !last.contains('@')
                && prefix.contains("://")
                && prefix.len() > "postgres://".len() =>
        {
            let query = last
                .split_once('?')
                .map(|(_, q)| format!("?{q}"))
                .unwrap_or_default();
            format!("{prefix}/{db}{query}")
        }
        _ => format!("{}/{db}", base.trim_end_matches('/')),
    }
}

pub async fn run(base_url: &str, args: BenchArgs) -> anyhow::Result<()> {
    match args.suite.as_str() {
        "core" => run_core(base_url, &args).await,
        "schedule" => run_schedule(base_url, &args).await,
        "slack" => run_slack(base_url, &args).await,
        "soak" => soak::run(&args).await,
        "all" => {
            run_core(base_url, &args).await?;
            run_schedule(base_url, &args).await?;
            run_slack(base_url, &args).await
        }
        other => {
            anyhow::bail!("unknown suite `{other}`: use core, schedule, slack, soak or all")
        }
    }
}

async fn fresh_database(base_url: &str, name: &str) -> anyhow::Result<(String, Store)> {
    let url = db_url(base_url, name);
    {
        let admin = Store::connect(&db_url(base_url, "postgres"), false).await?;
        admin.drop_database(name).await?;
    }
    let store = Store::connect_sized(&url, true, 8).await?;
    store.migrate().await?;
    Ok((url, store))
}

/// A company of `people` people in `departments` departments, all checking in weekly on
/// Monday at 09:00 UTC, one key result each.
pub fn schedule_org(people: usize, departments: usize, now: DateTime<Utc>) -> OrgSpec {
    let args = BenchArgs {
        departments: Some(departments.max(2)),
        objectives: departments,
        key_results: people,
        checkins: 0,
        ingest: 0,
        people: Some(people),
        ..BenchArgs::default()
    };
    let mut spec = synthetic_org(&args, now);
    let per = people.div_ceil(spec.departments.len());
    spec.people.clear();
    for (d, dept) in spec.departments.iter_mut().enumerate() {
        dept.members = (0..per)
            .map(|i| Key::parse(&format!("s{d}-{i}")).expect("key"))
            .collect();
        dept.heads = vec![dept.members[0].clone()];
        dept.cadences = vec![CadenceSpec {
            purpose: "checkin".into(),
            rule: "weekly on mon at 09:00".into(),
            layer: None,
        }];
        for m in &dept.members {
            spec.people.push(PersonSpec {
                key: m.clone(),
                name: format!("Person {m}"),
                email: None,
                time_zone: None,
                roles: vec![],
                chat: vec![],
                away: vec![],
                prefer: None,
                working_hours: None,
            });
        }
    }
    // One key result per person, in their department's objective.
    let kr_template = spec.key_results[0].clone();
    spec.key_results = spec
        .departments
        .iter()
        .enumerate()
        .flat_map(|(d, dept)| {
            let t = kr_template.clone();
            dept.members
                .iter()
                .enumerate()
                .map(move |(i, m)| KeyResultSpec {
                    code: Code::parse(&format!("K{d}-{i}")).expect("code"),
                    objective: Code::parse(&format!("O{d}")).expect("code"),
                    owner: Some(m.clone()),
                    kind: KrKind::Metric,
                    start: Some(10.0),
                    target: Some(90.0),
                    ..t.clone()
                })
        })
        .collect();
    spec.objectives.truncate(spec.departments.len());
    for (d, o) in spec.objectives.iter_mut().enumerate() {
        o.department = Some(Key::parse(&format!("d{d}")).expect("key"));
        o.owner = spec.departments[d].heads.first().cloned();
        o.parent = None;
    }
    // Dependencies between departments on one of the provider's key results, so the
    // tick's alert evaluation has something to judge.
    let depts = spec.departments.len();
    for dep in spec.dependencies.iter_mut() {
        let provider = (dep.dependent_department.as_str()[1..])
            .parse::<usize>()
            .map_or(0, |d| (d + 1) % depts);
        dep.provider_department = Key::parse(&format!("d{provider}")).expect("key");
        dep.provider_ref = Some(Code::parse(&format!("K{provider}-0")).expect("code"));
    }
    spec
}

async fn run_schedule(base_url: &str, args: &BenchArgs) -> anyhow::Result<()> {
    let (url, store) = fresh_database(base_url, &format!("{}_schedule", args.database)).await?;
    println!(
        "baton bench (schedule) — database {}",
        crate::store::redact_url(&url)
    );
    // Monday 16 November 2026, a minute before everyone's 09:00 check-in.
    let before = Utc
        .with_ymd_and_hms(2026, 11, 16, 8, 59, 0)
        .single()
        .expect("time");
    let spec = schedule_org(args.people(), args.departments(), before);
    let clock = Arc::new(FixedClock::new(before));
    let app = App::new(store.clone(), clock.clone());
    crate::app::apply::apply(&app, &spec, false).await?;
    store.analyze().await?;
    println!(
        "{} people in {} departments, all due Monday 09:00 UTC",
        spec.people.len(),
        spec.departments.len()
    );

    let n = spec.people.len();
    let departments = spec.departments.len();

    // The tick, as the ticker runs it (`run_due`): the organisation's structure loaded
    // (each run is a fresh process's first tick: nothing cached), check-in cadences claimed
    // and their prompts materialised and queued, reminders due, last week's unanswered
    // prompts closed as missed, watermarks advanced, then alert evaluation over the
    // dependencies, review action reminders, and the next wake planned. Run once a week
    // for `repeats` weeks, the outbox delivered in between.
    let adapter = crate::chat::recording::RecordingAdapter::new();
    let (mut ticks, mut queued, mut rates) = (Vec::new(), Vec::new(), Vec::new());
    let mut idle = Vec::new();
    let mut first_queued = StdDuration::ZERO;
    let mut summaries = 0;
    for week in 0..args.repeats.max(1) {
        clock.set(before + Duration::seconds(90) + Duration::weeks(week as i64));
        let app = App::new(store.clone(), clock.clone());
        let t = Instant::now();
        let report = crate::app::schedule::run_due(&app, None).await?;
        let tick = t.elapsed();
        anyhow::ensure!(
            report.prompts_sent as usize == n,
            "expected {n} prompts sent, the tick sent {}",
            report.prompts_sent
        );
        if week == 0 {
            let prompts_queued = store.bench_prompts_in_groups().await?;
            anyhow::ensure!(
                prompts_queued as usize == n,
                "expected {n} queued prompts, found {prompts_queued}"
            );
            summaries = store.bench_outbox_count("checkin_summary").await?;
            anyhow::ensure!(
                summaries as usize == departments,
                "expected a summary per department, found {summaries}"
            );
            first_queued = report.queued_in;
        }
        println!(
            "tick {}, {} prompts sent{}: whole tick {:.0} ms; prompts materialised and committed to the outbox after {:.0} ms",
            week + 1,
            report.prompts_sent,
            if report.prompts_missed > 0 {
                format!(", last week's {} closed as missed", report.prompts_missed)
            } else {
                String::new()
            },
            ms(tick),
            ms(report.queued_in)
        );
        ticks.push(ms(tick));
        queued.push(ms(report.queued_in));

        // Sustained delivery against the recording adapter, one worker. Messages, not
        // outbox rows: a group row fans out into its prompts.
        let t = Instant::now();
        while crate::outbox::deliver_batch(&app, &adapter, "bench", 200, None).await? > 0 {}
        let secs = t.elapsed().as_secs_f64();
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for (_, m) in adapter.take() {
            *kinds.entry(m.kind).or_default() += 1;
        }
        let delivered: usize = kinds.values().sum();
        if week == 0 {
            anyhow::ensure!(
                kinds.get("prompt").copied().unwrap_or(0) == n,
                "delivered {kinds:?}, expected {n} prompts"
            );
        }
        println!(
            "  outbox: delivered {delivered} messages ({}; rendered at send time) in {secs:.1} s: {:.0} messages/s on one worker",
            kinds
                .iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", "),
            delivered as f64 / secs
        );
        rates.push(delivered as f64 / secs);

        // Ticks with nothing due, as the ticker runs between occurrences (structure cached).
        for minute in 1..=10 {
            clock.set(
                before
                    + Duration::seconds(90)
                    + Duration::weeks(week as i64)
                    + Duration::minutes(minute),
            );
            let t = Instant::now();
            let r = crate::app::schedule::run_due(&app, None).await?;
            idle.push(t.elapsed());
            anyhow::ensure!(r.prompts_sent == 0, "an idle tick sent prompts");
        }
    }
    println!(
        "tick → {n} prompts due at once, {} runs (median, min–max): whole tick {} ms, of which prompts materialised and queued {} ms",
        ticks.len(),
        soak::median_text(ticks.clone(), 0),
        soak::median_text(queued.clone(), 0)
    );
    println!(
        "  not exercised: review action items (the bench organisation has none: the reminder pass reads an empty list); check-in reminders (due later in the week); digests and reviews (none declared)"
    );
    println!(
        "tick with nothing due, structure cached: {}",
        latency_text(&mut idle)
    );
    println!(
        "outbox delivery, recording adapter, {} runs: {} messages/s (median, min–max)",
        rates.len(),
        soak::median_text(rates, 0)
    );

    // The baselines: plain batched INSERTs of as many rows of the same shape.
    store.bench_create_baselines().await?;
    let ids: Vec<i64> = (0..n as i64).collect();
    let occ: Vec<chrono::NaiveDateTime> = vec![before.naive_utc(); n];
    let codes: Vec<String> = (0..n).map(|i| format!("K{i}")).collect();
    let times: Vec<DateTime<Utc>> = vec![before; n];
    let states: Vec<&str> = vec!["sent"; n];
    let rows = BaselineRows {
        ids: &ids,
        occurrences: &occ,
        codes: &codes,
        times: &times,
        states: &states,
    };
    let t = Instant::now();
    store.bench_insert_plain(&rows).await?;
    let plain = t.elapsed();
    // A second baseline: the same rows into a copy of the prompts table with its indexes.
    let t = Instant::now();
    store.bench_insert_like(&rows).await?;
    let like = t.elapsed();
    // A third baseline: everything the tick stores, plainly: the same prompt rows and as
    // many outbox rows as it queued (a group per department, a summary per department),
    // into copies of both tables with their indexes, in one transaction.
    store.bench_truncate_like().await?;
    let groups = store.bench_outbox_count("prompts").await? / args.repeats.max(1) as i64;
    let outbox_rows = ((groups + summaries) as usize).min(n);
    let t = Instant::now();
    store.bench_insert_like_both(&rows, outbox_rows).await?;
    let both = t.elapsed();
    let tick = first_queued;
    println!(
        "  the first tick's materialise-and-queue ({:.0} ms) against:",
        ms(tick)
    );
    println!(
        "  plain batched INSERT of {n} rows into a bare table: {:.0} ms (tick = {:.1}×)",
        ms(plain),
        tick.as_secs_f64() / plain.as_secs_f64()
    );
    println!(
        "  plain batched INSERT of {n} rows into a copy of the prompts table: {:.0} ms (tick = {:.1}×)",
        ms(like),
        tick.as_secs_f64() / like.as_secs_f64()
    );
    println!(
        "  plain batched INSERTs of what the tick stores ({n} prompts + {outbox_rows} outbox rows, copies of both tables, one transaction): {:.0} ms (tick = {:.1}×)",
        ms(both),
        tick.as_secs_f64() / both.as_secs_f64()
    );
    Ok(())
}

/// Seeds the synthetic organisation's history: `checkins` check-ins spread over the
/// last 45 days, in chunks so the harness's own memory stays flat; the current figures
/// follow. Returns the rows inserted.
async fn seed_history(
    store: &Store,
    org_id: i64,
    spec: &OrgSpec,
    checkins: usize,
    now: DateTime<Utc>,
    seed: u64,
) -> anyhow::Result<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut inserted = 0u64;
    let chunk = 50_000;
    let mut done = 0;
    while done < checkins {
        let n = chunk.min(checkins - done);
        let rows: Vec<SeedRow> = (0..n)
            .map(|j| {
                let i = rng.random_range(0..spec.key_results.len());
                let kr = &spec.key_results[i];
                let at = now - Duration::minutes(((checkins - done - j) as i64) % (60 * 24 * 45));
                (
                    kr.code.to_string(),
                    kr.owner.as_ref().map(|o| o.to_string()).unwrap_or_default(),
                    rng.random_range(10.0..90.0),
                    Some(Confidence::OnTrack),
                    None,
                    at,
                )
            })
            .collect();
        inserted += store.insert_seed_chunk(org_id, &rows).await?;
        done += n;
    }
    store.refresh_current(org_id).await?;
    store.analyze().await?;
    Ok(inserted)
}

/// p50 and p99 of `times` (sorted in place), as printed: `runs N  p50 … ms  p99 … ms`.
fn latency_text(times: &mut [StdDuration]) -> String {
    times.sort();
    format!(
        "runs {:>5}  p50 {:>7.2} ms  p99 {:>7.2} ms",
        times.len(),
        ms(percentile(times, 0.5)),
        ms(percentile(times, 0.99))
    )
}

/// A `status` as a person gets it: the command run, and its reply rendered as the Slack
/// adapter sends it (Block Kit JSON, serialised). Fails on an error reply.
async fn status_rendered(app: &App, who: &Actor, cmd: &Command) -> anyhow::Result<usize> {
    let r = app.handle(who, cmd.clone(), "bench").await;
    anyhow::ensure!(!r.is_error(), "status failed: {r:?}");
    let body = crate::bot::render::slack::message(&r).to_string();
    Ok(std::hint::black_box(body).len())
}

async fn run_core(base_url: &str, args: &BenchArgs) -> anyhow::Result<()> {
    let args = args.clone();
    let url = db_url(base_url, &args.database);
    println!("baton bench — database {}", crate::store::redact_url(&url));
    // A fresh database each run, so figures are comparable.
    {
        let admin = Store::connect(&db_url(base_url, "postgres"), false).await?;
        admin.drop_database(&args.database).await?;
    }
    let store = Store::connect_sized(&url, true, 8).await?;
    store.migrate().await?;
    let now = Utc
        .with_ymd_and_hms(2026, 11, 16, 12, 0, 0)
        .single()
        .expect("fixed bench time");
    let spec = synthetic_org(&args, now);
    let t = Instant::now();
    // Declared a week ago, so this morning's check-ins (weekly and biweekly on Monday at
    // 09:00) are due when the measurements start: people check in with prompts open.
    let org_id = store
        .apply_spec(&spec, "bench", now - Duration::days(7))
        .await?;
    println!(
        "seeded structure: {} departments, {} people, {} objectives, {} key results in {:.1} s",
        spec.departments.len(),
        spec.people.len(),
        spec.objectives.len(),
        spec.key_results.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let inserted = seed_history(&store, org_id, &spec, args.checkins, now, 7).await?;
    println!(
        "seeded {inserted} check-ins in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let seed_peak = peak_rss_kib();
    reset_peak_rss();

    let clock = Arc::new(FixedClock::new(now));
    let app = App::new(store.clone(), clock.clone());
    let tick = crate::app::schedule::run_due(&app, None).await?;
    let org = app.org(Some("bench")).await?;
    let head = app.actor(org.clone(), "p0-0", Source::Api).await?;

    // Who checks in on what: every metric key result an open prompt waits for.
    let metric: std::collections::HashSet<&str> = spec
        .key_results
        .iter()
        .filter(|k| k.kind == KrKind::Metric)
        .map(|k| k.code.as_str())
        .collect();
    let krs: Vec<(String, String)> = store
        .bench_prompted_codes(org_id)
        .await?
        .into_iter()
        .filter(|(code, _)| metric.contains(code.as_str()))
        .collect();
    anyhow::ensure!(
        !krs.is_empty(),
        "no open prompt waits for a metric key result"
    );
    let mut owners: BTreeMap<String, Actor> = BTreeMap::new();
    for (_, o) in &krs {
        if let std::collections::btree_map::Entry::Vacant(e) = owners.entry(o.clone()) {
            let a = app.actor(org.clone(), e.key(), Source::Api).await?;
            e.insert(a);
        }
    }
    println!(
        "tick at Monday 12:00: {} prompts sent; {} metric key results of {} people wait for a check-in",
        tick.prompts_sent,
        krs.len(),
        owners.len()
    );

    // status: warm (nothing changed since the last one) and cold (right after a check-in
    // moved the figures, so the cached figures are read again and rolled up), each run
    // including the rendering of the reply for Slack.
    let runs = args.runs();
    let (kr_code, kr_owner) = krs[0].clone();
    let mover = owners[&kr_owner].clone();
    let mut rng = ChaCha8Rng::seed_from_u64(300);
    let mut moved = 0usize;
    println!("status, reply rendered for Slack included (p50 and p99 over the runs):");
    for (label, cmd) in [
        ("status (company)", Command::Status(None)),
        (
            "status d17 (department)",
            Command::Status(Some("d17".into())),
        ),
        (
            "status <key result> (reads its check-ins)",
            Command::Status(Some(kr_code.clone())),
        ),
    ] {
        for _ in 0..5 {
            status_rendered(&app, &head, &cmd).await?;
        }
        let mut warm = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            status_rendered(&app, &head, &cmd).await?;
            warm.push(t.elapsed());
        }
        let mut cold = Vec::with_capacity(runs);
        for _ in 0..runs {
            moved += 1;
            let line = format!(
                "{kr_code} {:.1} on track: moved",
                rng.random_range(10.0..90.0)
            );
            let r = app
                .handle_line(&mover, &line, &format!("move-{moved}"))
                .await;
            anyhow::ensure!(!r.is_error(), "check-in failed: {r:?}");
            let t = Instant::now();
            status_rendered(&app, &head, &cmd).await?;
            cold.push(t.elapsed());
        }
        println!("  {label:<42} warm  {}", latency_text(&mut warm));
        println!("  {label:<42} cold  {}", latency_text(&mut cold));
    }

    // Is the strategy working? Evidence for every link (the weekly history read and
    // rolled up, every link's permutation test) and forecasts: every key result at once,
    // and one key result as `kr` asks for it.
    println!("evidence and forecasts (next to status above):");
    {
        let spec = app.spec(org_id).await?;
        let evidence_runs = runs.clamp(1, 20);
        let mut times = Vec::with_capacity(evidence_runs);
        let mut judged = 0;
        for _ in 0..evidence_runs {
            let t = Instant::now();
            judged =
                std::hint::black_box(crate::app::evidence::links(&app, org_id, &spec, now).await?)
                    .len();
            times.push(t.elapsed());
        }
        println!(
            "  {:<42} {}",
            format!("evidence, all {judged} links"),
            latency_text(&mut times)
        );
        let all: Vec<&crate::domain::KeyResultSpec> = spec.key_results.iter().collect();
        let mut times = Vec::with_capacity(evidence_runs);
        let mut n = 0;
        for _ in 0..evidence_runs {
            let t = Instant::now();
            n = crate::app::evidence::forecasts(&app, org_id, &spec, &all, now)
                .await?
                .len();
            times.push(t.elapsed());
        }
        println!(
            "  {:<42} {}",
            format!("forecasts, all {n} key results"),
            latency_text(&mut times)
        );
        let one = spec
            .key_results
            .iter()
            .find(|k| k.code.as_str() == kr_code)
            .ok_or_else(|| anyhow::anyhow!("the moved key result is declared"))?;
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            std::hint::black_box(
                crate::app::evidence::forecast_line(&app, org_id, &spec, one, now).await?,
            );
            times.push(t.elapsed());
        }
        println!(
            "  {:<42} {}",
            "forecast, one key result",
            latency_text(&mut times)
        );
    }

    // Pictures: drawn when an adapter sends them, from the figures at that moment.
    let picture_runs = args.picture_runs.unwrap_or(runs);
    println!("pictures, drawn to PNG (figures read and laid out, rasterised, encoded):");
    for image in [
        crate::bot::reply::ImageRef {
            kind: crate::app::pictures::SCORECARD.into(),
            subject: Some("company".into()),
            alt: String::new(),
        },
        crate::bot::reply::ImageRef {
            kind: crate::app::pictures::KR_TREND.into(),
            subject: Some(kr_code.clone()),
            alt: String::new(),
        },
    ] {
        let mut bytes = 0;
        for _ in 0..3 {
            bytes = crate::app::pictures::render(&app, org_id, &image)
                .await?
                .bytes
                .len();
        }
        let mut times = Vec::with_capacity(picture_runs);
        for _ in 0..picture_runs {
            let t = Instant::now();
            let png = crate::app::pictures::render(&app, org_id, &image).await?;
            times.push(t.elapsed());
            std::hint::black_box(png);
        }
        println!(
            "  {:<42} {}  ({} KiB)",
            format!("{} {}", image.kind, image.subject.as_deref().unwrap_or("")),
            latency_text(&mut times),
            bytes / 1024
        );
    }

    // Ingestion through the app layer (parse, permission check, store, rollup update, the
    // prompts it closes and the summary posts that queues) versus plain single-row INSERTs,
    // on 1 and 8 connections, each setting `repeats` times from the same open prompts.
    let owners = Arc::new(owners);
    let krs = Arc::new(krs);
    let person_ids: Arc<Vec<i64>> = Arc::new(owners.values().map(|a| a.person.id).collect());
    let kr_ids: Arc<Vec<i64>> = Arc::new(store.bench_key_result_ids(org_id, 1000).await?);
    let repeats = args.repeats.max(1);
    println!(
        "ingestion, {} check-ins a run, {repeats} runs a setting, every connection of the pool warmed, with open prompts:",
        args.ingest
    );
    for conns in [1usize, 8] {
        let (mut app_rates, mut plain_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for rep in 0..repeats {
            let pool_store = Store::connect_sized(&url, false, conns as u32).await?;
            let app = Arc::new(App::new(pool_store.clone(), clock.clone()));
            let per = args.ingest / conns;
            // Every connection open and every worker's statements prepared on one.
            pool_store.bench_warm_connections(conns).await?;
            ingest(
                &app,
                &owners,
                &krs,
                conns,
                5,
                &format!("warm-{conns}-{rep}"),
            )
            .await?;
            let open = store.bench_reopen_prompts(org_id).await?;
            let answered = app.metrics.prompts_answered.load(Ordering::Relaxed);
            let t = Instant::now();
            ingest(
                &app,
                &owners,
                &krs,
                conns,
                per,
                &format!("bench-{conns}-{rep}"),
            )
            .await?;
            let app_rate = (per * conns) as f64 / t.elapsed().as_secs_f64();
            let closed = app.metrics.prompts_answered.load(Ordering::Relaxed) - answered;

            let t = Instant::now();
            let mut tasks = Vec::new();
            for w in 0..conns {
                let (store, person_ids, kr_ids) =
                    (pool_store.clone(), person_ids.clone(), kr_ids.clone());
                tasks.push(tokio::spawn(async move {
                    let mut rng = ChaCha8Rng::seed_from_u64(200 + w as u64);
                    for i in 0..per {
                        store
                            .bench_plain_checkin(
                                org_id,
                                kr_ids[rng.random_range(0..kr_ids.len())],
                                person_ids[rng.random_range(0..person_ids.len())],
                                rng.random_range(10.0..90.0),
                                &format!("plain-{conns}-{rep}-{w}-{i}"),
                                now,
                            )
                            .await?;
                    }
                    Ok::<_, crate::store::StoreError>(())
                }));
            }
            for t in tasks {
                t.await??;
            }
            let plain_rate = (per * conns) as f64 / t.elapsed().as_secs_f64();
            println!(
                "  {conns} connection(s), run {}: app {app_rate:>6.0}/s (closed {closed} of {open} open prompts)  plain INSERT {plain_rate:>6.0}/s  ratio {:.0}%",
                rep + 1,
                app_rate / plain_rate * 100.0
            );
            app_rates.push(app_rate);
            plain_rates.push(plain_rate);
            ratios.push(app_rate / plain_rate * 100.0);
        }
        println!(
            "ingest, {conns} connection(s), {} runs: app {}/s  plain INSERT {}/s  ratio {} % (median, min–max)",
            ratios.len(),
            soak::median_text(app_rates, 0),
            soak::median_text(plain_rates, 0),
            soak::median_text(ratios, 0)
        );
    }
    println!(
        "peak RSS: {:.1} MiB while seeding, {:.1} MiB during the measurements",
        seed_peak.unwrap_or(0) as f64 / 1024.0,
        peak_rss_kib().unwrap_or(0) as f64 / 1024.0
    );
    Ok(())
}

/// `per` check-ins on each of `conns` workers through the app layer, on key results that
/// prompts wait for (drawn at random), with idempotency keys starting with `tag`.
async fn ingest(
    app: &Arc<App>,
    owners: &Arc<BTreeMap<String, Actor>>,
    krs: &Arc<Vec<(String, String)>>,
    conns: usize,
    per: usize,
    tag: &str,
) -> anyhow::Result<()> {
    let mut tasks = Vec::new();
    for w in 0..conns {
        let (app, owners, krs) = (app.clone(), owners.clone(), krs.clone());
        let tag = format!("{tag}-{w}");
        tasks.push(tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(100 + w as u64);
            for i in 0..per {
                let (code, owner) = &krs[rng.random_range(0..krs.len())];
                let line = format!("{code} {:.1} on track: bench", rng.random_range(10.0..90.0));
                let r = app
                    .handle_line(&owners[owner], &line, &format!("{tag}-{i}"))
                    .await;
                if r.is_error() {
                    return Err(anyhow::anyhow!("ingest failed: {r:?}"));
                }
            }
            Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(())
}

/// `/baton status` through Slack HTTP mode (signature verification, form parsing, command,
/// Block Kit rendering) on the benchmark organisation, then the sustained outbox rate against
/// a fake Slack Web API that enforces 1 message/s per channel (bursts of 3) on 50 channels.
/// The fake (`chat::slack::fake`) runs in this process on 127.0.0.1; nothing leaves the machine.
async fn run_slack(base_url: &str, args: &BenchArgs) -> anyhow::Result<()> {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use crate::chat::slack::fake::FakeSlack;
    use crate::chat::slack::{SlackBot, sign};
    use serde_json::Value;

    let mut args = args.clone();
    args.departments = Some(args.departments().max(50));
    let name = format!("{}_slack", args.database);
    let (_url, store) = fresh_database(base_url, &name).await?;
    let now = Utc
        .with_ymd_and_hms(2026, 11, 16, 12, 0, 0)
        .single()
        .expect("fixed bench time");
    let mut spec = synthetic_org(&args, now);
    // Fifty askers: the heads of the first fifty departments, each in their department's
    // channel (so no one channel's pacing holds the pictures up).
    const ASKERS: usize = 50;
    for (i, d) in spec.departments.iter_mut().take(ASKERS).enumerate() {
        d.channels.insert("slack".into(), format!("C0BENCH{i:04}"));
    }
    for i in 0..ASKERS {
        let key = format!("p{i}-0");
        if let Some(p) = spec.people.iter_mut().find(|p| p.key.as_str() == key) {
            p.chat.push(ChatIdentity {
                platform: "slack".into(),
                workspace: "T0BENCH".into(),
                user: format!("U0BENCH{i:04}"),
            });
        }
    }
    let org_id = store.apply_spec(&spec, "bench", now).await?;
    // The same history as the core suite's, so status has figures to roll up.
    let seeded = seed_history(&store, org_id, &spec, args.checkins, now, 11).await?;
    println!(
        "slack suite: {} departments, {} key results, {seeded} check-ins",
        spec.departments.len(),
        spec.key_results.len(),
    );

    // 1. /baton status over HTTP mode: the answer (in the ack, or through response_url when
    //    the ack budget runs out), and the whole exchange until its picture is uploaded.
    let fake = FakeSlack::start().await?;
    for i in 0..ASKERS {
        fake.add_user(
            &format!("U0BENCH{i:04}"),
            &format!("p{i}-0@bench.example"),
            "UTC",
        );
    }
    let app = Arc::new(App::new(store.clone(), Arc::new(FixedClock::new(now))));
    let bot = Arc::new(SlackBot::new(
        app.clone(),
        &fake.api_url(),
        &fake.bot_token(),
        None,
    )?);
    let secret = "bench-signing-secret";
    let router = crate::chat::slack::http::routes(bot, secret.to_string().into());
    let ts = now.timestamp().to_string();
    let heading = format!("{} — scorecard", spec.org.name);
    let wait = StdDuration::from_secs(30);
    let (mut answers, mut exchanges) = (Vec::new(), Vec::new());
    let (mut in_ack, mut wrong, mut no_picture, mut uploads) = (0, 0, 0, 0);
    const WARMUP: usize = 5;
    for i in 0..(args.runs() + WARMUP) {
        let asker = i % ASKERS;
        let response = format!("bench-{i}");
        let body = serde_urlencoded::to_string([
            ("team_id", "T0BENCH"),
            ("user_id", &format!("U0BENCH{asker:04}")),
            ("channel_id", &format!("C0BENCH{asker:04}")),
            ("command", "/baton"),
            ("text", "status"),
            ("response_url", &fake.response_url(&response)),
            ("trigger_id", &format!("bench.{i}")),
        ])?;
        let req = Request::post("/slack/commands")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", sign(secret, &ts, body.as_bytes()))
            .body(Body::from(body))?;
        let t = Instant::now();
        let res = router.clone().oneshot(req).await?;
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 22).await?;
        let acked = Instant::now();
        // The answer: the ack's body, or (an empty ack) what arrives at the response_url.
        let (answer, answered_at, from_ack) = if bytes.is_empty() {
            let method = format!("response/{response}");
            fake.wait_for(&method, 1, wait).await;
            match fake.calls(&method).into_iter().next() {
                Some(r) => (r.body, r.at, false),
                None => (Value::Null, acked, false),
            }
        } else {
            (serde_json::from_slice(&bytes)?, acked, true)
        };
        // Only the scorecard counts as an answer: not `{}`, not an error.
        let correct =
            answer["blocks"].to_string().contains(&heading) && answer["response_type"].is_string();
        if !correct {
            if i >= WARMUP {
                wrong += 1;
            }
            continue;
        }
        // The whole exchange ends when the picture is shared (files.completeUploadExternal).
        uploads += 1;
        let uploaded = fake
            .wait_for("files.completeUploadExternal", uploads, wait)
            .await;
        let done = fake
            .calls("files.completeUploadExternal")
            .get(uploads - 1)
            .filter(|r| uploaded && r.ok)
            .map(|r| r.at);
        if i < WARMUP {
            continue;
        }
        in_ack += usize::from(from_ack);
        answers.push(answered_at.saturating_duration_since(t));
        match done {
            Some(at) => exchanges.push(at.saturating_duration_since(t)),
            None => no_picture += 1,
        }
    }
    println!(
        "/baton status over Slack HTTP mode (signed; 50 askers in turn; {} runs, {} correct answers: {} in the ack, {} through response_url; {} wrong or missing, not counted):",
        args.runs(),
        answers.len(),
        in_ack,
        answers.len() - in_ack,
        wrong
    );
    println!(
        "  the answer                               {} (target p99 < 100 ms)",
        latency_text(&mut answers)
    );
    println!(
        "  the whole exchange, picture uploaded     {} ({} answers whose picture never arrived, not counted)",
        latency_text(&mut exchanges),
        no_picture
    );

    // 2. Sustained outbox rate, 50 channels, 1 msg/s each at the fake, measured
    //    `delivery_runs` times (median and spread).
    let mut rates = Vec::new();
    let mut shares = Vec::new();
    for run in 0..args.delivery_runs.max(1) {
        let d = paced_delivery(&store, org_id, &spec, run).await?;
        println!(
            "outbox → fake Slack, run {}: {}/{} posted in {:.1} s = {:.1} msg/s, {:.1}% of the allowance; 429s: {}",
            run + 1,
            d.ok,
            d.total,
            d.elapsed,
            d.rate,
            d.share * 100.0,
            d.limited
        );
        rates.push(d.rate);
        shares.push(d.share * 100.0);
    }
    println!(
        "outbox → fake Slack, 50 channels at 1 msg/s (burst 3), {} runs: {} msg/s, {} % of the allowance (median, min–max; allowance = 50 × (3 + 1 msg/s × elapsed), never capped)",
        rates.len(),
        soak::median_text(rates, 1),
        soak::median_text(shares, 1)
    );
    Ok(())
}

/// One paced delivery measurement.
struct Paced {
    ok: usize,
    total: usize,
    limited: usize,
    elapsed: f64,
    rate: f64,
    /// Delivered ÷ what the stand-in allows in the elapsed time (never capped).
    share: f64,
}

/// Queues `seconds + 3` messages for each of 50 channels and delivers them with 8 workers
/// through the Slack adapter to a fresh fake that enforces 1 msg/s per channel (burst 3).
/// The elapsed time runs from the start of delivery to the last accepted post.
async fn paced_delivery(
    store: &Store,
    org_id: i64,
    spec: &OrgSpec,
    run: usize,
) -> anyhow::Result<Paced> {
    use crate::chat::slack::fake::FakeSlack;
    use crate::chat::slack::{SlackAdapter, SlackBot};

    const CHANNELS: usize = 50;
    const PER_SECOND: f64 = 1.0;
    const BURST: u32 = 3;
    let seconds = 30u64;
    let per_channel = seconds as usize + BURST as usize;
    let fake = FakeSlack::start().await?;
    fake.limit_per_channel(PER_SECOND, BURST);
    let app = Arc::new(App::new(store.clone(), Arc::new(crate::clock::SystemClock)));
    let bot = Arc::new(SlackBot::new(
        app.clone(),
        &fake.api_url(),
        &fake.bot_token(),
        None,
    )?);
    let adapter = Arc::new(SlackAdapter { bot });
    let start_at = app.clock.now();
    let mut tx = store.begin().await?;
    for round in 0..per_channel {
        for d in spec.departments.iter().take(CHANNELS) {
            crate::outbox::enqueue(
                &mut tx,
                org_id,
                &format!("bench:{run}:{}:{round}", d.key),
                &crate::chat::Target::Channel {
                    department: d.key.to_string(),
                },
                &crate::outbox::Payload::Reply {
                    reply: crate::bot::Reply::new().text(format!("digest {round}")),
                },
                start_at,
                start_at,
            )
            .await?;
        }
    }
    tx.commit().await?;
    let total = per_channel * CHANNELS;
    let started = Instant::now();
    let deadline = started + StdDuration::from_secs(seconds + 15);
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..8 {
        let app = app.clone();
        let adapter = adapter.clone();
        workers.spawn(async move {
            while Instant::now() < deadline {
                match crate::outbox::deliver_batch(
                    &app,
                    adapter.as_ref(),
                    &format!("bench-{run}-{w}"),
                    10,
                    None,
                )
                .await
                {
                    Ok(0) => {
                        let left = crate::outbox::depth(&app.store).await.unwrap_or(0);
                        if left == 0 {
                            break;
                        }
                        tokio::time::sleep(StdDuration::from_millis(50)).await;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("outbox batch failed: {e}");
                        tokio::time::sleep(StdDuration::from_millis(200)).await;
                    }
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    let posts = fake.calls("chat.postMessage");
    let accepted: Vec<Instant> = posts
        .iter()
        .filter(|p| p.status == 200)
        .map(|p| p.at)
        .collect();
    let ok = accepted.len();
    let limited = posts.iter().filter(|p| p.status == 429).count();
    let elapsed = accepted
        .iter()
        .max()
        .map_or(0.0, |t| t.saturating_duration_since(started).as_secs_f64());
    // What the platform allows in that time: the burst, then the rate, on every channel.
    let allowance = CHANNELS as f64 * (f64::from(BURST) + PER_SECOND * elapsed);
    Ok(Paced {
        ok,
        total,
        limited,
        elapsed,
        rate: if elapsed > 0.0 {
            ok as f64 / elapsed
        } else {
            0.0
        },
        share: ok as f64 / allowance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_urls_swap_the_database() {
        assert_eq!(
            db_url("postgres://postgres@127.0.0.1:5432/baton", "baton_bench"),
            "postgres://postgres@127.0.0.1:5432/baton_bench"
        );
        assert_eq!(
            db_url("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            db_url("postgres://postgres@127.0.0.1:5432", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
    }

    #[test]
    fn synthetic_org_has_the_requested_size() {
        let args = BenchArgs {
            departments: Some(20),
            objectives: 100,
            key_results: 500,
            checkins: 0,
            runs: Some(1),
            ingest: 1,
            database: "x".into(),
            suite: "core".into(),
            ..BenchArgs::default()
        };
        let now = Utc.with_ymd_and_hms(2026, 11, 16, 12, 0, 0).unwrap();
        let s = synthetic_org(&args, now);
        assert_eq!(
            (s.departments.len(), s.objectives.len(), s.key_results.len()),
            (20, 100, 500)
        );
        assert!(s.key_results.iter().all(|k| k.owner.is_some()));
        let s = schedule_org(1000, 20, now);
        assert_eq!(
            (s.people.len(), s.departments.len(), s.key_results.len()),
            (1000, 20, 1000)
        );
        assert!(s.departments.iter().all(|d| d.cadences.len() == 1));
    }
}
