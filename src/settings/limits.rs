//! Numbers with limits of their own: the learning rate, the sandbox's time and memory.

use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{at_most, in_range, positive};

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
