//! Deterministic, plausible check-in history for the demo: about eight weeks of figures
//! drifting from each key result's start toward its target, some ahead and some behind.

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::progress::{active_cycle, kr_period};
use crate::domain::{Confidence, KrKind, OrgSpec};

pub use crate::store::SeedRow;

const NOTES: &[&str] = &[
    "steady week",
    "pipeline review done",
    "two big deals slipped",
    "new onboarding flow live for 20% of signups",
    "waiting on data from analytics",
    "hiring freeze slows us down",
    "better than expected",
    "holiday week, fewer sessions",
];

/// Generates the history. Same spec, same `now`, same seed → same rows.
pub fn history(spec: &OrgSpec, now: DateTime<Utc>, weeks: i64, seed: u64) -> Vec<SeedRow> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::new();
    let start = now - Duration::weeks(weeks);
    let cycle = active_cycle(spec, now).map(|c| c.key.clone());
    for kr in &spec.key_results {
        let Some(obj) = spec.objectives.iter().find(|o| o.code == kr.objective) else {
            continue;
        };
        if cycle.as_ref().is_some_and(|c| *c != obj.cycle) {
            continue;
        }
        let who = kr
            .owner
            .clone()
            .or_else(|| obj.owner.clone())
            .or_else(|| spec.people.first().map(|p| p.key.clone()));
        let Some(who) = who else { continue };
        let period = kr_period(spec, kr).max(Duration::days(1));
        // How well this key result is going: some ahead, most on pace, some behind.
        let pace: f64 = rng.random_range(0.25..1.25);
        // A few key results have gone quiet, so the demo shows stale ones.
        let quiet = rng.random_bool(0.1);
        let mut t = start + Duration::hours(rng.random_range(0..48));
        let end = if quiet { now - period * 3 } else { now };
        let total = (now - start).num_seconds().max(1) as f64;
        while t < end {
            let share = ((t - start).num_seconds() as f64 / total).clamp(0.0, 1.0);
            let noise: f64 = rng.random_range(-0.04..0.04);
            let progress = (share * pace * 0.7 + noise).clamp(0.0, 1.2);
            let value = match kr.kind {
                KrKind::Metric => {
                    let (s, g) = (kr.start.unwrap_or(0.0), kr.target.unwrap_or(1.0));
                    s + (g - s) * progress
                }
                KrKind::AtLeast => {
                    let b = kr.target.unwrap_or(1.0);
                    let r = kr.start.unwrap_or(b - b.abs().max(1.0));
                    r + (b - r) * (progress * 1.3)
                }
                KrKind::AtMost => {
                    let b = kr.target.unwrap_or(1.0);
                    let r = kr.start.unwrap_or(b + b.abs().max(1.0));
                    r - (r - b) * (progress * 1.3)
                }
                KrKind::Band => {
                    let (lo, hi) = kr.band.unwrap_or((0.0, 1.0));
                    let mid = (lo + hi) / 2.0;
                    mid + (hi - lo) * rng.random_range(-0.8..0.8)
                }
                KrKind::Milestone => {
                    if progress > 0.95 {
                        1.0
                    } else {
                        0.0
                    }
                }
                KrKind::Baseline => 40.0 + rng.random_range(0.0..20.0),
            };
            let value = (value * 100.0).round() / 100.0;
            let confidence = if pace > 0.85 {
                Confidence::OnTrack
            } else if pace > 0.55 {
                Confidence::AtRisk
            } else {
                Confidence::OffTrack
            };
            let note = rng
                .random_bool(0.4)
                .then(|| NOTES[rng.random_range(0..NOTES.len())].to_string());
            rows.push((
                kr.code.to_string(),
                who.to_string(),
                value,
                Some(confidence),
                note,
                t,
            ));
            t += period + Duration::hours(rng.random_range(-6..6));
        }
    }
    for m in &spec.measures {
        let Some(who) = m
            .owner
            .clone()
            .or_else(|| spec.people.first().map(|p| p.key.clone()))
        else {
            continue;
        };
        let base = m.baseline.unwrap_or(m.red);
        let pace: f64 = rng.random_range(0.3..1.1);
        let mut t = start + Duration::hours(rng.random_range(0..72));
        while t < now {
            let share = ((t - start).num_seconds() as f64
                / (now - start).num_seconds().max(1) as f64)
                .clamp(0.0, 1.0);
            let v = base
                + (m.target - base) * share * pace * 0.6
                + (m.target - base).abs() * rng.random_range(-0.03..0.03);
            rows.push((
                m.code.to_string(),
                who.to_string(),
                (v * 100.0).round() / 100.0,
                None,
                None,
                t,
            ));
            t += Duration::weeks(2);
        }
    }
    rows
}
