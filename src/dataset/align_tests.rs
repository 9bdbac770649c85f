//! Tests of alignment; every expected target is written by hand.

use super::*;
use crate::dataset::fragment::{Splitter, claims, lines, steps};
use crate::dataset::judge::test_data::{MATH_0001, example};
use crate::dataset::record::{SamplingParams, Span};

const M: &str = UNSURE_MARKER;
const T: Option<bool> = Some(true);
const F: Option<bool> = Some(false);

fn judged(spans: Vec<Span>, verdicts: &[Option<bool>]) -> Vec<Fragment> {
    assert_eq!(spans.len(), verdicts.len(), "test setup");
    spans
        .into_iter()
        .zip(verdicts)
        .map(|(s, v)| Fragment::new(s, *v))
        .collect()
}

const STEPS: &str = "Step one is 1.\nStep two is 2.\nStep three is 3.\n";
const BIO: &str = "He was born in Paris. He won the prize in 1903. He died in 1950.";

fn dep(v: &[Option<bool>]) -> Target {
    halt_target(
        STEPS,
        &judged(steps(STEPS), v),
        FragmentKind::Dependent,
        NullPolicy::Wrong,
        M,
    )
}

fn ind(v: &[Option<bool>]) -> Target {
    halt_target(
        BIO,
        &judged(claims(BIO), v),
        FragmentKind::Independent,
        NullPolicy::Wrong,
        M,
    )
}

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

#[test]
fn dependent_halt_rules() {
    let all = dep(&[T, T, T]);
    assert_eq!(
        (all.text.as_str(), all.kept, all.dropped, all.abstained),
        (STEPS.trim(), 3, 0, false)
    );
    let second = dep(&[T, F, F]);
    assert_eq!(second.text, format!("Step one is 1.\n{M}"));
    assert_eq!(
        (second.kept, second.dropped, second.abstained),
        (1, 2, false)
    );
    let first = dep(&[F, F, F]);
    assert_eq!(
        (
            first.text.as_str(),
            first.kept,
            first.dropped,
            first.abstained
        ),
        (M, 0, 3, true)
    );
    assert_eq!(
        dep(&[T, T, F]).text,
        format!("Step one is 1.\nStep two is 2.\n{M}")
    );
}

#[test]
fn independent_halt_rules() {
    assert_eq!(ind(&[T, T, T]).text, BIO);
    let middle = ind(&[T, F, T]);
    assert_eq!(middle.text, "He was born in Paris. He died in 1950.");
    assert_eq!((middle.kept, middle.dropped), (2, 1));
    assert_eq!(ind(&[F, T, F]).text, "He won the prize in 1903.");
    let none = ind(&[F, F, F]);
    assert_eq!(
        (none.text.as_str(), none.abstained, none.dropped),
        (M, true, 3)
    );
}

#[test]
fn deleting_part_of_a_compound_sentence_reads_well() {
    let t = "He was born in Paris, and he studied in Lyon.";
    let f = judged(claims(t), &[F, T]);
    let out = halt_target(t, &f, FragmentKind::Independent, NullPolicy::Wrong, M);
    assert_eq!(out.text, "He studied in Lyon.");
    let f = judged(claims(t), &[T, F]);
    let out = halt_target(t, &f, FragmentKind::Independent, NullPolicy::Wrong, M);
    assert_eq!(out.text, "He was born in Paris.");
}

#[test]
fn a_gap_keeps_the_separator_after_the_last_kept_claim() {
    // The dropped claim was followed by "; ": the kept text must not read "Rotterdam.; It".
    let t = "He was born in Rotterdam. He studied in Leiden. He won the prize in 1901; it was \
             awarded for optics.";
    let f = judged(claims(t), &[T, F, F, T]);
    let out = halt_target(t, &f, FragmentKind::Independent, NullPolicy::Wrong, M);
    assert_eq!(
        out.text,
        "He was born in Rotterdam. It was awarded for optics."
    );
    // After a comma-free "; " the next kept claim is not capitalised.
    let t = "He was born in Rotterdam; he studied in Leiden; he won the prize in 1901.";
    let f = judged(claims(t), &[T, F, T]);
    let out = halt_target(t, &f, FragmentKind::Independent, NullPolicy::Wrong, M);
    assert_eq!(
        out.text,
        "He was born in Rotterdam; he won the prize in 1901."
    );
}

#[test]
fn null_verdicts_follow_the_policy() {
    let f = judged(steps(STEPS), &[T, None, T]);
    let wrong = halt_target(STEPS, &f, FragmentKind::Dependent, NullPolicy::Wrong, M);
    assert_eq!(wrong.text, format!("Step one is 1.\n{M}"));
    let ignore = halt_target(STEPS, &f, FragmentKind::Dependent, NullPolicy::Ignore, M);
    assert_eq!(ignore.text, STEPS.trim());
    let correct = halt_target(STEPS, &f, FragmentKind::Dependent, NullPolicy::Correct, M);
    assert_eq!(correct.text, STEPS.trim());
}

#[test]
fn a_code_fence_is_closed_before_the_marker() {
    let t = "Here:\n```python\ndef f():\n    return 1\n```\n";
    let f = judged(lines(t), &[T, F]);
    let out = halt_target(t, &f, FragmentKind::Dependent, NullPolicy::Wrong, M);
    assert_eq!(out.text, format!("Here:\n```python\ndef f():\n```\n{M}"));
}

#[test]
fn addon_marks_the_first_error_onward() {
    let f = judged(steps(STEPS), &[T, F, F]);
    let out = addon_target(STEPS, &f, NullPolicy::Wrong, M);
    assert_eq!(
        out.text,
        format!("Step one is 1.\n{M}: Step two is 2.\nStep three is 3.")
    );
    assert_eq!((out.kept, out.dropped, out.abstained), (1, 2, false));
    let f = judged(steps(STEPS), &[F, F, F]);
    assert_eq!(
        addon_target(STEPS, &f, NullPolicy::Wrong, M).text,
        format!("{M}: {}", STEPS.trim())
    );
    let f = judged(steps(STEPS), &[T, T, T]);
    assert_eq!(
        addon_target(STEPS, &f, NullPolicy::Wrong, M).text,
        STEPS.trim()
    );
}

#[test]
fn idk_is_whole_or_only_the_marker() {
    let f = judged(steps(STEPS), &[T, T, T]);
    assert_eq!(
        idk_target(STEPS, &f, NullPolicy::Wrong, M).text,
        STEPS.trim()
    );
    let f = judged(steps(STEPS), &[T, T, F]);
    let out = idk_target(STEPS, &f, NullPolicy::Wrong, M);
    assert_eq!((out.text.as_str(), out.abstained, out.kept), (M, true, 0));
}

#[test]
fn random_trim_is_seeded_and_cuts_at_fragment_boundaries() {
    let f = judged(steps(STEPS), &[T, T, T]);
    let possible = [
        M.to_string(),
        format!("Step one is 1.\n{M}"),
        format!("Step one is 1.\nStep two is 2.\n{M}"),
        STEPS.trim().to_string(),
    ];
    let mut seen = [false; 4];
    for seed in 0..64 {
        let a = random_trim_target(STEPS, &f, seed, M);
        assert_eq!(
            a,
            random_trim_target(STEPS, &f, seed, M),
            "same seed, same cut"
        );
        let i = possible
            .iter()
            .position(|p| *p == a.text)
            .unwrap_or_else(|| panic!("unexpected {:?}", a.text));
        seen[i] = true;
        assert_eq!(a.kept + a.dropped, 3);
    }
    assert_eq!(seen, [true; 4], "every cut occurs over 64 seeds");
}

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

/// Atomic biography facts (`Splitter::Facts`): deleting a wrong fact keeps the right ones in a
/// readable sentence. Expected targets written by hand.
fn facts_target(t: &str, v: &[Option<bool>]) -> String {
    let f = judged(Splitter::Facts.split(t), v);
    halt_target(t, &f, FragmentKind::Independent, NullPolicy::Wrong, M).text
}

#[test]
fn deleting_a_wrong_fact_keeps_a_readable_sentence() {
    let t = "X was born on 30 August 1852 in Amsterdam, the Netherlands.";
    assert_eq!(facts_target(t, &[T, F]), "X was born on 30 August 1852.");
    assert_eq!(
        facts_target(t, &[F, T]),
        "X was born in Amsterdam, the Netherlands."
    );
    assert_eq!(facts_target(t, &[F, F]), M);
    let t = "He received the Nobel Prize in Physics in 1901 for his work on osmotic pressure.";
    assert_eq!(
        facts_target(t, &[F, T, T]),
        "He received the Nobel Prize in 1901 for his work on osmotic pressure."
    );
    assert_eq!(
        facts_target(t, &[T, T, F]),
        "He received the Nobel Prize in Physics in 1901."
    );
    let t = "In 1901, he received the Nobel Prize in Chemistry.";
    assert_eq!(
        facts_target(t, &[F, T]),
        "He received the Nobel Prize in Chemistry."
    );
    assert_eq!(
        facts_target(t, &[T, F]),
        "In 1901, he received the Nobel Prize."
    );
    let t = "He won the 1901 Nobel Prize in Chemistry.";
    assert_eq!(
        facts_target(t, &[F, T]),
        "He won the Nobel Prize in Chemistry."
    );
    assert_eq!(facts_target(t, &[T, F]), "He won the 1901 Nobel Prize.");
    let t = "Van 't Hoff (1852–1911) won the Nobel Prize in Chemistry.";
    assert_eq!(
        facts_target(t, &[F, T]),
        "Van 't Hoff won the Nobel Prize in Chemistry."
    );
    let t = "Born on 30 August 1852, in Rotterdam, he studied in Delft.";
    assert_eq!(
        facts_target(t, &[F, T]),
        "Born in Rotterdam, he studied in Delft."
    );
    // a subject-less second clause is not separated (documented limitation)
    let t = "She was born in 1867 and won the prize in 1903.";
    assert_eq!(
        facts_target(t, &[F, T]),
        "She was born and won the prize in 1903."
    );
}

#[test]
fn the_van_t_hoff_answers_align_fact_by_fact() {
    use crate::dataset::judge::test_data::BIO_VAN_T_HOFF;
    use crate::dataset::judge::{BioJudge, Judge};
    let ex = example(BIO_VAN_T_HOFF);
    let target = |t: &str| {
        let f = BioJudge::default().judge(&ex, t).unwrap();
        halt_target(t, &f, FragmentKind::Independent, NullPolicy::Wrong, M)
    };
    // right date, wrong place (Amsterdam is not Rotterdam)
    let out = target(
        "Jacobus Henricus van 't Hoff was born on 30 August 1852 in Amsterdam, the Netherlands.",
    );
    assert_eq!(
        out.text,
        "Jacobus Henricus van 't Hoff was born on 30 August 1852."
    );
    assert_eq!((out.kept, out.dropped), (1, 1));
    // the book's hand-written answer: the undecided claim and the wrong category go
    let out = target(
        "Jacobus Henricus van 't Hoff was born on 30 August 1852 in Rotterdam. He studied \
         chemistry in Delft and Leiden. He received the Nobel Prize in Physics in 1901. It was \
         awarded for the discovery of the laws of chemical dynamics and osmotic pressure in \
         solutions.",
    );
    assert_eq!(
        out.text,
        "Jacobus Henricus van 't Hoff was born on 30 August 1852 in Rotterdam. He received the \
         Nobel Prize in 1901. It was awarded for the discovery of the laws of chemical dynamics \
         and osmotic pressure in solutions."
    );
    assert_eq!((out.kept, out.dropped), (4, 2));
}
