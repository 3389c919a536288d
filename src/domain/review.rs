//! Review-meeting vocabulary: tiers, agenda sections and each tier's default template.

pub const TIERS: [&str; 4] = ["operational", "tactical", "strategic", "coordination"];
pub const SECTIONS: [&str; 6] = ["actions", "off_track", "alerts", "gaps", "decisions", "aob"];

/// The agenda sections of a tier, in order (PRODUCT §8), unless the manifest sets its own.
pub fn default_template(tier: &str) -> Vec<&'static str> {
    match tier {
        "strategic" => vec!["actions", "off_track", "alerts", "gaps", "decisions", "aob"],
        "coordination" => vec!["actions", "alerts", "decisions", "aob"],
        _ => vec!["actions", "off_track", "alerts", "decisions", "aob"],
    }
}

/// What a reply in a review's thread is, for the chat adapters. The rule, so the meeting
/// is not interrupted by its own discussion:
///
/// - **Capture**: the line starts with `action:`, `decision:` or `note:` (any case, spaces
///   before the colon allowed) followed by text.
/// - **Command**: `edit <n> …`, `delete <n>`, `done <n>`, or exactly `review next|back|end`:
///   the corrections the capture echo and the agenda items point to.
/// - **Attempt** (answered with a private hint): a capture keyword with a colon and nothing
///   after it (`action:`); `action`, `todo`, `to-do`, `task` or `ai` as the first word, with or
///   without a colon (`action @kofi …`, `todo: …`); a plural or a near-miss of a capture
///   keyword before a colon (`decisions:`, `notes:`, `acton:`, `decison:`).
/// - **Discussion**: everything else (`Note that churn…`, `Decision is Maya's`), left alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadLine {
    Capture { kind: &'static str, text: String },
    Command,
    Attempt,
    Discussion,
}

pub const CAPTURE_KINDS: [&str; 3] = ["action", "decision", "note"];

/// Levenshtein distance of two short ASCII words, capped at 2 (enough for near-misses).
fn near(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()] <= 1
}

/// Classifies one reply in a review thread (see [`ThreadLine`]).
pub fn classify_thread_line(line: &str) -> ThreadLine {
    let line = line.trim();
    // The leading word: letters and hyphens.
    let end = line
        .find(|c: char| !(c.is_alphabetic() || c == '-'))
        .unwrap_or(line.len());
    let word = line[..end].to_lowercase();
    let after = line[end..].trim_start();
    let (colon, rest) = match after.strip_prefix(':') {
        Some(r) => (true, r.trim()),
        None => (false, after),
    };
    if word.is_empty() {
        return ThreadLine::Discussion;
    }
    if let Some(kind) = CAPTURE_KINDS.iter().find(|k| **k == word) {
        return match (colon, rest.is_empty()) {
            (true, false) => ThreadLine::Capture {
                kind,
                text: rest.to_string(),
            },
            (true, true) => ThreadLine::Attempt,
            // `action` with no colon is an attempt; `Note that …` is conversation.
            (false, _) if *kind == "action" => ThreadLine::Attempt,
            (false, true) => ThreadLine::Attempt,
            (false, false) => ThreadLine::Discussion,
        };
    }
    if ["todo", "to-do", "action-item"].contains(&word.as_str()) || (colon && word == "task") {
        return ThreadLine::Attempt;
    }
    if colon
        && CAPTURE_KINDS
            .iter()
            .any(|k| word == format!("{k}s") || near(&word, k))
    {
        return ThreadLine::Attempt;
    }
    let number = |s: &str| {
        s.split_whitespace()
            .next()
            .map(|n| n.trim_start_matches('#'))
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    if !colon && ["edit", "delete", "done"].contains(&word.as_str()) && number(rest) {
        return ThreadLine::Command;
    }
    if !colon
        && word == "review"
        && ["next", "back", "end"]
            .iter()
            .any(|w| rest.eq_ignore_ascii_case(w))
    {
        return ThreadLine::Command;
    }
    ThreadLine::Discussion
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_replies_are_captures_commands_attempts_or_discussion() {
        let cap = |kind: &'static str, text: &str| ThreadLine::Capture {
            kind,
            text: text.into(),
        };
        for (line, want) in [
            (
                "action: @kofi send the readiness update by Friday",
                cap("action", "@kofi send the readiness update by Friday"),
            ),
            (
                "ACTION : <@U04EMMADV5> call them",
                cap("action", "<@U04EMMADV5> call them"),
            ),
            (
                "Decision: pause EMEA discounts",
                cap("decision", "pause EMEA discounts"),
            ),
            (
                "note:churn is in two accounts",
                cap("note", "churn is in two accounts"),
            ),
            ("edit 4 @kofi call them tomorrow", ThreadLine::Command),
            ("delete #4", ThreadLine::Command),
            ("done 4", ThreadLine::Command),
            ("Review next", ThreadLine::Command),
            ("action: ", ThreadLine::Attempt),
            ("action @kofi send the update", ThreadLine::Attempt),
            ("action", ThreadLine::Attempt),
            ("todo: send the update", ThreadLine::Attempt),
            ("TODO send the update", ThreadLine::Attempt),
            ("decisions: none", ThreadLine::Attempt),
            ("acton: send it", ThreadLine::Attempt),
            ("decison: pause", ThreadLine::Attempt),
            ("note", ThreadLine::Attempt),
            ("task: book the room", ThreadLine::Attempt),
            ("Task force meets Monday", ThreadLine::Discussion),
            ("AI could draft this", ThreadLine::Discussion),
            ("Note that churn is up", ThreadLine::Discussion),
            ("Decision is Maya's", ThreadLine::Discussion),
            ("what about churn?", ThreadLine::Discussion),
            ("Question: who owns this?", ThreadLine::Discussion),
            ("review the numbers first", ThreadLine::Discussion),
            ("edit the deck please", ThreadLine::Discussion),
            ("done!", ThreadLine::Discussion),
            (":+1:", ThreadLine::Discussion),
            ("", ThreadLine::Discussion),
        ] {
            assert_eq!(classify_thread_line(line), want, "{line:?}");
        }
    }
}
