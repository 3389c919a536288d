//! A person's time zone, decided in one place. Prompts at 09:00 local, due dates read from
//! "by Friday", away periods, `whoami` and the calendar all ask [`App::person_zone`] (or, for
//! a whole organisation at once, [`zone_of`] with [`App::reported_zones`]):
//!
//! 1. the zone the manifest sets for the person;
//! 2. else the zone a chat platform reported for them (Slack's `tz` from `users.info`,
//!    validated as an IANA name when it is recorded in `platform_zones`);
//! 3. else the zone of their home department (`domain::org::home_department`, which falls
//!    back to the organisation's);
//! 4. else the organisation's.

use std::collections::HashMap;

use chrono_tz::Tz;

use crate::domain::cadence::department_zone;
use crate::domain::{OrgSpec, PersonSpec};
use crate::error::Result;

use super::App;

/// The rule, given what platforms reported for the person.
pub fn zone_of(spec: &OrgSpec, p: &PersonSpec, reported: Option<Tz>) -> Tz {
    if let Some(tz) = p.time_zone.or(reported) {
        return tz;
    }
    crate::domain::org::home_department(spec, p.key.as_str())
        .map(|d| department_zone(spec, d))
        .unwrap_or(spec.org.time_zone)
}

/// [`zone_of`] for everyone at once: each department's zone is worked out once, and each
/// person's home department found through one index over the departments.
pub fn zones_of<'a>(spec: &'a OrgSpec, reported: &HashMap<String, Tz>) -> HashMap<&'a str, Tz> {
    let org = crate::domain::org::OrgIndex::new(spec);
    let dept_zones: Vec<Tz> = spec
        .departments
        .iter()
        .map(|d| department_zone(spec, &d.key))
        .collect();
    spec.people
        .iter()
        .map(|p| {
            let tz = p
                .time_zone
                .or_else(|| reported.get(p.key.as_str()).copied())
                .or_else(|| org.home(p.key.as_str()).map(|i| dept_zones[i]))
                .unwrap_or(spec.org.time_zone);
            (p.key.as_str(), tz)
        })
        .collect()
}

impl App {
    /// Zones chat platforms reported, by person key (one per person; platforms in name
    /// order when several did).
    pub async fn reported_zones(&self, org_id: i64) -> Result<HashMap<String, Tz>> {
        let rows = self.store.reported_zones(org_id).await?;
        // Later rows win: the platform first in name order.
        Ok(rows
            .into_iter()
            .filter_map(|(k, z)| z.parse::<Tz>().ok().map(|tz| (k, tz)))
            .collect())
    }

    /// A person's zone (see the module docs). Asks the database only when the manifest
    /// sets none.
    pub async fn person_zone(&self, org_id: i64, spec: &OrgSpec, p: &PersonSpec) -> Result<Tz> {
        if let Some(tz) = p.time_zone {
            return Ok(tz);
        }
        let reported = self.store.reported_zone(org_id, p.key.as_str()).await?;
        Ok(zone_of(spec, p, reported.and_then(|z| z.parse().ok())))
    }

    /// The zone of the person with this key, or the organisation's if there is none.
    pub async fn zone_of_key(&self, org_id: i64, spec: &OrgSpec, key: &str) -> Result<Tz> {
        match spec.people.iter().find(|p| p.key.as_str() == key) {
            Some(p) => self.person_zone(org_id, spec, p).await,
            None => Ok(spec.org.time_zone),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_then_platform_then_department_then_organisation() {
        let spec = crate::manifest::load_manifest(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/manifests/example-org.yaml"
        )))
        .unwrap();
        let mut tom = spec
            .people
            .iter()
            .find(|p| p.key.as_str() == "tom")
            .unwrap()
            .clone();
        let tokyo: Tz = "Asia/Tokyo".parse().unwrap();
        assert_eq!(
            zone_of(&spec, &tom, Some(tokyo)),
            chrono_tz::America::New_York
        );
        tom.time_zone = None;
        assert_eq!(zone_of(&spec, &tom, Some(tokyo)), tokyo);
        // Tom is in Sales (New York).
        assert_eq!(zone_of(&spec, &tom, None), chrono_tz::America::New_York);
        tom.key = crate::domain::Key::parse("nobody").unwrap();
        assert_eq!(zone_of(&spec, &tom, None), spec.org.time_zone);
    }

    #[test]
    fn working_hours_come_from_the_person_then_department_then_organisation() {
        use crate::domain::hours::WorkingHours;
        use crate::domain::org::{hours_of, hours_of_all};
        let mut spec = crate::manifest::load_manifest(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/manifests/example-org.yaml"
        )))
        .unwrap();
        let h = |s: &str| WorkingHours::parse(s).unwrap();
        // Nothing declared: 09:00–18:00 Monday to Friday for everyone.
        assert_eq!(hours_of(&spec, "tom"), WorkingHours::default());
        spec.org.working_hours = Some(h("mon-fri 08:00-16:00"));
        assert_eq!(hours_of(&spec, "tom"), h("mon-fri 08:00-16:00"));
        // Tom is in Sales, under the company: the company's hours beat the organisation's,
        // Sales' beat the company's, and his own beat everything.
        let company = spec
            .departments
            .iter()
            .position(|d| d.parent.is_none())
            .unwrap();
        spec.departments[company].working_hours = Some(h("mon-thu 09:00-17:00"));
        assert_eq!(hours_of(&spec, "tom"), h("mon-thu 09:00-17:00"));
        let sales = spec
            .departments
            .iter()
            .position(|d| d.key.as_str() == "sales")
            .unwrap();
        spec.departments[sales].working_hours = Some(h("sun-thu 10:00-19:00"));
        assert_eq!(hours_of(&spec, "tom"), h("sun-thu 10:00-19:00"));
        let tom = spec
            .people
            .iter()
            .position(|p| p.key.as_str() == "tom")
            .unwrap();
        spec.people[tom].working_hours = Some(h("daily 06:00-12:00"));
        assert_eq!(hours_of(&spec, "tom"), h("daily 06:00-12:00"));
        // Everyone at once agrees with one at a time.
        let all = hours_of_all(&spec);
        for p in &spec.people {
            assert_eq!(
                all[p.key.as_str()],
                hours_of(&spec, p.key.as_str()),
                "{}",
                p.key
            );
        }
    }

    #[test]
    fn everyone_at_once_agrees_with_one_at_a_time() {
        let mut spec = crate::manifest::load_manifest(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/manifests/example-org.yaml"
        )))
        .unwrap();
        // Half the people lose their manifest zone; some of those have a reported one.
        for (i, p) in spec.people.iter_mut().enumerate() {
            if i % 2 == 0 {
                p.time_zone = None;
            }
        }
        let reported: HashMap<String, Tz> = spec
            .people
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 == 0)
            .map(|(_, p)| (p.key.to_string(), chrono_tz::Asia::Tokyo))
            .collect();
        let all = zones_of(&spec, &reported);
        assert_eq!(all.len(), spec.people.len());
        for p in &spec.people {
            assert_eq!(
                all[p.key.as_str()],
                zone_of(&spec, p, reported.get(p.key.as_str()).copied()),
                "{}",
                p.key
            );
        }
    }
}
