//! `halt-llm agreement`: reference-free labels (support across the N samples of a prompt)
//! measured against the ground-truth judge's verdicts in a `judged.jsonl`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use halt_llm::dataset::Domain;
use halt_llm::dataset::agreement::{DEFAULT_MIN_SUPPORT, Evidence};
use halt_llm::dataset::record::Judged;
use halt_llm::eval::bootstrap::BootstrapConfig;
use halt_llm::eval::label_quality::{label_quality, render};
use halt_llm::stage::jsonl::read_jsonl;

/// `halt-llm agreement`.
#[derive(Args)]
pub struct AgreementArgs {
    /// Judged samples (`judged.jsonl` of a run, or of `halt-llm judge`).
    #[arg(long)]
    judged: PathBuf,
    /// math, bio, code or medicine: what a fragment's evidence is (the quantity a step
    /// computes, a claim's facts, a code line).
    #[arg(long)]
    domain: Domain,
    /// A fragment is labelled correct when at least this many of the other samples contain it.
    #[arg(long, default_value_t = DEFAULT_MIN_SUPPORT)]
    min_support: usize,
    /// Bootstrap resamples over prompts for the 95% intervals (0: none).
    #[arg(long, default_value_t = 1000)]
    resamples: usize,
    /// Print JSON instead of markdown.
    #[arg(long)]
    json: bool,
}

/// Reads the judged samples and prints the measurement.
pub fn agreement(args: AgreementArgs) -> Result<()> {
    let records: Vec<Judged> =
        read_jsonl(&args.judged).with_context(|| format!("reading {}", args.judged.display()))?;
    let evidence = match args.domain {
        Domain::Math => Evidence::Quantity,
        Domain::Bio | Domain::Medicine => Evidence::Facts,
        Domain::Code => Evidence::Line,
    };
    let bootstrap = BootstrapConfig {
        resamples: args.resamples,
        seed: 0,
    };
    let q = label_quality(&records, evidence, args.min_support, &bootstrap);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&q)?);
    } else {
        print!("{}", render(&q));
    }
    Ok(())
}
