//! Whether every prompt fits the model's context before a generating stage starts (the sample
//! and answer stages, and `halt-llm run` for both), and the names its messages use.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::example::Example;
use super::fewshot::{PromptFormat, chat_messages, plain_text};
use crate::tokenizer::Tokenizer;

/// What the messages of a generating stage name: the file its examples were read from and the
/// generation budget's setting as the user wrote it for this command (`--max-new-tokens` for
/// `halt-llm sample` and `eval`, `[sample] max_new_tokens` or `[eval] max_new_tokens` for
/// `halt-llm run`).
#[derive(Debug, Clone, PartialEq)]
pub struct PromptSource {
    /// The examples file (`None`: examples not read from a file).
    pub file: Option<PathBuf>,
    /// The name of the `max_new_tokens` setting in this command.
    pub budget_setting: String,
}

impl Default for PromptSource {
    fn default() -> Self {
        Self {
            file: None,
            budget_setting: "max_new_tokens".into(),
        }
    }
}

impl PromptSource {
    /// `file` with the budget named `budget_setting`.
    pub fn new(file: &Path, budget_setting: &str) -> Self {
        Self {
            file: Some(file.to_path_buf()),
            budget_setting: budget_setting.into(),
        }
    }

    /// `example `id``, after the file when there is one (`data/test.jsonl: example `q3``).
    pub(crate) fn example(&self, id: &str) -> String {
        match &self.file {
            Some(f) => format!("{}: example `{id}`", f.display()),
            None => format!("example `{id}`"),
        }
    }
}

/// The token ids of `prompt` after `shots`, rendered as `format` says.
///
/// # Errors
/// Tokenizer or template failures.
pub(crate) fn prompt_ids(
    tokenizer: &Tokenizer,
    shots: &[&Example],
    prompt: &str,
    format: PromptFormat,
) -> Result<Vec<u32>> {
    match format {
        PromptFormat::Chat => tokenizer.encode_chat(&chat_messages(shots, prompt), true),
        PromptFormat::Plain => tokenizer.encode(&plain_text(shots, prompt)),
    }
}

/// Checks, before any generation, that each of `examples`' prompts fits the model's context
/// with `max_new_tokens` new tokens: the prompt alone (shots are left out until the prompt
/// fits, so only the bare prompt must), rendered as `format` says, plus `max_new_tokens` at
/// most `context` tokens ([`settings::fits_context`](crate::settings::fits_context)'s rule).
///
/// # Errors
/// The first prompt that does not fit: the message names the file and example
/// (`source`), the token counts, the context and the budget's setting as the command names it;
/// tokenizer or template failures.
pub fn check_prompts_fit(
    tokenizer: &Tokenizer,
    examples: &[Example],
    format: PromptFormat,
    max_new_tokens: usize,
    context: usize,
    source: &PromptSource,
) -> Result<()> {
    for e in examples {
        let prompt = prompt_ids(tokenizer, &[], &e.prompt, format)
            .with_context(|| format!("tokenizing the prompt of {}", source.example(&e.id)))?
            .len();
        let needed = prompt + max_new_tokens;
        if needed > context {
            bail!(
                "{}: its prompt is {prompt} tokens; with {max_new_tokens} new tokens ({}) it \
                 needs {needed}, more than the model's context length of {context} tokens \
                 (max_position_embeddings): lower {} or shorten the prompt",
                source.example(&e.id),
                source.budget_setting,
                source.budget_setting
            );
        }
    }
    Ok(())
}
