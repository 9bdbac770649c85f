//! `halt-llm agreement`: reference-free labels (support across the N samples of a prompt)
//! measured against the ground-truth judge's verdicts in a `judged.jsonl`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use halt_llm::dataset::Domain;
use halt_llm::dataset::agreement::{DEFAULT_MIN_SUPPORT, Evidence, check_min_support};
use halt_llm::dataset::record::{Judged, Sampled};
use halt_llm::dataset::token_confidence::check_against;
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

/// The records of the sampled file `path` that the judged `records` came from, by id, each
/// checked against its judged record ([`check_against`]).
///
/// # Errors
/// An unreadable file; no record matching a judged id; no token log-probabilities at all; a
/// record that is not its judged record's source.
fn sampled_for(records: &[Judged], path: &Path) -> Result<HashMap<String, Sampled>> {
    let name = path.display();
    let mut by_id: HashMap<String, Sampled> = read_jsonl::<Sampled>(path)
        .with_context(|| format!("reading {name} (a `sampled.jsonl` of `halt-llm sample`)"))?
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    by_id.retain(|id, _| records.iter().any(|r| &r.id == id));
    if by_id.is_empty() {
        bail!("no record of {name} has the id of a judged record: the samples of another run?");
    }
    if by_id.values().all(|s| s.token_logprobs.is_empty()) {
        bail!(
            "{name} has no token log-probabilities (sampled before they were recorded): sample \
             again to measure them, or leave out --sampled"
        );
    }
    for r in records {
        if let Some(s) = by_id.get(&r.id) {
            check_against(r, s).map_err(|e| anyhow!("{name}: `{}`: {e}", r.id))?;
        }
    }
    let missing = records
        .iter()
        .filter(|r| !by_id.contains_key(&r.id))
        .count();
    if missing > 0 {
        eprintln!(
            "agreement: {missing} of {} judged records have no sampled record in {name}: their \
             fragments have no log-probability score",
            records.len()
        );
    }
    Ok(by_id)
}

/// Reads the judged samples and prints the measurement.
pub fn agreement(args: AgreementArgs) -> Result<()> {
    let records: Vec<Judged> =
        read_jsonl(&args.judged).with_context(|| format!("reading {}", args.judged.display()))?;
    let most = records.iter().map(|r| r.responses.len()).max().unwrap_or(0);
    check_min_support(args.min_support, most).with_context(|| {
        format!(
            "{} (at most {most} samples per prompt)",
            args.judged.display()
        )
    })?;
    let sampled: HashMap<String, Sampled> = match &args.sampled {
        Some(path) => sampled_for(&records, path)?,
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
