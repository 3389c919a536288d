//! A Postgres of baton's own, for `baton demo` on a machine without a server and for a
//! single-node `baton serve` (`embedded_database`).
//!
//! Built on `postgresql_embedded`'s settings (with `installation_dir` the machine's
//! `/usr/lib/postgresql/<major>`, else binaries downloaded once into the data directory:
//! [`binaries`]) and `postgresql_commands`' initdb/pg_ctl command lines, run by this module rather than
//! by the crate: `initdb` and `postgres` refuse to run as root, so when baton runs as root
//! every server command runs as the unprivileged `postgres` OS user (`runuser -u
//! postgres`) and the directory belongs to that user. As anyone else they run as baton's
//! own user.
//!
//! Layout of a directory `root`: `data/` (the cluster, also its Unix socket directory,
//! mode 0700), `postgres.log`, and `password` (the superuser's, mode 0600, owned by
//! baton's user). The server listens on 127.0.0.1 only, on a free port, with password
//! (SCRAM) authentication, or trust for the soak harness's throwaway cluster.
//!
//! [`Embedded`] stops the server when dropped (fast shutdown: connections are cut,
//! nothing half-written is lost), so every exit path that unwinds stops it; the callers
//! turn Ctrl-C and SIGTERM into such an exit. Without `keep` the directory is removed too.
//! The bench soak harness's cluster is this one (`bench::soak`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use postgresql_commands::CommandBuilder;
use postgresql_commands::initdb::InitDbBuilder;
use postgresql_commands::pg_ctl::{Mode, PgCtlBuilder, ShutdownMode};
use rand::Rng;

pub mod binaries;
pub use binaries::Binaries;

/// Whether this process runs as root (uid 0).
pub fn is_root() -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// The newest installed Postgres (Debian layout: `/usr/lib/postgresql/<major>` with
/// `bin/initdb`).
pub fn installation_dir() -> anyhow::Result<PathBuf> {
    binaries::installed(Path::new(binaries::DEFAULT_INSTALLATIONS)).with_context(|| {
        format!(
            "no PostgreSQL with bin/initdb under {}/<major> (install it, e.g. `apt install postgresql`, or set DATABASE_URL to a server)",
            binaries::DEFAULT_INSTALLATIONS
        )
    })
}

/// A loopback port nobody listens on right now (the kernel's choice), never 5432.
pub fn free_port() -> anyhow::Result<u16> {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = l.local_addr()?.port();
        if port != 5432 {
            return Ok(port);
        }
    }
}

/// How clients authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// SCRAM with a random superuser password kept in `root/password`.
    Password,
    /// Anyone on the machine (a throwaway test cluster).
    Trust,
}

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct Options {
    pub auth: Auth,
    /// Keep the directory when the server stops (and reuse it on the next start).
    pub keep: bool,
    /// `max_connections`, when not Postgres's default.
    pub max_connections: Option<u32>,
    /// Where the binaries come from; `None`: the machine's installation only.
    pub binaries: Option<Binaries>,
}

impl Options {
    /// A demo's database: password, removed on exit.
    pub fn throwaway() -> Options {
        Options {
            auth: Auth::Password,
            keep: false,
            max_connections: None,
            binaries: None,
        }
    }

    /// The same, with binaries from `b` (the machine's, else downloaded once).
    pub fn with_binaries(self, b: Binaries) -> Options {
        Options {
            binaries: Some(b),
            ..self
        }
    }

    /// A single-node `serve`'s database: password, kept between runs.
    pub fn persistent() -> Options {
        Options {
            keep: true,
            ..Options::throwaway()
        }
    }
}

/// A running Postgres of baton's own. Dropping it stops the server and, unless `keep` is
/// set, removes its directory.
pub struct Embedded {
    settings: postgresql_embedded::Settings,
    /// The directory holding `data/`, the log and the password.
    pub dir: PathBuf,
    pub port: u16,
    pub keep: bool,
    as_postgres: bool,
    running: bool,
}

impl Embedded {
    /// Creates (first time) and starts the server in `dir` on a free loopback port.
    pub async fn start(dir: &Path, opts: Options) -> anyhow::Result<Embedded> {
        let installation = match &opts.binaries {
            Some(b) => b.resolve().await?,
            None => installation_dir()?,
        };
        let as_postgres = is_root();
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let dir = dir
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", dir.display()))?;
        let data = dir.join("data");
        let password = match opts.auth {
            Auth::Trust => String::new(),
            Auth::Password => password(&dir.join("password"))?,
        };
        let mut configuration = std::collections::HashMap::new();
        configuration.insert("listen_addresses".to_string(), "127.0.0.1".to_string());
        configuration.insert("unix_socket_permissions".to_string(), "0700".to_string());
        if let Some(n) = opts.max_connections {
            configuration.insert("max_connections".to_string(), n.to_string());
        }
        let settings = postgresql_embedded::Settings {
            releases_url: String::new(),
            version: postgresql_embedded::VersionReq::STAR,
            installation_dir: installation,
            trust_installation_dir: true,
            password_file: dir.join("pwfile"),
            data_dir: data.clone(),
            host: "127.0.0.1".to_string(),
            port: 0,
            username: postgresql_embedded::BOOTSTRAP_SUPERUSER.to_string(),
            password,
            temporary: false,
            timeout: Some(Duration::from_secs(60)),
            configuration,
            socket_dir: Some(data.clone()),
        };
        let mut pg = Embedded {
            settings,
            dir: dir.clone(),
            port: 0,
            keep: opts.keep,
            as_postgres,
            running: false,
        };
        if as_postgres {
            pg.chown_to_postgres(&dir).await?;
        }
        if !data.join("PG_VERSION").exists() {
            pg.initdb(opts.auth).await.with_context(|| {
                format!(
                    "cannot create the embedded database in {} (the postgres user must be able to reach it: set BATON_DATA_DIR elsewhere, e.g. /var/lib/baton)",
                    data.display()
                )
            })?;
        }
        // The port can be taken between the check and the bind: try a few.
        let mut last = None;
        for _ in 0..5 {
            pg.settings.port = free_port()?;
            match pg.pg_ctl_start().await {
                Ok(()) => {
                    pg.port = pg.settings.port;
                    pg.running = true;
                    tracing::info!(dir = %pg.dir.display(), port = pg.port, "embedded Postgres started");
                    return Ok(pg);
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no free port")))
            .with_context(|| format!("cannot start the embedded database in {}", data.display()))
    }

    /// The URL of database `db` (over TCP on the loopback).
    pub fn url(&self, db: &str) -> String {
        let mut tcp = self.settings.clone();
        tcp.socket_dir = None;
        tcp.url(db).replacen("postgresql://", "postgres://", 1)
    }

    /// The cluster's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.settings.data_dir
    }

    /// `pg_ctl restart -m fast`: every connection is cut, the server comes back on the same
    /// port.
    pub async fn restart(&self) -> anyhow::Result<()> {
        let b = PgCtlBuilder::from(&self.settings)
            .mode(Mode::Restart)
            .pgdata(&self.settings.data_dir)
            .log(self.dir.join("postgres.log"))
            .shutdown_mode(ShutdownMode::Fast)
            .wait()
            .timeout(60);
        self.run(b).await
    }

    /// Stops the server (fast shutdown) and waits for it; idempotent.
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        let b = PgCtlBuilder::from(&self.settings)
            .mode(Mode::Stop)
            .pgdata(&self.settings.data_dir)
            .shutdown_mode(ShutdownMode::Fast)
            .wait()
            .timeout(60);
        let mut cmd = self.command(b);
        match cmd.stdout(Stdio::null()).stderr(Stdio::piped()).output() {
            Ok(out) if out.status.success() => {
                tracing::info!(dir = %self.dir.display(), "embedded Postgres stopped")
            }
            Ok(out) => tracing::warn!(
                dir = %self.dir.display(),
                error = %String::from_utf8_lossy(&out.stderr),
                "embedded Postgres did not stop cleanly"
            ),
            Err(e) => tracing::warn!(error = %e, "cannot run pg_ctl stop"),
        }
        self.running = false;
    }

    async fn initdb(&self, auth: Auth) -> anyhow::Result<()> {
        let mut b = InitDbBuilder::from(&self.settings)
            .pgdata(&self.settings.data_dir)
            .encoding("UTF8")
            .locale("C")
            .no_sync()
            .no_instructions();
        let pwfile = &self.settings.password_file;
        match auth {
            Auth::Trust => b = b.auth("trust"),
            Auth::Password => {
                write_private(pwfile, &self.settings.password)?;
                if self.as_postgres {
                    self.chown_to_postgres(pwfile).await?;
                }
                b = b
                    .auth_host("scram-sha-256")
                    .auth_local("scram-sha-256")
                    .pwfile(pwfile);
            }
        }
        let res = self.run(b).await;
        let _ = std::fs::remove_file(pwfile);
        res
    }

    async fn pg_ctl_start(&self) -> anyhow::Result<()> {
        let mut options = vec![format!(
            "-p {} -k {}",
            self.settings.port,
            self.settings.data_dir.display()
        )];
        let mut config: Vec<_> = self.settings.configuration.iter().collect();
        config.sort();
        options.extend(config.into_iter().map(|(k, v)| format!("-c {k}={v}")));
        let b = PgCtlBuilder::from(&self.settings)
            .mode(Mode::Start)
            .pgdata(&self.settings.data_dir)
            .log(self.dir.join("postgres.log"))
            .options(&options)
            .wait()
            .timeout(60);
        self.run(b).await
    }

    /// The command line of `b`, as the `postgres` user when baton runs as root.
    fn command(&self, b: impl CommandBuilder) -> std::process::Command {
        let program = b.get_program_file();
        let mut cmd = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        cmd.args(b.get_args())
            .envs(b.get_envs())
            .current_dir(&self.dir)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `b` and fails with its output if it fails.
    async fn run(&self, b: impl CommandBuilder) -> anyhow::Result<()> {
        let line = format!("{} {:?}", b.get_program_file().display(), b.get_args());
        let out = tokio::process::Command::from(self.command(b))
            .output()
            .await
            .with_context(|| format!("cannot run {line}"))?;
        anyhow::ensure!(
            out.status.success(),
            "{line} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    async fn chown_to_postgres(&self, path: &Path) -> anyhow::Result<()> {
        let ok = tokio::process::Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .await
            .context("cannot run chown")?;
        anyhow::ensure!(ok.success(), "chown postgres of {} failed", path.display());
        Ok(())
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.stop();
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The superuser password kept in `path` (created with a random one, mode 0600).
fn password(path: &Path) -> anyhow::Result<String> {
    if let Ok(p) = std::fs::read_to_string(path) {
        let p = p.trim().to_string();
        if !p.is_empty() {
            return Ok(p);
        }
    }
    let p: String = rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect();
    write_private(path, &p)?;
    Ok(p)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Where `baton demo` gets its database: the URL given (`--database-url`,
/// `BATON_DATABASE_URL`, `DATABASE_URL`), else the default one if a server answers there,
/// else (or with `force`) an embedded Postgres under `data_dir`, removed on exit.
pub async fn demo_database(
    given: Option<String>,
    default_url: &str,
    data_dir: &Path,
    force: bool,
    binaries: &Binaries,
) -> anyhow::Result<(String, Option<Embedded>)> {
    if !force {
        if let Some(url) = given {
            return Ok((url, None));
        }
        let (host, port) = host_port(default_url);
        if answers(&host, port).await {
            return Ok((default_url.to_string(), None));
        }
        eprintln!(
            "No database URL is set and nothing answers at {host}:{port}: starting a Postgres of baton's own."
        );
    }
    let dir = data_dir.join(format!("demo-{}", std::process::id()));
    let pg = Embedded::start(&dir, Options::throwaway().with_binaries(binaries.clone())).await?;
    eprintln!(
        "Embedded Postgres on 127.0.0.1:{} in {} (stops and is removed when the demo ends).",
        pg.port,
        pg.dir.display()
    );
    Ok((pg.url("baton"), Some(pg)))
}

/// The host and port of a Postgres URL (defaults 127.0.0.1 and 5432).
fn host_port(url: &str) -> (String, u16) {
    let u = url::Url::parse(url).ok();
    let host = u
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("127.0.0.1")
        .to_string();
    (host, u.and_then(|u| u.port()).unwrap_or(5432))
}

/// Whether something accepts TCP connections at `host:port` (within 2 s).
async fn answers(host: &str, port: u16) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect((host, port))
        )
        .await,
        Ok(Ok(_))
    )
}

/// The port of the server running on the cluster in `data`, from its `postmaster.pid`
/// (line 4), if the file is there.
fn running_port(data: &Path) -> Option<u16> {
    let pid = std::fs::read_to_string(data.join("postmaster.pid")).ok()?;
    pid.lines().nth(3)?.trim().parse().ok()
}

/// The single-node database (`embedded_database`) for a command other than `serve`
/// (`migrate`, `apply`, `shell`, `calendar`, `doctor`): the server already running in
/// `<data dir>/postgres` (a `serve`, or another command) if there is one, else one started
/// for this command, which stops when the returned [`Embedded`] is dropped. Its data stays.
pub async fn single_node(
    data_dir: &Path,
    binaries: Binaries,
) -> anyhow::Result<(String, Option<Embedded>)> {
    let dir = data_dir.join("postgres");
    if let Some(port) = running_port(&dir.join("data"))
        && answers("127.0.0.1", port).await
    {
        let password = std::fs::read_to_string(dir.join("password"))
            .with_context(|| format!("cannot read {}", dir.join("password").display()))?;
        let url = format!(
            "postgres://{}:{}@127.0.0.1:{port}/baton",
            postgresql_embedded::BOOTSTRAP_SUPERUSER,
            password.trim()
        );
        return Ok((url, None));
    }
    let pg = Embedded::start(&dir, Options::persistent().with_binaries(binaries)).await?;
    Ok((pg.url("baton"), Some(pg)))
}
