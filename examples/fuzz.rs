//! baton's coverage-guided fuzzer, on stable Rust (see `fuzz/README.md`).
//!
//! Built by `fuzz/run`, which compiles baton itself with LLVM's SanitizerCoverage inline
//! 8-bit counters (`-Cpasses=sancov-module`, stable flags) and nothing else. The counters
//! are registered through `__sanitizer_cov_8bit_counters_init`, defined here; after each
//! input the engine reads them, and an input that reaches a new (edge, hit-count bucket)
//! joins the corpus. Built without the instrumentation (plain `cargo build`), the same
//! engine still runs, as a mutation fuzzer without guidance, and says so.
//!
//! ```text
//! fuzz <target|all> [--seconds N] [--corpus DIR] [--crashes DIR] [--seed N] [--replay]
//! ```

use std::collections::HashSet;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

#[path = "../fuzz/targets.rs"]
mod targets;

use targets::{TARGETS, Target};

/// The counter regions the instrumented code registered: (start address, length).
static REGIONS: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());

/// Called by SanitizerCoverage's module constructors (before `main`), once per region.
///
/// # Safety
/// Called by the instrumentation with the bounds of a live, static counter section.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __sanitizer_cov_8bit_counters_init(start: *mut u8, stop: *mut u8) {
    let (start, stop) = (start as usize, stop as usize);
    if stop > start
        && let Ok(mut r) = REGIONS.lock()
        && !r.iter().any(|(s, _)| *s == start)
    {
        r.push((start, stop - start));
    }
}

/// The coverage map: every registered counter, read and cleared after each input.
struct Coverage {
    regions: Vec<(usize, usize)>,
    /// Seen (counter, bucket) pairs, one bit each.
    seen: Vec<u8>,
    features: u64,
}

fn bucket(hits: u8) -> u8 {
    match hits {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 3,
        4..=7 => 4,
        8..=15 => 5,
        16..=31 => 6,
        32..=127 => 7,
        _ => 8,
    }
}

impl Coverage {
    fn new() -> Coverage {
        let regions = REGIONS.lock().map(|r| r.clone()).unwrap_or_default();
        let counters: usize = regions.iter().map(|(_, n)| n).sum();
        Coverage {
            regions,
            seen: vec![0; counters * 9 / 8 + 9],
            features: 0,
        }
    }

    fn counters(&self) -> usize {
        self.regions.iter().map(|(_, n)| n).sum()
    }

    fn clear(&self) {
        for &(start, len) in &self.regions {
            // SAFETY: a live counter section registered by the instrumentation.
            unsafe { std::ptr::write_bytes(start as *mut u8, 0, len) };
        }
    }

    /// Records what the last input hit; true when something was new.
    fn collect(&mut self) -> bool {
        let mut new = false;
        let mut base = 0usize;
        for &(start, len) in &self.regions {
            // SAFETY: as above; the section lives as long as the program.
            let counters = unsafe { std::slice::from_raw_parts(start as *const u8, len) };
            for (chunk_i, chunk) in counters.chunks(8).enumerate() {
                if chunk.iter().all(|c| *c == 0) {
                    continue;
                }
                for (j, &hits) in chunk.iter().enumerate() {
                    if hits == 0 {
                        continue;
                    }
                    let feature = (base + chunk_i * 8 + j) * 9 + usize::from(bucket(hits));
                    let (byte, bit) = (feature / 8, 1u8 << (feature % 8));
                    if self.seen[byte] & bit == 0 {
                        self.seen[byte] |= bit;
                        self.features += 1;
                        new = true;
                    }
                }
            }
            base += len;
        }
        self.clear();
        new
    }
}

struct Options {
    target: String,
    seconds: u64,
    corpus: PathBuf,
    crashes: PathBuf,
    seed: u64,
    replay: bool,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut o = Options {
        target: String::new(),
        seconds: 60,
        corpus: PathBuf::from("fuzz/corpus"),
        crashes: PathBuf::from("fuzz/crashes"),
        seed: 1,
        replay: false,
    };
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--seconds" => {
                o.seconds = value("--seconds")?
                    .parse()
                    .map_err(|_| "--seconds takes a number")?
            }
            "--corpus" => o.corpus = value("--corpus")?.into(),
            "--crashes" => o.crashes = value("--crashes")?.into(),
            "--seed" => {
                o.seed = value("--seed")?
                    .parse()
                    .map_err(|_| "--seed takes a number")?
            }
            "--replay" => o.replay = true,
            t if !t.starts_with('-') && o.target.is_empty() => o.target = t.to_string(),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if o.target.is_empty() {
        return Err("name a target or `all`".into());
    }
    Ok(o)
}

fn name_of(data: &[u8]) -> String {
    let d = Sha256::digest(data);
    d.iter().take(10).map(|b| format!("{b:02x}")).collect()
}

fn load(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .filter_map(|f| std::fs::read(f).ok())
        .collect()
}

thread_local! {
    static PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Runs one input; `Err` is the panic's message and place.
fn execute(t: &Target, data: &[u8]) -> Result<(), String> {
    match panic::catch_unwind(AssertUnwindSafe(|| (t.run)(data))) {
        Ok(()) => Ok(()),
        Err(_) => Err(PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "a panic".into())),
    }
}

/// How long the input running now has been running: a watchdog reports hangs.
static STARTED_MS: AtomicU64 = AtomicU64::new(0);

struct Stats {
    execs: u64,
    corpus: usize,
    added: usize,
    panics: usize,
}

fn mutate(rng: &mut ChaCha8Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>], t: &Target) {
    const INTERESTING: &[&str] = &[
        "0",
        "-1",
        "1",
        "255",
        "65536",
        "2147483648",
        "-9223372036854775808",
        "9223372036854775807",
        "18446744073709551616",
        "1e308",
        "0.0000001",
        "99999999999",
    ];
    let rounds = 1 + rng.random_range(0..6);
    for _ in 0..rounds {
        let len = data.len();
        match rng.random_range(0..10) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] = rng.random();
            }
            2 => {
                let i = rng.random_range(0..=len);
                let n = rng.random_range(1..8);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                data.splice(i..i, bytes);
            }
            3 if len > 1 => {
                let i = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - i).min(32));
                data.drain(i..i + n);
            }
            4 if len > 1 => {
                // Copy a piece of the input elsewhere in it.
                let i = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - i).min(64));
                let piece = data[i..i + n].to_vec();
                let at = rng.random_range(0..=len);
                data.splice(at..at, piece);
            }
            5 | 6 if !t.dictionary.is_empty() => {
                let word = t.dictionary[rng.random_range(0..t.dictionary.len())].as_bytes();
                let i = rng.random_range(0..=len);
                if rng.random_bool(0.3) && len > 0 {
                    let end = (i + word.len()).min(len);
                    data.splice(i..end, word.iter().copied());
                } else {
                    data.splice(i..i, word.iter().copied());
                }
            }
            7 if !corpus.is_empty() => {
                // Crossover: a piece of another input.
                let other = &corpus[rng.random_range(0..corpus.len())];
                if !other.is_empty() {
                    let i = rng.random_range(0..other.len());
                    let n = rng.random_range(1..=(other.len() - i).min(256));
                    let at = rng.random_range(0..=len);
                    data.splice(at..at, other[i..i + n].iter().copied());
                }
            }
            8 => {
                let word = INTERESTING[rng.random_range(0..INTERESTING.len())].as_bytes();
                let i = rng.random_range(0..=len);
                data.splice(i..i, word.iter().copied());
            }
            _ if len > 0 => {
                // Truncate or repeat.
                if rng.random_bool(0.5) {
                    data.truncate(rng.random_range(0..len));
                } else if len < 512 {
                    let copy = data.clone();
                    data.extend_from_slice(&copy);
                }
            }
            _ => data.push(rng.random()),
        }
    }
    data.truncate(t.max_len);
}

fn fuzz(t: &Target, o: &Options, seconds: u64, cov: &mut Coverage) -> Stats {
    let dir = o.corpus.join(t.name);
    let _ = std::fs::create_dir_all(&dir);
    let mut corpus = load(&dir);
    let mut stats = Stats {
        execs: 0,
        corpus: corpus.len(),
        added: 0,
        panics: 0,
    };
    let mut seen_crashes = HashSet::new();
    let mut report = |data: &[u8], why: &str, stats: &mut Stats| {
        stats.panics += 1;
        let name = name_of(data);
        if seen_crashes.insert(name.clone()) {
            let _ = std::fs::create_dir_all(o.crashes.join(t.name));
            let path = o.crashes.join(t.name).join(&name);
            let _ = std::fs::write(&path, data);
            eprintln!(
                "PANIC in {}: {why}\n  input saved to {}",
                t.name,
                path.display()
            );
        }
    };
    // The corpus first: it seeds the coverage map (and is the replay).
    cov.clear();
    for data in &corpus {
        STARTED_MS.store(now_ms(), Ordering::Relaxed);
        if let Err(why) = execute(t, data) {
            report(data, &why, &mut stats);
        }
        STARTED_MS.store(0, Ordering::Relaxed);
        stats.execs += 1;
        cov.collect();
    }
    if o.replay {
        return stats;
    }
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    // Each target its own stream of the seed (FNV-1a of its name).
    rng.set_stream(t.name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    }));
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut next_status = Instant::now() + Duration::from_secs(30);
    let guided = cov.counters() > 0;
    while Instant::now() < end {
        for _ in 0..64 {
            let mut data = corpus[rng.random_range(0..corpus.len())].clone();
            mutate(&mut rng, &mut data, &corpus, t);
            STARTED_MS.store(now_ms(), Ordering::Relaxed);
            let outcome = execute(t, &data);
            STARTED_MS.store(0, Ordering::Relaxed);
            stats.execs += 1;
            let new = cov.collect();
            if let Err(why) = outcome {
                report(&data, &why, &mut stats);
            } else if new || (!guided && rng.random_bool(0.001) && corpus.len() < 10_000) {
                let name = name_of(&data);
                let _ = std::fs::write(dir.join(name), &data);
                corpus.push(data);
                stats.added += 1;
            }
        }
        if Instant::now() >= next_status {
            eprintln!(
                "  {}: {} execs, corpus {}, features {}",
                t.name,
                stats.execs,
                corpus.len(),
                cov.features
            );
            next_status += Duration::from_secs(30);
        }
    }
    stats.corpus = corpus.len();
    stats
}

fn now_ms() -> u64 {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    EPOCH.get_or_init(Instant::now).elapsed().as_millis() as u64 + 1
}

fn main() {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!(
                "fuzz: {e}\nusage: fuzz <target|all> [--seconds N] [--corpus DIR] [--crashes DIR] [--seed N] [--replay]\ntargets: {}",
                TARGETS
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            std::process::exit(2);
        }
    };
    let chosen: Vec<&Target> = TARGETS
        .iter()
        .filter(|t| o.target == "all" || t.name == o.target)
        .collect();
    if chosen.is_empty() {
        eprintln!("fuzz: no target `{}`", o.target);
        std::process::exit(2);
    }
    panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        PANIC.with(|p| *p.borrow_mut() = Some(format!("{what}{at}")));
    }));
    // A hang is a finding too: an input running for 10 s stops the run.
    std::thread::spawn(|| {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let started = STARTED_MS.load(Ordering::Relaxed);
            if started != 0 && now_ms().saturating_sub(started) > 10_000 {
                eprintln!("HANG: one input has run for over 10 s");
                std::process::exit(3);
            }
        }
    });
    let mut cov = Coverage::new();
    let guided = cov.counters() > 0;
    eprintln!(
        "fuzz: {} counters{}",
        cov.counters(),
        if guided {
            " (coverage-guided)"
        } else {
            "; baton is not instrumented (build with fuzz/run): mutation only, no guidance"
        }
    );
    let per = (o.seconds / chosen.len() as u64).max(1);
    let mut panics = 0;
    let mut out = std::io::stdout().lock();
    for t in chosen {
        let started = Instant::now();
        let s = fuzz(t, &o, per, &mut cov);
        panics += s.panics;
        let secs = started.elapsed().as_secs_f64();
        let _ = writeln!(
            out,
            "{:<20} {:>10} execs in {:>6.0} s ({:>7.0}/s), corpus {:>5} (+{}), panics {}",
            t.name,
            s.execs,
            secs,
            s.execs as f64 / secs.max(1e-9),
            s.corpus,
            s.added,
            s.panics
        );
    }
    let _ = writeln!(out, "coverage features: {}", cov.features);
    if panics > 0 {
        std::process::exit(1);
    }
}
