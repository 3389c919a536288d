//! The scorecard picture: each perspective's progress bar and status (shape and word),
//! with its strategic objectives beneath.

use super::svg::{Anchor, Svg};
use super::{PictureError, Png, font, marker, palette, percent, rasterise, status_colour};
use crate::domain::Status;

/// One strategic objective row.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectiveRow {
    pub code: String,
    pub title: String,
    pub progress: Option<f64>,
    pub status: Status,
}

/// One perspective with its objectives.
#[derive(Debug, Clone, PartialEq)]
pub struct PerspectiveRow {
    pub label: String,
    pub progress: Option<f64>,
    pub status: Status,
    pub objectives: Vec<ObjectiveRow>,
}

/// What the scorecard picture shows; perspectives top-down (financial first).
#[derive(Debug, Clone, PartialEq)]
pub struct ScorecardInput {
    pub title: String,
    pub subtitle: String,
    /// The company line (progress, status); `None` for a single perspective's view.
    pub company: Option<(Option<f64>, Status)>,
    pub perspectives: Vec<PerspectiveRow>,
}

impl ScorecardInput {
    /// A sentence saying what the picture shows.
    pub fn alt(&self) -> String {
        let mut parts = Vec::new();
        if let Some((p, s)) = self.company {
            parts.push(format!("company {} {}", percent(p), s.label()));
        }
        for p in &self.perspectives {
            let behind = p.objectives.iter().filter(|o| o.status.is_bad()).count();
            parts.push(format!(
                "{} {} {} ({} objective{}{})",
                p.label,
                percent(p.progress),
                p.status.label(),
                p.objectives.len(),
                if p.objectives.len() == 1 { "" } else { "s" },
                if behind > 0 {
                    format!(", {behind} behind")
                } else {
                    String::new()
                }
            ));
        }
        format!("{}: {}.", self.title, parts.join("; "))
    }
}

pub const WIDTH: f64 = 960.0;
const MARGIN: f64 = 24.0;
const BAR_X: f64 = 420.0;
const BAR_W: f64 = 300.0;
const PCT_X: f64 = BAR_X + BAR_W + 12.0;
const STATUS_X: f64 = PCT_X + 60.0;
const HEADER_H: f64 = 40.0;
const ROW_H: f64 = 28.0;
const GAP: f64 = 16.0;

/// The picture's height for this input.
pub fn height(input: &ScorecardInput) -> f64 {
    let mut h = 84.0;
    if input.company.is_some() {
        h += HEADER_H + GAP;
    }
    for p in &input.perspectives {
        h += HEADER_H + ROW_H * p.objectives.len().max(1) as f64 + GAP;
    }
    h + 44.0
}

fn bar(svg: &mut Svg, x: f64, y: f64, w: f64, h: f64, p: Option<f64>, s: Status) {
    svg.rect(x, y, w, h, h / 2.0, palette::TRACK, Some(("#cfcfcf", 1.0)));
    if let Some(p) = p {
        let fw = (w * p.clamp(0.0, 1.0)).max(if p > 0.0 { h } else { 0.0 });
        if fw > 0.0 {
            svg.rect(x, y, fw, h, h / 2.0, status_colour(s), None);
        }
    }
}

fn status_label(svg: &mut Svg, x: f64, top: f64, size: f64, s: Status, bold: bool) {
    let lh = font::line_height(size);
    marker(svg, s, x + 7.0, top + lh / 2.0, size * 0.45);
    svg.text(
        x + 20.0,
        top,
        s.label(),
        size,
        bold,
        palette::INK,
        Anchor::Start,
    );
}

/// Draws the picture.
pub fn scorecard(input: &ScorecardInput) -> Result<Png, PictureError> {
    rasterise(&scorecard_svg(input))
}

/// The picture as an SVG document (what [`scorecard`] rasterises).
pub fn scorecard_svg(input: &ScorecardInput) -> String {
    let h = height(input);
    let mut svg = Svg::new(WIDTH, h);
    svg.text(
        MARGIN,
        18.0,
        &font::ellipsize(&input.title, WIDTH - 2.0 * MARGIN, 20.0, true),
        20.0,
        true,
        palette::INK,
        Anchor::Start,
    );
    svg.text(
        MARGIN,
        48.0,
        &font::ellipsize(&input.subtitle, WIDTH - 2.0 * MARGIN, 14.0, false),
        14.0,
        false,
        palette::MUTED,
        Anchor::Start,
    );
    let mut y = 84.0;
    let header = |svg: &mut Svg, y: f64, label: &str, p: Option<f64>, s: Status, size: f64| {
        let lh = font::line_height(size);
        let top = y + (HEADER_H - lh) / 2.0;
        svg.text(
            MARGIN,
            top,
            &font::ellipsize(label, BAR_X - MARGIN - 16.0, size, true),
            size,
            true,
            palette::INK,
            Anchor::Start,
        );
        bar(svg, BAR_X, y + (HEADER_H - 16.0) / 2.0, BAR_W, 16.0, p, s);
        svg.text(
            PCT_X,
            top,
            &percent(p),
            size,
            true,
            palette::INK,
            Anchor::Start,
        );
        status_label(svg, STATUS_X, top, size, s, true);
    };
    if let Some((p, s)) = input.company {
        svg.rect(
            MARGIN - 8.0,
            y,
            WIDTH - 2.0 * MARGIN + 16.0,
            HEADER_H,
            6.0,
            "#f5f5f5",
            None,
        );
        header(&mut svg, y, "Company", p, s, 17.0);
        y += HEADER_H + GAP;
    }
    for per in &input.perspectives {
        svg.line(MARGIN, y, WIDTH - MARGIN, y, palette::GRID, 1.0, None);
        header(&mut svg, y, &per.label, per.progress, per.status, 16.0);
        y += HEADER_H;
        if per.objectives.is_empty() {
            svg.text(
                MARGIN + 20.0,
                y + 6.0,
                "No objectives",
                13.0,
                false,
                palette::MUTED,
                Anchor::Start,
            );
            y += ROW_H;
        }
        for o in &per.objectives {
            let top = y + (ROW_H - font::line_height(13.0)) / 2.0;
            let code_w = font::width(&o.code, 13.0, true);
            svg.text(
                MARGIN + 20.0,
                top,
                &o.code,
                13.0,
                true,
                palette::INK,
                Anchor::Start,
            );
            let tx = MARGIN + 20.0 + code_w.max(40.0) + 10.0;
            svg.text(
                tx,
                top,
                &font::ellipsize(&o.title, BAR_X - tx - 16.0, 13.0, false),
                13.0,
                false,
                palette::INK,
                Anchor::Start,
            );
            bar(
                &mut svg,
                BAR_X,
                y + (ROW_H - 10.0) / 2.0,
                BAR_W,
                10.0,
                o.progress,
                o.status,
            );
            svg.text(
                PCT_X,
                top,
                &percent(o.progress),
                13.0,
                false,
                palette::INK,
                Anchor::Start,
            );
            status_label(&mut svg, STATUS_X, top, 13.0, o.status, false);
            y += ROW_H;
        }
        y += GAP;
    }
    let entries = [
        (Status::OnTrack, "on track"),
        (Status::AtRisk, "at risk"),
        (Status::OffTrack, "off track"),
        (Status::NoData, "no data"),
    ];
    let lw = super::legend_width(&entries, 13.0);
    super::legend(&mut svg, &entries, WIDTH - MARGIN - lw, h - 34.0, 13.0);
    svg.finish()
}
