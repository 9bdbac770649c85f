//! Settings of `halt-llm run` (TOML, every field optional; the run folder keeps a copy as
//! `config.toml` and a rerun must match it).
//!
//! The defaults are the embedded default job: SmolLM2-135M-Instruct on easy maths problems
//! (at most two calculations), sized to finish on a 2-core CPU (see README for the measured
//! pretrained correctness that chose this domain and difficulty).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::backend::DeviceChoice;
use crate::dataset::judge::JudgeSettings;
use crate::dataset::record::{AlignMethod, NullPolicy};
use crate::dataset::{DATASETS_DIR, Domain};
use crate::settings;
use crate::train::{LoraSettings, TrainConfig};

/// Sampling of the pretrained model's few-shot responses (paper step 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SampleSettings {
    /// Responses per training prompt (N; 5 in the paper).
    pub n: usize,
    /// Softmax temperature.
    pub temperature: f32,
    /// Nucleus-sampling mass.
    pub top_p: f32,
    /// Most tokens per response.
    pub max_new_tokens: usize,
    /// Few-shot pairs before each prompt.
    pub shots: usize,
    /// Prompts per generation batch (each contributes N sequences).
    pub batch_prompts: usize,
}

impl Default for SampleSettings {
    fn default() -> Self {
        Self {
            n: 5,
            temperature: 0.7,
            top_p: 0.95,
            max_new_tokens: 96,
            shots: 4,
            batch_prompts: 12,
        }
    }
}

/// Finetuning of each model (one per α and per baseline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainSettings {
    /// Passes over the aligned records.
    pub epochs: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Examples per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimiser step.
    pub grad_accum: usize,
    /// Longest training sequence (tokens).
    pub max_seq_len: usize,
    /// LoRA rank; `None` finetunes every weight.
    pub lora_rank: Option<usize>,
    /// Fraction held out for the validation loss.
    pub valid_fraction: f64,
    /// Optimiser steps between checkpoints.
    pub checkpoint_every: usize,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            epochs: 3,
            lr: 1e-3,
            batch_size: 2,
            grad_accum: 1,
            max_seq_len: 256,
            lora_rank: Some(8),
            valid_fraction: 0.0,
            checkpoint_every: 25,
        }
    }
}

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
    /// Maths only: keep problems with at most this many calculations (`None`: all).
    pub max_calculations: Option<usize>,
    /// The thresholds α, one HALT model each (paper: 0.4, 0.6, 0.8).
    pub alphas: Vec<f64>,
    /// Baselines trained beside HALT (`unchanged`, `idk`, `random_trim`, `addon`).
    pub baselines: Vec<AlignMethod>,
    /// How undecided verdicts count.
    pub null_policy: NullPolicy,
    /// Sampling settings.
    pub sample: SampleSettings,
    /// Finetuning settings.
    pub train: TrainSettings,
    /// Most tokens per test answer.
    pub eval_max_new_tokens: usize,
    /// Test prompts per generation batch.
    pub eval_batch_size: usize,
    /// The judges: an optional LLM judge (book: "The LLM judge") and the
    /// code sandbox's limits.
    pub judge: JudgeSettings,
    /// Seed of sampling, alignment (RandomTrim), shuffling and LoRA initialisation.
    pub seed: u64,
    /// Compute device.
    #[serde(with = "crate::train::config::device_serde")]
    pub device: DeviceChoice,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            model: "default".into(),
            domain: Domain::Math,
            datasets: PathBuf::from(DATASETS_DIR),
            train_examples: 12,
            test_examples: 12,
            max_calculations: Some(2),
            alphas: vec![0.4, 0.6, 0.8],
            baselines: vec![
                AlignMethod::Unchanged,
                AlignMethod::Idk,
                AlignMethod::RandomTrim,
            ],
            null_policy: NullPolicy::Wrong,
            sample: SampleSettings::default(),
            train: TrainSettings::default(),
            eval_max_new_tokens: 96,
            eval_batch_size: 12,
            judge: JudgeSettings::default(),
            seed: 0,
            device: DeviceChoice::Cpu,
        }
    }
}

impl RunConfig {
    /// Reads a TOML file (fields left out keep their defaults).
    ///
    /// # Errors
    /// Unreadable file, invalid TOML, unknown field (named).
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        crate::files::read_toml(path)
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
        settings::at_least("train_examples", self.train_examples, 2)?;
        settings::at_least("test_examples", self.test_examples, 1)?;
        if let Some(c) = self.max_calculations {
            settings::at_least("max_calculations", c, 1)?;
        }
        if self.alphas.is_empty() && self.baselines.is_empty() {
            bail!("nothing to train: alphas and baselines are both empty");
        }
        settings::alphas(&self.alphas)?;
        for (i, b) in self.baselines.iter().enumerate() {
            if self.baselines[..i].contains(b) {
                bail!(
                    "baseline `{}` is listed twice in baselines",
                    crate::dataset::align_stage::method_name(*b)
                );
            }
        }
        let s = &self.sample;
        settings::at_least("sample.n", s.n, 1)?;
        settings::temperature(s.temperature)?;
        settings::top_p(s.top_p)?;
        settings::at_least("sample.max_new_tokens", s.max_new_tokens, 1)?;
        settings::at_least("sample.batch_prompts", s.batch_prompts, 1)?;
        settings::at_least("eval_max_new_tokens", self.eval_max_new_tokens, 1)?;
        settings::at_least("eval_batch_size", self.eval_batch_size, 1)?;
        self.judge.validate()?;
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
    /// `eval_max_new_tokens` must leave room for a prompt, `train.max_seq_len` must fit. Checked
    /// before any stage runs, so a budget too large fails at once, not after hours of work.
    ///
    /// # Errors
    /// A budget that does not fit (named), or a model whose configuration cannot be read.
    pub fn check_model(&self, model_path: &Path) -> Result<()> {
        let context = settings::model_context(model_path)?;
        settings::new_tokens("sample.max_new_tokens", self.sample.max_new_tokens, context)?;
        settings::new_tokens("eval_max_new_tokens", self.eval_max_new_tokens, context)?;
        settings::fits_context("train.max_seq_len", self.train.max_seq_len, context)
    }

    /// The finetuning settings of one model of the run, trained on `data`.
    pub fn train_config(&self, model_path: &Path, data: &Path) -> TrainConfig {
        let t = &self.train;
        TrainConfig {
            data: vec![data.to_path_buf()],
            model: model_path.display().to_string(),
            epochs: t.epochs,
            lr: t.lr,
            batch_size: t.batch_size,
            grad_accum: t.grad_accum,
            max_seq_len: t.max_seq_len,
            valid_fraction: t.valid_fraction,
            checkpoint_every: t.checkpoint_every,
            lora: t.lora_rank.map(LoraSettings::with_rank),
            seed: self.seed,
            device: self.device,
            ..TrainConfig::default()
        }
    }
}
