//! The one entry for everything people send, from every platform. Adapters verify and
//! parse their transport into a neutral [`Inbound`]; this module decides what it means, in
//! this order:
//!
//! 1. **De-duplicate** by the platform's delivery id, before any lookup or outside call (a
//!    retried event from a stranger is dropped here, not looked up again). Only the
//!    delivery id is kept. A reply in a thread that reads as ordinary discussion is set
//!    aside before that, by the pure rule alone (nothing stored, nobody looked up).
//! 2. **Resolve the person**: the workspace's organisation, then the identity declared in
//!    the manifest, then one learned earlier, then one platform lookup (its answer cached),
//!    matched by email and learned; or a polite refusal that stores nothing else.
//! 3. **Look up the thread** (one table for every platform) for a reply in a thread.
//! 4. **Classify the line** with one rule ([`classify_thread_line`]).
//! 5. **Build the command**: one mapping for buttons ([`Pressed::command`]) and forms.
//! 6. **Run it** and hand back the reply, saying whether the app already announced it in
//!    the review's thread.

use crate::refused::Refusal;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{Actor, App};
use crate::bot::inbound::{Identity, Inbound, Place, Scoped, What};
use crate::bot::{Command, Reply};
use crate::domain::Source;
use crate::domain::review::{ThreadLine, classify_thread_line};
use crate::error::{AppError, Result};
use crate::store::OrgRow;
use crate::store::identities::Learning;

/// What a platform can say about one of its users.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub email: Option<String>,
    /// An IANA zone name, as the platform reports it (checked before it is used).
    pub time_zone: Option<String>,
}

/// An adapter's directory of its platform's users: one lookup per unknown identity.
#[async_trait]
pub trait Directory: Send + Sync {
    /// Who `who` is, as far as the platform tells (`None`: it cannot say, or failed).
    async fn profile(&self, who: &Identity) -> Option<Profile>;
}

/// A platform that tells nothing about its users (Discord shows bots no emails; the shell).
pub struct NoDirectory;

#[async_trait]
impl Directory for NoDirectory {
    async fn profile(&self, _who: &Identity) -> Option<Profile> {
        None
    }
}

/// How long a platform's answer about a user is reused.
const PROFILE_TTL: Duration = Duration::from_secs(600);
/// Answers kept at most (the cache starts afresh when full).
const PROFILE_CAP: usize = 10_000;

/// Platform lookups already made, shared by every request of a process.
#[derive(Default)]
pub struct Profiles {
    seen: Mutex<HashMap<Identity, (Instant, Option<Profile>)>>,
}

impl Profiles {
    async fn get(&self, dir: &dyn Directory, who: &Identity) -> Option<Profile> {
        if let Some((at, p)) = self.seen.lock().expect("profiles").get(who)
            && at.elapsed() < PROFILE_TTL
        {
            return p.clone();
        }
        let p = dir.profile(who).await;
        let mut seen = self.seen.lock().expect("profiles");
        if seen.len() >= PROFILE_CAP {
            seen.clear();
        }
        seen.insert(who.clone(), (Instant::now(), p.clone()));
        p
    }
}

/// A command the pipeline ran: who, from which platform, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct Ran {
    pub platform: &'static str,
    pub person: String,
    pub scoped: Scoped,
    /// Whether the app refused or failed it.
    pub failed: bool,
}

/// What became of an inbound event.
#[derive(Debug)]
pub enum Outcome {
    /// Seen before: say nothing.
    Duplicate,
    /// Not for baton (discussion, a thread that is not a review's, an unreadable event).
    Ignored(&'static str),
    /// Refused politely (a stranger, a workspace baton cannot place): tell the writer, and
    /// nothing else was stored.
    Refused(Reply),
    /// Ran (or was answered with a hint).
    Done(Box<Done>),
}

/// A command that ran, and its answer for the writer.
#[derive(Debug)]
pub struct Done {
    pub actor: Actor,
    /// What ran (`None` for a hint or a line that did not parse).
    pub scoped: Option<Scoped>,
    pub reply: Reply,
    /// The writer asked to share the answer with the channel (`share …`).
    pub share: bool,
}

impl Done {
    /// Whether the app announced the effect in the review's thread already (the adapter
    /// then says nothing, unless it failed).
    pub fn echoed(&self) -> bool {
        !self.reply.is_error() && self.scoped.as_ref().is_some_and(Scoped::echoed)
    }
}

fn platform_name(platform: &str) -> String {
    let mut c = platform.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The refusal for someone baton cannot place.
fn unknown_person(who: &Identity) -> Reply {
    let p = platform_name(who.platform);
    Reply::new().text(format!(
        "Hello! I don't know you yet: your {p} account is not linked to a person in this \
         organisation's baton manifest. Ask a baton admin to add your {p} user id ({}) or \
         your email address to the manifest, then try again. Nothing was recorded.",
        who.user
    ))
}

fn unknown_workspace(who: &Identity) -> Reply {
    let p = platform_name(who.platform);
    Reply::new().text(format!(
        "This {p} workspace is not connected to a baton organisation, so baton cannot answer \
         here. Nothing was recorded."
    ))
}

fn ambiguous(who: &Identity) -> Reply {
    let p = platform_name(who.platform);
    Reply::new().text(match who.workspace {
        Some(_) => format!(
            "This {p} workspace is claimed by several baton organisations, so baton cannot \
             tell which one you mean. Ask a baton admin to fix the manifests. Nothing was recorded."
        ),
        None => format!(
            "You belong to several baton organisations; write to baton in your organisation's \
             {p} workspace instead. Nothing was recorded."
        ),
    })
}

/// Who is writing: the person, or the polite refusal (logged once here).
pub async fn identify(
    app: &App,
    dir: &dyn Directory,
    who: &Identity,
) -> Result<std::result::Result<Actor, Reply>> {
    let ws = who.workspace.as_deref();
    let orgs = app
        .store
        .orgs_of_workspace(who.platform, ws, &who.user)
        .await?;
    let org: OrgRow = match orgs.as_slice() {
        [org] => org.clone(),
        [] if ws.is_none() => {
            tracing::warn!(platform = who.platform, user = %who.user, "message from an unknown user");
            app.metrics.refused(who.platform, Refusal::UnknownPerson);
            return Ok(Err(unknown_person(who)));
        }
        [] => {
            tracing::warn!(platform = who.platform, workspace = ?ws, "request from a workspace baton cannot place");
            app.metrics.refused(who.platform, Refusal::UnknownWorkspace);
            return Ok(Err(unknown_workspace(who)));
        }
        _ => {
            tracing::warn!(platform = who.platform, workspace = ?ws, user = %who.user,
                "request that several organisations claim");
            app.metrics.refused(who.platform, Refusal::Ambiguous);
            return Ok(Err(ambiguous(who)));
        }
    };
    let mut profile = None;
    let key = match app
        .store
        .person_of_identity(org.id, who.platform, ws, &who.user)
        .await?
    {
        Some(k) => Some(k),
        None => {
            profile = app.profiles.get(dir, who).await;
            match profile.as_ref().and_then(|p| p.email.as_deref()) {
                Some(email) => app.store.person_of_email(org.id, email).await?,
                None => None,
            }
        }
    };
    let Some(key) = key else {
        tracing::warn!(platform = who.platform, workspace = ?ws, user = %who.user, "unknown user");
        app.metrics.refused(who.platform, Refusal::UnknownPerson);
        return Ok(Err(unknown_person(who)));
    };
    let actor = app.actor(org, &key, source(who.platform)).await?;
    if let Some(email) = profile.as_ref().and_then(|p| p.email.as_deref()) {
        // Matched by email: baton can now reach them (and know them) without a lookup.
        let learning = Learning {
            org_id: actor.org.id,
            person_id: actor.person.id,
            platform: who.platform,
            workspace: ws,
            user_id: Some(&who.user),
            source: "inbound",
            email: Some(email),
        };
        match app.store.learn_identity(&learning, app.clock.now()).await {
            Ok(()) => tracing::info!(person = %actor.key(), platform = who.platform,
                "learned a user from a message (matched by email)"),
            Err(e) => tracing::warn!(error = %e, "a user matched by email was not stored"),
        }
    }
    if actor.person.spec.time_zone.is_none()
        && let Err(e) = remember_zone(app, dir, who, &actor, profile).await
    {
        tracing::warn!(error = %e, "the platform's time zone was not stored");
    }
    Ok(Ok(actor))
}

fn source(platform: &str) -> Source {
    match platform {
        "slack" => Source::Slack,
        "discord" => Source::Discord,
        _ => Source::Shell,
    }
}

/// Records the platform's time zone for a person whose manifest sets none (see
/// `app::zones`): from the answer at hand, else asked once. A value that is not an IANA
/// zone is ignored.
async fn remember_zone(
    app: &App,
    dir: &dyn Directory,
    who: &Identity,
    actor: &Actor,
    profile: Option<Profile>,
) -> Result<()> {
    let profile = match profile {
        Some(p) => Some(p),
        None => {
            if app
                .store
                .has_platform_zone(actor.org.id, actor.person.id, who.platform)
                .await?
            {
                return Ok(());
            }
            app.profiles.get(dir, who).await
        }
    };
    let Some(tz) = profile.and_then(|p| p.time_zone) else {
        return Ok(());
    };
    if tz.parse::<chrono_tz::Tz>().is_err() {
        tracing::debug!(
            tz,
            "the platform reported a time zone that is not an IANA name"
        );
        return Ok(());
    }
    app.store
        .record_platform_zone(actor.org.id, actor.person.id, who.platform, &tz)
        .await?;
    Ok(())
}

/// Handles one inbound event from a platform (see the module documentation).
#[tracing::instrument(skip_all, fields(platform = inbound.who.platform, delivery = ?inbound.delivery))]
pub async fn handle(app: &App, dir: &dyn Directory, inbound: Inbound) -> Outcome {
    if let Some(stop) = admit(app, &inbound).await {
        return stop;
    }
    handle_admitted(app, dir, inbound).await
}

/// Step 1 alone: sets aside a thread's discussion (by the rule, nothing stored) and drops a
/// delivery seen before. `Some` says to stop there. Adapters that must answer a repeat at
/// once (before deciding to defer the rest) call it first, then [`handle_admitted`].
pub async fn admit(app: &App, inbound: &Inbound) -> Option<Outcome> {
    if let (Place::Thread { .. }, What::Text(text)) = (&inbound.place, &inbound.what)
        && classify_thread_line(text) == ThreadLine::Discussion
    {
        return Some(Outcome::Ignored("discussion"));
    }
    let d = inbound.delivery.as_ref()?;
    match app
        .store
        .first_delivery(inbound.who.platform, d, app.clock.now())
        .await
    {
        Ok(true) => None,
        Ok(false) => {
            tracing::debug!(delivery = %d, "delivery seen before; dropped");
            Some(Outcome::Duplicate)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot record the delivery; going on");
            None
        }
    }
}

/// Steps 2 to 6, for an event [`admit`] let through.
pub async fn handle_admitted(app: &App, dir: &dyn Directory, inbound: Inbound) -> Outcome {
    // 3 (before 2 for replies): a reply in a thread that is not one of baton's review
    // threads is not for baton, whoever wrote it.
    let review = match &inbound.place {
        Place::Thread { channel, thread } => {
            match app
                .store
                .thread_of_reply(inbound.who.platform, channel.as_deref(), thread)
                .await
            {
                Ok(Some(t)) => match t
                    .thread_key
                    .strip_prefix("review-")
                    .and_then(|n| n.parse::<i64>().ok())
                {
                    Some(id) => Some((t.org_id, id)),
                    None => return Outcome::Ignored("not a review thread"),
                },
                Ok(None) => return Outcome::Ignored("not baton's thread"),
                Err(e) => {
                    tracing::error!(error = %e, "cannot look up the thread");
                    return Outcome::Ignored("database unavailable");
                }
            }
        }
        _ => None,
    };
    // 2. Who is it?
    let actor = match identify(app, dir, &inbound.who).await {
        Ok(Ok(a)) => a,
        Ok(Err(refusal)) => return Outcome::Refused(refusal),
        Err(e) => return Outcome::Refused(Reply::error(plain_failure(&e))),
    };
    if let Some((org, _)) = review
        && org != actor.org.id
    {
        tracing::warn!(person = %actor.key(), "writer belongs to another organisation than the thread");
        app.metrics
            .refused(inbound.who.platform, Refusal::OtherOrganisation);
        return Outcome::Refused(Reply::error(
            "Sorry, this review belongs to another baton organisation. Nothing was recorded.",
        ));
    }
    run(app, actor, inbound, review.map(|(_, id)| id)).await
}

/// Handles an event from someone already known (the shell runs as `--as <person>`): steps
/// 3 to 6 of [`handle`].
pub async fn handle_as(app: &App, actor: Actor, inbound: Inbound) -> Outcome {
    run(app, actor, inbound, None).await
}

fn plain_failure(e: &AppError) -> String {
    tracing::error!(error = %e, "looking up a person failed");
    "baton could not look you up just now; nothing was recorded, please try again.".into()
}

async fn run(app: &App, actor: Actor, inbound: Inbound, review: Option<i64>) -> Outcome {
    let key = inbound.key.clone();
    let mut share = false;
    // 4 and 5: one rule per kind of input.
    let scoped = match inbound.what {
        What::Press(p) => p.command(),
        What::Form { id, values } => Scoped {
            command: Command::SubmitForm { id, values },
            review: None,
        },
        What::Text(text) => {
            let text = neutral_mentions(app, &actor, &inbound.who, &inbound.mentions, &text).await;
            match (&inbound.place, review) {
                (Place::Thread { .. }, Some(id)) => match classify_thread_line(&text) {
                    ThreadLine::Capture { kind, text } => Scoped {
                        command: Command::Capture {
                            kind: kind.to_string(),
                            text,
                        },
                        review: Some(id),
                    },
                    ThreadLine::Command => match Command::parse(&text) {
                        Ok(command) => Scoped {
                            command,
                            review: Some(id),
                        },
                        Err(e) => return answered(actor, Reply::error(e)),
                    },
                    ThreadLine::Attempt(why) => {
                        return answered(
                            actor,
                            Reply::new()
                                .text(format!("I did not capture that: {why}"))
                                .note(super::reviews::THREAD_HINT),
                        );
                    }
                    ThreadLine::Discussion => return Outcome::Ignored("discussion"),
                },
                (Place::Thread { .. }, None) => return Outcome::Ignored("not a review thread"),
                (place, _) => {
                    let mut line = text.trim().to_string();
                    if matches!(place, Place::Channel { .. }) {
                        // `share` in front makes the answer visible to the channel.
                        let (s, rest) = match line.split_once(char::is_whitespace) {
                            Some((w, rest)) if w.eq_ignore_ascii_case("share") => {
                                (true, rest.trim().to_string())
                            }
                            _ if line.eq_ignore_ascii_case("share") => (true, String::new()),
                            _ => (false, line.clone()),
                        };
                        share = s;
                        line = rest;
                    }
                    // A bare slash command asks for help; an empty line elsewhere is the
                    // app's to answer.
                    if line.is_empty() && matches!(place, Place::Channel { .. }) {
                        line = "help".into();
                    }
                    let reply = app.handle_line(&actor, &line, &key).await;
                    let scoped = Command::parse(&line).ok().map(|command| Scoped {
                        command,
                        review: None,
                    });
                    // A calendar link carries the organisation's feed token: it is answered
                    // to the asker alone, even when asked with `share`.
                    if scoped
                        .as_ref()
                        .is_some_and(|s| matches!(s.command, Command::CalendarLink(_)))
                    {
                        share = false;
                    }
                    if let Some(s) = &scoped {
                        let _ = app.ran.send(Ran {
                            platform: inbound.who.platform,
                            person: actor.key().to_string(),
                            scoped: s.clone(),
                            failed: reply.is_error(),
                        });
                    }
                    return Outcome::Done(Box::new(Done {
                        actor,
                        scoped,
                        reply,
                        share,
                    }));
                }
            }
        }
    };
    // 6. Run it.
    let reply = match scoped.review {
        Some(id) => {
            app.handle_in_review(&actor, id, scoped.command.clone(), &key)
                .await
        }
        None => app.handle(&actor, scoped.command.clone(), &key).await,
    };
    let _ = app.ran.send(Ran {
        platform: inbound.who.platform,
        person: actor.key().to_string(),
        scoped: scoped.clone(),
        failed: reply.is_error(),
    });
    Outcome::Done(Box::new(Done {
        actor,
        scoped: Some(scoped),
        reply,
        share,
    }))
}

fn answered(actor: Actor, reply: Reply) -> Outcome {
    Outcome::Done(Box::new(Done {
        actor,
        scoped: None,
        reply,
        share: false,
    }))
}

/// Replaces each mention of a platform user (`@<user id>`, as adapters write mentions) by
/// the person's key when baton knows them, so the app reads `@kofi` whatever the platform.
async fn neutral_mentions(
    app: &App,
    actor: &Actor,
    who: &Identity,
    mentions: &[String],
    text: &str,
) -> String {
    let mut out = text.to_string();
    for user in mentions {
        let key = app
            .store
            .person_of_identity(actor.org.id, who.platform, who.workspace.as_deref(), user)
            .await
            .ok()
            .flatten();
        if let Some(key) = key {
            out = replace_token(&out, &format!("@{user}"), &format!("@{key}"));
        }
    }
    out
}

/// Replaces `from` where it stands as a whole token (not inside a longer id).
fn replace_token(text: &str, from: &str, to: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(from) {
        let after = &rest[i + from.len()..];
        let whole = !after.starts_with(|c: char| c.is_alphanumeric() || c == '_');
        out.push_str(&rest[..i]);
        out.push_str(if whole { to } else { from });
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_replaced_as_whole_tokens() {
        assert_eq!(
            replace_token("action: @U1 and @U12, @U1.", "@U1", "@kofi"),
            "action: @kofi and @U12, @kofi."
        );
        assert_eq!(platform_name("slack"), "Slack");
    }
}
