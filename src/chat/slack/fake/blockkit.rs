//! Slack's Block Kit limits, checked the way Slack checks them: a message or a modal that
//! breaks one is refused whole (`invalid_blocks` for a message's blocks, `msg_too_long`
//! for its text, `invalid_arguments` for a view), with a `response_metadata.messages`
//! line naming the JSON pointer, as Slack answers.
//!
//! The limits, from Slack's reference (docs.slack.dev, "Block Kit"):
//! - blocks: "up to 50 blocks in each message, and 100 blocks in modals or Home tabs"
//!   (reference/block-kit/blocks); `block_id` at most 255 characters, unique per message;
//! - section: `text` at most 3000 characters; `fields` at most 10 items of at most 2000
//!   (reference/block-kit/blocks/section-block);
//! - header: plain_text `text` at most 150 (reference/block-kit/blocks/header-block);
//! - context: at most 10 `elements` (reference/block-kit/blocks/context-block);
//! - actions: at most 25 `elements` (reference/block-kit/blocks/actions-block);
//! - input: `label` at most 2000, `hint` at most 2000 (reference/block-kit/blocks/input-block);
//! - button: `text` at most 75, `action_id` at most 255, `value` at most 2000, `url` at
//!   most 3000, `style` primary or danger (reference/block-kit/block-elements/button-element);
//! - static select: at most 100 `options`; an option's `text` at most 75 and `value` at
//!   most 150; `placeholder` at most 150 (block-elements/select-menu-element,
//!   composition-objects/option-object);
//! - plain-text input: `max_length` at most 3000; number input: `is_decimal_allowed` is
//!   required (block-elements/plain-text-input-element, number-input-element);
//! - a text object's `text` is 1 to 3000 characters (composition-objects/text-object);
//! - a message's top-level `text`: Slack truncates past 40,000 characters
//!   (reference/methods/chat.postMessage, "Truncating content"); the fake refuses with
//!   `msg_too_long`, which chat.postMessage lists for text that is too long, so a
//!   truncation cannot pass unnoticed;
//! - modal view: `title` plain_text at most 24, `submit`/`close` at most 24, `submit`
//!   required when there is an input block, `private_metadata` at most 3000, `callback_id`
//!   at most 255, at most 100 blocks (reference/views/modal-views).

use std::collections::HashSet;

use serde_json::Value;

pub const MAX_MESSAGE_BLOCKS: usize = 50;
pub const MAX_VIEW_BLOCKS: usize = 100;
pub const MAX_BLOCK_ID: usize = 255;
pub const MAX_TEXT_OBJECT: usize = 3000;
pub const MAX_SECTION_TEXT: usize = 3000;
pub const MAX_SECTION_FIELDS: usize = 10;
pub const MAX_SECTION_FIELD_TEXT: usize = 2000;
pub const MAX_HEADER_TEXT: usize = 150;
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
pub const MAX_ACTIONS_ELEMENTS: usize = 25;
pub const MAX_INPUT_LABEL: usize = 2000;
pub const MAX_INPUT_HINT: usize = 2000;
pub const MAX_BUTTON_TEXT: usize = 75;
pub const MAX_BUTTON_VALUE: usize = 2000;
pub const MAX_URL: usize = 3000;
pub const MAX_ACTION_ID: usize = 255;
pub const MAX_SELECT_OPTIONS: usize = 100;
pub const MAX_OPTION_TEXT: usize = 75;
pub const MAX_OPTION_VALUE: usize = 150;
pub const MAX_PLACEHOLDER: usize = 150;
pub const MAX_INPUT_LENGTH: usize = 3000;
pub const MAX_MESSAGE_TEXT: usize = 40_000;
pub const MAX_VIEW_TITLE: usize = 24;
pub const MAX_VIEW_BUTTON: usize = 24;
pub const MAX_PRIVATE_METADATA: usize = 3000;
pub const MAX_CALLBACK_ID: usize = 255;

/// Why Slack refuses a call: its error code and the line it adds in
/// `response_metadata.messages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub error: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.detail)
    }
}

type Check = Result<(), String>;

fn len(s: &str) -> usize {
    s.chars().count()
}

fn at_most(v: &Value, max: usize, at: &str) -> Check {
    match v {
        Value::Null => Ok(()),
        Value::String(s) if len(s) <= max => Ok(()),
        Value::String(s) => Err(format!(
            "[ERROR] must be at most {max} characters, is {} [json-pointer:{at}]",
            len(s)
        )),
        _ => Err(format!("[ERROR] must be a string [json-pointer:{at}]")),
    }
}

fn items<'a>(v: &'a Value, min: usize, max: usize, at: &str) -> Result<&'a [Value], String> {
    let a = v
        .as_array()
        .ok_or_else(|| format!("[ERROR] must be an array [json-pointer:{at}]"))?;
    if a.len() < min {
        return Err(format!(
            "[ERROR] must have at least {min} items [json-pointer:{at}]"
        ));
    }
    if a.len() > max {
        return Err(format!(
            "[ERROR] must have at most {max} items, has {} [json-pointer:{at}]",
            a.len()
        ));
    }
    Ok(a)
}

/// A text object (`plain_text` or, where `mrkdwn` is allowed, `mrkdwn`), 1 to `max`
/// characters.
fn text_object(v: &Value, max: usize, mrkdwn: bool, at: &str) -> Check {
    match v["type"].as_str() {
        Some("plain_text") => {}
        Some("mrkdwn") if mrkdwn => {}
        _ => {
            return Err(format!(
                "[ERROR] must be a {} text object [json-pointer:{at}/type]",
                if mrkdwn {
                    "plain_text or mrkdwn"
                } else {
                    "plain_text"
                }
            ));
        }
    }
    let Some(t) = v["text"].as_str() else {
        return Err(format!("[ERROR] missing text [json-pointer:{at}/text]"));
    };
    if t.is_empty() {
        return Err(format!(
            "[ERROR] must be more than 0 characters [json-pointer:{at}/text]"
        ));
    }
    at_most(&v["text"], max.min(MAX_TEXT_OBJECT), &format!("{at}/text"))
}

/// An interactive element (in an actions block, a section's accessory or an input).
fn element(e: &Value, at: &str) -> Check {
    at_most(&e["action_id"], MAX_ACTION_ID, &format!("{at}/action_id"))?;
    if !e["placeholder"].is_null() {
        text_object(
            &e["placeholder"],
            MAX_PLACEHOLDER,
            false,
            &format!("{at}/placeholder"),
        )?;
    }
    match e["type"].as_str() {
        Some("button") => {
            text_object(&e["text"], MAX_BUTTON_TEXT, false, &format!("{at}/text"))?;
            at_most(&e["value"], MAX_BUTTON_VALUE, &format!("{at}/value"))?;
            at_most(&e["url"], MAX_URL, &format!("{at}/url"))?;
            match e["style"].as_str() {
                None | Some("primary" | "danger") => Ok(()),
                Some(_) => Err(format!(
                    "[ERROR] must be primary or danger [json-pointer:{at}/style]"
                )),
            }
        }
        Some("static_select") => {
            let opts = items(
                &e["options"],
                1,
                MAX_SELECT_OPTIONS,
                &format!("{at}/options"),
            )?;
            for (i, o) in opts.iter().enumerate() {
                option(o, &format!("{at}/options/{i}"))?;
            }
            let initial = &e["initial_option"];
            if !initial.is_null() && !opts.contains(initial) {
                return Err(format!(
                    "[ERROR] must match one of the options [json-pointer:{at}/initial_option]"
                ));
            }
            Ok(())
        }
        Some("plain_text_input") => {
            at_most(
                &e["initial_value"],
                MAX_INPUT_LENGTH,
                &format!("{at}/initial_value"),
            )?;
            for k in ["min_length", "max_length"] {
                if let Some(n) = e[k].as_u64()
                    && n > MAX_INPUT_LENGTH as u64
                {
                    return Err(format!(
                        "[ERROR] must be at most {MAX_INPUT_LENGTH} [json-pointer:{at}/{k}]"
                    ));
                }
            }
            Ok(())
        }
        Some("number_input") => {
            if !e["is_decimal_allowed"].is_boolean() {
                return Err(format!(
                    "[ERROR] missing required field [json-pointer:{at}/is_decimal_allowed]"
                ));
            }
            match &e["initial_value"] {
                Value::Null => Ok(()),
                Value::String(s) if s.trim().parse::<f64>().is_ok() => Ok(()),
                _ => Err(format!(
                    "[ERROR] must be a number as a string [json-pointer:{at}/initial_value]"
                )),
            }
        }
        Some(
            "checkboxes"
            | "datepicker"
            | "datetimepicker"
            | "timepicker"
            | "radio_buttons"
            | "overflow"
            | "multi_static_select"
            | "users_select"
            | "multi_users_select"
            | "conversations_select"
            | "multi_conversations_select"
            | "channels_select"
            | "multi_channels_select"
            | "external_select"
            | "multi_external_select"
            | "email_text_input"
            | "url_text_input"
            | "rich_text_input"
            | "file_input"
            | "workflow_button",
        ) => Ok(()),
        _ => Err(format!(
            "[ERROR] unsupported element type [json-pointer:{at}/type]"
        )),
    }
}

fn option(o: &Value, at: &str) -> Check {
    text_object(&o["text"], MAX_OPTION_TEXT, true, &format!("{at}/text"))?;
    match o["value"].as_str() {
        Some(_) => at_most(&o["value"], MAX_OPTION_VALUE, &format!("{at}/value")),
        None => Err(format!("[ERROR] missing value [json-pointer:{at}/value]")),
    }
}

fn block(b: &Value, at: &str) -> Check {
    at_most(&b["block_id"], MAX_BLOCK_ID, &format!("{at}/block_id"))?;
    match b["type"].as_str() {
        Some("section") => {
            if b["text"].is_null() && b["fields"].is_null() {
                return Err(format!(
                    "[ERROR] must provide text or fields [json-pointer:{at}]"
                ));
            }
            if !b["text"].is_null() {
                text_object(&b["text"], MAX_SECTION_TEXT, true, &format!("{at}/text"))?;
            }
            if !b["fields"].is_null() {
                let fields = items(&b["fields"], 1, MAX_SECTION_FIELDS, &format!("{at}/fields"))?;
                for (i, f) in fields.iter().enumerate() {
                    text_object(f, MAX_SECTION_FIELD_TEXT, true, &format!("{at}/fields/{i}"))?;
                }
            }
            if !b["accessory"].is_null() && b["accessory"]["type"] != "image" {
                element(&b["accessory"], &format!("{at}/accessory"))?;
            }
            Ok(())
        }
        Some("header") => text_object(&b["text"], MAX_HEADER_TEXT, false, &format!("{at}/text")),
        Some("context") => {
            let els = items(
                &b["elements"],
                1,
                MAX_CONTEXT_ELEMENTS,
                &format!("{at}/elements"),
            )?;
            for (i, e) in els.iter().enumerate() {
                if e["type"] != "image" {
                    text_object(e, MAX_TEXT_OBJECT, true, &format!("{at}/elements/{i}"))?;
                }
            }
            Ok(())
        }
        Some("actions") => {
            let els = items(
                &b["elements"],
                1,
                MAX_ACTIONS_ELEMENTS,
                &format!("{at}/elements"),
            )?;
            let mut ids = HashSet::new();
            for (i, e) in els.iter().enumerate() {
                let here = format!("{at}/elements/{i}");
                element(e, &here)?;
                if let Some(id) = e["action_id"].as_str()
                    && !ids.insert(id)
                {
                    return Err(format!(
                        "[ERROR] action_id must be unique in its block [json-pointer:{here}/action_id]"
                    ));
                }
            }
            Ok(())
        }
        Some("input") => {
            text_object(&b["label"], MAX_INPUT_LABEL, false, &format!("{at}/label"))?;
            if !b["hint"].is_null() {
                text_object(&b["hint"], MAX_INPUT_HINT, false, &format!("{at}/hint"))?;
            }
            if b["element"].is_null() {
                return Err(format!(
                    "[ERROR] missing required field [json-pointer:{at}/element]"
                ));
            }
            element(&b["element"], &format!("{at}/element"))
        }
        Some("divider" | "image" | "rich_text" | "markdown" | "file" | "video" | "table") => Ok(()),
        _ => Err(format!(
            "[ERROR] unsupported block type [json-pointer:{at}/type]"
        )),
    }
}

/// Blocks may come as a JSON array or, form-encoded, as a string holding one.
fn parsed(v: &Value) -> Result<Option<Value>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => serde_json::from_str(s)
            .map(Some)
            .map_err(|_| "[ERROR] blocks are not valid JSON [json-pointer:/blocks]".to_string()),
        other => Ok(Some(other.clone())),
    }
}

fn blocks(v: &Value, max: usize, at: &str) -> Check {
    let list = items(v, 0, max, at)?;
    let mut ids = HashSet::new();
    for (i, b) in list.iter().enumerate() {
        let here = format!("{at}/{i}");
        block(b, &here)?;
        if let Some(id) = b["block_id"].as_str()
            && !ids.insert(id)
        {
            return Err(format!(
                "[ERROR] block_id must be unique [json-pointer:{here}/block_id]"
            ));
        }
    }
    Ok(())
}

/// The content of a message (chat.postMessage, chat.postEphemeral, chat.update, a
/// `response_url` post): its `text` and `blocks`.
pub fn check_message(body: &Value) -> Result<(), Refusal> {
    let refuse = |error, detail| Err(Refusal { error, detail });
    let b = match parsed(&body["blocks"]) {
        Ok(b) => b,
        Err(d) => return refuse("invalid_blocks_format", d),
    };
    let text = body["text"].as_str().unwrap_or_default();
    if len(text) > MAX_MESSAGE_TEXT {
        return refuse(
            "msg_too_long",
            format!(
                "[ERROR] text must be at most {MAX_MESSAGE_TEXT} characters, is {} [json-pointer:/text]",
                len(text)
            ),
        );
    }
    match &b {
        Some(b) => match blocks(b, MAX_MESSAGE_BLOCKS, "/blocks") {
            Ok(()) => Ok(()),
            Err(d) => refuse("invalid_blocks", d),
        },
        None if text.is_empty() && body["attachments"].is_null() => {
            refuse("no_text", "[ERROR] no text and no blocks".to_string())
        }
        None => Ok(()),
    }
}

/// A modal view (views.open, views.update, views.push).
pub fn check_view(view: &Value) -> Result<(), Refusal> {
    let view = match parsed(view) {
        Ok(Some(v)) => v,
        Ok(None) => {
            return Err(Refusal {
                error: "invalid_arguments",
                detail: "[ERROR] missing required field: view".into(),
            });
        }
        Err(d) => {
            return Err(Refusal {
                error: "invalid_arguments",
                detail: d,
            });
        }
    };
    modal(&view).map_err(|detail| Refusal {
        error: "invalid_arguments",
        detail,
    })
}

fn modal(v: &Value) -> Check {
    if v["type"] != "modal" {
        return Err("[ERROR] must be modal [json-pointer:/view/type]".into());
    }
    text_object(&v["title"], MAX_VIEW_TITLE, false, "/view/title")?;
    for k in ["submit", "close"] {
        if !v[k].is_null() {
            text_object(&v[k], MAX_VIEW_BUTTON, false, &format!("/view/{k}"))?;
        }
    }
    at_most(
        &v["private_metadata"],
        MAX_PRIVATE_METADATA,
        "/view/private_metadata",
    )?;
    at_most(&v["callback_id"], MAX_CALLBACK_ID, "/view/callback_id")?;
    blocks(&v["blocks"], MAX_VIEW_BLOCKS, "/view/blocks")?;
    let has_input = v["blocks"]
        .as_array()
        .is_some_and(|bs| bs.iter().any(|b| b["type"] == "input"));
    if has_input && v["submit"].is_null() {
        return Err(
            "[ERROR] submit is required when the view has an input block [json-pointer:/view/submit]"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn section(t: &str) -> Value {
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": t } })
    }

    fn button(label: &str, id: &str, value: &str) -> Value {
        json!({ "type": "button", "action_id": id, "value": value,
                "text": { "type": "plain_text", "text": label } })
    }

    fn msg(blocks: Vec<Value>) -> Result<(), Refusal> {
        check_message(&json!({ "text": "fallback", "blocks": blocks }))
    }

    fn error(r: Result<(), Refusal>) -> &'static str {
        r.expect_err("refused").error
    }

    #[test]
    fn every_message_limit_is_enforced_at_its_edge() {
        assert_eq!(msg(vec![section("ok")]), Ok(()));
        // 50 blocks pass, 51 do not.
        assert_eq!(msg(vec![section("x"); 50]), Ok(()));
        assert_eq!(error(msg(vec![section("x"); 51])), "invalid_blocks");
        // Section text 3000 / 3001, and never empty.
        assert_eq!(msg(vec![section(&"a".repeat(3000))]), Ok(()));
        assert_eq!(
            error(msg(vec![section(&"a".repeat(3001))])),
            "invalid_blocks"
        );
        assert_eq!(error(msg(vec![section("")])), "invalid_blocks");
        // Characters, not bytes.
        assert_eq!(msg(vec![section(&"é".repeat(3000))]), Ok(()));
        // Header 150 / 151, plain text only.
        let header =
            |t: &str, ty: &str| json!({ "type": "header", "text": { "type": ty, "text": t } });
        assert_eq!(msg(vec![header(&"h".repeat(150), "plain_text")]), Ok(()));
        assert_eq!(
            error(msg(vec![header(&"h".repeat(151), "plain_text")])),
            "invalid_blocks"
        );
        assert_eq!(error(msg(vec![header("h", "mrkdwn")])), "invalid_blocks");
        // Buttons: label 75, value 2000, action_id 255; 25 per actions block, unique ids.
        let actions = |els: Vec<Value>| json!({ "type": "actions", "elements": els });
        let ok = button(&"l".repeat(75), &"i".repeat(255), &"v".repeat(2000));
        assert_eq!(msg(vec![actions(vec![ok])]), Ok(()));
        for bad in [
            button(&"l".repeat(76), "i", "v"),
            button("l", &"i".repeat(256), "v"),
            button("l", "i", &"v".repeat(2001)),
        ] {
            assert_eq!(error(msg(vec![actions(vec![bad])])), "invalid_blocks");
        }
        let many = |n: usize| (0..n).map(|i| button("b", &format!("a{i}"), "v")).collect();
        assert_eq!(msg(vec![actions(many(25))]), Ok(()));
        assert_eq!(error(msg(vec![actions(many(26))])), "invalid_blocks");
        let twice = vec![button("a", "same", "1"), button("b", "same", "2")];
        assert_eq!(error(msg(vec![actions(twice)])), "invalid_blocks");
        // Context: 10 elements.
        let context = |n: usize| json!({ "type": "context", "elements": vec![json!({ "type": "mrkdwn", "text": "c" }); n] });
        assert_eq!(msg(vec![context(10)]), Ok(()));
        assert_eq!(error(msg(vec![context(11)])), "invalid_blocks");
        // Unknown block types and duplicate block ids.
        assert_eq!(
            error(msg(vec![json!({ "type": "tabel" })])),
            "invalid_blocks"
        );
        let mut a = section("a");
        a["block_id"] = json!("b1");
        assert_eq!(error(msg(vec![a.clone(), a])), "invalid_blocks");
        // Message text: 40,000 / 40,001; something must be said.
        let text = |n: usize| check_message(&json!({ "text": "t".repeat(n) }));
        assert_eq!(text(40_000), Ok(()));
        assert_eq!(error(text(40_001)), "msg_too_long");
        assert_eq!(error(check_message(&json!({}))), "no_text");
        // Form-encoded blocks arrive as a JSON string.
        let encoded =
            json!({ "text": "t", "blocks": json!([section(&"a".repeat(3001))]).to_string() });
        assert_eq!(error(check_message(&encoded)), "invalid_blocks");
    }

    fn view() -> Value {
        json!({
            "type": "modal", "callback_id": "checkin:S1",
            "title": { "type": "plain_text", "text": "Check in" },
            "submit": { "type": "plain_text", "text": "Submit" },
            "close": { "type": "plain_text", "text": "Cancel" },
            "private_metadata": "{}",
            "blocks": [{ "type": "input", "block_id": "value",
                "label": { "type": "plain_text", "text": "Value" },
                "element": { "type": "number_input", "action_id": "value", "is_decimal_allowed": true } }]
        })
    }

    #[test]
    fn every_modal_limit_is_enforced_at_its_edge() {
        assert_eq!(check_view(&view()), Ok(()));
        let refused = |path: &str, v: Value| {
            let mut m = view();
            m.pointer_mut(path).map(|x| *x = v).expect("path");
            check_view(&m).expect_err(path).error
        };
        let ok = |path: &str, v: Value| {
            let mut m = view();
            m.pointer_mut(path).map(|x| *x = v).expect("path");
            check_view(&m)
        };
        assert_eq!(ok("/title/text", json!("t".repeat(24))), Ok(()));
        assert_eq!(
            refused("/title/text", json!("t".repeat(25))),
            "invalid_arguments"
        );
        assert_eq!(
            refused("/submit/text", json!("s".repeat(25))),
            "invalid_arguments"
        );
        assert_eq!(
            refused("/close/text", json!("c".repeat(25))),
            "invalid_arguments"
        );
        assert_eq!(ok("/callback_id", json!("c".repeat(255))), Ok(()));
        assert_eq!(
            refused("/callback_id", json!("c".repeat(256))),
            "invalid_arguments"
        );
        assert_eq!(ok("/private_metadata", json!("p".repeat(3000))), Ok(()));
        assert_eq!(
            refused("/private_metadata", json!("p".repeat(3001))),
            "invalid_arguments"
        );
        assert_eq!(ok("/blocks/0/label/text", json!("l".repeat(2000))), Ok(()));
        assert_eq!(
            refused("/blocks/0/label/text", json!("l".repeat(2001))),
            "invalid_arguments"
        );
        assert_eq!(
            refused("/blocks/0/element/is_decimal_allowed", Value::Null),
            "invalid_arguments"
        );
        assert_eq!(refused("/submit", Value::Null), "invalid_arguments");
        let input = view()["blocks"][0].clone();
        let many = |n: usize| {
            (0..n)
                .map(|i| {
                    let mut b = input.clone();
                    b["block_id"] = json!(format!("f{i}"));
                    b
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(ok("/blocks", json!(many(100))), Ok(()));
        assert_eq!(refused("/blocks", json!(many(101))), "invalid_arguments");
        // A select's initial option must be one of its options.
        let select = json!({ "type": "static_select", "action_id": "c",
            "options": [{ "text": { "type": "plain_text", "text": "a" }, "value": "a" }],
            "initial_option": { "text": { "type": "plain_text", "text": "b" }, "value": "b" } });
        assert_eq!(refused("/blocks/0/element", select), "invalid_arguments");
    }
}
