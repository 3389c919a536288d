//! The binary as a person runs it: validation errors, dry-run, apply, piped shell, and a
//! database that cannot be reached.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use sqlx::PgPool;

use crate::common::*;

fn baton(args: &[&str], db_url: &str, stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env_remove("BATON_DATABASE_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run baton");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().expect("baton output")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// The URL of the per-test database created by `#[sqlx::test]`.
pub(crate) async fn url_of(pool: &PgPool) -> String {
    let db: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(pool)
        .await
        .unwrap();
    let base = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let prefix = base
        .rsplit_once('/')
        .map(|(p, _)| p.to_string())
        .unwrap_or(base);
    format!("{prefix}/{db}")
}

#[test]
fn invalid_manifests_name_file_line_and_field_and_touch_no_database() {
    let unreachable = "postgres://postgres@127.0.0.1:1/never";
    for (file, needle) in [
        ("bad-unknown-dept.yaml", "department"),
        ("bad-dup-code.yaml", "duplicate"),
        ("bad-tz.yaml", "time zone"),
        ("bad-start-eq-target.yaml", "start"),
        ("bad-missing-link.yaml", "link"),
    ] {
        let path = fixture(file);
        let out = baton(
            &["apply", "--dry-run", path.to_str().unwrap()],
            unreachable,
            "",
        );
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(err.contains(&format!("{file}:")), "{file}: {err}");
        assert!(err.to_lowercase().contains(needle), "{file}: {err}");
        assert!(err.contains("nothing was applied"), "{file}: {err}");
        assert!(
            !err.contains("cannot reach"),
            "validation must come first: {err}"
        );
    }
}

#[test]
fn an_unreachable_database_gets_a_clear_message_not_a_panic() {
    let out = baton(
        &["shell", "--as", "kofi"],
        "postgres://postgres:s3cret@127.0.0.1:1/baton",
        "status\n",
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("cannot reach the database at postgres://postgres:***@127.0.0.1:1/baton"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "the password leaked: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn apply_then_pipe_a_script_into_the_shell(pool: PgPool) {
    let url = url_of(&pool).await;
    let example = example_path();
    let example = example.to_str().unwrap();
    let dry = baton(&["apply", "--dry-run", example], &url, "");
    let out = text(&dry.stdout);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(out.contains("+ organisation northwind"), "{out}");
    assert!(out.contains("+ key result S1"), "{out}");
    assert!(out.contains("nothing written"), "{out}");
    assert_eq!(count(&pool, "SELECT count(*) FROM organisations").await, 0);

    let first = baton(&["apply", example], &url, "");
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stdout).contains("Applied"),
        "{}",
        text(&first.stdout)
    );
    let second = baton(&["apply", example], &url, "");
    assert!(
        text(&second.stdout).contains("No changes"),
        "{}",
        text(&second.stdout)
    );

    let session = baton(
        &["shell", "--as", "kofi"],
        &url,
        "status\nS1 42 on track\nyes\nkr S1\n",
    );
    let out = text(&session.stdout);
    assert!(session.status.success(), "{}", text(&session.stderr));
    assert!(out.contains("Northwind Cloud — scorecard"), "{out}");
    // 42 is below S1's start (60): asked first, recorded after `yes`.
    assert!(out.contains("Is S1 = 42% right?"), "{out}");
    assert!(out.contains("✔ Recorded S1 = 42%"), "{out}");
    assert!(out.contains("Check-ins (newest first)"), "{out}");
    assert_eq!(count(&pool, "SELECT count(*) FROM checkins").await, 1);

    let nobody = baton(&["shell", "--as", "mallory"], &url, "status\n");
    assert_eq!(nobody.status.code(), Some(2));
    assert!(
        text(&nobody.stderr).contains("no person `mallory`"),
        "{}",
        text(&nobody.stderr)
    );
}

/// `baton calendar --url` prints the feed's URL at `BATON_PUBLIC_URL` (else the listen
/// address), with the organisation's token; a wrong department or flag is refused.
#[sqlx::test(migrator = "baton::store::MIGRATOR")]
async fn calendar_url_prints_the_subscription_link(pool: PgPool) {
    let url = url_of(&pool).await;
    let example = example_path();
    let applied = baton(&["apply", example.to_str().unwrap()], &url, "");
    assert!(applied.status.success(), "{}", text(&applied.stderr));
    let token: String = sqlx::query_scalar("SELECT calendar_token FROM organisations")
        .fetch_one(&pool)
        .await
        .unwrap();
    let run = |args: &[&str], public: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_baton"));
        c.args(args)
            .env("DATABASE_URL", &url)
            .env_remove("BATON_DATABASE_URL")
            .env_remove("BATON_PUBLIC_URL")
            .env_remove("BATON_HTTP_ADDR");
        if let Some(p) = public {
            c.env("BATON_PUBLIC_URL", p);
        }
        c.output().expect("run baton")
    };
    let out = run(
        &["calendar", "--url", "--dept", "sales"],
        Some("https://baton.example.com/"),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("https://baton.example.com/calendar/sales.ics?token={token}\n")
    );
    let out = run(&["calendar", "--url"], None);
    assert_eq!(
        text(&out.stdout),
        format!("http://127.0.0.1:8080/calendar/all.ics?token={token}\n")
    );

    let out = run(&["calendar", "--url", "--dept", "nowhere"], None);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no department `nowhere`"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let out = run(&["calendar", "--url", "--ics"], None);
    assert_eq!(out.status.code(), Some(2), "clap refuses both");
    let out = run(&["calendar", "--url"], Some("baton.example.com"));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("BATON_PUBLIC_URL"),
        "{}",
        text(&out.stderr)
    );
}
