//! The `baton` binary: parses the command line and calls into the library.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use baton::app::{App, apply};
use baton::chat::recording::RecordingAdapter;
use baton::chat::shell::Simulation;
use baton::clock::{FixedClock, SystemClock};
use baton::domain::Source;
use baton::store::Store;

#[derive(Parser)]
#[command(
    name = "baton",
    version,
    about = "Runs your Balanced Scorecard and OKR rhythm in chat"
)]
struct Cli {
    /// Postgres URL (default: BATON_DATABASE_URL, DATABASE_URL, or postgres://postgres@127.0.0.1:5432/baton).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create the database if needed, load the example company with twelve weeks of
    /// history, and open the shell as a department head. With no database URL set and no
    /// server answering at the default one, it runs on a Postgres of its own (the
    /// machine's binaries), stopped and removed when the demo ends.
    Demo {
        /// Run on an embedded Postgres of its own even if a server answers.
        #[arg(long)]
        embedded: bool,
        /// Person to act as (default: the head of sales).
        #[arg(long = "as")]
        person: Option<String>,
        /// Write the pictures replies carry (charts, maps) as PNG files into this directory
        /// and print their paths.
        #[arg(long)]
        png: Option<PathBuf>,
    },
    /// Talk to baton in the terminal as a person of the organisation.
    Shell {
        #[arg(long = "as")]
        person: String,
        /// Organisation key (needed only when the database holds several).
        #[arg(long)]
        org: Option<String>,
        /// Start a simulated clock at this instant (RFC 3339); `advance <duration>` moves it
        /// and shows the prompts, reminders and digests that arrive.
        #[arg(long)]
        clock: Option<String>,
        /// Write the pictures replies carry (charts, maps) as PNG files into this directory
        /// and print their paths.
        #[arg(long)]
        png: Option<PathBuf>,
    },
    /// Validate and apply an organisation manifest.
    Apply {
        file: PathBuf,
        /// Print the changes without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Apply database migrations.
    Migrate,
    /// Run the service: scheduler ticker, outbox workers and the HTTP server.
    Serve {
        /// Configuration file (TOML); `BATON_*` environment variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Upcoming events of every cadence layer, the ICS feed, or the feed's URL.
    Calendar {
        /// Print the RFC 5545 feed instead of a list.
        #[arg(long, conflicts_with = "url")]
        ics: bool,
        /// Print the URL calendar apps subscribe to (at BATON_PUBLIC_URL), token included.
        #[arg(long)]
        url: bool,
        /// Configuration file (TOML) to read the public URL from; `BATON_*` environment
        /// variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Only this department's events.
        #[arg(long)]
        dept: Option<String>,
        /// Organisation key (needed only when the database holds several).
        #[arg(long)]
        org: Option<String>,
    },
    /// Check the installation: database, migrations, chat credentials, scopes, channels,
    /// permissions, who can be reached, calendar links. Exits 1 if anything is wrong.
    Doctor {
        /// Configuration file (TOML); `BATON_*` environment variables override it.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Measure status latency, check-in ingestion and memory on a synthetic organisation.
    Bench(baton::bench::BenchArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // `serve` sets up logging from its own settings (file, format); the rest log warnings.
    if !matches!(cli.command, Cmd::Serve { .. }) {
        baton::telemetry::init_cli();
    }
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("baton: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn connect(url: &str, create: bool) -> anyhow::Result<Store> {
    let store = Store::connect(url, create).await?;
    store.migrate().await?;
    Ok(store)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // Single node (`BATON_EMBEDDED_DATABASE`): the commands that work on the store use the
    // embedded database in the data directory, as `serve` does, unless `--database-url` is
    // given. A running one is reused; one started here stops when the command ends, also on
    // Ctrl-C or SIGTERM.
    let config = match &cli.command {
        Cmd::Calendar { config, .. } | Cmd::Doctor { config } => config.clone(),
        _ => None,
    };
    let on_store = matches!(
        cli.command,
        Cmd::Migrate
            | Cmd::Apply { .. }
            | Cmd::Shell { .. }
            | Cmd::Calendar { .. }
            | Cmd::Doctor { .. }
    );
    if on_store && cli.database_url.is_none() {
        let settings = baton::config::Settings::from_env(config.as_deref())?;
        if settings.embedded_database {
            let signal = exit_signal()?;
            let (url, pg) =
                baton::embedded::single_node(&settings.data_dir(), settings.postgres_binaries())
                    .await
                    .context("the single-node embedded database (BATON_EMBEDDED_DATABASE)")?;
            let cli = Cli {
                database_url: Some(url),
                ..cli
            };
            return tokio::select! {
                r = Box::pin(run_on(cli)) => r,
                _ = signal => {
                    drop(pg);
                    std::process::exit(130);
                }
            };
        }
    }
    run_on(cli).await
}

async fn run_on(cli: Cli) -> anyhow::Result<ExitCode> {
    let cli_url = cli.database_url.clone();
    let url = cli.database_url.unwrap_or_else(baton::config::database_url);
    match cli.command {
        Cmd::Migrate => {
            connect(&url, true).await?;
            println!("Migrations applied to {}.", baton::store::redact_url(&url));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Apply { file, dry_run } => {
            // Validate everything before touching the database.
            let spec = match baton::manifest::load_manifest(&file) {
                Ok(s) => s,
                Err(errors) => {
                    eprintln!("{errors}");
                    eprintln!("{} error(s); nothing was applied.", errors.0.len());
                    return Ok(ExitCode::from(2));
                }
            };
            let app = Arc::new(App::new(connect(&url, true).await?, Arc::new(SystemClock)));
            let applied = apply::apply(&app, &spec, dry_run).await?;
            for c in &applied.changes {
                println!("{c}");
            }
            match (applied.changes.is_empty(), dry_run) {
                (true, _) => println!("No changes: {} is up to date.", spec.org.key),
                (false, true) => println!(
                    "Dry run: {} change(s) planned, nothing written.",
                    applied.changes.len()
                ),
                (false, false) => println!(
                    "Applied {} change(s) to {}.",
                    applied.changes.len(),
                    spec.org.key
                ),
            }
            if !dry_run
                && let Some(r) =
                    baton::serve::link_emails_after_apply(app, spec.org.key.as_str()).await?
            {
                println!(
                    "Slack by email: {} linked, {} not found, {} to retry.",
                    r.linked, r.not_found, r.failed
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Shell {
            person,
            org,
            clock,
            png,
        } => {
            let store = connect(&url, false).await?;
            match clock {
                None => {
                    let mut app = App::new(store, Arc::new(SystemClock));
                    app.public_url = public_url(None)?;
                    shell(&app, org.as_deref(), &person, None, png.as_deref()).await
                }
                Some(at) => {
                    let at = chrono::DateTime::parse_from_rfc3339(&at)
                        .with_context(|| format!("--clock `{at}` is not an RFC 3339 instant (e.g. 2026-11-16T08:00:00Z)"))?
                        .with_timezone(&chrono::Utc);
                    let sim = Simulation {
                        clock: Arc::new(FixedClock::new(at)),
                        adapter: Arc::new(RecordingAdapter::new()),
                    };
                    let mut app = App::new(store, sim.clock.clone());
                    app.public_url = public_url(None)?;
                    shell(&app, org.as_deref(), &person, Some(&sim), png.as_deref()).await
                }
            }
        }
        Cmd::Demo {
            embedded,
            person,
            png,
        } => {
            // Installed first, so a Ctrl-C while the server starts is not fatal to the
            // process before the server can be stopped.
            let signal = exit_signal()?;
            let settings = baton::config::Settings::from_env(None)?;
            let given = cli_url.or_else(baton::config::database_url_set);
            let (url, pg) = baton::embedded::demo_database(
                given,
                baton::config::DEFAULT_DATABASE_URL,
                &settings.data_dir(),
                embedded,
                &settings.postgres_binaries(),
            )
            .await?;
            tokio::select! {
                r = demo(&url, person, png) => r,
                _ = signal => {
                    // Ctrl-C, SIGTERM or a closed terminal: stop the embedded server
                    // first (its `Drop`), then leave without waiting for stdin.
                    drop(pg);
                    std::process::exit(130);
                }
            }
        }
        Cmd::Serve { config } => {
            baton::serve::run(config.as_deref(), cli_url).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Calendar {
            ics,
            url: want_url,
            config,
            dept,
            org,
        } => {
            let mut app = App::new(connect(&url, false).await?, Arc::new(SystemClock));
            let org = app.org(org.as_deref()).await?;
            if want_url {
                app.public_url = public_url(config.as_deref())?;
                println!(
                    "{}",
                    baton::app::calendar::link_url(&app, org.id, dept.as_deref()).await?
                );
            } else if ics {
                print!(
                    "{}",
                    baton::app::calendar::ics_feed(&app, org.id, dept.as_deref()).await?
                );
            } else {
                let actor = app.system_actor(org).await?;
                let reply = baton::app::calendar::calendar(&app, &actor, dept.as_deref()).await?;
                let width = baton::chat::shell::terminal_width()
                    .unwrap_or(baton::bot::render::text::DEFAULT_WIDTH);
                print!("{}", baton::bot::render::text::render_width(&reply, width));
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Doctor { config } => {
            let mut settings = baton::config::Settings::from_env(config.as_deref())?;
            if let Some(u) = cli_url {
                settings.database_url = u;
            }
            let report = baton::doctor::run(&settings).await;
            print!("{}", report.render());
            Ok(if report.ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::Bench(args) => {
            baton::bench::run(&url, args).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The demo: the example organisation with twelve weeks of history, then the shell as a
/// department head, on a simulated clock starting now (so `advance 1d` shows the rhythm:
/// prompts, reminders and digests arriving).
async fn demo(url: &str, person: Option<String>, png: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let sim = Simulation {
        clock: Arc::new(FixedClock::new(chrono::Utc::now())),
        adapter: Arc::new(RecordingAdapter::new()),
    };
    let mut app = App::new(connect(url, true).await?, sim.clock.clone());
    app.public_url = public_url(None)?;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("manifests/example-org.yaml");
    let spec = baton::manifest::load_manifest(&path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let applied = apply::apply(&app, &spec, false).await?;
    let org = app.org(Some(spec.org.key.as_str())).await?;
    if applied.written {
        eprintln!(
            "Applied the example organisation {} ({} changes).",
            spec.org.name,
            applied.changes.len()
        );
    }
    if app.store.checkin_count(org.id).await? == 0 {
        let rows = baton::app::seed::demo_history(&spec, app.clock.now(), 12, 42);
        let n = app.store.seed_checkins(org.id, &rows).await?;
        eprintln!("Seeded {n} check-ins over twelve weeks.");
    }
    let person = match person {
        Some(p) => p,
        None => spec
            .departments
            .iter()
            .find(|d| d.key.as_str() == "sales")
            .or_else(|| spec.departments.iter().find(|d| d.parent.is_some()))
            .and_then(|d| d.heads.first())
            .map(|k| k.to_string())
            .context("the example organisation has no department head")?,
    };
    shell(
        &app,
        Some(spec.org.key.as_str()),
        &person,
        Some(&sim),
        png.as_deref(),
    )
    .await
}

/// Resolves on Ctrl-C, SIGTERM or SIGHUP (installed now, not when first polled).
fn exit_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut hup = signal(SignalKind::hangup())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = hup.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// The base URL calendar links point at, from the settings (`BATON_PUBLIC_URL`, else the
/// listen address).
fn public_url(config: Option<&std::path::Path>) -> anyhow::Result<String> {
    Ok(baton::config::Settings::from_env(config)?.public_base_url())
}

async fn shell(
    app: &App,
    org: Option<&str>,
    person: &str,
    sim: Option<&Simulation>,
    png: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let org = match app.org(org).await {
        Ok(o) => o,
        Err(e) => {
            eprintln!("baton: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let actor = match app.actor(org, person, Source::Shell).await {
        Ok(a) => a,
        Err(e) => {
            eprintln!("baton: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let interactive = std::io::stdin().is_terminal();
    let stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let mut stdout = std::io::stdout();
    baton::chat::shell::run(app, &actor, stdin, &mut stdout, interactive, sim, png).await?;
    Ok(ExitCode::SUCCESS)
}
