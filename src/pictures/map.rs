//! The strategy map: strategic objectives in perspective bands, in causal order
//! (learning at the bottom, financial on top), with cause → effect arrows and each
//! objective's status as fill colour, shape and word.
//!
//! [`layout`] is pure geometry, separate from drawing, so tests can check that nothing
//! overlaps: boxes are sized to their text measured with the embedded font, long titles
//! wrap, boxes spread across their band and wrap into more rows when a band has many
//! objectives, and the image grows to fit.

use std::collections::HashMap;

use super::svg::{Anchor, Svg};
use super::{
    PictureError, Png, Rect, font, legend, legend_rects, marker, palette, percent, rasterise,
    status_colour, status_tint,
};
use crate::domain::progress::Eval;
use crate::domain::{Code, OrgSpec, Perspective, Status};

/// One strategic objective on the map.
#[derive(Debug, Clone, PartialEq)]
pub struct MapObjective {
    pub code: String,
    pub title: String,
    pub perspective: Perspective,
    pub progress: Option<f64>,
    pub status: Status,
}

/// What the map shows, as plain values.
#[derive(Debug, Clone, PartialEq)]
pub struct MapInput {
    pub title: String,
    /// Enabled perspectives with their labels (any order: the map sorts them causally).
    pub perspectives: Vec<(Perspective, String)>,
    /// In manifest order.
    pub objectives: Vec<MapObjective>,
    /// Cause → effect, by code.
    pub links: Vec<(String, String)>,
}

impl MapInput {
    /// The map of a declared organisation with the scorecard objectives' evaluations.
    pub fn from_spec(spec: &OrgSpec, scorecard: &HashMap<Code, Eval>) -> MapInput {
        MapInput {
            title: format!("Strategy map — {}", spec.org.name),
            perspectives: spec
                .perspectives
                .iter()
                .map(|p| (p.perspective, p.label.clone()))
                .collect(),
            objectives: spec
                .scorecard
                .iter()
                .map(|s| {
                    let e = scorecard.get(&s.code).copied().unwrap_or(Eval::NO_DATA);
                    MapObjective {
                        code: s.code.to_string(),
                        title: s.title.clone(),
                        perspective: s.perspective,
                        progress: e.progress,
                        status: e.status,
                    }
                })
                .collect(),
            links: spec
                .links
                .iter()
                .map(|l| (l.from.to_string(), l.to.to_string()))
                .collect(),
        }
    }

    /// A sentence saying what the map shows.
    pub fn alt(&self) -> String {
        let mut s = format!(
            "{}: {} objectives in {} perspective bands, learning at the bottom and financial on top, with {} cause-and-effect arrows",
            self.title,
            self.objectives.len(),
            self.perspectives.len(),
            self.links.len()
        );
        let count = |st: Status| self.objectives.iter().filter(|o| o.status == st).count();
        let parts: Vec<String> = [
            Status::OnTrack,
            Status::AtRisk,
            Status::OffTrack,
            Status::NoData,
        ]
        .into_iter()
        .filter(|st| count(*st) > 0)
        .map(|st| format!("{} {}", count(st), st.label()))
        .collect();
        if !parts.is_empty() {
            s.push_str(&format!("; {}", parts.join(", ")));
        }
        let behind: Vec<&str> = self
            .objectives
            .iter()
            .filter(|o| o.status == Status::OffTrack)
            .map(|o| o.code.as_str())
            .collect();
        if !behind.is_empty() && behind.len() <= 6 {
            s.push_str(&format!(" (off track: {})", behind.join(", ")));
        }
        s.push('.');
        s
    }
}

/// A run of text at a place.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    pub text: String,
    pub rect: Rect,
    pub size: f64,
    pub bold: bool,
}

/// An objective's box and what is written in it.
#[derive(Debug, Clone, PartialEq)]
pub struct MapBox {
    pub code: String,
    pub rect: Rect,
    pub status: Status,
    pub lines: Vec<TextLine>,
    /// The status shape: centre and radius.
    pub marker: (f64, f64, f64),
}

/// A perspective band.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub perspective: Perspective,
    pub rect: Rect,
}

/// A cause → effect arrow as a cubic Bézier: start, two control points, end (at the
/// effect's edge, where the arrowhead points).
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    pub from: String,
    pub to: String,
    pub points: [(f64, f64); 4],
}

/// Where everything goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    pub bands: Vec<Band>,
    pub boxes: Vec<MapBox>,
    /// Free-standing text: title, subtitle, band labels, legend entries.
    pub labels: Vec<TextLine>,
    pub arrows: Vec<Arrow>,
    /// Top left of the legend row.
    pub legend_at: (f64, f64),
}

impl Layout {
    pub fn canvas(&self) -> Rect {
        Rect::new(0.0, 0.0, self.width, self.height)
    }
}

const MARGIN: f64 = 24.0;
const LABEL_COL: f64 = 168.0;
const BOX_W: f64 = 214.0;
const BOX_GAP: f64 = 26.0;
const MAX_COLS: usize = 5;
const PAD: f64 = 10.0;
const ROW_GAP: f64 = 44.0;
const BAND_PAD: f64 = 24.0;
const HEADER: f64 = 84.0;
const FOOTER: f64 = 56.0;
const CODE_SIZE: f64 = 14.0;
const TITLE_SIZE: f64 = 13.0;
const STATUS_SIZE: f64 = 12.0;
const BAND_LABEL_SIZE: f64 = 15.0;
const MAX_TITLE_LINES: usize = 4;

const LEGEND: [(Status, &str); 4] = [
    (Status::OnTrack, "on track"),
    (Status::AtRisk, "at risk"),
    (Status::OffTrack, "off track"),
    (Status::NoData, "no data"),
];
const ARROW_NOTE: &str = "arrows run from cause to effect";

/// The text of one box, measured, relative to the box's top left.
fn box_lines(o: &MapObjective) -> (Vec<TextLine>, f64, (f64, f64, f64)) {
    let inner = BOX_W - 2.0 * PAD;
    let mut lines = Vec::new();
    let mut y = PAD;
    let code_h = font::line_height(CODE_SIZE);
    let code_w = font::width(&o.code, CODE_SIZE, true);
    // The status word below says `no data`; the corner needs no second one.
    let pct = o
        .progress
        .map(|p| percent(Some(p)))
        .unwrap_or_else(|| "—".into());
    let pct_w = font::width(&pct, CODE_SIZE, true);
    let code = font::ellipsize(&o.code, inner - pct_w - 12.0, CODE_SIZE, true);
    lines.push(TextLine {
        rect: Rect::new(PAD, y, code_w.min(inner - pct_w - 12.0), code_h),
        text: code,
        size: CODE_SIZE,
        bold: true,
    });
    lines.push(TextLine {
        rect: Rect::new(BOX_W - PAD - pct_w, y, pct_w, code_h),
        text: pct,
        size: CODE_SIZE,
        bold: true,
    });
    y += code_h + 4.0;
    let th = font::line_height(TITLE_SIZE);
    for l in font::wrap(&o.title, inner, TITLE_SIZE, false, MAX_TITLE_LINES) {
        let w = font::width(&l, TITLE_SIZE, false);
        lines.push(TextLine {
            rect: Rect::new(PAD, y, w, th),
            text: l,
            size: TITLE_SIZE,
            bold: false,
        });
        y += th + 1.0;
    }
    y += 4.0;
    let sh = font::line_height(STATUS_SIZE);
    let r = 6.0;
    let marker_at = (PAD + r + 1.0, y + sh / 2.0, r);
    let word = o.status.label().to_string();
    lines.push(TextLine {
        rect: Rect::new(
            PAD + 2.0 * r + 8.0,
            y,
            font::width(&word, STATUS_SIZE, true),
            sh,
        ),
        text: word,
        size: STATUS_SIZE,
        bold: true,
    });
    y += sh + PAD;
    (lines, y, marker_at)
}

/// Places every band, box, label and arrow of the map.
pub fn layout(map: &MapInput) -> Layout {
    // Perspectives top-down: financial first.
    let mut persp: Vec<(Perspective, String)> = map.perspectives.clone();
    persp.sort_by_key(|(p, _)| std::cmp::Reverse(*p));

    // Order each band to keep arrows short: bottom-up, each objective goes to the mean
    // position of its causes in the bands already placed.
    let mut order: HashMap<Perspective, Vec<usize>> = HashMap::new();
    let mut pos: HashMap<&str, f64> = HashMap::new();
    for (p, _) in persp.iter().rev() {
        let idx: Vec<usize> = map
            .objectives
            .iter()
            .enumerate()
            .filter(|(_, o)| o.perspective == *p)
            .map(|(i, _)| i)
            .collect();
        let n = idx.len().max(1) as f64;
        let mut keyed: Vec<(f64, usize)> = idx
            .iter()
            .enumerate()
            .map(|(k, i)| {
                let code = map.objectives[*i].code.as_str();
                let causes: Vec<f64> = map
                    .links
                    .iter()
                    .filter(|(_, to)| to == code)
                    .filter_map(|(from, _)| pos.get(from.as_str()).copied())
                    .collect();
                let key = if causes.is_empty() {
                    (k as f64 + 0.5) / n
                } else {
                    causes.iter().sum::<f64>() / causes.len() as f64
                };
                (key, *i)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (k, (_, i)) in keyed.iter().enumerate() {
            pos.insert(map.objectives[*i].code.as_str(), (k as f64 + 0.5) / n);
        }
        order.insert(*p, keyed.into_iter().map(|(_, i)| i).collect());
    }

    let cols = persp
        .iter()
        .map(|(p, _)| order.get(p).map(|v| v.len()).unwrap_or(0).min(MAX_COLS))
        .max()
        .unwrap_or(1)
        .max(3);
    let content_w = cols as f64 * (BOX_W + BOX_GAP);
    let title_w = font::width(&map.title, 20.0, true);
    let legend_w =
        super::legend_width(&LEGEND, 13.0) + 30.0 + font::width(ARROW_NOTE, 13.0, false) + 40.0;
    let width = (MARGIN * 2.0 + LABEL_COL + content_w)
        .max(MARGIN * 2.0 + title_w)
        .max(MARGIN * 2.0 + legend_w)
        .ceil();
    let content_x = MARGIN + LABEL_COL;
    let content_w = width - MARGIN - content_x;

    let mut labels = vec![TextLine {
        text: map.title.clone(),
        rect: Rect::new(MARGIN, 18.0, title_w, font::line_height(20.0)),
        size: 20.0,
        bold: true,
    }];
    let subtitle = font::ellipsize(
        "Causal order: learning at the bottom, financial on top.",
        width - 2.0 * MARGIN,
        14.0,
        false,
    );
    labels.push(TextLine {
        rect: Rect::new(
            MARGIN,
            48.0,
            font::width(&subtitle, 14.0, false),
            font::line_height(14.0),
        ),
        text: subtitle,
        size: 14.0,
        bold: false,
    });

    let mut bands = Vec::new();
    let mut boxes: Vec<MapBox> = Vec::new();
    let mut y = HEADER;
    for (p, label) in &persp {
        let members = order.get(p).cloned().unwrap_or_default();
        let band_top = y;
        let label_lines = font::wrap(label, LABEL_COL - 24.0, BAND_LABEL_SIZE, true, 3);
        let lh = font::line_height(BAND_LABEL_SIZE);
        let mut inner_y = band_top + BAND_PAD;
        let mut label_y = band_top + BAND_PAD;
        for l in &label_lines {
            labels.push(TextLine {
                rect: Rect::new(
                    MARGIN + 10.0,
                    label_y,
                    font::width(l, BAND_LABEL_SIZE, true),
                    lh,
                ),
                text: l.clone(),
                size: BAND_LABEL_SIZE,
                bold: true,
            });
            label_y += lh + 2.0;
        }
        if members.is_empty() {
            let t = "(no objectives)";
            labels.push(TextLine {
                rect: Rect::new(
                    content_x + 10.0,
                    inner_y,
                    font::width(t, 13.0, false),
                    font::line_height(13.0),
                ),
                text: t.into(),
                size: 13.0,
                bold: false,
            });
            inner_y += font::line_height(13.0);
        }
        for (r, row) in members.chunks(MAX_COLS).enumerate() {
            if r > 0 {
                inner_y += ROW_GAP;
            }
            let measured: Vec<_> = row.iter().map(|i| box_lines(&map.objectives[*i])).collect();
            let row_h = measured.iter().map(|(_, h, _)| *h).fold(0.0, f64::max);
            let slot = content_w / row.len() as f64;
            for (j, (i, (lines, _, mk))) in row.iter().zip(measured).enumerate() {
                let bx = (content_x + slot * (j as f64 + 0.5) - BOX_W / 2.0).round();
                // Boxes of one row share the tallest one's height, so a row reads as one.
                let by = inner_y;
                let o = &map.objectives[*i];
                boxes.push(MapBox {
                    code: o.code.clone(),
                    rect: Rect::new(bx, by, BOX_W, row_h),
                    status: o.status,
                    lines: lines
                        .into_iter()
                        .map(|mut l| {
                            l.rect.x += bx;
                            l.rect.y += by;
                            l
                        })
                        .collect(),
                    marker: (mk.0 + bx, mk.1 + by, mk.2),
                });
            }
            inner_y += row_h;
        }
        let band_h = (inner_y + BAND_PAD - band_top).max(label_y + BAND_PAD - band_top);
        bands.push(Band {
            perspective: *p,
            rect: Rect::new(MARGIN, band_top, width - 2.0 * MARGIN, band_h),
        });
        y = band_top + band_h;
    }

    let legend_at = (MARGIN, y + 20.0);
    for (r, (_, word)) in legend_rects(&LEGEND, legend_at.0, legend_at.1, 13.0)
        .into_iter()
        .zip(LEGEND)
    {
        labels.push(TextLine {
            text: word.to_string(),
            rect: r,
            size: 13.0,
            bold: false,
        });
    }
    let note_x = MARGIN + super::legend_width(&LEGEND, 13.0) + 30.0;
    labels.push(TextLine {
        text: ARROW_NOTE.into(),
        rect: Rect::new(
            note_x,
            legend_at.1,
            40.0 + font::width(ARROW_NOTE, 13.0, false),
            font::line_height(13.0),
        ),
        size: 13.0,
        bold: false,
    });
    let height = (y + FOOTER).ceil();

    let arrows = route(map, &boxes);
    Layout {
        width,
        height,
        bands,
        boxes,
        labels,
        arrows,
        legend_at,
    }
}

/// Routes every link between two placed boxes, spreading the ends along each edge in the
/// order of where the other end is, so arrows fan out instead of piling up.
fn route(map: &MapInput, boxes: &[MapBox]) -> Vec<Arrow> {
    let find = |c: &str| boxes.iter().find(|b| b.code == c);
    // (box code, top edge?) → list of (other end's x, link index)
    let mut ends: HashMap<(String, bool), Vec<(f64, usize)>> = HashMap::new();
    let mut plan = Vec::new();
    for (k, (from, to)) in map.links.iter().enumerate() {
        let (Some(a), Some(b)) = (find(from), find(to)) else {
            continue;
        };
        if a.code == b.code {
            continue;
        }
        // Upward when the effect sits higher (the usual case); same row: over the top.
        let up = b.rect.y <= a.rect.y;
        let same_row = b.rect.y == a.rect.y;
        let (a_top, b_top) = if same_row {
            (true, true)
        } else if up {
            (true, false)
        } else {
            (false, true)
        };
        ends.entry((a.code.clone(), a_top))
            .or_default()
            .push((b.rect.center_x(), k));
        ends.entry((b.code.clone(), b_top))
            .or_default()
            .push((a.rect.center_x(), k));
        plan.push((k, a, b, a_top, b_top));
    }
    let offset = |code: &str, top: bool, k: usize, bx: &Rect| -> f64 {
        let mut v = ends
            .get(&(code.to_string(), top))
            .cloned()
            .unwrap_or_default();
        v.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
        let n = v.len();
        let i = v.iter().position(|(_, j)| *j == k).unwrap_or(0);
        let spread = bx.w * 0.6;
        if n <= 1 {
            bx.center_x()
        } else {
            bx.center_x() - spread / 2.0 + spread * i as f64 / (n - 1) as f64
        }
    };
    plan.into_iter()
        .map(|(k, a, b, a_top, b_top)| {
            let sx = offset(&a.code, a_top, k, &a.rect);
            let ex = offset(&b.code, b_top, k, &b.rect);
            let sy = if a_top { a.rect.y } else { a.rect.bottom() };
            let ey = if b_top { b.rect.y } else { b.rect.bottom() };
            let points = if a_top && b_top {
                let lift = 30.0;
                [(sx, sy), (sx, sy - lift), (ex, ey - lift), (ex, ey)]
            } else {
                let dy = (ey - sy).abs().max(40.0) * 0.45;
                let (c1y, c2y) = if a_top {
                    (sy - dy, ey + dy)
                } else {
                    (sy + dy, ey - dy)
                };
                [(sx, sy), (sx, c1y), (ex, c2y), (ex, ey)]
            };
            Arrow {
                from: a.code.clone(),
                to: b.code.clone(),
                points,
            }
        })
        .collect()
}

/// Draws the map.
pub fn strategy_map(map: &MapInput) -> Result<Png, PictureError> {
    rasterise(&strategy_map_svg(&layout(map)))
}

/// The map as an SVG document (what [`strategy_map`] rasterises).
pub fn strategy_map_svg(l: &Layout) -> String {
    let mut svg = Svg::new(l.width, l.height);
    for (i, b) in l.bands.iter().enumerate() {
        let fill = if i % 2 == 0 { "#f6f7f9" } else { "#ffffff" };
        svg.rect(b.rect.x, b.rect.y, b.rect.w, b.rect.h, 0.0, fill, None);
        svg.line(
            b.rect.x,
            b.rect.y,
            b.rect.right(),
            b.rect.y,
            "#d5d8de",
            1.0,
            None,
        );
    }
    if let Some(last) = l.bands.last() {
        svg.line(
            last.rect.x,
            last.rect.bottom(),
            last.rect.right(),
            last.rect.bottom(),
            "#d5d8de",
            1.0,
            None,
        );
    }
    for t in &l.labels {
        let fill = if t.size == 14.0 {
            palette::MUTED
        } else {
            palette::INK
        };
        // Legend words are drawn by `legend` below, with their shapes.
        if LEGEND.iter().any(|(_, w)| *w == t.text) && t.rect.y == l.legend_at.1 {
            continue;
        }
        if t.text == ARROW_NOTE {
            let y = t.rect.y + t.rect.h / 2.0;
            arrow_path(
                &mut svg,
                [
                    (t.rect.x, y),
                    (t.rect.x + 12.0, y),
                    (t.rect.x + 20.0, y),
                    (t.rect.x + 30.0, y),
                ],
            );
            svg.text(
                t.rect.x + 40.0,
                t.rect.y,
                &t.text,
                t.size,
                t.bold,
                palette::INK,
                Anchor::Start,
            );
            continue;
        }
        svg.text(
            t.rect.x,
            t.rect.y,
            &t.text,
            t.size,
            t.bold,
            fill,
            Anchor::Start,
        );
    }
    legend(&mut svg, &LEGEND, l.legend_at.0, l.legend_at.1, 13.0);
    for a in &l.arrows {
        arrow_path(&mut svg, a.points);
    }
    for b in &l.boxes {
        let r = b.rect;
        svg.rect(
            r.x,
            r.y,
            r.w,
            r.h,
            8.0,
            status_tint(b.status),
            Some((status_colour(b.status), 2.5)),
        );
        // A solid stripe on the left edge carries the status colour at full strength.
        svg.rect(
            r.x + 2.5,
            r.y + 7.0,
            5.0,
            r.h - 14.0,
            2.0,
            status_colour(b.status),
            None,
        );
        for t in &b.lines {
            svg.text(
                t.rect.x,
                t.rect.y,
                &t.text,
                t.size,
                t.bold,
                palette::INK,
                Anchor::Start,
            );
        }
        marker(&mut svg, b.status, b.marker.0, b.marker.1, b.marker.2);
    }
    svg.finish()
}

fn arrow_path(svg: &mut Svg, p: [(f64, f64); 4]) {
    let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = p;
    // Stop the line short of the tip so the head stays sharp.
    let (dx, dy) = (x3 - x2, y3 - y2);
    let len = (dx * dx + dy * dy).sqrt().max(1e-6);
    let (ux, uy) = (dx / len, dy / len);
    let head = 10.0;
    let (bx, by) = (x3 - ux * head, y3 - uy * head);
    svg.path(
        &format!("M{x0:.1},{y0:.1} C{x1:.1},{y1:.1} {x2:.1},{y2:.1} {bx:.1},{by:.1}"),
        "none",
        Some(("#4d4d4d", 1.6)),
        r#" stroke-opacity="0.75""#,
    );
    let (px, py) = (-uy, ux);
    svg.path(
        &format!(
            "M{x3:.1},{y3:.1} L{:.1},{:.1} L{:.1},{:.1} Z",
            bx + px * 5.0,
            by + py * 5.0,
            bx - px * 5.0,
            by - py * 5.0
        ),
        "#4d4d4d",
        None,
        "",
    );
}

/// How a link is drawn on the map with evidence (`map --evidence`): one line style per
/// verdict of [`crate::domain::evidence`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStyle {
    Supported,
    NoEvidence,
    Contradicted,
    NotEnough,
}

/// The legend of the link styles, in this order.
pub const LINK_LEGEND: [(LinkStyle, &str); 4] = [
    (LinkStyle::Supported, "supported"),
    (LinkStyle::NoEvidence, "no evidence yet"),
    (LinkStyle::Contradicted, "contradicted"),
    (LinkStyle::NotEnough, "not enough history"),
];

/// Colour, width and dash pattern of a link style: solid green, dotted grey, dashed red,
/// long-dashed light grey.
pub fn link_stroke(s: LinkStyle) -> (&'static str, f64, Option<&'static str>) {
    match s {
        LinkStyle::Supported => ("#1b7f3b", 2.6, None),
        LinkStyle::NoEvidence => ("#6b6b6b", 1.6, Some("2 4")),
        LinkStyle::Contradicted => ("#c0262d", 2.2, Some("7 4")),
        LinkStyle::NotEnough => ("#a8a8a8", 1.4, Some("10 6")),
    }
}

/// Height of the legend row [`strategy_map_evidence_svg`] adds under the map.
const LINK_LEGEND_ROW: f64 = 36.0;

fn styled_arrow(svg: &mut Svg, p: [(f64, f64); 4], style: LinkStyle) {
    let (colour, width, dash) = link_stroke(style);
    let [(x0, y0), (x1, y1), (x2, y2), (x3, y3)] = p;
    let (dx, dy) = (x3 - x2, y3 - y2);
    let len = (dx * dx + dy * dy).sqrt().max(1e-6);
    let (ux, uy) = (dx / len, dy / len);
    let head = 10.0;
    let (bx, by) = (x3 - ux * head, y3 - uy * head);
    let dash = dash
        .map(|d| format!(r#" stroke-dasharray="{d}""#))
        .unwrap_or_default();
    svg.path(
        &format!("M{x0:.1},{y0:.1} C{x1:.1},{y1:.1} {x2:.1},{y2:.1} {bx:.1},{by:.1}"),
        "none",
        Some((colour, width)),
        &dash,
    );
    let (px, py) = (-uy, ux);
    svg.path(
        &format!(
            "M{x3:.1},{y3:.1} L{:.1},{:.1} L{:.1},{:.1} Z",
            bx + px * 5.0,
            by + py * 5.0,
            bx - px * 5.0,
            by - py * 5.0
        ),
        colour,
        None,
        "",
    );
}

/// The map with each link drawn in the style of its verdict (`styles`: cause, effect,
/// style; a link not listed is drawn as not enough history) and a legend row of the
/// styles under it.
pub fn strategy_map_evidence_svg(l: &Layout, styles: &[(String, String, LinkStyle)]) -> String {
    let mut plain = l.clone();
    plain.arrows.clear();
    let base = strategy_map_svg(&plain);
    // The plain map's drawing without its header, background and closing tag.
    let body = base
        .splitn(3, '\n')
        .nth(2)
        .unwrap_or_default()
        .trim_end()
        .trim_end_matches("</svg>");
    let mut svg = Svg::new(l.width, l.height + LINK_LEGEND_ROW);
    svg.raw(body);
    for a in &l.arrows {
        let style = styles
            .iter()
            .find(|(f, t, _)| *f == a.from && *t == a.to)
            .map(|s| s.2)
            .unwrap_or(LinkStyle::NotEnough);
        styled_arrow(&mut svg, a.points, style);
    }
    let y = l.height + 8.0;
    let mut x = 24.0;
    svg.text(x, y, "Links:", 13.0, true, palette::INK, Anchor::Start);
    x += font::width("Links:", 13.0, true) + 14.0;
    for (style, word) in LINK_LEGEND {
        let mid = y + font::line_height(13.0) / 2.0;
        let (colour, width, dash) = link_stroke(style);
        svg.line(x, mid, x + 34.0, mid, colour, width, dash);
        svg.text(x + 42.0, y, word, 13.0, false, palette::INK, Anchor::Start);
        x += 42.0 + font::width(word, 13.0, false) + 22.0;
    }
    svg.finish()
}

/// [`strategy_map_evidence_svg`] rasterised.
pub fn strategy_map_evidence(
    map: &MapInput,
    styles: &[(String, String, LinkStyle)],
) -> Result<Png, PictureError> {
    rasterise(&strategy_map_evidence_svg(&layout(map), styles))
}

#[cfg(test)]
mod evidence_tests {
    use super::*;

    fn input() -> MapInput {
        MapInput {
            title: "Strategy map".into(),
            perspectives: vec![
                (Perspective::Internal, "Internal".into()),
                (Perspective::Customer, "Customer".into()),
            ],
            objectives: ["P1", "P2", "C1"]
                .iter()
                .map(|c| MapObjective {
                    code: c.to_string(),
                    title: format!("Objective {c}"),
                    perspective: if c.starts_with('P') {
                        Perspective::Internal
                    } else {
                        Perspective::Customer
                    },
                    progress: Some(0.5),
                    status: Status::OnTrack,
                })
                .collect(),
            links: vec![("P1".into(), "C1".into()), ("P2".into(), "C1".into())],
        }
    }

    #[test]
    fn each_link_takes_its_verdicts_line_style_and_the_legend_names_them_all() {
        let l = layout(&input());
        let svg = strategy_map_evidence_svg(
            &l,
            &[
                ("P1".into(), "C1".into(), LinkStyle::Supported),
                ("P2".into(), "C1".into(), LinkStyle::Contradicted),
            ],
        );
        // One curve per link in its style, plus the legend's sample lines.
        let curves = |colour: &str| {
            svg.lines()
                .filter(|s| s.starts_with("<path d=\"M") && s.contains(" C"))
                .filter(|s| s.contains(&format!("stroke=\"{colour}\"")))
                .count()
        };
        assert_eq!(curves("#1b7f3b"), 1, "{svg}");
        assert_eq!(curves("#c0262d"), 1, "{svg}");
        assert!(svg.contains(r##"stroke="#c0262d" stroke-width="2.2" stroke-dasharray="7 4""##));
        for (_, word) in LINK_LEGEND {
            assert!(svg.contains(&format!(">{word}</text>")), "{word}");
        }
        // Taller than the plain map by the legend row; nothing of the plain map is lost.
        assert!(svg.contains(&format!(
            "height=\"{}\"",
            (l.height + LINK_LEGEND_ROW).ceil() as u32
        )));
        assert!(svg.contains(">Objective P1</text>") || svg.contains("Objective P1"));
        strategy_map_evidence(&input(), &[]).expect("rasterises");
    }
}
