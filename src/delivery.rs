//! What leaves baton, in its own terms: where a message goes ([`Target`]), the message
//! ([`Outbound`]), and the [`ChatAdapter`] trait every platform implements to deliver it.
//! It sits below the use cases (which address messages), the store (which keeps them in the
//! outbox), the outbox (which delivers them) and the adapters, so none of them imports
//! another for these.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::bot::Reply;

/// Where a message goes, in baton's own terms, so it can be rebuilt from what is stored;
/// each adapter maps it to its platform (DM channel, channel id, thread ts).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum Target {
    /// A direct message to a person (by person key).
    Person { person: String },
    /// A department's channel.
    Channel { department: String },
    /// A thread in a department's channel, keyed by baton (e.g. `checkins:2026-11-16`).
    Thread { department: String, thread: String },
    /// The people one cadence asked at one instant: a group of prompts the outbox delivers
    /// one by one, each to its own person or channel. Adapters never receive it.
    Prompted { cadence: i64 },
}

/// One message leaving baton.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outbound {
    pub org_id: i64,
    pub kind: String,
    pub idempotency_key: String,
    pub reply: Reply,
}

impl Target {
    /// The refusal an adapter gives a target that is not a single place.
    pub fn not_a_place(&self) -> AdapterError {
        AdapterError::Permanent(format!(
            "{self:?} is a group of messages, delivered one by one by the outbox"
        ))
    }
}

/// Where a message landed (platform message id, when there is one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delivered {
    pub message_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdapterError {
    /// The platform asked us to wait (HTTP 429 with `Retry-After`).
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    /// Worth retrying: 5xx, network errors, timeouts.
    #[error("transient failure: {0}")]
    Transient(String),
    /// Not worth retrying: unknown channel, bad request, no identity for the person.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

/// What a platform says about an earlier attempt to deliver a message whose outcome baton
/// never saw (the worker died, the connection dropped, or the answer timed out).
#[derive(Debug, Clone, PartialEq)]
pub enum Recovered {
    /// The message is there: it must not be sent again.
    Landed(Delivered),
    /// The platform was asked and the message is not there: send it.
    Absent,
    /// Sending again is safe: the platform itself drops a repeat of this message (e.g.
    /// Discord's enforced nonce, within its window).
    Idempotent,
    /// The platform cannot tell (no lookup, or its own sends are idempotent by key).
    Unknown,
}

#[async_trait]
pub trait ChatAdapter: Send + Sync {
    fn platform(&self) -> &'static str;
    /// Delivers one message and says where it landed.
    async fn send(&self, to: &Target, msg: &Outbound) -> Result<Delivered, AdapterError>;

    /// Looks for a message with `msg.idempotency_key` that an earlier, unfinished attempt
    /// may have delivered to `to` at or after `since`. The outbox asks before sending a
    /// message whose previous attempt started but never finished.
    async fn recover(
        &self,
        to: &Target,
        msg: &Outbound,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Recovered, AdapterError> {
        let _ = (to, msg, since);
        Ok(Recovered::Unknown)
    }

    /// Replaces, in place, the parent of one of baton's threads (the first message sent to
    /// that thread key) with `msg`; a period's check-in summary is kept current this way.
    /// A thread whose parent is not known yet is a transient failure: the outbox retries.
    async fn edit_parent(
        &self,
        department: &str,
        thread: &str,
        msg: &Outbound,
    ) -> Result<Delivered, AdapterError> {
        let _ = (department, thread, msg);
        Err(AdapterError::Permanent(format!(
            "{} cannot edit messages it sent",
            self.platform()
        )))
    }
}
