//! Reference-free labels ([`crate::dataset::agreement`]) measured against the ground-truth
//! judge, on judged samples (`judged.jsonl` of a run or of `halt-llm judge`): how well each
//! score detects the fragments the judge calls wrong (AUROC, average precision, with 95%
//! bootstrap intervals over prompts), beside two scores that need nothing (a fragment's
//! position in its answer, its length) and, when the sampled records are given and carry them,
//! the fragment's mean token log-probability ([`crate::dataset::token_confidence`]), and how
//! the labels at `min_support` agree with the judge's.
//!
//! Fragments counted: those that count (not neutral) with a decided ground-truth verdict. A
//! fragment without evidence (a step without a number, …) has support 0 here.

use std::collections::HashMap;

use serde::Serialize;

use super::bootstrap::{BootstrapConfig, percentile_interval, resample};
use super::detection::{auroc, average_precision};
use crate::dataset::agreement::{Evidence, labels, supports};
use crate::dataset::record::{FragmentKind, Judged, Sampled};
use crate::dataset::token_confidence::fragment_logprob;

/// One counted fragment: its scores (suspicion: higher = more likely wrong), whether the
/// judge calls it wrong, and its reference-free label.
#[derive(Debug, Clone, Copy)]
struct Scored {
    /// −support.
    low_support: f64,
    /// 0-based position in its answer (counted fragments only).
    position: f64,
    /// Characters.
    length: f64,
    /// −(mean token log-probability), when the sampled record has log-probabilities.
    low_logprob: Option<f64>,
    /// The ground-truth judge says wrong.
    wrong: bool,
    /// The reference-free label says wrong (`None`: no evidence).
    labelled_wrong: Option<bool>,
    /// The fragment had no evidence.
    no_evidence: bool,
}

/// A score's detection quality with its intervals.
#[derive(Debug, Clone, Serialize)]
pub struct Detection {
    /// The score's name.
    pub score: String,
    /// Fragments that have this score (log-probabilities can be missing).
    pub fragments: usize,
    /// AUROC and its 95% interval.
    pub auroc: Option<f64>,
    /// Interval of [`Detection::auroc`].
    pub auroc_ci: Option<[f64; 2]>,
    /// Average precision and its 95% interval.
    pub average_precision: Option<f64>,
    /// Interval of [`Detection::average_precision`].
    pub average_precision_ci: Option<[f64; 2]>,
}

/// The whole measurement.
#[derive(Debug, Clone, Serialize)]
pub struct LabelQuality {
    /// Prompts read.
    pub prompts: usize,
    /// Counted fragments with a decided verdict.
    pub fragments: usize,
    /// Of those, the judge calls wrong.
    pub wrong: usize,
    /// Of those, without evidence (support 0).
    pub no_evidence: usize,
    /// The support threshold of the labels.
    pub min_support: usize,
    /// Support, position, length, and mean token log-probability when any fragment has one.
    pub detection: Vec<Detection>,
    /// Labels at `min_support` (no evidence counted as wrong): precision of "wrong".
    pub label_precision: Option<f64>,
    /// Recall of "wrong".
    pub label_recall: Option<f64>,
    /// Share of fragments where label and judge agree.
    pub label_accuracy: Option<f64>,
}

fn scored(
    record: &Judged,
    sampled: Option<&Sampled>,
    evidence: Evidence,
    min_support: usize,
) -> Vec<Scored> {
    let texts: Vec<Vec<&str>> = record
        .responses
        .iter()
        .map(|r| r.fragments.iter().map(|f| f.text.as_str()).collect())
        .collect();
    let support = supports(evidence, &texts);
    let mut out = Vec::new();
    for (k, (r, sup)) in record.responses.iter().zip(&support).enumerate() {
        let dependent = r.kind == FragmentKind::Dependent;
        let label = labels(sup, min_support, dependent);
        let mut position = 0.0;
        for ((f, s), l) in r.fragments.iter().zip(sup).zip(&label) {
            if !f.counts() {
                continue;
            }
            if let Some(correct) = f.correct {
                out.push(Scored {
                    low_support: -(s.unwrap_or(0) as f64),
                    position,
                    length: f.text.chars().count() as f64,
                    low_logprob: sampled
                        .and_then(|s| fragment_logprob(s, k, f.start, f.end))
                        .map(|m| -m),
                    wrong: !correct,
                    labelled_wrong: l.map(|ok| !ok),
                    no_evidence: s.is_none(),
                });
            }
            position += 1.0;
        }
    }
    out
}

type Pick = fn(&Scored) -> Option<f64>;

const SCORES: [(&str, Pick); 4] = [
    ("support (fewer other samples agree)", |s| {
        Some(s.low_support)
    }),
    ("position (later in the answer)", |s| Some(s.position)),
    ("length (longer)", |s| Some(s.length)),
    ("mean token log-prob (lower)", |s| s.low_logprob),
];

/// AUROC and average precision of the score over the fragments that have it.
fn stats(prompts: &[Vec<Scored>], pick: Pick) -> [Option<f64>; 2] {
    let (x, y): (Vec<f64>, Vec<bool>) = prompts
        .iter()
        .flatten()
        .filter_map(|s| pick(s).map(|x| (x, s.wrong)))
        .unzip();
    [auroc(&x, &y), average_precision(&x, &y)]
}

/// Measures reference-free labels with `evidence` and `min_support` against the verdicts of
/// `records` (see the module docs); `sampled` (by id; may be empty) gives the token
/// log-probabilities.
pub fn label_quality(
    records: &[Judged],
    sampled: &HashMap<String, Sampled>,
    evidence: Evidence,
    min_support: usize,
    bootstrap: &BootstrapConfig,
) -> LabelQuality {
    let prompts: Vec<Vec<Scored>> = records
        .iter()
        .map(|r| scored(r, sampled.get(&r.id), evidence, min_support))
        .collect();
    let all: Vec<&Scored> = prompts.iter().flatten().collect();
    let detection = SCORES
        .iter()
        .filter_map(|&(name, pick)| {
            let fragments = all.iter().filter(|s| pick(s).is_some()).count();
            if fragments == 0 {
                return None;
            }
            let [a, ap] = stats(&prompts, pick);
            let draws = resample(&prompts, bootstrap, |d| stats(d, pick));
            Some(Detection {
                score: name.to_string(),
                fragments,
                auroc: a,
                auroc_ci: percentile_interval(draws.iter().filter_map(|d| d[0])),
                average_precision: ap,
                average_precision_ci: percentile_interval(draws.iter().filter_map(|d| d[1])),
            })
        })
        .collect();
    let said_wrong = |s: &Scored| s.labelled_wrong.unwrap_or(true);
    let tp = all.iter().filter(|s| s.wrong && said_wrong(s)).count();
    let flagged = all.iter().filter(|s| said_wrong(s)).count();
    let wrong = all.iter().filter(|s| s.wrong).count();
    let agree = all.iter().filter(|s| s.wrong == said_wrong(s)).count();
    let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
    LabelQuality {
        prompts: records.len(),
        fragments: all.len(),
        wrong,
        no_evidence: all.iter().filter(|s| s.no_evidence).count(),
        min_support,
        detection,
        label_precision: ratio(tp, flagged),
        label_recall: ratio(tp, wrong),
        label_accuracy: ratio(agree, all.len()),
    }
}

/// The measurement as a markdown section.
pub fn render(q: &LabelQuality) -> String {
    let f = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.3}"));
    let ci = |v: Option<[f64; 2]>| v.map_or(String::new(), |[a, b]| format!(" [{a:.3}, {b:.3}]"));
    let mut s = format!(
        "{} prompts, {} judged fragments ({} wrong by the judge; {} without evidence, support 0).\n\n\
         | score (higher = more suspicious) | AUROC | average precision |\n|---|---|---|\n",
        q.prompts, q.fragments, q.wrong, q.no_evidence
    );
    for d in &q.detection {
        let part = if d.fragments < q.fragments {
            format!(" ({} of the fragments)", d.fragments)
        } else {
            String::new()
        };
        s += &format!(
            "| {}{part} | {}{} | {}{} |\n",
            d.score,
            f(d.auroc),
            ci(d.auroc_ci),
            f(d.average_precision),
            ci(d.average_precision_ci)
        );
    }
    s += &format!(
        "\nLabels at min_support {} (\"wrong\" below it or without evidence, then every later \
         step of a dependent answer): precision of \"wrong\" {}, recall {}, agreement with the \
         judge {}. Base rate of wrong: {}.\n",
        q.min_support,
        f(q.label_precision),
        f(q.label_recall),
        f(q.label_accuracy),
        f((q.fragments > 0).then(|| q.wrong as f64 / q.fragments as f64)),
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One prompt, three dependent answers: two agree on 1 + 1 = 2 (right), one says 3 (wrong).
    fn record() -> Judged {
        let f = |t: &str, ok: bool| serde_json::json!({"text": t, "start": 0, "end": t.len(), "correct": ok});
        let r = |a: &str, b: &str, ok: bool| {
            serde_json::json!({"fragments": [f(a, ok), f(b, ok)], "kind": "dependent",
                               "mean_correctness": if ok { 1.0 } else { 0.0 }})
        };
        serde_json::from_value(serde_json::json!({
            "id": "p", "null_policy": "wrong",
            "responses": [r("1 + 1 = 2", "#### 2", true), r("1 + 1 = 2", "#### 2", true),
                          r("1 + 1 = 3", "#### 3", false)]
        }))
        .unwrap()
    }

    #[test]
    fn detection_and_labels_by_hand() {
        let none = BootstrapConfig {
            resamples: 0,
            seed: 0,
        };
        let q = label_quality(&[record()], &HashMap::new(), Evidence::Quantity, 1, &none);
        assert_eq!((q.fragments, q.wrong, q.no_evidence), (6, 2, 0));
        // support: right fragments have 1 (the other right answer), wrong ones 0 → perfect
        assert_eq!(q.detection[0].auroc, Some(1.0));
        assert_eq!(q.detection[0].average_precision, Some(1.0));
        // position: wrong at 0 and 1, right at 0, 1, 0, 1 → every pair tied or balanced: ½
        assert_eq!(q.detection[1].auroc, Some(0.5));
        // at min_support 1 the labels are the judge's
        assert_eq!(
            (q.label_precision, q.label_recall, q.label_accuracy),
            (Some(1.0), Some(1.0), Some(1.0))
        );
        // at 2 every fragment is labelled wrong: precision 2/6, recall 1, agreement 2/6
        let q = label_quality(&[record()], &HashMap::new(), Evidence::Quantity, 2, &none);
        assert_eq!(q.label_precision, Some(2.0 / 6.0));
        assert_eq!(q.label_recall, Some(1.0));
        assert!(render(&q).contains("| support (fewer other samples agree) | 1.000 | 1.000 |"));
        // no sampled records: no log-probability row
        assert_eq!(q.detection.len(), 3);
    }

    /// Prompt "q": three one-fragment answers "1 + 1 = 2" (right), "1 + 1 = 2" (right),
    /// "1 + 1 = 3" (wrong), each two tokens "1 + 1 =" [0, 7) and " 2"/" 3" [7, 9), with
    /// log-probabilities (−0.1, −0.1), (−0.2, −0.8), (−0.1, −0.5): means −0.1, −0.5, −0.3.
    /// Suspicion = −mean: right 0.1 and 0.5, wrong 0.3. AUROC: the wrong one outranks one of
    /// the two right ones → ½. Average precision: ranked 0.5 (right), 0.3 (wrong), 0.1 → the
    /// wrong one is found at rank 2 with precision ½. Prompt "p" (`record`) has no sampled
    /// record: its six fragments have no log-probability.
    #[test]
    fn mean_token_log_probability_by_hand() {
        let none = BootstrapConfig {
            resamples: 0,
            seed: 0,
        };
        let r = |t: &str, ok: bool| {
            serde_json::json!({"fragments": [{"text": t, "start": 0, "end": 9, "correct": ok}],
                               "kind": "dependent", "mean_correctness": if ok { 1.0 } else { 0.0 }})
        };
        let judged: Judged = serde_json::from_value(serde_json::json!({
            "id": "q", "null_policy": "wrong",
            "responses": [r("1 + 1 = 2", true), r("1 + 1 = 2", true), r("1 + 1 = 3", false)]
        }))
        .unwrap();
        let sampled: Sampled = serde_json::from_value(serde_json::json!({
            "id": "q", "responses": ["1 + 1 = 2", "1 + 1 = 2", "1 + 1 = 3"], "model": "m",
            "sampling": {"temperature": 1.0, "top_p": 1.0, "seed": 0, "max_new_tokens": 8},
            "token_logprobs": [[-0.1, -0.1], [-0.2, -0.8], [-0.1, -0.5]],
            "token_ends": [[7, 9], [7, 9], [7, 9]]
        }))
        .unwrap();
        let by_id = HashMap::from([("q".to_string(), sampled)]);
        let q = label_quality(&[judged, record()], &by_id, Evidence::Quantity, 1, &none);
        assert_eq!(q.fragments, 9);
        let lp = &q.detection[3];
        assert_eq!(lp.fragments, 3);
        assert!((lp.auroc.unwrap() - 0.5).abs() < 1e-12);
        assert!((lp.average_precision.unwrap() - 0.5).abs() < 1e-12);
        assert!(
            render(&q).contains("| mean token log-prob (lower) (3 of the fragments) | 0.500 |")
        );
    }
}
