//! Process metrics, exposed in Prometheus text format on `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the send-latency histogram buckets.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
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
    send_buckets: [AtomicU64; BUCKETS.len()],
    send_count: AtomicU64,
    /// Sum of send latencies in microseconds.
    send_sum_us: AtomicU64,
    /// Inbound requests refused, by platform and reason.
    pub refused: crate::refused::Refused,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn observe_send(&self, seconds: f64) {
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                self.send_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.send_count.fetch_add(1, Ordering::Relaxed);
        self.send_sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
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
        let _ = writeln!(
            out,
            "# HELP baton_send_latency_seconds Time to deliver one outbox message.\n# TYPE baton_send_latency_seconds histogram"
        );
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "baton_send_latency_seconds_bucket{{le=\"{b}\"}} {}",
                self.send_buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.send_count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "baton_send_latency_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "baton_send_latency_seconds_sum {}",
            self.send_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "baton_send_latency_seconds_count {count}");
        self.refused.render(&mut out);
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
