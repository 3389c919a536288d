//! `baton doctor`: checks a whole installation and says how to fix what is wrong.
//!
//! Every check is a line, ✔ or ✖, and every ✖ carries its fix. The checks, in order:
//!
//! - the database answers, and its migrations are exactly this binary's;
//! - an organisation was applied;
//! - Slack, when its bot token is set: the token (`auth.test`), the scopes it was granted
//!   (the `x-oauth-scopes` header) against those `manifests/slack-app.yaml` asks for, the
//!   workspace against the manifest's Slack identities, the app-level token for Socket Mode
//!   (`apps.connections.open`, then a WebSocket connection that waits for Slack's `hello`
//!   and closes) or the signing secret for HTTP mode, and every department channel: it
//!   exists and baton is in it (`conversations.info`);
//! - Discord, when its bot token is set: the token and the application
//!   (`GET /applications/@me`) against `BATON_DISCORD_APPLICATION_ID`, the public key for
//!   HTTP mode; in gateway mode, the message-content intent enabled for the application
//!   (its flags) when baton asks for it, and the gateway's session-start limit
//!   (`GET /gateway/bot`); and every department channel: it exists, baton sees it, and baton's
//!   permissions there (roles and channel overwrites, computed as Discord does) include
//!   what the invite asks for, Attach Files among them;
//! - every person can be reached on some configured platform;
//! - the calendar link (`BATON_PUBLIC_URL`) answers with the feed.
//!
//! It reads and asks; it changes nothing. The Socket Mode check connects for a moment and
//! acks nothing.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::Value;

use crate::app::App;
use crate::chat::router::{Reach, reachability};
use crate::clock::SystemClock;
use crate::config::{DiscordMode, Settings, SlackMode};
use crate::domain::OrgSpec;
use crate::store::{MIGRATOR, Store, redact_url};

/// How long one remote check may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// One line of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub ok: bool,
    pub what: String,
    /// How to fix it (for a ✖).
    pub fix: Option<String>,
}

fn pass(what: impl Into<String>) -> Check {
    Check {
        ok: true,
        what: what.into(),
        fix: None,
    }
}

fn fail(what: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        ok: false,
        what: what.into(),
        fix: Some(fix.into()),
    }
}

/// How far a platform's checks go: the whole list, or only the bot token (one call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    Full,
    Token,
}

/// Everything doctor found.
#[derive(Debug, Default)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The report as printed: one line per check, the fix indented under each ✖.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            out.push_str(if c.ok { "✔ " } else { "✖ " });
            out.push_str(&c.what);
            out.push('\n');
            if let Some(fix) = &c.fix {
                out.push_str("    fix: ");
                out.push_str(fix);
                out.push('\n');
            }
        }
        let failed = self.checks.iter().filter(|c| !c.ok).count();
        if failed == 0 {
            out.push_str("All checks passed.\n");
        } else {
            out.push_str(&format!("{failed} check(s) failed.\n"));
        }
        out
    }

    fn push(&mut self, c: Check) {
        self.checks.push(c);
    }
}

/// Runs every check against `settings`.
pub async fn run(settings: &Settings) -> Report {
    let mut r = Report::default();
    let http = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .expect("an HTTP client");
    let app = database(settings, &mut r).await;
    let orgs = match &app {
        Some(app) => organisations(app, &mut r).await,
        None => Vec::new(),
    };
    let mut configured: Vec<&'static str> = Vec::new();
    if settings.slack.bot_token.is_some() {
        configured.push(crate::chat::slack::PLATFORM);
        slack(settings, &http, &orgs, Depth::Full, &mut r).await;
    }
    if settings.discord.bot_token.is_some() {
        configured.push(crate::chat::discord::PLATFORM);
        discord(settings, &http, &orgs, Depth::Full, &mut r).await;
    }
    if let Some(app) = &app {
        people(app, &orgs, &configured, &mut r).await;
        calendar(settings, app, &http, &orgs, &configured, &mut r).await;
    }
    r
}

/// The daily self-check housekeeping writes to the log: a light doctor over the running
/// app's own database. The database and its migrations, the organisations, each
/// configured platform's bot token (one call each, not every channel), who cannot be
/// reached and the dead letters, counted at `now`.
pub async fn self_check(app: &App, settings: &Settings, now: DateTime<Utc>) -> Report {
    let mut r = Report::default();
    match tokio::time::timeout(TIMEOUT, app.store.ping()).await {
        Ok(Ok(())) => {
            r.push(pass(format!(
                "database: {} answers",
                redact_url(&settings.database_url)
            )));
            migrations(&app.store, &mut r).await;
        }
        Ok(Err(e)) => {
            r.push(fail(
                format!("database: {e}"),
                "check that PostgreSQL is up and BATON_DATABASE_URL points at it",
            ));
            return r;
        }
        Err(_) => {
            r.push(fail(
                format!("database: no answer within {TIMEOUT:?}"),
                "check that PostgreSQL is up and not overloaded",
            ));
            return r;
        }
    }
    let orgs = organisations(app, &mut r).await;
    let http = reqwest::Client::builder()
        .timeout(TIMEOUT)
        .build()
        .expect("an HTTP client");
    if settings.slack.bot_token.is_some() {
        slack(settings, &http, &orgs, Depth::Token, &mut r).await;
    }
    if settings.discord.bot_token.is_some() {
        discord(settings, &http, &orgs, Depth::Token, &mut r).await;
    }
    match app.store.unreachable_count().await {
        Ok(0) => r.push(pass("people: everyone can be reached")),
        Ok(n) => r.push(fail(
            format!("people: {n} cannot be reached on any configured platform"),
            "run `baton doctor` for who and why",
        )),
        Err(e) => r.push(fail(
            format!("people: cannot count the unreachable: {e}"),
            "run `baton doctor`",
        )),
    }
    match crate::outbox::depth_by_state(&app.store, now).await {
        Ok(rows) => {
            let dead = rows
                .iter()
                .find(|(s, _)| *s == "dead")
                .map_or(0, |(_, n)| *n);
            if dead == 0 {
                r.push(pass("outbox: no dead letters"));
            } else {
                r.push(fail(
                    format!("outbox: {dead} dead letter(s)"),
                    "read their last_error in the outbox (state 'dead') and fix the cause; they are not retried",
                ));
            }
        }
        Err(e) => r.push(fail(
            format!("outbox: cannot count dead letters: {e}"),
            "check the database",
        )),
    }
    r
}

/// The database and its migrations; the app over it when it answers.
async fn database(settings: &Settings, r: &mut Report) -> Option<App> {
    let url = redact_url(&settings.database_url);
    let store = match tokio::time::timeout(TIMEOUT, Store::connect(&settings.database_url, false))
        .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            r.push(fail(
                format!("database: {e}"),
                "start PostgreSQL there, or point BATON_DATABASE_URL at your server",
            ));
            return None;
        }
        Err(_) => {
            r.push(fail(
                format!("database: {url} did not answer within {TIMEOUT:?}"),
                "check the host and port in BATON_DATABASE_URL, and that PostgreSQL accepts connections from here",
            ));
            return None;
        }
    };
    r.push(pass(format!("database: {url} answers")));
    migrations(&store, r).await;
    Some(App::new(store, Arc::new(SystemClock)))
}

/// The migrations the database has against this binary's.
async fn migrations(store: &Store, r: &mut Report) {
    match store.applied_migrations().await {
        Ok(applied) => {
            let known: BTreeSet<i64> = MIGRATOR.iter().map(|m| m.version).collect();
            let applied: BTreeSet<i64> = applied.into_iter().collect();
            let missing: Vec<String> = known
                .difference(&applied)
                .map(|v| format!("{v:04}"))
                .collect();
            let unknown: Vec<String> = applied
                .difference(&known)
                .map(|v| format!("{v:04}"))
                .collect();
            if !unknown.is_empty() {
                r.push(fail(
                    format!(
                        "migrations: the database has {} this baton does not know ({}): it was migrated by a newer baton",
                        unknown.len(),
                        unknown.join(", ")
                    ),
                    "run the newer baton, or restore a backup taken before it migrated",
                ));
            } else if missing.is_empty() {
                r.push(pass(format!("migrations: all {} applied", known.len())));
            } else {
                r.push(fail(
                    format!(
                        "migrations: {} not applied ({})",
                        missing.len(),
                        missing.join(", ")
                    ),
                    "run `baton migrate` (`baton serve` also migrates on start)",
                ));
            }
        }
        Err(e) => r.push(fail(
            format!("migrations: cannot read them: {e}"),
            "run `baton migrate`",
        )),
    }
}

/// The organisations with their declared structure.
async fn organisations(app: &App, r: &mut Report) -> Vec<(i64, Arc<OrgSpec>)> {
    let orgs = match app.store.orgs().await {
        Ok(o) => o,
        Err(e) => {
            r.push(fail(
                format!("organisations: cannot read them: {e}"),
                "run `baton migrate`, then `baton apply org.yaml`",
            ));
            return Vec::new();
        }
    };
    if orgs.is_empty() {
        r.push(fail(
            "organisations: none applied yet",
            "write an org manifest (see manifests/example-org.yaml) and run `baton apply org.yaml`",
        ));
    }
    let mut out = Vec::new();
    for o in orgs {
        match app.spec(o.id).await {
            Ok(spec) => {
                r.push(pass(format!(
                    "organisation {} ({}): {} people, {} departments",
                    o.key,
                    o.name,
                    spec.people.len(),
                    spec.departments.len()
                )));
                out.push((o.id, spec));
            }
            Err(e) => r.push(fail(
                format!("organisation {}: cannot read it: {e}", o.key),
                "apply the manifest again: `baton apply org.yaml`",
            )),
        }
    }
    out
}

/// A Slack Web API call: the answer's JSON and headers, or why there is none.
async fn slack_call(
    http: &reqwest::Client,
    base: &str,
    method: &str,
    token: &str,
    form: &[(&str, &str)],
) -> Result<(Value, reqwest::header::HeaderMap), String> {
    let resp = http
        .post(format!("{base}/{method}"))
        .bearer_auth(token)
        .form(form)
        .send()
        .await
        .map_err(|e| format!("{method}: {e}"))?;
    let headers = resp.headers().clone();
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| format!("{method}: {e}"))?;
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| format!("{method}: HTTP {status}, not JSON ({e})"))?;
    Ok((v, headers))
}

fn slack_error(v: &Value) -> String {
    v["error"].as_str().unwrap_or("refused").to_string()
}

async fn slack(
    settings: &Settings,
    http: &reqwest::Client,
    orgs: &[(i64, Arc<OrgSpec>)],
    depth: Depth,
    r: &mut Report,
) {
    let s = &settings.slack;
    let base = s.api_url.trim_end_matches('/');
    let token = s
        .bot_token
        .as_ref()
        .map(|t| t.expose_secret().to_string())
        .unwrap_or_default();
    let (v, headers) = match slack_call(http, base, "auth.test", &token, &[]).await {
        Ok(x) => x,
        Err(e) => {
            r.push(fail(
                format!("Slack: cannot reach the Web API at {base}: {e}"),
                "check the network, or BATON_SLACK_API_URL (default https://slack.com/api)",
            ));
            return;
        }
    };
    if v["ok"] != true {
        r.push(fail(
            format!("Slack: the bot token was refused ({})", slack_error(&v)),
            "copy the Bot User OAuth Token (xoxb-…) of the installed app (OAuth & Permissions) into BATON_SLACK_BOT_TOKEN",
        ));
        return;
    }
    let team = v["team_id"].as_str().unwrap_or_default().to_string();
    r.push(pass(format!(
        "Slack: the bot token works (workspace {team}, bot user {})",
        v["user_id"].as_str().unwrap_or("?")
    )));
    if depth == Depth::Token {
        return;
    }

    // Scopes.
    let granted: BTreeSet<String> = headers
        .get("x-oauth-scopes")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect();
    let missing: Vec<&str> = crate::chat::slack::required_scopes()
        .into_iter()
        .filter(|x| !granted.contains(*x))
        .collect();
    if missing.is_empty() {
        r.push(pass(format!(
            "Slack: the bot has every scope baton needs ({})",
            granted.len()
        )));
    } else {
        r.push(fail(
            format!("Slack: the bot lacks the scopes {}", missing.join(", ")),
            "add them under OAuth & Permissions → Bot Token Scopes (or paste manifests/slack-app.yaml into the app's manifest again), then reinstall the app to the workspace",
        ));
    }

    // The workspace the manifest's people are in.
    let workspaces: BTreeSet<&str> = orgs
        .iter()
        .flat_map(|(_, spec)| spec.people.iter())
        .flat_map(|p| p.chat.iter())
        .filter(|c| c.platform == crate::chat::slack::PLATFORM)
        .map(|c| c.workspace.as_str())
        .collect();
    if !workspaces.is_empty() && !workspaces.contains(team.as_str()) {
        r.push(fail(
            format!(
                "Slack: the bot token is for workspace {team}, but the manifest's Slack identities are in {}",
                workspaces.into_iter().collect::<Vec<_>>().join(", ")
            ),
            "use the bot token of the app installed in that workspace, or correct the `workspace:` of the manifest's Slack identities",
        ));
    }

    // How Slack reaches baton.
    match s.mode {
        SlackMode::Socket => match &s.app_token {
            None => r.push(fail(
                "Slack: Socket Mode needs an app-level token, and none is set",
                "create one under Basic Information → App-Level Tokens (scope connections:write) and set BATON_SLACK_APP_TOKEN (or use HTTP mode: BATON_SLACK_MODE=http)",
            )),
            Some(app_token) => {
                match slack_call(
                    http,
                    base,
                    "apps.connections.open",
                    app_token.expose_secret(),
                    &[],
                )
                .await
                {
                    Ok((v, _)) if v["ok"] == true => {
                        r.push(pass("Slack: the app-level token opens Socket Mode"));
                        let url = v["url"].as_str().unwrap_or_default();
                        r.push(socket_hello(url).await);
                    }
                    Ok((v, _)) => r.push(fail(
                        format!(
                            "Slack: the app-level token was refused ({})",
                            slack_error(&v)
                        ),
                        "create an app-level token with the connections:write scope (Basic Information → App-Level Tokens), turn Socket Mode on, and set BATON_SLACK_APP_TOKEN (xapp-…)",
                    )),
                    Err(e) => r.push(fail(
                        format!("Slack: cannot open Socket Mode: {e}"),
                        "check the network",
                    )),
                }
            }
        },
        SlackMode::Http => {
            if s.signing_secret.is_some() {
                r.push(pass("Slack: HTTP mode with a signing secret"));
            } else {
                r.push(fail(
                    "Slack: HTTP mode needs the signing secret, and none is set",
                    "set BATON_SLACK_SIGNING_SECRET (Basic Information → Signing Secret)",
                ));
            }
        }
    }

    // Department channels.
    for (_, spec) in orgs {
        for d in &spec.departments {
            let Some(channel) = d.channels.get(crate::chat::slack::PLATFORM) else {
                continue;
            };
            let what = format!("Slack channel {channel} of {}", d.key);
            match slack_call(http, base, "conversations.info", &token, &[("channel", channel)])
                .await
            {
                Ok((v, _)) if v["ok"] == true => {
                    if v["channel"]["is_member"] == true {
                        r.push(pass(format!("{what}: exists, baton is in it")));
                    } else {
                        r.push(fail(
                            format!("{what}: baton is not in it"),
                            "invite baton: type `/invite @baton` in the channel (baton reads review threads only where it is a member)",
                        ));
                    }
                }
                Ok((v, _)) => r.push(fail(
                    format!("{what}: {}", slack_error(&v)),
                    format!(
                        "check the channel id in the manifest (`channels: {{ slack: … }}` of {}); a private channel must invite baton first",
                        d.key
                    ),
                )),
                Err(e) => r.push(fail(format!("{what}: {e}"), "check the network")),
            }
        }
    }
}

/// Connects to the Socket Mode URL and waits for Slack's `hello`, then closes: the
/// WebSocket is reachable from here (proxies and firewalls often block it) and Slack
/// accepts the connection. Nothing is acked; an event Slack sends meanwhile goes to
/// another connection on its retry.
async fn socket_hello(url: &str) -> Check {
    const SOCKET_BLOCKED: &str = "allow outbound WebSocket (wss, port 443) to Slack from this host, or use HTTP mode (BATON_SLACK_MODE=http)";
    use futures_util::StreamExt;
    let shown = url.split('?').next().unwrap_or(url);
    let connect = tokio::time::timeout(TIMEOUT, tokio_tungstenite::connect_async(url)).await;
    let mut ws = match connect {
        Ok(Ok((ws, _))) => ws,
        Ok(Err(e)) => {
            return fail(
                format!("Slack: cannot connect to Socket Mode at {shown}: {e}"),
                SOCKET_BLOCKED,
            );
        }
        Err(_) => {
            return fail(
                format!("Slack: Socket Mode at {shown} did not answer within {TIMEOUT:?}"),
                SOCKET_BLOCKED,
            );
        }
    };
    let hello = tokio::time::timeout(TIMEOUT, async {
        while let Some(m) = ws.next().await {
            match m {
                Ok(tokio_tungstenite::tungstenite::Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                    match v["type"].as_str() {
                        Some("hello") => return Ok(v),
                        Some("disconnect") => {
                            return Err(format!(
                                "Slack disconnected it ({})",
                                v["reason"].as_str().unwrap_or("no reason")
                            ));
                        }
                        _ => {}
                    }
                }
                Ok(tokio_tungstenite::tungstenite::Message::Close(f)) => {
                    return Err(format!(
                        "Slack closed it{}",
                        f.map(|f| format!(" ({} {})", f.code, f.reason))
                            .unwrap_or_default()
                    ));
                }
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
        Err("the connection ended before Slack's hello".to_string())
    })
    .await;
    let _ = ws.close(None).await;
    match hello {
        Ok(Ok(v)) => pass(format!(
            "Slack: Socket Mode connects (hello received; {} connection(s) open)",
            v["num_connections"].as_u64().unwrap_or(1)
        )),
        Ok(Err(e)) => fail(
            format!("Slack: Socket Mode connection refused: {e}"),
            "turn Socket Mode on (app settings → Socket Mode) and check the app-level token's connections:write scope",
        ),
        Err(_) => fail(
            format!("Slack: Socket Mode sent no hello within {TIMEOUT:?}"),
            SOCKET_BLOCKED,
        ),
    }
}

/// Discord's permission bits baton's invite asks for, with their names.
const DISCORD_NEEDS: &[(u64, &str)] = &[
    (1 << 10, "View Channel"),
    (1 << 11, "Send Messages"),
    (1 << 14, "Embed Links"),
    (1 << 15, "Attach Files"),
    (1 << 35, "Create Public Threads"),
    (1 << 38, "Send Messages in Threads"),
];
const DISCORD_ADMINISTRATOR: u64 = 1 << 3;

fn bits(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64())
        .unwrap_or(0)
}

/// A member's permissions in a channel, as Discord computes them: the @everyone role and
/// the member's roles, then the channel's overwrites for @everyone, for the roles and for
/// the member.
pub fn discord_permissions(
    guild: &str,
    roles: &Value,
    member_roles: &[String],
    member: &str,
    overwrites: &Value,
) -> u64 {
    let role_bits = |id: &str| {
        roles
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["id"].as_str() == Some(id))
            .map_or(0, |r| bits(&r["permissions"]))
    };
    let mut base = role_bits(guild);
    for r in member_roles {
        base |= role_bits(r);
    }
    if base & DISCORD_ADMINISTRATOR != 0 {
        return u64::MAX;
    }
    let ow = |id: &str| {
        overwrites
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| o["id"].as_str() == Some(id))
            .map(|o| (bits(&o["allow"]), bits(&o["deny"])))
    };
    let mut p = base;
    if let Some((allow, deny)) = ow(guild) {
        p = (p & !deny) | allow;
    }
    let (mut allow, mut deny) = (0, 0);
    for r in member_roles {
        if let Some((a, d)) = ow(r) {
            allow |= a;
            deny |= d;
        }
    }
    p = (p & !deny) | allow;
    if let Some((a, d)) = ow(member) {
        p = (p & !d) | a;
    }
    p
}

/// A Discord REST call: status and JSON.
async fn discord_get(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    token: &str,
) -> Result<(u16, Value), String> {
    let resp = http
        .get(format!("{base}/api/v10{path}"))
        .header("authorization", format!("Bot {token}"))
        .send()
        .await
        .map_err(|e| format!("GET {path}: {e}"))?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
    let v = serde_json::from_slice(&body).unwrap_or(Value::Null);
    Ok((status, v))
}

async fn discord(
    settings: &Settings,
    http: &reqwest::Client,
    orgs: &[(i64, Arc<OrgSpec>)],
    depth: Depth,
    r: &mut Report,
) {
    let s = &settings.discord;
    let base = s
        .api_url
        .as_deref()
        .unwrap_or("https://discord.com")
        .trim_end_matches('/')
        .to_string();
    let token = s
        .bot_token
        .as_ref()
        .map(|t| t.expose_secret().to_string())
        .unwrap_or_default();
    let (status, me) = match discord_get(http, &base, "/applications/@me", &token).await {
        Ok(x) => x,
        Err(e) => {
            r.push(fail(
                format!("Discord: cannot reach the API at {base}: {e}"),
                "check the network, or BATON_DISCORD_API_URL (a base URL: baton adds /api/v10/…)",
            ));
            return;
        }
    };
    if status != 200 {
        r.push(fail(
            format!("Discord: the bot token was refused (HTTP {status})"),
            "reset the bot token (developer portal → your application → Bot → Reset Token) and set BATON_DISCORD_BOT_TOKEN",
        ));
        return;
    }
    let app_id = me["id"].as_str().unwrap_or_default().to_string();
    let bot_user = me["bot"]["id"].as_str().unwrap_or_default().to_string();
    r.push(pass(format!(
        "Discord: the bot token works (application {app_id})"
    )));
    if depth == Depth::Token {
        return;
    }
    match s.application_id {
        Some(id) if id.to_string() == app_id => {
            r.push(pass("Discord: BATON_DISCORD_APPLICATION_ID matches"))
        }
        Some(id) => r.push(fail(
            format!(
                "Discord: BATON_DISCORD_APPLICATION_ID is {id}, but the bot token belongs to application {app_id}"
            ),
            format!("set BATON_DISCORD_APPLICATION_ID={app_id}, or use that application's bot token"),
        )),
        None => r.push(fail(
            "Discord: BATON_DISCORD_APPLICATION_ID is not set (command registration and follow-ups need it)",
            format!("set BATON_DISCORD_APPLICATION_ID={app_id}"),
        )),
    }
    if s.mode() == DiscordMode::Http && s.public_key.is_none() {
        r.push(fail(
            "Discord: HTTP mode needs the application's public key, and none is set",
            "set BATON_DISCORD_PUBLIC_KEY (General Information → Public Key)",
        ));
    }
    if s.mode() == DiscordMode::Gateway {
        discord_gateway(http, &base, &token, &me, s.message_content, r).await;
    }

    // Department channels and baton's permissions in them.
    let mut guild_roles: std::collections::HashMap<String, (Value, Vec<String>)> =
        Default::default();
    for (_, spec) in orgs {
        for d in &spec.departments {
            let Some(channel) = d.channels.get(crate::chat::discord::PLATFORM) else {
                continue;
            };
            let what = format!("Discord channel {channel} of {}", d.key);
            let (status, ch) =
                match discord_get(http, &base, &format!("/channels/{channel}"), &token).await {
                    Ok(x) => x,
                    Err(e) => {
                        r.push(fail(format!("{what}: {e}"), "check the network"));
                        continue;
                    }
                };
            if status != 200 {
                r.push(fail(
                    format!(
                        "{what}: {} (HTTP {status})",
                        ch["message"].as_str().unwrap_or("not visible to baton")
                    ),
                    format!(
                        "check the channel id in the manifest (`channels: {{ discord: … }}` of {}), and that baton was invited to the server with the link in README",
                        d.key
                    ),
                ));
                continue;
            }
            let guild = ch["guild_id"].as_str().unwrap_or_default().to_string();
            if !guild_roles.contains_key(&guild) {
                let roles = discord_get(http, &base, &format!("/guilds/{guild}/roles"), &token)
                    .await
                    .map(|x| x.1)
                    .unwrap_or(Value::Null);
                let member = discord_get(
                    http,
                    &base,
                    &format!("/guilds/{guild}/members/{bot_user}"),
                    &token,
                )
                .await
                .map(|x| x.1)
                .unwrap_or(Value::Null);
                let mine = member["roles"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
                guild_roles.insert(guild.clone(), (roles, mine));
            }
            let (roles, mine) = &guild_roles[&guild];
            let p =
                discord_permissions(&guild, roles, mine, &bot_user, &ch["permission_overwrites"]);
            let lacking: Vec<&str> = DISCORD_NEEDS
                .iter()
                .filter(|(b, _)| p & b == 0)
                .map(|(_, n)| *n)
                .collect();
            if lacking.is_empty() {
                r.push(pass(format!(
                    "{what}: baton may post, thread and attach there"
                )));
            } else {
                r.push(fail(
                    format!("{what}: baton lacks {}", lacking.join(", ")),
                    "give baton's role these permissions (Server Settings → Roles, or the channel's permissions), or invite it again with the link in README (permissions Send Messages, Create Public Threads, Send Messages in Threads, Embed Links, Attach Files)",
                ));
            }
        }
    }
}

/// The application flags that say the message-content intent is enabled (verified apps:
/// `GATEWAY_MESSAGE_CONTENT`; unverified ones, under 100 servers: `…_LIMITED`).
const DISCORD_MESSAGE_CONTENT_FLAGS: u64 = (1 << 18) | (1 << 19);

/// Gateway mode: the privileged intent baton asks for is enabled for the application, and
/// the gateway will let the bot start a session (`GET /gateway/bot`).
async fn discord_gateway(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    me: &Value,
    message_content: bool,
    r: &mut Report,
) {
    if message_content {
        let flags = me["flags"].as_u64().unwrap_or(0);
        if flags & DISCORD_MESSAGE_CONTENT_FLAGS != 0 {
            r.push(pass(
                "Discord: the message-content intent is enabled (review threads are read)",
            ));
        } else {
            r.push(fail(
                "Discord: gateway mode asks for the message-content intent, which the application does not have enabled (Discord would close the connection: 4014 disallowed intents)",
                "turn on developer portal → your application → Bot → Privileged Gateway Intents → Message Content Intent, or set BATON_DISCORD_MESSAGE_CONTENT=false (review captures then go through /baton commands)",
            ));
        }
    }
    match discord_get(http, base, "/gateway/bot", token).await {
        Ok((200, v)) => {
            let remaining = v["session_start_limit"]["remaining"].as_u64();
            let reset_ms = v["session_start_limit"]["reset_after"]
                .as_u64()
                .unwrap_or(0);
            match remaining {
                Some(0) => r.push(fail(
                    "Discord: the gateway refuses new sessions: today's session starts are used up",
                    format!(
                        "wait {} minutes for the limit to reset; look for a process restarting in a loop",
                        reset_ms.div_ceil(60_000)
                    ),
                )),
                Some(n) => r.push(pass(format!(
                    "Discord: the gateway accepts sessions ({n} starts left today)"
                ))),
                None => r.push(fail(
                    "Discord: GET /gateway/bot answered without a session start limit",
                    "check BATON_DISCORD_API_URL (a base URL: baton adds /api/v10/…)",
                )),
            }
        }
        Ok((status, v)) => r.push(fail(
            format!(
                "Discord: the gateway is not available to the bot ({} HTTP {status})",
                v["message"].as_str().unwrap_or("")
            ),
            "check the bot token, or use HTTP mode (BATON_DISCORD_PUBLIC_KEY)",
        )),
        Err(e) => r.push(fail(
            format!("Discord: cannot ask for the gateway: {e}"),
            "check the network",
        )),
    }
}

async fn people(
    app: &App,
    orgs: &[(i64, Arc<OrgSpec>)],
    configured: &[&'static str],
    r: &mut Report,
) {
    if configured.is_empty() {
        r.push(fail(
            "people: no chat platform is configured, so nobody can be reached (the shell still works)",
            "set BATON_SLACK_BOT_TOKEN and/or BATON_DISCORD_BOT_TOKEN (README: Install in Slack, Install in Discord)",
        ));
        return;
    }
    for (org, spec) in orgs {
        let mut nowhere = Vec::new();
        let mut by_email = 0;
        for p in &spec.people {
            match reachability(app, *org, p, configured).await {
                Ok(Reach::On(_)) => {}
                Ok(Reach::ByEmailLater(_)) => by_email += 1,
                Ok(Reach::Nowhere(why)) => nowhere.push(why),
                Err(e) => nowhere.push(format!("`{}`: cannot tell ({e})", p.key)),
            }
        }
        let name = &spec.org.key;
        if nowhere.is_empty() {
            let later = if by_email > 0 {
                format!(" ({by_email} to be found in Slack by email when baton serve starts)")
            } else {
                String::new()
            };
            r.push(pass(format!(
                "people of {name}: all {} can be reached{later}",
                spec.people.len()
            )));
        } else {
            r.push(fail(
                format!(
                    "people of {name}: {} cannot be reached: {}",
                    nowhere.len(),
                    nowhere.join("; ")
                ),
                "give each a `chat` identity on a configured platform, or an email their Slack account uses, and run `baton apply`",
            ));
        }
    }
}

fn is_loopback(url: &str) -> bool {
    match url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

async fn calendar(
    settings: &Settings,
    app: &App,
    http: &reqwest::Client,
    orgs: &[(i64, Arc<OrgSpec>)],
    configured: &[&'static str],
    r: &mut Report,
) {
    let base = settings.public_base_url();
    if settings.public_url.is_none() && !configured.is_empty() && is_loopback(&base) {
        r.push(fail(
            format!(
                "calendar links: BATON_PUBLIC_URL is not set, so links point at {base}, which only this machine reaches"
            ),
            "set BATON_PUBLIC_URL to the address people reach baton at (e.g. https://baton.example.com)",
        ));
    }
    let mut app_at = App::new(app.store.clone(), app.clock.clone());
    app_at.public_url = base.clone();
    for (org, spec) in orgs {
        let url = match crate::app::calendar::link_url(&app_at, *org, None).await {
            Ok(u) => u,
            Err(e) => {
                r.push(fail(
                    format!("calendar of {}: {e}", spec.org.key),
                    "apply the manifest again",
                ));
                continue;
            }
        };
        // The token opens every feed: never print it.
        let shown = url.split("?token=").next().unwrap_or_default().to_string() + "?token=…";
        match http.get(&url).send().await {
            Ok(resp) if resp.status().is_success() => {
                let body = resp.text().await.unwrap_or_default();
                if body.starts_with("BEGIN:VCALENDAR") {
                    r.push(pass(format!("calendar link answers with the feed: {shown}")));
                } else {
                    r.push(fail(
                        format!("calendar link {shown} answers, but not with a calendar"),
                        "BATON_PUBLIC_URL must lead to baton serve's HTTP server (check the proxy's routes for /calendar/)",
                    ));
                }
            }
            Ok(resp) => r.push(fail(
                format!("calendar link {shown} answers HTTP {}", resp.status().as_u16()),
                "BATON_PUBLIC_URL must lead to baton serve's HTTP server (a 404 is also the answer to another organisation's token)",
            )),
            Err(e) => r.push(fail(
                format!("calendar link {shown} does not answer ({e})"),
                format!(
                    "run `baton serve`, and set BATON_PUBLIC_URL to the address people reach it at (now {base})"
                ),
            )),
        }
    }
}
