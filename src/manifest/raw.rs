//! The manifest exactly as written: serde types with a source location on every value.
//!
//! Nearly every scalar is read as a string (or `f64`/`i64`/`bool`) and parsed into domain
//! types later, in `validate`, so one run reports every semantic problem with its line
//! instead of stopping at the first value serde cannot convert. Every field is optional
//! here; required fields are checked in `validate` for the same reason.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};

pub(super) type S<T> = Spanned<T>;
pub(super) type Str = Option<S<String>>;
pub(super) type Num = Option<S<f64>>;
pub(super) type List<T> = Option<Vec<S<T>>>;
/// Review agenda templates: tier → ordered section names.
pub(super) type RawReviewTemplates = std::collections::BTreeMap<String, S<Vec<S<String>>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    #[serde(default, alias = "organization")]
    pub organisation: Option<S<RawOrg>>,
    #[serde(default)]
    pub perspectives: Option<S<Vec<S<OneOf<RawPerspective>>>>>,
    #[serde(default)]
    pub people: List<RawPerson>,
    #[serde(default)]
    pub departments: List<RawDepartment>,
    #[serde(default)]
    pub holidays: List<RawHoliday>,
    #[serde(default)]
    pub scorecard: Option<S<RawScorecard>>,
    #[serde(default)]
    pub cycles: List<RawCycle>,
    #[serde(default)]
    pub objectives: List<RawObjective>,
    #[serde(default)]
    pub dependencies: List<RawDependency>,
    #[serde(default)]
    pub initiatives: List<RawInitiative>,
    /// Review agenda templates: tier → ordered section names.
    #[serde(default)]
    pub reviews: Option<S<RawReviewTemplates>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrg {
    #[serde(default)]
    pub key: Str,
    #[serde(default)]
    pub name: Str,
    #[serde(default)]
    pub time_zone: Str,
    #[serde(default)]
    pub fiscal_year_start: Option<S<i64>>,
    /// Everyone's working hours (`mon-fri 09:00-18:00`) unless a department or person says.
    #[serde(default)]
    pub working_hours: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPerspective {
    #[serde(default)]
    pub key: Str,
    #[serde(default)]
    pub label: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPerson {
    #[serde(default)]
    pub key: Str,
    #[serde(default)]
    pub name: Str,
    #[serde(default)]
    pub email: Str,
    #[serde(default)]
    pub time_zone: Str,
    #[serde(default)]
    pub roles: List<String>,
    #[serde(default)]
    pub chat: List<RawChat>,
    #[serde(default)]
    pub away: List<RawAway>,
    /// The platform to message the person on when they are on several.
    #[serde(default)]
    pub prefer: Str,
    #[serde(default)]
    pub working_hours: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawChat {
    #[serde(default)]
    pub platform: Str,
    #[serde(default)]
    pub workspace: Str,
    #[serde(default)]
    pub user: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAway {
    #[serde(default)]
    pub from: Str,
    #[serde(default)]
    pub to: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDepartment {
    #[serde(default)]
    pub key: Str,
    #[serde(default)]
    pub name: Str,
    #[serde(default)]
    pub parent: Str,
    #[serde(default)]
    pub heads: List<String>,
    #[serde(default)]
    pub members: List<String>,
    #[serde(default)]
    pub time_zone: Str,
    #[serde(default)]
    pub channels: Option<BTreeMap<String, S<String>>>,
    #[serde(default)]
    pub prompts_in_channel: Option<S<bool>>,
    #[serde(default)]
    pub cadences: Option<S<RawCadences>>,
    #[serde(default)]
    pub working_hours: Str,
}

/// `cadences:` as a map (`checkin: weekly on mon at 09:00`, or `review: {rule, layer}`)
/// or as a list of `{purpose, rule, layer}`.
#[derive(Debug)]
pub(super) struct RawCadences(pub Vec<RawCadence>);

#[derive(Debug)]
pub(super) struct RawCadence {
    /// Where the entry starts (the map key or the list item).
    pub at: Location,
    /// Field path suffix: `.checkin` for the map form, `[2]` for the list form.
    pub path: String,
    pub purpose: Str,
    pub rule: Str,
    pub layer: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCadenceBody {
    #[serde(default)]
    pub rule: Str,
    #[serde(default)]
    pub layer: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCadenceItem {
    #[serde(default)]
    pub purpose: Str,
    #[serde(default)]
    pub rule: Str,
    #[serde(default)]
    pub layer: Str,
}

impl<'de> Deserialize<'de> for RawCadences {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCadences;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of purpose to rule, or a list of {purpose, rule, layer}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawCadences, A::Error> {
                let mut out = Vec::new();
                while let Some(purpose) = map.next_key::<S<String>>()? {
                    let body = map.next_value::<S<OneOf<RawCadenceBody>>>()?;
                    let path = format!(".{}", purpose.value.trim());
                    let (rule, layer) = match body.value {
                        OneOf::Str(s) => (
                            Some(Spanned {
                                value: s,
                                referenced: body.referenced,
                                defined: body.defined,
                            }),
                            None,
                        ),
                        OneOf::Map(b) => (b.rule, b.layer),
                    };
                    out.push(RawCadence {
                        at: purpose.referenced,
                        path,
                        purpose: Some(purpose),
                        rule,
                        layer,
                    });
                }
                Ok(RawCadences(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawCadences, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<S<RawCadenceItem>>()? {
                    let path = format!("[{}]", out.len());
                    out.push(RawCadence {
                        at: item.referenced,
                        path,
                        purpose: item.value.purpose,
                        rule: item.value.rule,
                        layer: item.value.layer,
                    });
                }
                Ok(RawCadences(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawCadences, E> {
                Ok(RawCadences(Vec::new()))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHoliday {
    #[serde(default)]
    pub date: Str,
    #[serde(default)]
    pub name: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScorecard {
    #[serde(default)]
    pub objectives: List<RawScObjective>,
    #[serde(default)]
    pub links: List<RawLink>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawScObjective {
    #[serde(default)]
    pub code: Str,
    #[serde(default)]
    pub title: Str,
    #[serde(default)]
    pub perspective: Str,
    #[serde(default)]
    pub owner: Str,
    #[serde(default)]
    pub horizon: Option<S<i64>>,
    #[serde(default)]
    pub weight: Num,
    #[serde(default)]
    pub measures: List<RawMeasure>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMeasure {
    #[serde(default)]
    pub code: Str,
    #[serde(default)]
    pub title: Str,
    #[serde(default)]
    pub unit: Str,
    #[serde(default)]
    pub direction: Str,
    #[serde(default)]
    pub baseline: Num,
    #[serde(default)]
    pub target: Num,
    #[serde(default)]
    pub red: Num,
    #[serde(default)]
    pub band: Option<S<Vec<S<f64>>>>,
    #[serde(default, rename = "type", alias = "lead_lag")]
    pub lead_lag: Str,
    #[serde(default)]
    pub source: Str,
    #[serde(default)]
    pub cadence: Str,
    #[serde(default)]
    pub owner: Str,
    #[serde(default)]
    pub weight: Num,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLink {
    #[serde(default)]
    pub from: Str,
    #[serde(default)]
    pub to: Str,
    #[serde(default)]
    pub hypothesis: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCycle {
    #[serde(default)]
    pub key: Str,
    #[serde(default, alias = "starts")]
    pub start: Str,
    #[serde(default, alias = "ends")]
    pub end: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawObjective {
    #[serde(default)]
    pub code: Str,
    #[serde(default)]
    pub title: Str,
    #[serde(default)]
    pub level: Str,
    #[serde(default)]
    pub department: Str,
    #[serde(default)]
    pub owner: Str,
    #[serde(default)]
    pub cycle: Str,
    #[serde(default)]
    pub aligns_to: List<String>,
    #[serde(default)]
    pub parent: Str,
    #[serde(default)]
    pub weight: Num,
    #[serde(default)]
    pub include_children: Option<S<bool>>,
    #[serde(default)]
    pub key_results: List<RawKeyResult>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKeyResult {
    #[serde(default)]
    pub code: Str,
    #[serde(default)]
    pub title: Str,
    #[serde(default)]
    pub kind: Str,
    #[serde(default)]
    pub unit: Str,
    #[serde(default)]
    pub start: Num,
    #[serde(default)]
    pub target: Num,
    #[serde(default)]
    pub band: Option<S<Vec<S<f64>>>>,
    #[serde(default)]
    pub low: Num,
    #[serde(default)]
    pub high: Num,
    #[serde(default)]
    pub weight: Num,
    #[serde(default)]
    pub owner: Str,
    #[serde(default)]
    pub due: Str,
    #[serde(default)]
    pub cadence: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDependency {
    #[serde(default)]
    pub key: Str,
    #[serde(default)]
    pub description: Str,
    #[serde(default)]
    pub dependent: Option<S<RawEnd>>,
    #[serde(default)]
    pub provider: Option<S<RawEnd>>,
    #[serde(default)]
    pub importance: Str,
    #[serde(default)]
    pub needed_by: Str,
    #[serde(default)]
    pub cadence: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEnd {
    #[serde(default)]
    pub department: Str,
    #[serde(default, rename = "ref")]
    pub reference: Str,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawInitiative {
    #[serde(default)]
    pub code: Str,
    #[serde(default)]
    pub title: Str,
    #[serde(default)]
    pub owner: Str,
    #[serde(default)]
    pub departments: List<String>,
    #[serde(default)]
    pub objectives: List<String>,
    #[serde(default)]
    pub measures: List<String>,
    #[serde(default)]
    pub milestones: List<RawMilestone>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMilestone {
    #[serde(default)]
    pub title: Str,
    #[serde(default)]
    pub due: Str,
    #[serde(default)]
    pub done: Option<S<bool>>,
}

/// A value written either as a plain string or as a mapping. Wrap it in `Spanned` to know
/// where it was written (the string form carries no location of its own).
#[derive(Debug)]
pub(super) enum OneOf<T> {
    Str(String),
    Map(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOf<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOf<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a mapping")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOf<T>, E> {
                Ok(OneOf::Str(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<OneOf<T>, E> {
                Ok(OneOf::Str(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OneOf<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(OneOf::Map)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}
