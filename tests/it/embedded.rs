//! The embedded database (issue 16, part 1), with the machine's Postgres binaries and never
//! the server on 5432: `baton demo --embedded` runs a scripted session and leaves no
//! process or directory behind, also when interrupted; a single-node `serve`'s database
//! keeps its data between runs; the demo falls back to it when nothing answers.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use baton::embedded::{Binaries, Embedded, Options, demo_database};

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
    let (url, pg) = demo_database(
        Some(NOWHERE.into()),
        NOWHERE,
        &root,
        false,
        &Binaries::new(&root),
    )
    .await
    .unwrap();
    assert_eq!((url.as_str(), pg.is_none()), (NOWHERE, true));
    // None given, and nothing answers at the default: a server of its own.
    let (url, pg) = demo_database(None, NOWHERE, &root, false, &Binaries::new(&root))
        .await
        .unwrap();
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

// ---------------------------------------------------------------------------------------
// No Postgres installed: the binaries are downloaded once, checked, unpacked.

/// A stand-in for the release site on 127.0.0.1 (a test double: baton only knows it as
/// `BATON_POSTGRES_DOWNLOAD_URL`): serves one archive and its checksum file, and counts
/// the requests.
struct Releases {
    url: String,
    hits: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    _server: tokio::task::JoinHandle<()>,
}

/// The machine's Postgres binaries packed the way release archives are: one top-level
/// directory named after the archive.
fn archive_of_installed_binaries(version: &str) -> Vec<u8> {
    let installed = baton::embedded::installation_dir().expect("the machine's Postgres");
    let top = format!(
        "postgresql-{version}-{}",
        baton::embedded::binaries::target()
    );
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    // `bin/` and `lib/` (found relative to the executables); Debian's `share/` lives
    // elsewhere and is found at its compiled-in path.
    for part in ["bin", "lib"] {
        tar.append_dir_all(format!("{top}/{part}"), installed.join(part))
            .unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

async fn releases(version: &str, archive: Vec<u8>, checksum: String) -> Releases {
    use axum::extract::{Path as UrlPath, State};
    use axum::http::StatusCode;
    type Shared = (
        String,
        std::sync::Arc<Vec<u8>>,
        String,
        std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    );
    let hits = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let name = format!(
        "postgresql-{version}-{}.tar.gz",
        baton::embedded::binaries::target()
    );
    let state: Shared = (
        format!("{version}/{name}"),
        std::sync::Arc::new(archive),
        checksum,
        hits.clone(),
    );
    let app = axum::Router::new()
        .route(
            "/{version}/{file}",
            axum::routing::get(
                |State((path, archive, sum, hits)): State<Shared>,
                 UrlPath((v, f)): UrlPath<(String, String)>| async move {
                    let asked = format!("{v}/{f}");
                    hits.lock().unwrap().push(asked.clone());
                    if asked == path {
                        (StatusCode::OK, archive.to_vec())
                    } else if asked == format!("{path}.sha256") {
                        (StatusCode::OK, sum.into_bytes())
                    } else {
                        (StatusCode::NOT_FOUND, b"Not Found".to_vec())
                    }
                },
            ),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Releases {
        url,
        hits,
        _server: server,
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// `baton demo --embedded` on a "machine without Postgres" (an empty installations
/// directory), downloading from `url`.
async fn demo_without_postgres(
    data: &Path,
    url: &str,
    stdin: &'static [u8],
) -> std::process::Output {
    let empty = data.join("no-postgres-here");
    std::fs::create_dir_all(&empty).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["demo", "--embedded"])
        .env("DATABASE_URL", NOWHERE)
        .env_remove("BATON_DATABASE_URL")
        .env("BATON_DATA_DIR", data)
        .env("BATON_POSTGRES_INSTALLATIONS", &empty)
        .env("BATON_POSTGRES_DOWNLOAD_URL", url)
        .env("BATON_POSTGRES_VERSION", "17.2.0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run baton");
    let guard = watchdog(child.id().unwrap());
    {
        use tokio::io::AsyncWriteExt;
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin).await.unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    drop(guard);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_installed_postgres_the_binaries_are_downloaded_checked_and_reused() {
    let data = scratch("download");
    let archive = archive_of_installed_binaries("17.2.0");
    let sum = format!("{}  postgresql.tar.gz\n", sha256_hex(&archive));
    let site = releases("17.2.0", archive, sum).await;

    let out = demo_without_postgres(&data, &site.url, b"status\n").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{stdout}");
    assert!(stderr.contains("downloading"), "{stderr}");
    assert!(stdout.contains("Sales"), "{stdout}");
    let unpacked = data
        .canonicalize()
        .unwrap()
        .join("postgresql")
        .join(format!("17.2.0-{}", baton::embedded::binaries::target()));
    assert!(unpacked.join("bin/initdb").is_file(), "{unpacked:?}");
    // The server ran from the download, and it stopped.
    let dir = server_dir(&stderr);
    assert!(!dir.exists(), "the demo's database was left behind");
    assert_eq!(processes_in(&data), "", "processes left behind");
    let name = format!(
        "17.2.0/postgresql-17.2.0-{}.tar.gz",
        baton::embedded::binaries::target()
    );
    assert_eq!(
        *site.hits.lock().unwrap(),
        vec![format!("{name}.sha256"), name.clone()]
    );

    // A second run reuses the unpacked binaries: nothing is fetched.
    let out = demo_without_postgres(&data, &site.url, b"whoami\n").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("downloading"));
    assert_eq!(site.hits.lock().unwrap().len(), 2);
    assert_eq!(processes_in(&data), "");
    std::fs::remove_dir_all(&data).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_fails_its_checksum_or_is_missing_is_refused_and_leaves_nothing() {
    let data = scratch("badsum");
    let archive = archive_of_installed_binaries("17.2.0");
    let site = releases("17.2.0", archive, "0".repeat(64)).await;
    let out = demo_without_postgres(&data, &site.url, b"status\n").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("SHA-256"), "{stderr}");
    assert!(stderr.contains("BATON_POSTGRES_DOWNLOAD_URL"), "{stderr}");
    let cache = data.join("postgresql");
    let left: Vec<_> = std::fs::read_dir(&cache)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");

    // A version the site doesn't have: its URL and status are named.
    let empty = data.join("no-postgres-here");
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["demo", "--embedded"])
        .env("DATABASE_URL", NOWHERE)
        .env("BATON_DATA_DIR", &data)
        .env("BATON_POSTGRES_INSTALLATIONS", &empty)
        .env("BATON_POSTGRES_DOWNLOAD_URL", &site.url)
        .env("BATON_POSTGRES_VERSION", "16.1.0")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("404"), "{stderr}");
    assert!(stderr.contains("16.1.0/postgresql-16.1.0-"), "{stderr}");
    assert_eq!(processes_in(&data), "");
    std::fs::remove_dir_all(&data).unwrap();
}

// ---------------------------------------------------------------------------------------
// Single node: the CLI commands use the embedded database as `serve` does.

fn baton_single_node(data: &Path, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(args)
        .env("DATABASE_URL", NOWHERE)
        .env_remove("BATON_DATABASE_URL")
        .env("BATON_DATA_DIR", data)
        .env("BATON_EMBEDDED_DATABASE", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run baton");
    let guard = watchdog(child.id());
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    drop(guard);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_node_commands_start_the_embedded_database_or_reuse_the_running_one() {
    let data = scratch("single");
    let manifest = example_manifest_path();
    // Nothing running: `apply` starts the single-node database, writes, and stops it.
    let out = baton_single_node(&data, &["apply", &manifest], b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Applied"), "{stdout}");
    assert_eq!(processes_in(&data), "", "apply left its server running");
    // The data stayed: the shell, on another start, sees the organisation.
    let out = baton_single_node(&data, &["shell", "--as", "priya"], b"whoami\n");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Priya"), "{stdout}");
    assert_eq!(processes_in(&data), "");

    // Running (as under `serve`): the command uses it and leaves it running.
    let pg = Embedded::start(&data.join("postgres"), Options::persistent())
        .await
        .unwrap();
    let out = baton_single_node(&data, &["apply", &manifest], b"");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("No changes"), "{stdout}");
    assert_ne!(processes_in(&data), "", "the running server was stopped");
    let store = baton::store::Store::connect(&pg.url("baton"), false)
        .await
        .unwrap();
    assert!(store.org_by_key("northwind").await.unwrap().is_some());
    drop(store);
    drop(pg);
    assert_eq!(processes_in(&data), "");
    std::fs::remove_dir_all(&data).unwrap();
}

fn example_manifest_path() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("manifests/example-org.yaml")
        .to_string_lossy()
        .to_string()
}
