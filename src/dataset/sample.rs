//! The sample stage (paper §"Sample"): for each training example, N responses of the
//! pretrained model to the example's prompt behind a few-shot context, as [`Sampled`] records.
//!
//! Generation is batched: `batch_prompts` examples × N responses per call of
//! [`generate`](crate::generate::generate). Response `k` of the example at index `j` of the split is sampled with seed
//! `seed + j·N + k` ([`response_seed`]), so the responses do not depend on batching, on `--limit`
//! or on where a resumed run picked up.
//!
//! Progress advances after every decode step ([`Progress::partial`] with the batch's
//! [`DecodeProgress::fraction`](crate::generate::DecodeProgress::fraction)), not only when a
//! batch is written, so the bar moves and shows the time left from the first batch on.
//!
//! Each record keeps why every response ended ([`Sampled::finish`]): a response cut at
//! `max_new_tokens` ends in an unfinished fragment, which the judge stage leaves out.
//!
//! Before any sampling, every prompt of the job is checked to fit the model's context without
//! shots, with `max_new_tokens` ([`check_prompts_fit`]): a prompt that does not is an error
//! naming its file, example and token counts. When the few-shot prompt plus `max_new_tokens`
//! does not fit, the last shots are left out until it fits (a note says so).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::example::Example;
use super::fewshot::{PromptFormat, SHOTS, chat_messages, plain_text, shots_for};
use super::record::{Sampled, SamplingParams};
use crate::generate::{SamplingConfig, generate_with_progress};
use crate::model::load::LoadedModel;
use crate::stage::progress::Progress;
use crate::stage::{StageOptions, StageReport, run_stage};
use crate::tokenizer::Tokenizer;

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
    fn example(&self, id: &str) -> String {
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
fn prompt_ids(
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

impl SampleConfig {
    /// Checks the settings ([`SampleSettings::validate`]).
    ///
    /// # Errors
    /// The first value out of range, named.
    pub fn validate(&self) -> Result<()> {
        self.settings.validate()
    }

    /// The sampling settings recorded in each [`Sampled`] record.
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

/// The file beside the output `out` of `halt-llm sample` that records what its responses were
/// made with ([`made_with`]): `out` with `.made_with.json` appended
/// (`sampled.jsonl.made_with.json`).
pub fn made_with_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".made_with.json");
    out.with_file_name(name)
}

/// What the responses of a sample output depend on: the model (its
/// [`model_sha256`](crate::fetch::model_sha256); its name shown, not compared), the examples
/// file (`cfg.source.file`: its SHA-256; its path shown, not compared) and the settings that
/// change the responses (not `batch_prompts`, which does not, nor `--limit`).
///
/// # Errors
/// Unreadable model or examples files.
pub fn made_with(loaded: &LoadedModel, cfg: &SampleConfig) -> Result<serde_json::Value> {
    let data = cfg.source.file.as_deref();
    let s = &cfg.settings;
    Ok(serde_json::json!({
        "model": crate::fetch::model_name(&loaded.source),
        "model_sha256": crate::fetch::model_sha256(&loaded.source)?,
        "data": data.map(|p| p.display().to_string()),
        "data_sha256": data.map(crate::fetch::sha256_file).transpose()?,
        "n": s.n,
        // as written (`0.7`, not the f32's exact binary value)
        "temperature": as_written(s.temperature),
        "top_p": as_written(s.top_p),
        "max_new_tokens": s.max_new_tokens,
        "shots": s.shots,
        "format": s.format.as_str(),
        "seed": cfg.seed,
    }))
}

/// `x` as an f64 that prints as the f32 does (`0.7`, not `0.699999988079071`).
fn as_written(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::NAN)
}

/// Records in [`made_with_path`] what the responses in `out` are made with, or checks that a
/// rerun resuming `out` is made with the same model, examples file and settings: resuming with
/// another examples file would keep the old responses of every id the two share. Bound only
/// once `out` holds a response ([`check_made_with`](crate::files::check_made_with)). `halt-llm
/// sample` calls it before [`sample_stage`]; `halt-llm run` binds its sampling by its
/// `config.toml` instead.
///
/// # Errors
/// An output holding responses made with another model, another examples file or other
/// settings (each difference named); unreadable files.
pub fn check_made_with(loaded: &LoadedModel, cfg: &SampleConfig, out: &Path) -> Result<()> {
    crate::files::check_made_with(
        &made_with_path(out),
        &made_with(loaded, cfg)?,
        &["model", "data"],
        crate::files::holds_record(out),
    )
}

/// Samples `cfg.settings.n` responses for each of the first `cfg.limit` examples of `pool`
/// (the whole split, which is also the few-shot pool) and writes [`Sampled`] records to `out`,
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

/// Splits indices (ascending) into runs of consecutive values.
fn contiguous_runs(indices: &[usize]) -> Vec<Vec<usize>> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for &i in indices {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|&l| l + 1 == i) => run.push(i),
            _ => runs.push(vec![i]),
        }
    }
    runs
}

/// One generation batch: the examples `run` (consecutive indices) × N responses. Reports
/// progress after every decode step, as the examples' worth of work done in the chunk so far
/// (`before` examples of earlier batches of the chunk, plus this batch's share done).
#[allow(clippy::too_many_arguments)]
fn sample_run(
    loaded: &LoadedModel,
    device: &Device,
    pool: &[Example],
    run: &[usize],
    cfg: &SampleConfig,
    max_prompt: usize,
    progress: &Progress,
    before: usize,
) -> Result<Vec<Sampled>> {
    let mut prompts = Vec::with_capacity(run.len() * cfg.settings.n);
    for &i in run {
        let (ids, used) = few_shot_prompt(&loaded.tokenizer, pool, i, cfg, max_prompt)?;
        let wanted = cfg.settings.shots.min(pool.len().saturating_sub(1));
        if used < wanted {
            progress.note(&format!(
                "sample: `{}`: {used} of {wanted} shots fit in the context",
                pool[i].id
            ));
        }
        prompts.extend(std::iter::repeat_n(ids, cfg.settings.n));
    }
    let sampling = SamplingConfig {
        max_new_tokens: cfg.settings.max_new_tokens,
        temperature: cfg.settings.temperature,
        top_p: cfg.settings.top_p,
        // sequence s = (i - run[0])·n + k gets seed + run[0]·n + s = response_seed(i, k)
        seed: response_seed(cfg.seed, cfg.settings.n, run[0], 0),
        stop_strings: cfg.settings.format.stop_strings(),
    };
    let gens = generate_with_progress(
        &loaded.model,
        &loaded.tokenizer,
        &prompts,
        &sampling,
        |_, _| {},
        |step| progress.partial(before as f64 + step.fraction() * run.len() as f64),
        device,
    )
    .with_context(|| format!("sampling `{}`…", pool[run[0]].id))?;
    let mut gens = gens.into_iter();
    Ok(run
        .iter()
        .map(|&i| {
            let (responses, finish) = gens
                .by_ref()
                .take(cfg.settings.n)
                .map(|g| {
                    let text = match cfg.settings.format {
                        PromptFormat::Chat => g.text,
                        PromptFormat::Plain => g.text.trim().to_string(),
                    };
                    (text, g.finish)
                })
                .unzip();
            Sampled {
                id: pool[i].id.clone(),
                responses,
                model: cfg.model_name.clone(),
                sampling: cfg.params(),
                finish,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_by_hand() {
        // N = 5: example 0 uses 10..14, example 3 uses 10 + 15 .. 10 + 19
        assert_eq!(response_seed(10, 5, 0, 0), 10);
        assert_eq!(response_seed(10, 5, 0, 4), 14);
        assert_eq!(response_seed(10, 5, 3, 0), 25);
        assert_eq!(response_seed(10, 5, 3, 4), 29);
    }

    /// A maths example `math-s{i}` with `prompt`.
    fn example(i: usize, prompt: &str) -> Example {
        serde_json::from_value(serde_json::json!({
            "domain": "math",
            "id": format!("math-s{i}"),
            "prompt": prompt,
            "reference": "1+1 = 2\n#### 2",
            "ground_truth": {
                "answer": "2", "answer_expr": null,
                "calculations": [{"expr": "1+1", "step": 0, "value": "2"}],
                "generated": false, "instance": 0, "num_calculations": 1, "num_steps": 1,
                "source_index": i, "steps": ["1+1 = 2"], "template": format!("s{i}")
            }
        }))
        .unwrap()
    }

    /// Every prompt is checked before the first response: a prompt too long second in the
    /// split stops the stage before the first is sampled, and the message names the file, the
    /// example, the token counts, the context and the budget as the command names it.
    #[test]
    fn a_prompt_too_long_stops_the_stage_before_any_response() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let dev = crate::backend::device(crate::backend::DeviceChoice::Cpu).unwrap();
        let loaded =
            crate::model::load::load_model(&root.join("tests/fixtures/tiny-llama/hf"), &dev)
                .unwrap();
        let pool = vec![
            example(0, "hi"),
            example(1, &"a".repeat(300)),
            example(2, "hi"),
        ];
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("sampled.jsonl");
        let cfg = SampleConfig {
            settings: SampleSettings {
                n: 1,
                max_new_tokens: 4,
                shots: 0,
                batch_prompts: 1,
                ..SampleSettings::default()
            },
            quiet: true,
            source: PromptSource::new(std::path::Path::new("train.jsonl"), "--max-new-tokens"),
            ..SampleConfig::default()
        };
        let err = sample_stage(&loaded, &dev, &pool, &cfg, &out).unwrap_err();
        // by hand, chat format: `<|im_start|>` `user` (4) `\n`, 300 × `a`, `<|im_end|>` `\n`
        // `<|im_start|>` `assistant` (9) `\n`: 319 tokens
        assert_eq!(
            format!("{err:#}"),
            "train.jsonl: example `math-s1`: its prompt is 319 tokens; with 4 new tokens \
             (--max-new-tokens) it needs 323, more than the model's context length of 128 \
             tokens (max_position_embeddings): lower --max-new-tokens or shorten the prompt"
        );
        assert!(
            !crate::stage::partial_path(&out).exists(),
            "a response was written"
        );
        // the first alone fits
        let first = SampleConfig {
            limit: Some(1),
            ..cfg
        };
        assert_eq!(
            sample_stage(&loaded, &dev, &pool, &first, &out)
                .unwrap()
                .written,
            1
        );
    }

    #[test]
    fn runs_of_consecutive_indices() {
        assert_eq!(
            contiguous_runs(&[0, 1, 2, 5, 6, 9]),
            vec![vec![0, 1, 2], vec![5, 6], vec![9]]
        );
        assert!(contiguous_runs(&[]).is_empty());
    }
}
