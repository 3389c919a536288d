//! Natural due dates as people write them in a review thread: "by Friday", "tomorrow",
//! "next week", "in 2 weeks", "2026-12-05", "EOM", "5 Dec". Read against `today` in the
//! facilitator's time zone; the phrase is removed from the text it was found in.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

const DAYS: [(&str, Weekday); 14] = [
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
    ("sunday", Weekday::Sun),
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn weekday(word: &str) -> Option<Weekday> {
    DAYS.iter().find(|(n, _)| *n == word).map(|(_, d)| *d)
}

/// The next `day` strictly after `today` ("by Friday" said on a Friday means next Friday).
fn next_weekday(today: NaiveDate, day: Weekday) -> NaiveDate {
    let mut d = today + Duration::days(1);
    while d.weekday() != day {
        d += Duration::days(1);
    }
    d
}

fn end_of_month(today: NaiveDate) -> NaiveDate {
    let (y, m) = if today.month() == 12 {
        (today.year() + 1, 1)
    } else {
        (today.year(), today.month() + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1).expect("valid date") - Duration::days(1)
}

fn month(word: &str) -> Option<u32> {
    let w: String = word.chars().take(3).collect();
    MONTHS.iter().position(|m| *m == w).map(|i| i as u32 + 1)
}

/// A day and month without a year: this year if still ahead (or today), else next year.
fn day_month(today: NaiveDate, day: u32, month: u32) -> Option<NaiveDate> {
    let this = NaiveDate::from_ymd_opt(today.year(), month, day)?;
    if this >= today {
        Some(this)
    } else {
        NaiveDate::from_ymd_opt(today.year() + 1, month, day)
    }
}

/// Finds a due date in `text`. Returns the date and the text with the phrase removed.
/// Quarters and years are calendar ones; see [`parse_due_fy`].
pub fn parse_due(text: &str, today: NaiveDate) -> (Option<NaiveDate>, String) {
    parse_due_fy(text, today, 1)
}

/// As [`parse_due`], with "end of quarter"/"EOQ" and "end of year"/"EOY" meaning the
/// fiscal quarter and year of an organisation whose fiscal year starts in month
/// `fiscal_year_start`.
pub fn parse_due_fy(
    text: &str,
    today: NaiveDate,
    fiscal_year_start: u32,
) -> (Option<NaiveDate>, String) {
    let words: Vec<&str> = text.split_whitespace().collect();
    let norm: Vec<String> = words
        .iter()
        .map(|w| {
            w.trim_matches(|c: char| matches!(c, ',' | '.' | ';' | '!' | '?' | '(' | ')'))
                .to_ascii_lowercase()
        })
        .collect();
    // Try phrases starting at each word; the longest match wins, preferring a leading
    // "by"/"on"/"due"/"before" which is removed too.
    for i in 0..norm.len() {
        let lead = matches!(norm[i].as_str(), "by" | "on" | "due" | "before" | "until");
        let start = if lead { i + 1 } else { i };
        if start >= norm.len() {
            continue;
        }
        if let Some((date, len)) = phrase_at(&norm[start..], today, fiscal_year_start) {
            let mut rest: Vec<&str> = words[..i].to_vec();
            rest.extend_from_slice(&words[start + len..]);
            return (Some(date), rest.join(" "));
        }
    }
    (None, text.trim().to_string())
}

/// A due-date phrase at the start of `w`: the date and how many words it used.
fn phrase_at(w: &[String], today: NaiveDate, fy: u32) -> Option<(NaiveDate, usize)> {
    let at = |i: usize| w.get(i).map(String::as_str).unwrap_or("");
    if at(0) == "the" {
        return phrase_at(&w[1..], today, fy).map(|(d, n)| (d, n + 1));
    }
    match at(0) {
        "today" | "tonight" | "eod" => return Some((today, 1)),
        "tomorrow" | "tmrw" => return Some((today + Duration::days(1), 1)),
        "eow" => return Some((next_or_today(today, Weekday::Fri), 1)),
        "eom" => return Some((end_of_month(today), 1)),
        "eoq" => return Some((super::fiscal::quarter_end(today, fy), 1)),
        "eoy" => return Some((super::fiscal::year_end(today, fy), 1)),
        _ => {}
    }
    if let Ok(d) = NaiveDate::parse_from_str(at(0), "%Y-%m-%d") {
        return Some((d, 1));
    }
    if at(0) == "end" && at(1) == "of" {
        let (skip, base) = if at(2) == "the" { (3, 3) } else { (2, 2) };
        let _ = skip;
        return match (at(base), at(base + 1)) {
            ("week", _) => Some((next_or_today(today, Weekday::Fri), base + 1)),
            ("month", _) => Some((end_of_month(today), base + 1)),
            ("quarter", _) => Some((super::fiscal::quarter_end(today, fy), base + 1)),
            ("year", _) => Some((super::fiscal::year_end(today, fy), base + 1)),
            ("next", "week") => Some((
                next_or_today(today, Weekday::Fri) + Duration::days(7),
                base + 2,
            )),
            ("next", "month") => Some((
                end_of_month(end_of_month(today) + Duration::days(1)),
                base + 2,
            )),
            _ => None,
        };
    }
    if at(0) == "next" {
        return match at(1) {
            // "next week": the end of next week (its Friday).
            "week" => Some((next_or_today(today, Weekday::Fri) + Duration::days(7), 2)),
            "month" => Some((end_of_month(end_of_month(today) + Duration::days(1)), 2)),
            d => weekday(d).map(|wd| {
                // "next Friday": the Friday of next week.
                let monday_next =
                    today + Duration::days(7 - i64::from(today.weekday().num_days_from_monday()));
                let mut x = monday_next;
                while x.weekday() != wd {
                    x += Duration::days(1);
                }
                (x, 2)
            }),
        };
    }
    if at(0) == "this" {
        return weekday(at(1)).map(|wd| (next_or_today(today, wd), 2));
    }
    if at(0) == "in" {
        let n: i64 = match at(1) {
            "a" | "one" => 1,
            "two" => 2,
            "three" => 3,
            "four" => 4,
            x => x.parse().ok().filter(|n: &i64| (1..=365).contains(n))?,
        };
        let unit = at(2).trim_end_matches('s');
        return match unit {
            "day" => Some((today + Duration::days(n), 3)),
            "week" => Some((today + Duration::weeks(n), 3)),
            "month" => Some((today.checked_add_months(chrono::Months::new(n as u32))?, 3)),
            _ => None,
        };
    }
    if let Some(wd) = weekday(at(0)) {
        return Some((next_weekday(today, wd), 1));
    }
    // "5 Dec", "5th December", "Dec 5", "December 5th".
    let num = |s: &str| -> Option<u32> {
        s.trim_end_matches("st")
            .trim_end_matches("nd")
            .trim_end_matches("rd")
            .trim_end_matches("th")
            .parse()
            .ok()
    };
    if let (Some(d), Some(m)) = (num(at(0)), month(at(1)))
        && (1..=31).contains(&d)
    {
        return day_month(today, d, m).map(|x| (x, 2));
    }
    if let (Some(m), Some(d)) = (month(at(0)), num(at(1)))
        && (1..=31).contains(&d)
        && at(0).len() >= 3
    {
        return day_month(today, d, m).map(|x| (x, 2));
    }
    None
}

/// `day` this week if it is today or still ahead, else next week's.
fn next_or_today(today: NaiveDate, day: Weekday) -> NaiveDate {
    if today.weekday() == day {
        today
    } else {
        next_weekday(today, day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn quarter_and_year_ends_follow_the_fiscal_year() {
        let wed = NaiveDate::from_ymd_opt(2026, 11, 18).unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        assert_eq!(parse_due_fy("report EOQ", wed, 1).0, d("2026-12-31"));
        assert_eq!(parse_due_fy("report EOQ", wed, 2).0, d("2027-01-31"));
        assert_eq!(
            parse_due_fy("report by end of the quarter", wed, 4).0,
            d("2026-12-31")
        );
        assert_eq!(parse_due_fy("plan by EOY", wed, 4).0, d("2027-03-31"));
        assert_eq!(
            parse_due_fy("plan by end of year", wed, 7).0,
            d("2027-06-30")
        );
    }

    #[test]
    fn a_table_of_phrases() {
        // (today, phrase, expected due, expected remaining text)
        let wed = "2026-11-18"; // a Wednesday
        let cases: &[(&str, &str, Option<&str>, &str)] = &[
            (
                wed,
                "send readiness update by Friday",
                Some("2026-11-20"),
                "send readiness update",
            ),
            (wed, "send it by friday.", Some("2026-11-20"), "send it"),
            (
                wed,
                "call the vendor tomorrow",
                Some("2026-11-19"),
                "call the vendor",
            ),
            (wed, "draft today", Some("2026-11-18"), "draft"),
            (wed, "review next week", Some("2026-11-27"), "review"),
            (wed, "ship in 2 weeks", Some("2026-12-02"), "ship"),
            (wed, "ship in two weeks", Some("2026-12-02"), "ship"),
            (wed, "check in 3 days", Some("2026-11-21"), "check"),
            (wed, "plan in 1 month", Some("2026-12-18"), "plan"),
            (
                wed,
                "close the books by 2026-12-05",
                Some("2026-12-05"),
                "close the books",
            ),
            (wed, "fix by EOM", Some("2026-11-30"), "fix"),
            (wed, "fix by end of month", Some("2026-11-30"), "fix"),
            (
                wed,
                "fix by the end of the month",
                Some("2026-11-30"),
                "fix",
            ),
            (
                wed,
                "write by end of the quarter",
                Some("2026-12-31"),
                "write",
            ),
            (wed, "report EOQ", Some("2026-12-31"), "report"),
            (wed, "plan EOY", Some("2026-12-31"), "plan"),
            (wed, "by EOW send notes", Some("2026-11-20"), "send notes"),
            (wed, "on Monday kick off", Some("2026-11-23"), "kick off"),
            (wed, "by next Friday", Some("2026-11-27"), ""),
            (wed, "by this Friday", Some("2026-11-20"), ""),
            (wed, "by Wednesday", Some("2026-11-25"), ""),
            (wed, "by 5 Dec", Some("2026-12-05"), ""),
            (wed, "by December 5th", Some("2026-12-05"), ""),
            (wed, "by 3rd Nov", Some("2027-11-03"), ""),
            (wed, "sometime soon", None, "sometime soon"),
            // Month and year ends.
            (
                "2026-12-30",
                "wrap up tomorrow",
                Some("2026-12-31"),
                "wrap up",
            ),
            (
                "2026-12-31",
                "wrap up tomorrow",
                Some("2027-01-01"),
                "wrap up",
            ),
            ("2026-12-31", "send by EOM", Some("2026-12-31"), "send"),
            ("2026-12-28", "ship next week", Some("2027-01-08"), "ship"),
            (
                "2026-12-20",
                "budget in 2 weeks",
                Some("2027-01-03"),
                "budget",
            ),
            (
                "2027-01-31",
                "renew in 1 month",
                Some("2027-02-28"),
                "renew",
            ),
            ("2028-02-10", "close by EOM", Some("2028-02-29"), "close"),
            ("2026-12-20", "by Jan 4", Some("2027-01-04"), ""),
            ("2026-11-20", "by Friday", Some("2026-11-27"), ""),
            ("2026-11-20", "by EOW", Some("2026-11-20"), ""),
            (
                "2026-09-15",
                "plan by end of next month",
                Some("2026-10-31"),
                "plan",
            ),
        ];
        assert!(cases.len() >= 30);
        for (today, phrase, due, rest) in cases {
            let (got, left) = parse_due(phrase, d(today));
            assert_eq!(got, due.map(d), "{phrase:?} on {today}");
            if due.is_some() {
                assert_eq!(left, *rest, "{phrase:?} on {today}");
            }
        }
    }
}
