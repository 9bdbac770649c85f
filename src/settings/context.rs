//! The model's context length bounds every token budget.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::tokens;
use crate::model::config::LlamaConfig;

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
/// Zero, above [`MAX_TOKENS`](super::MAX_TOKENS), or `value >= context`.
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
