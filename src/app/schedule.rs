//! The cadence engine's use cases: materialise due prompts exactly once, remind, expire,
//! post digests.

use chrono::{DateTime, Utc};

use crate::bot::Reply;
use crate::error::Result;
use crate::metrics::Metrics;

use super::App;

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickReport {
    pub prompts_sent: u64,
    pub prompts_missed: u64,
    pub prompts_skipped: u64,
    pub reminders: u64,
    pub digests: u64,
    /// When something next becomes due (a cadence occurrence, a reminder, a window end).
    pub next_wake: Option<DateTime<Utc>>,
}

/// Processes everything due at or before the app clock's now.
pub async fn run_due(app: &App, metrics: Option<&Metrics>) -> Result<TickReport> {
    let _ = (app, metrics);
    Ok(TickReport::default())
}

/// Renders a prompt (or its reminder) as it should look now; `None` once it is closed.
pub async fn render_prompt(
    app: &App,
    org_id: i64,
    prompt_id: i64,
    reminder: bool,
) -> Result<Option<Reply>> {
    let _ = (app, org_id, prompt_id, reminder);
    Ok(None)
}

/// `skip`.
pub async fn skip(app: &App, actor: &super::Actor) -> Result<Reply> {
    let _ = (app, actor);
    Ok(Reply::new())
}

/// `snooze <duration>`.
pub async fn snooze(app: &App, actor: &super::Actor, d: chrono::Duration) -> Result<Reply> {
    let _ = (app, actor, d);
    Ok(Reply::new())
}

/// `away <from> <to>`.
pub async fn away(app: &App, actor: &super::Actor, from: &str, to: &str) -> Result<Reply> {
    let _ = (app, actor, from, to);
    Ok(Reply::new())
}

/// `nochange`.
pub async fn no_change(app: &App, actor: &super::Actor, delivery: &str) -> Result<Reply> {
    let _ = (app, actor, delivery);
    Ok(Reply::new())
}
