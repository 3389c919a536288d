//! Organisation manifest (`org.yaml`): schema, validation with file/line errors.
//!
//! [`parse_manifest`] turns the YAML text into an [`OrgSpec`], or into a list of every
//! problem found ([`ManifestErrors`]), each naming the file, line, column and field
//! (`departments[sales].parent`, `key_results[S1].start`) and sorted by line. Nothing is
//! accepted half-way: a manifest with any error yields no `OrgSpec`.
//!
//! # Schema
//!
//! Top-level keys (only `organisation` is required; unknown keys anywhere are errors):
//!
//! ```yaml
//! organisation: { key, name, time_zone, fiscal_year_start, working_hours? }   # fiscal_year_start: 1–12, default 1
//!                                   # working_hours: `mon-fri 09:00-18:00` (the default)
//! perspectives:        # optional; default: all four with default labels
//!   - customer                         # a perspective name, or
//!   - { key: internal, label: Operations }   # a name with a label
//! people:
//!   - key, name, email?, time_zone?, roles?: [admin|facilitator|executive],
//!     chat?: [{ platform: slack|discord, workspace, user }], away?: [{ from, to }],
//!     working_hours?
//! departments:
//!   - key, name, parent?, heads?: [person], members?: [person], time_zone?,
//!     channels?: { slack: C…, discord: "…" }, prompts_in_channel?: bool (false),
//!     working_hours? (for its people and sub-departments' people who set none),
//!     cadences?:                      # purpose → rule, or purpose → { rule, layer }, or
//!       checkin: weekly on mon at 09:00   # a list of { purpose, rule, layer }
//! holidays: [{ date, name }]
//! scorecard:
//!   objectives:
//!     - code, title, perspective, owner?, horizon? (years, 1), weight? (1),
//!       measures?:
//!         - code, title, unit?, direction: up|down|band, baseline?, target (not for band),
//!           red, band?: [low, high] (band only), type?: lead|lag (lag), source?,
//!           cadence?, owner?, weight? (1)
//!   links: [{ from, to, hypothesis }]      # cause → effect, scorecard objectives only
//! cycles: [{ key, start, end }]            # end inclusive; a key naming a fiscal period
//!                                          # (`2026-Q3`, `2026-H1`, `FY2026`) may omit both
//! objectives:
//!   - code, title, level: company|department|team|person, department? (required for
//!     department/team), owner? (required for person), cycle, aligns_to?: [scorecard
//!     objective], parent? (OKR objective in the same cycle), weight? (1),
//!     include_children?: bool (false; also count child objectives in its progress),
//!     key_results:
//!       - code, title, kind? (metric), unit?, start?, target?, band?: [low, high] or
//!         low?/high?, weight? (1), owner?, due?, cadence?
//! dependencies:
//!   - key, description, dependent: { department, ref? (objective/key result) },
//!     provider: { department, ref? (objective/key result/initiative) },
//!     importance? (normal), needed_by?, cadence? (absent: baton suggests one)
//! initiatives:
//!   - code, title, owner?, departments?: [dept], objectives?: [scorecard or OKR objective],
//!     measures?: [measure], milestones?: [{ title, due?, done? (false) }]
//! ```
//!
//! Key-result kinds: `metric` needs `start` and `target` (different); `at_least` /
//! `at_most` need `target` (`start`, optional, is where the score reaches 0); `band` needs
//! `band: [low, high]` with low < high; `milestone` and `baseline` take no numbers.
//!
//! Codes (scorecard objectives, measures, OKR objectives, key results, initiatives) share
//! one case-insensitive namespace. Keys (people, departments, cycles, dependencies) are
//! unique within their kind. Dates are `YYYY-MM-DD`, time zones IANA names, cadences
//! the presets or raw `RRULE:`s of [`crate::domain::cadence::parse_rule`].
//! `manifests/example-org.yaml` is a complete, commented example.

use std::fmt;
use std::path::Path;

use serde_saphyr::MessageFormatter;

use crate::domain::org::OrgSpec;

pub mod limits;
mod raw;
mod validate;
mod yaml_path;

#[cfg(test)]
mod tests;

/// One problem in a manifest, located in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub file: String,
    /// 1-based; 0 when the problem has no position (the file could not be read).
    pub line: u64,
    pub column: u64,
    /// Path of the offending field, e.g. `departments[sales].parent`.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.column, self.field, self.message
        )
    }
}

impl std::error::Error for ManifestError {}

/// Every problem found in a manifest, sorted by position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestErrors(pub Vec<ManifestError>);

impl ManifestErrors {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, ManifestError> {
        self.0.iter()
    }
}

impl fmt::Display for ManifestErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ManifestErrors {}

impl<'a> IntoIterator for &'a ManifestErrors {
    type Item = &'a ManifestError;
    type IntoIter = std::slice::Iter<'a, ManifestError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// Parses and validates a manifest. `file` is only used to label errors.
pub fn parse_manifest(file: &str, text: &str) -> Result<OrgSpec, ManifestErrors> {
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#') || l.trim() == "---")
    {
        return Err(ManifestErrors(vec![ManifestError {
            file: file.to_owned(),
            line: 1,
            column: 1,
            field: "organisation".into(),
            message: "the manifest is empty; it needs at least an `organisation`".into(),
        }]));
    }
    if text.len() > limits::MAX_MANIFEST_BYTES {
        return Err(ManifestErrors(vec![ManifestError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            field: "(file)".into(),
            message: format!(
                "the manifest is {} bytes; the limit is {}",
                text.len(),
                limits::MAX_MANIFEST_BYTES
            ),
        }]));
    }
    // Strings over their limit first. A breached budget (an alias bomb) is refused here; any
    // other YAML error is left to the parse below, which reports it in the field's words.
    let long = match limits::long_strings(file, text) {
        Ok(long) => long,
        Err(e) if limits::is_too_big(&e) => {
            return Err(yaml_error(file, text, &e));
        }
        Err(_) => Vec::new(),
    };
    let parsed = if long.is_empty() {
        serde_saphyr::from_str_with_options::<raw::RawManifest>(text, limits::options()).map(Ok)
    } else {
        Ok(Err(long))
    };
    let raw: raw::RawManifest = match parsed {
        Ok(Ok(raw)) => raw,
        Ok(Err(long)) => return Err(ManifestErrors(long)),
        Err(e) => return Err(yaml_error(file, text, &e)),
    };
    validate::build(file, raw).map_err(|mut errs| {
        errs.sort_by_key(|e| (e.line, e.column));
        ManifestErrors(errs)
    })
}

/// A YAML error (syntax, type, budget) as one located manifest error.
fn yaml_error(file: &str, text: &str, e: &serde_saphyr::Error) -> ManifestErrors {
    let (line, column) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    let message = serde_saphyr::UserMessageFormatter
        .format_message(e.without_snippet())
        .into_owned();
    ManifestErrors(vec![ManifestError {
        file: file.to_owned(),
        line,
        column,
        field: yaml_path::path_at(text, line, column),
        message,
    }])
}

/// Reads and parses a manifest file; an unreadable file is one error at line 0.
pub fn load_manifest(path: &Path) -> Result<OrgSpec, ManifestErrors> {
    let file = path.display().to_string();
    match std::fs::read(path) {
        Ok(bytes) => match limits::text_of(&file, bytes) {
            Ok(text) => parse_manifest(&file, &text),
            Err(e) => Err(ManifestErrors(vec![e])),
        },
        Err(e) => Err(ManifestErrors(vec![ManifestError {
            file,
            line: 0,
            column: 0,
            field: "(file)".into(),
            message: format!("cannot read the manifest: {e}"),
        }])),
    }
}
