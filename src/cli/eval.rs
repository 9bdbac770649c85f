//! `halt-llm eval`: answer test prompts with a model, judge the answers like the training
//! data, and write `evaluated.jsonl`, `summary.json`, `report.md` and the plot into `--out`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use halt_llm::dataset::fewshot::PromptFormat;
use halt_llm::dataset::load_examples;
use halt_llm::dataset::record::{NullPolicy, UNSURE_MARKER};
use halt_llm::eval::report::fmt_estimate;
use halt_llm::eval::{BootstrapConfig, EvalConfig, EvalRun, run_eval};

use super::dataset::{LlmJudgeArgs, serde_name};
use super::model::{ModelArgs, load};

/// `halt-llm eval`.
#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Test examples (JSON Lines of `Example` records, e.g. `datasets/math/test.jsonl`).
    #[arg(long)]
    data: PathBuf,
    /// Output folder: evaluated.jsonl (resumed if present), summary.json, report.md, plot.png,
    /// plot.svg.
    #[arg(long)]
    out: PathBuf,
    /// Only the first N test examples.
    #[arg(long)]
    limit: Option<usize>,
    /// Prompts per generation batch.
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Maximum new tokens per answer.
    #[arg(long, default_value_t = 256)]
    max_new_tokens: usize,
    /// `chat` (the model's chat template) or `plain` (`Q: … A:` text, for base models).
    #[arg(long, default_value = "chat")]
    format: PromptFormat,
    /// How an undecided (`null`) verdict counts: wrong, correct or ignore.
    #[arg(long, default_value = "wrong", value_parser = serde_name::<NullPolicy>)]
    null_policy: NullPolicy,
    /// Bootstrap resamples for the 95% intervals (0: none).
    #[arg(long, default_value_t = 1000)]
    resamples: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Method name in the report (default: the model's file or folder name).
    #[arg(long)]
    label: Option<String>,
    /// The α the model was trained with, shown in the report.
    #[arg(long)]
    alpha: Option<f64>,
    /// The abstention marker.
    #[arg(long, default_value = UNSURE_MARKER)]
    marker: String,
    #[command(flatten)]
    llm: LlmJudgeArgs,
}

/// `halt-llm eval`: runs the evaluation and prints the headline numbers.
pub fn eval(args: EvalArgs) -> Result<()> {
    let eval = EvalConfig {
        max_new_tokens: args.max_new_tokens,
        batch_size: args.batch_size,
        limit: args.limit,
        format: args.format,
        marker: args.marker.clone(),
        quiet: false,
        ..EvalConfig::default()
    };
    eval.validate()?;
    if let Some(a) = args.alpha {
        halt_llm::settings::fraction("alpha", a)?;
    }
    let examples = load_examples(&args.data)?;
    let (loaded, device) = load(&args.model)?;
    let label = args
        .label
        .clone()
        .unwrap_or_else(|| halt_llm::fetch::model_name(&loaded.source));
    let run = EvalRun {
        eval,
        judges: args.llm.judge_config()?,
        null_policy: args.null_policy,
        bootstrap: BootstrapConfig {
            resamples: args.resamples,
            seed: args.seed,
        },
        label,
        alpha: args.alpha,
    };
    let start = Instant::now();
    let out = run_eval(&loaded, &device, &examples, &run, &args.out)?;
    let s = &out.summary;
    eprintln!(
        "eval: {} prompts ({} already done) in {:.1} s; correctness {}, completeness {}, F1 {}, \
         abstention {}, partial abstention {}",
        out.stage.total,
        out.stage.skipped,
        start.elapsed().as_secs_f64(),
        fmt_estimate(&s.correctness),
        fmt_estimate(&s.completeness),
        fmt_estimate(&s.f1),
        fmt_estimate(&s.abstention),
        fmt_estimate(&s.partial_abstention)
    );
    eprintln!(
        "eval: wrote {}, {}, {}, {}, {}",
        out.stage.path.display(),
        out.summary_path.display(),
        out.report.markdown.display(),
        out.report.png.display(),
        out.report.svg.display()
    );
    Ok(())
}
