//! Judges (paper §"Judge"): mark each fragment of a response correct, wrong or undecided
//! against the example's ground truth.
//!
//! One [`Judge`] per domain: [`MathJudge`] (dependent steps, arithmetic and provenance of
//! numbers), [`BioJudge`] (independent claims against structured facts), [`CodeJudge`] (dependent
//! lines, the program run against the tests in a sandbox), [`MedicineJudge`] (the chosen option
//! against the key; explanation claims through the LLM judge or a rule). [`LlmJudge`] is the
//! optional OpenAI-compatible judge the others defer to for what rules cannot decide.
//!
//! For dependent fragments only the first wrong fragment is located; every fragment after it
//! counts as wrong ([`first_wrong_onward`]).

pub mod arith;
pub mod bio;
pub mod code;
pub mod llm;
pub mod math;
pub mod medicine;
pub mod numbers;
pub mod path;
pub mod reference_free;
pub mod sandbox;
pub mod settings;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use bio::BioJudge;
pub use code::{CodeJudge, SandboxLimits};
pub use llm::{LlmConfig, LlmError, LlmJudge};
pub use math::MathJudge;
pub use medicine::MedicineJudge;
pub use settings::JudgeSettings;

use super::domain::Domain;
use super::example::Example;
use super::fragment::Splitter;
use super::record::{
    Fragment, FragmentKind, Judged, JudgedResponse, NullPolicy, Sampled, Span, mean_correctness,
};

/// What can go wrong while judging.
#[derive(Debug, thiserror::Error)]
pub enum JudgeError {
    /// The judge was given an example of another domain.
    #[error("example `{id}` is {got}, but this judge is for {expected}")]
    WrongDomain {
        /// The example id.
        id: String,
        /// The judge's domain.
        expected: Domain,
        /// The example's domain.
        got: Domain,
    },
    /// The sampled record and the example do not belong together.
    #[error("sampled record `{sampled}` does not match example `{example}`")]
    IdMismatch {
        /// The sampled record's id.
        sampled: String,
        /// The example's id.
        example: String,
    },
    /// The example is a prompt alone: there is nothing to judge against.
    #[error(
        "example `{id}` is a prompt alone (no reference, no ground truth): label its samples \
         by agreement with `halt-llm judge --reference-free` (book: \"Labels without ground \
         truth\")"
    )]
    NoGroundTruth {
        /// The example id.
        id: String,
    },
    /// The ground truth cannot be used (e.g. a maths answer that is not a number).
    #[error("example `{id}`: unusable ground truth: {message}")]
    BadTruth {
        /// The example id.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// The code sandbox could not be set up or run.
    #[error("sandbox: {0}")]
    Sandbox(String),
    /// The LLM judge failed (after its retries).
    #[error("LLM judge: {0}")]
    Llm(#[from] LlmError),
}

/// A judge for one domain.
pub trait Judge {
    /// The domain of the examples it judges.
    fn domain(&self) -> Domain;

    /// The fragmenter this judge splits answers with (maths: [`Splitter::Steps`], code:
    /// [`Splitter::Lines`], bio: [`Splitter::Facts`], medicine: [`Splitter::Claims`]). The one
    /// place a domain's splitter is named: [`Judge::judge`] splits responses with it and
    /// evaluation counts the reference answer's fragments with it
    /// ([`evaluate_answer`](crate::eval::evaluate_answer)).
    fn splitter(&self) -> Splitter;

    /// Independent or dependent fragments: those of [`Judge::splitter`].
    fn kind(&self) -> FragmentKind {
        self.splitter().kind()
    }

    /// The fragments of `text` as this judge splits it ([`Judge::splitter`]), without verdicts.
    fn fragments(&self, text: &str) -> Vec<Span> {
        self.splitter().split(text)
    }

    /// Fragments `response` with [`Judge::splitter`] and judges each fragment against
    /// `example`'s ground truth.
    ///
    /// # Errors
    /// [`JudgeError::WrongDomain`] for an example of another domain, others as the judge
    /// documents; never panics on any response text.
    fn judge(&self, example: &Example, response: &str) -> Result<Vec<Fragment>, JudgeError>;

    /// Whether `response` reached its end (default: always). The math judge requires a
    /// stated final answer.
    fn is_complete(&self, _response: &str) -> bool {
        true
    }

    /// Where the answer in `response` ends (a byte offset on a character boundary, at most
    /// `response.len()`): the text after it is not part of the answer and is neither judged
    /// nor kept in targets. Default: the whole response. The maths judge ends an answer with its
    /// first final-answer step ([`MathJudge`]): small models go on after `#### 18` with a new
    /// few-shot item of their own (`Question: …` / `Answer: …` / `#### 7`), which is not the
    /// answer to the prompt.
    fn answer_end(&self, response: &str) -> usize {
        response.len()
    }

    /// How far judged `fragments` of an answer get along the reference solution, for
    /// completeness; `None` (the default) where the domain measures completeness by counting
    /// correct fragments against the reference's. The math judge counts the reference's
    /// intermediates reached and the final answer ([`MathJudge`]).
    ///
    /// # Errors
    /// As [`Judge::judge`].
    fn progress(
        &self,
        _example: &Example,
        _fragments: &[Fragment],
    ) -> Result<Option<Progress>, JudgeError> {
        Ok(None)
    }
}

/// Progress of an answer along its reference solution (maths): what completeness counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// Points reached: reference intermediates hit by correct steps, plus one for a correct
    /// final answer.
    pub reached: usize,
    /// Points of a complete answer: the reference's intermediates plus the final answer.
    pub desired: usize,
    /// Whether the answer states the right final answer in a correct step.
    pub solved: bool,
}

/// What [`judge_response`] judged of one response.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgedText {
    /// The fragments of `response[..end]`, with verdicts.
    pub fragments: Vec<Fragment>,
    /// The response was cut at the token limit and its unfinished last fragment left out.
    pub cut: bool,
    /// The judged text is `response[..end]` (byte offset).
    pub end: usize,
    /// The answer ended before the response did ([`Judge::answer_end`]): the text after `end`
    /// is not part of the answer.
    pub answer_ended: bool,
}

/// Judges `response`: only the answer in it ([`Judge::answer_end`]; text after the answer's
/// end is not graded), leaving out its last fragment when `cut` (the response stopped at the
/// token limit, so that fragment is unfinished) and the answer did not end before: the
/// fragments are then those of the text before the last fragment, judged on their own.
///
/// # Errors
/// As [`Judge::judge`].
pub fn judge_response(
    judge: &dyn Judge,
    example: &Example,
    response: &str,
    cut: bool,
) -> Result<JudgedText, JudgeError> {
    fragment_response(judge, response, cut, |text| judge.judge(example, text))
}

/// [`judge_response`] with the verdicts from `label` (fragments of a text, with verdicts):
/// the answer's end and the cut last fragment handled the same way whoever decides.
///
/// # Errors
/// As `label`.
pub fn fragment_response(
    judge: &dyn Judge,
    response: &str,
    cut: bool,
    label: impl Fn(&str) -> Result<Vec<Fragment>, JudgeError>,
) -> Result<JudgedText, JudgeError> {
    let end = judge.answer_end(response);
    let answer_ended = end < response.len()
        && response.is_char_boundary(end)
        && !response[end..].trim().is_empty();
    let (text, cut) = if answer_ended {
        (&response[..end], false)
    } else {
        (response, cut)
    };
    let fragments = label(text)?;
    match fragments.last() {
        Some(last) if cut => {
            let fragments = label(&text[..last.start])?;
            let end = fragments.last().map_or(0, |f| f.end);
            Ok(JudgedText {
                fragments,
                cut: true,
                end,
                answer_ended: false,
            })
        }
        _ => Ok(JudgedText {
            fragments,
            cut: false,
            end: text.len(),
            answer_ended,
        }),
    }
}

/// Judges every response of `sampled` and builds the [`Judged`] record, with
/// `mean_correctness` computed under `policy`. A response cut at the token limit loses its last
/// fragment ([`judge_response`]) and is never complete; text after the answer's end is not
/// judged (its offset is the record's `answer_end`).
pub fn judge_sampled(
    judge: &dyn Judge,
    example: &Example,
    sampled: &Sampled,
    policy: NullPolicy,
) -> Result<Judged, JudgeError> {
    if sampled.id != example.id {
        return Err(JudgeError::IdMismatch {
            sampled: sampled.id.clone(),
            example: example.id.clone(),
        });
    }
    let responses = sampled
        .responses
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let j = judge_response(judge, example, r, sampled.cut_at_length(k))?;
            Ok(JudgedResponse {
                mean_correctness: mean_correctness(&j.fragments, policy),
                complete: judge.is_complete(&r[..j.end]),
                fragments: j.fragments,
                kind: judge.kind(),
                cut: j.cut,
                answer_end: j.answer_ended.then_some(j.end),
            })
        })
        .collect::<Result<_, JudgeError>>()?;
    Ok(Judged {
        id: example.id.clone(),
        responses,
        null_policy: policy,
    })
}

/// Settings shared by the judges of a run.
#[derive(Debug, Clone, Default)]
pub struct JudgeConfig {
    /// The LLM judge, if one is configured.
    pub llm: Option<Arc<LlmJudge>>,
    /// Limits of the code sandbox.
    pub sandbox: SandboxLimits,
}

/// The judge for `domain`: the one place a domain is mapped to its judge, and through
/// [`Judge::splitter`] to its fragmenter.
pub fn judge_for(domain: Domain, config: &JudgeConfig) -> Box<dyn Judge> {
    match domain {
        Domain::Math => Box::new(MathJudge::default()),
        Domain::Bio => Box::new(BioJudge {
            llm: config.llm.clone(),
        }),
        Domain::Code => Box::new(CodeJudge {
            limits: config.sandbox.clone(),
            llm: config.llm.clone(),
        }),
        Domain::Medicine => Box::new(MedicineJudge {
            llm: config.llm.clone(),
        }),
    }
}

/// Dependent fragments: everything from the first `Some(false)` on is `Some(false)`.
pub fn first_wrong_onward(verdicts: &mut [Option<bool>]) {
    if let Some(first) = verdicts.iter().position(|v| *v == Some(false)) {
        verdicts[first..].iter_mut().for_each(|v| *v = Some(false));
    }
}

/// Checks that `example` is of `domain`.
pub(crate) fn expect_domain(example: &Example, domain: Domain) -> Result<(), JudgeError> {
    if example.domain() == domain && !example.has_ground_truth() {
        Err(JudgeError::NoGroundTruth {
            id: example.id.clone(),
        })
    } else if example.domain() == domain {
        Ok(())
    } else {
        Err(JudgeError::WrongDomain {
            id: example.id.clone(),
            expected: domain,
            got: example.domain(),
        })
    }
}

#[cfg(test)]
pub(crate) mod test_data {
    //! Real examples from `datasets/` (copied verbatim, one line each).
    use crate::dataset::example::Example;

    /// `datasets/math/train.jsonl`, `math-0001-00`.
    pub const MATH_0001: &str = r#"{"domain":"math","ground_truth":{"answer":"140","answer_expr":null,"calculations":[{"expr":"42/3","step":0,"value":"14"},{"expr":"14*10","step":1,"value":"140"}],"generated":false,"instance":0,"num_calculations":2,"num_steps":2,"source_index":103,"steps":["The city will be covered in 42/3 = 14 intervals of 10 minutes.","Thus, it will take 14 * 10 = 140 minutes for the fog to cover the whole city."],"template":"0001"},"id":"math-0001-00","prompt":"A fog bank rolls in from the ocean to cover a city. It takes 10 minutes to cover every 3 miles of the city. If the city is 42 miles across from the oceanfront to the opposite inland edge, how many minutes will it take for the fog bank to cover the whole city?","reference":"The city will be covered in 42/3 = 14 intervals of 10 minutes.\nThus, it will take 14 * 10 = 140 minutes for the fog to cover the whole city.\n#### 140"}"#;

    /// `datasets/bio/train.jsonl`, `bio-jacobus-henricus-van-t-hoff`.
    pub const BIO_VAN_T_HOFF: &str = r#"{"domain":"bio","ground_truth":{"birth_country":"the Netherlands","birth_date":"1852-08-30","birth_place":"Rotterdam","name":"Jacobus Henricus van 't Hoff","prizes":[{"category":"chemistry","motivation":"The Nobel Prize in Chemistry 1901 was awarded to Jacobus H. van 't Hoff in recognition of the extraordinary services he has rendered by the discovery of the laws of chemical dynamics and osmotic pressure in solutions.","prize_name":"The Nobel Prize in Chemistry","year":1901}]},"id":"bio-jacobus-henricus-van-t-hoff","prompt":"Write a short biography of Jacobus Henricus van 't Hoff. Say when and where they were born, and in which year, in which category and for what they received the Nobel Prize.","reference":"Jacobus Henricus van 't Hoff was born on 30 August 1852 in Rotterdam, the Netherlands. The Nobel Prize in Chemistry 1901 was awarded to Jacobus H. van 't Hoff in recognition of the extraordinary services he has rendered by the discovery of the laws of chemical dynamics and osmotic pressure in solutions."}"#;

    /// `datasets/code/train.jsonl`, `code-humaneval-003` (HumanEval/3).
    pub const CODE_003: &str = r#"{"domain":"code","ground_truth":{"entry_point":"below_zero","language":"python","task_id":"HumanEval/3","test":"\n\nMETADATA = {\n    'author': 'jt',\n    'dataset': 'test'\n}\n\n\ndef check(candidate):\n    assert candidate([]) == False\n    assert candidate([1, 2, -3, 1, 2, -3]) == False\n    assert candidate([1, 2, -4, 5, 6]) == True\n    assert candidate([1, -1, 2, -2, 5, -5, 4, -4]) == False\n    assert candidate([1, -1, 2, -2, 5, -5, 4, -5]) == True\n    assert candidate([1, -2, 2, -2, 5, -5, 4, -4]) == True\n"},"id":"code-humaneval-003","prompt":"from typing import List\n\n\ndef below_zero(operations: List[int]) -> bool:\n    \"\"\" You're given a list of deposit and withdrawal operations on a bank account that starts with\n    zero balance. Your task is to detect if at any point the balance of account fallls below zero, and\n    at that point function should return True. Otherwise it should return False.\n    >>> below_zero([1, 2, 3])\n    False\n    >>> below_zero([1, 2, -4, 5])\n    True\n    \"\"\"\n","reference":"    balance = 0\n\n    for op in operations:\n        balance += op\n        if balance < 0:\n            return True\n\n    return False\n"}"#;

    /// `datasets/medicine/train.jsonl`, `medicine-2912cdad33bd`.
    pub const MED_DIARRHEA: &str = r#"{"domain":"medicine","ground_truth":{"answer":"B","answer_text":"Diarrheal diseases","explanation":null,"options":["Respiratory infections","Diarrheal diseases","Malaria","Tuberculosis"],"question":"Globally, the most deaths are caused by:","source_line":2967,"subject":"virology","subject_id":"virology"},"id":"medicine-2912cdad33bd","prompt":"Globally, the most deaths are caused by:\nA. Respiratory infections\nB. Diarrheal diseases\nC. Malaria\nD. Tuberculosis","reference":"The answer is B: Diarrheal diseases"}"#;

    /// Parses one of the constants above.
    pub fn example(line: &str) -> Example {
        serde_json::from_str(line).expect("test data parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::record::SamplingParams;

    #[test]
    fn first_wrong_marks_the_rest_wrong() {
        let mut v = [Some(true), None, Some(false), Some(true), None];
        first_wrong_onward(&mut v);
        assert_eq!(v, [Some(true), None, Some(false), Some(false), Some(false)]);
    }

    #[test]
    fn judge_sampled_builds_the_record_and_checks_ids() {
        let ex = test_data::example(test_data::MATH_0001);
        let mut sampled = Sampled {
            id: ex.id.clone(),
            responses: vec![
                ex.reference.clone(),
                "42/3 = 15 intervals.\n#### 150".into(),
            ],
            model: "test".into(),
            sampling: SamplingParams {
                temperature: 0.7,
                top_p: 0.9,
                seed: 0,
                max_new_tokens: 64,
            },
            finish: vec![],
            token_logprobs: Vec::new(),
            token_ends: Vec::new(),
        };
        let judge = judge_for(Domain::Math, &JudgeConfig::default());
        let j = judge_sampled(judge.as_ref(), &ex, &sampled, NullPolicy::Wrong).unwrap();
        assert_eq!(j.responses.len(), 2);
        assert_eq!(j.responses[0].mean_correctness, 1.0);
        assert_eq!(j.responses[1].mean_correctness, 0.0);
        assert_eq!(j.responses[1].kind, FragmentKind::Dependent);
        sampled.id = "math-9999-00".into();
        let err = judge_sampled(judge.as_ref(), &ex, &sampled, NullPolicy::Wrong).unwrap_err();
        assert!(matches!(err, JudgeError::IdMismatch { .. }), "{err}");
    }

    #[test]
    fn a_judge_refuses_another_domain() {
        let ex = test_data::example(test_data::BIO_VAN_T_HOFF);
        let err = MathJudge::default().judge(&ex, "1 + 1 = 2").unwrap_err();
        assert!(err.to_string().contains("is bio"), "{err}");
    }
}
