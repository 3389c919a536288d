//! `calendar [dept]` and the ICS feed.

use crate::bot::Reply;
use crate::error::Result;

use super::{Actor, App};

/// `calendar [dept]`: upcoming events of all four layers, in the reader's time zone.
pub async fn calendar(app: &App, actor: &Actor, dept: Option<&str>) -> Result<Reply> {
    let _ = (app, actor, dept);
    Ok(Reply::new())
}

/// The RFC 5545 feed for an organisation, or one department of it.
pub async fn ics_feed(app: &App, org_id: i64, dept: Option<&str>) -> Result<String> {
    let _ = (app, org_id, dept);
    Ok(String::new())
}
