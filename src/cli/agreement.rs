//! `halt-llm agreement`: reference-free labels (support across the N samples of a prompt)
//! measured against the ground-truth judge's verdicts in a `judged.jsonl`.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use halt_llm::dataset::Domain;
use halt_llm::dataset::agreement::{DEFAULT_MIN_SUPPORT, Evidence};
use halt_llm::dataset::record::{Judged, Sampled};
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
    /// The sampled records the judged ones came from (`sampled.jsonl`): adds each fragment's
    /// mean token log-probability as a score (records sampled before log-probabilities were
    /// recorded have none).
    #[arg(long)]
    sampled: Option<PathBuf>,
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
    let sampled: HashMap<String, Sampled> = match &args.sampled {
        Some(path) => read_jsonl::<Sampled>(path)
            .with_context(|| format!("reading {}", path.display()))?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect(),
        None => HashMap::new(),
    };
    let evidence = match args.domain {
        Domain::Math => Evidence::Quantity,
        Domain::Bio | Domain::Medicine => Evidence::Facts,
        Domain::Code => Evidence::Line,
    };
    let bootstrap = BootstrapConfig {
        resamples: args.resamples,
        seed: 0,
    };
    let q = label_quality(&records, &sampled, evidence, args.min_support, &bootstrap);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&q)?);
    } else {
        print!("{}", render(&q));
    }
    Ok(())
}
