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
    /// A bare code (`S1`): the key result's (or measure's, or objective's) card, with how
    /// to check in on it.
    Card(Code),
    /// A one-line check-in: `checkin S1 42 at risk: …` or just `S1 42 at risk: …`.
    Checkin(CheckinLine),
    /// A correction that supersedes the latest check-in on the key result.
    Correct(CheckinLine),
    /// The interactive form, optionally for one key result.
    CheckinForm(Option<Code>),
    Gaps,
    Map,
    /// `map --evidence`: the map with each link's evidence.
    MapEvidence,
    /// `evidence [link]`: whether the strategy map's links hold in the check-in history.
    Evidence(Option<String>),
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

/// One entry of the command reference. [`COMMANDS`] is the parser's own table: a line's
/// first word is looked up here (by name or alias) before it is parsed, so every word the
/// parser takes has its usage and summary, and `help` and the Discord registration read
/// the same entries.
pub struct CommandHelp {
    pub name: &'static str,
    /// Other words for the same command (`okr`, `check-in`, `action:`…).
    pub aliases: &'static [&'static str],
    pub usage: &'static str,
    pub summary: &'static str,
}

const fn cmd(name: &'static str, usage: &'static str, summary: &'static str) -> CommandHelp {
    CommandHelp {
        name,
        aliases: &[],
        usage,
        summary,
    }
}

const fn aka(
    name: &'static str,
    aliases: &'static [&'static str],
    usage: &'static str,
    summary: &'static str,
) -> CommandHelp {
    CommandHelp {
        name,
        aliases,
        usage,
        summary,
    }
}

pub const COMMANDS: &[CommandHelp] = &[
    aka(
        "help",
        &["?"],
        "help [command]",
        "this list, or one command's usage",
    ),
    cmd(
        "status",
        "status [dept|perspective|code]",
        "the scorecard: company, one department, one perspective or one objective",
    ),
    aka(
        "okrs",
        &["okr"],
        "okrs [dept|me|all]",
        "objectives and key results of your departments, a department, yours, or all",
    ),
    cmd(
        "kr",
        "kr <code>",
        "one key result or measure with the check-ins that produced its figure (a bare `S1` shows it too)",
    ),
    aka(
        "checkin",
        &["check-in"],
        "checkin [<code> <value> [confidence][: note]]",
        "record a check-in; with no figure, an interactive form",
    ),
    aka(
        "correct",
        &["fix"],
        "correct <code> <value> [confidence][: note]",
        "correct the latest check-in (the old one stays in history, superseded)",
    ),
    cmd("skip", "skip", "skip your open check-in prompt"),
    cmd(
        "snooze",
        "snooze <duration>",
        "be asked again later, e.g. `snooze 2h`",
    ),
    aka(
        "nochange",
        &["no-change"],
        "nochange",
        "answer your open prompt: the figures did not move",
    ),
    cmd(
        "away",
        "away <from> <to>",
        "no prompts between two dates, e.g. `away 2026-12-21 2027-01-01` or `away today tomorrow`",
    ),
    cmd("yes", "yes", "record the figure baton asked you to confirm"),
    cmd("no", "no", "drop the figure baton asked you to confirm"),
    cmd(
        "deps",
        "deps [dept]",
        "cross-department dependencies and the health of what they rely on",
    ),
    cmd(
        "blocked",
        "blocked <dependency> <reason>",
        "declare a dependency blocked: both departments are alerted",
    ),
    aka(
        "ack",
        &["acknowledge"],
        "ack <alert>",
        "acknowledge a dependency alert (it is then not escalated)",
    ),
    cmd(
        "update",
        "update <alert> <check-in or note>",
        "post a check-in or a note to a dependency alert's thread",
    ),
    cmd(
        "resolve",
        "resolve <alert> [note]",
        "close a dependency alert",
    ),
    cmd(
        "map",
        "map [--evidence]",
        "the strategy map, perspective by perspective, with cause → effect links (and whether each holds)",
    ),
    cmd(
        "evidence",
        "evidence [link]",
        "is the strategy holding? each cause → effect link judged from the check-in history (e.g. evidence P1->C1)",
    ),
    cmd(
        "gaps",
        "gaps",
        "orphan objectives, unmeasured strategy, unowned key results, breaks in the causal chain",
    ),
    cmd(
        "calendar",
        "calendar [dept] | calendar link [dept]",
        "upcoming events of every cadence layer, or the link to subscribe to them in a calendar app",
    ),
    cmd(
        "review",
        "review start <tier> [dept] | review start coordination <dependency> | review next|back|end | review show <id> | review",
        "run a review meeting: operational, tactical, strategic or coordination; `review` alone lists the ones running",
    ),
    aka(
        "action",
        &["action:"],
        "action <@owner> <due> <text>",
        "capture an action item (in a review: `action: @kofi send the update by Friday`)",
    ),
    aka(
        "decision",
        &["decision:"],
        "decision <text>",
        "record a decision (in a review: `decision: …`)",
    ),
    aka(
        "note",
        &["note:"],
        "note <text>",
        "record a note in the running review (in its thread: `note: …`)",
    ),
    cmd(
        "actions",
        "actions [mine|dept|overdue]",
        "the action register",
    ),
    cmd("done", "done <action>", "close an action item"),
    cmd(
        "edit",
        "edit <id> [new text]",
        "correct a captured action, decision or note",
    ),
    cmd(
        "delete",
        "delete <id>",
        "remove a captured action, decision or note",
    ),
    cmd(
        "decisions",
        "decisions [dept]",
        "decisions recorded in reviews",
    ),
    cmd(
        "whoami",
        "whoami",
        "who baton thinks you are, your departments and roles",
    ),
];

/// The table entry for a command word (its name or an alias, any case).
pub fn lookup(word: &str) -> Option<&'static CommandHelp> {
    let w = word.to_ascii_lowercase();
    COMMANDS
        .iter()
        .find(|c| c.name == w || c.aliases.contains(&w.as_str()))
}

pub fn usage_of(name: &str) -> Option<&'static str> {
    lookup(name).map(|c| c.usage)
}

fn usage_err(name: &str, what: &str) -> String {
    format!("{what}\nUsage: {}", usage_of(name).unwrap_or("help"))
}

/// Whether a line reads as a one-line check-in attempt: a code (codes carry a digit)
/// followed by more words.
pub fn looks_like_checkin(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let first = words.next().unwrap_or_default();
    lookup(first).is_none()
        && Code::parse(first).is_ok()
        && first.chars().any(|c| c.is_ascii_digit())
        && words.next().is_some()
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
        // The table decides which words are commands; the match below parses each one.
        let Some(entry) = lookup(&word_lc) else {
            return not_a_command(word, line, &args);
        };
        match entry.name {
            "help" => Ok(Command::Help(one_arg("help")?)),
            "status" => Ok(Command::Status(one_arg("status")?)),
            "okrs" => Ok(Command::Okrs(match one_arg("okrs")?.as_deref() {
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
            "checkin" => match args.len() {
                0 => Ok(Command::CheckinForm(None)),
                1 => Ok(Command::CheckinForm(Some(
                    Code::parse(args[0]).map_err(|e| usage_err("checkin", &format!("{e}.")))?,
                ))),
                _ => parse_checkin_line(rest)
                    .map(Command::Checkin)
                    .map_err(|e| format!("{e}\nNothing was recorded.")),
            },
            "correct" => parse_checkin_line(rest)
                .map(Command::Correct)
                .map_err(|e| usage_err("correct", &format!("{e}\nNothing was recorded."))),
            "gaps" => one_arg("gaps")?.map_or(Ok(Command::Gaps), |_| {
                Err(usage_err("gaps", "`gaps` takes no argument."))
            }),
            "map" => match one_arg("map")?.as_deref() {
                None => Ok(Command::Map),
                Some(a) if matches!(a.to_ascii_lowercase().as_str(), "--evidence" | "evidence") => {
                    Ok(Command::MapEvidence)
                }
                Some(_) => Err(usage_err("map", "`map` takes only `--evidence`.")),
            },
            "evidence" => {
                if rest.is_empty() {
                    Ok(Command::Evidence(None))
                } else {
                    Ok(Command::Evidence(Some(rest.to_string())))
                }
            }
            "deps" => Ok(Command::Deps(one_arg("deps")?)),
            "whoami" => one_arg("whoami")?.map_or(Ok(Command::Whoami), |_| {
                Err(usage_err("whoami", "`whoami` takes no argument."))
            }),
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
            "nochange" => one_arg("nochange")?.map_or(Ok(Command::NoChange), |_| {
                Err(usage_err("nochange", "`nochange` takes no argument."))
            }),
            "yes" if args.is_empty() => Ok(Command::Confirm(None)),
            "no" if args.is_empty() => Ok(Command::Decline(None)),
            "yes" | "no" => Err(usage_err(
                entry.name,
                &format!("`{}` takes no argument.", entry.name),
            )),
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
            "action" | "decision" | "note" => {
                let kind = entry.name.to_string();
                if rest.is_empty() {
                    return Err(usage_err(&kind, &format!("`{kind}` needs some text.")));
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
            "ack" => match args.as_slice() {
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
            // Every entry has its arm (a test parses each one); this is not reached.
            other => Err(format!(
                "`{other}` cannot be parsed yet; `help` lists what can."
            )),
        }
    }
}

/// A line whose first word is no command: a one-line check-in, a bare code (its card), or
/// a word baton does not know.
fn not_a_command(word: &str, line: &str, args: &[&str]) -> Result<Command, String> {
    let code = Code::parse(word)
        .ok()
        .filter(|_| word.chars().any(|c| c.is_ascii_digit()));
    match code {
        // A code and more words is a check-in attempt: the check-in parser explains what
        // is wrong, with the syntax (once).
        Some(_) if !args.is_empty() => {
            parse_checkin_line(line).map(Command::Checkin).map_err(|e| {
                if e.contains(CHECKIN_SYNTAX) {
                    format!("{e}\nNothing was recorded.")
                } else {
                    format!("{e}\nSyntax: {CHECKIN_SYNTAX}\nNothing was recorded.")
                }
            })
        }
        // A code alone: that key result's card.
        Some(code) => Ok(Command::Card(code)),
        None => {
            let known: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
            Err(format!(
                "I don't know the command `{word}`. Commands: {}. A check-in looks like `S1 42 on track: note`.",
                known.join(", ")
            ))
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
            Command::parse("map --evidence").unwrap(),
            Command::MapEvidence
        );
        assert_eq!(
            Command::parse("evidence P1 -> C1").unwrap(),
            Command::Evidence(Some("P1 -> C1".into()))
        );
        assert!(
            Command::parse("map everything")
                .unwrap_err()
                .contains("Usage: map [--evidence]")
        );
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

    /// The help word of each command: an exhaustive match, so a new variant does not
    /// compile until it is given one (and the test below checks it has help).
    fn help_word(c: &Command) -> Option<&'static str> {
        Some(match c {
            Command::Help(_) => "help",
            Command::Status(_) => "status",
            Command::Okrs(_) => "okrs",
            Command::Kr(_) | Command::Card(_) => "kr",
            Command::Checkin(_) | Command::CheckinForm(_) => "checkin",
            Command::Correct(_) => "correct",
            Command::Gaps => "gaps",
            Command::Map | Command::MapEvidence => "map",
            Command::Evidence(_) => "evidence",
            Command::Deps(_) => "deps",
            Command::Whoami => "whoami",
            Command::Calendar(_) | Command::CalendarLink(_) => "calendar",
            Command::Skip => "skip",
            Command::Snooze(_) => "snooze",
            Command::Away { .. } => "away",
            Command::NoChange => "nochange",
            Command::Blocked { .. } => "blocked",
            Command::Ack(_) => "ack",
            Command::Resolve { .. } => "resolve",
            Command::AlertUpdate { .. } | Command::AlertUpdateForm(_) => "update",
            Command::ReviewStart { .. }
            | Command::ReviewNext
            | Command::ReviewBack
            | Command::ReviewEnd
            | Command::ReviewShow(_)
            | Command::ReviewWhere => "review",
            Command::Capture { kind, .. } => match kind.as_str() {
                "action" => "action",
                "decision" => "decision",
                _ => "note",
            },
            Command::Edit { .. } | Command::EditForm(_) => "edit",
            Command::Delete(_) => "delete",
            Command::Done(_) => "done",
            Command::Actions(_) => "actions",
            Command::Decisions(_) => "decisions",
            Command::Confirm(_) => "yes",
            Command::Decline(_) => "no",
            // Never typed: a filled-in form.
            Command::SubmitForm { .. } => return None,
        })
    }

    /// Every command the parser reads has help and a usage line, and every entry of the
    /// table parses: `help`, the errors' usage lines and the Discord registration read
    /// the same table as the parser.
    #[test]
    fn every_parsed_command_has_help_and_a_usage_line() {
        let lines = [
            "help",
            "help kr",
            "status",
            "okrs",
            "kr S1",
            "S1",
            "checkin",
            "checkin S1",
            "checkin S1 4",
            "S1 4 on track",
            "correct S1 4",
            "gaps",
            "map",
            "map --evidence",
            "evidence",
            "evidence P1->C1",
            "deps",
            "whoami",
            "calendar",
            "calendar link",
            "skip",
            "snooze 2h",
            "away today tomorrow",
            "nochange",
            "blocked dep why",
            "ack 1",
            "resolve 1",
            "update 1 note",
            "update 1",
            "review start tactical",
            "review next",
            "review back",
            "review end",
            "review show 1",
            "review",
            "action: @kofi x",
            "decision: y",
            "note: z",
            "edit 1 x",
            "edit 1",
            "delete 1",
            "done 1",
            "actions",
            "decisions",
            "yes",
            "no",
        ];
        let mut covered = std::collections::BTreeSet::new();
        for line in lines {
            let c = Command::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let word = help_word(&c).unwrap_or_else(|| panic!("{line}: no help word"));
            let entry = lookup(word).unwrap_or_else(|| panic!("`{word}` has no help entry"));
            assert!(entry.usage.starts_with(entry.name), "{}", entry.usage);
            assert!(!entry.summary.is_empty());
            covered.insert(entry.name);
        }
        for entry in COMMANDS {
            assert!(
                covered.contains(entry.name),
                "`{}` is never parsed above",
                entry.name
            );
            for word in std::iter::once(&entry.name).chain(entry.aliases) {
                if let Err(e) = Command::parse(word) {
                    assert!(
                        e.contains(&format!("Usage: {}", entry.usage)),
                        "`{word}` alone: {e}"
                    );
                }
            }
        }
    }

    #[test]
    fn errors_end_in_their_own_usage_line() {
        for (line, usage) in [
            ("skip now", "Usage: skip"),
            ("snooze", "Usage: snooze <duration>"),
            ("snooze soon", "Usage: snooze <duration>"),
            ("away tomorrow", "Usage: away <from> <to>"),
            (
                "blocked sales-needs-sso",
                "Usage: blocked <dependency> <reason>",
            ),
            ("ack", "Usage: ack <alert>"),
            ("resolve", "Usage: resolve <alert> [note]"),
            ("update", "Usage: update <alert> <check-in or note>"),
            ("nochange please", "Usage: nochange"),
            ("note", "Usage: note <text>"),
            ("yes please", "Usage: yes"),
        ] {
            let e = Command::parse(line).unwrap_err();
            assert!(e.ends_with(usage), "`{line}`: {e}");
            assert!(!e.contains("Usage: help"), "`{line}`: {e}");
        }
    }

    #[test]
    fn a_check_in_typo_explains_the_syntax_once_and_a_bare_code_is_its_card() {
        let e = Command::parse("S1 68 maybe").unwrap_err();
        assert_eq!(e.matches(CHECKIN_SYNTAX).count(), 1, "{e}");
        assert!(e.ends_with("Nothing was recorded."), "{e}");
        let e = Command::parse("S1 lots").unwrap_err();
        assert_eq!(e.matches(CHECKIN_SYNTAX).count(), 1, "{e}");
        assert_eq!(
            Command::parse("s1").unwrap(),
            Command::Card(Code::parse("S1").unwrap())
        );
        assert!(Command::parse("hello").unwrap_err().contains("don't know"));
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
