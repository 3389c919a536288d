//! Renderers turn a neutral [`Reply`](super::reply::Reply) into what a platform shows.

pub mod discord;
pub mod slack;
pub mod text;

/// Formats a figure for people: thousands separators, at most two decimals, and the unit.
pub fn figure(value: Option<f64>, unit: &str) -> String {
    let Some(v) = value else {
        return "—".to_string();
    };
    let rounded = (v * 100.0).round() / 100.0;
    let neg = rounded < 0.0;
    let abs = rounded.abs();
    let int = abs.trunc() as u64;
    let frac = ((abs - abs.trunc()) * 100.0).round() as u64;
    let digits = int.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let mut s = if neg { format!("-{grouped}") } else { grouped };
    if frac > 0 {
        if frac.is_multiple_of(10) {
            s.push_str(&format!(".{}", frac / 10));
        } else {
            s.push_str(&format!(".{frac:02}"));
        }
    }
    match unit {
        "" => s,
        "%" => format!("{s}%"),
        "$" | "€" | "£" => format!("{unit}{s}"),
        u => format!("{s} {u}"),
    }
}

/// A share as a whole percentage (`-0` never shows).
pub fn percent(p: f64) -> String {
    format!("{}%", (p.clamp(0.0, 1.0) * 100.0).round() as i64)
}

/// A ten-cell bar with a percentage, readable without colour.
pub fn progress_bar(p: Option<f64>) -> String {
    match p {
        None => format!("{}   n/a", "░".repeat(10)),
        Some(p) => {
            let p = p.clamp(0.0, 1.0);
            let filled = (p * 10.0).round() as usize;
            format!(
                "{}{} {:>3}%",
                "█".repeat(filled),
                "░".repeat(10 - filled),
                (p * 100.0).round() as i64
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_naturally() {
        assert_eq!(figure(Some(1234567.0), ""), "1,234,567");
        assert_eq!(figure(Some(62.5), "%"), "62.5%");
        assert_eq!(figure(Some(7.0), "days"), "7 days");
        assert_eq!(figure(Some(-3.25), "€"), "€-3.25");
        assert_eq!(figure(None, "%"), "—");
        assert_eq!(figure(Some(0.333333), ""), "0.33");
    }

    #[test]
    fn bars_fill_in_tenths() {
        assert_eq!(progress_bar(Some(0.62)), "██████░░░░  62%");
        assert_eq!(progress_bar(Some(1.5)), "██████████ 100%");
        assert_eq!(progress_bar(None), "░░░░░░░░░░   n/a");
        assert_eq!(progress_bar(Some(-0.0)), "░░░░░░░░░░   0%");
        assert_eq!(percent(-0.0), "0%");
        assert_eq!(percent(0.584), "58%");
    }
}
