//! Socket Mode: baton opens a WebSocket (URL from `apps.connections.open` with the
//! app-level token) and speaks Slack's envelope protocol.
//!
//! - `hello` starts a session; `disconnect` (Slack refreshes connections every few hours)
//!   makes baton reconnect; a dropped socket reconnects with a bounded backoff.
//! - Each envelope (`events_api`, `slash_commands`, `interactive`) is handled in its own task
//!   and acked with `{"envelope_id": …, "payload": …}`. Events are acked *before* they are
//!   processed; commands answer within [`SlackBot::ack_budget`](super::SlackBot) (slow ones
//!   finish through `response_url`); a modal submission's field errors ride in the ack.
//! - Slack re-sends an envelope it did not see acked; the handlers de-duplicate by event id,
//!   trigger id or view id, so each is processed once.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use super::SlackBot;
use super::inbound::CommandPayload;
use crate::shutdown::Shutdown;

/// Runs Socket Mode until shutdown, reconnecting as needed.
pub async fn run(bot: Arc<SlackBot>, shutdown: Shutdown) {
    let mut backoff = Duration::from_secs(1);
    while !shutdown.is_triggered() {
        match session(&bot, &shutdown).await {
            Ok(()) => backoff = Duration::from_secs(1),
            Err(e) => {
                tracing::warn!(error = %e, retry_in_s = backoff.as_secs(), "Socket Mode connection failed");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait() => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
    tracing::info!("Socket Mode stopped");
}

/// One connection: from `apps.connections.open` until `disconnect`, a closed socket or shutdown.
pub async fn session(bot: &Arc<SlackBot>, shutdown: &Shutdown) -> anyhow::Result<()> {
    let url = bot.socket_url().await?;
    let (ws, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::channel::<Message>(64);
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            if sink.send(m).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let result = loop {
        let msg = tokio::select! {
            m = stream.next() => m,
            _ = shutdown.wait() => break Ok(()),
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t.to_string(),
            Some(Ok(Message::Ping(p))) => {
                let _ = tx.send(Message::Pong(p)).await;
                continue;
            }
            Some(Ok(Message::Close(_))) | None => break Ok(()),
            Some(Ok(_)) => continue,
            Some(Err(e)) => break Err(anyhow::Error::new(e)),
        };
        match read_frame(&text) {
            Frame::NotJson => tracing::warn!("Socket Mode frame is not JSON"),
            Frame::Hello => tracing::info!("Socket Mode connected"),
            Frame::Disconnect(reason) => {
                tracing::info!(reason = ?reason, "Slack asked to reconnect");
                break Ok(());
            }
            Frame::Skip => {}
            Frame::Envelope { id, body } => {
                let bot = bot.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    envelope(bot, id, body, tx).await;
                });
            }
        }
    };
    drop(tx);
    let _ = writer.await;
    result
}

/// One Socket Mode text frame, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    NotJson,
    Hello,
    /// Slack asks baton to reconnect, for this reason.
    Disconnect(Value),
    /// Something to ack: events, slash commands, interactions.
    Envelope {
        id: String,
        body: Value,
    },
    /// Anything else without an envelope id: nothing to ack or do.
    Skip,
}

/// Reads a Socket Mode frame (pure: the fuzz target `socket_envelope` drives it).
pub fn read_frame(text: &str) -> Frame {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Frame::NotJson;
    };
    match v["type"].as_str() {
        Some("hello") => Frame::Hello,
        Some("disconnect") => Frame::Disconnect(v["reason"].clone()),
        _ => match v["envelope_id"].as_str().filter(|id| !id.is_empty()) {
            Some(id) => Frame::Envelope {
                id: id.to_string(),
                body: v,
            },
            None => Frame::Skip,
        },
    }
}

async fn ack(tx: &mpsc::Sender<Message>, envelope_id: &str, payload: Option<Value>) {
    let mut a = json!({ "envelope_id": envelope_id });
    if let Some(p) = payload.filter(|p| p.as_object().is_some_and(|o| !o.is_empty())) {
        a["payload"] = p;
    }
    let _ = tx.send(Message::Text(a.to_string().into())).await;
}

async fn envelope(bot: Arc<SlackBot>, envelope_id: String, v: Value, tx: mpsc::Sender<Message>) {
    let payload = v["payload"].clone();
    match v["type"].as_str() {
        Some("events_api") => {
            ack(&tx, &envelope_id, None).await;
            bot.event(payload).await;
        }
        Some("slash_commands") => match serde_json::from_value::<CommandPayload>(payload) {
            Ok(p) => {
                let answer = bot.command(p).await;
                ack(&tx, &envelope_id, Some(answer)).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "malformed slash command envelope");
                ack(&tx, &envelope_id, None).await;
            }
        },
        Some("interactive") => {
            let answer = bot.interaction(payload).await;
            ack(&tx, &envelope_id, Some(answer)).await;
        }
        other => {
            tracing::debug!(kind = ?other, "envelope acked and ignored");
            ack(&tx, &envelope_id, None).await;
        }
    }
}
