//! The organisation as declared: every entity of PRODUCT §2, keyed by codes and keys
//! rather than database ids.
//!
//! One set of types serves three jobs: the manifest parses into an [`OrgSpec`], the store
//! loads the active organisation back into an [`OrgSpec`] (so `apply --dry-run` is a diff of
//! two values of one type), and the rollup math reads an [`OrgSpec`] plus the live
//! [`OrgState`] (latest check-ins).
//!
//! # Who belongs where: the one rule
//!
//! Every question of the form "which department is this person's / this objective's" is
//! answered here, by pure functions over an [`OrgSpec`]; permissions, rollups, prompts,
//! views, calendars and time zones all ask these, never the department lists directly.
//!
//! - **A person's departments** are the ones that list them as a head or as a member.
//!   They may act for each of them (check in on the key results it owns, be prompted at
//!   its rhythm): [`may_act_for`].
//! - **A person's home department** is the first department, in manifest order, that lists
//!   them as a *member*; only someone who is a member nowhere is at home in the first
//!   department they head: [`home_department`]. Heading a department is a responsibility
//!   for it, belonging to one is where the person sits: the head of Engineering who is a
//!   member of Leadership is at home in Leadership, and still acts for Engineering.
//!   The home department is the default scope of a person's views (`okrs`, actions),
//!   their fallback time zone, and the department of what they own without naming one.
//! - **An objective's owning department** is its declared `department`, else its owner's
//!   home department: [`owning_department`]. A key result belongs to its objective's
//!   owning department: [`kr_department`].
//! - **Who may check in on a key result**: its owner, and whoever may act for the
//!   department that owns it: [`may_check_in`]. Rollups attribute every figure to the
//!   department that owns the key result, never to the person who reported it, so a
//!   check-in a person may make always lands in the rollup of a department they act for.
//! - **The department tree**: a department's [`ancestors`] (itself first, then its parent,
//!   …) and [`descendants`] (itself first, breadth-first); both stop at a cycle.
//!
//! [`OrgIndex`] answers the same questions for a whole organisation at once (the rollup
//! and the prompt scheduler), built in one pass; its answers equal the functions' answers.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::hours::WorkingHours;
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
    /// Everyone's working hours unless their department or they say otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<WorkingHours>,
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
    /// The person's own working hours (see [`hours_of`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<WorkingHours>,
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
    /// Working hours of the department's people (and of sub-departments' people) who set
    /// none of their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_hours: Option<WorkingHours>,
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
    /// The key as written in the manifest (`2026-Q4`), for people to read; keys are
    /// compared in lower case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl CycleSpec {
    /// The cycle's name as the manifest writes it, else its key.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.key.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectiveSpec {
    pub code: Code,
    pub title: String,
    pub level: Level,
    /// Required for department/team level; without it the objective belongs to its
    /// owner's home department ([`owning_department`]).
    pub department: Option<Key>,
    pub owner: Option<Key>,
    pub cycle: Key,
    /// Scorecard objectives this objective serves.
    pub aligns_to: Vec<Code>,
    /// Parent OKR objective in the cascade.
    pub parent: Option<Code>,
    pub weight: f64,
    /// Count child objectives (weight `child.weight`) in this objective's progress beside
    /// its key results. Off by default: an objective is the weighted mean of its key
    /// results only (PRODUCT §5).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_children: bool,
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

/// Where a person stands in a department.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Head,
    Member,
}

impl OrgSpec {
    /// The declared department with this key.
    pub fn department(&self, key: &str) -> Option<&DepartmentSpec> {
        self.departments.iter().find(|d| d.key.as_str() == key)
    }

    /// The declared objective with this code.
    pub fn objective(&self, code: &Code) -> Option<&ObjectiveSpec> {
        self.objectives.iter().find(|o| &o.code == code)
    }
}

/// How `person` stands in `d`: head when listed as a head (whether or not also listed as
/// a member), member when listed only as a member.
pub fn standing(d: &DepartmentSpec, person: &str) -> Option<Standing> {
    if d.heads.iter().any(|h| h.as_str() == person) {
        Some(Standing::Head)
    } else if d.members.iter().any(|m| m.as_str() == person) {
        Some(Standing::Member)
    } else {
        None
    }
}

/// Every department of `departments` (in manifest order) that `person` heads or belongs to,
/// home department first, then the others in manifest order; `true` marks headship.
///
/// Takes a slice rather than the whole spec so that a store holding only the person's own
/// departments gives the same order: the home department is the first one listing the
/// person as a member, else the first one they head, and that does not depend on the
/// departments the person is not in.
pub fn person_departments<'a>(
    departments: &'a [DepartmentSpec],
    person: &str,
) -> Vec<(&'a Key, bool)> {
    let mut out: Vec<(&Key, bool)> = departments
        .iter()
        .filter_map(|d| standing(d, person).map(|s| (&d.key, s == Standing::Head)))
        .collect();
    if let Some(home) = home_in(departments, person)
        && let Some(i) = out.iter().position(|(k, _)| *k == home)
    {
        let h = out.remove(i);
        out.insert(0, h);
    }
    out
}

fn home_in<'a>(departments: &'a [DepartmentSpec], person: &str) -> Option<&'a Key> {
    let listed = |l: &[Key]| l.iter().any(|k| k.as_str() == person);
    departments
        .iter()
        .find(|d| listed(&d.members))
        .or_else(|| departments.iter().find(|d| listed(&d.heads)))
        .map(|d| &d.key)
}

/// The person's home department: the first department listing them as a member, else the
/// first one they head. See the module documentation.
pub fn home_department<'a>(spec: &'a OrgSpec, person: &str) -> Option<&'a Key> {
    home_in(&spec.departments, person)
}

/// Whether `person` may act for the department `dept`: they head it or belong to it.
pub fn may_act_for(spec: &OrgSpec, person: &str, dept: &str) -> bool {
    spec.department(dept)
        .is_some_and(|d| standing(d, person).is_some())
}

/// The department that owns an objective: its declared `department`, else its owner's
/// home department.
pub fn owning_department<'a>(spec: &'a OrgSpec, o: &'a ObjectiveSpec) -> Option<&'a Key> {
    match (&o.department, &o.owner) {
        (Some(d), _) => Some(d),
        (None, Some(owner)) => home_department(spec, owner.as_str()),
        (None, None) => None,
    }
}

/// The department that owns a key result: its objective's owning department.
pub fn kr_department<'a>(spec: &'a OrgSpec, kr: &KeyResultSpec) -> Option<&'a Key> {
    spec.objective(&kr.objective)
        .and_then(|o| owning_department(spec, o))
}

/// Whether `person` may check in on `kr`: they own it, or they may act for the department
/// that owns it. (The store enforces the same rule in the statement that records a
/// check-in, from the owning department it stores with each key result and the
/// memberships it stores with each department.)
pub fn may_check_in(spec: &OrgSpec, person: &str, kr: &KeyResultSpec) -> bool {
    kr.owner.as_ref().is_some_and(|o| o.as_str() == person)
        || kr_department(spec, kr).is_some_and(|d| may_act_for(spec, person, d.as_str()))
}

/// The department `key`, then its parent, its parent's parent, … up to the root. Stops at
/// an unknown parent or a cycle. Empty when `key` is not a department.
pub fn ancestors<'a>(spec: &'a OrgSpec, key: &str) -> Vec<&'a DepartmentSpec> {
    let mut out: Vec<&DepartmentSpec> = Vec::new();
    let mut cur = spec.department(key);
    while let Some(d) = cur {
        if out.iter().any(|x| x.key == d.key) {
            break;
        }
        out.push(d);
        cur = d.parent.as_ref().and_then(|p| spec.department(p.as_str()));
    }
    out
}

/// The department `key` and every department below it, breadth-first in manifest order.
/// Empty when `key` is not a department.
pub fn descendants<'a>(spec: &'a OrgSpec, key: &str) -> Vec<&'a Key> {
    let Some(root) = spec.department(key) else {
        return Vec::new();
    };
    let mut out = vec![&root.key];
    let mut i = 0;
    while i < out.len() {
        let cur = out[i];
        for d in &spec.departments {
            if d.parent.as_ref() == Some(cur) && !out.contains(&&d.key) {
                out.push(&d.key);
            }
        }
        i += 1;
    }
    out
}

/// The rule of this module for a whole organisation at once, by department position in
/// `spec.departments`: built in one pass, then every answer is a hash lookup.
#[derive(Debug, Clone)]
pub struct OrgIndex<'a> {
    dept_by_key: HashMap<&'a str, usize>,
    home: HashMap<&'a str, usize>,
}

impl<'a> OrgIndex<'a> {
    pub fn new(spec: &'a OrgSpec) -> Self {
        let mut dept_by_key = HashMap::with_capacity(spec.departments.len());
        let mut home: HashMap<&str, usize> = HashMap::new();
        for (i, d) in spec.departments.iter().enumerate() {
            dept_by_key.entry(d.key.as_str()).or_insert(i);
            for m in &d.members {
                home.entry(m.as_str()).or_insert(i);
            }
        }
        for (i, d) in spec.departments.iter().enumerate() {
            for h in &d.heads {
                home.entry(h.as_str()).or_insert(i);
            }
        }
        OrgIndex { dept_by_key, home }
    }

    /// Position of the department `key`.
    pub fn department(&self, key: &str) -> Option<usize> {
        self.dept_by_key.get(key).copied()
    }

    /// Position of the person's home department ([`home_department`]).
    pub fn home(&self, person: &str) -> Option<usize> {
        self.home.get(person).copied()
    }

    /// Position of the objective's owning department ([`owning_department`]).
    pub fn owning(&self, o: &ObjectiveSpec) -> Option<usize> {
        match (&o.department, &o.owner) {
            (Some(d), _) => self.department(d.as_str()),
            (None, Some(owner)) => self.home(owner.as_str()),
            (None, None) => None,
        }
    }
}

/// A person's working hours: their own, else their home department's or its nearest
/// ancestor's, else the organisation's, else 09:00–18:00 Monday to Friday.
pub fn hours_of(spec: &OrgSpec, person: &str) -> WorkingHours {
    if let Some(h) = spec
        .people
        .iter()
        .find(|p| p.key.as_str() == person)
        .and_then(|p| p.working_hours)
    {
        return h;
    }
    home_department(spec, person)
        .and_then(|d| {
            ancestors(spec, d.as_str())
                .into_iter()
                .find_map(|a| a.working_hours)
        })
        .or(spec.org.working_hours)
        .unwrap_or_default()
}

/// [`hours_of`] for everyone at once (the scheduler's tick), each department's hours
/// worked out once.
pub fn hours_of_all(spec: &OrgSpec) -> std::collections::HashMap<&str, WorkingHours> {
    let org = OrgIndex::new(spec);
    let dept: Vec<Option<WorkingHours>> = spec
        .departments
        .iter()
        .map(|d| {
            ancestors(spec, d.key.as_str())
                .into_iter()
                .find_map(|a| a.working_hours)
        })
        .collect();
    spec.people
        .iter()
        .map(|p| {
            let h = p
                .working_hours
                .or_else(|| org.home(p.key.as_str()).and_then(|i| dept[i]))
                .or(spec.org.working_hours)
                .unwrap_or_default();
            (p.key.as_str(), h)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dee heads Engineering (listed first) and is a member of Leadership; Eve is a member of
    /// Engineering, Lou of Leadership; Hal only heads Platform (under Engineering); Zed is in
    /// no department. Objective E1 names Engineering, D1 names no department (its owner's
    /// home decides), H1 is Hal's, Z1 is Zed's.
    const ORG: &str = "\
organisation: {key: acme, name: Acme, time_zone: Europe/London}
people:
  - {key: dee, name: Dee}
  - {key: eve, name: Eve}
  - {key: lou, name: Lou}
  - {key: hal, name: Hal}
  - {key: zed, name: Zed}
departments:
  - {key: eng, name: Engineering, heads: [dee], members: [eve]}
  - {key: platform, name: Platform, parent: eng, heads: [hal]}
  - {key: leadership, name: Leadership, members: [dee, lou]}
cycles:
  - {key: q4, start: 2026-10-01, end: 2026-12-31}
objectives:
  - code: E1
    title: Ship
    level: department
    department: eng
    cycle: q4
    key_results:
      - {code: E1.1, title: Releases, start: 0, target: 4}
  - code: D1
    title: Hire
    level: person
    owner: dee
    cycle: q4
    key_results:
      - {code: D1.1, title: Hires, start: 0, target: 3}
  - code: H1
    title: Stabilise
    level: person
    owner: hal
    cycle: q4
    key_results:
      - {code: H1.1, title: Incidents, start: 10, target: 2}
  - code: Z1
    title: Explore
    level: person
    owner: zed
    cycle: q4
    key_results:
      - {code: Z1.1, title: Prototypes, start: 0, target: 1, owner: zed}
";

    fn org() -> OrgSpec {
        crate::manifest::parse_manifest("org.yaml", ORG).expect("valid manifest")
    }

    fn kr<'a>(spec: &'a OrgSpec, c: &str) -> &'a KeyResultSpec {
        spec.key_results
            .iter()
            .find(|k| k.code.as_str() == c)
            .expect("declared key result")
    }

    fn keys(v: Vec<(&Key, bool)>) -> Vec<(String, bool)> {
        v.into_iter().map(|(k, h)| (k.to_string(), h)).collect()
    }

    #[test]
    fn membership_is_home_headship_is_not() {
        let spec = org();
        // Dee heads eng, listed before leadership, but sits in leadership.
        assert_eq!(
            home_department(&spec, "dee").unwrap().as_str(),
            "leadership"
        );
        assert_eq!(home_department(&spec, "eve").unwrap().as_str(), "eng");
        // Someone who is a member nowhere is at home where they are head.
        assert_eq!(home_department(&spec, "hal").unwrap().as_str(), "platform");
        assert_eq!(home_department(&spec, "zed"), None);
        assert_eq!(
            keys(person_departments(&spec.departments, "dee")),
            [("leadership".to_string(), false), ("eng".to_string(), true)]
        );
        // The store hands over only the person's own departments: same answer.
        let own: Vec<DepartmentSpec> = spec
            .departments
            .iter()
            .filter(|d| standing(d, "dee").is_some())
            .cloned()
            .collect();
        assert_eq!(
            person_departments(&own, "dee"),
            person_departments(&spec.departments, "dee")
        );
    }

    #[test]
    fn head_of_one_member_of_another_acts_for_both() {
        let spec = org();
        assert!(may_act_for(&spec, "dee", "eng"));
        assert!(may_act_for(&spec, "dee", "leadership"));
        assert!(!may_act_for(&spec, "dee", "platform"));
        assert!(!may_act_for(&spec, "dee", "nowhere"));
        // Dee checks in on Engineering's key result and on her own, which Leadership owns.
        assert!(may_check_in(&spec, "dee", kr(&spec, "E1.1")));
        assert!(may_check_in(&spec, "dee", kr(&spec, "D1.1")));
    }

    #[test]
    fn an_unnamed_department_is_the_owners_home() {
        let spec = org();
        let d1 = kr(&spec, "D1.1");
        assert_eq!(kr_department(&spec, d1).unwrap().as_str(), "leadership");
        // Leadership's members may check in on it; Engineering's may not.
        assert!(may_check_in(&spec, "lou", d1));
        assert!(!may_check_in(&spec, "eve", d1));
        // A declared department wins over the owner.
        assert_eq!(
            kr_department(&spec, kr(&spec, "E1.1")).unwrap().as_str(),
            "eng"
        );
        assert!(may_check_in(&spec, "eve", kr(&spec, "E1.1")));
        assert!(!may_check_in(&spec, "lou", kr(&spec, "E1.1")));
        // No department at all: only the key result's owner.
        let z = kr(&spec, "Z1.1");
        assert_eq!(kr_department(&spec, z), None);
        assert!(may_check_in(&spec, "zed", z));
        assert!(!may_check_in(&spec, "dee", z));
    }

    #[test]
    fn the_index_gives_the_same_answers() {
        let spec = org();
        let ix = OrgIndex::new(&spec);
        for p in &spec.people {
            let by_index = ix.home(p.key.as_str()).map(|i| &spec.departments[i].key);
            assert_eq!(
                by_index,
                home_department(&spec, p.key.as_str()),
                "{}",
                p.key
            );
        }
        for o in &spec.objectives {
            let by_index = ix.owning(o).map(|i| &spec.departments[i].key);
            assert_eq!(by_index, owning_department(&spec, o), "{}", o.code);
        }
    }

    #[test]
    fn the_tree_walks_up_and_down_and_stops_at_cycles() {
        let mut spec = org();
        let up: Vec<&str> = ancestors(&spec, "platform")
            .iter()
            .map(|d| d.key.as_str())
            .collect();
        assert_eq!(up, ["platform", "eng"]);
        let down: Vec<&str> = descendants(&spec, "eng")
            .iter()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(down, ["eng", "platform"]);
        assert!(ancestors(&spec, "nowhere").is_empty());
        assert!(descendants(&spec, "nowhere").is_empty());
        // A cycle (the manifest refuses one; the tree must still end).
        spec.departments[0].parent = Some(Key::parse("platform").unwrap());
        assert_eq!(ancestors(&spec, "platform").len(), 2);
        assert_eq!(descendants(&spec, "eng").len(), 2);
    }
}
