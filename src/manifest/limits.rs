//! Size limits on a manifest: the whole file, its YAML structure and every string in it.
//!
//! A manifest comes from outside, so nothing in it may be unbounded:
//! - the file is at most [`MAX_MANIFEST_BYTES`] and must be UTF-8 (a bad byte is reported
//!   with its line and byte);
//! - the YAML parser runs under a budget ([`options`]) that scales to real organisations
//!   (a 50,000-person manifest applies) while an alias bomb is refused at its first
//!   thousand aliases;
//! - every string has a length limit by field ([`limit_for`]), reported with its place.

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Budget, Location, Options, Spanned};

use super::ManifestError;

/// The largest manifest read, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 32 * 1024 * 1024;
/// YAML nodes (scalars, sequences, mappings): enough for ~200,000 people.
pub const MAX_NODES: usize = 5_000_000;
/// Aliases (`*name`): manifests rarely need any; an alias bomb needs many.
pub const MAX_ALIASES: usize = 1_000;
/// Names and titles, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Free text (a dependency's description, a link's hypothesis), in characters.
pub const MAX_PROSE_CHARS: usize = 2_000;
/// A cadence rule (a preset or an `RRULE:`), in characters.
pub const MAX_CADENCE_CHARS: usize = 500;
/// Every other value (keys, codes, e-mails, chat ids, dates, zones), in characters.
pub const MAX_VALUE_CHARS: usize = 320;

/// The parser options every manifest is read with.
pub fn options() -> Options {
    let mut budget = Budget::default();
    budget.max_nodes = MAX_NODES;
    budget.max_events = 3 * MAX_NODES;
    budget.max_aliases = MAX_ALIASES;
    budget.max_anchors = MAX_ALIASES;
    budget.max_recorded_anchor_events = 100_000;
    budget.max_total_scalar_bytes = MAX_MANIFEST_BYTES;
    let mut o = Options::default();
    o.budget = Some(budget);
    o
}

/// Whether a YAML error is a breached budget (too many nodes or aliases: an alias bomb),
/// however the parser wrapped it.
pub fn is_too_big(e: &serde_saphyr::Error) -> bool {
    use serde_saphyr::Error as E;
    let mut e = e;
    #[allow(deprecated)]
    while let E::AliasError { error, .. } | E::WithSnippet { error, .. } = e {
        e = error;
    }
    matches!(
        e,
        E::Budget { .. }
            | E::AliasReplayLimitExceeded { .. }
            | E::AliasExpansionLimitExceeded { .. }
            | E::AliasReplayStackDepthExceeded { .. }
            | E::AliasReplayCounterOverflow { .. }
    )
}

/// The length limit, in characters, of a string under `keys` (the mapping keys from the
/// string outwards: `["checkin", "cadences", "departments"]`).
pub fn limit_for(keys: &[String]) -> usize {
    if keys
        .iter()
        .any(|k| matches!(k.as_str(), "cadences" | "cadence" | "rule"))
    {
        return MAX_CADENCE_CHARS;
    }
    match keys.first().map(String::as_str) {
        Some("description" | "hypothesis") => MAX_PROSE_CHARS,
        Some("name" | "title" | "label") => MAX_NAME_CHARS,
        _ => MAX_VALUE_CHARS,
    }
}

/// The shortest limit: strings at most this long are never looked at again.
const SHORTEST: usize = MAX_NAME_CHARS;
/// Keys longer than this are not kept (no field is named that long).
const KEY_CHARS: usize = 64;

/// A string over [`SHORTEST`]: where, how long, and the keys above it.
struct LongString {
    at: Location,
    chars: usize,
    keys: Vec<String>,
}

/// A YAML node reduced to what the limits need: the long strings inside it.
#[derive(Default)]
struct Long(Vec<LongString>);

impl Long {
    /// Takes in a child node; `key` is the mapping key it is the value of, if any.
    fn take(&mut self, child: Spanned<Node>, key: Option<&str>) {
        let start = self.0.len();
        match child.value {
            Node::Scalar { chars, .. } if chars > SHORTEST => self.0.push(LongString {
                at: child.referenced,
                chars,
                keys: Vec::new(),
            }),
            Node::Scalar { .. } => {}
            Node::Tree(mut inner) => self.0.append(&mut inner.0),
        }
        if let Some(key) = key {
            for l in &mut self.0[start..] {
                l.keys.push(key.to_owned());
            }
        }
    }
}

enum Node {
    /// A scalar: its length in characters, and its text when short (a mapping key).
    Scalar {
        chars: usize,
        text: Option<String>,
    },
    Tree(Long),
}

impl Node {
    fn len(chars: usize) -> Node {
        Node::Scalar { chars, text: None }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Node, E> {
        Ok(Node::len(0))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Node, E> {
        Ok(Node::len(0))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Node, E> {
        Ok(Node::len(0))
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Node, E> {
        Ok(Node::len(0))
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Node, E> {
        Ok(Node::len(0))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Node, E> {
        Ok(Node::len(0))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Node, E> {
        let chars = s.chars().count();
        Ok(Node::Scalar {
            chars,
            text: (chars <= KEY_CHARS).then(|| s.to_owned()),
        })
    }
    fn visit_bytes<E: de::Error>(self, b: &[u8]) -> Result<Node, E> {
        Ok(Node::len(b.len()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::len(0))
    }
    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::len(0))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut long = Long::default();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            long.take(item, None);
        }
        Ok(Node::Tree(long))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut long = Long::default();
        while let Some((k, v)) = map.next_entry::<Spanned<Node>, Spanned<Node>>()? {
            let key = match &k.value {
                Node::Scalar { text: Some(t), .. } => Some(t.clone()),
                _ => None,
            };
            long.take(k, None);
            long.take(v, key.as_deref());
        }
        Ok(Node::Tree(long))
    }
}

/// Every string longer than its field's limit, as errors with their place. `Err` is the
/// parser's own error (the caller reports it as it reports any YAML error).
pub fn long_strings(file: &str, text: &str) -> Result<Vec<ManifestError>, serde_saphyr::Error> {
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options())?;
    let mut long = Long::default();
    long.take(root, None);
    Ok(long
        .0
        .into_iter()
        .filter_map(|LongString { at, chars, keys }| {
            let limit = limit_for(&keys);
            (chars > limit).then(|| ManifestError {
                file: file.to_owned(),
                line: at.line(),
                column: at.column(),
                field: super::yaml_path::path_at(text, at.line(), at.column()),
                message: format!("is {chars} characters long; the limit here is {limit}"),
            })
        })
        .collect())
}

/// A manifest's bytes as text: a file too large, or not UTF-8, is one error with its place.
pub fn text_of(file: &str, bytes: Vec<u8>) -> Result<String, ManifestError> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            field: "(file)".into(),
            message: format!(
                "the manifest is {} bytes; the limit is {MAX_MANIFEST_BYTES}",
                bytes.len()
            ),
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = &bytes[..at];
        let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let line_start = before
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let byte = (at - line_start) as u64 + 1;
        ManifestError {
            file: file.to_owned(),
            line,
            column: byte,
            field: "(file)".into(),
            message: format!(
                "invalid UTF-8 at line {line}, byte {byte} of the line (byte {} of the file, \
                 value 0x{:02x}); save the manifest as UTF-8",
                at + 1,
                bytes[at]
            ),
        }
    })
}
