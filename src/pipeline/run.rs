//! `halt-llm run`: the HALT pipeline in one run folder.
//!
//! ```text
//! RUN/config.toml               the settings (a rerun must match them once a stage has
//!                               produced something)
//! RUN/data/{train,test}.jsonl   the selected ground-truth examples
//! RUN/sampled.jsonl             N few-shot responses per training prompt
//! RUN/judged.jsonl              their fragments and verdicts
//! RUN/aligned/<method>.jsonl    finetuning targets per α (halt-0.4, …) and per baseline
//! RUN/models/<method>/          finetuning runs (checkpoints, model/ = HF folder)
//! RUN/eval/<method>/            test answers, verdicts, summary.json (also of the pretrained
//!                               model: pretrained-0shot, pretrained-<k>shot)
//! RUN/claims.json               the paper's claims as paired, clustered differences
//! RUN/report.md, plot.{png,svg} the comparison
//! ```
//!
//! Every stage writes its output atomically or as a resumable `.partial` file, and is skipped
//! when its output exists; a run killed at any moment and started again continues where it
//! stopped and ends with the same files.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use burn::tensor::Device;

use super::config::RunConfig;
use super::examples::select_examples;
use super::record::record_config;
pub use super::variants::{Variant, variants};
use crate::dataset::align::AlignConfig;
use crate::dataset::align_stage::{AlignInputs, align_stage};
use crate::dataset::example::Example;
use crate::dataset::judge::{JudgeConfig, judge_for};
use crate::dataset::judge_stage::{judge_stage, reference_free_stage};

/// The reference-free labels of a run's samples (when `reference_free_alphas` is set).
pub const REFERENCE_FREE_JUDGED: &str = "judged-reference-free.jsonl";
use crate::dataset::load_examples;
use crate::dataset::sample::{PromptSource, SampleConfig, sample_stage};
use crate::model::load::{LoadedModel, open_model};
use crate::train::TrainOptions;
use crate::{backend, fetch};

/// What `run` reports at the end.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// `report.md`.
    pub report: PathBuf,
    /// Wall time of this invocation (seconds).
    pub seconds: f64,
}

/// A progress line on stderr.
pub(super) fn say(text: &str) {
    eprintln!("run: {text}");
}

/// Runs (or continues) the pipeline of `config` in `dir`.
///
/// # Errors
/// Invalid settings; a prompt that does not fit the model's context (before any stage runs);
/// a folder holding results made with other settings; any stage's error (each names its file,
/// line or record).
pub fn run(config: &RunConfig, dir: &Path) -> Result<RunOutcome> {
    run_reusing(config, dir, None)
}

/// [`run`], first copying from the run folder `reuse` what it holds that these settings
/// would make again ([`super::reuse`]: samples and verdicts, targets, finetuned models).
///
/// # Errors
/// As [`run`]; and a `reuse` folder whose samples were made with other settings or training
/// prompts (the differing fields named).
pub fn run_reusing(config: &RunConfig, dir: &Path, reuse: Option<&Path>) -> Result<RunOutcome> {
    let started = Instant::now();
    // 0. The settings, checked against the model and recorded in the run folder.
    let (device, model_path) = prepare(config, dir)?;
    // 1. The examples, and every prompt checked to fit the model's context (sampling and
    // evaluation) before any work.
    let run = PipelineRun::with_examples(config, dir, device, model_path)?;
    super::examples::check_ground_truth(config, &run.train, &run.test)?;
    config.check_prompts(
        &run.model_path,
        (&run.train_path, &run.train),
        (&run.test_path, &run.test),
    )?;
    let all = variants(config);
    if let Some(from) = reuse {
        let copied = super::reuse::reuse_from(config, dir, from, &all)?;
        say(&if copied.is_empty() {
            format!("nothing new to reuse from {}", from.display())
        } else {
            format!("reused from {}: {}", from.display(), copied.join(", "))
        });
    }
    // 2–3. Sample and judge (the pretrained model is loaded only when needed).
    run.sample_and_judge()?;
    // 4. Aligned targets, one file per variant.
    run.align(&all)?;
    // 5. Finetuning, one model per variant.
    run.finetune(&all)?;
    // 6. Evaluation on the held-out prompts: the finetuned models, then the pretrained one.
    let mut evaluations = run.evaluate_variants(&all)?;
    run.evaluate_pretrained(&mut evaluations)?;
    // 7. The report, with the paper's claims as paired, clustered differences.
    let report = run.report(&all, &evaluations)?;
    let seconds = started.elapsed().as_secs_f64();
    say(&format!("report: {} ({seconds:.0} s)", report.display()));
    Ok(RunOutcome { report, seconds })
}

/// Step 0: checks the settings, picks the device, finds the pretrained model (fetching it
/// if needed) and checks the token budgets against it, then records the settings.
///
/// Reads and writes `dir/config.toml` (creating `dir`); removes the temporary files a run
/// killed while writing left under `dir`. Returns the device and the model's path.
///
/// # Errors
/// Invalid settings; an unavailable device or model; a budget that does not fit the model;
/// a folder made with other settings; I/O errors.
fn prepare(config: &RunConfig, dir: &Path) -> Result<(Device, PathBuf)> {
    config.validate()?;
    let device = backend::device(config.device)?;
    backend::training_devices(config.device, &config.train.devices).context("[train] devices")?;
    let model_path = fetch::resolve_model(Some(&config.model))?;
    config.check_model(&model_path)?;
    record_config(config, dir)?;
    // A run killed while writing left temporary files; the stages resume from `.partial`.
    let stale = crate::files::remove_stale_temp_files(dir)?;
    if stale > 0 {
        say(&format!(
            "removed {stale} temporary file(s) left by an interrupted run"
        ));
    }
    Ok((device, model_path))
}

/// What the stages of one invocation share: the settings, the run folder, the device, the
/// pretrained model, the judges and the selected examples. Each stage is a method; each
/// skips the work whose output file already exists.
pub(super) struct PipelineRun<'a> {
    /// The run's settings.
    pub(super) config: &'a RunConfig,
    /// The run folder.
    pub(super) dir: &'a Path,
    /// Where models run.
    pub(super) device: Device,
    /// The pretrained model (file or folder).
    pub(super) model_path: PathBuf,
    /// The judges' settings (sampling stage and evaluation).
    pub(super) judges: JudgeConfig,
    /// `data/train.jsonl`.
    pub(super) train_path: PathBuf,
    /// The training examples.
    pub(super) train: Vec<Example>,
    /// `data/test.jsonl`.
    pub(super) test_path: PathBuf,
    /// The held-out test examples.
    pub(super) test: Vec<Example>,
}

impl<'a> PipelineRun<'a> {
    /// Step 1: selects the training and test examples (writing `data/{train,test}.jsonl`
    /// unless they exist) and reads them back.
    ///
    /// # Errors
    /// Unreadable or malformed datasets (file and line named); too few examples; I/O errors.
    fn with_examples(
        config: &'a RunConfig,
        dir: &'a Path,
        device: Device,
        model_path: PathBuf,
    ) -> Result<Self> {
        let (train_path, test_path) = select_examples(config, dir)?;
        let train = load_examples(&train_path)?;
        let test = load_examples(&test_path)?;
        Ok(Self {
            config,
            dir,
            device,
            model_path,
            judges: config.judge.judge_config()?,
            train_path,
            train,
            test_path,
            test,
        })
    }

    /// `sampled.jsonl`: N responses per training prompt.
    fn sampled_path(&self) -> PathBuf {
        self.dir.join("sampled.jsonl")
    }

    /// `judged.jsonl`: the responses' fragments and verdicts.
    fn judged_path(&self) -> PathBuf {
        self.dir.join("judged.jsonl")
    }

    /// Steps 2–3: samples `sample.n` few-shot responses per training prompt with the
    /// pretrained model (into `sampled.jsonl`, resumable), then judges them (into
    /// `judged.jsonl`). Skipped when `judged.jsonl` exists; sampling alone is skipped when
    /// `sampled.jsonl` exists (the model is then not loaded); no judging when no variant needs
    /// it (prompts alone). With `reference_free_alphas`, also labels them by agreement into
    /// [`REFERENCE_FREE_JUDGED`] (once).
    ///
    /// # Errors
    /// A model that does not load; generation errors; malformed sampled records; I/O errors.
    fn sample_and_judge(&self) -> Result<()> {
        let (sampled, judged) = (self.sampled_path(), self.judged_path());
        let judge_labels = !self.config.alphas.is_empty() || !self.config.baselines.is_empty();
        if !judged.exists() {
            if !sampled.exists() {
                let loaded = load_checkpoint(&self.model_path, &self.device)?;
                say(&format!(
                    "sampling {} responses for each of {} training prompts",
                    self.config.sample.n,
                    self.train.len()
                ));
                sample_stage(
                    &loaded,
                    &self.device,
                    &self.train,
                    &sample_config(self.config, &self.model_path, &self.train_path),
                    &sampled,
                )?;
            }
            if judge_labels {
                say("judging the sampled responses");
                let judge = judge_for(self.config.domain, &self.judges);
                judge_stage(
                    judge.as_ref(),
                    &self.train,
                    &self.train_path,
                    &sampled,
                    self.config.null_policy,
                    &judged,
                    false,
                )?;
            }
        }
        let reference_free = self.dir.join(REFERENCE_FREE_JUDGED);
        if !self.config.reference_free_alphas.is_empty() && !reference_free.exists() {
            say("labelling the sampled responses by agreement (reference-free)");
            let judge = judge_for(self.config.domain, &self.judges);
            reference_free_stage(
                judge.as_ref(),
                &sampled,
                self.config.null_policy,
                self.config.min_support,
                &reference_free,
                false,
            )?;
        }
        Ok(())
    }

    /// Step 4: builds each variant's finetuning targets from `judged.jsonl` (and the
    /// examples) into `aligned/<variant>.jsonl`; a file that exists is kept.
    ///
    /// # Errors
    /// Malformed judged records; I/O errors.
    fn align(&self, all: &[Variant]) -> Result<()> {
        let (sampled, judged) = (self.sampled_path(), self.judged_path());
        for v in all {
            let out = aligned_path(self.dir, v);
            if out.exists() {
                continue;
            }
            std::fs::create_dir_all(out.parent().unwrap())?;
            let align = AlignConfig {
                alpha: v.alpha.unwrap_or(0.6),
                seed: self.config.seed,
                ..AlignConfig::default()
            };
            let labels = if v.reference_free {
                self.dir.join(REFERENCE_FREE_JUDGED)
            } else {
                judged.clone()
            };
            let inputs = AlignInputs {
                examples: &self.train,
                examples_path: &self.train_path,
                sampled: Some(&sampled),
                judged: Some(&labels),
            };
            align_stage(inputs, v.method, &align, &out, true)?;
        }
        Ok(())
    }

    /// Step 5: finetunes one model per variant on `aligned/<variant>.jsonl` into
    /// `models/<variant>/` (resuming from its checkpoints); a variant whose
    /// `models/<variant>/model/config.json` exists is done.
    ///
    /// # Errors
    /// Any training error, prefixed with `finetuning <variant>`.
    fn finetune(&self, all: &[Variant]) -> Result<()> {
        for v in all {
            let run_dir = self.dir.join("models").join(&v.name);
            if run_dir.join("model").join("config.json").exists() {
                continue;
            }
            say(&format!("finetuning {}", v.name));
            let cfg = self
                .config
                .train_config(&self.model_path, &aligned_path(self.dir, v));
            let opts = TrainOptions {
                resume: run_dir.join("train_config.toml").exists(),
                stop_after_segments: None,
                plain_log: true,
            };
            crate::train::train(&cfg, &run_dir, &opts)
                .with_context(|| format!("finetuning {}", v.name))?;
        }
        Ok(())
    }
}

/// Loads the model at `path` onto `device`.
///
/// # Errors
/// A model that does not load, prefixed with `loading model <path>`.
pub(super) fn load_checkpoint(path: &Path, device: &Device) -> Result<LoadedModel> {
    open_model(path, device)
}

/// `aligned/<variant>.jsonl`.
pub(super) fn aligned_path(dir: &Path, v: &Variant) -> PathBuf {
    dir.join("aligned").join(format!("{}.jsonl", v.name))
}

/// The sampling job: the run's `[sample]` settings and seed, every training prompt (of
/// `train_path`, named in messages with the `[sample]` budget).
fn sample_config(config: &RunConfig, model_path: &Path, train_path: &Path) -> SampleConfig {
    SampleConfig {
        settings: config.sample.clone(),
        seed: config.seed,
        limit: None,
        model_name: crate::fetch::model_name(model_path),
        quiet: false,
        source: PromptSource::new(train_path, SAMPLE_BUDGET),
    }
}

/// The `[sample]` generation budget, as a run's settings file names it.
pub(super) const SAMPLE_BUDGET: &str = "[sample] max_new_tokens";

/// The `[eval]` generation budget, as a run's settings file names it.
pub(super) const EVAL_BUDGET: &str = "[eval] max_new_tokens";
