//! `halt-llm train`: load the model, tokenize the aligned records, plan the optimiser steps,
//! run burn-train's learner (AdamW, warm-up + cosine, clipping, accumulation, validation
//! and checkpoints every `checkpoint_every` steps), and export the result.
//!
//! Output folder:
//! - `train_config.toml`: the settings (a resumed run must match them);
//! - `checkpoint/{model,optim,scheduler}-N.bpk`: the last two checkpoints (N counts segments
//!   of `checkpoint_every` steps);
//! - `train/`, `valid/`, `experiment.log`: burn-train's per-iteration logs;
//! - `model/`: the finetuned model as a Hugging Face folder (written last, atomically);
//! - `train_summary.json`: counts, losses and timings.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::checkpoint::latest_complete;
use super::config::TrainConfig;
use super::data::TrainData;
pub use super::data::tokenize_aligned;
use super::export::export_hf;
use super::learner::{SegmentPlan, train_segments};
use super::lora::apply_lora;
use super::step::mean_loss;
use crate::backend;
use crate::fetch;
use crate::files::{write_atomic, write_json_atomic};
use crate::model::Llama;
use crate::model::load::open_model;
use crate::settings;
use crate::tokenizer::Tokenizer;

/// How to run (not part of the training settings).
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Continue from the last checkpoint in the output folder.
    pub resume: bool,
    /// Stop after this many checkpoint segments, without exporting (a deliberate
    /// interruption, for tests of `resume`).
    pub stop_after_segments: Option<usize>,
    /// Plain log lines even on a terminal (no burn-train terminal UI).
    pub plain_log: bool,
}

/// What a finished run reports (`train_summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    /// Training examples (after the validation split).
    pub train_examples: usize,
    /// Held-out validation examples.
    pub valid_examples: usize,
    /// Label tokens per pass over the training examples.
    pub train_label_tokens: usize,
    /// Examples whose prompt was cut at the start to fit `max_seq_len`.
    pub prompt_truncated: usize,
    /// Examples whose target itself was cut at the end to fit `max_seq_len`.
    pub target_truncated: usize,
    /// Optimiser steps of the whole run.
    pub steps: usize,
    /// Step the run resumed after (0 for a fresh run).
    pub resumed_after_step: usize,
    /// Parameters updated by the optimiser.
    pub trainable_params: usize,
    /// All parameters of the model being trained (LoRA factors included).
    pub total_params: usize,
    /// Mean cross-entropy per label token (nats) on the validation examples before training
    /// (`None` when resuming or without validation examples).
    pub valid_loss_before: Option<f64>,
    /// The same after training.
    pub valid_loss_after: Option<f64>,
    /// Wall time of this invocation (seconds).
    pub seconds: f64,
    /// Where the exported model is.
    pub model_dir: PathBuf,
}

/// Runs (or resumes) a finetuning run into `out`; returns `None` when stopped early by
/// `stop_after_segments`.
///
/// # Errors
/// Invalid settings; unreadable or malformed data (file and line named); a model that does
/// not load; an output folder holding another run (or, with `resume`, different settings);
/// I/O errors.
pub fn train(
    config: &TrainConfig,
    out: &Path,
    opts: &TrainOptions,
) -> Result<Option<TrainSummary>> {
    let started = Instant::now();
    // 1. The settings and the output folder: a fresh run, a resumed one, or a finished one.
    config.validate()?;
    let resume_from = check_out_dir(config, out, opts.resume)?;
    // what a killed run left half-written (checkpoints being saved, an export in progress)
    crate::files::remove_stale_temp_files(out)?;
    if let Some(summary) = finished_summary(out, resume_from)? {
        return Ok(Some(summary));
    }
    // 2. The model and the tokenized data, then the settings are recorded.
    let devices = backend::training_devices(config.device, &config.devices)?;
    let device = devices[0].clone();
    let (model, tokenizer) = load_base_model(config, &device)?;
    let data = TrainData::load(config, &tokenizer)?;
    // Recorded only now that the model and the data load: a failed start leaves no folder
    // that would refuse the corrected command.
    if resume_from.is_none() {
        record_config(config, out)?;
    }
    // 3. The seed and the LoRA adapters.
    device.seed(config.seed);
    let (model, params) = add_adapters(model, config)?;
    // 4. The validation loss before training; the optimiser steps and checkpoint segments.
    let valid_loss_before = match resume_from {
        None => mean_loss(&model.valid(), &data.valid, config.batch_size, &device),
        Some(_) => None,
    };
    let plan = SegmentPlan::new(config, &data, resume_from, opts.stop_after_segments);
    // 5. The segments not yet trained (burn-train's learner, checkpoint after each).
    let model = train_segments(config, out, model, &data, &plan, opts.plain_log, &devices)?;
    if plan.last < plan.total {
        return Ok(None);
    }
    // 6. A diverged run is an error, not a model.
    check_not_diverged(&model, &data, config, &device)?;
    // 7. The finetuned model as a Hugging Face folder, and the summary.
    let valid_loss_after = mean_loss(&model, &data.valid, config.batch_size, &device);
    let model_dir = out.join("model");
    export_hf(&model, &tokenizer, &model_dir)?;
    let summary = TrainSummary {
        train_examples: data.train.len(),
        valid_examples: data.valid.len(),
        train_label_tokens: data.label_tokens,
        prompt_truncated: data.prompt_truncated,
        target_truncated: data.target_truncated,
        steps: plan.steps.num_steps(),
        resumed_after_step: plan.resumed_after_step,
        trainable_params: params.trainable,
        total_params: params.total,
        valid_loss_before,
        valid_loss_after,
        seconds: started.elapsed().as_secs_f64(),
        model_dir,
    };
    write_json_atomic(&out.join("train_summary.json"), &summary)?;
    Ok(Some(summary))
}

/// Step 1: checks `out` against the run recorded in `out/train_config.toml` and returns
/// the checkpoint segment to resume after (`None` for a fresh run), from the complete
/// checkpoints in `out/checkpoint/`.
///
/// # Errors
/// `out` is a file; `out` holds a run and `resume` is off; the recorded settings differ
/// (the differing lines named); an unreadable `train_config.toml`.
fn check_out_dir(config: &TrainConfig, out: &Path, resume: bool) -> Result<Option<usize>> {
    let config_path = out.join("train_config.toml");
    if out.exists() && !out.is_dir() {
        bail!("--out {} is a file, not a folder", out.display());
    }
    if !config_path.exists() {
        return Ok(None);
    }
    let recorded = TrainConfig::from_toml_file(&config_path)?;
    if !resume {
        bail!(
            "{} already holds a training run; pass --resume to continue it, or choose \
             another --out",
            out.display()
        );
    }
    if recorded.identity() != config.identity() {
        let theirs = recorded.identity().to_toml();
        let ours = config.identity().to_toml();
        let differs: Vec<&str> = ours
            .lines()
            .zip(theirs.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, _)| a)
            .collect();
        bail!(
            "--resume: the settings differ from the run recorded in {} ({}); resume with \
             the same settings or choose another --out",
            config_path.display(),
            differs.join("; ")
        );
    }
    Ok(Some(latest_complete(&out.join("checkpoint")).unwrap_or(0)))
}

/// Step 1: the summary of a finished run (`out/train_summary.json` and
/// `out/model/config.json` exist, and the run is resumed), read back; `None` otherwise.
///
/// # Errors
/// An unreadable or malformed `train_summary.json`.
fn finished_summary(out: &Path, resume_from: Option<usize>) -> Result<Option<TrainSummary>> {
    let summary_path = out.join("train_summary.json");
    let finished =
        resume_from.is_some() && summary_path.exists() && out.join("model/config.json").exists();
    if !finished {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&summary_path)
        .with_context(|| format!("reading {}", summary_path.display()))?;
    eprintln!("train: {} is already finished", out.display());
    Ok(Some(serde_json::from_str(&text).with_context(|| {
        format!("parsing {}", summary_path.display())
    })?))
}

/// Step 2: finds the model (`config.model`, fetched if needed), checks `max_seq_len` and the
/// LoRA rank against its configuration ([`TrainConfig::check_model`]), and loads it straight onto the autodiff device, so every
/// weight is a tracked leaf (LoRA then freezes the base and adds tracked factors).
///
/// # Errors
/// A model that cannot be found, read or loaded; `max_seq_len` longer than its context.
fn load_base_model(config: &TrainConfig, device: &Device) -> Result<(Llama, Tokenizer)> {
    let model_path = fetch::resolve_model(Some(&config.model))?;
    config.check_model(&settings::model_config(&model_path)?)?;
    let loaded = open_model(model_path, &device.clone().autodiff())?;
    Ok((loaded.model, loaded.tokenizer))
}

/// Step 2: creates `out` and writes `out/train_config.toml` atomically.
///
/// # Errors
/// I/O errors.
fn record_config(config: &TrainConfig, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(&out.join("train_config.toml"), config.to_toml().as_bytes())
}

/// Parameter counts of the model being trained.
struct Params {
    /// Updated by the optimiser.
    trainable: usize,
    /// All, LoRA factors included.
    total: usize,
}

/// Step 3: with `config.lora`, freezes the base model and adds LoRA adapters; without it
/// every parameter is trained.
///
/// # Errors
/// An invalid LoRA target pattern.
fn add_adapters(model: Llama, config: &TrainConfig) -> Result<(Llama, Params)> {
    let total = model.num_params();
    let Some(lora) = &config.lora else {
        let params = Params {
            trainable: total,
            total,
        };
        return Ok((model, params));
    };
    let (model, adapters) = apply_lora(model, lora)?;
    let params = Params {
        trainable: adapters,
        total: total + adapters,
    };
    Ok((model, params))
}

/// Step 6: the loss on the first training batch must be finite.
///
/// # Errors
/// A non-finite loss (the run diverged; the message suggests a lower `--lr`).
fn check_not_diverged(
    model: &Llama,
    data: &TrainData,
    config: &TrainConfig,
    device: &Device,
) -> Result<()> {
    let probe = &data.train[..data.train.len().min(config.batch_size)];
    if let Some(loss) = mean_loss(model, probe, config.batch_size, device)
        && !loss.is_finite()
    {
        bail!(
            "training diverged: the loss on the training examples is {loss}; lower --lr \
             (was {}) and start again in a new --out",
            config.lr
        );
    }
    Ok(())
}
