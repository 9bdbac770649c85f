//! The answer stage of `halt-llm eval`: greedy zero-shot answers of a (finetuned) model to test
//! prompts, judged with the training data's fragmenter and judge, as [`Evaluated`](super::record::Evaluated) records.
//!
//! The prompt is the example's prompt alone (no shots; [`EvalConfig::shots`] > 0 puts that many
//! shots from [`EvalConfig::shot_pool`] before it, as the pretrained model's few-shot reference
//! point does), rendered as the sample stage renders it ([`few_shot_prompt`]): through the
//! model's chat template for
//! [`PromptFormat::Chat`], as `Q: …\nA:` for [`PromptFormat::Plain`]. Generation is greedy
//! (temperature 0), `batch_size` prompts per [`generate_with_progress`] call; the output is resumable and
//! atomic ([`run_stage`]: `OUT.partial`, renamed when complete). Before any answer, every
//! selected prompt is checked to fit the model's context with `max_new_tokens`
//! ([`check_prompts_fit`]).

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::answer::evaluate_answer;
use crate::dataset::domain::Domain;
use crate::dataset::example::Example;
use crate::dataset::fewshot::PromptFormat;
use crate::dataset::judge::{Judge, JudgeConfig, judge_for};
use crate::dataset::record::UNSURE_MARKER;
use crate::dataset::sample::{
    PromptSource, SampleConfig, SampleSettings, check_prompts_fit, few_shot_prompt,
};
use crate::generate::{SamplingConfig, generate_with_progress};
use crate::model::load::LoadedModel;
use crate::stage::{StageOptions, StageReport, run_stage};

/// The settings of the answer stage: one type for the library, the `[eval]` table of
/// `halt-llm run`, the `--config` file of `halt-llm eval` and its flags (each flag, when given,
/// replaces the file's value). `Default` is the stage's own default (what `halt-llm eval
/// --print-config` shows); [`EvalSettings::pipeline_default`] is the smaller preset of
/// `halt-llm run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvalSettings {
    /// Most tokens per answer.
    pub max_new_tokens: usize,
    /// Prompts per generation batch (and per output chunk).
    pub batch_size: usize,
    /// `chat` (the model's chat template; instruct and finetuned models) or `plain` (`Q:/A:`
    /// text; base models).
    #[serde(with = "crate::dataset::sample::format_serde")]
    pub format: PromptFormat,
}

impl Default for EvalSettings {
    fn default() -> Self {
        Self {
            max_new_tokens: 256,
            batch_size: 8,
            format: PromptFormat::Chat,
        }
    }
}

impl EvalSettings {
    /// The preset of `halt-llm run`'s embedded default job, sized to finish on a 2-core CPU:
    /// answers of at most 96 tokens, as its samples (the default job's maths problems have one
    /// or two calculations), and all 12 of its test prompts in one batch.
    pub fn pipeline_default() -> Self {
        Self {
            max_new_tokens: 96,
            batch_size: 12,
            ..Self::default()
        }
    }

    /// Checks the settings with the [`settings`](crate::settings) rules (the context length is
    /// checked by the stage, which knows the model).
    ///
    /// # Errors
    /// The first value out of range, named.
    pub fn validate(&self) -> Result<()> {
        crate::settings::tokens("max_new_tokens", self.max_new_tokens, 1)?;
        crate::settings::batch("batch_size", self.batch_size)
    }

    /// A batch against this machine's memory and the model of configuration `config`, before
    /// any work ([`settings::fits_generation`](crate::settings::fits_generation)): with
    /// `prompts` the number of prompts to answer, names prefixed with `prefix`.
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
            ("batch_size", self.batch_size),
            None,
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
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        crate::files::read_toml(path)
    }

    /// The settings as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("EvalSettings serializes to TOML")
    }
}

/// One answer-stage job: the [`EvalSettings`] and what is not a setting of the stage.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// The stage's settings.
    pub settings: EvalSettings,
    /// Only the first `limit` test examples (`None`: all).
    pub limit: Option<usize>,
    /// The abstention marker (default [`UNSURE_MARKER`]; `halt-llm run` uses the marker its
    /// aligned targets end with).
    pub marker: String,
    /// Print no progress.
    pub quiet: bool,
    /// Few-shot pairs before each prompt (0: zero-shot, as finetuned models are evaluated;
    /// `halt-llm run` sets it for the pretrained model's few-shot reference point).
    pub shots: usize,
    /// Where the shots come from (the training split; never the test prompts themselves).
    /// Empty: shots from the other evaluated examples.
    pub shot_pool: Vec<Example>,
    /// The test file and how the command names the budget: for messages, and the test file's
    /// SHA-256 in [`made_with`](super::evaluate::made_with).
    pub source: PromptSource,
}

impl Default for EvalConfig {
    fn default() -> Self {
        EvalConfig {
            settings: EvalSettings::default(),
            limit: None,
            marker: UNSURE_MARKER.into(),
            quiet: false,
            shots: 0,
            shot_pool: Vec::new(),
            source: PromptSource::default(),
        }
    }
}

impl EvalConfig {
    /// Checks the settings ([`EvalSettings::validate`]).
    ///
    /// # Errors
    /// The first value out of range, named.
    pub fn validate(&self) -> Result<()> {
        self.settings.validate()
    }

    /// The examples this configuration evaluates: the first `limit` of `examples`.
    pub fn selected<'a>(&self, examples: &'a [Example]) -> &'a [Example] {
        &examples[..self.limit.map_or(examples.len(), |l| l.min(examples.len()))]
    }
}

/// One judge per domain present in `examples`, each as [`judge_for`] builds it for the
/// training data.
pub fn judges_for(examples: &[Example], config: &JudgeConfig) -> HashMap<Domain, Box<dyn Judge>> {
    let mut judges = HashMap::new();
    for e in examples {
        judges
            .entry(e.domain())
            .or_insert_with(|| judge_for(e.domain(), config));
    }
    judges
}

/// Answers, judges and records each of the first `cfg.limit` examples, appending
/// [`Evaluated`](super::record::Evaluated) records to `out` and resuming an interrupted run (already recorded ids are
/// skipped).
///
/// Errors: a prompt that does not fit the context with `max_new_tokens` (every selected prompt
/// is checked before the first answer: [`check_prompts_fit`]), generation failures, judge
/// failures (naming the example).
pub fn answer_stage(
    loaded: &LoadedModel,
    device: &Device,
    examples: &[Example],
    cfg: &EvalConfig,
    judges: &JudgeConfig,
    out: &Path,
) -> Result<StageReport> {
    let ctx = loaded.model.config.max_position_embeddings;
    cfg.validate()?;
    let budget = &cfg.source.budget_setting;
    let max_prompt = crate::settings::new_tokens(budget, cfg.settings.max_new_tokens, ctx)?;
    let selected = cfg.selected(examples);
    crate::dataset::example::require_ground_truth(
        selected,
        crate::dataset::example::EVAL_NEEDS_GROUND_TRUTH,
    )?;
    check_prompts_fit(
        &loaded.tokenizer,
        selected,
        cfg.settings.format,
        cfg.settings.max_new_tokens,
        ctx,
        &cfg.source,
    )?;
    let judges = judges_for(selected, judges);
    let prompt_cfg = SampleConfig {
        settings: SampleSettings {
            shots: cfg.shots,
            format: cfg.settings.format,
            ..SampleSettings::default()
        },
        source: cfg.source.clone(),
        ..SampleConfig::default()
    };
    let prompt_for = |i: usize| -> Result<Vec<u32>> {
        let ids = if cfg.shots > 0 && !cfg.shot_pool.is_empty() {
            // the example last, so its shots come from the pool only
            // (the seed varies the shots from prompt to prompt)
            let mut pool = cfg.shot_pool.clone();
            pool.push(selected[i].clone());
            let per_prompt = SampleConfig {
                seed: i as u64,
                ..prompt_cfg.clone()
            };
            few_shot_prompt(
                &loaded.tokenizer,
                &pool,
                pool.len() - 1,
                &per_prompt,
                max_prompt,
            )?
        } else {
            few_shot_prompt(&loaded.tokenizer, selected, i, &prompt_cfg, max_prompt)?
        };
        Ok(ids.0)
    };
    let sampling = SamplingConfig {
        max_new_tokens: cfg.settings.max_new_tokens,
        temperature: 0.0,
        top_p: 1.0,
        seed: 0,
        stop_strings: cfg.settings.format.stop_strings(),
    };
    let items: Vec<(usize, &Example)> = selected.iter().enumerate().collect();
    let options = StageOptions {
        label: "eval".into(),
        chunk: cfg.settings.batch_size.max(1),
        quiet: cfg.quiet,
    };
    run_stage(
        out,
        &items,
        |(_, e)| e.id.as_str(),
        &options,
        |chunk, progress| {
            let prompts = chunk
                .iter()
                .map(|&&(i, _)| prompt_for(i))
                .collect::<Result<Vec<_>>>()?;
            let first = &chunk[0].1.id;
            // progress inside the chunk after every decode step, not only at its end
            let gens = generate_with_progress(
                &loaded.model,
                &loaded.tokenizer,
                &prompts,
                &sampling,
                |_, _| {},
                |step| progress.partial(step.fraction() * chunk.len() as f64),
                device,
            )
            .with_context(|| format!("answering `{first}`…"))?;
            chunk
                .iter()
                .zip(gens)
                .map(|(&&(_, ex), g)| {
                    let text = match cfg.settings.format {
                        PromptFormat::Chat => g.text,
                        PromptFormat::Plain => g.text.trim().to_string(),
                    };
                    let judge = &judges[&ex.domain()];
                    evaluate_answer(judge.as_ref(), ex, &text, g.finish, &cfg.marker)
                        .with_context(|| format!("judging the answer to `{}`", ex.id))
                })
                .collect()
        },
    )
}
