//! Training throughput: optimiser steps of full finetuning or LoRA on synthetic batches of a
//! fixed sequence length (every position supervised), timed after a warm-up step, with the
//! process's peak resident memory. Run one configuration per process: peak RSS is a
//! process-wide high-water mark.

use std::time::Instant;

use anyhow::{Result, bail};
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::Device;
use serde::Serialize;

use super::batch::make_batch;
use super::config::LoraSettings;
use super::example::TrainExample;
use super::lora::apply_lora;
use crate::bench::peak_rss_mib;
use crate::model::llama::Llama;

/// What to measure.
#[derive(Debug, Clone)]
pub struct TrainBenchConfig {
    /// Sequences per optimiser step.
    pub batch: usize,
    /// Tokens per sequence.
    pub seq_len: usize,
    /// Timed optimiser steps (after one untimed warm-up step).
    pub steps: usize,
    /// LoRA instead of full finetuning.
    pub lora: Option<LoraSettings>,
}

/// Measured figures.
#[derive(Debug, Clone, Serialize)]
pub struct TrainBenchReport {
    /// `full` or `lora-r{rank}`.
    pub mode: String,
    /// Sequences per step.
    pub batch: usize,
    /// Tokens per sequence.
    pub seq_len: usize,
    /// Mean seconds per optimiser step (forward, backward, AdamW update).
    pub seconds_per_step: f64,
    /// Trained tokens per second (`batch × seq_len / seconds_per_step`).
    pub tokens_per_s: f64,
    /// Peak resident memory of the process (MiB), Linux only.
    pub peak_rss_mib: Option<f64>,
}

/// Runs the benchmark on `model` (loaded on `device.autodiff()`).
///
/// # Errors
/// Zero batch, steps or a sequence shorter than 2 tokens; LoRA settings errors.
pub fn run(model: Llama, cfg: &TrainBenchConfig, device: &Device) -> Result<TrainBenchReport> {
    if cfg.batch == 0 || cfg.steps == 0 || cfg.seq_len < 2 {
        bail!("batch and steps must be at least 1 and seq_len at least 2");
    }
    let vocab = model.config.vocab_size as u32;
    let (mut model, mode) = match &cfg.lora {
        Some(l) => (apply_lora(model, l)?.0, format!("lora-r{}", l.rank)),
        None => (model, "full".to_string()),
    };
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
    let mut optim = AdamWConfig::new().init();
    let mut step = |model: Llama| -> Llama {
        let batch = make_batch(&items, device);
        let (loss, _) = model.step_loss(&batch);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        optim.step(1e-5, model, grads)
    };
    model = step(model);
    let start = Instant::now();
    for _ in 0..cfg.steps {
        model = step(model);
    }
    // Read one weight back so lazy backends finish the work being timed.
    let _ = model.norm.gamma.val().into_data();
    let seconds_per_step = start.elapsed().as_secs_f64() / cfg.steps as f64;
    Ok(TrainBenchReport {
        mode,
        batch: cfg.batch,
        seq_len: cfg.seq_len,
        seconds_per_step,
        tokens_per_s: (cfg.batch * cfg.seq_len) as f64 / seconds_per_step,
        peak_rss_mib: peak_rss_mib(),
    })
}
