//! Settings: built-in defaults, then an optional TOML file (`baton serve --config`), then
//! `BATON_*` environment variables (and plain `DATABASE_URL`), each layer overriding the one
//! before it.
//!
//! - The environment is read through a function the caller passes in, so tests exercise
//!   precedence without touching the process environment.
//! - Chat credentials are held in [`SecretString`]s and the database URL is redacted, so
//!   `{settings:?}` never shows a token or password.
//! - Every bad value is reported with the variable or file (and line) it came from.

use std::fmt;
use std::net::SocketAddr;
use std::num::{NonZeroU64, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::SecretString;
use serde::Deserialize;

/// Where baton keeps its data unless told otherwise.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/baton";

/// The database URL: `BATON_DATABASE_URL`, else `DATABASE_URL`, else the default.
pub fn database_url() -> String {
    database_url_set().unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
}

/// The database URL the environment sets (`BATON_DATABASE_URL`, else `DATABASE_URL`), if
/// any.
pub fn database_url_set() -> Option<String> {
    ["BATON_DATABASE_URL", "DATABASE_URL"]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|s| !s.trim().is_empty())
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!(
                "unknown log format `{other}`; use `text` or `json`"
            )),
        }
    }
}

/// How baton hears from Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlackMode {
    /// A WebSocket baton opens (bot token + app-level token); no public URL needed.
    #[default]
    Socket,
    /// Slack calls `/slack/events`, `/slack/commands`, `/slack/interactions` (signing secret).
    Http,
}

impl FromStr for SlackMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "socket" => Ok(SlackMode::Socket),
            "http" => Ok(SlackMode::Http),
            other => Err(format!(
                "unknown Slack mode `{other}`; use `socket` or `http`"
            )),
        }
    }
}

/// Slack's public Web API base.
pub const DEFAULT_SLACK_API_URL: &str = "https://slack.com/api";

/// Slack credentials and connection. Slack is on when a bot token is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackSettings {
    pub bot_token: Option<SecretString>,
    pub app_token: Option<SecretString>,
    pub signing_secret: Option<SecretString>,
    /// `socket` (default) or `http`.
    pub mode: SlackMode,
    /// Web API base URL (GovSlack, a proxy, or a local fake in tests), without a trailing `/`.
    pub api_url: String,
}

impl Default for SlackSettings {
    fn default() -> Self {
        SlackSettings {
            bot_token: None,
            app_token: None,
            signing_secret: None,
            mode: SlackMode::Socket,
            api_url: DEFAULT_SLACK_API_URL.to_string(),
        }
    }
}

/// How baton hears from Discord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscordMode {
    /// A gateway (WebSocket) connection, held by one replica at a time; no public URL needed.
    Gateway,
    /// Discord calls `/discord/interactions` (public key); every replica serves.
    Http,
}

impl FromStr for DiscordMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gateway" => Ok(DiscordMode::Gateway),
            "http" => Ok(DiscordMode::Http),
            other => Err(format!(
                "unknown Discord mode `{other}`; use `gateway` or `http`"
            )),
        }
    }
}

/// Discord credentials and connection. Discord is on when a bot token is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordSettings {
    pub bot_token: Option<SecretString>,
    pub public_key: Option<SecretString>,
    /// The application id (registration and deferred follow-ups).
    pub application_id: Option<u64>,
    /// Register commands in this guild (instant, for development) instead of globally.
    pub guild_id: Option<u64>,
    /// Another base URL for Discord's REST API (a proxy; tests point it at a fake).
    pub api_url: Option<String>,
    /// `gateway` or `http`; unset means HTTP when a public key is set, else the gateway.
    pub mode: Option<DiscordMode>,
    /// How often a replica without the gateway tries to take it over (and the holder checks
    /// that it still holds it), in seconds.
    pub lock_poll_seconds: NonZeroU64,
    /// Ask for the privileged message-content intent, which review threads need. Turn it off
    /// if the intent is not enabled in the developer portal (captures then go through
    /// `/baton review action|decision|note`).
    pub message_content: bool,
}

impl Default for DiscordSettings {
    fn default() -> Self {
        DiscordSettings {
            bot_token: None,
            public_key: None,
            application_id: None,
            guild_id: None,
            api_url: None,
            mode: None,
            lock_poll_seconds: NonZeroU64::new(5).expect("5 is not zero"),
            message_content: true,
        }
    }
}

impl DiscordSettings {
    /// The mode in effect: the one set, else HTTP when a public key is configured, else the
    /// gateway.
    pub fn mode(&self) -> DiscordMode {
        self.mode.unwrap_or(if self.public_key.is_some() {
            DiscordMode::Http
        } else {
            DiscordMode::Gateway
        })
    }
}

/// Everything `baton serve` can be told. See `baton.example.toml` for the file form.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Postgres URL (may carry a password: shown only redacted).
    pub database_url: String,
    /// Where the HTTP server (health, metrics, calendar feeds) listens.
    pub http_addr: SocketAddr,
    /// The base URL people reach that server at (behind TLS, a load balancer), for the
    /// calendar links baton hands out; unset means `http://` + the listen address.
    pub public_url: Option<String>,
    /// Concurrent outbox delivery loops.
    pub outbox_workers: NonZeroUsize,
    /// Sends each outbox loop keeps in flight at once (to different channels).
    pub outbox_parallel: NonZeroUsize,
    /// Longest sleep between scheduler ticks, in seconds.
    pub tick_seconds: NonZeroU64,
    /// Log filter, `tracing_subscriber::EnvFilter` syntax (e.g. `info,sqlx=warn`).
    pub log: String,
    pub log_format: LogFormat,
    /// Nudges (prompts and reminders) per person per week.
    pub nudge_cap: u32,
    /// Hours without activity after which a running review closes itself.
    pub review_idle_hours: NonZeroU64,
    /// How long in-flight work may take to finish after SIGTERM, in seconds.
    pub shutdown_grace_seconds: u64,
    /// Days delivered outbox messages and seen inbound-delivery ids are kept (housekeeping).
    pub retention_days: NonZeroU64,
    /// baton's own files (the embedded database); unset means [`default_data_dir`].
    pub data_dir: Option<PathBuf>,
    /// `serve` runs a Postgres of its own under `data_dir`, kept between runs (one node only).
    pub embedded_database: bool,
    /// Where installed Postgres versions are looked for (`<dir>/<major>/bin/initdb`).
    pub postgres_installations: PathBuf,
    /// Base URL of relocatable Postgres release archives, used when none is installed.
    pub postgres_download_url: String,
    /// The Postgres version downloaded when none is installed.
    pub postgres_version: String,
    pub slack: SlackSettings,
    pub discord: DiscordSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: DEFAULT_DATABASE_URL.to_string(),
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            outbox_workers: NonZeroUsize::new(2).expect("2 is not zero"),
            outbox_parallel: NonZeroUsize::new(16).expect("16 is not zero"),
            tick_seconds: NonZeroU64::new(60).expect("60 is not zero"),
            log: "info,sqlx=warn".to_string(),
            log_format: LogFormat::Text,
            nudge_cap: 5,
            review_idle_hours: NonZeroU64::new(12).expect("12 is not zero"),
            shutdown_grace_seconds: 20,
            retention_days: NonZeroU64::new(30).expect("30 is not zero"),
            data_dir: None,
            embedded_database: false,
            postgres_installations: PathBuf::from(crate::embedded::binaries::DEFAULT_INSTALLATIONS),
            postgres_download_url: crate::embedded::binaries::DEFAULT_DOWNLOAD_URL.to_string(),
            postgres_version: crate::embedded::binaries::DEFAULT_VERSION.to_string(),
            slack: SlackSettings::default(),
            discord: DiscordSettings::default(),
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written by hand so the database password never reaches a log line.
        f.debug_struct("Settings")
            .field(
                "database_url",
                &crate::store::redact_url(&self.database_url),
            )
            .field("http_addr", &self.http_addr)
            .field("public_url", &self.public_url)
            .field("outbox_workers", &self.outbox_workers)
            .field("outbox_parallel", &self.outbox_parallel)
            .field("tick_seconds", &self.tick_seconds)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .field("nudge_cap", &self.nudge_cap)
            .field("review_idle_hours", &self.review_idle_hours)
            .field("shutdown_grace_seconds", &self.shutdown_grace_seconds)
            .field("retention_days", &self.retention_days)
            .field("data_dir", &self.data_dir)
            .field("embedded_database", &self.embedded_database)
            .field("postgres_installations", &self.postgres_installations)
            .field("postgres_download_url", &self.postgres_download_url)
            .field("postgres_version", &self.postgres_version)
            .field("slack", &self.slack)
            .field("discord", &self.discord)
            .finish()
    }
}

/// Why a TOML file was refused: the parser's message and where, never the offending line
/// itself (it may hold a token or a password).
fn toml_reason(text: &str, e: &toml::de::Error) -> String {
    let at = e
        .span()
        .map(|s| {
            let before = &text[..s.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: ")
        })
        .unwrap_or_default();
    // A message may quote a value (`invalid type: string "xoxb-…"`): keep its words only.
    let message: String = e
        .message()
        .split(['"', '`'])
        .enumerate()
        .map(|(i, part)| {
            let plain = !part.is_empty()
                && part.len() <= 32
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if i % 2 == 1 && !plain { "…" } else { part }
        })
        .collect::<Vec<_>>()
        .join("");
    format!("{at}{}", message.trim())
}

/// A setting that could not be used, with where it came from.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    /// The TOML parser's message names the line and column.
    #[error("the config file {path} is not valid: {reason}")]
    Invalid { path: PathBuf, reason: String },
    #[error("{var} is not valid: {reason}")]
    Env { var: &'static str, reason: String },
}

/// How one environment variable is applied to the settings.
enum Apply {
    Secret(fn(&mut Settings, SecretString)),
    Value(fn(&mut Settings, &str) -> Result<(), String>),
}

/// One setting as the outside world sees it: its environment variable, its key in the TOML
/// file, how it is applied, its default (shown from [`Settings::default`], so the documented
/// default is the real one) and what it means. [`settings_table`] renders these rows into the
/// README, and a test keeps the two identical.
struct Var {
    name: &'static str,
    /// The key in `baton.toml` (`section.key` inside a table), or `None` for a variable with
    /// no file form.
    file_key: Option<&'static str>,
    apply: Apply,
    default: fn(&Settings) -> String,
    meaning: &'static str,
}

fn parse<T: FromStr>(v: &str, what: &str) -> Result<T, String>
where
    T::Err: fmt::Display,
{
    v.trim()
        .parse()
        .map_err(|e| format!("`{v}` is not {what} ({e})"))
}

/// An http(s) URL without its trailing `/`.
fn http_url(v: &str) -> Result<String, String> {
    let v = v.trim();
    if !(v.starts_with("https://") || v.starts_with("http://")) {
        return Err(format!("`{v}` is not an http(s) URL"));
    }
    Ok(v.trim_end_matches('/').to_string())
}

/// A unit enum's name as the settings spell it (`Socket` → `socket`).
fn debug_lower(v: &impl fmt::Debug) -> String {
    format!("{v:?}").to_ascii_lowercase()
}

fn none(_: &Settings) -> String {
    "—".to_string()
}

/// Every variable baton reads, in the order applied (later wins).
const ENV: &[Var] = &[
    Var {
        name: "DATABASE_URL",
        file_key: None,
        apply: Apply::Value(|s, v| {
            s.database_url = v.trim().to_string();
            Ok(())
        }),
        default: |s| format!("`{}`", s.database_url),
        meaning: "Postgres URL, used when `BATON_DATABASE_URL` is unset",
    },
    Var {
        name: "BATON_DATABASE_URL",
        file_key: Some("database_url"),
        apply: Apply::Value(|s, v| {
            s.database_url = v.trim().to_string();
            Ok(())
        }),
        default: |s| format!("`{}`", s.database_url),
        meaning: "Postgres URL; the password is never logged; `--database-url` overrides it",
    },
    Var {
        name: "BATON_HTTP_ADDR",
        file_key: Some("http_addr"),
        apply: Apply::Value(|s, v| {
            s.http_addr = parse(v, "an address like 127.0.0.1:8080")?;
            Ok(())
        }),
        default: |s| format!("`{}`", s.http_addr),
        meaning: "HTTP listen address (plain HTTP: put TLS in front of anything public)",
    },
    Var {
        name: "BATON_PUBLIC_URL",
        file_key: Some("public_url"),
        apply: Apply::Value(|s, v| {
            s.public_url = Some(http_url(v)?);
            Ok(())
        }),
        default: |s| match &s.public_url {
            Some(u) => format!("`{u}`"),
            None => "`http://` + the listen address".to_string(),
        },
        meaning: "the base URL people reach baton's HTTP server at (`https://baton.example.com`), used in the calendar links baton hands out",
    },
    Var {
        name: "BATON_OUTBOX_WORKERS",
        file_key: Some("outbox_workers"),
        apply: Apply::Value(|s, v| {
            s.outbox_workers = parse(v, "a whole number of at least 1")?;
            Ok(())
        }),
        default: |s| format!("`{}`", s.outbox_workers),
        meaning: "outbox delivery loops",
    },
    Var {
        name: "BATON_OUTBOX_PARALLEL",
        file_key: Some("outbox_parallel"),
        apply: Apply::Value(|s, v| {
            s.outbox_parallel = parse(v, "a whole number of at least 1")?;
            Ok(())
        }),
        default: |s| format!("`{}`", s.outbox_parallel),
        meaning: "sends each delivery loop keeps in flight at once (to different channels)",
    },
    Var {
        name: "BATON_TICK_SECONDS",
        file_key: Some("tick_seconds"),
        apply: Apply::Value(|s, v| {
            s.tick_seconds = parse(v, "a whole number of seconds, at least 1")?;
            Ok(())
        }),
        default: |s| format!("`{}`", s.tick_seconds),
        meaning: "longest sleep between scheduler ticks (it wakes earlier when something is due)",
    },
    Var {
        name: "BATON_LOG",
        file_key: Some("log"),
        apply: Apply::Value(|s, v| {
            s.log = v.trim().to_string();
            Ok(())
        }),
        default: |s| format!("`{}`", s.log),
        meaning: "log filter (`tracing` EnvFilter syntax); the CLI defaults to `warn`",
    },
    Var {
        name: "BATON_LOG_FORMAT",
        file_key: Some("log_format"),
        apply: Apply::Value(|s, v| {
            s.log_format = v.parse()?;
            Ok(())
        }),
        default: |s| format!("`{}`", debug_lower(&s.log_format)),
        meaning: "`text` or `json`",
    },
    Var {
        name: "BATON_NUDGE_CAP",
        file_key: Some("nudge_cap"),
        apply: Apply::Value(|s, v| {
            s.nudge_cap = parse(v, "a whole number")?;
            Ok(())
        }),
        default: |s| format!("`{}`", s.nudge_cap),
        meaning: "reminders per person per week",
    },
    Var {
        name: "BATON_REVIEW_IDLE_HOURS",
        file_key: Some("review_idle_hours"),
        apply: Apply::Value(|s, v| {
            s.review_idle_hours = parse(v, "a whole number of hours, at least 1")?;
            Ok(())
        }),
        default: |s| format!("`{}`", s.review_idle_hours),
        meaning: "hours without a move or a capture after which a running review closes itself and posts its summary",
    },
    Var {
        name: "BATON_SHUTDOWN_GRACE_SECONDS",
        file_key: Some("shutdown_grace_seconds"),
        apply: Apply::Value(|s, v| {
            s.shutdown_grace_seconds = parse(v, "a whole number of seconds")?;
            Ok(())
        }),
        default: |s| format!("`{}`", s.shutdown_grace_seconds),
        meaning: "time allowed for in-flight work after SIGTERM",
    },
    Var {
        name: "BATON_RETENTION_DAYS",
        file_key: Some("retention_days"),
        apply: Apply::Value(|s, v| {
            s.retention_days = parse(v, "a whole number of days, at least 1")?;
            Ok(())
        }),
        default: |s| format!("`{}`", s.retention_days),
        meaning: "days delivered outbox messages and seen inbound-delivery ids are kept; the daily retention job (03:17 UTC) deletes older ones",
    },
    Var {
        name: "BATON_DATA_DIR",
        file_key: Some("data_dir"),
        apply: Apply::Value(|s, v| {
            s.data_dir = Some(PathBuf::from(v.trim()));
            Ok(())
        }),
        default: |_| {
            "`$XDG_DATA_HOME/baton`, else `~/.local/share/baton` (as root: `/var/lib/baton`)"
                .to_string()
        },
        meaning: "baton's own files: the embedded database lives in `postgres/` under it",
    },
    Var {
        name: "BATON_EMBEDDED_DATABASE",
        file_key: Some("embedded_database"),
        apply: Apply::Value(|s, v| {
            s.embedded_database = parse(v, "`true` or `false`")?;
            Ok(())
        }),
        default: |s| format!("`{}`", s.embedded_database),
        meaning: "single node only: `baton serve` starts a Postgres of its own under the data directory (loopback, kept between runs) and ignores the database URL; `migrate`, `apply`, `shell`, `calendar` and `doctor` use it too (the running one, else started for the command) unless `--database-url` is given",
    },
    Var {
        name: "BATON_POSTGRES_INSTALLATIONS",
        file_key: Some("postgres_installations"),
        apply: Apply::Value(|s, v| {
            s.postgres_installations = PathBuf::from(v.trim());
            Ok(())
        }),
        default: |s| format!("`{}`", s.postgres_installations.display()),
        meaning: "where the embedded database looks for installed Postgres binaries (`<dir>/<major>/bin/initdb`, newest wins)",
    },
    Var {
        name: "BATON_POSTGRES_DOWNLOAD_URL",
        file_key: Some("postgres_download_url"),
        apply: Apply::Value(|s, v| {
            let v = v.trim();
            if !(v.starts_with("https://") || v.starts_with("http://")) {
                return Err(format!("`{v}` is not an http(s) URL"));
            }
            s.postgres_download_url = v.to_string();
            Ok(())
        }),
        default: |s| format!("`{}`", s.postgres_download_url),
        meaning: "when no Postgres is installed, the embedded database downloads `<url>/<version>/postgresql-<version>-<target>.tar.gz`, checks it against the `.sha256` beside it and unpacks it once under `<data dir>/postgresql`; point it at a mirror if needed",
    },
    Var {
        name: "BATON_POSTGRES_VERSION",
        file_key: Some("postgres_version"),
        apply: Apply::Value(|s, v| {
            let v = v.trim();
            let ok = v.split('.').count() == 3
                && v.split('.')
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
            if !ok {
                return Err(format!("`{v}` is not a version like 17.2.0"));
            }
            s.postgres_version = v.to_string();
            Ok(())
        }),
        default: |s| format!("`{}`", s.postgres_version),
        meaning: "the Postgres version downloaded when none is installed",
    },
    Var {
        name: "BATON_SLACK_BOT_TOKEN",
        file_key: Some("slack.bot_token"),
        apply: Apply::Secret(|s, v| s.slack.bot_token = Some(v)),
        default: none,
        meaning: "Slack bot token (`xoxb-…`); Slack is on when it is set; never printed",
    },
    Var {
        name: "BATON_SLACK_APP_TOKEN",
        file_key: Some("slack.app_token"),
        apply: Apply::Secret(|s, v| s.slack.app_token = Some(v)),
        default: none,
        meaning: "Slack app-level token (`xapp-…`, scope `connections:write`), needed only for Socket Mode; never printed",
    },
    Var {
        name: "BATON_SLACK_SIGNING_SECRET",
        file_key: Some("slack.signing_secret"),
        apply: Apply::Secret(|s, v| s.slack.signing_secret = Some(v)),
        default: none,
        meaning: "Slack signing secret, needed only for HTTP mode; never printed",
    },
    Var {
        name: "BATON_SLACK_MODE",
        file_key: Some("slack.mode"),
        apply: Apply::Value(|s, v| {
            s.slack.mode = v.parse()?;
            Ok(())
        }),
        default: |s| format!("`{}`", debug_lower(&s.slack.mode)),
        meaning: "`socket` (Socket Mode, no public URL) or `http` (Slack calls `/slack/…`: needs TLS in front of baton, which listens on plain HTTP)",
    },
    Var {
        name: "BATON_SLACK_API_URL",
        file_key: Some("slack.api_url"),
        apply: Apply::Value(|s, v| {
            s.slack.api_url = http_url(v)?;
            Ok(())
        }),
        default: |s| format!("`{}`", s.slack.api_url),
        meaning: "Slack Web API base URL, methods are added to it (`…/chat.postMessage`): GovSlack, a proxy",
    },
    Var {
        name: "BATON_DISCORD_BOT_TOKEN",
        file_key: Some("discord.bot_token"),
        apply: Apply::Secret(|s, v| s.discord.bot_token = Some(v)),
        default: none,
        meaning: "Discord bot token; Discord is on when it is set; never printed",
    },
    Var {
        name: "BATON_DISCORD_PUBLIC_KEY",
        file_key: Some("discord.public_key"),
        apply: Apply::Secret(|s, v| s.discord.public_key = Some(v)),
        default: none,
        meaning: "Discord application public key, for the HTTP interactions endpoint; never printed",
    },
    Var {
        name: "BATON_DISCORD_APPLICATION_ID",
        file_key: Some("discord.application_id"),
        apply: Apply::Value(|s, v| {
            s.discord.application_id = Some(parse(v, "a Discord application id")?);
            Ok(())
        }),
        default: none,
        meaning: "Discord application id (command registration, follow-ups, the gateway lock)",
    },
    Var {
        name: "BATON_DISCORD_GUILD_ID",
        file_key: Some("discord.guild_id"),
        apply: Apply::Value(|s, v| {
            s.discord.guild_id = Some(parse(v, "a Discord guild id")?);
            Ok(())
        }),
        default: none,
        meaning: "register `/baton` in this guild only (instant, for development) instead of globally",
    },
    Var {
        name: "BATON_DISCORD_API_URL",
        file_key: Some("discord.api_url"),
        apply: Apply::Value(|s, v| {
            s.discord.api_url = Some(v.trim().to_string());
            Ok(())
        }),
        default: none,
        meaning: "a base URL to which baton adds `/api/v10/…` (e.g. `http://proxy:8080`, not `…/api/v10`): a rate-limiting proxy; turns serenity's own rate limiter off",
    },
    Var {
        name: "BATON_DISCORD_MODE",
        file_key: Some("discord.mode"),
        apply: Apply::Value(|s, v| {
            s.discord.mode = Some(v.parse()?);
            Ok(())
        }),
        default: |s| match s.discord.mode {
            Some(m) => format!("`{}`", debug_lower(&m)),
            None => "`gateway` (`http` when a public key is set)".to_string(),
        },
        meaning: "how Discord reaches baton: `gateway` or `http` (the interactions endpoint: needs TLS in front of baton)",
    },
    Var {
        name: "BATON_DISCORD_LOCK_POLL_SECONDS",
        file_key: Some("discord.lock_poll_seconds"),
        apply: Apply::Value(|s, v| {
            s.discord.lock_poll_seconds = parse(v, "a whole number of seconds, at least 1")?;
            Ok(())
        }),
        default: |s| format!("`{}`", s.discord.lock_poll_seconds),
        meaning: "gateway mode: how often a standby replica tries to take over",
    },
    Var {
        name: "BATON_DISCORD_MESSAGE_CONTENT",
        file_key: Some("discord.message_content"),
        apply: Apply::Value(|s, v| {
            s.discord.message_content = parse(v, "`true` or `false`")?;
            Ok(())
        }),
        default: |s| format!("`{}`", s.discord.message_content),
        meaning: "gateway mode: ask for the message-content intent (review threads)",
    },
];

/// baton's data directory when none is set: `$XDG_DATA_HOME/baton`, else
/// `~/.local/share/baton`; as root `/var/lib/baton`, because the embedded database's
/// processes run as the `postgres` user, who cannot enter root's home.
pub fn default_data_dir() -> PathBuf {
    if crate::embedded::is_root() {
        return PathBuf::from("/var/lib/baton");
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|x| !x.is_empty()) {
        return PathBuf::from(x).join("baton");
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => PathBuf::from(h).join(".local/share/baton"),
        None => std::env::temp_dir().join("baton"),
    }
}

impl Settings {
    /// The data directory in effect: `data_dir`, else [`default_data_dir`].
    pub fn data_dir(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(default_data_dir)
    }

    /// Where the embedded database's Postgres binaries come from: `BATON_POSTGRES_*` and
    /// the data directory (downloads go to `<data dir>/postgresql`).
    pub fn postgres_binaries(&self) -> crate::embedded::Binaries {
        crate::embedded::Binaries {
            installations: self.postgres_installations.clone(),
            download_url: self.postgres_download_url.clone(),
            version: self.postgres_version.clone(),
            cache: self.data_dir().join("postgresql"),
        }
    }

    /// How long housekeeping keeps delivered messages and seen delivery ids.
    pub fn retention(&self) -> chrono::Duration {
        let days = i64::try_from(self.retention_days.get()).unwrap_or(i64::MAX);
        chrono::Duration::try_days(days).unwrap_or(chrono::Duration::MAX)
    }
}

/// The names of every environment variable baton reads.
pub fn env_vars() -> impl Iterator<Item = &'static str> {
    ENV.iter().map(|v| v.name)
}

/// The settings table of the README, rendered from the definition above (defaults read from
/// [`Settings::default`]). `BATON_BLESS=1 cargo test --lib settings_table` writes it into
/// the README between the `settings-table` markers.
pub fn settings_table() -> String {
    let defaults = Settings::default();
    let mut out =
        String::from("| variable | `baton.toml` key | default | meaning |\n|---|---|---|---|\n");
    for v in ENV {
        let key = v.file_key.map_or("—".to_string(), |k| format!("`{k}`"));
        out.push_str(&format!(
            "| `{}` | {key} | {} | {} |\n",
            v.name,
            (v.default)(&defaults),
            v.meaning
        ));
    }
    out
}

impl Settings {
    /// The base URL of baton's HTTP server as people reach it: `public_url`, else `http://`
    /// and the listen address.
    pub fn public_base_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.http_addr),
        }
    }

    /// Defaults, then `file` (if given), then the variables `env` returns. Empty variables
    /// count as unset.
    pub fn load(
        file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, ConfigError> {
        let mut settings = match file {
            Some(path) => Self::from_file(path)?,
            None => Settings::default(),
        };
        for Var {
            name: var, apply, ..
        } in ENV
        {
            let Some(value) = env(var).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            match apply {
                Apply::Secret(set) => set(&mut settings, SecretString::from(value)),
                Apply::Value(set) => {
                    set(&mut settings, &value).map_err(|reason| ConfigError::Env { var, reason })?
                }
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&settings.log) {
            return Err(match env("BATON_LOG").filter(|v| !v.trim().is_empty()) {
                Some(_) => ConfigError::Env {
                    var: "BATON_LOG",
                    reason: format!("`{}` is not a log filter ({e})", settings.log),
                },
                None => ConfigError::Invalid {
                    path: file.map(Path::to_path_buf).unwrap_or_default(),
                    reason: format!("log: `{}` is not a log filter ({e})", settings.log),
                },
            });
        }
        Ok(settings)
    }

    /// As [`Settings::load`], reading the process environment.
    pub fn from_env(file: Option<&Path>) -> Result<Settings, ConfigError> {
        Self::load(file, |k| std::env::var(k).ok())
    }

    fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            reason: toml_reason(&text, &e),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::io::Write;

    #[test]
    fn a_broken_line_is_located_but_never_echoed() {
        let dir = std::env::temp_dir().join(format!("baton-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret.toml");
        std::fs::write(
            &path,
            "[slack]\nbot_token = \"xoxb-1234-5678-SECRETSECRET\" trailing\n",
        )
        .unwrap();
        let e = Settings::from_file(&path).unwrap_err().to_string();
        assert!(!e.contains("SECRET"), "{e}");
        assert!(!e.contains("xoxb"), "{e}");
        assert!(e.contains("line 2"), "{e}");
        std::fs::write(&path, "[slack]\nbot_tokn = \"x\"\n").unwrap();
        let e = Settings::from_file(&path).unwrap_err().to_string();
        assert!(e.contains("bot_tokn"), "a field name is kept: {e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    use secrecy::ExposeSecret;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    /// A throwaway config file in the temp directory, removed on drop.
    struct TempToml(PathBuf);

    impl Drop for TempToml {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn file(text: &str) -> TempToml {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("baton-config-test-{}-{n}.toml", std::process::id()));
        let mut f = std::fs::File::create(&path).expect("create temp config");
        f.write_all(text.as_bytes()).expect("write temp config");
        TempToml(path)
    }

    #[test]
    fn defaults_without_file_or_env() {
        let s = Settings::load(None, env(&[])).unwrap();
        assert_eq!(s.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(s.http_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.outbox_workers.get(), 2);
        assert_eq!(s.tick_seconds.get(), 60);
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(s.nudge_cap, 5);
        assert_eq!(s.shutdown_grace_seconds, 20);
        assert!(s.slack.bot_token.is_none());
        assert_eq!(s.slack.mode, SlackMode::Socket);
        assert_eq!(s.slack.api_url, DEFAULT_SLACK_API_URL);
        assert_eq!(s.public_base_url(), "http://127.0.0.1:8080");
        let s = Settings::load(
            None,
            env(&[("BATON_PUBLIC_URL", "https://baton.example.com/")]),
        )
        .unwrap();
        assert_eq!(s.public_base_url(), "https://baton.example.com");
    }

    #[test]
    fn slack_mode_and_api_url_come_from_file_and_env() {
        let f = file("[slack]\nmode = \"http\"\napi_url = \"https://slack-gov.com/api\"\n");
        let s = Settings::load(Some(&f.0), env(&[])).unwrap();
        assert_eq!(s.slack.mode, SlackMode::Http);
        assert_eq!(s.slack.api_url, "https://slack-gov.com/api");
        let s = Settings::load(
            Some(&f.0),
            env(&[
                ("BATON_SLACK_MODE", "Socket"),
                ("BATON_SLACK_API_URL", "http://127.0.0.1:9999/api/"),
            ]),
        )
        .unwrap();
        assert_eq!(s.slack.mode, SlackMode::Socket);
        assert_eq!(s.slack.api_url, "http://127.0.0.1:9999/api");
    }

    #[test]
    fn file_overrides_defaults_and_env_overrides_file() {
        let f = file(
            "http_addr = \"0.0.0.0:9000\"\noutbox_workers = 4\ntick_seconds = 30\n\
             log_format = \"json\"\n[slack]\nbot_token = \"xoxb-from-file\"\n",
        );
        let s = Settings::load(Some(&f.0), env(&[])).unwrap();
        assert_eq!(s.http_addr.to_string(), "0.0.0.0:9000");
        assert_eq!(s.outbox_workers.get(), 4);
        assert_eq!(s.tick_seconds.get(), 30);
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(
            s.slack.bot_token.as_ref().unwrap().expose_secret(),
            "xoxb-from-file"
        );
        // Untouched by the file: still the default.
        assert_eq!(s.nudge_cap, 5);

        let s = Settings::load(
            Some(&f.0),
            env(&[
                ("BATON_HTTP_ADDR", "127.0.0.1:7000"),
                ("BATON_OUTBOX_WORKERS", "1"),
                ("BATON_LOG_FORMAT", "TEXT"),
                ("BATON_SLACK_BOT_TOKEN", "xoxb-from-env"),
                ("BATON_NUDGE_CAP", "3"),
                ("BATON_TICK_SECONDS", ""),
            ]),
        )
        .unwrap();
        assert_eq!(s.http_addr.to_string(), "127.0.0.1:7000");
        assert_eq!(s.outbox_workers.get(), 1);
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(
            s.slack.bot_token.as_ref().unwrap().expose_secret(),
            "xoxb-from-env"
        );
        assert_eq!(s.nudge_cap, 3);
        // An empty variable counts as unset: the file's value stands.
        assert_eq!(s.tick_seconds.get(), 30);
    }

    #[test]
    fn baton_database_url_beats_plain_database_url_which_beats_the_file() {
        let f = file("database_url = \"postgres://file@db/baton\"\n");
        let s = Settings::load(Some(&f.0), env(&[])).unwrap();
        assert_eq!(s.database_url, "postgres://file@db/baton");
        let s = Settings::load(
            Some(&f.0),
            env(&[("DATABASE_URL", "postgres://plain@db/x")]),
        )
        .unwrap();
        assert_eq!(s.database_url, "postgres://plain@db/x");
        let s = Settings::load(
            Some(&f.0),
            env(&[
                ("DATABASE_URL", "postgres://plain@db/x"),
                ("BATON_DATABASE_URL", "postgres://baton@db/y"),
            ]),
        )
        .unwrap();
        assert_eq!(s.database_url, "postgres://baton@db/y");
    }

    #[test]
    fn bad_env_values_name_the_variable() {
        for (var, value, needle) in [
            ("BATON_HTTP_ADDR", "localhost:80:80", "address"),
            ("BATON_OUTBOX_WORKERS", "0", "at least 1"),
            ("BATON_OUTBOX_WORKERS", "many", "at least 1"),
            ("BATON_TICK_SECONDS", "-5", "seconds"),
            ("BATON_LOG_FORMAT", "xml", "unknown log format `xml`"),
            ("BATON_SHUTDOWN_GRACE_SECONDS", "soon", "seconds"),
            ("BATON_LOG", "info,[[[", "log filter"),
            ("BATON_SLACK_MODE", "rtm", "unknown Slack mode `rtm`"),
            ("BATON_SLACK_API_URL", "slack.com/api", "not an http(s) URL"),
            (
                "BATON_PUBLIC_URL",
                "baton.example.com",
                "not an http(s) URL",
            ),
        ] {
            let err = Settings::load(None, env(&[(var, value)])).unwrap_err();
            let msg = err.to_string();
            assert!(msg.starts_with(var), "{var}: {msg}");
            assert!(msg.contains(needle), "{var}: {msg}");
        }
    }

    #[test]
    fn bad_files_name_the_file_and_line() {
        let missing = Path::new("/nonexistent/baton.toml");
        let msg = Settings::load(Some(missing), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("/nonexistent/baton.toml"), "{msg}");
        assert!(msg.contains("cannot read"), "{msg}");

        let f = file("log = \"info\"\noutbox_workers = 0\n");
        let msg = Settings::load(Some(&f.0), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&f.0.display().to_string()), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");

        let f = file("http_addr = \"127.0.0.1:8080\"\nhttp_adr = \"x\"\n");
        let msg = Settings::load(Some(&f.0), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 2") && msg.contains("http_adr"), "{msg}");

        let f = file("tick_seconds = [unclosed\n");
        let msg = Settings::load(Some(&f.0), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 1"), "{msg}");

        let f = file("log_format = \"xml\"\n");
        let msg = Settings::load(Some(&f.0), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 1") && msg.contains("xml"), "{msg}");
    }

    #[test]
    fn debug_never_shows_secrets_or_the_database_password() {
        let s = Settings::load(
            None,
            env(&[
                ("BATON_DATABASE_URL", "postgres://baton:hunter2-db@db/baton"),
                ("BATON_SLACK_BOT_TOKEN", "xoxb-secret-1"),
                ("BATON_SLACK_APP_TOKEN", "xapp-secret-2"),
                ("BATON_SLACK_SIGNING_SECRET", "signing-secret-3"),
                ("BATON_DISCORD_BOT_TOKEN", "discord-secret-4"),
                ("BATON_DISCORD_PUBLIC_KEY", "discord-key-5"),
            ]),
        )
        .unwrap();
        let shown = format!("{s:?} {s:#?}");
        for secret in [
            "hunter2-db",
            "xoxb-secret-1",
            "xapp-secret-2",
            "signing-secret-3",
            "discord-secret-4",
            "discord-key-5",
        ] {
            assert!(!shown.contains(secret), "{secret} leaked: {shown}");
        }
        assert!(shown.contains("postgres://baton:***@db/baton"), "{shown}");
        assert_eq!(
            s.discord.public_key.as_ref().unwrap().expose_secret(),
            "discord-key-5"
        );
    }

    #[test]
    fn discord_ids_and_api_url_come_from_the_environment() {
        let s = Settings::load(
            None,
            env(&[
                ("BATON_DISCORD_APPLICATION_ID", "1187000000000000001"),
                ("BATON_DISCORD_GUILD_ID", "1187532046617530408"),
                ("BATON_DISCORD_API_URL", "http://127.0.0.1:9999"),
            ]),
        )
        .unwrap();
        assert_eq!(s.discord.application_id, Some(1187000000000000001));
        assert_eq!(s.discord.guild_id, Some(1187532046617530408));
        assert_eq!(s.discord.api_url.as_deref(), Some("http://127.0.0.1:9999"));
        assert!(Settings::load(None, env(&[("BATON_DISCORD_GUILD_ID", "general")])).is_err());
    }

    #[test]
    fn discord_mode_defaults_to_the_gateway_unless_a_public_key_is_set() {
        let s = Settings::load(None, env(&[("BATON_DISCORD_BOT_TOKEN", "t")])).unwrap();
        assert_eq!(s.discord.mode(), DiscordMode::Gateway);
        assert_eq!(s.discord.lock_poll_seconds.get(), 5);
        assert!(s.discord.message_content);
        let s = Settings::load(None, env(&[("BATON_DISCORD_PUBLIC_KEY", "k")])).unwrap();
        assert_eq!(s.discord.mode(), DiscordMode::Http);
        let s = Settings::load(
            None,
            env(&[
                ("BATON_DISCORD_PUBLIC_KEY", "k"),
                ("BATON_DISCORD_MODE", "Gateway"),
                ("BATON_DISCORD_LOCK_POLL_SECONDS", "2"),
                ("BATON_DISCORD_MESSAGE_CONTENT", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(s.discord.mode(), DiscordMode::Gateway);
        assert_eq!(s.discord.lock_poll_seconds.get(), 2);
        assert!(!s.discord.message_content);
        for (var, bad) in [
            ("BATON_DISCORD_MODE", "websocket"),
            ("BATON_DISCORD_LOCK_POLL_SECONDS", "0"),
            ("BATON_DISCORD_MESSAGE_CONTENT", "maybe"),
        ] {
            let e = Settings::load(None, env(&[(var, bad)])).unwrap_err();
            assert!(e.to_string().contains(var), "{e}");
        }
    }

    /// The README's settings table is the one [`settings_table`] renders (with
    /// `BATON_BLESS=1` the README is rewritten instead).
    #[test]
    fn readme_settings_table_matches_the_definition() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
        let readme = std::fs::read_to_string(&path).unwrap();
        let (start, end) = (
            "<!-- settings-table:start -->\n",
            "<!-- settings-table:end -->",
        );
        let a = readme
            .find(start)
            .expect("README has the settings-table start marker")
            + start.len();
        let b = readme
            .find(end)
            .expect("README has the settings-table end marker");
        let table = settings_table();
        if std::env::var_os("BATON_BLESS").is_some() {
            std::fs::write(&path, format!("{}{table}{}", &readme[..a], &readme[b..])).unwrap();
            return;
        }
        assert_eq!(
            readme[a..b],
            table,
            "README's settings table is stale: run `BATON_BLESS=1 cargo test --lib settings_table`"
        );
    }

    /// The keys a section of the file accepts, read from serde's refusal of an unknown one.
    fn accepted_keys(section: Option<&str>) -> Vec<String> {
        let text = match section {
            Some(s) => format!("[{s}]\nno_such_key = 1\n"),
            None => "no_such_key = 1\n".to_string(),
        };
        let e = toml::from_str::<Settings>(&text).unwrap_err();
        let msg = e.message().to_string();
        let list = msg.split("expected one of").nth(1).expect(&msg);
        list.split(',')
            .map(|k| k.trim().trim_matches('`').to_string())
            .collect()
    }

    /// Every key the file accepts has its environment variable (so its row in the table),
    /// every variable's file key is accepted, and the example file mentions each one.
    #[test]
    fn every_file_key_has_a_variable_and_the_example_mentions_it() {
        let mut file_keys: Vec<String> = accepted_keys(None)
            .into_iter()
            .filter(|k| k != "slack" && k != "discord")
            .collect();
        for section in ["slack", "discord"] {
            file_keys.extend(
                accepted_keys(Some(section))
                    .into_iter()
                    .map(|k| format!("{section}.{k}")),
            );
        }
        file_keys.sort();
        let mut declared: Vec<String> = ENV
            .iter()
            .filter_map(|v| v.file_key.map(str::to_string))
            .collect();
        declared.sort();
        assert_eq!(file_keys, declared, "file keys vs variables");

        let example = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("baton.example.toml"),
        )
        .unwrap();
        for key in &declared {
            let (section, leaf) = match key.split_once('.') {
                Some((s, l)) => (Some(s), l),
                None => (None, key.as_str()),
            };
            // The part of the example the key belongs to: before the first table, or that table.
            let part = match section {
                None => example.split("\n[").next().unwrap().to_string(),
                Some(s) => example
                    .split(&format!("[{s}]\n"))
                    .nth(1)
                    .map(|rest| rest.split("\n[").next().unwrap().to_string())
                    .unwrap_or_default(),
            };
            let mentioned = part.lines().any(|l| {
                l.trim_start_matches(['#', ' '])
                    .starts_with(&format!("{leaf} ="))
            });
            assert!(mentioned, "baton.example.toml does not show `{key}`");
        }
    }

    #[test]
    fn the_example_file_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("baton.example.toml");
        let s = Settings::load(Some(&path), env(&[])).unwrap();
        assert_eq!(s.http_addr.to_string(), "127.0.0.1:8080");
    }
}
