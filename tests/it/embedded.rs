//! The embedded database (issue 16, part 1), with the machine's Postgres binaries and never
//! the server on 5432: `baton demo --embedded` runs a scripted session and leaves no
//! process or directory behind, also when interrupted; a single-node `serve`'s database
//! keeps its data between runs; the demo falls back to it when nothing answers.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use baton::embedded::{Embedded, Options, demo_database};

/// Nothing listens here: the demo must not need it.
const NOWHERE: &str = "postgres://postgres@127.0.0.1:1/nowhere";

/// A fresh directory for one test, under the temp directory (the `postgres` user can
/// reach it).
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("baton-embedded-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The processes whose command line names `dir` (a postgres started there shows its data
/// directory in `-D`).
fn processes_in(dir: &Path) -> String {
    let out = Command::new("pgrep")
        .arg("-a")
        .arg("-f")
        .arg(dir.to_string_lossy().as_ref())
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn baton_demo(data_dir: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["demo", "--embedded"])
        .env("DATABASE_URL", NOWHERE)
        .env_remove("BATON_DATABASE_URL")
        .env("BATON_DATA_DIR", data_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run baton")
}

/// Kills `pid` if the test is still waiting for it after two minutes (a hang fails the
/// test instead of the whole run). Dropping the returned sender disarms it.
fn watchdog(pid: u32) -> mpsc::Sender<()> {
    let (tx, rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_secs(120)) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    });
    tx
}

/// The directory the demo's stderr says its server runs in.
fn server_dir(stderr: &str) -> PathBuf {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("Embedded Postgres on 127.0.0.1:"))
        .unwrap_or_else(|| panic!("no embedded server announced: {stderr}"));
    let dir = line
        .split(" in ")
        .nth(1)
        .and_then(|rest| rest.split(" (stops").next())
        .unwrap();
    PathBuf::from(dir)
}

#[test]
fn demo_embedded_runs_a_scripted_session_and_leaves_nothing_behind() {
    let data = scratch("demo");
    let mut child = baton_demo(&data);
    let guard = watchdog(child.id());
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"status\nhelp\n")
        .unwrap();
    let out = child.wait_with_output().expect("baton output");
    drop(guard);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{stdout}");
    assert!(
        stderr.contains("Applied the example organisation"),
        "{stderr}"
    );
    assert!(stderr.contains("Seeded"), "{stderr}");
    assert!(stdout.contains("Sales"), "{stdout}");
    let dir = server_dir(&stderr);
    assert!(dir.starts_with(data.canonicalize().unwrap()), "{dir:?}");
    assert!(
        !dir.join("data/postmaster.pid").exists(),
        "the server was left running"
    );
    assert!(
        !dir.exists(),
        "the demo's database was left behind: {dir:?}"
    );
    assert_eq!(processes_in(&data), "", "processes left behind");
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn an_interrupted_demo_stops_its_server() {
    let data = scratch("interrupt");
    let mut child = baton_demo(&data);
    let guard = watchdog(child.id());
    // Keep stdin open: the shell waits for a line while we interrupt it.
    let _stdin = child.stdin.take().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "baton ended early: {seen}"
        );
        seen.push_str(&line);
        if line.starts_with("Embedded Postgres on") {
            break;
        }
    }
    let dir = server_dir(&seen);
    assert!(dir.join("data/postmaster.pid").exists(), "{seen}");
    assert_ne!(processes_in(&dir), "", "the server is not running");

    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    drop(guard);
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert!(
        !dir.exists(),
        "the demo's database was left behind: {dir:?}"
    );
    assert_eq!(processes_in(&data), "", "processes left behind");
    std::fs::remove_dir_all(&data).unwrap();
}

#[tokio::test]
async fn a_single_node_database_keeps_its_data_between_runs() {
    let root = scratch("persistent");
    let dir = root.join("postgres");
    let pg = Embedded::start(&dir, Options::persistent()).await.unwrap();
    let url = pg.url("baton");
    assert!(url.starts_with("postgres://postgres:"), "a password is set");
    let store = baton::store::Store::connect(&url, true).await.unwrap();
    store.migrate().await.unwrap();
    assert!(
        store
            .first_delivery("slack", "kept", chrono::Utc::now())
            .await
            .unwrap()
    );
    drop(store);
    drop(pg);
    assert_eq!(processes_in(&root), "", "the server is still running");
    assert!(dir.join("data/PG_VERSION").exists(), "the data went away");

    let mut pg = Embedded::start(&dir, Options::persistent()).await.unwrap();
    let store = baton::store::Store::connect(&pg.url("baton"), false)
        .await
        .unwrap();
    assert!(
        !store
            .first_delivery("slack", "kept", chrono::Utc::now())
            .await
            .unwrap(),
        "the row of the first run is gone"
    );
    drop(store);
    pg.keep = false;
    drop(pg);
    assert!(!dir.exists());
    assert_eq!(processes_in(&root), "");
    std::fs::remove_dir_all(&root).unwrap();
}

#[tokio::test]
async fn the_demo_falls_back_to_an_embedded_database_only_when_nothing_answers() {
    let root = scratch("fallback");
    // A URL given (flag or environment) is used as it is.
    let (url, pg) = demo_database(Some(NOWHERE.into()), NOWHERE, &root, false)
        .await
        .unwrap();
    assert_eq!((url.as_str(), pg.is_none()), (NOWHERE, true));
    // None given, and nothing answers at the default: a server of its own.
    let (url, pg) = demo_database(None, NOWHERE, &root, false).await.unwrap();
    let pg = pg.expect("an embedded server");
    assert!(
        url.contains(&format!("127.0.0.1:{}/baton", pg.port)),
        "{url}"
    );
    let dir = pg.dir.clone();
    drop(pg);
    assert!(!dir.exists());
    assert_eq!(processes_in(&root), "");
    std::fs::remove_dir_all(&root).unwrap();
}
