//! The reference-free judge (`halt-llm judge --reference-free`): the fragments of every sampled
//! response labelled by their support among the other samples of the same prompt
//! ([`crate::dataset::agreement`]) instead of against ground truth, so a user with prompts
//! only can build HALT targets. Fragmentation, the answer's end, a response cut at the token
//! limit and completeness are the domain judge's ([`fragment_response`]); its verdicts are
//! not used.
//!
//! A fragment without evidence is neutral for maths steps and code lines (a step without a
//! number, a line of brackets: it stays in targets while nothing before it is wrong, as the
//! maths judge treats a step without a number) and undecided for claims (counted as the
//! null policy says).

use super::{Judge, JudgeError, fragment_response};
use crate::dataset::Domain;
use crate::dataset::agreement::{Evidence, labels, supports};
use crate::dataset::record::{
    Fragment, FragmentKind, Judged, JudgedResponse, NullPolicy, Sampled, mean_correctness,
};

/// The evidence a domain's fragments are looked up by.
pub fn evidence_for(domain: Domain) -> Evidence {
    match domain {
        Domain::Math => Evidence::Quantity,
        Domain::Bio | Domain::Medicine => Evidence::Facts,
        Domain::Code => Evidence::Line,
    }
}

/// Labels every response of `sampled` by support (at least `min_support` of the other
/// samples); `judge` gives the fragments, the answer's end and completeness.
///
/// # Errors
/// None from the labelling itself; kept as the judges' result type.
pub fn judge_reference_free(
    judge: &dyn Judge,
    sampled: &Sampled,
    policy: NullPolicy,
    min_support: usize,
) -> Result<Judged, JudgeError> {
    let unlabelled = |text: &str| {
        Ok(judge
            .fragments(text)
            .into_iter()
            .map(|span| Fragment::new(span, None))
            .collect())
    };
    let texts = sampled
        .responses
        .iter()
        .enumerate()
        .map(|(k, r)| fragment_response(judge, r, sampled.cut_at_length(k), unlabelled))
        .collect::<Result<Vec<_>, _>>()?;
    let evidence = evidence_for(judge.domain());
    let fragment_texts: Vec<Vec<&str>> = texts
        .iter()
        .map(|t| t.fragments.iter().map(|f| f.text.as_str()).collect())
        .collect();
    let support = supports(evidence, &fragment_texts);
    let dependent = judge.kind() == FragmentKind::Dependent;
    let responses = texts
        .into_iter()
        .zip(&sampled.responses)
        .zip(&support)
        .map(|((t, response), sup)| {
            let verdicts = labels(sup, min_support, dependent);
            let mut wrong_before = false;
            let fragments: Vec<Fragment> = t
                .fragments
                .into_iter()
                .zip(sup.iter().zip(verdicts))
                .map(|(mut f, (s, v))| {
                    if s.is_none() && evidence != Evidence::Facts {
                        f.neutral = true;
                        f.correct = Some(!wrong_before);
                    } else {
                        f.correct = v;
                        wrong_before |= v == Some(false);
                    }
                    f
                })
                .collect();
            JudgedResponse {
                mean_correctness: mean_correctness(&fragments, policy),
                complete: judge.is_complete(&response[..t.end]),
                kind: judge.kind(),
                cut: t.cut,
                answer_end: t.answer_ended.then_some(t.end),
                fragments,
            }
        })
        .collect();
    Ok(Judged {
        id: sampled.id.clone(),
        responses,
        null_policy: policy,
    })
}
