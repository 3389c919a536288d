//! The adapter registry: one [`ChatAdapter`] per configured platform, behind a [`Router`]
//! that is itself a [`ChatAdapter`], so the outbox keeps calling one adapter.
//!
//! The router decides where a message goes; the adapters only translate it for their
//! platform.
//!
//! - **A person** ([`Target::Person`]) is messaged on one platform: one where they have an
//!   identity (the manifest's `chat` entries in the order listed, then identities baton
//!   learned: a Slack user found by email or seen writing) and whose adapter is configured.
//!   When there are several, the manifest's `prefer` decides, else the first listed.
//! - **A department** ([`Target::Channel`], [`Target::Thread`]) is posted to on every
//!   configured platform where it has a channel. Each platform that took the message is
//!   recorded (`delivered_platforms`), so when one platform fails and the outbox retries, the
//!   others are not posted to again; the message counts as delivered when every platform has
//!   it, and a failure reads as that platform's error.
//! - [`ChatAdapter::recover`] and [`ChatAdapter::edit_parent`] are dispatched the same way.
//!
//! **Nobody is dropped silently.** A person who cannot be reached on any configured platform
//! is listed in `unreachable_people` with the reason; the operator is told once per person (a
//! warning naming them and the fix), `/metrics` shows `baton_unreachable_people`, the
//! message is refused as a permanent failure carrying the reason (the outbox parks it as
//! dead, with that reason, instead of retrying), and a prompt among those messages is
//! recorded as `undeliverable`: neither answered nor missed. A person with an email whose
//! Slack lookup has not run yet is not unreachable: their message is retried later.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::app::App;
use crate::chat::{AdapterError, ChatAdapter, Delivered, Outbound, Recovered, Target};
use crate::domain::PersonSpec;

/// Where a person's messages go, as decided from what is known about them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonRoute<'a> {
    /// This platform.
    To(&'a str),
    /// No identity on any platform.
    Nowhere,
    /// Identities only on these platforms, none of them configured.
    NotConfigured(Vec<&'a str>),
}

/// Decides which platform a person is messaged on. `on` lists the platforms where they have
/// an identity, in order of preference by declaration (manifest `chat` entries as listed,
/// then learned identities); `prefer` is the manifest's preference; `configured` the
/// platforms baton can send to.
pub fn route_person<'a>(
    on: &[&'a str],
    prefer: Option<&str>,
    configured: &[&str],
) -> PersonRoute<'a> {
    let usable: Vec<&'a str> = on
        .iter()
        .copied()
        .filter(|p| configured.contains(p))
        .collect();
    if let Some(p) = prefer.and_then(|want| usable.iter().copied().find(|p| *p == want)) {
        return PersonRoute::To(p);
    }
    match usable.first().copied() {
        Some(p) => PersonRoute::To(p),
        None if on.is_empty() => PersonRoute::Nowhere,
        None => {
            let mut off: Vec<&'a str> = on.to_vec();
            off.dedup();
            PersonRoute::NotConfigured(off)
        }
    }
}

/// The configured platforms (in `configured` order) where a department has a channel.
pub fn route_department<'a>(
    channels: &BTreeMap<String, String>,
    configured: &[&'a str],
) -> Vec<&'a str> {
    configured
        .iter()
        .copied()
        .filter(|p| channels.contains_key(*p))
        .collect()
}

/// What to do on each platform.
#[derive(Clone, Copy)]
enum Op<'a> {
    Send(&'a Target),
    Edit {
        department: &'a str,
        thread: &'a str,
    },
}

/// The adapter registry (see the module documentation).
pub struct Router {
    app: Arc<App>,
    adapters: Vec<Arc<dyn ChatAdapter>>,
    /// People this process delivered to: cleared from `unreachable_people` once.
    reached: Mutex<HashSet<(i64, String)>>,
}

impl Router {
    /// A registry of `adapters`, one per platform; the first is the default when a
    /// department's message has to be reported as one delivery.
    pub fn new(app: Arc<App>, adapters: Vec<Arc<dyn ChatAdapter>>) -> Router {
        Router {
            app,
            adapters,
            reached: Mutex::new(HashSet::new()),
        }
    }

    /// The platforms baton can send to.
    pub fn platforms(&self) -> Vec<&'static str> {
        self.adapters.iter().map(|a| a.platform()).collect()
    }

    fn adapter(&self, platform: &str) -> Option<&dyn ChatAdapter> {
        self.adapters
            .iter()
            .find(|a| a.platform() == platform)
            .map(|a| a.as_ref())
    }

    fn store_failed(e: impl std::fmt::Display) -> AdapterError {
        AdapterError::Transient(e.to_string())
    }

    /// The platform to message `person` on, or why there is none (after telling the
    /// operator and recording an undeliverable prompt).
    async fn person_platform(
        &self,
        person: &str,
        msg: &Outbound,
        mark: bool,
    ) -> Result<&'static str, AdapterError> {
        let org = msg.org_id;
        let spec = self
            .app
            .spec_recent(org)
            .await
            .map_err(Self::store_failed)?;
        let Some(p) = spec.people.iter().find(|p| p.key.as_str() == person) else {
            return Err(AdapterError::Permanent(format!(
                "`{person}` is not a person of this organisation"
            )));
        };
        let configured = self.platforms();
        let reach = reachability(&self.app, org, p, &configured)
            .await
            .map_err(Self::store_failed)?;
        let reason = match reach {
            Reach::On(platform) => return Ok(platform),
            Reach::ByEmailLater(why) => return Err(AdapterError::Transient(why)),
            Reach::Nowhere(reason) => reason,
        };
        if mark {
            self.unreachable(person, &reason, msg).await;
        }
        Err(AdapterError::Permanent(format!("unreachable: {reason}")))
    }

    /// Records that `person` cannot be reached: the operator is told once, the person
    /// counted, and a prompt recorded as undeliverable.
    async fn unreachable(&self, person: &str, reason: &str, msg: &Outbound) {
        let org = msg.org_id;
        let now = self.app.clock.now();
        self.reached
            .lock()
            .expect("reached")
            .remove(&(org, person.to_string()));
        match self
            .app
            .store
            .mark_unreachable(org, person, reason, now)
            .await
        {
            Ok(true) => tracing::warn!(
                org,
                person,
                reason,
                "a person cannot be reached: their messages are parked and their prompts \
                 recorded as undeliverable until the manifest or the configuration changes"
            ),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(org, person, error = %e, "recording an unreachable person failed")
            }
        }
        if let Some(prompt) = prompt_of(msg)
            && let Err(e) = self.app.store.prompt_undeliverable(org, prompt, now).await
        {
            tracing::error!(org, prompt, error = %e, "recording an undeliverable prompt failed");
        }
    }

    /// `person` was delivered to: no longer unreachable (asked once per process).
    async fn reached(&self, org: i64, person: &str) {
        let first = self
            .reached
            .lock()
            .expect("reached")
            .insert((org, person.to_string()));
        if first && let Err(e) = self.app.store.mark_reachable(org, person).await {
            tracing::warn!(org, person, error = %e, "clearing an unreachable person failed");
        }
    }

    /// The configured platforms where `department` has a channel.
    async fn department_platforms(
        &self,
        org: i64,
        department: &str,
    ) -> Result<Vec<&'static str>, AdapterError> {
        let spec = self
            .app
            .spec_recent(org)
            .await
            .map_err(Self::store_failed)?;
        let Some(d) = spec
            .departments
            .iter()
            .find(|d| d.key.as_str() == department)
        else {
            return Err(AdapterError::Permanent(format!(
                "`{department}` is not a department of this organisation"
            )));
        };
        let configured = self.platforms();
        let to = route_department(&d.channels, &configured);
        if to.is_empty() {
            return Err(AdapterError::Permanent(format!(
                "department `{department}` has no channel on a configured platform ({}); \
                 add `channels.{}` to the manifest",
                configured.join(", "),
                configured.first().copied().unwrap_or("slack")
            )));
        }
        Ok(to)
    }

    async fn one(
        &self,
        platform: &str,
        op: Op<'_>,
        msg: &Outbound,
    ) -> Result<Delivered, AdapterError> {
        let Some(a) = self.adapter(platform) else {
            return Err(AdapterError::Permanent(format!(
                "{platform} is not configured"
            )));
        };
        match op {
            Op::Send(to) => a.send(to, msg).await,
            Op::Edit { department, thread } => a.edit_parent(department, thread, msg).await,
        }
    }

    /// The platforms that already have `msg`, with where it landed on each.
    async fn delivered_on(
        &self,
        msg: &Outbound,
    ) -> Result<HashMap<String, Option<String>>, AdapterError> {
        Ok(self
            .app
            .store
            .delivered_platforms(msg.org_id, &msg.idempotency_key)
            .await
            .map_err(Self::store_failed)?
            .into_iter()
            .collect())
    }

    /// Does `op` on every platform of `platforms` that does not have the message yet.
    async fn fan_out(
        &self,
        platforms: &[&'static str],
        op: Op<'_>,
        msg: &Outbound,
    ) -> Result<Delivered, AdapterError> {
        if let [only] = platforms {
            return self.one(only, op, msg).await;
        }
        let org = msg.org_id;
        let key = &msg.idempotency_key;
        let done = self.delivered_on(msg).await?;
        let mut first_ok: Option<Delivered> = None;
        let mut first_err: Option<AdapterError> = None;
        for p in platforms {
            if let Some(id) = done.get(*p) {
                first_ok.get_or_insert(Delivered {
                    message_id: id.clone(),
                });
                continue;
            }
            match self.one(p, op, msg).await {
                Ok(d) => {
                    let now = self.app.clock.now();
                    if let Err(e) = self
                        .app
                        .store
                        .platform_delivered(org, key, p, d.message_id.as_deref(), now)
                        .await
                    {
                        // The post happened; a retry may repeat it on this platform.
                        tracing::error!(platform = p, key, error = %e, "a platform's delivery was not recorded");
                    }
                    first_ok.get_or_insert(d);
                }
                Err(e) => {
                    tracing::warn!(platform = p, key, error = %e, "one platform failed; the others keep their delivery");
                    first_err.get_or_insert(on_platform(p, e));
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(first_ok.unwrap_or_default()),
        }
    }
}

/// An adapter's error, naming its platform.
fn on_platform(platform: &str, e: AdapterError) -> AdapterError {
    match e {
        AdapterError::Transient(m) => AdapterError::Transient(format!("{platform}: {m}")),
        AdapterError::Permanent(m) => AdapterError::Permanent(format!("{platform}: {m}")),
        rate @ AdapterError::RateLimited { .. } => rate,
    }
}

/// Whether a person can be reached with the platforms `configured`.
#[derive(Debug, Clone, PartialEq)]
pub enum Reach {
    /// On this platform.
    On(&'static str),
    /// To be found in Slack by their email: the paced lookup has not reached them yet.
    ByEmailLater(String),
    /// Nowhere: why, and what would fix it.
    Nowhere(String),
}

/// How `p` of organisation `org` is reached (manifest identities, then learned ones, then
/// an email Slack has not been asked about yet). Reads only; the router and `baton doctor`
/// share it.
pub async fn reachability(
    app: &App,
    org: i64,
    p: &PersonSpec,
    configured: &[&'static str],
) -> Result<Reach, crate::store::StoreError> {
    let person = p.key.as_str();
    let learned = app.store.learned_identities(org, person).await?;
    let mut on: Vec<&str> = p.chat.iter().map(|c| c.platform.as_str()).collect();
    for l in learned.iter().filter(|l| l.user_id.is_some()) {
        if !on.contains(&l.platform.as_str()) {
            on.push(&l.platform);
        }
    }
    let detail = match route_person(&on, p.prefer.as_deref(), configured) {
        PersonRoute::To(platform) => {
            return Ok(match configured.iter().copied().find(|c| *c == platform) {
                Some(c) => Reach::On(c),
                None => Reach::Nowhere(format!("{platform} is gone")),
            });
        }
        PersonRoute::Nowhere => None,
        PersonRoute::NotConfigured(off) => Some(off.join(" and ")),
    };
    let slack = configured.contains(&crate::chat::slack::PLATFORM);
    let looked_up = learned
        .iter()
        .any(|l| l.platform == crate::chat::slack::PLATFORM);
    if let (Some(email), true, false) = (&p.email, slack, looked_up) {
        return Ok(Reach::ByEmailLater(format!(
            "`{person}` is to be found in Slack by their email ({email}); the lookup has not run yet"
        )));
    }
    Ok(Reach::Nowhere(unreachable_reason(
        p,
        detail.as_deref(),
        slack,
        configured,
    )))
}

/// Why a person cannot be reached, and what would fix it.
fn unreachable_reason(
    p: &PersonSpec,
    only_on: Option<&str>,
    slack: bool,
    configured: &[&str],
) -> String {
    let who = p.key.as_str();
    let configured = if configured.is_empty() {
        "none".to_string()
    } else {
        configured.join(", ")
    };
    match (only_on, &p.email) {
        (Some(off), _) => format!(
            "`{who}` is only on {off}, which is not configured here (configured: {configured})"
        ),
        (None, Some(email)) if slack => format!(
            "no Slack user has `{who}`'s email {email}, and the manifest gives them no chat identity"
        ),
        (None, Some(_)) => format!(
            "`{who}` has only an email, which finds people in Slack, and Slack is not configured \
             (configured: {configured})"
        ),
        (None, None) => format!("the manifest gives `{who}` no chat identity and no email"),
    }
}

/// The prompt a message asks, if it is one: the outbox sends prompts as kind `prompt` under
/// the key `prompt:<id>`.
fn prompt_of(msg: &Outbound) -> Option<i64> {
    if msg.kind != "prompt" {
        return None;
    }
    msg.idempotency_key.strip_prefix("prompt:")?.parse().ok()
}

#[async_trait]
impl ChatAdapter for Router {
    fn platform(&self) -> &'static str {
        match self.adapters.as_slice() {
            [only] => only.platform(),
            _ => "router",
        }
    }

    #[tracing::instrument(skip_all, fields(org = msg.org_id, kind = %msg.kind))]
    async fn send(&self, to: &Target, msg: &Outbound) -> Result<Delivered, AdapterError> {
        match to {
            Target::Prompted { .. } => Err(to.not_a_place()),
            Target::Person { person } => {
                let platform = self.person_platform(person, msg, true).await?;
                let d = self.one(platform, Op::Send(to), msg).await?;
                self.reached(msg.org_id, person).await;
                Ok(d)
            }
            Target::Channel { department } | Target::Thread { department, .. } => {
                let platforms = self.department_platforms(msg.org_id, department).await?;
                self.fan_out(&platforms, Op::Send(to), msg).await
            }
        }
    }

    async fn recover(
        &self,
        to: &Target,
        msg: &Outbound,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Recovered, AdapterError> {
        let platforms = match to {
            Target::Prompted { .. } => return Err(to.not_a_place()),
            Target::Person { person } => vec![self.person_platform(person, msg, false).await?],
            Target::Channel { department } | Target::Thread { department, .. } => {
                self.department_platforms(msg.org_id, department).await?
            }
        };
        if let [only] = platforms.as_slice() {
            let a = self
                .adapter(only)
                .ok_or_else(|| AdapterError::Permanent(format!("{only} is not configured")))?;
            return a.recover(to, msg, since).await;
        }
        let org = msg.org_id;
        let key = &msg.idempotency_key;
        let done = self.delivered_on(msg).await?;
        let (mut absent, mut unknown, mut idempotent) = (false, false, false);
        let mut first: Option<Delivered> = None;
        for p in &platforms {
            if let Some(id) = done.get(*p) {
                first.get_or_insert(Delivered {
                    message_id: id.clone(),
                });
                continue;
            }
            let Some(a) = self.adapter(p) else { continue };
            match a
                .recover(to, msg, since)
                .await
                .map_err(|e| on_platform(p, e))?
            {
                Recovered::Landed(d) => {
                    let now = self.app.clock.now();
                    self.app
                        .store
                        .platform_delivered(org, key, p, d.message_id.as_deref(), now)
                        .await
                        .map_err(Self::store_failed)?;
                    first.get_or_insert(d);
                }
                Recovered::Absent => absent = true,
                Recovered::Idempotent => idempotent = true,
                Recovered::Unknown => unknown = true,
            }
        }
        // Platforms found to have it are recorded, so a send that follows skips them. The
        // least certain answer of the others is the answer.
        Ok(if unknown {
            Recovered::Unknown
        } else if absent {
            Recovered::Absent
        } else if idempotent {
            Recovered::Idempotent
        } else {
            Recovered::Landed(first.unwrap_or_default())
        })
    }

    #[tracing::instrument(skip_all, fields(org = msg.org_id, kind = %msg.kind))]
    async fn edit_parent(
        &self,
        department: &str,
        thread: &str,
        msg: &Outbound,
    ) -> Result<Delivered, AdapterError> {
        let platforms = self.department_platforms(msg.org_id, department).await?;
        self.fan_out(&platforms, Op::Edit { department, thread }, msg)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: [&str; 2] = ["slack", "discord"];

    #[test]
    fn a_person_goes_to_their_only_platform() {
        assert_eq!(
            route_person(&["discord"], None, &BOTH),
            PersonRoute::To("discord")
        );
        assert_eq!(
            route_person(&["slack"], None, &BOTH),
            PersonRoute::To("slack")
        );
    }

    #[test]
    fn several_platforms_first_listed_unless_preferred() {
        let on = ["discord", "slack"];
        assert_eq!(route_person(&on, None, &BOTH), PersonRoute::To("discord"));
        assert_eq!(
            route_person(&on, Some("slack"), &BOTH),
            PersonRoute::To("slack")
        );
        assert_eq!(
            route_person(&on, Some("discord"), &BOTH),
            PersonRoute::To("discord")
        );
    }

    #[test]
    fn only_configured_platforms_count() {
        let on = ["slack", "discord"];
        // Preferred but not configured: the configured one.
        assert_eq!(
            route_person(&on, Some("slack"), &["discord"]),
            PersonRoute::To("discord")
        );
        assert_eq!(
            route_person(&["slack"], None, &["discord"]),
            PersonRoute::NotConfigured(vec!["slack"])
        );
        assert_eq!(
            route_person(&["slack"], None, &[]),
            PersonRoute::NotConfigured(vec!["slack"])
        );
        assert_eq!(
            route_person(&[], Some("slack"), &BOTH),
            PersonRoute::Nowhere
        );
    }

    #[test]
    fn a_department_goes_to_every_configured_platform_with_a_channel() {
        let mut ch = BTreeMap::new();
        ch.insert("slack".to_string(), "C1".to_string());
        assert_eq!(route_department(&ch, &BOTH), vec!["slack"]);
        ch.insert("discord".to_string(), "123".to_string());
        assert_eq!(route_department(&ch, &BOTH), vec!["slack", "discord"]);
        assert_eq!(route_department(&ch, &["discord"]), vec!["discord"]);
        assert!(route_department(&BTreeMap::new(), &BOTH).is_empty());
    }

    #[test]
    fn prompts_are_known_by_kind_and_key() {
        let msg = |kind: &str, key: &str| Outbound {
            org_id: 1,
            kind: kind.into(),
            idempotency_key: key.into(),
            reply: crate::bot::Reply::new(),
        };
        assert_eq!(prompt_of(&msg("prompt", "prompt:42")), Some(42));
        assert_eq!(prompt_of(&msg("reminder", "prompt:42")), None);
        assert_eq!(prompt_of(&msg("prompt", "other:42")), None);
    }
}
