//! Finding a message an unfinished attempt may have posted. Every post carries its
//! idempotency key in Slack message metadata (`event_payload.key`, see `SlackBot::post`),
//! so the outbox can ask `conversations.history` (or `conversations.replies` in a thread)
//! whether a post whose answer it never saw did land, and send only if it did not. Needs
//! the `channels:history`, `groups:history` and `im:history` scopes; without them the
//! lookup cannot tell, and the outbox sends again (counted as uncertain).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{SlackBot, classify};
use crate::chat::{AdapterError, Delivered, Recovered};

/// Pages of history read at most (200 messages each).
const MAX_PAGES: usize = 5;
/// Looked back before the attempt's start, for clock skew between baton and Slack.
const SKEW_S: i64 = 120;

/// Whether a message from history carries `key` in its metadata.
pub fn carries_key(m: &Value, key: &str) -> bool {
    m["metadata"]["event_payload"]["key"].as_str() == Some(key)
}

impl SlackBot {
    /// Looks in `channel` (in the thread under `parent`, if given) for a message carrying
    /// `key`, posted at or after `since`. Returns its `ts`; `Ok(None)` if Slack shows no
    /// such message; `Err` with `Recovered::Unknown` meaning when Slack would not say.
    pub(super) async fn find_posted(
        &self,
        channel: &str,
        parent: Option<&str>,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Option<String>, LookupError> {
        let oldest = format!("{}.000000", (since.timestamp() - SKEW_S).max(0));
        let mut cursor = String::new();
        for _ in 0..MAX_PAGES {
            let mut params = vec![
                ("channel", channel),
                ("oldest", oldest.as_str()),
                ("limit", "200"),
                ("include_all_metadata", "true"),
                ("inclusive", "true"),
            ];
            if let Some(ts) = parent {
                params.push(("ts", ts));
            }
            if !cursor.is_empty() {
                params.push(("cursor", cursor.as_str()));
            }
            let method = if parent.is_some() {
                "conversations.replies"
            } else {
                "conversations.history"
            };
            let v = self
                .get(method, &params)
                .await
                .map_err(|e| match classify(&e) {
                    AdapterError::Permanent(code) => LookupError::CannotTell(code),
                    other => LookupError::Failed(other),
                })?;
            let messages = v["messages"].as_array().cloned().unwrap_or_default();
            if let Some(m) = messages.iter().find(|m| carries_key(m, key)) {
                return Ok(m["ts"].as_str().map(str::to_string));
            }
            cursor = v["response_metadata"]["next_cursor"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if cursor.is_empty() || !v["has_more"].as_bool().unwrap_or(false) {
                return Ok(None);
            }
        }
        // More history than we read since the attempt: cannot tell.
        Err(LookupError::CannotTell("history too long to search".into()))
    }
}

/// Why a lookup gave no answer.
#[derive(Debug)]
pub enum LookupError {
    /// Slack refused the lookup for good (e.g. `missing_scope`): the outbox cannot tell.
    CannotTell(String),
    /// Worth retrying (429, 5xx).
    Failed(AdapterError),
}

impl LookupError {
    /// What the outbox makes of it.
    pub fn into_recovered(self) -> Result<Recovered, AdapterError> {
        match self {
            LookupError::CannotTell(why) => {
                tracing::warn!(reason = %why, "Slack would not show its history; the message is sent again");
                Ok(Recovered::Unknown)
            }
            LookupError::Failed(e) => Err(e),
        }
    }
}

/// A found message, as the outbox records deliveries.
pub fn landed(channel: &str, ts: &str) -> Recovered {
    Recovered::Landed(Delivered {
        message_id: Some(format!("{channel}/{ts}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_the_messages_own_key_matches() {
        let m = json!({"ts": "1.2", "metadata": {"event_type": "baton_message", "event_payload": {"key": "prompt:7"}}});
        assert!(carries_key(&m, "prompt:7"));
        assert!(!carries_key(&m, "prompt:70"));
        assert!(!carries_key(
            &json!({"ts": "1.2", "text": "prompt:7"}),
            "prompt:7"
        ));
    }
}
