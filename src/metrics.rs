//! Process metrics, exposed in Prometheus text format on `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the send-latency histogram buckets.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// Upper bounds (seconds) of the delivery-lag histogram buckets (due → sent).
const LAG_BUCKETS: [f64; 11] = [
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 21600.0,
];

pub use crate::refused::Refusal;

/// A fixed-bucket histogram.
struct Histogram<const N: usize> {
    bounds: [f64; N],
    buckets: [AtomicU64; N],
    count: AtomicU64,
    /// Sum of observations in microseconds.
    sum_us: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    fn new(bounds: [f64; N]) -> Self {
        Histogram {
            bounds,
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }

    fn observe(&self, seconds: f64) {
        let seconds = seconds.max(0.0);
        for (i, b) in self.bounds.iter().enumerate() {
            if seconds <= *b {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (i, b) in self.bounds.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{b}\"}} {}",
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

pub struct Metrics {
    pub prompts_sent: AtomicU64,
    pub prompts_answered: AtomicU64,
    pub prompts_missed: AtomicU64,
    pub reminders_sent: AtomicU64,
    pub digests_posted: AtomicU64,
    pub messages_sent: AtomicU64,
    pub send_failures: AtomicU64,
    /// Sends whose outcome was never seen and that the platform could not account for.
    pub uncertain_sends: AtomicU64,
    /// Unfinished attempts the platform showed had landed (so not sent again).
    pub recovered_sends: AtomicU64,
    /// Claims a worker found taken over before it sent.
    pub lost_claims: AtomicU64,
    /// Messages (and prompts of a group) this process parked as dead.
    pub dead_letters: AtomicU64,
    send: Histogram<{ BUCKETS.len() }>,
    lag: Histogram<{ LAG_BUCKETS.len() }>,
    /// 429 answers per platform.
    rate_limited: Mutex<BTreeMap<String, u64>>,
    /// Refused requests per platform and reason.
    /// Refused requests per platform and reason (logged at most once a minute each).
    refusals: crate::refused::Refused,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            prompts_sent: AtomicU64::new(0),
            prompts_answered: AtomicU64::new(0),
            prompts_missed: AtomicU64::new(0),
            reminders_sent: AtomicU64::new(0),
            digests_posted: AtomicU64::new(0),
            messages_sent: AtomicU64::new(0),
            send_failures: AtomicU64::new(0),
            uncertain_sends: AtomicU64::new(0),
            recovered_sends: AtomicU64::new(0),
            lost_claims: AtomicU64::new(0),
            dead_letters: AtomicU64::new(0),
            send: Histogram::new(BUCKETS),
            lag: Histogram::new(LAG_BUCKETS),
            rate_limited: Mutex::new(BTreeMap::new()),
            refusals: Default::default(),
        }
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn observe_send(&self, seconds: f64) {
        self.send.observe(seconds);
    }

    /// A message (or one prompt of a group) was delivered `seconds` after it was due.
    pub fn observe_lag(&self, seconds: f64) {
        self.lag.observe(seconds);
    }

    /// A platform answered 429.
    pub fn rate_limited(&self, platform: &str) {
        *self
            .rate_limited
            .lock()
            .expect("metrics")
            .entry(platform.to_string())
            .or_default() += 1;
    }

    /// A request was refused: counted, and logged at most once a minute per reason.
    pub fn refused(&self, platform: &str, why: Refusal) {
        self.refusals.refuse(platform, why);
    }

    /// How many requests were refused for one platform and reason.
    pub fn refused_total(&self, platform: &str, why: Refusal) -> u64 {
        self.refusals.total(platform, why)
    }

    /// Renders every metric; `outbox_depth` is read from the database by the caller.
    pub fn render(&self, outbox_depth: Option<i64>) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        };
        counter(
            &mut out,
            "baton_prompts_sent_total",
            "Check-in prompts queued for sending.",
            &self.prompts_sent,
        );
        counter(
            &mut out,
            "baton_prompts_answered_total",
            "Prompts closed by a check-in.",
            &self.prompts_answered,
        );
        counter(
            &mut out,
            "baton_prompts_missed_total",
            "Prompts whose response window ended unanswered.",
            &self.prompts_missed,
        );
        counter(
            &mut out,
            "baton_reminders_sent_total",
            "Reminders queued.",
            &self.reminders_sent,
        );
        counter(
            &mut out,
            "baton_digests_posted_total",
            "Digests queued.",
            &self.digests_posted,
        );
        counter(
            &mut out,
            "baton_messages_sent_total",
            "Outbox messages delivered.",
            &self.messages_sent,
        );
        counter(
            &mut out,
            "baton_send_failures_total",
            "Failed delivery attempts.",
            &self.send_failures,
        );
        counter(
            &mut out,
            "baton_outbox_uncertain_sends_total",
            "Sends whose outcome was never seen (answer timed out, worker died) and that the platform could not account for; each may have been delivered twice.",
            &self.uncertain_sends,
        );
        counter(
            &mut out,
            "baton_outbox_recovered_sends_total",
            "Unfinished attempts the platform showed had landed, so they were not sent again.",
            &self.recovered_sends,
        );
        counter(
            &mut out,
            "baton_outbox_lost_claims_total",
            "Times a worker found its claim taken over and stopped sending that message.",
            &self.lost_claims,
        );
        if let Some(d) = outbox_depth {
            let _ = writeln!(
                out,
                "# HELP baton_outbox_depth Messages waiting in the outbox.\n# TYPE baton_outbox_depth gauge\nbaton_outbox_depth {d}"
            );
        }
        counter(
            &mut out,
            "baton_outbox_dead_letters_total",
            "Messages (and prompts of a group) this replica parked as dead: a permanent refusal, attempts used up, or nobody to deliver to.",
            &self.dead_letters,
        );
        self.send.render(
            &mut out,
            "baton_send_latency_seconds",
            "Time to deliver one outbox message.",
        );
        self.lag.render(
            &mut out,
            "baton_delivery_lag_seconds",
            "From when a message (or one prompt of a group) was due to when it was delivered.",
        );
        let _ = writeln!(
            out,
            "# HELP baton_platform_rate_limited_total 429 answers from a chat platform (Slack posts, Discord REST calls of the outbox).\n# TYPE baton_platform_rate_limited_total counter"
        );
        for (platform, n) in self.rate_limited.lock().expect("metrics").iter() {
            let _ = writeln!(
                out,
                "baton_platform_rate_limited_total{{platform=\"{platform}\"}} {n}"
            );
        }
        self.refusals.render(&mut out);
        out
    }
}

/// One gauge in Prometheus text format (for values read elsewhere, e.g. the database).
pub fn gauge(name: &str, help: &str, value: i64) -> String {
    format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        Metrics::add(&m.prompts_sent, 3);
        m.observe_send(0.02);
        let text = m.render(Some(7));
        assert!(text.contains("baton_prompts_sent_total 3"));
        assert!(text.contains("baton_outbox_depth 7"));
        assert!(text.contains("baton_send_latency_seconds_bucket{le=\"0.01\"} 0"));
        assert!(text.contains("baton_send_latency_seconds_bucket{le=\"0.025\"} 1"));
        assert!(text.contains("baton_send_latency_seconds_count 1"));
    }
}
