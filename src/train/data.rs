//! The training data of a run: every aligned record of the data files, tokenized with the
//! chat template (completion mask, cut to `max_seq_len`), split into training and
//! validation examples.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use super::config::TrainConfig;
use super::example::{TrainExample, tokenize_pair};
use super::plan::split_valid;
use crate::dataset::read_jsonl;
use crate::dataset::record::Aligned;
use crate::tokenizer::Tokenizer;

/// The tokenized examples of a run and what tokenizing them cut.
pub(super) struct TrainData {
    /// Training examples (after the validation split).
    pub(super) train: Vec<TrainExample>,
    /// Held-out validation examples.
    pub(super) valid: Vec<TrainExample>,
    /// Label tokens per pass over the training examples.
    pub(super) label_tokens: usize,
    /// Examples whose prompt was cut at the start to fit `max_seq_len`.
    pub(super) prompt_truncated: usize,
    /// Examples whose target itself was cut at the end to fit `max_seq_len`.
    pub(super) target_truncated: usize,
}

impl TrainData {
    /// Reads and tokenizes every file of `config.data`, splits off `valid_fraction` of the
    /// examples (seeded), and says on stderr how many examples were cut to fit.
    ///
    /// # Errors
    /// As [`tokenize_aligned`].
    pub(super) fn load(config: &TrainConfig, tokenizer: &Tokenizer) -> Result<Self> {
        let examples = tokenize_aligned(&config.data, tokenizer, config.max_seq_len)?;
        let prompt_truncated = examples.iter().filter(|e| e.prompt_tokens_cut > 0).count();
        let target_truncated = examples.iter().filter(|e| e.target_tokens_cut > 0).count();
        let (train, valid) = split_valid(examples, config.valid_fraction, config.seed);
        if prompt_truncated + target_truncated > 0 {
            eprintln!(
                "train: {prompt_truncated} example(s) had their prompt shortened and \
                 {target_truncated} their target cut to fit max_seq_len = {}",
                config.max_seq_len
            );
        }
        let label_tokens: usize = train.iter().map(TrainExample::num_labels).sum();
        Ok(Self {
            train,
            valid,
            label_tokens,
            prompt_truncated,
            target_truncated,
        })
    }
}

/// Tokenizes every aligned record of every file in `paths` (chat template, completion
/// mask, cut to `max_seq_len` tokens).
///
/// # Errors
/// An unreadable or empty file, or a record that cannot be tokenized (named by file and
/// line).
pub fn tokenize_aligned(
    paths: &[PathBuf],
    tokenizer: &Tokenizer,
    max_seq_len: usize,
) -> Result<Vec<TrainExample>> {
    let mut examples = Vec::new();
    for path in paths {
        let records: Vec<Aligned> = read_jsonl(path)?;
        if records.is_empty() {
            bail!("{}: no aligned records", path.display());
        }
        for (i, r) in records.iter().enumerate() {
            let e = tokenize_pair(tokenizer, &r.id, &r.prompt, &r.target, max_seq_len)
                .with_context(|| format!("{} line {}", path.display(), i + 1))?;
            examples.push(e);
        }
    }
    Ok(examples)
}
