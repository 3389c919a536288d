//! Is the strategy working? Evidence per cause → effect link (`map --evidence`,
//! `evidence [link]`) and landing forecasts per key result, read from the store and
//! judged by the pure [`crate::domain::evidence`] and [`crate::domain::forecast`].

use std::collections::HashMap;

use chrono::{DateTime, NaiveTime, Utc};

use crate::bot::Reply;
use crate::domain::evidence::{self, Evidence, History, MAX_WEEKS, Verdict};
use crate::domain::forecast::{self, Outlook};
use crate::domain::progress::kr_progress;
use crate::domain::{Code, KeyResultSpec, KrKind, OrgSpec};
use crate::error::{AppError, Result};

use super::view::View;
use super::{Actor, App};

/// What the history says about one link.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkEvidence {
    pub from: Code,
    pub to: Code,
    pub evidence: Evidence,
}

impl LinkEvidence {
    pub fn sentence(&self) -> String {
        evidence::sentence(self.from.as_str(), self.to.as_str(), &self.evidence)
    }
}

/// Evidence for every link of the strategy map, from the last [`MAX_WEEKS`] weeks of
/// check-ins up to `now`: two bounded reads (the figures standing at the window's start,
/// one index lookup per key result and measure; the last check-in of each week since).
pub async fn links(
    app: &App,
    org_id: i64,
    spec: &OrgSpec,
    now: DateTime<Utc>,
) -> Result<Vec<LinkEvidence>> {
    if spec.links.is_empty() {
        return Ok(Vec::new());
    }
    let grid = evidence::weekly_grid(now, MAX_WEEKS);
    let start = grid[0];
    let before = app.store.load_state_at(org_id, start).await?;
    let points = app
        .store
        .weekly_points(org_id, now, MAX_WEEKS as i32)
        .await?;
    let mut history = History::default();
    for (code, c) in before.key_results {
        history
            .key_results
            .entry(code)
            .or_default()
            .push((c.at, c.value));
    }
    for (code, c) in before.measures {
        history
            .measures
            .entry(code)
            .or_default()
            .push((c.at, c.value));
    }
    for p in points {
        let Ok(code) = Code::parse(&p.code) else {
            continue;
        };
        let into = if p.key_result {
            &mut history.key_results
        } else {
            &mut history.measures
        };
        into.entry(code).or_default().push((p.at, p.value));
    }
    for v in history
        .key_results
        .values_mut()
        .chain(history.measures.values_mut())
    {
        v.sort_by_key(|p| p.0);
    }
    Ok(judge_links(spec, &history, &grid))
}

/// The pure part of [`links`]: every link judged on the grid.
pub fn judge_links(spec: &OrgSpec, history: &History, grid: &[DateTime<Utc>]) -> Vec<LinkEvidence> {
    let series = evidence::objective_series(spec, history, grid);
    let none = vec![None; grid.len()];
    let no_regime = vec![None; grid.len()];
    spec.links
        .iter()
        .map(|l| {
            let cause = series.scorecard.get(&l.from).unwrap_or(&none);
            let effect = series.scorecard.get(&l.to).unwrap_or(&none);
            let rc = series.regimes.get(&l.from).unwrap_or(&no_regime);
            let re = series.regimes.get(&l.to).unwrap_or(&no_regime);
            LinkEvidence {
                from: l.from.clone(),
                to: l.to.clone(),
                evidence: evidence::judge(
                    cause,
                    effect,
                    Some((rc, re)),
                    evidence::seed_of(l.from.as_str(), l.to.as_str()),
                ),
            }
        })
        .collect()
}

/// The last instant of a cycle's last day (UTC).
fn cycle_end(spec: &OrgSpec, kr: &KeyResultSpec) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let o = spec.objective(&kr.objective)?;
    let c = spec.cycles.iter().find(|c| c.key == o.cycle)?;
    let end = c
        .ends
        .and_time(NaiveTime::from_hms_opt(23, 59, 59)?)
        .and_utc();
    let start = c.starts.and_time(NaiveTime::MIN).and_utc();
    Some((start, end))
}

/// Whether a key result's progress can be projected (a milestone is done or not; a
/// baseline without a target has no progress).
fn forecastable(kr: &KeyResultSpec) -> bool {
    match kr.kind {
        KrKind::Milestone => false,
        KrKind::Baseline => kr.target.is_some(),
        _ => true,
    }
}

/// Landing forecasts of the given key results at their cycle's end, from their check-ins
/// of the cycle up to `now` (one index lookup per key result). Key results that cannot be
/// projected (milestones, baselines without a target, no cycle) are left out.
pub async fn forecasts(
    app: &App,
    org_id: i64,
    spec: &OrgSpec,
    krs: &[&KeyResultSpec],
    now: DateTime<Utc>,
) -> Result<HashMap<Code, Outlook>> {
    // Grouped by cycle, so each read is bounded by its cycle's start.
    let mut by_cycle: HashMap<(DateTime<Utc>, DateTime<Utc>), Vec<&KeyResultSpec>> = HashMap::new();
    for k in krs.iter().filter(|k| forecastable(k)) {
        if let Some(window) = cycle_end(spec, k) {
            by_cycle.entry(window).or_default().push(k);
        }
    }
    let mut out = HashMap::new();
    for ((start, end), ks) in by_cycle {
        let codes: Vec<String> = ks.iter().map(|k| k.code.to_string()).collect();
        let rows = app
            .store
            .recent_checkins(org_id, &codes, start, now.min(end), forecast::WINDOW as i64)
            .await?;
        for k in ks {
            let points: Vec<(DateTime<Utc>, f64)> = rows
                .get(k.code.as_str())
                .map(|v| {
                    v.iter()
                        .filter_map(|(at, value)| Some((*at, kr_progress(k, Some(*value))?)))
                        .collect()
                })
                .unwrap_or_default();
            out.insert(k.code.clone(), forecast::forecast(&points, end));
        }
    }
    Ok(out)
}

/// The forecast line of one key result, `None` when it cannot be projected.
pub async fn forecast_line(
    app: &App,
    org_id: i64,
    spec: &OrgSpec,
    kr: &KeyResultSpec,
    now: DateTime<Utc>,
) -> Result<Option<String>> {
    let f = forecasts(app, org_id, spec, &[kr], now).await?;
    Ok(f.get(&kr.code)
        .map(|o| forecast::sentence(kr.code.as_str(), o)))
}

/// Forecast lines of the active cycle's key results of the given objectives, in manifest
/// order: "S1 on course to land at 71 % (62–80 %) by 31 Dec".
pub async fn forecast_lines(
    app: &App,
    org_id: i64,
    v: &View,
    objectives: &[&Code],
) -> Result<Vec<String>> {
    let krs: Vec<&KeyResultSpec> = v
        .spec
        .key_results
        .iter()
        .filter(|k| objectives.contains(&&k.objective))
        .collect();
    if krs.is_empty() {
        return Ok(Vec::new());
    }
    let f = forecasts(app, org_id, &v.spec, &krs, v.now).await?;
    Ok(krs
        .iter()
        .filter_map(|k| {
            f.get(&k.code)
                .map(|o| forecast::sentence(k.code.as_str(), o))
        })
        .collect())
}

/// The links a `evidence <link>` argument names: `P1->C1`, `P1→C1`, or one code (every
/// link it is an end of).
fn select<'a>(
    all: &'a [LinkEvidence],
    arg: &str,
) -> std::result::Result<Vec<&'a LinkEvidence>, String> {
    let norm = arg.replace(['→', '>'], "->").replace("-->", "->");
    let (a, b) = match norm.split_once("->") {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (norm.trim(), None),
    };
    let a = Code::parse(a).map_err(|e| format!("{e}."))?;
    let b = b
        .map(Code::parse)
        .transpose()
        .map_err(|e| format!("{e}."))?;
    let found: Vec<&LinkEvidence> = all
        .iter()
        .filter(|l| match &b {
            Some(b) => l.from == a && &l.to == b,
            None => l.from == a || l.to == a,
        })
        .collect();
    if found.is_empty() {
        return Err(match b {
            Some(b) => format!("The strategy map has no link {a} → {b}."),
            None => format!("The strategy map has no link from or to {a}."),
        });
    }
    Ok(found)
}

/// How the verdicts are reached, in one note.
pub const METHOD_NOTE: &str = "Weekly progress of both ends over the last 26 weeks; changes in the cause against changes in the effect 0–3 weeks later; confidence by a permutation test of the weekly changes. Evidence in our own data is not proof of causation, and few weeks mean wide uncertainty.";

/// `evidence [link]`: the plain-words verdict of every link, or of the named ones.
pub async fn show(app: &App, actor: &Actor, link: Option<&str>) -> Result<Reply> {
    let spec = app.spec(actor.org.id).await?;
    let now = app.clock.now();
    let all = links(app, actor.org.id, &spec, now).await?;
    let mut r = Reply::new().heading("Is the strategy holding?");
    if all.is_empty() {
        return Ok(r.text("The strategy map declares no cause → effect links."));
    }
    let chosen: Vec<&LinkEvidence> = match link {
        None => all.iter().collect(),
        Some(arg) => select(&all, arg)
            .map_err(|e| AppError::NotFound(format!("{e}\nUsage: evidence [link]")))?,
    };
    r = section(r, &chosen);
    Ok(r.note(METHOD_NOTE))
}

/// The verdict lines, one per link, with a count per verdict.
pub fn section(mut r: Reply, chosen: &[&LinkEvidence]) -> Reply {
    let count = |v: Option<Verdict>| chosen.iter().filter(|l| l.evidence.verdict() == v).count();
    r = r.text(format!(
        "{} supported · {} no evidence yet · {} contradicted · {} not enough history",
        count(Some(Verdict::Supported)),
        count(Some(Verdict::NoEvidence)),
        count(Some(Verdict::Contradicted)),
        count(None)
    ));
    for l in chosen {
        r = r.text(l.sentence());
    }
    r
}
