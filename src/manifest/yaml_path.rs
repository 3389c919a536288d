//! Best-effort field path (`departments[2].cadences.checkin`) for a line and column of
//! block-style YAML, used to label errors that serde reports with a position only.

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Item,
    Key(String),
}

/// The nodes that start on one line, with the column (0-based indent) of each.
fn nodes(line: &str) -> Vec<(usize, Node)> {
    let mut out = Vec::new();
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("---") {
        return out;
    }
    let mut indent = line.len() - trimmed.len();
    let mut rest = trimmed;
    loop {
        if rest == "-" || rest.starts_with("- ") {
            out.push((indent, Node::Item));
            let after = rest[1..].trim_start();
            indent += rest.len() - after.len();
            rest = after;
            continue;
        }
        break;
    }
    if let Some(key) = leading_key(rest) {
        out.push((indent, Node::Key(key)));
    }
    out
}

fn leading_key(s: &str) -> Option<String> {
    if s.starts_with(['{', '[', '"', '\'', '#', '|', '>']) {
        let q = s.chars().next()?;
        if q == '"' || q == '\'' {
            let end = s[1..].find(q)? + 1;
            let after = &s[end + 1..];
            if after.starts_with(':') {
                return Some(s[1..end].to_owned());
            }
        }
        return None;
    }
    let idx = s.find(':')?;
    let after = &s[idx + 1..];
    if after.is_empty() || after.starts_with([' ', '\t']) {
        Some(s[..idx].trim().to_owned())
    } else {
        None
    }
}

/// Inside a flow mapping on the error line, the key just before `column` (1-based).
fn flow_key(line: &str, column: u64) -> Option<String> {
    // The entry starts after the last `{` or `,` before the column (an error may point at
    // the key itself or at its value); the key runs to the next `:`.
    let upto: String = line
        .chars()
        .take(column.saturating_sub(1) as usize)
        .collect();
    upto.rfind('{')?;
    let start = upto.rfind([',', '{'])? + 1;
    let seg = &line[start..];
    let idx = seg.find(':')?;
    let key = seg[..idx].trim().trim_matches(['"', '\'']);
    if key.contains([',', '{', '}', '[', ']']) {
        return None;
    }
    (!key.is_empty()).then(|| key.to_owned())
}

/// The field path of the node at `line` (1-based), or `(document)` when unknown.
pub(super) fn path_at(text: &str, line: u64, column: u64) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if line == 0 || line as usize > lines.len() {
        return "(document)".into();
    }
    let parsed: Vec<Vec<(usize, Node)>> = lines.iter().map(|l| nodes(l)).collect();
    let target = line as usize - 1;
    let mut segs: Vec<String> = Vec::new();
    if let Some(k) = flow_key(lines[target], column) {
        segs.push(k);
    }
    // Ancestors must start strictly left of `bound`; after an item at indent `s`, its
    // parent key may sit at `s` too (`key:\n- item`), so the bound becomes `s + 1` for keys.
    let mut bound = usize::MAX;
    let mut after_item: Option<usize> = None;
    for idx in (0..=target).rev() {
        for (ind, node) in parsed[idx].iter().rev() {
            let ok = match (node, after_item) {
                (Node::Key(_), Some(s)) => *ind <= s,
                (Node::Item, Some(s)) => *ind < s,
                _ => *ind < bound,
            };
            if !ok {
                continue;
            }
            match node {
                Node::Key(k) => {
                    segs.push(k.clone());
                    after_item = None;
                }
                Node::Item => {
                    let n = item_index(&parsed, idx, *ind);
                    segs.push(format!("[{n}]"));
                    after_item = Some(*ind);
                }
            }
            bound = *ind;
        }
    }
    if segs.is_empty() {
        return "(document)".into();
    }
    let mut out = String::new();
    for s in segs.iter().rev() {
        if !s.starts_with('[') && !out.is_empty() {
            out.push('.');
        }
        out.push_str(s);
    }
    out
}

/// How many items of the sequence at indent `s` come before the one on line `idx`.
fn item_index(parsed: &[Vec<(usize, Node)>], idx: usize, s: usize) -> usize {
    let mut n = 0;
    for line in parsed[..idx].iter().rev() {
        let Some((ind, node)) = line.first() else {
            continue;
        };
        if *ind < s || (*ind == s && matches!(node, Node::Key(_))) {
            break;
        }
        if line.iter().any(|(i, nd)| *i == s && *nd == Node::Item) {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::path_at;

    #[test]
    fn paths_follow_block_structure() {
        let y = "departments:\n  - key: a\n    name: A\n  - key: b\n    cadences:\n      checkin: x\npeople:\n- key: p\n  roles: [admin]\n- {key: q, name: Q}\n";
        assert_eq!(path_at(y, 2, 7), "departments[0].key");
        assert_eq!(path_at(y, 4, 7), "departments[1].key");
        assert_eq!(path_at(y, 6, 7), "departments[1].cadences.checkin");
        assert_eq!(path_at(y, 9, 10), "people[0].roles");
        assert_eq!(path_at(y, 10, 18), "people[1].name");
        assert_eq!(path_at(y, 10, 12), "people[1].name");
        assert_eq!(path_at(y, 10, 4), "people[1].key");
        assert_eq!(path_at(y, 0, 0), "(document)");
    }
}
