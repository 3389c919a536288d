//! The one font every picture uses, embedded in the binary (DejaVu Sans, Bitstream Vera
//! licence: `fonts/LICENSE-DejaVu.txt`), and text measurement with its own metrics.
//!
//! Only these faces are loaded into the rasteriser's font database, never system fonts,
//! so a picture renders the same pixels on every machine, and the layout can size boxes
//! to their text before anything is drawn.

use std::sync::{Arc, OnceLock};

use resvg::usvg::fontdb;
use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

pub const REGULAR: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");
pub const BOLD: &[u8] = include_bytes!("fonts/DejaVuSans-Bold.ttf");
/// The family name both faces declare; every `<text>` names it.
pub const FAMILY: &str = "DejaVu Sans";

/// The rasteriser's font database: the embedded faces and nothing else.
pub fn database() -> Arc<fontdb::Database> {
    static DB: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = fontdb::Database::new();
        db.load_font_data(REGULAR.to_vec());
        db.load_font_data(BOLD.to_vec());
        db.set_sans_serif_family(FAMILY);
        Arc::new(db)
    })
    .clone()
}

fn face(bold: bool) -> FontRef<'static> {
    FontRef::new(if bold { BOLD } else { REGULAR }).expect("the embedded font parses")
}

/// Kerning and shaping can make a run a little narrower or wider than the sum of its
/// advances; measuring a hair wide keeps text inside the boxes sized from it.
const SAFETY: f64 = 1.02;

/// Width in pixels of `s` at `size` px.
pub fn width(s: &str, size: f64, bold: bool) -> f64 {
    let f = face(bold);
    let charmap = f.charmap();
    let metrics = f.glyph_metrics(Size::new(size as f32), LocationRef::default());
    let w: f32 = s
        .chars()
        .map(|c| {
            let g = charmap.map(c).unwrap_or_default();
            metrics.advance_width(g).unwrap_or(0.0)
        })
        .sum();
    f64::from(w) * SAFETY
}

/// Distance from the top of a line box to the baseline, at `size` px.
pub fn ascent(size: f64) -> f64 {
    let m = face(false).metrics(Size::new(size as f32), LocationRef::default());
    f64::from(m.ascent)
}

/// Height of one line of text at `size` px (ascent + descent, no extra leading).
pub fn line_height(size: f64) -> f64 {
    let m = face(false).metrics(Size::new(size as f32), LocationRef::default());
    f64::from(m.ascent - m.descent)
}

/// Breaks `text` into lines no wider than `max` px, at spaces; a single word wider than
/// `max` is broken inside (with a hyphen). At most `max_lines` lines: the last one ends
/// with an ellipsis when text was left out.
pub fn wrap(text: &str, max: f64, size: f64, bold: bool, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split_whitespace() {
        let candidate = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if width(&candidate, size, bold) <= max {
            cur = candidate;
            continue;
        }
        if !cur.is_empty() {
            lines.push(std::mem::take(&mut cur));
        }
        // The word alone may still be too wide: cut it into pieces that fit.
        let mut rest = word.to_string();
        while width(&rest, size, bold) > max {
            let chars: Vec<char> = rest.chars().collect();
            let mut n = chars.len().saturating_sub(1);
            while n > 1
                && width(
                    &format!("{}-", chars[..n].iter().collect::<String>()),
                    size,
                    bold,
                ) > max
            {
                n -= 1;
            }
            let n = n.max(1);
            lines.push(format!("{}-", chars[..n].iter().collect::<String>()));
            rest = chars[n..].iter().collect();
        }
        cur = rest;
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            *last = ellipsize(&format!("{last}…"), max, size, bold);
        }
    }
    lines
}

/// Breaks `text` into at most `max_lines` lines no wider than `max` px, at spaces only:
/// no word is cut. When words are left over, the last line ends with an ellipsis after
/// the last whole word that fits. Only a single word wider than a whole line is cut.
pub fn fit_words(text: &str, max: f64, size: f64, bold: bool, max_lines: usize) -> Vec<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut i = 0;
    while i < words.len() && lines.len() < max_lines {
        let candidate = if cur.is_empty() {
            words[i].to_string()
        } else {
            format!("{cur} {}", words[i])
        };
        if width(&candidate, size, bold) <= max {
            cur = candidate;
            i += 1;
        } else if cur.is_empty() {
            // A word wider than a line: nothing to do but cut it.
            lines.push(ellipsize(words[i], max, size, bold));
            i += 1;
        } else {
            lines.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        if lines.len() < max_lines {
            lines.push(cur);
        } else {
            i -= cur.split(' ').count();
        }
    }
    if i < words.len()
        && let Some(last) = lines.last_mut()
    {
        let mut kept: Vec<&str> = last.split(' ').collect();
        loop {
            let t = format!("{}…", kept.join(" ").trim_end_matches('…'));
            if width(&t, size, bold) <= max {
                *last = t;
                break;
            }
            if kept.len() == 1 {
                *last = ellipsize(&t, max, size, bold);
                break;
            }
            kept.pop();
        }
    }
    lines
}

/// `s` cut to fit `max` px, ending with an ellipsis when something was cut.
pub fn ellipsize(s: &str, max: f64, size: f64, bold: bool) -> String {
    if width(s, size, bold) <= max {
        return s.to_string();
    }
    let mut chars: Vec<char> = s.trim_end_matches('…').chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let t = format!("{}…", chars.iter().collect::<String>().trim_end());
        if width(&t, size, bold) <= max {
            return t;
        }
    }
    "…".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wider_text_measures_wider_and_bold_is_wider() {
        assert!(width("Grow ARR", 14.0, false) > width("Grow", 14.0, false));
        assert!(width("Grow ARR", 14.0, true) > width("Grow ARR", 14.0, false));
        assert!(width("Grow ARR", 28.0, false) > 1.9 * width("Grow ARR", 14.0, false));
    }

    #[test]
    fn wrapped_lines_fit() {
        let t = "Build a world-class onboarding experience that customers recommend to their peers";
        let lines = wrap(t, 150.0, 13.0, false, 10);
        assert!(lines.len() > 2);
        for l in &lines {
            assert!(width(l, 13.0, false) <= 150.0, "{l}");
        }
        assert_eq!(lines.join(" "), t);
        let long = wrap("Supercalifragilisticexpialidocious", 60.0, 13.0, false, 10);
        assert!(long.len() > 1);
        assert!(long.iter().all(|l| width(l, 13.0, false) <= 60.0));
        let cut = wrap(t, 150.0, 13.0, false, 2);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with('…'));
        assert!(width(&cut[1], 13.0, false) <= 150.0);
    }

    #[test]
    fn fitted_words_are_never_cut() {
        let t = "The trusted choice for security-conscious buyers, everywhere we sell";
        let words: Vec<&str> = t.split(' ').collect();
        for (max, lines) in [(150.0, 2), (240.0, 1), (200.0, 2)] {
            let got = fit_words(t, max, 13.0, false, lines);
            assert!(!got.is_empty() && got.len() <= lines, "{got:?}");
            for l in &got {
                assert!(width(l, 13.0, false) <= max, "{l} wider than {max}");
                for w in l.trim_end_matches('…').split(' ') {
                    assert!(words.contains(&w), "`{w}` is a cut word in {got:?}");
                }
            }
            assert!(got.last().unwrap().ends_with('…'), "{got:?}");
        }
        assert_eq!(
            fit_words("Grow ARR", 200.0, 13.0, false, 2),
            vec!["Grow ARR"]
        );
        assert_eq!(
            fit_words("Grow ARR to sixty", 60.0, 13.0, false, 3),
            wrap("Grow ARR to sixty", 60.0, 13.0, false, 3)
        );
        // When the ellipsis leaves no room for the last word, the word goes, not half of it.
        let max = width("Grow recurring", 13.0, false) + 1.0;
        assert_eq!(
            fit_words("Grow recurring revenue", max, 13.0, false, 1),
            ["Grow…"]
        );
        // Only a word wider than a whole line is cut.
        let cut = fit_words("Supercalifragilistic", 60.0, 13.0, false, 2);
        assert_eq!(cut.len(), 1);
        assert!(cut[0].ends_with('…') && width(&cut[0], 13.0, false) <= 60.0);
    }

    #[test]
    fn the_database_holds_only_the_embedded_faces() {
        let db = database();
        assert_eq!(db.len(), 2);
        assert!(
            db.faces()
                .all(|f| f.families.iter().any(|(n, _)| n == FAMILY))
        );
    }
}
