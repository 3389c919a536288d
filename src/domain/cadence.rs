//! Cadence rules: friendly presets (`weekly on mon at 09:00`) and raw `RRULE:` strings,
//! turned into an RFC 5545 recurrence that is expanded in **local wall-clock time**.
//!
//! Why wall-clock: "09:00" for a check-in means 09:00 in each member's own time zone, so an
//! occurrence is a local date-time (`2026-11-16T09:00`) first, and becomes an instant only
//! when paired with a zone ([`to_instant`]). Daylight-saving gaps move the instant to the
//! first valid minute after; repeated hours resolve to the earlier instant, so they fire
//! once. Expansion uses the `rrule` crate over naive times (carried as UTC, which has no
//! DST), so the recurrence itself never drifts across transitions.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone,
    Timelike, Utc,
};
use chrono_tz::Tz;

/// How often a cadence repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

impl Freq {
    fn as_rrule(self) -> &'static str {
        match self {
            Freq::Daily => "DAILY",
            Freq::Weekly => "WEEKLY",
            Freq::Monthly => "MONTHLY",
            Freq::Yearly => "YEARLY",
        }
    }
}

/// A checked cadence rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CadenceRule {
    pub freq: Freq,
    pub interval: u32,
    /// The RRULE body (without the `RRULE:` prefix), always with BYHOUR/BYMINUTE.
    pub rrule: String,
    /// DTSTART in local wall-clock time: the anchor of intervals (`biweekly … from`).
    pub anchor: NaiveDateTime,
}

/// Where intervals count from when a rule names no `from` date: a Monday, at 00:00.
pub fn default_anchor_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid date")
}

const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "MO"),
    ("tue", "TU"),
    ("wed", "WE"),
    ("thu", "TH"),
    ("fri", "FR"),
    ("sat", "SA"),
    ("sun", "SU"),
];

impl CadenceRule {
    /// The typical time between two occurrences.
    pub fn nominal_period(&self) -> Duration {
        let days = match self.freq {
            Freq::Daily => 1,
            Freq::Weekly => 7,
            Freq::Monthly => 30,
            Freq::Yearly => 365,
        };
        Duration::days(days * i64::from(self.interval))
    }

    /// Local wall-clock occurrences strictly after `after` and at or before `until`,
    /// at most `limit` of them.
    pub fn occurrences(
        &self,
        after: NaiveDateTime,
        until: NaiveDateTime,
        limit: u16,
    ) -> Vec<NaiveDateTime> {
        if until <= after {
            return Vec::new();
        }
        let text = format!(
            "DTSTART:{}Z\nRRULE:{}",
            self.anchor_near(after).format("%Y%m%dT%H%M%S"),
            self.rrule
        );
        let Ok(set) = text.parse::<rrule::RRuleSet>() else {
            return Vec::new();
        };
        let utc = |t: NaiveDateTime| rrule::Tz::UTC.from_utc_datetime(&t);
        set.after(utc(after + Duration::seconds(1)))
            .before(utc(until))
            .all(limit)
            .dates
            .into_iter()
            .map(|d| d.naive_utc())
            .filter(|d| *d > after && *d <= until)
            .collect()
    }

    /// An anchor in the same phase as [`CadenceRule::anchor`] (a whole number of intervals
    /// later) but close before `t`, so expansion does not walk every occurrence since the
    /// original anchor. Rules with COUNT keep their anchor: the count starts there.
    fn anchor_near(&self, t: NaiveDateTime) -> NaiveDateTime {
        if self.rrule.contains("COUNT") || t <= self.anchor {
            return self.anchor;
        }
        let n = i64::from(self.interval.max(1));
        match self.freq {
            Freq::Daily | Freq::Weekly => {
                let step = Duration::days(if self.freq == Freq::Daily { n } else { 7 * n });
                // Two steps of margin keep BYDAY/BYSETPOS sets intact.
                let k = ((t - self.anchor).num_seconds() / step.num_seconds() - 2).max(0);
                self.anchor + step * k as i32
            }
            Freq::Monthly | Freq::Yearly => {
                let months_per = if self.freq == Freq::Monthly {
                    n
                } else {
                    12 * n
                };
                let elapsed = i64::from(t.year() - self.anchor.year()) * 12 + i64::from(t.month())
                    - i64::from(self.anchor.month());
                let k = (elapsed / months_per - 2).max(0);
                self.anchor
                    .checked_add_months(chrono::Months::new((k * months_per) as u32))
                    .unwrap_or(self.anchor)
            }
        }
    }

    /// The first occurrence strictly after `after`, looking at most ~2 years ahead.
    pub fn next_after(&self, after: NaiveDateTime) -> Option<NaiveDateTime> {
        self.occurrences(after, after + Duration::days(800), 1)
            .into_iter()
            .next()
    }

    /// The latest occurrence at or before `at`, looking at most ~2 years back.
    pub fn latest_at_or_before(&self, at: NaiveDateTime) -> Option<NaiveDateTime> {
        let lookback = (self.nominal_period() * 3).max(Duration::days(3));
        let mut found = self.occurrences(at - lookback, at, 1000);
        if found.is_empty() {
            found = self.occurrences(at - Duration::days(800), at, 1000);
        }
        found.pop()
    }
}

/// The instant a local wall-clock time names in `tz`: a time in a spring-forward gap moves
/// to the first valid minute after it; a repeated (autumn) time takes the earlier instant.
pub fn to_instant(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, b) => a.min(b).with_timezone(&Utc),
        LocalResult::None => {
            let mut t = local;
            for _ in 0..(24 * 60) {
                t += Duration::minutes(1);
                if let LocalResult::Single(x) | LocalResult::Ambiguous(x, _) =
                    tz.from_local_datetime(&t)
                {
                    return x.with_timezone(&Utc);
                }
            }
            // No zone has a day-long gap; fall back to reading the time as UTC.
            Utc.from_utc_datetime(&local)
        }
    }
}

fn parse_time(t: &str) -> Result<NaiveTime, String> {
    let (h, m) = t
        .split_once(':')
        .ok_or_else(|| format!("time `{t}` must be HH:MM"))?;
    let h: u32 = h.parse().map_err(|_| format!("time `{t}` must be HH:MM"))?;
    let m: u32 = m.parse().map_err(|_| format!("time `{t}` must be HH:MM"))?;
    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(|| format!("time `{t}` is not a valid time of day"))
}

fn weekday_code(d: &str) -> Option<&'static str> {
    let short: String = d.chars().take(3).collect();
    WEEKDAYS.iter().find(|(s, _)| *s == short).map(|(_, c)| *c)
}

/// `mon`, `mon,thu`, `weekdays`, `last fri`, `first tue`, `second thu` → BYDAY values.
fn parse_days(words: &[&str]) -> Result<Vec<String>, String> {
    let joined = words.join(" ");
    let mut out = Vec::new();
    for part in joined
        .split([',', '+'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let mut it = part.split_whitespace();
        let first = it.next().unwrap_or_default();
        let (ordinal, day) = match first {
            "first" | "1st" => (Some(1), it.next()),
            "second" | "2nd" => (Some(2), it.next()),
            "third" | "3rd" => (Some(3), it.next()),
            "fourth" | "4th" => (Some(4), it.next()),
            "last" => (Some(-1), it.next()),
            _ => (None, Some(first)),
        };
        let day = day.ok_or_else(|| format!("`{part}` needs a day of the week"))?;
        if it.next().is_some() {
            return Err(format!("`{part}` is not a day of the week"));
        }
        if matches!(day, "weekday" | "weekdays") && ordinal.is_none() {
            out.extend(["MO", "TU", "WE", "TH", "FR"].map(String::from));
            continue;
        }
        let code = weekday_code(day).ok_or_else(|| format!("`{day}` is not a day of the week"))?;
        out.push(match ordinal {
            Some(n) => format!("{n}{code}"),
            None => code.to_string(),
        });
    }
    if out.is_empty() {
        return Err("`on` needs a day".into());
    }
    Ok(out)
}

/// Checks a preset or raw rule and returns it as an RRULE anchored in local time, for an
/// organisation whose fiscal year starts in January (see [`parse_rule_fy`]).
pub fn parse_rule(rule: &str) -> Result<CadenceRule, String> {
    parse_rule_fy(rule, 1)
}

/// Checks a preset or raw rule for an organisation whose fiscal year starts in month
/// `fiscal_year_start` (1–12). Presets that repeat over months or years (`quarterly`,
/// `half-yearly`, `yearly`, `every N months`) count from the first day of the fiscal year
/// unless they name a `from` date; a raw `RRULE:` is taken as written.
pub fn parse_rule_fy(rule: &str, fiscal_year_start: u32) -> Result<CadenceRule, String> {
    let trimmed = rule.trim();
    if trimmed.is_empty() {
        return Err("a cadence cannot be empty".into());
    }
    let upper = trimmed.to_ascii_uppercase();
    if upper.starts_with("RRULE:") || upper.starts_with("DTSTART") {
        return parse_raw(trimmed);
    }
    let lower = trimmed.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    let (freq, interval, mut i) = match words[0] {
        "daily" => (Freq::Daily, 1, 1),
        "weekly" => (Freq::Weekly, 1, 1),
        "biweekly" | "fortnightly" => (Freq::Weekly, 2, 1),
        "monthly" => (Freq::Monthly, 1, 1),
        "quarterly" => (Freq::Monthly, 3, 1),
        "half-yearly" | "semiannually" | "half_yearly" | "semi-annually" => (Freq::Monthly, 6, 1),
        "yearly" | "annually" | "annual" => (Freq::Yearly, 1, 1),
        "every" => {
            let n: u32 = words
                .get(1)
                .and_then(|n| n.parse().ok())
                .filter(|n| *n >= 1 && *n <= 366)
                .ok_or_else(|| format!("`{trimmed}`: `every` needs a number from 1 to 366"))?;
            let unit = words.get(2).copied().unwrap_or_default();
            let freq = match unit.trim_end_matches('s') {
                "day" => Freq::Daily,
                "week" => Freq::Weekly,
                "month" => Freq::Monthly,
                "year" => Freq::Yearly,
                _ => return Err(format!("`{trimmed}`: unknown unit `{unit}`")),
            };
            (freq, n, 3)
        }
        other => {
            return Err(format!(
                "`{other}` is not a cadence; use daily, weekly, biweekly, monthly, quarterly, \
                 half-yearly, yearly, `every N weeks`, or a raw `RRULE:`"
            ));
        }
    };
    let mut days: Option<Vec<String>> = None;
    let mut time = NaiveTime::from_hms_opt(9, 0, 0).expect("09:00");
    let mut from: Option<NaiveDate> = None;
    while i < words.len() {
        match words[i] {
            "on" => {
                let start = i + 1;
                i = start;
                while i < words.len() && !matches!(words[i], "at" | "from") {
                    i += 1;
                }
                days = Some(parse_days(&words[start..i]).map_err(|e| format!("`{trimmed}`: {e}"))?);
            }
            "at" => {
                let t = words
                    .get(i + 1)
                    .ok_or_else(|| format!("`{trimmed}`: `at` needs a time"))?;
                time = parse_time(t)?;
                i += 2;
            }
            "from" => {
                let d = words
                    .get(i + 1)
                    .ok_or_else(|| format!("`{trimmed}`: `from` needs a date"))?;
                from = Some(
                    NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|_| format!("`{d}` is not a date (YYYY-MM-DD)"))?,
                );
                i += 2;
            }
            w => return Err(format!("`{trimmed}`: unexpected `{w}`")),
        }
    }
    // Month- and year-based presets are phased by the fiscal year.
    let from = from.or_else(|| {
        matches!(freq, Freq::Monthly | Freq::Yearly)
            .then(|| NaiveDate::from_ymd_opt(2024, fiscal_year_start.clamp(1, 12), 1))
            .flatten()
    });
    let mut parts = vec![format!("FREQ={}", freq.as_rrule())];
    if interval > 1 {
        parts.push(format!("INTERVAL={interval}"));
    }
    match (&days, freq) {
        (Some(d), Freq::Daily | Freq::Weekly) => {
            if d.iter().any(|x| x.len() > 2) {
                return Err(format!(
                    "`{trimmed}`: `first`/`last` days need a monthly or yearly cadence"
                ));
            }
            parts.push(format!("BYDAY={}", d.join(",")));
        }
        (Some(d), Freq::Yearly) if d.iter().all(|x| x.len() > 2) => {
            // `yearly on first mon`: in the month the year starts.
            let m = from.map(|f| f.month()).unwrap_or(1);
            parts.push(format!("BYMONTH={m};BYDAY={}", d.join(",")))
        }
        (Some(d), _) => parts.push(format!("BYDAY={}", d.join(","))),
        (None, Freq::Weekly) => {
            // Weekly with no day: the anchor's weekday (Monday unless `from` says otherwise).
            let wd = from.unwrap_or_else(default_anchor_date).weekday();
            parts.push(format!(
                "BYDAY={}",
                WEEKDAYS[wd.num_days_from_monday() as usize].1
            ));
        }
        (None, Freq::Monthly) => {
            parts.push(format!("BYMONTHDAY={}", from.map(|f| f.day()).unwrap_or(1)))
        }
        (None, Freq::Yearly) => {
            let f = from.unwrap_or_else(default_anchor_date);
            parts.push(format!("BYMONTH={};BYMONTHDAY={}", f.month(), f.day()));
        }
        (None, Freq::Daily) => {}
    }
    parts.push(format!(
        "BYHOUR={};BYMINUTE={};BYSECOND=0",
        time.format("%-H"),
        time.format("%-M")
    ));
    let anchor_date = from.unwrap_or_else(default_anchor_date);
    // Presets produce well-formed rules by construction; only raw RRULEs need the
    // expander's check (parsing a rule set costs far more than this function otherwise,
    // and rollups ask for every key result's period).
    Ok(CadenceRule {
        freq,
        interval,
        rrule: parts.join(";"),
        anchor: anchor_date.and_time(NaiveTime::MIN),
    })
}

/// A raw rule: `RRULE:…`, optionally preceded by `DTSTART:YYYYMMDDTHHMMSS` (local time).
fn parse_raw(text: &str) -> Result<CadenceRule, String> {
    // RFC 5545 rules are ASCII; the rrule crate slices by byte and panics on anything else.
    if !text.is_ascii() {
        return Err("an RRULE is plain ASCII (letters, digits, `=;,:-+`)".into());
    }
    let mut anchor = default_anchor_date().and_time(NaiveTime::MIN);
    let mut body = None;
    for line in text
        .split(['\n', ' '])
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let upper = line.to_ascii_uppercase();
        if let Some(d) = upper.strip_prefix("DTSTART:") {
            let d = d.trim_end_matches('Z');
            anchor = NaiveDateTime::parse_from_str(d, "%Y%m%dT%H%M%S")
                .map_err(|_| format!("DTSTART `{d}` must be YYYYMMDDTHHMMSS"))?;
        } else if let Some(r) = upper.strip_prefix("RRULE:") {
            body = Some(r.to_string());
        } else {
            return Err(format!("`{line}` is neither DTSTART nor RRULE"));
        }
    }
    let body = body.ok_or("a raw cadence needs an `RRULE:` line")?;
    let mut freq = None;
    let mut interval = 1;
    let (mut has_hour, mut has_minute) = (false, false);
    for part in body.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("RRULE part `{part}` must be KEY=VALUE"))?;
        match k {
            "FREQ" => {
                freq = Some(match v {
                    "DAILY" => Freq::Daily,
                    "WEEKLY" => Freq::Weekly,
                    "MONTHLY" => Freq::Monthly,
                    "YEARLY" => Freq::Yearly,
                    _ => {
                        return Err(format!(
                            "RRULE FREQ `{v}` is not supported (use DAILY, WEEKLY, MONTHLY or YEARLY)"
                        ));
                    }
                })
            }
            "INTERVAL" => {
                interval = v
                    .parse()
                    .ok()
                    .filter(|n: &u32| *n >= 1)
                    .ok_or_else(|| format!("RRULE INTERVAL `{v}` must be a positive number"))?
            }
            "BYHOUR" => has_hour = true,
            "BYMINUTE" => has_minute = true,
            "BYDAY" | "BYMONTHDAY" | "BYMONTH" | "BYSETPOS" | "COUNT" | "UNTIL" | "WKST"
            | "BYSECOND" | "BYYEARDAY" | "BYWEEKNO" => {}
            other => return Err(format!("RRULE part `{other}` is not known")),
        }
    }
    let freq = freq.ok_or("RRULE needs FREQ")?;
    let mut rrule = body.clone();
    // Without an explicit time the anchor's time applies; make it explicit (09:00 default).
    if !has_hour {
        let h = if anchor.time() == NaiveTime::MIN {
            9
        } else {
            anchor.hour()
        };
        rrule.push_str(&format!(";BYHOUR={h}"));
    }
    if !has_minute {
        rrule.push_str(&format!(";BYMINUTE={}", anchor.minute()));
    }
    if !rrule.contains("BYSECOND") {
        rrule.push_str(";BYSECOND=0");
    }
    validate_expands(
        CadenceRule {
            freq,
            interval,
            rrule,
            anchor,
        },
        text,
    )
}

/// A rule that the expander rejects, or that never fires, is refused up front.
fn validate_expands(rule: CadenceRule, text: &str) -> Result<CadenceRule, String> {
    let probe = format!(
        "DTSTART:{}Z\nRRULE:{}",
        rule.anchor.format("%Y%m%dT%H%M%S"),
        rule.rrule
    );
    probe
        .parse::<rrule::RRuleSet>()
        .map_err(|e| format!("`{text}` is not a valid recurrence: {e}"))?;
    Ok(rule)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").unwrap()
    }

    #[test]
    fn presets_and_rrules_have_periods() {
        let p = |r: &str| parse_rule(r).unwrap().nominal_period().num_days();
        assert_eq!(p("weekly on mon at 09:00"), 7);
        assert_eq!(p("biweekly on mon at 09:00 from 2026-01-05"), 14);
        assert_eq!(p("monthly on last fri at 15:00"), 30);
        assert_eq!(p("quarterly"), 90);
        assert_eq!(p("daily at 08:30"), 1);
        assert_eq!(p("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"), 14);
    }

    #[test]
    fn bad_rules_say_why() {
        assert!(
            parse_rule("weekly on funday")
                .unwrap_err()
                .contains("funday")
        );
        assert!(parse_rule("weekly at 25:00").unwrap_err().contains("25:00"));
        assert!(
            parse_rule("sometimes")
                .unwrap_err()
                .contains("not a cadence")
        );
        assert!(parse_rule("RRULE:INTERVAL=2").unwrap_err().contains("FREQ"));
        assert!(
            parse_rule("weekly on last fri")
                .unwrap_err()
                .contains("monthly")
        );
        assert!(parse_rule("").is_err());
    }

    #[test]
    fn presets_expand_in_wall_clock_time() {
        let r = parse_rule("weekly on mon at 09:00").unwrap();
        let got = r.occurrences(local("2026-03-01T00:00"), local("2026-03-31T00:00"), 10);
        assert_eq!(
            got,
            [
                "2026-03-02T09:00",
                "2026-03-09T09:00",
                "2026-03-16T09:00",
                "2026-03-23T09:00",
                "2026-03-30T09:00"
            ]
            .map(local)
        );
        let r = parse_rule("biweekly on mon at 09:00 from 2026-01-05").unwrap();
        let got = r.occurrences(local("2026-03-01T00:00"), local("2026-03-31T00:00"), 10);
        assert_eq!(
            got,
            ["2026-03-02T09:00", "2026-03-16T09:00", "2026-03-30T09:00"].map(local)
        );
        let r = parse_rule("monthly on last fri at 15:00").unwrap();
        let got = r.occurrences(local("2026-10-01T00:00"), local("2026-12-31T23:59"), 10);
        assert_eq!(
            got,
            ["2026-10-30T15:00", "2026-11-27T15:00", "2026-12-25T15:00"].map(local)
        );
        let r = parse_rule("quarterly on first tue at 15:00").unwrap();
        let got = r.occurrences(local("2026-01-01T00:00"), local("2026-12-31T00:00"), 10);
        assert_eq!(
            got,
            [
                "2026-01-06T15:00",
                "2026-04-07T15:00",
                "2026-07-07T15:00",
                "2026-10-06T15:00"
            ]
            .map(local)
        );
        let r = parse_rule("daily on weekdays at 08:30").unwrap();
        assert_eq!(
            r.occurrences(local("2026-11-20T09:00"), local("2026-11-24T09:00"), 10),
            ["2026-11-23T08:30", "2026-11-24T08:30"].map(local)
        );
        let r = parse_rule("RRULE:FREQ=YEARLY;BYMONTH=1;BYDAY=2TU;BYHOUR=15;BYMINUTE=0").unwrap();
        assert_eq!(
            r.next_after(local("2026-06-01T00:00")),
            Some(local("2027-01-12T15:00"))
        );
        // Far from the anchor, the phase of biweekly rules is kept.
        let r = parse_rule("biweekly on mon at 09:00 from 2026-01-05").unwrap();
        assert_eq!(
            // 270 weeks after 2026-01-05.
            r.occurrences(local("2031-03-01T00:00"), local("2031-03-30T00:00"), 10),
            ["2031-03-10T09:00", "2031-03-24T09:00"].map(local)
        );
        let q = parse_rule("quarterly on first tue at 15:00").unwrap();
        assert_eq!(
            q.next_after(local("2030-05-01T00:00")),
            Some(local("2030-07-02T15:00"))
        );
        // Bounds: strictly after, at or before.
        let r = parse_rule("weekly on mon at 09:00").unwrap();
        assert_eq!(
            r.occurrences(local("2026-03-02T09:00"), local("2026-03-09T09:00"), 10),
            vec![local("2026-03-09T09:00")]
        );
        assert_eq!(
            r.latest_at_or_before(local("2026-03-09T08:59")),
            Some(local("2026-03-02T09:00"))
        );
    }

    #[test]
    fn month_and_year_presets_follow_the_fiscal_year() {
        let year = |r: &str, fy: u32| {
            parse_rule_fy(r, fy).unwrap().occurrences(
                local("2026-01-01T00:00"),
                local("2026-12-31T23:59"),
                20,
            )
        };
        assert_eq!(
            year("quarterly", 2),
            [
                "2026-02-01T09:00",
                "2026-05-01T09:00",
                "2026-08-01T09:00",
                "2026-11-01T09:00"
            ]
            .map(local)
        );
        assert_eq!(
            year("quarterly", 1),
            [
                "2026-01-01T09:00",
                "2026-04-01T09:00",
                "2026-07-01T09:00",
                "2026-10-01T09:00"
            ]
            .map(local)
        );
        assert_eq!(
            year("quarterly on first tue at 15:00", 2),
            [
                "2026-02-03T15:00",
                "2026-05-05T15:00",
                "2026-08-04T15:00",
                "2026-11-03T15:00"
            ]
            .map(local)
        );
        assert_eq!(
            year("half-yearly on first mon at 10:00", 4),
            ["2026-04-06T10:00", "2026-10-05T10:00"].map(local)
        );
        assert_eq!(year("yearly", 7), ["2026-07-01T09:00"].map(local));
        assert_eq!(
            year("yearly on first mon at 10:00", 7),
            ["2026-07-06T10:00"].map(local)
        );
        assert_eq!(
            year("every 6 months", 3),
            ["2026-03-01T09:00", "2026-09-01T09:00"].map(local)
        );
        // An explicit `from` and raw rules are taken as written; weekly rules are unaffected.
        assert_eq!(
            year("quarterly from 2026-03-15", 2),
            [
                "2026-03-15T09:00",
                "2026-06-15T09:00",
                "2026-09-15T09:00",
                "2026-12-15T09:00"
            ]
            .map(local)
        );
        assert_eq!(
            year("RRULE:FREQ=MONTHLY;INTERVAL=6;BYMONTHDAY=1", 4),
            ["2026-01-01T09:00", "2026-07-01T09:00"].map(local)
        );
        assert_eq!(
            parse_rule_fy("weekly on mon", 5).unwrap(),
            parse_rule("weekly on mon").unwrap()
        );
    }

    #[test]
    fn daylight_saving_gaps_move_forward_and_repeats_fire_once() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Spring forward: 02:30 does not exist on 2026-03-29 in Berlin → 03:00 CEST.
        let t = to_instant(local("2026-03-29T02:30"), berlin);
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap());
        // Autumn back: 02:30 happens twice on 2026-10-25 → the first (CEST, 00:30 UTC).
        let t = to_instant(local("2026-10-25T02:30"), berlin);
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap());
        // 09:00 stays 09:00 local across the change: the UTC offset moves instead.
        let ny: Tz = "America/New_York".parse().unwrap();
        assert_eq!(
            to_instant(local("2026-03-06T09:00"), ny),
            Utc.with_ymd_and_hms(2026, 3, 6, 14, 0, 0).unwrap()
        );
        assert_eq!(
            to_instant(local("2026-03-09T09:00"), ny),
            Utc.with_ymd_and_hms(2026, 3, 9, 13, 0, 0).unwrap()
        );
        let syd: Tz = "Australia/Sydney".parse().unwrap();
        // Sydney springs forward on 2026-10-04 at 02:00 → 03:00 AEDT.
        assert_eq!(
            to_instant(local("2026-10-04T02:15"), syd),
            Utc.with_ymd_and_hms(2026, 10, 3, 16, 0, 0).unwrap()
        );
        // …and falls back on 2026-04-05 at 03:00 → 02:00; 02:30 repeats, the first is AEDT.
        assert_eq!(
            to_instant(local("2026-04-05T02:30"), syd),
            Utc.with_ymd_and_hms(2026, 4, 4, 15, 30, 0).unwrap()
        );
    }
}

/// A cadence as the scheduler keeps it: derived from the manifest, keyed stably.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredCadence {
    /// `department:sales:checkin`, `measure:C1.M1`, `key_result:PR-K3`, `dependency:x`.
    pub key: String,
    /// `department`, `measure`, `key_result` or `dependency`.
    pub scope: &'static str,
    pub scope_key: String,
    pub purpose: String,
    pub layer: String,
    pub rule: String,
    /// The zone of digests and reviews (check-in prompts use each person's own zone).
    pub time_zone: Tz,
}

/// The layer a cadence belongs to when the manifest does not say.
pub fn default_layer(purpose: &str, is_root_department: bool) -> &'static str {
    match purpose {
        "review" if is_root_department => "strategic",
        "planning" => "tactical",
        "coordination" => "coordination",
        _ => "operational",
    }
}

/// The zone of a department: its own, else its nearest ancestor's, else the organisation's.
pub fn department_zone(spec: &super::OrgSpec, key: &super::Key) -> Tz {
    super::org::ancestors(spec, key.as_str())
        .into_iter()
        .find_map(|d| d.time_zone)
        .unwrap_or(spec.org.time_zone)
}

/// Every cadence the manifest declares, with defaults filled in.
pub fn declared(spec: &super::OrgSpec) -> Vec<DeclaredCadence> {
    let mut out = Vec::new();
    for d in &spec.departments {
        let tz = department_zone(spec, &d.key);
        let mut seen: Vec<&str> = Vec::new();
        for c in &d.cadences {
            let n = seen.iter().filter(|p| **p == c.purpose).count();
            seen.push(&c.purpose);
            let key = if n == 0 {
                format!("department:{}:{}", d.key, c.purpose)
            } else {
                format!("department:{}:{}:{}", d.key, c.purpose, n + 1)
            };
            out.push(DeclaredCadence {
                key,
                scope: "department",
                scope_key: d.key.to_string(),
                purpose: c.purpose.clone(),
                layer: c
                    .layer
                    .clone()
                    .unwrap_or_else(|| default_layer(&c.purpose, d.parent.is_none()).into()),
                rule: c.rule.clone(),
                time_zone: tz,
            });
        }
    }
    for m in &spec.measures {
        if let Some(rule) = &m.cadence {
            out.push(DeclaredCadence {
                key: format!("measure:{}", m.code),
                scope: "measure",
                scope_key: m.code.to_string(),
                purpose: "checkin".into(),
                layer: "operational".into(),
                rule: rule.clone(),
                time_zone: spec.org.time_zone,
            });
        }
    }
    for k in &spec.key_results {
        if let Some(rule) = &k.cadence {
            out.push(DeclaredCadence {
                key: format!("key_result:{}", k.code),
                scope: "key_result",
                scope_key: k.code.to_string(),
                purpose: "checkin".into(),
                layer: "operational".into(),
                rule: rule.clone(),
                time_zone: spec.org.time_zone,
            });
        }
    }
    for dep in &spec.dependencies {
        if let Some(rule) = &dep.cadence {
            out.push(DeclaredCadence {
                key: format!("dependency:{}", dep.key),
                scope: "dependency",
                scope_key: dep.key.to_string(),
                purpose: "coordination".into(),
                layer: "coordination".into(),
                rule: rule.clone(),
                time_zone: department_zone(spec, &dep.provider_department),
            });
        }
    }
    out
}
