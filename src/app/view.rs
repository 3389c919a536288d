//! What every view of the figures starts from (status, strategy, reviews, pictures): the
//! structure, the rollup, the open alerts and the moment they were computed.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::bot::{Cell, Table};
use crate::domain::progress::{Rollup, active_cycle, cycle_elapsed, rollup};
use crate::domain::{Code, KrKind, ObjectiveSpec, OrgSpec, OrgState, Perspective, Status};
use crate::error::Result;

use super::{Actor, App};

/// Everything a view needs: the structure, the rollup and the moment it was computed.
pub struct View {
    pub spec: Arc<OrgSpec>,
    pub state: Arc<OrgState>,
    pub rollup: Rollup,
    pub now: DateTime<Utc>,
    /// Open dependency alerts.
    pub alerts: Vec<crate::store::alerts::AlertRow>,
    /// Key-result positions per objective, built on first use.
    krs_by_objective: std::sync::OnceLock<std::collections::HashMap<Code, Vec<usize>>>,
}

impl View {
    pub async fn load(app: &App, actor: &Actor) -> Result<View> {
        View::for_org(app, actor.org.id).await
    }

    /// The view of an organisation with no one asking (pictures rendered for adapters).
    pub async fn for_org(app: &App, org_id: i64) -> Result<View> {
        let spec = app.spec(org_id).await?;
        let state = app.state(org_id).await?;
        let now = app.clock.now();
        let rollup = rollup(&spec, &state, now);
        let alerts = app.store.open_alerts(org_id).await?;
        Ok(View {
            krs_by_objective: Default::default(),
            alerts,
            spec,
            state,
            rollup,
            now,
        })
    }

    /// An objective's key results, in manifest order.
    pub fn key_results_of<'a>(
        &'a self,
        objective: &Code,
    ) -> impl Iterator<Item = &'a crate::domain::KeyResultSpec> + 'a {
        let index = self.krs_by_objective.get_or_init(|| {
            let mut m: std::collections::HashMap<Code, Vec<usize>> = Default::default();
            for (i, k) in self.spec.key_results.iter().enumerate() {
                m.entry(k.objective.clone()).or_default().push(i);
            }
            m
        });
        index
            .get(objective)
            .into_iter()
            .flatten()
            .map(|&i| &self.spec.key_results[i])
    }

    pub fn label(&self, p: Perspective) -> String {
        self.spec
            .perspectives
            .iter()
            .find(|x| x.perspective == p)
            .map(|x| x.label.clone())
            .unwrap_or_else(|| p.default_label().to_string())
    }

    pub fn status_cell(&self, code: &Code) -> Cell {
        if let Some(k) = self.rollup.key_results.get(code) {
            return Cell::Status {
                status: k.status,
                stale: k.stale,
            };
        }
        let e = self
            .rollup
            .objectives
            .get(code)
            .or_else(|| self.rollup.scorecard.get(code))
            .or_else(|| self.rollup.measures.get(code));
        Cell::Status {
            status: e.map(|e| e.status).unwrap_or(Status::NoData),
            stale: false,
        }
    }

    pub fn progress(&self, code: &Code) -> Option<f64> {
        if let Some(k) = self.rollup.key_results.get(code) {
            return k.progress;
        }
        self.rollup
            .objectives
            .get(code)
            .or_else(|| self.rollup.scorecard.get(code))
            .or_else(|| self.rollup.measures.get(code))
            .and_then(|e| e.progress)
    }

    /// The cycle heading: `2026-Q4 (day 54 of 92)`.
    pub fn cycle_line(&self) -> String {
        match active_cycle(&self.spec, self.now) {
            Some(c) => {
                let total = (c.ends - c.starts).num_days() + 1;
                let day = ((self.now.date_naive() - c.starts).num_days() + 1).clamp(0, total);
                format!(
                    "cycle {} (day {day} of {total}, {:.0}% elapsed)",
                    c.label(),
                    cycle_elapsed(c, self.now) * 100.0
                )
            }
            None => "no OKR cycle declared".into(),
        }
    }

    pub fn in_active_cycle(&self, o: &ObjectiveSpec) -> bool {
        self.rollup.cycle.as_ref().is_none_or(|c| *c == o.cycle)
    }

    /// A key result's due date as a table shows it: the date, "passed" when it is behind
    /// and not done, blank when it has none.
    pub fn due_text(&self, k: &crate::domain::KeyResultSpec) -> String {
        let Some(d) = k.due else {
            return String::new();
        };
        let progress = self
            .rollup
            .key_results
            .get(&k.code)
            .and_then(|e| e.progress);
        if crate::domain::progress::milestone_overdue(k, progress, self.now) {
            format!("{d} passed")
        } else {
            d.to_string()
        }
    }

    /// Key-result rows for an objective, indented under it.
    pub fn kr_rows(&self, t: &mut Table, objective: &Code) {
        for k in self.key_results_of(objective) {
            let ev = self.rollup.key_results.get(&k.code);
            let target = match k.kind {
                KrKind::Band => k
                    .band
                    .map(|(lo, hi)| {
                        format!(
                            "{}–{}",
                            crate::bot::render::figure(Some(lo), ""),
                            crate::bot::render::figure(Some(hi), &k.unit)
                        )
                    })
                    .unwrap_or_default(),
                KrKind::Milestone => "done".into(),
                KrKind::Baseline if k.target.is_none() => "—".into(),
                KrKind::AtLeast => format!("≥ {}", crate::bot::render::figure(k.target, &k.unit)),
                KrKind::AtMost => format!("≤ {}", crate::bot::render::figure(k.target, &k.unit)),
                _ => crate::bot::render::figure(k.target, &k.unit),
            };
            let value = ev.and_then(|e| e.value);
            let progress = match empty_state(k, value) {
                Some(text) => Cell::text(text),
                None => Cell::Progress(ev.and_then(|e| e.progress)),
            };
            let value = if let (KrKind::Baseline, None, Some(_)) = (k.kind, k.target, value) {
                Cell::text(format!(
                    "baseline: {}",
                    crate::bot::render::figure(value, &k.unit)
                ))
            } else if k.kind == KrKind::Milestone {
                Cell::text(if value == Some(1.0) {
                    "done"
                } else {
                    "not done"
                })
            } else {
                Cell::Figure {
                    value,
                    unit: k.unit.clone(),
                }
            };
            t.row(vec![
                Cell::text(format!("  {}", k.code)),
                Cell::text(format!("  {}", k.title)),
                value,
                Cell::text(target),
                progress,
                self.status_cell(&k.code),
                Cell::text(self.due_text(k)),
                Cell::text(k.owner.as_ref().map(|o| o.as_str()).unwrap_or("—")),
            ]);
        }
    }
}

/// What the progress column says instead of a bar when there is nothing to score (README,
/// *How figures are computed*): "not measured" for a key result or measure never measured
/// (a milestone is "not done" instead and scores 0), "no target yet" for a baseline key
/// result whose target is not set.
pub fn empty_state(k: &crate::domain::KeyResultSpec, value: Option<f64>) -> Option<&'static str> {
    match (k.kind, value) {
        (KrKind::Milestone, _) => None,
        (KrKind::Baseline, Some(_)) if k.target.is_none() => Some("no target yet"),
        (_, None) => Some("not measured"),
        _ => None,
    }
}
