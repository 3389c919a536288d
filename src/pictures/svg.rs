//! A small SVG writer: just the elements the pictures use, with text escaped and numbers
//! rounded so the same input always produces the same document.

use std::fmt::Write;

use super::font;

pub struct Svg {
    pub width: f64,
    pub height: f64,
    body: String,
}

/// Escapes text for XML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// How a run of text hangs off its anchor point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Svg {
        Svg {
            width,
            height,
            body: String::new(),
        }
    }

    pub fn raw(&mut self, s: &str) {
        self.body.push_str(s);
        self.body.push('\n');
    }

    // SVG primitives take their geometry as numbers, as SVG writes them.
    #[allow(clippy::too_many_arguments)]
    pub fn rect(
        &mut self,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        rx: f64,
        fill: &str,
        stroke: Option<(&str, f64)>,
    ) {
        let stroke = stroke
            .map(|(c, w)| format!(r#" stroke="{c}" stroke-width="{w:.1}""#))
            .unwrap_or_default();
        let _ = writeln!(
            self.body,
            r#"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" rx="{rx:.1}" fill="{fill}"{stroke}/>"#
        );
    }

    #[allow(clippy::too_many_arguments)]
    pub fn line(
        &mut self,
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
        stroke: &str,
        width: f64,
        dash: Option<&str>,
    ) {
        let dash = dash
            .map(|d| format!(r#" stroke-dasharray="{d}""#))
            .unwrap_or_default();
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="{stroke}" stroke-width="{width:.1}"{dash}/>"#
        );
    }

    pub fn path(&mut self, d: &str, fill: &str, stroke: Option<(&str, f64)>, extra: &str) {
        let stroke = stroke
            .map(|(c, w)| format!(r#" stroke="{c}" stroke-width="{w:.1}""#))
            .unwrap_or_default();
        let _ = writeln!(self.body, r#"<path d="{d}" fill="{fill}"{stroke}{extra}/>"#);
    }

    /// One line of text whose line box starts at `top` (the baseline is computed from
    /// the embedded font's ascent, so the layout's rectangles match what is drawn).
    #[allow(clippy::too_many_arguments)]
    pub fn text(
        &mut self,
        x: f64,
        top: f64,
        s: &str,
        size: f64,
        bold: bool,
        fill: &str,
        anchor: Anchor,
    ) {
        let baseline = top + font::ascent(size);
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let weight = if bold { r#" font-weight="bold""# } else { "" };
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.1}" y="{baseline:.1}" font-family="{}" font-size="{size:.1}"{weight} fill="{fill}" text-anchor="{anchor}">{}</text>"#,
            font::FAMILY,
            esc(s)
        );
    }

    pub fn finish(self) -> String {
        format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">
<rect x="0" y="0" width="{w}" height="{h}" fill="{bg}"/>
{body}</svg>
"#,
            w = self.width.ceil() as u32,
            h = self.height.ceil() as u32,
            bg = super::palette::BACKGROUND,
            body = self.body
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(esc(r#"R&D <"fast">"#), "R&amp;D &lt;&quot;fast&quot;&gt;");
    }
}
