//! Refused requests: counted by platform and reason, logged at most once per reason per
//! interval.
//!
//! A flood of unsigned requests once wrote a WARN line each (8.5 MB of log in 10 s). Now
//! every refusal is counted (`baton_refused_requests_total{platform,reason}` on `/metrics`)
//! and the log gets one line for the first refusal of a reason, then at most one line per
//! [`LOG_INTERVAL`] giving how many more there were.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// At most one log line per platform and reason in this interval.
pub const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Why a request was refused: the `reason` label of `baton_refused_requests_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Refusal {
    /// No signature headers at all.
    MissingSignature,
    /// A signature that does not match the body.
    BadSignature,
    /// A timestamp outside the freshness window.
    StaleTimestamp,
    /// A timestamp that is not a number.
    BadTimestamp,
    /// A signed endpoint called with no public key configured to check it.
    NoPublicKey,
    /// A calendar feed asked for with a token nobody holds.
    UnknownToken,
    /// Someone the workspace is known for but the manifest does not list.
    UnknownPerson,
    /// A workspace (Slack team, Discord guild) no organisation claims.
    UnknownWorkspace,
    /// A workspace or user several organisations claim.
    Ambiguous,
    /// A reply in a thread of another organisation.
    OtherOrganisation,
}

impl Refusal {
    /// Every reason, in label order of the metric's help text.
    pub const ALL: [Refusal; 10] = [
        Refusal::MissingSignature,
        Refusal::BadSignature,
        Refusal::StaleTimestamp,
        Refusal::BadTimestamp,
        Refusal::NoPublicKey,
        Refusal::UnknownToken,
        Refusal::UnknownPerson,
        Refusal::UnknownWorkspace,
        Refusal::Ambiguous,
        Refusal::OtherOrganisation,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Refusal::MissingSignature => "missing_signature",
            Refusal::BadSignature => "bad_signature",
            Refusal::StaleTimestamp => "stale_timestamp",
            Refusal::BadTimestamp => "bad_timestamp",
            Refusal::NoPublicKey => "no_public_key",
            Refusal::UnknownToken => "unknown_token",
            Refusal::UnknownPerson => "unknown_person",
            Refusal::UnknownWorkspace => "unknown_workspace",
            Refusal::Ambiguous => "ambiguous",
            Refusal::OtherOrganisation => "other_organisation",
        }
    }
}

#[derive(Default)]
struct Reason {
    total: u64,
    /// When the last line was logged, and how many refusals since went unlogged.
    logged_at: Option<Instant>,
    unlogged: u64,
}

/// Counts of refused requests.
#[derive(Default)]
pub struct Refused {
    by: Mutex<BTreeMap<(String, Refusal), Reason>>,
}

/// What to log for one refusal: nothing, or a line covering `count` refusals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLine {
    Quiet,
    /// The first refusal for this reason (or the first after a quiet interval).
    First,
    /// `count` refusals since the last line, this one included.
    Since(u64),
}

impl Refused {
    /// Counts a refusal and logs it if the interval allows.
    pub fn refuse(&self, platform: &str, why: Refusal) {
        let reason = why.label();
        match self.note(platform, why, Instant::now()) {
            LogLine::Quiet => {}
            LogLine::First => tracing::warn!(
                platform,
                reason,
                "request refused; more refusals for this reason are counted on /metrics and \
                 logged at most once a minute"
            ),
            LogLine::Since(count) => tracing::warn!(
                platform,
                reason,
                count,
                interval_s = LOG_INTERVAL.as_secs(),
                "requests refused since the last line"
            ),
        }
    }

    /// Counts a refusal at `now` and says what to log.
    pub fn note(&self, platform: &str, reason: Refusal, now: Instant) -> LogLine {
        let mut by = self.by.lock().expect("refusal counts");
        let r = by.entry((platform.to_string(), reason)).or_default();
        r.total += 1;
        match r.logged_at {
            Some(at) if now.saturating_duration_since(at) < LOG_INTERVAL => {
                r.unlogged += 1;
                LogLine::Quiet
            }
            Some(_) if r.unlogged > 0 => {
                let count = r.unlogged + 1;
                r.unlogged = 0;
                r.logged_at = Some(now);
                LogLine::Since(count)
            }
            _ => {
                r.logged_at = Some(now);
                LogLine::First
            }
        }
    }

    /// The total for one platform and reason.
    pub fn total(&self, platform: &str, reason: Refusal) -> u64 {
        let by = self.by.lock().expect("refusal counts");
        by.iter()
            .filter(|((p, r), _)| *p == platform && *r == reason)
            .map(|(_, c)| c.total)
            .sum()
    }

    /// The counter in Prometheus text format.
    pub fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP baton_refused_requests_total Requests refused, by platform and reason \
             ({}).\n\
             # TYPE baton_refused_requests_total counter",
            Refusal::ALL.map(Refusal::label).join(", ")
        );
        let by = self.by.lock().expect("refusal counts");
        for ((platform, reason), r) in by.iter() {
            let _ = writeln!(
                out,
                "baton_refused_requests_total{{platform=\"{platform}\",reason=\"{}\"}} {}",
                reason.label(),
                r.total
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_reason_per_interval_with_the_count() {
        let r = Refused::default();
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(
            r.note("slack", Refusal::BadSignature, at(0)),
            LogLine::First
        );
        for i in 0..999 {
            assert_eq!(
                r.note("slack", Refusal::BadSignature, at(i % 59)),
                LogLine::Quiet
            );
        }
        // Another reason has its own line.
        assert_eq!(
            r.note("slack", Refusal::StaleTimestamp, at(1)),
            LogLine::First
        );
        assert_eq!(
            r.note("slack", Refusal::BadSignature, at(60)),
            LogLine::Since(1000)
        );
        assert_eq!(
            r.note("slack", Refusal::BadSignature, at(61)),
            LogLine::Quiet
        );
        // After a quiet interval with nothing unlogged, the next one is a first again.
        assert_eq!(
            r.note("slack", Refusal::StaleTimestamp, at(200)),
            LogLine::First
        );
        assert_eq!(r.total("slack", Refusal::BadSignature), 1002);
        let mut text = String::new();
        r.render(&mut text);
        assert!(text.contains(
            "baton_refused_requests_total{platform=\"slack\",reason=\"bad_signature\"} 1002"
        ));
        assert!(text.contains(
            "baton_refused_requests_total{platform=\"slack\",reason=\"stale_timestamp\"} 2"
        ));
    }
}
