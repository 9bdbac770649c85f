//! Numbers with limits of their own: the learning rate, LoRA α, the optimiser's numbers, the
//! sandbox's time and memory.

use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::{Number, in_range, positive_at_most};

/// Largest peak learning rate (`lr`): 10, far above any rate that trains (5e-5 for full
/// finetuning, 1e-3 for LoRA).
pub const MAX_LEARNING_RATE: f64 = 10.0;

/// A peak learning rate: in `(0, MAX_LEARNING_RATE]` (10).
///
/// # Errors
/// Zero, negative, above 10, infinite or not a number.
pub fn learning_rate(name: &str, value: f64) -> Result<()> {
    positive_at_most(name, value, MAX_LEARNING_RATE)
}

/// Largest LoRA α (`lora.alpha`): 65536. The adapter's output is scaled by α / rank; far
/// above 2 × the largest rank in use, low enough that the scale stays a normal `f32` (an α
/// of `1e39` is infinite as an `f32` and training silently makes no progress).
pub const MAX_LORA_ALPHA: f64 = 65536.0;

/// A LoRA α: in `(0, MAX_LORA_ALPHA]` (65536).
///
/// # Errors
/// Zero, negative, above 65536, infinite or not a number.
pub fn lora_alpha(name: &str, value: f64) -> Result<()> {
    positive_at_most(name, value, MAX_LORA_ALPHA)
}

/// Largest AdamW weight decay (`weight_decay`): 10, far above the 0.01–0.1 used in practice.
pub const MAX_WEIGHT_DECAY: f64 = 10.0;

/// A weight decay: in `[0, MAX_WEIGHT_DECAY]` (10).
///
/// # Errors
/// Negative, above 10, infinite (also an `f32` overflowed from a finite number) or not a
/// number.
pub fn weight_decay(name: &str, value: f32) -> Result<()> {
    super::non_negative(name, value)?;
    if f64::from(value) > MAX_WEIGHT_DECAY {
        bail!(
            "{name} must be at most {MAX_WEIGHT_DECAY}, got {}",
            value.shown()
        );
    }
    Ok(())
}

/// Largest AdamW ε (`epsilon`): 1, far above the 1e-8 used in practice.
pub const MAX_EPSILON: f64 = 1.0;

/// An AdamW ε: in `(0, MAX_EPSILON]` (1).
///
/// # Errors
/// Zero, negative, above 1, infinite or not a number.
pub fn epsilon(name: &str, value: f32) -> Result<()> {
    positive_at_most(name, value, MAX_EPSILON)
}

/// Largest gradient-norm clip (`max_grad_norm`): 10^6 (leave it out not to clip).
pub const MAX_GRAD_NORM: f64 = 1e6;

/// A gradient-norm clip: in `(0, MAX_GRAD_NORM]` (10^6).
///
/// # Errors
/// Zero, negative, above 10^6, infinite or not a number.
pub fn max_grad_norm(name: &str, value: f32) -> Result<()> {
    positive_at_most(name, value, MAX_GRAD_NORM)
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
