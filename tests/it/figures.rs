//! Figures people can trust (issue 14), end to end through the shell: honest empty
//! states, due dates, initiatives, what `status <dept>` tells a head, and answers that
//! fit the platform they appear on.

use sqlx::PgPool;

use crate::common::*;

/// The printed line that starts (after indentation) with `code`, failing with the whole
/// output when there is none.
fn line<'a>(out: &'a str, code: &str, after: &str) -> &'a str {
    let from = out
        .find(after)
        .unwrap_or_else(|| panic!("no {after:?} in:\n{out}"));
    out[from..]
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{code} ")))
        .unwrap_or_else(|| panic!("no row {code} after {after:?} in:\n{out}"))
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn baselines_and_unmeasured_rows_say_so_and_stay_out_of_progress(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let out = shell(
        &app,
        "northwind",
        "sam",
        "EO-K2 38\nokrs eng-onboarding\nstatus EO-O1\nkr EO-K2\nkr EO-K1\nstatus customer\n",
    )
    .await;
    // okrs: the baseline shows its value and no progress; the other key result was never
    // measured and says so instead of 0 %.
    let okrs = "OKRs of";
    let k2 = record(&out, "EO-K2", okrs);
    assert!(k2.contains("baseline: 38 minutes"), "{k2}");
    assert!(k2.contains("no target yet"), "{k2}");
    assert!(!k2.contains('%'), "{k2}");
    let k1 = record(&out, "EO-K1", okrs);
    assert!(k1.contains("not measured"), "{k1}");
    assert!(!k1.contains("0%"), "{k1}");
    // The objective has nothing to score, so it has no progress (not 100 % from the
    // baseline, not 0 % from the unmeasured key result).
    let o = record(&out, "EO-O1", okrs);
    assert!(o.contains("n/a"), "{o}");
    // status EO-O1 names why each row is left out.
    let how = "How EO-O1 is computed";
    assert!(
        line(&out, "EO-K2", how).contains("no: baseline, no target yet"),
        "{out}"
    );
    assert!(
        line(&out, "EO-K1", how).contains("no: not measured"),
        "{out}"
    );
    assert!(
        out.contains("No key result of EO-O1 is measured yet, so it has no progress."),
        "{out}"
    );
    let measure = record(&out, "C1.M1", " perspective\n");
    // kr tells the same story.
    // Sentences wrap at 80 columns: compare them flat.
    let out = flat(&out);
    for want in [
        "Current baseline: 38 minutes · establish a baseline (stays out of progress until its target is set)",
        "Not counted in EO-O1 yet: no target yet (weight 1).",
        "Current not measured · from 12 steps to 5 steps",
        "Not counted in EO-O1 yet: not measured (weight 1).",
        "No check-ins yet: not measured, so it counts in no figure.",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    // A measure never measured reads "not measured", not its baseline's attainment.
    let m = &measure;
    assert!(m.contains("not measured"), "{m}");
    assert!(!m.contains('%'), "{m}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_baseline_with_its_target_set_scores_like_a_metric(pool: PgPool) {
    let yaml = std::fs::read_to_string(example_path()).unwrap().replace(
        "kind: baseline, unit: minutes, owner: sam }",
        "kind: baseline, unit: minutes, start: 40, target: 20, owner: sam }",
    );
    let spec = baton::manifest::parse_manifest("org.yaml", &yaml).unwrap();
    let app = app_with(pool.clone(), &spec).await;
    let out = shell(
        &app,
        "northwind",
        "sam",
        "EO-K2 30\nkr EO-K2\nstatus EO-O1\n",
    )
    .await;
    for want in [
        "Current 30 minutes · baseline, now from 40 minutes to 20 minutes",
        "Progress = (value − start) ÷ (target − start) = (30 − 40) ÷ (20 − 40) = 50%",
        "EO-O1 = (1 × 50%) ÷ 1 = 50%",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

/// A record as the shell prints a row of a table too wide for the terminal: the line that
/// starts (after indentation) with `code` and the more indented lines under it, joined
/// with single spaces (undoing the wrap).
fn record(out: &str, code: &str, after: &str) -> String {
    let from = out
        .find(after)
        .unwrap_or_else(|| panic!("no {after:?} in:\n{out}"));
    let lines: Vec<&str> = out[from..].lines().collect();
    let i = lines
        .iter()
        .position(|l| l.trim_start().starts_with(&format!("{code} ")))
        .unwrap_or_else(|| panic!("no record {code} after {after:?} in:\n{out}"));
    let indent = |l: &str| l.len() - l.trim_start().len();
    let base = indent(lines[i]);
    let mut words: Vec<&str> = lines[i].split_whitespace().collect();
    for l in &lines[i + 1..] {
        if l.trim().is_empty() || indent(l) <= base {
            break;
        }
        words.extend(l.split_whitespace());
    }
    words.join(" ")
}

/// The example organisation on a clock the shell's `advance` moves, as `person`.
async fn simulated(
    pool: PgPool,
    start: chrono::DateTime<chrono::Utc>,
) -> (baton::app::App, baton::chat::shell::Simulation) {
    let clock = std::sync::Arc::new(baton::clock::FixedClock::new(start));
    let app = app_at(pool, &example_spec(), clock.clone()).await;
    let sim = baton::chat::shell::Simulation {
        clock,
        adapter: std::sync::Arc::new(baton::chat::recording::RecordingAdapter::new()),
    };
    (app, sim)
}

fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().expect("an RFC 3339 instant")
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn a_milestone_past_due_is_off_track_and_its_date_shows_everywhere(pool: PgPool) {
    // PR-K2 (jonas) is due Fri 20 Nov; Product's check-in prompt goes out Mon 23 Nov 09:00
    // Berlin.
    let (app, sim) = simulated(pool, utc("2026-11-22T12:00:00Z")).await;
    let out = shell_sim(
        &app,
        &sim,
        "northwind",
        "jonas",
        "PR-K2 not done on track\nadvance 21h\nokrs product\nkr PR-K2\ncalendar product\n",
    )
    .await;
    // The prompt shows the due dates of what it asks about.
    let prompt = record(&out, "PR-K2", "Check-in for Mon 23 Nov");
    assert!(prompt.contains("Due: 2026-11-20 passed"), "{prompt}");
    // okrs: past due and not done is off track, though the check-in said on track.
    let row = record(&out, "PR-K2", "OKRs of Product");
    assert!(row.contains("Status: ✖ off track"), "{row}");
    assert!(row.contains("Due: 2026-11-20 passed"), "{row}");
    let k1 = record(&out, "PR-K1", "OKRs of Product");
    assert!(k1.contains("Due: 2026-11-27"), "{k1}");
    assert!(!k1.contains("passed"), "{k1}");
    // kr: the date in words.
    assert!(
        out.contains("Due 2026-11-20 (passed 3 days ago): not done, so it is off track"),
        "{out}"
    );
    // The calendar lists the due dates among the events.
    let cal = flat(&out[out.find("Calendar of product").expect("calendar")..]);
    assert!(cal.contains("PR-K2 due: Self-serve SSO"), "{cal}");
    assert!(cal.contains("Fri 2026-11-20 passed"), "{cal}");
    assert!(cal.contains("PR-K1 due: Guided setup wizard"), "{cal}");
    assert!(cal.contains("Fri 2026-11-27"), "{cal}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn initiatives_are_listed_under_their_objectives_with_state_and_due_date(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    // Mon 16 Nov: I1's "Guided setup wizard in beta" (due 6 Nov) is not done: late.
    let out = shell(
        &app,
        "northwind",
        "ravi",
        "okrs success\nstatus SU-O1\nstatus support\n",
    )
    .await;
    let row = record(&out, "I1", "OKRs of");
    for want in [
        "initiative: Fast-track onboarding programme",
        "1/3 milestones",
        "✖ late",
        "Due: 2026-12-18",
        "Owner: emma",
    ] {
        assert!(row.contains(want), "missing {want:?} in {row}");
    }
    let how = flat(
        &out[out
            .find("Initiatives serving SU-O1")
            .expect("initiatives section")..],
    );
    assert!(
        how.contains(
            "I1 Fast-track onboarding programme · owner emma · ✖ late · 1 of 3 milestones done · due 2026-12-18"
        ),
        "{how}"
    );
    assert!(how.contains("✖ passed, not done"), "{how}");
    // A dependency on an initiative shows its state, not "no data".
    let dep = record(&out, "support-needs-telemetry", "Dependencies");
    assert!(dep.contains("Relies on: I2 1/2 milestones"), "{dep}");
    assert!(dep.contains("Health: ✔ on schedule"), "{dep}");
    assert!(!dep.contains("no data"), "{dep}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn status_of_a_department_answers_what_its_head_asks(pool: PgPool) {
    // Sat 14 Nov: PR-K3 is at 75 %. Mon 23 Nov 09:00 Berlin the check-in prompts go out
    // (Product and Platform engineering; the Onboarding squad's at 09:00 Sydney).
    let (app, sim) = simulated(pool.clone(), utc("2026-11-14T12:00:00Z")).await;
    shell_sim(&app, &sim, "northwind", "jonas", "PR-K3 75\n").await;
    let out = shell_sim(
        &app,
        &sim,
        "northwind",
        "jonas",
        "advance 8d 21h\nPR-K3 80 on track: sprint went well blocker: two engineers out sick\n\
         PR-K2 not done on track\naction @aisha 2026-11-30 draft the SSO rollout plan\n\
         status product\n",
    )
    .await;
    // Sentences wrap at 80 columns: compare them flat.
    let status = flat(&out[out.rfind("Product — cycle").expect("status product")..]);
    // Who answered this period and who is missing, per team in the scope.
    assert!(
        status.contains(
            "product (asked Mon 23 Nov 09:00): answered Jonas Weber · missing Aisha Khan"
        ),
        "{status}"
    );
    assert!(
        status.contains("eng-onboarding (asked Sun 22 Nov 23:00): answered nobody · missing Chloe Martin, Sam Nguyen"),
        "{status}"
    );
    // Blockers, due dates, movement, actions, the rhythm.
    assert!(
        status.contains("• PR-K3: two engineers out sick (Jonas Weber, 23 Nov)"),
        "{status}"
    );
    let due = &status[status.find("Due dates").unwrap()..];
    assert!(
        due.contains("2026-11-20 passed PR-K2 What: Self-serve SSO and SCIM"),
        "{due}"
    );
    assert!(
        due.contains("2026-11-27 PR-K1 What: Guided setup wizard"),
        "{due}"
    );
    assert!(
        due.contains("2026-11-06 passed I1 What: Guided setup wizard in beta with 10 customers (milestone of Fast-track onboarding programme)"),
        "{due}"
    );
    let moved = &status[status.find("Changed in the last 7 days").expect("changes")..];
    assert!(moved.contains("PR-K3"), "{moved}");
    assert!(moved.contains("PR-K3 75% 80% ↑ 25% → 50%"), "{moved}");
    let actions = &status[status.find("Open actions").unwrap()..];
    assert!(actions.contains("draft the SSO rollout plan"), "{actions}");
    assert!(actions.contains("Aisha Khan"), "{actions}");
    assert!(
        status.contains(
            "Next ════ Check-in Mon 7 Dec 09:00 · review Fri 4 Dec 14:00 (Europe/Berlin)"
        ),
        "{status}"
    );
    // Dependencies of Product and of its sub-teams: the wizard one is Onboarding's.
    assert!(status.contains("Dependencies (with sub-teams)"), "{status}");
    for dep in [
        "success-needs-wizard",
        "support-needs-telemetry",
        "sales-needs-sso",
    ] {
        assert!(status.contains(dep), "missing {dep} in:\n{status}");
    }
}

/// Every line of `text` is at most `max` characters, or the test fails naming the line.
fn assert_width(text: &str, max: usize, what: &str) {
    for l in text.lines() {
        assert!(
            l.chars().count() <= max,
            "{what}: a line of {} characters (max {max}):\n{l}\nin:\n{text}",
            l.chars().count()
        );
    }
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn the_shell_wraps_every_answer_at_eighty_columns(pool: PgPool) {
    let app = app_with(pool.clone(), &example_spec()).await;
    let out = shell(
        &app,
        "northwind",
        "kofi",
        "S1 72\nstatus\nstatus product\nstatus company\nokrs all\nstatus SU-O1\nkr S1\n\
         deps\ncalendar\nstatus customer\nhelp\nmap\ngaps\nactions\n",
    )
    .await;
    assert_width(&out, 80, "shell");
    // A wide table reads as records; a narrow one stays a table.
    let s1 = record(&out, "S1", "All OKRs");
    assert!(
        s1.contains("Value: 72% · Target: 85% · Progress: █████░░░░░ 48%"),
        "{s1}"
    );
    assert!(
        out.contains("S1    key result       1       48%  yes"),
        "the breakdown stays a table:\n{out}"
    );
    insta::assert_snapshot!(
        "shell_okrs_eng_onboarding",
        shell(&app, "northwind", "chloe", "okrs eng-onboarding\n").await
    );
}

/// The lines of every code block in a Slack message's sections.
fn slack_code_lines(blocks: &[serde_json::Value]) -> Vec<String> {
    let mut out = Vec::new();
    for b in blocks {
        let text = b["text"]["text"].as_str().unwrap_or_default();
        let mut inside = false;
        for l in text.lines() {
            if l.starts_with("```") {
                inside = !inside;
                continue;
            }
            if inside {
                // Escapes count as the one character Slack shows.
                out.push(
                    l.replace("&amp;", "&")
                        .replace("&lt;", "<")
                        .replace("&gt;", ">"),
                );
            }
        }
    }
    out
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn slack_answers_use_sections_and_fields_and_no_code_table_is_wider_than_sixty(pool: PgPool) {
    let r = crate::slack::rig_on(
        pool,
        &example_spec(),
        std::sync::Arc::new(baton::clock::FixedClock::new(now())),
    )
    .await;
    for (i, cmd) in [
        "status product",
        "okrs all",
        "deps",
        "status SU-O1",
        "calendar",
        "help",
        "status C1",
    ]
    .iter()
    .enumerate()
    {
        let (st, ack) = r.slash(crate::slack::MAYA, cmd, &format!("700.{i}")).await;
        assert_eq!(st, axum::http::StatusCode::OK, "{cmd}");
        let blocks = ack["blocks"]
            .as_array()
            .unwrap_or_else(|| panic!("{cmd}: no blocks in {ack}"))
            .clone();
        let code = slack_code_lines(&blocks);
        assert_width(&code.join("\n"), 60, cmd);
        if let Err(e) = baton::chat::slack::fake::blockkit::check_message(&ack) {
            panic!("{cmd}: Slack would refuse it: {e:?}");
        }
    }
    // A wide table's rows are sections with fields.
    let (_, ack) = r
        .slash(crate::slack::MAYA, "okrs eng-onboarding", "700.9")
        .await;
    let blocks = ack["blocks"].as_array().unwrap();
    let row = blocks
        .iter()
        .find(|b| {
            b["text"]["text"].as_str() == Some("↳ *EO-K1 Setup steps before first dashboard*")
        })
        .unwrap_or_else(|| panic!("no EO-K1 section in {ack}"));
    let fields: Vec<&str> = row["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["text"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"*Progress*\nnot measured"), "{fields:?}");
    assert!(fields.contains(&"*Owner*\nchloe"), "{fields:?}");
    insta::assert_json_snapshot!("slack_okrs_eng_onboarding", blocks);
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn discord_answers_use_embed_fields_within_its_limits(pool: PgPool) {
    use crate::discord::{CHLOE, GUILD, command, interaction, router_for, send_at};
    let app = std::sync::Arc::new(app_with(pool, &example_spec()).await);
    let r = router_for(app, None, Some(std::time::Duration::from_secs(60)));
    let opt = |v: &str| serde_json::json!([{"name": "scope", "type": 3, "value": v}]);
    let mut answers = Vec::new();
    for (i, (sub, scope)) in [
        ("status", Some("product")),
        ("okrs", Some("all")),
        ("deps", None),
        ("status", Some("SU-O1")),
        ("calendar", None),
        ("status", None),
        ("okrs", Some("eng-onboarding")),
    ]
    .into_iter()
    .enumerate()
    {
        let opts = scope.map(opt).unwrap_or_else(|| serde_json::json!([]));
        let (st, v) = send_at(
            &r,
            interaction(&format!("90{i}"), 2, CHLOE, Some(GUILD), command(sub, opts)),
            now().timestamp(),
        )
        .await;
        assert_eq!(st, axum::http::StatusCode::OK);
        assert_eq!(v["type"], 4, "{sub} {scope:?}: {v}");
        let embeds = v["data"]["embeds"].as_array().expect("embeds");
        assert!(!embeds.is_empty() && embeds.len() <= 10, "{v}");
        let mut total = 0;
        for e in embeds {
            let len = |x: &serde_json::Value| x.as_str().map_or(0, |s| s.chars().count());
            assert!(
                len(&e["title"]) <= 256 && len(&e["description"]) <= 4096,
                "{e}"
            );
            assert!(len(&e["footer"]["text"]) <= 2048, "{e}");
            total += len(&e["title"]) + len(&e["description"]) + len(&e["footer"]["text"]);
            let fields = e["fields"].as_array().cloned().unwrap_or_default();
            assert!(fields.len() <= 25, "{e}");
            for f in &fields {
                assert!((1..=256).contains(&len(&f["name"])), "{f}");
                assert!((1..=1024).contains(&len(&f["value"])), "{f}");
                total += len(&f["name"]) + len(&f["value"]);
            }
            // Code blocks in descriptions are narrow tables.
            let d = e["description"].as_str().unwrap_or_default();
            let mut inside = false;
            for l in d.lines() {
                if l.starts_with("```") {
                    inside = !inside;
                } else if inside {
                    assert!(l.chars().count() <= 60, "{sub}: {l}");
                }
            }
        }
        assert!(total <= 6000, "{sub}: {total} characters over its embeds");
        answers.push(v);
    }
    let okrs = &answers[6]["data"]["embeds"];
    let field = okrs
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["fields"].as_array().cloned().unwrap_or_default())
        .find(|f| f["name"] == "↳ EO-K1 Setup steps before first dashboard")
        .unwrap_or_else(|| panic!("no EO-K1 field in {okrs}"));
    assert!(
        field["value"]
            .as_str()
            .unwrap()
            .contains("Progress: not measured\nStatus:"),
        "{field}"
    );
    insta::assert_json_snapshot!("discord_okrs_eng_onboarding", okrs);
}
