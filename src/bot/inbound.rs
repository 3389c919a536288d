//! What arrives from people, in baton's own terms. Every adapter verifies and parses its
//! transport into one [`Inbound`] and hands it to `app::inbound::handle`, which alone
//! decides what it means (de-duplication, identity, threads, commands). Pure: no I/O.

use crate::bot::Command;
use crate::domain::Code;
use crate::domain::parse::parse_duration;

/// A person as a platform names them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identity {
    /// The adapter's platform name (`slack`, `discord`, `shell`).
    pub platform: &'static str,
    /// The workspace (Slack team, Discord guild); `None` where the platform names none
    /// (a Discord direct message).
    pub workspace: Option<String>,
    /// The platform's user id.
    pub user: String,
}

/// Where something was written or pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A direct message with baton, or a command only its writer sees the answer to.
    Direct,
    /// A command typed in a channel (a slash command): answered privately unless shared.
    Channel { channel: String },
    /// A reply in a thread. `thread` is how the platform names it (Slack: the parent's ts;
    /// Discord: the thread's id); `channel` when the platform gives it.
    Thread {
        channel: Option<String>,
        thread: String,
    },
}

/// A button baton rendered, pressed: a typed action on a named object. The one mapping
/// from a button (`Action { id, value }` in a [`Reply`](crate::bot::Reply)) back to what it
/// means, shared by every platform.
#[derive(Debug, Clone, PartialEq)]
pub enum Pressed {
    /// Next, back or end on review `review`.
    ReviewNext(i64),
    ReviewBack(i64),
    ReviewEnd(i64),
    /// Edit or delete a captured item.
    CaptureEdit(String),
    CaptureDelete(String),
    /// Update one key result (opens its form).
    Update(Code),
    /// Open the check-in form (for one key result, when named).
    CheckinForm(Option<Code>),
    /// A prompt's buttons.
    NoChange,
    Skip,
    Snooze(chrono::Duration),
    /// An alert's buttons.
    AlertAck(String),
    AlertResolve(String),
    AlertUpdate(String),
    /// Yes / No on a figure held for confirmation (its id).
    ConfirmFigure(i64),
    DeclineFigure(i64),
}

/// Why a press could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

impl Pressed {
    /// Reads a button from its action id and value (as [`crate::bot::reply::Action`] carries
    /// them); `choice` is a selected option, for menus.
    pub fn parse(action: &str, value: &str, choice: Option<&str>) -> Result<Pressed, Unreadable> {
        let review = |v: &str| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| Unreadable(format!("That button names no review (`{v}`).")))
        };
        let code = |v: &str| {
            Code::parse(v.trim())
                .map_err(|e| Unreadable(format!("That button names no key result: {e}")))
        };
        let figure = |v: &str| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| Unreadable(format!("That button names no figure (`{v}`).")))
        };
        let object = |what: &str, v: &str| {
            let v = v.trim().trim_start_matches('#');
            if v.is_empty() || !v.chars().all(|c| c.is_ascii_digit()) || v.len() > 18 {
                Err(Unreadable(format!("That button names no {what} (`{v}`).")))
            } else {
                Ok(v.to_string())
            }
        };
        Ok(match action {
            "review_next" => Pressed::ReviewNext(review(value)?),
            "review_back" => Pressed::ReviewBack(review(value)?),
            "review_end" => Pressed::ReviewEnd(review(value)?),
            "capture_edit" => Pressed::CaptureEdit(object("item", value)?),
            "capture_delete" => Pressed::CaptureDelete(object("item", value)?),
            "update" => Pressed::Update(code(value)?),
            // A form shown in a message is a button that opens it, valued by the form's id.
            "form" | "checkin" => {
                if let Some(c) = value.strip_prefix("checkin:") {
                    Pressed::CheckinForm(Some(code(c)?))
                } else if let Some(i) = value.strip_prefix(EDIT_FORM) {
                    Pressed::CaptureEdit(object("item", i)?)
                } else if let Some(a) = value.strip_prefix(ALERT_UPDATE_FORM) {
                    Pressed::AlertUpdate(object("alert", a)?)
                } else {
                    Pressed::CheckinForm(None)
                }
            }
            "nochange" => Pressed::NoChange,
            "skip" => Pressed::Skip,
            "snooze" => Pressed::Snooze(
                choice
                    .and_then(|d| parse_duration(d).ok())
                    .unwrap_or_else(|| chrono::Duration::hours(2)),
            ),
            "alert_ack" => Pressed::AlertAck(object("alert", value)?),
            "alert_resolve" => Pressed::AlertResolve(object("alert", value)?),
            "alert_update" => Pressed::AlertUpdate(object("alert", value)?),
            "figure_yes" => Pressed::ConfirmFigure(figure(value)?),
            "figure_no" => Pressed::DeclineFigure(figure(value)?),
            other => return Err(Unreadable(format!("I don't know the button `{other}`."))),
        })
    }

    /// The command a press runs, and the review it acts on when it names one.
    pub fn command(&self) -> Scoped {
        let plain = |command| Scoped {
            command,
            review: None,
        };
        let review = |command, id: i64| Scoped {
            command,
            review: Some(id),
        };
        match self {
            Pressed::ReviewNext(id) => review(Command::ReviewNext, *id),
            Pressed::ReviewBack(id) => review(Command::ReviewBack, *id),
            Pressed::ReviewEnd(id) => review(Command::ReviewEnd, *id),
            Pressed::CaptureEdit(id) => plain(Command::EditForm(id.clone())),
            Pressed::CaptureDelete(id) => plain(Command::Delete(id.clone())),
            Pressed::Update(code) => plain(Command::CheckinForm(Some(code.clone()))),
            Pressed::CheckinForm(code) => plain(Command::CheckinForm(code.clone())),
            Pressed::NoChange => plain(Command::NoChange),
            Pressed::Skip => plain(Command::Skip),
            Pressed::Snooze(d) => plain(Command::Snooze(*d)),
            Pressed::AlertAck(id) => plain(Command::Ack(id.clone())),
            Pressed::AlertResolve(id) => plain(Command::Resolve {
                alert: id.clone(),
                note: String::new(),
            }),
            Pressed::AlertUpdate(id) => plain(Command::AlertUpdateForm(id.clone())),
            Pressed::ConfirmFigure(id) => plain(Command::Confirm(Some(*id))),
            Pressed::DeclineFigure(id) => plain(Command::Decline(Some(*id))),
        }
    }
}

/// What arrived.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    /// A typed line (a DM, a slash command's text, a reply in a thread). Mentions of
    /// platform users are already neutral: `@<platform user id>` with the id listed in
    /// [`Inbound::mentions`].
    Text(String),
    /// A button press.
    Press(Pressed),
    /// A submitted form: its id and its fields' values.
    Form {
        id: String,
        values: Vec<(String, String)>,
    },
}

/// One inbound event, from any platform.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub who: Identity,
    pub place: Place,
    pub what: What,
    /// The platform's id of this delivery, for de-duplication (an event id, a trigger id,
    /// an interaction id, a message id). `None` for deliveries that are never repeated and
    /// are made idempotent otherwise (a form submission carries its own key in `key`).
    pub delivery: Option<String>,
    /// The key the command's writes are made idempotent by (a check-in submitted from the
    /// same form twice is stored once). Defaults to the delivery id.
    pub key: String,
    /// Platform user ids mentioned in the text, as written there (`@U123`).
    pub mentions: Vec<String>,
}

/// A command and the review it acts on (a press on a review's button, a reply in its
/// thread): moving, ending and capturing then act on that review, whichever others run.
#[derive(Debug, Clone, PartialEq)]
pub struct Scoped {
    pub command: Command,
    pub review: Option<i64>,
}

impl Scoped {
    /// Whether the app announces this command's effect in the review's thread itself (the
    /// adapter then says nothing unless it failed).
    pub fn echoed(&self) -> bool {
        self.review.is_some()
            && matches!(
                self.command,
                Command::Capture { .. }
                    | Command::ReviewNext
                    | Command::ReviewBack
                    | Command::ReviewEnd
            )
    }
}

/// The id prefix of the alert-update form (`alert_update:<alert>`).
pub const ALERT_UPDATE_FORM: &str = "alert_update:";

/// The id prefix of a captured item's edit form (`capture_edit:<item>`).
pub const EDIT_FORM: &str = "capture_edit:";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_button_baton_renders_reads_back() {
        let cases: &[(&str, &str, Pressed)] = &[
            ("review_next", "7", Pressed::ReviewNext(7)),
            ("review_back", "7", Pressed::ReviewBack(7)),
            ("review_end", "12", Pressed::ReviewEnd(12)),
            ("capture_edit", "4", Pressed::CaptureEdit("4".into())),
            ("capture_delete", "#4", Pressed::CaptureDelete("4".into())),
            ("update", "S1", Pressed::Update(Code::parse("S1").unwrap())),
            (
                "form",
                "checkin:S1",
                Pressed::CheckinForm(Some(Code::parse("S1").unwrap())),
            ),
            ("form", "checkin", Pressed::CheckinForm(None)),
            ("form", "capture_edit:5", Pressed::CaptureEdit("5".into())),
            ("form", "alert_update:8", Pressed::AlertUpdate("8".into())),
            ("nochange", "3", Pressed::NoChange),
            ("skip", "3", Pressed::Skip),
            ("snooze", "3", Pressed::Snooze(chrono::Duration::hours(2))),
            ("alert_ack", "9", Pressed::AlertAck("9".into())),
            ("alert_resolve", "9", Pressed::AlertResolve("9".into())),
            ("alert_update", "9", Pressed::AlertUpdate("9".into())),
            ("figure_yes", "11", Pressed::ConfirmFigure(11)),
            ("figure_no", "11", Pressed::DeclineFigure(11)),
        ];
        for (action, value, want) in cases {
            assert_eq!(
                Pressed::parse(action, value, None).as_ref(),
                Ok(want),
                "{action}:{value}"
            );
        }
        assert_eq!(
            Pressed::parse("snooze", "3", Some("1d")),
            Ok(Pressed::Snooze(chrono::Duration::days(1)))
        );
    }

    #[test]
    fn review_buttons_carry_their_review() {
        let s = Pressed::parse("review_next", "1", None).unwrap().command();
        assert_eq!(s.command, Command::ReviewNext);
        assert_eq!(s.review, Some(1));
        assert!(s.echoed());
        let s = Pressed::parse("alert_ack", "3", None).unwrap().command();
        assert_eq!((s.command, s.review), (Command::Ack("3".into()), None));
    }

    #[test]
    fn unreadable_buttons_are_refused_with_a_reason() {
        for (a, v) in [
            ("review_next", ""),
            ("review_end", "x"),
            ("update", "not a code!"),
            ("alert_ack", "1; DROP"),
            ("capture_delete", ""),
            ("figure_yes", "S1"),
            ("launch_missiles", "1"),
        ] {
            let e = Pressed::parse(a, v, None).unwrap_err();
            assert!(!e.0.is_empty(), "{a}:{v}");
        }
    }
}
