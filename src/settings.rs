//! One validation rule per kind of setting, shared by every command and by the TOML files:
//! whether a value comes from `--batch-size 0` or from `batch_size = 0` in a settings file, it
//! is checked here, with the same message. Names in messages are the settings' field names
//! (the command-line flag is the same name with `-` for `_`).
//!
//! The model's context length (`max_position_embeddings` in the HF config, the GGUF
//! `llama.context_length`) bounds every token budget: [`fits_context`] is checked before any
//! work starts, with [`model_context`] reading only the model's configuration.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::model::config::LlamaConfig;

/// A count that must be at least `min` (batch sizes, epochs, N, steps, new tokens).
///
/// # Errors
/// `value < min`.
pub fn at_least(name: &str, value: usize, min: usize) -> Result<()> {
    if value < min {
        bail!("{name} must be at least {min}, got {value}");
    }
    Ok(())
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
/// Zero, or `value >= context`.
pub fn new_tokens(name: &str, value: usize, context: usize) -> Result<usize> {
    at_least(name, value, 1)?;
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
