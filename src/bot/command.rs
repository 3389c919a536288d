//! `enum Command` and its parser: the one vocabulary every adapter speaks. A Slack slash
//! command, a Discord option set and a terminal line that mean the same thing become the
//! same `Command`.

use crate::domain::Code;
use crate::domain::parse::{CHECKIN_SYNTAX, CheckinLine, MAX_LINE_BYTES, parse_checkin_line};

/// Scope of `okrs`.
#[derive(Debug, Clone, PartialEq)]
pub enum OkrScope {
    /// The asking person's own departments.
    Mine,
    /// Key results and objectives the asking person owns.
    Me,
    /// The whole company.
    All,
    /// A department key.
    Department(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Help(Option<String>),
    /// `status [dept|perspective|code]`.
    Status(Option<String>),
    Okrs(OkrScope),
    Kr(Code),
    /// A one-line check-in: `checkin S1 42 at risk: …` or just `S1 42 at risk: …`.
    Checkin(CheckinLine),
    /// A correction that supersedes the latest check-in on the key result.
    Correct(CheckinLine),
    /// The interactive form, optionally for one key result.
    CheckinForm(Option<Code>),
    Gaps,
    Map,
    Deps(Option<String>),
    Whoami,
    /// `calendar [dept]`.
    Calendar(Option<String>),
    /// `calendar link [dept]`: the ICS feed's URL, answered only to the asker.
    CalendarLink(Option<String>),
    /// Skip the open check-in prompt.
    Skip,
    /// Ask again later.
    Snooze(chrono::Duration),
    /// `away <from> <to>`, dates as typed (resolved against the person's today).
    Away {
        from: String,
        to: String,
    },
    /// Re-confirm the current figures of the open prompt's key results.
    NoChange,
    /// `blocked <dependency> <reason>`.
    Blocked {
        dependency: String,
        reason: String,
    },
    /// `ack <alert>`.
    Ack(String),
    /// `resolve <alert> [note]`.
    Resolve {
        alert: String,
        note: String,
    },
    /// `update <alert> <check-in or note>`.
    AlertUpdate {
        alert: String,
        text: String,
    },
    /// `update <alert>` alone (or an alert's Post update button): a form for the update.
    AlertUpdateForm(String),
    /// `review start <tier> [dept]`.
    ReviewStart {
        tier: String,
        dept: Option<String>,
    },
    ReviewNext,
    ReviewBack,
    ReviewEnd,
    /// `review show <id>`.
    ReviewShow(String),
    /// `review`: where the running meeting is.
    ReviewWhere,
    /// `action: …`, `decision: …`, `note: …` (and `action …`, `decision …`).
    Capture {
        kind: String,
        text: String,
    },
    /// `edit <id> <text>`.
    Edit {
        id: String,
        text: String,
    },
    /// `edit <id>` alone (or an Edit button): a form pre-filled with the item.
    EditForm(String),
    /// `delete <id>`.
    Delete(String),
    /// `done <action>`.
    Done(String),
    /// `actions [mine|dept|overdue|<dept>]`.
    Actions(Option<String>),
    /// `decisions [dept]`.
    Decisions(Option<String>),
    /// `yes` (or a Yes button): record the figure held for confirmation (the one with this
    /// id, when a button names it).
    Confirm(Option<i64>),
    /// `no` (or a No button): drop the figure held for confirmation.
    Decline(Option<i64>),
    /// A filled-in form (modal submission, or the shell's prompts). Never typed.
    SubmitForm {
        id: String,
        values: Vec<(String, String)>,
    },
}

/// One entry of the command reference, shared by `help` and the platforms' registrations.
pub struct CommandHelp {
    pub name: &'static str,
    pub usage: &'static str,
    pub summary: &'static str,
}

pub const COMMANDS: &[CommandHelp] = &[
    CommandHelp {
        name: "help",
        usage: "help [command]",
        summary: "this list, or one command's usage",
    },
    CommandHelp {
        name: "status",
        usage: "status [dept|perspective|code]",
        summary: "the scorecard: company, one department, one perspective or one objective",
    },
    CommandHelp {
        name: "okrs",
        usage: "okrs [dept|me|all]",
        summary: "objectives and key results of your departments, a department, yours, or all",
    },
    CommandHelp {
        name: "kr",
        usage: "kr <code>",
        summary: "one key result or measure with the check-ins that produced its figure",
    },
    CommandHelp {
        name: "checkin",
        usage: "checkin [<code> <value> [confidence][: note]]",
        summary: "record a check-in; with no figure, an interactive form",
    },
    CommandHelp {
        name: "correct",
        usage: "correct <code> <value> [confidence][: note]",
        summary: "correct the latest check-in (the old one stays in history, superseded)",
    },
    CommandHelp {
        name: "deps",
        usage: "deps [dept]",
        summary: "cross-department dependencies and the health of what they rely on",
    },
    CommandHelp {
        name: "map",
        usage: "map",
        summary: "the strategy map, perspective by perspective, with cause → effect links",
    },
    CommandHelp {
        name: "gaps",
        usage: "gaps",
        summary: "orphan objectives, unmeasured strategy, unowned key results, breaks in the causal chain",
    },
    CommandHelp {
        name: "review",
        usage: "review start <tier> [dept] | review next|back|end | review show <id>",
        summary: "run a review meeting: operational, tactical, strategic or coordination",
    },
    CommandHelp {
        name: "action",
        usage: "action <@owner> <due> <text>",
        summary: "capture an action item (in a review: `action: @kofi send the update by Friday`)",
    },
    CommandHelp {
        name: "decision",
        usage: "decision <text>",
        summary: "record a decision (in a review: `decision: …`); `note: …` records a note",
    },
    CommandHelp {
        name: "actions",
        usage: "actions [mine|dept|overdue]",
        summary: "the action register",
    },
    CommandHelp {
        name: "done",
        usage: "done <action>",
        summary: "close an action item",
    },
    CommandHelp {
        name: "edit",
        usage: "edit <id> [new text]",
        summary: "correct a captured action, decision or note",
    },
    CommandHelp {
        name: "delete",
        usage: "delete <id>",
        summary: "remove a captured action, decision or note",
    },
    CommandHelp {
        name: "decisions",
        usage: "decisions [dept]",
        summary: "decisions recorded in reviews",
    },
    CommandHelp {
        name: "calendar",
        usage: "calendar [dept] | calendar link [dept]",
        summary: "upcoming events of every cadence layer, or the link to subscribe to them in a calendar app",
    },
    CommandHelp {
        name: "whoami",
        usage: "whoami",
        summary: "who baton thinks you are, your departments and roles",
    },
];

pub fn usage_of(name: &str) -> Option<&'static str> {
    COMMANDS.iter().find(|c| c.name == name).map(|c| c.usage)
}

fn usage_err(name: &str, what: &str) -> String {
    format!("{what}\nUsage: {}", usage_of(name).unwrap_or("help"))
}

impl Command {
    /// Parses one line. Errors are complete sentences with the usage line.
    pub fn parse(input: &str) -> Result<Command, String> {
        if input.len() > MAX_LINE_BYTES {
            return Err(format!(
                "That line is {} bytes long; baton reads at most {MAX_LINE_BYTES}. Nothing was recorded.",
                input.len()
            ));
        }
        let line = input.trim();
        let line = line.strip_prefix("/baton").map(str::trim).unwrap_or(line);
        if line.is_empty() {
            return Err("Type a command, or `help` for the list.".into());
        }
        if line.chars().any(|c| c.is_control() && c != '\t') {
            return Err("That line contains control characters; nothing was recorded.".into());
        }
        let (word, rest) = match line.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (line, ""),
        };
        let word_lc = word.to_ascii_lowercase();
        let args: Vec<&str> = rest.split_whitespace().collect();
        let one_arg = |name: &str| -> Result<Option<String>, String> {
            match args.len() {
                0 => Ok(None),
                1 => Ok(Some(args[0].to_string())),
                _ => Err(usage_err(
                    name,
                    &format!("`{name}` takes at most one argument."),
                )),
            }
        };
        match word_lc.as_str() {
            "help" | "?" => Ok(Command::Help(one_arg("help")?)),
            "status" => Ok(Command::Status(one_arg("status")?)),
            "okrs" | "okr" => Ok(Command::Okrs(match one_arg("okrs")?.as_deref() {
                None => OkrScope::Mine,
                Some(a) if a.eq_ignore_ascii_case("me") => OkrScope::Me,
                Some(a) if a.eq_ignore_ascii_case("all") || a.eq_ignore_ascii_case("company") => {
                    OkrScope::All
                }
                Some(a) => OkrScope::Department(a.to_ascii_lowercase()),
            })),
            "kr" => match one_arg("kr")? {
                None => Err(usage_err("kr", "`kr` needs a key-result code.")),
                Some(c) => Ok(Command::Kr(
                    Code::parse(&c).map_err(|e| usage_err("kr", &format!("{e}.")))?,
                )),
            },
            "checkin" | "check-in" => match args.len() {
                0 => Ok(Command::CheckinForm(None)),
                1 => Ok(Command::CheckinForm(Some(
                    Code::parse(args[0]).map_err(|e| usage_err("checkin", &format!("{e}.")))?,
                ))),
                _ => parse_checkin_line(rest)
                    .map(Command::Checkin)
                    .map_err(|e| format!("{e}\nNothing was recorded.")),
            },
            "correct" | "fix" => parse_checkin_line(rest)
                .map(Command::Correct)
                .map_err(|e| usage_err("correct", &format!("{e}\nNothing was recorded."))),
            "gaps" => one_arg("gaps")?.map_or(Ok(Command::Gaps), |_| {
                Err(usage_err("gaps", "`gaps` takes no argument."))
            }),
            "map" => one_arg("map")?.map_or(Ok(Command::Map), |_| {
                Err(usage_err("map", "`map` takes no argument."))
            }),
            "deps" => Ok(Command::Deps(one_arg("deps")?)),
            "whoami" => Ok(Command::Whoami),
            "calendar" => match args.as_slice() {
                [w, rest @ ..] if w.eq_ignore_ascii_case("link") => match rest {
                    [] => Ok(Command::CalendarLink(None)),
                    [dept] => Ok(Command::CalendarLink(Some(dept.to_string()))),
                    _ => Err(usage_err(
                        "calendar",
                        "`calendar link` takes at most one department.",
                    )),
                },
                _ => Ok(Command::Calendar(one_arg("calendar")?)),
            },
            "skip" => one_arg("skip")?.map_or(Ok(Command::Skip), |_| {
                Err(usage_err("skip", "`skip` takes no argument."))
            }),
            "nochange" | "no-change" => Ok(Command::NoChange),
            "yes" if args.is_empty() => Ok(Command::Confirm(None)),
            "no" if args.is_empty() => Ok(Command::Decline(None)),
            "snooze" => {
                if rest.is_empty() {
                    return Err(usage_err("snooze", "`snooze` needs a duration."));
                }
                crate::domain::parse::parse_duration(rest)
                    .map(Command::Snooze)
                    .map_err(|e| usage_err("snooze", &format!("{e}.")))
            }
            "review" => match args.as_slice() {
                [] => Ok(Command::ReviewWhere),
                ["start", tier] => Ok(Command::ReviewStart {
                    tier: tier.to_ascii_lowercase(),
                    dept: None,
                }),
                ["start", tier, dept] => Ok(Command::ReviewStart {
                    tier: tier.to_ascii_lowercase(),
                    dept: Some(dept.to_ascii_lowercase()),
                }),
                ["next"] => Ok(Command::ReviewNext),
                ["back"] => Ok(Command::ReviewBack),
                ["end"] => Ok(Command::ReviewEnd),
                ["show", id] => Ok(Command::ReviewShow(id.to_string())),
                _ => Err(usage_err(
                    "review",
                    "I did not understand that review command.",
                )),
            },
            "action:" | "action" | "decision:" | "decision" | "note:" | "note" => {
                let kind = word_lc.trim_end_matches(':').to_string();
                if rest.is_empty() {
                    let usage = if kind == "note" {
                        "decision"
                    } else {
                        kind.as_str()
                    };
                    return Err(usage_err(usage, &format!("`{kind}` needs some text.")));
                }
                Ok(Command::Capture {
                    kind,
                    text: rest.to_string(),
                })
            }
            "edit" => match rest.split_once(char::is_whitespace) {
                Some((id, text)) if !text.trim().is_empty() => Ok(Command::Edit {
                    id: id.to_string(),
                    text: text.trim().to_string(),
                }),
                None if !rest.is_empty() => Ok(Command::EditForm(rest.to_string())),
                _ => Err(usage_err("edit", "`edit` needs a number and the new text.")),
            },
            "delete" => match args.as_slice() {
                [id] => Ok(Command::Delete(id.to_string())),
                _ => Err(usage_err("delete", "`delete` needs one number.")),
            },
            "done" => match args.as_slice() {
                [id] => Ok(Command::Done(id.to_string())),
                _ => Err(usage_err("done", "`done` needs one action number.")),
            },
            "actions" => Ok(Command::Actions(one_arg("actions")?)),
            "decisions" => Ok(Command::Decisions(one_arg("decisions")?)),
            "blocked" => match rest.split_once(char::is_whitespace) {
                Some((dep, reason)) if !reason.trim().is_empty() => Ok(Command::Blocked {
                    dependency: dep.to_string(),
                    reason: reason.trim().to_string(),
                }),
                _ => Err(usage_err(
                    "blocked",
                    "`blocked` needs a dependency and a reason.",
                )),
            },
            "ack" | "acknowledge" => match args.as_slice() {
                [id] => Ok(Command::Ack(id.to_string())),
                _ => Err(usage_err("ack", "`ack` needs one alert number.")),
            },
            "resolve" => match rest.split_once(char::is_whitespace) {
                Some((id, note)) => Ok(Command::Resolve {
                    alert: id.to_string(),
                    note: note.trim().to_string(),
                }),
                None if !rest.is_empty() => Ok(Command::Resolve {
                    alert: rest.to_string(),
                    note: String::new(),
                }),
                None => Err(usage_err("resolve", "`resolve` needs an alert number.")),
            },
            "update" => match rest.split_once(char::is_whitespace) {
                Some((id, text)) if !text.trim().is_empty() => Ok(Command::AlertUpdate {
                    alert: id.to_string(),
                    text: text.trim().to_string(),
                }),
                None if !rest.is_empty() => Ok(Command::AlertUpdateForm(rest.to_string())),
                _ => Err(usage_err(
                    "update",
                    "`update` needs an alert number and a check-in or note.",
                )),
            },
            "away" => match args.as_slice() {
                [from, to] => Ok(Command::Away {
                    from: from.to_string(),
                    to: to.to_string(),
                }),
                _ => Err(usage_err("away", "`away` needs two dates: from and to.")),
            },
            _ => {
                // A line that starts with a code (codes carry a digit) and more words is
                // a check-in attempt: let the check-in parser explain what is wrong.
                if Code::parse(word).is_ok()
                    && word.chars().any(|c| c.is_ascii_digit())
                    && !args.is_empty()
                {
                    return parse_checkin_line(line).map(Command::Checkin).map_err(|e| {
                        format!("{e}\nSyntax: {CHECKIN_SYNTAX}\nNothing was recorded.")
                    });
                }
                let known: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
                Err(format!(
                    "I don't know the command `{word}`. Commands: {}. A check-in looks like `S1 42 on track: note`.",
                    known.join(", ")
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Confidence;

    #[test]
    fn parses_every_command() {
        assert_eq!(Command::parse("help").unwrap(), Command::Help(None));
        assert_eq!(
            Command::parse("/baton status sales").unwrap(),
            Command::Status(Some("sales".into()))
        );
        assert_eq!(Command::parse("status").unwrap(), Command::Status(None));
        assert_eq!(
            Command::parse("okrs me").unwrap(),
            Command::Okrs(OkrScope::Me)
        );
        assert_eq!(
            Command::parse("okrs Sales").unwrap(),
            Command::Okrs(OkrScope::Department("sales".into()))
        );
        assert_eq!(
            Command::parse("okrs").unwrap(),
            Command::Okrs(OkrScope::Mine)
        );
        assert_eq!(
            Command::parse("kr s1").unwrap(),
            Command::Kr(Code::parse("S1").unwrap())
        );
        assert_eq!(Command::parse("gaps").unwrap(), Command::Gaps);
        assert_eq!(Command::parse("map").unwrap(), Command::Map);
        assert_eq!(
            Command::parse("deps sales").unwrap(),
            Command::Deps(Some("sales".into()))
        );
        assert_eq!(
            Command::parse("checkin").unwrap(),
            Command::CheckinForm(None)
        );
        match Command::parse("checkin S1 42 at risk: churn").unwrap() {
            Command::Checkin(c) => {
                assert_eq!((c.value, c.confidence), (42.0, Some(Confidence::AtRisk)))
            }
            other => panic!("unexpected {other:?}"),
        }
        match Command::parse("S1 42 on track").unwrap() {
            Command::Checkin(c) => assert_eq!(c.code.as_str(), "S1"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            Command::parse("correct S1 40").unwrap(),
            Command::Correct(_)
        ));
    }

    #[test]
    fn bad_input_gets_precise_messages() {
        assert!(Command::parse("").unwrap_err().contains("help"));
        assert!(Command::parse("   ").unwrap_err().contains("help"));
        assert!(
            Command::parse("frobnicate")
                .unwrap_err()
                .contains("don't know the command `frobnicate`")
        );
        assert!(
            Command::parse("kr")
                .unwrap_err()
                .contains("Usage: kr <code>")
        );
        assert!(
            Command::parse("status a b")
                .unwrap_err()
                .contains("Usage: status")
        );
        assert!(
            Command::parse("S1 NaN")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            Command::parse("S1 inf on track")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(
            Command::parse("S1 lots")
                .unwrap_err()
                .contains("`lots` is not a number")
        );
        assert!(
            Command::parse("review start")
                .unwrap_err()
                .contains("Usage: review start <tier>")
        );
        assert_eq!(
            Command::parse("review start tactical sales").unwrap(),
            Command::ReviewStart {
                tier: "tactical".into(),
                dept: Some("sales".into())
            }
        );
        assert_eq!(Command::parse("review next").unwrap(), Command::ReviewNext);
        assert_eq!(
            Command::parse("action: @kofi send it by Friday").unwrap(),
            Command::Capture {
                kind: "action".into(),
                text: "@kofi send it by Friday".into()
            }
        );
        assert!(
            Command::parse("decision:")
                .unwrap_err()
                .contains("needs some text")
        );
        assert!(Command::parse("done").unwrap_err().contains("Usage: done"));
        let long = format!("S1 42: {}", "x".repeat(10 * 1024));
        assert!(Command::parse(&long).unwrap_err().contains("at most"));
    }
}
