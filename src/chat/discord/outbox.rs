//! Delivery of outbox messages to Discord: direct messages through a DM channel, channel
//! posts to the department's `channels.discord`, and threads started from the first
//! message of a baton thread key (remembered in `discord_threads`).
//!
//! Errors map to the outbox's retry policy: 429 → `RateLimited`, 5xx and network errors →
//! `Transient`, any other 4xx → `Permanent` (never retried, so baton stays far from
//! Discord's invalid-request ban).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use serenity::all::{ChannelId, MessageId};
use serenity::http::{Http, HttpError, LightMethod, Request, Route};

use crate::bot::render::discord as render;
use crate::chat::{AdapterError, ChatAdapter, Delivered, Outbound, Target};
use crate::store::Store;

/// Used when a 429 reaches baton without a usable `Retry-After` (serenity's rate limiter,
/// on in production, waits out 429s itself; this is the fallback).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

pub struct DiscordAdapter {
    pub store: Store,
    pub http: Arc<Http>,
}

impl DiscordAdapter {
    pub fn new(store: Store, http: Arc<Http>) -> Self {
        DiscordAdapter { store, http }
    }

    /// One REST call with a JSON body; the answer's JSON (`Null` if it has none).
    pub(crate) async fn call(
        &self,
        route: Route<'_>,
        method: LightMethod,
        body: &Value,
    ) -> Result<Value, AdapterError> {
        let bytes = serde_json::to_vec(body).map_err(|e| AdapterError::Permanent(e.to_string()))?;
        let resp = self
            .http
            .request(Request::new(route, method).body(Some(bytes)))
            .await
            .map_err(map_error)?;
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| AdapterError::Transient(e.to_string()))?;
        Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    async fn post(&self, channel: u64, msg: &Outbound) -> Result<String, AdapterError> {
        let mut body = render::message(&msg.reply, render::DEFAULT_POINTER);
        // Outbox messages are for everyone in the channel.
        if let Some(o) = body.as_object_mut() {
            o.remove("flags");
            // Discord drops a second message with the same nonce: a retry after a lost
            // response does not post twice.
            o.insert("nonce".into(), json!(nonce(&msg.idempotency_key)));
            o.insert("enforce_nonce".into(), json!(true));
        }
        let v = self
            .call(
                Route::ChannelMessages {
                    channel_id: ChannelId::new(channel),
                },
                LightMethod::Post,
                &body,
            )
            .await?;
        Ok(v["id"].as_str().unwrap_or_default().to_string())
    }

    async fn dm_channel(&self, org_id: i64, person: &str) -> Result<u64, AdapterError> {
        let user: Option<String> = sqlx::query_scalar(
            "SELECT ci.user_id FROM chat_identities ci JOIN people p ON p.id = ci.person_id \
             WHERE ci.org_id = $1 AND p.key = $2 AND ci.platform = 'discord' LIMIT 1",
        )
        .bind(org_id)
        .bind(person)
        .fetch_optional(self.store.pool())
        .await
        .map_err(|e| AdapterError::Transient(e.to_string()))?;
        let user = user
            .ok_or_else(|| AdapterError::Permanent(format!("{person} has no Discord identity")))?;
        let v = self
            .call(
                Route::UserMeDmChannels,
                LightMethod::Post,
                &json!({ "recipient_id": user }),
            )
            .await?;
        id_of(&v["id"])
    }

    async fn channel(&self, org_id: i64, department: &str) -> Result<u64, AdapterError> {
        let ch: Option<Option<String>> = sqlx::query_scalar(
            "SELECT spec->'channels'->>'discord' FROM departments WHERE org_id = $1 AND key = $2",
        )
        .bind(org_id)
        .bind(department)
        .fetch_optional(self.store.pool())
        .await
        .map_err(|e| AdapterError::Transient(e.to_string()))?;
        let ch = ch.flatten().ok_or_else(|| {
            AdapterError::Permanent(format!("department {department} has no Discord channel"))
        })?;
        ch.parse()
            .map_err(|_| AdapterError::Permanent(format!("`{ch}` is not a Discord channel id")))
    }
}

fn id_of(v: &Value) -> Result<u64, AdapterError> {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n != 0)
        .ok_or_else(|| AdapterError::Transient("Discord answered without an id".into()))
}

/// A stable nonce (at most 25 characters) for an idempotency key (FNV-1a, hex).
pub fn nonce(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn map_error(e: serenity::Error) -> AdapterError {
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => {
            let status = r.status_code.as_u16();
            let what = format!("{status} {}: {}", r.url, r.error.message);
            match status {
                429 => AdapterError::RateLimited {
                    retry_after: DEFAULT_RETRY_AFTER,
                },
                500..=599 => AdapterError::Transient(what),
                _ => AdapterError::Permanent(what),
            }
        }
        other => AdapterError::Transient(other.to_string()),
    }
}

#[async_trait]
impl ChatAdapter for DiscordAdapter {
    fn platform(&self) -> &'static str {
        "discord"
    }

    async fn send(&self, to: &Target, msg: &Outbound) -> Result<Delivered, AdapterError> {
        let id = match to {
            Target::Person { person } => {
                let ch = self.dm_channel(msg.org_id, person).await?;
                self.post(ch, msg).await?
            }
            Target::Channel { department } => {
                let ch = self.channel(msg.org_id, department).await?;
                self.post(ch, msg).await?
            }
            Target::Thread { department, thread } => {
                let known: Option<String> = sqlx::query_scalar(
                    "SELECT thread_id FROM discord_threads WHERE org_id = $1 AND department = $2 AND thread_key = $3",
                )
                .bind(msg.org_id)
                .bind(department)
                .bind(thread)
                .fetch_optional(self.store.pool())
                .await
                .map_err(|e| AdapterError::Transient(e.to_string()))?;
                if let Some(t) = known.and_then(|t| t.parse::<u64>().ok()) {
                    self.post(t, msg).await?
                } else {
                    let ch = self.channel(msg.org_id, department).await?;
                    let first = self.post(ch, msg).await?;
                    let mid = first.parse::<u64>().unwrap_or(0);
                    if mid != 0 {
                        match self
                            .call(
                                Route::ChannelMessageThreads {
                                    channel_id: ChannelId::new(ch),
                                    message_id: MessageId::new(mid),
                                },
                                LightMethod::Post,
                                &json!({ "name": render::truncate(thread, 100) }),
                            )
                            .await
                            .and_then(|v| id_of(&v["id"]))
                        {
                            Ok(tid) => {
                                sqlx::query(
                                    "INSERT INTO discord_threads (org_id, department, thread_key, channel_id, thread_id) \
                                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                                )
                                .bind(msg.org_id)
                                .bind(department)
                                .bind(thread)
                                .bind(ch.to_string())
                                .bind(tid.to_string())
                                .execute(self.store.pool())
                                .await
                                .map_err(|e| AdapterError::Transient(e.to_string()))?;
                            }
                            // The message is delivered; the next one of the thread tries again.
                            Err(e) => {
                                tracing::warn!(error = %e, thread, "creating a Discord thread failed")
                            }
                        }
                    }
                    first
                }
            }
        };
        Ok(Delivered {
            message_id: (!id.is_empty()).then_some(id),
        })
    }
}
