//! Pictures: golden images (no run of differing pixels anywhere), the strategy map's layout
//! (nothing overlaps, on the example organisation and on a 40-objective map), colour-blind
//! safety, and `shell --png` end to end.
//!
//! Goldens live in `tests/fixtures/pictures/`. A missing or different golden fails the
//! test; run with `BATON_BLESS=1` to (re)write them after a deliberate change, and look at
//! them before committing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use baton::domain::progress::Eval;
use baton::domain::{Code, Confidence, Perspective, Status};
use baton::pictures::map::{self, MapInput, MapObjective};
use baton::pictures::scorecard::{ObjectiveRow, PerspectiveRow, ScorecardInput};
use baton::pictures::trend::{Trend, TrendPoint};
use baton::pictures::{Png, Rect, layout};
use chrono::{Duration, TimeZone, Utc};
use resvg::tiny_skia::Pixmap;
use sqlx::PgPool;

use crate::common::{self, example_spec};

fn golden_dir() -> PathBuf {
    common::root().join("tests/fixtures/pictures")
}

/// Where a failing comparison leaves the picture it made, for a person to look at.
fn actual_dir() -> PathBuf {
    std::env::temp_dir().join("baton-pictures-actual")
}

/// The side of the square tiles a comparison looks at.
const TILE: u32 = 16;
/// How far (of 255) a channel may move before its pixel counts as different.
const CHANNEL: u8 = 24;
/// Differing pixels allowed in any one tile, and in the whole picture.
const PER_TILE: usize = 3;
const IN_ALL: usize = 40;

/// Where `actual` differs from `golden` (same size): `Err` with the worst tile when any
/// 16×16 tile has more than 3 pixels off by more than 24 (of 255) in a channel, or when
/// more than 40 pixels are off in all. Antialiasing and float rounding on another CPU may
/// move a scattered edge pixel; a label moved by a pixel, a changed colour or a changed
/// glyph changes a run of neighbouring pixels and does not pass.
fn difference(golden: &Pixmap, actual: &Pixmap) -> Result<(), String> {
    let (w, h) = (actual.width(), actual.height());
    assert_eq!((golden.width(), golden.height()), (w, h));
    let tiles_x = w.div_ceil(TILE);
    let mut tiles = vec![0usize; (tiles_x * h.div_ceil(TILE)) as usize];
    let mut total = 0;
    for (i, (g, a)) in golden
        .data()
        .chunks(4)
        .zip(actual.data().chunks(4))
        .enumerate()
    {
        if g.iter()
            .zip(a.iter())
            .any(|(x, y)| x.abs_diff(*y) > CHANNEL)
        {
            let (x, y) = (i as u32 % w, i as u32 / w);
            tiles[((y / TILE) * tiles_x + x / TILE) as usize] += 1;
            total += 1;
        }
    }
    let (worst, n) = tiles
        .iter()
        .enumerate()
        .max_by_key(|(_, n)| **n)
        .map(|(i, n)| (i as u32, *n))
        .unwrap_or((0, 0));
    if n > PER_TILE || total > IN_ALL {
        return Err(format!(
            "{total} pixels differ; {n} of them in the tile at ({}, {})",
            (worst % tiles_x) * TILE,
            (worst / tiles_x) * TILE
        ));
    }
    Ok(())
}

/// Compares `png` with the golden `name` (see [`difference`]); keeps the picture made
/// when it differs.
fn assert_golden(name: &str, png: &Png) {
    let path = golden_dir().join(name);
    if std::env::var_os("BATON_BLESS").is_some() {
        std::fs::create_dir_all(golden_dir()).expect("create golden dir");
        std::fs::write(&path, &png.bytes).expect("write golden");
        return;
    }
    let actual = Pixmap::decode_png(&png.bytes).expect("our PNG decodes");
    assert_eq!((actual.width(), actual.height()), (png.width, png.height));
    let keep = || {
        std::fs::create_dir_all(actual_dir()).expect("create actual dir");
        let p = actual_dir().join(name);
        std::fs::write(&p, &png.bytes).expect("write actual");
        p
    };
    let Ok(bytes) = std::fs::read(&path) else {
        let p = keep();
        panic!(
            "golden {} is missing (the picture made is at {}); run with BATON_BLESS=1 to create it",
            path.display(),
            p.display()
        );
    };
    let golden = Pixmap::decode_png(&bytes).expect("golden decodes");
    if (golden.width(), golden.height()) != (actual.width(), actual.height()) {
        let p = keep();
        panic!(
            "{name}: size {}×{} differs from the golden's {}×{} (actual at {})",
            actual.width(),
            actual.height(),
            golden.width(),
            golden.height(),
            p.display()
        );
    }
    if let Err(e) = difference(&golden, &actual) {
        let p = keep();
        panic!("{name}: {e} (actual at {})", p.display());
    }
}

/// `p` with the rectangle `r` (x, y, w, h) moved `dx` pixels to the right, its old place
/// filled with the colour of the pixel left of it.
fn moved(p: &Pixmap, (x0, y0, w, h): (u32, u32, u32, u32), dx: u32) -> Pixmap {
    let mut out = p.clone();
    let width = p.width() as usize;
    let src = p.data();
    let dst = out.data_mut();
    for y in y0..y0 + h {
        let row = y as usize * width;
        let fill = src[(row + x0 as usize - 1) * 4..(row + x0 as usize) * 4].to_vec();
        for x in x0..x0 + w + dx {
            dst[(row + x as usize) * 4..(row + x as usize + 1) * 4].copy_from_slice(&fill);
        }
        for x in x0..x0 + w {
            let (from, to) = ((row + x as usize) * 4, (row + (x + dx) as usize) * 4);
            dst[to..to + 4].copy_from_slice(&src[from..from + 4]);
        }
    }
    out
}

#[test]
fn a_moved_label_or_a_changed_glyph_fails_the_golden_comparison() {
    let png = baton::pictures::kr_trend(&sample_trend()).expect("renders");
    let golden = Pixmap::decode_png(&png.bytes).unwrap();
    assert_eq!(difference(&golden, &golden), Ok(()));
    // The title (top left) moved one or two pixels to the right.
    for dx in [1, 2] {
        let title = (16, 8, 600, 40);
        let shifted = moved(&golden, title, dx);
        assert!(difference(&golden, &shifted).is_err(), "moved by {dx}");
    }
    // One letter of the title changed: its title differs from the sample's in one glyph.
    let mut t = sample_trend();
    t.title = "Customers who finish onboardinq".into();
    let other = baton::pictures::kr_trend(&t).expect("renders");
    let other = Pixmap::decode_png(&other.bytes).unwrap();
    assert!(difference(&golden, &other).is_err());
}

fn at(day: u32, month: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, month, day, 9, 0, 0).unwrap()
}

pub fn sample_trend() -> Trend {
    let c = [
        (5, 10, 61.0, Some(Confidence::OnTrack)),
        (19, 10, 64.0, Some(Confidence::OnTrack)),
        (2, 11, 66.0, Some(Confidence::AtRisk)),
        (9, 11, 65.0, None),
        (16, 11, 68.0, Some(Confidence::OffTrack)),
    ];
    Trend {
        code: "S1".into(),
        title: "Customers who finish onboarding".into(),
        unit: "%".into(),
        cycle: Some((
            "2026-Q4".into(),
            at(1, 10) - Duration::hours(9),
            at(1, 1) + Duration::days(365) - Duration::hours(9),
        )),
        now: common::now(),
        start: Some(60.0),
        target: Some(85.0),
        pace: true,
        held: false,
        band: None,
        red: None,
        points: c
            .iter()
            .map(|(d, m, v, conf)| TrendPoint {
                at: at(*d, *m),
                value: *v,
                confidence: *conf,
            })
            .collect(),
        status: Status::AtRisk,
        progress: Some(0.32),
        stale: false,
        due: None,
        milestone: false,
    }
}

fn sample_scorecard() -> ScorecardInput {
    // A week ago: F1 and C2 moved up, F2 slipped, C1 stood still.
    let was = |code: &str| match code {
        "F1" => Some(0.22),
        "F2" => Some(0.45),
        "C1" => Some(0.62),
        "C2" => Some(0.41),
        _ => None,
    };
    let row = |code: &str, title: &str, p: f64, s: Status| ObjectiveRow {
        code: code.into(),
        title: title.into(),
        progress: Some(p),
        status: s,
        was: was(code),
    };
    ScorecardInput {
        title: "Northwind Cloud — scorecard".into(),
        subtitle: "cycle 2026-Q4 (day 47 of 92, 50% elapsed)".into(),
        company: Some((Some(0.48), Status::AtRisk)),
        perspectives: vec![
            PerspectiveRow {
                label: "Financial".into(),
                progress: Some(0.35),
                status: Status::OffTrack,
                objectives: vec![
                    row("F1", "Grow ARR to $60M", 0.3, Status::OffTrack),
                    row("F2", "Expand within our customer base", 0.4, Status::AtRisk),
                ],
                was: Some(0.3),
            },
            PerspectiveRow {
                label: "Customers".into(),
                progress: Some(0.55),
                status: Status::AtRisk,
                objectives: vec![
                    row(
                        "C1",
                        "Fastest time-to-value in our category",
                        0.62,
                        Status::OnTrack,
                    ),
                    row(
                        "C2",
                        "Customers renew and grow with us",
                        0.5,
                        Status::AtRisk,
                    ),
                    ObjectiveRow {
                        code: "C3".into(),
                        title:
                            "The trusted choice for security-conscious buyers, everywhere we sell"
                                .into(),
                        progress: None,
                        status: Status::NoData,
                        was: None,
                    },
                ],
                was: Some(0.5),
            },
            PerspectiveRow {
                label: "Learning & growth".into(),
                progress: Some(0.8),
                status: Status::OnTrack,
                objectives: vec![row(
                    "L1",
                    "Product-fluent customer teams",
                    0.8,
                    Status::OnTrack,
                )],
                was: Some(0.8),
            },
        ],
        company_was: Some(0.45),
        pace: Some(0.5),
        since: Some("since 9 Nov".into()),
    }
}

/// The example organisation's map with fixed statuses (no database, no clock).
fn example_map() -> MapInput {
    let spec = example_spec();
    let statuses = [
        Status::OnTrack,
        Status::AtRisk,
        Status::OffTrack,
        Status::NoData,
    ];
    let evals: HashMap<Code, Eval> = spec
        .scorecard
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let status = statuses[i % 4];
            let progress = (status != Status::NoData).then_some(0.2 + 0.07 * i as f64);
            (s.code.clone(), Eval { progress, status })
        })
        .collect();
    MapInput::from_spec(&spec, &evals)
}

/// 40 objectives across four perspectives, with long titles and many links.
fn big_map() -> MapInput {
    let persp = [
        (Perspective::Learning, 12),
        (Perspective::Internal, 14),
        (Perspective::Customer, 9),
        (Perspective::Financial, 5),
    ];
    let words = [
        "Dramatically",
        "improve",
        "the",
        "end-to-end",
        "experience",
        "of",
        "mid-market",
        "operations",
        "teams",
        "adopting",
        "workflow",
        "analytics",
        "across",
        "regions",
        "Internationalisation-readiness",
    ];
    let statuses = [
        Status::OnTrack,
        Status::AtRisk,
        Status::OffTrack,
        Status::NoData,
    ];
    let mut objectives = Vec::new();
    let mut n = 0;
    for (p, count) in persp {
        for i in 0..count {
            let len = 3 + (n * 7) % 13;
            let title: Vec<&str> = (0..len).map(|k| words[(n + k * 3) % words.len()]).collect();
            objectives.push(MapObjective {
                code: format!("{}{}", &p.as_str()[..1].to_uppercase(), i + 1),
                title: title.join(" "),
                perspective: p,
                progress: Some((n % 10) as f64 / 10.0),
                status: statuses[n % 4],
            });
            n += 1;
        }
    }
    assert_eq!(objectives.len(), 40);
    let mut links = Vec::new();
    for (i, a) in objectives.iter().enumerate() {
        for (j, b) in objectives.iter().enumerate() {
            if b.perspective > a.perspective && (i * 3 + j) % 7 == 0 {
                links.push((a.code.clone(), b.code.clone()));
            }
        }
    }
    links.push(("C1".into(), "C2".into()));
    MapInput {
        title: "Strategy map — Enormous Holdings International".into(),
        perspectives: [
            Perspective::Learning,
            Perspective::Internal,
            Perspective::Customer,
            Perspective::Financial,
        ]
        .into_iter()
        .map(|p| (p, p.default_label().to_string()))
        .collect(),
        objectives,
        links,
    }
}

/// Every rectangle of the layout stays on the canvas; boxes, free labels and the text in
/// each box never overlap each other.
fn assert_legible(map: &MapInput) -> baton::pictures::Layout {
    let l = layout(map);
    let canvas = l.canvas();
    assert_eq!(
        l.boxes.len(),
        map.objectives.len(),
        "every objective has a box"
    );
    let mut free: Vec<(String, Rect)> = l.labels.iter().map(|t| (t.text.clone(), t.rect)).collect();
    free.extend(l.boxes.iter().map(|b| (format!("box {}", b.code), b.rect)));
    for (name, r) in &free {
        assert!(
            canvas.contains(r),
            "{name} {r:?} lies outside the {canvas:?} canvas"
        );
    }
    for (i, (a, ra)) in free.iter().enumerate() {
        for (b, rb) in &free[i + 1..] {
            assert!(!ra.overlaps(rb), "{a} {ra:?} overlaps {b} {rb:?}");
        }
    }
    for b in &l.boxes {
        for (i, t) in b.lines.iter().enumerate() {
            assert!(
                b.rect.contains(&t.rect),
                "{}: `{}` sticks out of its box",
                b.code,
                t.text
            );
            for u in &b.lines[i + 1..] {
                assert!(
                    !t.rect.overlaps(&u.rect),
                    "{}: `{}` overlaps `{}`",
                    b.code,
                    t.text,
                    u.text
                );
            }
        }
        let (cx, cy, r) = b.marker;
        assert!(
            b.rect
                .contains(&Rect::new(cx - r, cy - r, 2.0 * r, 2.0 * r))
        );
        // The box's perspective band holds it.
        let band = l
            .bands
            .iter()
            .find(|band| band.rect.contains(&b.rect))
            .unwrap_or_else(|| panic!("{} lies in no band", b.code));
        let o = map.objectives.iter().find(|o| o.code == b.code).unwrap();
        assert_eq!(
            band.perspective, o.perspective,
            "{} is in the wrong band",
            b.code
        );
    }
    // Causal order: financial on top, learning at the bottom.
    let ys: Vec<(Perspective, f64)> = l.bands.iter().map(|b| (b.perspective, b.rect.y)).collect();
    for w in ys.windows(2) {
        assert!(
            w[0].0 > w[1].0 && w[0].1 < w[1].1,
            "bands out of causal order: {ys:?}"
        );
    }
    // Every link is drawn, ending on the effect's box edge.
    assert_eq!(l.arrows.len(), map.links.len());
    for a in &l.arrows {
        let to = l.boxes.iter().find(|b| b.code == a.to).unwrap();
        let (x, y) = a.end();
        assert!(x >= to.rect.x && x <= to.rect.right());
        assert!(y == to.rect.y || y == to.rect.bottom());
    }
    l
}

#[test]
fn trend_matches_its_golden() {
    let t = sample_trend();
    let png = baton::pictures::kr_trend(&t).expect("renders");
    assert_eq!((png.width, png.height), (960, 560));
    assert_golden("kr-trend.png", &png);
    assert_eq!(
        t.alt(),
        "Trend of S1 (Customers who finish onboarding) over cycle 2026-Q4: 5 check-ins, latest 68% (off track) against a target of 85%, 32% of the way, 19 pts behind pace, at risk."
    );
}

/// A metric states its gap to the pace line; a bound or a band to hold is held or not,
/// never "of the way"; the subtitle says the same as the alt text.
#[test]
fn the_trend_states_the_gap_to_pace_and_holds_are_held_or_not() {
    let t = sample_trend();
    // 16 Nov 12:00 is 50.5% of the way through the cycle; 32% is 19 points behind.
    assert_eq!(
        t.progress_words(),
        vec!["32% of the way", "19 pts behind pace"]
    );
    let svg = baton::pictures::trend::kr_trend_svg(&t);
    assert!(svg.contains("19 pts behind pace"), "not in the subtitle");
    let mut ahead = sample_trend();
    ahead.progress = Some(0.6);
    assert_eq!(ahead.progress_words()[1], "9 pts ahead of pace");
    let mut band = sample_trend();
    band.pace = false;
    band.held = true;
    band.target = None;
    band.band = Some((60.0, 70.0));
    band.progress = Some(0.8);
    assert_eq!(band.progress_words(), vec!["not held"]);
    assert!(!band.alt().contains("of the way"), "{}", band.alt());
    assert!(!baton::pictures::trend::kr_trend_svg(&band).contains("of the way"));
    band.progress = Some(1.0);
    assert!(band.alt().contains(", held, "), "{}", band.alt());
}

#[test]
fn a_due_date_is_a_marker_on_the_trend() {
    let mut t = sample_trend();
    t.due = chrono::NaiveDate::from_ymd_opt(2026, 11, 20);
    let svg = baton::pictures::trend::kr_trend_svg(&t);
    assert!(svg.contains(">due 20 Nov<"), "no due label in the SVG");
    assert!(
        t.alt()
            .ends_with("32% of the way, 19 pts behind pace, due 2026-11-20, at risk."),
        "{}",
        t.alt()
    );
    let png = baton::pictures::kr_trend(&t).expect("renders");
    assert_golden("kr-trend-due.png", &png);
}

#[test]
fn scorecard_matches_its_golden() {
    let s = sample_scorecard();
    let png = baton::pictures::scorecard(&s).expect("renders");
    assert_golden("scorecard.png", &png);
    assert!(s.alt().starts_with("Northwind Cloud — scorecard: company 48% at risk; Financial 35% off track (2 objectives, 2 behind)"), "{}", s.alt());
}

#[test]
fn example_map_matches_its_golden_and_is_legible() {
    let map = example_map();
    assert_legible(&map);
    let png = baton::pictures::strategy_map(&map).expect("renders");
    assert_golden("strategy-map.png", &png);
    assert!(
        map.alt().contains("11 objectives in 4 perspective bands"),
        "{}",
        map.alt()
    );
}

#[test]
fn forty_objective_map_has_no_overlapping_labels() {
    let map = big_map();
    let l = assert_legible(&map);
    // Many objectives grow the picture rather than squeeze it.
    let small = layout(&example_map());
    assert!(l.height > small.height);
    // The band with 14 objectives wraps into rows: it is taller than the one with 5.
    let h = |p| l.bands.iter().find(|b| b.perspective == p).unwrap().rect.h;
    assert!(h(Perspective::Internal) > h(Perspective::Financial) * 1.8);
    let png = baton::pictures::strategy_map(&map).expect("renders");
    assert_golden("strategy-map-40.png", &png);
}

/// Status is told by shape and word as well as colour: each box names its status, the
/// legend names all four, and with every colour removed (a thresholded black-and-white
/// copy) two maps that differ only in one objective's status still differ.
#[test]
fn status_reads_without_colour() {
    let map = example_map();
    let l = layout(&map);
    for b in &l.boxes {
        assert!(
            b.lines.iter().any(|t| t.text == map::status_word(b.status)),
            "{} does not say its status in words",
            b.code
        );
    }
    for s in [
        Status::OnTrack,
        Status::AtRisk,
        Status::OffTrack,
        Status::NoData,
    ] {
        assert!(
            l.labels.iter().any(|t| t.text == map::status_word(s)),
            "legend lacks {s}"
        );
    }
    let mono = |m: &MapInput| -> Vec<bool> {
        let png = baton::pictures::strategy_map(m).expect("renders");
        let px = Pixmap::decode_png(&png.bytes).unwrap();
        px.pixels()
            .iter()
            .map(|p| {
                let y =
                    0.2126 * p.red() as f64 + 0.7152 * p.green() as f64 + 0.0722 * p.blue() as f64;
                y < 100.0
            })
            .collect()
    };
    let base = mono(&map);
    let mut seen = vec![base.clone()];
    for s in [
        Status::OnTrack,
        Status::AtRisk,
        Status::OffTrack,
        Status::NoData,
    ] {
        let mut m = map.clone();
        m.objectives[0].status = s;
        let pic = mono(&m);
        if m.objectives[0].status != map.objectives[0].status {
            assert_ne!(
                pic, base,
                "{s} looks like {} in black and white",
                map.objectives[0].status
            );
        }
        seen.push(pic);
    }
    // The four status shapes alone, drawn in black and white, are four different shapes.
    let shapes: Vec<Vec<bool>> = [
        Status::OnTrack,
        Status::AtRisk,
        Status::OffTrack,
        Status::NoData,
    ]
    .into_iter()
    .map(|s| {
        let mut svg = baton::pictures::svg::Svg::new(40.0, 40.0);
        baton::pictures::marker(&mut svg, s, 20.0, 20.0, 12.0);
        let png = baton::pictures::rasterise(&svg.finish()).unwrap();
        Pixmap::decode_png(&png.bytes)
            .unwrap()
            .pixels()
            .iter()
            .map(|p| p.red() < 250 || p.green() < 250 || p.blue() < 250)
            .collect()
    })
    .collect();
    for i in 0..shapes.len() {
        for j in i + 1..shapes.len() {
            let diff = shapes[i]
                .iter()
                .zip(&shapes[j])
                .filter(|(a, b)| a != b)
                .count();
            assert!(diff > 80, "shapes {i} and {j} differ in only {diff} pixels");
        }
    }
}

/// Text boxes are sized with the embedded font's advances; the rasteriser shapes the same
/// text with kerning. Its drawn extent must fit the measured width.
#[test]
fn measured_text_width_covers_the_drawn_text() {
    use resvg::usvg;
    for (s, size, bold) in [
        ("Customers renew and grow with us", 13.0, false),
        ("Fastest time-to-value in our category", 13.0, false),
        ("AVAWAY Tyre Vo. 100% off track", 14.0, true),
        ("Learning & growth", 15.0, true),
    ] {
        let mut svg = baton::pictures::svg::Svg::new(900.0, 60.0);
        svg.text(
            10.0,
            10.0,
            s,
            size,
            bold,
            "#000",
            baton::pictures::svg::Anchor::Start,
        );
        let opt = usvg::Options {
            fontdb: baton::pictures::font::database(),
            ..usvg::Options::default()
        };
        let tree = usvg::Tree::from_str(&svg.finish(), &opt).unwrap();
        let text = tree
            .root()
            .children()
            .iter()
            .find_map(|n| match n {
                usvg::Node::Text(t) => Some(t.clone()),
                _ => None,
            })
            .expect("a text node");
        let bbox = text.abs_bounding_box();
        let measured = baton::pictures::font::width(s, size, bold);
        let drawn = f64::from(bbox.right()) - 10.0;
        assert!(
            drawn <= measured + 0.5,
            "`{s}`: drawn {drawn} > measured {measured}"
        );
        assert!(
            drawn > measured * 0.9,
            "`{s}`: measured {measured} far wider than drawn {drawn}"
        );
    }
}

fn is_png(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let px =
        Pixmap::decode_png(&bytes).unwrap_or_else(|e| panic!("{} is no PNG: {e}", path.display()));
    (px.width(), px.height())
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn shell_png_writes_the_pictures_and_prints_their_paths(pool: PgPool) {
    let app = common::app_with(pool, &example_spec()).await;
    let dir = tempdir();
    let script = "S1 62 on track: first check-in\nS1 66 at risk: churn\nkr S1\nstatus\nstatus customer\nmap\nokrs\n";
    let actor = common::actor(&app, "northwind", "kofi").await;
    let mut out = Vec::new();
    baton::chat::shell::run(
        &app,
        &actor,
        script.as_bytes(),
        &mut out,
        false,
        None,
        Some(dir.as_path()),
    )
    .await
    .expect("shell io");
    let out = String::from_utf8(out).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "kr-S1.png",
            "scorecard-company.png",
            "scorecard-customer.png",
            "strategy-map.png"
        ],
        "{out}"
    );
    for f in &files {
        let p = dir.join(f);
        let (w, h) = is_png(&p);
        assert!(w >= 600 && h >= 200, "{f} is {w}×{h}");
        let line = format!("  picture: {} — ", p.display());
        assert_eq!(out.matches(&line).count(), 1, "{f} printed once:\n{out}");
    }
    assert!(out.contains("Trend of S1 (Customers who finish onboarding) over cycle 2026-Q4: 2 check-ins, latest 66% (at risk) against a target of 85%"), "{out}");
    // Without --png the text stays exactly as it was: the same commands print exactly the
    // same text, only without the picture lines.
    let views = "kr S1\nstatus\nstatus customer\nmap\nokrs\n";
    let again = tempdir();
    let mut with_png = Vec::new();
    baton::chat::shell::run(
        &app,
        &actor,
        views.as_bytes(),
        &mut with_png,
        false,
        None,
        Some(again.as_path()),
    )
    .await
    .expect("shell io");
    let with_png = String::from_utf8(with_png).unwrap();
    let pictures = with_png
        .lines()
        .filter(|l| l.starts_with("  picture: "))
        .count();
    assert_eq!(pictures, 4, "{with_png}");
    let without: String = with_png
        .lines()
        .filter(|l| !l.starts_with("  picture: "))
        .map(|l| format!("{l}\n"))
        .collect();
    let plain = common::shell(&app, "northwind", "kofi", views).await;
    assert_eq!(plain, without);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(again.parent().unwrap());
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("baton-png-{}", uuid::Uuid::new_v4()));
    // The shell creates it; it must not exist yet.
    assert!(!d.exists());
    d.join("nested")
}

/// True when some part of the segment `p`–`q` lies inside `r` (touching its edge, where
/// an arrow starts or ends, does not count).
fn runs_under(r: &Rect, p: (f64, f64), q: (f64, f64)) -> bool {
    let e = 0.5;
    let (x0, x1, y0, y1) = (r.x + e, r.right() - e, r.y + e, r.bottom() - e);
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (den, num) in [
        (-dx, p.0 - x0),
        (dx, x1 - p.0),
        (-dy, p.1 - y0),
        (dy, y1 - p.1),
    ] {
        if den == 0.0 {
            if num < 0.0 {
                return false;
            }
        } else {
            let t = num / den;
            if den < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    t0 < t1
}

#[test]
fn runs_under_tells_a_crossing_from_a_touch() {
    let r = Rect::new(10.0, 10.0, 20.0, 20.0);
    assert!(runs_under(&r, (0.0, 20.0), (40.0, 20.0)));
    assert!(runs_under(&r, (20.0, 0.0), (20.0, 15.0)));
    assert!(
        !runs_under(&r, (20.0, 0.0), (20.0, 10.0)),
        "ends on the edge"
    );
    assert!(
        !runs_under(&r, (0.0, 10.0), (40.0, 10.0)),
        "runs along the edge"
    );
    assert!(!runs_under(&r, (0.0, 0.0), (40.0, 5.0)));
}

/// The 40-objective map's arrows are followable: no segment of any arrow runs under a
/// box, its own ends' boxes included (an arrow starts and ends on their edges).
#[test]
fn no_arrow_runs_under_a_box_on_the_forty_objective_map() {
    let map = big_map();
    let l = layout(&map);
    assert_eq!(l.arrows.len(), map.links.len());
    let mut under = Vec::new();
    for a in &l.arrows {
        let segments = a.segments();
        assert!(!segments.is_empty());
        for b in &l.boxes {
            if segments.iter().any(|(p, q)| runs_under(&b.rect, *p, *q)) {
                under.push(format!("{}→{} under {}", a.from, a.to, b.code));
            }
        }
    }
    assert!(
        under.is_empty(),
        "{} arrows run under boxes, e.g. {:?}",
        under.len(),
        &under[..under.len().min(8)]
    );
}

/// Within each row of a band, boxes stand in code order, left to right (`I2` before
/// `I10`), whatever the links.
#[test]
fn boxes_keep_code_order_within_each_row() {
    let map = big_map();
    let l = layout(&map);
    let num = |c: &str| c[1..].parse::<u32>().unwrap();
    let mut rows: HashMap<(char, i64), Vec<(f64, u32)>> = HashMap::new();
    for b in &l.boxes {
        rows.entry((b.code.chars().next().unwrap(), b.rect.y.round() as i64))
            .or_default()
            .push((b.rect.x, num(&b.code)));
    }
    assert!(rows.values().any(|r| r.len() >= 4), "{rows:?}");
    for r in rows.values_mut() {
        r.sort_by(|a, b| a.0.total_cmp(&b.0));
        let codes: Vec<u32> = r.iter().map(|(_, n)| *n).collect();
        assert!(
            codes.windows(2).all(|w| w[0] < w[1]),
            "row out of code order: {codes:?}"
        );
    }
}

/// A link whose cause is off track is emphasised: thick and in the off-track colour,
/// and the legend says what that means.
#[test]
fn links_from_off_track_causes_are_emphasised() {
    let map = big_map();
    let l = layout(&map);
    let status = |c: &str| map.objectives.iter().find(|o| o.code == c).unwrap().status;
    let mut emphasised = 0;
    for a in &l.arrows {
        let off = status(&a.from) == Status::OffTrack;
        assert_eq!(a.emphasised, off, "{}→{}", a.from, a.to);
        let (colour, w) = map::arrow_stroke(a);
        if off {
            emphasised += 1;
            assert_eq!(colour, baton::pictures::palette::OFF_TRACK);
            assert!(w >= 2.5, "{w}");
        } else {
            assert!(w < 2.0, "{w}");
        }
    }
    assert!(
        emphasised >= 5 && emphasised < l.arrows.len(),
        "{emphasised}"
    );
    let svg = map::strategy_map_svg(&l);
    let thick = format!(
        r#"stroke="{}" stroke-width="2.8""#,
        baton::pictures::palette::OFF_TRACK
    );
    // Every emphasised arrow, and the legend's sample.
    assert_eq!(svg.matches(&thick).count(), emphasised + 1);
    assert!(
        l.labels
            .iter()
            .any(|t| t.text.contains("cause is off track")),
        "the legend does not explain the thick arrows"
    );
}

/// An objective with no data is "not measured": a dashed box and no percentage, even
/// when a stale progress figure comes with it (the 40-objective fixture gives one).
#[test]
fn objectives_without_data_are_drawn_as_not_measured() {
    let map = big_map();
    let l = layout(&map);
    let unmeasured: Vec<&baton::pictures::map::MapBox> = l
        .boxes
        .iter()
        .filter(|b| b.status == Status::NoData)
        .collect();
    assert!(unmeasured.len() >= 5);
    for b in &l.boxes {
        let o = map.objectives.iter().find(|o| o.code == b.code).unwrap();
        let has_pct = b.lines.iter().any(|t| t.text.ends_with('%'));
        let says = |w: &str| b.lines.iter().any(|t| t.text == w);
        if b.status == Status::NoData {
            assert!(
                o.progress.is_some(),
                "the fixture gives {} a figure",
                b.code
            );
            assert!(!has_pct, "{} shows a percentage: {:?}", b.code, b.lines);
            assert!(says("not measured") && !says("no data"), "{:?}", b.lines);
        } else {
            assert!(has_pct, "{} lost its percentage", b.code);
        }
    }
    let svg = map::strategy_map_svg(&l);
    assert_eq!(
        svg.matches(r#"stroke-dasharray="7 5""#).count(),
        unmeasured.len(),
        "one dashed box per objective not measured"
    );
    assert!(l.labels.iter().any(|t| t.text == "not measured"), "legend");
}

/// Every bar of the scorecard (company, perspectives, objectives) carries a tick where
/// the expected pace stands, and it moves with the cycle.
#[test]
fn every_scorecard_bar_has_a_pace_tick() {
    use baton::pictures::scorecard::{pace_x, scorecard_svg};
    let mut s = sample_scorecard();
    let bars = 1 + s.perspectives.len() + 6;
    let ticks = |s: &ScorecardInput, f: f64| {
        let x = format!(r#"<line x1="{:.1}" y1="#, pace_x(f));
        scorecard_svg(s).matches(&x).count()
    };
    // Each tick is a dark line over a white one.
    assert_eq!(ticks(&s, 0.5), 2 * bars);
    s.pace = Some(0.25);
    assert_eq!(ticks(&s, 0.25), 2 * bars);
    assert_eq!(ticks(&s, 0.5), 0);
    assert!(scorecard_svg(&s).contains("expected pace (25% of the cycle gone)"));
    s.pace = None;
    assert_eq!(ticks(&s, 0.25), 0);
}

/// A trend arrow on every row whose progress is known now and then, pointing the way it
/// moved; none without an earlier moment to compare with.
#[test]
fn scorecard_rows_carry_trend_arrows() {
    use baton::pictures::scorecard::{Change, change, scorecard_svg};
    assert_eq!(change(Some(0.22), Some(0.3)), Some(Change::Up));
    assert_eq!(change(Some(0.45), Some(0.4)), Some(Change::Down));
    assert_eq!(change(Some(0.62), Some(0.62)), Some(Change::Flat));
    assert_eq!(change(Some(0.62), Some(0.623)), Some(Change::Flat));
    assert_eq!(change(None, Some(0.5)), None);
    let mut s = sample_scorecard();
    let arrows = |s: &ScorecardInput| scorecard_svg(s).matches("data-change").count();
    // Company, three perspectives, four objectives with a figure a week ago; and the
    // legend's three.
    assert_eq!(arrows(&s), 1 + 3 + 4 + 3);
    assert!(scorecard_svg(&s).contains(">change since 9 Nov<"));
    s.since = None;
    assert_eq!(arrows(&s), 0);
}

/// Each perspective lists its objectives worst first: off track, at risk, not measured,
/// on track; within a status, the least progress first.
#[test]
fn scorecard_rows_are_worst_first() {
    use baton::pictures::scorecard::{scorecard_svg, worst_first};
    let s = sample_scorecard();
    let customers = &s.perspectives[1];
    let order: Vec<&str> = worst_first(&customers.objectives)
        .iter()
        .map(|o| o.code.as_str())
        .collect();
    assert_eq!(order, ["C2", "C3", "C1"]);
    let svg = scorecard_svg(&s);
    let at = |c: &str| svg.find(&format!(">{c}<")).unwrap_or_else(|| panic!("{c}"));
    assert!(
        at("C2") < at("C3") && at("C3") < at("C1"),
        "drawn out of order"
    );
    let mut two = s.perspectives[0].objectives.clone();
    two[1].status = Status::OffTrack;
    two[1].progress = Some(0.1);
    let order: Vec<&str> = worst_first(&two).iter().map(|o| o.code.as_str()).collect();
    assert_eq!(order, ["F2", "F1"]);
}

/// A long objective name wraps at a space onto a second line and, if still too long,
/// ends with an ellipsis after a whole word: no word is cut.
#[test]
fn scorecard_names_fit_without_cut_words() {
    use baton::pictures::scorecard::{name_lines, scorecard_svg};
    let s = sample_scorecard();
    let svg = scorecard_svg(&s);
    for p in &s.perspectives {
        for o in &p.objectives {
            let lines = name_lines(o);
            let words: Vec<&str> = o.title.split_whitespace().collect();
            for l in &lines {
                assert!(svg.contains(&format!(">{}<", baton::pictures::svg::esc(l))));
                for w in l.trim_end_matches('…').split(' ') {
                    assert!(words.contains(&w), "{}: `{w}` is cut in {lines:?}", o.code);
                }
            }
        }
    }
    let c3 = &s.perspectives[1].objectives[2];
    assert_eq!(name_lines(c3).len(), 2, "{:?}", name_lines(c3));
}

fn milestone_trend() -> Trend {
    let mut t = sample_trend();
    t.code = "S4".into();
    t.title = "Launch the self-serve onboarding flow".into();
    t.unit = String::new();
    t.start = Some(0.0);
    t.target = Some(1.0);
    t.pace = false;
    t.milestone = true;
    t.progress = Some(1.0);
    t.status = Status::OnTrack;
    t.due = chrono::NaiveDate::from_ymd_opt(2026, 11, 20);
    t.points = [(5, 10, 0.0), (19, 10, 0.0), (3, 11, 1.0)]
        .iter()
        .map(|(d, m, v)| TrendPoint {
            at: at(*d, *m),
            value: *v,
            confidence: Some(Confidence::OnTrack),
        })
        .collect();
    t
}

/// A milestone is a done/not-done timeline with its due date marked, not a plot of
/// zeros and ones.
#[test]
fn a_milestone_is_a_done_timeline_with_its_due_date() {
    let t = milestone_trend();
    let spans = t.milestone_spans();
    assert_eq!(
        spans,
        vec![
            (at(5, 10), at(19, 10), false),
            (at(19, 10), at(3, 11), false),
            (at(3, 11), t.now, true),
        ]
    );
    let svg = baton::pictures::trend::kr_trend_svg(&t);
    assert!(svg.contains(">done 3 Nov<"), "no done label");
    assert!(svg.contains(">not done<"), "no not-done label");
    assert!(svg.contains(">due 20 Nov<"), "no due date");
    assert!(svg.contains(" · done 3 Nov<"), "subtitle");
    assert!(
        !svg.contains(">target 1<"),
        "a milestone has no target line"
    );
    let png = baton::pictures::kr_trend(&t).expect("renders");
    assert_golden("kr-trend-milestone.png", &png);
}

/// Before any check-in the chart says so beside the today line, never across it, and
/// its header says "no data", not the rollup's "off track".
#[test]
fn no_check_ins_yet_is_clear_of_today_and_has_no_off_track_header() {
    let mut t = sample_trend();
    t.points.clear();
    t.progress = None;
    t.status = Status::OffTrack;
    let today = t.today_x().expect("today is on the chart");
    let note = t.empty_note().expect("a note");
    assert!(
        today < note.x - 4.0 || today > note.right() + 4.0,
        "today at {today} crosses {note:?}"
    );
    assert_eq!(t.header(), (Status::NoData, "no data".to_string()));
    let svg = baton::pictures::trend::kr_trend_svg(&t);
    assert!(svg.contains(">No check-ins yet<"));
    let png = baton::pictures::kr_trend(&t).expect("renders");
    assert_golden("kr-trend-empty.png", &png);
}

/// A stale key result's header says when it was last reported.
#[test]
fn a_stale_header_says_when_it_was_last_reported() {
    let mut t = sample_trend();
    t.stale = true;
    assert_eq!(t.header(), (Status::AtRisk, "at risk (stale)".to_string()));
    assert_eq!(t.last_reported().as_deref(), Some("last reported 16 Nov"));
    let svg = baton::pictures::trend::kr_trend_svg(&t);
    assert!(svg.contains(">last reported 16 Nov<"));
    let png = baton::pictures::kr_trend(&t).expect("renders");
    assert_golden("kr-trend-stale.png", &png);
    t.stale = false;
    assert_eq!(t.last_reported(), None);
    assert!(!baton::pictures::trend::kr_trend_svg(&t).contains("last reported"));
}

/// The scorecard picture a reply carries compares with a week ago: rows know their
/// progress then, and the cycle's pace.
#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_scorecard_picture_compares_with_a_week_ago(pool: PgPool) {
    let clock = std::sync::Arc::new(baton::clock::FixedClock::new(
        common::now() - Duration::days(10),
    ));
    let app = common::app_at(pool, &example_spec(), clock.clone()).await;
    common::shell(&app, "northwind", "kofi", "S1 62 on track: first\n").await;
    clock.set(common::now());
    common::shell(&app, "northwind", "kofi", "S1 75 on track: better\n").await;
    let org = app.org(Some("northwind")).await.unwrap();
    let v = baton::app::view::View::for_org(&app, org.id).await.unwrap();
    let s = baton::app::pictures::scorecard_with_change(&app, &v, org.id, None)
        .await
        .unwrap();
    assert_eq!(s.since.as_deref(), Some("since 9 Nov"));
    let pace = s.pace.expect("the cycle's pace");
    assert!(pace > 0.4 && pace < 0.6, "{pace}");
    let moved: Vec<&ObjectiveRow> = s
        .perspectives
        .iter()
        .flat_map(|p| &p.objectives)
        .filter(|o| o.was.is_some_and(|w| o.progress.is_some_and(|p| p > w)))
        .collect();
    assert!(!moved.is_empty(), "{s:?}");
    let (now, _) = s.company.unwrap();
    assert!(now > s.company_was, "{:?} then {:?}", s.company_was, now);
    // Without an earlier moment, no arrows.
    let plain = baton::app::pictures::scorecard(&v, None);
    assert_eq!(plain.since, None);
}
