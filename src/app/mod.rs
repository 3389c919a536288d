//! Use cases. Each takes the app context (store, clock) and returns a platform-neutral
//! [`Reply`]. This is the only place where the domain meets storage.

pub mod alert_updates;
pub mod alerts;
pub mod apply;
pub mod calendar;
pub mod checkins;
pub mod evidence;
pub mod housekeeping;
pub mod inbound;
pub mod pictures;
pub mod reviews;
pub mod schedule;
pub mod seed;
pub mod status;
pub mod strategy;
pub mod summaries;
pub mod view;
pub mod zones;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::bot::{Command, Reply};
use crate::clock::Clock;
use crate::domain::{OrgSpec, OrgState, Role, Source};
use crate::error::{AppError, Result};
use crate::store::{OrgRow, PersonRow, Store, StoreError};

/// The person a command runs as, resolved once per session or inbound event.
#[derive(Debug, Clone)]
pub struct Actor {
    pub org: OrgRow,
    pub person: PersonRow,
    pub source: Source,
}

impl Actor {
    pub fn key(&self) -> &str {
        self.person.spec.key.as_str()
    }

    pub fn is_admin(&self) -> bool {
        self.person.spec.roles.contains(&Role::Admin)
    }

    pub fn departments(&self) -> impl Iterator<Item = &str> {
        self.person.departments.iter().map(|(d, _)| d.as_str())
    }
}

/// The application context shared by every adapter.
pub struct App {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Nudges (reminders) per person per week.
    pub nudge_cap: i64,
    /// How long a running review may go without a move or a capture before it closes
    /// itself (`BATON_REVIEW_IDLE_HOURS`, 12 hours by default).
    pub review_idle: chrono::Duration,
    /// The base URL people reach baton's HTTP server at (calendar links), without a
    /// trailing `/` (`config::Settings::public_base_url`).
    pub public_url: String,
    /// What platforms said about their users (one lookup per unknown identity).
    pub profiles: inbound::Profiles,
    /// Every command the inbound pipeline ran, as it ran it (for observers: tests, audit).
    pub ran: tokio::sync::broadcast::Sender<inbound::Ran>,
    /// Declared structure per organisation, reused while the organisation's revision
    /// (bumped by every manifest apply) is unchanged.
    specs: Mutex<HashMap<i64, CachedSpec>>,
    /// Current figures per organisation, reused while their fingerprint is unchanged.
    states: Mutex<HashMap<i64, (crate::store::StateFingerprint, Arc<OrgState>)>>,
}

struct CachedSpec {
    revision: i64,
    spec: Arc<OrgSpec>,
    /// Key-result positions by code, built on first use.
    kr_index: std::sync::OnceLock<Arc<HashMap<crate::domain::Code, usize>>>,
    /// When the revision was last confirmed (a process-local monotonic instant, used
    /// only to bound how stale the cache may be, never as domain time).
    checked: std::time::Instant,
}

/// How long a confirmed spec is reused on hot paths (check-in ingestion) without asking the
/// database for the revision again. An apply through this process invalidates at once.
const SPEC_RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

impl App {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> App {
        App {
            store,
            clock,
            metrics: Arc::new(crate::metrics::Metrics::new()),
            nudge_cap: 5,
            review_idle: chrono::Duration::hours(12),
            public_url: crate::config::Settings::default().public_base_url(),
            profiles: Default::default(),
            ran: tokio::sync::broadcast::channel(256).0,
            specs: Mutex::new(HashMap::new()),
            states: Mutex::new(HashMap::new()),
        }
    }

    /// The organisation to act in: the named one, or the only one there is.
    pub async fn org(&self, key: Option<&str>) -> Result<OrgRow> {
        match key {
            Some(k) => self.store.org_by_key(k).await?.ok_or_else(|| {
                AppError::NotFound(format!(
                    "There is no organisation `{k}`. Apply a manifest first: `baton apply org.yaml`."
                ))
            }),
            None => {
                let mut orgs = self.store.orgs().await?;
                match orgs.len() {
                    0 => Err(AppError::NotFound(
                        "No organisation yet. Apply a manifest first: `baton apply manifests/example-org.yaml`."
                            .into(),
                    )),
                    1 => Ok(orgs.remove(0)),
                    _ => Err(AppError::Usage(format!(
                        "There are several organisations ({}); choose one with --org.",
                        orgs.iter().map(|o| o.key.as_str()).collect::<Vec<_>>().join(", ")
                    ))),
                }
            }
        }
    }

    /// Resolves a person of an organisation by key.
    pub async fn actor(&self, org: OrgRow, person_key: &str, source: Source) -> Result<Actor> {
        let key = person_key.trim().to_ascii_lowercase();
        match self.store.person_by_key(org.id, &key).await? {
            Some(person) => Ok(Actor {
                org,
                person,
                source,
            }),
            None => {
                let spec = self.spec(org.id).await?;
                let known: Vec<&str> = spec.people.iter().map(|p| p.key.as_str()).collect();
                Err(AppError::NotFound(format!(
                    "There is no person `{person_key}` in {}. People: {}.",
                    org.name,
                    known.join(", ")
                )))
            }
        }
    }

    /// An actor for CLI views that act for no particular person (organisation time zone,
    /// no departments). It cannot check in: no key result belongs to it.
    pub async fn system_actor(&self, org: OrgRow) -> Result<Actor> {
        let spec = self.spec(org.id).await?;
        Ok(Actor {
            person: PersonRow {
                id: 0,
                spec: crate::domain::PersonSpec {
                    key: crate::domain::Key::parse("baton").expect("valid key"),
                    name: format!("{} (baton)", spec.org.name),
                    email: None,
                    time_zone: Some(spec.org.time_zone),
                    roles: vec![],
                    chat: vec![],
                    away: vec![],
                    prefer: None,
                    working_hours: None,
                },
                departments: vec![],
            },
            org,
            source: Source::Api,
        })
    }

    /// The organisation's declared structure, cached by revision (one cheap query to
    /// confirm the revision).
    pub async fn spec(&self, org_id: i64) -> Result<Arc<OrgSpec>> {
        let revision = self.store.org_revision(org_id).await?;
        if let Some(c) = self.specs.lock().expect("spec cache").get_mut(&org_id)
            && c.revision == revision
        {
            c.checked = std::time::Instant::now();
            return Ok(c.spec.clone());
        }
        let spec = Arc::new(self.store.load_spec(org_id).await?);
        self.specs.lock().expect("spec cache").insert(
            org_id,
            CachedSpec {
                revision,
                spec: spec.clone(),
                kr_index: Default::default(),
                checked: std::time::Instant::now(),
            },
        );
        Ok(spec)
    }

    /// The current figure of every key result and measure. The database is asked for a
    /// one-row fingerprint first; the figures themselves are read only when it moved since
    /// this process last read them (the fingerprint is taken before the figures, so what is
    /// cached is never older than the fingerprint it is filed under).
    pub async fn state(&self, org_id: i64) -> Result<Arc<OrgState>> {
        let fp = self.store.state_fingerprint(org_id).await?;
        if let Some((f, s)) = self.states.lock().expect("state cache").get(&org_id)
            && *f == fp
        {
            return Ok(s.clone());
        }
        let state = Arc::new(self.store.load_state(org_id).await?);
        self.states
            .lock()
            .expect("state cache")
            .insert(org_id, (fp, state.clone()));
        Ok(state)
    }

    /// Positions of `spec`'s key results by code: built once per cached spec (a spec that
    /// is no longer the cached one gets a fresh index).
    pub fn kr_index(
        &self,
        org_id: i64,
        spec: &Arc<OrgSpec>,
    ) -> Arc<HashMap<crate::domain::Code, usize>> {
        let build = || {
            Arc::new(
                spec.key_results
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (k.code.clone(), i))
                    .collect::<HashMap<_, _>>(),
            )
        };
        let cache = self.specs.lock().expect("spec cache");
        match cache.get(&org_id) {
            Some(c) if Arc::ptr_eq(&c.spec, spec) => c.kr_index.get_or_init(build).clone(),
            _ => build(),
        }
    }

    /// As [`App::spec`], but reuses a spec confirmed less than a second ago without asking
    /// the database. Only for paths whose writes the database guards again (check-ins).
    pub async fn spec_recent(&self, org_id: i64) -> Result<Arc<OrgSpec>> {
        if let Some(c) = self.specs.lock().expect("spec cache").get(&org_id)
            && c.checked.elapsed() < SPEC_RECHECK
        {
            return Ok(c.spec.clone());
        }
        self.spec(org_id).await
    }

    /// Forgets cached structure (after this process applied a manifest).
    pub fn invalidate(&self, org_id: Option<i64>) {
        let mut cache = self.specs.lock().expect("spec cache");
        match org_id {
            Some(id) => {
                cache.remove(&id);
            }
            None => cache.clear(),
        }
    }

    /// Parses and runs one line of input. `delivery` identifies the inbound delivery for
    /// de-duplication (a retried delivery stores nothing new).
    pub async fn handle_line(&self, actor: &Actor, line: &str, delivery: &str) -> Reply {
        match Command::parse(line) {
            Ok(cmd) => self.handle(actor, cmd, delivery).await,
            Err(msg) => {
                // During a review the person is in, a line that is not a command is most
                // likely meant for the meeting: say how to capture it. A check-in attempt
                // keeps its own explanation (the check-in syntax) either way.
                let mut r = Reply::error(msg);
                if !line.trim().is_empty()
                    && !crate::bot::command::looks_like_checkin(line)
                    && reviews::in_review(self, actor).await.unwrap_or(false)
                {
                    r = r.note(reviews::THREAD_HINT);
                }
                r
            }
        }
    }

    /// Runs one command. Errors become an error reply; store failures are logged here,
    /// once, with their cause.
    #[tracing::instrument(skip_all, fields(org = %actor.org.key, person = %actor.key()))]
    pub async fn handle(&self, actor: &Actor, cmd: Command, delivery: &str) -> Reply {
        Self::answer(self.run(actor, None, cmd, delivery).await)
    }

    /// Runs one command in the context of a review (a reply in its thread, a press of one of
    /// its buttons): moving, ending and capturing act on that review, whichever others run.
    #[tracing::instrument(skip_all, fields(org = %actor.org.key, person = %actor.key(), review))]
    pub async fn handle_in_review(
        &self,
        actor: &Actor,
        review: i64,
        cmd: Command,
        delivery: &str,
    ) -> Reply {
        Self::answer(self.run(actor, Some(review), cmd, delivery).await)
    }

    fn answer(result: Result<Reply>) -> Reply {
        match result {
            Ok(r) => r,
            // Written for the person (a manifest that clashes with another organisation).
            Err(AppError::Store(StoreError::Conflict(msg))) => Reply::error(msg),
            Err(AppError::Store(e)) => {
                let incident = incident_id();
                tracing::error!(incident = %incident, error = %e, "command failed in the store");
                Reply::error(store_failed(&e, &incident))
            }
            Err(e) => Reply::error(e.to_string()),
        }
    }

    async fn run(
        &self,
        actor: &Actor,
        review: Option<i64>,
        cmd: Command,
        delivery: &str,
    ) -> Result<Reply> {
        match cmd {
            Command::Help(topic) => Ok(status::help(topic.as_deref())),
            Command::Confirm(id) => checkins::confirm(self, actor, id, true).await,
            Command::Decline(id) => checkins::confirm(self, actor, id, false).await,
            Command::Whoami => status::whoami(self, actor).await,
            Command::Status(scope) => status::status(self, actor, scope.as_deref()).await,
            Command::Okrs(scope) => status::okrs(self, actor, scope).await,
            Command::Kr(code) => status::kr(self, actor, &code).await,
            Command::Card(code) => status::card(self, actor, &code).await,
            Command::Checkin(line) => checkins::record(self, actor, &line, false, delivery).await,
            Command::Correct(line) => checkins::record(self, actor, &line, true, delivery).await,
            Command::CheckinForm(code) => checkins::form(self, actor, code.as_ref()).await,
            Command::SubmitForm { id, values } => {
                if let Some(capture) = id.strip_prefix(reviews::EDIT_FORM) {
                    reviews::submit_edit(self, actor, capture, &values).await
                } else if let Some(alert) = id.strip_prefix(crate::bot::inbound::ALERT_UPDATE_FORM)
                {
                    let text = values
                        .iter()
                        .find(|(k, _)| k == "text")
                        .map(|(_, v)| v.trim())
                        .unwrap_or_default();
                    alert_updates::post_update(self, actor, alert, text, delivery).await
                } else {
                    checkins::submit(self, actor, &id, &values, delivery).await
                }
            }
            Command::Gaps => strategy::gaps(self, actor).await,
            Command::Map => strategy::map(self, actor, false).await,
            Command::MapEvidence => strategy::map(self, actor, true).await,
            Command::Evidence(link) => evidence::show(self, actor, link.as_deref()).await,
            Command::Deps(dept) => strategy::deps(self, actor, dept.as_deref()).await,
            Command::Calendar(dept) => calendar::calendar(self, actor, dept.as_deref()).await,
            Command::CalendarLink(dept) => calendar::link(self, actor, dept.as_deref()).await,
            Command::Skip => schedule::skip(self, actor).await,
            Command::Snooze(d) => schedule::snooze(self, actor, d).await,
            Command::Away { from, to } => schedule::away(self, actor, &from, &to).await,
            Command::NoChange => schedule::no_change(self, actor, delivery).await,
            Command::Blocked { dependency, reason } => {
                alerts::declare_blocked(self, actor, &dependency, &reason).await
            }
            Command::Ack(id) => alerts::acknowledge(self, actor, &id).await,
            Command::Resolve { alert, note } => alerts::resolve(self, actor, &alert, &note).await,
            Command::AlertUpdate { alert, text } => {
                alert_updates::post_update(self, actor, &alert, &text, delivery).await
            }
            Command::AlertUpdateForm(alert) => alerts::update_form(self, actor, &alert).await,
            Command::ReviewStart { tier, dept } => {
                reviews::start(self, actor, &tier, dept.as_deref()).await
            }
            Command::ReviewNext => reviews::step(self, actor, review, true).await,
            Command::ReviewBack => reviews::step(self, actor, review, false).await,
            Command::ReviewEnd => reviews::end(self, actor, review).await,
            Command::ReviewShow(id) => reviews::show(self, actor, &id).await,
            Command::ReviewWhere => reviews::where_now(self, actor).await,
            Command::Capture { kind, text } => {
                reviews::capture(self, actor, review, &kind, &text).await
            }
            Command::Edit { id, text } => reviews::edit(self, actor, &id, &text).await,
            Command::EditForm(id) => reviews::edit_form(self, actor, &id).await,
            Command::Delete(id) => reviews::delete(self, actor, &id).await,
            Command::Done(id) => reviews::done(self, actor, &id).await,
            Command::Actions(f) => reviews::actions(self, actor, f.as_deref()).await,
            Command::Decisions(d) => reviews::decisions(self, actor, d.as_deref()).await,
        }
    }
}

/// What a person is told when the store fails under their command. The database's own
/// words stay in the log, under the incident id the person can quote. Whether anything
/// was written depends on the command, so it does not promise that nothing was.
pub fn store_failed(e: &StoreError, incident: &str) -> String {
    match e {
        StoreError::Unreachable { .. } | StoreError::Unavailable(_) => format!(
            "baton cannot reach its database right now (incident {incident}). Please try again in a moment."
        ),
        _ => {
            format!("Something went wrong on baton's side (incident {incident}). Please try again.")
        }
    }
}

/// A short id for one failure, to find its log line: six hex digits, different on each
/// call (a per-process random key over a sequence number).
pub fn incident_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static KEYS: OnceLock<std::collections::hash_map::RandomState> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut h = KEYS.get_or_init(Default::default).build_hasher();
    h.write_u64(NEXT.fetch_add(1, Ordering::Relaxed));
    format!("{:06x}", h.finish() & 0xff_ffff)
}
