//! Choosing the response at α (paper §"Select by threshold α", arXiv 2506.04051: position
//! ⌈α·n⌉, at most n − 1, of the responses sorted by mean correctness; ties broken by
//! completeness, then correct fragments, then index) and building the aligned record from
//! matching example, sampled and judged records.

use super::*;
use crate::dataset::fragment::Splitter;
use crate::dataset::judge::test_data::{MATH_0001, example};
use crate::dataset::record::SamplingParams;

#[test]
fn alpha_selection_for_five_responses() {
    // ascending: 0.1 (#1), 0.3 (#3), 0.5 (#2), 0.7 (#4), 0.9 (#0)
    let means = [0.9, 0.1, 0.5, 0.3, 0.7];
    assert_eq!(select(&means, 0.4), Ok(2)); // position 2
    assert_eq!(select(&means, 0.6), Ok(4)); // position 3
    assert_eq!(select(&means, 0.8), Ok(0)); // position 4
    assert_eq!(select(&means, 0.0), Ok(1)); // position 0
    assert_eq!(select(&means, 0.5), Ok(4)); // ceil(2.5) = 3
    assert_eq!(select(&means, 1.0), Ok(0)); // ceil(5) = 5, clipped to 4
    // ties keep the original order
    assert_eq!(select(&[0.5, 0.5, 0.5, 0.5, 0.5], 0.4), Ok(2));
    assert_eq!(select(&means, 1.1), Err(AlignError::Alpha(1.1)));
    assert!(select(&means, f64::NAN).is_err());
    assert!(select(&[], 0.5).is_err());
}

/// Example, sampled and judged records of `MATH_0001` whose `responses` are judged step by
/// step with `verdicts`.
fn records(responses: Vec<String>, verdicts: Vec<Vec<Option<bool>>>) -> (Example, Sampled, Judged) {
    let ex = example(MATH_0001);
    let judged_responses = responses
        .iter()
        .zip(verdicts)
        .map(|(r, v)| {
            let fragments = judged(Splitter::Steps.split(r), &v);
            let mean = crate::dataset::record::mean_correctness(&fragments, NullPolicy::Wrong);
            JudgedResponse {
                fragments,
                kind: FragmentKind::Dependent,
                mean_correctness: mean,
                complete: true,
                cut: false,
                answer_end: None,
            }
        })
        .collect();
    let sampling = SamplingParams {
        temperature: 0.7,
        top_p: 0.9,
        seed: 1,
        max_new_tokens: 64,
    };
    let s = Sampled {
        id: ex.id.clone(),
        responses,
        model: "m".into(),
        sampling,
        finish: vec![],
        token_logprobs: Vec::new(),
        token_ends: Vec::new(),
    };
    let j = Judged {
        id: ex.id.clone(),
        responses: judged_responses,
        null_policy: NullPolicy::Wrong,
    };
    (ex, s, j)
}

#[test]
fn align_selects_by_alpha_and_builds_the_record() {
    let good = "42/3 = 14.\n14 * 10 = 140.\n#### 140".to_string();
    let half = "42/3 = 14.\n14 * 10 = 150.\n#### 150".to_string();
    let bad = "42/3 = 15.\n15 * 10 = 150.\n#### 150".to_string();
    let (ex, s, j) = records(
        vec![bad.clone(), good.clone(), half, bad, good.clone()],
        vec![
            vec![F, F, F],
            vec![T, T, T],
            vec![T, F, F],
            vec![F, F, F],
            vec![T, T, T],
        ],
    );
    // means 0, 1, 1/3, 0, 1 → ascending #0, #3, #2, #1, #4
    let cfg = |alpha| AlignConfig {
        alpha,
        ..AlignConfig::default()
    };
    let a = align(&ex, &s, &j, AlignMethod::Halt, &cfg(0.4)).unwrap();
    assert_eq!(
        (a.selected, a.target.as_str()),
        (Some(2), "42/3 = 14.\nUnsure from Here")
    );
    assert_eq!(
        (a.kept, a.dropped, a.abstained, a.alpha),
        (1, 2, false, Some(0.4))
    );
    let a = align(&ex, &s, &j, AlignMethod::Halt, &cfg(0.6)).unwrap();
    assert_eq!((a.selected, a.target.as_str()), (Some(1), good.as_str()));
    // position 1 has mean 0, shared by #0 and #3 (both complete, no correct step): the
    // tie goes to the lower index
    let a = align(&ex, &s, &j, AlignMethod::Halt, &cfg(0.2)).unwrap();
    assert_eq!((a.selected, a.abstained), (Some(0), true));
    let u = align(&ex, &s, &j, AlignMethod::Unchanged, &cfg(0.4)).unwrap();
    assert_eq!(
        (u.target.as_str(), u.selected, u.alpha),
        (ex.reference.as_str(), None, None)
    );
    let json = serde_json::to_string(&a).unwrap();
    assert!(
        json.contains(r#""method":"halt","alpha":0.2,"selected":0"#),
        "{json}"
    );
}

#[test]
fn mismatched_records_are_errors() {
    let (ex, s, mut j) = records(vec!["1 + 1 = 2.".into()], vec![vec![T]]);
    j.responses[0].fragments[0].end += 1;
    let e = align(&ex, &s, &j, AlignMethod::Halt, &AlignConfig::default()).unwrap_err();
    assert!(
        matches!(e, AlignError::BadFragment { fragment: 0, .. }),
        "{e}"
    );
    j.responses[0].fragments[0].end = 999;
    assert!(align(&ex, &s, &j, AlignMethod::Halt, &AlignConfig::default()).is_err());
    j.responses.clear();
    let e = align(&ex, &s, &j, AlignMethod::Halt, &AlignConfig::default()).unwrap_err();
    assert!(
        e.to_string().contains("1 responses sampled but 0 judged"),
        "{e}"
    );
    let mut s2 = s.clone();
    s2.id = "other".into();
    assert!(matches!(
        align(&ex, &s2, &j, AlignMethod::Idk, &AlignConfig::default()),
        Err(AlignError::Mismatch(_))
    ));
}

#[test]
fn an_incomplete_answer_with_nothing_wrong_still_ends_with_the_marker() {
    // One response whose two steps are right but which stops before its final answer.
    let resp = "42/3 = 14.\n14 * 10 = 140.".to_string();
    let (ex, s, mut j) = records(vec![resp], vec![vec![Some(true), Some(true)]]);
    j.responses[0].complete = false;
    let a = align(&ex, &s, &j, AlignMethod::Halt, &AlignConfig::default()).unwrap();
    assert_eq!(a.target, "42/3 = 14.\n14 * 10 = 140.\nUnsure from Here");
    assert_eq!((a.kept, a.dropped, a.abstained), (2, 0, false));
    let a = align(&ex, &s, &j, AlignMethod::Idk, &AlignConfig::default()).unwrap();
    assert_eq!(a.target, "Unsure from Here");
    // The same response, complete, is kept whole.
    j.responses[0].complete = true;
    let a = align(&ex, &s, &j, AlignMethod::Halt, &AlignConfig::default()).unwrap();
    assert_eq!(a.target, "42/3 = 14.\n14 * 10 = 140.");
}

/// Ties at the α position: a complete answer first, then more correct fragments, then the
/// lower index (hand-made responses; the expected indices written before running).
#[test]
fn alpha_ties_prefer_complete_then_more_correct() {
    let r = |mean: f64, complete: bool, correct: usize| JudgedResponse {
        fragments: (0..correct)
            .map(|_| {
                Fragment::new(
                    Span {
                        text: "x".into(),
                        start: 0,
                        end: 1,
                    },
                    Some(true),
                )
            })
            .collect(),
        kind: FragmentKind::Dependent,
        mean_correctness: mean,
        complete,
        cut: !complete,
        answer_end: None,
    };
    // ascending means: 0.0 (#0), 1.0 (#1 cut, 2 correct), 1.0 (#2 complete, 2), 1.0 (#3 complete, 3), 1.0 (#4 cut, 4)
    let rs = [
        r(0.0, true, 0),
        r(1.0, false, 2),
        r(1.0, true, 2),
        r(1.0, true, 3),
        r(1.0, false, 4),
    ];
    // α = 0.8 → position 4, level 1.0: complete first, then most correct → #3
    assert_eq!(select_response(&rs, 0.8), Ok(3));
    // α = 0.4 → position 2, also level 1.0 → #3 again
    assert_eq!(select_response(&rs, 0.4), Ok(3));
    // α = 0.0 → position 0, level 0.0 → #0
    assert_eq!(select_response(&rs, 0.0), Ok(0));
    // equal on every key: the lower index
    let same = [r(0.5, true, 1), r(0.5, true, 1)];
    assert_eq!(select_response(&same, 0.6), Ok(0));
}

#[test]
fn own_best_keeps_the_best_sample_whole_even_with_a_wrong_step() {
    // means (by hand): #0 0/3, #1 1/3, #2 2/3 → the best is #2, whose last step is wrong;
    // OwnBest keeps it whole (no truncation, no marker) and records no α.
    let worst = "42/3 = 15.\n15 * 10 = 150.\n#### 150".to_string();
    let one = "42/3 = 14.\n14 * 10 = 150.\n#### 150".to_string();
    let two = "42/3 = 14.\n14 * 10 = 140.\n#### 150".to_string();
    let (ex, s, j) = records(
        vec![worst, one, two.clone()],
        vec![vec![F, F, F], vec![T, F, F], vec![T, T, F]],
    );
    let cfg = AlignConfig {
        alpha: 0.3,
        ..AlignConfig::default()
    };
    let a = align(&ex, &s, &j, AlignMethod::OwnBest, &cfg).unwrap();
    assert_eq!(a.target, two);
    assert_eq!(a.selected, Some(2));
    assert_eq!(a.alpha, None);
    assert_eq!((a.kept, a.dropped, a.abstained), (3, 0, false));
    // HALT at the same α picks position ⌈0.3·3⌉ = 1, #1, and truncates it before its wrong step
    let h = align(&ex, &s, &j, AlignMethod::Halt, &cfg).unwrap();
    assert_eq!(h.target, format!("42/3 = 14.\n{M}"));
    assert_eq!(
        serde_json::to_string(&AlignMethod::OwnBest).unwrap(),
        "\"own_best\""
    );
}

/// Found in review: an empty reply tied at the top made an empty target, which training
/// refuses. OwnBest takes the best sample *with text*; with none, the marker.
#[test]
fn own_best_never_keeps_an_empty_sample() {
    let wrong = "42/3 = 15.\n#### 15".to_string();
    // all three judged 0 (the blank ones have no fragment): by hand, only #2 has text
    let (ex, s, j) = records(
        vec![String::new(), "  ".into(), wrong.clone()],
        vec![vec![], vec![], vec![F, F]],
    );
    let cfg = AlignConfig::default();
    let a = align(&ex, &s, &j, AlignMethod::OwnBest, &cfg).unwrap();
    assert_eq!((a.target.as_str(), a.selected), (wrong.as_str(), Some(2)));
    // every sample blank: the marker alone
    let (ex, s, j) = records(vec![String::new(), " ".into()], vec![vec![], vec![]]);
    let a = align(&ex, &s, &j, AlignMethod::OwnBest, &cfg).unwrap();
    assert_eq!(
        (a.target.as_str(), a.selected, a.abstained),
        (M, None, true)
    );
}
