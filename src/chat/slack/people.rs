//! Who a person is in Slack, and where their direct messages go.
//!
//! - A person's Slack user is the manifest's `chat` identity, else one baton learned: found
//!   by their email with `users.lookupByEmail` (a paced batch when a manifest is applied and
//!   when the service starts), or seen when they wrote to baton (matched by the email
//!   `users.info` reports). Learned identities live in `learned_identities`
//!   ([`crate::store::identities`]), which applying a manifest leaves alone.
//! - Direct messages are posted with the user id as `channel`: Slack delivers them to the
//!   app's DM with that user and answers with the DM channel (`D…`), which is cached. No
//!   `conversations.open` per person (Tier 3, about 50 a minute: 10,000 people would take
//!   hours); it is called only where a real channel id is needed and not cached yet (file
//!   uploads).
//! - `users.lookupByEmail` needs the `users:read.email` scope and is Tier 3 too: the batch
//!   asks one address per [`LOOKUP_PACE`], waits out a 429's `Retry-After`, and records
//!   addresses nobody has, so they are asked again only a day later or when they change.

use std::time::Duration;

use slack_morphism::errors::SlackClientError;

use super::{PLATFORM, SlackBot, classify};
use crate::chat::AdapterError;
use crate::store::identities::Learning;

/// One `users.lookupByEmail` call per this long: Tier 3 allows about 50 a minute.
pub const LOOKUP_PACE: Duration = Duration::from_millis(1250);

/// What one email lookup batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LinkReport {
    /// People found in Slack and linked.
    pub linked: usize,
    /// Addresses Slack knows nobody by.
    pub not_found: usize,
    /// Lookups that failed (tried again next time).
    pub failed: usize,
}

impl SlackBot {
    /// A person's Slack user id: the manifest's, else one baton learned (by email or when
    /// they wrote). `None` when baton knows none. (Also used to check on uncertain sends.)
    pub async fn slack_user(
        &self,
        org_id: i64,
        person: &str,
    ) -> Result<Option<String>, AdapterError> {
        let spec = self
            .app
            .spec_recent(org_id)
            .await
            .map_err(|e| AdapterError::Transient(e.to_string()))?;
        let declared = spec
            .people
            .iter()
            .find(|p| p.key.as_str() == person)
            .and_then(|p| p.chat.iter().find(|c| c.platform == PLATFORM))
            .map(|c| c.user.clone());
        if declared.is_some() {
            return Ok(declared);
        }
        let learned = self
            .app
            .store
            .learned_identities(org_id, person)
            .await
            .map_err(|e| AdapterError::Transient(e.to_string()))?;
        Ok(learned
            .into_iter()
            .find(|l| l.platform == PLATFORM)
            .and_then(|l| l.user_id))
    }

    fn cached_dm(&self, org_id: i64, person: &str) -> Option<String> {
        self.dms
            .lock()
            .expect("dm cache")
            .get(&(org_id, person.to_string()))
            .cloned()
    }

    /// Remembers the DM channel Slack reported for a person.
    pub(super) fn remember_dm(&self, org_id: i64, person: &str, channel: &str) {
        if channel.starts_with('D') {
            self.dms
                .lock()
                .expect("dm cache")
                .insert((org_id, person.to_string()), channel.to_string());
        }
    }

    /// Where to post a DM to a person: their DM channel once known, else their user id.
    pub(super) async fn dm_destination(
        &self,
        org_id: i64,
        person: &str,
    ) -> Result<String, AdapterError> {
        if let Some(c) = self.cached_dm(org_id, person) {
            return Ok(c);
        }
        self.slack_user(org_id, person).await?.ok_or_else(|| {
            AdapterError::Permanent(format!("person `{person}` has no Slack identity"))
        })
    }

    /// The DM channel with a person as a real channel id (file uploads need one): cached,
    /// else `conversations.open`.
    pub(super) async fn dm_channel(
        &self,
        org_id: i64,
        person: &str,
    ) -> Result<String, AdapterError> {
        if let Some(c) = self.cached_dm(org_id, person) {
            return Ok(c);
        }
        let user = self.dm_destination(org_id, person).await?;
        let channel = self.open_dm(&user).await?;
        self.remember_dm(org_id, person, &channel);
        Ok(channel)
    }

    /// Looks up, by email, the Slack users of an organisation's people who have an email
    /// and no Slack identity yet, one call per `pace`. Stops early when Slack refuses the
    /// method itself (e.g. the `users:read.email` scope is missing).
    #[tracing::instrument(skip_all, fields(org = org_id))]
    pub async fn link_by_email(
        &self,
        org_id: i64,
        pace: Duration,
    ) -> Result<LinkReport, AdapterError> {
        let due = self
            .app
            .store
            .email_lookups_due(org_id, PLATFORM, self.app.clock.now())
            .await
            .map_err(|e| AdapterError::Transient(e.to_string()))?;
        let mut report = LinkReport::default();
        if due.is_empty() {
            return Ok(report);
        }
        tracing::info!(
            people = due.len(),
            minutes = (due.len() as f64 * pace.as_secs_f64() / 60.0).ceil(),
            "looking up people's Slack users by email (paced: Tier 3)"
        );
        for (i, person) in due.iter().enumerate() {
            if i > 0 && !pace.is_zero() {
                tokio::time::sleep(pace).await;
            }
            let answer = loop {
                match self
                    .get("users.lookupByEmail", &[("email", person.email.as_str())])
                    .await
                {
                    Err(SlackClientError::RateLimitError(r)) => {
                        let wait = r.retry_after.unwrap_or(Duration::from_secs(30));
                        tracing::info!(
                            wait_s = wait.as_secs(),
                            "users.lookupByEmail rate limited; waiting"
                        );
                        tokio::time::sleep(wait).await;
                    }
                    other => break other,
                }
            };
            let (user, team) = match answer {
                Ok(v) => (
                    v["user"]["id"].as_str().map(str::to_string),
                    v["user"]["team_id"].as_str().map(str::to_string),
                ),
                Err(SlackClientError::ApiError(a)) if a.code == "users_not_found" => (None, None),
                Err(e) => {
                    let err = classify(&e);
                    if let AdapterError::Permanent(code) = &err {
                        tracing::error!(
                            error = %code,
                            "users.lookupByEmail refused; email-linked people stay unlinked \
                             (does the Slack app have the users:read.email scope?)"
                        );
                        return Err(err);
                    }
                    tracing::warn!(person = %person.key, error = %err, "users.lookupByEmail failed; tried again next time");
                    report.failed += 1;
                    continue;
                }
            };
            let learning = Learning {
                org_id,
                person_id: person.person_id,
                platform: PLATFORM,
                workspace: team.as_deref(),
                user_id: user.as_deref(),
                source: "email",
                email: Some(&person.email),
            };
            self.app
                .store
                .learn_identity(&learning, self.app.clock.now())
                .await
                .map_err(|e| AdapterError::Transient(e.to_string()))?;
            match user {
                Some(_) => report.linked += 1,
                None => {
                    tracing::warn!(person = %person.key, email = %person.email, "no Slack user has this email");
                    report.not_found += 1;
                }
            }
        }
        tracing::info!(?report, "email lookup done");
        Ok(report)
    }

    /// [`SlackBot::link_by_email`] for every organisation (at service start).
    pub async fn link_all_by_email(&self, pace: Duration) -> Result<LinkReport, AdapterError> {
        let orgs = self
            .app
            .store
            .org_ids()
            .await
            .map_err(|e| AdapterError::Transient(e.to_string()))?;
        let mut total = LinkReport::default();
        for org in orgs {
            let r = self.link_by_email(org, pace).await?;
            total.linked += r.linked;
            total.not_found += r.not_found;
            total.failed += r.failed;
        }
        Ok(total)
    }
}
