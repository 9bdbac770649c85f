//! Counts: each with a lower and an upper bound ([`super::in_range`]), far above any real run.

use anyhow::{Result, bail};

use super::{at_most, in_range};

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
/// also [`fits_context`](super::fits_context) or [`new_tokens`](super::new_tokens).
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
