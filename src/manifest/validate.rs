//! From the raw manifest to an [`OrgSpec`]: parse every value, check every reference and
//! every rule, and collect all problems with their locations.
//!
//! Pass 1 registers identities (keys and codes, with duplicate checks) and what later
//! checks need to know about cycles and objectives; pass 2 converts each item and checks
//! its values and references; pass 3 checks graphs (parent cycles).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde_saphyr::Location;

use super::ManifestError;
use super::raw::*;
use crate::domain::cadence::parse_rule;
use crate::domain::hours::WorkingHours;
use crate::domain::model::{
    Code, Direction, Importance, Key, KrKind, LeadLag, Level, Perspective, Role,
};
use crate::domain::org::*;

const PURPOSES: [&str; 5] = ["checkin", "digest", "review", "planning", "coordination"];
const LAYERS: [&str; 4] = ["strategic", "tactical", "operational", "coordination"];
const PLATFORMS: [&str; 2] = ["slack", "discord"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum KeyKind {
    Person,
    Department,
    Cycle,
    Dependency,
}

impl KeyKind {
    fn name(self) -> &'static str {
        match self {
            KeyKind::Person => "person",
            KeyKind::Department => "department",
            KeyKind::Cycle => "cycle",
            KeyKind::Dependency => "dependency",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CodeKind {
    Scorecard,
    Measure,
    Objective,
    KeyResult,
    Initiative,
}

impl CodeKind {
    fn name(self) -> &'static str {
        match self {
            CodeKind::Scorecard => "scorecard objective",
            CodeKind::Measure => "measure",
            CodeKind::Objective => "OKR objective",
            CodeKind::KeyResult => "key result",
            CodeKind::Initiative => "initiative",
        }
    }
}

/// What the reference checks need to know about an OKR objective.
struct ObjInfo {
    cycle: Option<Key>,
    department: Option<Key>,
}

struct Cx<'a> {
    file: &'a str,
    errs: Vec<ManifestError>,
    keys: HashMap<(KeyKind, Key), u64>,
    codes: HashMap<Code, (CodeKind, u64)>,
    cycles: HashMap<Key, (NaiveDate, NaiveDate)>,
    objectives: HashMap<Code, ObjInfo>,
    kr_objective: HashMap<Code, Code>,
}

fn items<T>(l: &List<T>) -> &[S<T>] {
    l.as_deref().unwrap_or(&[])
}

/// `people[maya]` when the item has an identifier, `people[3]` otherwise.
fn item_path(section: &str, id: &Str, i: usize) -> String {
    match id
        .as_ref()
        .map(|s| s.value.trim())
        .filter(|s| !s.is_empty())
    {
        Some(id) => format!("{section}[{id}]"),
        None => format!("{section}[{i}]"),
    }
}

fn silent_key(v: &Str) -> Option<Key> {
    v.as_ref().and_then(|s| Key::parse(&s.value).ok())
}

fn silent_code(v: &Str) -> Option<Code> {
    v.as_ref().and_then(|s| Code::parse(&s.value).ok())
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate within edit distance 2 (case-insensitive), if any.
fn closest<'c>(name: &str, candidates: impl Iterator<Item = &'c str>) -> Option<&'c str> {
    let name = name.to_ascii_lowercase();
    candidates
        .map(|c| (edit_distance(&name, &c.to_ascii_lowercase()), c))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, c)| c)
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

fn fmt_num(v: f64) -> String {
    format!("{v}")
}

impl<'a> Cx<'a> {
    fn new(file: &'a str) -> Self {
        Cx {
            file,
            errs: Vec::new(),
            keys: HashMap::new(),
            codes: HashMap::new(),
            cycles: HashMap::new(),
            objectives: HashMap::new(),
            kr_objective: HashMap::new(),
        }
    }

    fn err_at(&mut self, line: u64, column: u64, field: &str, message: impl Into<String>) {
        self.errs.push(ManifestError {
            file: self.file.to_owned(),
            line,
            column,
            field: field.to_owned(),
            message: message.into(),
        });
    }

    fn err(&mut self, at: Location, field: &str, message: impl Into<String>) {
        self.err_at(at.line(), at.column(), field, message);
    }

    /// A required field: reports `missing required field` at the item when absent.
    fn req<'b, T>(
        &mut self,
        v: &'b Option<S<T>>,
        item: Location,
        path: &str,
        name: &str,
    ) -> Option<&'b S<T>> {
        if v.is_none() {
            self.err(
                item,
                &format!("{path}.{name}"),
                format!("missing required field `{name}`"),
            );
        }
        v.as_ref()
    }

    fn text(&mut self, s: &S<String>, field: &str) -> Option<String> {
        let t = s.value.trim();
        if t.is_empty() {
            self.err(s.referenced, field, "must not be empty");
            None
        } else {
            Some(t.to_owned())
        }
    }

    fn req_text(&mut self, v: &Str, item: Location, path: &str, name: &str) -> Option<String> {
        let s = self.req(v, item, path, name)?;
        self.text(s, &format!("{path}.{name}"))
    }

    fn opt_text(&mut self, v: &Str, field: &str) -> Option<String> {
        v.as_ref().and_then(|s| self.text(s, field))
    }

    fn key(&mut self, s: &S<String>, field: &str) -> Option<Key> {
        Key::parse(&s.value)
            .map_err(|e| self.err(s.referenced, field, e))
            .ok()
    }

    fn code(&mut self, s: &S<String>, field: &str) -> Option<Code> {
        Code::parse(&s.value)
            .map_err(|e| self.err(s.referenced, field, e))
            .ok()
    }

    fn parse_enum<T>(
        &mut self,
        s: &S<String>,
        field: &str,
        parse: fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        parse(&s.value)
            .map_err(|e| self.err(s.referenced, field, e))
            .ok()
    }

    /// Optional working hours (`mon-fri 09:00-18:00`).
    fn opt_hours(&mut self, s: &Option<S<String>>, field: &str) -> Option<WorkingHours> {
        let s = s.as_ref()?;
        match WorkingHours::parse(&s.value) {
            Ok(h) => Some(h),
            Err(e) => {
                self.err(s.referenced, field, e);
                None
            }
        }
    }

    fn tz(&mut self, s: &S<String>, field: &str) -> Option<Tz> {
        let name = s.value.trim();
        match name.parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                let hint = closest(name, chrono_tz::TZ_VARIANTS.iter().map(|t| t.name()));
                self.err(
                    s.referenced,
                    field,
                    format!(
                        "`{name}` is not an IANA time zone (like Europe/London or \
                         America/New_York){}",
                        did_you_mean(hint)
                    ),
                );
                None
            }
        }
    }

    fn opt_tz(&mut self, v: &Str, field: &str) -> Option<Tz> {
        v.as_ref().and_then(|s| self.tz(s, field))
    }

    fn date(&mut self, s: &S<String>, field: &str) -> Option<NaiveDate> {
        let t = s.value.trim();
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .map_err(|_| {
                self.err(
                    s.referenced,
                    field,
                    format!("`{t}` is not a valid date; expected YYYY-MM-DD"),
                )
            })
            .ok()
    }

    fn opt_date(&mut self, v: &Str, field: &str) -> Option<NaiveDate> {
        v.as_ref().and_then(|s| self.date(s, field))
    }

    fn num(&mut self, s: &S<f64>, field: &str) -> Option<f64> {
        if s.value.is_finite() {
            Some(s.value)
        } else {
            self.err(s.referenced, field, "must be a finite number");
            None
        }
    }

    fn opt_num(&mut self, v: &Num, field: &str) -> Option<f64> {
        v.as_ref().and_then(|s| self.num(s, field))
    }

    fn weight(&mut self, v: &Num, field: &str) -> f64 {
        match v {
            None => 1.0,
            Some(s) => match self.num(s, field) {
                Some(w) if w < 0.0 => {
                    self.err(
                        s.referenced,
                        field,
                        format!("weight must be zero or positive, got {}", fmt_num(w)),
                    );
                    1.0
                }
                Some(w) => w,
                None => 1.0,
            },
        }
    }

    fn cadence(&mut self, s: &S<String>, field: &str) -> Option<String> {
        match parse_rule(&s.value) {
            Ok(_) => Some(s.value.trim().to_owned()),
            Err(e) => {
                self.err(s.referenced, field, format!("invalid cadence: {e}"));
                None
            }
        }
    }

    fn opt_cadence(&mut self, v: &Str, field: &str) -> Option<String> {
        v.as_ref().and_then(|s| self.cadence(s, field))
    }

    /// Registers a key (reporting bad and duplicate keys); returns it when valid.
    fn register_key(&mut self, v: &Str, item: Location, path: &str, kind: KeyKind) -> Option<Key> {
        let s = self.req(v, item, path, "key")?;
        let field = format!("{path}.key");
        let key = self.key(s, &field)?;
        let line = s.referenced.line();
        match self.keys.get(&(kind, key.clone())) {
            Some(first) => {
                let first = *first;
                self.err(
                    s.referenced,
                    &field,
                    format!(
                        "duplicate {} key `{key}` (first declared at line {first})",
                        kind.name()
                    ),
                );
                None
            }
            None => {
                self.keys.insert((kind, key.clone()), line);
                Some(key)
            }
        }
    }

    fn register_code(&mut self, s: &S<String>, field: &str, kind: CodeKind) {
        let Some(code) = self.code(s, field) else {
            return;
        };
        match self.codes.get(&code) {
            Some((first_kind, first_line)) => {
                let msg = format!(
                    "duplicate code `{code}`: already used by the {} at line {first_line} \
                     (codes are shared by all objectives, measures, key results and \
                     initiatives, ignoring case)",
                    first_kind.name()
                );
                self.err(s.referenced, field, msg);
            }
            None => {
                self.codes.insert(code, (kind, s.referenced.line()));
            }
        }
    }

    fn key_ref(&mut self, s: &S<String>, field: &str, kind: KeyKind) -> Option<Key> {
        let key = self.key(s, field)?;
        if self.keys.contains_key(&(kind, key.clone())) {
            return Some(key);
        }
        let hint = closest(
            key.as_str(),
            self.keys
                .keys()
                .filter(|(k, _)| *k == kind)
                .map(|(_, key)| key.as_str()),
        )
        .map(str::to_owned);
        self.err(
            s.referenced,
            field,
            format!(
                "unknown {} `{key}`{}",
                kind.name(),
                did_you_mean(hint.as_deref())
            ),
        );
        None
    }

    fn opt_key_ref(&mut self, v: &Str, field: &str, kind: KeyKind) -> Option<Key> {
        v.as_ref().and_then(|s| self.key_ref(s, field, kind))
    }

    fn key_refs(&mut self, v: &List<String>, path: &str, kind: KeyKind) -> Vec<Key> {
        // Duplicates are dropped; a set keeps that linear for long member lists.
        let mut out: Vec<Key> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, s) in items(v).iter().enumerate() {
            if let Some(k) = self.key_ref(s, &format!("{path}[{i}]"), kind)
                && seen.insert(k.clone())
            {
                out.push(k);
            }
        }
        out
    }

    /// A reference to a code of one of the `allowed` kinds, described as `what`.
    fn code_ref(
        &mut self,
        s: &S<String>,
        field: &str,
        allowed: &[CodeKind],
        what: &str,
    ) -> Option<Code> {
        let code = self.code(s, field)?;
        match self.codes.get(&code) {
            Some((kind, _)) if allowed.contains(kind) => Some(code),
            Some((kind, line)) => {
                let msg = format!(
                    "`{code}` is the {} at line {line}, not a {what}",
                    kind.name()
                );
                self.err(s.referenced, field, msg);
                None
            }
            None => {
                let hint = closest(
                    code.as_str(),
                    self.codes
                        .iter()
                        .filter(|(_, (k, _))| allowed.contains(k))
                        .map(|(c, _)| c.as_str()),
                )
                .map(str::to_owned);
                self.err(
                    s.referenced,
                    field,
                    format!("unknown {what} `{code}`{}", did_you_mean(hint.as_deref())),
                );
                None
            }
        }
    }

    fn code_refs(
        &mut self,
        v: &List<String>,
        path: &str,
        allowed: &[CodeKind],
        what: &str,
    ) -> Vec<Code> {
        let mut out: Vec<Code> = Vec::new();
        for (i, s) in items(v).iter().enumerate() {
            if let Some(c) = self.code_ref(s, &format!("{path}[{i}]"), allowed, what)
                && !out.contains(&c)
            {
                out.push(c);
            }
        }
        out
    }

    /// A `[low, high]` pair, checked low < high.
    fn band(&mut self, b: &S<Vec<S<f64>>>, field: &str) -> Option<(f64, f64)> {
        if b.value.len() != 2 {
            self.err(
                b.referenced,
                field,
                format!(
                    "a band is written `[low, high]`; got {} values",
                    b.value.len()
                ),
            );
            return None;
        }
        let lo = self.num(&b.value[0], field)?;
        let hi = self.num(&b.value[1], field)?;
        self.band_order(lo, hi, b.referenced, field)
    }

    fn band_order(&mut self, lo: f64, hi: f64, at: Location, field: &str) -> Option<(f64, f64)> {
        if lo >= hi {
            self.err(
                at,
                field,
                format!(
                    "band low ({}) must be below high ({})",
                    fmt_num(lo),
                    fmt_num(hi)
                ),
            );
            return None;
        }
        Some((lo, hi))
    }
}

/// Reports each parent cycle once, at the member declared first.
fn check_parent_cycles<K: Clone + Eq + std::hash::Hash + std::fmt::Display>(
    cx: &mut Cx,
    parents: &[(K, Option<K>, Location, String)],
    what: &str,
) {
    let map: HashMap<&K, &K> = parents
        .iter()
        .filter_map(|(k, p, _, _)| p.as_ref().map(|p| (k, p)))
        .collect();
    let mut reported: HashSet<&K> = HashSet::new();
    for (k, _, at, field) in parents {
        if reported.contains(k) {
            continue;
        }
        let mut chain = vec![k];
        let mut cur = k;
        while let Some(next) = map.get(cur) {
            if *next == k {
                let names: Vec<String> = chain.iter().map(|c| c.to_string()).collect();
                cx.err(
                    *at,
                    field,
                    format!("{what} parents form a cycle: {} → {k}", names.join(" → ")),
                );
                reported.extend(chain.iter().copied());
                break;
            }
            if chain.contains(next) || chain.len() > parents.len() {
                break;
            }
            chain.push(next);
            cur = next;
        }
    }
}

pub(super) fn build(file: &str, raw: RawManifest) -> Result<OrgSpec, Vec<ManifestError>> {
    let mut cx = Cx::new(file);

    // ---------------------------------------------------------------- pass 1: identities
    for (i, p) in items(&raw.people).iter().enumerate() {
        let path = item_path("people", &p.value.key, i);
        cx.register_key(&p.value.key, p.referenced, &path, KeyKind::Person);
    }
    for (i, d) in items(&raw.departments).iter().enumerate() {
        let path = item_path("departments", &d.value.key, i);
        cx.register_key(&d.value.key, d.referenced, &path, KeyKind::Department);
    }
    // A cycle named after a fiscal period (`2026-Q3`) may leave its dates to the fiscal year.
    let fiscal_year_start = raw
        .organisation
        .as_ref()
        .and_then(|o| o.value.fiscal_year_start.as_ref())
        .map(|s| s.value)
        .filter(|m| (1..=12).contains(m))
        .unwrap_or(1) as u32;
    for (i, c) in items(&raw.cycles).iter().enumerate() {
        let path = item_path("cycles", &c.value.key, i);
        let key = cx.register_key(&c.value.key, c.referenced, &path, KeyKind::Cycle);
        let fiscal = c
            .value
            .key
            .as_ref()
            .and_then(|k| crate::domain::fiscal::period_dates(&k.value, fiscal_year_start));
        let start = match (&c.value.start, fiscal) {
            (None, Some((s, _))) => Some(s),
            _ => cx
                .req(&c.value.start, c.referenced, &path, "start")
                .and_then(|s| cx.date(s, &format!("{path}.start"))),
        };
        let end = match (&c.value.end, fiscal) {
            (None, Some((_, e))) => Some(e),
            _ => cx
                .req(&c.value.end, c.referenced, &path, "end")
                .and_then(|s| cx.date(s, &format!("{path}.end"))),
        };
        if let (Some(start), Some(end)) = (start, end) {
            if end < start {
                let at = c.value.end.as_ref().map_or(c.referenced, |s| s.referenced);
                cx.err(
                    at,
                    &format!("{path}.end"),
                    format!("the cycle ends ({end}) before it starts ({start})"),
                );
            } else if let Some(key) = key {
                cx.cycles.insert(key, (start, end));
            }
        }
    }
    for (i, d) in items(&raw.dependencies).iter().enumerate() {
        let path = item_path("dependencies", &d.value.key, i);
        cx.register_key(&d.value.key, d.referenced, &path, KeyKind::Dependency);
    }

    // Codes, registered in file order so "first" really is first.
    let mut code_sites: Vec<(&S<String>, String, CodeKind)> = Vec::new();
    let mut missing_codes: Vec<(Location, String)> = Vec::new();
    fn site<'r>(
        missing: &mut Vec<(Location, String)>,
        v: &'r Str,
        item: Location,
        path: String,
        kind: CodeKind,
    ) -> Option<(&'r S<String>, String, CodeKind)> {
        match v {
            Some(s) => Some((s, path, kind)),
            None => {
                missing.push((item, path));
                None
            }
        }
    }
    let mut pending = Vec::new();
    if let Some(sc) = &raw.scorecard {
        for (i, o) in items(&sc.value.objectives).iter().enumerate() {
            let path = item_path("scorecard.objectives", &o.value.code, i);
            pending.push(site(
                &mut missing_codes,
                &o.value.code,
                o.referenced,
                path,
                CodeKind::Scorecard,
            ));
            for (j, m) in items(&o.value.measures).iter().enumerate() {
                let path = item_path("measures", &m.value.code, j);
                let path = if m.value.code.is_some() {
                    path
                } else {
                    format!("scorecard.objectives[{i}].{path}")
                };
                pending.push(site(
                    &mut missing_codes,
                    &m.value.code,
                    m.referenced,
                    path,
                    CodeKind::Measure,
                ));
            }
        }
    }
    for (i, o) in items(&raw.objectives).iter().enumerate() {
        let path = item_path("objectives", &o.value.code, i);
        pending.push(site(
            &mut missing_codes,
            &o.value.code,
            o.referenced,
            path.clone(),
            CodeKind::Objective,
        ));
        for (j, k) in items(&o.value.key_results).iter().enumerate() {
            let kpath = if k.value.code.is_some() {
                item_path("key_results", &k.value.code, j)
            } else {
                format!("{path}.key_results[{j}]")
            };
            pending.push(site(
                &mut missing_codes,
                &k.value.code,
                k.referenced,
                kpath,
                CodeKind::KeyResult,
            ));
        }
    }
    for (i, n) in items(&raw.initiatives).iter().enumerate() {
        let path = item_path("initiatives", &n.value.code, i);
        pending.push(site(
            &mut missing_codes,
            &n.value.code,
            n.referenced,
            path,
            CodeKind::Initiative,
        ));
    }
    code_sites.extend(pending.into_iter().flatten());
    code_sites.sort_by_key(|(s, _, _)| (s.referenced.line(), s.referenced.column()));
    for (s, path, kind) in code_sites {
        cx.register_code(s, &format!("{path}.code"), kind);
    }
    for (at, path) in missing_codes {
        cx.err(at, &format!("{path}.code"), "missing required field `code`");
    }
    for o in items(&raw.objectives) {
        let Some(code) = silent_code(&o.value.code) else {
            continue;
        };
        for k in items(&o.value.key_results) {
            if let Some(kc) = silent_code(&k.value.code) {
                cx.kr_objective.entry(kc).or_insert_with(|| code.clone());
            }
        }
        cx.objectives.entry(code).or_insert(ObjInfo {
            cycle: silent_key(&o.value.cycle),
            department: silent_key(&o.value.department),
        });
    }

    // ---------------------------------------------------------------- pass 2: items
    let org = match &raw.organisation {
        None => {
            cx.err_at(
                1,
                1,
                "organisation",
                "missing required section `organisation` (key, name, time_zone)",
            );
            None
        }
        Some(o) => {
            let at = o.referenced;
            let p = "organisation";
            let key = cx
                .req(&o.value.key, at, p, "key")
                .and_then(|s| cx.key(s, "organisation.key"));
            let name = cx.req_text(&o.value.name, at, p, "name");
            let tz = cx
                .req(&o.value.time_zone, at, p, "time_zone")
                .and_then(|s| cx.tz(s, "organisation.time_zone"));
            let fy = match &o.value.fiscal_year_start {
                None => Some(1),
                Some(s) if (1..=12).contains(&s.value) => Some(s.value as u32),
                Some(s) => {
                    cx.err(
                        s.referenced,
                        "organisation.fiscal_year_start",
                        format!(
                            "fiscal_year_start is the month the fiscal year starts (1–12), \
                             got {}",
                            s.value
                        ),
                    );
                    None
                }
            };
            let working_hours = cx.opt_hours(&o.value.working_hours, "organisation.working_hours");
            match (key, name, tz, fy) {
                (Some(key), Some(name), Some(time_zone), Some(fiscal_year_start)) => {
                    Some(OrgInfo {
                        key,
                        name,
                        time_zone,
                        fiscal_year_start,
                        working_hours,
                    })
                }
                _ => None,
            }
        }
    };

    // Perspectives.
    let mut perspectives: Vec<PerspectiveSpec> = Vec::new();
    match &raw.perspectives {
        None => {
            for p in [
                Perspective::Learning,
                Perspective::Internal,
                Perspective::Customer,
                Perspective::Financial,
            ] {
                perspectives.push(PerspectiveSpec {
                    perspective: p,
                    label: p.default_label().to_owned(),
                });
            }
        }
        Some(list) => {
            if list.value.is_empty() {
                cx.err(
                    list.referenced,
                    "perspectives",
                    "at least one perspective must be enabled (or leave `perspectives` out \
                     for all four)",
                );
            }
            let mut seen: HashMap<Perspective, u64> = HashMap::new();
            for (i, item) in list.value.iter().enumerate() {
                let field = format!("perspectives[{i}]");
                let (name, label) = match &item.value {
                    OneOf::Str(s) => (
                        Some(S {
                            value: s.clone(),
                            referenced: item.referenced,
                            defined: item.defined,
                        }),
                        None,
                    ),
                    OneOf::Map(m) => (
                        cx.req(&m.key, item.referenced, &field, "key").cloned(),
                        cx.opt_text(&m.label, &format!("{field}.label")),
                    ),
                };
                let Some(name) = name else { continue };
                let Some(p) = cx.parse_enum(&name, &field, Perspective::parse) else {
                    continue;
                };
                if let Some(first) = seen.get(&p) {
                    let msg = format!("perspective `{p}` is listed twice (first at line {first})");
                    cx.err(name.referenced, &field, msg);
                    continue;
                }
                seen.insert(p, name.referenced.line());
                perspectives.push(PerspectiveSpec {
                    perspective: p,
                    label: label.unwrap_or_else(|| p.default_label().to_owned()),
                });
            }
            perspectives.sort_by_key(|p| p.perspective);
        }
    }
    let enabled: Vec<Perspective> = perspectives.iter().map(|p| p.perspective).collect();

    // People.
    let mut people = Vec::new();
    for (i, p) in items(&raw.people).iter().enumerate() {
        let r = &p.value;
        let path = item_path("people", &r.key, i);
        let key = silent_key(&r.key);
        let name = cx.req_text(&r.name, p.referenced, &path, "name");
        let email = cx.opt_text(&r.email, &format!("{path}.email"));
        if let (Some(e), Some(s)) = (&email, &r.email)
            && (!e.contains('@') || e.contains(char::is_whitespace) || e.starts_with('@'))
        {
            cx.err(
                s.referenced,
                &format!("{path}.email"),
                format!("`{e}` is not an email address"),
            );
        }
        let time_zone = cx.opt_tz(&r.time_zone, &format!("{path}.time_zone"));
        let working_hours = cx.opt_hours(&r.working_hours, &format!("{path}.working_hours"));
        let mut roles = Vec::new();
        for (j, s) in items(&r.roles).iter().enumerate() {
            if let Some(role) = cx.parse_enum(s, &format!("{path}.roles[{j}]"), Role::parse)
                && !roles.contains(&role)
            {
                roles.push(role);
            }
        }
        let mut chat = Vec::new();
        for (j, c) in items(&r.chat).iter().enumerate() {
            let cp = format!("{path}.chat[{j}]");
            let platform = cx
                .req(&c.value.platform, c.referenced, &cp, "platform")
                .and_then(|s| {
                    let v = s.value.trim().to_ascii_lowercase();
                    if PLATFORMS.contains(&v.as_str()) {
                        Some(v)
                    } else {
                        cx.err(
                            s.referenced,
                            &format!("{cp}.platform"),
                            format!(
                                "`{}` is not a chat platform; expected one of: {}",
                                s.value.trim(),
                                PLATFORMS.join(", ")
                            ),
                        );
                        None
                    }
                });
            let workspace = cx.req_text(&c.value.workspace, c.referenced, &cp, "workspace");
            let user = cx.req_text(&c.value.user, c.referenced, &cp, "user");
            if let (Some(platform), Some(workspace), Some(user)) = (platform, workspace, user) {
                chat.push(ChatIdentity {
                    platform,
                    workspace,
                    user,
                });
            }
        }
        let mut away = Vec::new();
        for (j, a) in items(&r.away).iter().enumerate() {
            let ap = format!("{path}.away[{j}]");
            let from = cx
                .req(&a.value.from, a.referenced, &ap, "from")
                .and_then(|s| cx.date(s, &format!("{ap}.from")));
            let to = cx
                .req(&a.value.to, a.referenced, &ap, "to")
                .and_then(|s| cx.date(s, &format!("{ap}.to")));
            if let (Some(from), Some(to)) = (from, to) {
                if to < from {
                    let at = a.value.to.as_ref().map_or(a.referenced, |s| s.referenced);
                    cx.err(
                        at,
                        &format!("{ap}.to"),
                        format!("the away period ends ({to}) before it starts ({from})"),
                    );
                } else {
                    away.push(AwayPeriod { from, to });
                }
            }
        }
        let prefer = r.prefer.as_ref().and_then(|s| {
            let field = format!("{path}.prefer");
            let v = s.value.trim().to_ascii_lowercase();
            let reachable = chat.iter().any(|c| c.platform == v) || (v == "slack" && email.is_some());
            if !PLATFORMS.contains(&v.as_str()) {
                cx.err(
                    s.referenced,
                    &field,
                    format!(
                        "`{}` is not a chat platform; expected one of: {}",
                        s.value.trim(),
                        PLATFORMS.join(", ")
                    ),
                );
                None
            } else if !reachable {
                let how = if v == "slack" {
                    "add a `chat` entry with `platform: slack`, or an `email` to find them in Slack by"
                } else {
                    "add a `chat` entry with `platform: discord`"
                };
                cx.err(
                    s.referenced,
                    &field,
                    format!("the person prefers {v} but has no {v} identity; {how}"),
                );
                None
            } else {
                Some(v)
            }
        });
        if let (Some(key), Some(name)) = (key, name) {
            people.push(PersonSpec {
                key,
                name,
                email,
                time_zone,
                roles,
                chat,
                away,
                prefer,
                working_hours,
            });
        }
    }

    // Departments.
    let mut departments = Vec::new();
    let mut dept_parents = Vec::new();
    for (i, d) in items(&raw.departments).iter().enumerate() {
        let r = &d.value;
        let path = item_path("departments", &r.key, i);
        let key = silent_key(&r.key);
        let name = cx.req_text(&r.name, d.referenced, &path, "name");
        let pfield = format!("{path}.parent");
        let parent = cx.opt_key_ref(&r.parent, &pfield, KeyKind::Department);
        if let (Some(k), Some(p), Some(s)) = (&key, &parent, &r.parent)
            && k == p
        {
            cx.err(
                s.referenced,
                &pfield,
                "a department cannot be its own parent",
            );
        }
        let heads = cx.key_refs(&r.heads, &format!("{path}.heads"), KeyKind::Person);
        let members = cx.key_refs(&r.members, &format!("{path}.members"), KeyKind::Person);
        let time_zone = cx.opt_tz(&r.time_zone, &format!("{path}.time_zone"));
        let working_hours = cx.opt_hours(&r.working_hours, &format!("{path}.working_hours"));
        let mut channels = BTreeMap::new();
        for (platform, id) in r.channels.iter().flatten() {
            let field = format!("{path}.channels.{platform}");
            let p = platform.trim().to_ascii_lowercase();
            if !PLATFORMS.contains(&p.as_str()) {
                cx.err(
                    id.referenced,
                    &field,
                    format!(
                        "`{platform}` is not a chat platform; expected one of: {}",
                        PLATFORMS.join(", ")
                    ),
                );
            } else if let Some(id) = cx.text(id, &field) {
                channels.insert(p, id);
            }
        }
        let prompts_in_channel = r.prompts_in_channel.as_ref().is_some_and(|b| b.value);
        let mut cadences = Vec::new();
        for c in r.cadences.iter().flat_map(|c| c.value.0.iter()) {
            let cp = format!("{path}.cadences{}", c.path);
            let purpose = cx.req(&c.purpose, c.at, &cp, "purpose").and_then(|s| {
                let v = s.value.trim().to_ascii_lowercase();
                if PURPOSES.contains(&v.as_str()) {
                    Some(v)
                } else {
                    cx.err(
                        s.referenced,
                        &cp,
                        format!(
                            "`{}` is not a cadence purpose; expected one of: {}",
                            s.value.trim(),
                            PURPOSES.join(", ")
                        ),
                    );
                    None
                }
            });
            let rfield = if c.path.starts_with('[') {
                format!("{cp}.rule")
            } else {
                cp.clone()
            };
            let rule = match &c.rule {
                Some(s) => cx.cadence(s, &rfield),
                None => {
                    cx.err(c.at, &rfield, "missing required field `rule`");
                    None
                }
            };
            let layer = c.layer.as_ref().and_then(|s| {
                let v = s.value.trim().to_ascii_lowercase();
                if LAYERS.contains(&v.as_str()) {
                    Some(v)
                } else {
                    cx.err(
                        s.referenced,
                        &format!("{cp}.layer"),
                        format!(
                            "`{}` is not a cadence layer; expected one of: {}",
                            s.value.trim(),
                            LAYERS.join(", ")
                        ),
                    );
                    None
                }
            });
            if let (Some(purpose), Some(rule)) = (purpose, rule) {
                cadences.push(CadenceSpec {
                    purpose,
                    rule,
                    layer,
                });
            }
        }
        if let Some(k) = &key {
            let at = r.parent.as_ref().map_or(d.referenced, |s| s.referenced);
            dept_parents.push((k.clone(), parent.clone(), at, pfield));
        }
        if let (Some(key), Some(name)) = (key, name) {
            departments.push(DepartmentSpec {
                key,
                name,
                parent,
                heads,
                members,
                time_zone,
                channels,
                prompts_in_channel,
                cadences,
                working_hours,
            });
        }
    }
    check_parent_cycles(&mut cx, &dept_parents, "department");

    // Holidays.
    let mut holidays = Vec::new();
    for (i, h) in items(&raw.holidays).iter().enumerate() {
        let path = format!("holidays[{i}]");
        let date = cx
            .req(&h.value.date, h.referenced, &path, "date")
            .and_then(|s| cx.date(s, &format!("{path}.date")));
        let name = cx.req_text(&h.value.name, h.referenced, &path, "name");
        if let (Some(date), Some(name)) = (date, name) {
            holidays.push(Holiday { date, name });
        }
    }

    // Review agenda templates.
    let mut review_templates = std::collections::BTreeMap::new();
    if let Some(r) = &raw.reviews {
        for (tier, sections) in &r.value {
            let path = format!("reviews.{tier}");
            if !crate::domain::review::TIERS.contains(&tier.as_str()) {
                cx.err(
                    sections.referenced,
                    &path,
                    format!(
                        "`{tier}` is not a review tier; expected one of: {}",
                        crate::domain::review::TIERS.join(", ")
                    ),
                );
                continue;
            }
            let mut list = Vec::new();
            for s in &sections.value {
                if crate::domain::review::SECTIONS.contains(&s.value.as_str()) {
                    list.push(s.value.clone());
                } else {
                    cx.err(
                        s.referenced,
                        &path,
                        format!(
                            "`{}` is not an agenda section; expected one of: {}",
                            s.value,
                            crate::domain::review::SECTIONS.join(", ")
                        ),
                    );
                }
            }
            review_templates.insert(tier.clone(), list);
        }
    }

    // Scorecard objectives and measures.
    let mut scorecard = Vec::new();
    let mut measures = Vec::new();
    let mut links = Vec::new();
    if let Some(sc) = &raw.scorecard {
        for (i, o) in items(&sc.value.objectives).iter().enumerate() {
            let r = &o.value;
            let path = item_path("scorecard.objectives", &r.code, i);
            let code = silent_code(&r.code);
            let title = cx.req_text(&r.title, o.referenced, &path, "title");
            let pfield = format!("{path}.perspective");
            let perspective = cx
                .req(&r.perspective, o.referenced, &path, "perspective")
                .and_then(|s| {
                    let p = cx.parse_enum(s, &pfield, Perspective::parse)?;
                    if !enabled.contains(&p) {
                        let names: Vec<&str> = enabled.iter().map(|p| p.as_str()).collect();
                        cx.err(
                            s.referenced,
                            &pfield,
                            format!(
                                "perspective `{p}` is not enabled (enabled: {}); add it under \
                                 `perspectives`",
                                names.join(", ")
                            ),
                        );
                    }
                    Some(p)
                });
            let owner = cx.opt_key_ref(&r.owner, &format!("{path}.owner"), KeyKind::Person);
            let horizon_years = match &r.horizon {
                None => 1,
                Some(h) if (1..=10).contains(&h.value) => h.value as u32,
                Some(h) => {
                    cx.err(
                        h.referenced,
                        &format!("{path}.horizon"),
                        format!("the horizon is 1–10 years, got {}", h.value),
                    );
                    1
                }
            };
            let weight = cx.weight(&r.weight, &format!("{path}.weight"));
            if let (Some(code), Some(title), Some(perspective)) = (&code, title, perspective) {
                scorecard.push(ScorecardObjective {
                    code: code.clone(),
                    title,
                    perspective,
                    owner,
                    horizon_years,
                    weight,
                });
            }
            for (j, m) in items(&r.measures).iter().enumerate() {
                if let Some(spec) = measure(&mut cx, m, j, code.as_ref(), &path) {
                    measures.push(spec);
                }
            }
        }
        let mut seen_links: HashMap<(Code, Code), u64> = HashMap::new();
        for (i, l) in items(&sc.value.links).iter().enumerate() {
            let path = format!("scorecard.links[{i}]");
            let sc_only = [CodeKind::Scorecard];
            let what = "scorecard objective";
            let from = cx
                .req(&l.value.from, l.referenced, &path, "from")
                .and_then(|s| cx.code_ref(s, &format!("{path}.from"), &sc_only, what));
            let to = cx
                .req(&l.value.to, l.referenced, &path, "to")
                .and_then(|s| cx.code_ref(s, &format!("{path}.to"), &sc_only, what));
            let hypothesis = cx.req_text(&l.value.hypothesis, l.referenced, &path, "hypothesis");
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            if from == to {
                cx.err(
                    l.referenced,
                    &format!("{path}.to"),
                    format!("a link cannot go from `{from}` to itself"),
                );
                continue;
            }
            if let Some(first) = seen_links.get(&(from.clone(), to.clone())) {
                let msg = format!("duplicate link {from} → {to} (first at line {first})");
                cx.err(l.referenced, &path, msg);
                continue;
            }
            seen_links.insert((from.clone(), to.clone()), l.referenced.line());
            if let Some(hypothesis) = hypothesis {
                links.push(LinkSpec {
                    from,
                    to,
                    hypothesis,
                });
            }
        }
    }

    // OKR objectives and key results.
    let mut objectives = Vec::new();
    let mut key_results = Vec::new();
    let mut obj_parents = Vec::new();
    for (i, o) in items(&raw.objectives).iter().enumerate() {
        let r = &o.value;
        let path = item_path("objectives", &r.code, i);
        let code = silent_code(&r.code);
        let title = cx.req_text(&r.title, o.referenced, &path, "title");
        let level = cx
            .req(&r.level, o.referenced, &path, "level")
            .and_then(|s| cx.parse_enum(s, &format!("{path}.level"), Level::parse));
        let department = cx.opt_key_ref(
            &r.department,
            &format!("{path}.department"),
            KeyKind::Department,
        );
        if matches!(level, Some(Level::Department | Level::Team)) && r.department.is_none() {
            let at = r.level.as_ref().map_or(o.referenced, |s| s.referenced);
            cx.err(
                at,
                &format!("{path}.department"),
                format!(
                    "a {}-level objective needs `department`",
                    level.map_or("", |l| l.as_str())
                ),
            );
        }
        let owner = cx.opt_key_ref(&r.owner, &format!("{path}.owner"), KeyKind::Person);
        if level == Some(Level::Person) && r.owner.is_none() {
            cx.err(
                o.referenced,
                &format!("{path}.owner"),
                "a person-level objective needs `owner`",
            );
        }
        let cycle = cx
            .req(&r.cycle, o.referenced, &path, "cycle")
            .and_then(|s| cx.key_ref(s, &format!("{path}.cycle"), KeyKind::Cycle));
        let aligns_to = cx.code_refs(
            &r.aligns_to,
            &format!("{path}.aligns_to"),
            &[CodeKind::Scorecard],
            "scorecard objective",
        );
        let pfield = format!("{path}.parent");
        let parent = r.parent.as_ref().and_then(|s| {
            let p = cx.code_ref(s, &pfield, &[CodeKind::Objective], "OKR objective")?;
            if Some(&p) == code.as_ref() {
                cx.err(
                    s.referenced,
                    &pfield,
                    "an objective cannot be its own parent",
                );
                return None;
            }
            let parent_cycle = cx.objectives.get(&p).and_then(|info| info.cycle.clone());
            if let (Some(pc), Some(c)) = (&parent_cycle, &cycle)
                && pc != c
            {
                cx.err(
                    s.referenced,
                    &pfield,
                    format!("parent `{p}` is in cycle `{pc}`, but this objective is in `{c}`"),
                );
            }
            Some(p)
        });
        let weight = cx.weight(&r.weight, &format!("{path}.weight"));
        let include_children = r.include_children.as_ref().is_some_and(|b| b.value);
        if let Some(c) = &code {
            let at = r.parent.as_ref().map_or(o.referenced, |s| s.referenced);
            obj_parents.push((c.clone(), parent.clone(), at, pfield));
        }
        let span = cycle.as_ref().and_then(|c| cx.cycles.get(c).copied());
        for (j, k) in items(&r.key_results).iter().enumerate() {
            let cyc = cycle.as_ref().zip(span);
            if let Some(spec) = key_result(&mut cx, k, j, code.as_ref(), &path, cyc) {
                key_results.push(spec);
            }
        }
        if let (Some(code), Some(title), Some(level), Some(cycle)) = (code, title, level, cycle) {
            objectives.push(ObjectiveSpec {
                code,
                title,
                level,
                department,
                owner,
                cycle,
                aligns_to,
                parent,
                weight,
                include_children,
            });
        }
    }
    check_parent_cycles(&mut cx, &obj_parents, "objective");

    // Dependencies.
    let mut dependencies = Vec::new();
    for (i, d) in items(&raw.dependencies).iter().enumerate() {
        let r = &d.value;
        let path = item_path("dependencies", &r.key, i);
        let key = silent_key(&r.key);
        let description = cx.req_text(&r.description, d.referenced, &path, "description");
        let dependent = cx
            .req(&r.dependent, d.referenced, &path, "dependent")
            .and_then(|e| {
                dep_end(
                    &mut cx,
                    e,
                    &format!("{path}.dependent"),
                    &[CodeKind::Objective, CodeKind::KeyResult],
                    "objective or key result",
                )
            });
        let provider = cx
            .req(&r.provider, d.referenced, &path, "provider")
            .and_then(|e| {
                dep_end(
                    &mut cx,
                    e,
                    &format!("{path}.provider"),
                    &[
                        CodeKind::Objective,
                        CodeKind::KeyResult,
                        CodeKind::Initiative,
                    ],
                    "objective, key result or initiative",
                )
            });
        if let (Some((dd, _)), Some((pd, _)), Some(p)) = (&dependent, &provider, &r.provider)
            && dd == pd
        {
            let at = p
                .value
                .department
                .as_ref()
                .map_or(p.referenced, |s| s.referenced);
            cx.err(
                at,
                &format!("{path}.provider.department"),
                format!(
                    "dependent and provider are both `{dd}`; a dependency links two \
                     different departments"
                ),
            );
        }
        let importance = r.importance.as_ref().map_or(Some(Importance::Normal), |s| {
            cx.parse_enum(s, &format!("{path}.importance"), Importance::parse)
        });
        let needed_by = cx.opt_date(&r.needed_by, &format!("{path}.needed_by"));
        let cadence = cx.opt_cadence(&r.cadence, &format!("{path}.cadence"));
        if let (Some(key), Some(description), Some(dep), Some(prov), Some(importance)) =
            (key, description, dependent, provider, importance)
        {
            dependencies.push(DependencySpec {
                key,
                description,
                dependent_department: dep.0,
                dependent_ref: dep.1,
                provider_department: prov.0,
                provider_ref: prov.1,
                importance,
                needed_by,
                cadence,
            });
        }
    }

    // Initiatives.
    let mut initiatives = Vec::new();
    for (i, n) in items(&raw.initiatives).iter().enumerate() {
        let r = &n.value;
        let path = item_path("initiatives", &r.code, i);
        let code = silent_code(&r.code);
        let title = cx.req_text(&r.title, n.referenced, &path, "title");
        let owner = cx.opt_key_ref(&r.owner, &format!("{path}.owner"), KeyKind::Person);
        let departments = cx.key_refs(
            &r.departments,
            &format!("{path}.departments"),
            KeyKind::Department,
        );
        let objectives_ = cx.code_refs(
            &r.objectives,
            &format!("{path}.objectives"),
            &[CodeKind::Scorecard, CodeKind::Objective],
            "objective",
        );
        let measures_ = cx.code_refs(
            &r.measures,
            &format!("{path}.measures"),
            &[CodeKind::Measure],
            "measure",
        );
        let mut milestones = Vec::new();
        for (j, m) in items(&r.milestones).iter().enumerate() {
            let mp = format!("{path}.milestones[{j}]");
            let title = cx.req_text(&m.value.title, m.referenced, &mp, "title");
            let due = cx.opt_date(&m.value.due, &format!("{mp}.due"));
            let done = m.value.done.as_ref().is_some_and(|d| d.value);
            if let Some(title) = title {
                milestones.push(MilestoneSpec { title, due, done });
            }
        }
        if let (Some(code), Some(title)) = (code, title) {
            initiatives.push(InitiativeSpec {
                code,
                title,
                owner,
                departments,
                objectives: objectives_,
                measures: measures_,
                milestones,
            });
        }
    }

    // Cycles (already checked in pass 1).
    let cycles: Vec<CycleSpec> = items(&raw.cycles)
        .iter()
        .filter_map(|c| {
            let key = silent_key(&c.value.key)?;
            let (starts, ends) = *cx.cycles.get(&key)?;
            let name = c.value.key.as_ref().map(|s| s.value.trim().to_string());
            Some(CycleSpec {
                key,
                starts,
                ends,
                name,
            })
        })
        .collect();

    match org {
        Some(org) if cx.errs.is_empty() => Ok(OrgSpec {
            org,
            perspectives,
            people,
            departments,
            scorecard,
            measures,
            links,
            cycles,
            objectives,
            key_results,
            dependencies,
            initiatives,
            holidays,
            review_templates,
        }),
        _ => Err(cx.errs),
    }
}

fn dep_end(
    cx: &mut Cx,
    e: &S<RawEnd>,
    path: &str,
    allowed: &[CodeKind],
    what: &str,
) -> Option<(Key, Option<Code>)> {
    let dept = cx
        .req(&e.value.department, e.referenced, path, "department")
        .and_then(|s| cx.key_ref(s, &format!("{path}.department"), KeyKind::Department));
    let rfield = format!("{path}.ref");
    let reference = e
        .value
        .reference
        .as_ref()
        .and_then(|s| cx.code_ref(s, &rfield, allowed, what).map(|c| (c, s)));
    if let (Some(d), Some((c, s))) = (&dept, &reference) {
        let obj = cx.kr_objective.get(c).unwrap_or(c);
        let owner_dept = cx.objectives.get(obj).and_then(|o| o.department.clone());
        if let Some(od) = owner_dept
            && &od != d
        {
            cx.err(
                s.referenced,
                &rfield,
                format!("`{c}` belongs to department `{od}`, not `{d}`"),
            );
        }
    }
    Some((dept?, reference.map(|(c, _)| c)))
}

fn measure(
    cx: &mut Cx,
    m: &S<RawMeasure>,
    j: usize,
    objective: Option<&Code>,
    obj_path: &str,
) -> Option<MeasureSpec> {
    let r = &m.value;
    let path = if r.code.is_some() {
        item_path("measures", &r.code, j)
    } else {
        format!("{obj_path}.measures[{j}]")
    };
    let f = |name: &str| format!("{path}.{name}");
    let code = silent_code(&r.code);
    let title = cx.req_text(&r.title, m.referenced, &path, "title");
    let unit = cx.opt_text(&r.unit, &f("unit")).unwrap_or_default();
    let direction = cx
        .req(&r.direction, m.referenced, &path, "direction")
        .and_then(|s| cx.parse_enum(s, &f("direction"), Direction::parse));
    let baseline = cx.opt_num(&r.baseline, &f("baseline"));
    let target = cx.opt_num(&r.target, &f("target"));
    let red = cx
        .req(&r.red, m.referenced, &path, "red")
        .and_then(|s| cx.num(s, &f("red")));
    let lead_lag = r.lead_lag.as_ref().map_or(Some(LeadLag::Lag), |s| {
        cx.parse_enum(s, &f("type"), LeadLag::parse)
    });
    let source = cx.opt_text(&r.source, &f("source"));
    let cadence = cx.opt_cadence(&r.cadence, &f("cadence"));
    let owner = cx.opt_key_ref(&r.owner, &f("owner"), KeyKind::Person);
    let weight = cx.weight(&r.weight, &f("weight"));
    let mut band = None;
    let target = match direction? {
        Direction::Band => {
            band = match &r.band {
                Some(b) => cx.band(b, &f("band")),
                None => {
                    cx.err(
                        m.referenced,
                        &f("band"),
                        "a measure with `direction: band` needs `band: [low, high]`",
                    );
                    None
                }
            };
            if let (Some(red), Some(s)) = (red, &r.red)
                && red <= 0.0
            {
                cx.err(
                    s.referenced,
                    &f("red"),
                    "for `direction: band`, `red` is the distance outside the band at which \
                     attainment reaches 0 and must be positive",
                );
            }
            let (lo, hi) = band?;
            target.unwrap_or((lo + hi) / 2.0)
        }
        dir => {
            if let Some(b) = &r.band {
                cx.err(
                    b.referenced,
                    &f("band"),
                    "`band` is only used with `direction: band`",
                );
            }
            let Some(target) = target else {
                cx.err(
                    m.referenced,
                    &f("target"),
                    "missing required field `target`",
                );
                return None;
            };
            let red_ = red?;
            let at = r.red.as_ref().map_or(m.referenced, |s| s.referenced);
            if red_ == target {
                cx.err(
                    at,
                    &f("red"),
                    format!(
                        "the red threshold equals the target ({}); attainment needs a \
                         distance between them",
                        fmt_num(target)
                    ),
                );
            } else if dir == Direction::Up && red_ > target {
                cx.err(
                    at,
                    &f("red"),
                    format!(
                        "with `direction: up` the red threshold ({}) must be below the \
                         target ({})",
                        fmt_num(red_),
                        fmt_num(target)
                    ),
                );
            } else if dir == Direction::Down && red_ < target {
                cx.err(
                    at,
                    &f("red"),
                    format!(
                        "with `direction: down` the red threshold ({}) must be above the \
                         target ({})",
                        fmt_num(red_),
                        fmt_num(target)
                    ),
                );
            }
            target
        }
    };
    Some(MeasureSpec {
        code: code?,
        objective: objective?.clone(),
        title: title?,
        unit,
        direction: direction?,
        baseline,
        target,
        red: red?,
        band,
        lead_lag: lead_lag?,
        source,
        cadence,
        owner,
        weight,
    })
}

fn key_result(
    cx: &mut Cx,
    k: &S<RawKeyResult>,
    j: usize,
    objective: Option<&Code>,
    obj_path: &str,
    cycle: Option<(&Key, (NaiveDate, NaiveDate))>,
) -> Option<KeyResultSpec> {
    let r = &k.value;
    let path = if r.code.is_some() {
        item_path("key_results", &r.code, j)
    } else {
        format!("{obj_path}.key_results[{j}]")
    };
    let f = |name: &str| format!("{path}.{name}");
    let code = silent_code(&r.code);
    let title = cx.req_text(&r.title, k.referenced, &path, "title");
    let kind = r.kind.as_ref().map_or(Some(KrKind::Metric), |s| {
        cx.parse_enum(s, &f("kind"), KrKind::parse)
    });
    let unit = cx.opt_text(&r.unit, &f("unit")).unwrap_or_default();
    let start = cx.opt_num(&r.start, &f("start"));
    let target = cx.opt_num(&r.target, &f("target"));
    let low = cx.opt_num(&r.low, &f("low"));
    let high = cx.opt_num(&r.high, &f("high"));
    let weight = cx.weight(&r.weight, &f("weight"));
    let owner = cx.opt_key_ref(&r.owner, &f("owner"), KeyKind::Person);
    let due = cx.opt_date(&r.due, &f("due"));
    if let (Some(due), Some((ck, (s, e))), Some(ds)) = (due, cycle, &r.due)
        && (due < s || due > e)
    {
        cx.err(
            ds.referenced,
            &f("due"),
            format!("due date {due} is outside cycle `{ck}` ({s} to {e})"),
        );
    }
    let cadence = cx.opt_cadence(&r.cadence, &f("cadence"));
    let kind = kind?;
    let kname = kind.as_str();
    // Fields a kind does not use are errors, so a typo'd kind cannot silently drop data.
    let not_used = |cx: &mut Cx, v: Option<Location>, name: &str| {
        if let Some(at) = v {
            cx.err(
                at,
                &f(name),
                format!("`{name}` is not used by a {kname} key result"),
            );
        }
    };
    let loc = |v: &Num| v.as_ref().map(|s| s.referenced);
    let mut band = None;
    match kind {
        KrKind::Metric => {
            if r.start.is_none() {
                cx.err(
                    k.referenced,
                    &f("start"),
                    "a metric key result needs `start`",
                );
            }
            if r.target.is_none() {
                cx.err(
                    k.referenced,
                    &f("target"),
                    "a metric key result needs `target`",
                );
            }
            if let (Some(s), Some(t), Some(ts)) = (start, target, &r.target)
                && s == t
            {
                cx.err(
                    ts.referenced,
                    &f("target"),
                    format!(
                        "start and target are both {}; a metric key result must move from \
                         start to target",
                        fmt_num(t)
                    ),
                );
            }
        }
        KrKind::AtLeast | KrKind::AtMost => {
            if r.target.is_none() {
                cx.err(
                    k.referenced,
                    &f("target"),
                    format!("an {kname} key result needs `target` (the bound to hold)"),
                );
            }
            if let (Some(s), Some(t), Some(ss)) = (start, target, &r.start) {
                let bad = if kind == KrKind::AtLeast {
                    s >= t
                } else {
                    s <= t
                };
                if bad {
                    let side = if kind == KrKind::AtLeast {
                        "below"
                    } else {
                        "above"
                    };
                    cx.err(
                        ss.referenced,
                        &f("start"),
                        format!(
                            "for {kname}, `start` (where the score is 0) must be {side} the \
                             target ({})",
                            fmt_num(t)
                        ),
                    );
                }
            }
        }
        KrKind::Band => {
            not_used(cx, loc(&r.start), "start");
            not_used(cx, loc(&r.target), "target");
            band = match (&r.band, low, high) {
                (Some(b), None, None) => cx.band(b, &f("band")),
                (Some(b), _, _) => {
                    cx.err(
                        b.referenced,
                        &f("band"),
                        "give either `band: [low, high]` or `low` and `high`, not both",
                    );
                    None
                }
                (None, Some(lo), Some(hi)) => {
                    let at = r.low.as_ref().map_or(k.referenced, |s| s.referenced);
                    cx.band_order(lo, hi, at, &f("low"))
                }
                (None, _, _) => {
                    cx.err(
                        k.referenced,
                        &f("band"),
                        "a band key result needs `band: [low, high]` (or `low` and `high`)",
                    );
                    None
                }
            };
        }
        KrKind::Milestone => {
            not_used(cx, loc(&r.start), "start");
            not_used(cx, loc(&r.target), "target");
            not_used(cx, r.band.as_ref().map(|b| b.referenced), "band");
        }
        // A baseline is measured first; once its `target` (and optionally `start`) is set
        // it scores like a metric.
        KrKind::Baseline => {
            not_used(cx, r.band.as_ref().map(|b| b.referenced), "band");
            if r.target.is_none() {
                not_used(cx, loc(&r.start), "start");
            }
        }
    }
    if kind != KrKind::Band {
        not_used(cx, loc(&r.low), "low");
        not_used(cx, loc(&r.high), "high");
        if matches!(kind, KrKind::Metric | KrKind::AtLeast | KrKind::AtMost) {
            not_used(cx, r.band.as_ref().map(|b| b.referenced), "band");
        }
    }
    Some(KeyResultSpec {
        code: code?,
        objective: objective?.clone(),
        title: title?,
        kind,
        unit,
        start,
        target,
        band,
        weight,
        owner,
        due,
        cadence,
    })
}
