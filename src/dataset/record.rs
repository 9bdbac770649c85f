//! The stage records of the HALT data pipeline: [`Sampled`], [`Judged`], [`Aligned`].
//!
//! Field names are the contract between stages (the book's data chapter, "The stage records"); every record is one
//! JSON Lines line, read and written with [`read_jsonl`](crate::stage::jsonl::read_jsonl) /
//! [`write_jsonl`](crate::stage::jsonl::write_jsonl). Unknown fields are rejected so that a record of
//! the wrong stage is an error, not silently half-read.

use serde::{Deserialize, Serialize};

use crate::generate::FinishReason;

/// The abstention marker HALT appends where the model should stop (paper §"Align the target").
pub const UNSURE_MARKER: &str = "Unsure from Here";

/// Sampling settings used to produce a [`Sampled`] record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SamplingParams {
    /// Softmax temperature (0 = greedy).
    pub temperature: f32,
    /// Nucleus-sampling mass in (0, 1].
    pub top_p: f32,
    /// RNG seed of the sampler.
    pub seed: u64,
    /// Maximum number of generated tokens per response.
    pub max_new_tokens: usize,
}

/// Output of `halt-llm sample`: the N few-shot responses of the pretrained model to one prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sampled {
    /// The [`Example`](super::Example) id.
    pub id: String,
    /// The N responses (N = 5 in the paper), as generated text.
    pub responses: Vec<String>,
    /// The model that produced them (name or path).
    pub model: String,
    /// How they were sampled.
    pub sampling: SamplingParams,
    /// Why each response ended, in the order of `responses` (`eos`, `stop_string`, `length`).
    /// A response cut at `length` loses its last fragment before judging. Empty in files
    /// written before the field existed (then every response counts as ended on its own).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finish: Vec<FinishReason>,
    /// Per response, the natural log-probability of each generated token under the model
    /// (softmax of the raw logits at temperature 1: [`crate::generate::token_logprob`]),
    /// `[responses][tokens]`; the second reference-free confidence signal
    /// ([`crate::dataset::token_confidence`]). Empty in files written before the field existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_logprobs: Vec<Vec<f32>>,
    /// Per response, the byte offset in the response where each token of `token_logprobs`
    /// ends ([`crate::generate::Generation::text_ends`], shifted by the leading whitespace a
    /// plain-format response loses), `[responses][tokens]`. Empty when `token_logprobs` is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_ends: Vec<Vec<usize>>,
}

impl Sampled {
    /// Whether response `k` was cut at `max_new_tokens` (unknown → `false`).
    pub fn cut_at_length(&self, k: usize) -> bool {
        self.finish.get(k) == Some(&FinishReason::Length)
    }
}

/// How fragments relate (paper §"Fragment"): fixed per domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FragmentKind {
    /// Atomic claims judged one by one (biographies, medicine explanations).
    Independent,
    /// Steps or code lines: after the first wrong one, everything is wrong (maths, code).
    Dependent,
}

/// A span of a response: `text == response[start..end]`, offsets in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Span {
    /// The fragment text (exactly the bytes `start..end` of the response).
    pub text: String,
    /// Byte offset of the first byte in the response.
    pub start: usize,
    /// Byte offset one past the last byte in the response.
    pub end: usize,
}

/// A judged fragment: a [`Span`] plus its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fragment {
    /// The fragment text (`response[start..end]`).
    pub text: String,
    /// Byte offset of the first byte in the response.
    pub start: usize,
    /// Byte offset one past the last byte in the response.
    pub end: usize,
    /// `true` correct, `false` wrong, `null` the judge could not decide.
    pub correct: Option<bool>,
    /// A neutral fragment claims nothing checkable (maths: a step without a number): it stays
    /// in targets while nothing before it is wrong (`correct` is then `true`), but it counts
    /// neither as given nor as correct in means and metrics. Absent (`false`) in most records.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub neutral: bool,
}

impl Fragment {
    /// A fragment from a span and a verdict (not neutral).
    pub fn new(span: Span, correct: Option<bool>) -> Self {
        Fragment {
            text: span.text,
            start: span.start,
            end: span.end,
            correct,
            neutral: false,
        }
    }

    /// Whether the fragment counts in means and metrics (it is not [`neutral`](Self::neutral)).
    pub fn counts(&self) -> bool {
        !self.neutral
    }
}

/// How a `null` verdict counts in means and alignment (run option; default [`NullPolicy::Wrong`]
/// as FActScore counts unsupported facts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NullPolicy {
    /// Undecided counts as wrong (dropped / ends a dependent chain).
    #[default]
    Wrong,
    /// Undecided counts as correct (kept).
    Correct,
    /// Undecided is left out of the mean, and kept in the target (it was not shown wrong).
    Ignore,
}

impl NullPolicy {
    /// The effective verdict: `Some(true/false)`, or `None` for [`NullPolicy::Ignore`] nulls.
    pub fn resolve(self, correct: Option<bool>) -> Option<bool> {
        match (correct, self) {
            (Some(c), _) => Some(c),
            (None, NullPolicy::Wrong) => Some(false),
            (None, NullPolicy::Correct) => Some(true),
            (None, NullPolicy::Ignore) => None,
        }
    }

    /// Whether a fragment with this verdict counts as wrong (is dropped / ends a chain).
    pub fn is_wrong(self, correct: Option<bool>) -> bool {
        self.resolve(correct) == Some(false)
    }
}

/// Mean fragment correctness in [0, 1] under `policy`: the share of decided, counted (not
/// [neutral](Fragment::neutral)) fragments that are correct. A response without such fragments
/// scores 0 (it says nothing checkable).
pub fn mean_correctness(fragments: &[Fragment], policy: NullPolicy) -> f64 {
    let decided: Vec<bool> = fragments
        .iter()
        .filter(|f| f.counts())
        .filter_map(|f| policy.resolve(f.correct))
        .collect();
    if decided.is_empty() {
        return 0.0;
    }
    decided.iter().filter(|c| **c).count() as f64 / decided.len() as f64
}

/// One judged response of a [`Judged`] record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgedResponse {
    /// The response's fragments in order, with verdicts.
    pub fragments: Vec<Fragment>,
    /// Independent or dependent fragments.
    pub kind: FragmentKind,
    /// [`mean_correctness`] of `fragments` under the record's `null_policy`.
    pub mean_correctness: f64,
    /// Whether the response got to its end (math: it states a final answer). An incomplete
    /// response stopped early (e.g. at `max_new_tokens`): aligned with HALT it still ends with
    /// the marker even when every fragment is correct. Absent in older files: `true`.
    #[serde(default = "complete_default")]
    pub complete: bool,
    /// The response was cut at `max_new_tokens` and its last (unfinished) fragment was dropped
    /// before judging: `fragments` end before it, and aligned targets never include it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cut: bool,
    /// Where the answer ended, when it ended before the response did (byte offset; maths: after
    /// the first final-answer step, where small models go on with a question of their own).
    /// The text after it was not judged, and aligned targets never include it. Absent when the
    /// answer is the whole response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_end: Option<usize>,
}

impl JudgedResponse {
    /// Correct, counted (not neutral) fragments.
    pub fn n_correct(&self) -> usize {
        self.fragments
            .iter()
            .filter(|f| f.counts() && f.correct == Some(true))
            .count()
    }
}

fn complete_default() -> bool {
    true
}

/// Output of `halt-llm judge`: every response of a [`Sampled`] record, fragmented and judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Judged {
    /// The [`Example`](super::Example) id.
    pub id: String,
    /// The responses, in the order of [`Sampled::responses`] (the index is what
    /// [`Aligned::selected`] refers to).
    pub responses: Vec<JudgedResponse>,
    /// How `null` verdicts were counted in `mean_correctness` (and count in alignment).
    #[serde(default)]
    pub null_policy: NullPolicy,
}

/// How an [`Aligned`] target was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlignMethod {
    /// HALT: wrong fragments deleted / truncated with the marker (paper §5).
    Halt,
    /// Add-On HALT: everything kept, the first error onward marked uncertain.
    Addon,
    /// Baseline: the ground-truth reference answer.
    Unchanged,
    /// Baseline: the whole sample if fully correct, else only the marker.
    Idk,
    /// Baseline: the sample truncated at a random fragment (seeded), then the marker.
    RandomTrim,
    /// Control: the model's own best sample (highest mean correctness of the N, as α = 1
    /// selects it) kept whole: no truncation, no marker. The paper's control for "the gain
    /// comes from the model's own words, not from stopping" (SFT on the model's own few-shot
    /// best-of-5 answers, arXiv 2506.04051 §5).
    OwnBest,
}

/// Output of `halt-llm align`: one finetuning pair (prompt, target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Aligned {
    /// The [`Example`](super::Example) id.
    pub id: String,
    /// The prompt (the example's question; the chat template is applied at training time).
    pub prompt: String,
    /// The finetuning target.
    pub target: String,
    /// How `target` was built.
    pub method: AlignMethod,
    /// The threshold α used for selection (`null` for [`AlignMethod::Unchanged`] and
    /// [`AlignMethod::OwnBest`], which selects the best sample).
    pub alpha: Option<f64>,
    /// Index into the sampled responses of the one used (`null` for `Unchanged`).
    pub selected: Option<usize>,
    /// Fragments of the selected response kept in `target`.
    pub kept: usize,
    /// Fragments of the selected response left out (or, for Add-On, marked uncertain).
    pub dropped: usize,
    /// Whether the target is only the marker (the model learns to abstain entirely).
    pub abstained: bool,
}

impl crate::stage::Keyed for Sampled {
    fn id(&self) -> &str {
        &self.id
    }
}

impl crate::stage::Keyed for Judged {
    fn id(&self) -> &str {
        &self.id
    }
}

impl crate::stage::Keyed for Aligned {
    fn id(&self) -> &str {
        &self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(correct: Option<bool>) -> Fragment {
        Fragment {
            text: "x".into(),
            start: 0,
            end: 1,
            correct,
            neutral: false,
        }
    }

    #[test]
    fn judged_round_trips_with_the_contract_field_names() {
        let j = Judged {
            id: "math-0001-00".into(),
            responses: vec![JudgedResponse {
                fragments: vec![frag(Some(true)), frag(None)],
                kind: FragmentKind::Dependent,
                mean_correctness: 0.5,
                complete: true,
                cut: false,
                answer_end: None,
            }],
            null_policy: NullPolicy::Wrong,
        };
        let json = serde_json::to_string(&j).unwrap();
        assert_eq!(
            json,
            r#"{"id":"math-0001-00","responses":[{"fragments":[{"text":"x","start":0,"end":1,"correct":true},{"text":"x","start":0,"end":1,"correct":null}],"kind":"dependent","mean_correctness":0.5,"complete":true}],"null_policy":"wrong"}"#
        );
        assert_eq!(serde_json::from_str::<Judged>(&json).unwrap(), j);
    }

    #[test]
    fn aligned_method_names() {
        let names: Vec<String> = [
            AlignMethod::Halt,
            AlignMethod::Addon,
            AlignMethod::Unchanged,
            AlignMethod::Idk,
            AlignMethod::RandomTrim,
        ]
        .iter()
        .map(|m| serde_json::to_string(m).unwrap())
        .collect();
        assert_eq!(
            names,
            [
                "\"halt\"",
                "\"addon\"",
                "\"unchanged\"",
                "\"idk\"",
                "\"random_trim\""
            ]
        );
    }

    #[test]
    fn sampled_rejects_unknown_fields() {
        let ok = r#"{"id":"a","responses":["r"],"model":"m","sampling":{"temperature":0.7,"top_p":0.9,"seed":1,"max_new_tokens":64}}"#;
        assert!(serde_json::from_str::<Sampled>(ok).is_ok());
        let bad = ok.replace("\"model\"", "\"modle\"");
        assert!(serde_json::from_str::<Sampled>(&bad).is_err());
    }

    #[test]
    fn mean_under_each_null_policy() {
        let f = [
            frag(Some(true)),
            frag(Some(false)),
            frag(None),
            frag(Some(true)),
        ];
        assert_eq!(mean_correctness(&f, NullPolicy::Wrong), 0.5); // 2 of 4
        assert_eq!(mean_correctness(&f, NullPolicy::Correct), 0.75); // 3 of 4
        assert!((mean_correctness(&f, NullPolicy::Ignore) - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(mean_correctness(&[], NullPolicy::Wrong), 0.0);
        assert_eq!(mean_correctness(&[frag(None)], NullPolicy::Ignore), 0.0);
    }
}
