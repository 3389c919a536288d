//! End-to-end through the shell adapter: scripted input, assertions on what it prints and
//! what is stored.

use sqlx::PgPool;

use crate::common::*;

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_scripted_session_checks_in_and_reads_back(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let out = shell(
        &app,
        "northwind",
        "kofi",
        "status\nS1 72 at risk: churn spike in EMEA\nkr S1\n",
    )
    .await;
    // status: company view with all four perspectives.
    for p in [
        "Financial",
        "Customers",
        "Internal process",
        "Learning & growth",
    ] {
        assert!(out.contains(p), "missing {p} in:\n{out}");
    }
    assert!(
        out.contains("cycle 2026-Q4 (day 47 of 92, 51% elapsed)"),
        "{out}"
    );
    // The check-in is confirmed with the figure and the status.
    assert!(out.contains("✔ Recorded S1 = 72% · at risk"), "{out}");
    // kr shows the check-in that produced the figure.
    assert!(
        out.contains("S1 — Customers who finish onboarding"),
        "{out}"
    );
    assert!(out.contains("Kofi Mensah"), "{out}");
    assert!(out.contains("churn spike in EMEA"), "{out}");
    assert!(out.contains("Progress █████░░░░░  48%"), "{out}");
    let (value, note, source): (f64, String, String) =
        sqlx::query_as("SELECT value, note, source FROM checkins")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (value, note.as_str(), source.as_str()),
        (72.0, "churn spike in EMEA", "shell")
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn objective_and_key_result_figures_can_be_recomputed(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let out = shell(
        &app,
        "northwind",
        "kofi",
        "S1 72\nS2 10\nS3 40\nIM-K1 15\nstatus SU-O1\nkr S2\n",
    )
    .await;
    // SU-O1 is the mean of its three key results; the child IM-O1 (54.5 %) is named but
    // not averaged in.
    for row in [
        "S1    key result       1       48%  yes",
        "S2    key result       1     57.1%  yes",
        "S3    key result       1       50%  yes",
        "SU-O1 = (1 × 48% + 1 × 57.1% + 1 × 50%) ÷ 3 = 51.7%",
        "Not counted: child objective IM-O1 (its own figure;",
        "Progress = (value − start) ÷ (target − start) = (10 − 14) ÷ (7 − 14) = 57.1%",
        "Counts towards SU-O1 with weight 1 of 3 (33.3% of its figure).",
    ] {
        assert!(out.contains(row), "missing {row:?} in:\n{out}");
    }
    assert!(!out.contains("IM-O1  child objective"), "{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn an_objective_may_count_its_children_and_lists_them(pool: PgPool) {
    let yaml = std::fs::read_to_string(example_path()).unwrap().replace(
        "    aligns_to: [C1]\n    parent: CO1\n",
        "    aligns_to: [C1]\n    parent: CO1\n    include_children: true\n",
    );
    let spec = baton::manifest::parse_manifest("org.yaml", &yaml).unwrap();
    assert!(
        spec.objective(&baton::domain::Code::parse("SU-O1").unwrap())
            .unwrap()
            .include_children
    );
    let app = app_with(pool.clone(), &spec).await;
    let out = shell(
        &app,
        "northwind",
        "kofi",
        "S1 72\nS2 10\nS3 40\nIM-K1 15\nstatus SU-O1\n",
    )
    .await;
    for row in [
        "IM-O1  child objective       1     54.5%  yes",
        "SU-O1 = (1 × 48% + 1 × 57.1% + 1 × 50% + 1 × 54.5%) ÷ 4 = 52.4%",
    ] {
        assert!(out.contains(row), "missing {row:?} in:\n{out}");
    }
    assert!(!out.contains("Not counted: child objective"), "{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_interactive_form_records_one_check_in(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    // kofi owns S1 and S3 (success) and shares implementation's IM-K1: a choice first.
    let out = shell(
        &app,
        "northwind",
        "kofi",
        "checkin\nS3\n44\nat risk\nsurvey response rate is low\n\n",
    )
    .await;
    assert!(out.contains("Which key result?"), "{out}");
    assert!(out.contains("Check in on S3"), "{out}");
    assert!(out.contains("✔ Recorded S3 = 44 NPS · at risk"), "{out}");
    let (code, value, conf): (String, f64, String) = sqlx::query_as(
        "SELECT k.code, c.value, c.confidence FROM checkins c JOIN key_results k ON k.id = c.key_result_id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (code.as_str(), value, conf.as_str()),
        ("S3", 44.0, "at_risk")
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_form_rejects_bad_answers_and_can_be_cancelled(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let out = shell(&app, "northwind", "kofi", "checkin S1\nNaN\n1e400\n").await;
    assert!(out.contains("`NaN` is not a number"), "{out}");
    assert!(out.contains("`1e400` is not a number"), "{out}");
    // The app validates a submitted form too (a chat modal sends it whole).
    let kofi = actor(&app, "northwind", "kofi").await;
    let values = vec![
        ("value".to_string(), "NaN".to_string()),
        ("confidence".to_string(), "on track".to_string()),
    ];
    let r = app
        .handle(
            &kofi,
            baton::bot::Command::SubmitForm {
                id: "checkin:S1".into(),
                values,
            },
            "f1",
        )
        .await;
    let text = baton::bot::render::text::render(&r);
    assert!(text.contains("value: `NaN` is not a number"), "{text}");
    let values = vec![("value".to_string(), "7200".to_string())];
    let r = app
        .handle(
            &kofi,
            baton::bot::Command::SubmitForm {
                id: "checkin:S1".into(),
                values,
            },
            "f2",
        )
        .await;
    assert!(baton::bot::render::text::render(&r).contains("implausible"));
    let out = shell(&app, "northwind", "kofi", "checkin S1\n72\nmaybe\ncancel\n").await;
    assert!(
        out.contains("Choose one of: on track, at risk, off track."),
        "{out}"
    );
    assert!(out.contains("Cancelled; nothing was recorded."), "{out}");
    assert_eq!(count(&pool, "SELECT count(*) FROM checkins").await, 0);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn bad_input_gets_precise_messages_and_writes_nothing(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let long = format!("S1 42: {}\n", "x".repeat(10 * 1024));
    let script = format!(
        "\nfrobnicate\nS1 NaN\nS1 inf on track\nS1 1e400\nS1 42000\nSA-K1 2 on track\nZZ9 4\n{long}S1 42 sideways\nkr\nstatus nowhere\n"
    );
    // Sentences wrap at 80 columns: compare them flat.
    let out = flat(&shell(&app, "northwind", "kofi", &script).await);
    let expect = [
        "Type a command, or `help` for the list.",
        "I don't know the command `frobnicate`",
        "`NaN` is not a number",
        "`inf` is not a number",
        "`1e400` is not a number",
        "42000 is implausible for `S1`",
        "`SA-K1` is owned by priya in sales; you can check in only on key results you own or your department owns",
        "There is no key result or measure `ZZ9` in Northwind Cloud",
        "baton reads at most 2000",
        "not `sideways`",
        "Usage: kr <code>",
        "`nowhere` is not a department, perspective or code",
    ];
    for e in expect {
        assert!(out.contains(e), "missing {e:?} in:\n{out}");
    }
    assert_eq!(out.matches("Error: ").count(), expect.len(), "{out}");
    assert_eq!(count(&pool, "SELECT count(*) FROM checkins").await, 0);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn unknown_people_are_refused(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let err = app
        .actor(org, "mallory", baton::domain::Source::Shell)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("no person `mallory`") && msg.contains("kofi"),
        "{msg}"
    );
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn views_cover_departments_perspectives_codes_gaps_and_the_map(pool: PgPool) {
    let spec = example_spec();
    let app = app_with(pool.clone(), &spec).await;
    let org = app.org(Some("northwind")).await.unwrap();
    let rows = baton::app::seed::history(&spec, now(), 8, 42);
    app.store.seed_checkins(org.id, &rows).await.unwrap();
    let out = shell(
        &app,
        "northwind",
        "priya",
        "status sales\nstatus customer\nstatus C1\nokrs\nokrs me\nokrs success\ngaps\nmap\ndeps\nwhoami\nhelp\n",
    )
    .await;
    assert!(out.contains("Sales — cycle 2026-Q4"), "{out}");
    assert!(out.contains("SA-K1"), "{out}");
    assert!(
        out.contains("LE-K1"),
        "lena's objective is sales's too:\n{out}"
    );
    assert!(out.contains("Customers perspective"), "{out}");
    assert!(out.contains("C1.M1"), "{out}");
    assert!(out.contains("Aligned OKRs"), "{out}");
    assert!(out.contains("OKRs of Priya Raman"), "{out}");
    assert!(out.contains("OKRs of Customer Success"), "{out}");
    // gaps finds the deliberate gaps of the example.
    assert!(
        out.contains("orphan objective") && out.contains("MK-O2"),
        "{out}"
    );
    assert!(
        out.contains("unmeasured strategy") && out.contains("C3"),
        "{out}"
    );
    assert!(
        out.contains("is supported by no internal process objective"),
        "{out}"
    );
    // map lists perspectives top-down with links: its headings, exactly and in order.
    let map = &out[out.find("Strategy map").unwrap()..];
    let map = &map[..map
        .find("Links (cause → effect)")
        .expect("links after the map")];
    let lines: Vec<&str> = map.lines().collect();
    let headings: Vec<&str> = lines
        .windows(2)
        .filter(|w| w[1].starts_with('═'))
        .map(|w| w[0])
        .collect();
    assert_eq!(
        headings,
        [
            "Strategy map — Northwind Cloud",
            "Financial",
            "Customers",
            "Internal process",
            "Learning & growth"
        ],
        "{map}"
    );
    assert!(out.contains("Links (cause → effect)"), "{out}");
    assert!(out.contains("sales-needs-sso"), "{out}");
    assert!(out.contains("You are Priya Raman"), "{out}");
    assert!(out.contains("baton commands"), "{out}");
    assert!(!out.contains("Error: "), "no command should fail:\n{out}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn help_covers_every_command_and_a_bare_code_shows_its_card(pool: PgPool) {
    let app = app_with(pool, &example_spec()).await;
    let out = flat(&shell(&app, "northwind", "kofi", "help\n").await);
    for usage in [
        "calendar [dept]",
        "skip",
        "snooze <duration>",
        "nochange",
        "away <from> <to>",
        "blocked <dependency> <reason>",
        "ack <alert>",
        "update <alert> <check-in or note>",
        "resolve <alert> [note]",
    ] {
        assert!(out.contains(usage), "`help` lacks {usage}: {out}");
    }
    let out = shell(
        &app,
        "northwind",
        "kofi",
        "help snooze\nhelp okr\nskip now\naway tomorrow\n",
    )
    .await;
    assert!(out.contains("Usage: snooze <duration>"), "{out}");
    assert!(
        out.contains("Usage: okrs [dept|me|all]"),
        "an alias finds its command: {out}"
    );
    assert!(!out.contains("Usage: help"), "{out}");
    assert!(
        out.contains("Usage: skip") && out.contains("Usage: away <from> <to>"),
        "{out}"
    );
    // A bare code: the key result's card and how to check in on it; nothing is recorded.
    let out = flat(&shell(&app, "northwind", "kofi", "S1\nZZ9\n").await);
    assert!(
        out.contains("S1 — Customers who finish onboarding"),
        "{out}"
    );
    assert!(out.contains("To check in on S1: `S1 <value>"), "{out}");
    assert!(
        out.contains("There is no key result, measure or objective `ZZ9`"),
        "{out}"
    );
}
