//! `halt-llm run`: the whole HALT pipeline on the embedded default, or on a TOML config.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use halt_llm::backend::DeviceChoice;
use halt_llm::pipeline::{RunConfig, run_reusing};

/// Arguments of `halt-llm run`.
#[derive(Args, Clone)]
pub struct RunArgs {
    /// TOML file with the run settings (see `--print-config` for every field).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Run folder (every stage's output, the report); rerun to resume.
    #[arg(long, default_value = "runs/default")]
    out: PathBuf,
    /// Compute device: cpu, wgpu or cuda (overrides the file).
    #[arg(long, env = "HALT_DEVICE")]
    device: Option<DeviceChoice>,
    /// Print the settings as TOML and exit.
    #[arg(long)]
    print_config: bool,
    /// Start from another run folder's samples, verdicts, targets, finetuned models and
    /// evaluations where its settings would make the same ones (e.g. the validation run that
    /// chose this run's settings)
    #[arg(long, value_name = "DIR")]
    reuse_from: Option<PathBuf>,
}

/// Runs `halt-llm run`.
pub fn run(args: RunArgs) -> Result<()> {
    let mut config = match &args.config {
        Some(p) => RunConfig::from_toml_file(p)?,
        None => RunConfig::default(),
    };
    if let Some(d) = args.device {
        config.device = d;
    }
    if args.print_config {
        print!("{}", config.to_toml());
        return Ok(());
    }
    let outcome = run_reusing(&config, &args.out, args.reuse_from.as_deref())?;
    println!("{}", outcome.report.display());
    Ok(())
}
