//! Calendar events, the ICS writer and rhythm suggestions (pure).
//!
//! Every declared cadence becomes a [`CalendarEvent`]: department cadences (check-ins,
//! digests, reviews, planning), the collection cadence of each measure, key-result cadence
//! overrides, and one coordination event per cross-department dependency — declared, or the
//! rhythm baton suggests ([`suggest_rhythm`]). [`upcoming`] expands them into instants with
//! the same engine the scheduler uses ([`CadenceRule::occurrences`] in local wall-clock
//! time, then [`to_instant`]), and [`ics`] writes them as an RFC 5545 feed whose
//! `VTIMEZONE`s are computed from chrono-tz, so a calendar app expands the same instants.
//!
//! Layer defaults (when the manifest names none): `checkin`/`digest` → operational;
//! `review` on the root department → strategic, on any other department → operational;
//! `planning` → tactical; `coordination` → coordination.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{DateTime, Duration, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};

use super::cadence::{CadenceRule, parse_rule, parse_rule_fy, to_instant};
pub use super::cadence::{default_layer, department_zone};
use super::model::{Importance, Key};
use super::org::{DependencySpec, OrgSpec};

/// One recurring event of the organisation's rhythm.
#[derive(Debug, Clone, PartialEq)]
pub struct CalendarEvent {
    /// Stable across feeds: `department.sales.checkin@northwind.baton`.
    pub uid: String,
    /// `Sales check-in`.
    pub summary: String,
    pub description: String,
    /// `checkin`, `digest`, `review`, `planning` or `coordination`.
    pub purpose: String,
    /// `strategic`, `tactical`, `operational` or `coordination`.
    pub layer: String,
    /// The department the event belongs to (a dependency's: the dependent department).
    pub department: Option<Key>,
    pub rule: CadenceRule,
    /// The zone the rule's wall-clock times are read in.
    pub tz: Tz,
    pub duration_minutes: u32,
    /// Departments involved beyond `department` (a dependency's provider).
    pub also: Vec<Key>,
    /// A rhythm baton suggests rather than one the manifest declares.
    pub suggested: bool,
}

fn purpose_label(purpose: &str) -> &str {
    match purpose {
        "checkin" => "check-in",
        other => other,
    }
}

fn default_duration(purpose: &str) -> u32 {
    match purpose {
        "checkin" | "digest" => 15,
        "review" => 60,
        "planning" => 120,
        _ => 30,
    }
}

fn department_name(spec: &OrgSpec, dept: &Key) -> String {
    spec.departments
        .iter()
        .find(|d| &d.key == dept)
        .map(|d| d.name.clone())
        .unwrap_or_else(|| dept.to_string())
}

/// Every recurring event the organisation declares (and the suggested coordination rhythms).
pub fn events(spec: &OrgSpec) -> Vec<CalendarEvent> {
    let org = spec.org.key.as_str();
    // Quarterly, half-yearly and yearly presets follow the fiscal year.
    let fy = spec.org.fiscal_year_start;
    let mut out = Vec::new();
    let mut uids = BTreeSet::new();
    let mut uid = |base: String| {
        let mut candidate = format!("{base}@{org}.baton");
        let mut n = 2;
        while !uids.insert(candidate.clone()) {
            candidate = format!("{base}-{n}@{org}.baton");
            n += 1;
        }
        candidate
    };
    for d in &spec.departments {
        for c in &d.cadences {
            let Ok(rule) = parse_rule_fy(&c.rule, fy) else {
                continue;
            };
            let layer = c
                .layer
                .clone()
                .unwrap_or_else(|| default_layer(&c.purpose, d.parent.is_none()).into());
            out.push(CalendarEvent {
                uid: uid(format!("department.{}.{}", d.key, c.purpose)),
                summary: format!("{} {}", d.name, purpose_label(&c.purpose)),
                description: format!(
                    "{} {} ({layer} layer), `{}`, {} time.",
                    d.name,
                    purpose_label(&c.purpose),
                    c.rule,
                    department_zone(spec, &d.key)
                ),
                purpose: c.purpose.clone(),
                layer,
                department: Some(d.key.clone()),
                tz: department_zone(spec, &d.key),
                duration_minutes: default_duration(&c.purpose),
                rule,
                also: Vec::new(),
                suggested: false,
            });
        }
    }
    for m in &spec.measures {
        let Some(text) = &m.cadence else { continue };
        let Ok(rule) = parse_rule_fy(text, fy) else {
            continue;
        };
        let dept = m
            .owner
            .as_ref()
            .and_then(|o| super::org::home_department(spec, o.as_str()))
            .cloned();
        let tz = dept
            .as_ref()
            .map(|d| department_zone(spec, d))
            .unwrap_or(spec.org.time_zone);
        out.push(CalendarEvent {
            uid: uid(format!("measure.{}", m.code.as_str().to_ascii_lowercase())),
            summary: format!("Collect {} {}", m.code, m.title),
            description: format!(
                "Scorecard measure {} “{}” ({}): {} posts the latest figure. `{text}`.",
                m.code,
                m.title,
                m.source.as_deref().unwrap_or("no source named"),
                m.owner.as_ref().map(|o| o.as_str()).unwrap_or("the owner"),
            ),
            purpose: "checkin".into(),
            layer: "operational".into(),
            department: dept,
            tz,
            duration_minutes: default_duration("checkin"),
            rule,
            also: Vec::new(),
            suggested: false,
        });
    }
    for k in &spec.key_results {
        let Some(text) = &k.cadence else { continue };
        let Ok(rule) = parse_rule_fy(text, fy) else {
            continue;
        };
        let dept = super::org::kr_department(spec, k).cloned();
        let tz = dept
            .as_ref()
            .map(|d| department_zone(spec, d))
            .unwrap_or(spec.org.time_zone);
        out.push(CalendarEvent {
            uid: uid(format!(
                "key-result.{}",
                k.code.as_str().to_ascii_lowercase()
            )),
            summary: format!("Check in {} {}", k.code, k.title),
            description: format!(
                "Key result {} “{}” has its own cadence, `{text}` (overrides the department's).",
                k.code, k.title
            ),
            purpose: "checkin".into(),
            layer: "operational".into(),
            department: dept,
            tz,
            duration_minutes: default_duration("checkin"),
            rule,
            also: Vec::new(),
            suggested: false,
        });
    }
    for dep in &spec.dependencies {
        let dependent = department_name(spec, &dep.dependent_department);
        let provider = department_name(spec, &dep.provider_department);
        let (rule_text, suggested, extra) = match &dep.cadence {
            Some(c) => (c.clone(), false, String::new()),
            None => {
                let s = suggest_rhythm(spec, dep);
                (
                    s.rule,
                    true,
                    format!(
                        " Suggested rhythm (not declared): {}. Why: {}",
                        s.summary, s.why
                    ),
                )
            }
        };
        let Ok(rule) = parse_rule_fy(&rule_text, fy) else {
            continue;
        };
        out.push(CalendarEvent {
            uid: uid(format!("dependency.{}", dep.key)),
            summary: format!(
                "{dependent} ↔ {provider} coordination{}",
                if suggested { " (suggested)" } else { "" }
            ),
            description: format!(
                "Dependency {} ({} importance): {}.{extra}",
                dep.key,
                dep.importance.as_str(),
                dep.description.trim_end_matches('.')
            ),
            purpose: "coordination".into(),
            layer: "coordination".into(),
            department: Some(dep.dependent_department.clone()),
            tz: department_zone(spec, &dep.dependent_department),
            duration_minutes: default_duration("coordination"),
            rule,
            also: vec![dep.provider_department.clone()],
            suggested,
        });
    }
    out
}

/// The events that concern one department: its own, the dependencies it is part of, and the
/// strategic and tactical synchronisation points of the departments above it.
pub fn department_events(
    spec: &OrgSpec,
    events: &[CalendarEvent],
    dept: &Key,
) -> Vec<CalendarEvent> {
    let mut ancestors = BTreeSet::new();
    let mut cur = spec
        .departments
        .iter()
        .find(|d| &d.key == dept)
        .and_then(|d| d.parent.clone());
    while let Some(k) = cur {
        if !ancestors.insert(k.clone()) {
            break;
        }
        cur = spec
            .departments
            .iter()
            .find(|d| d.key == k)
            .and_then(|d| d.parent.clone());
    }
    events
        .iter()
        .filter(|e| {
            e.department.as_ref() == Some(dept)
                || e.also.contains(dept)
                || (matches!(e.layer.as_str(), "strategic" | "tactical")
                    && e.department.as_ref().is_some_and(|d| ancestors.contains(d)))
        })
        .cloned()
        .collect()
}

/// Occurrences of `events` at or after `from` and before `until`, in time order.
pub fn upcoming(
    events: &[CalendarEvent],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, &CalendarEvent)> {
    let mut out = Vec::new();
    for e in events {
        // A day of margin either side covers every UTC offset; the instants are then cut.
        let lo = from.with_timezone(&e.tz).naive_local() - Duration::days(1);
        let hi = until.with_timezone(&e.tz).naive_local() + Duration::days(1);
        for local in e.rule.occurrences(lo, hi, u16::MAX) {
            let t = to_instant(local, e.tz);
            if t >= from && t < until {
                out.push((t, e));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.uid.cmp(&b.1.uid)));
    out
}

/// The next occurrence of one event strictly after `after` (within ~2 years).
pub fn next_occurrence(event: &CalendarEvent, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let mut local = after.with_timezone(&event.tz).naive_local() - Duration::days(1);
    for _ in 0..4 {
        let found = event
            .rule
            .occurrences(local, local + Duration::days(800), 64);
        if let Some(t) = found
            .iter()
            .map(|l| to_instant(*l, event.tz))
            .find(|t| *t > after)
        {
            return Some(t);
        }
        match found.last() {
            Some(l) => local = *l,
            None => return None,
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Rhythm suggestion

/// A coordination rhythm baton proposes for a dependency that declares none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RhythmSuggestion {
    /// A preset [`parse_rule`] accepts, read in the dependent department's zone.
    pub rule: String,
    /// `Product posts a readiness update every 2 weeks; Sales gives feedback weekly`.
    pub summary: String,
    /// Both rhythms and the importance, in plain words.
    pub why: String,
}

/// A department's check-in rhythm in days, and where it comes from (walking up parents).
fn checkin_period(spec: &OrgSpec, dept: &Key) -> Option<(i64, String, Option<Key>)> {
    let mut cur = Some(dept.clone());
    let mut seen = BTreeSet::new();
    while let Some(k) = cur {
        if !seen.insert(k.clone()) {
            break;
        }
        let d = spec.departments.iter().find(|d| d.key == k)?;
        if let Some(c) = d.cadences.iter().find(|c| c.purpose == "checkin")
            && let Ok(rule) = parse_rule(&c.rule)
        {
            let from = (&d.key != dept).then(|| d.key.clone());
            return Some((rule.nominal_period().num_days(), c.rule.clone(), from));
        }
        cur = d.parent.clone();
    }
    None
}

/// `weekly`, `every 2 weeks`, `monthly`… for a period in days.
pub fn rhythm_words(days: i64) -> String {
    match days {
        1 => "daily".into(),
        7 => "weekly".into(),
        30 | 31 => "monthly".into(),
        90 => "quarterly".into(),
        365 => "yearly".into(),
        d if d % 365 == 0 => format!("every {} years", d / 365),
        d if d % 30 == 0 => format!("every {} months", d / 30),
        d if d % 7 == 0 => format!("every {} weeks", d / 7),
        d => format!("every {d} days"),
    }
}

/// A working hour (in the dependent department's zone) that is also inside the provider's
/// working day, when there is one; 16:00 otherwise.
fn shared_hour(dependent: Tz, provider: Tz) -> u32 {
    let reference = Utc.with_ymd_and_hms(2024, 1, 3, 12, 0, 0).single();
    let Some(reference) = reference else {
        return 16;
    };
    let off = |tz: Tz| {
        i64::from(
            tz.offset_from_utc_datetime(&reference.naive_utc())
                .fix()
                .local_minus_utc(),
        )
    };
    let shift = (off(provider) - off(dependent)) / 3600;
    let mut best = (i64::MAX, 16);
    for h in 9..=16i64 {
        let ph = (h + shift).rem_euclid(24);
        let miss = if (9..=16).contains(&ph) {
            0
        } else {
            (ph - 9).abs().min((ph - 16).abs())
        };
        // Prefer afternoons (after the morning check-ins) among equally good hours.
        let score = miss * 100 + (16 - h).abs();
        if score < best.0 {
            best = (score, h as u32);
        }
    }
    best.1
}

/// Proposes a coordination rhythm from both departments' check-in rhythms and the
/// dependency's importance: critical → at least weekly; high → the faster of the two
/// rhythms; normal → the slower one, but at least monthly. Coordination is never more
/// often than weekly (daily rhythms are what check-ins are for), and it meets on
/// Wednesdays, clear of Monday check-ins and Friday digests, at an hour inside both
/// departments' working day where possible.
pub fn suggest_rhythm(spec: &OrgSpec, dep: &DependencySpec) -> RhythmSuggestion {
    let dependent = department_name(spec, &dep.dependent_department);
    let provider = department_name(spec, &dep.provider_department);
    let describe = |name: &str, found: &Option<(i64, String, Option<Key>)>| match found {
        Some((days, rule, None)) => format!("{name} checks in {} (`{rule}`)", rhythm_words(*days)),
        Some((days, rule, Some(from))) => format!(
            "{name} checks in {} (`{rule}`, inherited from {})",
            rhythm_words(*days),
            department_name(spec, from)
        ),
        None => format!("{name} declares no check-in rhythm (taken as monthly)"),
    };
    let p = checkin_period(spec, &dep.provider_department);
    let d = checkin_period(spec, &dep.dependent_department);
    let pdays = p.as_ref().map(|x| x.0).unwrap_or(30);
    let ddays = d.as_ref().map(|x| x.0).unwrap_or(30);
    let (target, reason) = match dep.importance {
        Importance::Critical => (
            pdays.min(ddays).min(7),
            "critical, so they coordinate at least weekly",
        ),
        Importance::High => (
            pdays.min(ddays),
            "high, so they coordinate at the faster of the two rhythms",
        ),
        Importance::Normal => (
            pdays.max(ddays).min(30),
            "normal, so the slower rhythm is enough (but at least monthly)",
        ),
    };
    let (dz, pz) = (
        department_zone(spec, &dep.dependent_department),
        department_zone(spec, &dep.provider_department),
    );
    let hour = shared_hour(dz, pz);
    let (rule, meet) = if target <= 10 {
        (format!("weekly on wed at {hour:02}:00"), "weekly")
    } else if target <= 21 {
        (
            format!("biweekly on wed at {hour:02}:00 from 2024-01-03"),
            "every 2 weeks",
        )
    } else {
        (format!("monthly on second wed at {hour:02}:00"), "monthly")
    };
    // Each side keeps its own pace between meetings: the provider reports readiness at its
    // rhythm, the dependent answers at its own (both between weekly and monthly).
    let ppace = rhythm_words(pdays.clamp(7, 30));
    let dpace = rhythm_words(ddays.clamp(7, 30));
    let summary = if ppace == dpace {
        format!("{provider} and {dependent} meet {meet} to check readiness and feedback")
    } else {
        format!(
            "{provider} posts a readiness update {ppace}; {dependent} gives feedback {dpace}; they meet {meet}"
        )
    };
    let mut why = format!(
        "{}; {}. The dependency is {}.",
        describe(&provider, &p),
        describe(&dependent, &d),
        reason
    );
    if let Some(n) = dep.needed_by {
        let _ = write!(why, " Needed by {n}.");
    }
    let _ = write!(why, " Meeting time {hour:02}:00 {dz}");
    if pz != dz {
        let local = Utc
            .with_ymd_and_hms(2024, 1, 3, 12, 0, 0)
            .single()
            .and_then(|d| d.date_naive().and_hms_opt(hour, 0, 0))
            .map(|l| {
                to_instant(l, dz)
                    .with_timezone(&pz)
                    .format("%H:%M")
                    .to_string()
            });
        if let Some(l) = local {
            let _ = write!(why, " ({l} {pz} in winter)");
        }
    }
    why.push('.');
    RhythmSuggestion { rule, summary, why }
}

// ---------------------------------------------------------------------------------------
// ICS (RFC 5545)

/// Escapes a TEXT value: backslash, `;`, `,` and newlines.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds one content line at 75 octets (never inside a UTF-8 character) and ends it with
/// CRLF; continuation lines start with a space.
pub fn fold_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

/// The first occurrence at or after the rule's anchor: a DTSTART that is itself an instance.
pub fn first_occurrence(rule: &CadenceRule) -> Option<NaiveDateTime> {
    rule.next_after(rule.anchor - Duration::seconds(1))
}

/// A UTC-offset change of a zone: the instant and the offsets (seconds) either side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub at: DateTime<Utc>,
    pub from: i32,
    pub to: i32,
    /// Daylight time after the change.
    pub dst: bool,
    pub name: Option<String>,
}

fn offset_at(tz: Tz, t: DateTime<Utc>) -> (i32, bool, Option<String>) {
    let o = tz.offset_from_utc_datetime(&t.naive_utc());
    (
        o.fix().local_minus_utc(),
        !o.dst_offset().is_zero(),
        o.abbreviation().map(str::to_string),
    )
}

/// Offset changes of `tz` in `[from, until)`, found by scanning daily and bisecting each
/// change to the second.
pub fn transitions(tz: Tz, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Transition> {
    let mut out = Vec::new();
    let mut t = from;
    let mut cur = offset_at(tz, t);
    while t < until {
        let next = (t + Duration::hours(12)).min(until);
        let o = offset_at(tz, next);
        if o.0 != cur.0 || o.1 != cur.1 {
            // Whole seconds: `lo` still has the old offset, `hi` the new one.
            let (mut lo, mut hi) = (t.timestamp(), next.timestamp());
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                let m = offset_at(tz, DateTime::from_timestamp(mid, 0).unwrap_or(t));
                if m.0 == cur.0 && m.1 == cur.1 {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let at = DateTime::from_timestamp(hi, 0).unwrap_or(next);
            let after = offset_at(tz, at);
            out.push(Transition {
                at,
                from: cur.0,
                to: after.0,
                dst: after.1,
                name: after.2.clone(),
            });
            cur = after;
        }
        t = next;
    }
    out
}

fn fmt_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, (a % 3600) / 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

fn fmt_local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

/// One `VTIMEZONE` for `tz` valid from `from` to `until`: an opening observance with the
/// offset in force at `from`, then one `STANDARD`/`DAYLIGHT` per change.
pub fn vtimezone(tz: Tz, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<String> {
    let mut lines = vec!["BEGIN:VTIMEZONE".to_string(), format!("TZID:{}", tz.name())];
    let (off, dst, name) = offset_at(tz, from);
    let kind = |dst: bool| if dst { "DAYLIGHT" } else { "STANDARD" };
    let push = |lines: &mut Vec<String>,
                dst: bool,
                start: NaiveDateTime,
                f: i32,
                t: i32,
                name: &Option<String>| {
        lines.push(format!("BEGIN:{}", kind(dst)));
        lines.push(format!("DTSTART:{}", fmt_local(start)));
        lines.push(format!("TZOFFSETFROM:{}", fmt_offset(f)));
        lines.push(format!("TZOFFSETTO:{}", fmt_offset(t)));
        if let Some(n) = name {
            lines.push(format!("TZNAME:{}", escape_text(n)));
        }
        lines.push(format!("END:{}", kind(dst)));
    };
    let opening = (from + Duration::seconds(i64::from(off))).naive_utc();
    push(&mut lines, dst, opening, off, off, &name);
    for tr in transitions(tz, from, until) {
        // The onset is written in the local time in force before it.
        let local = (tr.at + Duration::seconds(i64::from(tr.from))).naive_utc();
        push(&mut lines, tr.dst, local, tr.from, tr.to, &tr.name);
    }
    lines.push("END:VTIMEZONE".into());
    lines
}

/// The RFC 5545 feed: one `VTIMEZONE` per zone used (transitions from the earliest
/// `DTSTART`, or a year before `now`, to three years after `now`) and one `VEVENT` per event.
pub fn ics(org_name: &str, org_key: &str, events: &[CalendarEvent], now: DateTime<Utc>) -> String {
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        format!("PRODID:-//baton//{}//EN", escape_text(org_key)),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        format!(
            "X-WR-CALNAME:{}",
            escape_text(&format!("{org_name} rhythm"))
        ),
    ];
    let starts: Vec<(Option<NaiveDateTime>, &CalendarEvent)> = events
        .iter()
        .map(|e| (first_occurrence(&e.rule), e))
        .collect();
    let mut zones: BTreeMap<&str, (Tz, DateTime<Utc>)> = BTreeMap::new();
    let default_from = now - Duration::days(366);
    for (start, e) in &starts {
        let Some(start) = start else { continue };
        let at = to_instant(*start, e.tz) - Duration::days(1);
        let entry = zones.entry(e.tz.name()).or_insert((e.tz, default_from));
        entry.1 = entry.1.min(at);
    }
    let until = now + Duration::days(3 * 366);
    for (tz, from) in zones.values() {
        lines.extend(vtimezone(*tz, *from, until));
    }
    let stamp = now.format("%Y%m%dT%H%M%SZ").to_string();
    for (start, e) in &starts {
        let Some(start) = start else { continue };
        lines.push("BEGIN:VEVENT".into());
        lines.push(format!("UID:{}", escape_text(&e.uid)));
        lines.push(format!("DTSTAMP:{stamp}"));
        lines.push(format!(
            "DTSTART;TZID={}:{}",
            e.tz.name(),
            fmt_local(*start)
        ));
        lines.push(format!("DURATION:PT{}M", e.duration_minutes));
        lines.push(format!("RRULE:{}", e.rule.rrule));
        lines.push(format!("SUMMARY:{}", escape_text(&e.summary)));
        lines.push(format!("DESCRIPTION:{}", escape_text(&e.description)));
        lines.push(format!("CATEGORIES:{}", escape_text(&e.layer)));
        if e.suggested {
            lines.push("STATUS:TENTATIVE".into());
        }
        lines.push("END:VEVENT".into());
    }
    lines.push("END:VCALENDAR".into());
    lines.iter().map(|l| fold_line(l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
    }

    fn tz(name: &str) -> Tz {
        name.parse().unwrap()
    }

    fn example() -> OrgSpec {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("manifests/example-org.yaml");
        crate::manifest::load_manifest(&path).expect("example manifest")
    }

    /// A two-department organisation with the given check-in rules (None: no check-in).
    fn pair(provider: Option<&str>, dependent: Option<&str>, importance: &str) -> OrgSpec {
        let cad = |r: Option<&str>| match r {
            Some(r) => format!("\n    cadences: {{ checkin: \"{r}\" }}"),
            None => String::new(),
        };
        let yaml = format!(
            "organisation: {{ key: acme, name: Acme, time_zone: Europe/London }}
departments:
  - key: company
    name: Acme
    cadences: {{ checkin: weekly on thu at 09:00 }}
  - key: eng
    name: Engineering
    parent: company
    time_zone: Europe/Berlin{}
  - key: sales
    name: Sales
    parent: company
    time_zone: America/New_York{}
dependencies:
  - key: dep
    description: Sales needs a feature
    dependent: {{ department: sales }}
    provider: {{ department: eng }}
    importance: {importance}
",
            cad(provider),
            cad(dependent)
        );
        crate::manifest::parse_manifest("pair.yaml", &yaml).expect("valid manifest")
    }

    fn suggest(
        provider: Option<&str>,
        dependent: Option<&str>,
        importance: &str,
    ) -> RhythmSuggestion {
        let spec = pair(provider, dependent, importance);
        let s = suggest_rhythm(&spec, &spec.dependencies[0]);
        parse_rule(&s.rule).expect("the suggestion is a valid preset");
        s
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(escape_text("plain: text"), "plain: text");
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let line = format!("DESCRIPTION:{}", "Grüße, Käse — ünd mehr; ".repeat(12));
        let folded = fold_line(&line);
        assert!(folded.ends_with("\r\n"));
        let physical: Vec<&str> = folded.trim_end_matches("\r\n").split("\r\n").collect();
        assert!(physical.len() > 3);
        for (i, p) in physical.iter().enumerate() {
            assert!(p.len() <= 75, "line {i} has {} octets", p.len());
            if i > 0 {
                assert!(p.starts_with(' '));
            }
        }
        // Unfolding (drop CRLF + one space) gives the line back.
        assert_eq!(folded.trim_end_matches("\r\n").replace("\r\n ", ""), line);
        // Short lines are left alone.
        assert_eq!(fold_line("VERSION:2.0"), "VERSION:2.0\r\n");
        // Exactly 75 octets: no fold; 76: one fold.
        assert_eq!(fold_line(&"x".repeat(75)).matches("\r\n").count(), 1);
        assert_eq!(fold_line(&"x".repeat(76)).matches("\r\n").count(), 2);
    }

    /// The (DTSTART, TZOFFSETFROM, TZOFFSETTO) of each sub-component after the opening one.
    fn onsets(lines: &[String]) -> Vec<(String, String, String, String)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < lines.len() {
            if let Some(kind) = lines[i].strip_prefix("BEGIN:")
                && (kind == "STANDARD" || kind == "DAYLIGHT")
            {
                let field = |k: &str| {
                    lines[i..]
                        .iter()
                        .find_map(|l| l.strip_prefix(k))
                        .unwrap()
                        .to_string()
                };
                out.push((
                    kind.to_string(),
                    field("DTSTART:"),
                    field("TZOFFSETFROM:"),
                    field("TZOFFSETTO:"),
                ));
            }
            i += 1;
        }
        out
    }

    fn o(k: &str, s: &str, f: &str, t: &str) -> (String, String, String, String) {
        (k.into(), s.into(), f.into(), t.into())
    }

    #[test]
    fn vtimezone_for_berlin() {
        let lines = vtimezone(
            tz("Europe/Berlin"),
            utc(2026, 1, 1, 0, 0),
            utc(2027, 1, 1, 0, 0),
        );
        assert_eq!(lines[1], "TZID:Europe/Berlin");
        assert_eq!(
            onsets(&lines),
            [
                o("STANDARD", "20260101T010000", "+0100", "+0100"),
                o("DAYLIGHT", "20260329T020000", "+0100", "+0200"),
                o("STANDARD", "20261025T030000", "+0200", "+0100"),
            ]
        );
        assert!(lines.contains(&"TZNAME:CEST".to_string()));
        let t = transitions(
            tz("Europe/Berlin"),
            utc(2026, 1, 1, 0, 0),
            utc(2027, 1, 1, 0, 0),
        );
        assert_eq!(t[0].at, utc(2026, 3, 29, 1, 0));
        assert_eq!(t[1].at, utc(2026, 10, 25, 1, 0));
    }

    #[test]
    fn vtimezone_for_new_york() {
        let lines = vtimezone(
            tz("America/New_York"),
            utc(2026, 1, 1, 0, 0),
            utc(2027, 1, 1, 0, 0),
        );
        assert_eq!(
            onsets(&lines),
            [
                o("STANDARD", "20251231T190000", "-0500", "-0500"),
                o("DAYLIGHT", "20260308T020000", "-0500", "-0400"),
                o("STANDARD", "20261101T020000", "-0400", "-0500"),
            ]
        );
        assert!(lines.contains(&"TZNAME:EDT".to_string()));
        assert!(lines.contains(&"TZNAME:EST".to_string()));
    }

    #[test]
    fn vtimezone_for_sydney_is_upside_down() {
        let lines = vtimezone(
            tz("Australia/Sydney"),
            utc(2026, 1, 1, 0, 0),
            utc(2027, 1, 1, 0, 0),
        );
        assert_eq!(
            onsets(&lines),
            [
                o("DAYLIGHT", "20260101T110000", "+1100", "+1100"),
                o("STANDARD", "20260405T030000", "+1100", "+1000"),
                o("DAYLIGHT", "20261004T020000", "+1000", "+1100"),
            ]
        );
    }

    #[test]
    fn vtimezone_without_daylight_saving_has_one_standard() {
        for name in ["UTC", "Asia/Tokyo", "Asia/Kolkata"] {
            let lines = vtimezone(tz(name), utc(2025, 1, 1, 0, 0), utc(2029, 1, 1, 0, 0));
            let on = onsets(&lines);
            assert_eq!(on.len(), 1, "{name}: {on:?}");
            assert_eq!(on[0].0, "STANDARD");
            assert_eq!(on[0].2, on[0].3);
        }
        assert_eq!(fmt_offset(19800), "+0530");
        assert_eq!(fmt_offset(-12600), "-0330");
    }

    #[test]
    fn default_layers() {
        let spec = example();
        let evs = events(&spec);
        let layer = |uid: &str| {
            evs.iter()
                .find(|e| e.uid == format!("{uid}@northwind.baton"))
                .map(|e| e.layer.as_str())
                .unwrap_or_else(|| panic!("no event {uid}"))
        };
        assert_eq!(layer("department.company.review"), "strategic");
        assert_eq!(layer("department.company.planning"), "tactical");
        assert_eq!(layer("department.company.digest"), "operational");
        assert_eq!(layer("department.sales.checkin"), "operational");
        assert_eq!(layer("department.sales.review"), "operational");
        assert_eq!(layer("department.success.planning"), "tactical");
        assert_eq!(layer("measure.f1.m1"), "operational");
        assert_eq!(layer("key-result.pr-k3"), "operational");
        assert_eq!(layer("dependency.sales-needs-sso"), "coordination");
        assert_eq!(default_layer("review", true), "strategic");
        assert_eq!(default_layer("review", false), "operational");
        assert_eq!(default_layer("coordination", false), "coordination");
        // UIDs are unique, zones walk up, summaries read well.
        let uids: BTreeSet<&str> = evs.iter().map(|e| e.uid.as_str()).collect();
        assert_eq!(uids.len(), evs.len());
        let sales = evs
            .iter()
            .find(|e| e.uid.starts_with("department.sales.checkin"))
            .unwrap();
        assert_eq!(sales.summary, "Sales check-in");
        assert_eq!(sales.tz, tz("America/New_York"));
        // F1.M1 is owned by hannah (finance, London); P2.M1 by nina (support, Sydney).
        let m = evs
            .iter()
            .find(|e| e.uid.starts_with("measure.p2.m1"))
            .unwrap();
        assert_eq!(m.tz, tz("Australia/Sydney"));
        assert_eq!(m.department.as_ref().map(Key::as_str), Some("support"));
        let sso = evs
            .iter()
            .find(|e| e.uid.starts_with("dependency.sales-needs-sso"))
            .unwrap();
        assert!(sso.suggested && sso.description.contains("Suggested"));
        let wiz = evs
            .iter()
            .find(|e| e.uid.starts_with("dependency.success-needs-wizard"))
            .unwrap();
        assert!(!wiz.suggested);
    }

    #[test]
    fn upcoming_is_sorted_and_in_range() {
        let spec = example();
        let evs = events(&spec);
        let from = utc(2026, 11, 16, 12, 0);
        let until = utc(2026, 11, 30, 12, 0);
        let got = upcoming(&evs, from, until);
        assert!(got.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(got.iter().all(|(t, _)| *t >= from && *t < until));
        // Sales check-in: Mondays 09:00 New York = 14:00 UTC.
        let sales: Vec<DateTime<Utc>> = got
            .iter()
            .filter(|(_, e)| e.uid.starts_with("department.sales.checkin"))
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(sales, [utc(2026, 11, 16, 14, 0), utc(2026, 11, 23, 14, 0)]);
        // The yearly strategic review's next occurrence is in January.
        let review = evs.iter().find(|e| e.layer == "strategic").unwrap();
        assert_eq!(next_occurrence(review, from), Some(utc(2027, 1, 12, 15, 0)));
    }

    #[test]
    fn feed_starts_each_event_on_an_occurrence() {
        let spec = example();
        let evs = events(&spec);
        let feed = ics(
            "Northwind, Cloud",
            "northwind",
            &evs,
            utc(2026, 11, 16, 12, 0),
        );
        assert!(feed.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(feed.ends_with("END:VCALENDAR\r\n"));
        assert!(feed.contains("X-WR-CALNAME:Northwind\\, Cloud rhythm\r\n"));
        assert!(!feed.replace("\r\n", "").contains('\n'));
        assert_eq!(feed.matches("BEGIN:VEVENT").count(), evs.len());
        for zone in [
            "Europe/London",
            "Europe/Berlin",
            "America/New_York",
            "Australia/Sydney",
        ] {
            assert_eq!(
                feed.matches(&format!("TZID:{zone}\r\n")).count(),
                1,
                "{zone}"
            );
        }
        // Biweekly product check-in from 2026-01-05 at 09:00: DTSTART is that first Monday.
        assert!(feed.contains("DTSTART;TZID=Europe/Berlin:20260105T090000\r\n"));
        // Daily weekday check-ins anchored on 2024-01-01 (a Monday) start that day at 08:30.
        assert!(feed.contains("DTSTART;TZID=Australia/Sydney:20240101T083000\r\n"));
        for e in &evs {
            let first = first_occurrence(&e.rule).unwrap();
            assert!(first >= e.rule.anchor);
            assert_eq!(
                e.rule.occurrences(first - Duration::seconds(1), first, 1),
                vec![first]
            );
        }
    }

    #[test]
    fn suggestion_for_sales_and_product() {
        let spec = example();
        let dep = spec
            .dependencies
            .iter()
            .find(|d| d.key.as_str() == "sales-needs-sso")
            .unwrap();
        let s = suggest_rhythm(&spec, dep);
        assert_eq!(
            s.summary,
            "Product posts a readiness update every 2 weeks; Sales gives feedback weekly; they meet weekly"
        );
        // 10:00 in New York is 16:00 in Berlin: inside both working days.
        assert_eq!(s.rule, "weekly on wed at 10:00");
        assert!(
            s.why.contains("Product checks in every 2 weeks"),
            "{}",
            s.why
        );
        assert!(s.why.contains("Sales checks in weekly"), "{}", s.why);
        assert!(s.why.contains("critical"), "{}", s.why);
        assert!(s.why.contains("Needed by 2026-11-30"), "{}", s.why);
        assert!(
            s.why
                .contains("Meeting time 10:00 America/New_York (16:00 Europe/Berlin in winter)."),
            "{}",
            s.why
        );
    }

    #[test]
    fn suggestions_follow_importance() {
        let biweekly = Some("biweekly on mon at 09:00 from 2026-01-05");
        let weekly = Some("weekly on mon at 09:00");
        let monthly = Some("monthly on last fri at 15:00");
        let daily = Some("daily on weekdays at 08:30");
        let half = Some("half-yearly on first mon at 10:00");

        // Critical: at least weekly, even when both are slower.
        let s = suggest(monthly, biweekly, "critical");
        assert!(s.rule.starts_with("weekly"), "{s:?}");
        assert!(s.why.contains("at least weekly"));
        // High: the faster of the two.
        let s = suggest(monthly, biweekly, "high");
        assert!(s.rule.starts_with("biweekly"), "{s:?}");
        assert!(s.why.contains("faster"));
        assert_eq!(
            s.summary,
            "Engineering posts a readiness update monthly; Sales gives feedback every 2 weeks; they meet every 2 weeks"
        );
        // …but never more often than weekly.
        let s = suggest(daily, monthly, "high");
        assert!(s.rule.starts_with("weekly"), "{s:?}");
        assert!(s.why.contains("Engineering checks in daily"), "{}", s.why);
        // Normal: the slower one…
        let s = suggest(weekly, biweekly, "normal");
        assert!(s.rule.starts_with("biweekly"), "{s:?}");
        assert!(s.why.contains("normal"));
        // …but at least monthly.
        let s = suggest(half, weekly, "normal");
        assert!(s.rule.starts_with("monthly"), "{s:?}");
        assert!(s.why.contains("every 6 months"), "{}", s.why);
        // Same rhythm: one sentence.
        let s = suggest(weekly, weekly, "normal");
        assert_eq!(
            s.summary,
            "Engineering and Sales meet weekly to check readiness and feedback"
        );
        // No check-in of its own: the parent's rhythm (company: weekly) applies, and says so.
        let s = suggest(None, monthly, "high");
        assert!(s.rule.starts_with("weekly"), "{s:?}");
        assert!(s.why.contains("inherited from Acme"), "{}", s.why);
    }
}
