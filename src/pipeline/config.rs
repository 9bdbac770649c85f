//! Settings of `halt-llm run` (TOML, every field optional; the run folder keeps a copy as
//! `config.toml` and a rerun must match it).
//!
//! The defaults are the embedded default job: SmolLM2-135M-Instruct on easy maths problems
//! (at most two calculations), sized to finish on a 2-core CPU (see README for the measured
//! pretrained correctness that chose this domain and difficulty).
//!
//! The tables `[sample]`, `[train]` and `[eval]` are the stages' own settings types
//! ([`SampleSettings`], [`TrainConfig`], [`EvalSettings`]: the same fields as `halt-llm sample`,
//! `train` and `eval` take in their `--config` files). A key left out of a table takes the
//! value of the run's preset ([`SampleSettings::pipeline_default`], [`TrainConfig::small_lora`],
//! [`EvalSettings::pipeline_default`]), not the stage command's default. Files written before
//! these tables were the stages' types still read the same: `[train] lora_rank = R` is
//! `[train.lora]` of rank R (α = 2R, every projection), and the top-level
//! `eval_max_new_tokens` / `eval_batch_size` are `[eval] max_new_tokens` / `batch_size`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::backend::DeviceChoice;
use crate::dataset::example::Example;
use crate::dataset::judge::JudgeSettings;
use crate::dataset::record::{AlignMethod, NullPolicy};
use crate::dataset::sample::{PromptSource, SampleSettings, check_prompts_fit};
use crate::dataset::{DATASETS_DIR, Domain, Split};
use crate::eval::answer_stage::EvalSettings;
use crate::settings;
use crate::tokenizer::Tokenizer;
use crate::train::TrainConfig;

/// Everything `halt-llm run` does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// The pretrained model: `default`, a GGUF file or an HF folder.
    pub model: String,
    /// The domain of the ground-truth data.
    pub domain: Domain,
    /// Folder with `<domain>/{train,test}.jsonl`.
    pub datasets: PathBuf,
    /// Training prompts used (the first ones that pass the difficulty filter).
    pub train_examples: usize,
    /// Held-out test prompts evaluated.
    pub test_examples: usize,
    /// The split the test prompts come from: `test`, or `validation` to choose settings
    /// (learning rate, epochs, …) on held-out prompts without looking at the test set
    /// (datasets that have a `validation.jsonl`, such as the generated chains).
    pub test_split: Split,
    /// Maths only: keep problems with at most this many calculations (`None`: all).
    pub max_calculations: Option<usize>,
    /// The thresholds α, one HALT model each (paper: 0.4, 0.6, 0.8).
    pub alphas: Vec<f64>,
    /// Baselines trained beside HALT (`unchanged`, `idk`, `random_trim`, `addon`) and the
    /// control `own_best` (the best sample kept whole).
    pub baselines: Vec<AlignMethod>,
    /// HALT models trained on reference-free labels (agreement across each prompt's samples,
    /// book: "Labels without ground truth") at these α, named `halt-rf-<α>`, beside the
    /// ground-truth ones (default: none).
    pub reference_free_alphas: Vec<f64>,
    /// Reference-free labels: a fragment is correct when at least this many of the other
    /// samples contain it.
    pub min_support: usize,
    /// How undecided verdicts count.
    pub null_policy: NullPolicy,
    /// Sampling settings (the run's seed is [`RunConfig::seed`]).
    #[serde(with = "tables::sample_table")]
    pub sample: SampleSettings,
    /// Finetuning settings of every model of the run, without [`TrainConfig::INPUTS`]: the run
    /// sets those itself ([`RunConfig::train_config`]).
    #[serde(with = "tables::train_table")]
    pub train: TrainConfig,
    /// Evaluation settings of every model of the run, the pretrained one included.
    #[serde(with = "tables::eval_table")]
    pub eval: EvalSettings,
    /// The judges: an optional LLM judge (book: "The LLM judge") and the
    /// code sandbox's limits.
    pub judge: JudgeSettings,
    /// Seed of sampling, alignment (RandomTrim), shuffling and LoRA initialisation.
    pub seed: u64,
    /// Compute device.
    #[serde(with = "crate::train::config::device_serde")]
    pub device: DeviceChoice,
    /// Former name of `eval.max_new_tokens`, read from older files (never written).
    #[serde(default, skip_serializing)]
    eval_max_new_tokens: Option<usize>,
    /// Former name of `eval.batch_size`, read from older files (never written).
    #[serde(default, skip_serializing)]
    eval_batch_size: Option<usize>,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            model: "default".into(),
            domain: Domain::Math,
            datasets: PathBuf::from(DATASETS_DIR),
            train_examples: 12,
            test_examples: 12,
            test_split: Split::Test,
            max_calculations: Some(2),
            alphas: vec![0.4, 0.6, 0.8],
            baselines: vec![
                AlignMethod::Unchanged,
                AlignMethod::Idk,
                AlignMethod::RandomTrim,
            ],
            reference_free_alphas: Vec::new(),
            min_support: crate::dataset::agreement::DEFAULT_MIN_SUPPORT,
            null_policy: NullPolicy::Wrong,
            sample: SampleSettings::pipeline_default(),
            train: TrainConfig::small_lora(),
            eval: EvalSettings::pipeline_default(),
            judge: JudgeSettings::default(),
            seed: 0,
            device: DeviceChoice::Cpu,
            eval_max_new_tokens: None,
            eval_batch_size: None,
        }
    }
}

impl RunConfig {
    /// The settings that change results: the same, with the devices (`device`,
    /// `[train] devices`) cleared, since they change results only by rounding.
    pub fn identity(&self) -> Self {
        let mut c = self.clone();
        c.device = DeviceChoice::Cpu;
        c.train.devices.clear();
        c
    }

    /// Reads a TOML file (fields left out keep their defaults).
    ///
    /// # Errors
    /// Unreadable file, invalid TOML, unknown field (named).
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let mut c: Self = crate::files::read_toml(path)?;
        c.fold_former_names()
            .with_context(|| format!("parsing {}", path.display()))?;
        Ok(c)
    }

    /// Parses TOML text (as [`RunConfig::from_toml_file`]).
    ///
    /// # Errors
    /// Invalid TOML, an unknown field (named), a value given under its former and its current
    /// name.
    pub fn from_toml(text: &str) -> Result<Self> {
        let mut c: Self = toml::from_str(text)?;
        c.fold_former_names()?;
        Ok(c)
    }

    /// Moves the values of the former top-level `eval_max_new_tokens` / `eval_batch_size`
    /// into `[eval]`.
    fn fold_former_names(&mut self) -> Result<()> {
        for (former, value, field, current) in [
            (
                "eval_max_new_tokens",
                self.eval_max_new_tokens.take(),
                "max_new_tokens",
                &mut self.eval.max_new_tokens,
            ),
            (
                "eval_batch_size",
                self.eval_batch_size.take(),
                "batch_size",
                &mut self.eval.batch_size,
            ),
        ] {
            if let Some(v) = value {
                if *current != v && *current != field_preset(field) {
                    bail!("{former} (the former name of eval.{field}) and eval.{field} differ");
                }
                *current = v;
            }
        }
        Ok(())
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("RunConfig serializes to TOML")
    }

    /// Checks the settings with the [`settings`] rules (the same as the stage commands and
    /// their TOML files); [`RunConfig::check_model`] checks them against the model.
    ///
    /// # Errors
    /// A value out of range, naming the field.
    pub fn validate(&self) -> Result<()> {
        settings::examples("train_examples", self.train_examples, 2)?;
        settings::examples("test_examples", self.test_examples, 1)?;
        if self.test_split == Split::Train {
            bail!("test_split = \"train\": the test prompts must be held out (test or validation)");
        }
        if let Some(c) = self.max_calculations {
            settings::count("max_calculations", c, 1)?;
        }
        if self.alphas.is_empty()
            && self.baselines.is_empty()
            && self.reference_free_alphas.is_empty()
        {
            bail!("nothing to train: alphas, baselines and reference_free_alphas are all empty");
        }
        settings::alphas("alphas", &self.alphas)?;
        settings::alphas("reference_free_alphas", &self.reference_free_alphas)
            .context("reference_free_alphas")?;
        if !self.reference_free_alphas.is_empty() {
            crate::dataset::agreement::check_min_support(self.min_support, self.sample.n)
                .context("min_support (with sample.n)")?;
        }
        for (i, b) in self.baselines.iter().enumerate() {
            if self.baselines[..i].contains(b) {
                bail!(
                    "baseline `{}` is listed twice in baselines",
                    crate::dataset::align_stage::method_name(*b)
                );
            }
        }
        if self.eval_max_new_tokens.is_some() || self.eval_batch_size.is_some() {
            bail!("eval_max_new_tokens / eval_batch_size are read only from files: use [eval]");
        }
        self.sample.validate().context("sample")?;
        self.eval.validate().context("eval")?;
        self.judge.validate()?;
        if self.domain == Domain::Code {
            self.judge.check_interpreter()?;
        }
        self.train_config(Path::new(&self.model), Path::new("aligned.jsonl"))
            .validate()
            .context("train")?;
        if self.baselines.contains(&AlignMethod::Halt) {
            bail!("`halt` is not a baseline; list its thresholds in `alphas`");
        }
        Ok(())
    }

    /// The token budgets against the context length of the model at `model_path`
    /// ([`settings::model_context`]; the weights are not loaded): `sample.max_new_tokens` and
    /// `eval.max_new_tokens` must leave room for a prompt, `train.max_seq_len` must fit; and the
    /// batches of sampling, evaluation and training must fit in this machine's memory
    /// ([`settings::fits_memory`]). Checked before any stage runs, so a budget too large fails
    /// at once, not after hours of work.
    ///
    /// # Errors
    /// A budget that does not fit (named), or a model whose configuration cannot be read.
    pub fn check_model(&self, model_path: &Path) -> Result<()> {
        let config = settings::model_config(model_path)?;
        let context = config.max_position_embeddings;
        settings::new_tokens("sample.max_new_tokens", self.sample.max_new_tokens, context)?;
        settings::new_tokens("eval.max_new_tokens", self.eval.max_new_tokens, context)?;
        if let Some(l) = &self.train.lora {
            settings::lora_rank_fits("train.lora.rank", l.rank, config.hidden_size)?;
        }
        settings::fits_context("train.max_seq_len", self.train.max_seq_len, context)?;
        self.sample.check_memory("sample.", &config, None)?;
        self.eval.check_memory("eval.", &config, None)?;
        let (batch, seq) = (self.train.batch_size, self.train.max_seq_len);
        settings::fits_memory(
            &[("train.batch_size", batch), ("train.max_seq_len", seq)],
            batch,
            seq,
            settings::Work::Training,
            &config,
        )
    }

    /// Every prompt of the run against the context of the model at `model_path` (its
    /// configuration and tokenizer; the weights are not loaded): each training prompt with
    /// `[sample] max_new_tokens` in the `[sample]` format, each test prompt with `[eval]
    /// max_new_tokens` in the `[eval]` format ([`check_prompts_fit`]). Checked before any
    /// stage runs, with `train` and `test` the run's examples and the files they were read
    /// from, so a prompt too long fails at once, not when its stage reaches it.
    ///
    /// # Errors
    /// The first prompt that does not fit (its file, example, token counts, the context and
    /// the `[sample]` or `[eval]` setting named); an unreadable model configuration or
    /// tokenizer.
    pub fn check_prompts(
        &self,
        model_path: &Path,
        train: (&Path, &[Example]),
        test: (&Path, &[Example]),
    ) -> Result<()> {
        let context = settings::model_context(model_path)?;
        let tokenizer = tokenizer_of(model_path)?;
        for ((file, examples), format, max_new_tokens, setting) in [
            (
                train,
                self.sample.format,
                self.sample.max_new_tokens,
                super::run::SAMPLE_BUDGET,
            ),
            (
                test,
                self.eval.format,
                self.eval.max_new_tokens,
                super::run::EVAL_BUDGET,
            ),
        ] {
            check_prompts_fit(
                &tokenizer,
                examples,
                format,
                max_new_tokens,
                context,
                &PromptSource::new(file, setting),
            )?;
        }
        Ok(())
    }

    /// The finetuning job of one model of the run, trained on `data`: the `[train]` settings
    /// with the run's model, seed and device.
    pub fn train_config(&self, model_path: &Path, data: &Path) -> TrainConfig {
        TrainConfig {
            data: vec![data.to_path_buf()],
            model: model_path.display().to_string(),
            seed: self.seed,
            device: self.device,
            ..self.train.clone()
        }
    }
}

/// The tokenizer (and chat template) of the model at `path`, without its weights: from a
/// Hugging Face folder's tokenizer files, or from a GGUF file's metadata.
///
/// # Errors
/// Unreadable or malformed files.
fn tokenizer_of(path: &Path) -> Result<Tokenizer> {
    if path.is_dir() {
        return Tokenizer::from_hf_dir(path);
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let g = crate::model::load::gguf::parse(&bytes, path)?;
    Tokenizer::from_gguf(&g).with_context(|| format!("tokenizer of {}", path.display()))
}

/// The preset value of an `[eval]` field (to tell a key left out from one given).
fn field_preset(field: &str) -> usize {
    let p = EvalSettings::pipeline_default();
    match field {
        "max_new_tokens" => p.max_new_tokens,
        _ => p.batch_size,
    }
}

mod tables;

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
