//! Review-meeting vocabulary: tiers, agenda sections and each tier's default template.

pub const TIERS: [&str; 4] = ["operational", "tactical", "strategic", "coordination"];
pub const SECTIONS: [&str; 7] = [
    "actions",
    "off_track",
    "alerts",
    "gaps",
    "strategy",
    "decisions",
    "aob",
];

/// The agenda sections of a tier, in order (PRODUCT §8), unless the manifest sets its own.
pub fn default_template(tier: &str) -> Vec<&'static str> {
    match tier {
        // `strategy`: is the strategy holding? Each cause → effect link's evidence.
        "strategic" => SECTIONS.to_vec(),
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
    Capture {
        kind: &'static str,
        text: String,
    },
    Command,
    /// A capture baton cannot read, and what to do instead.
    Attempt(String),
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

/// Edit distance of two words (case-insensitive), for "did you mean" suggestions.
pub fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (
        a.to_lowercase().chars().collect(),
        b.to_lowercase().chars().collect(),
    );
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
    prev[b.len()]
}

/// The candidates closest to `word` (at most two edits, or sharing its first three
/// letters), nearest first, at most `n`.
pub fn suggest<'a>(word: &str, candidates: &[&'a str], n: usize) -> Vec<&'a str> {
    let w = word.to_lowercase();
    let head: String = w.chars().take(3).collect();
    let mut scored: Vec<(usize, &'a str)> = candidates
        .iter()
        .map(|c| (distance(&w, c), *c))
        .filter(|(d, c)| {
            *d <= 2 || (head.chars().count() == 3 && c.to_lowercase().starts_with(&head))
        })
        .collect();
    scored.sort();
    scored.dedup_by_key(|(_, c)| *c);
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}

fn attempt(why: String) -> ThreadLine {
    ThreadLine::Attempt(why)
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
            (true, true) => attempt(format!("`{kind}:` needs some text after the colon.")),
            // `action` with no colon is an attempt; `Note that …` is conversation.
            (false, _) if *kind == "action" => {
                attempt("start the line with `action:`, colon included.".into())
            }
            (false, true) => attempt(format!(
                "start the line with `{kind}:` and the text after it."
            )),
            (false, false) => ThreadLine::Discussion,
        };
    }
    if ["todo", "to-do", "action-item"].contains(&word.as_str()) || (colon && word == "task") {
        return attempt("to-dos are captured as `action: …`.".into());
    }
    if colon {
        if let Some(k) = CAPTURE_KINDS.iter().find(|k| word == format!("{k}s")) {
            return attempt(format!("one capture per message, starting with `{k}:`."));
        }
        if let Some(k) = CAPTURE_KINDS.iter().find(|k| near(&word, k)) {
            return attempt(format!("did you mean `{k}:`?"));
        }
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
    fn suggestions_are_the_nearest_names() {
        assert_eq!(distance("kofi", "Kofi"), 0);
        assert_eq!(distance("kofy", "kofi"), 1);
        assert_eq!(suggest("kofy", &["kofi", "tom", "priya"], 3), vec!["kofi"]);
        assert_eq!(suggest("nobody", &["kofi", "tom"], 3), Vec::<&str>::new());
        assert_eq!(suggest("pri", &["priya", "tom"], 3), vec!["priya"]);
        // Two edits away and no common start: still suggested.
        assert_eq!(suggest("tmo", &["tom", "priya"], 3), vec!["tom"]);
    }

    /// Any attempt (compared by kind; the reasons are checked below).
    fn attempt_any() -> ThreadLine {
        ThreadLine::Attempt(String::new())
    }

    fn kind(l: ThreadLine) -> ThreadLine {
        match l {
            ThreadLine::Attempt(why) => {
                assert!(!why.is_empty());
                attempt_any()
            }
            other => other,
        }
    }

    #[test]
    fn attempts_say_what_to_write_instead() {
        let why = |l: &str| match classify_thread_line(l) {
            ThreadLine::Attempt(w) => w,
            other => panic!("{l:?} is {other:?}"),
        };
        assert!(why("action @kofi send it").contains("`action:`, colon included"));
        assert!(why("note:   ").contains("needs some text"));
        assert!(why("todo: x").contains("`action: …`"));
        assert!(why("actions: a, b").contains("one capture per message"));
        assert!(why("decison: pause").contains("did you mean `decision:`"));
    }

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
            ("action: ", attempt_any()),
            ("action @kofi send the update", attempt_any()),
            ("action", attempt_any()),
            ("todo: send the update", attempt_any()),
            ("TODO send the update", attempt_any()),
            ("decisions: none", attempt_any()),
            ("acton: send it", attempt_any()),
            ("decison: pause", attempt_any()),
            ("note", attempt_any()),
            ("task: book the room", attempt_any()),
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
            assert_eq!(kind(classify_thread_line(line)), want, "{line:?}");
        }
    }
}
