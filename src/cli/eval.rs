//! `halt-llm eval`: answer test prompts with a model, judge the answers like the training
//! data, and write `evaluated.jsonl`, `summary.json`, `report.md` and the plot into `--out`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use halt_llm::dataset::example::{EVAL_NEEDS_GROUND_TRUTH, require_ground_truth};
use halt_llm::dataset::fewshot::PromptFormat;
use halt_llm::dataset::load_examples;
use halt_llm::dataset::record::{NullPolicy, UNSURE_MARKER};
use halt_llm::dataset::sample::PromptSource;
use halt_llm::eval::report::fmt_estimate;
use halt_llm::eval::{BootstrapConfig, EvalConfig, EvalRun, EvalSettings, run_eval};

use super::dataset::{LlmJudgeArgs, serde_name};
use super::model::{ModelArgs, load};

/// `halt-llm eval`. Every setting left out comes from `--config`, or else from the defaults
/// shown by `--print-config`.
#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Test examples (JSON Lines of `Example` records, e.g. `datasets/math/test.jsonl`).
    #[arg(long, required_unless_present = "print_config")]
    data: Option<PathBuf>,
    /// Output folder: evaluated.jsonl (resumed if present), summary.json, report.md, plot.png,
    /// plot.svg.
    #[arg(long, required_unless_present = "print_config")]
    out: Option<PathBuf>,
    /// TOML file with the evaluation settings (field names as in `--print-config`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Only the first N test examples.
    #[arg(long)]
    limit: Option<usize>,
    /// Prompts per generation batch.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Maximum new tokens per answer.
    #[arg(long)]
    max_new_tokens: Option<usize>,
    /// `chat` (the model's chat template) or `plain` (`Q: … A:` text, for base models).
    #[arg(long)]
    format: Option<PromptFormat>,
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
    /// Print the resulting settings as TOML and exit.
    #[arg(long)]
    print_config: bool,
}

impl EvalArgs {
    /// The settings: the file (or the defaults), then the flags over it.
    fn settings(&self) -> Result<EvalSettings> {
        let mut s = match &self.config {
            Some(p) => EvalSettings::from_toml_file(p)?,
            None => EvalSettings::default(),
        };
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { s.$f = v; } )* };
        }
        set!(max_new_tokens, batch_size, format);
        Ok(s)
    }
}

/// `halt-llm eval`: runs the evaluation and prints the headline numbers.
pub fn eval(args: EvalArgs) -> Result<()> {
    let settings = args.settings()?;
    if args.print_config {
        print!("{}", settings.to_toml());
        return Ok(());
    }
    let (Some(data), Some(out_dir)) = (args.data.clone(), args.out.clone()) else {
        bail!("--data and --out are required");
    };
    let eval = EvalConfig {
        settings,
        limit: args.limit,
        marker: args.marker.clone(),
        quiet: false,
        source: PromptSource::new(&data, "max_new_tokens"),
        ..EvalConfig::default()
    };
    eval.validate()?;
    halt_llm::settings::limit(args.limit)?;
    halt_llm::settings::marker("marker", &args.marker)?;
    halt_llm::settings::resamples("resamples", args.resamples)?;
    if let Some(a) = args.alpha {
        halt_llm::settings::fraction("alpha", a)?;
    }
    let examples = load_examples(&data)?;
    let prompts = args.limit.map_or(examples.len(), |l| l.min(examples.len()));
    require_ground_truth(&examples[..prompts], EVAL_NEEDS_GROUND_TRUTH)
        .with_context(|| data.display().to_string())?;
    eval.settings
        .check_memory("", &super::model::config(&args.model)?, Some(prompts))?;
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
    let out = run_eval(&loaded, &device, &examples, &run, &out_dir)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        eval: EvalArgs,
    }

    fn settings(args: &[&str]) -> EvalSettings {
        let mut all = vec!["halt-llm", "--print-config"];
        all.extend(args);
        Cli::try_parse_from(all).unwrap().eval.settings().unwrap()
    }

    #[test]
    fn eval_flags_over_the_file_over_the_defaults() {
        // by hand: the defaults are 256 tokens, batches of 8, chat prompts
        let d = settings(&[]);
        assert_eq!(
            (d.max_new_tokens, d.batch_size, d.format),
            (256, 8, PromptFormat::Chat)
        );
        // the file sets 64 tokens and plain prompts; --batch-size 3 is laid over it and
        // --max-new-tokens 32 wins over the file's 64
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("e.toml");
        std::fs::write(&file, "max_new_tokens = 64\nformat = \"plain\"\n").unwrap();
        let path = file.to_str().unwrap();
        let s = settings(&["--config", path, "--batch-size", "3"]);
        assert_eq!(
            (s.max_new_tokens, s.batch_size, s.format),
            (64, 3, PromptFormat::Plain)
        );
        let s = settings(&["--config", path, "--max-new-tokens", "32"]);
        assert_eq!((s.max_new_tokens, s.batch_size), (32, 8));
        // an unknown field in the file is an error naming it
        std::fs::write(&file, "max_tokens = 64\n").unwrap();
        let err = Cli::try_parse_from(["halt-llm", "--config", path, "--print-config"])
            .unwrap()
            .eval
            .settings()
            .unwrap_err();
        assert!(format!("{err:#}").contains("max_tokens"), "{err:#}");
    }
}
