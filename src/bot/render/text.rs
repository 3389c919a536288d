//! Plain-text rendering for the terminal: aligned columns, progress bars and status marks
//! that read without colour.

use crate::bot::reply::{Align, Block, Cell, Reply, Table};

use super::{figure, progress_bar, records, wrap};

pub(crate) fn cell_text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Progress(p) => progress_bar(*p),
        Cell::Status { status, stale } => {
            if *stale {
                format!("{} {} (stale)", status.mark(), status.label())
            } else {
                format!("{} {}", status.mark(), status.label())
            }
        }
        Cell::Figure { value, unit } => figure(*value, unit),
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, w: usize, align: Align) -> String {
    let fill = w.saturating_sub(width(s));
    match align {
        Align::Left => format!("{s}{}", " ".repeat(fill)),
        Align::Right => format!("{}{s}", " ".repeat(fill)),
    }
}

/// Longest a text cell may be before it is cut with an ellipsis, so tables stay readable.
const MAX_CELL: usize = 72;

fn clip(s: String) -> String {
    if width(&s) <= MAX_CELL {
        s
    } else {
        let mut t: String = s.chars().take(MAX_CELL - 1).collect();
        t.push('…');
        t
    }
}

pub fn render_table(t: &Table) -> String {
    let cells: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                // The last column has nothing to its right to misalign: never clip it.
                .map(|(i, c)| {
                    if i + 1 == t.columns.len() {
                        cell_text(c)
                    } else {
                        clip(cell_text(c))
                    }
                })
                .collect()
        })
        .collect();
    let mut widths: Vec<usize> = t.columns.iter().map(|c| width(&c.title)).collect();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(width(c));
            }
        }
    }
    let mut out = String::new();
    let line = |vals: Vec<String>| -> String {
        let s: Vec<String> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| pad(v, widths[i], t.columns[i].align))
            .collect();
        s.join("  ").trim_end().to_string()
    };
    out.push_str(&line(t.columns.iter().map(|c| c.title.clone()).collect()));
    out.push('\n');
    out.push_str(
        &widths
            .iter()
            .map(|w| "─".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    out.push('\n');
    for row in cells {
        let mut vals = row;
        vals.resize(widths.len(), String::new());
        out.push_str(&line(vals));
        out.push('\n');
    }
    out
}

/// `t` as an aligned table when it fits in `max` columns, else as records: each row's
/// headline, then its other cells as `Column: value` pairs, wrapped at `max`.
pub fn render_table_within(t: &Table, max: usize) -> String {
    let natural = render_table(t);
    if natural.lines().all(|l| width(l) <= max) {
        return natural;
    }
    let mut out = String::new();
    for r in records(t) {
        let ind = " ".repeat(r.indent);
        let head = format!("{ind}{}", r.head);
        for l in wrap(&head, max, &format!("{ind}  ")) {
            out.push_str(&l);
            out.push('\n');
        }
        if r.fields.is_empty() {
            continue;
        }
        let body = format!(
            "{ind}    {}",
            r.fields
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect::<Vec<_>>()
                .join(" · ")
        );
        for l in wrap(&body, max, &format!("{ind}    ")) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

/// The width the terminal renderer wraps at when the terminal's is unknown.
pub const DEFAULT_WIDTH: usize = 80;

/// Renders a reply as text with no width limit (fallback texts, logs, tests). Forms are
/// rendered as a title; the shell asks for their fields one by one.
pub fn render(reply: &Reply) -> String {
    render_inner(reply, None, usize::MAX)
}

/// As [`render`], `width` columns wide: text wraps, and a table wider than that is shown
/// as records.
pub fn render_width(reply: &Reply, width: usize) -> String {
    render_inner(reply, None, width)
}

/// As [`render_width`], with each button numbered (`[1 Update S1]`) after the ones
/// already in `buttons`, and pushed there: the shell presses them by number.
pub fn render_pressable(
    reply: &Reply,
    buttons: &mut Vec<crate::bot::reply::Action>,
    width: usize,
) -> String {
    render_inner(reply, Some(buttons), width)
}

fn push_wrapped(out: &mut String, s: &str, max: usize, indent: &str) {
    for line in s.lines() {
        for l in wrap(line, max, indent) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    if s.is_empty() {
        out.push('\n');
    }
}

fn render_inner(
    reply: &Reply,
    mut buttons: Option<&mut Vec<crate::bot::reply::Action>>,
    max: usize,
) -> String {
    let mut out = String::new();
    for (i, b) in reply.blocks.iter().enumerate() {
        if i > 0 && matches!(b, Block::Heading(_)) {
            out.push('\n');
        }
        match b {
            Block::Heading(h) => {
                push_wrapped(&mut out, h, max, "");
                out.push_str(&"═".repeat(width(h).min(max)));
                out.push('\n');
            }
            Block::Text(t) => push_wrapped(&mut out, t, max, "  "),
            Block::Note(t) => push_wrapped(&mut out, &format!("  {t}"), max, "    "),
            Block::Table(t) => out.push_str(&render_table_within(t, max)),
            Block::Error(e) => push_wrapped(&mut out, &format!("Error: {e}"), max, "  "),
            Block::Form(f) => push_wrapped(&mut out, &format!("» {}", f.title), max, "  "),
            // The terminal shows text; `--png <dir>` writes the pictures as files.
            Block::Image(_) => {}
            Block::Actions(actions) => {
                let labels: Vec<String> = actions
                    .iter()
                    .map(|a| match buttons.as_deref_mut() {
                        Some(b) => {
                            b.push(a.clone());
                            format!("[{} {}]", b.len(), a.label)
                        }
                        None => format!("[{}]", a.label),
                    })
                    .collect();
                push_wrapped(&mut out, &labels.join(" "), max, "");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    #[test]
    fn tables_align_columns() {
        let mut t = Table::new(&[
            ("Code", Align::Left),
            ("Progress", Align::Left),
            ("Value", Align::Right),
        ]);
        t.row(vec![
            Cell::text("S1"),
            Cell::Progress(Some(0.5)),
            Cell::Figure {
                value: Some(72.0),
                unit: "%".into(),
            },
        ]);
        t.row(vec![
            Cell::text("ENG-10"),
            Cell::Progress(None),
            Cell::Figure {
                value: Some(7.0),
                unit: "days".into(),
            },
        ]);
        let s = render_table(&t);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[2].starts_with("S1      █████░░░░░  50%"), "{s}");
        assert!(lines[2].ends_with("    72%"), "{s}");
        assert!(lines[3].ends_with("7 days"), "{s}");
    }

    #[test]
    fn status_reads_without_colour() {
        let c = Cell::Status {
            status: Status::AtRisk,
            stale: true,
        };
        assert_eq!(cell_text(&c), "▲ at risk (stale)");
    }
}
