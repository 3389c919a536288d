//! Working hours: when baton may nudge a person (PRODUCT §3).
//!
//! Each person has working hours: their own from the manifest, else their home
//! department's (or its nearest ancestor's), else the organisation's, else 09:00–18:00
//! Monday to Friday ([`super::org::hours_of`]). They are read in the person's own zone, day by day in
//! local wall-clock time, so they follow daylight-saving changes: 09:00 stays 09:00 local
//! and the UTC instant moves. Company holidays are not working days.
//!
//! Reminders, snooze returns, action reminders and escalations land inside working hours
//! ([`WorkCalendar::next_start`] moves an instant outside them to the next start); prompts
//! are not moved, they go at their cadence's time. A working period is half-open,
//! `[start, end)`: at 18:00 sharp the day is over.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::cadence::to_instant;

/// Days of the week and a daily span, e.g. `mon-fri 09:00-18:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WorkingHours {
    /// Bit `n` set: `Weekday::num_days_from_monday() == n` is a working day.
    days: u8,
    start: NaiveTime,
    end: NaiveTime,
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl Default for WorkingHours {
    /// 09:00–18:00, Monday to Friday.
    fn default() -> Self {
        WorkingHours {
            days: 0b0001_1111,
            start: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00"),
            end: NaiveTime::from_hms_opt(18, 0, 0).expect("18:00"),
        }
    }
}

fn day_index(word: &str) -> Option<u32> {
    let short: String = word.chars().take(3).collect();
    DAY_NAMES.iter().position(|d| *d == short).map(|i| i as u32)
}

fn time(t: &str) -> Result<NaiveTime, String> {
    let (h, m) = t
        .split_once(':')
        .ok_or_else(|| format!("`{t}` must be a time HH:MM"))?;
    let (h, m): (u32, u32) = (
        h.parse()
            .map_err(|_| format!("`{t}` must be a time HH:MM"))?,
        m.parse()
            .map_err(|_| format!("`{t}` must be a time HH:MM"))?,
    );
    if h == 24 && m == 0 {
        // The end of the day.
        return Ok(NaiveTime::from_hms_opt(23, 59, 59).expect("valid"));
    }
    NaiveTime::from_hms_opt(h, m, 0).ok_or_else(|| format!("`{t}` is not a time of day"))
}

impl WorkingHours {
    /// Reads `<days> <HH:MM>-<HH:MM>`: days as `mon-fri`, `sun-thu` (ranges wrap),
    /// `mon,wed,fri`, `weekdays` or `daily`; the end after the start on the same day.
    pub fn parse(text: &str) -> Result<WorkingHours, String> {
        let lower = text.trim().to_ascii_lowercase();
        let usage = "working hours are written like `mon-fri 09:00-18:00`";
        let (days_text, span) = lower
            .rsplit_once(char::is_whitespace)
            .ok_or_else(|| format!("`{text}`: {usage}"))?;
        let (from, to) = span
            .split_once('-')
            .ok_or_else(|| format!("`{text}`: {usage}"))?;
        let (start, end) = (time(from.trim())?, time(to.trim())?);
        if end <= start {
            return Err(format!(
                "`{text}`: the day must end after it starts ({from} to {to})"
            ));
        }
        let mut days = 0u8;
        for part in days_text
            .split([',', ' '])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match part {
                "weekdays" => days |= 0b0001_1111,
                "daily" | "everyday" | "all" => days |= 0b0111_1111,
                _ => {
                    let (a, b) = part.split_once('-').unwrap_or((part, part));
                    let bad = || format!("`{text}`: `{part}` is not a day or a range of days");
                    let (a, b) = (day_index(a).ok_or_else(bad)?, day_index(b).ok_or_else(bad)?);
                    let mut d = a;
                    loop {
                        days |= 1 << d;
                        if d == b {
                            break;
                        }
                        d = (d + 1) % 7;
                    }
                }
            }
        }
        if days == 0 {
            return Err(format!("`{text}`: name at least one working day; {usage}"));
        }
        Ok(WorkingHours { days, start, end })
    }

    pub fn is_working_day(&self, d: Weekday) -> bool {
        self.days & (1 << d.num_days_from_monday()) != 0
    }

    pub fn start(&self) -> NaiveTime {
        self.start
    }
}

impl std::fmt::Display for WorkingHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = (0..7)
            .filter(|i| self.days & (1 << i) != 0)
            .map(|i| DAY_NAMES[i])
            .collect();
        let days = if self.days == 0b0001_1111 {
            "mon-fri".to_string()
        } else if self.days == 0b0111_1111 {
            "daily".to_string()
        } else {
            names.join(",")
        };
        write!(
            f,
            "{days} {}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

impl TryFrom<String> for WorkingHours {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        WorkingHours::parse(&s)
    }
}

impl From<WorkingHours> for String {
    fn from(h: WorkingHours) -> String {
        h.to_string()
    }
}

/// A person's working time: hours, zone and the company's holidays.
#[derive(Debug, Clone, Copy)]
pub struct WorkCalendar<'a> {
    pub hours: WorkingHours,
    pub tz: Tz,
    pub holidays: &'a [NaiveDate],
}

/// How far ahead a next start is looked for (a year of holidays cannot hide every day).
const SEARCH_DAYS: i64 = 400;

impl WorkCalendar<'_> {
    /// The working period of a local date, as instants, if that date is a working day.
    fn period(&self, day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.hours.is_working_day(day.weekday()) || self.holidays.contains(&day) {
            return None;
        }
        let s = to_instant(day.and_time(self.hours.start), self.tz);
        let e = to_instant(day.and_time(self.hours.end), self.tz);
        (e > s).then_some((s, e))
    }

    /// Working periods that end after `t`, in order, starting with the one `t` is in.
    fn periods_from(
        &self,
        t: DateTime<Utc>,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let first = t.with_timezone(&self.tz).date_naive() - Duration::days(1);
        (0..SEARCH_DAYS)
            .filter_map(move |i| self.period(first + Duration::days(i)))
            .filter(move |(_, e)| *e > t)
    }

    /// Whether `t` is inside working hours.
    pub fn is_working(&self, t: DateTime<Utc>) -> bool {
        self.periods_from(t).next().is_some_and(|(s, _)| s <= t)
    }

    /// `t` itself when it is inside working hours, else the next start of working hours.
    /// (Should a year hold no working day at all, `t` is returned unchanged.)
    pub fn next_start(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        self.periods_from(t)
            .next()
            .map(|(s, _)| s.max(t))
            .unwrap_or(t)
    }

    /// Working time inside `[from, until)`.
    pub fn working_time(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        for (s, e) in self.periods_from(from) {
            if s >= until {
                break;
            }
            total += e.min(until) - s.max(from);
        }
        total
    }

    /// The instant inside `[from, until)` at which `share` (0–1) of the working time in it
    /// has passed; always inside working hours. `None` when the span holds no working time.
    pub fn share_of_working_time(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        share: f64,
    ) -> Option<DateTime<Utc>> {
        let total = self.working_time(from, until);
        if total <= Duration::zero() {
            return None;
        }
        let mut left = Duration::milliseconds(
            (total.num_milliseconds() as f64 * share.clamp(0.0, 1.0)) as i64,
        );
        for (s, e) in self.periods_from(from) {
            let (s, e) = (s.max(from), e.min(until));
            if s >= until {
                break;
            }
            if left < e - s {
                return Some(s + left);
            }
            left -= e - s;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn cal(tz: &str) -> WorkCalendar<'static> {
        WorkCalendar {
            hours: WorkingHours::default(),
            tz: tz.parse().unwrap(),
            holidays: &[],
        }
    }

    #[test]
    fn hours_parse_and_print() {
        let h = WorkingHours::parse("mon-fri 09:00-18:00").unwrap();
        assert_eq!(h, WorkingHours::default());
        assert_eq!(h.to_string(), "mon-fri 09:00-18:00");
        let h = WorkingHours::parse("sun-thu 08:30-17:00").unwrap();
        assert!(h.is_working_day(Weekday::Sun) && h.is_working_day(Weekday::Thu));
        assert!(!h.is_working_day(Weekday::Fri));
        assert_eq!(h.to_string(), "mon,tue,wed,thu,sun 08:30-17:00");
        assert_eq!(WorkingHours::parse(&h.to_string()).unwrap(), h);
        assert!(WorkingHours::parse("mon,wed 10:00-14:00").is_ok());
        assert!(WorkingHours::parse("daily 00:00-24:00").is_ok());
        for bad in [
            "mon-fri",
            "mon-fri 18:00-09:00",
            "funday 09:00-17:00",
            "mon-fri 9-17",
            "mon-fri 25:00-26:00",
            "",
        ] {
            assert!(WorkingHours::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn instants_outside_hours_move_to_the_next_start_in_each_zone() {
        // Berlin, Friday 22:10 CET → Monday 09:00 CET.
        let berlin = cal("Europe/Berlin");
        assert_eq!(
            berlin.next_start(utc("2026-11-20T21:10:00Z")),
            utc("2026-11-23T08:00:00Z")
        );
        // Inside hours: unchanged. 18:00 sharp is outside.
        let t = utc("2026-11-23T10:00:00Z");
        assert_eq!(berlin.next_start(t), t);
        assert!(!berlin.is_working(utc("2026-11-23T17:00:00Z")));
        // New York, Tuesday 00:24 EST → Tuesday 09:00 EST.
        let ny = cal("America/New_York");
        assert_eq!(
            ny.next_start(utc("2026-11-17T05:24:00Z")),
            utc("2026-11-17T14:00:00Z")
        );
        // Sydney, Tuesday 03:12 AEDT → Tuesday 09:00 AEDT (22:00Z Monday).
        let syd = cal("Australia/Sydney");
        assert_eq!(
            syd.next_start(utc("2026-11-16T16:12:00Z")),
            utc("2026-11-16T22:00:00Z")
        );
    }

    #[test]
    fn daylight_saving_keeps_nine_local() {
        // Berlin springs forward on Sunday 29 March 2026: Monday starts 09:00 CEST = 07:00Z.
        let berlin = cal("Europe/Berlin");
        assert_eq!(
            berlin.next_start(utc("2026-03-27T18:00:00Z")),
            utc("2026-03-30T07:00:00Z")
        );
        // New York springs forward on 8 March 2026: Friday 09:00 EST = 14:00Z, Monday 13:00Z.
        let ny = cal("America/New_York");
        assert_eq!(
            ny.next_start(utc("2026-03-06T03:00:00Z")),
            utc("2026-03-06T14:00:00Z")
        );
        assert_eq!(
            ny.next_start(utc("2026-03-06T23:30:00Z")),
            utc("2026-03-09T13:00:00Z")
        );
        // Sydney falls back on Sunday 5 April 2026: Monday 09:00 AEST = 23:00Z Sunday.
        let syd = cal("Australia/Sydney");
        assert_eq!(
            syd.next_start(utc("2026-04-03T08:00:00Z")),
            utc("2026-04-05T23:00:00Z")
        );
        // …and springs forward on Sunday 4 October: Monday 09:00 AEDT = 22:00Z Sunday.
        assert_eq!(
            syd.next_start(utc("2026-10-02T08:00:00Z")),
            utc("2026-10-04T22:00:00Z")
        );
        // A working week across Berlin's autumn change still holds 5 × 9 hours.
        assert_eq!(
            berlin.working_time(utc("2026-10-24T00:00:00Z"), utc("2026-10-31T00:00:00Z")),
            Duration::hours(45)
        );
    }

    #[test]
    fn holidays_are_not_working_days() {
        let hol = [NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()];
        let c = WorkCalendar {
            hours: WorkingHours::default(),
            tz: chrono_tz::Europe::London,
            holidays: &hol,
        };
        // Thursday 24 Dec 19:00 → Monday 28 Dec 09:00 (Friday is a holiday).
        assert_eq!(
            c.next_start(utc("2026-12-24T19:00:00Z")),
            utc("2026-12-28T09:00:00Z")
        );
    }

    #[test]
    fn a_share_of_the_working_time_lands_inside_hours() {
        let london = cal("Europe/London");
        // A daily window Monday 09:00 → Tuesday 09:00: nine working hours; 80 % → 16:12.
        assert_eq!(
            london.share_of_working_time(
                utc("2026-11-16T09:00:00Z"),
                utc("2026-11-17T09:00:00Z"),
                0.8
            ),
            Some(utc("2026-11-16T16:12:00Z"))
        );
        // A weekly window from Monday 09:00: 45 hours; 80 % = 36 h → Friday 09:00 (the end
        // of Thursday's period is not inside working hours).
        assert_eq!(
            london.share_of_working_time(
                utc("2026-11-16T09:00:00Z"),
                utc("2026-11-23T09:00:00Z"),
                0.8
            ),
            Some(utc("2026-11-20T09:00:00Z"))
        );
        // A weekend window holds no working time.
        assert_eq!(
            london.share_of_working_time(
                utc("2026-11-21T09:00:00Z"),
                utc("2026-11-22T09:00:00Z"),
                0.8
            ),
            None
        );
    }

    proptest! {
        /// Whatever the instant and zone, the next start is inside working hours, not
        /// earlier than the instant, and no working moment is skipped on the way.
        #[test]
        fn next_start_is_inside_hours_and_skips_no_working_time(
            secs in 1_767_225_600i64..1_830_297_600,
            zone in 0usize..3,
        ) {
            let tz = ["Europe/Berlin", "America/New_York", "Australia/Sydney"][zone];
            let c = cal(tz);
            let t = Utc.timestamp_opt(secs, 0).unwrap();
            let n = c.next_start(t);
            prop_assert!(n >= t);
            prop_assert!(c.is_working(n), "{n} in {tz}");
            prop_assert_eq!(c.working_time(t, n), Duration::zero());
            let local = n.with_timezone(&c.tz);
            prop_assert!(local.weekday().num_days_from_monday() < 5);
            prop_assert!(local.time() >= NaiveTime::from_hms_opt(9, 0, 0).unwrap());
            prop_assert!(local.time() < NaiveTime::from_hms_opt(18, 0, 0).unwrap());
        }

        /// A share of a window's working time is inside working hours and inside the window.
        #[test]
        fn shares_land_inside_the_window_and_hours(
            secs in 1_767_225_600i64..1_830_297_600,
            days in 1i64..40,
            zone in 0usize..3,
        ) {
            let tz = ["Europe/Berlin", "America/New_York", "Australia/Sydney"][zone];
            let c = cal(tz);
            let from = Utc.timestamp_opt(secs, 0).unwrap();
            let until = from + Duration::days(days);
            if let Some(r) = c.share_of_working_time(from, until, 0.8) {
                prop_assert!(r >= from && r < until);
                prop_assert!(c.is_working(r));
            } else {
                prop_assert_eq!(c.working_time(from, until), Duration::zero());
            }
        }
    }
}
