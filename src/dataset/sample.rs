//! The sample stage (paper §"Sample"): for each training example, N responses of the
//! pretrained model to the example's prompt behind a few-shot context, as [`Sampled`](super::record::Sampled) records.
//!
//! Generation is batched: `batch_prompts` examples × N responses per call of
//! [`generate`](crate::generate::generate). Response `k` of the example at index `j` of the split is sampled with seed
//! `seed + j·N + k` ([`response_seed`]), so the responses do not depend on batching, on `--limit`
//! or on where a resumed run picked up.
//!
//! Progress advances after every decode step ([`Progress::partial`](crate::stage::progress::Progress::partial) with the batch's
//! [`DecodeProgress::fraction`](crate::generate::DecodeProgress::fraction)), not only when a
//! batch is written, so the bar moves and shows the time left from the first batch on.
//!
//! Each record keeps why every response ended ([`Sampled::finish`](super::record::Sampled::finish)): a response cut at
//! `max_new_tokens` ends in an unfinished fragment, which the judge stage leaves out. It also
//! keeps the model's log-probability of every generated token and where the token ends in the
//! response ([`Sampled::token_logprobs`](super::record::Sampled::token_logprobs), [`Sampled::token_ends`](super::record::Sampled::token_ends)): the confidence signal of
//! [`token_confidence`](super::token_confidence).
//!
//! Before any sampling, every prompt of the job is checked to fit the model's context without
//! shots, with `max_new_tokens` ([`check_prompts_fit`]): a prompt that does not is an error
//! naming its file, example and token counts. When the few-shot prompt plus `max_new_tokens`
//! does not fit, the last shots are left out until it fits (a note says so).

use super::prompt_fit::prompt_ids;
pub use super::prompt_fit::{PromptSource, check_prompts_fit};

use std::path::Path;

use anyhow::{Result, bail};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::example::Example;
use super::fewshot::{PromptFormat, SHOTS, shots_for};
use super::record::SamplingParams;
use crate::model::load::LoadedModel;
use crate::stage::{StageOptions, StageReport, run_stage};
use crate::tokenizer::Tokenizer;

use super::sample_batch::{contiguous_runs, sample_run};
pub use super::sample_made_with::{check_made_with, made_with, made_with_path};

/// The settings of the sample stage: one type for the library, the `[sample]` table of
/// `halt-llm run`, the `--config` file of `halt-llm sample` and its flags (each flag, when
/// given, replaces the file's value). `Default` is the stage's own default (what `halt-llm
/// sample --print-config` shows); [`SampleSettings::pipeline_default`] is the smaller preset of
/// `halt-llm run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SampleSettings {
    /// Responses per example (N; 5 in the paper).
    pub n: usize,
    /// Softmax temperature.
    pub temperature: f32,
    /// Nucleus-sampling mass.
    pub top_p: f32,
    /// Most tokens per response.
    pub max_new_tokens: usize,
    /// Few-shot pairs before each prompt (4 in the paper).
    pub shots: usize,
    /// `chat` (the model's chat template; instruct models) or `plain` (`Q:/A:` text; base
    /// models).
    #[serde(with = "format_serde")]
    pub format: PromptFormat,
    /// Examples per generation batch (each contributes N sequences); one output chunk.
    pub batch_prompts: usize,
}

impl Default for SampleSettings {
    fn default() -> Self {
        Self {
            n: 5,
            temperature: 0.7,
            top_p: 0.95,
            max_new_tokens: 256,
            shots: SHOTS,
            format: PromptFormat::Chat,
            batch_prompts: 4,
        }
    }
}

impl SampleSettings {
    /// The preset of `halt-llm run`'s embedded default job, sized to finish on a 2-core CPU:
    /// responses of at most 96 tokens (the default job's maths problems have one or two
    /// calculations) and all 12 of its training prompts in one batch of 60 sequences.
    /// Everything else as [`SampleSettings::default`].
    pub fn pipeline_default() -> Self {
        Self {
            max_new_tokens: 96,
            batch_prompts: 12,
            ..Self::default()
        }
    }

    /// Checks the settings with the [`settings`](crate::settings) rules (the context length is
    /// checked by [`sample_stage`], which knows the model).
    ///
    /// # Errors
    /// The first value out of range, named.
    pub fn validate(&self) -> Result<()> {
        use crate::settings;
        settings::samples("n", self.n)?;
        settings::temperature(self.temperature)?;
        settings::top_p(self.top_p)?;
        settings::tokens("max_new_tokens", self.max_new_tokens, 1)?;
        settings::shots("shots", self.shots)?;
        settings::batch("batch_prompts", self.batch_prompts)
    }

    /// A batch against this machine's memory and the model of configuration `config`, before
    /// any work ([`settings::fits_generation`](crate::settings::fits_generation)): with
    /// `prompts` the number of prompts to sample, names prefixed with `prefix`.
    ///
    /// # Errors
    /// A batch larger than the machine's memory, its settings named.
    pub fn check_memory(
        &self,
        prefix: &str,
        config: &crate::model::config::LlamaConfig,
        prompts: Option<usize>,
    ) -> Result<()> {
        crate::settings::fits_generation(
            prefix,
            ("batch_prompts", self.batch_prompts),
            Some(self.n),
            self.max_new_tokens,
            prompts,
            crate::generate::PREFILL_CHUNK,
            config,
        )
    }

    /// Reads a TOML file of these settings (fields left out keep their defaults).
    ///
    /// # Errors
    /// Unreadable file, invalid TOML, an unknown field (named).
    pub fn from_toml_file(path: &std::path::Path) -> Result<Self> {
        crate::files::read_toml(path)
    }

    /// The settings as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("SampleSettings serializes to TOML")
    }
}

/// `PromptFormat` by its command-line name (`chat`, `plain`).
pub(crate) mod format_serde {
    use super::PromptFormat;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(f: &PromptFormat, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(f.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PromptFormat, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One sampling job: the [`SampleSettings`] and what is not a setting of the stage.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleConfig {
    /// The stage's settings.
    pub settings: SampleSettings,
    /// Base seed of the sampler and of the few-shot choice (`halt-llm run`: the run's `seed`,
    /// shared by every stage; `halt-llm sample`: `--seed`).
    pub seed: u64,
    /// Only the first `limit` examples of the split (`None`: all).
    pub limit: Option<usize>,
    /// The model name written into the records.
    pub model_name: String,
    /// Print no progress.
    pub quiet: bool,
    /// Where the examples come from and how the command names the budget (for messages).
    pub source: PromptSource,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            settings: SampleSettings::default(),
            seed: 0,
            limit: None,
            model_name: "unknown".into(),
            quiet: false,
            source: PromptSource::default(),
        }
    }
}

impl SampleConfig {
    /// Checks the settings ([`SampleSettings::validate`]).
    ///
    /// # Errors
    /// The first value out of range, named.
    pub fn validate(&self) -> Result<()> {
        self.settings.validate()
    }

    /// The sampling settings recorded in each [`Sampled`](super::record::Sampled) record.
    pub fn params(&self) -> SamplingParams {
        SamplingParams {
            temperature: self.settings.temperature,
            top_p: self.settings.top_p,
            seed: self.seed,
            max_new_tokens: self.settings.max_new_tokens,
        }
    }
}

/// Seed of response `k` of the example at index `index` of the split: `seed + index·n + k`.
pub fn response_seed(seed: u64, n: usize, index: usize, k: usize) -> u64 {
    seed.wrapping_add((index * n + k) as u64)
}

/// The token ids of the few-shot prompt of `pool[index]`, with as many of `cfg.settings.shots`
/// shots as fit in `max_prompt_tokens`; returns the ids and the number of shots used.
///
/// Errors: the prompt does not fit even without shots; tokenizer or template failures.
pub fn few_shot_prompt(
    tokenizer: &Tokenizer,
    pool: &[Example],
    index: usize,
    cfg: &SampleConfig,
    max_prompt_tokens: usize,
) -> Result<(Vec<u32>, usize)> {
    let example = &pool[index];
    let shots = shots_for(pool, index, cfg.settings.shots, cfg.seed);
    for used in (0..=shots.len()).rev() {
        let ids = prompt_ids(
            tokenizer,
            &shots[..used],
            &example.prompt,
            cfg.settings.format,
        )?;
        if ids.len() <= max_prompt_tokens {
            return Ok((ids, used));
        }
    }
    bail!(
        "{}: its prompt alone does not fit in {max_prompt_tokens} tokens (the context minus \
         {}); lower {}",
        cfg.source.example(&example.id),
        cfg.source.budget_setting,
        cfg.source.budget_setting
    )
}

/// Samples `cfg.settings.n` responses for each of the first `cfg.limit` examples of `pool`
/// (the whole split, which is also the few-shot pool) and writes [`Sampled`](super::record::Sampled) records to `out`,
/// resuming a previous run (see [`run_stage`]).
///
/// # Errors
/// Invalid settings; a prompt that does not fit the context with `max_new_tokens`
/// ([`check_prompts_fit`], before any sampling); generation failures; I/O errors.
pub fn sample_stage(
    loaded: &LoadedModel,
    device: &Device,
    pool: &[Example],
    cfg: &SampleConfig,
    out: &Path,
) -> Result<StageReport> {
    cfg.validate()?;
    let ctx = loaded.model.config.max_position_embeddings;
    let budget = &cfg.source.budget_setting;
    let max_prompt = crate::settings::new_tokens(budget, cfg.settings.max_new_tokens, ctx)?;
    let count = cfg.limit.map_or(pool.len(), |l| l.min(pool.len()));
    check_prompts_fit(
        &loaded.tokenizer,
        &pool[..count],
        cfg.settings.format,
        cfg.settings.max_new_tokens,
        ctx,
        &cfg.source,
    )?;
    if cfg.settings.shots > 0 && !pool.iter().any(Example::has_ground_truth) && !cfg.quiet {
        eprintln!(
            "sample: no example of the split has a reference (prompts alone): sampling zero-shot"
        );
    }
    let items: Vec<(usize, &Example)> = pool[..count].iter().enumerate().collect();
    let options = StageOptions {
        label: "sample".into(),
        chunk: cfg.settings.batch_prompts,
        quiet: cfg.quiet,
    };
    run_stage(
        out,
        &items,
        |(_, e)| e.id.as_str(),
        &options,
        |chunk, progress| {
            let mut records = Vec::with_capacity(chunk.len());
            let indices: Vec<usize> = chunk.iter().map(|(i, _)| *i).collect();
            for run in contiguous_runs(&indices) {
                let before = records.len();
                records.extend(sample_run(
                    loaded, device, pool, &run, cfg, max_prompt, progress, before,
                )?);
            }
            Ok(records)
        },
    )
}

/// Prompt length (tokens) from which [`sample_stage`] says that it reads the prompts before
/// its first progress report (a prefill that can take minutes on a CPU).
pub const LONG_PREFILL_TOKENS: usize = 1024;

#[cfg(test)]
#[path = "sample_tests.rs"]
mod tests;
