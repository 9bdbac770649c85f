//! Settings of `halt-llm run` (TOML, every field optional; the run folder keeps a copy as
//! `config.toml` and a rerun must match it).
//!
//! The defaults are the embedded default job: SmolLM2-135M-Instruct on easy maths problems
//! (at most two calculations), sized to finish on a 2-core CPU (see README for the measured
//! pretrained correctness that chose this domain and difficulty).

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::backend::DeviceChoice;
use crate::dataset::record::{AlignMethod, NullPolicy};
use crate::dataset::{DATASETS_DIR, Domain};

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

    /// Checks the settings.
    ///
    /// # Errors
    /// A value out of range, naming the field.
    pub fn validate(&self) -> Result<()> {
        if self.train_examples < 2 || self.test_examples == 0 {
            bail!("train_examples must be at least 2 and test_examples at least 1");
        }
        if self.sample.n == 0 {
            bail!("sample.n must be at least 1");
        }
        if self.alphas.is_empty() && self.baselines.is_empty() {
            bail!("nothing to train: alphas and baselines are both empty");
        }
        if let Some(a) = self.alphas.iter().find(|a| !(0.0..=1.0).contains(*a)) {
            bail!("alpha {a} is not in [0, 1]");
        }
        if self.baselines.contains(&AlignMethod::Halt) {
            bail!("`halt` is not a baseline; list its thresholds in `alphas`");
        }
        Ok(())
    }
}
