//! Renderers turn a neutral [`Reply`](super::reply::Reply) into what a platform shows.

pub mod discord;
pub mod slack;
pub mod text;

/// Widest a monospace table may be where it is shown as a code block (Slack, Discord):
/// wider tables become records (fields), because chat clients wrap long code lines into
/// noise.
pub const CODE_TABLE_MAX: usize = 60;

/// A table row read as a record, for places a table does not fit: its first two cells as
/// a headline (indentation kept, as nesting), then every other non-blank cell with its
/// column's title.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Leading spaces of the first cell: key results sit under their objective.
    pub indent: usize,
    pub head: String,
    pub fields: Vec<(String, String)>,
}

/// The rows of `t` as [`Record`]s.
pub fn records(t: &crate::bot::reply::Table) -> Vec<Record> {
    t.rows
        .iter()
        .map(|row| {
            let texts: Vec<String> = row.iter().map(text::cell_text).collect();
            let first = texts.first().map(String::as_str).unwrap_or("");
            let indent = first.chars().take_while(|c| *c == ' ').count();
            let head = texts
                .iter()
                .take(2)
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            let fields = texts
                .iter()
                .enumerate()
                .skip(2)
                .filter(|(_, s)| !s.trim().is_empty())
                .map(|(i, s)| {
                    let title = t
                        .columns
                        .get(i)
                        .map(|c| c.title.clone())
                        .unwrap_or_default();
                    (title, s.trim().to_string())
                })
                .collect();
            Record {
                indent,
                head,
                fields,
            }
        })
        .collect()
}

/// Greedy word wrap to `width` characters; lines after the first start with `indent`.
/// A word longer than a line is cut. Never returns a line wider than `width` (for
/// `width` larger than the indent).
pub fn wrap(s: &str, width: usize, indent: &str) -> Vec<String> {
    if s.chars().count() <= width {
        return vec![s.to_string()];
    }
    let ind_len = indent.chars().count();
    let width = width.max(ind_len + 8);
    let lead: String = s.chars().take_while(|c| *c == ' ').collect();
    let mut out = Vec::new();
    let mut len = lead.chars().count();
    let mut cur = lead;
    // No word on the current line yet.
    let mut fresh = true;
    for word in s
        .trim_start_matches(' ')
        .split(' ')
        .filter(|w| !w.is_empty())
    {
        let w = word.chars().count();
        if !fresh && len + 1 + w > width {
            out.push(std::mem::replace(&mut cur, indent.to_string()));
            len = ind_len;
            fresh = true;
        }
        if !fresh {
            cur.push(' ');
            len += 1;
        }
        let mut chars: Vec<char> = word.chars().collect();
        while len + chars.len() > width {
            let room = width.saturating_sub(len);
            cur.extend(chars.drain(..room));
            out.push(std::mem::replace(&mut cur, indent.to_string()));
            len = ind_len;
        }
        len += chars.len();
        cur.extend(chars);
        fresh = false;
    }
    out.push(cur);
    out.into_iter().map(|l| l.trim_end().to_string()).collect()
}

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
    fn wrapping_never_exceeds_the_width() {
        let lines = wrap(
            "Value 72% · Target 85% · Progress █████░░░░░  48%",
            20,
            "    ",
        );
        assert_eq!(
            lines,
            vec![
                "Value 72% · Target",
                "    85% · Progress",
                "    █████░░░░░ 48%"
            ]
        );
        let long = wrap(&"x".repeat(50), 20, "  ");
        assert!(long.iter().all(|l| l.chars().count() <= 20), "{long:?}");
        assert_eq!(long.concat().replace(' ', ""), "x".repeat(50));
        assert_eq!(wrap("  indented", 80, ""), vec!["  indented"]);
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
