//! `baton doctor`, the binary, against the Slack and Discord stand-ins and a real calendar
//! server: a good installation passes every check and exits 0; a broken one names each
//! fault with its fix and exits 1.

use std::sync::Arc;

use baton::chat::slack::fake::FakeSlack;
use sqlx::PgPool;

use crate::cli::url_of;
use crate::common::{app_with, example_spec};
use crate::discord::{INVITE_PERMISSIONS, fake as discord_fake};

const SLACK_CHANNELS: &[&str] = &[
    "C04LEADERS1",
    "C04SALES7X2",
    "C04PRODUCT9",
    "C05PLATFRM1",
    "C05ONBOARD4",
    "C04FINANCE2",
    "C04PEOPLE88",
    "C04SUPPORT3",
    "C04SUCCESS5",
    "C05IMPLMNT6",
    "C04MARKET11",
];

/// Runs `baton doctor` with `env` on top of a clean environment: exit code and stdout.
async fn doctor(env: &[(&str, String)]) -> (i32, String) {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"));
    c.arg("doctor");
    for (k, _) in std::env::vars() {
        if k.starts_with("BATON_") || k == "DATABASE_URL" {
            c.env_remove(k);
        }
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().await.expect("run baton doctor");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        stderr.is_empty() || !stderr.contains("panicked"),
        "{stderr}"
    );
    (out.status.code().unwrap_or(-1), stdout)
}

/// The line of `out` that starts with `mark` and contains `needle`, and the fix under it.
fn line_with<'a>(out: &'a str, mark: &str, needle: &str) -> (&'a str, &'a str) {
    let lines: Vec<&str> = out.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.starts_with(mark) && l.contains(needle))
        .unwrap_or_else(|| panic!("no `{mark} …{needle}…` line in:\n{out}"));
    (lines[i], lines.get(i + 1).copied().unwrap_or_default())
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn doctor_passes_a_good_installation_and_names_each_fault_with_its_fix(pool: PgPool) {
    let db = url_of(&pool).await;
    let app = Arc::new(app_with(pool.clone(), &example_spec()).await);
    // The Slack stand-in: every scope, every department channel with baton in it.
    let slack = FakeSlack::start().await.unwrap();
    // Socket Mode: a WebSocket that greets every connection as Slack does.
    let hello = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    slack.set_socket_url(&format!(
        "ws://{}/link?ticket=t",
        hello.local_addr().unwrap()
    ));
    tokio::spawn(async move {
        use futures_util::{SinkExt, StreamExt};
        while let Ok((tcp, _)) = hello.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let hi = serde_json::json!({"type": "hello", "num_connections": 2,
                    "connection_info": {"app_id": "A0BATON"}});
                let _ = ws
                    .send(tokio_tungstenite::tungstenite::Message::Text(
                        hi.to_string().into(),
                    ))
                    .await;
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    for c in SLACK_CHANNELS {
        slack.add_channel(c, true);
    }
    // The Discord stand-in: its own bot token, everything the invite asks for.
    let (discord, discord_url) = discord_fake().await;
    discord.require_token("discord-bot-token");
    // baton's HTTP server, serving the calendar feed.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let state = baton::http::HttpState::new(
        app.clone(),
        app.metrics.clone(),
        baton::serve::Shutdown::new(),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, baton::http::router(state)).await;
    });

    let good = vec![
        ("DATABASE_URL", db.clone()),
        ("BATON_SLACK_BOT_TOKEN", "xoxb-test".to_string()),
        ("BATON_SLACK_APP_TOKEN", "xapp-test".to_string()),
        ("BATON_SLACK_API_URL", slack.api_url()),
        ("BATON_DISCORD_BOT_TOKEN", "discord-bot-token".to_string()),
        ("BATON_DISCORD_API_URL", discord_url.clone()),
        ("BATON_DISCORD_APPLICATION_ID", "42".to_string()),
        ("BATON_PUBLIC_URL", public.clone()),
    ];
    let (code, out) = doctor(&good).await;
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains('✖'), "{out}");
    assert!(out.ends_with("All checks passed.\n"), "{out}");
    for needle in [
        "migrations: all",
        "Slack: the bot token works (workspace T04NWCLOUD",
        "Slack: the bot has every scope",
        "Slack: the app-level token opens Socket Mode",
        "Slack: Socket Mode connects (hello received; 2 connection(s) open)",
        "Discord: the message-content intent is enabled",
        "Discord: the gateway accepts sessions (999 starts left today)",
        "Slack channel C04SALES7X2 of sales: exists, baton is in it",
        "Discord: the bot token works (application 42)",
        "Discord channel 1187532046617530999 of eng-onboarding: baton may post",
        "people of northwind: all",
        "calendar link answers with the feed",
    ] {
        line_with(&out, "✔", needle);
    }
    let token: String = sqlx::query_scalar("SELECT calendar_token FROM organisations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        !out.contains(&token),
        "the calendar token is never printed:\n{out}"
    );

    // Break it: a migration missing, a scope not granted, baton out of a channel, Attach
    // Files not allowed, the wrong application id, someone nobody can reach, and a public
    // URL where nothing listens.
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let scopes: Vec<&str> = baton::chat::slack::required_scopes()
        .into_iter()
        .filter(|s| *s != "files:write")
        .collect();
    slack.set_scopes(&scopes);
    slack.add_channel("C04SALES7X2", false);
    discord.set_permissions(INVITE_PERMISSIONS & !(1 << 15));
    // Socket Mode unreachable from here; the message-content intent switched off in the
    // developer portal; the day's gateway session starts used up.
    slack.set_socket_url("ws://127.0.0.1:9/link");
    discord.set_app_flags(0);
    discord.set_sessions_left(0);
    let mut spec = example_spec();
    let mut nobody = spec.people[0].clone();
    nobody.key = baton::domain::Key::parse("nobody").unwrap();
    nobody.name = "No Body".into();
    nobody.email = None;
    nobody.chat.clear();
    nobody.roles.clear();
    spec.people.push(nobody);
    baton::app::apply::apply(&app, &spec, false).await.unwrap();
    let mut broken = good.clone();
    broken.retain(|(k, _)| *k != "BATON_DISCORD_APPLICATION_ID" && *k != "BATON_PUBLIC_URL");
    broken.push(("BATON_DISCORD_APPLICATION_ID", "43".into()));
    broken.push(("BATON_PUBLIC_URL", "http://127.0.0.1:9".into()));
    let (code, out) = doctor(&broken).await;
    assert_eq!(code, 1, "{out}");
    let last: i64 = baton::store::MIGRATOR
        .iter()
        .map(|m| m.version)
        .max()
        .unwrap();
    for (needle, fix) in [
        (
            format!("migrations: 1 not applied ({last:04})"),
            "baton migrate",
        ),
        (
            "Slack: the bot lacks the scopes files:write".into(),
            "reinstall the app",
        ),
        (
            "Slack channel C04SALES7X2 of sales: baton is not in it".into(),
            "/invite @baton",
        ),
        (
            "Discord: BATON_DISCORD_APPLICATION_ID is 43".into(),
            "BATON_DISCORD_APPLICATION_ID=42",
        ),
        (
            "of eng-onboarding: baton lacks Attach Files".into(),
            "Attach Files",
        ),
        (
            "Slack: cannot connect to Socket Mode at ws://127.0.0.1:9/link".into(),
            "allow outbound WebSocket",
        ),
        (
            "Discord: gateway mode asks for the message-content intent".into(),
            "Message Content Intent",
        ),
        (
            "Discord: the gateway refuses new sessions".into(),
            "wait 60 minutes",
        ),
        (
            "people of northwind: 1 cannot be reached".into(),
            "`chat` identity",
        ),
        (
            "calendar link http://127.0.0.1:9/calendar/all.ics?token=… does not answer".into(),
            "BATON_PUBLIC_URL",
        ),
    ] {
        let (_, under) = line_with(&out, "✖", &needle);
        assert!(
            under.starts_with("    fix: ") && under.contains(fix),
            "{needle}: {under}\n{out}"
        );
    }
    line_with(&out, "✖", "`nobody`");
    assert!(out.ends_with("10 check(s) failed.\n"), "{out}");

    // Tokens the platforms refuse, and a database that does not answer.
    let mut refused = good.clone();
    refused.retain(|(k, _)| !k.ends_with("BOT_TOKEN") && *k != "DATABASE_URL");
    refused.push(("BATON_SLACK_BOT_TOKEN", "xoxb-wrong".into()));
    refused.push(("BATON_DISCORD_BOT_TOKEN", "wrong".into()));
    refused.push((
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:9/nowhere".into(),
    ));
    let (code, out) = doctor(&refused).await;
    assert_eq!(code, 1, "{out}");
    line_with(&out, "✖", "database:");
    let (_, fix) = line_with(&out, "✖", "Slack: the bot token was refused (invalid_auth)");
    assert!(fix.contains("BATON_SLACK_BOT_TOKEN"), "{fix}");
    let (_, fix) = line_with(&out, "✖", "Discord: the bot token was refused (HTTP 401)");
    assert!(fix.contains("BATON_DISCORD_BOT_TOKEN"), "{fix}");
}
