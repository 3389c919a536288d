//! Progress, rollups and status (PRODUCT §5): pure math over an [`OrgSpec`] and the live
//! [`OrgState`].
//!
//! Nothing here reads the clock or does I/O: `now` is always a parameter. All progress
//! figures are shares in `[0, 1]`; `None` means "nothing to judge yet" and is left out of
//! every mean (it never counts as 0).
//!
//! Rollup chain: key result → OKR objective (and its child objectives when it sets
//! `include_children`) → scorecard
//! objective (with its measures) → perspective → company. Departments get a separate
//! rollup over the objectives they own.
//!
//! Status scoring, used from objectives upward: every part whose status is not
//! [`Status::NoData`] scores on track = 1, at risk = 0.5, off track = 0; the weighted mean of
//! the scores (same weights as the progress mean) is on track at ≥ 0.75, at risk at ≥ 0.4,
//! off track below; no scored part gives [`Status::NoData`].

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::cadence::parse_rule;
use super::model::{Code, Confidence, Direction, Key, KrKind, Perspective, Status};
use super::org::{
    Current, CycleSpec, DepartmentSpec, InitiativeSpec, KeyResultSpec, MeasureSpec, MilestoneSpec,
    ObjectiveSpec, OrgSpec, OrgState,
};

/// Check-in period used when neither the key result nor any department up the tree
/// declares a `checkin` cadence.
pub const DEFAULT_PERIOD_DAYS: i64 = 7;

/// Progress at or above this counts as done (absorbs float noise below 1).
const DONE: f64 = 1.0 - 1e-9;
/// Early in a cycle nobody can be behind pace: below this share elapsed a metric is on track.
const PACE_GRACE: f64 = 0.05;
/// progress / expected at or above this: on track.
const PACE_ON_TRACK: f64 = 0.9;
/// progress / expected at or above this: at risk (else off track).
const PACE_AT_RISK: f64 = 0.6;
/// A held bound (`at_least`, `at_most`, `band`) scored at or above this: at risk.
const HELD_AT_RISK: f64 = 0.7;
/// A milestone not done once this share of the cycle has elapsed: at risk.
const MILESTONE_LATE: f64 = 0.8;
/// A baseline not set once this share of the cycle has elapsed: at risk.
const BASELINE_LATE: f64 = 0.5;
/// Measure attainment at or above this: on track.
const MEASURE_ON_TRACK: f64 = 0.8;
/// Measure attainment at or above this: at risk (else off track).
const MEASURE_AT_RISK: f64 = 0.4;
/// Status score at or above this: on track.
const SCORE_ON_TRACK: f64 = 0.75;
/// Status score at or above this: at risk (else off track).
const SCORE_AT_RISK: f64 = 0.4;

/// Result for one entity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Eval {
    pub progress: Option<f64>,
    pub status: Status,
}

impl Eval {
    /// Nothing to judge: no progress, [`Status::NoData`].
    pub const NO_DATA: Eval = Eval {
        progress: None,
        status: Status::NoData,
    };
}

/// Evaluation of one key result.
#[derive(Debug, Clone, PartialEq)]
pub struct KrEval {
    /// `None`: baseline not yet set, or no value and no start.
    pub progress: Option<f64>,
    /// Share of the cycle elapsed (the pace line); `None` when there is no cycle.
    pub expected: Option<f64>,
    pub status: Status,
    /// No check-in for two periods. A flag shown beside the status; it does not change it.
    pub stale: bool,
    /// Current figure: the latest check-in; `None` when never measured.
    pub value: Option<f64>,
    /// Confidence of the latest check-in, fresh or not.
    pub confidence: Option<Confidence>,
    /// Time of the latest check-in.
    pub last_at: Option<DateTime<Utc>>,
}

/// Every figure of the organisation at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollup {
    pub key_results: HashMap<Code, KrEval>,
    /// Measure attainment (0 at the red threshold, 1 at target).
    pub measures: HashMap<Code, Eval>,
    /// OKR objectives of every cycle.
    pub objectives: HashMap<Code, Eval>,
    /// Strategic (scorecard) objectives.
    pub scorecard: HashMap<Code, Eval>,
    /// Enabled perspectives, in the order of `spec.perspectives` (causal order).
    pub perspectives: Vec<(Perspective, Eval)>,
    pub departments: HashMap<Key, Eval>,
    pub company: Eval,
    /// The cycle whose objectives feed the scorecard, department and company rollups.
    pub cycle: Option<Key>,
}

/// `x` clamped to `[0, 1]`; NaN (only reachable through overflowing extremes) reads as 0.
fn unit(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

/// Progress of a key result given its current value (`None`: no check-in yet).
///
/// A key result that was never measured (`value` is `None`) has no progress, whatever its
/// kind, except a milestone (not done until someone says it is done: 0).
///
/// - `metric`: `(v − start) / (target − start)` clamped to `[0, 1]`, so decreasing targets
///   (14 → 7) work too. A missing `start` reads as 0. No value or no target: `None`. A
///   degenerate `start == target`
///   (the manifest rejects it) reads as "reach at least the target": 1 when `v ≥ target`,
///   else 0.
/// - `at_least` (bound `b = target`, reference `r = start`, default `b − max(|b|, 1)`): 1
///   while `v ≥ b`, else `(v − r) / (b − r)` clamped. `at_most` mirrors it (default
///   reference `b + max(|b|, 1)`). A reference on the wrong side of the bound gives 0 when
///   not held.
/// - `band` `(low, high)` (swapped if reversed): 1 within, else `1 − dist / width` clamped,
///   where `width = high − low`, or `max(|low|, 1)` for a zero-width band.
/// - Held kinds use `v = value`; no value gives `None`.
/// - `milestone`: 1 when the value is ≥ 0.5 (done), else 0; no value is 0.
/// - `baseline`: `None` (it shows "baseline: <value>") until the manifest sets its
///   `target`; then it scores as a `metric` from `start` (0 when absent).
///
/// Non-finite numbers are treated as absent.
pub fn kr_progress(kr: &KeyResultSpec, value: Option<f64>) -> Option<f64> {
    let value = finite(value);
    let start = finite(kr.start);
    let target = finite(kr.target);
    match kr.kind {
        KrKind::Metric | KrKind::Baseline => {
            let t = target?;
            Some(metric_progress(start.unwrap_or(0.0), t, value?))
        }
        KrKind::AtLeast => Some(at_least_score(target?, start, value?)),
        KrKind::AtMost => Some(at_most_score(target?, start, value?)),
        KrKind::Band => {
            let (lo, hi) = kr.band.filter(|(l, h)| l.is_finite() && h.is_finite())?;
            Some(band_score(lo, hi, value?))
        }
        KrKind::Milestone => Some(if value.is_some_and(|v| v >= 0.5) {
            1.0
        } else {
            0.0
        }),
    }
}

fn metric_progress(start: f64, target: f64, v: f64) -> f64 {
    let span = target - start;
    if span == 0.0 {
        return if v >= target { 1.0 } else { 0.0 };
    }
    unit((v - start) / span)
}

fn at_least_score(bound: f64, reference: Option<f64>, v: f64) -> f64 {
    if v >= bound {
        return 1.0;
    }
    let r = reference.unwrap_or(bound - bound.abs().max(1.0));
    if r >= bound {
        return 0.0;
    }
    unit((v - r) / (bound - r))
}

fn at_most_score(bound: f64, reference: Option<f64>, v: f64) -> f64 {
    if v <= bound {
        return 1.0;
    }
    let r = reference.unwrap_or(bound + bound.abs().max(1.0));
    if r <= bound {
        return 0.0;
    }
    unit((r - v) / (r - bound))
}

fn band_score(low: f64, high: f64, v: f64) -> f64 {
    let (lo, hi) = if low <= high {
        (low, high)
    } else {
        (high, low)
    };
    if (lo..=hi).contains(&v) {
        return 1.0;
    }
    let width = if hi > lo { hi - lo } else { lo.abs().max(1.0) };
    let dist = if v < lo { lo - v } else { v - hi };
    unit(1.0 - dist / width)
}

/// Attainment of a measure: 0 at the red threshold, 1 at target, clamped.
///
/// The value is the latest measurement; a measure never measured has no attainment (its
/// `baseline` is where it started, not a measurement).
/// - `up`: `(v − red) / (target − red)`; `down`: `(red − v) / (red − target)`. A red
///   threshold on the wrong side of the target (or equal to it) gives 1 at target or better,
///   else 0.
/// - `band` (`m.band`, falling back to `(target, target)`; `m.red` is the distance outside
///   the band at which attainment reaches 0): 1 within, else `1 − dist / red` clamped;
///   `red ≤ 0` gives 0 outside.
pub fn measure_attainment(m: &MeasureSpec, value: Option<f64>) -> Option<f64> {
    let v = finite(value)?;
    let a = match m.direction {
        Direction::Up => {
            let den = m.target - m.red;
            if den.is_nan() || den <= 0.0 {
                if v >= m.target { 1.0 } else { 0.0 }
            } else {
                unit((v - m.red) / den)
            }
        }
        Direction::Down => {
            let den = m.red - m.target;
            if den.is_nan() || den <= 0.0 {
                if v <= m.target { 1.0 } else { 0.0 }
            } else {
                unit((m.red - v) / den)
            }
        }
        Direction::Band => {
            let (l, h) = m.band.unwrap_or((m.target, m.target));
            let (lo, hi) = if l <= h { (l, h) } else { (h, l) };
            if (lo..=hi).contains(&v) {
                1.0
            } else if m.red.is_nan() || m.red <= 0.0 {
                0.0
            } else {
                let dist = if v < lo { lo - v } else { v - hi };
                unit(1.0 - dist / m.red)
            }
        }
    };
    Some(a)
}

/// Weighted mean of `(weight, value)` pairs.
///
/// Items whose value is `None` or non-finite, or whose weight is ≤ 0 or non-finite, are
/// ignored; `None` when nothing remains. The result always lies between the smallest and
/// the largest included value (computed as a running convex combination, so huge weights
/// cannot overflow it).
pub fn weighted_mean(items: impl IntoIterator<Item = (f64, Option<f64>)>) -> Option<f64> {
    let mut total = 0.0_f64;
    let mut mean = 0.0_f64;
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut any = false;
    for (w, v) in items {
        let Some(v) = v else { continue };
        if w.is_finite() && w > 0.0 && v.is_finite() {
            total += w;
            if any {
                let r = if total.is_finite() { w / total } else { 0.0 };
                mean = mean * (1.0 - r) + v * r;
            } else {
                mean = v;
                any = true;
            }
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    any.then(|| mean.clamp(lo, hi))
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    d.and_time(NaiveTime::MIN).and_utc()
}

/// First instant of the cycle (its first day, 00:00 UTC).
fn cycle_start(c: &CycleSpec) -> DateTime<Utc> {
    day_start(c.starts)
}

/// First instant after the cycle (the day after its inclusive last day, 00:00 UTC).
fn cycle_end(c: &CycleSpec) -> DateTime<Utc> {
    let last = day_start(c.ends);
    last.checked_add_signed(Duration::days(1)).unwrap_or(last)
}

/// Share of the cycle elapsed at `now`, in `[0, 1]`. Cycle days are UTC dates and both
/// ends are inclusive: 0 at 00:00 UTC on `starts`, 1 from 00:00 UTC the day after `ends`.
/// A reversed cycle (ends before starts) reads 0 before its start and 1 after.
pub fn cycle_elapsed(cycle: &CycleSpec, now: DateTime<Utc>) -> f64 {
    let start = cycle_start(cycle);
    let end = cycle_end(cycle);
    if end <= start {
        return if now >= start { 1.0 } else { 0.0 };
    }
    let total = (end - start).num_milliseconds() as f64;
    let done = (now - start).num_milliseconds() as f64;
    unit(done / total)
}

/// The cycle in force at `now`: one containing today's UTC date (the latest-starting one
/// if several overlap); else the latest that started before now; else the earliest. Ties
/// go to the first in manifest order. `None` only when there are no cycles.
pub fn active_cycle(spec: &OrgSpec, now: DateTime<Utc>) -> Option<&CycleSpec> {
    let today = now.date_naive();
    let cycles = &spec.cycles;
    // `rev` + `max_by_key` keeps the first maximum in manifest order.
    cycles
        .iter()
        .rev()
        .filter(|c| c.starts <= today && today <= c.ends)
        .max_by_key(|c| c.starts)
        .or_else(|| {
            cycles
                .iter()
                .rev()
                .filter(|c| c.starts <= today)
                .max_by_key(|c| c.starts)
        })
        .or_else(|| cycles.iter().min_by_key(|c| c.starts))
}

/// Nominal period of a cadence rule; `None` when it does not parse or is not positive.
fn rule_period(rule: &str) -> Option<Duration> {
    parse_rule(rule)
        .ok()
        .map(|r| r.nominal_period())
        .filter(|p| *p > Duration::zero())
}

/// The department's own `checkin` cadence period, if it declares one that parses.
fn own_checkin_period(d: &DepartmentSpec) -> Option<Duration> {
    d.cadences
        .iter()
        .filter(|c| c.purpose.trim().eq_ignore_ascii_case("checkin"))
        .find_map(|c| rule_period(&c.rule))
}

/// Check-in period of a key result: its own `cadence`, else the `checkin` cadence of the
/// owning objective's department, walking up parent departments, else 7 days. Rules that do
/// not parse are skipped. (The objective's department is its `department`, else its owner's
/// department.) Linear scans: for one key result; [`rollup`] uses indices.
pub fn kr_period(spec: &OrgSpec, kr: &KeyResultSpec) -> Duration {
    if let Some(p) = kr.cadence.as_deref().and_then(rule_period) {
        return p;
    }
    super::org::kr_department(spec, kr)
        .and_then(|d| {
            super::org::ancestors(spec, d.as_str())
                .into_iter()
                .find_map(own_checkin_period)
        })
        .unwrap_or(Duration::days(DEFAULT_PERIOD_DAYS))
}

/// Evaluates one key result at `now`.
///
/// - `value` is the latest check-in's value, else the start; progress per [`kr_progress`].
/// - Status: the latest confidence when it is *fresh* (checked in within one `period` of
///   `now`); otherwise pace-based against `expected` = [`cycle_elapsed`]:
///   - `metric`: done → on track; no cycle → no data; `expected < 0.05` → on track; else
///     `progress / expected` ≥ 0.9 on track, ≥ 0.6 at risk, else off track.
///   - `at_least` / `at_most` / `band`: 1 → on track, ≥ 0.7 at risk, else off track.
///   - `milestone`: done → on track; not done and its due date or the cycle's last day has
///     passed → off track; not done and `expected > 0.8` → at risk; else on track. Past
///     its due date and not done it is off track even when a fresh check-in says otherwise
///     ([`milestone_overdue`]).
///   - `baseline` without a target: set → on track; not set and `expected > 0.5` → at
///     risk; else no data. With a target it is paced like a `metric`.
///   - no progress → no data (except milestone and baseline above).
/// - Stale: the last check-in is older than two periods, or there was never one and the
///   cycle started more than two periods ago. Staleness does not change the status.
pub fn evaluate_kr(
    kr: &KeyResultSpec,
    current: Option<&Current>,
    cycle: Option<&CycleSpec>,
    period: Duration,
    now: DateTime<Utc>,
) -> KrEval {
    let ctx = cycle.map(|c| CycleCtx::new(c, now));
    evaluate_kr_in(kr, current, ctx, period, now)
}

/// What a key result needs from its cycle, computed once per cycle.
#[derive(Debug, Clone, Copy)]
struct CycleCtx {
    start: DateTime<Utc>,
    ends: NaiveDate,
    expected: f64,
}

impl CycleCtx {
    fn new(c: &CycleSpec, now: DateTime<Utc>) -> Self {
        CycleCtx {
            start: cycle_start(c),
            ends: c.ends,
            expected: cycle_elapsed(c, now),
        }
    }
}

fn evaluate_kr_in(
    kr: &KeyResultSpec,
    current: Option<&Current>,
    cycle: Option<CycleCtx>,
    period: Duration,
    now: DateTime<Utc>,
) -> KrEval {
    let checked = finite(current.map(|c| c.value));
    let progress = kr_progress(kr, checked);
    let expected = cycle.map(|c| c.expected);
    let last_at = current.map(|c| c.at);
    let confidence = current.and_then(|c| c.confidence);
    let fresh = current
        .and_then(|c| c.confidence.filter(|_| now - c.at <= period))
        .map(Status::from);
    // A milestone past its due date and not done is off track, whatever confidence the
    // last check-in gave: a date that has passed is a fact, not an opinion.
    let status = if milestone_overdue(kr, progress, now) {
        Status::OffTrack
    } else {
        fresh.unwrap_or_else(|| pace_status(kr, checked.is_some(), progress, cycle, now))
    };
    let two = period * 2;
    let stale = match last_at {
        Some(at) => now - at > two,
        None => cycle.is_some_and(|c| now - c.start > two),
    };
    KrEval {
        progress,
        expected,
        status,
        stale,
        value: checked,
        confidence,
        last_at,
    }
}

/// A milestone whose due date has passed (the day after it, UTC) and that is not done.
pub fn milestone_overdue(kr: &KeyResultSpec, progress: Option<f64>, now: DateTime<Utc>) -> bool {
    kr.kind == KrKind::Milestone
        && !progress.is_some_and(|p| p >= DONE)
        && kr.due.is_some_and(|d| now.date_naive() > d)
}

fn pace_status(
    kr: &KeyResultSpec,
    value_set: bool,
    progress: Option<f64>,
    cycle: Option<CycleCtx>,
    now: DateTime<Utc>,
) -> Status {
    let expected = cycle.map(|c| c.expected);
    match kr.kind {
        KrKind::Metric => metric_pace(progress, expected),
        KrKind::Baseline if kr.target.is_some() => metric_pace(progress, expected),
        KrKind::AtLeast | KrKind::AtMost | KrKind::Band => match progress {
            None => Status::NoData,
            Some(p) if p >= DONE => Status::OnTrack,
            Some(p) if p >= HELD_AT_RISK => Status::AtRisk,
            Some(_) => Status::OffTrack,
        },
        KrKind::Milestone => {
            if progress.is_some_and(|p| p >= DONE) {
                return Status::OnTrack;
            }
            let today = now.date_naive();
            let late = kr.due.is_some_and(|d| today > d) || cycle.is_some_and(|c| today > c.ends);
            if late {
                Status::OffTrack
            } else if expected.is_some_and(|e| e > MILESTONE_LATE) {
                Status::AtRisk
            } else {
                Status::OnTrack
            }
        }
        KrKind::Baseline => {
            if value_set {
                Status::OnTrack
            } else if expected.is_some_and(|e| e > BASELINE_LATE) {
                Status::AtRisk
            } else {
                Status::NoData
            }
        }
    }
}

/// Pace-based status of a metric (see [`evaluate_kr`]).
fn metric_pace(progress: Option<f64>, expected: Option<f64>) -> Status {
    let Some(p) = progress else {
        return Status::NoData;
    };
    if p >= DONE {
        return Status::OnTrack;
    }
    let Some(e) = expected else {
        return Status::NoData;
    };
    if e < PACE_GRACE {
        return Status::OnTrack;
    }
    let ratio = p / e;
    if ratio >= PACE_ON_TRACK {
        Status::OnTrack
    } else if ratio >= PACE_AT_RISK {
        Status::AtRisk
    } else {
        Status::OffTrack
    }
}

fn status_score(s: Status) -> Option<f64> {
    match s {
        Status::OnTrack => Some(1.0),
        Status::AtRisk => Some(0.5),
        Status::OffTrack => Some(0.0),
        Status::NoData => None,
    }
}

/// Status from weighted part statuses (see the module doc for the scoring).
fn score_status(items: impl IntoIterator<Item = (f64, Status)>) -> Status {
    match weighted_mean(items.into_iter().map(|(w, s)| (w, status_score(s)))) {
        None => Status::NoData,
        Some(x) if x >= SCORE_ON_TRACK => Status::OnTrack,
        Some(x) if x >= SCORE_AT_RISK => Status::AtRisk,
        Some(_) => Status::OffTrack,
    }
}

fn measure_status(attainment: Option<f64>) -> Status {
    match attainment {
        None => Status::NoData,
        Some(a) if a >= MEASURE_ON_TRACK => Status::OnTrack,
        Some(a) if a >= MEASURE_AT_RISK => Status::AtRisk,
        Some(_) => Status::OffTrack,
    }
}

/// A part of a rollup: weight, progress, status.
type Part = (f64, Option<f64>, Status);

fn combine(parts: &[Part]) -> Eval {
    Eval {
        progress: weighted_mean(parts.iter().map(|&(w, p, _)| (w, p))),
        status: score_status(parts.iter().map(|&(w, _, s)| (w, s))),
    }
}

/// Indices over a spec, built once per rollup.
struct Index {
    /// Parent objective index (unknown parent codes read as none).
    obj_parent: Vec<Option<usize>>,
    obj_children: Vec<Vec<usize>>,
    obj_krs: Vec<Vec<usize>>,
    /// Objective index of each key result.
    kr_obj: Vec<Option<usize>>,
    /// Owning department index.
    obj_dept: Vec<Option<usize>>,
    /// Per department: itself, then its ancestors (cycle-safe).
    dept_chain: Vec<Vec<usize>>,
    /// Per department: inherited check-in period.
    dept_period: Vec<Option<Duration>>,
}

impl Index {
    fn new(spec: &OrgSpec) -> Self {
        let n_obj = spec.objectives.len();
        let mut obj_by_code = HashMap::with_capacity(n_obj);
        for (i, o) in spec.objectives.iter().enumerate() {
            obj_by_code.entry(o.code.as_str()).or_insert(i);
        }
        let org = super::org::OrgIndex::new(spec);
        let n_dept = spec.departments.len();
        let dept_chain: Vec<Vec<usize>> = (0..n_dept)
            .map(|start| {
                let mut chain = vec![start];
                let mut cur = start;
                while let Some(p) = spec.departments[cur]
                    .parent
                    .as_ref()
                    .and_then(|k| org.department(k.as_str()))
                {
                    if chain.contains(&p) {
                        break;
                    }
                    chain.push(p);
                    cur = p;
                }
                chain
            })
            .collect();
        let own: Vec<Option<Duration>> = spec.departments.iter().map(own_checkin_period).collect();
        let dept_period = dept_chain
            .iter()
            .map(|chain| chain.iter().find_map(|&d| own[d]))
            .collect();

        let mut obj_parent = vec![None; n_obj];
        let mut obj_children = vec![Vec::new(); n_obj];
        let mut obj_dept = vec![None; n_obj];
        for (i, o) in spec.objectives.iter().enumerate() {
            if let Some(&p) = o.parent.as_ref().and_then(|c| obj_by_code.get(c.as_str())) {
                obj_parent[i] = Some(p);
                obj_children[p].push(i);
            }
            obj_dept[i] = org.owning(o);
        }
        let mut obj_krs = vec![Vec::new(); n_obj];
        let kr_obj = spec
            .key_results
            .iter()
            .enumerate()
            .map(|(k, kr)| {
                let o = obj_by_code.get(kr.objective.as_str()).copied();
                if let Some(o) = o {
                    obj_krs[o].push(k);
                }
                o
            })
            .collect();
        Index {
            obj_parent,
            obj_children,
            obj_krs,
            kr_obj,
            obj_dept,
            dept_chain,
            dept_period,
        }
    }

    /// Ancestor objectives of `o`, nearest first, stopping on a cycle.
    fn ancestors(&self, o: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut cur = self.obj_parent[o];
        while let Some(p) = cur {
            if p == o || out.contains(&p) {
                break;
            }
            out.push(p);
            cur = self.obj_parent[p];
        }
        out
    }
}

/// Evaluates OKR objectives bottom-up with an iterative depth-first walk (no recursion, so
/// deep cascades cannot overflow the stack). A child link that would close a cycle is
/// ignored; every objective is evaluated exactly once.
fn evaluate_objectives(spec: &OrgSpec, idx: &Index, krs: &[KrEval]) -> Vec<Eval> {
    const NEW: u8 = 0;
    const OPEN: u8 = 1;
    const DONE_: u8 = 2;
    let n = spec.objectives.len();
    let mut state = vec![NEW; n];
    let mut evals = vec![Eval::NO_DATA; n];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let mut parts: Vec<Part> = Vec::new();
    for root in 0..n {
        if state[root] != NEW {
            continue;
        }
        state[root] = OPEN;
        stack.push((root, 0));
        while let Some(top) = stack.last_mut() {
            let (node, pos) = *top;
            if let Some(&child) = idx.obj_children[node].get(pos) {
                top.1 += 1;
                if state[child] == NEW {
                    state[child] = OPEN;
                    stack.push((child, 0));
                }
                continue;
            }
            stack.pop();
            parts.clear();
            parts.extend(
                idx.obj_krs[node]
                    .iter()
                    .map(|&k| (spec.key_results[k].weight, krs[k].progress, krs[k].status)),
            );
            let with_children = spec.objectives[node].include_children;
            parts.extend(
                idx.obj_children[node]
                    .iter()
                    .filter(|&&c| with_children && state[c] == DONE_)
                    .map(|&c| {
                        (
                            spec.objectives[c].weight,
                            evals[c].progress,
                            evals[c].status,
                        )
                    }),
            );
            evals[node] = combine(&parts);
            state[node] = DONE_;
        }
    }
    evals
}

/// What a contributing row of an objective is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    KeyResult,
    ChildObjective,
}

/// One row behind an objective's figure: enough to redo the arithmetic by hand.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub kind: PartKind,
    pub code: Code,
    pub weight: f64,
    pub progress: Option<f64>,
    pub status: Status,
    /// Whether the row enters the weighted mean: a positive finite weight and a figure.
    /// Rows without a figure are listed but left out (they never count as 0).
    pub counted: bool,
}

/// Every row that makes up the OKR objective `code`'s figure in `rollup`, in manifest
/// order: its key results, then (only with `include_children`) its child objectives.
/// The objective's progress is exactly [`weighted_mean`] of these rows' `(weight,
/// progress)`. Empty for an unknown code.
pub fn objective_parts(spec: &OrgSpec, rollup: &Rollup, code: &Code) -> Vec<Contribution> {
    let Some(o) = spec.objective(code) else {
        return Vec::new();
    };
    let counted = |w: f64, p: Option<f64>| w.is_finite() && w > 0.0 && finite(p).is_some();
    let mut out: Vec<Contribution> = spec
        .key_results
        .iter()
        .filter(|k| &k.objective == code)
        .map(|k| {
            let e = rollup.key_results.get(&k.code);
            let progress = e.and_then(|e| e.progress);
            Contribution {
                kind: PartKind::KeyResult,
                code: k.code.clone(),
                weight: k.weight,
                progress,
                status: e.map_or(Status::NoData, |e| e.status),
                counted: counted(k.weight, progress),
            }
        })
        .collect();
    if o.include_children {
        out.extend(child_objectives(spec, code).into_iter().map(|c| {
            let e = rollup
                .objectives
                .get(&c.code)
                .copied()
                .unwrap_or(Eval::NO_DATA);
            Contribution {
                kind: PartKind::ChildObjective,
                code: c.code.clone(),
                weight: c.weight,
                progress: e.progress,
                status: e.status,
                counted: counted(c.weight, e.progress),
            }
        }));
    }
    out
}

/// The objectives whose `parent` is `code`, in manifest order (itself excluded).
pub fn child_objectives<'a>(spec: &'a OrgSpec, code: &Code) -> Vec<&'a ObjectiveSpec> {
    spec.objectives
        .iter()
        .filter(|o| o.parent.as_ref() == Some(code) && &o.code != code)
        .collect()
}

/// Rolls the whole organisation up at `now`.
///
/// - Key results: [`evaluate_kr`] with their objective's cycle (else the active cycle) and
///   [`kr_period`].
/// - OKR objectives (every cycle): weighted mean over their key results (`kr.weight`);
///   an objective with `include_children` also counts its child objectives
///   (`child.weight`), recursively; status scored from the parts. [`objective_parts`]
///   lists exactly these parts.
/// - Only objectives of the active cycle ([`active_cycle`]) feed the scorecard,
///   department and company rollups.
/// - Scorecard objective: weighted mean of the active objectives aligned to it, counted once
///   along the cascade (skipped when an active ancestor its progress flows into, through
///   parents that set `include_children`, is aligned to the same scorecard objective),
///   weight `objective.weight`; and of
///   its measures' attainment, weight `measure.weight`. A measure's status: attainment
///   ≥ 0.8 on track, ≥ 0.4 at risk, else off track.
/// - Perspective: weighted mean (scorecard weight) of its scorecard objectives; only
///   perspectives enabled in `spec.perspectives`, in that order.
/// - Company: plain mean of the perspectives that have progress; status scored likewise.
/// - Department: weighted mean over the active objectives owned by it or a descendant
///   department, counting only top-most ones (skipped when an ancestor objective its
///   progress flows into is also counted for the same department). Nothing → no data.
pub fn rollup(spec: &OrgSpec, state: &OrgState, now: DateTime<Utc>) -> Rollup {
    let idx = Index::new(spec);
    let active = active_cycle(spec, now);
    let active_key = active.map(|c| c.key.as_str());

    // Key results: cycle facts and inherited periods once per cycle and objective.
    let default_period = Duration::days(DEFAULT_PERIOD_DAYS);
    let cycle_ctx: HashMap<&str, CycleCtx> = spec
        .cycles
        .iter()
        .map(|c| (c.key.as_str(), CycleCtx::new(c, now)))
        .collect();
    let active_ctx = active_key.and_then(|k| cycle_ctx.get(k).copied());
    let obj_ctx: Vec<(Option<CycleCtx>, Duration)> = spec
        .objectives
        .iter()
        .zip(&idx.obj_dept)
        .map(|(o, d)| {
            let ctx = cycle_ctx.get(o.cycle.as_str()).copied().or(active_ctx);
            let period = d.and_then(|d| idx.dept_period[d]).unwrap_or(default_period);
            (ctx, period)
        })
        .collect();
    let mut rule_cache: HashMap<&str, Option<Duration>> = HashMap::new();
    let kr_evals: Vec<KrEval> = spec
        .key_results
        .iter()
        .zip(&idx.kr_obj)
        .map(|(kr, obj)| {
            let (ctx, inherited) = obj.map_or((active_ctx, default_period), |o| obj_ctx[o]);
            let period = kr
                .cadence
                .as_deref()
                .and_then(|r| *rule_cache.entry(r).or_insert_with(|| rule_period(r)))
                .unwrap_or(inherited);
            evaluate_kr_in(kr, state.key_results.get(&kr.code), ctx, period, now)
        })
        .collect();

    // OKR objectives.
    let obj_evals = evaluate_objectives(spec, &idx, &kr_evals);
    let is_active: Vec<bool> = spec
        .objectives
        .iter()
        .map(|o| active_key == Some(o.cycle.as_str()))
        .collect();

    // Measures.
    let measure_evals: Vec<Eval> = spec
        .measures
        .iter()
        .map(|m| {
            let a = measure_attainment(m, state.measures.get(&m.code).map(|c| c.value));
            Eval {
                progress: a,
                status: measure_status(a),
            }
        })
        .collect();

    // Scorecard objectives.
    let n_sc = spec.scorecard.len();
    let mut sc_by_code: HashMap<&str, usize> = HashMap::with_capacity(n_sc);
    for (i, s) in spec.scorecard.iter().enumerate() {
        sc_by_code.entry(s.code.as_str()).or_insert(i);
    }
    let mut sc_parts: Vec<Vec<Part>> = vec![Vec::new(); n_sc];
    let mut dept_parts: Vec<Vec<Part>> = vec![Vec::new(); spec.departments.len()];
    for (i, o) in spec.objectives.iter().enumerate() {
        if !is_active[i] {
            continue;
        }
        // Ancestors this objective's figure already flows into: up the cascade for as
        // long as each parent counts its children.
        let ancestors: Vec<usize> = {
            let mut out = Vec::new();
            let mut child = i;
            for a in idx.ancestors(i) {
                let flows = spec.objectives[a].include_children && idx.obj_parent[child] == Some(a);
                if !flows {
                    break;
                }
                if is_active[a] {
                    out.push(a);
                }
                child = a;
            }
            out
        };
        let part = (o.weight, obj_evals[i].progress, obj_evals[i].status);
        for (k, c) in o.aligns_to.iter().enumerate() {
            if o.aligns_to[..k].contains(c) {
                continue;
            }
            let Some(&s) = sc_by_code.get(c.as_str()) else {
                continue;
            };
            let counted_above = ancestors
                .iter()
                .any(|&a| spec.objectives[a].aligns_to.contains(c));
            if !counted_above {
                sc_parts[s].push(part);
            }
        }
        if let Some(d0) = idx.obj_dept[i] {
            for &d in &idx.dept_chain[d0] {
                let counted_above = ancestors
                    .iter()
                    .any(|&a| idx.obj_dept[a].is_some_and(|da| idx.dept_chain[da].contains(&d)));
                if !counted_above {
                    dept_parts[d].push(part);
                }
            }
        }
    }
    for (m, e) in spec.measures.iter().zip(&measure_evals) {
        if let Some(&s) = sc_by_code.get(m.objective.as_str()) {
            sc_parts[s].push((m.weight, e.progress, e.status));
        }
    }
    let sc_evals: Vec<Eval> = sc_parts.iter().map(|p| combine(p)).collect();

    // Perspectives and company.
    let perspectives: Vec<(Perspective, Eval)> = spec
        .perspectives
        .iter()
        .map(|ps| {
            let parts: Vec<Part> = spec
                .scorecard
                .iter()
                .zip(&sc_evals)
                .filter(|(s, _)| s.perspective == ps.perspective)
                .map(|(s, e)| (s.weight, e.progress, e.status))
                .collect();
            (ps.perspective, combine(&parts))
        })
        .collect();
    let company_parts: Vec<Part> = perspectives
        .iter()
        .map(|(_, e)| (1.0, e.progress, e.status))
        .collect();
    let company = combine(&company_parts);

    Rollup {
        key_results: spec
            .key_results
            .iter()
            .map(|k| k.code.clone())
            .zip(kr_evals)
            .collect(),
        measures: spec
            .measures
            .iter()
            .map(|m| m.code.clone())
            .zip(measure_evals)
            .collect(),
        objectives: spec
            .objectives
            .iter()
            .map(|o| o.code.clone())
            .zip(obj_evals)
            .collect(),
        scorecard: spec
            .scorecard
            .iter()
            .map(|s| s.code.clone())
            .zip(sc_evals)
            .collect(),
        perspectives,
        departments: spec
            .departments
            .iter()
            .zip(&dept_parts)
            .map(|(d, p)| (d.key.clone(), combine(p)))
            .collect(),
        company,
        cycle: active.map(|c| c.key.clone()),
    }
}

/// Where an initiative stands, from its milestones (README, *Initiatives*).
#[derive(Debug, Clone, PartialEq)]
pub struct InitiativeState {
    /// Milestones done, of all.
    pub done: usize,
    pub total: usize,
    /// The first milestone not done (earliest due date first, undated last).
    pub next: Option<MilestoneSpec>,
    /// The initiative's due date: its last milestone's.
    pub due: Option<NaiveDate>,
    /// A milestone not done whose due date has passed.
    pub late: bool,
}

impl InitiativeState {
    /// `done` (every milestone done), `late` (a milestone past its due date and not
    /// done), `on schedule`, or `no milestones`.
    pub fn label(&self) -> &'static str {
        if self.total == 0 {
            "no milestones"
        } else if self.done == self.total {
            "done"
        } else if self.late {
            "late"
        } else {
            "on schedule"
        }
    }

    /// The status it reads as: late is off track, no milestones is no data.
    pub fn status(&self) -> Status {
        if self.total == 0 {
            Status::NoData
        } else if self.late && self.done < self.total {
            Status::OffTrack
        } else {
            Status::OnTrack
        }
    }
}

/// The state of an initiative on `today`.
pub fn initiative_state(i: &InitiativeSpec, today: NaiveDate) -> InitiativeState {
    let mut open: Vec<&MilestoneSpec> = i.milestones.iter().filter(|m| !m.done).collect();
    open.sort_by_key(|m| (m.due.is_none(), m.due));
    InitiativeState {
        done: i.milestones.len() - open.len(),
        total: i.milestones.len(),
        next: open.first().map(|m| (*m).clone()),
        due: i.milestones.iter().filter_map(|m| m.due).max(),
        late: open.iter().any(|m| m.due.is_some_and(|d| today > d)),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Instant;

    use proptest::prelude::*;

    use super::*;
    use crate::domain::model::{LeadLag, Level};
    use crate::domain::org::{
        CadenceSpec, ObjectiveSpec, OrgInfo, PerspectiveSpec, ScorecardObjective,
    };

    const EPS: f64 = 1e-9;

    fn code(s: &str) -> Code {
        Code::parse(s).unwrap()
    }

    fn key(s: &str) -> Key {
        Key::parse(s).unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        date(y, m, d).and_hms_opt(h, 0, 0).unwrap().and_utc()
    }

    fn approx(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < EPS)
    }

    fn kr_on(
        c: &str,
        obj: &str,
        kind: KrKind,
        start: Option<f64>,
        target: Option<f64>,
    ) -> KeyResultSpec {
        KeyResultSpec {
            code: code(c),
            objective: code(obj),
            title: format!("key result {c}"),
            kind,
            unit: "count".into(),
            start,
            target,
            band: None,
            weight: 1.0,
            owner: None,
            due: None,
            cadence: None,
        }
    }

    fn kr(kind: KrKind, start: Option<f64>, target: Option<f64>) -> KeyResultSpec {
        kr_on("K1", "O1", kind, start, target)
    }

    fn band_kr(lo: f64, hi: f64) -> KeyResultSpec {
        KeyResultSpec {
            band: Some((lo, hi)),
            ..kr(KrKind::Band, None, None)
        }
    }

    fn measure(
        c: &str,
        objective: &str,
        direction: Direction,
        target: f64,
        red: f64,
    ) -> MeasureSpec {
        MeasureSpec {
            code: code(c),
            objective: code(objective),
            title: format!("measure {c}"),
            unit: "%".into(),
            direction,
            baseline: None,
            target,
            red,
            band: None,
            lead_lag: LeadLag::Lag,
            source: None,
            cadence: None,
            owner: None,
            weight: 1.0,
        }
    }

    fn objective(
        c: &str,
        dept: Option<&str>,
        parent: Option<&str>,
        aligns: &[&str],
    ) -> ObjectiveSpec {
        ObjectiveSpec {
            code: code(c),
            title: format!("objective {c}"),
            level: if dept.is_some() {
                Level::Department
            } else {
                Level::Company
            },
            department: dept.map(key),
            owner: None,
            cycle: key("2026-q1"),
            aligns_to: aligns.iter().map(|a| code(a)).collect(),
            parent: parent.map(code),
            weight: 1.0,
            include_children: false,
        }
    }

    fn department(k: &str, parent: Option<&str>, checkin: Option<&str>) -> DepartmentSpec {
        DepartmentSpec {
            key: key(k),
            name: k.to_uppercase(),
            parent: parent.map(key),
            heads: vec![],
            members: vec![],
            time_zone: None,
            channels: BTreeMap::new(),
            prompts_in_channel: false,
            working_hours: None,
            cadences: checkin
                .map(|rule| CadenceSpec {
                    purpose: "checkin".into(),
                    rule: rule.into(),
                    layer: Some("operational".into()),
                })
                .into_iter()
                .collect(),
        }
    }

    fn scorecard(c: &str, perspective: Perspective) -> ScorecardObjective {
        ScorecardObjective {
            code: code(c),
            title: format!("strategic {c}"),
            perspective,
            owner: None,
            horizon_years: 3,
            weight: 1.0,
        }
    }

    fn cycle(k: &str, starts: NaiveDate, ends: NaiveDate) -> CycleSpec {
        CycleSpec {
            key: key(k),
            starts,
            ends,
            name: None,
        }
    }

    fn q1() -> CycleSpec {
        cycle("2026-q1", date(2026, 1, 1), date(2026, 3, 31))
    }

    /// An organisation with cycle 2026-Q1 (90 days) and the customer and internal
    /// perspectives enabled; everything else empty.
    fn org() -> OrgSpec {
        OrgSpec {
            org: OrgInfo {
                key: key("acme"),
                name: "Acme".into(),
                time_zone: chrono_tz::UTC,
                fiscal_year_start: 1,
                working_hours: None,
            },
            perspectives: [Perspective::Internal, Perspective::Customer]
                .into_iter()
                .map(|p| PerspectiveSpec {
                    perspective: p,
                    label: p.default_label().into(),
                })
                .collect(),
            people: vec![],
            departments: vec![],
            scorecard: vec![],
            measures: vec![],
            links: vec![],
            cycles: vec![q1()],
            objectives: vec![],
            key_results: vec![],
            dependencies: vec![],
            initiatives: vec![],
            holidays: vec![],
            review_templates: Default::default(),
        }
    }

    fn cur(value: f64, confidence: Option<Confidence>, when: DateTime<Utc>) -> Current {
        Current {
            value,
            confidence,
            at: when,
            checkin_id: 1,
        }
    }

    /// Metric 0 → 100 key result `c` on objective `obj`, with a check-in of `value`.
    fn metric_with(
        spec: &mut OrgSpec,
        state: &mut OrgState,
        c: &str,
        obj: &str,
        value: f64,
        weight: f64,
    ) {
        spec.key_results.push(KeyResultSpec {
            weight,
            ..kr_on(c, obj, KrKind::Metric, Some(0.0), Some(100.0))
        });
        state
            .key_results
            .insert(code(c), cur(value, None, at(2026, 2, 14, 0)));
    }

    fn obj_progress(r: &Rollup, c: &str) -> Option<f64> {
        r.objectives[&code(c)].progress
    }

    // ---- key result kinds -------------------------------------------------------------

    #[test]
    fn metric_scales_clamps_and_defaults_to_start() {
        let k = kr(KrKind::Metric, Some(20.0), Some(120.0));
        assert!(approx(kr_progress(&k, Some(70.0)), 0.5));
        assert!(
            approx(kr_progress(&k, Some(500.0)), 1.0),
            "overshoot clamps"
        );
        assert!(
            approx(kr_progress(&k, Some(-30.0)), 0.0),
            "undershoot clamps"
        );
        assert_eq!(kr_progress(&k, None), None, "never measured is not 0 %");
    }

    #[test]
    fn metric_handles_decreasing_targets() {
        let k = kr(KrKind::Metric, Some(14.0), Some(7.0));
        assert!(approx(kr_progress(&k, Some(10.0)), 4.0 / 7.0));
        assert!(approx(kr_progress(&k, Some(5.0)), 1.0));
        assert!(approx(kr_progress(&k, Some(20.0)), 0.0));
        assert!(approx(kr_progress(&k, Some(14.0)), 0.0));
    }

    #[test]
    fn metric_with_start_equal_to_target_does_not_divide_by_zero() {
        let k = kr(KrKind::Metric, Some(5.0), Some(5.0));
        assert_eq!(kr_progress(&k, Some(5.0)), Some(1.0));
        assert_eq!(kr_progress(&k, Some(6.0)), Some(1.0));
        assert_eq!(kr_progress(&k, Some(4.0)), Some(0.0));
        assert_eq!(kr_progress(&k, None), None);
    }

    #[test]
    fn metric_without_target_or_any_value_has_no_progress() {
        assert_eq!(
            kr_progress(&kr(KrKind::Metric, Some(0.0), None), Some(3.0)),
            None
        );
        assert_eq!(
            kr_progress(&kr(KrKind::Metric, None, Some(100.0)), None),
            None
        );
        let no_start = kr(KrKind::Metric, None, Some(100.0));
        assert!(approx(kr_progress(&no_start, Some(25.0)), 0.25));
        assert_eq!(kr_progress(&no_start, Some(f64::NAN)), None);
    }

    #[test]
    fn at_least_is_one_while_held_else_scored_by_distance() {
        let k = kr(KrKind::AtLeast, Some(80.0), Some(95.0));
        assert_eq!(kr_progress(&k, Some(95.0)), Some(1.0));
        assert_eq!(kr_progress(&k, Some(99.0)), Some(1.0));
        assert!(approx(kr_progress(&k, Some(87.5)), 0.5));
        assert!(approx(kr_progress(&k, Some(60.0)), 0.0));
        // Default reference: b − max(|b|, 1) = 0 for b = 10.
        let d = kr(KrKind::AtLeast, None, Some(10.0));
        assert!(approx(kr_progress(&d, Some(5.0)), 0.5));
        assert!(approx(kr_progress(&d, Some(-1.0)), 0.0));
        // Bound 0: reference −1.
        let z = kr(KrKind::AtLeast, None, Some(0.0));
        assert!(approx(kr_progress(&z, Some(-0.25)), 0.75));
        assert_eq!(kr_progress(&d, None), None, "no value and no start");
    }

    #[test]
    fn at_most_mirrors_at_least() {
        let k = kr(KrKind::AtMost, Some(10.0), Some(2.0));
        assert_eq!(kr_progress(&k, Some(1.0)), Some(1.0));
        assert_eq!(kr_progress(&k, Some(2.0)), Some(1.0));
        assert!(approx(kr_progress(&k, Some(6.0)), 0.5));
        assert!(approx(kr_progress(&k, Some(12.0)), 0.0));
        assert_eq!(kr_progress(&k, None), None, "never measured");
        // Default reference: b + max(|b|, 1) = 20 for b = 10.
        let d = kr(KrKind::AtMost, None, Some(10.0));
        assert!(approx(kr_progress(&d, Some(15.0)), 0.5));
        assert_eq!(kr_progress(&d, None), None);
    }

    #[test]
    fn band_is_one_within_and_decays_by_width_outside() {
        let k = band_kr(40.0, 60.0);
        for v in [40.0, 50.0, 60.0] {
            assert_eq!(kr_progress(&k, Some(v)), Some(1.0), "{v} is within");
        }
        assert!(approx(kr_progress(&k, Some(70.0)), 0.5));
        assert!(approx(kr_progress(&k, Some(30.0)), 0.5));
        assert!(approx(kr_progress(&k, Some(100.0)), 0.0));
        assert_eq!(
            kr_progress(&band_kr(60.0, 40.0), Some(70.0)),
            kr_progress(&k, Some(70.0))
        );
        // Zero width: width max(|low|, 1).
        assert!(approx(kr_progress(&band_kr(5.0, 5.0), Some(5.5)), 0.9));
        assert!(approx(kr_progress(&band_kr(0.0, 0.0), Some(-0.5)), 0.5));
        assert_eq!(kr_progress(&k, None), None);
        assert_eq!(kr_progress(&kr(KrKind::Band, None, None), Some(1.0)), None);
    }

    #[test]
    fn milestone_is_zero_or_one() {
        let k = kr(KrKind::Milestone, None, None);
        assert_eq!(kr_progress(&k, None), Some(0.0));
        assert_eq!(kr_progress(&k, Some(0.0)), Some(0.0));
        assert_eq!(kr_progress(&k, Some(0.4)), Some(0.0));
        assert_eq!(kr_progress(&k, Some(0.5)), Some(1.0));
        assert_eq!(kr_progress(&k, Some(1.0)), Some(1.0));
    }

    #[test]
    fn baseline_stays_out_of_progress_until_its_target_is_set() {
        let k = kr(KrKind::Baseline, None, None);
        assert_eq!(kr_progress(&k, None), None);
        assert_eq!(kr_progress(&k, Some(42.0)), None);
        assert_eq!(kr_progress(&k, Some(0.0)), None);
        // With a target it scores like a metric.
        let t = kr(KrKind::Baseline, Some(40.0), Some(20.0));
        assert!(approx(kr_progress(&t, Some(30.0)), 0.5));
        assert_eq!(kr_progress(&t, None), None);
    }

    // ---- measures ----------------------------------------------------------------------

    #[test]
    fn measure_attainment_up_down_and_band() {
        let up = measure("M1", "C1", Direction::Up, 100.0, 50.0);
        assert!(approx(measure_attainment(&up, Some(75.0)), 0.5));
        assert!(approx(measure_attainment(&up, Some(40.0)), 0.0));
        assert!(approx(measure_attainment(&up, Some(120.0)), 1.0));
        assert_eq!(measure_attainment(&up, None), None);
        let with_baseline = MeasureSpec {
            baseline: Some(60.0),
            ..up.clone()
        };
        assert_eq!(
            measure_attainment(&with_baseline, None),
            None,
            "a baseline is not a measurement"
        );
        assert!(approx(measure_attainment(&with_baseline, Some(90.0)), 0.8));

        let down = measure("M2", "C1", Direction::Down, 2.0, 10.0);
        assert!(approx(measure_attainment(&down, Some(6.0)), 0.5));
        assert!(approx(measure_attainment(&down, Some(1.0)), 1.0));
        assert!(approx(measure_attainment(&down, Some(11.0)), 0.0));

        let band = MeasureSpec {
            band: Some((40.0, 60.0)),
            ..measure("M3", "C1", Direction::Band, 50.0, 10.0)
        };
        assert!(approx(measure_attainment(&band, Some(50.0)), 1.0));
        assert!(approx(measure_attainment(&band, Some(65.0)), 0.5));
        assert!(approx(measure_attainment(&band, Some(35.0)), 0.5));
        assert!(approx(measure_attainment(&band, Some(75.0)), 0.0));
        let sharp = MeasureSpec {
            red: 0.0,
            ..band.clone()
        };
        assert!(approx(measure_attainment(&sharp, Some(60.5)), 0.0));
        assert!(approx(measure_attainment(&sharp, Some(60.0)), 1.0));
    }

    // ---- weighted mean -----------------------------------------------------------------

    #[test]
    fn weighted_mean_skips_zero_and_invalid_weights() {
        assert!(approx(
            weighted_mean([(1.0, Some(0.5)), (3.0, Some(1.0))]),
            0.875
        ));
        assert!(approx(
            weighted_mean([(1.0, Some(0.2)), (0.0, Some(1.0)), (-2.0, Some(1.0))]),
            0.2
        ));
        assert!(approx(
            weighted_mean([(1.0, Some(0.2)), (f64::NAN, Some(1.0)), (1.0, None)]),
            0.2
        ));
        assert_eq!(weighted_mean([(0.0, Some(0.5)), (0.0, Some(1.0))]), None);
        assert_eq!(weighted_mean([(1.0, None)]), None);
        assert_eq!(weighted_mean(std::iter::empty()), None);
    }

    // ---- cycles and periods ------------------------------------------------------------

    #[test]
    fn cycle_elapsed_is_bounded_and_ends_inclusive() {
        let c = q1(); // 90 days
        assert_eq!(cycle_elapsed(&c, at(2025, 12, 1, 0)), 0.0);
        assert_eq!(cycle_elapsed(&c, at(2026, 1, 1, 0)), 0.0);
        assert!((cycle_elapsed(&c, at(2026, 2, 15, 0)) - 0.5).abs() < EPS);
        let last_day = cycle_elapsed(&c, at(2026, 3, 31, 12));
        assert!(last_day > 0.99 && last_day < 1.0, "{last_day}");
        assert_eq!(cycle_elapsed(&c, at(2026, 4, 1, 0)), 1.0);
        assert_eq!(cycle_elapsed(&c, at(2030, 1, 1, 0)), 1.0);
        let one_day = cycle("d", date(2026, 1, 1), date(2026, 1, 1));
        assert!((cycle_elapsed(&one_day, at(2026, 1, 1, 12)) - 0.5).abs() < EPS);
    }

    #[test]
    fn active_cycle_prefers_containing_then_latest_started_then_earliest() {
        let mut spec = org();
        spec.cycles = vec![
            cycle("2026-q2", date(2026, 4, 1), date(2026, 6, 30)),
            q1(),
            cycle("2025-q4", date(2025, 10, 1), date(2025, 12, 31)),
        ];
        let pick = |now| active_cycle(&spec, now).map(|c| c.key.as_str().to_owned());
        assert_eq!(pick(at(2026, 2, 1, 0)).as_deref(), Some("2026-q1"));
        assert_eq!(pick(at(2026, 3, 31, 23)).as_deref(), Some("2026-q1"));
        assert_eq!(pick(at(2026, 4, 1, 0)).as_deref(), Some("2026-q2"));
        assert_eq!(
            pick(at(2026, 8, 1, 0)).as_deref(),
            Some("2026-q2"),
            "gap after"
        );
        assert_eq!(
            pick(at(2024, 1, 1, 0)).as_deref(),
            Some("2025-q4"),
            "before all"
        );
        // Overlap: the latest-starting containing cycle wins.
        spec.cycles
            .push(cycle("fy2026", date(2026, 1, 1), date(2026, 12, 31)));
        let pick = |now| active_cycle(&spec, now).map(|c| c.key.as_str().to_owned());
        assert_eq!(pick(at(2026, 5, 1, 0)).as_deref(), Some("2026-q2"));
        assert_eq!(pick(at(2026, 8, 1, 0)).as_deref(), Some("fy2026"));
        spec.cycles.clear();
        assert!(active_cycle(&spec, at(2026, 1, 1, 0)).is_none());
    }

    #[test]
    fn kr_period_inherits_from_departments() {
        let mut spec = org();
        spec.departments = vec![
            department("eng", None, Some("monthly on last fri at 15:00")),
            department("platform", Some("eng"), None),
            department("sales", None, None),
            department("ops", None, Some("not a cadence")),
        ];
        spec.objectives = vec![
            objective("O1", Some("platform"), None, &[]),
            objective("O2", Some("sales"), None, &[]),
            objective("O3", Some("ops"), None, &[]),
            ObjectiveSpec {
                owner: Some(key("ada")),
                level: Level::Person,
                ..objective("O4", None, None, &[])
            },
        ];
        spec.departments[0].members.push(key("ada"));
        let on = |obj: &str| kr_on("K1", obj, KrKind::Metric, Some(0.0), Some(1.0));
        assert_eq!(
            kr_period(&spec, &on("O1")).num_days(),
            30,
            "inherited from eng"
        );
        assert_eq!(kr_period(&spec, &on("O2")).num_days(), 7, "default");
        assert_eq!(
            kr_period(&spec, &on("O3")).num_days(),
            7,
            "bad rule skipped"
        );
        assert_eq!(
            kr_period(&spec, &on("O4")).num_days(),
            30,
            "owner's department"
        );
        assert_eq!(kr_period(&spec, &on("NOPE")).num_days(), 7);
        let own = KeyResultSpec {
            cadence: Some("biweekly on mon at 09:00".into()),
            ..on("O1")
        };
        assert_eq!(kr_period(&spec, &own).num_days(), 14);
        // Cyclic department parents terminate.
        spec.departments[0].parent = Some(key("platform"));
        spec.departments[0].cadences.clear();
        assert_eq!(kr_period(&spec, &on("O1")).num_days(), 7);
    }

    // ---- key result status -------------------------------------------------------------

    fn eval_at(k: &KeyResultSpec, c: Option<&Current>, now: DateTime<Utc>) -> KrEval {
        evaluate_kr(k, c, Some(&q1()), Duration::days(7), now)
    }

    #[test]
    fn fresh_confidence_wins_then_pace_takes_over_then_stale() {
        let k = kr(KrKind::Metric, Some(0.0), Some(100.0));
        let c = cur(10.0, Some(Confidence::OnTrack), at(2026, 2, 10, 0));
        // Fresh (5 days old): the reported confidence, although far behind pace.
        let e = eval_at(&k, Some(&c), at(2026, 2, 15, 0));
        assert_eq!(e.status, Status::OnTrack);
        assert!(!e.stale);
        assert!(approx(e.progress, 0.1));
        assert!(approx(e.expected, 0.5));
        assert_eq!(e.value, Some(10.0));
        assert_eq!(e.confidence, Some(Confidence::OnTrack));
        assert_eq!(e.last_at, Some(at(2026, 2, 10, 0)));
        // Older than one period: confidence ignored, pace says off track.
        let e = eval_at(&k, Some(&c), at(2026, 2, 20, 0));
        assert_eq!(e.status, Status::OffTrack);
        assert!(!e.stale);
        assert_eq!(e.confidence, Some(Confidence::OnTrack), "still reported");
        // Older than two periods: stale, status unchanged by it.
        let e = eval_at(&k, Some(&c), at(2026, 2, 25, 0));
        assert!(e.stale);
        assert_eq!(e.status, Status::OffTrack);
    }

    #[test]
    fn pace_thresholds_for_metrics() {
        let k = kr(KrKind::Metric, Some(0.0), Some(100.0));
        let mid = at(2026, 2, 15, 0); // expected 0.5
        let status = |v: f64| {
            let c = cur(v, None, mid);
            eval_at(&k, Some(&c), mid).status
        };
        assert_eq!(status(45.0), Status::OnTrack);
        assert_eq!(status(30.0), Status::AtRisk);
        assert_eq!(status(29.0), Status::OffTrack);
        assert_eq!(status(100.0), Status::OnTrack);
        // Early in the cycle nobody is behind.
        let early = at(2026, 1, 2, 0);
        assert_eq!(
            eval_at(&k, Some(&cur(0.0, None, early)), early).status,
            Status::OnTrack
        );
        // Never measured: no figure, so no pace to judge (not "on track" from the start).
        assert_eq!(eval_at(&k, None, early).status, Status::NoData);
        // No cycle, not done: no pace to judge.
        let e = evaluate_kr(&k, None, None, Duration::days(7), mid);
        assert_eq!(
            (e.status, e.expected, e.stale),
            (Status::NoData, None, false)
        );
    }

    #[test]
    fn never_checked_in_goes_stale_two_periods_into_the_cycle() {
        let k = kr(KrKind::Metric, Some(3.0), Some(10.0));
        let e = eval_at(&k, None, at(2026, 1, 14, 0));
        assert!(!e.stale);
        assert_eq!(
            e.value, None,
            "never measured: no current figure (not the start)"
        );
        assert_eq!(e.last_at, None);
        assert!(eval_at(&k, None, at(2026, 1, 16, 0)).stale);
        assert!(
            !eval_at(&k, None, at(2025, 12, 1, 0)).stale,
            "cycle not started"
        );
    }

    #[test]
    fn held_kinds_status_by_score() {
        let k = kr(KrKind::AtLeast, Some(0.0), Some(10.0));
        let now = at(2026, 2, 15, 0);
        let status = |v: f64| eval_at(&k, Some(&cur(v, None, now)), now).status;
        assert_eq!(status(12.0), Status::OnTrack);
        assert_eq!(status(8.0), Status::AtRisk);
        assert_eq!(status(5.0), Status::OffTrack);
        let b = band_kr(1.0, 2.0);
        assert_eq!(eval_at(&b, None, now).status, Status::NoData);
    }

    #[test]
    fn milestone_status_follows_due_date_and_cycle() {
        let k = KeyResultSpec {
            due: Some(date(2026, 2, 1)),
            ..kr(KrKind::Milestone, None, None)
        };
        let early = at(2026, 1, 20, 0);
        assert_eq!(eval_at(&k, None, early).status, Status::OnTrack);
        assert_eq!(
            eval_at(&k, None, at(2026, 2, 1, 20)).status,
            Status::OnTrack,
            "due day"
        );
        assert_eq!(
            eval_at(&k, None, at(2026, 2, 2, 0)).status,
            Status::OffTrack
        );
        // A fresh "on track" does not hide a date that has passed.
        let hopeful = cur(0.0, Some(Confidence::OnTrack), at(2026, 2, 1, 12));
        assert_eq!(
            eval_at(&k, Some(&hopeful), at(2026, 2, 2, 0)).status,
            Status::OffTrack,
            "past due and not done, though the check-in says on track"
        );
        assert_eq!(
            eval_at(&k, Some(&hopeful), at(2026, 2, 1, 13)).status,
            Status::OnTrack,
            "before the due date the check-in's confidence stands"
        );
        let done = cur(1.0, None, early);
        assert_eq!(
            eval_at(&k, Some(&done), at(2026, 3, 1, 0)).status,
            Status::OnTrack
        );
        let undated = kr(KrKind::Milestone, None, None);
        assert_eq!(
            eval_at(&undated, None, at(2026, 3, 20, 0)).status,
            Status::AtRisk
        );
        assert_eq!(
            eval_at(&undated, None, at(2026, 4, 2, 0)).status,
            Status::OffTrack
        );
    }

    #[test]
    fn initiative_state_follows_its_milestones() {
        let m = |due: u32, done: bool| MilestoneSpec {
            title: format!("m{due}"),
            due: Some(date(2026, 2, due)),
            done,
        };
        let i = InitiativeSpec {
            code: Code::parse("I1").unwrap(),
            title: "Programme".into(),
            owner: None,
            departments: vec![],
            objectives: vec![],
            measures: vec![],
            milestones: vec![m(20, false), m(5, true), m(10, false)],
        };
        let s = initiative_state(&i, date(2026, 2, 10));
        assert_eq!((s.done, s.total, s.due), (1, 3, Some(date(2026, 2, 20))));
        assert_eq!(s.next.as_ref().map(|m| m.title.as_str()), Some("m10"));
        assert_eq!(
            (s.label(), s.status()),
            ("on schedule", Status::OnTrack),
            "due day"
        );
        let s = initiative_state(&i, date(2026, 2, 11));
        assert_eq!((s.label(), s.status()), ("late", Status::OffTrack));
        let all = InitiativeSpec {
            milestones: vec![m(5, true)],
            ..i.clone()
        };
        assert_eq!(initiative_state(&all, date(2026, 3, 1)).label(), "done");
        let none = InitiativeSpec {
            milestones: vec![],
            ..i
        };
        let s = initiative_state(&none, date(2026, 3, 1));
        assert_eq!((s.label(), s.status()), ("no milestones", Status::NoData));
    }

    #[test]
    fn baseline_status() {
        let k = kr(KrKind::Baseline, None, None);
        assert_eq!(eval_at(&k, None, at(2026, 1, 20, 0)).status, Status::NoData);
        assert_eq!(eval_at(&k, None, at(2026, 2, 20, 0)).status, Status::AtRisk);
        let c = cur(7.0, None, at(2026, 1, 10, 0));
        let e = eval_at(&k, Some(&c), at(2026, 2, 20, 0));
        assert_eq!((e.status, e.progress), (Status::OnTrack, None));
    }

    // ---- rollups -----------------------------------------------------------------------

    #[test]
    fn objective_rolls_up_key_results_and_children() {
        let mut spec = org();
        let mut state = OrgState::default();
        spec.objectives = vec![
            objective("O1", None, None, &[]),
            objective("O2", None, Some("O1"), &[]),
            objective("O3", None, Some("O1"), &[]), // empty
        ];
        metric_with(&mut spec, &mut state, "K1", "O1", 50.0, 1.0);
        metric_with(&mut spec, &mut state, "K2", "O1", 0.0, 0.0); // zero weight
        metric_with(&mut spec, &mut state, "K3", "O2", 100.0, 1.0);
        spec.key_results
            .push(kr_on("K4", "O1", KrKind::Baseline, None, None));
        let r = rollup(&spec, &state, at(2026, 1, 20, 0));
        assert!(approx(obj_progress(&r, "O2"), 1.0));
        assert_eq!(r.objectives[&code("O3")], Eval::NO_DATA);
        // By default an objective is the weighted mean of its own key results only.
        assert!(approx(obj_progress(&r, "O1"), 0.5));
        assert_eq!(r.key_results[&code("K4")].progress, None);
        assert_eq!(r.key_results.len(), 4);
        let parts = objective_parts(&spec, &r, &code("O1"));
        let listed: Vec<(&str, bool)> =
            parts.iter().map(|c| (c.code.as_str(), c.counted)).collect();
        assert_eq!(listed, [("K1", true), ("K2", false), ("K4", false)]);

        // Opting in counts the children (O3 has no figure and stays out).
        spec.objectives[0].include_children = true;
        let r = rollup(&spec, &state, at(2026, 1, 20, 0));
        assert!(approx(obj_progress(&r, "O1"), 0.75));
        let parts = objective_parts(&spec, &r, &code("O1"));
        let children: Vec<(&str, f64, bool)> = parts
            .iter()
            .filter(|c| c.kind == PartKind::ChildObjective)
            .map(|c| (c.code.as_str(), c.weight, c.counted))
            .collect();
        assert_eq!(children, [("O2", 1.0, true), ("O3", 1.0, false)]);
    }

    #[test]
    fn objective_with_only_zero_weights_has_no_progress() {
        let mut spec = org();
        let mut state = OrgState::default();
        spec.objectives = vec![objective("O1", None, None, &[])];
        metric_with(&mut spec, &mut state, "K1", "O1", 50.0, 0.0);
        metric_with(&mut spec, &mut state, "K2", "O1", 80.0, 0.0);
        let r = rollup(&spec, &state, at(2026, 2, 15, 0));
        assert_eq!(r.objectives[&code("O1")], Eval::NO_DATA);
    }

    #[test]
    fn objective_status_scores_parts() {
        let mut spec = org();
        let mut state = OrgState::default();
        spec.objectives = vec![
            objective("O1", None, None, &[]),
            objective("O2", None, None, &[]),
        ];
        let now = at(2026, 2, 15, 0);
        for (c, o, conf) in [
            ("K1", "O1", Confidence::OnTrack),
            ("K2", "O1", Confidence::OffTrack),
            ("K3", "O2", Confidence::OnTrack),
            ("K4", "O2", Confidence::OnTrack),
            ("K5", "O2", Confidence::OnTrack),
            ("K6", "O2", Confidence::OffTrack),
        ] {
            spec.key_results
                .push(kr_on(c, o, KrKind::Metric, Some(0.0), Some(100.0)));
            state
                .key_results
                .insert(code(c), cur(50.0, Some(conf), now));
        }
        let r = rollup(&spec, &state, now);
        assert_eq!(r.objectives[&code("O1")].status, Status::AtRisk); // 0.5
        assert_eq!(r.objectives[&code("O2")].status, Status::OnTrack); // 0.75
        assert_eq!(r.key_results[&code("K2")].status, Status::OffTrack);
    }

    #[test]
    fn cascade_is_counted_once_in_the_scorecard() {
        let mut spec = org();
        let mut state = OrgState::default();
        spec.scorecard = vec![scorecard("C1", Perspective::Customer)];
        spec.objectives = vec![
            objective("O1", None, None, &["C1"]),
            objective("D1", Some("sales"), Some("O1"), &["C1"]),
        ];
        metric_with(&mut spec, &mut state, "K1", "O1", 20.0, 1.0);
        metric_with(&mut spec, &mut state, "K2", "D1", 100.0, 1.0);
        // By default D1 does not flow into O1, so C1 counts both.
        let r = rollup(&spec, &state, at(2026, 2, 15, 0));
        assert!(approx(obj_progress(&r, "O1"), 0.2));
        assert!(approx(r.scorecard[&code("C1")].progress, 0.6));
        spec.objectives[0].include_children = true;
        let r = rollup(&spec, &state, at(2026, 2, 15, 0));
        let o1 = obj_progress(&r, "O1").unwrap();
        assert!((o1 - 0.6).abs() < EPS, "O1 = mean(K1 0.2, D1 1.0)");
        let c1 = r.scorecard[&code("C1")].progress.unwrap();
        assert!(
            (c1 - o1).abs() < EPS,
            "C1 {c1} must equal O1 {o1}, not mean(O1, D1)"
        );

        // An unrelated aligned objective does count.
        spec.objectives.push(objective("D2", None, None, &["C1"]));
        metric_with(&mut spec, &mut state, "K3", "D2", 0.0, 1.0);
        let r = rollup(&spec, &state, at(2026, 2, 15, 0));
        assert!(approx(r.scorecard[&code("C1")].progress, 0.3));
    }

    #[test]
    fn only_active_cycle_objectives_feed_the_scorecard() {
        let mut spec = org();
        let mut state = OrgState::default();
        spec.cycles
            .push(cycle("2026-q2", date(2026, 4, 1), date(2026, 6, 30)));
        spec.scorecard = vec![scorecard("C1", Perspective::Customer)];
        spec.objectives = vec![
            objective("O1", None, None, &["C1"]),
            ObjectiveSpec {
                cycle: key("2026-q2"),
                ..objective("O2", None, None, &["C1"])
            },
        ];
        metric_with(&mut spec, &mut state, "K1", "O1", 40.0, 1.0);
        metric_with(&mut spec, &mut state, "K2", "O2", 100.0, 1.0);
        let r = rollup(&spec, &state, at(2026, 2, 15, 0));
        assert_eq!(r.cycle, Some(key("2026-q1")));
        assert!(approx(r.scorecard[&code("C1")].progress, 0.4));
        assert!(approx(obj_progress(&r, "O2"), 1.0), "still evaluated");
        let r = rollup(&spec, &state, at(2026, 5, 15, 0));
        assert_eq!(r.cycle, Some(key("2026-q2")));
        assert!(approx(r.scorecard[&code("C1")].progress, 1.0));
    }

    #[test]
    fn scorecard_perspectives_and_company() {
        let mut spec = org();
        let mut state = OrgState::default();
        spec.scorecard = vec![
            scorecard("C1", Perspective::Customer),
            ScorecardObjective {
                weight: 3.0,
                ..scorecard("C2", Perspective::Customer)
            },
            scorecard("P1", Perspective::Internal),
            scorecard("F1", Perspective::Financial), // not enabled
            scorecard("C3", Perspective::Customer),  // nothing aligned: no data
        ];
        spec.measures = vec![
            measure("M1", "C1", Direction::Up, 100.0, 0.0),
            measure("M2", "C2", Direction::Down, 0.0, 10.0),
            measure("M3", "F1", Direction::Up, 1.0, 0.0),
        ];
        for (c, v) in [("M1", 90.0), ("M2", 5.0), ("M3", 1.0)] {
            state
                .measures
                .insert(code(c), cur(v, None, at(2026, 2, 1, 0)));
        }
        spec.objectives = vec![objective("O1", None, None, &["C1", "P1"])];
        metric_with(&mut spec, &mut state, "K1", "O1", 30.0, 1.0);
        let r = rollup(&spec, &state, at(2026, 2, 15, 0));

        assert_eq!(r.measures[&code("M1")].status, Status::OnTrack);
        assert_eq!(r.measures[&code("M2")].status, Status::AtRisk);
        assert!(approx(r.scorecard[&code("C1")].progress, 0.6)); // mean(0.9, 0.3)
        assert!(approx(r.scorecard[&code("C2")].progress, 0.5));
        assert!(approx(r.scorecard[&code("P1")].progress, 0.3));
        assert_eq!(r.scorecard[&code("C3")], Eval::NO_DATA);
        assert!(approx(r.scorecard[&code("F1")].progress, 1.0));

        let order: Vec<Perspective> = r.perspectives.iter().map(|(p, _)| *p).collect();
        assert_eq!(order, vec![Perspective::Internal, Perspective::Customer]);
        let customer = r.perspectives[1].1.progress;
        assert!(approx(customer, (0.6 + 3.0 * 0.5) / 4.0));
        let internal = r.perspectives[0].1.progress.unwrap();
        assert!(approx(
            r.company.progress,
            (internal + customer.unwrap()) / 2.0
        ));
        assert_ne!(r.company.status, Status::NoData);
    }

    #[test]
    fn departments_count_top_most_objectives_of_their_subtree() {
        let mut spec = org();
        let mut state = OrgState::default();
        spec.departments = vec![
            department("eng", None, None),
            department("platform", Some("eng"), None),
            department("sales", None, None),
        ];
        spec.objectives = vec![
            objective("E1", Some("eng"), None, &[]),
            objective("P1", Some("platform"), Some("E1"), &[]),
            objective("P2", Some("platform"), None, &[]),
        ];
        metric_with(&mut spec, &mut state, "K1", "E1", 20.0, 1.0);
        metric_with(&mut spec, &mut state, "K2", "P1", 100.0, 1.0);
        metric_with(&mut spec, &mut state, "K3", "P2", 0.0, 1.0);
        // By default P1 does not flow into E1: eng counts E1, P1 and P2.
        let r = rollup(&spec, &state, at(2026, 2, 15, 0));
        assert!(approx(r.departments[&key("eng")].progress, 0.4));
        spec.objectives[0].include_children = true;
        let r = rollup(&spec, &state, at(2026, 2, 15, 0));
        let e1 = obj_progress(&r, "E1").unwrap(); // 0.6
        assert!((e1 - 0.6).abs() < EPS);
        // eng: E1 and P2 (P1 already inside E1).
        assert!(approx(
            r.departments[&key("eng")].progress,
            (e1 + 0.0) / 2.0
        ));
        // platform: P1 and P2 (E1 belongs to eng, above platform).
        assert!(approx(r.departments[&key("platform")].progress, 0.5));
        assert_eq!(r.departments[&key("sales")], Eval::NO_DATA);
    }

    #[test]
    fn an_objective_without_department_rolls_up_where_its_owner_may_check_in() {
        // Dee heads eng (listed first) and is a member of leadership; her own objective
        // names no department, so it belongs to her home department, leadership.
        let mut spec = org();
        let mut state = OrgState::default();
        spec.departments = vec![
            department("eng", None, None),
            department("leadership", None, None),
        ];
        spec.departments[0].heads.push(key("dee"));
        spec.departments[0].members.push(key("eve"));
        spec.departments[1].members = vec![key("dee"), key("lou")];
        spec.objectives = vec![ObjectiveSpec {
            owner: Some(key("dee")),
            level: Level::Person,
            ..objective("D1", None, None, &[])
        }];
        metric_with(&mut spec, &mut state, "K1", "D1", 40.0, 1.0);
        let r = rollup(&spec, &state, at(2026, 2, 15, 0));
        assert!(approx(r.departments[&key("leadership")].progress, 0.4));
        assert_eq!(r.departments[&key("eng")], Eval::NO_DATA);
        // The people the rollup answers to are the people who may report the figure.
        let k1 = &spec.key_results[0];
        assert!(crate::domain::org::may_check_in(&spec, "lou", k1));
        assert!(!crate::domain::org::may_check_in(&spec, "eve", k1));
    }

    #[test]
    fn cyclic_parents_terminate() {
        let mut spec = org();
        let mut state = OrgState::default();
        spec.scorecard = vec![scorecard("C1", Perspective::Customer)];
        spec.departments = vec![
            department("a", Some("b"), None),
            department("b", Some("a"), None),
        ];
        spec.objectives = vec![
            objective("O1", Some("a"), Some("O2"), &["C1"]),
            objective("O2", Some("b"), Some("O1"), &[]),
        ];
        metric_with(&mut spec, &mut state, "K1", "O1", 50.0, 1.0);
        metric_with(&mut spec, &mut state, "K2", "O2", 100.0, 1.0);
        let r = rollup(&spec, &state, at(2026, 2, 15, 0));
        for o in ["O1", "O2"] {
            let p = obj_progress(&r, o).unwrap();
            assert!((0.5..=1.0).contains(&p), "{o}: {p}");
        }
        assert!(r.scorecard[&code("C1")].progress.is_some());
    }

    #[test]
    fn rollup_handles_a_large_organisation() {
        let mut spec = org();
        let mut state = OrgState::default();
        let now = at(2026, 2, 15, 0);
        spec.scorecard = (0..20)
            .map(|i| {
                let p = if i % 2 == 0 {
                    Perspective::Customer
                } else {
                    Perspective::Internal
                };
                scorecard(&format!("C{i}"), p)
            })
            .collect();
        for d in 0..200 {
            let parent = (d > 0).then(|| format!("d{}", (d - 1) / 10));
            spec.departments.push(department(
                &format!("d{d}"),
                parent.as_deref(),
                (d % 3 == 0).then_some("weekly on mon at 09:00"),
            ));
        }
        for o in 0..2000 {
            let parent = (o >= 10).then(|| format!("O{}", o / 10 - 1));
            let align = format!("C{}", o % 20);
            spec.objectives.push(objective(
                &format!("O{o}"),
                Some(&format!("d{}", o % 200)),
                parent.as_deref(),
                &[align.as_str()],
            ));
        }
        for k in 0..10_000 {
            let c = format!("K{k}");
            spec.key_results.push(kr_on(
                &c,
                &format!("O{}", k % 2000),
                KrKind::Metric,
                Some(0.0),
                Some(100.0),
            ));
            if k % 4 != 0 {
                state.key_results.insert(
                    code(&c),
                    cur((k % 101) as f64, None, now - Duration::days(k % 30)),
                );
            }
        }
        let mut took = std::time::Duration::MAX;
        let mut r = rollup(&spec, &state, now);
        for _ in 0..3 {
            let t = Instant::now();
            r = rollup(&spec, &state, now);
            took = took.min(t.elapsed());
        }
        eprintln!("rollup of 200 departments, 2,000 objectives, 10,000 key results: {took:?}");
        assert_eq!(r.key_results.len(), 10_000);
        assert_eq!(r.objectives.len(), 2000);
        assert_eq!(r.departments.len(), 200);
        assert_eq!(r.perspectives.len(), 2);
        // An objective has progress exactly when one of its key results was measured.
        for o in &spec.objectives {
            let measured = spec
                .key_results
                .iter()
                .any(|k| k.objective == o.code && state.key_results.contains_key(&k.code));
            assert_eq!(
                r.objectives[&o.code].progress.is_some(),
                measured,
                "{}",
                o.code
            );
        }
        assert!(
            r.objectives
                .values()
                .chain(r.scorecard.values())
                .chain(r.departments.values())
                .filter_map(|e| e.progress)
                .all(|p| (0.0..=1.0).contains(&p))
        );
        assert!(r.company.progress.is_some());
        assert!(r.key_results.values().any(|k| k.stale));
    }

    // ---- properties --------------------------------------------------------------------

    fn any_kind() -> impl Strategy<Value = KrKind> {
        prop::sample::select(KrKind::ALL.to_vec())
    }

    fn big() -> impl Strategy<Value = f64> {
        prop_oneof![
            -1e12..1e12_f64,
            -10.0..10.0_f64,
            Just(0.0),
            Just(1e12),
            Just(-1e12),
            Just(f64::MAX),
            Just(f64::MIN),
        ]
    }

    /// A random cascade: objective `i` may have parent `< i`, any `include_children`,
    /// weight; key results of random kinds, weights and figures (some never measured).
    fn any_cascade() -> impl Strategy<Value = (OrgSpec, OrgState)> {
        let objectives = prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                any::<bool>(),
                any::<bool>(),
                0.0..3.0_f64,
            ),
            1..6,
        );
        let krs = prop::collection::vec(
            (
                any::<prop::sample::Index>(),
                any_kind(),
                prop_oneof![Just(0.0), 0.1..4.0_f64],
                prop::option::of(-50.0..150.0_f64),
            ),
            0..12,
        );
        (objectives, krs).prop_map(|(objectives, krs)| {
            let mut spec = org();
            let mut state = OrgState::default();
            for (i, (parent, has_parent, include_children, weight)) in objectives.iter().enumerate()
            {
                let parent = (*has_parent && i > 0).then(|| format!("O{}", parent.index(i)));
                spec.objectives.push(ObjectiveSpec {
                    include_children: *include_children,
                    weight: *weight,
                    ..objective(&format!("O{i}"), None, parent.as_deref(), &[])
                });
            }
            let n = spec.objectives.len();
            for (j, (obj, kind, weight, value)) in krs.iter().enumerate() {
                let o = format!("O{}", obj.index(n));
                let mut k = kr_on(&format!("K{j}"), &o, *kind, Some(0.0), Some(100.0));
                k.weight = *weight;
                if *kind == KrKind::Band {
                    k.band = Some((40.0, 60.0));
                }
                if let Some(v) = value {
                    state
                        .key_results
                        .insert(k.code.clone(), cur(*v, None, at(2026, 2, 1, 0)));
                }
                spec.key_results.push(k);
            }
            (spec, state)
        })
    }

    proptest! {
        /// Every objective's figure is the weighted mean of exactly the rows baton lists
        /// for it, and a child objective is listed only when the parent opts in.
        #[test]
        fn objective_figures_recompute_from_their_listed_rows(
            (spec, state) in any_cascade(),
        ) {
            let r = rollup(&spec, &state, at(2026, 2, 15, 0));
            for o in &spec.objectives {
                let parts = objective_parts(&spec, &r, &o.code);
                let again = weighted_mean(parts.iter().map(|c| (c.weight, c.progress)));
                let shown = r.objectives[&o.code].progress;
                match (shown, again) {
                    (None, None) => {}
                    (Some(a), Some(b)) => prop_assert!((a - b).abs() < EPS, "{}: {a} vs {b}", o.code),
                    _ => prop_assert!(false, "{}: {shown:?} vs {again:?}", o.code),
                }
                let counted = parts.iter().filter(|c| c.counted).count();
                prop_assert_eq!(counted == 0, shown.is_none(), "{}", o.code);
                let children = parts.iter().filter(|c| c.kind == PartKind::ChildObjective).count();
                if !o.include_children {
                    prop_assert_eq!(children, 0);
                } else {
                    prop_assert_eq!(children, child_objectives(&spec, &o.code).len());
                }
                let krs = spec.key_results.iter().filter(|k| k.objective == o.code).count();
                prop_assert_eq!(parts.len() - children, krs);
            }
        }

        #[test]
        fn progress_of_every_kind_is_a_share(
            kind in any_kind(),
            start in prop::option::of(big()),
            target in prop::option::of(big()),
            band in prop::option::of((big(), big())),
            value in prop::option::of(big()),
        ) {
            let k = KeyResultSpec { band, ..kr(kind, start, target) };
            if let Some(p) = kr_progress(&k, value) {
                prop_assert!((0.0..=1.0).contains(&p), "{kind:?} gave {p}");
            }
        }

        #[test]
        fn attainment_is_a_share(
            dir in prop::sample::select(Direction::ALL.to_vec()),
            target in big(),
            red in big(),
            band in prop::option::of((big(), big())),
            baseline in prop::option::of(big()),
            value in prop::option::of(big()),
        ) {
            let m = MeasureSpec { band, baseline, ..measure("M1", "C1", dir, target, red) };
            if let Some(a) = measure_attainment(&m, value) {
                prop_assert!((0.0..=1.0).contains(&a), "{dir:?} gave {a}");
            }
        }

        #[test]
        fn weighted_mean_stays_within_its_parts(
            items in prop::collection::vec((big(), prop::option::of(big())), 0..12),
        ) {
            let included: Vec<f64> = items
                .iter()
                .filter(|(w, v)| w.is_finite() && *w > 0.0 && v.is_some_and(f64::is_finite))
                .filter_map(|(_, v)| *v)
                .collect();
            match weighted_mean(items.iter().copied()) {
                None => prop_assert!(included.is_empty()),
                Some(m) => {
                    let lo = included.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = included.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    prop_assert!(lo <= m && m <= hi, "{m} outside [{lo}, {hi}]");
                }
            }
        }

        #[test]
        fn objective_progress_stays_within_its_parts(
            parts in prop::collection::vec((0.0..5.0_f64, -50.0..150.0_f64), 1..8),
            child in prop::collection::vec((0.0..5.0_f64, -50.0..150.0_f64), 0..4),
            child_weight in 0.0..3.0_f64,
            include_children in any::<bool>(),
        ) {
            let mut spec = org();
            let mut state = OrgState::default();
            spec.objectives = vec![
                ObjectiveSpec { include_children, ..objective("O1", None, None, &[]) },
                ObjectiveSpec { weight: child_weight, ..objective("O2", None, Some("O1"), &[]) },
            ];
            for (i, (w, v)) in parts.iter().enumerate() {
                metric_with(&mut spec, &mut state, &format!("A{i}"), "O1", *v, *w);
            }
            for (i, (w, v)) in child.iter().enumerate() {
                metric_with(&mut spec, &mut state, &format!("B{i}"), "O2", *v, *w);
            }
            let r = rollup(&spec, &state, at(2026, 2, 15, 0));
            let mut included: Vec<f64> = parts
                .iter()
                .filter(|(w, _)| *w > 0.0)
                .map(|(_, v)| (v / 100.0).clamp(0.0, 1.0))
                .collect();
            if include_children && child_weight > 0.0 {
                included.extend(obj_progress(&r, "O2"));
            }
            match obj_progress(&r, "O1") {
                None => prop_assert!(included.is_empty()),
                Some(p) => {
                    let lo = included.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = included.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    prop_assert!(lo - EPS <= p && p <= hi + EPS, "{p} outside [{lo}, {hi}]");
                }
            }
        }
    }
}
