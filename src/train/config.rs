//! Training settings: one struct for the command line and the TOML config file
//! (`halt-llm train --config train.toml`), with the same field names in both.
//!
//! Defaults follow common SFT practice for small instruction models (AdamW, β = (0.9, 0.999),
//! weight decay 0.01, linear warm-up over 5% of the optimiser steps then cosine decay to 10%
//! of the peak rate, gradient-norm clipping at 1.0).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::backend::DeviceChoice;
use crate::model::config::LlamaConfig;
use crate::settings;

/// LoRA settings (Hu et al. 2021): a frozen base plus trainable `W + (α/r)·A·B` on the target
/// projections.
///
/// In a settings file only `rank` is needed: `alpha` left out is `2 × rank` and
/// `target_modules` left out are all projections, as with `--lora-rank` alone on the command
/// line ([`LoraSettings::with_rank`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "LoraFile")]
pub struct LoraSettings {
    /// Rank `r` of the low-rank update.
    pub rank: usize,
    /// Scaling numerator `α`; the update is scaled by `α / r`.
    pub alpha: f64,
    /// Module names to adapt (HF names: `q_proj`, `k_proj`, `v_proj`, `o_proj`, `gate_proj`,
    /// `up_proj`, `down_proj`).
    pub target_modules: Vec<String>,
}

/// [`LoraSettings`] as a settings file gives them: `alpha` and `target_modules` may be left
/// out.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoraFile {
    rank: usize,
    alpha: Option<f64>,
    target_modules: Option<Vec<String>>,
}

impl From<LoraFile> for LoraSettings {
    fn from(f: LoraFile) -> Self {
        let d = LoraSettings::with_rank(f.rank);
        LoraSettings {
            rank: f.rank,
            alpha: f.alpha.unwrap_or(d.alpha),
            target_modules: f.target_modules.unwrap_or(d.target_modules),
        }
    }
}

impl LoraSettings {
    /// Every linear projection of the decoder layers.
    pub const ALL_PROJECTIONS: [&'static str; 7] = [
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    ];

    /// Rank `r`, `α = 2r`, all projections.
    pub fn with_rank(rank: usize) -> Self {
        Self {
            rank,
            alpha: 2.0 * rank as f64,
            target_modules: Self::ALL_PROJECTIONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        }
    }

    /// Checks the rank ([`settings::lora_rank`]: 1 to 4096), α ([`settings::lora_alpha`]: in
    /// (0, 65536]) and the target modules (known, at least one, each once), with the
    /// [`settings`] rules.
    ///
    /// # Errors
    /// The first value out of range, named.
    pub fn validate(&self) -> Result<()> {
        settings::lora_rank("lora.rank", self.rank)?;
        settings::lora_alpha("lora.alpha", self.alpha)?;
        if self.target_modules.is_empty() {
            bail!("lora.target_modules is empty");
        }
        settings::distinct("target module", "lora.target_modules", &self.target_modules)?;
        for m in &self.target_modules {
            if !Self::ALL_PROJECTIONS.contains(&m.as_str()) {
                bail!(
                    "unknown LoRA target module `{m}`: expected some of {}",
                    Self::ALL_PROJECTIONS.join(", ")
                );
            }
        }
        Ok(())
    }
}

/// Everything that defines a finetuning run: one type for the library, the `--config` file of
/// `halt-llm train` and its flags (each flag, when given, replaces the file's value), and the
/// `[train]` table of `halt-llm run`. Serialized into the output folder (`train_config.toml`);
/// `--resume` refuses a folder whose recorded settings differ.
///
/// Four fields, [`TrainConfig::INPUTS`] (`data`, `model`, `seed`, `device`), say what is
/// trained and where, not how: `halt-llm run` fills them for each model it trains (its aligned
/// file, its model, seed and device), so its `[train]` table refuses them. `Default` is the
/// stage's own default (what `halt-llm train --print-config` shows: full finetuning);
/// [`TrainConfig::small_lora`] is the preset of `halt-llm run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// `Aligned` JSONL files (from `halt-llm align`); several files train one multi-domain
    /// model on their union.
    pub data: Vec<PathBuf>,
    /// The model to finetune: `default` (SmolLM2-135M-Instruct), a GGUF file or an HF folder.
    pub model: String,
    /// Passes over the training examples.
    pub epochs: usize,
    /// Peak learning rate (reached after warm-up).
    pub lr: f64,
    /// Final learning rate as a fraction of `lr` (end of the cosine decay).
    pub min_lr_ratio: f64,
    /// Fraction of the optimiser steps spent in linear warm-up from 0.
    pub warmup_ratio: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f32,
    /// AdamW β₁.
    pub beta1: f32,
    /// AdamW β₂.
    pub beta2: f32,
    /// AdamW ε.
    pub epsilon: f32,
    /// Gradient clipping: largest L2 norm of each parameter's gradient (burn clips per
    /// parameter tensor, not the global norm); `None` disables clipping.
    pub max_grad_norm: Option<f32>,
    /// Examples per micro-batch (one forward/backward pass).
    pub batch_size: usize,
    /// Micro-batches per optimiser step (gradient accumulation).
    pub grad_accum: usize,
    /// Longest training sequence in tokens (prompt + target + end token); longer examples
    /// lose tokens from the start of the prompt.
    pub max_seq_len: usize,
    /// Fraction of the examples held out for the validation loss (at least one example when
    /// there are two or more).
    pub valid_fraction: f64,
    /// Optimiser steps between checkpoints (and validation passes).
    pub checkpoint_every: usize,
    /// Seed for the validation split, the shuffling and the LoRA initialisation.
    pub seed: u64,
    /// LoRA instead of full finetuning.
    pub lora: Option<LoraSettings>,
    /// Compute device.
    #[serde(with = "device_serde")]
    pub device: DeviceChoice,
    /// Data-parallel training on several devices instead of `device`: two or more of `cpu`,
    /// `wgpu`, `wgpu:N` (the N-th discrete GPU), `cuda`, `cuda:N`; the first holds the model
    /// and steps the optimiser. Each micro-batch is split across them and their gradients
    /// summed there, so the update is the one device's update on the whole micro-batch (the
    /// loss normaliser counts the whole optimiser step's label tokens). Empty: `device` alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<String>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            data: Vec::new(),
            model: "default".into(),
            epochs: 3,
            lr: 5e-5,
            min_lr_ratio: 0.1,
            warmup_ratio: 0.05,
            weight_decay: 0.01,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            max_grad_norm: Some(1.0),
            batch_size: 4,
            grad_accum: 1,
            max_seq_len: 512,
            valid_fraction: 0.05,
            checkpoint_every: 50,
            seed: 0,
            lora: None,
            device: DeviceChoice::Cpu,
            devices: Vec::new(),
        }
    }
}

impl TrainConfig {
    /// The fields that are the job's inputs and device rather than how it trains (see
    /// [`TrainConfig`]); `halt-llm run` sets them itself.
    pub const INPUTS: [&'static str; 4] = ["data", "model", "seed", "device"];

    /// The preset of `halt-llm run`'s embedded default job, sized for six finetunings of a
    /// 135M model on a 2-core CPU: LoRA of rank 8 on every projection (α = 16) instead of full
    /// finetuning, a learning rate of 1e-3 (LoRA's usual order; 5e-5 is for full finetuning),
    /// micro-batches of 2 sequences of at most 256 tokens, no validation split (12 training
    /// prompts leave none to spare) and a checkpoint every 25 steps. Everything else as
    /// [`TrainConfig::default`].
    pub fn small_lora() -> Self {
        Self {
            lr: 1e-3,
            batch_size: 2,
            max_seq_len: 256,
            valid_fraction: 0.0,
            checkpoint_every: 25,
            lora: Some(LoraSettings::with_rank(8)),
            ..Self::default()
        }
    }

    /// Reads a TOML config file.
    ///
    /// # Errors
    /// Unreadable file, invalid TOML or an unknown field (named with its line).
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        crate::files::read_toml(path)
    }

    /// The config as TOML text.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("TrainConfig serializes to TOML")
    }

    /// Checks every setting; the message names the field.
    ///
    /// # Errors
    /// A value out of range.
    pub fn validate(&self) -> Result<()> {
        if self.data.is_empty() {
            bail!("no training data: pass at least one aligned JSONL file (`data`)");
        }
        settings::passes("epochs", self.epochs)?;
        settings::batch("batch_size", self.batch_size)?;
        settings::batch("grad_accum", self.grad_accum)?;
        settings::steps("checkpoint_every", self.checkpoint_every)?;
        settings::tokens("max_seq_len", self.max_seq_len, 8)?;
        settings::learning_rate("lr", self.lr)?;
        settings::seed("seed", self.seed)?;
        for (name, v) in [
            ("min_lr_ratio", self.min_lr_ratio),
            ("warmup_ratio", self.warmup_ratio),
            ("valid_fraction", self.valid_fraction),
        ] {
            settings::fraction(name, v)?;
        }
        settings::fraction_below_one("beta1", self.beta1)?;
        settings::fraction_below_one("beta2", self.beta2)?;
        settings::weight_decay("weight_decay", self.weight_decay)?;
        settings::epsilon("epsilon", self.epsilon)?;
        if let Some(n) = self.max_grad_norm {
            settings::max_grad_norm("max_grad_norm", n)?;
        }
        if let Some(l) = &self.lora {
            l.validate()?;
        }
        if !self.devices.is_empty() {
            crate::backend::check_device_specs(&self.devices).context("devices")?;
            if self.device != DeviceChoice::Cpu {
                bail!(
                    "device = \"{}\" and devices = {:?}: give one of them (the first of \
                     `devices` holds the model)",
                    self.device,
                    self.devices
                );
            }
        }
        Ok(())
    }

    /// Checks the settings against the configuration of the model to finetune, before its
    /// weights are loaded: `max_seq_len` fits its context ([`settings::fits_context`]), the
    /// LoRA rank is at most its hidden size ([`settings::lora_rank_fits`]) and a micro-batch
    /// fits in this machine's memory ([`settings::fits_memory`]).
    ///
    /// # Errors
    /// A setting the model cannot take, named.
    pub fn check_model(&self, model: &LlamaConfig) -> Result<()> {
        settings::fits_context(
            "max_seq_len",
            self.max_seq_len,
            model.max_position_embeddings,
        )?;
        if let Some(l) = &self.lora {
            settings::lora_rank_fits("lora.rank", l.rank, model.hidden_size)?;
        }
        settings::fits_memory(
            &[
                ("batch_size", self.batch_size),
                ("max_seq_len", self.max_seq_len),
            ],
            self.batch_size,
            self.max_seq_len,
            settings::Work::Training,
            model,
        )
    }

    /// Lays LoRA settings given on the command line over those of a settings file: a `rank`
    /// turns LoRA on (α = 2·rank unless given, or the file's α when the file has the same
    /// rank); `alpha` and `targets` change the LoRA settings in force.
    ///
    /// # Errors
    /// `alpha` or `targets` without LoRA (no `rank` and no `[lora]` table).
    pub fn overlay_lora(
        &mut self,
        rank: Option<usize>,
        alpha: Option<f64>,
        targets: Option<Vec<String>>,
    ) -> Result<()> {
        if let Some(rank) = rank {
            let mut l = self
                .lora
                .take()
                .unwrap_or_else(|| LoraSettings::with_rank(rank));
            if l.rank != rank {
                l.alpha = 2.0 * rank as f64;
            }
            l.rank = rank;
            self.lora = Some(l);
        }
        match self.lora.as_mut() {
            Some(l) => {
                if let Some(a) = alpha {
                    l.alpha = a;
                }
                if let Some(t) = targets {
                    l.target_modules = t;
                }
            }
            None if alpha.is_some() || targets.is_some() => {
                bail!(
                    "--lora-alpha/--lora-targets need --lora-rank (or a [lora] table in --config)"
                )
            }
            None => {}
        }
        Ok(())
    }

    /// The settings that change the result (everything but the devices), for `--resume`.
    pub fn identity(&self) -> Self {
        Self {
            device: DeviceChoice::Cpu,
            devices: Vec::new(),
            ..self.clone()
        }
    }
}

pub(crate) mod device_serde {
    use super::DeviceChoice;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &DeviceChoice, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DeviceChoice, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
