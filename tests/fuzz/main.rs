//! Property tests ("fuzzing") of every parser of outside input: GGUF header and tensor table,
//! safetensors header, Hugging Face `config.json`, `tokenizer.json` and chat templates, the JSON
//! Lines records of every stage, the TOML settings, the fragmenters and judges on arbitrary
//! Unicode, and alignment of edited `Judged` records. The property is always the same: no
//! panic, no hang, no allocation from an untrusted size; an error is fine. Fragmenters and
//! judges also keep their span invariants.
//!
//! Deterministic: every target has a fixed seed (derived from its name), so CI runs the same
//! cases every time, and proptest writes no persistence files. `HALT_FUZZ_CASES` sets the
//! number of cases of the main targets (default [`DEFAULT_CASES`]; slow targets run a fraction
//! of it), `HALT_FUZZ_SEED` (any text) picks other seeds for a long pass:
//!
//! ```sh
//! HALT_FUZZ_CASES=100000 HALT_FUZZ_SEED=1 cargo test --release --test fuzz
//! ```
//!
//! A case running longer than `HALT_FUZZ_HANG_SECS` (default 120; a code-judge case may run
//! Python several times, each up to 10 s) is a hang: the watchdog prints the target and the
//! input, then aborts the test binary. `HALT_FUZZ_VERBOSE=1` prints what the cases of some
//! targets gave (with `--nocapture`), to see how deep the fuzz gets.

mod fragments;
mod gguf;
mod hf;
mod json;
mod records;
mod regressions;
mod support;
mod text;

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Mutex, OnceLock};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Cases per main target in the CI pass.
pub const DEFAULT_CASES: u32 = 256;

/// Cases for a target that costs `weight` times a cheap one (at least 1).
pub fn cases(weight: u32) -> u32 {
    let base = std::env::var("HALT_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(DEFAULT_CASES);
    (base / weight.max(1)).max(1)
}

/// The 32-byte ChaCha seed of target `name`: FNV-1a of the name and `HALT_FUZZ_SEED`,
/// stretched with splitmix64.
fn seed(name: &str) -> [u8; 32] {
    let extra = std::env::var("HALT_FUZZ_SEED").unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes().chain([0]).chain(extra.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut out = [0u8; 32];
    for chunk in out.chunks_mut(8) {
        h = h.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = h;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    out
}

type Running = HashMap<ThreadId, (Instant, &'static str, String)>;

/// Cases in progress, watched for hangs.
fn running() -> &'static Mutex<Running> {
    static RUNNING: OnceLock<Mutex<Running>> = OnceLock::new();
    static WATCHDOG: OnceLock<()> = OnceLock::new();
    let map = RUNNING.get_or_init(|| Mutex::new(HashMap::new()));
    WATCHDOG.get_or_init(|| {
        let limit = std::env::var("HALT_FUZZ_HANG_SECS")
            .ok()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(120);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(500));
                let map = map.lock().unwrap_or_else(|e| e.into_inner());
                for (start, name, input) in map.values() {
                    if start.elapsed() > Duration::from_secs(limit) {
                        eprintln!(
                            "fuzz target `{name}`: one case ran for more than {limit} s (a hang); input:\n{input}"
                        );
                        std::process::abort();
                    }
                }
            }
        });
    });
    map
}

/// Shortened `Debug` of a case, for the hang report.
fn describe<T: Debug>(v: &T) -> String {
    let mut s = format!("{v:?}");
    if s.len() > 4000 {
        let mut cut = 4000;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Runs `test` on `cases(weight)` values of `strategy` with the fixed seed of `name`; panics
/// with the (shrunk) failing input if a case fails or panics.
pub fn fuzz<S: Strategy>(
    name: &'static str,
    weight: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S::Value: Debug,
{
    let config = Config {
        cases: cases(weight),
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        max_shrink_time: 60_000,
        max_shrink_iters: 2_000,
        ..Config::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed(name));
    let mut runner = TestRunner::new_with_rng(config, rng);
    let running = running();
    let result = runner.run(&strategy, |value| {
        let id = std::thread::current().id();
        running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (Instant::now(), name, describe(&value)));
        let r = test(value);
        running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        r
    });
    if let Err(e) = result {
        running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&std::thread::current().id());
        panic!("fuzz target `{name}` failed: {e}");
    }
}

/// With `HALT_FUZZ_VERBOSE` set, prints what a case gave (to see what the fuzz reaches).
pub fn verbose<T: Debug>(result: &T) {
    if std::env::var_os("HALT_FUZZ_VERBOSE").is_some() {
        eprintln!("{}", describe(result));
    }
}

/// Path of a file of the repository.
pub fn repo_path(rel: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

#[test]
fn seeds_are_fixed_and_differ_per_target() {
    // Without HALT_FUZZ_SEED the seed depends only on the name.
    if std::env::var("HALT_FUZZ_SEED").is_err() {
        assert_eq!(seed("a"), seed("a"));
        assert_ne!(seed("a"), seed("b"));
    }
}
