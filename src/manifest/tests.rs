use super::*;
use crate::domain::model::{Direction, Importance, KrKind, LeadLag, Level, Perspective, Role};

/// A small valid manifest; tests edit single lines so line numbers stay put.
const BASE: &str = "\
organisation: {key: acme, name: Acme, time_zone: Europe/London}
people:
  - {key: ann, name: Ann}
  - {key: bob, name: Bob}
departments:
  - {key: company, name: Acme}
  - {key: sales, name: Sales, parent: company, heads: [ann]}
  - {key: product, name: Product, parent: company}
cycles:
  - {key: q4, start: 2026-10-01, end: 2026-12-31}
scorecard:
  objectives:
    - {code: C1, title: Fast, perspective: customer}
    - {code: F1, title: Grow, perspective: financial}
  links:
    - {from: C1, to: F1, hypothesis: h}
objectives:
  - code: O1
    title: T
    level: department
    department: sales
    cycle: q4
    aligns_to: [C1]
    key_results:
      - {code: S1, title: K, start: 1, target: 2}
";

/// BASE with `from` replaced by `to` (exactly once).
fn with(from: &str, to: &str) -> String {
    assert_eq!(
        BASE.matches(from).count(),
        1,
        "`{from}` must occur once in BASE"
    );
    BASE.replace(from, to)
}

fn errors(yaml: &str) -> Vec<ManifestError> {
    match parse_manifest("t.yaml", yaml) {
        Ok(_) => panic!("expected errors, manifest parsed"),
        Err(e) => e.0,
    }
}

/// Asserts an error at `line` on `field` whose message contains every needle.
#[track_caller]
fn expect(yaml: &str, line: u64, field: &str, needles: &[&str]) {
    let errs = errors(yaml);
    let found = errs.iter().any(|e| {
        e.line == line && e.field == field && needles.iter().all(|n| e.message.contains(n))
    });
    let all: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(
        found,
        "no error at line {line} on `{field}` containing {needles:?}; got:\n{}",
        all.join("\n")
    );
}

#[test]
fn base_parses_with_defaults() {
    let org = parse_manifest("t.yaml", BASE).unwrap();
    assert_eq!(org.org.key.as_str(), "acme");
    assert_eq!(org.org.fiscal_year_start, 1);
    let ps: Vec<Perspective> = org.perspectives.iter().map(|p| p.perspective).collect();
    assert_eq!(
        ps,
        [
            Perspective::Learning,
            Perspective::Internal,
            Perspective::Customer,
            Perspective::Financial
        ]
    );
    assert_eq!(org.perspectives[0].label, "Learning & growth");
    assert_eq!(org.scorecard[0].horizon_years, 1);
    assert_eq!(org.scorecard[0].weight, 1.0);
    assert_eq!(org.objectives[0].weight, 1.0);
    assert_eq!(org.objectives[0].level, Level::Department);
    assert_eq!(org.key_results[0].kind, KrKind::Metric);
    assert_eq!(org.key_results[0].objective.as_str(), "O1");
    assert_eq!(org.key_results[0].weight, 1.0);
    assert!(!org.departments[0].prompts_in_channel);
    assert_eq!(org.links.len(), 1);
}

#[test]
fn perspectives_are_stored_in_causal_order_with_labels() {
    let y = format!("{BASE}perspectives:\n  - financial\n  - {{key: customer, label: Clients}}\n");
    let org = parse_manifest("t.yaml", &y).unwrap();
    assert_eq!(org.perspectives.len(), 2);
    assert_eq!(org.perspectives[0].perspective, Perspective::Customer);
    assert_eq!(org.perspectives[0].label, "Clients");
    assert_eq!(org.perspectives[1].label, "Financial");
}

#[test]
fn perspective_not_enabled_is_an_error() {
    let y = format!("{BASE}perspectives: [customer]\n");
    expect(
        &y,
        14,
        "scorecard.objectives[F1].perspective",
        &["`financial` is not enabled", "enabled: customer"],
    );
    let y = format!("{BASE}perspectives: [customer, customer]\n");
    expect(&y, 26, "perspectives[1]", &["listed twice"]);
}

#[test]
fn yaml_syntax_error_has_a_location() {
    let errs = errors("organisation: {key: acme, name: [Acme\npeople: []\n");
    assert_eq!(errs.len(), 1);
    assert!(errs[0].line >= 1, "{:?}", errs[0]);
}

#[test]
fn empty_manifest_is_an_error() {
    expect("# nothing\n", 1, "organisation", &["empty"]);
    expect(
        "people: []\n",
        1,
        "organisation",
        &["missing required section"],
    );
}

#[test]
fn type_errors_name_line_and_field() {
    let y = with(
        "time_zone: Europe/London}",
        "time_zone: Europe/London, fiscal_year_start: april}",
    );
    expect(&y, 1, "organisation.fiscal_year_start", &["invalid"]);
    let y = with("    aligns_to: [C1]", "    aligns_to: {a: b}");
    expect(&y, 23, "objectives[0].aligns_to", &[]);
}

#[test]
fn fiscal_year_start_must_be_a_month() {
    let y = with(
        "time_zone: Europe/London}",
        "time_zone: Europe/London, fiscal_year_start: 13}",
    );
    expect(&y, 1, "organisation.fiscal_year_start", &["1–12", "13"]);
}

#[test]
fn unknown_fields_are_rejected_with_their_line() {
    let y = with("{code: S1, title: K,", "{code: S1, titel: K,");
    expect(
        &y,
        25,
        "objectives[0].key_results[0].titel",
        &["unknown field `titel`"],
    );
    let y = with("    level: department", "    levle: department");
    expect(&y, 20, "objectives[0].levle", &["unknown field `levle`"]);
}

#[test]
fn non_finite_numbers_are_rejected() {
    let y = with("start: 1, target: 2}", "start: .nan, target: 2}");
    expect(
        &y,
        25,
        "key_results[S1].start",
        &["must be a finite number"],
    );
    let y = with("start: 1, target: 2}", "start: 1, target: -.inf}");
    expect(
        &y,
        25,
        "key_results[S1].target",
        &["must be a finite number"],
    );
    let y = with("{code: S1, title: K,", "{code: S1, title: K, weight: .inf,");
    expect(
        &y,
        25,
        "key_results[S1].weight",
        &["must be a finite number"],
    );
}

#[test]
fn bad_time_zone_suggests_the_closest() {
    let y = with(
        "{key: ann, name: Ann}",
        "{key: ann, name: Ann, time_zone: Europe/Londn}",
    );
    expect(
        &y,
        3,
        "people[ann].time_zone",
        &[
            "`Europe/Londn` is not an IANA time zone",
            "did you mean `Europe/London`",
        ],
    );
}

#[test]
fn bad_dates_are_reported() {
    let y = with("end: 2026-12-31}", "end: 2026-13-01}");
    expect(
        &y,
        10,
        "cycles[q4].end",
        &["`2026-13-01` is not a valid date", "YYYY-MM-DD"],
    );
}

#[test]
fn bad_enum_values_list_the_choices() {
    let y = with("    level: department", "    level: division");
    expect(
        &y,
        20,
        "objectives[O1].level",
        &["`division`", "company", "team"],
    );
    let y = with("perspective: customer}", "perspective: buyers}");
    expect(
        &y,
        13,
        "scorecard.objectives[C1].perspective",
        &["`buyers`", "learning"],
    );
    let y = with(
        "{key: bob, name: Bob}",
        "{key: bob, name: Bob, roles: [boss]}",
    );
    expect(
        &y,
        4,
        "people[bob].roles[0]",
        &["`boss`", "admin", "facilitator"],
    );
}

#[test]
fn bad_codes_and_keys_are_reported() {
    let y = with("{code: F1, title: Grow", "{code: 1F, title: Grow");
    expect(
        &y,
        14,
        "scorecard.objectives[1F].code",
        &["must start with a letter"],
    );
    let y = with("{key: bob, name: Bob}", "{key: bob smith, name: Bob}");
    expect(&y, 4, "people[bob smith].key", &["may contain only"]);
}

#[test]
fn bad_cadence_is_reported() {
    let y = with(
        "{key: product, name: Product, parent: company}",
        "{key: product, name: Product, parent: company, cadences: {checkin: weekly on funday}}",
    );
    expect(
        &y,
        8,
        "departments[product].cadences.checkin",
        &["invalid cadence", "funday"],
    );
    let y = with(
        "{key: product, name: Product, parent: company}",
        "{key: product, name: Product, parent: company, cadences: {standup: daily}}",
    );
    expect(
        &y,
        8,
        "departments[product].cadences.standup",
        &["not a cadence purpose"],
    );
}

#[test]
fn cadences_accept_map_body_and_list_forms() {
    let y = with(
        "{key: product, name: Product, parent: company}",
        "{key: product, name: Product, parent: company, cadences: {review: {rule: quarterly, layer: tactical}}}",
    );
    let org = parse_manifest("t.yaml", &y).unwrap();
    let c = &org.departments[2].cadences[0];
    assert_eq!(
        (c.purpose.as_str(), c.rule.as_str()),
        ("review", "quarterly")
    );
    assert_eq!(c.layer.as_deref(), Some("tactical"));
    let y = with(
        "{key: product, name: Product, parent: company}",
        "{key: product, name: Product, parent: company, cadences: [{purpose: checkin, rule: daily, layer: sideways}]}",
    );
    expect(
        &y,
        8,
        "departments[product].cadences[0].layer",
        &["not a cadence layer"],
    );
}

#[test]
fn duplicate_codes_share_one_case_insensitive_namespace() {
    let y = with("{code: S1, title: K,", "{code: c1, title: K,");
    expect(
        &y,
        25,
        "key_results[c1].code",
        &["duplicate code `C1`", "scorecard objective at line 13"],
    );
}

#[test]
fn duplicate_keys_name_the_first_line() {
    let y = with("{key: bob, name: Bob}", "{key: Ann, name: Bob}");
    expect(
        &y,
        4,
        "people[Ann].key",
        &["duplicate person key `ann`", "first declared at line 3"],
    );
    let y = with(
        "{key: product, name: Product,",
        "{key: sales, name: Product,",
    );
    expect(
        &y,
        8,
        "departments[sales].key",
        &["duplicate department key", "line 7"],
    );
}

#[test]
fn unknown_department_suggests_the_closest_key() {
    let y = with("    department: sales", "    department: salez");
    expect(
        &y,
        21,
        "objectives[O1].department",
        &["unknown department `salez`", "did you mean `sales`?"],
    );
    let y = with("parent: company, heads", "parent: compnay, heads");
    expect(
        &y,
        7,
        "departments[sales].parent",
        &["unknown department `compnay`"],
    );
}

#[test]
fn unknown_people_are_reported() {
    let y = with("heads: [ann]", "heads: [ann, zed]");
    expect(
        &y,
        7,
        "departments[sales].heads[1]",
        &["unknown person `zed`"],
    );
    let y = with("{code: S1, title: K,", "{code: S1, owner: bon, title: K,");
    expect(
        &y,
        25,
        "key_results[S1].owner",
        &["unknown person `bon`", "did you mean `bob`?"],
    );
}

#[test]
fn unknown_cycle_and_alignment_are_reported() {
    let y = with("    cycle: q4", "    cycle: q1");
    expect(&y, 22, "objectives[O1].cycle", &["unknown cycle `q1`"]);
    let y = with("    aligns_to: [C1]", "    aligns_to: [C9]");
    expect(
        &y,
        23,
        "objectives[O1].aligns_to[0]",
        &["unknown scorecard objective `C9`"],
    );
    let y = with("    aligns_to: [C1]", "    aligns_to: [O1]");
    expect(
        &y,
        23,
        "objectives[O1].aligns_to[0]",
        &["`O1` is the OKR objective at line 18, not a scorecard objective"],
    );
}

#[test]
fn objective_parent_rules() {
    // Unknown parent.
    let y = with("    aligns_to: [C1]", "    parent: O7");
    expect(
        &y,
        23,
        "objectives[O1].parent",
        &["unknown OKR objective `O7`"],
    );
    // Own parent.
    let y = with("    aligns_to: [C1]", "    parent: O1");
    expect(
        &y,
        23,
        "objectives[O1].parent",
        &["cannot be its own parent"],
    );
    // A cycle of two, and a parent in another cycle.
    let extra = "  - {code: O2, title: U, level: company, cycle: q4, parent: O1}\n\
                 \x20 - {code: O3, title: V, level: company, cycle: q1, parent: O2}\n";
    let y = format!(
        "{}{extra}",
        with("    aligns_to: [C1]", "    parent: O2").replace(
            "cycles:\n",
            "cycles:\n  - {key: q1, start: 2027-01-01, end: 2027-03-31}\n"
        )
    );
    expect(
        &y,
        24,
        "objectives[O1].parent",
        &["parents form a cycle", "O1 → O2 → O1"],
    );
    expect(
        &y,
        28,
        "objectives[O3].parent",
        &["parent `O2` is in cycle `q4`, but this objective is in `q1`"],
    );
}

#[test]
fn department_parent_cycles_are_reported() {
    let y = with(
        "{key: company, name: Acme}",
        "{key: company, name: Acme, parent: product}",
    );
    expect(
        &y,
        6,
        "departments[company].parent",
        &[
            "department parents form a cycle",
            "company → product → company",
        ],
    );
    let y = with(
        "{key: company, name: Acme}",
        "{key: company, name: Acme, parent: company}",
    );
    expect(
        &y,
        6,
        "departments[company].parent",
        &["cannot be its own parent"],
    );
}

#[test]
fn link_rules() {
    let y = with("{from: C1, to: F1,", "{from: C1, to: F2,");
    expect(
        &y,
        16,
        "scorecard.links[0].to",
        &["unknown scorecard objective `F2`", "did you mean `F1`?"],
    );
    let y = with("{from: C1, to: F1,", "{from: O1, to: F1,");
    expect(
        &y,
        16,
        "scorecard.links[0].from",
        &["is the OKR objective", "not a scorecard objective"],
    );
    let y = with("{from: C1, to: F1,", "{from: C1, to: c1,");
    expect(
        &y,
        16,
        "scorecard.links[0].to",
        &["cannot go from `C1` to itself"],
    );
    let y = with(
        "    - {from: C1, to: F1, hypothesis: h}\n",
        "    - {from: C1, to: F1, hypothesis: h}\n    - {from: C1, to: F1, hypothesis: again}\n",
    );
    expect(
        &y,
        17,
        "scorecard.links[1]",
        &["duplicate link C1 → F1", "line 16"],
    );
}

#[test]
fn key_result_kind_rules() {
    let kr = "{code: S1, title: K, start: 1, target: 2}";
    let case = |to: &str, field: &str, needles: &[&str]| {
        expect(&with(kr, to), 25, field, needles);
    };
    case(
        "{code: S1, title: K, start: 60, target: 60}",
        "key_results[S1].target",
        &["start and target are both 60"],
    );
    case(
        "{code: S1, title: K, target: 2}",
        "key_results[S1].start",
        &["needs `start`"],
    );
    case(
        "{code: S1, title: K, start: 2}",
        "key_results[S1].target",
        &["needs `target`"],
    );
    case(
        "{code: S1, title: K, kind: band, band: [105, 95]}",
        "key_results[S1].band",
        &["band low (105) must be below high (95)"],
    );
    case(
        "{code: S1, title: K, kind: band, low: 5, high: 5}",
        "key_results[S1].low",
        &["band low (5) must be below high (5)"],
    );
    case(
        "{code: S1, title: K, kind: band}",
        "key_results[S1].band",
        &["needs `band: [low, high]`"],
    );
    case(
        "{code: S1, title: K, kind: at_least}",
        "key_results[S1].target",
        &["needs `target`"],
    );
    case(
        "{code: S1, title: K, kind: at_most, start: 10, target: 20}",
        "key_results[S1].start",
        &["must be above the target"],
    );
    case(
        "{code: S1, title: K, kind: milestone, target: 1}",
        "key_results[S1].target",
        &["`target` is not used by a milestone key result"],
    );
    case(
        "{code: S1, title: K, start: 1, target: 2, weight: -1}",
        "key_results[S1].weight",
        &["weight must be zero or positive, got -1"],
    );
    case(
        "{code: S1, title: K, start: 1, target: 2, due: 2027-02-01}",
        "key_results[S1].due",
        &["outside cycle `q4`"],
    );
    case(
        "{code: S1, start: 1, target: 2}",
        "key_results[S1].title",
        &["missing required field `title`"],
    );
}

#[test]
fn all_key_result_kinds_parse() {
    let kr = "      - {code: S1, title: K, start: 1, target: 2}\n";
    let more = "      - {code: S1, title: K, start: 14, target: 7, unit: days}\n\
                \x20     - {code: S2, title: K, kind: at_least, target: 50}\n\
                \x20     - {code: S3, title: K, kind: at_most, target: 5, start: 9}\n\
                \x20     - {code: S4, title: K, kind: band, band: [95, 105]}\n\
                \x20     - {code: S5, title: K, kind: milestone, due: 2026-11-30}\n\
                \x20     - {code: S6, title: K, kind: baseline}\n";
    let org = parse_manifest("t.yaml", &with(kr, more)).unwrap();
    let kinds: Vec<KrKind> = org.key_results.iter().map(|k| k.kind).collect();
    assert_eq!(kinds.len(), 6);
    assert_eq!(org.key_results[3].band, Some((95.0, 105.0)));
    assert_eq!(org.key_results[0].start, Some(14.0));
}

#[test]
fn level_rules() {
    let y = with("    department: sales\n", "");
    let errs = errors(&y);
    assert!(
        errs.iter().any(|e| e.line == 20
            && e.field == "objectives[O1].department"
            && e.message
                .contains("department-level objective needs `department`")),
        "{errs:?}"
    );
    let y = with("    level: department", "    level: person");
    expect(
        &y,
        18,
        "objectives[O1].owner",
        &["person-level objective needs `owner`"],
    );
}

#[test]
fn cycle_and_away_dates_must_be_ordered() {
    let y = with("end: 2026-12-31}", "end: 2026-09-30}");
    expect(
        &y,
        10,
        "cycles[q4].end",
        &["ends (2026-09-30) before it starts (2026-10-01)"],
    );
    let y = with(
        "{key: ann, name: Ann}",
        "{key: ann, name: Ann, away: [{from: 2026-12-21, to: 2026-12-01}]}",
    );
    expect(
        &y,
        3,
        "people[ann].away[0].to",
        &["ends (2026-12-01) before it starts"],
    );
}

#[test]
fn measure_rules() {
    let sc = "{code: F1, title: Grow, perspective: financial}";
    let case = |m: &str, field: &str, needles: &[&str]| {
        let to = format!("{{code: F1, title: Grow, perspective: financial, measures: [{m}]}}");
        expect(&with(sc, &to), 14, field, needles);
    };
    case(
        "{code: F1.M1, title: ARR, direction: up, target: 7, red: 7}",
        "measures[F1.M1].red",
        &["red threshold equals the target (7)"],
    );
    case(
        "{code: F1.M1, title: ARR, direction: down, target: 7, red: 5}",
        "measures[F1.M1].red",
        &["must be above the target"],
    );
    case(
        "{code: F1.M1, title: ARR, direction: band, red: 2}",
        "measures[F1.M1].band",
        &["needs `band: [low, high]`"],
    );
    case(
        "{code: F1.M1, title: ARR, direction: up, target: 7, red: 5, owner: zed}",
        "measures[F1.M1].owner",
        &["unknown person `zed`"],
    );
    case(
        "{code: F1.M1, title: ARR, direction: up, target: 7, red: 5, type: trailing}",
        "measures[F1.M1].type",
        &["`trailing`", "lead", "lag"],
    );
    let to = "{code: F1, title: Grow, perspective: financial, measures: [{code: F1.M1, title: ARR, \
              direction: band, band: [20, 30], red: 5}]}";
    let org = parse_manifest("t.yaml", &with(sc, to)).unwrap();
    let m = &org.measures[0];
    assert_eq!(m.direction, Direction::Band);
    assert_eq!(m.band, Some((20.0, 30.0)));
    assert_eq!(m.lead_lag, LeadLag::Lag);
    assert_eq!(m.objective.as_str(), "F1");
}

const DEP_OK: &str = "dependencies:\n  - key: d1\n    description: needs it\n    \
                      dependent: {department: sales, ref: S1}\n    \
                      provider: {department: product}\n";

#[test]
fn dependency_rules() {
    // Lines: 26 dependencies, 27 key, 28 description, 29 dependent, 30 provider.
    let org = parse_manifest("t.yaml", &format!("{BASE}{DEP_OK}")).unwrap();
    assert_eq!(org.dependencies[0].importance, Importance::Normal);
    assert_eq!(
        org.dependencies[0].dependent_ref.as_ref().unwrap().as_str(),
        "S1"
    );
    assert!(org.dependencies[0].cadence.is_none());
    let dep = |from: &str, to: &str| {
        assert_eq!(DEP_OK.matches(from).count(), 1);
        format!("{BASE}{}", DEP_OK.replace(from, to))
    };
    expect(
        &dep("{department: product}", "{department: sales}"),
        30,
        "dependencies[d1].provider.department",
        &["both `sales`", "two different departments"],
    );
    expect(
        &dep("{department: product}", "{department: product, ref: S9}"),
        30,
        "dependencies[d1].provider.ref",
        &["unknown objective, key result or initiative `S9`"],
    );
    expect(
        &dep("ref: S1}", "ref: C1}"),
        29,
        "dependencies[d1].dependent.ref",
        &["scorecard objective", "not a objective or key result"],
    );
    expect(
        &dep("{department: product}", "{department: product, ref: O1}"),
        30,
        "dependencies[d1].provider.ref",
        &["`O1` belongs to department `sales`, not `product`"],
    );
    expect(
        &dep("{department: sales, ref", "{department: sale, ref"),
        29,
        "dependencies[d1].dependent.department",
        &["unknown department `sale`"],
    );
    expect(
        &format!("{BASE}{DEP_OK}    importance: urgent\n"),
        31,
        "dependencies[d1].importance",
        &["`urgent`", "critical"],
    );
    expect(
        &format!("{BASE}{DEP_OK}    cadence: whenever\n"),
        31,
        "dependencies[d1].cadence",
        &["invalid cadence"],
    );
    expect(
        &format!(
            "{BASE}{DEP_OK}  - {{key: D1, description: x, dependent: {{department: sales}}, provider: {{department: product}}}}\n"
        ),
        31,
        "dependencies[D1].key",
        &["duplicate dependency key `d1`", "line 27"],
    );
}

#[test]
fn initiative_refs_are_checked() {
    let y = format!(
        "{BASE}initiatives:\n  - code: I1\n    title: Fast track\n    owner: ann\n    \
         departments: [sales, prodcut]\n    objectives: [C1, O1, X9]\n    measures: [C1]\n    \
         milestones: [{{title: Design, due: 2026-13-01}}]\n"
    );
    expect(
        &y,
        30,
        "initiatives[I1].departments[1]",
        &["unknown department `prodcut`"],
    );
    expect(
        &y,
        31,
        "initiatives[I1].objectives[2]",
        &["unknown objective `X9`"],
    );
    expect(&y, 32, "initiatives[I1].measures[0]", &["not a measure"]);
    expect(
        &y,
        33,
        "initiatives[I1].milestones[0].due",
        &["not a valid date"],
    );
}

#[test]
fn all_errors_are_collected_and_sorted_by_line() {
    let y = with("    cycle: q4", "    cycle: q9")
        .replace(
            "{key: bob, name: Bob}",
            "{key: bob, name: Bob, time_zone: Mars/Base}",
        )
        .replace("{from: C1, to: F1,", "{from: C1, to: Z1,");
    let errs = errors(&y);
    let lines: Vec<u64> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, [4, 16, 22], "{errs:?}");
}

#[test]
fn errors_display_as_file_line_column_field_message() {
    let y = with("    cycle: q4", "    cycle: q9");
    let errs = parse_manifest("org.yaml", &y).unwrap_err();
    assert_eq!(
        errs.to_string(),
        "org.yaml:22:12: objectives[O1].cycle: unknown cycle `q9`; did you mean `q4`?"
    );
    let e: &dyn std::error::Error = &errs;
    assert!(!e.to_string().is_empty());
}

#[test]
fn unreadable_file_is_an_error_at_line_zero() {
    let errs = load_manifest(Path::new("/nonexistent/org.yaml")).unwrap_err();
    assert_eq!(errs.0.len(), 1);
    assert_eq!(errs.0[0].line, 0);
    assert!(errs.0[0].message.contains("cannot read"), "{errs}");
}

#[test]
fn fixtures_fail_with_the_expected_errors() {
    let f = |name: &str, text: &str| parse_manifest(name, text).unwrap_err().0;
    let e = f(
        "bad-unknown-dept.yaml",
        include_str!("../../tests/fixtures/manifests/bad-unknown-dept.yaml"),
    );
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(
        (e[0].line, e[0].field.as_str()),
        (7, "departments[sales].parent")
    );
    assert!(e[0].message.contains("did you mean `company`"));
    assert_eq!(
        (e[1].line, e[1].field.as_str()),
        (14, "objectives[SA-O1].department")
    );
    assert!(e[1].message.contains("unknown department `salez`"));

    let e = f(
        "bad-dup-code.yaml",
        include_str!("../../tests/fixtures/manifests/bad-dup-code.yaml"),
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0].line, e[0].field.as_str()),
        (17, "key_results[c1].code")
    );
    assert!(e[0].message.contains("line 7"));

    let e = f(
        "bad-tz.yaml",
        include_str!("../../tests/fixtures/manifests/bad-tz.yaml"),
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0].line, e[0].field.as_str()),
        (4, "people[ann].time_zone")
    );

    let e = f(
        "bad-start-eq-target.yaml",
        include_str!("../../tests/fixtures/manifests/bad-start-eq-target.yaml"),
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0].line, e[0].field.as_str()),
        (13, "key_results[S1].target")
    );

    let e = f(
        "bad-missing-link.yaml",
        include_str!("../../tests/fixtures/manifests/bad-missing-link.yaml"),
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(
        (e[0].line, e[0].field.as_str()),
        (8, "scorecard.links[0].to")
    );
    assert!(e[0].message.contains("did you mean `C1`"));
}

#[test]
fn example_manifest_parses_and_is_rich() {
    let org = parse_manifest(
        "manifests/example-org.yaml",
        include_str!("../../manifests/example-org.yaml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(org.departments.len() >= 6);
    assert_eq!(org.perspectives.len(), 4);
    assert!(org.dependencies.len() >= 4);
    for kind in KrKind::ALL {
        assert!(
            org.key_results.iter().any(|k| k.kind == *kind),
            "no {kind} key result"
        );
    }
    // Distinct check-in rhythms across departments.
    let rules: std::collections::HashSet<&str> = org
        .departments
        .iter()
        .flat_map(|d| d.cadences.iter())
        .filter(|c| c.purpose == "checkin")
        .map(|c| c.rule.as_str())
        .collect();
    assert!(rules.len() >= 6, "{rules:?}");
    assert!(org.dependencies.iter().any(|d| d.cadence.is_none()));
    assert!(org.people.iter().any(|p| p.roles.contains(&Role::Admin)));
    let s1 = org
        .key_results
        .iter()
        .find(|k| k.code.as_str() == "S1")
        .unwrap();
    assert_eq!((s1.start, s1.target), (Some(60.0), Some(85.0)));
    assert!(
        org.scorecard
            .iter()
            .any(|o| o.title.contains("time-to-value"))
    );
}

#[test]
fn a_preferred_platform_must_be_one_the_person_is_on() {
    // On both: the preference is kept, normalised.
    let y = with(
        "{key: ann, name: Ann}",
        "{key: ann, name: Ann, prefer: Discord, chat: [{platform: slack, workspace: T1, user: U1}, {platform: discord, workspace: '1', user: '2'}]}",
    );
    let org = parse_manifest("t.yaml", &y).unwrap();
    assert_eq!(org.people[0].prefer.as_deref(), Some("discord"));
    assert_eq!(org.people[1].prefer, None);

    // Slack by email counts as being on Slack.
    let y = with(
        "{key: ann, name: Ann}",
        "{key: ann, name: Ann, email: ann@acme.example, prefer: slack, chat: [{platform: discord, workspace: '1', user: '2'}]}",
    );
    let org = parse_manifest("t.yaml", &y).unwrap();
    assert_eq!(org.people[0].prefer.as_deref(), Some("slack"));

    let y = with(
        "{key: ann, name: Ann}",
        "{key: ann, name: Ann, prefer: teams}",
    );
    expect(
        &y,
        3,
        "people[ann].prefer",
        &["`teams` is not a chat platform", "slack, discord"],
    );
    let y = with(
        "{key: ann, name: Ann}",
        "{key: ann, name: Ann, prefer: discord, chat: [{platform: slack, workspace: T1, user: U1}]}",
    );
    expect(
        &y,
        3,
        "people[ann].prefer",
        &["prefers discord but has no discord identity"],
    );
    let y = with(
        "{key: ann, name: Ann}",
        "{key: ann, name: Ann, prefer: slack}",
    );
    expect(
        &y,
        3,
        "people[ann].prefer",
        &["prefers slack but has no slack identity", "email"],
    );
}

#[test]
fn working_hours_are_read_at_every_level_and_bad_ones_named() {
    let y = with(
        "time_zone: Europe/London}",
        "time_zone: Europe/London, working_hours: mon-thu 08:00-16:00}",
    )
    .replace(
        "{key: ann, name: Ann}",
        "{key: ann, name: Ann, working_hours: \"sun-thu 09:00-17:30\"}",
    )
    .replace(
        "{key: sales, name: Sales, parent: company, heads: [ann]}",
        "{key: sales, name: Sales, parent: company, heads: [ann], working_hours: weekdays 10:00-19:00}",
    );
    let spec = parse_manifest("t.yaml", &y).unwrap();
    let h = |s: &str| Some(crate::domain::hours::WorkingHours::parse(s).unwrap());
    assert_eq!(spec.org.working_hours, h("mon-thu 08:00-16:00"));
    assert_eq!(spec.people[0].working_hours, h("sun-thu 09:00-17:30"));
    assert_eq!(spec.people[1].working_hours, None);
    assert_eq!(spec.departments[1].working_hours, h("mon-fri 10:00-19:00"));
    let y = with(
        "{key: bob, name: Bob}",
        "{key: bob, name: Bob, working_hours: mon-fri 18:00-09:00}",
    );
    expect(&y, 4, "people[bob].working_hours", &["end after it starts"]);
    let y = with(
        "{key: product, name: Product, parent: company}",
        "{key: product, name: Product, parent: company, working_hours: funday 09:00-17:00}",
    );
    expect(
        &y,
        8,
        "departments[product].working_hours",
        &["`funday` is not a day"],
    );
}

#[test]
fn fiscal_cycles_may_leave_their_dates_to_the_fiscal_year() {
    let y = with(
        "time_zone: Europe/London}",
        "time_zone: Europe/London, fiscal_year_start: 4}",
    )
    .replace(
        "  - {key: q4, start: 2026-10-01, end: 2026-12-31}",
        "  - {key: q4, start: 2026-10-01, end: 2026-12-31}\n  - {key: FY2026-Q4}\n  - {key: 2027-h1, end: 2027-06-30}",
    );
    let spec = parse_manifest("t.yaml", &y).unwrap();
    let dates: Vec<(String, String)> = spec
        .cycles
        .iter()
        .map(|c| (c.starts.to_string(), c.ends.to_string()))
        .collect();
    assert_eq!(
        dates,
        vec![
            ("2026-10-01".into(), "2026-12-31".into()),
            ("2027-01-01".into(), "2027-03-31".into()),
            // A written date is used as written.
            ("2027-04-01".into(), "2027-06-30".into()),
        ]
    );
    // A cycle whose key names no fiscal period still needs its dates.
    let y = with(
        "  - {key: q4, start: 2026-10-01, end: 2026-12-31}",
        "  - {key: q4}",
    );
    expect(
        &y,
        10,
        "cycles[q4].start",
        &["missing required field `start`"],
    );
}

#[test]
fn every_string_has_a_length_limit_reported_with_its_place() {
    // A 16 MB name and a 1 MB cadence were once accepted.
    let name = "N".repeat(16 * 1024 * 1024);
    let yaml = with("name: Acme, time_zone", &format!("name: {name}, time_zone"));
    let errs = errors(&yaml);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].line, 1);
    assert_eq!(
        errs[0].message,
        format!(
            "is {} characters long; the limit here is {}",
            name.len(),
            limits::MAX_NAME_CHARS
        )
    );
    let cadence = format!("weekly on mon at 09:00{}", " ".repeat(1024 * 1024));
    let yaml = with(
        "  - {key: product, name: Product, parent: company}",
        &format!(
            "  - key: product\n    name: Product\n    parent: company\n    cadences:\n      checkin: \"{cadence}\""
        ),
    );
    let errs = errors(&yaml);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(
        (errs[0].line, errs[0].field.as_str()),
        (12, "departments[2].cadences.checkin")
    );
    assert!(
        errs[0]
            .message
            .ends_with(&format!("the limit here is {}", limits::MAX_CADENCE_CHARS))
    );
    // Just under each limit is fine; a long hypothesis has room, a long key does not.
    let ok = with(
        "hypothesis: h}",
        &format!("hypothesis: {}}}", "h".repeat(limits::MAX_PROSE_CHARS)),
    );
    parse_manifest("t.yaml", &ok).expect("a hypothesis at the limit is accepted");
    let key = with(
        "{key: bob, name: Bob}",
        &format!("{{key: {}, name: Bob}}", "b".repeat(400)),
    );
    let errs = errors(&key);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].line, 4);
    assert!(
        errs[0]
            .message
            .ends_with(&format!("the limit here is {}", limits::MAX_VALUE_CHARS))
    );
}

#[test]
fn an_alias_bomb_is_refused_at_its_aliases() {
    let mut y = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        y.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    y.push_str("organisation: {key: x, name: X, time_zone: UTC}\n");
    let errs = errors(&y);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].message.contains("too large or too complex"),
        "{errs:?}"
    );
}

#[test]
fn invalid_utf8_is_reported_with_its_line_and_byte() {
    let mut bytes = BASE.as_bytes().to_vec();
    let at = BASE.find("name: Bob").unwrap() + "name: B".len();
    bytes[at] = 0xff;
    let dir = std::env::temp_dir().join(format!("baton-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("org.yaml");
    std::fs::write(&path, &bytes).unwrap();
    let errs = load_manifest(&path).unwrap_err().0;
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(errs.len(), 1, "{errs:?}");
    let column = at - BASE[..at].rfind('\n').unwrap();
    assert_eq!((errs[0].line, errs[0].column), (4, column as u64));
    assert!(
        errs[0].message.starts_with(&format!(
            "invalid UTF-8 at line 4, byte {column} of the line"
        )),
        "{}",
        errs[0]
    );
}
