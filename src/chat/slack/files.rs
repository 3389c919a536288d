//! Pictures in Slack. A reply's [`ImageRef`]s are rendered to PNG by
//! [`crate::app::pictures::render`] when they are delivered and uploaded with Slack's
//! external upload flow: `files.getUploadURLExternal` (filename, length, alt text), the
//! bytes POSTed to the `upload_url` it returns, then `files.completeUploadExternal`, which
//! shares the file into the channel (or thread). The text of the reply always goes first and
//! stands on its own: the Block Kit rendering carries each picture's alt text.
//!
//! - **Outbox messages** upload into their target. Delivery is recorded part by part (the
//!   text, then each picture) in `slack_delivered_parts`, for messages with pictures only: a
//!   failed upload (5xx, 429) is returned to the outbox, which retries by its usual rules
//!   (`Retry-After` honoured, exponential backoff), and the retry uploads the picture
//!   without posting the text again. A picture that cannot be made or that Slack refuses
//!   for good (`missing_scope`, say) is logged and skipped: the text was delivered.
//! - **Interactive answers** (slash commands, DM lines) upload from a task after the ack,
//!   retrying in place a few times by the same classification. A slash command's answer
//!   is private, so its pictures go to the person's DM with baton (never into the channel
//!   where the command was typed) unless the answer was `share`d.

use std::time::Duration;

use serde_json::{Value, json};

use super::{SlackBot, classify};
use crate::app::pictures::{file_name, images, title};
use crate::bot::Reply;
use crate::bot::reply::ImageRef;
use crate::chat::AdapterError;

/// Slack's limit for `alt_txt`.
const MAX_ALT: usize = 1000;
/// In-place attempts for an interactive answer's picture.
const INTERACTIVE_ATTEMPTS: u32 = 4;
/// The longest `Retry-After` an interactive upload waits for in place.
const MAX_INTERACTIVE_WAIT: Duration = Duration::from_secs(30);

/// Where an interactive answer's pictures go.
#[derive(Debug, Clone)]
pub enum PictureTo {
    /// The DM of this Slack user (a private answer).
    Dm(String),
    /// A channel, optionally a thread in it.
    Channel {
        channel: String,
        thread_ts: Option<String>,
    },
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl SlackBot {
    /// Uploads one picture into `channel` (under `thread_ts`). Returns the file id.
    #[tracing::instrument(skip_all, fields(org = org_id, kind = %image.kind, channel))]
    pub async fn upload_picture(
        &self,
        org_id: i64,
        image: &ImageRef,
        channel: &str,
        thread_ts: Option<&str>,
    ) -> Result<String, AdapterError> {
        let png = crate::app::pictures::render(&self.app, org_id, image)
            .await
            .map_err(|e| AdapterError::Permanent(format!("the picture was not drawn: {e}")))?;
        let filename = file_name(image);
        let length = png.bytes.len().to_string();
        let alt = clip(&image.alt, MAX_ALT);
        let v = self
            .get(
                "files.getUploadURLExternal",
                &[
                    ("filename", &filename),
                    ("length", &length),
                    ("alt_txt", &alt),
                ],
            )
            .await
            .map_err(|e| classify(&e))?;
        let (Some(url), Some(file_id)) = (v["upload_url"].as_str(), v["file_id"].as_str()) else {
            return Err(AdapterError::Transient(
                "files.getUploadURLExternal returned no upload_url".into(),
            ));
        };
        let url: url::Url = url
            .parse()
            .map_err(|e| AdapterError::Transient(format!("bad upload_url: {e}")))?;
        self.upload_bytes(url, &png.bytes)
            .await
            .map_err(|e| classify(&e))?;
        // Completing shares the file as a message: it is paced like a post.
        self.pace(channel).await?;
        let mut body = json!({
            "files": [{ "id": file_id, "title": title(image) }],
            "channel_id": channel,
        });
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
        }
        self.call("files.completeUploadExternal", &body)
            .await
            .map_err(|e| self.failed(channel, &e))?;
        Ok(file_id.to_string())
    }

    async fn upload_bytes(
        &self,
        url: url::Url,
        bytes: &[u8],
    ) -> Result<Value, slack_morphism::errors::SlackClientError> {
        let session = self.client.open_session(&self.bot_token);
        session
            .http_session_api
            .http_post_uri_binary::<Value>(url, "image/png".into(), bytes, None)
            .await
    }

    /// An interactive answer's pictures, uploaded now with a few in-place retries; failures
    /// are logged (the text answer has been given already).
    pub async fn upload_pictures_now(&self, org_id: i64, reply: &Reply, to: PictureTo) {
        if images(reply).next().is_none() {
            return;
        }
        let (channel, thread_ts) = match to {
            PictureTo::Dm(user) => match self.open_dm(&user).await {
                Ok(c) => (c, None),
                Err(e) => {
                    tracing::warn!(error = %e, "no DM for the picture");
                    return;
                }
            },
            PictureTo::Channel { channel, thread_ts } => (channel, thread_ts),
        };
        for image in images(reply) {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let err = match self
                    .upload_picture(org_id, image, &channel, thread_ts.as_deref())
                    .await
                {
                    Ok(_) => break,
                    Err(e) => e,
                };
                let wait = match &err {
                    AdapterError::RateLimited { retry_after } => *retry_after,
                    AdapterError::Transient(_) => Duration::from_secs(1 << (attempt - 1)),
                    AdapterError::Permanent(_) => Duration::MAX,
                };
                if attempt >= INTERACTIVE_ATTEMPTS || wait > MAX_INTERACTIVE_WAIT {
                    tracing::warn!(error = %err, kind = %image.kind, "picture not uploaded");
                    break;
                }
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// Whether this part of an outbox message was delivered before (the ts, if any).
    pub(super) async fn part_done(
        &self,
        org_id: i64,
        key: &str,
        part: &str,
    ) -> Result<Option<Option<String>>, AdapterError> {
        self.app
            .store
            .slack_part_done(org_id, key, part)
            .await
            .map_err(|e| AdapterError::Transient(e.to_string()))
    }

    /// Records a delivered part. A failure to record is logged, not returned: the part
    /// was delivered, and reporting failure would make the outbox deliver it again.
    pub(super) async fn part_delivered(
        &self,
        org_id: i64,
        key: &str,
        part: &str,
        channel: &str,
        ts: Option<&str>,
    ) {
        let record = crate::store::parts::DeliveredPart {
            org_id,
            key,
            part,
            channel,
            ts,
            at: self.app.clock.now(),
        };
        if let Err(e) = self.app.store.slack_part_delivered(&record).await {
            tracing::error!(error = %e, key, part, "delivered part not recorded");
        }
    }

    /// An outbox message's pictures, each once: a permanent failure is logged and skipped,
    /// anything retryable goes back to the outbox (delivered parts are not repeated).
    pub(super) async fn outbox_pictures(
        &self,
        org_id: i64,
        key: &str,
        reply: &Reply,
        channel: &str,
        thread_ts: Option<&str>,
    ) -> Result<(), AdapterError> {
        for (i, image) in images(reply).enumerate() {
            let part = format!("picture:{i}");
            if self.part_done(org_id, key, &part).await?.is_some() {
                continue;
            }
            match self.upload_picture(org_id, image, channel, thread_ts).await {
                Ok(file) => {
                    self.part_delivered(org_id, key, &part, channel, Some(&file))
                        .await
                }
                Err(AdapterError::Permanent(e)) => {
                    tracing::error!(error = %e, key, kind = %image.kind, "picture skipped");
                    self.part_delivered(org_id, key, &part, channel, None).await;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
