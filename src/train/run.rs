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

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::module::Module;
use burn::optim::AdamWConfig;
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::train::checkpoint::KeepLastNCheckpoints;
use burn::train::metric::LossMetric;
use burn::train::{Learner, SupervisedTraining};
use serde::{Deserialize, Serialize};

use super::checkpoint::{AtomicCheckpointer, latest_complete};
use super::config::TrainConfig;
use super::example::{TrainExample, tokenize_pair};
use super::export::export_hf;
use super::log::PlainLog;
use super::lora::apply_lora;
use super::plan::{SegmentLoader, TrainPlan, split_valid};
use super::schedule::WarmupCosine;
use super::step::mean_loss;
use crate::backend;
use crate::dataset::read_jsonl;
use crate::dataset::record::Aligned;
use crate::fetch;
use crate::files::{write_atomic, write_json_atomic};
use crate::model::load::load_model;
use crate::settings;
use crate::tokenizer::Tokenizer;
use burn::train::checkpoint::Checkpointer;

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
    config.validate()?;
    let checkpoint_dir = out.join("checkpoint");
    let config_path = out.join("train_config.toml");
    let resume_from = check_out_dir(config, out, &config_path, &checkpoint_dir, opts.resume)?;
    // what a killed run left half-written (checkpoints being saved, an export in progress)
    crate::files::remove_stale_temp_files(out)?;
    let summary_path = out.join("train_summary.json");
    if resume_from.is_some() && summary_path.exists() && out.join("model/config.json").exists() {
        // A finished run: nothing to do.
        let text = std::fs::read_to_string(&summary_path)
            .with_context(|| format!("reading {}", summary_path.display()))?;
        eprintln!("[train] {} is already finished", out.display());
        return Ok(Some(
            serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", summary_path.display()))?,
        ));
    }

    let device = backend::device(config.device)?;
    let model_path = fetch::resolve_model(Some(&config.model))?;
    settings::fits_context(
        "max_seq_len",
        config.max_seq_len,
        settings::model_context(&model_path)?,
    )?;
    // Loaded straight onto the autodiff device, so every weight is a tracked leaf (LoRA
    // then freezes the base and adds tracked factors).
    let loaded = load_model(&model_path, &device.clone().autodiff())
        .with_context(|| format!("loading model {}", model_path.display()))?;
    let tokenizer = loaded.tokenizer;
    let mut model = loaded.model;

    let (examples, prompt_truncated, target_truncated) = load_examples(config, &tokenizer)?;
    let (train_set, valid_set) = split_valid(examples, config.valid_fraction, config.seed);
    if prompt_truncated + target_truncated > 0 {
        eprintln!(
            "[train] {prompt_truncated} example(s) had their prompt shortened and \
             {target_truncated} their target cut to fit max_seq_len = {}",
            config.max_seq_len
        );
    }
    let train_label_tokens: usize = train_set.iter().map(TrainExample::num_labels).sum();
    // Recorded only now that the model and the data load: a failed start leaves no folder
    // that would refuse the corrected command.
    if resume_from.is_none() {
        record_config(config, out, &config_path)?;
    }

    device.seed(config.seed);
    let mut total_params = model.num_params();
    let mut trainable_params = total_params;
    if let Some(lora) = &config.lora {
        let (m, adapters) = apply_lora(model, lora)?;
        model = m;
        trainable_params = adapters;
        total_params += adapters;
    }

    let valid_loss_before = match resume_from {
        None => mean_loss(&model.valid(), &valid_set, config.batch_size, &device),
        Some(_) => None,
    };

    let plan = Arc::new(TrainPlan::new(
        &train_set,
        config.epochs,
        config.batch_size,
        config.grad_accum,
        config.checkpoint_every,
        config.seed,
    ));
    let segments = plan.num_segments();
    let first_segment = resume_from.unwrap_or(0);
    let last_segment = opts
        .stop_after_segments
        .map_or(segments, |s| s.min(segments));
    let resumed_after_step = (first_segment * config.checkpoint_every).min(plan.num_steps());

    if first_segment < last_segment {
        let train_examples = Arc::new(train_set.clone());
        let loader =
            SegmentLoader::new(train_examples, plan.clone(), first_segment, device.clone());
        let valid_loader = DataLoaderBuilder::new(super::batch::LmBatcher)
            .batch_size(config.batch_size)
            .build(InMemDataset::new(valid_set.clone()));
        let mut optim = AdamWConfig::new()
            .with_beta_1(config.beta1)
            .with_beta_2(config.beta2)
            .with_epsilon(config.epsilon)
            .with_weight_decay(config.weight_decay);
        if let Some(n) = config.max_grad_norm {
            optim = optim.with_grad_clipping(Some(GradientClippingConfig::Norm(n)));
        }
        let warmup = (config.warmup_ratio * plan.num_steps() as f64).round() as usize;
        let schedule = WarmupCosine::new(config.lr, config.min_lr_ratio, warmup, plan.num_steps());
        let mut training = SupervisedTraining::new(out, Arc::new(loader), valid_loader)
            .metric_train_numeric(LossMetric::new())
            .metric_valid_numeric(LossMetric::new())
            .with_custom_checkpointers(
                AtomicCheckpointer::new(&checkpoint_dir, "model"),
                AtomicCheckpointer::new(&checkpoint_dir, "optim"),
                AtomicCheckpointer::new(&checkpoint_dir, "scheduler"),
            )
            .with_checkpointing_strategy(KeepLastNCheckpoints::new(2))
            .grads_accumulation(config.grad_accum)
            .num_epochs(last_segment);
        if first_segment > 0 {
            training = training.checkpoint(first_segment);
        }
        if opts.plain_log || !std::io::stdout().is_terminal() {
            training = training.renderer(Box::new(PlainLog::new(
                config.grad_accum,
                resumed_after_step,
                plan.num_steps(),
            )));
        }
        let result = training.launch(Learner::new(model, optim.init(), schedule));
        model = result.model.valid();
    } else if first_segment > 0 {
        // Every segment was already trained (killed between the last checkpoint and the
        // export): the weights are those of the last checkpoint.
        let record: burn::store::ModuleRecord = AtomicCheckpointer::new(&checkpoint_dir, "model")
            .restore(first_segment)
            .map_err(|e| anyhow::anyhow!("reading checkpoint {first_segment}: {e}"))?;
        model = model.load_record(record).valid();
    }
    if last_segment < segments {
        return Ok(None);
    }
    // A diverged run is an error, not a model.
    let probe = &train_set[..train_set.len().min(config.batch_size)];
    if let Some(loss) = mean_loss(&model, probe, config.batch_size, &device)
        && !loss.is_finite()
    {
        bail!(
            "training diverged: the loss on the training examples is {loss}; lower --lr \
             (was {}) and start again in a new --out",
            config.lr
        );
    }

    let valid_loss_after = mean_loss(&model, &valid_set, config.batch_size, &device);
    let model_dir = out.join("model");
    export_hf(&model, &tokenizer, &model_dir)?;
    let summary = TrainSummary {
        train_examples: train_set.len(),
        valid_examples: valid_set.len(),
        train_label_tokens,
        prompt_truncated,
        target_truncated,
        steps: plan.num_steps(),
        resumed_after_step,
        trainable_params,
        total_params,
        valid_loss_before,
        valid_loss_after,
        seconds: started.elapsed().as_secs_f64(),
        model_dir,
    };
    write_json_atomic(&summary_path, &summary)?;
    Ok(Some(summary))
}

/// Checks `out` against the run recorded there and returns the checkpoint segment to
/// resume after (`None` for a fresh run).
fn check_out_dir(
    config: &TrainConfig,
    out: &Path,
    config_path: &Path,
    checkpoint_dir: &Path,
    resume: bool,
) -> Result<Option<usize>> {
    if out.exists() && !out.is_dir() {
        bail!("--out {} is a file, not a folder", out.display());
    }
    if !config_path.exists() {
        return Ok(None);
    }
    let recorded = TrainConfig::from_toml_file(config_path)?;
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
    Ok(Some(latest_complete(checkpoint_dir).unwrap_or(0)))
}

/// Creates `out` and writes `train_config.toml` atomically.
fn record_config(config: &TrainConfig, out: &Path, config_path: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    write_atomic(config_path, config.to_toml().as_bytes())
}

/// Tokenizes every aligned record of every data file.
/// Returns `(examples, prompt-truncated count, target-truncated count)`.
fn load_examples(
    config: &TrainConfig,
    tokenizer: &Tokenizer,
) -> Result<(Vec<TrainExample>, usize, usize)> {
    let examples = tokenize_aligned(&config.data, tokenizer, config.max_seq_len)?;
    let prompt = examples.iter().filter(|e| e.prompt_tokens_cut > 0).count();
    let target = examples.iter().filter(|e| e.target_tokens_cut > 0).count();
    Ok((examples, prompt, target))
}

/// Tokenizes every aligned record of every file in `paths` (chat template, completion
/// mask, cut to `max_seq_len` tokens).
///
/// # Errors
/// An unreadable or empty file, or a record that cannot be tokenized (named by file and
/// line).
pub fn tokenize_aligned(
    paths: &[PathBuf],
    tokenizer: &Tokenizer,
    max_seq_len: usize,
) -> Result<Vec<TrainExample>> {
    let mut examples = Vec::new();
    for path in paths {
        let records: Vec<Aligned> = read_jsonl(path)?;
        if records.is_empty() {
            bail!("{}: no aligned records", path.display());
        }
        for (i, r) in records.iter().enumerate() {
            let e = tokenize_pair(tokenizer, &r.id, &r.prompt, &r.target, max_seq_len)
                .with_context(|| format!("{} line {}", path.display(), i + 1))?;
            examples.push(e);
        }
    }
    Ok(examples)
}
