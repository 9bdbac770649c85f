//! The HALT target (paper §"Align the target", arXiv 2506.04051): dependent fragments kept up
//! to the first wrong one, independent fragments kept when right, the glue between kept claims,
//! null verdicts under each policy, and a code fence closed before the marker.

use super::*;
use crate::dataset::fragment::{claims, lines, steps};

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
