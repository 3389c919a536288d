//! Fiscal years: quarters and halves counted from the organisation's `fiscal_year_start`
//! month (1–12, default 1).
//!
//! A fiscal year is named by the calendar year in which it **starts**: with
//! `fiscal_year_start: 4`, fiscal 2026 runs from 1 April 2026 to 31 March 2027, its Q1 is
//! April–June 2026 and its Q4 January–March 2027. With the default (January) fiscal years
//! are calendar years.
//!
//! Who follows it: the `quarterly`, `half-yearly` and `yearly` cadence presets (and
//! `every N months`) count from the first day of the fiscal year unless their rule names a
//! `from` date ([`crate::domain::cadence::parse_rule_fy`]); OKR cycles whose key names a
//! fiscal period (`2026-Q3`, `2026-H1`, `FY2026`) may leave out their dates, which are then
//! [`period_dates`]; "end of quarter" / "EOQ" and "end of year" / "EOY" in due dates mean
//! the fiscal quarter and year.

use chrono::{Datelike, Months, NaiveDate};

/// The first day of the fiscal year that contains `day`.
pub fn year_start(day: NaiveDate, fiscal_year_start: u32) -> NaiveDate {
    let m = fiscal_year_start.clamp(1, 12);
    let year = if day.month() >= m {
        day.year()
    } else {
        day.year() - 1
    };
    NaiveDate::from_ymd_opt(year, m, 1).expect("valid first of month")
}

/// The last day of a span of `months` months starting at `start`.
fn last_day(start: NaiveDate, months: u32) -> NaiveDate {
    start
        .checked_add_months(Months::new(months))
        .and_then(|d| d.pred_opt())
        .expect("dates in range")
}

/// The last day of the fiscal quarter that contains `day`.
pub fn quarter_end(day: NaiveDate, fiscal_year_start: u32) -> NaiveDate {
    let start = year_start(day, fiscal_year_start);
    let months = (day.year() - start.year()) * 12 + day.month() as i32 - start.month() as i32;
    let q_start = start
        .checked_add_months(Months::new((months as u32 / 3) * 3))
        .expect("dates in range");
    last_day(q_start, 3)
}

/// The last day of the fiscal year that contains `day`.
pub fn year_end(day: NaiveDate, fiscal_year_start: u32) -> NaiveDate {
    last_day(year_start(day, fiscal_year_start), 12)
}

/// The dates (first and last day, inclusive) of a fiscal period named like a cycle key:
/// `2026-Q1`…`2026-Q4`, `2026-H1`/`2026-H2`, `FY2026` or `2026` (the whole year), with an
/// optional `FY` prefix on all of them (`FY2026-Q2`), in any case. `None` for other names.
pub fn period_dates(name: &str, fiscal_year_start: u32) -> Option<(NaiveDate, NaiveDate)> {
    let lower = name.trim().to_ascii_lowercase();
    let rest = lower.strip_prefix("fy").unwrap_or(&lower);
    let (year, part) = match rest.split_once(['-', '_']) {
        Some((y, p)) => (y, Some(p)),
        None => (rest, None),
    };
    if year.len() != 4 || !year.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let start = NaiveDate::from_ymd_opt(year, fiscal_year_start.clamp(1, 12), 1)?;
    let (offset, months) = match part {
        None => (0, 12),
        Some(p) => {
            let (kind, n) = p.split_at(1);
            let n: u32 = n.parse().ok()?;
            match (kind, n) {
                ("q", 1..=4) => ((n - 1) * 3, 3),
                ("h", 1..=2) => ((n - 1) * 6, 6),
                _ => return None,
            }
        }
    };
    let first = start.checked_add_months(Months::new(offset))?;
    Some((first, last_day(first, months)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn quarters_and_years_count_from_the_fiscal_start() {
        assert_eq!(quarter_end(d("2026-11-16"), 1), d("2026-12-31"));
        assert_eq!(quarter_end(d("2026-11-16"), 2), d("2027-01-31"));
        assert_eq!(quarter_end(d("2026-01-10"), 2), d("2026-01-31"));
        assert_eq!(quarter_end(d("2026-02-01"), 2), d("2026-04-30"));
        assert_eq!(quarter_end(d("2026-05-20"), 4), d("2026-06-30"));
        assert_eq!(year_end(d("2026-11-16"), 1), d("2026-12-31"));
        assert_eq!(year_end(d("2026-11-16"), 4), d("2027-03-31"));
        assert_eq!(year_end(d("2026-02-16"), 4), d("2026-03-31"));
    }

    #[test]
    fn cycle_names_give_their_dates() {
        assert_eq!(
            period_dates("2026-Q4", 1),
            Some((d("2026-10-01"), d("2026-12-31")))
        );
        assert_eq!(
            period_dates("2026-q4", 2),
            Some((d("2026-11-01"), d("2027-01-31")))
        );
        assert_eq!(
            period_dates("FY2026-H2", 4),
            Some((d("2026-10-01"), d("2027-03-31")))
        );
        assert_eq!(
            period_dates("fy2026", 7),
            Some((d("2026-07-01"), d("2027-06-30")))
        );
        assert_eq!(
            period_dates("2027", 1),
            Some((d("2027-01-01"), d("2027-12-31")))
        );
        for other in ["q4", "2026-Q5", "2026-H3", "launch", "26-Q1", "2026-Qx"] {
            assert_eq!(period_dates(other, 1), None, "{other}");
        }
    }

    proptest! {
        /// The four quarters of a fiscal year tile it: each starts the day after the last
        /// ends, and every day's quarter end is the end of the quarter that holds it.
        #[test]
        fn quarters_tile_the_year(year in 2000i32..2100, fy in 1u32..=12, day in 0i64..365) {
            let (ys, ye) = period_dates(&format!("{year}"), fy).unwrap();
            let mut next = ys;
            for q in 1..=4 {
                let (s, e) = period_dates(&format!("{year}-Q{q}"), fy).unwrap();
                prop_assert_eq!(s, next);
                next = e.succ_opt().unwrap();
            }
            prop_assert_eq!(next, ye.succ_opt().unwrap());
            let t = ys + chrono::Duration::days(day);
            let qe = quarter_end(t, fy);
            prop_assert!(qe >= t && qe <= ye);
            prop_assert_eq!(year_end(t, fy), ye);
            prop_assert_eq!(year_start(t, fy), ys);
        }
    }
}
