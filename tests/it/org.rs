//! One org model: who may check in on a key result and which department's rollup its
//! figure lands in follow the same rule, through the app as the shell drives it.

use baton::bot::render::text::render;
use sqlx::PgPool;

use crate::common::*;

/// Dee heads Engineering (listed first) and is a member of Leadership; Eve is a member of
/// Engineering, Lou of Leadership. D1 is Dee's own objective and names no department, so
/// it belongs to Dee's home department: Leadership, where she is a member.
const ORG: &str = "\
organisation: {key: acme, name: Acme, time_zone: Europe/London}
people:
  - {key: dee, name: Dee}
  - {key: eve, name: Eve}
  - {key: lou, name: Lou}
departments:
  - {key: eng, name: Engineering, heads: [dee], members: [eve]}
  - {key: leadership, name: Leadership, members: [dee, lou]}
cycles:
  - {key: q4, start: 2026-10-01, end: 2026-12-31}
objectives:
  - code: E1
    title: Ship the platform
    level: department
    department: eng
    cycle: q4
    key_results:
      - {code: E1.1, title: Releases, start: 0, target: 4}
  - code: L1
    title: Grow the company
    level: department
    department: leadership
    cycle: q4
    key_results:
      - {code: L1.1, title: Customers, start: 0, target: 10}
  - code: D1
    title: Build the team
    level: person
    owner: dee
    cycle: q4
    key_results:
      - {code: D1.1, title: Hires, start: 0, target: 3}
";

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn permission_and_rollup_agree_for_a_head_of_one_member_of_another(pool: PgPool) {
    let spec = baton::manifest::parse_manifest("acme.yaml", ORG).expect("valid manifest");
    let app = app_with(pool.clone(), &spec).await;
    let dee = actor(&app, "acme", "dee").await;
    let eve = actor(&app, "acme", "eve").await;
    let lou = actor(&app, "acme", "lou").await;
    let line = |r: &baton::bot::Reply| render(r);

    // Dee acts for both her departments.
    for (text, id) in [("E1.1 2 on track", "d1"), ("L1.1 5 on track", "d2")] {
        let r = app.handle_line(&dee, text, id).await;
        assert!(!r.is_error(), "{}", line(&r));
    }
    // D1 belongs to Leadership: Lou, a member there, checks in on it ...
    let r = app.handle_line(&lou, "D1.1 3 on track", "l1").await;
    assert!(!r.is_error(), "{}", line(&r));
    // ... and Eve, of Engineering, may not.
    let r = app.handle_line(&eve, "D1.1 1", "e1").await;
    assert!(r.is_error(), "{}", line(&r));
    assert!(line(&r).contains("Nothing was recorded"), "{}", line(&r));
    assert_eq!(count(&pool, "SELECT count(*) FROM checkins").await, 3);

    // The rollup attributes D1.1 to Leadership, the department that let Lou report it:
    // Leadership = (L1 50% + D1 100%) / 2, Engineering = E1 50% alone.
    let lead = line(&app.handle_line(&dee, "status leadership", "s1").await);
    assert!(lead.contains("Leadership  ████████░░  75%"), "{lead}");
    assert!(lead.contains("D1"), "{lead}");
    let eng = line(&app.handle_line(&dee, "status eng", "s2").await);
    assert!(eng.contains("Engineering  █████░░░░░  50%"), "{eng}");
    assert!(!eng.contains("D1"), "{eng}");

    // Dee's own views start from her home department.
    let okrs = line(&app.handle_line(&dee, "okrs", "o1").await);
    assert!(okrs.contains("OKRs of Leadership"), "{okrs}");
}
