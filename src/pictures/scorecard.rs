//! The scorecard picture: each perspective's progress bar and status (shape and word),
//! with its strategic objectives beneath, worst first. Each bar carries a tick where the
//! expected pace stands, and an arrow says which way it moved since an earlier moment.

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
    /// Progress at the earlier moment the trend arrow compares with.
    pub was: Option<f64>,
}

/// One perspective with its objectives.
#[derive(Debug, Clone, PartialEq)]
pub struct PerspectiveRow {
    pub label: String,
    pub progress: Option<f64>,
    pub status: Status,
    pub objectives: Vec<ObjectiveRow>,
    /// Progress at the earlier moment the trend arrow compares with.
    pub was: Option<f64>,
}

/// What the scorecard picture shows; perspectives top-down (financial first).
#[derive(Debug, Clone, PartialEq)]
pub struct ScorecardInput {
    pub title: String,
    pub subtitle: String,
    /// The company line (progress, status); `None` for a single perspective's view.
    pub company: Option<(Option<f64>, Status)>,
    pub perspectives: Vec<PerspectiveRow>,
    /// The company's progress at the earlier moment.
    pub company_was: Option<f64>,
    /// How much of the cycle has gone (0–1): where each bar's pace tick stands.
    pub pace: Option<f64>,
    /// The earlier moment trend arrows compare with, in words ("since 25 Nov"); no
    /// arrows without it.
    pub since: Option<String>,
}

/// Which way a figure moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Up,
    Down,
    Flat,
}

/// Which way progress moved from `was` to `now`; less than half a point is flat.
/// `None` when either is unknown.
pub fn change(was: Option<f64>, now: Option<f64>) -> Option<Change> {
    let d = now? - was?;
    Some(if d > 0.005 {
        Change::Up
    } else if d < -0.005 {
        Change::Down
    } else {
        Change::Flat
    })
}

/// How bad a row is, worst lowest: off track, at risk, not measured, on track.
fn severity(s: Status) -> u8 {
    match s {
        Status::OffTrack => 0,
        Status::AtRisk => 1,
        Status::NoData => 2,
        Status::OnTrack => 3,
    }
}

/// A perspective's objectives worst first: by status, then least progress, then code.
pub fn worst_first(rows: &[ObjectiveRow]) -> Vec<&ObjectiveRow> {
    let mut v: Vec<&ObjectiveRow> = rows.iter().collect();
    v.sort_by(|a, b| {
        severity(a.status)
            .cmp(&severity(b.status))
            .then(
                a.progress
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.progress.unwrap_or(f64::INFINITY)),
            )
            .then(a.code.cmp(&b.code))
    });
    v
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
const BAR_W: f64 = 270.0;
const PCT_X: f64 = BAR_X + BAR_W + 12.0;
const ARROW_X: f64 = PCT_X + 56.0;
const STATUS_X: f64 = ARROW_X + 22.0;
const HEADER_H: f64 = 40.0;
const ROW_H: f64 = 28.0;
const GAP: f64 = 16.0;
const NAME_SIZE: f64 = 13.0;
/// Where an objective's name starts, and the room it has before the bar.
const NAME_X: f64 = MARGIN + 20.0 + 40.0 + 10.0;
const NAME_W: f64 = BAR_X - NAME_X - 16.0;
/// A name takes at most two lines; a longer one ends with an ellipsis after a word.
const NAME_LINES: usize = 2;

/// An objective's name as drawn: whole words on at most two lines that fit.
pub fn name_lines(o: &ObjectiveRow) -> Vec<String> {
    let code_w = font::width(&o.code, NAME_SIZE, true).max(40.0);
    let w = NAME_W - (code_w - 40.0);
    font::fit_words(&o.title, w, NAME_SIZE, false, NAME_LINES)
}

/// The height of an objective's row: taller when its name takes two lines.
fn row_height(o: &ObjectiveRow) -> f64 {
    let n = name_lines(o).len().max(1) as f64;
    ROW_H.max(n * font::line_height(NAME_SIZE) + 10.0)
}

/// The picture's height for this input.
pub fn height(input: &ScorecardInput) -> f64 {
    let mut h = 84.0;
    if input.company.is_some() {
        h += HEADER_H + GAP;
    }
    for p in &input.perspectives {
        let rows: f64 = p.objectives.iter().map(row_height).sum();
        h += HEADER_H + rows.max(ROW_H) + GAP;
    }
    h + 44.0
        + if input.pace.is_some() || input.since.is_some() {
            24.0
        } else {
            0.0
        }
}

/// A progress bar at `y`, `h` high, with the pace tick when the cycle is known.
fn bar(svg: &mut Svg, y: f64, h: f64, p: Option<f64>, s: Status, pace: Option<f64>) {
    let (x, w) = (BAR_X, BAR_W);
    svg.rect(x, y, w, h, h / 2.0, palette::TRACK, Some(("#cfcfcf", 1.0)));
    if let Some(p) = p {
        let fw = (w * p.clamp(0.0, 1.0)).max(if p > 0.0 { h } else { 0.0 });
        if fw > 0.0 {
            svg.rect(x, y, fw, h, h / 2.0, status_colour(s), None);
        }
    }
    if let Some(f) = pace {
        pace_tick(svg, pace_x(f), y - 4.0, h + 8.0);
    }
}

/// Where the pace tick of a cycle `f` gone (0–1) stands on every bar.
pub fn pace_x(f: f64) -> f64 {
    BAR_X + BAR_W * f.clamp(0.0, 1.0)
}

/// The expected pace on a bar: a dark tick over a white one, visible on any fill.
fn pace_tick(svg: &mut Svg, x: f64, top: f64, h: f64) {
    svg.line(x, top, x, top + h, palette::BACKGROUND, 4.0, None);
    svg.line(x, top, x, top + h, palette::INK, 2.0, None);
}

/// A trend arrow centred at (`cx`, `cy`): up, down, or a flat bar with a head.
fn change_arrow(svg: &mut Svg, c: Change, cx: f64, cy: f64) {
    let d = match c {
        Change::Up => format!(
            "M{cx:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z M{cx:.1},{:.1} L{cx:.1},{:.1}",
            cy - 7.0,
            cx + 5.0,
            cy - 1.0,
            cx - 5.0,
            cy - 1.0,
            cy - 2.0,
            cy + 7.0
        ),
        Change::Down => format!(
            "M{cx:.1},{:.1} L{:.1},{:.1} L{:.1},{:.1} Z M{cx:.1},{:.1} L{cx:.1},{:.1}",
            cy + 7.0,
            cx + 5.0,
            cy + 1.0,
            cx - 5.0,
            cy + 1.0,
            cy + 2.0,
            cy - 7.0
        ),
        Change::Flat => format!(
            "M{:.1},{cy:.1} L{:.1},{:.1} L{:.1},{:.1} Z M{:.1},{cy:.1} L{:.1},{cy:.1}",
            cx + 7.0,
            cx + 1.0,
            cy - 5.0,
            cx + 1.0,
            cy + 5.0,
            cx + 2.0,
            cx - 7.0
        ),
    };
    svg.path(
        &d,
        palette::INK,
        Some((palette::INK, 2.0)),
        r#" stroke-linejoin="round" data-change="1""#,
    );
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
    let arrows = input.since.is_some();
    let header = |svg: &mut Svg,
                  y: f64,
                  label: &str,
                  (p, was): (Option<f64>, Option<f64>),
                  s: Status,
                  size: f64| {
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
        bar(svg, y + (HEADER_H - 16.0) / 2.0, 16.0, p, s, input.pace);
        svg.text(
            PCT_X,
            top,
            &percent(p),
            size,
            true,
            palette::INK,
            Anchor::Start,
        );
        if let Some(c) = change(was, p).filter(|_| arrows) {
            change_arrow(svg, c, ARROW_X + 7.0, y + HEADER_H / 2.0);
        }
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
        header(&mut svg, y, "Company", (p, input.company_was), s, 17.0);
        y += HEADER_H + GAP;
    }
    for per in &input.perspectives {
        svg.line(MARGIN, y, WIDTH - MARGIN, y, palette::GRID, 1.0, None);
        header(
            &mut svg,
            y,
            &per.label,
            (per.progress, per.was),
            per.status,
            16.0,
        );
        y += HEADER_H;
        if per.objectives.is_empty() {
            svg.text(
                MARGIN + 20.0,
                y + 6.0,
                "No objectives",
                NAME_SIZE,
                false,
                palette::MUTED,
                Anchor::Start,
            );
            y += ROW_H;
        }
        for o in worst_first(&per.objectives) {
            let rh = row_height(o);
            let lh = font::line_height(NAME_SIZE);
            let lines = name_lines(o);
            let top = y + (rh - lh * lines.len().max(1) as f64) / 2.0;
            let mid = y + rh / 2.0;
            let code_w = font::width(&o.code, NAME_SIZE, true);
            svg.text(
                MARGIN + 20.0,
                top,
                &o.code,
                NAME_SIZE,
                true,
                palette::INK,
                Anchor::Start,
            );
            let tx = NAME_X + (code_w - 40.0).max(0.0);
            for (k, l) in lines.iter().enumerate() {
                svg.text(
                    tx,
                    top + k as f64 * lh,
                    l,
                    NAME_SIZE,
                    false,
                    palette::INK,
                    Anchor::Start,
                );
            }
            bar(&mut svg, mid - 5.0, 10.0, o.progress, o.status, input.pace);
            let ptop = mid - lh / 2.0;
            svg.text(
                PCT_X,
                ptop,
                &percent(o.progress),
                NAME_SIZE,
                false,
                palette::INK,
                Anchor::Start,
            );
            if let Some(c) = change(o.was, o.progress).filter(|_| arrows) {
                change_arrow(&mut svg, c, ARROW_X + 7.0, mid);
            }
            status_label(&mut svg, STATUS_X, ptop, NAME_SIZE, o.status, false);
            y += rh;
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
    let ly = h - 34.0;
    super::legend(&mut svg, &entries, WIDTH - MARGIN - lw, ly, 13.0);
    // What the ticks and arrows mean, on the row above.
    let ky = ly - 26.0;
    let lh = font::line_height(13.0);
    let mut x = MARGIN;
    if let Some(f) = input.pace {
        pace_tick(&mut svg, x + 4.0, ky, lh);
        let t = format!("expected pace ({:.0}% of the cycle gone)", f * 100.0);
        svg.text(x + 14.0, ky, &t, 13.0, false, palette::INK, Anchor::Start);
        x += 14.0 + font::width(&t, 13.0, false) + 28.0;
    }
    if let Some(since) = &input.since {
        for (k, c) in [Change::Up, Change::Down, Change::Flat]
            .into_iter()
            .enumerate()
        {
            change_arrow(&mut svg, c, x + 7.0 + 18.0 * k as f64, ky + lh / 2.0);
        }
        svg.text(
            x + 60.0,
            ky,
            &format!("change {since}"),
            13.0,
            false,
            palette::INK,
            Anchor::Start,
        );
    }
    svg.finish()
}
