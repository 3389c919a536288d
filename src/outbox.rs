//! Delivery of the persisted outbox: everything baton says on its own is decided in a
//! transaction that also writes the message (see [`crate::store::outbox`], which owns the
//! SQL), and delivered here by workers.
//!
//! **One sender at a time.** A worker claims a few messages, each under its own fencing
//! token and a [`LEASE`]. Before every send it checks the claim, renews the lease and
//! records that the attempt starts, in one statement; a worker that finds its claim gone
//! stops sending from that message at once. A send is bounded by [`SEND_TIMEOUT`], well
//! inside the lease, so no other worker can take a message over while a send of it is in
//! flight. A group of prompts is handed back [`HAND_BACK`] after it was claimed (measured
//! from the claim), so the work of a large occurrence spreads across workers and replicas.
//!
//! **Uncertain attempts.** An attempt that started and was never seen to finish (the worker
//! was killed, the answer timed out, a 5xx) is recorded as such; whoever sends the message
//! next first asks the platform ([`ChatAdapter::recover`]) whether it landed, and sends
//! only if it did not. Where the platform cannot tell, the message is sent again and
//! counted in `baton_outbox_uncertain_sends_total`.
//!
//! **Concurrency.** A worker sends up to `parallel` messages at once, to different
//! channels; the adapters pace each channel within the platform's limits and say
//! `RateLimited` when a send would have to wait too long.
//!
//! - Failures retry with exponential backoff; a `Retry-After` from the adapter is honoured
//!   exactly; permanent failures are parked as `dead` with the reason.
//! - Each message has a unique idempotency key, so deciding twice queues once.
//! - All times come from the app's clock, so tests control them.

use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use futures_util::StreamExt;

use crate::app::App;
use crate::delivery::{AdapterError, ChatAdapter, Delivered, Outbound, Recovered, Target};
use crate::error::Result;
use crate::metrics::Metrics;
use crate::store::outbox::{self as q, Outcome, PromptGo};
use crate::store::{Store, StoreError, StoreResult};

pub use crate::store::outbox::{Claimed, Payload, depth, depth_by_state, enqueue, next_due};

/// How long a claim is held without renewal before another worker may take it over.
pub const LEASE: Duration = Duration::seconds(30);
/// The longest one send may take; well inside [`LEASE`], which each send renews first.
pub const SEND_TIMEOUT: StdDuration = StdDuration::from_secs(15);
/// A group of prompts is handed back this long after it was claimed.
pub const HAND_BACK: Duration = Duration::seconds(10);
/// Attempts before a message is parked as dead.
pub const MAX_ATTEMPTS: i32 = 8;
/// How long a summary's line or edit waits before looking for its summary again.
pub const PARENT_WAIT: Duration = Duration::seconds(2);
/// Prompts fetched from a group per query.
const GROUP_CHUNK: i64 = 100;

/// Claims up to `limit` due messages for `worker` under [`LEASE`].
pub async fn claim(
    store: &Store,
    worker: &str,
    limit: i64,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Claimed>> {
    q::claim(store, worker, limit, now, LEASE).await
}

/// Backoff after the n-th failed attempt: 2, 4, 8 … seconds, at most five minutes.
pub fn backoff(attempts: i32) -> Duration {
    let secs = 2i64.saturating_pow(attempts.clamp(1, 20) as u32).min(300);
    Duration::seconds(secs)
}

/// Claims and delivers one batch, one message at a time. Returns how many messages were
/// handled.
pub async fn deliver_batch(
    app: &App,
    adapter: &dyn ChatAdapter,
    worker: &str,
    limit: i64,
    metrics: Option<&Metrics>,
) -> Result<usize> {
    Deliverer::new(app, adapter, worker, metrics)
        .batch(limit)
        .await
}

/// One worker's view of the outbox: what it sends through, and how much at once.
pub struct Deliverer<'a> {
    app: &'a App,
    adapter: &'a dyn ChatAdapter,
    worker: &'a str,
    metrics: &'a Metrics,
    parallel: usize,
    send_timeout: StdDuration,
    permits: tokio::sync::Semaphore,
}

/// Why a group stopped sending before its prompts ran out.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stop {
    /// Its time is up: handed back for any worker to continue.
    HandBack,
    /// The platform said wait this long.
    RateLimited(Duration),
    /// Another worker holds it now.
    Lost,
    /// The database failed; the claim runs out and another attempt continues.
    Failed,
}

impl<'a> Deliverer<'a> {
    pub fn new(
        app: &'a App,
        adapter: &'a dyn ChatAdapter,
        worker: &'a str,
        metrics: Option<&'a Metrics>,
    ) -> Deliverer<'a> {
        Deliverer {
            app,
            adapter,
            worker,
            metrics: metrics.unwrap_or(&app.metrics),
            parallel: 1,
            send_timeout: SEND_TIMEOUT,
            permits: tokio::sync::Semaphore::new(1),
        }
    }

    /// Up to `n` sends in flight at once (at least one).
    pub fn parallel(mut self, n: usize) -> Self {
        self.parallel = n.max(1);
        self.permits = tokio::sync::Semaphore::new(self.parallel);
        self
    }

    /// Bounds each send (tests shorten it; it must stay well inside [`LEASE`]).
    pub fn send_timeout(mut self, d: StdDuration) -> Self {
        self.send_timeout = d.min(LEASE.to_std().unwrap_or_default() / 2);
        self
    }

    /// Claims up to `limit` messages and delivers them. Returns how many were handled.
    pub async fn batch(&self, limit: i64) -> Result<usize> {
        let claimed_at = self.app.clock.now();
        let claimed = claim(&self.app.store, self.worker, limit, claimed_at).await?;
        let n = claimed.len();
        if self.parallel == 1 {
            for c in claimed {
                self.one(c, claimed_at).await?;
            }
        } else {
            let results: Vec<Result<()>> = futures_util::stream::iter(claimed)
                .map(|c| self.one(c, claimed_at))
                .buffer_unordered(self.parallel)
                .collect()
                .await;
            results.into_iter().collect::<Result<Vec<()>>>()?;
        }
        Ok(n)
    }

    async fn one(&self, c: Claimed, claimed_at: DateTime<Utc>) -> Result<()> {
        if let Payload::Prompts { .. } = c.payload {
            return self.group(&c, claimed_at).await;
        }
        self.single(&c).await
    }

    fn now(&self) -> DateTime<Utc> {
        self.app.clock.now()
    }

    /// Sends with the bound of [`SEND_TIMEOUT`]; an answer that never came is an uncertain
    /// transient failure.
    async fn send(
        &self,
        to: &Target,
        msg: &Outbound,
        edit: bool,
    ) -> Result<Delivered, AdapterError> {
        let started = Instant::now();
        let fut = async {
            match (edit, to) {
                (true, Target::Thread { department, thread }) => {
                    self.adapter.edit_parent(department, thread, msg).await
                }
                (true, _) => Err(AdapterError::Permanent(
                    "a summary edit needs a thread target".into(),
                )),
                (false, _) => self.adapter.send(to, msg).await,
            }
        };
        let result = match tokio::time::timeout(self.send_timeout, fut).await {
            Ok(r) => r,
            Err(_) => {
                Metrics::add(&self.metrics.uncertain_sends, 1);
                Err(AdapterError::Transient(format!(
                    "no answer within {:?}; the next attempt asks the platform first",
                    self.send_timeout
                )))
            }
        };
        match &result {
            Ok(_) => {
                self.metrics.observe_send(started.elapsed().as_secs_f64());
                Metrics::add(&self.metrics.messages_sent, 1);
            }
            Err(_) => Metrics::add(&self.metrics.send_failures, 1),
        }
        result
    }

    /// Asks the platform about an attempt that was never seen to finish.
    async fn recover(
        &self,
        to: &Target,
        msg: &Outbound,
        since: DateTime<Utc>,
    ) -> Result<Recovered, AdapterError> {
        let r = match tokio::time::timeout(self.send_timeout, self.adapter.recover(to, msg, since))
            .await
        {
            Ok(r) => r?,
            Err(_) => return Err(AdapterError::Transient("recovery lookup timed out".into())),
        };
        match &r {
            Recovered::Landed(_) => Metrics::add(&self.metrics.recovered_sends, 1),
            Recovered::Absent | Recovered::Idempotent => {}
            Recovered::Unknown => Metrics::add(&self.metrics.uncertain_sends, 1),
        }
        tracing::info!(key = %msg.idempotency_key, outcome = ?r, "asked the platform about an unfinished attempt");
        Ok(r)
    }

    /// One message of its own.
    async fn single(&self, c: &Claimed) -> Result<()> {
        let app = self.app;
        // A summary's lines and edits wait for the summary itself: a line sent first would
        // start a second thread, and an edit would have nothing to replace.
        if let Payload::SummaryLine { summary_id, .. } | Payload::SummaryEdit { summary_id } =
            &c.payload
        {
            let key = crate::app::summaries::summary_key(*summary_id);
            match q::state_of(&app.store, &key).await?.as_deref() {
                Some("sent") => {}
                Some("pending" | "sending") => {
                    q::put_back(&app.store, c, self.now() + PARENT_WAIT).await?;
                    return Ok(());
                }
                // The summary will never be posted: an edit has nothing to replace, and a
                // line starts the thread itself.
                _ if matches!(c.payload, Payload::SummaryEdit { .. }) => {
                    self.finish(c, Outcome::new("dropped")).await?;
                    return Ok(());
                }
                _ => {}
            }
        }
        // An alert's edits wait for the alert's first message, like a summary's.
        if let Payload::AlertEdit { alert } = &c.payload {
            let key = crate::app::alerts::alert_key(c.org_id, *alert, "open");
            match q::state_of(&app.store, &key).await?.as_deref() {
                Some("sent") => {}
                Some("pending" | "sending") => {
                    q::put_back(&app.store, c, self.now() + PARENT_WAIT).await?;
                    return Ok(());
                }
                _ => {
                    self.finish(c, Outcome::new("dropped")).await?;
                    return Ok(());
                }
            }
        }
        let reply = match &c.payload {
            Payload::Reply { reply } => Some(reply.clone()),
            Payload::Prompt { prompt_id } => {
                crate::app::schedule::render_prompt(app, c.org_id, *prompt_id, false).await?
            }
            Payload::Reminder { prompt_id } => {
                crate::app::schedule::render_prompt(app, c.org_id, *prompt_id, true).await?
            }
            Payload::Prompts { .. } => unreachable!("groups are delivered by `group`"),
            Payload::CheckinSummary { summary_id } | Payload::SummaryEdit { summary_id } => {
                crate::app::summaries::render(app, c.org_id, *summary_id).await?
            }
            Payload::SummaryLine {
                summary_id,
                prompt_id,
            } => crate::app::summaries::render_line(app, c.org_id, *summary_id, *prompt_id).await?,
            Payload::AlertEdit { alert } => {
                crate::app::alerts::render_current(app, c.org_id, *alert).await?
            }
        };
        let Some(reply) = reply else {
            // Answered, skipped or snoozed before delivery: nothing to say any more.
            self.finish(c, Outcome::new("dropped")).await?;
            return Ok(());
        };
        let msg = Outbound {
            org_id: c.org_id,
            kind: c.kind.clone(),
            idempotency_key: c.key.clone(),
            reply,
        };
        let edit = matches!(
            c.payload,
            Payload::SummaryEdit { .. } | Payload::AlertEdit { .. }
        );
        let _permit = self.permits.acquire().await.expect("never closed");
        // An edit replaces the parent whole, so repeating one is harmless: no lookup.
        if let (Some(since), false) = (c.uncertain_since, edit) {
            match self.recover(&c.target, &msg, since).await {
                Ok(Recovered::Landed(d)) => {
                    let o = Outcome {
                        delivered: serde_json::to_value(d).ok(),
                        ..Outcome::new("sent")
                    };
                    self.finish(c, o).await?;
                    return Ok(());
                }
                Ok(Recovered::Absent | Recovered::Idempotent | Recovered::Unknown) => {}
                Err(e) => {
                    let o = self.failed(c, &e, true);
                    self.finish(c, o).await?;
                    return Ok(());
                }
            }
        }
        if !q::begin_attempt(&app.store, c, self.now(), LEASE).await? {
            self.lost(c.id);
            return Ok(());
        }
        let result = self.send(&c.target, &msg, edit).await;
        let o = match result {
            Ok(d) => Outcome {
                delivered: serde_json::to_value(d).ok(),
                ..Outcome::new("sent")
            },
            Err(e) => {
                tracing::warn!(message = c.id, attempts = c.attempts, error = %e, "delivery failed");
                self.failed(c, &e, !edit)
            }
        };
        self.finish(c, o).await?;
        Ok(())
    }

    /// What a failed attempt leaves behind.
    fn failed(&self, c: &Claimed, e: &AdapterError, uncertain: bool) -> Outcome {
        let now = self.now();
        match e {
            // A 429 means the platform refused it: nothing landed.
            AdapterError::RateLimited { retry_after } => Outcome {
                not_before: Some(now + chrono_wait(*retry_after)),
                error: Some(e.to_string()),
                ..Outcome::new("pending")
            },
            AdapterError::Transient(_) if c.attempts < MAX_ATTEMPTS => Outcome {
                not_before: Some(now + backoff(c.attempts)),
                error: Some(e.to_string()),
                uncertain,
                ..Outcome::new("pending")
            },
            _ => {
                tracing::error!(message = c.id, key = %c.key, error = %e, "message parked as dead");
                Outcome {
                    error: Some(e.to_string()),
                    ..Outcome::new("dead")
                }
            }
        }
    }

    async fn finish(&self, c: &Claimed, o: Outcome) -> StoreResult<()> {
        let store = &self.app.store;
        let now = self.now();
        if !persist(|| q::finish(store, c, &o, now)).await? {
            self.lost(c.id);
            return Ok(());
        }
        match o.state {
            "dead" => Metrics::add(&self.metrics.dead_letters, 1),
            // A group's own lag is its prompts' (observed one by one as they leave).
            "sent" if !matches!(c.payload, Payload::Prompts { .. }) => self.observe_lag(c.due, now),
            _ => {}
        }
        Ok(())
    }

    fn observe_lag(&self, due: DateTime<Utc>, sent: DateTime<Utc>) {
        self.metrics
            .observe_lag((sent - due).num_milliseconds() as f64 / 1000.0);
    }

    fn lost(&self, id: i64) {
        Metrics::add(&self.metrics.lost_claims, 1);
        tracing::info!(worker = %self.worker, message = id, "claim lost to another worker; it stops sending this message");
    }

    /// Delivers a group of prompts, each under its own idempotency key (`prompt:<id>`) and
    /// to its own person, or to the department's channel when the department takes prompts
    /// there. Each prompt is marked `delivered_at` once it left the group, so a group
    /// claimed again (after a crash, or when its worker handed it back) continues where it
    /// stopped; one whose attempt started and was never seen to finish is first looked up.
    ///
    /// - A prompt answered meanwhile is dropped (rendering says there is nothing to ask).
    /// - A 429 stops the group until the platform's `Retry-After`.
    /// - Any other failure moves that one prompt into an outbox message of its own, retried
    ///   (transient) or parked as dead (permanent) by the usual rules; the group goes on.
    async fn group(&self, c: &Claimed, claimed_at: DateTime<Utc>) -> Result<()> {
        let Payload::Prompts {
            cadence_id,
            occurrence,
            due_at,
        } = c.payload
        else {
            unreachable!("a group")
        };
        let store = &self.app.store;
        let Some((scope, scope_key)) = q::cadence_scope(store, c.org_id, cadence_id).await? else {
            self.finish(c, Outcome::new("dropped")).await?;
            return Ok(());
        };
        let spec = self.app.spec_recent(c.org_id).await?;
        let in_channel = scope == "department"
            && spec
                .departments
                .iter()
                .any(|d| d.key.as_str() == scope_key && d.prompts_in_channel);
        let channel = in_channel.then_some(scope_key.as_str());
        let stop: Mutex<Option<Stop>> = Mutex::new(None);
        loop {
            let chunk =
                q::group_prompts(store, c.org_id, cadence_id, occurrence, due_at, GROUP_CHUNK)
                    .await?;
            if chunk.is_empty() {
                self.finish(c, Outcome::new("sent")).await?;
                return Ok(());
            }
            let results: Vec<Result<()>> = futures_util::stream::iter(chunk)
                .map(|p| self.group_prompt(c, p, channel, claimed_at, &stop))
                .buffer_unordered(self.parallel)
                .collect()
                .await;
            let failed = results.into_iter().find_map(|r| r.err());
            let stopped = *stop.lock().expect("stop");
            match (stopped, failed) {
                (_, Some(e)) => return Err(e),
                (None, None) => continue,
                (Some(Stop::Lost | Stop::Failed), _) => return Ok(()),
                (Some(Stop::HandBack), _) => {
                    if !q::put_back(store, c, self.now()).await? {
                        self.lost(c.id);
                    }
                    return Ok(());
                }
                (Some(Stop::RateLimited(wait)), _) => {
                    if !q::put_back(store, c, self.now() + wait).await? {
                        self.lost(c.id);
                    }
                    return Ok(());
                }
            }
        }
    }

    /// One prompt of a claimed group; sets `stop` when the group must stop sending.
    async fn group_prompt(
        &self,
        c: &Claimed,
        p: q::GroupPrompt,
        channel: Option<&str>,
        claimed_at: DateTime<Utc>,
        stop: &Mutex<Option<Stop>>,
    ) -> Result<()> {
        let halt = |s: Stop| {
            let mut g = stop.lock().expect("stop");
            if g.is_none() || s == Stop::Lost {
                *g = Some(s);
            }
        };
        let stopped = || stop.lock().expect("stop").is_some();
        if stopped() {
            return Ok(());
        }
        let _permit = self.permits.acquire().await.expect("never closed");
        if stopped() {
            return Ok(());
        }
        // Hand the rest back a while after the claim, so the work spreads across workers.
        if self.now() - claimed_at >= HAND_BACK {
            halt(Stop::HandBack);
            return Ok(());
        }
        let app = self.app;
        let store = &app.store;
        let result = async {
            let Some(reply) = crate::app::schedule::render_prompt(app, c.org_id, p.id, false).await?
            else {
                q::prompt_delivered(store, c.org_id, p.id, self.now()).await?;
                return Ok(());
            };
            let target = match channel {
                Some(department) => Target::Channel {
                    department: department.to_string(),
                },
                None => Target::Person {
                    person: p.person.clone(),
                },
            };
            let msg = Outbound {
                org_id: c.org_id,
                kind: "prompt".into(),
                idempotency_key: format!("prompt:{}", p.id),
                reply,
            };
            if let Some(since) = p.uncertain_since {
                match self.recover(&target, &msg, since).await {
                    Ok(Recovered::Landed(_)) => {
                        q::prompt_delivered(store, c.org_id, p.id, self.now()).await?;
                        return Ok(());
                    }
                    Ok(Recovered::Absent | Recovered::Idempotent | Recovered::Unknown) => {}
                    Err(AdapterError::RateLimited { retry_after }) => {
                        halt(Stop::RateLimited(chrono_wait(retry_after)));
                        return Ok(());
                    }
                    Err(e) => {
                        self.spill(c, p.id, &target, &e, &halt).await?;
                        return Ok(());
                    }
                }
            }
            match q::begin_prompt(store, c, p.id, self.now(), LEASE).await? {
                PromptGo::Send => {}
                PromptGo::Done => return Ok(()),
                PromptGo::Lost => {
                    self.lost(c.id);
                    halt(Stop::Lost);
                    return Ok(());
                }
            }
            match self.send(&target, &msg, false).await {
                Ok(_) => {
                    let now = self.now();
                    persist(|| q::prompt_delivered(store, c.org_id, p.id, now)).await?;
                    self.observe_lag(c.due, now);
                }
                Err(AdapterError::RateLimited { retry_after }) => {
                    halt(Stop::RateLimited(chrono_wait(retry_after)));
                    // Refused, so nothing landed: no lookup needed next time.
                    q::prompt_not_started(store, c.org_id, p.id).await?;
                }
                Err(e) => {
                    tracing::warn!(prompt = p.id, error = %e, "prompt delivery failed; it continues on its own");
                    self.spill(c, p.id, &target, &e, &halt).await?;
                }
            }
            Ok::<(), crate::error::AppError>(())
        }
        .await;
        if result.is_err() {
            halt(Stop::Failed);
        }
        result
    }

    /// Moves one prompt into an outbox message of its own after a failed attempt.
    async fn spill(
        &self,
        c: &Claimed,
        prompt_id: i64,
        target: &Target,
        e: &AdapterError,
        halt: &impl Fn(Stop),
    ) -> Result<()> {
        let now = self.now();
        let (state, not_before) = match e {
            AdapterError::Transient(_) => ("pending", now + backoff(1)),
            _ => ("dead", now),
        };
        let held = q::spill(
            &self.app.store,
            c,
            prompt_id,
            target,
            state,
            not_before,
            &e.to_string(),
            state == "pending",
            now,
        )
        .await?;
        if !held {
            self.lost(c.id);
            halt(Stop::Lost);
        } else if state == "dead" {
            Metrics::add(&self.metrics.dead_letters, 1);
            tracing::error!(prompt = prompt_id, error = %e, "prompt parked as dead");
        }
        Ok(())
    }
}

fn chrono_wait(d: StdDuration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::seconds(1))
}

/// Runs a write that records something that already happened (a send), retrying while
/// the database is unavailable (a restart), so the record is not lost to a short outage.
/// Gives up after about six seconds; the attempt's start is on record, so whoever sends
/// next asks the platform before sending again.
async fn persist<T, F, Fut>(f: F) -> StoreResult<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = StoreResult<T>>,
{
    let mut wait = StdDuration::from_millis(100);
    let mut tries = 0;
    loop {
        match f().await {
            Err(StoreError::Unavailable(e)) if tries < 6 => {
                tracing::warn!(error = %e, "recording a delivery failed; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(StdDuration::from_secs(2));
                tries += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1), Duration::seconds(2));
        assert_eq!(backoff(3), Duration::seconds(8));
        assert_eq!(backoff(30), Duration::seconds(300));
    }

    #[test]
    fn a_send_always_ends_well_inside_the_lease() {
        assert!(SEND_TIMEOUT * 2 <= LEASE.to_std().unwrap());
        assert!(HAND_BACK < LEASE);
    }
}
