//! The saved fuzz corpus, replayed: every input the coverage-guided fuzzer kept (and every
//! input that once made a target panic) runs through its target again, so a parser that
//! starts panicking on one fails the suite. See `fuzz/README.md`.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;

#[path = "../../fuzz/targets.rs"]
#[allow(dead_code)] // the engine reads the rest
mod targets;

#[test]
fn the_saved_fuzz_corpus_replays_without_a_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut failures = Vec::new();
    for t in targets::TARGETS {
        let dir = root.join(t.name);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("no corpus for {}: {e}", t.name))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(
            files.len() >= 5,
            "the corpus of {} has {} inputs; it should hold what the fuzzer found",
            t.name,
            files.len()
        );
        for f in files {
            let data = std::fs::read(&f).unwrap();
            if panic::catch_unwind(AssertUnwindSafe(|| (t.run)(&data))).is_err() {
                failures.push(f.display().to_string());
            }
        }
    }
    assert!(
        failures.is_empty(),
        "these inputs panic:\n{}",
        failures.join("\n")
    );
}
