//! The organisation as declared: every entity of PRODUCT §2, keyed by codes and keys
//! rather than database ids.
//!
//! One set of types serves three jobs: the manifest parses into an [`OrgSpec`], the store
//! loads the active organisation back into an [`OrgSpec`] (so `apply --dry-run` is a diff of
//! two values of one type), and the rollup math reads an [`OrgSpec`] plus the live
//! [`OrgState`] (latest check-ins).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::model::{
    Code, Confidence, Direction, Importance, Key, KrKind, LeadLag, Level, Perspective, Role,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgInfo {
    pub key: Key,
    pub name: String,
    pub time_zone: Tz,
    /// Month (1–12) in which the fiscal year starts; quarters count from it.
    pub fiscal_year_start: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerspectiveSpec {
    pub perspective: Perspective,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ChatIdentity {
    /// `slack` or `discord`.
    pub platform: String,
    /// Slack team id or Discord guild id.
    pub workspace: String,
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AwayPeriod {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonSpec {
    pub key: Key,
    pub name: String,
    pub email: Option<String>,
    /// The person's own zone; falls back to the department's, then the organisation's.
    pub time_zone: Option<Tz>,
    pub roles: Vec<Role>,
    pub chat: Vec<ChatIdentity>,
    pub away: Vec<AwayPeriod>,
    /// The platform baton messages the person on when they can be reached on several
    /// (`slack` or `discord`); otherwise the first listed in `chat`, then Slack by email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefer: Option<String>,
}

/// A cadence as written in the manifest: a friendly preset or a raw `RRULE:`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CadenceSpec {
    /// `checkin`, `digest`, `review`, `planning` or `coordination`.
    pub purpose: String,
    pub rule: String,
    /// `strategic`, `tactical`, `operational` or `coordination`.
    pub layer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepartmentSpec {
    pub key: Key,
    pub name: String,
    pub parent: Option<Key>,
    pub heads: Vec<Key>,
    pub members: Vec<Key>,
    pub time_zone: Option<Tz>,
    /// Channel per platform (`slack` → `C0123`, `discord` → `1234…`).
    pub channels: BTreeMap<String, String>,
    /// Post check-in prompts in the department channel instead of DMs.
    pub prompts_in_channel: bool,
    pub cadences: Vec<CadenceSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorecardObjective {
    pub code: Code,
    pub title: String,
    pub perspective: Perspective,
    pub owner: Option<Key>,
    /// Horizon in years (1–3 typically).
    pub horizon_years: u32,
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureSpec {
    pub code: Code,
    pub objective: Code,
    pub title: String,
    pub unit: String,
    pub direction: Direction,
    pub baseline: Option<f64>,
    /// For `up`/`down`: the target value. For `band`: unused (see `band`).
    pub target: f64,
    /// Red threshold: attainment is 0 here. For `band`: the distance outside the band at
    /// which attainment reaches 0.
    pub red: f64,
    pub band: Option<(f64, f64)>,
    pub lead_lag: LeadLag,
    pub source: Option<String>,
    pub cadence: Option<String>,
    pub owner: Option<Key>,
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkSpec {
    /// Cause.
    pub from: Code,
    /// Effect.
    pub to: Code,
    pub hypothesis: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CycleSpec {
    pub key: Key,
    pub starts: NaiveDate,
    /// Inclusive last day.
    pub ends: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveSpec {
    pub code: Code,
    pub title: String,
    pub level: Level,
    /// Required for department/team level; the owning department of a person-level
    /// objective is the owner's department.
    pub department: Option<Key>,
    pub owner: Option<Key>,
    pub cycle: Key,
    /// Scorecard objectives this objective serves.
    pub aligns_to: Vec<Code>,
    /// Parent OKR objective in the cascade.
    pub parent: Option<Code>,
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyResultSpec {
    pub code: Code,
    pub objective: Code,
    pub title: String,
    pub kind: KrKind,
    pub unit: String,
    /// `metric`: where the line starts; `at_least`/`at_most`: the reference at which the
    /// score is 0 (optional).
    pub start: Option<f64>,
    /// `metric`: the goal; `at_least`/`at_most`: the bound to hold.
    pub target: Option<f64>,
    /// `band`: the (low, high) range to stay within.
    pub band: Option<(f64, f64)>,
    pub weight: f64,
    pub owner: Option<Key>,
    pub due: Option<NaiveDate>,
    /// Overrides the department's check-in cadence.
    pub cadence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DependencySpec {
    pub key: Key,
    pub description: String,
    pub dependent_department: Key,
    /// Optional objective or key result of the dependent department that relies on this.
    pub dependent_ref: Option<Code>,
    pub provider_department: Key,
    /// Key result, objective or initiative code the provider delivers.
    pub provider_ref: Option<Code>,
    pub importance: Importance,
    pub needed_by: Option<NaiveDate>,
    /// Declared coordination cadence; when absent baton suggests one.
    pub cadence: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MilestoneSpec {
    pub title: String,
    pub due: Option<NaiveDate>,
    pub done: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitiativeSpec {
    pub code: Code,
    pub title: String,
    pub owner: Option<Key>,
    pub departments: Vec<Key>,
    pub objectives: Vec<Code>,
    pub measures: Vec<Code>,
    pub milestones: Vec<MilestoneSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Holiday {
    pub date: NaiveDate,
    pub name: String,
}

/// The whole declared organisation. Lists keep manifest order, which is display order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrgSpec {
    pub org: OrgInfo,
    /// Enabled perspectives, in causal order (learning first).
    pub perspectives: Vec<PerspectiveSpec>,
    pub people: Vec<PersonSpec>,
    pub departments: Vec<DepartmentSpec>,
    pub scorecard: Vec<ScorecardObjective>,
    pub measures: Vec<MeasureSpec>,
    pub links: Vec<LinkSpec>,
    pub cycles: Vec<CycleSpec>,
    pub objectives: Vec<ObjectiveSpec>,
    pub key_results: Vec<KeyResultSpec>,
    pub dependencies: Vec<DependencySpec>,
    pub initiatives: Vec<InitiativeSpec>,
    pub holidays: Vec<Holiday>,
    /// Review agenda templates per tier (`tactical` → `[actions, off_track, …]`); tiers not
    /// named use baton's defaults.
    #[serde(default)]
    pub review_templates: BTreeMap<String, Vec<String>>,
}

/// The latest figure behind a key result or measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Current {
    pub value: f64,
    pub confidence: Option<Confidence>,
    pub at: DateTime<Utc>,
    /// Id of the check-in that produced the figure (for traceability).
    pub checkin_id: i64,
}

/// Live state that check-ins change: the latest figure per key result and measure.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrgState {
    pub key_results: HashMap<Code, Current>,
    pub measures: HashMap<Code, Current>,
}
