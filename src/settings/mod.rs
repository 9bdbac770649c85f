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
//!
//! Settings each within bounds can still be too large together: [`fits_memory`] estimates the
//! working memory of one batch from the model's configuration and refuses, before any work, a
//! batch larger than the machine's memory.
//!
//! The rules live in one file per kind (`counts.rs`, `limits.rs`, `numbers.rs`, `text.rs`,
//! `interpreter.rs`, `context.rs`, `memory.rs`), all re-exported here.

use std::fmt::Display;

use anyhow::{Result, bail};

mod context;
mod counts;
mod interpreter;
mod limits;
mod memory;
mod numbers;
mod text;

pub use context::*;
pub use counts::*;
pub use interpreter::*;
pub use limits::*;
pub use memory::*;
pub use numbers::*;
pub use text::*;

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

#[cfg(test)]
mod tests;
