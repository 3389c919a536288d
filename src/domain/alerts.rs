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
}
