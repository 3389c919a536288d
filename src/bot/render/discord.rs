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

/// One embed being built: a heading starts the next one.
#[derive(Default)]
struct Section {
    title: Option<String>,
    lines: Vec<String>,
    fields: Vec<(String, String)>,
    /// Notes that follow the fields (an embed shows its description before its fields).
    footer: Vec<String>,
}

impl Section {
    fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.lines.is_empty()
            && self.fields.is_empty()
            && self.footer.is_empty()
    }
}

/// Most embeds in one message.
pub const EMBEDS_MAX: usize = 10;
pub const FIELD_NAME_MAX: usize = 256;
pub const FIELD_VALUE_MAX: usize = 1024;
pub const FOOTER_MAX: usize = 2048;

/// A message for `reply`: one embed per heading (at most [`EMBEDS_MAX`]), text in the
/// description, tables as code blocks when at most [`super::CODE_TABLE_MAX`] wide and as
/// embed fields (one per row) when wider. Every limit holds: 25 fields of 256 + 1,024
/// characters, 4,096 per description, 6,000 over all embeds. What does not fit is cut and
/// ends with `pointer`, which says where the whole answer can be read (e.g. "`kr S1` in
/// the shell shows all").
pub fn message(reply: &Reply, pointer: &str) -> Value {
    let mut sections: Vec<Section> = vec![Section::default()];
    let mut actions: Vec<&Action> = Vec::new();
    let mut error = false;
    for b in &reply.blocks {
        if let Block::Heading(h) = b {
            let n = sections.len();
            let cur = sections.last_mut().expect("one section at least");
            if cur.is_empty() {
                cur.title = Some(h.clone());
            } else if n < EMBEDS_MAX {
                sections.push(Section {
                    title: Some(h.clone()),
                    ..Section::default()
                });
            } else {
                cur.lines.push(format!("**{h}**"));
            }
            continue;
        }
        let cur = sections.last_mut().expect("one section at least");
        match b {
            Block::Heading(_) => {}
            Block::Text(t) if !cur.fields.is_empty() => cur.footer.push(t.clone()),
            Block::Text(t) => cur.lines.push(t.clone()),
            Block::Note(t) if !cur.fields.is_empty() => cur.footer.push(t.clone()),
            Block::Note(t) => cur.lines.push(format!("-# {t}")),
            Block::Table(t) => {
                let natural = render_table(t);
                if natural
                    .lines()
                    .all(|l| l.chars().count() <= super::CODE_TABLE_MAX)
                {
                    cur.lines.push(format!("```\n{natural}```"));
                } else {
                    for r in super::records(t) {
                        let name = format!("{}{}", if r.indent > 0 { "↳ " } else { "" }, r.head);
                        let value = r
                            .fields
                            .iter()
                            .map(|(k, v)| format!("{k}: {v}"))
                            .collect::<Vec<_>>()
                            .join("\n");
                        if cur.fields.len() < FIELDS_MAX {
                            cur.fields.push((name, value));
                        } else {
                            cur.footer
                                .push(format!("{name} — {}", value.replace('\n', " · ")));
                        }
                    }
                }
            }
            Block::Error(e) => {
                error = true;
                cur.lines.push(format!("⚠️ {e}"));
            }
            Block::Form(f) => cur.lines.push(format!("» {}", f.title)),
            Block::Image(i) => cur.lines.push(format!("*{}*", i.alt)),
            Block::Actions(a) => actions.extend(a.iter()),
        }
    }
    let (rows, dropped) = components(&actions);
    if dropped > 0 {
        sections
            .last_mut()
            .expect("one section at least")
            .footer
            .push(format!(
                "{dropped} more button(s) did not fit; {DEFAULT_POINTER}."
            ));
    }
    let colour = if error { ERROR_COLOUR } else { COLOUR };
    let tail = format!("… truncated: {pointer}");
    // Room kept for the truncation footer.
    let mut budget = EMBED_TOTAL_MAX - tail.chars().count() - 1;
    let mut embeds: Vec<Value> = Vec::new();
    let mut truncated = false;
    for sec in sections {
        if budget < 16 {
            truncated = true;
            break;
        }
        let mut embed = serde_json::Map::new();
        if let Some(t) = sec.title.filter(|t| !t.trim().is_empty()) {
            let t = truncate(&t, TITLE_MAX.min(budget));
            budget -= t.chars().count();
            embed.insert("title".into(), json!(t));
        }
        let description = sec.lines.join("\n");
        if !description.is_empty() {
            let max = DESCRIPTION_MAX.min(budget);
            let d = fit(&description, max, pointer);
            if d.chars().count() < description.chars().count() {
                // `fit` already ends with the pointer.
                truncated = false;
                embed.insert("description".into(), json!(d));
                embed.insert("color".into(), json!(colour));
                embeds.push(Value::Object(embed));
                break;
            }
            budget -= d.chars().count();
            embed.insert("description".into(), json!(d));
        }
        let mut fields = Vec::new();
        for (name, value) in sec.fields {
            let name = truncate(
                if name.trim().is_empty() { "·" } else { &name },
                FIELD_NAME_MAX,
            );
            let value = truncate(
                if value.trim().is_empty() {
                    "—"
                } else {
                    &value
                },
                FIELD_VALUE_MAX,
            );
            let cost = name.chars().count() + value.chars().count();
            if cost > budget {
                truncated = true;
                break;
            }
            budget -= cost;
            fields.push(json!({ "name": name, "value": value, "inline": false }));
        }
        if !fields.is_empty() {
            embed.insert("fields".into(), json!(fields));
        }
        if !truncated && !sec.footer.is_empty() {
            let f = truncate(&sec.footer.join("\n"), FOOTER_MAX.min(budget));
            budget -= f.chars().count();
            embed.insert("footer".into(), json!({ "text": f }));
        }
        embed.insert("color".into(), json!(colour));
        embeds.push(Value::Object(embed));
        if truncated {
            break;
        }
    }
    if truncated && let Some(Value::Object(last)) = embeds.last_mut() {
        // The footer (if any) gives way to the pointer.
        last.insert("footer".into(), json!({ "text": tail }));
    }
    if embeds.is_empty() {
        embeds.push(json!({ "color": colour }));
    }
    let mut msg = serde_json::Map::new();
    msg.insert("content".into(), json!(""));
    msg.insert("embeds".into(), json!(embeds));
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

    /// The characters Discord counts against its 6,000 over all of a message's embeds:
    /// titles, descriptions, field names and values, footers.
    fn embed_len(v: &Value) -> usize {
        let len = |x: &Value| x.as_str().map_or(0, |s| s.chars().count());
        v["embeds"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                len(&e["title"])
                    + len(&e["description"])
                    + len(&e["footer"]["text"])
                    + e["fields"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|f| len(&f["name"]) + len(&f["value"]))
                        .sum::<usize>()
            })
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
        // Discord's documented limits, written out: a loosened constant must fail here.
        assert!(d.chars().count() <= 4096);
        assert!(
            d.ends_with("… truncated: `kr S1` in the shell shows all"),
            "{d}"
        );
        assert_eq!(d.matches("```").count() % 2, 0, "code block closed");
        assert!(m["embeds"][0]["title"].as_str().unwrap().chars().count() <= 256);
        assert!(embed_len(&m) <= 6000);
        let rows = m["components"].as_array().unwrap();
        assert_eq!(rows.len(), 5);
        for row in rows {
            let buttons = row["components"].as_array().unwrap();
            assert!(buttons.len() <= 5);
            for b in buttons {
                assert!(b["label"].as_str().unwrap().chars().count() <= 80);
            }
        }
        let c = content(&"line\n".repeat(1000), DEFAULT_POINTER);
        assert!(c.chars().count() <= 2000);

        // A table too wide for a code block becomes embed fields, one per row: 25 at
        // most per embed, however short the rows.
        let wide = |rows: usize, note: &str| {
            let mut t = Table::new(&[
                ("Code", Align::Left),
                ("Title", Align::Left),
                ("Owner", Align::Left),
                ("Note", Align::Left),
            ]);
            for i in 0..rows {
                t.row(vec![
                    Cell::text(format!("K{i}")),
                    Cell::text("a title long enough to make the table wider than sixty"),
                    Cell::text("somebody"),
                    Cell::text(note),
                ]);
            }
            message(&Reply::new().heading("Wide").table(t), DEFAULT_POINTER)
        };
        let fields_of = |m: &Value| -> Vec<Value> {
            m["embeds"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|e| e["fields"].as_array().cloned().unwrap_or_default())
                .collect()
        };
        let m = wide(100, "short");
        for e in m["embeds"].as_array().unwrap() {
            assert!(e["fields"].as_array().map_or(0, Vec::len) <= 25, "{e}");
        }
        assert!(
            !fields_of(&m).is_empty(),
            "a wide table becomes fields: {m}"
        );
        // A field's value is at most 1,024 characters, its name 256.
        let m = wide(1, &"a note that goes on ".repeat(150));
        for f in fields_of(&m) {
            assert!(f["name"].as_str().unwrap().chars().count() <= 256, "{f}");
            assert!(f["value"].as_str().unwrap().chars().count() <= 1024, "{f}");
        }
        // 6,000 characters over all embeds, however many headings.
        let mut r = Reply::new();
        for i in 0..4 {
            r = r.heading(format!("Part {i}")).text("word ".repeat(700));
        }
        let m = message(&r, DEFAULT_POINTER);
        assert!(m["embeds"].as_array().unwrap().len() <= 10, "{m}");
        assert!(embed_len(&m) <= 6000, "{} characters", embed_len(&m));
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
