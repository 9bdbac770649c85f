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
    let v: Vec<_> = f.iter().map(|f| f.correct).collect();
    assert_eq!(v, [Some(true), Some(true)]);
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
