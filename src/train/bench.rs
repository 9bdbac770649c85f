//! Training throughput: optimiser steps of full finetuning or LoRA, timed after a warm-up
//! step, with the process's peak resident memory. Run one configuration per process: peak
//! RSS is a process-wide high-water mark.
//!
//! Two workloads: synthetic batches of a fixed sequence length with every position
//! supervised (comparable with other frameworks), or real HALT-aligned records (`data`),
//! batched as `halt-llm train` batches them (length-grouped micro-batches, completion-only
//! loss), where throughput is reported over all real tokens and over label tokens.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use burn::optim::GradientsParams;
use burn::tensor::Device;
use serde::Serialize;

use super::adamw::{AdamWSettings, FusedAdamW};
use super::batch::make_batch;
use super::config::LoraSettings;
use super::example::TrainExample;
use super::finetune::tokenize_aligned;
use super::lora::apply_lora;
use super::plan::TrainPlan;
use crate::bench::peak_rss_mib;
use crate::model::config::LlamaConfig;
use crate::model::llama::Llama;
use crate::tokenizer::Tokenizer;

/// What to measure.
#[derive(Debug, Clone)]
pub struct TrainBenchConfig {
    /// Sequences per optimiser step.
    pub batch: usize,
    /// Tokens per sequence (synthetic batches), or the most tokens per example (`data`).
    pub seq_len: usize,
    /// Timed optimiser steps (after one untimed warm-up step).
    pub steps: usize,
    /// LoRA instead of full finetuning.
    pub lora: Option<LoraSettings>,
    /// Aligned JSONL files to train on instead of synthetic batches.
    pub data: Vec<PathBuf>,
}

/// Measured figures.
#[derive(Debug, Clone, Serialize)]
pub struct TrainBenchReport {
    /// `full` or `lora-r{rank}`.
    pub mode: String,
    /// `synthetic` or the data files.
    pub workload: String,
    /// Sequences per step.
    pub batch: usize,
    /// Tokens per sequence (synthetic) or the cut-off length (data).
    pub seq_len: usize,
    /// Mean seconds per optimiser step (forward, backward, AdamW update).
    pub seconds_per_step: f64,
    /// Input tokens per second, padding excluded.
    pub tokens_per_s: f64,
    /// Label (supervised) tokens per second.
    pub label_tokens_per_s: f64,
    /// Peak resident memory of the process (MiB), Linux only.
    pub peak_rss_mib: Option<f64>,
}

impl TrainBenchConfig {
    /// Checks the settings with the [`settings`](crate::settings) rules and that every data
    /// file exists, before the model is loaded (the context length is checked by [`bench_training`]).
    ///
    /// # Errors
    /// The first value out of range, named; a missing data file.
    pub fn validate(&self) -> Result<()> {
        use crate::settings;
        settings::batch("batch_size", self.batch)?;
        settings::tokens("seq_len", self.seq_len, 2)?;
        settings::steps("steps", self.steps)?;
        if let Some(l) = &self.lora {
            l.validate()?;
        }
        if let Some(missing) = self.data.iter().find(|p| !p.is_file()) {
            bail!("data file {} does not exist", missing.display());
        }
        Ok(())
    }

    /// Checks the settings against the configuration of the model, before its weights load:
    /// `seq_len` fits its context, the LoRA rank its hidden size, and a step this machine's
    /// memory ([`settings::fits_memory`](crate::settings::fits_memory)).
    ///
    /// # Errors
    /// The first setting the model or the machine cannot take, named.
    pub fn check_model(&self, config: &LlamaConfig) -> Result<()> {
        use crate::settings;
        settings::fits_context("seq_len", self.seq_len, config.max_position_embeddings)?;
        if let Some(l) = &self.lora {
            settings::lora_rank_fits("lora.rank", l.rank, config.hidden_size)?;
        }
        settings::fits_memory(
            &[("batch_size", self.batch), ("seq_len", self.seq_len)],
            self.batch,
            self.seq_len,
            settings::Work::Training,
            config,
        )
    }
}

/// Runs the benchmark on `model` (loaded on `device.autodiff()`).
///
/// # Errors
/// Zero batch, steps or a sequence shorter than 2 tokens; LoRA settings errors; unreadable
/// data files.
pub fn bench_training(
    model: Llama,
    tokenizer: &Tokenizer,
    cfg: &TrainBenchConfig,
    device: &Device,
) -> Result<TrainBenchReport> {
    cfg.validate()?;
    cfg.check_model(&model.config)?;
    let vocab = model.config.vocab_size as u32;
    let (mut model, mode) = match &cfg.lora {
        Some(l) => (apply_lora(model, l)?.0, format!("lora-r{}", l.rank)),
        None => (model, "full".to_string()),
    };
    // One micro-batch per optimiser step: the warm-up step, then `steps` timed ones.
    let batches: Vec<Vec<TrainExample>> = if cfg.data.is_empty() {
        let items: Vec<TrainExample> = (0..cfg.batch)
            .map(|b| TrainExample {
                id: format!("bench{b}"),
                input_ids: (0..=cfg.seq_len as u32)
                    .map(|i| (i * 7919 + b as u32 * 104_729) % vocab)
                    .collect(),
                label_mask: vec![true; cfg.seq_len + 1],
                prompt_tokens_cut: 0,
                target_tokens_cut: 0,
            })
            .collect();
        vec![items; cfg.steps + 1]
    } else {
        let examples = tokenize_aligned(&cfg.data, tokenizer, cfg.seq_len)?;
        let epochs = ((cfg.steps + 1) * cfg.batch).div_ceil(examples.len()) + 1;
        let plan = TrainPlan::new(&examples, epochs, cfg.batch, 1, usize::MAX, 0);
        plan.steps
            .iter()
            .flatten()
            .take(cfg.steps + 1)
            .map(|m| m.examples.iter().map(|&i| examples[i].clone()).collect())
            .collect()
    };
    let mut optim = FusedAdamW::module_optimizer(AdamWSettings::default(), None);
    let mut step = |model: Llama, items: &[TrainExample]| -> Llama {
        let batch = make_batch(items, device);
        let (loss, _) = model.step_loss(&batch);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        optim.step(1e-5, model, grads)
    };
    model = step(model, &batches[0]);
    let timed = &batches[1..];
    let start = Instant::now();
    for items in timed {
        model = step(model, items);
    }
    // Read one weight back so lazy backends finish the work being timed.
    let _ = model.norm.gamma.val().into_data();
    let seconds = start.elapsed().as_secs_f64();
    let tokens: usize = timed.iter().flatten().map(|e| e.input_ids.len() - 1).sum();
    let labels: usize = timed
        .iter()
        .flatten()
        .map(|e| e.label_mask[1..].iter().filter(|&&m| m).count())
        .sum();
    Ok(TrainBenchReport {
        mode,
        workload: if cfg.data.is_empty() {
            "synthetic".into()
        } else {
            cfg.data
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(",")
        },
        batch: cfg.batch,
        seq_len: cfg.seq_len,
        seconds_per_step: seconds / timed.len() as f64,
        tokens_per_s: tokens as f64 / seconds,
        label_tokens_per_s: labels as f64 / seconds,
        peak_rss_mib: peak_rss_mib(),
    })
}
