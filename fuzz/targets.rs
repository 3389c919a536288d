//! The fuzz targets: every parser of outside input, each driven from raw bytes.
//!
//! Shared by the coverage-guided engine (`examples/fuzz.rs`, see `fuzz/README.md`) and by
//! the corpus replay in the test suite (`tests/it/fuzz_corpus.rs`). A target must never
//! panic, whatever the bytes; the assertions below are properties that must hold for
//! every input too (a failed one is a finding like any panic).

use baton::chat::slack::inbound::{CommandPayload, command_inbound, message_event, press_of};
use baton::chat::slack::socket::{Frame, read_frame};
use chrono::NaiveDate;
use serde_json::Value;

/// A target: its name, the longest input it is given, and the function.
pub struct Target {
    pub name: &'static str,
    pub max_len: usize,
    pub run: fn(&[u8]),
    /// Words the mutator splices in (the syntax the parser looks for).
    pub dictionary: &'static [&'static str],
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "chat_line",
        max_len: 2_100,
        run: chat_line,
        dictionary: &[
            "status",
            "checkin",
            "S1",
            "on track",
            "at risk",
            "off track",
            "blocked",
            "snooze",
            "2h",
            "90m",
            "1w",
            "1d",
            "tomorrow",
            "today",
            "2026-12-05",
            "by ",
            "due ",
            "%",
            "k",
            "M",
            "review",
            "start",
            "next",
            "action:",
            "decision:",
            "@",
            "ack",
            "update",
            "resolve",
            "away",
            "skip",
            "nochange",
            "help",
            "kr",
            "okrs",
            "map",
            "calendar",
            "advance",
            ":",
            "-",
            ".",
            "e9",
            "1e400",
            "NaN",
            "\u{a0}",
            "…",
        ],
    },
    Target {
        name: "cadence",
        max_len: 600,
        run: cadence,
        dictionary: &[
            "weekly",
            "daily",
            "monthly",
            "quarterly",
            "every",
            "other",
            "on",
            "at",
            "mon",
            "tue",
            "fri",
            "sat",
            "09:00",
            "23:59",
            "RRULE:",
            "FREQ=",
            "WEEKLY",
            "DAILY",
            "MONTHLY",
            "YEARLY",
            "INTERVAL=",
            "BYDAY=",
            "BYHOUR=",
            "BYMINUTE=",
            "BYSETPOS=",
            "BYMONTHDAY=",
            "COUNT=",
            "UNTIL=",
            ";",
            ",",
            "-1",
            "last",
            "first",
            "weekday",
            "sprint",
            "fortnightly",
            "half-yearly",
        ],
    },
    Target {
        name: "manifest",
        max_len: 16_384,
        run: manifest,
        dictionary: &[
            "organisation:",
            "people:",
            "departments:",
            "scorecard:",
            "objectives:",
            "key_results:",
            "dependencies:",
            "initiatives:",
            "cycles:",
            "links:",
            "key: ",
            "name: ",
            "code: ",
            "parent: ",
            "heads: ",
            "members: ",
            "cadences:",
            "time_zone: ",
            "Europe/Berlin",
            "fiscal_year_start: ",
            "start: ",
            "target: ",
            "kind: ",
            "band: ",
            "&a ",
            "*a",
            "<<: ",
            "- ",
            "\n  ",
            "{",
            "}",
            "[",
            "]",
            "'",
            "\"",
            "|",
            ">",
            "---",
            "!!str ",
            "2026-10-01",
            "~",
            "null",
            "1e400",
            ".nan",
        ],
    },
    Target {
        name: "slack_payloads",
        max_len: 8_192,
        run: slack_payloads,
        dictionary: &[
            "{\"type\":\"event_callback\",\"team_id\":\"T1\",\"event_id\":\"Ev1\",\"event\":{",
            "\"type\":\"message\"",
            "\"channel_type\":\"im\"",
            "\"channel_type\":\"channel\"",
            "\"thread_ts\":\"1.1\"",
            "\"ts\":\"1.2\"",
            "\"user\":\"U1\"",
            "\"channel\":\"D1\"",
            "\"text\":\"",
            "<@U1>",
            "<#C1|x>",
            "\"subtype\":",
            "\"bot_id\":",
            "team_id=T1&",
            "user_id=U1&",
            "text=",
            "trigger_id=",
            "channel_id=",
            "\"envelope_id\":\"e1\"",
            "\"events_api\"",
            "\"slash_commands\"",
            "\"interactive\"",
            "\"hello\"",
            "\"disconnect\"",
            "\"payload\":",
            "\"actions\":[{",
            "\"action_id\":\"",
            "\"value\":\"",
            "\"selected_option\":",
            "review_next",
            "alert_ack",
            ":",
            "null",
        ],
    },
    Target {
        name: "discord_interaction",
        max_len: 8_192,
        run: discord_interaction,
        dictionary: &[
            "{\"id\":\"1\",\"type\":",
            "2",
            "3",
            "5",
            "\"token\":\"t\"",
            "\"guild_id\":\"9\"",
            "\"member\":{\"user\":{\"id\":\"7\"}}",
            "\"user\":{\"id\":\"7\"}",
            "\"data\":{",
            "\"name\":\"baton\"",
            "\"options\":[{",
            "\"value\":\"",
            "\"custom_id\":\"",
            "\"components\":[{\"components\":[{",
            "baton:",
            "review_next:",
            ":1",
            "null",
            "[]",
        ],
    },
    Target {
        name: "signatures",
        max_len: 4_096,
        run: signatures,
        dictionary: &["v0=", "0123456789abcdef", "1764633600", "\0", "-", "+", " "],
    },
];

/// The day relative dates are read against.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 2).expect("a date")
}

/// The command line, one-line check-ins, figures, durations and due-date phrases.
fn chat_line(data: &[u8]) {
    let line = String::from_utf8_lossy(data);
    let _ = baton::bot::command::Command::parse(&line);
    if let Ok(c) = baton::domain::parse::parse_checkin_line(&line) {
        assert!(c.value.is_finite(), "a figure is finite: {line:?}");
    }
    if let Ok(v) = baton::domain::parse::parse_value(&line) {
        assert!(v.is_finite(), "a figure is finite: {line:?}");
    }
    if let Ok(d) = baton::domain::parse::parse_duration(&line) {
        assert!(
            d > chrono::Duration::zero() && d <= chrono::Duration::days(366),
            "a duration is within a year: {line:?}"
        );
    }
    let _ = baton::domain::parse::parse_date(&line, today());
    let _ = baton::domain::due::parse_due(&line, today());
}

/// Cadence presets and RRULEs, and the expansion of whatever parses.
fn cadence(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(rule) = baton::domain::cadence::parse_rule(&text) {
        let from = today().and_hms_opt(0, 0, 0).expect("midnight");
        let _ = rule.next_after(from);
        let _ = rule.latest_at_or_before(from);
    }
}

/// The manifest, from YAML to a validated spec.
fn manifest(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = baton::manifest::parse_manifest("fuzz.yaml", text);
    }
}

/// Slack's payloads: the first byte picks the transport's shape.
fn slack_payloads(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(v) = serde_json::from_slice::<Value>(rest) {
                let _ = message_event(&v);
            }
        }
        1 => {
            if let Ok(p) = serde_urlencoded::from_bytes::<CommandPayload>(rest) {
                let _ = command_inbound(&p);
            }
        }
        2 => {
            if let Ok(v) = serde_json::from_slice::<Value>(rest) {
                for action in v["actions"].as_array().into_iter().flatten() {
                    let _ = press_of(action);
                }
            }
        }
        _ => socket_frame(&String::from_utf8_lossy(rest)),
    }
}

/// A Socket Mode frame and the envelope it carries.
fn socket_frame(text: &str) {
    if let Frame::Envelope { id, body } = read_frame(text) {
        assert!(!id.is_empty(), "an envelope has an id");
        let payload = &body["payload"];
        match body["type"].as_str() {
            Some("events_api") => {
                let _ = message_event(payload);
            }
            Some("slash_commands") => {
                if let Ok(p) = serde_json::from_value::<CommandPayload>(payload.clone()) {
                    let _ = command_inbound(&p);
                }
            }
            _ => {
                for action in payload["actions"].as_array().into_iter().flatten() {
                    let _ = press_of(action);
                }
            }
        }
    }
}

/// A Discord interaction's body (either transport).
fn discord_interaction(data: &[u8]) {
    let _ = baton::chat::discord::interactions::decode(data);
}

/// Both signature checks on arbitrary parts; and a request signed right always verifies.
fn signatures(data: &[u8]) {
    let mut parts = data.splitn(3, |b| *b == 0);
    let ts = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let sig = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default();
    let now = 1_764_633_600;
    let _ = baton::chat::slack::verify("secret", Some(&ts), Some(&sig), body, now);
    let good = baton::chat::slack::sign("secret", "1764633600", body);
    assert!(
        baton::chat::slack::verify("secret", Some("1764633600"), Some(&good), body, now).is_ok(),
        "a request signed right verifies"
    );
    if let Ok(v) = baton::chat::discord::interactions::Interactions::new(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        None,
    ) {
        let _ = v.check(&sig, &ts, body, now);
    }
}
