//! The `/baton` command: one definition in Rust, from which the registration payload
//! (and `manifests/discord-commands.json`) is generated and with which an invocation is
//! turned back into the same words the shell reads.

use serde_json::{Value, json};
use serenity::all::{CommandOptionType, CreateCommand, CreateCommandOption};

/// What an option's autocomplete offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Complete {
    No,
    Department,
    Code,
    /// Departments and codes (`status`).
    Either,
}

pub struct Opt {
    pub name: &'static str,
    pub description: &'static str,
    pub required: bool,
    pub complete: Complete,
    pub choices: &'static [&'static str],
    /// Put before the value in the line (`: ` before a check-in note, `@` before an owner).
    pub prefix: &'static str,
}

const fn opt(name: &'static str, description: &'static str, required: bool) -> Opt {
    Opt {
        name,
        description,
        required,
        complete: Complete::No,
        choices: &[],
        prefix: "",
    }
}

const fn dept(required: bool) -> Opt {
    Opt {
        complete: Complete::Department,
        ..opt("dept", "department key", required)
    }
}

const fn code(required: bool) -> Opt {
    Opt {
        complete: Complete::Code,
        ..opt("code", "key-result or measure code", required)
    }
}

const CONFIDENCE: Opt = Opt {
    choices: &["on track", "at risk", "off track"],
    ..opt("confidence", "how confident you are", false)
};

const NOTE: Opt = Opt {
    prefix: ": ",
    ..opt("note", "a short note", false)
};

/// One invocable leaf: `/baton <name>` or `/baton <group> <name>`.
pub struct Leaf {
    pub group: Option<&'static str>,
    pub name: &'static str,
    /// The shell words the leaf stands for.
    pub words: &'static str,
    pub options: &'static [Opt],
}

const fn leaf(name: &'static str, options: &'static [Opt]) -> Leaf {
    Leaf {
        group: None,
        name,
        words: name,
        options,
    }
}

/// Discord allows 25 subcommands; review captures and alert answers are grouped.
pub const GROUPS: &[(&str, &str)] = &[
    (
        "review",
        "run a review meeting and capture actions, decisions and notes",
    ),
    (
        "alert",
        "answer an alert: acknowledge, update or resolve it",
    ),
];

pub const LEAVES: &[Leaf] = &[
    leaf("help", &[opt("command", "a command name", false)]),
    leaf(
        "status",
        &[Opt {
            complete: Complete::Either,
            ..opt("scope", "department, perspective or objective code", false)
        }],
    ),
    leaf(
        "okrs",
        &[Opt {
            complete: Complete::Department,
            ..opt("scope", "a department, `me` or `all`", false)
        }],
    ),
    leaf("kr", &[code(true)]),
    leaf(
        "checkin",
        &[
            code(false),
            opt("value", "the new figure (no value opens a form)", false),
            CONFIDENCE,
            NOTE,
        ],
    ),
    leaf(
        "correct",
        &[
            code(true),
            opt("value", "the corrected figure", true),
            CONFIDENCE,
            NOTE,
        ],
    ),
    leaf("deps", &[dept(false)]),
    leaf(
        "map",
        &[Opt {
            choices: &["evidence"],
            ..opt(
                "show",
                "evidence: whether each link holds in the check-in history",
                false,
            )
        }],
    ),
    leaf("gaps", &[]),
    leaf("whoami", &[]),
    leaf("calendar", &[dept(false)]),
    Leaf {
        group: None,
        name: "calendar-link",
        words: "calendar link",
        options: &[dept(false)],
    },
    leaf(
        "actions",
        &[opt("filter", "mine, dept, overdue or a department", false)],
    ),
    leaf("done", &[opt("action", "action id", true)]),
    leaf(
        "edit",
        &[
            opt("id", "captured item id", true),
            opt("text", "the new text", true),
        ],
    ),
    leaf("delete", &[opt("id", "captured item id", true)]),
    leaf("decisions", &[dept(false)]),
    leaf("skip", &[]),
    leaf("nochange", &[]),
    leaf(
        "snooze",
        &[opt("duration", "how long, e.g. 2h or 1d", true)],
    ),
    leaf(
        "away",
        &[
            opt("from", "first day away", true),
            opt("to", "last day away", true),
        ],
    ),
    leaf(
        "blocked",
        &[
            opt("dependency", "what you are waiting for", true),
            opt("reason", "why", true),
        ],
    ),
    Leaf {
        group: Some("review"),
        name: "start",
        words: "review start",
        options: &[
            Opt {
                choices: &["operational", "tactical", "strategic", "coordination"],
                ..opt("tier", "review tier", true)
            },
            dept(false),
        ],
    },
    Leaf {
        group: Some("review"),
        name: "next",
        words: "review next",
        options: &[],
    },
    Leaf {
        group: Some("review"),
        name: "back",
        words: "review back",
        options: &[],
    },
    Leaf {
        group: Some("review"),
        name: "end",
        words: "review end",
        options: &[],
    },
    Leaf {
        group: Some("review"),
        name: "show",
        words: "review show",
        options: &[opt("id", "review id", true)],
    },
    Leaf {
        group: Some("review"),
        name: "action",
        words: "action",
        options: &[
            Opt {
                prefix: "@",
                ..opt("owner", "who owns it", true)
            },
            opt("due", "when, e.g. Friday or 2026-12-01", true),
            opt("text", "what is to be done", true),
        ],
    },
    Leaf {
        group: Some("review"),
        name: "decision",
        words: "decision",
        options: &[opt("text", "the decision", true)],
    },
    Leaf {
        group: Some("review"),
        name: "note",
        words: "note",
        options: &[opt("text", "the note", true)],
    },
    Leaf {
        group: Some("alert"),
        name: "ack",
        words: "ack",
        options: &[opt("alert", "alert id", true)],
    },
    Leaf {
        group: Some("alert"),
        name: "update",
        words: "update",
        options: &[
            opt("alert", "alert id", true),
            opt("text", "a check-in or a note", true),
        ],
    },
    Leaf {
        group: Some("alert"),
        name: "resolve",
        words: "resolve",
        options: &[opt("alert", "alert id", true), opt("note", "how", false)],
    },
];

fn summary(leaf: &Leaf) -> String {
    let name = leaf.words.split_whitespace().next().unwrap_or(leaf.name);
    let s = crate::bot::command::COMMANDS
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.summary.to_string())
        .unwrap_or_else(|| leaf.words.to_string());
    let s = if leaf.group.is_some() && name == "review" {
        format!("review {}", leaf.name)
    } else if leaf.words == "calendar link" {
        "the link to subscribe to the calendar in a calendar app (only you see it)".to_string()
    } else {
        s
    };
    crate::bot::render::discord::truncate(&s, 100)
}

fn leaf_option(l: &Leaf) -> CreateCommandOption {
    let mut o = CreateCommandOption::new(CommandOptionType::SubCommand, l.name, summary(l));
    for p in l.options {
        let mut s = CreateCommandOption::new(CommandOptionType::String, p.name, p.description)
            .required(p.required);
        if p.complete != Complete::No {
            s = s.set_autocomplete(true);
        }
        for c in p.choices {
            s = s.add_string_choice(*c, *c);
        }
        o = o.add_sub_option(s);
    }
    o
}

/// The `/baton` command, as serenity's builder.
pub fn create_command() -> CreateCommand {
    let mut cmd = CreateCommand::new("baton")
        .description("Balanced Scorecard and OKRs: the same commands as the shell (`/baton help`)");
    for l in LEAVES.iter().filter(|l| l.group.is_none()) {
        cmd = cmd.add_option(leaf_option(l));
    }
    for (g, desc) in GROUPS {
        let mut go = CreateCommandOption::new(CommandOptionType::SubCommandGroup, *g, *desc);
        for l in LEAVES.iter().filter(|l| l.group == Some(g)) {
            go = go.add_sub_option(leaf_option(l));
        }
        cmd = cmd.add_option(go);
    }
    cmd
}

/// The bulk-overwrite payload: an array with the one command.
pub fn commands_json() -> Value {
    json!([serde_json::to_value(create_command()).expect("builders serialise")])
}

/// Finds the invoked leaf and its (possibly nested) option list in `data.options`.
pub fn invoked(data: &Value) -> Option<(&'static Leaf, &Vec<Value>)> {
    let first = data["options"].as_array()?.first()?;
    let name = first["name"].as_str()?;
    match first["type"].as_u64()? {
        1 => {
            let l = LEAVES
                .iter()
                .find(|l| l.group.is_none() && l.name == name)?;
            Some((l, first["options"].as_array().unwrap_or(&EMPTY)))
        }
        2 => {
            let sub = first["options"].as_array()?.first()?;
            let sname = sub["name"].as_str()?;
            let l = LEAVES
                .iter()
                .find(|l| l.group == Some(name) && l.name == sname)?;
            Some((l, sub["options"].as_array().unwrap_or(&EMPTY)))
        }
        _ => None,
    }
}

static EMPTY: Vec<Value> = Vec::new();

fn value_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The shell line an application command stands for.
pub fn line(data: &Value) -> Result<String, String> {
    if data["name"].as_str() != Some("baton") {
        return Err("That is not a baton command.".into());
    }
    let (leaf, opts) =
        invoked(data).ok_or("I did not understand that command; try `/baton help`.")?;
    let mut line = leaf.words.to_string();
    for def in leaf.options {
        let Some(v) = opts
            .iter()
            .find(|o| o["name"].as_str() == Some(def.name))
            .and_then(|o| value_str(&o["value"]))
            .filter(|v| !v.is_empty())
        else {
            continue;
        };
        if def.prefix == ": " {
            line.push_str(": ");
        } else {
            line.push(' ');
            if !v.starts_with(def.prefix) {
                line.push_str(def.prefix);
            }
        }
        line.push_str(&v);
    }
    Ok(line)
}

/// The option being typed in an autocomplete interaction: its definition and prefix.
pub fn focused(data: &Value) -> Option<(&'static Opt, String)> {
    let (leaf, opts) = invoked(data)?;
    let f = opts.iter().find(|o| o["focused"].as_bool() == Some(true))?;
    let name = f["name"].as_str()?;
    let def = leaf.options.iter().find(|o| o.name == name)?;
    Some((def, value_str(&f["value"]).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_discord_limits() {
        let top = LEAVES.iter().filter(|l| l.group.is_none()).count() + GROUPS.len();
        assert!(top <= 25, "{top} top-level options");
        for (g, _) in GROUPS {
            assert!(LEAVES.iter().filter(|l| l.group == Some(g)).count() <= 25);
        }
        for l in LEAVES {
            assert!(l.name.len() <= 32 && l.options.len() <= 25);
            let first = l.words.split_whitespace().next().unwrap();
            // Every leaf is a command of the parser's table, so its description and
            // `help` are the same words.
            assert!(
                crate::bot::command::usage_of(first).is_some(),
                "{first} is not in bot::command::COMMANDS"
            );
        }
    }

    #[test]
    fn options_become_shell_words() {
        let data = json!({"name": "baton", "options": [{"name": "checkin", "type": 1, "options": [
            {"name": "note", "type": 3, "value": "shipped"},
            {"name": "code", "type": 3, "value": "S1"},
            {"name": "value", "type": 3, "value": "42"},
            {"name": "confidence", "type": 3, "value": "at risk"}]}]});
        assert_eq!(line(&data).unwrap(), "checkin S1 42 at risk: shipped");
        let data = json!({"name": "baton", "options": [{"name": "review", "type": 2, "options": [
            {"name": "action", "type": 1, "options": [
                {"name": "owner", "type": 3, "value": "kofi"},
                {"name": "due", "type": 3, "value": "friday"},
                {"name": "text", "type": 3, "value": "send it"}]}]}]});
        assert_eq!(line(&data).unwrap(), "action @kofi friday send it");
        let data = json!({"name": "baton", "options": [{"name": "whoami", "type": 1}]});
        assert_eq!(line(&data).unwrap(), "whoami");
        let data = json!({"name": "baton", "options": [{"name": "map", "type": 1, "options": [
            {"name": "show", "type": 3, "value": "evidence"}]}]});
        assert_eq!(line(&data).unwrap(), "map evidence");
        assert_eq!(
            crate::bot::Command::parse(&line(&data).unwrap()).unwrap(),
            crate::bot::Command::MapEvidence
        );
        for l in LEAVES {
            // Every leaf parses as a shell command once its required options are given.
            let mut words = l.words.to_string();
            for o in l.options.iter().filter(|o| o.required) {
                words.push(' ');
                words.push_str(match o.name {
                    "code" => "S1",
                    "value" => "1",
                    "tier" => "tactical",
                    "duration" => "2h",
                    "from" | "to" => "2026-12-01",
                    "owner" => "@kofi",
                    "due" => "friday",
                    _ => "x",
                });
            }
            assert!(
                crate::bot::Command::parse(&words).is_ok(),
                "{words} does not parse"
            );
        }
    }
}
