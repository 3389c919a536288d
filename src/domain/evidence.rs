//! Evidence for the strategy map's cause → effect links, from the organisation's own
//! check-in history (pure: no I/O, no clock; `now` is a parameter).
//!
//! Method, per link `cause → effect`:
//!
//! 1. **Weekly grid.** Both scorecard objectives' progress is read at the same weekly
//!    instants (the last [`MAX_WEEKS`] weeks up to `now`), each instant carrying forward
//!    the latest check-in of every key result and measure ([`objective_series`]).
//! 2. **Changes.** First differences of each series, so a shared upward drift (everything
//!    grows during a cycle) is not mistaken for a link. A change across a cycle boundary
//!    (the objective's key results are replaced) is left out.
//! 3. **Lagged correlation.** Pearson's r between the cause's changes and the effect's
//!    changes `lag` weeks later, for lags 0 to [`MAX_LAG`]. Lags have different numbers of
//!    pairs, so they are compared by Fisher's z times √(pairs − 3); the statistic is the
//!    largest over the lags (the hypothesis is one-sided: gains cause gains).
//! 4. **Confidence.** A permutation test: the cause's weekly changes are shuffled and the
//!    SAME max-over-lags statistic recomputed, [`PERMUTATIONS`] times; `p` is the share of
//!    shuffles at least as extreme (with the usual +1), so looking at several lags is paid
//!    for. Shuffling changes, not levels, is what keeps it valid on short, autocorrelated
//!    series: progress levels trend (strongly autocorrelated) while their week-to-week
//!    changes are close to exchangeable; the seeded tests check the false-alarm rate with
//!    autocorrelated changes at both ends. The generator is seeded from the link's codes,
//!    so the same history always gives the same answer.
//! 5. **Verdict.** Supported when the strongest lag is positive with `p ≤ ALPHA`;
//!    contradicted when the most negative lag is negative with `p ≤ ALPHA` (one-sided the
//!    other way); otherwise no evidence yet. Fewer than [`MIN_WEEKS`] weeks with both
//!    figures: not enough history, no verdict.
//!
//! Evidence in a company's own data is not proof of causation: a common cause can move
//! both ends, and few weeks mean wide uncertainty.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::model::Code;
use super::org::{Current, OrgSpec, OrgState};
use super::progress::rollup;

/// A figure at an instant: `(recorded at, value)`.
pub type Point = (DateTime<Utc>, f64);
/// What an objective's progress was rolled up from at an instant (see [`Series`]).
pub type Regime = Option<String>;
/// A walk through one code's points: the code, its points, the next one not yet read.
type Cursor<'a> = (&'a Code, &'a [Point], usize);

/// Weeks of history looked at (half a year).
pub const MAX_WEEKS: usize = 26;
/// Fewer weekly periods with both figures than this: no verdict.
pub const MIN_WEEKS: usize = 8;
/// Largest lag, in weeks, between a change in the cause and one in the effect.
pub const MAX_LAG: usize = 3;
/// Shuffles of the permutation test.
pub const PERMUTATIONS: usize = 199;
/// Significance level of each one-sided test.
pub const ALPHA: f64 = 0.05;
/// A lag needs at least this many pairs of changes to be looked at.
const MIN_PAIRS: usize = 5;

/// Plain-words verdict on one link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Supported,
    NoEvidence,
    Contradicted,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Supported => "supported",
            Verdict::NoEvidence => "no evidence yet",
            Verdict::Contradicted => "contradicted",
        }
    }
}

/// What the history says about one link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Evidence {
    /// Fewer than `needed` weekly periods with figures at both ends.
    NotEnough {
        weeks: usize,
        needed: usize,
    },
    Judged(Finding),
}

impl Evidence {
    /// The verdict, `None` when there is not enough history.
    pub fn verdict(&self) -> Option<Verdict> {
        match self {
            Evidence::NotEnough { .. } => None,
            Evidence::Judged(f) => Some(f.verdict),
        }
    }
}

/// A judged link: the verdict and the figures behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Finding {
    pub verdict: Verdict,
    /// Weeks between a change in the cause and the matching change in the effect.
    pub lag: usize,
    /// Correlation at that lag (the largest, or for a contradiction the smallest).
    pub r: f64,
    /// Weekly periods with figures at both ends.
    pub periods: usize,
    /// Permutation p-value of the one-sided test behind the verdict.
    pub p: f64,
}

/// Each grid instant's value: the latest point at or before it, carried forward.
/// `points` must be sorted by time; instants before the first point get `None`.
pub fn resample(points: &[(DateTime<Utc>, f64)], grid: &[DateTime<Utc>]) -> Vec<Option<f64>> {
    let mut i = 0;
    grid.iter()
        .map(|g| {
            while i < points.len() && points[i].0 <= *g {
                i += 1;
            }
            Some(points.get(i.checked_sub(1)?)?.1)
        })
        .collect()
}

/// The weekly instants looked at: `weeks` instants a week apart, the last one `now`.
pub fn weekly_grid(now: DateTime<Utc>, weeks: usize) -> Vec<DateTime<Utc>> {
    (0..weeks)
        .rev()
        .map(|k| now - Duration::weeks(k as i64))
        .collect()
}

/// Check-in history: per key result and per measure, `(recorded at, value)` sorted by
/// time (a correction is simply the later row).
#[derive(Debug, Clone, Default)]
pub struct History {
    pub key_results: HashMap<Code, Vec<(DateTime<Utc>, f64)>>,
    pub measures: HashMap<Code, Vec<(DateTime<Utc>, f64)>>,
}

/// Progress of every scorecard objective at each grid instant, with what it was rolled up
/// from there: the cycle and how many of its key results and measures had a figure. A
/// change across a cycle boundary, or when one of its key results or measures got its
/// first figure, is not a change of the objective (its inputs changed), so it is left out;
/// before any of its inputs has a figure it has no progress (a milestone's 0 is not data).
pub struct Series {
    pub grid: Vec<DateTime<Utc>>,
    pub scorecard: HashMap<Code, Vec<Option<f64>>>,
    pub regimes: HashMap<Code, Vec<Option<String>>>,
}

/// The key results and measures that feed each scorecard objective: its measures, and
/// the key results of every objective aligned to it or below one that is.
pub fn inputs(spec: &OrgSpec) -> HashMap<Code, (Vec<Code>, Vec<Code>)> {
    let mut out: HashMap<Code, (Vec<Code>, Vec<Code>)> = spec
        .scorecard
        .iter()
        .map(|s| (s.code.clone(), Default::default()))
        .collect();
    for m in &spec.measures {
        if let Some(e) = out.get_mut(&m.objective) {
            e.1.push(m.code.clone());
        }
    }
    for k in &spec.key_results {
        let mut seen = Vec::new();
        let mut at = spec.objective(&k.objective);
        while let Some(o) = at {
            if seen.contains(&&o.code) || seen.len() > 64 {
                break;
            }
            seen.push(&o.code);
            for a in &o.aligns_to {
                if let Some(e) = out.get_mut(a)
                    && !e.0.contains(&k.code)
                {
                    e.0.push(k.code.clone());
                }
            }
            at = o.parent.as_ref().and_then(|p| spec.objective(p));
        }
    }
    out
}

/// The scorecard objectives' progress on the grid, by the same rollup `status` uses,
/// from the figures standing at each instant.
pub fn objective_series(spec: &OrgSpec, history: &History, grid: &[DateTime<Utc>]) -> Series {
    let mut cursors_kr: Vec<Cursor> = history
        .key_results
        .iter()
        .map(|(c, p)| (c, p.as_slice(), 0))
        .collect();
    let mut cursors_m: Vec<Cursor> = history
        .measures
        .iter()
        .map(|(c, p)| (c, p.as_slice(), 0))
        .collect();
    let feeds = inputs(spec);
    let mut state = OrgState::default();
    let mut scorecard: HashMap<Code, Vec<Option<f64>>> = HashMap::new();
    let mut regimes: HashMap<Code, Vec<Option<String>>> = HashMap::new();
    for g in grid {
        advance(&mut cursors_kr, &mut state.key_results, *g);
        advance(&mut cursors_m, &mut state.measures, *g);
        let r = (!state.key_results.is_empty() || !state.measures.is_empty())
            .then(|| rollup(spec, &state, *g));
        for s in &spec.scorecard {
            let (krs, ms) = &feeds[&s.code];
            let n = krs
                .iter()
                .filter(|c| state.key_results.contains_key(*c))
                .count()
                + ms.iter()
                    .filter(|c| state.measures.contains_key(*c))
                    .count();
            let (level, regime) = match &r {
                Some(r) if n > 0 => (
                    r.scorecard.get(&s.code).and_then(|e| e.progress),
                    Some(format!(
                        "{}|{n}",
                        r.cycle.as_ref().map(|k| k.as_str()).unwrap_or("")
                    )),
                ),
                _ => (None, None),
            };
            scorecard.entry(s.code.clone()).or_default().push(level);
            regimes.entry(s.code.clone()).or_default().push(regime);
        }
    }
    Series {
        grid: grid.to_vec(),
        scorecard,
        regimes,
    }
}

fn advance(cursors: &mut [Cursor], into: &mut HashMap<Code, Current>, at: DateTime<Utc>) {
    for (code, points, i) in cursors.iter_mut() {
        while *i < points.len() && points[*i].0 <= at {
            *i += 1;
        }
        if let Some(&(t, v)) = i.checked_sub(1).and_then(|j| points.get(j)) {
            into.insert(
                (*code).clone(),
                Current {
                    value: v,
                    confidence: None,
                    at: t,
                    checkin_id: 0,
                },
            );
        }
    }
}

/// Changes from one week to the next; `None` where either week has no figure or the
/// regime (see [`Series`]) changed between them.
pub fn changes(levels: &[Option<f64>], cycles: Option<&[Option<String>]>) -> Vec<Option<f64>> {
    levels
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let same_cycle = cycles.is_none_or(|c| c[i] == c[i + 1]);
            match (w[0], w[1]) {
                (Some(a), Some(b)) if same_cycle => Some(b - a),
                _ => None,
            }
        })
        .collect()
}

/// A deterministic seed from the link's codes (FNV-1a), so a verdict never flickers.
pub fn seed_of(cause: &str, effect: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in cause.bytes().chain([b'>']).chain(effect.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Judges one link from both ends' weekly progress (same grid; `None` = no figure) and
/// each end's regime at each instant (see [`Series`]).
pub fn judge(
    cause: &[Option<f64>],
    effect: &[Option<f64>],
    regimes: Option<(&[Regime], &[Regime])>,
    seed: u64,
) -> Evidence {
    let periods = cause
        .iter()
        .zip(effect)
        .filter(|(a, b)| a.is_some() && b.is_some())
        .count();
    if periods < MIN_WEEKS {
        return Evidence::NotEnough {
            weeks: periods,
            needed: MIN_WEEKS,
        };
    }
    let (dc, de) = (
        changes(cause, regimes.map(|r| r.0)),
        changes(effect, regimes.map(|r| r.1)),
    );
    let observed = lagged(&dc, &de);
    let (Some((lag_hi, r_hi, z_hi)), Some((lag_lo, r_lo, z_lo))) =
        (max_by_r(&observed), min_by_r(&observed))
    else {
        // Nothing moved (or too few changes at every lag): nothing to judge.
        return Evidence::Judged(Finding {
            verdict: Verdict::NoEvidence,
            lag: 0,
            r: 0.0,
            periods,
            p: 1.0,
        });
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut as_high = 1usize;
    let mut as_low = 1usize;
    let mut shuffled = dc.clone();
    for _ in 0..PERMUTATIONS {
        shuffle(&dc, &mut rng, &mut shuffled);
        let rs = lagged(&shuffled, &de);
        if max_by_r(&rs).is_some_and(|(_, _, z)| z >= z_hi - 1e-9) {
            as_high += 1;
        }
        if min_by_r(&rs).is_some_and(|(_, _, z)| z <= z_lo + 1e-9) {
            as_low += 1;
        }
    }
    let total = (PERMUTATIONS + 1) as f64;
    let p_hi = as_high as f64 / total;
    let p_lo = as_low as f64 / total;
    let finding = if r_hi > 0.0 && p_hi <= ALPHA {
        Finding {
            verdict: Verdict::Supported,
            lag: lag_hi,
            r: r_hi,
            periods,
            p: p_hi,
        }
    } else if r_lo < 0.0 && p_lo <= ALPHA {
        Finding {
            verdict: Verdict::Contradicted,
            lag: lag_lo,
            r: r_lo,
            periods,
            p: p_lo,
        }
    } else {
        Finding {
            verdict: Verdict::NoEvidence,
            lag: lag_hi,
            r: r_hi,
            periods,
            p: p_hi,
        }
    };
    Evidence::Judged(finding)
}

/// A uniformly random permutation of the weeks of `x` that have a change, into `out`;
/// weeks without one (no figure yet, a regime change) stay where they are, so every
/// shuffle has as many pairs as the history.
fn shuffle(x: &[Option<f64>], rng: &mut ChaCha8Rng, out: &mut [Option<f64>]) {
    out.copy_from_slice(x);
    let slots: Vec<usize> = (0..x.len()).filter(|&i| x[i].is_some()).collect();
    for k in (1..slots.len()).rev() {
        let j = rng.random_range(0..=k);
        out.swap(slots[k], slots[j]);
    }
}

/// `(lag, r)` for each lag 0..=MAX_LAG with enough pairs and variation: r between
/// `cause[t]` and `effect[t + lag]`.
fn lagged(cause: &[Option<f64>], effect: &[Option<f64>]) -> Vec<(usize, f64, f64)> {
    (0..=MAX_LAG)
        .filter_map(|lag| {
            let pairs: Vec<(f64, f64)> = cause
                .iter()
                .zip(effect.iter().skip(lag))
                .filter_map(|(a, b)| Some(((*a)?, (*b)?)))
                .collect();
            let n = pairs.len() as f64;
            pearson(pairs.into_iter()).map(|r| (lag, r, strength(r, n)))
        })
        .collect()
}

/// Fisher's z of `r` over `n` pairs, scaled by its standard error: comparable across lags
/// with different numbers of pairs (a lag with fewer pairs needs a larger r).
fn strength(r: f64, n: f64) -> f64 {
    r.clamp(-0.999_999, 0.999_999).atanh() * (n - 3.0).max(1.0).sqrt()
}

/// The lag with the largest strength: `(lag, r, strength)`.
fn max_by_r(rs: &[(usize, f64, f64)]) -> Option<(usize, f64, f64)> {
    rs.iter().copied().fold(None, |best, x| match best {
        Some((_, _, z)) if z >= x.2 => best,
        _ => Some(x),
    })
}

/// The lag with the smallest (most negative) strength.
fn min_by_r(rs: &[(usize, f64, f64)]) -> Option<(usize, f64, f64)> {
    rs.iter().copied().fold(None, |best, x| match best {
        Some((_, _, z)) if z <= x.2 => best,
        _ => Some(x),
    })
}

/// Pearson's r of the pairs; `None` with fewer than [`MIN_PAIRS`] pairs or no variation
/// on either side.
fn pearson(pairs: impl Iterator<Item = (f64, f64)>) -> Option<f64> {
    let (mut n, mut sx, mut sy, mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (x, y) in pairs {
        n += 1.0;
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
    }
    if n < MIN_PAIRS as f64 {
        return None;
    }
    let vx = sxx - sx * sx / n;
    let vy = syy - sy * sy / n;
    if vx <= 1e-12 * n || vy <= 1e-12 * n {
        return None;
    }
    Some(((sxy - sx * sy / n) / (vx * vy).sqrt()).clamp(-1.0, 1.0))
}

/// The plain-words sentence: "P1 → C1 supported: gains in P1 were followed by gains in
/// C1 about 2 weeks later (12 weeks of data, r = 0.62, p = 0.03)."
pub fn sentence(cause: &str, effect: &str, e: &Evidence) -> String {
    match e {
        Evidence::NotEnough { weeks, needed } => {
            format!("{cause} → {effect}: not enough history yet: {weeks} of {needed} weeks")
        }
        Evidence::Judged(f) => {
            let when = match f.lag {
                0 => "in the same week".to_string(),
                1 => "about 1 week later".to_string(),
                n => format!("about {n} weeks later"),
            };
            let figures = format!(
                "({} weeks of data, r = {:.2}, p = {:.2})",
                f.periods, f.r, f.p
            );
            match f.verdict {
                Verdict::Supported => format!(
                    "{cause} → {effect} supported: gains in {cause} were followed by gains in {effect} {when} {figures}."
                ),
                Verdict::Contradicted => format!(
                    "{cause} → {effect} contradicted: gains in {cause} were followed by losses in {effect} {when} {figures}."
                ),
                Verdict::NoEvidence => format!(
                    "{cause} → {effect} no evidence yet: changes in {cause} were not reliably followed by changes in {effect} {figures}."
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand_distr_free::normal;

    /// A standard normal draw by Box–Muller (no extra dependency).
    mod rand_distr_free {
        use rand::Rng;
        pub fn normal(rng: &mut impl Rng) -> f64 {
            let u1: f64 = rng.random_range(f64::EPSILON..1.0);
            let u2: f64 = rng.random::<f64>();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }

    /// Chance that a week's check-in is skipped (the figure is carried forward).
    const SKIP: f64 = 0.02;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap()
    }

    /// A link's two ends over `weeks` weekly periods, as people check in: the latent weekly
    /// gains of the cause are noisy and autocorrelated (AR(1), φ = 0.3); the effect's
    /// gains are `beta` × the cause's gains `lag` weeks earlier plus their own noise. Each
    /// end is checked in on a jittered day of each week (sometimes skipped), with
    /// measurement noise, and read back through [`resample`] onto the weekly grid.
    fn synthetic(
        seed: u64,
        weeks: usize,
        lag: usize,
        beta: f64,
    ) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = weeks + lag + 1;
        let mut gains_c = Vec::with_capacity(n);
        let mut prev = 0.0;
        for _ in 0..n {
            let g = 0.3 * prev + normal(&mut rng);
            gains_c.push(g);
            prev = g;
        }
        let mut level_c = 0.2;
        let mut level_e = 0.3;
        let mut own = 0.0;
        let (mut pc, mut pe) = (Vec::new(), Vec::new());
        for w in 0..weeks {
            let i = w + lag + 1;
            level_c += 0.02 + 0.02 * gains_c[i];
            own = 0.3 * own + normal(&mut rng);
            level_e += 0.01 + 0.02 * (beta * gains_c[i - lag] + own);
            let day = |rng: &mut ChaCha8Rng| {
                t0() + Duration::weeks(w as i64) - Duration::days(rng.random_range(0..5))
            };
            if w < 2 || rng.random::<f64>() > SKIP {
                let d = day(&mut rng);
                pc.push((d, level_c + 0.004 * normal(&mut rng)));
            }
            if w < 2 || rng.random::<f64>() > SKIP {
                let d = day(&mut rng);
                pe.push((d, level_e + 0.004 * normal(&mut rng)));
            }
        }
        let grid: Vec<_> = (0..weeks)
            .map(|w| t0() + Duration::weeks(w as i64))
            .collect();
        (resample(&pc, &grid), resample(&pe, &grid))
    }

    fn rate(seeds: u64, lag: usize, beta: f64) -> f64 {
        let hits = (0..seeds)
            .filter(|&s| {
                let (c, e) = synthetic(s, 12, lag, beta);
                judge(&c, &e, None, seed_of("P1", "C1") ^ s).verdict() == Some(Verdict::Supported)
            })
            .count();
        hits as f64 / seeds as f64
    }

    #[test]
    fn a_planted_lagged_effect_is_found_supported_at_least_80_percent_of_the_time() {
        let planted: Vec<f64> = [1, 2].iter().map(|&lag| rate(200, lag, 2.5)).collect();
        let detection = (planted[0] + planted[1]) / 2.0;
        println!(
            "detection over 400 seeded histories (lag 1: {:.1} %, lag 2: {:.1} %): {:.1} %",
            planted[0] * 100.0,
            planted[1] * 100.0,
            detection * 100.0
        );
        assert!(detection >= 0.80, "detection {detection}");
    }

    #[test]
    fn a_null_link_is_called_supported_at_most_10_percent_of_the_time() {
        let false_alarms = rate(400, 1, 0.0);
        println!(
            "false alarms over 400 seeded null histories: {:.1} %",
            false_alarms * 100.0
        );
        assert!(false_alarms <= 0.10, "false alarms {false_alarms}");
    }

    #[test]
    fn a_negative_link_is_contradicted_not_supported() {
        let (c, e) = synthetic(7, 16, 1, -3.0);
        let ev = judge(&c, &e, None, 1);
        assert_eq!(ev.verdict(), Some(Verdict::Contradicted), "{ev:?}");
    }

    #[test]
    fn below_eight_weeks_there_is_no_verdict() {
        let (c, e) = synthetic(3, 5, 1, 3.0);
        let ev = judge(&c, &e, None, 1);
        assert_eq!(
            ev,
            Evidence::NotEnough {
                weeks: 5,
                needed: 8
            }
        );
        assert_eq!(
            sentence("P1", "C1", &ev),
            "P1 → C1: not enough history yet: 5 of 8 weeks"
        );
    }

    #[test]
    fn the_same_history_gives_the_same_verdict_and_p() {
        let (c, e) = synthetic(11, 12, 2, 2.5);
        let a = judge(&c, &e, None, seed_of("P1", "C1"));
        let b = judge(&c, &e, None, seed_of("P1", "C1"));
        assert_eq!(a, b);
    }

    #[test]
    fn the_sentence_names_lag_strength_periods_and_confidence() {
        let f = Evidence::Judged(Finding {
            verdict: Verdict::Supported,
            lag: 2,
            r: 0.62,
            periods: 12,
            p: 0.03,
        });
        assert_eq!(
            sentence("P1", "C1", &f),
            "P1 → C1 supported: gains in P1 were followed by gains in C1 about 2 weeks later (12 weeks of data, r = 0.62, p = 0.03)."
        );
    }

    #[test]
    fn resample_carries_the_last_value_forward() {
        let p = vec![
            (t0() + Duration::days(1), 1.0),
            (t0() + Duration::days(3), 2.0),
            (t0() + Duration::days(10), 3.0),
        ];
        let grid = weekly_grid(t0() + Duration::days(14), 3);
        assert_eq!(resample(&p, &grid), vec![None, Some(2.0), Some(3.0)]);
    }

    #[test]
    fn a_shuffle_moves_only_the_weeks_that_have_a_change() {
        let x = [None, Some(1.0), None, Some(2.0), Some(3.0), None];
        let mut out = [None; 6];
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for _ in 0..20 {
            shuffle(&x, &mut rng, &mut out);
            assert!(
                out[0].is_none() && out[2].is_none() && out[5].is_none(),
                "{out:?}"
            );
            let mut got: Vec<f64> = out.iter().flatten().copied().collect();
            got.sort_by(f64::total_cmp);
            assert_eq!(got, vec![1.0, 2.0, 3.0]);
        }
    }

    #[test]
    fn a_change_across_a_cycle_boundary_is_left_out() {
        let levels = [Some(0.5), Some(0.9), Some(0.1), Some(0.2)];
        let cycles = [
            Some("q1".to_string()),
            Some("q1".into()),
            Some("q2".into()),
            Some("q2".into()),
        ];
        let d = changes(&levels, Some(&cycles));
        assert_eq!(d.len(), 3);
        assert!((d[0].unwrap() - 0.4).abs() < 1e-9);
        assert_eq!(d[1], None);
        assert!((d[2].unwrap() - 0.1).abs() < 1e-9);
    }
}
