//! The strategy views: `gaps` (what is missing), `map` (the strategy map as text) and
//! `deps` (the dependency board).

use crate::bot::{Align, Cell, Reply, Table};
use crate::domain::calendar::suggest_rhythm;
use crate::domain::{Code, Key, OrgSpec, Perspective, Status};
use crate::error::{AppError, Result};

use super::view::View;
use super::{Actor, App};

/// One finding of `gaps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub kind: &'static str,
    pub code: String,
    pub detail: String,
}

/// Finds what is missing in the declared strategy (pure: tests call it directly).
pub fn find_gaps(spec: &OrgSpec, active_cycle: Option<&Key>) -> Vec<Gap> {
    let mut gaps = Vec::new();
    let in_cycle = |c: &Key| active_cycle.is_none_or(|a| a == c);
    for o in spec.objectives.iter().filter(|o| in_cycle(&o.cycle)) {
        if o.aligns_to.is_empty() && o.parent.is_none() {
            gaps.push(Gap {
                kind: "orphan objective",
                code: o.code.to_string(),
                detail: format!(
                    "“{}” serves no scorecard objective and has no parent objective",
                    o.title
                ),
            });
        }
    }
    for s in &spec.scorecard {
        let measured = spec.measures.iter().any(|m| m.objective == s.code);
        let aligned = spec
            .objectives
            .iter()
            .any(|o| in_cycle(&o.cycle) && o.aligns_to.contains(&s.code));
        if !measured && !aligned {
            gaps.push(Gap {
                kind: "unmeasured strategy",
                code: s.code.to_string(),
                detail: format!("“{}” has no measure and no aligned objective", s.title),
            });
        }
    }
    for k in &spec.key_results {
        let objective_in_cycle = spec
            .objectives
            .iter()
            .find(|o| o.code == k.objective)
            .is_some_and(|o| in_cycle(&o.cycle));
        if k.owner.is_none() && objective_in_cycle {
            gaps.push(Gap {
                kind: "unowned key result",
                code: k.code.to_string(),
                detail: format!("“{}” has no owner", k.title),
            });
        }
    }
    // Breaks in the causal chain: every objective above the lowest enabled perspective
    // should be driven by an objective of a lower perspective, and every objective below
    // the top should drive one above.
    let enabled: Vec<Perspective> = spec.perspectives.iter().map(|p| p.perspective).collect();
    let lowest = enabled.iter().min().copied();
    let highest = enabled.iter().max().copied();
    let label = |p: Perspective| {
        spec.perspectives
            .iter()
            .find(|x| x.perspective == p)
            .map(|x| x.label.clone())
            .unwrap_or_else(|| p.default_label().into())
    };
    let persp_of = |c: &Code| {
        spec.scorecard
            .iter()
            .find(|s| &s.code == c)
            .map(|s| s.perspective)
    };
    for s in &spec.scorecard {
        if Some(s.perspective) != lowest {
            let driven = spec
                .links
                .iter()
                .any(|l| l.to == s.code && persp_of(&l.from).is_some_and(|p| p < s.perspective));
            if !driven {
                let below = enabled
                    .iter()
                    .filter(|p| **p < s.perspective)
                    .max()
                    .copied();
                gaps.push(Gap {
                    kind: "causal chain break",
                    code: s.code.to_string(),
                    detail: format!(
                        "{} objective “{}” is supported by no {} objective",
                        label(s.perspective),
                        s.title,
                        below.map(label).unwrap_or_default().to_lowercase()
                    ),
                });
            }
        }
        if Some(s.perspective) != highest {
            let drives = spec
                .links
                .iter()
                .any(|l| l.from == s.code && persp_of(&l.to).is_some_and(|p| p > s.perspective));
            if !drives {
                gaps.push(Gap {
                    kind: "causal chain break",
                    code: s.code.to_string(),
                    detail: format!(
                        "{} objective “{}” drives nothing in a higher perspective",
                        label(s.perspective),
                        s.title
                    ),
                });
            }
        }
    }
    gaps
}

pub async fn gaps(app: &App, actor: &Actor) -> Result<Reply> {
    let v = View::load(app, actor).await?;
    let found = find_gaps(&v.spec, v.rollup.cycle.as_ref());
    let r = Reply::new().heading(format!("Gaps in {}'s strategy", v.spec.org.name));
    if found.is_empty() {
        return Ok(r.text("None found: every objective is aligned, measured, owned and linked."));
    }
    let mut t = Table::new(&[
        ("Kind", Align::Left),
        ("Code", Align::Left),
        ("Detail", Align::Left),
    ]);
    for g in &found {
        t.row(vec![
            Cell::text(g.kind),
            Cell::text(&g.code),
            Cell::text(&g.detail),
        ]);
    }
    Ok(r.table(t).note(format!(
        "{} finding(s). Fix them in the manifest and `baton apply` it.",
        found.len()
    )))
}

/// `map`, and with `evidence` (`map --evidence`) each link's verdict from the check-in
/// history.
pub async fn map(app: &App, actor: &Actor, evidence: bool) -> Result<Reply> {
    let v = View::load(app, actor).await?;
    let judged = if evidence {
        super::evidence::links(app, actor.org.id, &v.spec, v.now).await?
    } else {
        Vec::new()
    };
    let mut r = Reply::new().heading(format!("Strategy map — {}", v.spec.org.name));
    r = r.note("Perspectives top-down; each objective lists what drives it (cause → effect).");
    let mut persp: Vec<Perspective> = v.spec.perspectives.iter().map(|p| p.perspective).collect();
    persp.sort_by_key(|p| std::cmp::Reverse(*p));
    for p in persp {
        let mut t = Table::new(&[
            ("Code", Align::Left),
            ("Objective", Align::Left),
            ("Progress", Align::Left),
            ("Status", Align::Left),
            ("Driven by", Align::Left),
        ]);
        for s in v.spec.scorecard.iter().filter(|s| s.perspective == p) {
            let drivers: Vec<&str> = v
                .spec
                .links
                .iter()
                .filter(|l| l.to == s.code)
                .map(|l| l.from.as_str())
                .collect();
            t.row(vec![
                Cell::text(s.code.as_str()),
                Cell::text(&s.title),
                Cell::Progress(v.progress(&s.code)),
                v.status_cell(&s.code),
                Cell::text(if drivers.is_empty() {
                    "—".into()
                } else {
                    format!("← {}", drivers.join(", "))
                }),
            ]);
        }
        r = r.heading(v.label(p).to_string());
        if t.rows.is_empty() {
            r = r.text("(no objectives)");
        } else {
            r = r.table(t);
        }
    }
    if !v.spec.links.is_empty() {
        r = r.heading("Links (cause → effect)");
        for l in &v.spec.links {
            r = r.note(format!("{} → {}: {}", l.from, l.to, l.hypothesis));
        }
    }
    if evidence {
        r = r.heading("Is the strategy holding?");
        if judged.is_empty() {
            r = r.text("The strategy map declares no cause → effect links.");
        } else {
            r = super::evidence::section(r, &judged.iter().collect::<Vec<_>>())
                .note(super::evidence::METHOD_NOTE);
        }
    }
    let pic = super::pictures::map(&v);
    r.push(super::pictures::image(
        super::pictures::STRATEGY_MAP,
        evidence.then_some(super::pictures::EVIDENCE),
        pic.alt(),
    ));
    Ok(r)
}

/// The dependency board rows, for every dependency or those touching one department.
pub fn deps_table(v: &View, dept: Option<&Key>) -> Table {
    deps_table_of(v, dept.map(|k| vec![k]).as_deref())
}

/// The dependencies in which any of `depts` is the dependent or the provider (all when
/// `None`).
pub fn deps_table_of(v: &View, depts: Option<&[&Key]>) -> Table {
    let mut t = Table::new(&[
        ("Dependency", Align::Left),
        ("Dependent → provider", Align::Left),
        ("Relies on", Align::Left),
        ("Health", Align::Left),
        ("Importance", Align::Left),
        ("Needed by", Align::Left),
        ("Open alerts", Align::Left),
        ("Rhythm", Align::Left),
    ]);
    for d in &v.spec.dependencies {
        if let Some(ks) = depts
            && !ks.contains(&&d.dependent_department)
            && !ks.contains(&&d.provider_department)
        {
            continue;
        }
        // An initiative has no progress figure: its state (from its milestones) is its
        // health.
        let initiative = d.provider_ref.as_ref().and_then(|c| {
            let i = v.spec.initiatives.iter().find(|i| &i.code == c)?;
            Some(crate::domain::progress::initiative_state(
                i,
                v.now.date_naive(),
            ))
        });
        let health = match (&d.provider_ref, &initiative) {
            (_, Some(s)) => Cell::text(format!("{} {}", s.status().mark(), s.label())),
            (Some(c), None) => v.status_cell(c),
            (None, None) => v
                .rollup
                .departments
                .get(&d.provider_department)
                .map(|e| Cell::Status {
                    status: e.status,
                    stale: false,
                })
                .unwrap_or(Cell::Status {
                    status: Status::NoData,
                    stale: false,
                }),
        };
        let delivered = match &initiative {
            Some(s) => s.total > 0 && s.done == s.total,
            None => d
                .provider_ref
                .as_ref()
                .and_then(|c| v.progress(c))
                .is_some_and(|p| p >= 1.0),
        };
        let overdue = d.needed_by.is_some_and(|n| n < v.now.date_naive()) && !delivered;
        t.row(vec![
            Cell::text(d.key.as_str()),
            Cell::text(format!(
                "{} → {}",
                d.dependent_department, d.provider_department
            )),
            Cell::text(
                d.provider_ref
                    .as_ref()
                    .map(|c| match &initiative {
                        Some(s) => format!("{c} {}/{} milestones", s.done, s.total),
                        None => format!(
                            "{c} {}",
                            v.progress(c)
                                .map(crate::bot::render::percent)
                                .unwrap_or_default()
                        ),
                    })
                    .unwrap_or_else(|| "the department".into()),
            ),
            health,
            Cell::text(d.importance.as_str()),
            Cell::text(
                d.needed_by
                    .map(|n| format!("{n}{}", if overdue { " (passed)" } else { "" }))
                    .unwrap_or_else(|| "—".into()),
            ),
            Cell::text({
                let open: Vec<String> = v
                    .alerts
                    .iter()
                    .filter(|a| a.dependency_key == d.key.as_str())
                    .map(|a| {
                        format!(
                            "#{} {}{}",
                            a.id,
                            a.conditions.join(" + "),
                            if a.acknowledged_at.is_some() {
                                " (ack)"
                            } else {
                                ""
                            }
                        )
                    })
                    .collect();
                if open.is_empty() {
                    "none".to_string()
                } else {
                    open.join(", ")
                }
            }),
            Cell::text(d.cadence.clone().unwrap_or_else(|| {
                let s = suggest_rhythm(&v.spec, d);
                format!("suggested: {} (`{}`)", s.summary, s.rule)
            })),
        ]);
    }
    t
}

pub async fn deps(app: &App, actor: &Actor, dept: Option<&str>) -> Result<Reply> {
    let v = View::load(app, actor).await?;
    let key = match dept {
        None => None,
        Some(d) => {
            let lower = d.to_ascii_lowercase();
            match v.spec.departments.iter().find(|x| x.key.as_str() == lower) {
                Some(x) => Some(x.key.clone()),
                None => {
                    return Err(AppError::NotFound(format!(
                        "There is no department `{d}`.\nUsage: deps [dept]"
                    )));
                }
            }
        }
    };
    let t = deps_table(&v, key.as_ref());
    let r = Reply::new().heading(match &key {
        Some(k) => format!("Dependencies of {k}"),
        None => "Dependencies".into(),
    });
    if t.rows.is_empty() {
        return Ok(r.text("No cross-department dependencies declared."));
    }
    let mut r = r.table(t);
    for d in v.spec.dependencies.iter().filter(|d| {
        d.cadence.is_none()
            && key
                .as_ref()
                .is_none_or(|k| &d.dependent_department == k || &d.provider_department == k)
    }) {
        r = r.note(format!(
            "{}: suggested rhythm, because {}",
            d.key,
            suggest_rhythm(&v.spec, d).why
        ));
    }
    Ok(r)
}
