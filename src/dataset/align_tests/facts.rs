//! Biography answers split into atomic facts (`Splitter::Facts`): deleting a wrong fact keeps
//! the right ones in a readable sentence, and a real answer aligns fact by fact.

use super::*;
use crate::dataset::fragment::Splitter;
use crate::dataset::judge::test_data::example;

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
