//! Fixed-time housekeeping on tokio-cron-scheduler, the scheduler the design names: the
//! jobs of [`JOBS`], in UTC.
//!
//! - **retention** (daily): deletes finished outbox messages, seen inbound-delivery ids
//!   and old job-run records past `retention_days`;
//! - **idle-review-sweep** (every 5 minutes): reviews idle for the configured time close
//!   themselves and post their summaries ([`crate::app::housekeeping::idle_review_sweep`]);
//! - **self-check** (daily): a light `baton doctor` written to the log.
//!
//! Why only these: tokio-cron-scheduler freezes a zone's UTC offset when a job is created
//! and does not replay missed runs, so cadences (prompts, digests, reviews) stay on baton's
//! own DST-exact engine ([`crate::app::schedule::run_due`]); here every schedule is UTC and
//! a missed run simply waits for the next slot.
//!
//! Every replica runs the scheduler; each run is claimed in Postgres first (`job_runs`,
//! keyed by job name and scheduled instant, `INSERT … ON CONFLICT DO NOTHING`), so exactly
//! one replica runs it. A failed run is recorded as failed and not retried before its next
//! slot. The job bodies are plain async functions of `now` ([`Housekeeper::run_task`]);
//! the scheduler only decides when. On shutdown the scheduler is stopped
//! (`JobScheduler::shutdown`), no new run starts, and a run in progress finishes (within
//! `serve`'s grace period).

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Duration, Timelike, Utc};
use tokio::sync::{Semaphore, mpsc};
use tokio_cron_scheduler::{Job, JobScheduler};

use crate::app::App;
use crate::config::Settings;
use crate::shutdown::Shutdown;

/// When a job runs, in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// At second 0 of every `n`th minute of the hour (`n` divides 60).
    EveryMinutes(u32),
    /// Once a day at `hour:minute`.
    DailyAt { hour: u32, minute: u32 },
    /// Every second (tests of the scheduler itself).
    EverySecond,
}

impl When {
    /// The cron line (tokio-cron-scheduler's, seconds first), evaluated in UTC.
    pub fn cron(self) -> String {
        match self {
            When::EveryMinutes(n) => format!("0 */{n} * * * *"),
            When::DailyAt { hour, minute } => format!("0 {minute} {hour} * * *"),
            When::EverySecond => "* * * * * *".to_string(),
        }
    }

    /// The scheduled instant a run at `now` belongs to: the latest firing at or before
    /// `now`. Every replica computes the same one, which is what the claim is keyed by.
    pub fn slot(self, now: DateTime<Utc>) -> DateTime<Utc> {
        let second = now.with_nanosecond(0).unwrap_or(now);
        let minute = second.with_second(0).unwrap_or(second);
        match self {
            When::EverySecond => second,
            When::EveryMinutes(n) => {
                let n = n.clamp(1, 60);
                minute
                    .with_minute(minute.minute() - minute.minute() % n)
                    .unwrap_or(minute)
            }
            When::DailyAt { hour, minute: m } => {
                let today = now
                    .date_naive()
                    .and_hms_opt(hour, m, 0)
                    .map(|t| t.and_utc())
                    .unwrap_or(minute);
                if today <= now {
                    today
                } else {
                    today - Duration::days(1)
                }
            }
        }
    }
}

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Retention,
    IdleReviewSweep,
    SelfCheck,
}

/// One fixed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobSpec {
    /// The claim key and the name in the log.
    pub name: &'static str,
    pub when: When,
    pub task: Task,
}

/// The jobs `baton serve` runs.
pub const JOBS: &[JobSpec] = &[
    JobSpec {
        name: "retention",
        when: When::DailyAt {
            hour: 3,
            minute: 17,
        },
        task: Task::Retention,
    },
    JobSpec {
        name: "idle-review-sweep",
        when: When::EveryMinutes(5),
        task: Task::IdleReviewSweep,
    },
    JobSpec {
        name: "self-check",
        when: When::DailyAt { hour: 6, minute: 0 },
        task: Task::SelfCheck,
    },
];

/// One run as the scheduler saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub job: &'static str,
    pub scheduled_at: DateTime<Utc>,
    /// Whether this replica won the claim (and so ran the job).
    pub claimed: bool,
    /// `ok: …` or `failed: …` when claimed.
    pub outcome: String,
}

/// What the scheduler reports to whoever listens (tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Ran(Ran),
    /// The scheduler was shut down.
    Stopped,
}

/// Runs the jobs' bodies: the app (its store and clock), the settings they read, and the
/// name this replica claims runs under.
pub struct Housekeeper {
    pub app: Arc<App>,
    pub settings: Arc<Settings>,
    pub holder: String,
    events: Option<mpsc::UnboundedSender<Event>>,
}

impl Housekeeper {
    pub fn new(app: Arc<App>, settings: Arc<Settings>, holder: impl Into<String>) -> Self {
        Housekeeper {
            app,
            settings,
            holder: holder.into(),
            events: None,
        }
    }

    /// Also report every run (and the stop) on a channel.
    pub fn with_events(mut self, events: mpsc::UnboundedSender<Event>) -> Self {
        self.events = Some(events);
        self
    }

    fn report(&self, e: Event) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    /// Runs one job's body at `now` (no claim) and says what it did.
    pub async fn run_task(&self, task: Task, now: DateTime<Utc>) -> anyhow::Result<String> {
        let app = &self.app;
        Ok(match task {
            Task::Retention => {
                let r = crate::app::housekeeping::retention(app, now, self.settings.retention())
                    .await?;
                format!(
                    "deleted {} finished outbox message(s), {} seen delivery id(s), {} job run(s)",
                    r.outbox, r.deliveries, r.job_runs
                )
            }
            Task::IdleReviewSweep => {
                let n = crate::app::housekeeping::idle_review_sweep(app, now).await?;
                format!("{n} idle review(s) closed")
            }
            Task::SelfCheck => {
                let report = crate::doctor::self_check(app, &self.settings, now).await;
                for c in &report.checks {
                    if c.ok {
                        tracing::info!(check = %c.what, "self-check ✔");
                    } else {
                        tracing::warn!(
                            check = %c.what,
                            fix = c.fix.as_deref().unwrap_or(""),
                            "self-check ✖"
                        );
                    }
                }
                let failed = report.checks.iter().filter(|c| !c.ok).count();
                format!("{} check(s), {failed} failed", report.checks.len())
            }
        })
    }

    /// Claims the run of `job` for the slot `now` falls in and, if this replica won the
    /// claim, runs it and records how it ended.
    pub async fn run_claimed(&self, job: &JobSpec, now: DateTime<Utc>) -> anyhow::Result<Ran> {
        let store = &self.app.store;
        let slot = job.when.slot(now);
        if !store
            .claim_job_run(job.name, slot, &self.holder, now)
            .await
            .with_context(|| format!("cannot claim the {} run of {slot}", job.name))?
        {
            return Ok(Ran {
                job: job.name,
                scheduled_at: slot,
                claimed: false,
                outcome: "claimed by another replica".to_string(),
            });
        }
        let outcome = match self.run_task(job.task, now).await {
            Ok(s) => format!("ok: {s}"),
            Err(e) => format!("failed: {e:#}"),
        };
        store
            .finish_job_run(job.name, slot, &outcome, self.app.clock.now())
            .await?;
        Ok(Ran {
            job: job.name,
            scheduled_at: slot,
            claimed: true,
            outcome,
        })
    }
}

/// Runs in progress at once, at most (a gate: shutdown takes every permit).
const MAX_RUNNING: u32 = 64;

/// The running scheduler.
pub struct Housekeeping {
    scheduler: JobScheduler,
    gate: Arc<Semaphore>,
}

impl Housekeeping {
    /// Adds `jobs` to a new scheduler and starts it.
    pub async fn start(keeper: Arc<Housekeeper>, jobs: &[JobSpec]) -> anyhow::Result<Self> {
        let mut scheduler = JobScheduler::new()
            .await
            .context("cannot create the housekeeping scheduler")?;
        let gate = Arc::new(Semaphore::new(MAX_RUNNING as usize));
        for spec in jobs.iter().copied() {
            let keeper = keeper.clone();
            let gate = gate.clone();
            let job = Job::new_async(spec.when.cron(), move |_id, _scheduler| {
                let keeper = keeper.clone();
                let gate = gate.clone();
                Box::pin(async move {
                    // Shutting down (or stopped): start nothing new.
                    let Ok(_running) = gate.try_acquire_owned() else {
                        return;
                    };
                    let now = keeper.app.clock.now();
                    match keeper.run_claimed(&spec, now).await {
                        Ok(ran) => {
                            if ran.claimed {
                                tracing::info!(job = ran.job, scheduled_at = %ran.scheduled_at, outcome = %ran.outcome, "housekeeping");
                            } else {
                                tracing::debug!(job = ran.job, scheduled_at = %ran.scheduled_at, "housekeeping run taken by another replica");
                            }
                            keeper.report(Event::Ran(ran));
                        }
                        Err(e) => {
                            tracing::warn!(job = spec.name, error = %format!("{e:#}"), "housekeeping run failed")
                        }
                    }
                })
            })
            .with_context(|| format!("bad schedule for the {} job", spec.name))?;
            scheduler.add(job).await?;
        }
        let stopped = keeper.clone();
        scheduler.set_shutdown_handler(Box::new(move || {
            let keeper = stopped.clone();
            Box::pin(async move {
                tracing::info!("housekeeping scheduler stopped");
                keeper.report(Event::Stopped);
            })
        }));
        scheduler
            .start()
            .await
            .context("cannot start the housekeeping scheduler")?;
        tracing::info!(
            jobs = ?jobs.iter().map(|j| j.name).collect::<Vec<_>>(),
            "housekeeping started (UTC)"
        );
        Ok(Housekeeping { scheduler, gate })
    }

    /// Stops the scheduler and waits for the runs in progress to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.scheduler
            .shutdown()
            .await
            .context("cannot stop the housekeeping scheduler")?;
        // Every permit back means nothing runs; holding them keeps it so.
        let _all = self.gate.acquire_many(MAX_RUNNING).await;
        self.gate.close();
        Ok(())
    }
}

/// Runs the housekeeping scheduler until `shutdown` is triggered, then stops it.
pub async fn run(
    keeper: Arc<Housekeeper>,
    jobs: &'static [JobSpec],
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let housekeeping = Housekeeping::start(keeper, jobs).await?;
    shutdown.wait().await;
    housekeeping.stop().await
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 16, h, m, s).unwrap() + Duration::milliseconds(250)
    }

    #[test]
    fn every_replica_computes_the_same_slot() {
        let five = When::EveryMinutes(5);
        assert_eq!(five.cron(), "0 */5 * * * *");
        assert_eq!(
            five.slot(at(12, 7, 3)),
            at(12, 5, 0) - Duration::milliseconds(250)
        );
        assert_eq!(
            five.slot(at(12, 10, 0)),
            at(12, 10, 0) - Duration::milliseconds(250)
        );
        let daily = When::DailyAt {
            hour: 3,
            minute: 17,
        };
        assert_eq!(daily.cron(), "0 17 3 * * *");
        // After today's firing: today's; before it: yesterday's.
        assert_eq!(
            daily.slot(at(9, 0, 0)),
            Utc.with_ymd_and_hms(2026, 11, 16, 3, 17, 0).unwrap()
        );
        assert_eq!(
            daily.slot(at(2, 0, 0)),
            Utc.with_ymd_and_hms(2026, 11, 15, 3, 17, 0).unwrap()
        );
        assert_eq!(
            When::EverySecond.slot(at(1, 2, 3)),
            at(1, 2, 3) - Duration::milliseconds(250)
        );
    }

    #[test]
    fn the_jobs_are_retention_the_idle_review_sweep_and_the_self_check() {
        let names: Vec<&str> = JOBS.iter().map(|j| j.name).collect();
        assert_eq!(names, ["retention", "idle-review-sweep", "self-check"]);
    }
}
