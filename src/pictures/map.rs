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

/// A cause → effect arrow as an orthogonal polyline: it leaves the cause's box edge,
/// runs only in the gutters between rows and the channels between columns (where no box
/// is), and ends on the effect's box edge, where the arrowhead points.
#[derive(Debug, Clone, PartialEq)]
pub struct Arrow {
    pub from: String,
    pub to: String,
    pub points: Vec<(f64, f64)>,
    /// The cause is off track: the arrow is drawn thick and in the off-track colour.
    pub emphasised: bool,
}

impl Arrow {
    /// The arrow's line as straight segments, for geometry checks.
    pub fn segments(&self) -> Vec<((f64, f64), (f64, f64))> {
        self.points.windows(2).map(|w| (w[0], w[1])).collect()
    }

    /// Where the arrowhead points.
    pub fn end(&self) -> (f64, f64) {
        *self.points.last().expect("an arrow has points")
    }
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
/// The narrowest channel between two columns; it widens when many arrows share one.
const BOX_GAP: f64 = 30.0;
const MAX_COLS: usize = 5;
const PAD: f64 = 10.0;
const ROW_GAP: f64 = 44.0;
const BAND_PAD: f64 = 24.0;
const HEADER: f64 = 84.0;
const FOOTER: f64 = 84.0;
const CODE_SIZE: f64 = 14.0;
const TITLE_SIZE: f64 = 13.0;
const STATUS_SIZE: f64 = 12.0;
const BAND_LABEL_SIZE: f64 = 15.0;
const MAX_TITLE_LINES: usize = 4;
/// Room between an arrow's lane and a box edge: the arrowhead and a little air.
const HEAD_ROOM: f64 = 14.0;
/// Distance between neighbouring arrows in a gutter and in a channel.
const LANE_Y: f64 = 7.0;
const LANE_X: f64 = 6.0;
/// Room left at the sides of a channel.
const CHANNEL_PAD: f64 = 6.0;
/// What each arrow already in a channel adds to the cost of choosing it, in px of detour.
const LOAD_COST: f64 = 16.0;
/// Horizontal runs closer than this share no lane.
const RUN_PAD: f64 = 8.0;

const LEGEND: [(Status, &str); 4] = [
    (Status::OnTrack, "on track"),
    (Status::AtRisk, "at risk"),
    (Status::OffTrack, "off track"),
    (Status::NoData, NOT_MEASURED),
];
const ARROW_NOTE: &str = "arrows run from cause to effect";
const EMPHASIS_NOTE: &str = "thick orange arrow: its cause is off track";
const NOT_MEASURED: &str = "not measured";

const ARROW_COLOUR: &str = "#4d4d4d";
const ARROW_W: f64 = 1.4;
const EMPHASIS_W: f64 = 2.8;

/// The word a box says for its status: an objective with no data is "not measured".
pub fn status_word(s: Status) -> &'static str {
    match s {
        Status::NoData => NOT_MEASURED,
        s => s.label(),
    }
}

/// Colour and width of an arrow's line.
pub fn arrow_stroke(a: &Arrow) -> (&'static str, f64) {
    if a.emphasised {
        (palette::OFF_TRACK, EMPHASIS_W)
    } else {
        (ARROW_COLOUR, ARROW_W)
    }
}

/// The text of one box, measured, relative to the box's top left.
fn box_lines(o: &MapObjective) -> (Vec<TextLine>, f64, (f64, f64, f64)) {
    let inner = BOX_W - 2.0 * PAD;
    let mut lines = Vec::new();
    let mut y = PAD;
    let code_h = font::line_height(CODE_SIZE);
    let code_w = font::width(&o.code, CODE_SIZE, true);
    // A percentage only for an objective that is measured: "not measured" below says
    // the rest, and a stale figure next to it would contradict it.
    let pct = match (o.status, o.progress) {
        (Status::NoData, _) | (_, None) => None,
        (_, Some(p)) => Some(percent(Some(p))),
    };
    let pct_w = pct
        .as_deref()
        .map(|p| font::width(p, CODE_SIZE, true) + 12.0)
        .unwrap_or(0.0);
    let code = font::ellipsize(&o.code, inner - pct_w, CODE_SIZE, true);
    lines.push(TextLine {
        rect: Rect::new(PAD, y, code_w.min(inner - pct_w), code_h),
        text: code,
        size: CODE_SIZE,
        bold: true,
    });
    if let Some(pct) = pct {
        let w = font::width(&pct, CODE_SIZE, true);
        lines.push(TextLine {
            rect: Rect::new(BOX_W - PAD - w, y, w, code_h),
            text: pct,
            size: CODE_SIZE,
            bold: true,
        });
    }
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
    let word = status_word(o.status).to_string();
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

/// Natural order of codes: `I2` before `I10`.
fn code_order(c: &str) -> (String, u64, String) {
    let at = c.find(|ch: char| ch.is_ascii_digit()).unwrap_or(c.len());
    let n = c[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0);
    (c[..at].to_string(), n, c.to_string())
}

/// Splits a band's objectives into rows of at most [`MAX_COLS`], as even as can be
/// (12 objectives: three rows of four, not 5 + 5 + 2).
fn rows_of(members: &[usize]) -> Vec<&[usize]> {
    if members.is_empty() {
        return Vec::new();
    }
    let rows = members.len().div_ceil(MAX_COLS);
    members.chunks(members.len().div_ceil(rows)).collect()
}

/// The grid columns a row of `n` boxes takes among `cols`: spread evenly, in order.
fn columns(n: usize, cols: usize) -> Vec<usize> {
    let r = cols as f64 / n.max(1) as f64;
    (0..n)
        .map(|j| (((j as f64 + 0.5) * r - 0.5).round() as usize).min(cols - 1))
        .collect()
}

/// Where arrows may run: the gutters between rows of boxes and the channels between
/// grid columns. Boxes sit only in grid cells, so both are clear of boxes everywhere.
#[derive(Debug, Clone)]
struct Grid {
    /// Top and bottom of every row of boxes, top-down.
    rows: Vec<(f64, f64)>,
    /// Centre x of every channel: left of each column, and right of the last.
    channels: Vec<f64>,
    /// Width of a channel.
    gap: f64,
    /// The row of each box, by code.
    row_of: HashMap<String, usize>,
    /// Top of the first band and bottom of the last: the outer gutters end there.
    top: f64,
    bottom: f64,
}

impl Grid {
    /// Top and bottom of gutter `k`: above row `k`; gutter `rows.len()` is below the
    /// last row.
    fn gutter(&self, k: usize) -> (f64, f64) {
        let n = self.rows.len();
        let top = if k == 0 { self.top } else { self.rows[k - 1].1 };
        let bottom = if k >= n { self.bottom } else { self.rows[k].0 };
        (top, bottom)
    }
}

/// Places every band, box, label and arrow of the map. Arrows are routed twice: the
/// first routing says how many arrows share each gutter and channel, the second runs
/// them in a layout whose gutters and channels were widened to hold them.
pub fn layout(map: &MapInput) -> Layout {
    let (first, grid) = place(map, BOX_GAP, &[]);
    let (_, demand) = route(map, &first.boxes, &grid);
    let extra: Vec<f64> = demand
        .gutters
        .iter()
        .enumerate()
        .map(|(k, lanes)| {
            let (top, bottom) = grid.gutter(k);
            (*lanes as f64 * LANE_Y + 2.0 * HEAD_ROOM - (bottom - top)).max(0.0)
        })
        .collect();
    let gap = (demand.channel.saturating_sub(1) as f64 * LANE_X + 2.0 * CHANNEL_PAD)
        .max(BOX_GAP)
        .ceil();
    let (mut l, grid) = place(map, gap, &extra);
    l.arrows = route(map, &l.boxes, &grid).0;
    l
}

/// Places bands, boxes and labels, with channels `gap` wide and gutter `k` made
/// `extra[k]` taller; no arrows yet.
fn place(map: &MapInput, gap: f64, extra: &[f64]) -> (Layout, Grid) {
    let extra_at = |k: usize| extra.get(k).copied().unwrap_or(0.0);
    // Perspectives top-down: financial first.
    let mut persp: Vec<(Perspective, String)> = map.perspectives.clone();
    persp.sort_by_key(|(p, _)| std::cmp::Reverse(*p));

    // Each band's objectives in code order.
    let order: HashMap<Perspective, Vec<usize>> = persp
        .iter()
        .map(|(p, _)| {
            let mut idx: Vec<usize> = (0..map.objectives.len())
                .filter(|i| map.objectives[*i].perspective == *p)
                .collect();
            idx.sort_by_key(|i| code_order(&map.objectives[*i].code));
            (*p, idx)
        })
        .collect();

    let cols = persp
        .iter()
        .flat_map(|(p, _)| rows_of(&order[p]).into_iter().map(<[usize]>::len))
        .max()
        .unwrap_or(1)
        .max(3);
    let content_w = cols as f64 * (BOX_W + gap);
    let title_w = font::width(&map.title, 20.0, true);
    let legend_w = super::legend_width(&LEGEND, 13.0);
    let notes_w = 40.0
        + font::width(ARROW_NOTE, 13.0, false)
        + 30.0
        + 40.0
        + font::width(EMPHASIS_NOTE, 13.0, false);
    let width = (MARGIN * 2.0 + LABEL_COL + content_w)
        .max(MARGIN * 2.0 + title_w)
        .max(MARGIN * 2.0 + legend_w.max(notes_w))
        .ceil();
    let content_x = MARGIN + LABEL_COL;
    let pitch = (width - MARGIN - content_x) / cols as f64;

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
    let mut rows: Vec<(f64, f64)> = Vec::new();
    let mut row_of = HashMap::new();
    let mut y = HEADER;
    for (p, label) in &persp {
        let members = &order[p];
        let band_top = y;
        // Band labels stay clear of the first channel's arrows.
        let label_lines = font::wrap(
            label,
            LABEL_COL - 24.0 - gap / 2.0,
            BAND_LABEL_SIZE,
            true,
            3,
        );
        let lh = font::line_height(BAND_LABEL_SIZE);
        let mut inner_y = band_top + BAND_PAD + extra_at(rows.len());
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
                    content_x + gap,
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
        for (r, row) in rows_of(members).into_iter().enumerate() {
            if r > 0 {
                inner_y += ROW_GAP + extra_at(rows.len());
            }
            let measured: Vec<_> = row.iter().map(|i| box_lines(&map.objectives[*i])).collect();
            let row_h = measured.iter().map(|(_, h, _)| *h).fold(0.0, f64::max);
            for ((i, (lines, _, mk)), c) in row.iter().zip(measured).zip(columns(row.len(), cols)) {
                let bx = (content_x + pitch * (c as f64 + 0.5) - BOX_W / 2.0).round();
                // Boxes of one row share the tallest one's height, so a row reads as one.
                let by = inner_y;
                let o = &map.objectives[*i];
                row_of.insert(o.code.clone(), rows.len());
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
            rows.push((inner_y, inner_y + row_h));
            inner_y += row_h;
        }
        let last = persp.last().map(|(q, _)| q) == Some(p);
        let bottom_pad = BAND_PAD + if last { extra_at(rows.len()) } else { 0.0 };
        let band_h = (inner_y + bottom_pad - band_top).max(label_y + BAND_PAD - band_top);
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
    // The second legend row: what arrows mean.
    let mut note_x = MARGIN;
    let note_y = legend_at.1 + 28.0;
    for note in [ARROW_NOTE, EMPHASIS_NOTE] {
        let w = 40.0 + font::width(note, 13.0, false);
        labels.push(TextLine {
            text: note.into(),
            rect: Rect::new(note_x, note_y, w, font::line_height(13.0)),
            size: 13.0,
            bold: false,
        });
        note_x += w + 30.0;
    }
    let height = (y + FOOTER).ceil();

    let grid = Grid {
        rows,
        channels: (0..=cols).map(|c| content_x + pitch * c as f64).collect(),
        gap: pitch - BOX_W,
        row_of,
        top: HEADER,
        bottom: y,
    };
    let l = Layout {
        width,
        height,
        bands,
        boxes,
        labels,
        arrows: Vec::new(),
        legend_at,
    };
    (l, grid)
}

/// How many lanes the arrows need: in each gutter, and in the busiest channel.
#[derive(Debug, Default)]
struct Demand {
    gutters: Vec<usize>,
    channel: usize,
}

/// Gives each run a lane: runs (lo, hi, id) that overlap, or come closer than `pad`,
/// get different lanes. Returns the lane of each id and the number of lanes.
fn lanes(mut runs: Vec<(f64, f64, usize)>, pad: f64) -> (HashMap<usize, usize>, usize) {
    runs.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.cmp(&b.2))
    });
    let mut ends: Vec<f64> = Vec::new();
    let mut lane = HashMap::new();
    for (lo, hi, id) in runs {
        let k = match ends.iter().position(|e| *e + pad < lo) {
            Some(k) => k,
            None => {
                ends.push(f64::NEG_INFINITY);
                ends.len() - 1
            }
        };
        ends[k] = hi;
        lane.insert(id, k);
    }
    (lane, ends.len())
}

/// The `i`th of `n` positions spread over `lo..hi` at most `step` apart, centred.
fn spread(lo: f64, hi: f64, i: usize, n: usize, step: f64) -> f64 {
    let mid = (lo + hi) / 2.0;
    if n <= 1 {
        return mid;
    }
    let step = step.min(((hi - lo) / (n - 1) as f64).max(0.0));
    mid + (i as f64 - (n - 1) as f64 / 2.0) * step
}

/// One link's way through the grid before lanes are known.
struct Plan<'a> {
    a: &'a MapBox,
    b: &'a MapBox,
    /// Leaves the cause's top edge (else its bottom), enters the effect's top edge.
    a_top: bool,
    b_top: bool,
    /// The gutter next to the cause and next to the effect.
    ga: usize,
    gb: usize,
    /// The channel between the two gutters, when they differ.
    channel: Option<usize>,
}

/// Routes every link between two placed boxes through the grid's gutters and channels.
/// Ends are spread along each box edge in the order of where the other end is, so
/// arrows fan out instead of piling up; arrows sharing a gutter or a channel get lanes
/// of their own.
fn route(map: &MapInput, boxes: &[MapBox], grid: &Grid) -> (Vec<Arrow>, Demand) {
    let find = |c: &str| boxes.iter().find(|b| b.code == c);
    let mut plans: Vec<Plan> = Vec::new();
    for (from, to) in &map.links {
        let (Some(a), Some(b)) = (find(from), find(to)) else {
            continue;
        };
        if a.code == b.code {
            continue;
        }
        let (ra, rb) = (grid.row_of[&a.code], grid.row_of[&b.code]);
        // Upward when the effect sits higher (the usual case); same row: over the top.
        let (a_top, b_top, ga, gb) = match rb.cmp(&ra) {
            std::cmp::Ordering::Less => (true, false, ra, rb + 1),
            std::cmp::Ordering::Equal => (true, true, ra, ra),
            std::cmp::Ordering::Greater => (false, true, ra + 1, rb),
        };
        plans.push(Plan {
            a,
            b,
            a_top,
            b_top,
            ga,
            gb,
            channel: None,
        });
    }

    // Ends along each box edge: (box, top edge?) → (other end's x, plan).
    let mut ends: HashMap<(&str, bool), Vec<(f64, usize)>> = HashMap::new();
    for (k, p) in plans.iter().enumerate() {
        ends.entry((p.a.code.as_str(), p.a_top))
            .or_default()
            .push((p.b.rect.center_x(), k));
        ends.entry((p.b.code.as_str(), p.b_top))
            .or_default()
            .push((p.a.rect.center_x(), k));
    }
    for v in ends.values_mut() {
        v.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    }
    let end_x = |b: &MapBox, top: bool, k: usize| -> f64 {
        let v = &ends[&(b.code.as_str(), top)];
        let i = v.iter().position(|(_, j)| *j == k).unwrap_or(0);
        let half = b.rect.w * 0.35;
        spread(
            b.rect.center_x() - half,
            b.rect.center_x() + half,
            i,
            v.len(),
            f64::INFINITY,
        )
    };
    let xs: Vec<(f64, f64)> = plans
        .iter()
        .enumerate()
        .map(|(k, p)| (end_x(p.a, p.a_top, k), end_x(p.b, p.b_top, k)))
        .collect();

    // Channels: the one with the shortest detour, where every arrow already in a channel
    // counts as a little detour, so bundles spread over neighbouring channels.
    let mut used = vec![0usize; grid.channels.len()];
    for (p, (sx, ex)) in plans.iter_mut().zip(&xs) {
        if p.ga == p.gb {
            continue;
        }
        let c = (0..grid.channels.len())
            .min_by(|i, j| {
                let cost = |c: usize| {
                    let x = grid.channels[c];
                    ((x - sx).abs() + (x - ex).abs() + LOAD_COST * used[c] as f64).round()
                };
                cost(*i).total_cmp(&cost(*j)).then(used[*i].cmp(&used[*j]))
            })
            .expect("a grid has channels");
        used[c] += 1;
        p.channel = Some(c);
    }
    // Lanes in each channel: runs over the gutters they span.
    let mut channel_lane: HashMap<usize, (usize, usize)> = HashMap::new();
    let mut demand = Demand {
        gutters: vec![0; grid.rows.len() + 1],
        channel: 0,
    };
    for c in 0..grid.channels.len() {
        let runs: Vec<(f64, f64, usize)> = plans
            .iter()
            .enumerate()
            .filter(|(_, p)| p.channel == Some(c))
            .map(|(k, p)| (p.ga.min(p.gb) as f64, p.ga.max(p.gb) as f64, k))
            .collect();
        let (lane, n) = lanes(runs, 0.5);
        demand.channel = demand.channel.max(n);
        for (k, i) in lane {
            channel_lane.insert(k, (i, n));
        }
    }
    let channel_x = |k: usize| -> Option<f64> {
        let c = plans[k].channel?;
        let (i, n) = channel_lane[&k];
        let x = grid.channels[c];
        let half = grid.gap / 2.0 - CHANNEL_PAD;
        Some(spread(x - half, x + half, i, n, LANE_X))
    };
    // Lanes in each gutter: the horizontal runs in it. A run to a channel is counted to
    // the channel's far side, so lanes never depend on where the channel lane falls.
    let mut runs: Vec<Vec<(f64, f64, usize)>> = vec![Vec::new(); grid.rows.len() + 1];
    for (k, p) in plans.iter().enumerate() {
        let (sx, ex) = xs[k];
        match p.channel {
            None => runs[p.ga].push((sx.min(ex), sx.max(ex), 2 * k)),
            Some(c) => {
                let x = grid.channels[c];
                let h = grid.gap / 2.0;
                runs[p.ga].push((sx.min(x - h), sx.max(x + h), 2 * k));
                runs[p.gb].push((ex.min(x - h), ex.max(x + h), 2 * k + 1));
            }
        }
    }
    let mut run_y: HashMap<usize, f64> = HashMap::new();
    for (g, r) in runs.into_iter().enumerate() {
        let (lane, n) = lanes(r, RUN_PAD);
        demand.gutters[g] = n;
        let (top, bottom) = grid.gutter(g);
        let (lo, hi) = if bottom - top > 2.0 * HEAD_ROOM {
            (top + HEAD_ROOM, bottom - HEAD_ROOM)
        } else {
            let m = (top + bottom) / 2.0;
            (m, m)
        };
        for (id, i) in lane {
            run_y.insert(id, spread(lo, hi, i, n, LANE_Y));
        }
    }

    let arrows = plans
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let (sx, ex) = xs[k];
            let sy = if p.a_top {
                p.a.rect.y
            } else {
                p.a.rect.bottom()
            };
            let ey = if p.b_top {
                p.b.rect.y
            } else {
                p.b.rect.bottom()
            };
            let y1 = run_y[&(2 * k)];
            let mut points = vec![(sx, sy), (sx, y1)];
            if let Some(cx) = channel_x(k) {
                let y2 = run_y[&(2 * k + 1)];
                points.extend([(cx, y1), (cx, y2), (ex, y2)]);
            } else {
                points.push((ex, y1));
            }
            points.push((ex, ey));
            points.dedup();
            Arrow {
                from: p.a.code.clone(),
                to: p.b.code.clone(),
                points,
                emphasised: p.a.status == Status::OffTrack,
            }
        })
        .collect();
    (arrows, demand)
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
        if t.text == ARROW_NOTE || t.text == EMPHASIS_NOTE {
            legend_arrow(&mut svg, t);
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
    for b in &l.boxes {
        draw_box(&mut svg, b);
    }
    // Arrows over the boxes' edges they start and end on; emphasised ones on top.
    for a in l.arrows.iter().filter(|a| !a.emphasised) {
        arrow_path(&mut svg, a);
    }
    for a in l.arrows.iter().filter(|a| a.emphasised) {
        arrow_path(&mut svg, a);
    }
    svg.finish()
}

/// A legend entry for arrows: a short sample arrow and its note.
fn legend_arrow(svg: &mut Svg, t: &TextLine) {
    let y = t.rect.y + t.rect.h / 2.0;
    let sample = Arrow {
        from: String::new(),
        to: String::new(),
        points: vec![(t.rect.x, y), (t.rect.x + 30.0, y)],
        emphasised: t.text == EMPHASIS_NOTE,
    };
    arrow_path(svg, &sample);
    svg.text(
        t.rect.x + 40.0,
        t.rect.y,
        &t.text,
        t.size,
        t.bold,
        palette::INK,
        Anchor::Start,
    );
}

/// An objective's box: tinted by status with a solid stripe of the status colour, or
/// dashed and grey when it is not measured.
fn draw_box(svg: &mut Svg, b: &MapBox) {
    let r = b.rect;
    if b.status == Status::NoData {
        svg.raw(&format!(
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="8.0" fill="{}" stroke="{}" stroke-width="2.0" stroke-dasharray="7 5"/>"#,
            r.x,
            r.y,
            r.w,
            r.h,
            palette::BACKGROUND,
            palette::NO_DATA
        ));
    } else {
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
    }
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
    marker(svg, b.status, b.marker.0, b.marker.1, b.marker.2);
}

/// Draws an arrow over a thin white halo, so crossings read as one line passing over
/// another; the line stops short of the tip so the head stays sharp.
fn arrow_path(svg: &mut Svg, a: &Arrow) {
    let (colour, w) = arrow_stroke(a);
    draw_arrow(svg, &a.points, colour, w, "", a.emphasised);
}

/// An arrow along `points` in `colour` and width `w` (`extra`: more stroke attributes,
/// such as a dash pattern), over a halo, with a head (a bigger one when `big`).
fn draw_arrow(svg: &mut Svg, points: &[(f64, f64)], colour: &str, w: f64, extra: &str, big: bool) {
    let n = points.len();
    if n < 2 {
        return;
    }
    let (x3, y3) = points[n - 1];
    let (x2, y2) = points[n - 2];
    let (dx, dy) = (x3 - x2, y3 - y2);
    let len = (dx * dx + dy * dy).sqrt().max(1e-6);
    let (ux, uy) = (dx / len, dy / len);
    let head = if big { 12.0 } else { 10.0 };
    let (bx, by) = (x3 - ux * head, y3 - uy * head);
    let mut shaft = points.to_vec();
    shaft[n - 1] = (bx, by);
    let d = rounded(&shaft, 5.0);
    svg.path(
        &d,
        "none",
        Some((palette::BACKGROUND, w + 3.0)),
        r#" stroke-linejoin="round" stroke-opacity="0.9""#,
    );
    svg.path(
        &d,
        "none",
        Some((colour, w)),
        &format!(r#" stroke-linejoin="round"{extra}"#),
    );
    let (px, py) = (-uy, ux);
    let half = if big { 6.5 } else { 5.0 };
    svg.path(
        &format!(
            "M{x3:.1},{y3:.1} L{:.1},{:.1} L{:.1},{:.1} Z",
            bx + px * half,
            by + py * half,
            bx - px * half,
            by - py * half
        ),
        colour,
        None,
        "",
    );
}

/// An SVG path along `points` with each corner rounded off by up to `r` (less where a
/// segment is short); the curve stays inside the corner, on the segments' own ground.
fn rounded(points: &[(f64, f64)], r: f64) -> String {
    let mut d = String::new();
    let Some(&(x0, y0)) = points.first() else {
        return d;
    };
    d.push_str(&format!("M{x0:.1},{y0:.1}"));
    let len = |a: (f64, f64), b: (f64, f64)| ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
    for w in points.windows(3) {
        let (p, c, q) = (w[0], w[1], w[2]);
        let (l1, l2) = (len(p, c), len(c, q));
        let k = r.min(l1 / 2.0).min(l2 / 2.0);
        if k < 0.5 {
            d.push_str(&format!(" L{:.1},{:.1}", c.0, c.1));
            continue;
        }
        let a = (c.0 + (p.0 - c.0) * k / l1, c.1 + (p.1 - c.1) * k / l1);
        let b = (c.0 + (q.0 - c.0) * k / l2, c.1 + (q.1 - c.1) * k / l2);
        d.push_str(&format!(
            " L{:.1},{:.1} Q{:.1},{:.1} {:.1},{:.1}",
            a.0, a.1, c.0, c.1, b.0, b.1
        ));
    }
    if let Some(&(x, y)) = points.last().filter(|_| points.len() > 1) {
        d.push_str(&format!(" L{x:.1},{y:.1}"));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objective(code: &str, perspective: Perspective, status: Status) -> MapObjective {
        MapObjective {
            code: code.into(),
            title: format!("Objective {code}"),
            perspective,
            progress: Some(0.5),
            status,
        }
    }

    /// An empty band, a link pointing down (effect below its cause), one within a row,
    /// one to an unknown code and one to itself: all laid out, each drawn link routed
    /// from edge to edge without entering a box.
    #[test]
    fn odd_maps_route_from_edge_to_edge() {
        let map = MapInput {
            title: "Odd".into(),
            perspectives: vec![
                (Perspective::Financial, "Financial".into()),
                (Perspective::Customer, "Customers".into()),
                (Perspective::Internal, "Internal".into()),
                (Perspective::Learning, "Learning".into()),
            ],
            objectives: vec![
                objective("F1", Perspective::Financial, Status::OffTrack),
                objective("F2", Perspective::Financial, Status::OnTrack),
                objective("L1", Perspective::Learning, Status::NoData),
            ],
            links: vec![
                ("F1".into(), "L1".into()),
                ("F1".into(), "F2".into()),
                ("L1".into(), "F2".into()),
                ("L1".into(), "X9".into()),
                ("F2".into(), "F2".into()),
            ],
        };
        let l = layout(&map);
        assert_eq!(l.arrows.len(), 3);
        assert!(l.labels.iter().any(|t| t.text == "(no objectives)"));
        for a in &l.arrows {
            let from = l.boxes.iter().find(|b| b.code == a.from).unwrap();
            let to = l.boxes.iter().find(|b| b.code == a.to).unwrap();
            let (s, e) = (a.points[0], a.end());
            assert!(s.1 == from.rect.y || s.1 == from.rect.bottom(), "{a:?}");
            assert!(e.1 == to.rect.y || e.1 == to.rect.bottom(), "{a:?}");
            for (p, q) in a.segments() {
                assert!(p.0 == q.0 || p.1 == q.1, "not orthogonal: {a:?}");
                for b in &l.boxes {
                    let inside = |(x, y): (f64, f64)| {
                        x > b.rect.x + 0.5
                            && x < b.rect.right() - 0.5
                            && y > b.rect.y + 0.5
                            && y < b.rect.bottom() - 0.5
                    };
                    let mid = ((p.0 + q.0) / 2.0, (p.1 + q.1) / 2.0);
                    assert!(
                        !inside(p) && !inside(q) && !inside(mid),
                        "{a:?} in {}",
                        b.code
                    );
                }
            }
        }
        let down = l.arrows.iter().find(|a| a.to == "L1").unwrap();
        assert!(down.emphasised);
        assert!(down.end().1 > down.points[0].1, "points down");
    }
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

fn styled_arrow(svg: &mut Svg, points: &[(f64, f64)], style: LinkStyle) {
    let (colour, width, dash) = link_stroke(style);
    let dash = dash
        .map(|d| format!(r#" stroke-dasharray="{d}""#))
        .unwrap_or_default();
    draw_arrow(svg, points, colour, width, &dash, false);
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
        styled_arrow(&mut svg, &a.points, style);
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
                .filter(|s| s.starts_with("<path d=\"M") && s.contains(" L"))
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
