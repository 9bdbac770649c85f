//! Tests of [`bio`](super): expected values written by hand.
use super::*;
use crate::dataset::judge::test_data::{BIO_VAN_T_HOFF, example};

fn truth() -> BioTruth {
    example(BIO_VAN_T_HOFF).bio().unwrap().clone()
}

#[test]
fn dates_in_usual_written_forms() {
    let d = |y, m, d| DateMention {
        year: y,
        month: m,
        day: d,
    };
    assert_eq!(dates("on 30 August 1852"), [d(1852, Some(8), Some(30))]);
    assert_eq!(dates("on August 30, 1852"), [d(1852, Some(8), Some(30))]);
    assert_eq!(dates("the 30th of Aug. 1852"), [d(1852, Some(8), Some(30))]);
    assert_eq!(dates("1852-08-30"), [d(1852, Some(8), Some(30))]);
    assert_eq!(
        dates("in August 1852 and in 1901"),
        [d(1852, Some(8), None), d(1901, None, None)]
    );
    assert!(dates("12345 and 99").is_empty());
}

#[test]
fn the_reference_biography_is_all_correct() {
    let ex = example(BIO_VAN_T_HOFF);
    let f = BioJudge::default().judge(&ex, &ex.reference).unwrap();
    let v: Vec<_> = f.iter().map(|f| (f.text.as_str(), f.correct)).collect();
    // two claims of two and three facts
    assert_eq!(
        v,
        [
            ("on 30 August 1852", Some(true)),
            ("in Rotterdam, the Netherlands", Some(true)),
            ("in Chemistry", Some(true)),
            ("1901", Some(true)),
            (
                "in recognition of the extraordinary services he has rendered by the discovery \
                 of the laws of chemical dynamics and osmotic pressure in solutions",
                Some(true)
            ),
        ]
    );
}

#[test]
fn birth_facts_match_or_contradict() {
    let t = truth();
    assert_eq!(
        check_claim(&t, "He was born on August 30, 1852 in Rotterdam."),
        Some(true)
    );
    assert_eq!(
        check_claim(&t, "He was born in 1852 in Holland."),
        Some(true)
    );
    assert_eq!(
        check_claim(&t, "He was born on 31 August 1852."),
        Some(false)
    );
    assert_eq!(check_claim(&t, "He was born in 1851."), Some(false));
    assert_eq!(check_claim(&t, "He was born in Amsterdam."), Some(false));
    assert_eq!(
        check_claim(&t, "He was born in Marseille in August 1852."),
        Some(false)
    );
    assert_eq!(
        check_claim(&t, "He was born in Rotterdam, South Holland."),
        Some(true)
    );
}

#[test]
fn prize_facts_match_or_contradict() {
    let t = truth();
    assert_eq!(
        check_claim(&t, "He won the Nobel Prize in Chemistry in 1901."),
        Some(true)
    );
    assert_eq!(
        check_claim(&t, "He received the Nobel Prize in Physics."),
        Some(false)
    );
    assert_eq!(
        check_claim(&t, "He was awarded the Nobel Prize in 1903."),
        Some(false)
    );
    assert_eq!(
        check_claim(
            &t,
            "He received the prize for discovering the laws of chemical dynamics and osmotic pressure."
        ),
        Some(true)
    );
    assert_eq!(
        check_claim(&t, "He was awarded the prize for his kindness."),
        None
    );
}

#[test]
fn undecidable_claims_are_null() {
    let t = truth();
    assert_eq!(check_claim(&t, "He was a Dutch chemist."), None);
    assert_eq!(check_claim(&t, "He died in 1911."), None);
    assert_eq!(check_claim(&t, "He was born and raised with care."), None);
}

#[test]
fn a_double_laureate_born_in_the_russian_empire() {
    // datasets/bio/train.jsonl, bio-marie-curie-nee-sklodowska (motivations abridged)
    let t: BioTruth = serde_json::from_str(r#"{"birth_country":"Russian Empire (now Poland)","birth_date":"1867-11-07","birth_place":"Warsaw","name":"Marie Curie, née Sklodowska","prizes":[{"category":"physics","motivation":"joint researches on the radiation phenomena","prize_name":"The Nobel Prize in Physics","year":1903},{"category":"chemistry","motivation":"the discovery of the elements radium and polonium","prize_name":"The Nobel Prize in Chemistry","year":1911}]}"#).unwrap();
    assert_eq!(
        check_claim(&t, "She was born on 7 November 1867 in Warsaw, Poland."),
        Some(true)
    );
    assert_eq!(
        check_claim(&t, "She won the Nobel Prize in Chemistry in 1911."),
        Some(true)
    );
    assert_eq!(
        check_claim(&t, "She won the Nobel Prize in Physics in 1911."),
        Some(false)
    );
    assert_eq!(
        check_claim(&t, "She won the Nobel Prize in Physics in 1903."),
        Some(true)
    );
    assert_eq!(
        check_claim(&t, "She won the Nobel Prize in Peace in 1905."),
        Some(false)
    );
    assert_eq!(check_claim(&t, "She was born in Paris."), Some(false));
}

/// Judges `response` for van 't Hoff: (fragment text, verdict), offsets checked.
fn judged(response: &str) -> Vec<(String, Option<bool>)> {
    let ex = example(BIO_VAN_T_HOFF);
    BioJudge::default()
        .judge(&ex, response)
        .unwrap()
        .into_iter()
        .map(|f| {
            assert_eq!(&response[f.start..f.end], f.text);
            (f.text, f.correct)
        })
        .collect()
}

fn v(text: &str, correct: Option<bool>) -> (String, Option<bool>) {
    (text.to_string(), correct)
}

#[test]
fn a_birth_sentence_splits_into_a_right_date_and_a_wrong_place() {
    // Amsterdam is not Rotterdam: the country after it matches, but the city is the more
    // specific fact, so the place is wrong.
    assert_eq!(
        judged(
            "Jacobus Henricus van 't Hoff was born on 30 August 1852 in Amsterdam, the Netherlands."
        ),
        [
            v("on 30 August 1852", Some(true)),
            v("in Amsterdam, the Netherlands", Some(false))
        ]
    );
    assert_eq!(
        check_claim(&truth(), "He was born in Amsterdam, the Netherlands."),
        Some(false)
    );
}

#[test]
fn a_prize_sentence_splits_into_category_year_and_motivation() {
    assert_eq!(
        judged("He received the Nobel Prize in Physics in 1901 for his work on osmotic pressure."),
        [
            v("in Physics", Some(false)),
            v("in 1901", Some(true)),
            v("for his work on osmotic pressure", Some(true))
        ]
    );
    // a wrong year does not make the right category wrong
    assert_eq!(
        judged("The Nobel Prize in Chemistry 1965 was awarded to him."),
        [v("in Chemistry", Some(true)), v("1965", Some(false))]
    );
    // a motivation whose words are not the laureate's is undecided, not wrong
    assert_eq!(
        judged("He won the Nobel Prize in 1901 for his kindness."),
        [v("in 1901", Some(true)), v("for his kindness", None)]
    );
}

#[test]
fn a_sentence_with_nothing_checkable_stays_one_claim() {
    assert_eq!(
        judged("He studied chemistry in Delft and Leiden. He died in 1911 in Berlin."),
        [
            v("He studied chemistry in Delft and Leiden.", None),
            v("He died in 1911 in Berlin.", None)
        ]
    );
    // one fact: the claim stays whole, judged by it
    assert_eq!(
        judged("He won the Nobel Prize in Chemistry."),
        [v("He won the Nobel Prize in Chemistry.", Some(true))]
    );
}

#[test]
fn year_and_category_of_different_prizes_are_both_wrong() {
    let t: BioTruth = serde_json::from_str(r#"{"birth_country":"Russian Empire (now Poland)","birth_date":"1867-11-07","birth_place":"Warsaw","name":"Marie Curie","prizes":[{"category":"physics","motivation":"joint researches on the radiation phenomena","prize_name":"The Nobel Prize in Physics","year":1903},{"category":"chemistry","motivation":"the discovery of the elements radium and polonium","prize_name":"The Nobel Prize in Chemistry","year":1911}]}"#).unwrap();
    let claim = "She won the Nobel Prize in Physics in 1911.";
    let f = crate::dataset::fragment::facts::facts_in(claim);
    assert_eq!(check_facts(&t, claim, &f), [Some(false), Some(false)]);
    let claim = "Born in 1867, she won the Nobel Prize in Chemistry in 1911.";
    let f = crate::dataset::fragment::facts::facts_in(claim);
    assert_eq!(
        check_facts(&t, claim, &f),
        [Some(true), Some(true), Some(true)]
    );
}
