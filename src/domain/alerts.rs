//! Dependency alert rules (PRODUCT §6), pure: which conditions hold for each dependency
//! given the rollup, the reported blockers and the date.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::progress::Rollup;
use super::{Code, DependencySpec, OrgSpec};

/// A condition that raises an alert while it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Condition {
    /// The provider's key result or objective is at risk or off track.
    Behind,
    /// No check-in for two periods.
    Stale,
    /// The provider reported a blocker.
    Blocker,
    /// The needed-by date passed and the provider is not done.
    Overdue,
    /// Someone declared `blocked <dependency> <reason>`.
    Declared,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::Behind => "behind",
            Condition::Stale => "stale",
            Condition::Blocker => "blocker",
            Condition::Overdue => "overdue",
            Condition::Declared => "declared",
        }
    }

    pub fn parse(s: &str) -> Option<Condition> {
        [
            Condition::Behind,
            Condition::Stale,
            Condition::Blocker,
            Condition::Overdue,
            Condition::Declared,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    /// A phrase for messages: "PR-K2 is off track".
    pub fn describe(self) -> &'static str {
        match self {
            Condition::Behind => "is behind",
            Condition::Stale => "has gone stale (no check-in for two periods)",
            Condition::Blocker => "reports a blocker",
            Condition::Overdue => "passed its needed-by date unfinished",
            Condition::Declared => "was declared blocked",
        }
    }
}

/// The conditions that hold now for one dependency, each with a detail line.
pub fn conditions(
    spec: &OrgSpec,
    rollup: &Rollup,
    blockers: &HashMap<Code, String>,
    dep: &DependencySpec,
    today: NaiveDate,
) -> Vec<(Condition, String)> {
    let mut out = Vec::new();
    let Some(code) = &dep.provider_ref else {
        return out;
    };
    // The key results behind the provider reference.
    let krs: Vec<&Code> = if rollup.key_results.contains_key(code) {
        vec![code]
    } else {
        spec.key_results
            .iter()
            .filter(|k| &k.objective == code)
            .map(|k| &k.code)
            .collect()
    };
    let status = rollup
        .key_results
        .get(code)
        .map(|k| k.status)
        .or_else(|| rollup.objectives.get(code).map(|e| e.status));
    let progress = rollup
        .key_results
        .get(code)
        .and_then(|k| k.progress)
        .or_else(|| rollup.objectives.get(code).and_then(|e| e.progress));
    if let Some(s) = status
        && s.is_bad()
    {
        out.push((Condition::Behind, format!("{code} is {}", s.label())));
    }
    let stale: Vec<&Code> = krs
        .iter()
        .copied()
        .filter(|k| rollup.key_results.get(*k).is_some_and(|e| e.stale))
        .collect();
    if !krs.is_empty() && stale.len() == krs.len() {
        out.push((
            Condition::Stale,
            format!("{code}: no check-in for two periods"),
        ));
    }
    let reported: Vec<String> = krs
        .iter()
        .filter_map(|k| blockers.get(*k).map(|b| format!("{k}: {b}")))
        .collect();
    if !reported.is_empty() {
        out.push((Condition::Blocker, reported.join("; ")));
    }
    if let Some(by) = dep.needed_by
        && by < today
        && progress.is_none_or(|p| p < 1.0)
    {
        out.push((
            Condition::Overdue,
            format!("needed by {by}, {code} not done"),
        ));
    }
    out
}

/// Adds `n` working days (Monday–Friday, skipping `holidays`) to `from`.
pub fn add_working_days(from: NaiveDate, n: u32, holidays: &[NaiveDate]) -> NaiveDate {
    let mut d = from;
    let mut left = n;
    while left > 0 {
        d += Duration::days(1);
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&d) {
            left -= 1;
        }
    }
    d
}

/// The dependencies whose provider a check-in on `code` can move: the key result itself,
/// its objective, or any objective that objective cascades up to.
pub fn affected_dependencies<'a>(spec: &'a OrgSpec, code: &Code) -> Vec<&'a DependencySpec> {
    if spec.dependencies.is_empty() {
        return Vec::new();
    }
    let objective = spec
        .key_results
        .iter()
        .find(|k| &k.code == code)
        .map(|k| &k.objective);
    affected_dependencies_of(spec, code, objective)
}

/// [`affected_dependencies`] when the caller already knows the key result's objective.
pub fn affected_dependencies_of<'a>(
    spec: &'a OrgSpec,
    code: &Code,
    objective: Option<&Code>,
) -> Vec<&'a DependencySpec> {
    if spec.dependencies.is_empty() {
        return Vec::new();
    }
    let mut chain: Vec<&Code> = vec![code];
    let mut cur = objective;
    while let Some(c) = cur {
        if chain.contains(&c) {
            break;
        }
        chain.push(c);
        cur = spec
            .objectives
            .iter()
            .find(|o| &o.code == c)
            .and_then(|o| o.parent.as_ref());
    }
    spec.dependencies
        .iter()
        .filter(|d| d.provider_ref.as_ref().is_some_and(|p| chain.contains(&p)))
        .collect()
}

/// The part of an organisation that decides the conditions of the dependencies a check-in
/// on `code` can change: those dependencies, the objectives around their providers
/// (ancestors for the owning department, descendants for the cascade) and those
/// objectives' key results. Rolling up this subset gives the providers the same figures
/// as rolling up the whole organisation, at the cost of a handful of key results.
pub fn provider_scope(spec: &OrgSpec, code: &Code) -> Option<OrgSpec> {
    let deps: Vec<DependencySpec> = affected_dependencies(spec, code)
        .into_iter()
        .cloned()
        .collect();
    if deps.is_empty() {
        return None;
    }
    // Objectives: each provider's (or provider key result's) objective, its ancestors and
    // its descendants.
    let mut keep: std::collections::HashSet<&Code> = std::collections::HashSet::new();
    let parent_of = |c: &Code| {
        spec.objectives
            .iter()
            .find(|o| &o.code == c)
            .and_then(|o| o.parent.as_ref())
    };
    for d in &deps {
        let Some(p) = &d.provider_ref else { continue };
        let root = match spec.objectives.iter().find(|o| &o.code == p) {
            Some(o) => &o.code,
            None => match spec.key_results.iter().find(|k| &k.code == p) {
                Some(k) => &k.objective,
                None => continue,
            },
        };
        let mut cur = Some(root);
        while let Some(c) = cur {
            if !keep.insert(c) {
                break;
            }
            cur = parent_of(c);
        }
        // Descendants, to a fixed point (cycle-safe: each objective is added once).
        let mut frontier = vec![root];
        while let Some(c) = frontier.pop() {
            for o in &spec.objectives {
                if o.parent.as_ref() == Some(c) && keep.insert(&o.code) {
                    frontier.push(&o.code);
                }
            }
        }
    }
    Some(OrgSpec {
        org: spec.org.clone(),
        perspectives: spec.perspectives.clone(),
        people: Vec::new(),
        departments: spec.departments.clone(),
        scorecard: Vec::new(),
        measures: Vec::new(),
        links: Vec::new(),
        cycles: spec.cycles.clone(),
        objectives: spec
            .objectives
            .iter()
            .filter(|o| keep.contains(&o.code))
            .cloned()
            .collect(),
        key_results: spec
            .key_results
            .iter()
            .filter(|k| keep.contains(&k.objective))
            .cloned()
            .collect(),
        dependencies: deps,
        initiatives: Vec::new(),
        holidays: spec.holidays.clone(),
        review_templates: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        let fri = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert_eq!(
            add_working_days(fri, 2, &[]),
            NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
        );
        let hol = [NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()];
        assert_eq!(
            add_working_days(fri, 2, &hol),
            NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
        );
    }

    #[test]
    fn conditions_round_trip_their_names() {
        for c in [
            Condition::Behind,
            Condition::Stale,
            Condition::Blocker,
            Condition::Overdue,
            Condition::Declared,
        ] {
            assert_eq!(Condition::parse(c.as_str()), Some(c));
        }
        assert_eq!(Condition::parse("nope"), None);
    }

    /// Judging a dependency from the part of the organisation around its provider gives
    /// exactly what judging it from the whole organisation gives, for every provider of the
    /// example (key results and an objective with a cascade), across many figures and ages.
    #[test]
    fn the_provider_scope_judges_like_the_whole_organisation() {
        use super::super::progress::rollup;
        use super::super::{Confidence, Current, OrgState};
        use chrono::{TimeZone, Utc};
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/example-org.yaml");
        let spec = crate::manifest::load_manifest(&path).expect("example manifest");
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let today = now.date_naive();
        let mut checked = 0;
        for round in 0..6u32 {
            let mut state = OrgState::default();
            for (i, k) in spec.key_results.iter().enumerate() {
                let mix = ((i as u32 * 7 + round * 3) % 11) as f64 / 10.0;
                if (i as u32 + round).is_multiple_of(5) {
                    continue; // never checked in
                }
                let (lo, hi) = match (k.start, k.target, k.band) {
                    (Some(a), Some(b), _) => (a, b),
                    (_, Some(b), _) => (0.0, b),
                    (_, _, Some((a, b))) => (a, b),
                    _ => (0.0, 1.0),
                };
                state.key_results.insert(
                    k.code.clone(),
                    Current {
                        value: lo + (hi - lo) * mix,
                        confidence: Some(Confidence::OnTrack),
                        at: now - Duration::days(((i as i64) * 5 + round as i64 * 9) % 40),
                        checkin_id: i as i64,
                    },
                );
            }
            let blockers: HashMap<Code, String> = spec
                .key_results
                .iter()
                .enumerate()
                .filter(|(i, _)| (*i as u32 + round).is_multiple_of(4))
                .map(|(_, k)| (k.code.clone(), "waiting".to_string()))
                .collect();
            let full = rollup(&spec, &state, now);
            for k in &spec.key_results {
                let Some(scope) = provider_scope(&spec, &k.code) else {
                    continue;
                };
                let part = rollup(&scope, &state, now);
                for d in &scope.dependencies {
                    assert_eq!(
                        conditions(&scope, &part, &blockers, d, today),
                        conditions(&spec, &full, &blockers, d, today),
                        "dependency {} after a check-in on {} (round {round})",
                        d.key,
                        k.code
                    );
                    checked += 1;
                }
            }
        }
        // Every key-result or objective provider of the example is reached through at
        // least one key result (an initiative provider has no key results to check in on).
        let providers = spec
            .dependencies
            .iter()
            .filter_map(|d| d.provider_ref.as_ref())
            .filter(|p| {
                spec.key_results.iter().any(|k| &k.code == *p)
                    || spec.objectives.iter().any(|o| &o.code == *p)
            })
            .count();
        assert!(providers >= 4, "{providers} providers");
        assert!(checked >= providers * 6, "{checked} judgements");
    }

    #[test]
    fn a_key_result_no_one_depends_on_has_no_scope() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/example-org.yaml");
        let spec = crate::manifest::load_manifest(&path).expect("example manifest");
        let providers: Vec<&Code> = spec
            .dependencies
            .iter()
            .filter_map(|d| d.provider_ref.as_ref())
            .collect();
        let free = spec
            .key_results
            .iter()
            .find(|k| !providers.contains(&&k.code) && !providers.contains(&&k.objective))
            .expect("a key result without dependants");
        assert!(provider_scope(&spec, &free.code).is_none());
    }

    #[test]
    fn a_check_in_below_a_provider_objective_reaches_its_dependency() {
        let yaml = "organisation: { key: acme, name: Acme, time_zone: Europe/London }
people:
  - { key: ana, name: Ana }
  - { key: bo, name: Bo }
departments:
  - { key: co, name: Co, heads: [ana] }
  - { key: eng, name: Eng, parent: co, heads: [ana], members: [bo] }
  - { key: sales, name: Sales, parent: co, heads: [bo] }
cycles:
  - { key: q4, start: 2026-10-01, end: 2026-12-31 }
objectives:
  - code: TOP
    title: Platform
    level: department
    department: eng
    cycle: q4
    key_results:
      - { code: T1, title: Uptime, unit: '%', start: 90, target: 99, owner: bo }
  - code: SUB
    title: Reliability
    level: team
    parent: TOP
    department: eng
    cycle: q4
    key_results:
      - { code: S1, title: Incidents fixed, unit: n, start: 0, target: 10, owner: bo }
  - code: OTHER
    title: Sell
    level: department
    department: sales
    cycle: q4
    key_results:
      - { code: O1, title: Deals, unit: n, start: 0, target: 5, owner: bo }
dependencies:
  - key: sales-needs-platform
    description: Sales needs the platform
    dependent: { department: sales }
    provider: { department: eng, ref: TOP }
";
        let spec = crate::manifest::parse_manifest("acme.yaml", yaml).expect("valid manifest");
        let code = |s: &str| Code::parse(s).unwrap();
        for c in ["S1", "T1"] {
            let deps = affected_dependencies(&spec, &code(c));
            assert_eq!(deps.len(), 1, "{c}");
            let scope = provider_scope(&spec, &code(c)).expect("in scope");
            let krs: Vec<&str> = scope.key_results.iter().map(|k| k.code.as_str()).collect();
            assert_eq!(krs, vec!["T1", "S1"], "{c}");
        }
        assert!(affected_dependencies(&spec, &code("O1")).is_empty());
    }
}
