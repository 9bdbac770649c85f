//! `halt-llm run`: the HALT pipeline in one run folder.
//!
//! ```text
//! RUN/config.toml               the settings (a rerun must match them)
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

use anyhow::{Context, Result, bail};

use super::config::RunConfig;
use super::examples::{cluster_of, select_examples};
use crate::dataset::align::AlignConfig;
use crate::dataset::align_stage::{AlignInputs, align_stage, method_name};
use crate::dataset::fewshot::PromptFormat;
use crate::dataset::judge::{JudgeConfig, judge_for};
use crate::dataset::judge_stage::judge_stage;
use crate::dataset::load_examples;
use crate::dataset::record::AlignMethod;
use crate::dataset::sample::{SampleConfig, sample_stage};
use crate::eval::bootstrap::BootstrapConfig;
use crate::eval::claims::{MethodTallies, paper_claims, test_claims};
use crate::eval::metrics::{Summary, Tally};
use crate::eval::record::Evaluated;
use crate::eval::report::{MethodResult, write_report};
use crate::eval::run::{EvalRun, SHOWN_PER_METHOD, output_paths, records_for, run_eval};
use crate::eval::shown::pick_answers;
use crate::eval::stage::EvalConfig;
use crate::model::load::{LoadedModel, load_model};
use crate::train::TrainOptions;
use crate::{backend, fetch};

/// One model the run trains and evaluates.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Folder and report name: `halt-0.4`, `unchanged`, …
    pub name: String,
    /// How its targets are built.
    pub method: AlignMethod,
    /// Its α (HALT and α-dependent baselines).
    pub alpha: Option<f64>,
}

/// The variants of a config: one HALT model per α, then the baselines. IDK and RandomTrim
/// select a sample too; they use the middle α of the list (0.6 by default).
pub fn variants(config: &RunConfig) -> Vec<Variant> {
    let mut v: Vec<Variant> = config
        .alphas
        .iter()
        .map(|&a| Variant {
            name: format!("halt-{a}"),
            method: AlignMethod::Halt,
            alpha: Some(a),
        })
        .collect();
    let mid = config
        .alphas
        .get(config.alphas.len() / 2)
        .copied()
        .unwrap_or(0.6);
    for &m in &config.baselines {
        v.push(Variant {
            name: method_name(m),
            method: m,
            alpha: (m != AlignMethod::Unchanged).then_some(mid),
        });
    }
    v
}

/// What `run` reports at the end.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// `report.md`.
    pub report: PathBuf,
    /// Wall time of this invocation (seconds).
    pub seconds: f64,
}

fn say(text: &str) {
    eprintln!("[run] {text}");
}

/// Runs (or continues) the pipeline of `config` in `dir`.
///
/// # Errors
/// Invalid settings; a folder made with other settings; any stage's error (each names its
/// file, line or record).
pub fn run(config: &RunConfig, dir: &Path) -> Result<RunOutcome> {
    let started = Instant::now();
    config.validate()?;
    let device = backend::device(config.device)?;
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

    // 1. The examples.
    let (train_path, test_path) = select_examples(config, dir)?;
    let train = load_examples(&train_path)?;
    let test = load_examples(&test_path)?;

    // 2–3. Sample and judge (the pretrained model is loaded only when needed).
    let sampled = dir.join("sampled.jsonl");
    let judged = dir.join("judged.jsonl");
    let judges = JudgeConfig::default();
    if !judged.exists() {
        if !sampled.exists() {
            let loaded = load_checkpoint(&model_path, &device)?;
            say(&format!(
                "sampling {} responses for each of {} training prompts",
                config.sample.n,
                train.len()
            ));
            sample_stage(
                &loaded,
                &device,
                &train,
                &sample_config(config, &model_path),
                &sampled,
            )?;
        }
        say("judging the sampled responses");
        let judge = judge_for(config.domain, &judges);
        judge_stage(
            judge.as_ref(),
            &train,
            &train_path,
            &sampled,
            config.null_policy,
            &judged,
            false,
        )?;
    }

    // 4. Aligned targets.
    let all = variants(config);
    for v in &all {
        let out = aligned_path(dir, v);
        if out.exists() {
            continue;
        }
        std::fs::create_dir_all(out.parent().unwrap())?;
        let align = AlignConfig {
            alpha: v.alpha.unwrap_or(0.6),
            seed: config.seed,
            ..AlignConfig::default()
        };
        let inputs = AlignInputs {
            examples: &train,
            examples_path: &train_path,
            sampled: Some(&sampled),
            judged: Some(&judged),
        };
        align_stage(inputs, v.method, &align, &out, true)?;
    }

    // 5. Finetuning, one model per variant.
    for v in &all {
        let run_dir = dir.join("models").join(&v.name);
        if run_dir.join("model").join("config.json").exists() {
            continue;
        }
        say(&format!("finetuning {}", v.name));
        let cfg = config.train_config(&model_path, &aligned_path(dir, v));
        let opts = TrainOptions {
            resume: run_dir.join("train_config.toml").exists(),
            stop_after_segments: None,
            plain_log: true,
        };
        crate::train::train(&cfg, &run_dir, &opts)
            .with_context(|| format!("finetuning {}", v.name))?;
    }

    // 6. Evaluation on the held-out prompts.
    let eval_run = |label: &str, alpha: Option<f64>| EvalRun {
        eval: EvalConfig {
            max_new_tokens: config.eval_max_new_tokens,
            batch_size: config.eval_batch_size,
            limit: None,
            format: PromptFormat::Chat,
            ..EvalConfig::default()
        },
        judges: judges.clone(),
        null_policy: config.null_policy,
        bootstrap: BootstrapConfig {
            resamples: 1000,
            seed: config.seed,
        },
        label: label.to_string(),
        alpha,
    };
    let mut results = Vec::new();
    let mut tallies = Vec::new();
    let evaluate =
        |name: &str, run: &EvalRun, model_dir: &Path| -> Result<(Summary, Vec<Evaluated>)> {
            let eval_dir = dir.join("eval").join(name);
            let (evaluated, summary_path) = output_paths(&eval_dir);
            let summary = if summary_path.exists() {
                serde_json::from_str(
                    &std::fs::read_to_string(&summary_path)
                        .with_context(|| format!("reading {}", summary_path.display()))?,
                )
                .with_context(|| format!("parsing {}", summary_path.display()))?
            } else {
                say(&format!("evaluating {name}"));
                let loaded = load_checkpoint(model_dir, &device)?;
                run_eval(&loaded, &device, &test, run, &eval_dir)?.summary
            };
            Ok((summary, records_for(&evaluated, &test)?))
        };
    for v in &all {
        let model_dir = dir.join("models").join(&v.name).join("model");
        let (summary, records) = evaluate(&v.name, &eval_run(&v.name, v.alpha), &model_dir)?;
        tallies.push(method_tallies(&v.name, &records, config));
        results.push(MethodResult {
            // HALT models share one name so the plot joins them into one line across α.
            method: match v.method {
                AlignMethod::Halt => method_name(v.method),
                _ => v.name.clone(),
            },
            alpha: v.alpha,
            summary,
            shown: pick_answers(&records, &test, SHOWN_PER_METHOD),
        });
    }
    // The pretrained model on the same test prompts, greedy like the finetuned models:
    // zero-shot, and with the sampling stage's shots (from the training split).
    let mut shot_counts = vec![0];
    if config.sample.shots > 0 {
        shot_counts.push(config.sample.shots);
    }
    for shots in shot_counts {
        let name = format!("pretrained-{shots}shot");
        let mut run = eval_run(&name, None);
        run.eval.shots = shots;
        run.eval.shot_pool = train.clone();
        let (summary, records) = evaluate(&name, &run, &model_path)?;
        results.push(MethodResult {
            method: format!("pretrained, {shots}-shot"),
            alpha: None,
            summary,
            shown: pick_answers(&records, &test, SHOWN_PER_METHOD),
        });
    }

    // 7. The report, with the paper's claims as paired, clustered differences.
    let names: Vec<&str> = all.iter().map(|v| v.name.as_str()).collect();
    let specs = paper_claims(&names, &config.alphas);
    let clusters: std::collections::HashMap<&str, String> = test
        .iter()
        .map(|e| (e.id.as_str(), cluster_of(e)))
        .collect();
    let claims = test_claims(
        &tallies,
        &specs,
        |id| clusters.get(id).cloned().unwrap_or_else(|| id.to_string()),
        match config.domain {
            crate::dataset::Domain::Math => "problem templates",
            _ => "prompts",
        },
        &BootstrapConfig {
            resamples: 1000,
            seed: config.seed,
        },
    );
    crate::files::write_atomic(
        &dir.join("claims.json"),
        serde_json::to_string_pretty(&claims)?.as_bytes(),
    )?;
    let title = format!(
        "HALT on {} ({}), {} training / {} test prompts",
        config.domain,
        model_path
            .file_name()
            .map_or("model".into(), |n| n.to_string_lossy().to_string()),
        train.len(),
        test.len()
    );
    let files = write_report(dir, &title, &results, None, Some(&claims))?;
    let seconds = started.elapsed().as_secs_f64();
    say(&format!(
        "report: {} ({seconds:.0} s)",
        files.markdown.display()
    ));
    Ok(RunOutcome {
        report: files.markdown,
        seconds,
    })
}

/// One tally per test prompt of a method's evaluated answers, under the run's null policy.
fn method_tallies(name: &str, records: &[Evaluated], config: &RunConfig) -> MethodTallies {
    MethodTallies {
        name: name.to_string(),
        tallies: records
            .iter()
            .map(|e| (e.id.clone(), Tally::of(e, config.null_policy)))
            .collect(),
    }
}

fn load_checkpoint(path: &Path, device: &burn::tensor::Device) -> Result<LoadedModel> {
    load_model(path, device).with_context(|| format!("loading model {}", path.display()))
}

fn aligned_path(dir: &Path, v: &Variant) -> PathBuf {
    dir.join("aligned").join(format!("{}.jsonl", v.name))
}

/// Writes `dir/config.toml`, or checks that the one there is the same.
fn record_config(config: &RunConfig, dir: &Path) -> Result<()> {
    let path = dir.join("config.toml");
    if path.exists() {
        let recorded = RunConfig::from_toml_file(&path)?;
        let mut a = recorded.clone();
        let mut b = config.clone();
        a.device = b.device; // the device does not change results
        a.datasets = b.datasets.clone();
        b.device = a.device;
        // A folder where no stage has produced anything yet (a start that failed) takes
        // the new settings.
        if a != b && dir.join("data").exists() {
            let diff = crate::files::differing_fields(
                &serde_json::to_value(&a)?,
                &serde_json::to_value(&b)?,
            );
            bail!(
                "{} was made with other settings ({}; recorded in {}); use another --out, or \
                 the same settings",
                dir.display(),
                diff.join("; "),
                path.display()
            );
        }
        if a == b {
            return Ok(());
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::files::write_atomic(&path, config.to_toml().as_bytes())
}

fn sample_config(config: &RunConfig, model_path: &Path) -> SampleConfig {
    SampleConfig {
        n: config.sample.n,
        temperature: config.sample.temperature,
        top_p: config.sample.top_p,
        max_new_tokens: config.sample.max_new_tokens,
        seed: config.seed,
        limit: None,
        shots: config.sample.shots,
        format: PromptFormat::Chat,
        batch_prompts: config.sample.batch_prompts,
        model_name: model_path.display().to_string(),
        quiet: false,
    }
}
