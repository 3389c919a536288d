//! The key-result trend chart: check-in values over the cycle, the target, the expected
//! pace and the confidence of every check-in (shape and colour).

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::svg::{Anchor, Svg};
use super::{PictureError, Png, Rect, font, marker, palette, rasterise};
use crate::bot::render::figure;
use crate::domain::{Confidence, Status};

/// One check-in on the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    pub at: DateTime<Utc>,
    pub value: f64,
    pub confidence: Option<Confidence>,
}

/// Everything the trend chart shows, as plain values.
#[derive(Debug, Clone, PartialEq)]
pub struct Trend {
    pub code: String,
    pub title: String,
    pub unit: String,
    /// The cycle: key, first instant, instant after the last day.
    pub cycle: Option<(String, DateTime<Utc>, DateTime<Utc>)>,
    /// The moment the chart describes (a parameter: rendering never reads the clock).
    pub now: DateTime<Utc>,
    /// Where the expected pace line starts (at the cycle start), for metric key results.
    pub start: Option<f64>,
    /// Where it ends (at the cycle end), and the target line.
    pub target: Option<f64>,
    /// Draw the pace line from `start` to `target` across the cycle.
    pub pace: bool,
    /// A bound or a band to hold (`at_least`, `at_most`, `band`): its progress reads "held"
    /// or "not held", never "of the way".
    pub held: bool,
    /// A range to stay within (band key results and measures).
    pub band: Option<(f64, f64)>,
    /// A measure's red threshold.
    pub red: Option<f64>,
    /// Check-ins, oldest first (superseded ones already left out).
    pub points: Vec<TrendPoint>,
    pub status: Status,
    pub progress: Option<f64>,
    pub stale: bool,
    /// The key result's due date, drawn as a marker (a milestone's in particular).
    pub due: Option<NaiveDate>,
    /// A milestone: check-ins say done (a value of at least 0.5) or not done, and the
    /// chart is a done/not-done timeline rather than a value plot.
    pub milestone: bool,
}

pub const WIDTH: f64 = 960.0;
pub const HEIGHT: f64 = 560.0;
const LEFT: f64 = 90.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 92.0;
const BOTTOM: f64 = 108.0;

impl Trend {
    /// How far along the key result is, in words: "32% of the way" (and the gap to the
    /// expected pace, "21 pts behind pace", when the chart draws a pace line), or "held" /
    /// "not held" for a bound or a band.
    pub fn progress_words(&self) -> Vec<String> {
        let Some(p) = self.progress else {
            return Vec::new();
        };
        if self.held {
            return vec![if p >= 1.0 { "held" } else { "not held" }.to_string()];
        }
        let mut out = vec![format!("{:.0}% of the way", p * 100.0)];
        if let (true, Some((_, cs, ce))) = (self.pace, &self.cycle) {
            let span = (*ce - *cs).num_seconds().max(1) as f64;
            let elapsed = ((self.now - *cs).num_seconds() as f64 / span).clamp(0.0, 1.0);
            let gap = ((p - elapsed) * 100.0).round();
            out.push(if gap <= -1.0 {
                format!("{:.0} pts behind pace", -gap)
            } else if gap >= 1.0 {
                format!("{gap:.0} pts ahead of pace")
            } else {
                "on pace".to_string()
            });
        }
        out
    }

    /// A sentence saying what the chart shows.
    pub fn alt(&self) -> String {
        let mut s = format!("Trend of {} ({})", self.code, self.title);
        if let Some((key, _, _)) = &self.cycle {
            s.push_str(&format!(" over cycle {key}"));
        }
        match self.points.last() {
            None => s.push_str(": no check-ins yet"),
            Some(p) => {
                s.push_str(&format!(
                    ": {} check-in{}, latest {}",
                    self.points.len(),
                    if self.points.len() == 1 { "" } else { "s" },
                    figure(Some(p.value), &self.unit)
                ));
                if let Some(c) = p.confidence {
                    s.push_str(&format!(" ({})", Status::from(c).label()));
                }
            }
        }
        if let Some((lo, hi)) = self.band {
            s.push_str(&format!(
                ", to stay within {}–{}",
                figure(Some(lo), ""),
                figure(Some(hi), &self.unit)
            ));
        } else if let Some(t) = self.target {
            s.push_str(&format!(
                " against a target of {}",
                figure(Some(t), &self.unit)
            ));
        }
        for w in self.progress_words() {
            s.push_str(&format!(", {w}"));
        }
        if let Some(d) = self.due {
            s.push_str(&format!(", due {d}"));
        }
        s.push_str(&format!(", {}", self.status.label()));
        if self.stale {
            s.push_str(" (stale)");
        }
        s.push('.');
        s
    }

    /// The time axis: the cycle, widened to take in check-ins outside it.
    fn x_domain(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        let (mut lo, mut hi) = match &self.cycle {
            Some((_, a, b)) => (*a, *b),
            None => (self.now - Duration::days(7), self.now + Duration::days(7)),
        };
        for p in &self.points {
            lo = lo.min(p.at);
            hi = hi.max(p.at);
        }
        if let Some(d) = self.due_at() {
            lo = lo.min(d);
            hi = hi.max(d);
        }
        if hi <= lo {
            hi = lo + Duration::days(1);
        }
        (lo, hi)
    }

    /// The end of the due day (UTC), where the marker stands.
    fn due_at(&self) -> Option<DateTime<Utc>> {
        self.due
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| Utc.from_utc_datetime(&d))
    }

    fn y_domain(&self) -> (f64, f64) {
        let mut vals: Vec<f64> = self.points.iter().map(|p| p.value).collect();
        vals.extend(self.target);
        if self.pace {
            vals.extend(self.start);
        }
        vals.extend(self.red);
        if let Some((a, b)) = self.band {
            vals.push(a);
            vals.push(b);
        }
        vals.retain(|v| v.is_finite());
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !lo.is_finite() {
            return (0.0, 1.0);
        }
        if (hi - lo).abs() < 1e-9 {
            let pad = lo.abs().max(1.0) * 0.1;
            return (lo - pad, hi + pad);
        }
        let pad = (hi - lo) * 0.08;
        (lo - pad, hi + pad)
    }
}

impl Trend {
    /// The status word at the top right, with its shape: "no data" before any check-in
    /// (whatever the rollup says).
    pub fn header(&self) -> (Status, String) {
        if self.points.is_empty() {
            return (Status::NoData, Status::NoData.label().to_string());
        }
        let word = self.status.label();
        if self.stale {
            (self.status, format!("{word} (stale)"))
        } else {
            (self.status, word.to_string())
        }
    }

    /// For a stale key result, when it was last reported ("last reported 12 Nov"),
    /// written at the top right above its status.
    pub fn last_reported(&self) -> Option<String> {
        let last = self.points.last().filter(|_| self.stale)?;
        Some(format!("last reported {}", last.at.format("%-d %b")))
    }

    /// Where the chart's x axis puts an instant.
    fn x_of(&self, at: DateTime<Utc>) -> f64 {
        let (x0, x1) = self.x_domain();
        let span_ms = (x1 - x0).num_milliseconds().max(1) as f64;
        LEFT + (at - x0).num_milliseconds() as f64 / span_ms * (WIDTH - RIGHT - LEFT)
    }

    /// Where the today line stands, when today is on the chart.
    pub fn today_x(&self) -> Option<f64> {
        let (x0, x1) = self.x_domain();
        (self.now >= x0 && self.now <= x1).then(|| self.x_of(self.now))
    }

    /// Where "No check-ins yet" is written when there are none: beside the today line,
    /// on the side with more room, never across it.
    pub fn empty_note(&self) -> Option<Rect> {
        if !self.points.is_empty() {
            return None;
        }
        let (l, r) = (LEFT, WIDTH - RIGHT);
        let w = font::width(EMPTY_NOTE, 16.0, false);
        let h = font::line_height(16.0);
        let y = (TOP + HEIGHT - BOTTOM) / 2.0 - 10.0;
        let (lo, hi) = match self.today_x() {
            Some(x) if x - l >= r - x => (l, x),
            Some(x) => (x, r),
            None => (l, r),
        };
        let cx = ((lo + hi) / 2.0).clamp(l + w / 2.0 + 4.0, r - w / 2.0 - 4.0);
        Some(Rect::new(cx - w / 2.0, y, w, h))
    }

    /// A milestone's timeline: from each check-in to the next (the last one to today,
    /// or the axis end), done or not done.
    pub fn milestone_spans(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>, bool)> {
        let (_, x1) = self.x_domain();
        let end = self.now.min(x1);
        self.points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let to = self
                    .points
                    .get(i + 1)
                    .map(|n| n.at)
                    .unwrap_or(end)
                    .max(p.at);
                (p.at, to, p.value >= 0.5)
            })
            .collect()
    }
}

const EMPTY_NOTE: &str = "No check-ins yet";

/// Round tick values covering `[lo, hi]` (about `n` of them), and the widened range.
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> (Vec<f64>, f64, f64) {
    let span = (hi - lo).max(1e-9);
    let raw = span / n.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let end = (hi / step).ceil() * step;
    let mut ticks = Vec::new();
    let mut v = start;
    while v <= end + step * 1e-6 {
        ticks.push(if v.abs() < step * 1e-9 { 0.0 } else { v });
        v += step;
    }
    (ticks, start, end)
}

fn month_ticks(lo: DateTime<Utc>, hi: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let d = lo.date_naive();
    let mut m = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).expect("valid month start");
    loop {
        let t = Utc.from_utc_datetime(&m.and_hms_opt(0, 0, 0).expect("midnight"));
        if t > hi {
            break;
        }
        if t >= lo {
            out.push(t);
        }
        m = m
            .checked_add_months(chrono::Months::new(1))
            .expect("dates stay in range");
    }
    if out.len() < 2 {
        out.clear();
        let mut t = lo;
        while t <= hi {
            out.push(t);
            t += Duration::days(7);
        }
    }
    out
}

/// Draws the chart.
pub fn kr_trend(t: &Trend) -> Result<Png, PictureError> {
    rasterise(&kr_trend_svg(t))
}

/// The chart as an SVG document (what [`kr_trend`] rasterises).
pub fn kr_trend_svg(t: &Trend) -> String {
    let mut svg = Svg::new(WIDTH, HEIGHT);
    let (plot_l, plot_r) = (LEFT, WIDTH - RIGHT);
    let (plot_t, plot_b) = (TOP, HEIGHT - BOTTOM);

    // Title and subtitle; a stale key result's last report at the top right.
    let mut title_room = WIDTH - 2.0 * 24.0;
    if let Some(note) = t.last_reported() {
        let w = font::width(&note, 14.0, true);
        title_room -= w + 24.0;
        svg.text(
            WIDTH - 24.0,
            22.0,
            &note,
            14.0,
            true,
            palette::OFF_TRACK,
            Anchor::End,
        );
    }
    let title = font::ellipsize(&format!("{} — {}", t.code, t.title), title_room, 20.0, true);
    svg.text(24.0, 18.0, &title, 20.0, true, palette::INK, Anchor::Start);
    let mut sub = match &t.cycle {
        Some((k, _, _)) => format!("Cycle {k}"),
        None => "No cycle declared".into(),
    };
    if t.milestone {
        sub.push_str(&milestone_words(t));
    } else {
        if let Some(p) = t.points.last() {
            sub.push_str(&format!(" · latest {}", figure(Some(p.value), &t.unit)));
        }
        if let Some(tg) = t.target.filter(|_| t.band.is_none()) {
            sub.push_str(&format!(" · target {}", figure(Some(tg), &t.unit)));
        }
        for w in t.progress_words() {
            sub.push_str(&format!(" · {w}"));
        }
    }
    // The status, top right: shape and word.
    let (status, word) = t.header();
    let ww = font::width(&word, 15.0, true);
    let room = WIDTH - 24.0 - ww - 30.0 - 24.0 - 16.0;
    svg.text(
        24.0,
        48.0,
        &font::ellipsize(&sub, room, 14.0, false),
        14.0,
        false,
        palette::MUTED,
        Anchor::Start,
    );
    svg.text(
        WIDTH - 24.0,
        50.0,
        &word,
        15.0,
        true,
        palette::INK,
        Anchor::End,
    );
    marker(
        &mut svg,
        status,
        WIDTH - 24.0 - ww - 14.0,
        50.0 + font::line_height(15.0) / 2.0,
        7.0,
    );

    let (x0, x1) = t.x_domain();
    let (ylo, yhi) = t.y_domain();
    let (yticks, ylo, yhi) = nice_ticks(ylo, yhi, 5);
    let span_ms = (x1 - x0).num_milliseconds().max(1) as f64;
    let sx = |at: DateTime<Utc>| {
        plot_l + (at - x0).num_milliseconds() as f64 / span_ms * (plot_r - plot_l)
    };
    let sy = |v: f64| plot_b - (v - ylo) / (yhi - ylo) * (plot_b - plot_t);

    // Grid and axes; a milestone has no values to scale.
    for v in yticks.iter().filter(|_| !t.milestone) {
        let y = sy(*v);
        svg.line(plot_l, y, plot_r, y, palette::GRID, 1.0, None);
        let label = figure(Some(*v), &t.unit);
        svg.text(
            plot_l - 8.0,
            y - 8.0,
            &label,
            12.0,
            false,
            palette::MUTED,
            Anchor::End,
        );
    }
    for at in month_ticks(x0, x1) {
        let x = sx(at);
        svg.line(x, plot_t, x, plot_b, palette::GRID, 1.0, None);
        svg.text(
            x,
            plot_b + 8.0,
            &at.format("%-d %b").to_string(),
            12.0,
            false,
            palette::MUTED,
            Anchor::Middle,
        );
    }
    svg.line(plot_l, plot_b, plot_r, plot_b, palette::MUTED, 1.0, None);
    svg.line(plot_l, plot_t, plot_l, plot_b, palette::MUTED, 1.0, None);

    // The band to hold.
    if let Some((lo, hi)) = t.band {
        let (a, b) = (sy(lo.max(hi)), sy(lo.min(hi)));
        svg.raw(&format!(
            r#"<rect x="{plot_l:.1}" y="{a:.1}" width="{:.1}" height="{:.1}" fill="{}" fill-opacity="0.18"/>"#,
            plot_r - plot_l,
            (b - a).max(1.0),
            palette::BAND
        ));
        svg.line(plot_l, a, plot_r, a, palette::BAND, 1.5, Some("6 4"));
        svg.line(plot_l, b, plot_r, b, palette::BAND, 1.5, Some("6 4"));
    }
    // The cycle's end and today.
    if let Some((_, cs, ce)) = &t.cycle {
        for (at, label) in [(*cs, "cycle start"), (*ce, "cycle end")] {
            let x = sx(at);
            svg.line(x, plot_t, x, plot_b, palette::MUTED, 1.0, Some("2 3"));
            svg.text(
                x,
                plot_t - 18.0,
                label,
                11.0,
                false,
                palette::MUTED,
                if at == x0 {
                    Anchor::Start
                } else if at == x1 {
                    Anchor::End
                } else {
                    Anchor::Middle
                },
            );
        }
    }
    // The due date: a solid red rule with its label inside the plot, clear of the
    // cycle and today labels above it.
    if let (Some(at), Some(d)) = (t.due_at(), t.due) {
        let x = sx(at);
        svg.line(x, plot_t, x, plot_b, palette::OFF_TRACK, 2.0, None);
        let label = format!("due {}", d.format("%-d %b"));
        let right = x + 6.0 + font::width(&label, 11.0, true) > plot_r;
        svg.text(
            if right { x - 6.0 } else { x + 6.0 },
            plot_t + 6.0,
            &label,
            11.0,
            true,
            palette::OFF_TRACK,
            if right { Anchor::End } else { Anchor::Start },
        );
    }
    if let Some(x) = t.today_x() {
        svg.line(x, plot_t, x, plot_b, palette::INK, 1.0, Some("4 3"));
        svg.text(
            x,
            plot_t - 18.0,
            "today",
            11.0,
            true,
            palette::INK,
            Anchor::Middle,
        );
    }
    // Expected pace: start at the cycle start to target at the cycle end.
    if let (true, Some(s), Some(tg), Some((_, cs, ce))) = (t.pace, t.start, t.target, &t.cycle) {
        svg.line(
            sx(*cs),
            sy(s),
            sx(*ce),
            sy(tg),
            palette::MUTED,
            2.0,
            Some("8 5"),
        );
    }
    if let Some(tg) = t.target.filter(|_| t.band.is_none() && !t.milestone) {
        let y = sy(tg);
        svg.line(plot_l, y, plot_r, y, palette::TARGET, 2.5, Some("10 4"));
        halo_text(
            &mut svg,
            plot_l + 8.0,
            y - 20.0,
            &format!("target {}", figure(Some(tg), &t.unit)),
            palette::TARGET,
        );
    }
    if let Some(r) = t.red {
        let y = sy(r);
        svg.line(plot_l, y, plot_r, y, palette::OFF_TRACK, 1.5, Some("2 3"));
        halo_text(
            &mut svg,
            plot_l + 8.0,
            y + 4.0,
            &format!("red {}", figure(Some(r), &t.unit)),
            palette::OFF_TRACK,
        );
    }

    // The series and its confidence markers.
    if t.milestone && !t.points.is_empty() {
        milestone_timeline(&mut svg, t, (plot_t + plot_b) / 2.0);
    } else if !t.points.is_empty() {
        let pts: Vec<String> = t
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", sx(p.at), sy(p.value)))
            .collect();
        svg.raw(&format!(
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2.5" stroke-linejoin="round"/>"#,
            pts.join(" "),
            palette::SERIES
        ));
        for p in &t.points {
            let s = p.confidence.map(Status::from).unwrap_or(Status::NoData);
            marker(&mut svg, s, sx(p.at), sy(p.value), 7.0);
        }
        let last = t.points.last().expect("not empty");
        let (x, y) = (sx(last.at), sy(last.value));
        let label = figure(Some(last.value), &t.unit);
        let anchor_left = x + 14.0 + font::width(&label, 14.0, true) > plot_r;
        svg.raw(&format!(
            r##"<text x="{:.1}" y="{:.1}" font-family="{}" font-size="14" font-weight="bold" fill="{}" text-anchor="{}" stroke="#ffffff" stroke-width="4" paint-order="stroke">{}</text>"##,
            if anchor_left { x - 12.0 } else { x + 12.0 },
            y - 10.0,
            font::FAMILY,
            palette::SERIES,
            if anchor_left { "end" } else { "start" },
            super::svg::esc(&label)
        ));
    } else if let Some(r) = t.empty_note() {
        // Over a white halo: the pace and target lines may pass behind it.
        svg.raw(&format!(
            r##"<text x="{:.1}" y="{:.1}" font-family="{}" font-size="16" fill="{}" stroke="#ffffff" stroke-width="6" paint-order="stroke">{EMPTY_NOTE}</text>"##,
            r.x,
            r.y + font::ascent(16.0),
            font::FAMILY,
            palette::MUTED,
        ));
    }

    // Legend: lines, then confidence shapes.
    let ly = HEIGHT - 56.0;
    let mut x = plot_l;
    let lh = font::line_height(13.0);
    if t.milestone {
        for (done, label) in [(true, "done"), (false, "not done")] {
            milestone_bar(&mut svg, x, x + 28.0, ly + lh / 2.0, done);
            svg.text(
                x + 36.0,
                ly,
                label,
                13.0,
                false,
                palette::INK,
                Anchor::Start,
            );
            x += 36.0 + font::width(label, 13.0, false) + 22.0;
        }
    }
    let mut line_entry = |svg: &mut Svg, colour: &str, dash: Option<&str>, w: f64, label: &str| {
        svg.line(x, ly + lh / 2.0, x + 28.0, ly + lh / 2.0, colour, w, dash);
        svg.text(
            x + 36.0,
            ly,
            label,
            13.0,
            false,
            palette::INK,
            Anchor::Start,
        );
        x += 36.0 + font::width(label, 13.0, false) + 22.0;
    };
    if !t.milestone {
        line_entry(&mut svg, palette::SERIES, None, 2.5, "check-ins");
    }
    if t.target.is_some() && t.band.is_none() && !t.milestone {
        line_entry(&mut svg, palette::TARGET, Some("10 4"), 2.5, "target");
    }
    if t.pace && t.start.is_some() && t.target.is_some() {
        line_entry(&mut svg, palette::MUTED, Some("8 5"), 2.0, "expected pace");
    }
    if t.band.is_some() {
        line_entry(&mut svg, palette::BAND, Some("6 4"), 1.5, "band to hold");
    }
    if t.red.is_some() {
        line_entry(
            &mut svg,
            palette::OFF_TRACK,
            Some("2 3"),
            1.5,
            "red threshold",
        );
    }
    svg.text(
        plot_l,
        ly + 24.0,
        "Confidence:",
        13.0,
        true,
        palette::INK,
        Anchor::Start,
    );
    super::legend(
        &mut svg,
        &[
            (Status::OnTrack, "on track"),
            (Status::AtRisk, "at risk"),
            (Status::OffTrack, "off track"),
            (Status::NoData, "not given"),
        ],
        plot_l + font::width("Confidence:", 13.0, true) + 12.0,
        ly + 24.0,
        13.0,
    );
    svg.finish()
}

fn halo_text(svg: &mut Svg, x: f64, top: f64, s: &str, fill: &str) {
    svg.raw(&format!(
        r##"<text x="{x:.1}" y="{:.1}" font-family="{}" font-size="13" font-weight="bold" fill="{fill}" stroke="#ffffff" stroke-width="4" paint-order="stroke">{}</text>"##,
        top + font::ascent(13.0),
        font::FAMILY,
        super::svg::esc(s)
    ));
}

/// The subtitle's words for a milestone: " · done 3 Nov" or " · not done yet".
fn milestone_words(t: &Trend) -> String {
    let done = t
        .milestone_spans()
        .into_iter()
        .skip_while(|(_, _, d)| !d)
        .map(|(from, _, _)| from)
        .next();
    match (t.points.last(), done) {
        (Some(last), Some(at)) if last.value >= 0.5 => format!(" · done {}", at.format("%-d %b")),
        (Some(_), _) => " · not done yet".to_string(),
        (None, _) => String::new(),
    }
}

/// Draws a milestone as a timeline across the plot at `y`: a solid bar where it was
/// done, a dashed hollow one where it was not, a marker at every check-in, and a word
/// where the state changes ("not done", "done 3 Nov").
fn milestone_timeline(svg: &mut Svg, t: &Trend, y: f64) {
    let h = 10.0;
    let spans = t.milestone_spans();
    for (from, to, done) in &spans {
        milestone_bar(svg, t.x_of(*from), t.x_of(*to), y, *done);
    }
    let mut was: Option<bool> = None;
    for (from, _, done) in &spans {
        let x = t.x_of(*from);
        if was != Some(*done) {
            let word = if *done {
                format!("done {}", from.format("%-d %b"))
            } else {
                "not done".to_string()
            };
            svg.text(
                x,
                y + h / 2.0 + 10.0,
                &word,
                13.0,
                true,
                palette::INK,
                Anchor::Middle,
            );
            was = Some(*done);
        }
    }
    for p in &t.points {
        let s = p.confidence.map(Status::from).unwrap_or(Status::NoData);
        marker(svg, s, t.x_of(p.at), y, 7.0);
    }
}

/// One stretch of a milestone's timeline from `a` to `b` centred on `y`: solid green
/// when done, hollow and dashed grey when not.
fn milestone_bar(svg: &mut Svg, a: f64, b: f64, y: f64, done: bool) {
    let h = 10.0;
    if done {
        svg.rect(
            a,
            y - h / 2.0,
            (b - a).max(1.0),
            h,
            0.0,
            palette::ON_TRACK,
            None,
        );
    } else {
        svg.raw(&format!(
            r#"<rect x="{a:.1}" y="{:.1}" width="{:.1}" height="{h:.1}" fill="{}" stroke="{}" stroke-width="1.5" stroke-dasharray="3 3"/>"#,
            y - h / 2.0,
            (b - a).max(1.0),
            palette::BACKGROUND,
            palette::NO_DATA
        ));
    }
}

/// A forecast drawn on the trend chart: from the last check-in to the cycle's end, the
/// landing and its 80 % band, in the key result's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    pub from: (DateTime<Utc>, f64),
    pub to: DateTime<Utc>,
    pub landing: f64,
    pub low: f64,
    pub high: f64,
}

/// Colour of the projection and its band.
const PROJECTION: &str = "#3b5bdb";

/// The trend chart with a forecast: a dashed line from the last check-in to the landing at
/// the cycle's end, over a shaded band from the low to the high end of the 80 % interval,
/// and a note of what they are. The band is clipped to the chart's value range.
pub fn kr_trend_projection_svg(t: &Trend, p: &Projection) -> String {
    let base = kr_trend_svg(t);
    let (plot_l, plot_r) = (LEFT, WIDTH - RIGHT);
    let (plot_t, plot_b) = (TOP, HEIGHT - BOTTOM);
    let (x0, x1) = t.x_domain();
    let (ylo, yhi) = t.y_domain();
    let (_, ylo, yhi) = nice_ticks(ylo, yhi, 5);
    let span_ms = (x1 - x0).num_milliseconds().max(1) as f64;
    let sx = |at: DateTime<Utc>| {
        let at = at.clamp(x0, x1);
        plot_l + (at - x0).num_milliseconds() as f64 / span_ms * (plot_r - plot_l)
    };
    let sy = |v: f64| plot_b - (v.clamp(ylo, yhi) - ylo) / (yhi - ylo) * (plot_b - plot_t);
    let (fx, fy) = (sx(p.from.0), sy(p.from.1));
    let tx = sx(p.to);
    let mut svg = Svg::new(WIDTH, HEIGHT);
    svg.path(
        &format!(
            "M{fx:.1},{fy:.1} L{tx:.1},{:.1} L{tx:.1},{:.1} Z",
            sy(p.high),
            sy(p.low)
        ),
        PROJECTION,
        None,
        r#" fill-opacity="0.15""#,
    );
    svg.line(fx, fy, tx, sy(p.landing), PROJECTION, 2.2, Some("8 5"));
    let note = "dashed: forecast to the cycle's end · shaded: its 80 % range";
    svg.text(
        plot_r,
        HEIGHT - 30.0,
        note,
        12.0,
        false,
        PROJECTION,
        Anchor::End,
    );
    // The overlay's drawing, without its own header and background, goes on top.
    let overlay = svg.finish();
    let overlay = overlay
        .splitn(3, '\n')
        .nth(2)
        .unwrap_or_default()
        .trim_end()
        .trim_end_matches("</svg>");
    let body = base.trim_end().trim_end_matches("</svg>");
    format!("{body}\n{overlay}</svg>\n")
}

/// [`kr_trend_projection_svg`] rasterised.
pub fn kr_trend_projection(t: &Trend, p: &Projection) -> Result<Png, PictureError> {
    rasterise(&kr_trend_projection_svg(t, p))
}

#[cfg(test)]
mod projection_tests {
    use super::*;

    #[test]
    fn the_projection_is_dashed_with_its_band_over_the_chart() {
        let at = |d: i64| Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap() + Duration::days(d);
        let t = Trend {
            code: "S1".into(),
            title: "Signups".into(),
            unit: "".into(),
            cycle: Some(("2026-Q4".into(), at(0), at(92))),
            now: at(50),
            start: Some(0.0),
            target: Some(100.0),
            pace: true,
            held: false,
            band: None,
            red: None,
            points: (0..7)
                .map(|w| TrendPoint {
                    at: at(7 * w),
                    value: 6.0 * w as f64,
                    confidence: None,
                })
                .collect(),
            status: Status::AtRisk,
            progress: Some(0.36),
            stale: false,
            due: None,
            milestone: false,
        };
        let p = Projection {
            from: (at(42), 36.0),
            to: at(92),
            landing: 71.0,
            low: 62.0,
            high: 80.0,
        };
        let plain = kr_trend_svg(&t);
        let svg = kr_trend_projection_svg(&t, &p);
        // Everything of the plain chart, then the overlay: one document.
        assert!(svg.starts_with(plain.trim_end().trim_end_matches("</svg>")));
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("</svg>").count(), 1);
        let dashed = svg
            .lines()
            .find(|l| l.starts_with("<line") && l.contains(r##"stroke="#3b5bdb""##))
            .expect("the projection line");
        assert!(dashed.contains(r#"stroke-dasharray="8 5""#), "{dashed}");
        assert!(svg.contains(r#"fill-opacity="0.15""#));
        assert!(svg.contains("80 % range"));
        // The line ends at the landing, at the cycle's end (the right edge of the plot).
        assert!(
            dashed.contains(&format!(r#"x2="{:.1}""#, WIDTH - RIGHT)),
            "{dashed}"
        );
        kr_trend_projection(&t, &p).expect("rasterises");
    }
}
