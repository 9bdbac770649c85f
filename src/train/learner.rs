//! Steps 4–5 of [`super::finetune::train`]: the plan of optimiser steps and checkpoint segments,
//! and burn-train's learner over the segments not yet trained.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataset::InMemDataset;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use burn::train::checkpoint::{Checkpointer, KeepLastNCheckpoints};
use burn::train::metric::LossMetric;
use burn::train::{Learner, SupervisedTraining};

use super::adamw::{AdamWSettings, FusedAdamW};
use super::checkpoint::AtomicCheckpointer;
use super::config::TrainConfig;
use super::data::TrainData;
use super::log::PlainLog;
use super::plan::{SegmentLoader, TrainPlan};
use super::schedule::WarmupCosine;
use crate::model::Llama;

/// Step 4: the optimiser steps of the whole run, and the checkpoint segments (of
/// `checkpoint_every` steps) this invocation trains.
pub(super) struct SegmentPlan {
    /// Shuffled micro-batches, accumulation groups and segments of the whole run.
    pub(super) steps: Arc<TrainPlan>,
    /// Segments of the whole run.
    pub(super) total: usize,
    /// The first segment to train (0-based): the one after the resumed checkpoint.
    pub(super) first: usize,
    /// One past the last segment to train (`stop_after_segments` may end early).
    pub(super) last: usize,
    /// The optimiser step the run resumes after (0 for a fresh run).
    pub(super) resumed_after_step: usize,
}

impl SegmentPlan {
    /// Plans the run over `data.train` and picks the segments after `resume_from`, up to
    /// `stop_after_segments`.
    pub(super) fn new(
        config: &TrainConfig,
        data: &TrainData,
        resume_from: Option<usize>,
        stop_after_segments: Option<usize>,
    ) -> Self {
        let steps = Arc::new(TrainPlan::new(
            &data.train,
            config.epochs,
            config.batch_size,
            config.grad_accum,
            config.checkpoint_every,
            config.seed,
        ));
        let total = steps.num_segments();
        let first = resume_from.unwrap_or(0);
        let last = stop_after_segments.map_or(total, |s| s.min(total));
        let resumed_after_step = (first * config.checkpoint_every).min(steps.num_steps());
        Self {
            steps,
            total,
            first,
            last,
            resumed_after_step,
        }
    }
}

/// Step 5: trains segments `plan.first..plan.last` with burn-train's learner (AdamW,
/// warm-up + cosine, clipping, accumulation, validation), writing checkpoints to
/// `out/checkpoint/` and logs to `out/{train,valid}/` and `out/experiment.log`; a resumed
/// run starts from checkpoint `plan.first`. With every segment already trained, the
/// weights of the last checkpoint are read instead. Returns the trained model. `devices[0]` is
/// the main device (the model's); with more, every micro-batch is split across them (data
/// parallelism: `TrainConfig::devices`).
///
/// # Errors
/// An unreadable checkpoint.
pub(super) fn train_segments(
    config: &TrainConfig,
    out: &Path,
    model: Llama,
    data: &TrainData,
    plan: &SegmentPlan,
    plain_log: bool,
    devices: &[Device],
) -> Result<Llama> {
    let checkpoint_dir = out.join("checkpoint");
    if plan.first < plan.last {
        let loader = SegmentLoader::new(
            Arc::new(data.train.clone()),
            plan.steps.clone(),
            plan.first,
            devices[0].clone(),
            devices[1..].to_vec(),
        );
        let valid_loader = DataLoaderBuilder::new(super::batch::LmBatcher)
            .batch_size(config.batch_size)
            .build(InMemDataset::new(data.valid.clone()));
        let num_steps = plan.steps.num_steps();
        let warmup = (config.warmup_ratio * num_steps as f64).round() as usize;
        let schedule = WarmupCosine::new(config.lr, config.min_lr_ratio, warmup, num_steps);
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
            .num_epochs(plan.last);
        if plan.first > 0 {
            // burn-train keeps the last two checkpoints; a run killed while deleting an older
            // one left some of its files, which nothing deletes after a resume
            super::checkpoint::prune_before(&checkpoint_dir, plan.first - 1)?;
            training = training.checkpoint(plan.first);
        }
        if plain_log || !std::io::stdout().is_terminal() {
            training = training.renderer(Box::new(PlainLog::new(
                config.grad_accum,
                plan.resumed_after_step,
                num_steps,
            )));
        }
        let result = training.launch(Learner::new(model, optimizer(config), schedule));
        Ok(result.model.valid())
    } else if plan.first > 0 {
        // Every segment was already trained (killed between the last checkpoint and the
        // export): the weights are those of the last checkpoint.
        let record: burn::store::ModuleRecord = AtomicCheckpointer::new(&checkpoint_dir, "model")
            .restore(plan.first)
            .map_err(|e| anyhow::anyhow!("reading checkpoint {}: {e}", plan.first))?;
        Ok(model.load_record(record).valid())
    } else {
        Ok(model)
    }
}

/// AdamW with the run's betas, epsilon and weight decay, clipping the gradient norm at
/// `max_grad_norm` if set.
fn optimizer(config: &TrainConfig) -> ModuleOptimizer {
    let settings = AdamWSettings {
        beta_1: config.beta1,
        beta_2: config.beta2,
        epsilon: config.epsilon,
        weight_decay: config.weight_decay,
    };
    FusedAdamW::module_optimizer(settings, config.max_grad_norm)
}
