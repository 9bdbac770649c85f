//! Evaluation metrics (paper §"Evaluation", arXiv 2506.04051) over [`Evaluated`] records, with
//! percentile-bootstrap 95% intervals over prompts ([`summarize`] → [`Summary`]).
//!
//! Per prompt `i`, under the null policy ([`Tally::of`]): `gᵢ` fragments given (the marker is
//! not a fragment, neutral fragments do not count; undecided fragments are left out under
//! `ignore`), `cᵢ` correct fragments (undecided ones count as correct under `correct`), and the
//! completeness pair `(aᵢ, dᵢ)`: points achieved of points desired. For maths it is the
//! answer's progress along the reference solution ([`Progress`]: reference intermediates its
//! correct steps reach, plus one point only for a correct final answer); elsewhere
//! `(min(cᵢ, rᵢ), rᵢ)` with `rᵢ` the reference answer's fragments.
//!
//! - **correctness** (headline, as the paper's "mean fragment correctness"): the per-prompt mean
//!   of `cᵢ/gᵢ` over the prompts with `gᵢ > 0`. A full abstention gives nothing (`gᵢ = 0`), so
//!   it is left out here, never divided by zero, and shows in the abstention rate; when no
//!   prompt gives a fragment, correctness is undefined (`None`, "n/a").
//! - **correctness_micro**: `Σcᵢ / Σgᵢ` (pooled over all fragments).
//! - **completeness** (headline): the per-prompt mean of `aᵢ/dᵢ` over the prompts with
//!   `dᵢ > 0` (an abstention scores 0).
//! - **completeness_micro**: `Σaᵢ / Σdᵢ`.
//! - **f1**: `2·P·C/(P+C)` of the headline correctness `P` and completeness `C`; 0 whenever
//!   `C = 0`, whatever `P` is (defined or not: `2PC/(P+C) → 0` as `C → 0`); undefined only
//!   when `C` is.
//! - **solve_rate** (maths): the share of prompts whose answer states the right final answer
//!   in a correct step; undefined in domains without a final answer.
//! - **abstention**: answers that are only the marker / all prompts; **partial_abstention**:
//!   answers with fragments and then the marker / all prompts.

use serde::{Deserialize, Serialize};

use super::bootstrap::{BootstrapConfig, percentile_interval, resample};
use super::record::Evaluated;
use crate::dataset::judge::Progress;
use crate::dataset::record::NullPolicy;
use crate::generate::FinishReason;

/// One prompt's counts under a null policy: what the metrics are computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Fragments given that count (`gᵢ`).
    pub given: usize,
    /// Correct fragments (`cᵢ`), at most `given`.
    pub correct: usize,
    /// Fragments of the reference answer (`rᵢ`).
    pub reference: usize,
    /// Progress along the reference solution (maths); `None`: completeness counts fragments.
    pub progress: Option<Progress>,
    /// Only the marker.
    pub abstained: bool,
    /// Fragments, then the marker.
    pub partial: bool,
}

impl Tally {
    /// The counts of `e` with its undecided fragments counted as `policy` says: `wrong` →
    /// given, not correct; `correct` → given and correct; `ignore` → neither.
    pub fn of(e: &Evaluated, policy: NullPolicy) -> Tally {
        let undecided = e.n_undecided.min(e.n_fragments);
        let (given, correct) = match policy {
            NullPolicy::Wrong => (e.n_fragments, e.n_correct),
            NullPolicy::Correct => (e.n_fragments, e.n_correct + undecided),
            NullPolicy::Ignore => (e.n_fragments - undecided, e.n_correct),
        };
        Tally {
            given,
            correct: correct.min(given),
            reference: e.n_reference_fragments,
            progress: e.progress,
            abstained: e.abstained,
            partial: e.partial_abstained,
        }
    }

    /// Completeness points `(achieved, desired)`: the progress when there is one, else
    /// `(min(correct, reference), reference)`.
    pub fn completeness(&self) -> (usize, usize) {
        match self.progress {
            Some(p) => (p.reached.min(p.desired), p.desired),
            None => (self.correct.min(self.reference), self.reference),
        }
    }
}

/// Number of metrics in [`point`]'s array.
pub const METRICS: usize = 8;

/// Position of each metric in [`point`]'s array.
pub mod at {
    /// Per-prompt mean correctness.
    pub const CORRECTNESS: usize = 0;
    /// Per-prompt mean completeness.
    pub const COMPLETENESS: usize = 2;
    /// F1 of the two.
    pub const F1: usize = 4;
    /// Share of prompts solved (maths).
    pub const SOLVE_RATE: usize = 7;
}

/// F1 of correctness `p` and completeness `c`: `2pc/(p+c)`; 0 whenever `c` is 0, whatever `p`
/// is (the limit as `c → 0`); undefined only when `c` is, or when `p` is and `c > 0`.
pub fn f1(p: Option<f64>, c: Option<f64>) -> Option<f64> {
    match (p, c) {
        (_, Some(0.0)) => Some(0.0),
        (Some(p), Some(c)) if p + c > 0.0 => Some(2.0 * p * c / (p + c)),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    }
}

/// Point estimates, in this order: correctness, correctness_micro, completeness,
/// completeness_micro, f1, abstention, partial_abstention, solve_rate (see the module docs).
/// `None`: undefined (no prompt to average over, or a zero denominator).
pub fn point(t: &[Tally]) -> [Option<f64>; METRICS] {
    let ratio = |num: f64, den: f64| (den > 0.0).then(|| num / den);
    let mean = |v: Vec<f64>| ratio(v.iter().sum(), v.len() as f64);
    let correctness = mean(
        t.iter()
            .filter(|x| x.given > 0)
            .map(|x| x.correct as f64 / x.given as f64)
            .collect(),
    );
    let completeness = mean(
        t.iter()
            .map(Tally::completeness)
            .filter(|(_, d)| *d > 0)
            .map(|(a, d)| a as f64 / d as f64)
            .collect(),
    );
    let sum = |f: fn(&Tally) -> usize| t.iter().map(f).sum::<usize>() as f64;
    let correctness_micro = ratio(sum(|x| x.correct), sum(|x| x.given));
    let completeness_micro = ratio(sum(|x| x.completeness().0), sum(|x| x.completeness().1));
    let n = t.len() as f64;
    let abstention = ratio(t.iter().filter(|x| x.abstained).count() as f64, n);
    let partial = ratio(t.iter().filter(|x| x.partial).count() as f64, n);
    let solve_rate = mean(
        t.iter()
            .filter_map(|x| x.progress)
            .map(|p| f64::from(u8::from(p.solved)))
            .collect(),
    );
    [
        correctness,
        correctness_micro,
        completeness,
        completeness_micro,
        f1(correctness, completeness),
        abstention,
        partial,
        solve_rate,
    ]
}

/// One metric: its value, its 95% bootstrap interval and how it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Estimate {
    /// The point estimate in [0, 1]; `null` when undefined (e.g. correctness when every answer
    /// abstains).
    pub value: Option<f64>,
    /// 95% percentile-bootstrap interval `[lo, hi]` over prompts (resamples where the metric is
    /// undefined are left out); `null` without resamples.
    pub ci95: Option<[f64; 2]>,
    /// How the value was computed (formula, which prompts, null policy).
    pub how: String,
}

/// Counts behind a [`Summary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    /// Test prompts evaluated.
    pub prompts: usize,
    /// Prompts whose answer gave at least one counted fragment (averaged in correctness).
    pub answered: usize,
    /// Full abstentions (only the marker).
    pub abstained: usize,
    /// Partial abstentions (fragments, then the marker).
    pub partial_abstained: usize,
    /// Answers without a fragment and without the marker (empty or unsplittable text).
    pub empty: usize,
    /// Answers cut at `max_new_tokens`.
    pub truncated: usize,
    /// Answers the judge considers complete ([`Evaluated::complete`]; math: a final answer).
    pub complete: usize,
    /// Fragments given, under the null policy (`Σgᵢ`).
    pub fragments_given: usize,
    /// Correct fragments, under the null policy (`Σcᵢ`).
    pub fragments_correct: usize,
    /// Fragments the judge could not decide (before the null policy).
    pub fragments_undecided: usize,
    /// Fragments of the reference answers (`Σrᵢ`).
    pub reference_fragments: usize,
    /// Neutral fragments (no number: neither given nor correct).
    #[serde(default)]
    pub fragments_neutral: usize,
    /// Answers whose unfinished last fragment (cut at `max_new_tokens`) was left out.
    #[serde(default)]
    pub cut: usize,
    /// Maths: answers stating the right final answer in a correct step.
    #[serde(default)]
    pub solved: usize,
}

/// Every metric of one evaluated model, with intervals, counts and the settings used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// How undecided (`null`) verdicts were counted.
    pub null_policy: NullPolicy,
    /// Resamples and seed of the intervals.
    pub bootstrap: BootstrapConfig,
    /// The counts.
    pub counts: Counts,
    /// Per-prompt mean fragment correctness (the paper's headline).
    pub correctness: Estimate,
    /// Pooled correctness: all correct fragments / all fragments given.
    pub correctness_micro: Estimate,
    /// Per-prompt mean completeness against the reference answer.
    pub completeness: Estimate,
    /// Pooled completeness.
    pub completeness_micro: Estimate,
    /// Harmonic mean of correctness and completeness.
    pub f1: Estimate,
    /// Share of answers that are only the marker.
    pub abstention: Estimate,
    /// Share of answers that stop with the marker after some fragments.
    pub partial_abstention: Estimate,
    /// Maths: share of prompts solved (right final answer); `null` elsewhere or in summaries
    /// written before it existed.
    #[serde(default)]
    pub solve_rate: Option<Estimate>,
}

fn null_words(policy: NullPolicy) -> &'static str {
    match policy {
        NullPolicy::Wrong => "undecided (null) verdicts count as given and wrong",
        NullPolicy::Correct => "undecided (null) verdicts count as given and correct",
        NullPolicy::Ignore => "undecided (null) verdicts are left out (neither given nor correct)",
    }
}

/// The `how` text of each metric, in [`point`]'s order.
fn hows(policy: NullPolicy, c: &Counts, b: &BootstrapConfig) -> [String; METRICS] {
    let nulls = null_words(policy);
    let ci = format!(
        "95% interval: percentile bootstrap over the {} prompts, {} resamples, seed {}",
        c.prompts, b.resamples, b.seed
    );
    [
        format!(
            "per-prompt mean of correct / given fragments over the {} of {} prompts that gave \
             at least one fragment (the paper's mean fragment correctness); full abstentions \
             and empty answers give nothing and are left out (see abstention); the marker is \
             not a fragment; {nulls}; {ci}",
            c.answered, c.prompts
        ),
        format!(
            "pooled: {} correct / {} given fragments over all prompts; {nulls}; {ci}",
            c.fragments_correct, c.fragments_given
        ),
        format!(
            "per-prompt mean of achieved / desired points: maths: reference intermediates \
             reached by correct steps plus one point for a correct final answer, over their \
             number; other domains: min(correct, reference) / reference fragments (reference \
             split with the same fragmenter); an abstention scores 0; {nulls}; {ci}"
        ),
        format!(
            "pooled: sum of achieved / sum of desired points ({} reference fragments); {ci}",
            c.reference_fragments
        ),
        format!(
            "harmonic mean 2PC/(P+C) of correctness P and completeness C (per-prompt means); \
             0 whenever C is 0 (the limit as C -> 0, even when P is undefined), undefined only \
             when C is; interval: the same on each resample; {ci}"
        ),
        format!(
            "{} of {} answers are only the marker (nothing before it splits into a fragment); {ci}",
            c.abstained, c.prompts
        ),
        format!(
            "{} of {} answers give fragments and then the marker; {ci}",
            c.partial_abstained, c.prompts
        ),
        format!(
            "{} of {} answers state the right final answer in a correct step (maths); {ci}",
            c.solved, c.prompts
        ),
    ]
}

/// The counts of `records` under `policy`.
pub fn counts(records: &[Evaluated], policy: NullPolicy) -> Counts {
    let tallies: Vec<Tally> = records.iter().map(|e| Tally::of(e, policy)).collect();
    Counts {
        prompts: records.len(),
        answered: tallies.iter().filter(|t| t.given > 0).count(),
        abstained: records.iter().filter(|e| e.abstained).count(),
        partial_abstained: records.iter().filter(|e| e.partial_abstained).count(),
        empty: records
            .iter()
            .filter(|e| e.n_fragments == 0 && e.marker_at.is_none())
            .count(),
        truncated: records
            .iter()
            .filter(|e| e.finish == FinishReason::Length)
            .count(),
        complete: records.iter().filter(|e| e.complete).count(),
        fragments_given: tallies.iter().map(|t| t.given).sum(),
        fragments_correct: tallies.iter().map(|t| t.correct).sum(),
        fragments_undecided: records.iter().map(|e| e.n_undecided).sum(),
        reference_fragments: tallies.iter().map(|t| t.reference).sum(),
        fragments_neutral: records.iter().map(|e| e.n_neutral).sum(),
        cut: records.iter().filter(|e| e.cut).count(),
        solved: records
            .iter()
            .filter(|e| e.progress.is_some_and(|p| p.solved))
            .count(),
    }
}

/// Every metric of `records` (one per test prompt) under `policy`, with bootstrap intervals.
pub fn summarize(
    records: &[Evaluated],
    policy: NullPolicy,
    bootstrap: &BootstrapConfig,
) -> Summary {
    let tallies: Vec<Tally> = records.iter().map(|e| Tally::of(e, policy)).collect();
    summarize_tallies(&tallies, counts(records, policy), policy, bootstrap)
}

/// [`summarize`] on precomputed tallies (e.g. of the pretrained model's few-shot samples).
pub fn summarize_tallies(
    tallies: &[Tally],
    counts: Counts,
    policy: NullPolicy,
    bootstrap: &BootstrapConfig,
) -> Summary {
    let values = point(tallies);
    let draws = resample(tallies, bootstrap, point);
    let mut hows = hows(policy, &counts, bootstrap).into_iter();
    let mut est = (0..METRICS).map(|k| Estimate {
        value: values[k],
        ci95: percentile_interval(draws.iter().filter_map(|d| d[k])),
        how: hows.next().unwrap_or_default(),
    });
    let mut next = || est.next().expect("METRICS estimates");
    Summary {
        null_policy: policy,
        bootstrap: *bootstrap,
        counts,
        correctness: next(),
        correctness_micro: next(),
        completeness: next(),
        completeness_micro: next(),
        f1: next(),
        abstention: next(),
        partial_abstention: next(),
        solve_rate: Some(next()).filter(|e| e.value.is_some()),
    }
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
