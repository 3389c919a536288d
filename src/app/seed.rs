//! Deterministic, plausible check-in history for the demo: about eight weeks of figures
//! drifting from each key result's start toward its target, some ahead and some behind.

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::progress::{active_cycle, kr_period};
use crate::domain::{Confidence, Direction, KrKind, OrgSpec};

pub use crate::store::SeedRow;

/// The link the demo's history supports (cause, effect), when the manifest declares it.
pub const PLANTED: (&str, &str) = ("P1", "C1");
/// Weeks between a pulse in the planted cause and the same pulse in its effect.
const PLANTED_LAG: i64 = 2;
/// Size of a weekly pulse, in attainment.
const PULSE: f64 = 0.1;

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

/// The demo's history: [`history`], with every measure checked in weekly (each drifting
/// up with its own weekly pulses), except that the effect of the [`PLANTED`] link follows
/// the pulses of its cause two weeks later. So `map --evidence` shows a link the history
/// supports beside links it does not. Same arguments, same rows.
pub fn demo_history(spec: &OrgSpec, now: DateTime<Utc>, weeks: i64, seed: u64) -> Vec<SeedRow> {
    let mut rows = history(spec, now, weeks, seed);
    let planted = spec
        .links
        .iter()
        .any(|l| l.from.as_str() == PLANTED.0 && l.to.as_str() == PLANTED.1);
    let weekly: Vec<_> = spec
        .measures
        .iter()
        .filter(|m| m.direction != Direction::Band)
        .collect();
    rows.retain(|r| !weekly.iter().any(|m| m.code.as_str() == r.0));
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let n = weeks.max(0) as usize;
    let mut pulses_of =
        |_: &str| -> Vec<f64> { (0..n).map(|_| rng.random_range(-1.0..1.0)).collect() };
    let cause_pulses = pulses_of(PLANTED.0);
    let mut by_objective: std::collections::HashMap<&str, Vec<f64>> = Default::default();
    for m in &weekly {
        let o = m.objective.as_str();
        if !by_objective.contains_key(o) {
            let p = if planted && o == PLANTED.0 {
                cause_pulses.clone()
            } else {
                pulses_of(o)
            };
            by_objective.insert(o, p);
        }
    }
    let start = now - Duration::weeks(weeks);
    // The key results feeding the planted link's ends follow the same pulses, so the
    // objectives' progress (not only their measures) carries the link.
    if planted {
        let feeds = crate::domain::evidence::inputs(spec);
        let of = |o: &str| {
            feeds
                .iter()
                .find(|(c, _)| c.as_str() == o)
                .map(|(_, (krs, _))| krs.clone())
                .unwrap_or_default()
        };
        let (cause_krs, effect_krs) = (of(PLANTED.0), of(PLANTED.1));
        for k in spec.key_results.iter().filter(|k| {
            k.kind == KrKind::Metric
                && k.target.is_some()
                && (cause_krs.contains(&k.code) || effect_krs.contains(&k.code))
        }) {
            let Some(who) = k
                .owner
                .clone()
                .or_else(|| spec.objective(&k.objective).and_then(|o| o.owner.clone()))
            else {
                continue;
            };
            rows.retain(|r| r.0 != k.code.as_str());
            let lag = if cause_krs.contains(&k.code) {
                0
            } else {
                PLANTED_LAG
            };
            let (s0, g) = (k.start.unwrap_or(0.0), k.target.unwrap_or(1.0));
            let mut level = 0.1;
            for w in 0..weeks {
                if w >= lag {
                    level += 0.02 + PULSE * cause_pulses[(w - lag) as usize];
                }
                let p = (level + rng.random_range(-0.01..0.01)).clamp(0.0, 1.0);
                rows.push((
                    k.code.to_string(),
                    who.to_string(),
                    ((s0 + (g - s0) * p) * 100.0).round() / 100.0,
                    Some(Confidence::OnTrack),
                    None,
                    start + Duration::weeks(w) + Duration::hours(rng.random_range(1..24)),
                ));
            }
        }
    }
    for m in weekly {
        let Some(who) = m
            .owner
            .clone()
            .or_else(|| spec.people.first().map(|p| p.key.clone()))
        else {
            continue;
        };
        let o = m.objective.as_str();
        let (pulses, lag) = if planted && o == PLANTED.1 {
            (&cause_pulses, PLANTED_LAG)
        } else {
            (&by_objective[o], 0)
        };
        let mut level = 0.3;
        for w in 0..weeks {
            if w >= lag {
                level += 0.02 + PULSE * pulses[(w - lag) as usize];
            }
            let a = (level + rng.random_range(-0.01..0.01)).clamp(0.02, 0.98);
            let v = m.red + (m.target - m.red) * a;
            rows.push((
                m.code.to_string(),
                who.to_string(),
                (v * 100.0).round() / 100.0,
                None,
                None,
                start + Duration::weeks(w) + Duration::hours(rng.random_range(1..24)),
            ));
        }
    }
    rows
}
