//! `baton apply`: compare the declared organisation with what is stored, print the plan,
//! and write it in one transaction. Removing an item archives it; history stays.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::domain::OrgSpec;
use crate::error::Result;

use super::App;

/// One planned change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Add {
        kind: &'static str,
        id: String,
    },
    Update {
        kind: &'static str,
        id: String,
        fields: Vec<String>,
    },
    Archive {
        kind: &'static str,
        id: String,
    },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Add { kind, id } => write!(f, "+ {kind} {id}"),
            Change::Update { kind, id, fields } => {
                write!(f, "~ {kind} {id}: {}", fields.join("; "))
            }
            Change::Archive { kind, id } => {
                write!(f, "- {kind} {id} (archived; its history is kept)")
            }
        }
    }
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        other => other.to_string(),
    };
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(59).collect::<String>())
    } else {
        s
    }
}

fn field_changes(old: &Value, new: &Value) -> Vec<String> {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .filter_map(|k| {
                    let (x, y) = (
                        a.get(k).unwrap_or(&Value::Null),
                        b.get(k).unwrap_or(&Value::Null),
                    );
                    (x != y).then(|| format!("{k} {} → {}", short(x), short(y)))
                })
                .collect()
        }
        _ => vec![format!("{} → {}", short(old), short(new))],
    }
}

fn diff_list<T: Serialize>(
    out: &mut Vec<Change>,
    kind: &'static str,
    old: &[T],
    new: &[T],
    id: impl Fn(&T) -> String,
) {
    let to_map = |items: &[T]| -> BTreeMap<String, Value> {
        items
            .iter()
            .map(|x| (id(x), serde_json::to_value(x).expect("spec serialises")))
            .collect()
    };
    let (a, b) = (to_map(old), to_map(new));
    for item in new {
        let k = id(item);
        match a.get(&k) {
            None => out.push(Change::Add { kind, id: k }),
            Some(prev) => {
                let fields = field_changes(prev, &b[&k]);
                if !fields.is_empty() {
                    out.push(Change::Update {
                        kind,
                        id: k,
                        fields,
                    });
                }
            }
        }
    }
    for item in old {
        let k = id(item);
        if !b.contains_key(&k) {
            out.push(Change::Archive { kind, id: k });
        }
    }
}

/// The changes that turn `current` (None: a new organisation) into `desired`.
pub fn plan(current: Option<&OrgSpec>, desired: &OrgSpec) -> Vec<Change> {
    let mut out = Vec::new();
    let Some(cur) = current else {
        out.push(Change::Add {
            kind: "organisation",
            id: desired.org.key.to_string(),
        });
        let empty = OrgSpec {
            org: desired.org.clone(),
            ..empty_spec(desired)
        };
        out.extend(plan(Some(&empty), desired).into_iter().filter(|c| {
            !matches!(
                c,
                Change::Update {
                    kind: "organisation",
                    ..
                }
            )
        }));
        return out;
    };
    if cur.org != desired.org {
        out.push(Change::Update {
            kind: "organisation",
            id: desired.org.key.to_string(),
            fields: field_changes(
                &serde_json::to_value(&cur.org).unwrap_or_default(),
                &serde_json::to_value(&desired.org).unwrap_or_default(),
            ),
        });
    }
    diff_list(
        &mut out,
        "perspective",
        &cur.perspectives,
        &desired.perspectives,
        |p| p.perspective.to_string(),
    );
    diff_list(&mut out, "person", &cur.people, &desired.people, |p| {
        p.key.to_string()
    });
    diff_list(
        &mut out,
        "department",
        &cur.departments,
        &desired.departments,
        |d| d.key.to_string(),
    );
    diff_list(&mut out, "holiday", &cur.holidays, &desired.holidays, |h| {
        h.date.to_string()
    });
    diff_list(
        &mut out,
        "scorecard objective",
        &cur.scorecard,
        &desired.scorecard,
        |s| s.code.to_string(),
    );
    diff_list(&mut out, "measure", &cur.measures, &desired.measures, |m| {
        m.code.to_string()
    });
    diff_list(&mut out, "link", &cur.links, &desired.links, |l| {
        format!("{} → {}", l.from, l.to)
    });
    diff_list(&mut out, "cycle", &cur.cycles, &desired.cycles, |c| {
        c.key.to_string()
    });
    diff_list(
        &mut out,
        "objective",
        &cur.objectives,
        &desired.objectives,
        |o| o.code.to_string(),
    );
    diff_list(
        &mut out,
        "key result",
        &cur.key_results,
        &desired.key_results,
        |k| k.code.to_string(),
    );
    diff_list(
        &mut out,
        "dependency",
        &cur.dependencies,
        &desired.dependencies,
        |d| d.key.to_string(),
    );
    diff_list(
        &mut out,
        "initiative",
        &cur.initiatives,
        &desired.initiatives,
        |i| i.code.to_string(),
    );
    // Perspectives, links and holidays are stored whole; order changes alone are changes too.
    if out.is_empty() && cur != desired {
        out.push(Change::Update {
            kind: "organisation",
            id: desired.org.key.to_string(),
            fields: vec!["order of declarations".into()],
        });
    }
    out
}

fn empty_spec(d: &OrgSpec) -> OrgSpec {
    OrgSpec {
        org: d.org.clone(),
        perspectives: vec![],
        people: vec![],
        departments: vec![],
        scorecard: vec![],
        measures: vec![],
        links: vec![],
        cycles: vec![],
        objectives: vec![],
        key_results: vec![],
        dependencies: vec![],
        initiatives: vec![],
        holidays: vec![],
        review_templates: Default::default(),
    }
}

/// The outcome of `apply`.
#[derive(Debug)]
pub struct Applied {
    pub changes: Vec<Change>,
    pub written: bool,
}

/// Plans and (unless `dry_run`) writes the declared organisation.
pub async fn apply(app: &App, desired: &OrgSpec, dry_run: bool) -> Result<Applied> {
    let existing = app.store.org_by_key(desired.org.key.as_str()).await?;
    let current = match &existing {
        Some(org) => Some(app.store.load_spec(org.id).await?),
        None => None,
    };
    let changes = plan(current.as_ref(), desired);
    if let (Some(org), false, true) = (&existing, dry_run, changes.is_empty()) {
        // Cadences are derived state: make sure they exist even for an organisation
        // applied before the cadence engine (a no-op when they already match).
        app.store
            .sync_cadences(org.id, desired, app.clock.now())
            .await?;
    }
    if dry_run || changes.is_empty() {
        return Ok(Applied {
            changes,
            written: false,
        });
    }
    let summary = changes
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let org_id = app
        .store
        .apply_spec(desired, &summary, app.clock.now())
        .await?;
    // Identities may have changed: each person is judged reachable or not again when next
    // messaged.
    app.store.clear_unreachable(org_id).await?;
    // A changed manifest can start or end a dependency's conditions (a new provider, a
    // moved needed-by date, a removed dependency): judge them now. A first apply has no
    // history yet (nobody could have checked in), so the first tick judges it instead of
    // announcing every provider as silent before the people are even prompted. The
    // manifest is stored either way; a failed evaluation is logged and the tick repeats it.
    if existing.is_some()
        && let Err(e) = super::alerts::evaluate(app, org_id).await
    {
        tracing::error!(error = %e, "dependency alerts could not be evaluated after an apply");
    }
    Ok(Applied {
        changes,
        written: true,
    })
}
