//! Pictures for replies: builds the plain inputs of [`crate::pictures`] from the store and
//! the rollup, and renders an [`ImageRef`] to PNG.
//!
//! [`render`] is the one entry point adapters call (the shell's `--png`, Slack's file
//! upload, Discord's attachments): replies only describe their pictures, and the bytes
//! are made when an adapter needs them, from the figures as they are at that moment.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use crate::bot::reply::ImageRef;
use crate::domain::progress::{Rollup, active_cycle, cycle_elapsed};
use crate::domain::{Code, Confidence, KrKind, Perspective, Status};
use crate::error::{AppError, Result};
use crate::pictures::map::MapInput;
use crate::pictures::scorecard::{ObjectiveRow, PerspectiveRow, ScorecardInput};
use crate::pictures::trend::{Trend, TrendPoint};
use crate::pictures::{self, Png};

use super::App;
use super::view::View;

pub const KR_TREND: &str = "kr_trend";
pub const SCORECARD: &str = "scorecard";
pub const STRATEGY_MAP: &str = "strategy_map";
/// The subject of the strategy map drawn with each link's evidence (`map --evidence`).
pub const EVIDENCE: &str = "evidence";

/// How far back the scorecard's trend arrows look.
const TREND_DAYS: i64 = 7;

/// How many check-ins a trend chart plots at most (a quarter of daily check-ins fits).
const TREND_POINTS: i64 = 400;

/// Rasterising is CPU work: it runs off the async workers, one picture at a time, so a
/// burst of pictures queues behind itself instead of slowing every command's answer.
static RASTER: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

type Raster = Box<dyn FnOnce() -> std::result::Result<Png, pictures::PictureError> + Send>;

/// Renders a picture of an organisation as it is now.
#[tracing::instrument(skip_all, fields(org = org_id, kind = %image.kind))]
pub async fn render(app: &App, org_id: i64, image: &ImageRef) -> Result<Png> {
    let v = View::for_org(app, org_id).await?;
    let job: Raster = match image.kind.as_str() {
        KR_TREND => {
            let code = image
                .subject
                .as_deref()
                .and_then(|s| Code::parse(s).ok())
                .ok_or_else(|| {
                    AppError::Invalid("A trend picture needs a key result code.".into())
                })?;
            let t = trend(app, &v, org_id, &code).await?.ok_or_else(|| {
                AppError::NotFound(format!("There is no key result or measure `{code}`."))
            })?;
            match projection(app, &v, org_id, &code, &t).await? {
                Some(p) => Box::new(move || crate::pictures::trend::kr_trend_projection(&t, &p)),
                None => Box::new(move || pictures::kr_trend(&t)),
            }
        }
        SCORECARD => {
            let scope = match image.subject.as_deref() {
                None | Some("company") => None,
                Some(p) => Some(Perspective::parse(p).map_err(AppError::Invalid)?),
            };
            let input = scorecard_with_change(app, &v, org_id, scope).await?;
            Box::new(move || pictures::scorecard(&input))
        }
        STRATEGY_MAP if image.subject.as_deref() == Some(EVIDENCE) => {
            let input = map(&v);
            let styles = super::evidence::links(app, org_id, &v.spec, v.now)
                .await?
                .into_iter()
                .map(|l| {
                    use crate::domain::evidence::Verdict;
                    use crate::pictures::map::LinkStyle;
                    let style = match l.evidence.verdict() {
                        Some(Verdict::Supported) => LinkStyle::Supported,
                        Some(Verdict::NoEvidence) => LinkStyle::NoEvidence,
                        Some(Verdict::Contradicted) => LinkStyle::Contradicted,
                        None => LinkStyle::NotEnough,
                    };
                    (l.from.to_string(), l.to.to_string(), style)
                })
                .collect::<Vec<_>>();
            Box::new(move || crate::pictures::map::strategy_map_evidence(&input, &styles))
        }
        STRATEGY_MAP => {
            let input = map(&v);
            Box::new(move || pictures::strategy_map(&input))
        }
        other => {
            return Err(AppError::Invalid(format!(
                "There is no picture of kind `{other}`."
            )));
        }
    };
    let _slot = RASTER
        .acquire()
        .await
        .map_err(|e| AppError::Invalid(format!("pictures are shut down: {e}")))?;
    let png = tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| AppError::Invalid(format!("drawing the picture failed: {e}")))?;
    png.map_err(|e| AppError::Invalid(e.to_string()))
}

/// A file name for a picture: `kr-S1.png`, `scorecard-company.png`, `strategy-map.png`.
pub fn file_name(image: &ImageRef) -> String {
    let base = image.kind.replace('_', "-");
    let base = match image.kind.as_str() {
        KR_TREND => "kr".to_string(),
        _ => base,
    };
    let subject: Option<String> = image.subject.as_ref().map(|s| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    });
    match subject {
        Some(s) if !s.is_empty() => format!("{base}-{s}.png"),
        _ => format!("{base}.png"),
    }
}

/// A short title for a picture (shown above it where platforms show one).
pub fn title(image: &ImageRef) -> String {
    let subject = image.subject.as_deref().filter(|s| !s.is_empty());
    match (image.kind.as_str(), subject) {
        (KR_TREND, Some(code)) => format!("Trend of {code}"),
        (SCORECARD, Some(scope)) if scope != "company" => format!("Scorecard — {scope}"),
        (SCORECARD, _) => "Scorecard".to_string(),
        (STRATEGY_MAP, Some(EVIDENCE)) => "Strategy map — is it holding?".to_string(),
        (STRATEGY_MAP, _) => "Strategy map".to_string(),
        (kind, _) => kind.replace('_', " "),
    }
}

/// The pictures a reply carries, in order.
pub fn images(reply: &crate::bot::Reply) -> impl Iterator<Item = &ImageRef> {
    reply.blocks.iter().filter_map(|b| match b {
        crate::bot::Block::Image(i) => Some(i),
        _ => None,
    })
}

fn day_start(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

/// The trend of a key result or measure: its check-ins (superseded ones left out),
/// target, pace and status. `None` when the code names neither.
/// The forecast of a metric key result (or a baseline with its target), in its unit, to
/// draw on its trend chart; `None` for other kinds or too few check-ins.
async fn projection(
    app: &App,
    v: &View,
    org_id: i64,
    code: &Code,
    t: &Trend,
) -> Result<Option<crate::pictures::trend::Projection>> {
    let Some(k) = v.spec.key_results.iter().find(|k| &k.code == code) else {
        return Ok(None);
    };
    let (Some(target), true) = (
        k.target,
        matches!(k.kind, KrKind::Metric | KrKind::Baseline),
    ) else {
        return Ok(None);
    };
    let (Some(last), Some((_, _, end))) = (t.points.last(), &t.cycle) else {
        return Ok(None);
    };
    let f = super::evidence::forecasts(app, org_id, &v.spec, &[k], v.now).await?;
    let Some(crate::domain::forecast::Outlook::Forecast(f)) = f.get(code) else {
        return Ok(None);
    };
    let start = k.start.unwrap_or(0.0);
    let value = |p: f64| start + (target - start) * p;
    Ok(Some(crate::pictures::trend::Projection {
        from: (last.at, last.value),
        to: *end,
        landing: value(f.landing),
        low: value(f.low),
        high: value(f.high),
    }))
}

pub async fn trend(app: &App, v: &View, org_id: i64, code: &Code) -> Result<Option<Trend>> {
    let kr = v.spec.key_results.iter().find(|k| &k.code == code);
    let measure = v.spec.measures.iter().find(|m| &m.code == code);
    if kr.is_none() && measure.is_none() {
        return Ok(None);
    }
    let (rows, _) = app
        .store
        .history(org_id, code.as_str(), TREND_POINTS)
        .await?;
    let mut points: Vec<TrendPoint> = rows
        .iter()
        .filter(|r| r.superseded_by.is_none())
        .map(|r| TrendPoint {
            at: r.recorded_at,
            value: r.value,
            confidence: r
                .confidence
                .as_deref()
                .and_then(|c| Confidence::parse(c).ok()),
        })
        .collect();
    points.reverse();
    let cycle_of = |key: Option<&crate::domain::Key>| {
        let c = match key {
            Some(k) => v.spec.cycles.iter().find(|c| &c.key == k),
            None => crate::domain::progress::active_cycle(&v.spec, v.now),
        }?;
        Some((
            c.label(),
            day_start(c.starts),
            day_start(c.ends) + chrono::Duration::days(1),
        ))
    };
    let t = if let Some(k) = kr {
        let objective = v.spec.objectives.iter().find(|o| o.code == k.objective);
        let ev = v.rollup.key_results.get(code);
        let (start, target, pace, band) = match k.kind {
            KrKind::Metric => (k.start, k.target, true, None),
            KrKind::AtLeast | KrKind::AtMost => (None, k.target, false, None),
            KrKind::Band => (None, None, false, k.band),
            KrKind::Milestone => (Some(0.0), Some(1.0), false, None),
            KrKind::Baseline => (None, None, false, None),
        };
        Trend {
            code: k.code.to_string(),
            title: k.title.clone(),
            unit: k.unit.clone(),
            cycle: cycle_of(objective.map(|o| &o.cycle)),
            now: v.now,
            start,
            target,
            pace,
            held: matches!(k.kind, KrKind::AtLeast | KrKind::AtMost | KrKind::Band),
            band,
            red: None,
            points,
            status: ev.map(|e| e.status).unwrap_or(Status::NoData),
            progress: ev.and_then(|e| e.progress),
            stale: ev.is_some_and(|e| e.stale),
            due: k.due,
            milestone: k.kind == KrKind::Milestone,
        }
    } else {
        let m = measure.expect("checked above");
        let e = v.rollup.measures.get(code);
        let band = (m.direction == crate::domain::Direction::Band)
            .then_some(m.band)
            .flatten();
        Trend {
            code: m.code.to_string(),
            title: m.title.clone(),
            unit: m.unit.clone(),
            cycle: cycle_of(None),
            now: v.now,
            start: m.baseline,
            target: band.is_none().then_some(m.target),
            pace: false,
            held: false,
            band,
            red: band.is_none().then_some(m.red),
            points,
            status: e.map(|e| e.status).unwrap_or(Status::NoData),
            progress: e.and_then(|e| e.progress),
            stale: false,
            due: None,
            milestone: false,
        }
    };
    Ok(Some(t))
}

/// The scorecard picture's input: the company and every enabled perspective, or one
/// perspective.
pub fn scorecard(v: &View, only: Option<Perspective>) -> ScorecardInput {
    scorecard_since(v, only, None)
}

/// The scorecard picture's input with trend arrows against a week ago (the figures as
/// of then: one index lookup per key result and measure).
pub async fn scorecard_with_change(
    app: &App,
    v: &View,
    org_id: i64,
    only: Option<Perspective>,
) -> Result<ScorecardInput> {
    let since = v.now - chrono::Duration::days(TREND_DAYS);
    let then = app.store.load_state_at(org_id, since).await?;
    let before = crate::domain::progress::rollup(&v.spec, &then, since);
    let words = format!("since {}", since.format("%-d %b"));
    Ok(scorecard_since(v, only, Some((&before, words))))
}

/// The scorecard picture's input with trend arrows against `before`: the rollup at an
/// earlier moment, and that moment in words ("since 25 Nov").
pub fn scorecard_since(
    v: &View,
    only: Option<Perspective>,
    before: Option<(&Rollup, String)>,
) -> ScorecardInput {
    let was_scorecard = |c: &Code| {
        before
            .as_ref()
            .and_then(|(b, _)| b.scorecard.get(c)?.progress)
    };
    let was_perspective = |p: Perspective| {
        before.as_ref().and_then(|(b, _)| {
            b.perspectives
                .iter()
                .find(|(q, _)| *q == p)
                .and_then(|(_, e)| e.progress)
        })
    };
    let mut persp = v.rollup.perspectives.clone();
    persp.sort_by_key(|(p, _)| std::cmp::Reverse(*p));
    let perspectives = persp
        .iter()
        .filter(|(p, _)| only.is_none_or(|o| o == *p))
        .map(|(p, e)| PerspectiveRow {
            label: v.label(*p),
            progress: e.progress,
            status: e.status,
            objectives: v
                .spec
                .scorecard
                .iter()
                .filter(|s| s.perspective == *p)
                .map(|s| {
                    let e = v.rollup.scorecard.get(&s.code);
                    ObjectiveRow {
                        code: s.code.to_string(),
                        title: s.title.clone(),
                        progress: e.and_then(|e| e.progress),
                        status: e.map(|e| e.status).unwrap_or(Status::NoData),
                        was: was_scorecard(&s.code),
                    }
                })
                .collect(),
            was: was_perspective(*p),
        })
        .collect();
    let title = match only {
        None => format!("{} — scorecard", v.spec.org.name),
        Some(p) => format!("{} — {} perspective", v.spec.org.name, v.label(p)),
    };
    ScorecardInput {
        title,
        subtitle: v.cycle_line(),
        company: only
            .is_none()
            .then_some((v.rollup.company.progress, v.rollup.company.status)),
        perspectives,
        company_was: before.as_ref().and_then(|(b, _)| b.company.progress),
        pace: active_cycle(&v.spec, v.now).map(|c| cycle_elapsed(c, v.now)),
        since: before.map(|(_, words)| words),
    }
}

/// The strategy map's input.
pub fn map(v: &View) -> MapInput {
    MapInput::from_spec(&v.spec, &v.rollup.scorecard)
}

/// The image block for a picture kind and subject, with its alt text.
pub fn image(kind: &str, subject: Option<&str>, alt: String) -> crate::bot::Block {
    crate::bot::Block::Image(ImageRef {
        kind: kind.to_string(),
        subject: subject.map(str::to_string),
        alt,
    })
}
