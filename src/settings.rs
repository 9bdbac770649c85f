//! One validation rule per kind of setting, shared by every command and by the TOML files:
//! whether a value comes from `--batch-size 0` or from `batch_size = 0` in a settings file, it
//! is checked here, with the same message. Names in messages are the settings' field names
//! (the command-line flag is the same name with `-` for `_`).
//!
//! Every count has an upper bound as well as a lower one ([`in_range`]): far above anything a
//! real run uses, low enough that an absurd value (`--batch-size 4294967296`, `--epochs
//! 4294967296`) is refused at once instead of aborting in an allocation or running for ever.
//! The bounds are the `MAX_*` constants, one per kind of count ([`batch`], [`samples`],
//! [`lora_rank`], [`passes`], [`resamples`], [`steps`], [`tokens`], [`examples`], [`shots`],
//! [`count`]). Messages print integers as integers, exactly (never through a float).
//!
//! The model's context length (`max_position_embeddings` in the HF config, the GGUF
//! `llama.context_length`) bounds every token budget: [`fits_context`] is checked before any
//! work starts, with [`model_context`] reading only the model's configuration.

use std::collections::HashMap;
use std::fmt::Display;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::model::config::LlamaConfig;

/// A count that must be at least `min`. Every count setting also has an upper bound: use the
/// rule of its kind ([`batch`], [`steps`], …), which checks both.
///
/// # Errors
/// `value < min`.
pub fn at_least<T: PartialOrd + Display>(name: &str, value: T, min: T) -> Result<()> {
    if value < min {
        bail!("{name} must be at least {min}, got {value}");
    }
    Ok(())
}

/// A value that must be at most `max`.
///
/// # Errors
/// `value > max`.
pub fn at_most<T: PartialOrd + Display>(name: &str, value: T, max: T) -> Result<()> {
    if value > max {
        bail!("{name} must be at most {max}, got {value}");
    }
    Ok(())
}

/// A value in `[min, max]`, with the message of [`at_least`] or [`at_most`].
///
/// # Errors
/// `value < min` or `value > max`.
pub fn in_range<T: PartialOrd + Display>(name: &str, value: T, min: T, max: T) -> Result<()> {
    at_least(name, &value, &min)?;
    at_most(name, &value, &max)
}

/// Largest batch: sequences or prompts per batch (`batch_size`, `batch`, `batch_prompts`) and
/// micro-batches per optimiser step (`grad_accum`).
pub const MAX_BATCH: usize = 4096;
/// Largest number of responses sampled per prompt (`n`; the paper uses 5).
pub const MAX_SAMPLES: usize = 1024;
/// Largest LoRA rank (and never more than the model's hidden size, [`lora_rank_fits`]).
pub const MAX_LORA_RANK: usize = 4096;
/// Largest number of passes or repetitions (`epochs`, `repeats`).
pub const MAX_PASSES: usize = 10_000;
/// Largest number of bootstrap resamples (`resamples`).
pub const MAX_RESAMPLES: usize = 1_000_000;
/// Largest number of optimiser steps (`steps`, `checkpoint_every`).
pub const MAX_STEPS: usize = 10_000_000;
/// Largest token budget or token count (`max_new_tokens`, `max_seq_len`, `seq_len`,
/// `prompt_len`, `new_tokens`, `top_k`): 2^24 = 16,777,216, beyond every model's context.
pub const MAX_TOKENS: usize = 1 << 24;
/// Largest number of examples (`train_examples`, `test_examples`, `limit`).
pub const MAX_EXAMPLES: usize = 100_000_000;
/// Largest number of few-shot pairs before a prompt (`shots`; the paper uses 4).
pub const MAX_SHOTS: usize = 256;
/// Largest value of any other count (`max_calculations`).
pub const MAX_COUNT: usize = 1_000_000;

/// A batch size: sequences or prompts per batch, or micro-batches per optimiser step; in
/// `[1, MAX_BATCH]` (4096).
///
/// # Errors
/// Out of range.
pub fn batch(name: &str, value: usize) -> Result<()> {
    in_range(name, value, 1, MAX_BATCH)
}

/// The responses sampled per prompt (`n`): in `[1, MAX_SAMPLES]` (1024).
///
/// # Errors
/// Out of range.
pub fn samples(name: &str, value: usize) -> Result<()> {
    in_range(name, value, 1, MAX_SAMPLES)
}

/// A LoRA rank: in `[1, MAX_LORA_RANK]` (4096); against a known model, also
/// [`lora_rank_fits`].
///
/// # Errors
/// Out of range.
pub fn lora_rank(name: &str, value: usize) -> Result<()> {
    in_range(name, value, 1, MAX_LORA_RANK)
}

/// A LoRA rank against the model: at most its hidden size (a larger rank adds parameters that
/// cannot raise the update's rank).
///
/// # Errors
/// `rank > hidden_size`.
pub fn lora_rank_fits(name: &str, rank: usize, hidden_size: usize) -> Result<()> {
    if rank > hidden_size {
        bail!("{name} = {rank} exceeds the model's hidden size of {hidden_size} (hidden_size)");
    }
    Ok(())
}

/// Passes over the data or repetitions of a measurement (`epochs`, `repeats`): in
/// `[1, MAX_PASSES]` (10,000).
///
/// # Errors
/// Out of range.
pub fn passes(name: &str, value: usize) -> Result<()> {
    in_range(name, value, 1, MAX_PASSES)
}

/// Bootstrap resamples (`resamples`; 0: no intervals): in `[0, MAX_RESAMPLES]` (1,000,000).
///
/// # Errors
/// Out of range.
pub fn resamples(name: &str, value: usize) -> Result<()> {
    at_most(name, value, MAX_RESAMPLES)
}

/// Optimiser steps (`steps`, `checkpoint_every`): in `[1, MAX_STEPS]` (10,000,000).
///
/// # Errors
/// Out of range.
pub fn steps(name: &str, value: usize) -> Result<()> {
    in_range(name, value, 1, MAX_STEPS)
}

/// A token budget or token count: in `[min, MAX_TOKENS]` (2^24 = 16,777,216); against a model
/// also [`fits_context`] or [`new_tokens`].
///
/// # Errors
/// Out of range.
pub fn tokens(name: &str, value: usize, min: usize) -> Result<()> {
    in_range(name, value, min, MAX_TOKENS)
}

/// A number of examples (`train_examples`, `test_examples`, `limit`): in
/// `[min, MAX_EXAMPLES]` (100,000,000).
///
/// # Errors
/// Out of range.
pub fn examples(name: &str, value: usize, min: usize) -> Result<()> {
    in_range(name, value, min, MAX_EXAMPLES)
}

/// `--limit`, only the first K examples: when given, in `[1, MAX_EXAMPLES]` (`--limit 0`
/// would select nothing; leave the flag out for every example).
///
/// # Errors
/// Out of range.
pub fn limit(value: Option<usize>) -> Result<()> {
    match value {
        Some(v) => examples("limit", v, 1),
        None => Ok(()),
    }
}

/// Few-shot pairs before each prompt (`shots`; 0: zero-shot): in `[0, MAX_SHOTS]` (256).
///
/// # Errors
/// Out of range.
pub fn shots(name: &str, value: usize) -> Result<()> {
    at_most(name, value, MAX_SHOTS)
}

/// Any other count (`max_calculations`): in `[min, MAX_COUNT]` (1,000,000).
///
/// # Errors
/// Out of range.
pub fn count(name: &str, value: usize, min: usize) -> Result<()> {
    in_range(name, value, min, MAX_COUNT)
}

/// Largest seed recorded in a settings file: TOML integers are signed 64-bit, so a larger
/// seed would be written but not read back (`--resume` would fail).
pub const MAX_SEED: u64 = i64::MAX as u64;

/// A seed that a settings file records: in `[0, MAX_SEED]` (2^63 − 1).
///
/// # Errors
/// Above 2^63 − 1.
pub fn seed(name: &str, value: u64) -> Result<()> {
    at_most(name, value, MAX_SEED)
}

/// Largest peak learning rate (`lr`): 10, far above any rate that trains (5e-5 for full
/// finetuning, 1e-3 for LoRA).
pub const MAX_LEARNING_RATE: f64 = 10.0;

/// A peak learning rate: in `(0, MAX_LEARNING_RATE]` (10).
///
/// # Errors
/// Zero, negative, above 10, infinite or not a number.
pub fn learning_rate(name: &str, value: f64) -> Result<()> {
    positive(name, value)?;
    at_most(name, value, MAX_LEARNING_RATE)
}

/// Largest wall-clock limit of one sandboxed run (`judge.sandbox_seconds`): one hour.
pub const MAX_SECONDS: f64 = 3600.0;

/// A wall-clock limit in seconds: in `(0, MAX_SECONDS]` (3600).
///
/// # Errors
/// Zero, negative, above an hour, infinite or not a number.
pub fn seconds(name: &str, value: f64) -> Result<Duration> {
    if !(value > 0.0 && value <= MAX_SECONDS) {
        bail!("{name} must be in (0, {MAX_SECONDS}] seconds, got {value}");
    }
    Duration::try_from_secs_f64(value).with_context(|| format!("{name} = {value}"))
}

/// Smallest address-space limit of a sandboxed run (`judge.sandbox_memory_mib`): 64 MiB,
/// enough for the interpreter to start.
pub const MIN_MEMORY_MIB: u64 = 64;
/// Largest address-space limit of a sandboxed run: 1 TiB (1,048,576 MiB).
pub const MAX_MEMORY_MIB: u64 = 1 << 20;

/// A memory limit in MiB: in `[MIN_MEMORY_MIB, MAX_MEMORY_MIB]` (64 MiB to 1 TiB). Returns it
/// in bytes.
///
/// # Errors
/// Out of range.
pub fn memory_mib(name: &str, value: u64) -> Result<u64> {
    in_range(name, value, MIN_MEMORY_MIB, MAX_MEMORY_MIB)?;
    value
        .checked_mul(1 << 20)
        .with_context(|| format!("{name} = {value} MiB does not fit in bytes"))
}

/// A marker text (the abstention marker): not empty, not only whitespace.
///
/// # Errors
/// An empty or blank text.
pub fn marker(name: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        bail!("{name} must not be empty or only whitespace, got {value:?}");
    }
    Ok(())
}

/// A list whose entries must differ (`what` names one entry, `name` the list).
///
/// # Errors
/// The first entry listed twice.
pub fn distinct<T: PartialEq + Display>(what: &str, name: &str, values: &[T]) -> Result<()> {
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            bail!("{what} `{v}` is listed twice in {name}");
        }
    }
    Ok(())
}

/// The oldest Python the code sandbox runs on (it installs audit hooks, new in 3.8).
pub const MIN_PYTHON: (u32, u32) = (3, 8);

/// A Python interpreter (`judge.python`): it runs `python -I -c "import sys;
/// print(sys.version_info[:2])"` within 30 s and reports Python [`MIN_PYTHON`] (3.8) or later.
/// Each interpreter is probed once per process.
///
/// # Errors
/// An interpreter that cannot be started, fails, hangs or is older than 3.8; the message names
/// the setting and the interpreter.
pub fn python(name: &str, interpreter: &str) -> Result<()> {
    static PROBED: OnceLock<Mutex<HashMap<String, Probe>>> = OnceLock::new();
    let probed = PROBED.get_or_init(Default::default);
    let known = probed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(interpreter)
        .cloned();
    let found = match known {
        Some(f) => f,
        None => {
            let f = python_version(interpreter);
            probed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(interpreter.to_string(), f.clone());
            f
        }
    };
    match found {
        Err(why) => bail!(
            "{name} = {interpreter:?}: {why} (the code judge needs Python {}.{} or later)",
            MIN_PYTHON.0,
            MIN_PYTHON.1
        ),
        Ok(v) if v < MIN_PYTHON => bail!(
            "{name} = {interpreter:?} is Python {}.{}: the code judge needs Python {}.{} or later \
             (audit hooks)",
            v.0,
            v.1,
            MIN_PYTHON.0,
            MIN_PYTHON.1
        ),
        Ok(_) => Ok(()),
    }
}

/// What probing an interpreter found: its `(major, minor)` version, or why it could not be read.
type Probe = Result<(u32, u32), String>;

/// The `(major, minor)` version of `interpreter`, or why it could not be read.
fn python_version(interpreter: &str) -> Probe {
    let mut child = Command::new(interpreter)
        .args(["-I", "-c", "import sys; print(sys.version_info[:2])"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("it did not answer within 30 s".into());
            }
            Err(e) => return Err(format!("waiting for it: {e}")),
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        let _ = stdout.read_to_string(&mut out);
    }
    if !status.success() {
        return Err(format!("it failed ({status}) to print its version"));
    }
    // `(3, 11)`
    let parsed = out
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .and_then(|s| s.split_once(','))
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
    parsed.ok_or_else(|| {
        format!(
            "it is not a Python 3 interpreter (printed {:?})",
            out.trim()
        )
    })
}

/// A fraction in `[0, 1]` (α, warm-up and validation fractions).
///
/// # Errors
/// A value outside `[0, 1]` or not a number.
pub fn fraction(name: &str, value: f64) -> Result<()> {
    if !(0.0..=1.0).contains(&value) {
        bail!("{name} must be in [0, 1], got {value}");
    }
    Ok(())
}

/// A fraction in `[0, 1)` (Adam's β₁, β₂).
///
/// # Errors
/// A value outside `[0, 1)` or not a number.
pub fn fraction_below_one(name: &str, value: f64) -> Result<()> {
    if !(0.0..1.0).contains(&value) {
        bail!("{name} must be in [0, 1), got {value}");
    }
    Ok(())
}

/// A finite number `> 0` (learning rate, LoRA α, gradient-norm clip, ε).
///
/// # Errors
/// Zero, negative, infinite or not a number.
pub fn positive(name: &str, value: f64) -> Result<()> {
    if !(value.is_finite() && value > 0.0) {
        bail!("{name} must be a positive number, got {value}");
    }
    Ok(())
}

/// A finite number `>= 0` (weight decay).
///
/// # Errors
/// Negative, infinite or not a number.
pub fn non_negative(name: &str, value: f64) -> Result<()> {
    if !(value.is_finite() && value >= 0.0) {
        bail!("{name} must be a finite number >= 0, got {value}");
    }
    Ok(())
}

/// The softmax temperature: finite and `>= 0` (0 = greedy).
///
/// # Errors
/// Negative, infinite or not a number.
pub fn temperature(value: f32) -> Result<()> {
    if !(value.is_finite() && value >= 0.0) {
        bail!("temperature must be a finite number >= 0 (0 = greedy), got {value}");
    }
    Ok(())
}

/// The nucleus-sampling mass `top_p`: in `(0, 1]`.
///
/// # Errors
/// A value outside `(0, 1]` or not a number.
pub fn top_p(value: f32) -> Result<()> {
    if !(value > 0.0 && value <= 1.0) {
        bail!("top_p must be in (0, 1], got {value}");
    }
    Ok(())
}

/// The thresholds α of a run (paper §3: one HALT model each): each in `[0, 1]`, none twice
/// (two equal α would train the same model twice into one folder).
///
/// # Errors
/// A value outside `[0, 1]`, or a duplicate.
pub fn alphas(values: &[f64]) -> Result<()> {
    for (i, a) in values.iter().enumerate() {
        fraction("alpha", *a)?;
        if values[..i].contains(a) {
            bail!("alpha {a} is listed twice in alphas");
        }
    }
    Ok(())
}

/// A token budget against the model's context length: `what` (e.g. `max_seq_len`, or
/// `prompt_len + new_tokens`) needs `tokens` positions, the model has `context`.
///
/// # Errors
/// `tokens > context`.
pub fn fits_context(what: &str, tokens: usize, context: usize) -> Result<()> {
    if tokens > context {
        bail!(
            "{what} = {tokens} tokens exceeds the model's context length of {context} tokens \
             (max_position_embeddings)"
        );
    }
    Ok(())
}

/// A generation budget `max_new_tokens` (named `name`) against the model's context: at least 1
/// and leaving at least one position for the prompt. Returns the room left for the prompt.
///
/// # Errors
/// Zero, above [`MAX_TOKENS`], or `value >= context`.
pub fn new_tokens(name: &str, value: usize, context: usize) -> Result<usize> {
    tokens(name, value, 1)?;
    match context.checked_sub(value).filter(|room| *room > 0) {
        Some(room) => Ok(room),
        None => bail!(
            "{name} = {value} leaves no room for a prompt in the model's context length of \
             {context} tokens (max_position_embeddings)"
        ),
    }
}

/// Reads only the configuration of the model at `path` (a GGUF file or a Hugging Face folder),
/// without its weights: enough to check settings against it before any work starts.
///
/// # Errors
/// As [`load_model`](crate::model::load::load_model) for the configuration part: an unreadable
/// or malformed file, missing metadata.
pub fn model_config(path: &Path) -> Result<LlamaConfig> {
    use crate::model::load::gguf::{config_from_gguf, parse};
    let config = if path.is_dir() {
        LlamaConfig::from_hf_json(&path.join("config.json"))?
    } else {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let g = parse(&bytes, path)?;
        config_from_gguf(&g).with_context(|| format!("GGUF {}", path.display()))?
    };
    config.validate()?;
    Ok(config)
}

/// The context length of the model at `path` (see [`model_config`]).
///
/// # Errors
/// As [`model_config`].
pub fn model_context(path: &Path) -> Result<usize> {
    Ok(model_config(path)?.max_position_embeddings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(r: Result<()>) -> String {
        format!("{:#}", r.unwrap_err())
    }

    #[test]
    fn each_rule_accepts_its_range_and_names_the_setting() {
        assert!(at_least("batch_size", 1, 1).is_ok());
        assert_eq!(
            message(at_least("batch_size", 0, 1)),
            "batch_size must be at least 1, got 0"
        );
        assert!(fraction("valid_fraction", 1.0).is_ok());
        assert!(fraction("valid_fraction", f64::NAN).is_err());
        assert!(fraction_below_one("beta2", 1.0).is_err());
        assert!(positive("lr", 0.0).is_err());
        assert!(positive("lr", f64::INFINITY).is_err());
        assert!(non_negative("weight_decay", 0.0).is_ok());
        assert!(temperature(0.0).is_ok() && temperature(-0.1).is_err());
        assert!(top_p(1.0).is_ok() && top_p(0.0).is_err() && top_p(f32::NAN).is_err());
    }

    #[test]
    fn every_count_has_an_upper_bound_printed_exactly() {
        // by hand: 2^32 + 1 = 4294967297, printed as an integer (a float would show
        // 4294967296)
        let big = (1usize << 32) + 1;
        for (r, want) in [
            (
                batch("batch_size", big),
                "batch_size must be at most 4096, got 4294967297",
            ),
            (samples("n", 1025), "n must be at most 1024, got 1025"),
            (
                lora_rank("lora.rank", big),
                "lora.rank must be at most 4096, got 4294967297",
            ),
            (
                passes("epochs", big),
                "epochs must be at most 10000, got 4294967297",
            ),
            (
                resamples("resamples", 1_000_001),
                "resamples must be at most 1000000, got 1000001",
            ),
            (
                steps("steps", big),
                "steps must be at most 10000000, got 4294967297",
            ),
            (
                tokens("max_new_tokens", big, 1),
                "max_new_tokens must be at most 16777216, got 4294967297",
            ),
            (
                examples("train_examples", big, 2),
                "train_examples must be at most 100000000, got 4294967297",
            ),
            (limit(Some(0)), "limit must be at least 1, got 0"),
            (shots("shots", 257), "shots must be at most 256, got 257"),
            (
                count("max_calculations", big, 1),
                "max_calculations must be at most 1000000, got 4294967297",
            ),
            (
                at_most("x", u64::MAX, 7),
                "x must be at most 7, got 18446744073709551615",
            ),
        ] {
            assert_eq!(message(r), want);
        }
        // the bounds themselves pass, as do the lower ends
        batch("batch_size", MAX_BATCH).unwrap();
        samples("n", 1).unwrap();
        lora_rank("lora.rank", MAX_LORA_RANK).unwrap();
        passes("repeats", MAX_PASSES).unwrap();
        resamples("resamples", 0).unwrap();
        steps("steps", MAX_STEPS).unwrap();
        tokens("max_seq_len", 8, 8).unwrap();
        assert_eq!(
            message(tokens("max_seq_len", 7, 8)),
            "max_seq_len must be at least 8, got 7"
        );
        shots("shots", 0).unwrap();
        limit(None).unwrap();
        assert_eq!(
            message(new_tokens("max_new_tokens", big, usize::MAX).map(|_| ())),
            "max_new_tokens must be at most 16777216, got 4294967297"
        );
        seed("seed", MAX_SEED).unwrap();
        assert_eq!(
            message(seed("seed", u64::MAX)),
            "seed must be at most 9223372036854775807, got 18446744073709551615"
        );
        assert_eq!(
            message(lora_rank_fits("lora.rank", 128, 64)),
            "lora.rank = 128 exceeds the model's hidden size of 64 (hidden_size)"
        );
        lora_rank_fits("lora.rank", 64, 64).unwrap();
    }

    #[test]
    fn learning_rate_time_and_memory_are_bounded() {
        learning_rate("lr", 10.0).unwrap();
        assert_eq!(
            message(learning_rate("lr", 1e6)),
            "lr must be at most 10, got 1000000"
        );
        assert_eq!(
            message(learning_rate("lr", 0.0)),
            "lr must be a positive number, got 0"
        );
        assert_eq!(seconds("s", 3600.0).unwrap(), Duration::from_secs(3600));
        for v in [0.0, -1.0, 1e12, 1e30, f64::INFINITY, f64::NAN] {
            assert!(seconds("s", v).is_err(), "{v}");
        }
        assert_eq!(
            message(seconds("judge.sandbox_seconds", 1e12).map(|_| ())),
            "judge.sandbox_seconds must be in (0, 3600] seconds, got 1000000000000"
        );
        assert_eq!(memory_mib("m", 64).unwrap(), 64 << 20);
        assert_eq!(memory_mib("m", 1 << 20).unwrap(), 1 << 40);
        // 2^44 MiB is 2^64 bytes: it would wrap to 0
        assert_eq!(
            message(memory_mib("judge.sandbox_memory_mib", 1 << 44).map(|_| ())),
            "judge.sandbox_memory_mib must be at most 1048576, got 17592186044416"
        );
        assert_eq!(
            message(memory_mib("judge.sandbox_memory_mib", 16).map(|_| ())),
            "judge.sandbox_memory_mib must be at least 64, got 16"
        );
    }

    #[test]
    fn markers_lists_and_interpreters() {
        marker("marker", "Unsure from Here").unwrap();
        assert_eq!(
            message(marker("marker", "")),
            r#"marker must not be empty or only whitespace, got """#
        );
        assert!(marker("marker", " \t").is_err());
        distinct(
            "target module",
            "lora.target_modules",
            &["q_proj", "v_proj"],
        )
        .unwrap();
        assert_eq!(
            message(distinct(
                "target module",
                "lora.target_modules",
                &["q_proj", "v_proj", "q_proj"]
            )),
            "target module `q_proj` is listed twice in lora.target_modules"
        );
        // the tests need python3 (3.8 or later), as the code judge does
        python("judge.python", "python3").unwrap();
        assert_eq!(
            message(python("judge.python", "/nonexistent/python3")),
            "judge.python = \"/nonexistent/python3\": cannot run it: No such file or directory \
             (os error 2) (the code judge needs Python 3.8 or later)"
        );
        assert_eq!(
            message(python("judge.python", "false")),
            "judge.python = \"false\": it failed (exit status: 1) to print its version (the \
             code judge needs Python 3.8 or later)"
        );
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("python2");
        std::fs::write(&old, "#!/bin/sh\necho '(2, 7)'\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
        let old = old.to_str().unwrap();
        assert_eq!(
            message(python("judge.python", old)),
            format!(
                "judge.python = {old:?} is Python 2.7: the code judge needs Python 3.8 or later \
                 (audit hooks)"
            )
        );
    }

    #[test]
    fn duplicate_alphas_are_refused() {
        assert!(alphas(&[0.4, 0.6, 0.8]).is_ok());
        assert_eq!(
            message(alphas(&[0.4, 0.6, 0.4])),
            "alpha 0.4 is listed twice in alphas"
        );
        assert!(alphas(&[1.5]).is_err());
    }

    #[test]
    fn a_generation_budget_leaves_room_for_the_prompt() {
        assert_eq!(new_tokens("max_new_tokens", 96, 8192).unwrap(), 8096);
        assert!(new_tokens("max_new_tokens", 0, 8192).is_err());
        assert_eq!(
            message(new_tokens("eval_max_new_tokens", 8192, 8192).map(|_| ())),
            "eval_max_new_tokens = 8192 leaves no room for a prompt in the model's context \
             length of 8192 tokens (max_position_embeddings)"
        );
    }

    #[test]
    fn a_budget_larger_than_the_context_is_refused() {
        assert!(fits_context("max_seq_len", 8192, 8192).is_ok());
        assert_eq!(
            message(fits_context("max_seq_len", 100_000, 8192)),
            "max_seq_len = 100000 tokens exceeds the model's context length of 8192 tokens \
             (max_position_embeddings)"
        );
    }
}
