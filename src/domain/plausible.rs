//! The plausibility rule: which check-in figures are recorded only after the person confirms
//! them (PRODUCT §5, "a figure outside a documented plausibility range").
//!
//! A key result describes where its figures are expected: from its start (or reference) to
//! its target (or bound), or around its band. A figure is **suspicious** when
//!
//! - `metric` (start `s` → target `t`, span `|t − s|`): it lies beyond the start, on the
//!   side away from the target (below the start for an increasing key result, above it for a
//!   decreasing one), or more than **half the span** beyond the target;
//! - `at_least` / `at_most` (bound `b`, optional start `s`, the reference at which the score
//!   is 0): with a start, the same as `metric` but with **a whole span** allowed beyond the
//!   bound (exceeding a floor or undercutting a ceiling is good news, up to a point);
//!   without a start, more than `|b|` beyond the bound on its good side (for `at_least 95`:
//!   above 190; for `at_most 5`: below 0);
//! - `band` `[lo, hi]`: more than one band width below `lo` or above `hi`;
//! - `milestone` and `baseline`: never (milestones accept only done / not done, and a
//!   baseline has no range yet).
//!
//! A span of zero (start equal to target, or a bound of 0 with no start) gives no range, so
//! nothing is suspicious. Figures so far out that they cannot be meant at all are refused
//! outright before this rule is asked (`app::checkins::check_plausible`).

use super::model::KrKind;
use super::org::KeyResultSpec;

/// Why a figure needs confirming: the expected range in words, for the question asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Suspicion {
    /// `below the start (60)`, `more than half the way again past the target (85)`, …
    pub why: String,
    /// The figures that are accepted without asking, inclusive.
    pub low: f64,
    pub high: f64,
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The range `[low, high]` of figures accepted without a question, or `None` when the key
/// result has no range (see the module docs for the rule).
pub fn expected_range(kr: &KeyResultSpec) -> Option<(f64, f64)> {
    match kr.kind {
        KrKind::Milestone | KrKind::Baseline => None,
        KrKind::Band => {
            let (lo, hi) = kr.band?;
            let w = hi - lo;
            (w > 0.0).then_some((lo - w, hi + w))
        }
        KrKind::Metric => {
            let (s, t) = (kr.start?, kr.target?);
            directed(s, t, 0.5)
        }
        KrKind::AtLeast | KrKind::AtMost => {
            let b = kr.target?;
            match kr.start {
                Some(s) => directed(s, b, 1.0),
                None => {
                    let span = b.abs();
                    if span == 0.0 {
                        None
                    } else if kr.kind == KrKind::AtLeast {
                        Some((f64::NEG_INFINITY, b + span))
                    } else {
                        Some((b - span, f64::INFINITY))
                    }
                }
            }
        }
    }
}

/// The range `[low, high]` outside which a figure cannot be meant at all (an extra zero, a
/// percentage typed as a fraction) and is refused outright, before [`suspicious`] is asked:
/// ten times the spread of the key result's start, target and band (at least a tenth of their
/// size, and at least 1) beyond them. `None` when the key result names none of them.
pub fn possible_range(kr: &KeyResultSpec) -> Option<(f64, f64)> {
    let mut anchors: Vec<f64> = [kr.start, kr.target].into_iter().flatten().collect();
    if let Some((lo, hi)) = kr.band {
        anchors.extend([lo, hi]);
    }
    if anchors.is_empty() {
        return None;
    }
    let lo = anchors.iter().cloned().fold(f64::INFINITY, f64::min);
    let hi = anchors.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let scale = (hi - lo).max(lo.abs().max(hi.abs()) * 0.1).max(1.0);
    Some((lo - 10.0 * scale, hi + 10.0 * scale))
}

/// From start `s` to target `t`: nothing beyond the start, `k` spans beyond the target.
fn directed(s: f64, t: f64, k: f64) -> Option<(f64, f64)> {
    let span = (t - s).abs();
    if span == 0.0 || !span.is_finite() {
        return None;
    }
    Some(if t > s {
        (s, t + k * span)
    } else {
        (t - k * span, s)
    })
}

/// Whether `v` needs the person's confirmation before it is recorded on `kr`.
pub fn suspicious(kr: &KeyResultSpec, v: f64) -> Option<Suspicion> {
    let (low, high) = expected_range(kr)?;
    if v >= low && v <= high {
        return None;
    }
    let start_side = match (kr.kind, kr.start, kr.target) {
        (KrKind::Metric | KrKind::AtLeast | KrKind::AtMost, Some(s), Some(t)) => {
            if t > s {
                (v < s).then_some(s)
            } else {
                (v > s).then_some(s)
            }
        }
        _ => None,
    };
    let why = if let Some(s) = start_side {
        format!(
            "{} the start ({})",
            if v < s { "below" } else { "above" },
            fmt(s)
        )
    } else if kr.kind == KrKind::Band {
        let (lo, hi) = kr.band.unwrap_or_default();
        format!(
            "more than a band width outside the band ({} to {})",
            fmt(lo),
            fmt(hi)
        )
    } else {
        let t = kr.target.unwrap_or_default();
        format!(
            "{} past the {} ({})",
            if kr.kind == KrKind::Metric {
                "more than half the distance from start to target"
            } else if kr.start.is_some() {
                "more than the distance from start to bound"
            } else {
                "more than the bound itself"
            },
            if kr.kind == KrKind::Metric {
                "target"
            } else {
                "bound"
            },
            fmt(t)
        )
    };
    Some(Suspicion { why, low, high })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::Code;
    use proptest::prelude::*;

    /// A key result `S1` in `%` of `kind`, from `start` to `target` (tests here and in
    /// `app::checkins` share it).
    pub(crate) fn kr(kind: KrKind, start: Option<f64>, target: Option<f64>) -> KeyResultSpec {
        KeyResultSpec {
            code: Code::parse("S1").unwrap(),
            objective: Code::parse("O1").unwrap(),
            title: "t".into(),
            kind,
            unit: "%".into(),
            start,
            target,
            band: None,
            weight: 1.0,
            owner: None,
            due: None,
            cadence: None,
        }
    }

    #[test]
    fn metric_figures_below_the_start_or_far_past_the_target_are_suspicious() {
        let k = kr(KrKind::Metric, Some(60.0), Some(85.0));
        assert_eq!(expected_range(&k), Some((60.0, 97.5)));
        let s = suspicious(&k, 42.0).expect("42 is below the start");
        assert_eq!(s.why, "below the start (60)");
        assert!(suspicious(&k, 60.0).is_none());
        assert!(suspicious(&k, 85.0).is_none());
        assert!(suspicious(&k, 97.5).is_none());
        let s = suspicious(&k, 98.0).expect("far past the target");
        assert!(s.why.contains("past the target (85)"), "{}", s.why);
        // Decreasing: 14 → 7 days.
        let d = kr(KrKind::Metric, Some(14.0), Some(7.0));
        assert_eq!(expected_range(&d), Some((3.5, 14.0)));
        assert_eq!(suspicious(&d, 15.0).unwrap().why, "above the start (14)");
        assert!(suspicious(&d, 3.0).is_some());
        assert!(suspicious(&d, 10.0).is_none());
    }

    #[test]
    fn bounds_bands_milestones_and_baselines() {
        let nps = kr(KrKind::AtLeast, None, Some(50.0));
        assert_eq!(expected_range(&nps), Some((f64::NEG_INFINITY, 100.0)));
        assert!(suspicious(&nps, -20.0).is_none());
        assert!(suspicious(&nps, 101.0).is_some());
        let floor = kr(KrKind::AtLeast, Some(30.0), Some(50.0));
        assert_eq!(expected_range(&floor), Some((30.0, 70.0)));
        assert!(suspicious(&floor, 29.0).is_some());
        let ceiling = kr(KrKind::AtMost, None, Some(5.0));
        assert_eq!(expected_range(&ceiling), Some((0.0, f64::INFINITY)));
        assert!(suspicious(&ceiling, -1.0).is_some());
        assert!(suspicious(&ceiling, 500.0).is_none());
        let ceiling = kr(KrKind::AtMost, Some(20.0), Some(5.0));
        assert_eq!(expected_range(&ceiling), Some((-10.0, 20.0)));
        assert_eq!(
            suspicious(&ceiling, 21.0).unwrap().why,
            "above the start (20)"
        );
        let mut band = kr(KrKind::Band, None, None);
        band.band = Some((40.0, 60.0));
        assert_eq!(expected_range(&band), Some((20.0, 80.0)));
        assert!(suspicious(&band, 19.0).is_some());
        assert!(suspicious(&band, 75.0).is_none());
        assert!(suspicious(&kr(KrKind::Milestone, None, None), 7.0).is_none());
        assert!(suspicious(&kr(KrKind::Baseline, None, Some(9.0)), 1e9).is_none());
        assert!(suspicious(&kr(KrKind::Metric, Some(5.0), Some(5.0)), 1e9).is_none());
        assert!(suspicious(&kr(KrKind::AtLeast, None, Some(0.0)), -1e9).is_none());
    }

    proptest! {
        /// Everything between start and target is accepted without a question; anything
        /// just beyond the start, or beyond the documented margin past the target, asks.
        #[test]
        fn the_range_holds_start_to_target_and_asks_outside(
            s in -1.0e6f64..1.0e6,
            d in prop_oneof![-1.0e6f64..-1.0e-3, 1.0e-3f64..1.0e6],
            f in 0.0f64..=1.0,
        ) {
            let t = s + d;
            let k = kr(KrKind::Metric, Some(s), Some(t));
            let inside = s + f * (t - s);
            prop_assert!(suspicious(&k, inside).is_none(), "{inside} in {s}→{t}");
            let before = s - d.signum() * d.abs() * 0.01;
            prop_assert!(suspicious(&k, before).is_some(), "{before} before {s}→{t}");
            let past = t + d.signum() * d.abs() * 0.51;
            prop_assert!(suspicious(&k, past).is_some(), "{past} past {s}→{t}");
            let near = t + d.signum() * d.abs() * 0.49;
            prop_assert!(suspicious(&k, near).is_none(), "{near} near {s}→{t}");
        }
    }
}
