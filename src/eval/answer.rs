//! One answer → one [`Evaluated`] record: cut at the abstention marker, fragment and judge what
//! comes before it with the domain's training-data judge, count the reference's fragments with
//! that judge's splitter ([`Judge::splitter`]).
//!
//! Marker rule (paper §"Evaluation": "the marker is not a fragment"): the answer is cut at the
//! first occurrence of the marker (default
//! [`UNSURE_MARKER`](crate::dataset::record::UNSURE_MARKER)), found regardless of case and of
//! the whitespace between its words (`unsure from\nhere`); only the text before it is judged.
//! With the marker and no counted fragment before it the answer is a *full abstention*; with
//! the marker after at least one counted fragment it is a *partial abstention* (neutral
//! fragments, which claim nothing, do not count). Text after the marker (as an Add-On HALT
//! model writes it) is kept in the record but neither counted nor judged.
//!
//! An answer cut at `max_new_tokens` loses its unfinished last fragment before judging, as the
//! sampled training responses do ([`judge_response`]); text after the answer's end (maths: a
//! question the model invents after its first final answer, [`Judge::answer_end`]) is not
//! judged either.

use crate::dataset::example::Example;
use crate::dataset::judge::{Judge, JudgeError, judge_response};
use crate::generate::FinishReason;

use super::record::Evaluated;

/// The part of `answer` to judge (everything before the first `marker`) and the marker's byte
/// offset, if present. The marker matches regardless of case and of the whitespace between its
/// words; an empty (or all-whitespace) marker never matches.
pub fn cut_at_marker<'a>(answer: &'a str, marker: &str) -> (&'a str, Option<usize>) {
    let words: Vec<String> = marker.split_whitespace().map(regex::escape).collect();
    if words.is_empty() {
        return (answer, None);
    }
    let pattern = format!("(?i){}", words.join(r"\s+"));
    match regex::Regex::new(&pattern)
        .ok()
        .and_then(|re| re.find(answer))
    {
        Some(m) => (&answer[..m.start()], Some(m.start())),
        None => (answer, None),
    }
}

/// Judges `answer` (the model's reply to `example`'s prompt) with `judge`, the judge used for
/// the training data of the example's domain, and builds its [`Evaluated`] record. The
/// reference answer's fragments are counted with the same judge's splitter.
///
/// # Errors
/// Those of [`Judge::judge`] (e.g. an example of another domain, a sandbox failure).
pub fn evaluate_answer(
    judge: &dyn Judge,
    example: &Example,
    answer: &str,
    finish: FinishReason,
    marker: &str,
) -> Result<Evaluated, JudgeError> {
    let (given, marker_at) = cut_at_marker(answer, marker);
    // Only an answer that ran into the token limit without reaching the marker is unfinished.
    let cut_here = finish == FinishReason::Length && marker_at.is_none();
    let (fragments, cut, judged) = if given.trim().is_empty() {
        (Vec::new(), false, given)
    } else {
        let j = judge_response(judge, example, given, cut_here)?;
        (j.fragments, j.cut, &given[..j.end])
    };
    let counted = || fragments.iter().filter(|f| f.counts());
    let n_fragments = counted().count();
    Ok(Evaluated {
        id: example.id.clone(),
        answer: answer.to_string(),
        finish,
        kind: judge.kind(),
        marker_at,
        abstained: marker_at.is_some() && n_fragments == 0,
        partial_abstained: marker_at.is_some() && n_fragments > 0,
        complete: n_fragments > 0 && judge.is_complete(judged),
        n_correct: counted().filter(|f| f.correct == Some(true)).count(),
        n_undecided: counted().filter(|f| f.correct.is_none()).count(),
        n_neutral: fragments.len() - n_fragments,
        progress: judge.progress(example, &fragments)?,
        cut,
        n_fragments,
        n_reference_fragments: judge.fragments(&example.reference).len(),
        fragments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::domain::Domain;
    use crate::dataset::fragment::Splitter;
    use crate::dataset::judge::test_data::{BIO_VAN_T_HOFF, MATH_0001, MED_DIARRHEA, example};
    use crate::dataset::judge::{JudgeConfig, judge_for};
    use crate::dataset::record::{FragmentKind, Span, UNSURE_MARKER};

    fn math(answer: &str) -> Evaluated {
        let ex = example(MATH_0001);
        let judge = judge_for(Domain::Math, &JudgeConfig::default());
        evaluate_answer(
            judge.as_ref(),
            &ex,
            answer,
            FinishReason::Eos,
            UNSURE_MARKER,
        )
        .unwrap()
    }

    #[test]
    fn marker_only_is_a_full_abstention() {
        for answer in [
            "Unsure from Here",
            "  Unsure from Here.\n",
            "Unsure from Here: 14",
        ] {
            let e = math(answer);
            assert!(e.abstained, "{answer:?}");
            assert!(!e.partial_abstained && !e.complete);
            assert_eq!((e.n_fragments, e.n_correct, e.n_undecided), (0, 0, 0));
            assert!(e.fragments.is_empty());
            // the reference `42/3 = 14 …\nThus … 14 * 10 = 140 …\n#### 140`: 3 steps
            assert_eq!(e.n_reference_fragments, 3);
        }
    }

    #[test]
    fn steps_then_marker_is_a_partial_abstention_and_the_marker_is_no_fragment() {
        let answer = "The city will be covered in 42/3 = 14 intervals.\nUnsure from Here";
        let e = math(answer);
        assert!(e.partial_abstained && !e.abstained);
        assert!(!e.complete, "no final answer before the marker");
        assert_eq!(e.marker_at, Some(answer.find("Unsure").unwrap()));
        assert_eq!(e.n_fragments, 1);
        assert_eq!(
            e.fragments[0].text,
            "The city will be covered in 42/3 = 14 intervals."
        );
        assert_eq!(e.fragments[0].correct, Some(true));
        assert_eq!((e.n_correct, e.n_undecided), (1, 0));
        assert_eq!(e.kind, FragmentKind::Dependent);
        let f = &e.fragments[0];
        assert_eq!(&e.answer[f.start..f.end], f.text);
    }

    #[test]
    fn a_full_answer_has_no_marker_and_a_wrong_step_counts() {
        let e = math("42/3 = 15 intervals.\n15 * 10 = 150 minutes.\n#### 150");
        assert!(!e.abstained && !e.partial_abstained);
        assert_eq!(e.marker_at, None);
        assert!(e.complete, "it states a final answer");
        assert_eq!(e.n_fragments, 3);
        // dependent: the first step is wrong, so every step after it is wrong too
        assert_eq!(e.n_correct, 0);
        let e = math(&example(MATH_0001).reference);
        assert_eq!((e.n_fragments, e.n_correct), (3, 3));
    }

    #[test]
    fn an_empty_answer_is_neither_an_answer_nor_an_abstention() {
        let e = math("  \n");
        assert!(!e.abstained && !e.partial_abstained);
        assert_eq!(e.n_fragments, 0);
    }

    #[test]
    fn cut_at_the_first_marker_only() {
        assert_eq!(
            cut_at_marker("a Unsure from Here b", UNSURE_MARKER),
            ("a ", Some(2))
        );
        // case and whitespace between the words do not matter
        assert_eq!(
            cut_at_marker("unsure from here", UNSURE_MARKER),
            ("", Some(0))
        );
        assert_eq!(
            cut_at_marker("x\nUNSURE  from\nHere.", UNSURE_MARKER),
            ("x\n", Some(2))
        );
        assert_eq!(cut_at_marker("not unsure of here", UNSURE_MARKER).1, None);
        assert_eq!(cut_at_marker("abc", ""), ("abc", None));
        assert_eq!(cut_at_marker("abc", "  "), ("abc", None));
    }

    /// The reference is split with the fragmenter the domain's judge splits answers with.
    #[test]
    fn judges_split_like_their_splitter() {
        let cfg = JudgeConfig::default();
        for line in [MATH_0001, BIO_VAN_T_HOFF, MED_DIARRHEA] {
            let ex = example(line);
            let judge = judge_for(ex.domain(), &cfg);
            let judged: Vec<Span> = judge
                .judge(&ex, &ex.reference)
                .unwrap()
                .into_iter()
                .map(|f| Span {
                    text: f.text,
                    start: f.start,
                    end: f.end,
                })
                .collect();
            assert_eq!(judged, judge.fragments(&ex.reference), "{}", ex.id);
            assert_eq!(judged, judge.splitter().split(&ex.reference), "{}", ex.id);
            assert_eq!(judge.kind(), judge.splitter().kind());
            let e = evaluate_answer(
                judge.as_ref(),
                &ex,
                &ex.reference,
                FinishReason::Eos,
                UNSURE_MARKER,
            )
            .unwrap();
            assert_eq!(e.n_reference_fragments, judged.len(), "{}", ex.id);
        }
        let splitter = |d| judge_for(d, &cfg).splitter();
        assert_eq!(splitter(Domain::Math), Splitter::Steps);
        assert_eq!(splitter(Domain::Code), Splitter::Lines);
        assert_eq!(splitter(Domain::Bio), Splitter::Facts);
        assert_eq!(splitter(Domain::Medicine), Splitter::Claims);
    }
}
