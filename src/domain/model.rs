//! Core vocabulary of baton: the enums and value types every layer shares.
//!
//! Everything here is pure data with `parse` constructors that return `Result`, so a
//! malformed string never gets past the edge (house rule 2: parse, don't validate).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A code such as `C1`, `S1` or `ENG-O2`: letters, digits, `.`, `-` and `_`, starting with
/// a letter, at most 32 characters. Codes are unique across objectives, key results and
/// measures within one organisation, and compared case-insensitively (stored upper-case).
/// Shared, so the many copies a rollup makes cost no allocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Code(std::sync::Arc<str>);

impl Code {
    pub const MAX_LEN: usize = 32;

    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("a code cannot be empty".into());
        }
        if s.len() > Self::MAX_LEN {
            return Err(format!(
                "code `{s}` is longer than {} characters",
                Self::MAX_LEN
            ));
        }
        let mut chars = s.chars();
        let first = chars.next().unwrap_or(' ');
        if !first.is_ascii_alphabetic() {
            return Err(format!("code `{s}` must start with a letter"));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(format!(
                "code `{s}` may contain only letters, digits, `.`, `-` and `_`"
            ));
        }
        Ok(Code(s.to_ascii_uppercase().into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Code {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Code::parse(&s)
    }
}

impl From<Code> for String {
    fn from(c: Code) -> String {
        c.0.to_string()
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A key for people, departments, cycles and dependencies: lower-case letters, digits,
/// `-` and `_`, starting with a letter or digit, at most 48 characters. Shared, like
/// [`Code`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Key(std::sync::Arc<str>);

impl Key {
    pub const MAX_LEN: usize = 48;

    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("a key cannot be empty".into());
        }
        if s.len() > Self::MAX_LEN {
            return Err(format!(
                "key `{s}` is longer than {} characters",
                Self::MAX_LEN
            ));
        }
        let lower = s.to_ascii_lowercase();
        if !lower
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(format!(
                "key `{s}` may contain only letters, digits, `-`, `_` and `.`"
            ));
        }
        Ok(Key(lower.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Key {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Key::parse(&s)
    }
}

impl From<Key> for String {
    fn from(k: Key) -> String {
        k.0.to_string()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            pub fn parse(s: &str) -> Result<Self, String> {
                let norm = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
                match norm.as_str() {
                    $($s $(| $alias)* => Ok($name::$variant),)+
                    _ => Err(format!(
                        "`{}` is not a valid {}; expected one of: {}",
                        s.trim(),
                        stringify!($name).to_ascii_lowercase(),
                        [$($s),+].join(", ")
                    )),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> { $name::parse(&s) }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str { v.as_str() }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum!(
    /// The four Balanced Scorecard perspectives. Declaration order is the causal order,
    /// from the root causes (learning) to the ultimate effect (financial).
    Perspective {
        Learning => "learning" | "learning_and_growth" | "learning_growth" | "learning_&_growth",
        Internal => "internal" | "internal_process" | "process",
        Customer => "customer",
        Financial => "financial" | "finance",
    }
);

impl Perspective {
    /// Default label shown when the manifest does not rename the perspective.
    pub fn default_label(self) -> &'static str {
        match self {
            Perspective::Learning => "Learning & growth",
            Perspective::Internal => "Internal process",
            Perspective::Customer => "Customer",
            Perspective::Financial => "Financial",
        }
    }

    /// Top-down display order used by status and the strategy map (financial first).
    pub fn top_down() -> [Perspective; 4] {
        [
            Perspective::Financial,
            Perspective::Customer,
            Perspective::Internal,
            Perspective::Learning,
        ]
    }
}

string_enum!(
    /// What a key result measures and how its progress is scored (PRODUCT §5).
    KrKind {
        Metric => "metric",
        AtLeast => "at_least" | "atleast" | "min",
        AtMost => "at_most" | "atmost" | "max",
        Band => "band" | "range",
        Milestone => "milestone",
        Baseline => "baseline",
    }
);

string_enum!(
    /// A person's confidence in a key result, as reported at check-in.
    Confidence {
        OnTrack => "on_track" | "ontrack" | "green",
        AtRisk => "at_risk" | "atrisk" | "amber" | "yellow",
        OffTrack => "off_track" | "offtrack" | "red",
    }
);

string_enum!(
    /// Direction of a measure: which way is better.
    Direction {
        Up => "up" | "higher" | "higher_is_better" | "increase",
        Down => "down" | "lower" | "lower_is_better" | "decrease",
        Band => "band" | "within" | "stay_within",
    }
);

string_enum!(
    /// The level an OKR objective lives at.
    Level {
        Company => "company",
        Department => "department" | "dept",
        Team => "team",
        Person => "person" | "individual",
    }
);

string_enum!(
    /// How much a dependency matters to the dependent department.
    Importance {
        Critical => "critical",
        High => "high",
        Normal => "normal" | "medium" | "low",
    }
);

string_enum!(
    /// Roles a person can hold across the organisation. Department headship is separate
    /// (it is declared on the department).
    Role {
        Admin => "admin",
        Facilitator => "facilitator",
        Executive => "executive" | "exec",
    }
);

string_enum!(
    /// Measures are leading (predictive) or lagging (outcome) indicators.
    LeadLag {
        Lead => "lead" | "leading",
        Lag => "lag" | "lagging",
    }
);

string_enum!(
    /// Where a check-in came from.
    Source {
        Shell => "shell",
        Slack => "slack",
        Discord => "discord",
        Api => "api",
        Seed => "seed",
    }
);

/// Status of a key result, objective, perspective or the company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Status {
    OnTrack,
    AtRisk,
    OffTrack,
    /// Nothing to judge yet: a baseline not set, an empty objective.
    NoData,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::OnTrack => "on track",
            Status::AtRisk => "at risk",
            Status::OffTrack => "off track",
            Status::NoData => "no data",
        }
    }

    /// A mark that reads without colour.
    pub fn mark(self) -> &'static str {
        match self {
            Status::OnTrack => "✔",
            Status::AtRisk => "▲",
            Status::OffTrack => "✖",
            Status::NoData => "·",
        }
    }

    pub fn is_bad(self) -> bool {
        matches!(self, Status::AtRisk | Status::OffTrack)
    }
}

impl From<Confidence> for Status {
    fn from(c: Confidence) -> Status {
        match c {
            Confidence::OnTrack => Status::OnTrack,
            Confidence::AtRisk => Status::AtRisk,
            Confidence::OffTrack => Status::OffTrack,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_normalised_and_checked() {
        assert_eq!(Code::parse(" s1 ").unwrap().as_str(), "S1");
        assert!(Code::parse("1S").is_err());
        assert!(Code::parse("S 1").is_err());
        assert!(Code::parse(&"A".repeat(33)).is_err());
        assert!(Code::parse("").is_err());
    }

    #[test]
    fn enums_accept_aliases_and_name_the_choices() {
        assert_eq!(Confidence::parse("at risk").unwrap(), Confidence::AtRisk);
        assert_eq!(
            Confidence::parse("Off-Track").unwrap(),
            Confidence::OffTrack
        );
        assert_eq!(
            Perspective::parse("Internal process").unwrap(),
            Perspective::Internal
        );
        let err = KrKind::parse("percentage").unwrap_err();
        assert!(err.contains("metric") && err.contains("milestone"), "{err}");
    }

    #[test]
    fn perspectives_are_in_causal_order() {
        assert!(Perspective::Learning < Perspective::Internal);
        assert!(Perspective::Customer < Perspective::Financial);
    }
}
