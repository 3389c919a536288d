//! Parsers for what people type: check-in lines (`S1 42 at risk: churn spike`) and
//! figures (`42`, `1,200`, `85%`, `1.5k`, `done`).

use super::model::{Code, Confidence};

/// Largest magnitude baton accepts for any figure. Anything beyond is a typo, not a KPI.
pub const MAX_ABS_VALUE: f64 = 1e12;

/// Longest line any adapter passes to the parser.
pub const MAX_LINE_BYTES: usize = 2000;

/// A check-in as typed: what, how much, how confident, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckinLine {
    pub code: Code,
    pub value: f64,
    pub confidence: Option<Confidence>,
    pub note: Option<String>,
    pub blockers: Option<String>,
}

pub const CHECKIN_SYNTAX: &str = "<code> <value> [on track|at risk|off track][: note] [blocker: …]   e.g. `S1 42 at risk: churn spike in EMEA`";

/// Parses a figure. Accepts thousands separators (`1,200`, `1_200`), a leading currency
/// sign, a trailing `%`, `k`/`m`/`bn` multipliers, and `done`/`not done` for milestones.
pub fn parse_value(s: &str) -> Result<f64, String> {
    let raw = s.trim();
    let lower = raw.to_ascii_lowercase();
    match lower.as_str() {
        "done" | "yes" | "complete" | "completed" | "shipped" => return Ok(1.0),
        "not done" | "not_done" | "no" | "pending" | "open" => return Ok(0.0),
        _ => {}
    }
    if lower.contains("nan") || lower.contains("inf") {
        return Err(format!(
            "`{raw}` is not a number; write the figure like 42, 42.5 or 1,200"
        ));
    }
    let mut t = lower.as_str();
    let negative = t.starts_with('-');
    if negative || t.starts_with('+') {
        t = &t[1..];
    }
    t = t.trim_start_matches(['$', '€', '£', '¥']);
    let (t, mult) = if let Some(x) = t.strip_suffix('%') {
        (x, 1.0)
    } else if let Some(x) = t.strip_suffix("bn") {
        (x, 1e9)
    } else if let Some(x) = t.strip_suffix('k') {
        (x, 1e3)
    } else if let Some(x) = t.strip_suffix('m') {
        (x, 1e6)
    } else {
        (t, 1.0)
    };
    let digits: String = t.chars().filter(|c| !matches!(c, ',' | '_')).collect();
    if digits.is_empty()
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        || digits.matches('.').count() > 1
        || digits == "."
    {
        return Err(format!(
            "`{raw}` is not a number; write the figure like 42, 42.5 or 1,200"
        ));
    }
    let v: f64 = digits
        .parse()
        .map_err(|_| format!("`{raw}` is not a number"))?;
    let v = if negative { -v } else { v } * mult;
    if !v.is_finite() || v.abs() > MAX_ABS_VALUE {
        return Err(format!(
            "`{raw}` is out of range: figures must be within ±{MAX_ABS_VALUE:e}"
        ));
    }
    Ok(v)
}

fn split_confidence(words: &str) -> (Option<Confidence>, &str) {
    let lower = words.to_ascii_lowercase();
    for (phrase, c) in [
        ("on track", Confidence::OnTrack),
        ("on_track", Confidence::OnTrack),
        ("on-track", Confidence::OnTrack),
        ("at risk", Confidence::AtRisk),
        ("at_risk", Confidence::AtRisk),
        ("at-risk", Confidence::AtRisk),
        ("off track", Confidence::OffTrack),
        ("off_track", Confidence::OffTrack),
        ("off-track", Confidence::OffTrack),
        ("green", Confidence::OnTrack),
        ("amber", Confidence::AtRisk),
        ("red", Confidence::OffTrack),
    ] {
        if let Some(rest) = lower.strip_prefix(phrase)
            && (rest.is_empty() || rest.starts_with([' ', ':', ',']))
        {
            return (Some(c), &words[phrase.len()..]);
        }
    }
    (None, words)
}

fn clean(s: &str) -> Option<String> {
    let t = s.trim().trim_matches(|c: char| c == ';' || c == ',').trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Parses `S1 42 at risk: churn spike in EMEA; blocker: waiting on data team`.
pub fn parse_checkin_line(line: &str) -> Result<CheckinLine, String> {
    let line = line.trim();
    if line.is_empty() {
        return Err(format!(
            "a check-in needs a code and a value: {CHECKIN_SYNTAX}"
        ));
    }
    if line.len() > MAX_LINE_BYTES {
        return Err(format!(
            "that line is {} bytes; the limit is {MAX_LINE_BYTES}",
            line.len()
        ));
    }
    let (head, note) = match line.split_once(':') {
        // `blocker:` directly after the value (no note) is still a blocker.
        Some((h, n)) => (h, Some(n)),
        None => (line, None),
    };
    let mut parts = head.trim().splitn(2, char::is_whitespace);
    let code_s = parts.next().unwrap_or_default();
    let code = Code::parse(code_s).map_err(|e| format!("{e}. Syntax: {CHECKIN_SYNTAX}"))?;
    let rest = parts.next().unwrap_or("").trim();
    if rest.is_empty() {
        return Err(format!("`{code}` needs a value. Syntax: {CHECKIN_SYNTAX}"));
    }
    // The value is one token, or `not done`.
    let (value_s, after) = if rest.to_ascii_lowercase().starts_with("not done") {
        (&rest[..8], &rest[8..])
    } else {
        match rest.split_once(char::is_whitespace) {
            Some((v, a)) => (v, a),
            None => (rest, ""),
        }
    };
    let value = parse_value(value_s)?;
    let after = after.trim();
    let (confidence, leftover) = split_confidence(after);
    let leftover = leftover.trim();
    let (mut note, mut blockers) = (note.map(str::to_string), None);
    if leftover.eq_ignore_ascii_case("blocker") || leftover.eq_ignore_ascii_case("blockers") {
        blockers = note.take().and_then(|n| clean(&n));
    } else if !leftover.is_empty() {
        return Err(format!(
            "I read `{code} {value_s}` but not `{leftover}`: confidence is `on track`, `at risk` or `off track`, and a note goes after a colon. Syntax: {CHECKIN_SYNTAX}"
        ));
    }
    if let Some(n) = note.take() {
        let lower = n.to_ascii_lowercase();
        let marker = ["blockers:", "blocker:", "blocked by:", "blocked:"]
            .iter()
            .find_map(|m| lower.find(m).map(|i| (i, m.len())));
        match marker {
            Some((i, len)) => {
                blockers = clean(&n[i + len..]);
                note = clean(&n[..i]);
            }
            None => note = clean(&n),
        }
    }
    Ok(CheckinLine {
        code,
        value,
        confidence,
        note,
        blockers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_or_repeated_durations_are_refused_not_overflowed() {
        let many = "999999w".repeat(15_300);
        assert!(parse_duration(&many).is_err());
        assert!(parse_duration(&"52w".repeat(5)).is_err());
        assert!(parse_duration("52w1d1d").is_ok());
        assert!(parse_duration("52w1d1d1d").is_err(), "over a year");
        assert!(
            parse_duration(&"1m".repeat(30)).is_err(),
            "too long to be a duration"
        );
    }

    #[test]
    fn one_line_checkins_parse() {
        let c = parse_checkin_line("S1 42 at risk: churn spike in EMEA").unwrap();
        assert_eq!(c.code.as_str(), "S1");
        assert_eq!(c.value, 42.0);
        assert_eq!(c.confidence, Some(Confidence::AtRisk));
        assert_eq!(c.note.as_deref(), Some("churn spike in EMEA"));
        assert_eq!(c.blockers, None);

        let c = parse_checkin_line("s2 9.5").unwrap();
        assert_eq!((c.code.as_str(), c.value, c.confidence), ("S2", 9.5, None));

        let c = parse_checkin_line("S3 1,200 on track: good week; blocker: need SSO from product")
            .unwrap();
        assert_eq!(c.value, 1200.0);
        assert_eq!(c.note.as_deref(), Some("good week"));
        assert_eq!(c.blockers.as_deref(), Some("need SSO from product"));

        let c = parse_checkin_line("M1 not done off track: vendor slipped").unwrap();
        assert_eq!((c.value, c.confidence), (0.0, Some(Confidence::OffTrack)));

        let c = parse_checkin_line("S1 40 blocker: waiting on data").unwrap();
        assert_eq!(c.blockers.as_deref(), Some("waiting on data"));
        assert_eq!(c.note, None);
    }

    #[test]
    fn values_accept_common_forms() {
        assert_eq!(parse_value("85%").unwrap(), 85.0);
        assert_eq!(parse_value("1.5k").unwrap(), 1500.0);
        assert_eq!(parse_value("€2m").unwrap(), 2_000_000.0);
        assert_eq!(parse_value("-3").unwrap(), -3.0);
        assert_eq!(parse_value("done").unwrap(), 1.0);
        assert_eq!(parse_value("1_000").unwrap(), 1000.0);
    }

    #[test]
    fn bad_values_are_refused_with_reasons() {
        for bad in [
            "NaN",
            "nan",
            "inf",
            "-infinity",
            "1e400",
            "abc",
            "",
            "1.2.3",
            ".",
        ] {
            assert!(parse_value(bad).is_err(), "{bad} should be refused");
        }
        assert!(
            parse_value("9999999999999")
                .unwrap_err()
                .contains("out of range")
        );
        assert!(parse_value("NaN").unwrap_err().contains("not a number"));
    }

    #[test]
    fn bad_lines_explain_the_syntax() {
        assert!(
            parse_checkin_line("")
                .unwrap_err()
                .contains("needs a code and a value")
        );
        assert!(
            parse_checkin_line("S1")
                .unwrap_err()
                .contains("needs a value")
        );
        assert!(
            parse_checkin_line("S1 42 maybe")
                .unwrap_err()
                .contains("not `maybe`")
        );
        assert!(
            parse_checkin_line("42 S1")
                .unwrap_err()
                .contains("start with a letter")
        );
        let long = format!("S1 42: {}", "x".repeat(10_000));
        assert!(parse_checkin_line(&long).unwrap_err().contains("limit"));
    }
}

/// Parses a duration: `90m`, `2h`, `1d`, `1w`, `2 hours`, `3 days`, `1h30m`.
/// The longest duration text read (`2w3d4h30m` is 9).
pub const MAX_DURATION_CHARS: usize = 40;

pub fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let raw = s.trim();
    let lower = raw.to_ascii_lowercase().replace(' ', "");
    if lower.is_empty() {
        return Err("a duration is needed, like 2h, 90m, 1d or 1w".into());
    }
    if lower.len() > MAX_DURATION_CHARS {
        return Err(format!(
            "a duration is at most {MAX_DURATION_CHARS} characters, like 2h, 90m, 1d or 1w"
        ));
    }
    let mut total = chrono::Duration::zero();
    let mut rest = lower.as_str();
    while !rest.is_empty() {
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.is_empty() || digits.len() > 6 {
            return Err(format!(
                "`{raw}` is not a duration; write 2h, 90m, 1d or 1w"
            ));
        }
        let n: i64 = digits
            .parse()
            .map_err(|_| format!("`{raw}` is not a duration"))?;
        rest = &rest[digits.len()..];
        let unit: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        rest = &rest[unit.len()..];
        let d = match unit.as_str() {
            "m" | "min" | "mins" | "minute" | "minutes" => chrono::Duration::minutes(n),
            "h" | "hr" | "hrs" | "hour" | "hours" => chrono::Duration::hours(n),
            "d" | "day" | "days" => chrono::Duration::days(n),
            "w" | "wk" | "week" | "weeks" => chrono::Duration::weeks(n),
            _ => {
                return Err(format!(
                    "`{raw}` is not a duration; write 2h, 90m, 1d or 1w"
                ));
            }
        };
        // Checked, and stopped early: no sum of terms can overflow or exceed the year.
        total = match total.checked_add(&d) {
            Some(t) if t <= chrono::Duration::days(366) => t,
            _ => {
                return Err(format!(
                    "`{raw}` must be more than nothing and at most a year"
                ));
            }
        };
    }
    if total <= chrono::Duration::zero() || total > chrono::Duration::days(366) {
        return Err(format!(
            "`{raw}` must be more than nothing and at most a year"
        ));
    }
    Ok(total)
}

/// Parses a calendar date relative to `today`: `2026-12-05`, `today`, `tomorrow`.
pub fn parse_date(s: &str, today: chrono::NaiveDate) -> Result<chrono::NaiveDate, String> {
    let t = s.trim().to_ascii_lowercase();
    match t.as_str() {
        "today" => Ok(today),
        "tomorrow" => Ok(today + chrono::Duration::days(1)),
        _ => chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|_| {
            format!(
                "`{}` is not a date; write YYYY-MM-DD, today or tomorrow",
                s.trim()
            )
        }),
    }
}

#[cfg(test)]
mod more_tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("2h").unwrap(), chrono::Duration::hours(2));
        assert_eq!(
            parse_duration("1h30m").unwrap(),
            chrono::Duration::minutes(90)
        );
        assert_eq!(parse_duration("3 days").unwrap(), chrono::Duration::days(3));
        assert_eq!(parse_duration("1w").unwrap(), chrono::Duration::weeks(1));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("0m").is_err());
        assert!(parse_duration("400d").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn dates_parse() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(
            parse_date("tomorrow", today).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
        );
        assert_eq!(
            parse_date("2026-12-05", today).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()
        );
        assert!(parse_date("next blursday", today).is_err());
    }
}
