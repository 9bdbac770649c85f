//! The [`Evaluated`] record: one test prompt, the finetuned model's answer, its judged fragments
//! and the counts the metrics are computed from (the book's evaluation chapter, "The `Evaluated` record").

use serde::{Deserialize, Serialize};

use crate::dataset::judge::Progress;
use crate::dataset::record::{Fragment, FragmentKind};
use crate::generate::FinishReason;
use crate::stage::Keyed;

/// Output of `halt-llm eval` (one JSON Lines line per test prompt).
///
/// The counts are raw (no null policy applied): the null policy is a choice of the summary
/// ([`summarize`](super::metrics::summarize)), so one file can be summarised under each policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evaluated {
    /// The [`Example`](crate::dataset::Example) id.
    pub id: String,
    /// The model's whole answer, as generated (marker and anything after it included).
    pub answer: String,
    /// Why generation stopped (`eos`, `stop_string`, `length`).
    pub finish: FinishReason,
    /// Fragments of the answer *before* the abstention marker, with the judge's verdicts;
    /// `start`/`end` are byte offsets into [`answer`](Self::answer). The marker is never a
    /// fragment, and nothing after it is judged.
    pub fragments: Vec<Fragment>,
    /// Independent (claims) or dependent (steps, lines) fragments: the domain's judge decides.
    pub kind: FragmentKind,
    /// Byte offset of the abstention marker in `answer`, if the answer contains it.
    pub marker_at: Option<usize>,
    /// Full abstention: the answer has the marker and no fragment before it.
    pub abstained: bool,
    /// Partial abstention: the answer has the marker after at least one fragment.
    pub partial_abstained: bool,
    /// Whether the judged part has fragments and reached its end by the judge's rule
    /// ([`Judge::is_complete`](crate::dataset::judge::Judge::is_complete); math: it states a
    /// final answer). Reported beside completeness, which only counts fragments.
    pub complete: bool,
    /// Fragments given: the counted ones (neutral fragments, which claim nothing checkable,
    /// are left out; see [`Fragment::neutral`]).
    pub n_fragments: usize,
    /// Counted fragments the judge found correct (`correct == true`).
    pub n_correct: usize,
    /// Neutral fragments (maths: steps without a number), neither given nor correct.
    #[serde(default)]
    pub n_neutral: usize,
    /// Fragments the judge could not decide (`correct == null`); counted as the summary's null
    /// policy says.
    pub n_undecided: usize,
    /// Fragments of the example's reference answer, split with the same fragmenter.
    pub n_reference_fragments: usize,
    /// Maths: progress along the reference solution (intermediates reached and the final
    /// answer), which completeness counts instead of fragments; `null` in other domains.
    #[serde(default)]
    pub progress: Option<Progress>,
    /// The answer was cut at `max_new_tokens` and its unfinished last fragment left out.
    #[serde(default)]
    pub cut: bool,
}

impl Keyed for Evaluated {
    fn id(&self) -> &str {
        &self.id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_the_contract_field_names() {
        let e = Evaluated {
            id: "math-t0".into(),
            answer: "2+3 = 5\nUnsure from Here".into(),
            finish: FinishReason::Eos,
            fragments: vec![Fragment {
                text: "2+3 = 5".into(),
                start: 0,
                end: 7,
                correct: Some(true),
                neutral: false,
            }],
            kind: FragmentKind::Dependent,
            marker_at: Some(8),
            abstained: false,
            partial_abstained: true,
            complete: false,
            n_fragments: 1,
            n_correct: 1,
            n_undecided: 0,
            n_neutral: 0,
            n_reference_fragments: 2,
            progress: Some(Progress {
                reached: 1,
                desired: 2,
                solved: false,
            }),
            cut: false,
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"id":"math-t0","answer":"2+3 = 5\nUnsure from Here","finish":"eos","fragments":[{"text":"2+3 = 5","start":0,"end":7,"correct":true}],"kind":"dependent","marker_at":8,"abstained":false,"partial_abstained":true,"complete":false,"n_fragments":1,"n_correct":1,"n_neutral":0,"n_undecided":0,"n_reference_fragments":2,"progress":{"reached":1,"desired":2,"solved":false},"cut":false}"#
        );
        assert_eq!(serde_json::from_str::<Evaluated>(&json).unwrap(), e);
        assert!(serde_json::from_str::<Evaluated>(&json.replace("\"kind\"", "\"knd\"")).is_err());
    }
}
