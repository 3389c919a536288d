//! Block Kit rendering: a pure function of the neutral [`Reply`], so the same reply looks
//! the same whether it answers a slash command, goes out through the outbox or updates a
//! prompt in place. Snapshot-tested (insta) in `tests/it/slack.rs` and below.
//!
//! Slack's limits are respected here, not at the call sites: at most 50 blocks per message
//! (the rest is cut with a note), 3,000 characters per section text (long text and tables
//! are split over several sections), 150 for headers, 75 for button labels, 2,000 for
//! button values and context texts, 25 elements per actions block, `action_id`s unique in
//! their block, no empty text objects; modals: 24 for titles, 2,000 for labels, 100
//! blocks, 255 for `callback_id` and `block_id`. Tables become monospace code sections,
//! because Block Kit has no table that all clients show. Every message carries a
//! plain-text `text` fallback (notifications, screen readers, old clients).
//!
//! The limits are Slack's (docs.slack.dev, Block Kit reference); the Web API stand-in
//! enforces the same ones ([`crate::chat::slack::fake::blockkit`]), and a property test
//! there checks that every rendered reply passes.

use serde_json::{Value, json};

use crate::bot::reply::{Action, Block, Field, FieldKind, Form, Reply};

use super::text;

pub const MAX_BLOCKS: usize = 50;
pub const MAX_SECTION_TEXT: usize = 3000;
pub const MAX_HEADER_TEXT: usize = 150;
pub const MAX_CONTEXT_TEXT: usize = 2000;
pub const MAX_BUTTON_LABEL: usize = 75;
pub const MAX_BUTTON_VALUE: usize = 2000;
pub const MAX_ACTION_ID: usize = 255;
pub const MAX_ACTIONS_PER_BLOCK: usize = 25;
/// The fallback `text` of a message (Slack truncates beyond 40,000).
pub const MAX_FALLBACK: usize = 3000;
pub const MAX_MODAL_TITLE: usize = 24;
pub const MAX_MODAL_BLOCKS: usize = 100;
pub const MAX_INPUT_LABEL: usize = 2000;
pub const MAX_CALLBACK_ID: usize = 255;
pub const MAX_BLOCK_ID: usize = 255;
pub const MAX_OPTION_TEXT: usize = 75;
pub const MAX_OPTION_VALUE: usize = 150;
pub const MAX_OPTIONS: usize = 100;
/// A plain-text input's initial value (its default `max_length`).
pub const MAX_INPUT_VALUE: usize = 3000;

/// The `text` + `blocks` of a message (chat.postMessage, chat.update, response_url).
pub fn message(reply: &Reply) -> Value {
    json!({ "text": fallback(reply), "blocks": blocks(reply) })
}

/// The plain-text fallback: the terminal rendering, cut to a sensible length.
pub fn fallback(reply: &Reply) -> String {
    let t = text::render(reply);
    let t = t.trim_end();
    if t.is_empty() {
        "baton".to_string()
    } else {
        clip(t, MAX_FALLBACK)
    }
}

/// Slack's mrkdwn needs `&`, `<` and `>` escaped (everything else is taken literally).
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

/// Splits text into pieces of at most `max` characters, preferring line breaks.
fn chunks(s: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0;
    for line in s.split_inclusive('\n') {
        let len = line.chars().count();
        if cur_len + len > max && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            cur_len = 0;
        }
        if len > max {
            // One line longer than a section: hard split.
            let chars: Vec<char> = line.chars().collect();
            for piece in chars.chunks(max) {
                out.push(piece.iter().collect());
            }
            continue;
        }
        cur.push_str(line);
        cur_len += len;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn section(text: String) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

fn context(text: &str) -> Value {
    json!({ "type": "context", "elements": [
        { "type": "mrkdwn", "text": clip(text, MAX_CONTEXT_TEXT) }
    ] })
}

/// A plain-text object; Slack refuses empty text, so an empty `s` shows `or_else`.
fn plain_or(s: &str, max: usize, or_else: &str) -> Value {
    let s = [s, or_else]
        .into_iter()
        .find(|x| !x.trim().is_empty())
        .unwrap_or("…");
    json!({ "type": "plain_text", "text": clip(s, max), "emoji": true })
}

fn plain(s: &str, max: usize) -> Value {
    plain_or(s, max, "…")
}

/// Sections of mrkdwn text, split to respect the per-section limit (blank pieces are
/// left out: Slack refuses an empty text).
fn text_sections(s: &str, out: &mut Vec<Value>) {
    for piece in chunks(&escape(s), MAX_SECTION_TEXT) {
        if !piece.trim().is_empty() {
            out.push(section(piece));
        }
    }
}

/// Rows a wide table may show as one section each (headline + fields); a longer table is
/// packed into a few sections of one line per row, so the message stays within
/// [`MAX_BLOCKS`].
const FIELD_ROWS_MAX: usize = 8;
pub const MAX_SECTION_FIELDS: usize = 10;
pub const MAX_SECTION_FIELD_TEXT: usize = 2000;

/// A table: a monospace code section when it is at most [`CODE_TABLE_MAX`] characters
/// wide; wider, Block Kit sections — one per row with the row's cells as fields, or for a
/// long table one mrkdwn line per row — because a wide code block wraps into noise.
fn table_sections(t: &crate::bot::reply::Table, out: &mut Vec<Value>) {
    let natural = text::render_table(t);
    if natural
        .lines()
        .all(|l| l.chars().count() <= super::CODE_TABLE_MAX)
    {
        return code_sections(&natural, out);
    }
    let records = super::records(t);
    if records.len() <= FIELD_ROWS_MAX {
        for r in records {
            let head = format!("{}*{}*", nest(r.indent), escape(&r.head));
            let mut section = json!({
                "type": "section",
                "text": { "type": "mrkdwn", "text": clip(&head, MAX_SECTION_TEXT) },
            });
            let fields: Vec<Value> = r
                .fields
                .iter()
                .take(MAX_SECTION_FIELDS)
                .map(|(k, v)| {
                    json!({ "type": "mrkdwn", "text": clip(
                        &format!("*{}*\n{}", escape(k), escape(v)),
                        MAX_SECTION_FIELD_TEXT,
                    ) })
                })
                .collect();
            if !fields.is_empty() {
                section["fields"] = json!(fields);
            }
            out.push(section);
        }
        return;
    }
    let lines: Vec<String> = records
        .iter()
        .map(|r| {
            let mut l = format!("{}*{}*", nest(r.indent), escape(&r.head));
            for (k, v) in &r.fields {
                l.push_str(&format!(" · {}: {}", escape(k), escape(v)));
            }
            l
        })
        .collect();
    for piece in chunks(&lines.join("\n"), MAX_SECTION_TEXT) {
        if !piece.trim().is_empty() {
            out.push(section(piece.trim_end_matches('\n').to_string()));
        }
    }
}

/// How a nested row (a key result under its objective) is marked: Slack drops leading
/// spaces.
fn nest(indent: usize) -> &'static str {
    if indent > 0 { "↳ " } else { "" }
}

/// A narrow table as monospace code sections (fences included in the limit).
fn code_sections(natural: &str, out: &mut Vec<Value>) {
    let body = escape(natural.trim_end());
    // "```\n" + body + "\n```" must fit: leave 8 characters for the fences.
    for piece in chunks(&body, MAX_SECTION_TEXT - 8) {
        out.push(section(format!(
            "```\n{}\n```",
            piece.trim_end_matches('\n')
        )));
    }
}

/// The `action_id` of a button: `<action>:<value>`, unique within its block because each
/// button of a reply has a distinct (action, value) pair. [`parse_action_id`] undoes it.
pub fn action_id(a: &Action) -> String {
    clip(&format!("{}:{}", a.id, a.value), MAX_ACTION_ID)
}

/// The action part of an `action_id` made by [`action_id`].
pub fn parse_action_id(id: &str) -> &str {
    id.split_once(':').map(|(a, _)| a).unwrap_or(id)
}

fn button(a: &Action) -> Value {
    let mut b = json!({
        "type": "button",
        "action_id": action_id(a),
        "text": plain_or(&a.label, MAX_BUTTON_LABEL, &a.id),
        "value": clip(&a.value, MAX_BUTTON_VALUE),
    });
    if a.id == "update" {
        b["style"] = json!("primary");
    }
    b
}

/// The Block Kit blocks of a reply (at most [`MAX_BLOCKS`]).
pub fn blocks(reply: &Reply) -> Vec<Value> {
    let mut out = Vec::new();
    for b in &reply.blocks {
        match b {
            // Slack refuses empty texts: blank headings and notes are left out.
            Block::Heading(s) if s.trim().is_empty() => {}
            Block::Heading(s) => out.push(json!({
                "type": "header", "text": plain(s, MAX_HEADER_TEXT)
            })),
            Block::Text(s) => text_sections(s, &mut out),
            Block::Note(s) if s.trim().is_empty() => {}
            Block::Note(s) => out.push(context(&escape(s))),
            Block::Error(s) => {
                let pieces = chunks(&escape(s), MAX_SECTION_TEXT - 10);
                if pieces.is_empty() {
                    out.push(section(":warning:".to_string()));
                }
                for piece in pieces {
                    out.push(section(format!(":warning: {piece}")));
                }
            }
            Block::Table(t) => table_sections(t, &mut out),
            Block::Form(f) => {
                // A form in a message is a button that opens it as a modal.
                let title = clip(&escape(&f.title), MAX_SECTION_TEXT - 2);
                out.push(section(format!("*{}*", title.trim())));
                out.push(json!({ "type": "actions", "elements": [button(&Action {
                    id: "form".into(),
                    label: f.title.clone(),
                    value: f.id.clone(),
                })] }));
            }
            Block::Actions(actions) => {
                for group in actions.chunks(MAX_ACTIONS_PER_BLOCK) {
                    let mut elements: Vec<Value> = group.iter().map(button).collect();
                    unique_action_ids(&mut elements);
                    out.push(json!({ "type": "actions", "elements": elements }));
                }
            }
            Block::Image(img) => {
                // Pictures are uploaded by the adapter when it can; the alt text always shows.
                out.push(context(&format!(":bar_chart: {}", escape(&img.alt))));
            }
        }
    }
    if out.len() > MAX_BLOCKS {
        let dropped = out.len() - (MAX_BLOCKS - 1);
        out.truncate(MAX_BLOCKS - 1);
        out.push(context(&format!(
            "… {dropped} more blocks not shown (Slack shows at most {MAX_BLOCKS}); \
             narrow the command, e.g. `status <dept>`."
        )));
    }
    out
}

/// Slack refuses two elements with one `action_id` in a block. Two buttons of a reply
/// with the same action and value (or values alike up to the clip) get a `~n` suffix
/// after the first; [`parse_action_id`] still reads the action, and the value travels in
/// `value`.
fn unique_action_ids(elements: &mut [Value]) {
    let mut seen = std::collections::HashSet::new();
    for (i, e) in elements.iter_mut().enumerate() {
        let id = e["action_id"].as_str().unwrap_or_default().to_string();
        if !seen.insert(id.clone()) {
            let suffix = format!("~{i}");
            let base: String = id
                .chars()
                .take(MAX_ACTION_ID - suffix.chars().count())
                .collect();
            let unique = format!("{base}{suffix}");
            seen.insert(unique.clone());
            e["action_id"] = json!(unique);
        }
    }
}

/// Where a modal came from, carried through Slack in the view's `private_metadata`, so the
/// submission can update the message that opened it.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModalOrigin {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
}

fn input(f: &Field) -> Value {
    let name = clip(&f.name, MAX_BLOCK_ID);
    let option =
        |o: &str| json!({ "text": plain(o, MAX_OPTION_TEXT), "value": clip(o, MAX_OPTION_VALUE) });
    // Slack refuses an empty option, and a select without options.
    let options: Vec<&String> = match &f.kind {
        FieldKind::Choice(options) => options
            .iter()
            .filter(|o| !o.trim().is_empty())
            .take(MAX_OPTIONS)
            .collect(),
        _ => Vec::new(),
    };
    let element = match &f.kind {
        FieldKind::Number => {
            let mut e = json!({
                "type": "number_input", "is_decimal_allowed": true, "action_id": name,
            });
            // Slack refuses an initial value that is not a number.
            if let Some(d) = &f.default
                && d.trim().parse::<f64>().is_ok_and(f64::is_finite)
            {
                e["initial_value"] = json!(d.trim());
            }
            e
        }
        FieldKind::Choice(_) if !options.is_empty() => {
            let opts: Vec<Value> = options.iter().map(|o| option(o)).collect();
            let mut e = json!({ "type": "static_select", "action_id": name, "options": opts });
            if let Some(d) = &f.default
                && options.contains(&d)
            {
                e["initial_option"] = option(d);
            }
            e
        }
        FieldKind::Choice(_) | FieldKind::Text => {
            let mut e = json!({
                "type": "plain_text_input", "action_id": name,
                "multiline": f.name != "code",
            });
            if let Some(d) = &f.default {
                e["initial_value"] = json!(clip(d, MAX_INPUT_VALUE));
            }
            e
        }
    };
    json!({
        "type": "input",
        "block_id": name,
        "label": plain_or(&f.label, MAX_INPUT_LABEL, &f.name),
        "optional": !f.required,
        "element": element,
    })
}

/// A modal view for a form; `callback_id` is the form id, each field is an input block whose
/// `block_id` and `action_id` are the field name (a field whose name repeats an earlier
/// one's is left out: its answer could not be told apart; at most 100 fields).
pub fn modal(form: &Form, origin: &ModalOrigin) -> Value {
    let mut names = std::collections::HashSet::new();
    let fields: Vec<Value> = form
        .fields
        .iter()
        .filter(|f| names.insert(clip(&f.name, MAX_BLOCK_ID)))
        .take(MAX_MODAL_BLOCKS)
        .map(input)
        .collect();
    json!({
        "type": "modal",
        "callback_id": clip(&form.id, MAX_CALLBACK_ID),
        "title": plain_or(&form.title, MAX_MODAL_TITLE, "baton"),
        "submit": plain("Submit", 24),
        "close": plain("Cancel", 24),
        "private_metadata": serde_json::to_string(origin).unwrap_or_default(),
        "blocks": fields,
    })
}

/// A form's error as modal field errors (`response_action: errors`). The app's form
/// errors start with the field name (`value: …`); anything else is shown on the first field.
pub fn field_errors(fields: &[String], message: &str) -> Value {
    let (field, text) = match message.split_once(": ") {
        Some((f, rest)) if fields.iter().any(|x| x == f) => (f.to_string(), rest.to_string()),
        _ => (
            fields.first().cloned().unwrap_or_else(|| "value".into()),
            message.to_string(),
        ),
    };
    let mut errors = serde_json::Map::new();
    errors.insert(field, json!(clip(&text, 2000)));
    json!({ "response_action": "errors", "errors": errors })
}

/// The error text of a reply, if it is an error reply.
pub fn error_text(reply: &Reply) -> Option<String> {
    let errs: Vec<&str> = reply
        .blocks
        .iter()
        .filter_map(|b| match b {
            Block::Error(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    (!errs.is_empty()).then(|| errs.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::reply::{Align, Cell, Table};

    #[test]
    fn long_text_is_split_and_blocks_are_capped() {
        let long = "line of text\n".repeat(600);
        let mut r = Reply::new().heading("h".repeat(400)).text(long.clone());
        for i in 0..80 {
            r = r.note(format!("n{i}"));
        }
        let b = blocks(&r);
        assert_eq!(b.len(), MAX_BLOCKS);
        assert_eq!(
            b[0]["text"]["text"].as_str().unwrap().chars().count(),
            MAX_HEADER_TEXT
        );
        for x in &b {
            if let Some(t) = x["text"]["text"].as_str() {
                assert!(t.chars().count() <= MAX_SECTION_TEXT);
            }
        }
        let joined: String = b
            .iter()
            .filter(|x| x["type"] == "section")
            .map(|x| x["text"]["text"].as_str().unwrap())
            .collect();
        assert_eq!(joined, long);
        assert!(
            b.last().unwrap()["elements"][0]["text"]
                .as_str()
                .unwrap()
                .contains("more blocks not shown")
        );
    }

    #[test]
    fn big_tables_become_several_code_sections() {
        let mut t = Table::new(&[("Code", Align::Left), ("Title", Align::Left)]);
        for i in 0..200 {
            t.row(vec![
                Cell::text(format!("K{i}")),
                Cell::text("a <b> & c ".repeat(3)),
            ]);
        }
        let b = blocks(&Reply::new().table(t));
        assert!(b.len() > 1);
        for x in &b {
            let s = x["text"]["text"].as_str().unwrap();
            assert!(s.starts_with("```\n") && s.ends_with("\n```"));
            assert!(s.chars().count() <= MAX_SECTION_TEXT);
            assert!(!s.contains('<'));
        }
    }

    #[test]
    fn field_errors_name_the_field() {
        let fields = vec!["value".to_string(), "confidence".to_string()];
        let e = field_errors(&fields, "value: `abc` is not a number");
        assert_eq!(e["errors"]["value"], "`abc` is not a number");
        let e = field_errors(&fields, "You may not check in on S9.");
        assert_eq!(e["errors"]["value"], "You may not check in on S9.");
        assert_eq!(e["response_action"], "errors");
    }

    mod within_limits {
        use super::super::*;
        use crate::bot::reply::{Align, Cell, Field, FieldKind, ImageRef, Table};
        use crate::chat::slack::fake::blockkit::{check_message, check_view};
        use proptest::prelude::*;

        /// Short and very long texts, with mrkdwn specials, line breaks, blanks and
        /// characters of several bytes.
        fn text() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-zA-Z0-9 <>&*_`é😀\n]{0,40}",
                Just(String::new()),
                Just(" \n ".to_string()),
                ("[a-z<>& \né😀]{1,30}", 1usize..400).prop_map(|(s, n)| s.repeat(n)),
            ]
        }

        fn action() -> impl Strategy<Value = Action> {
            ("[a-z_]{0,12}", text(), text()).prop_map(|(id, label, value)| Action {
                id,
                label,
                value,
            })
        }

        fn field() -> impl Strategy<Value = Field> {
            let kind = prop_oneof![
                Just(FieldKind::Number),
                Just(FieldKind::Text),
                prop::collection::vec(text(), 0..120).prop_map(FieldKind::Choice),
            ];
            (
                "[a-z]{0,8}",
                text(),
                kind,
                prop::option::of(prop_oneof![text(), Just("42.5".to_string())]),
                any::<bool>(),
            )
                .prop_map(|(name, label, kind, default, required)| Field {
                    name,
                    label,
                    kind,
                    default,
                    required,
                })
        }

        fn form() -> impl Strategy<Value = Form> {
            (text(), text(), prop::collection::vec(field(), 0..130))
                .prop_map(|(id, title, fields)| Form { id, title, fields })
        }

        fn table() -> impl Strategy<Value = Table> {
            (1usize..5, prop::collection::vec(text(), 0..300)).prop_map(|(cols, cells)| {
                let mut t = Table::new(&vec![("Col", Align::Left); cols]);
                for row in cells.chunks(cols) {
                    t.row(row.iter().map(|c| Cell::text(c.clone())).collect());
                }
                t
            })
        }

        fn block() -> impl Strategy<Value = Block> {
            prop_oneof![
                text().prop_map(Block::Heading),
                text().prop_map(Block::Text),
                text().prop_map(Block::Note),
                text().prop_map(Block::Error),
                table().prop_map(Block::Table),
                form().prop_map(Block::Form),
                prop::collection::vec(action(), 0..60).prop_map(Block::Actions),
                text().prop_map(|alt| Block::Image(ImageRef {
                    kind: "kr_trend".into(),
                    subject: None,
                    alt,
                })),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// Whatever baton replies, the message passes the limits the Slack stand-in
            /// enforces (Slack's own).
            #[test]
            fn every_reply_renders_within_slacks_limits(
                blocks in prop::collection::vec(block(), 0..80),
            ) {
                let reply = Reply { blocks, ephemeral: false };
                let m = message(&reply);
                prop_assert_eq!(check_message(&m), Ok(()), "{}", m);
            }

            /// And every form opens as a modal Slack accepts.
            #[test]
            fn every_form_renders_as_a_modal_within_slacks_limits(
                f in form(),
                channel in prop::option::of("[A-Z0-9]{1,12}"),
            ) {
                let origin = ModalOrigin { channel, ts: Some("1763294400.000042".into()) };
                let v = modal(&f, &origin);
                prop_assert_eq!(check_view(&v), Ok(()), "{}", v);
            }
        }
    }

    #[test]
    fn action_ids_round_trip() {
        let a = Action {
            id: "update".into(),
            label: "Update S1".into(),
            value: "S1".into(),
        };
        assert_eq!(action_id(&a), "update:S1");
        assert_eq!(parse_action_id("update:S1"), "update");
        assert_eq!(parse_action_id("skip"), "skip");
    }
}
