//! The paper's claims as paired differences with clustered bootstrap intervals.
//!
//! HALT's claims (arXiv 2506.04051, §"Results") compare methods on the *same* test prompts:
//! HALT raises correctness over standard finetuning (Unchanged); HALT's F1 beats the baselines
//! IDK and RandomTrim; lowering α trades completeness for correctness. Each claim here is a
//! difference `metric(A) − metric(B)` between two methods, with a 95% interval from one
//! bootstrap that
//! - **pairs** the methods: every resample draws the same prompts for all methods, so what the
//!   prompts have in common (an easy problem is easy for every model) cancels in the difference;
//! - **clusters** the prompts: it draws whole clusters (maths: the problem template, whose
//!   instances are the same problem with other numbers; biographies: the person) with
//!   replacement, so renumbered copies of one problem do not count as independent evidence.
//!
//! Verdict: *supported* when the interval lies above 0, *contradicted* when it lies below 0,
//! otherwise *not resolved at this size*. Metrics are those of [`point`] on the resampled
//! prompts; a resample where either side is undefined (e.g. correctness when every answer
//! abstains) is left out of that claim's interval, and a claim whose difference is undefined in
//! more than 5% of the resamples gets no verdict (*not resolved*): its interval would describe
//! only the resamples that happen to contain the few prompts a method answered.

use std::collections::{BTreeMap, HashMap};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::bootstrap::{BootstrapConfig, percentile_interval};
use super::metrics::{METRICS, Tally, at, point};

/// One evaluated method: its report name, α and one tally per test prompt id.
#[derive(Debug, Clone)]
pub struct MethodTallies {
    /// Name as in the report (`halt-0.4`, `unchanged`, `idk`, `random_trim`).
    pub name: String,
    /// Per prompt id.
    pub tallies: HashMap<String, Tally>,
}

/// A claim to test: `metric(a) − metric(b) > 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimSpec {
    /// The claim in words.
    pub text: String,
    /// Method on the left of the difference.
    pub a: String,
    /// Method on the right.
    pub b: String,
    /// Index into [`point`]'s array ([`at`]).
    pub metric: usize,
}

/// What the interval says about a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The whole interval is above 0.
    Supported,
    /// The whole interval is below 0.
    Contradicted,
    /// The interval contains 0 (or there is none).
    NotResolved,
}

impl Verdict {
    /// Share of resamples in which a difference must be defined for a verdict.
    pub const MIN_DEFINED: f64 = 0.95;

    /// From a 95% interval and the share of resamples in which the difference was defined.
    pub fn of(ci: Option<[f64; 2]>, defined: f64) -> Verdict {
        if defined < Self::MIN_DEFINED {
            return Verdict::NotResolved;
        }
        match ci {
            Some([lo, _]) if lo > 0.0 => Verdict::Supported,
            Some([_, hi]) if hi < 0.0 => Verdict::Contradicted,
            _ => Verdict::NotResolved,
        }
    }

    /// The words used in the report.
    pub fn words(self) -> &'static str {
        match self {
            Verdict::Supported => "supported",
            Verdict::Contradicted => "contradicted",
            Verdict::NotResolved => "not resolved at this size",
        }
    }
}

/// One tested claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// The claim in words.
    pub text: String,
    /// `a − b` on the metric, over all common prompts; `null` when undefined.
    pub difference: Option<f64>,
    /// 95% paired, clustered bootstrap interval of the difference.
    pub ci95: Option<[f64; 2]>,
    /// Resamples in which the difference was defined (of [`BootstrapConfig::resamples`]).
    pub defined_in: usize,
    /// What the interval says.
    pub verdict: Verdict,
}

/// Every claim with the bootstrap's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The claims, in order.
    pub claims: Vec<Claim>,
    /// Test prompts answered by every method (the pairs).
    pub prompts: usize,
    /// Clusters they fall into (what is resampled).
    pub clusters: usize,
    /// What a cluster is (`problem template`, `prompt`).
    pub cluster_kind: String,
    /// Resamples and seed.
    pub bootstrap: BootstrapConfig,
}

/// Metric names for claim texts.
pub fn metric_name(metric: usize) -> &'static str {
    match metric {
        at::CORRECTNESS => "correctness",
        at::COMPLETENESS => "completeness",
        at::F1 => "F1",
        at::SOLVE_RATE => "solve rate",
        _ => "metric",
    }
}

/// The paper's claims for the methods present: for each HALT α (names `halt-<α>`), HALT −
/// Unchanged on correctness, HALT − RandomTrim on correctness and on F1, HALT − IDK on F1,
/// HALT − OwnBest (the best sample kept whole, the control) on correctness;
/// with two or more α, the lowest α − the highest on correctness, and the highest − the
/// lowest on completeness. Claims naming an absent method are left out.
pub fn paper_claims(names: &[&str], alphas: &[f64]) -> Vec<ClaimSpec> {
    let has = |n: &str| names.contains(&n);
    let halt = |a: f64| format!("halt-{a}");
    let mut out = Vec::new();
    let mut add = |text: String, a: String, b: &str, metric: usize| {
        if has(&a) && has(b) {
            out.push(ClaimSpec {
                text,
                a,
                b: b.to_string(),
                metric,
            });
        }
    };
    for &a in alphas {
        add(
            format!("HALT (α = {a}) is more often correct than Unchanged (correctness)"),
            halt(a),
            "unchanged",
            at::CORRECTNESS,
        );
        add(
            format!("HALT (α = {a}) is more often correct than RandomTrim (correctness)"),
            halt(a),
            "random_trim",
            at::CORRECTNESS,
        );
        add(
            format!("HALT (α = {a}) has a higher F1 than RandomTrim"),
            halt(a),
            "random_trim",
            at::F1,
        );
        add(
            format!("HALT (α = {a}) has a higher F1 than IDK"),
            halt(a),
            "idk",
            at::F1,
        );
        // the control: the same self-generated samples, kept whole instead of cut where they
        // go wrong; isolates the effect of stopping from that of the model's own words
        add(
            format!(
                "HALT (α = {a}) is more often correct than OwnBest, finetuned on its best samples kept whole (correctness)"
            ),
            halt(a),
            "own_best",
            at::CORRECTNESS,
        );
    }
    let lo = alphas.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = alphas.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if alphas.len() >= 2 && lo < hi {
        add(
            format!("lower α is more often correct (α = {lo} − α = {hi}, correctness)"),
            halt(lo),
            &halt(hi),
            at::CORRECTNESS,
        );
        add(
            format!("higher α is more complete (α = {hi} − α = {lo}, completeness)"),
            halt(hi),
            &halt(lo),
            at::COMPLETENESS,
        );
    }
    out
}

/// Tests `specs` on `methods`: the prompts every method answered, grouped by `cluster_of(id)`,
/// resampled by cluster jointly across methods (see the module docs).
pub fn test_claims(
    methods: &[MethodTallies],
    specs: &[ClaimSpec],
    cluster_of: impl Fn(&str) -> String,
    cluster_kind: &str,
    bootstrap: &BootstrapConfig,
) -> Claims {
    // The prompts every method answered, in a fixed order, grouped by cluster.
    let mut ids: Vec<&String> = methods
        .first()
        .map(|m| m.tallies.keys().collect())
        .unwrap_or_default();
    ids.retain(|id| methods.iter().all(|m| m.tallies.contains_key(*id)));
    ids.sort();
    let mut by_cluster: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, id) in ids.iter().enumerate() {
        by_cluster.entry(cluster_of(id)).or_default().push(i);
    }
    let clusters: Vec<Vec<usize>> = by_cluster.into_values().collect();
    let column =
        |m: &MethodTallies| -> Vec<Tally> { ids.iter().map(|id| m.tallies[*id]).collect() };
    let columns: HashMap<&str, Vec<Tally>> = methods
        .iter()
        .map(|m| (m.name.as_str(), column(m)))
        .collect();
    let metrics_on = |rows: &[usize]| -> HashMap<&str, [Option<f64>; METRICS]> {
        columns
            .iter()
            .map(|(name, col)| {
                let picked: Vec<Tally> = rows.iter().map(|&r| col[r]).collect();
                (*name, point(&picked))
            })
            .collect()
    };
    let diff = |m: &HashMap<&str, [Option<f64>; METRICS]>, s: &ClaimSpec| {
        let a = m.get(s.a.as_str())?[s.metric]?;
        let b = m.get(s.b.as_str())?[s.metric]?;
        Some(a - b)
    };
    let all: Vec<usize> = (0..ids.len()).collect();
    let full = metrics_on(&all);
    let mut draws: Vec<Vec<Option<f64>>> = Vec::new();
    if !clusters.is_empty() {
        let mut rng = StdRng::seed_from_u64(bootstrap.seed);
        for _ in 0..bootstrap.resamples {
            let rows: Vec<usize> = (0..clusters.len())
                .flat_map(|_| {
                    clusters[rng.random_range(0..clusters.len())]
                        .iter()
                        .copied()
                })
                .collect();
            let m = metrics_on(&rows);
            draws.push(specs.iter().map(|s| diff(&m, s)).collect());
        }
    }
    let claims = specs
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let ci95 = percentile_interval(draws.iter().filter_map(|d| d[k]));
            let defined_in = draws.iter().filter(|d| d[k].is_some()).count();
            let share = defined_in as f64 / draws.len().max(1) as f64;
            Claim {
                text: s.text.clone(),
                difference: diff(&full, s),
                ci95,
                defined_in,
                verdict: Verdict::of(ci95, share),
            }
        })
        .collect();
    Claims {
        claims,
        prompts: ids.len(),
        clusters: clusters.len(),
        cluster_kind: cluster_kind.to_string(),
        bootstrap: *bootstrap,
    }
}

#[cfg(test)]
#[path = "claims_tests.rs"]
mod tests;
