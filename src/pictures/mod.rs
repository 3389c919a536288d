//! Pictures: the KR trend chart, the scorecard and the strategy map as PNG.
//!
//! Everything here is pure: each renderer takes plain values (no store, no clock) and
//! returns the same pixels for the same input. We write SVG ourselves and rasterise it
//! with resvg, because an SVG document is easy to reason about and to test (the map's
//! layout is a separate function whose rectangles the tests check), while text uses one
//! embedded font ([`font`]) so no machine's installed fonts change a pixel.
//!
//! Status is never told by colour alone: every status has a shape (● on track, ▲ at risk,
//! ✖ off track, ○ no data) drawn next to its word, in the Okabe–Ito palette, which stays
//! distinct for the common forms of colour blindness. Each picture comes with alt text.

pub mod font;
pub mod map;
pub mod scorecard;
pub mod svg;
pub mod trend;

use std::fmt;

use crate::domain::Status;

pub use map::{Layout, MapInput, layout, strategy_map};
pub use scorecard::{ScorecardInput, scorecard};
pub use trend::{Trend, kr_trend};

/// A rendered picture: PNG bytes and the pixel size.
#[derive(Clone, PartialEq, Eq)]
pub struct Png {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

impl fmt::Debug for Png {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Png({}×{}, {} bytes)",
            self.width,
            self.height,
            self.bytes.len()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("the picture's SVG did not parse: {0}")]
    Svg(String),
    #[error("the picture could not be rasterised: {0}")]
    Raster(String),
}

/// An axis-aligned rectangle in pixels (origin top left).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
}

impl Rect {
    pub fn new(x: f64, y: f64, w: f64, h: f64) -> Rect {
        Rect { x, y, w, h }
    }

    pub fn right(&self) -> f64 {
        self.x + self.w
    }

    pub fn bottom(&self) -> f64 {
        self.y + self.h
    }

    pub fn center_x(&self) -> f64 {
        self.x + self.w / 2.0
    }

    /// True when the interiors intersect (touching edges do not count).
    pub fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.right() && o.x < self.right() && self.y < o.bottom() && o.y < self.bottom()
    }

    /// True when `o` lies within `self` (edges included).
    pub fn contains(&self, o: &Rect) -> bool {
        o.x >= self.x && o.y >= self.y && o.right() <= self.right() && o.bottom() <= self.bottom()
    }
}

/// The Okabe–Ito palette (Okabe & Ito 2008), chosen to stay distinguishable with
/// protanopia, deuteranopia and tritanopia, plus neutral greys.
pub mod palette {
    pub const BACKGROUND: &str = "#ffffff";
    pub const INK: &str = "#1a1a1a";
    pub const MUTED: &str = "#5f5f5f";
    pub const GRID: &str = "#e3e3e3";
    pub const TRACK: &str = "#ececec";
    /// Okabe–Ito bluish green.
    pub const ON_TRACK: &str = "#009E73";
    /// Okabe–Ito orange.
    pub const AT_RISK: &str = "#E69F00";
    /// Okabe–Ito vermillion.
    pub const OFF_TRACK: &str = "#D55E00";
    pub const NO_DATA: &str = "#8c8c8c";
    /// Okabe–Ito blue: values and the series line.
    pub const SERIES: &str = "#0072B2";
    /// Okabe–Ito reddish purple: the target.
    pub const TARGET: &str = "#CC79A7";
    /// Okabe–Ito sky blue: the band to hold.
    pub const BAND: &str = "#56B4E9";
}

/// The colour of a status.
pub fn status_colour(s: Status) -> &'static str {
    match s {
        Status::OnTrack => palette::ON_TRACK,
        Status::AtRisk => palette::AT_RISK,
        Status::OffTrack => palette::OFF_TRACK,
        Status::NoData => palette::NO_DATA,
    }
}

/// A light tint of a status colour, for box fills that dark text sits on.
pub fn status_tint(s: Status) -> &'static str {
    match s {
        Status::OnTrack => "#d9f0e9",
        Status::AtRisk => "#fbeccc",
        Status::OffTrack => "#f7dfcc",
        Status::NoData => "#f2f2f2",
    }
}

/// The shape of a status, named for alt text and legends.
pub fn status_shape(s: Status) -> &'static str {
    match s {
        Status::OnTrack => "●",
        Status::AtRisk => "▲",
        Status::OffTrack => "✖",
        Status::NoData => "○",
    }
}

/// Draws the status's shape centred on (`cx`, `cy`) with radius `r`: a filled circle, a
/// triangle, a cross, or a hollow circle. Shapes differ in outline, so a monochrome copy
/// still tells them apart.
pub fn marker(svg: &mut svg::Svg, s: Status, cx: f64, cy: f64, r: f64) {
    let c = status_colour(s);
    match s {
        Status::OnTrack => svg.raw(&format!(
            r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{r:.1}" fill="{c}" stroke="{ink}" stroke-width="1"/>"#,
            ink = palette::INK
        )),
        Status::AtRisk => {
            let h = r * 1.15;
            svg.path(
                &format!(
                    "M{:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z",
                    cx,
                    cy - h,
                    cx + h,
                    cy + h * 0.8,
                    cx - h,
                    cy + h * 0.8
                ),
                c,
                Some((palette::INK, 1.0)),
                r#" stroke-linejoin="round""#,
            );
        }
        Status::OffTrack => {
            let a = r * 0.85;
            let d = format!(
                "M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}",
                cx - a,
                cy - a,
                cx + a,
                cy + a,
                cx + a,
                cy - a,
                cx - a,
                cy + a
            );
            svg.path(&d, "none", Some((palette::INK, r * 0.75)), r#" stroke-linecap="round""#);
            svg.path(&d, "none", Some((c, r * 0.5)), r#" stroke-linecap="round""#);
        }
        Status::NoData => svg.raw(&format!(
            r#"<circle cx="{cx:.1}" cy="{cy:.1}" r="{:.1}" fill="{bg}" stroke="{c}" stroke-width="2"/>"#,
            r * 0.85,
            bg = palette::BACKGROUND
        )),
    }
}

/// `72 %`, or `no data`.
pub fn percent(p: Option<f64>) -> String {
    match p {
        Some(p) => format!("{:.0}%", p * 100.0),
        None => "no data".into(),
    }
}

/// Rasterises an SVG document we wrote, with only the embedded font available.
pub fn rasterise(svg: &str) -> Result<Png, PictureError> {
    use resvg::{tiny_skia, usvg};
    let opt = usvg::Options {
        font_family: font::FAMILY.to_string(),
        fontdb: font::database(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &opt).map_err(|e| PictureError::Svg(e.to_string()))?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| PictureError::Raster(format!("bad size {size:?}")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    let bytes = pixmap
        .encode_png()
        .map_err(|e| PictureError::Raster(e.to_string()))?;
    Ok(Png {
        bytes,
        width: size.width(),
        height: size.height(),
    })
}

/// Where the entries of a legend row starting at (`x`, `top`) go: one rectangle per
/// entry, shape and word together.
pub fn legend_rects(entries: &[(Status, &str)], x: f64, top: f64, size: f64) -> Vec<Rect> {
    let r = size * 0.45;
    let lh = font::line_height(size);
    let mut out = Vec::new();
    let mut x = x;
    for (_, word) in entries {
        let w = 2.0 * r + 8.0 + font::width(word, size, false);
        out.push(Rect::new(x, top, w, lh));
        x += w + 22.0;
    }
    out
}

/// Draws a legend row of status shapes and words starting at (`x`, `top`) and returns
/// the rectangles of its entries.
pub fn legend(
    svg: &mut svg::Svg,
    entries: &[(Status, &str)],
    x: f64,
    top: f64,
    size: f64,
) -> Vec<Rect> {
    let rects = legend_rects(entries, x, top, size);
    let r = size * 0.45;
    for ((s, word), rect) in entries.iter().zip(&rects) {
        marker(svg, *s, rect.x + r + 1.0, rect.y + rect.h / 2.0, r);
        svg.text(
            rect.x + 2.0 * r + 8.0,
            rect.y,
            word,
            size,
            false,
            palette::INK,
            svg::Anchor::Start,
        );
    }
    rects
}

/// Width of a legend drawn by [`legend`].
pub fn legend_width(entries: &[(Status, &str)], size: f64) -> f64 {
    legend_rects(entries, 0.0, 0.0, size)
        .last()
        .map(|r| r.right())
        .unwrap_or(0.0)
}
