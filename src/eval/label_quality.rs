//! Reference-free labels ([`crate::dataset::agreement`]) measured against the ground-truth
//! judge, on judged samples (`judged.jsonl` of a run or of `halt-llm judge`): how well each
//! score detects the fragments the judge calls wrong (AUROC, average precision, with 95%
//! bootstrap intervals over prompts), beside two scores that need nothing (a fragment's
//! position in its answer, its length), and how the labels at `min_support` agree with the
//! judge's.
//!
//! Fragments counted: those that count (not neutral) with a decided ground-truth verdict. A
//! fragment without evidence (a step without a number, …) has support 0 here.

use serde::Serialize;

use super::bootstrap::{BootstrapConfig, percentile_interval, resample};
use super::detection::{auroc, average_precision};
use crate::dataset::agreement::{Evidence, labels, supports};
use crate::dataset::record::{FragmentKind, Judged};

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
    /// Support, position, length.
    pub detection: Vec<Detection>,
    /// Labels at `min_support` (no evidence counted as wrong): precision of "wrong".
    pub label_precision: Option<f64>,
    /// Recall of "wrong".
    pub label_recall: Option<f64>,
    /// Share of fragments where label and judge agree.
    pub label_accuracy: Option<f64>,
}

fn scored(record: &Judged, evidence: Evidence, min_support: usize) -> Vec<Scored> {
    let texts: Vec<Vec<&str>> = record
        .responses
        .iter()
        .map(|r| r.fragments.iter().map(|f| f.text.as_str()).collect())
        .collect();
    let support = supports(evidence, &texts);
    let mut out = Vec::new();
    for (r, sup) in record.responses.iter().zip(&support) {
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

type Pick = fn(&Scored) -> f64;

const SCORES: [(&str, Pick); 3] = [
    ("support (fewer other samples agree)", |s| s.low_support),
    ("position (later in the answer)", |s| s.position),
    ("length (longer)", |s| s.length),
];

fn stats(prompts: &[Vec<Scored>], pick: Pick) -> [Option<f64>; 2] {
    let all: Vec<&Scored> = prompts.iter().flatten().collect();
    let x: Vec<f64> = all.iter().map(|s| pick(s)).collect();
    let y: Vec<bool> = all.iter().map(|s| s.wrong).collect();
    [auroc(&x, &y), average_precision(&x, &y)]
}

/// Measures reference-free labels with `evidence` and `min_support` against the verdicts of
/// `records` (see the module docs).
pub fn label_quality(
    records: &[Judged],
    evidence: Evidence,
    min_support: usize,
    bootstrap: &BootstrapConfig,
) -> LabelQuality {
    let prompts: Vec<Vec<Scored>> = records
        .iter()
        .map(|r| scored(r, evidence, min_support))
        .collect();
    let all: Vec<&Scored> = prompts.iter().flatten().collect();
    let detection = SCORES
        .iter()
        .map(|&(name, pick)| {
            let [a, ap] = stats(&prompts, pick);
            let draws = resample(&prompts, bootstrap, |d| stats(d, pick));
            Detection {
                score: name.to_string(),
                auroc: a,
                auroc_ci: percentile_interval(draws.iter().filter_map(|d| d[0])),
                average_precision: ap,
                average_precision_ci: percentile_interval(draws.iter().filter_map(|d| d[1])),
            }
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
        s += &format!(
            "| {} | {}{} | {}{} |\n",
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
        let q = label_quality(&[record()], Evidence::Quantity, 1, &none);
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
        let q = label_quality(&[record()], Evidence::Quantity, 2, &none);
        assert_eq!(q.label_precision, Some(2.0 / 6.0));
        assert_eq!(q.label_recall, Some(1.0));
        assert!(render(&q).contains("| support (fewer other samples agree) | 1.000 | 1.000 |"));
    }
}
