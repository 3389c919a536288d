//! Discord rendering: a pure function from [`Reply`] to the JSON of a Discord message
//! (one embed plus action rows of buttons) or of a modal. Discord's limits are respected
//! here, so nothing baton sends is rejected for its size: long text is cut at a line
//! boundary and ends with a pointer to where the whole answer can be read.

use serde_json::{Value, json};

use crate::bot::render::text::render_table;
use crate::bot::reply::{Action, Block, FieldKind, Form, Reply};

pub const CONTENT_MAX: usize = 2000;
pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 4096;
pub const FIELDS_MAX: usize = 25;
pub const EMBED_TOTAL_MAX: usize = 6000;
pub const ROWS_MAX: usize = 5;
pub const BUTTONS_PER_ROW: usize = 5;
pub const LABEL_MAX: usize = 80;
pub const CUSTOM_ID_MAX: usize = 100;
pub const MODAL_TITLE_MAX: usize = 45;
pub const INPUT_LABEL_MAX: usize = 45;
pub const PLACEHOLDER_MAX: usize = 100;
pub const INPUT_VALUE_MAX: usize = 4000;
/// Message flag: only the person who asked sees it.
pub const EPHEMERAL: u64 = 1 << 6;

const COLOUR: u32 = 0x5865F2;
const ERROR_COLOUR: u32 = 0xED4245;

/// The pointer used when no better one is known.
pub const DEFAULT_POINTER: &str = "the same command in `baton shell` shows all";

/// The `custom_id` of a button: `baton:<action id>:<value>`.
pub fn custom_id(a: &Action) -> String {
    truncate(&format!("baton:{}:{}", a.id, a.value), CUSTOM_ID_MAX)
}

/// Splits a button `custom_id` back into action id and value.
pub fn parse_custom_id(s: &str) -> Option<(&str, &str)> {
    let rest = s.strip_prefix("baton:")?;
    Some(rest.split_once(':').unwrap_or((rest, "")))
}

/// Cuts `s` to at most `max` characters (Discord counts characters), ending with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Cuts long text at a line boundary so that it plus the pointer fits in `max`
/// characters, closing an open code block.
fn fit(text: &str, max: usize, pointer: &str) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let tail = format!("\n… truncated: {pointer}");
    // Room for the tail and a closing fence.
    let budget = max.saturating_sub(tail.chars().count() + 4);
    let mut cut: String = text.chars().take(budget).collect();
    if let Some(nl) = cut.rfind('\n') {
        cut.truncate(nl);
    }
    if cut.matches("```").count() % 2 == 1 {
        cut.push_str("\n```");
    }
    cut.push_str(&tail);
    truncate(&cut, max)
}

fn style(action_id: &str) -> u8 {
    match action_id {
        "update" | "alert_update" | "review_next" => 1,
        "capture_delete" | "alert_resolve" => 4,
        _ => 2,
    }
}

/// Action rows of buttons: at most 5 rows of 5; what does not fit is named in a note.
fn components(actions: &[&Action]) -> (Vec<Value>, usize) {
    let max = ROWS_MAX * BUTTONS_PER_ROW;
    let rows = actions
        .iter()
        .take(max)
        .collect::<Vec<_>>()
        .chunks(BUTTONS_PER_ROW)
        .map(|row| {
            json!({
                "type": 1,
                "components": row.iter().map(|a| json!({
                    "type": 2,
                    "style": style(&a.id),
                    "label": truncate(&a.label, LABEL_MAX),
                    "custom_id": custom_id(a),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    (rows, actions.len().saturating_sub(max))
}

/// A message for `reply`. `pointer` says where the whole answer can be read when it has
/// to be cut (e.g. "`kr S1` in the shell shows all").
pub fn message(reply: &Reply, pointer: &str) -> Value {
    let mut title: Option<String> = None;
    let mut lines: Vec<String> = Vec::new();
    let mut actions: Vec<&Action> = Vec::new();
    let mut error = false;
    for b in &reply.blocks {
        match b {
            Block::Heading(h) if title.is_none() => title = Some(truncate(h, TITLE_MAX)),
            Block::Heading(h) => lines.push(format!("**{h}**")),
            Block::Text(t) => lines.push(t.clone()),
            Block::Note(t) => lines.push(format!("-# {t}")),
            Block::Table(t) => lines.push(format!("```\n{}```", render_table(t))),
            Block::Error(e) => {
                error = true;
                lines.push(format!("⚠️ {e}"));
            }
            Block::Form(f) => lines.push(format!("» {}", f.title)),
            Block::Image(i) => lines.push(format!("*{}*", i.alt)),
            Block::Actions(a) => actions.extend(a.iter()),
        }
    }
    let (rows, dropped) = components(&actions);
    if dropped > 0 {
        lines.push(format!(
            "-# {dropped} more button(s) did not fit; {DEFAULT_POINTER}."
        ));
    }
    let description = fit(&lines.join("\n"), DESCRIPTION_MAX, pointer);
    let mut embed = serde_json::Map::new();
    if let Some(t) = title {
        embed.insert("title".into(), json!(t));
    }
    if !description.is_empty() {
        embed.insert("description".into(), json!(description));
    }
    embed.insert(
        "color".into(),
        json!(if error { ERROR_COLOUR } else { COLOUR }),
    );
    let mut msg = serde_json::Map::new();
    msg.insert("content".into(), json!(""));
    msg.insert("embeds".into(), json!([Value::Object(embed)]));
    msg.insert("components".into(), json!(rows));
    msg.insert("allowed_mentions".into(), json!({ "parse": [] }));
    if reply.ephemeral {
        msg.insert("flags".into(), json!(EPHEMERAL));
    }
    Value::Object(msg)
}

/// Plain text content (for places where embeds are not wanted), cut to 2000 characters.
pub fn content(text: &str, pointer: &str) -> String {
    fit(text, CONTENT_MAX, pointer)
}

/// A modal for `form`: one text input per field (at most five; Discord allows no more).
pub fn modal(form: &Form) -> Value {
    let rows: Vec<Value> = form
        .fields
        .iter()
        .take(5)
        .map(|f| {
            let (style, placeholder) = match &f.kind {
                FieldKind::Number => (1, "a number".to_string()),
                FieldKind::Choice(c) => (1, c.join(" / ")),
                FieldKind::Text => (2, String::new()),
            };
            let mut input = serde_json::Map::new();
            input.insert("type".into(), json!(4));
            input.insert("custom_id".into(), json!(truncate(&f.name, CUSTOM_ID_MAX)));
            input.insert("label".into(), json!(truncate(&f.label, INPUT_LABEL_MAX)));
            input.insert("style".into(), json!(style));
            input.insert("required".into(), json!(f.required));
            if !placeholder.is_empty() {
                input.insert(
                    "placeholder".into(),
                    json!(truncate(&placeholder, PLACEHOLDER_MAX)),
                );
            }
            if let Some(d) = &f.default {
                input.insert("value".into(), json!(truncate(d, INPUT_VALUE_MAX)));
            }
            json!({ "type": 1, "components": [Value::Object(input)] })
        })
        .collect();
    json!({
        "custom_id": truncate(&form.id, CUSTOM_ID_MAX),
        "title": truncate(&form.title, MODAL_TITLE_MAX),
        "components": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::reply::{Align, Cell, Field, Table};

    fn embed_len(v: &Value) -> usize {
        let e = &v["embeds"][0];
        ["title", "description"]
            .iter()
            .map(|k| e[k].as_str().map_or(0, |s| s.chars().count()))
            .sum()
    }

    #[test]
    fn checkin_prompt_renders_embed_and_buttons() {
        let mut t = Table::new(&[("Code", Align::Left), ("Current", Align::Right)]);
        t.row(vec![Cell::text("S1"), Cell::text("42 %")]);
        let mut r = Reply::new()
            .heading("Check-in for Mon 16 Nov — answer by Tue 17 Nov 09:00")
            .table(t);
        r.push(Block::Actions(vec![
            Action {
                id: "update".into(),
                label: "Update S1".into(),
                value: "S1".into(),
            },
            Action {
                id: "nochange".into(),
                label: "No change".into(),
                value: "7".into(),
            },
            Action {
                id: "skip".into(),
                label: "Skip".into(),
                value: "7".into(),
            },
            Action {
                id: "snooze".into(),
                label: "Snooze".into(),
                value: "7".into(),
            },
        ]));
        r.ephemeral = false;
        let r = r.note("Reply `S1 <value>`, or `nochange`.");
        insta::assert_json_snapshot!(message(&r, DEFAULT_POINTER));
    }

    #[test]
    fn errors_are_red_and_ephemeral() {
        insta::assert_json_snapshot!(message(
            &Reply::error("value: `abc` is not a number."),
            DEFAULT_POINTER
        ));
    }

    #[test]
    fn checkin_form_becomes_a_modal() {
        let form = Form {
            id: "checkin:S1".into(),
            title: "Check in on S1 — a very long key result title that goes on".into(),
            fields: vec![
                Field {
                    name: "value".into(),
                    label: "Value (%)".into(),
                    kind: FieldKind::Number,
                    default: Some("42".into()),
                    required: true,
                },
                Field {
                    name: "confidence".into(),
                    label: "Confidence".into(),
                    kind: FieldKind::Choice(vec![
                        "on track".into(),
                        "at risk".into(),
                        "off track".into(),
                    ]),
                    default: None,
                    required: false,
                },
                Field {
                    name: "note".into(),
                    label: "Note".into(),
                    kind: FieldKind::Text,
                    default: None,
                    required: false,
                },
            ],
        };
        insta::assert_json_snapshot!(modal(&form));
    }

    #[test]
    fn long_content_is_cut_with_a_pointer_and_fits_every_limit() {
        let mut t = Table::new(&[("Code", Align::Left), ("Title", Align::Left)]);
        for i in 0..400 {
            t.row(vec![
                Cell::text(format!("K{i}")),
                Cell::text("a long title ".repeat(3)),
            ]);
        }
        let mut r = Reply::new().heading("x".repeat(300)).table(t);
        r.push(Block::Actions(
            (0..40)
                .map(|i| Action {
                    id: "update".into(),
                    label: "L".repeat(100),
                    value: format!("K{i}"),
                })
                .collect(),
        ));
        let m = message(&r, "`kr S1` in the shell shows all");
        let d = m["embeds"][0]["description"].as_str().unwrap();
        assert!(d.chars().count() <= DESCRIPTION_MAX);
        assert!(
            d.ends_with("… truncated: `kr S1` in the shell shows all"),
            "{d}"
        );
        assert_eq!(d.matches("```").count() % 2, 0, "code block closed");
        assert!(m["embeds"][0]["title"].as_str().unwrap().chars().count() <= TITLE_MAX);
        assert!(embed_len(&m) <= EMBED_TOTAL_MAX);
        let rows = m["components"].as_array().unwrap();
        assert_eq!(rows.len(), ROWS_MAX);
        for row in rows {
            let buttons = row["components"].as_array().unwrap();
            assert!(buttons.len() <= BUTTONS_PER_ROW);
            for b in buttons {
                assert!(b["label"].as_str().unwrap().chars().count() <= LABEL_MAX);
            }
        }
        let c = content(&"line\n".repeat(1000), DEFAULT_POINTER);
        assert!(c.chars().count() <= CONTENT_MAX);
    }

    #[test]
    fn custom_ids_round_trip() {
        let a = Action {
            id: "alert_ack".into(),
            label: "Ack".into(),
            value: "A-12".into(),
        };
        let id = custom_id(&a);
        assert_eq!(parse_custom_id(&id), Some(("alert_ack", "A-12")));
        assert_eq!(parse_custom_id("other"), None);
    }
}
