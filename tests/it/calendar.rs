//! The calendar: the `calendar` view through the shell, `deps` suggestions, and the ICS feed
//! checked against an independent iCalendar implementation (Python `icalendar` +
//! `recurring-ical-events`, see `tests/ics/expand.py`).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use baton::app::calendar::ics_feed;
use baton::domain::calendar::{events, upcoming};
use baton::error::AppError;
use chrono::{DateTime, TimeZone, Utc};
use sqlx::PgPool;

use crate::common::{app_with, example_spec, flat, root, shell, unwrapped};

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn calendar_shows_every_layer_in_the_readers_zone(pool: PgPool) {
    let app = app_with(pool, &example_spec()).await;
    // Rows too wide for 80 columns print as records: join each back into one line.
    let out = unwrapped(
        &shell(
            &app,
            "northwind",
            "kofi",
            "calendar\ncalendar sales\ncalendar nowhere\n",
        )
        .await,
    )
    .join("\n");
    let (all, rest) = out.split_once("Calendar of sales").expect("two calendars");
    assert!(all.contains("Times in Europe/London"), "{all}");
    // Sales checks in Mondays 09:00 New York: 14:00 in London, today and next week.
    for line in ["Mon 2026-11-16 14:00", "Mon 2026-11-23 14:00"] {
        assert!(
            all.lines()
                .any(|l| l.contains(line) && l.contains("Sales check-in")),
            "{line} missing:\n{all}"
        );
    }
    // Product's biweekly Monday 09:00 Berlin (from 2026-01-05): 2026-11-23 is on the rhythm, 08:00 London.
    assert!(
        all.lines()
            .any(|l| l.contains("Mon 2026-11-23 08:00") && l.contains("Product check-in")),
        "{all}"
    );
    // Strategic and tactical events show even though they are months away.
    assert!(
        all.lines().any(|l| l.contains("Tue 2027-01-12 15:00")
            && l.contains("Northwind Cloud review")
            && l.contains("strategic")),
        "{all}"
    );
    assert!(
        all.lines().any(|l| l.contains("Tue 2027-01-05 15:00")
            && l.contains("Northwind Cloud planning")
            && l.contains("tactical")),
        "{all}"
    );
    // Nothing operational beyond the fortnight.
    assert!(!all.contains("2026-12-01"), "{all}");
    // Coordination: declared and suggested.
    assert!(
        all.contains("Customer Success ↔ Onboarding squad coordination"),
        "{all}"
    );
    assert!(
        all.contains("Sales ↔ Product coordination (suggested)"),
        "{all}"
    );
    assert!(all.contains("coordination"), "{all}");
    assert!(all.contains("operational"), "{all}");

    // One department: its own rhythm, its dependencies, and the company's sync points.
    let (sales, refusal) = rest.split_once("nowhere").expect("the refusal");
    assert!(sales.contains("Sales check-in"), "{sales}");
    assert!(
        sales.contains("Sales ↔ Product coordination (suggested)"),
        "{sales}"
    );
    assert!(sales.contains("Northwind Cloud planning"), "{sales}");
    assert!(!sales.contains("Product check-in"), "{sales}");
    assert!(!sales.contains("Finance"), "{sales}");
    assert!(refusal.contains("Usage: calendar [dept]") || out.contains("Usage: calendar [dept]"));
    assert!(
        out.contains("There is no department `nowhere`. Departments: company, sales,"),
        "{out}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn deps_suggest_a_rhythm_where_none_is_declared(pool: PgPool) {
    let app = app_with(pool, &example_spec()).await;
    let out = flat(&shell(&app, "northwind", "kofi", "deps\n").await);
    assert!(
        out.contains(
            "suggested: Product posts a readiness update every 2 weeks; Sales gives feedback weekly"
        ),
        "{out}"
    );
    assert!(
        out.contains("sales-needs-sso: suggested rhythm, because"),
        "{out}"
    );
    assert!(
        out.contains("marketing-needs-stories: suggested rhythm, because"),
        "{out}"
    );
    // Declared cadences are shown as declared.
    assert!(out.contains("weekly on wed at 16:00"), "{out}");
    assert!(!out.contains("not declared"), "{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn feed_refuses_an_unknown_department(pool: PgPool) {
    let app = app_with(pool, &example_spec()).await;
    let org = app.org(Some("northwind")).await.unwrap();
    match ics_feed(&app, org.id, Some("nowhere")).await {
        Err(AppError::NotFound(msg)) => assert!(msg.contains("calendar [dept]"), "{msg}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// Runs `tests/ics/expand.py` on a feed; fails loudly when Python or its packages are missing.
fn expand_independently(
    feed: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<(String, DateTime<Utc>)> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = root().join("tests/ics/expand.py");
    let mut child = Command::new(&python)
        .arg(&script)
        .arg(from.to_rfc3339())
        .arg(until.to_rfc3339())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{python}` ({e}); the ICS comparison needs Python 3 with \
                 `pip install icalendar recurring-ical-events`"
            )
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(feed.as_bytes())
        .expect("write the feed");
    let out = child.wait_with_output().expect("python finished");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "the ICS comparison needs the Python packages: \
         `python3 -m pip install icalendar recurring-ical-events`\n{stderr}"
    );
    assert!(
        out.status.success(),
        "the independent parser rejected the feed:\n{stderr}"
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| {
            let (uid, t) = l.split_once('\t').expect("UID<TAB>instant");
            let t = DateTime::parse_from_rfc3339(t)
                .expect("an instant")
                .with_timezone(&Utc);
            (uid.to_string(), t)
        })
        .filter(|(_, t)| *t >= from && *t < until)
        .collect()
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn feed_expands_the_same_in_an_independent_implementation(pool: PgPool) {
    let spec = example_spec();
    let app = app_with(pool, &spec).await;
    let org = app.org(Some("northwind")).await.unwrap();
    // Two years: both DST changes of Berlin, London and New York, and Sydney's (reversed) ones.
    let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let until = Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 0).unwrap();
    let all = events(&spec);

    for dept in [None, Some("sales"), Some("support")] {
        let feed = ics_feed(&app, org.id, dept).await.expect("feed");
        // Structure the parser does not enforce: CRLF only, lines of at most 75 octets.
        assert!(!feed.replace("\r\n", "").contains('\n'));
        assert!(feed.split("\r\n").all(|l| l.len() <= 75));

        let theirs = expand_independently(&feed, from, until);
        let uids: std::collections::BTreeSet<String> = feed
            .replace("\r\n ", "")
            .split("\r\n")
            .filter_map(|l| l.strip_prefix("UID:").map(str::to_string))
            .collect();
        let ours: Vec<(String, DateTime<Utc>)> = upcoming(&all, from, until)
            .into_iter()
            .filter(|(_, e)| uids.contains(&e.uid))
            .map(|(t, e)| (e.uid.clone(), t))
            .collect();
        let mut a = ours.clone();
        let mut b = theirs.clone();
        a.sort();
        b.sort();
        if a != b {
            let only_ours: Vec<_> = a.iter().filter(|x| !b.contains(x)).take(20).collect();
            let only_theirs: Vec<_> = b.iter().filter(|x| !a.contains(x)).take(20).collect();
            panic!(
                "{dept:?}: baton has {} occurrences, the independent expansion {}.\n\
                 only baton: {only_ours:#?}\nonly independent: {only_theirs:#?}",
                a.len(),
                b.len()
            );
        }
        assert!(!a.is_empty());
        eprintln!(
            "{dept:?}: {} events, {} occurrences agree",
            uids.len(),
            a.len()
        );

        if dept.is_none() {
            // Every event has occurrences in the window, and the DST changes moved the UTC
            // hour of wall-clock events: Sales Mondays 09:00 New York.
            let per_uid: BTreeMap<&str, usize> = a.iter().fold(BTreeMap::new(), |mut m, (u, _)| {
                *m.entry(u.as_str()).or_default() += 1;
                m
            });
            assert_eq!(per_uid.len(), all.len(), "{per_uid:#?}");
            let sales: Vec<u32> = a
                .iter()
                .filter(|(u, _)| u.starts_with("department.sales.checkin@"))
                .map(|(_, t)| chrono::Timelike::hour(t))
                .collect();
            assert!(sales.contains(&14) && sales.contains(&13));
            let sydney: Vec<u32> = a
                .iter()
                .filter(|(u, _)| u.starts_with("department.support.checkin@"))
                .map(|(_, t)| chrono::Timelike::hour(t))
                .collect();
            // 08:30 AEDT = 21:30 UTC, 08:30 AEST = 22:30 UTC.
            assert!(sydney.contains(&21) && sydney.contains(&22));
        }
    }
}

/// The feed URL inside an answer (the first `http…ics?token=…` word).
fn url_in(answer: &str) -> String {
    let start = answer.find("http://").expect(answer);
    answer[start..]
        .split(|c: char| {
            c.is_whitespace() || c == '"' || c == '<' || c == '>' || c == '|' || c == '\\'
        })
        .next()
        .unwrap()
        .to_string()
}

/// GET `path_and_query` from baton's HTTP server: status and body.
async fn get(app: std::sync::Arc<baton::app::App>, path_and_query: &str) -> (u16, String) {
    use tower::ServiceExt;
    let state = baton::http::HttpState::new(
        app,
        std::sync::Arc::new(baton::metrics::Metrics::new()),
        baton::serve::Shutdown::new(),
    );
    let resp = baton::http::router(state)
        .oneshot(
            axum::http::Request::get(path_and_query)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 22)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).to_string())
}

/// `calendar link [dept]` answers the feed's URL privately on Slack (even when asked with
/// `share`), on Discord and in the shell, all through the one inbound pipeline; the URL
/// really opens the feed, and an unknown department is refused with the list.
#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn calendar_link_answers_privately_everywhere_and_opens_the_feed(pool: PgPool) {
    use serde_json::json;
    let r = crate::slack::rig_on(
        pool.clone(),
        &example_spec(),
        std::sync::Arc::new(baton::clock::FixedClock::new(crate::common::now())),
    )
    .await;
    let token: String = sqlx::query_scalar("SELECT calendar_token FROM organisations")
        .fetch_one(&pool)
        .await
        .unwrap();
    let sales = format!("http://127.0.0.1:8080/calendar/sales.ics?token={token}");
    let all = format!("http://127.0.0.1:8080/calendar/all.ics?token={token}");

    // Slack: private, even with `share`.
    for (text, trigger) in [
        ("calendar link sales", "cl.1"),
        ("share calendar link sales", "cl.2"),
    ] {
        let (status, ack) = r.slash(crate::slack::MAYA, text, trigger).await;
        assert_eq!(status, axum::http::StatusCode::OK);
        assert_eq!(ack["response_type"], "ephemeral", "{text}: {ack}");
        assert_eq!(url_in(&ack.to_string()), sales, "{ack}");
    }

    // Discord: `/baton calendar-link` answers only the asker (flag 64).
    let discord = crate::discord::router_for(r.app.clone(), None, None);
    let (_, v) = crate::discord::send_at(
        &discord,
        crate::discord::interaction(
            "7001",
            2,
            crate::discord::CHLOE,
            Some(crate::discord::GUILD),
            crate::discord::command("calendar-link", json!([])),
        ),
        r.app.clock.now().timestamp(),
    )
    .await;
    assert_eq!(v["data"]["flags"], 64, "{v}");
    assert_eq!(url_in(&v.to_string()), all, "{v}");

    // The shell, and a department that does not exist.
    let out = shell(
        &r.app,
        "northwind",
        "kofi",
        "calendar link\ncalendar link nowhere\n",
    )
    .await;
    assert_eq!(url_in(&out), all, "{out}");
    assert!(out.contains("There is no department `nowhere`"), "{out}");
    assert!(out.contains("keep it to yourself"), "{out}");

    // The links open the feeds; the same path with another token is a 404.
    for url in [&sales, &all] {
        let path = url.trim_start_matches("http://127.0.0.1:8080");
        let (status, body) = get(r.app.clone(), path).await;
        assert_eq!(status, 200, "{url}: {body}");
        assert!(body.starts_with("BEGIN:VCALENDAR"), "{body}");
    }
    let (status, _) = get(r.app.clone(), "/calendar/all.ics?token=not-the-token").await;
    assert_eq!(status, 404);
}
