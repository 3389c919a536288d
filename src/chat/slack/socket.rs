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
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            tracing::warn!("Socket Mode frame is not JSON");
            continue;
        };
        match v["type"].as_str() {
            Some("hello") => tracing::info!("Socket Mode connected"),
            Some("disconnect") => {
                tracing::info!(reason = ?v["reason"], "Slack asked to reconnect");
                break Ok(());
            }
            _ => {
                let Some(envelope_id) = v["envelope_id"].as_str().map(str::to_string) else {
                    continue;
                };
                let bot = bot.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    envelope(bot, envelope_id, v, tx).await;
                });
            }
        }
    };
    drop(tx);
    let _ = writer.await;
    result
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
