//! Delivery of outbox messages to Discord: direct messages through a DM channel, channel
//! posts to the department's `channels.discord`, and threads started from the first
//! message of a baton thread key (remembered in `platform_threads`). A reply's picture
//! goes with it as an attachment ([`super::pictures`]).
//!
//! Errors map to the outbox's retry policy: 429 → `RateLimited` with the wait Discord
//! gave (`retry_after` in the body, else the `Retry-After` header), 5xx and network
//! errors → `Transient`, any other 4xx → `Permanent` (never retried, so baton stays far
//! from Discord's invalid-request ban).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};
use serenity::all::{ChannelId, MessageId};
use serenity::builder::CreateAttachment;
use serenity::http::{Http, LightMethod, Multipart, MultipartUpload, Request, Route};

use crate::app::App;
use crate::bot::render::discord as render;
use crate::chat::{AdapterError, ChatAdapter, Delivered, Outbound, Recovered, Target};
use crate::store::Store;
use crate::store::threads::ThreadRow;

use super::PLATFORM;

/// Used when a 429 reaches baton without a usable `retry_after` or `Retry-After`
/// (serenity's rate limiter, on in production, waits out 429s that carry the header).
pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);

pub struct DiscordAdapter {
    /// Pictures are rendered from the app's figures when a message is sent.
    pub app: Arc<App>,
    pub http: Arc<Http>,
    /// Sends requests when serenity's rate limiter is off (tests, rate-limiting proxies).
    client: reqwest::Client,
}

impl DiscordAdapter {
    pub fn new(app: Arc<App>, http: Arc<Http>) -> Self {
        DiscordAdapter {
            app,
            http,
            client: reqwest::Client::new(),
        }
    }

    fn store(&self) -> &Store {
        &self.app.store
    }

    /// Sends a request and reads Discord's whole answer, whatever its status: serenity's
    /// own `Http::request` turns a 429 into an error that has lost its `retry_after`.
    async fn execute(&self, req: Request<'_>) -> serenity::Result<reqwest::Response> {
        match &self.http.ratelimiter {
            Some(limiter) => limiter.perform(req).await,
            None => {
                let req = req
                    .build(&self.client, self.http.token(), self.http.proxy.as_deref())?
                    .build()?;
                Ok(self.client.execute(req).await?)
            }
        }
    }

    /// One request: JSON, or multipart (`payload_json` + `files[n]`) when there are files.
    pub(crate) async fn call(
        &self,
        route: Route<'_>,
        method: LightMethod,
        body: &Value,
        files: Vec<CreateAttachment>,
    ) -> Result<Value, AdapterError> {
        let what = format!(
            "{} {}",
            method.reqwest_method(),
            route
                .path()
                .trim_start_matches("https://discord.com/api/v10")
        );
        let req = Request::new(route, method);
        let req = if files.is_empty() {
            let bytes =
                serde_json::to_vec(body).map_err(|e| AdapterError::Permanent(e.to_string()))?;
            req.body(Some(bytes))
        } else {
            req.multipart(Some(Multipart {
                upload: MultipartUpload::Attachments(files),
                fields: Vec::new(),
                payload_json: Some(body.to_string()),
            }))
        };
        let resp = self
            .execute(req)
            .await
            .map_err(|e| AdapterError::Transient(format!("{what}: {e}")))?;
        let status = resp.status().as_u16();
        let header = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| AdapterError::Transient(format!("{what}: {e}")))?;
        if status == 429 {
            self.app.metrics.rate_limited(super::PLATFORM);
        }
        outcome(status, header.as_deref(), &bytes, &what)
    }

    async fn post(&self, channel: u64, msg: &Outbound) -> Result<String, AdapterError> {
        let (mut body, files) =
            super::pictures::message(&self.app, msg.org_id, &msg.reply, render::DEFAULT_POINTER)
                .await;
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
                files,
            )
            .await?;
        Ok(v["id"].as_str().unwrap_or_default().to_string())
    }

    /// A thread baton started for one of its thread keys, once it exists.
    async fn thread(
        &self,
        org_id: i64,
        department: &str,
        thread: &str,
    ) -> Result<Option<ThreadRow>, AdapterError> {
        self.store()
            .thread(org_id, PLATFORM, department, thread)
            .await
            .map_err(|e| AdapterError::Transient(e.to_string()))
    }

    async fn dm_channel(&self, org_id: i64, person: &str) -> Result<u64, AdapterError> {
        let user = self
            .store()
            .manifest_user_id(org_id, person, "discord")
            .await
            .map_err(|e| AdapterError::Transient(e.to_string()))?;
        let user = user
            .ok_or_else(|| AdapterError::Permanent(format!("{person} has no Discord identity")))?;
        let v = self
            .call(
                Route::UserMeDmChannels,
                LightMethod::Post,
                &json!({ "recipient_id": user }),
                Vec::new(),
            )
            .await?;
        id_of(&v["id"])
    }

    async fn channel(&self, org_id: i64, department: &str) -> Result<u64, AdapterError> {
        let ch = self
            .store()
            .department_channel(org_id, department, "discord")
            .await
            .map_err(|e| AdapterError::Transient(e.to_string()))?;
        let ch = ch.ok_or_else(|| {
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

/// How long after a post Discord still drops a repeat with the same enforced nonce: its
/// documentation says "the past few minutes"; baton counts on two.
pub const NONCE_WINDOW: chrono::Duration = chrono::Duration::minutes(2);

/// A stable nonce (at most 25 characters) for an idempotency key (FNV-1a, hex).
pub fn nonce(key: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The wait a 429 asks for: the body's `retry_after` (float seconds, Discord's precise
/// value), else the `Retry-After` header, else [`DEFAULT_RETRY_AFTER`].
pub fn retry_after(body: &[u8], header: Option<&str>) -> Duration {
    let from_body = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["retry_after"].as_f64());
    let from_header = header.and_then(|h| h.trim().parse::<f64>().ok());
    from_body
        .into_iter()
        .chain(from_header)
        .find_map(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(DEFAULT_RETRY_AFTER)
}

/// Maps Discord's answer to `what` (e.g. `POST /channels/1/messages`) to the outbox's
/// policy: 2xx → the JSON body, 429 → wait as told, 5xx → retry, other 4xx → give up.
pub fn outcome(
    status: u16,
    retry_after_header: Option<&str>,
    body: &[u8],
    what: &str,
) -> Result<Value, AdapterError> {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let said = match (json["message"].as_str(), json["code"].as_i64()) {
        (Some(m), Some(c)) if c != 0 => format!("{m} (code {c})"),
        (Some(m), _) => m.to_string(),
        _ => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    };
    match status {
        200..=299 => Ok(json),
        429 => Err(AdapterError::RateLimited {
            retry_after: retry_after(body, retry_after_header),
        }),
        500..=599 => Err(AdapterError::Transient(format!(
            "Discord answered {status} to {what}: {said}"
        ))),
        _ => Err(AdapterError::Permanent(format!(
            "Discord refused {what} with {status}: {said}"
        ))),
    }
}

#[async_trait]
impl ChatAdapter for DiscordAdapter {
    fn platform(&self) -> &'static str {
        "discord"
    }

    /// Every post carries an enforced nonce derived from its idempotency key, and Discord
    /// answers a repeat within a few minutes with the message already posted: a send
    /// whose answer was lost is safely repeated inside that window. Past it, Discord
    /// cannot tell.
    async fn recover(
        &self,
        _to: &Target,
        _msg: &Outbound,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Recovered, AdapterError> {
        let age = self.app.clock.now() - since;
        Ok(if age < NONCE_WINDOW {
            Recovered::Idempotent
        } else {
            Recovered::Unknown
        })
    }

    async fn send(&self, to: &Target, msg: &Outbound) -> Result<Delivered, AdapterError> {
        let id = match to {
            Target::Prompted { .. } => return Err(to.not_a_place()),
            Target::Person { person } => {
                let ch = self.dm_channel(msg.org_id, person).await?;
                self.post(ch, msg).await?
            }
            Target::Channel { department } => {
                let ch = self.channel(msg.org_id, department).await?;
                self.post(ch, msg).await?
            }
            Target::Thread { department, thread } => {
                let known = self.thread(msg.org_id, department, thread).await?;
                if let Some(t) = known.and_then(|k| k.thread_ref.parse::<u64>().ok()) {
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
                                Vec::new(),
                            )
                            .await
                            .and_then(|v| id_of(&v["id"]))
                        {
                            Ok(tid) => {
                                let row = ThreadRow {
                                    channel: ch.to_string(),
                                    parent: first.clone(),
                                    thread_ref: tid.to_string(),
                                };
                                self.store()
                                    .remember_thread(
                                        msg.org_id,
                                        PLATFORM,
                                        department,
                                        thread,
                                        &row,
                                        self.app.clock.now(),
                                    )
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

    /// Edits the message the thread was started from (`PATCH` of the channel message).
    async fn edit_parent(
        &self,
        department: &str,
        thread: &str,
        msg: &Outbound,
    ) -> Result<Delivered, AdapterError> {
        let known = self.thread(msg.org_id, department, thread).await?;
        let Some((channel, parent)) = known.map(|k| (k.channel, k.parent)) else {
            return Err(AdapterError::Transient(format!(
                "thread {thread} has no parent yet"
            )));
        };
        let (Ok(channel), Ok(parent)) = (channel.parse::<u64>(), parent.parse::<u64>()) else {
            return Err(AdapterError::Permanent(format!(
                "thread {thread} has an unreadable parent ({channel}/{parent})"
            )));
        };
        let (mut body, files) =
            super::pictures::message(&self.app, msg.org_id, &msg.reply, render::DEFAULT_POINTER)
                .await;
        if let Some(o) = body.as_object_mut() {
            o.remove("flags");
        }
        self.call(
            Route::ChannelMessage {
                channel_id: ChannelId::new(channel),
                message_id: MessageId::new(parent),
            },
            LightMethod::Patch,
            &body,
            files,
        )
        .await?;
        Ok(Delivered {
            message_id: Some(parent.to_string()),
        })
    }
}
