//! Cadence rules: friendly presets (`weekly on mon at 09:00`) and raw `RRULE:` strings.
//!
//! This module checks a rule's syntax and derives its nominal period (used for staleness:
//! a key result with no check-in for two periods is stale). Occurrence expansion across
//! time zones lives with the scheduler.

use chrono::Duration;

/// How often a cadence repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freq {
    Daily,
    Weekly,
    Monthly,
    Yearly,
}

/// A checked cadence rule, reduced to what the core needs today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CadenceRule {
    pub freq: Freq,
    pub interval: u32,
}

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
}

const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn check_time(t: &str) -> Result<(), String> {
    let (h, m) = t
        .split_once(':')
        .ok_or_else(|| format!("time `{t}` must be HH:MM"))?;
    let h: u32 = h.parse().map_err(|_| format!("time `{t}` must be HH:MM"))?;
    let m: u32 = m.parse().map_err(|_| format!("time `{t}` must be HH:MM"))?;
    if h > 23 || m > 59 {
        return Err(format!("time `{t}` is not a valid time of day"));
    }
    Ok(())
}

fn check_days(days: &str) -> Result<(), String> {
    for d in days.split([',', '+']) {
        let d = d.trim();
        let d = d
            .strip_prefix("last ")
            .or_else(|| d.strip_prefix("first "))
            .unwrap_or(d);
        let short: String = d.chars().take(3).collect();
        if !WEEKDAYS.contains(&short.as_str()) && d != "weekday" && d != "weekdays" {
            return Err(format!("`{d}` is not a day of the week"));
        }
    }
    Ok(())
}

/// Checks a preset or raw rule and returns its frequency and interval.
pub fn parse_rule(rule: &str) -> Result<CadenceRule, String> {
    let trimmed = rule.trim();
    if trimmed.is_empty() {
        return Err("a cadence cannot be empty".into());
    }
    if let Some(raw) = trimmed
        .strip_prefix("RRULE:")
        .or_else(|| trimmed.strip_prefix("rrule:"))
    {
        return parse_rrule(raw);
    }
    let lower = trimmed.to_ascii_lowercase();
    let mut words = lower.split_whitespace().peekable();
    let head = words.next().unwrap_or_default();
    let (freq, interval) = match head {
        "daily" => (Freq::Daily, 1),
        "weekly" => (Freq::Weekly, 1),
        "biweekly" | "fortnightly" => (Freq::Weekly, 2),
        "monthly" => (Freq::Monthly, 1),
        "quarterly" => (Freq::Monthly, 3),
        "half-yearly" | "semiannually" | "half_yearly" => (Freq::Monthly, 6),
        "yearly" | "annually" | "annual" => (Freq::Yearly, 1),
        "every" => {
            let n: u32 = words
                .next()
                .and_then(|n| n.parse().ok())
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("`{trimmed}`: `every` needs a positive number"))?;
            let unit = words.next().unwrap_or_default();
            let freq = match unit.trim_end_matches('s') {
                "day" => Freq::Daily,
                "week" => Freq::Weekly,
                "month" => Freq::Monthly,
                "year" => Freq::Yearly,
                _ => return Err(format!("`{trimmed}`: unknown unit `{unit}`")),
            };
            (freq, n)
        }
        other => {
            return Err(format!(
                "`{other}` is not a cadence; use daily, weekly, biweekly, monthly, quarterly, \
                 half-yearly, yearly, `every N weeks`, or a raw `RRULE:`"
            ));
        }
    };
    // Optional clauses: `on <days>`, `at HH:MM`, `from YYYY-MM-DD`.
    let rest: Vec<&str> = words.collect();
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            "on" => {
                let mut days = Vec::new();
                i += 1;
                while i < rest.len() && !matches!(rest[i], "at" | "from") {
                    days.push(rest[i]);
                    i += 1;
                }
                if days.is_empty() {
                    return Err(format!("`{trimmed}`: `on` needs a day"));
                }
                check_days(&days.join(" "))?;
            }
            "at" => {
                let t = rest
                    .get(i + 1)
                    .ok_or_else(|| format!("`{trimmed}`: `at` needs a time"))?;
                check_time(t)?;
                i += 2;
            }
            "from" => {
                let d = rest
                    .get(i + 1)
                    .ok_or_else(|| format!("`{trimmed}`: `from` needs a date"))?;
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| format!("`{d}` is not a date (YYYY-MM-DD)"))?;
                i += 2;
            }
            w => return Err(format!("`{trimmed}`: unexpected `{w}`")),
        }
    }
    Ok(CadenceRule { freq, interval })
}

fn parse_rrule(raw: &str) -> Result<CadenceRule, String> {
    let mut freq = None;
    let mut interval = 1;
    for part in raw.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("RRULE part `{part}` must be KEY=VALUE"))?;
        match k.to_ascii_uppercase().as_str() {
            "FREQ" => {
                freq = Some(match v.to_ascii_uppercase().as_str() {
                    "DAILY" => Freq::Daily,
                    "WEEKLY" => Freq::Weekly,
                    "MONTHLY" => Freq::Monthly,
                    "YEARLY" => Freq::Yearly,
                    _ => return Err(format!("RRULE FREQ `{v}` is not supported")),
                })
            }
            "INTERVAL" => {
                interval = v
                    .parse()
                    .ok()
                    .filter(|n: &u32| *n >= 1)
                    .ok_or_else(|| format!("RRULE INTERVAL `{v}` must be a positive number"))?
            }
            "BYDAY" | "BYHOUR" | "BYMINUTE" | "BYMONTHDAY" | "BYMONTH" | "BYSETPOS" | "COUNT"
            | "UNTIL" | "WKST" | "BYSECOND" | "BYYEARDAY" | "BYWEEKNO" => {}
            other => return Err(format!("RRULE part `{other}` is not known")),
        }
    }
    let freq = freq.ok_or("RRULE needs FREQ")?;
    Ok(CadenceRule { freq, interval })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(parse_rule("").is_err());
    }
}
