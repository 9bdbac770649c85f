//! Sentence segmentation and atomic claims (independent fragments).
//!
//! Sentences start from the Unicode sentence boundaries of UAX #29 (`unicode-segmentation`),
//! which already keep decimals (`33.25`) together, break after closing quotes (`."`) and after
//! CJK full stops without spaces (`。！？`). On top of that, a boundary is removed after:
//! - a title or Latin abbreviation that never ends a sentence (`Dr.`, `Mr.`, `Prof.`, `St.`,
//!   `e.g.`, `i.e.`, `vs.`, `cf.`, `No.`, month abbreviations, ...);
//! - an abbreviation that may end a sentence (`U.S.`, `U.K.`, `et al.`, `etc.`) unless the next
//!   word is a typical sentence opener (`He`, `The`, `In`, ...);
//! - single initials (`J.`, `J.R.R.`);
//! - a bare list marker (`1.`, `a)`, `iv.`), so list numbering stays with its item.
//!
//! Claims then split a sentence at `; ` and before `and|but|while|whereas` followed by a subject
//! pronoun (`he|she|they|it|his|her|their|this|these`): the only splits that leave two
//! self-contained clauses. Subject-less coordination ("born in X and won Y") is left whole.

use std::sync::LazyLock;

use regex::Regex;
use unicode_segmentation::UnicodeSegmentation;

use super::trimmed;
use crate::dataset::record::Span;

/// Abbreviations after which a sentence never ends (lower case, with the final dot).
const NEVER_FINAL: &[&str] = &[
    "dr.", "mr.", "mrs.", "ms.", "prof.", "st.", "sr.", "jr.", "mt.", "gen.", "col.", "lt.",
    "capt.", "sgt.", "rev.", "hon.", "gov.", "sen.", "rep.", "pres.", "e.g.", "i.e.", "vs.", "cf.",
    "ca.", "approx.", "no.", "nos.", "fig.", "vol.", "pp.", "p.", "ed.", "jan.", "feb.", "mar.",
    "apr.", "jun.", "jul.", "aug.", "sep.", "sept.", "oct.", "nov.", "dec.", "univ.", "dept.",
    "est.",
];

/// Abbreviations that may end a sentence: kept together unless a sentence opener follows.
const MAYBE_FINAL: &[&str] = &[
    "u.s.", "u.k.", "u.s.a.", "al.", "etc.", "inc.", "ltd.", "co.", "ph.d.", "a.m.", "p.m.",
];

/// Words that typically open a sentence (used after [`MAYBE_FINAL`] abbreviations).
const OPENERS: &[&str] = &[
    "he", "she", "it", "they", "we", "i", "the", "this", "these", "that", "his", "her", "their",
    "in", "after", "a", "an", "there", "its", "during", "later", "then", "however",
];

static INITIALS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(\p{Lu}\.)+$").unwrap());
static LIST_MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\(?(\d{1,3}|[a-zA-Z]|[ivxIVX]{1,5})[.)]$").unwrap());
static COMPOUND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(;\s+)|(,?\s+(?:and|but|while|whereas)\s+)(?:he|she|they|it|his|her|their|this|these)\b")
        .unwrap()
});

/// Sentence spans of `text` (byte offsets, whitespace trimmed), robust to abbreviations,
/// initials, decimals, ellipses, closing quotes, list numbering and CJK punctuation.
pub fn sentences(text: &str) -> Vec<Span> {
    let pieces: Vec<(usize, &str)> = text.split_sentence_bound_indices().collect();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, &(offset, piece)) in pieces.iter().enumerate() {
        let begin = *start.get_or_insert(offset);
        let end = offset + piece.len();
        let next = pieces.get(i + 1).map(|(_, p)| *p);
        let joined = &text[begin..end];
        if next.is_some() && !ends_paragraph(piece) && glues_to_next(joined, next.unwrap_or("")) {
            continue;
        }
        if next.is_some() && is_list_marker(joined) {
            continue; // a bare "1." (even on its own line) stays with its item
        }
        out.extend(trimmed(text, begin, end));
        start = None;
    }
    out
}

/// Atomic claims of `text`: [`sentences`], each split at the safe compound boundaries.
pub fn claims(text: &str) -> Vec<Span> {
    sentences(text)
        .into_iter()
        .flat_map(|s| split_compound(text, &s))
        .collect()
}

fn ends_paragraph(piece: &str) -> bool {
    piece.trim_end_matches([' ', '\t']).ends_with(['\n', '\r'])
}

fn is_list_marker(s: &str) -> bool {
    LIST_MARKER.is_match(s.trim())
}

/// Whether the boundary after `sentence` is a false one (abbreviation or initial).
fn glues_to_next(sentence: &str, next: &str) -> bool {
    let last = sentence.split_whitespace().last().unwrap_or("");
    let last = last.trim_start_matches(['(', '[', '"', '\'', '“']);
    let lower = last.to_lowercase();
    if MAYBE_FINAL.contains(&lower.as_str()) {
        let first = next
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        return !OPENERS.contains(&first.as_str());
    }
    NEVER_FINAL.contains(&lower.as_str()) || INITIALS.is_match(last)
}

/// Splits one sentence span at safe compound boundaries (see the module docs).
fn split_compound(text: &str, sentence: &Span) -> Vec<Span> {
    let s = &sentence.text;
    let mut out = Vec::new();
    let mut from = 0;
    for caps in COMPOUND.captures_iter(s) {
        let Some(sep) = caps.get(1).or_else(|| caps.get(2)) else {
            continue;
        };
        let (left, right) = (&s[from..sep.start()], &s[sep.end()..]);
        if word_count(left) < 2 || word_count(right) < 2 {
            continue;
        }
        out.extend(trimmed(
            text,
            sentence.start + from,
            sentence.start + sep.start(),
        ));
        from = sep.end();
    }
    out.extend(trimmed(text, sentence.start + from, sentence.end));
    out
}

fn word_count(s: &str) -> usize {
    s.split_whitespace().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(spans: &[Span]) -> Vec<&str> {
        spans.iter().map(|s| s.text.as_str()).collect()
    }

    fn check_offsets(text: &str, spans: &[Span]) {
        for s in spans {
            assert_eq!(&text[s.start..s.end], s.text);
        }
    }

    #[test]
    fn abbreviations_and_initials_do_not_end_sentences() {
        let t = "Dr. J. R. Smith moved to the U.S. in 1950. He studied e.g. physics, i.e. optics. \
                 Jones et al. reported it. Prof. Ng agreed.";
        let s = sentences(t);
        check_offsets(t, &s);
        assert_eq!(
            texts(&s),
            [
                "Dr. J. R. Smith moved to the U.S. in 1950.",
                "He studied e.g. physics, i.e. optics.",
                "Jones et al. reported it.",
                "Prof. Ng agreed."
            ]
        );
    }

    #[test]
    fn every_month_abbreviation_is_glued_to_its_date() {
        // Issue 14, case 1 (Mar., Jun. and Jul. used to end a sentence), and the whole kind:
        // every month that has an abbreviation.
        let t = "Ada Moreau was born on Mar. 14, 1879. She moved to Lyon on Jul. 2, 1901. \
                 Her first paper appeared on Jun. 30, 1905.";
        assert_eq!(
            texts(&sentences(t)),
            [
                "Ada Moreau was born on Mar. 14, 1879.",
                "She moved to Lyon on Jul. 2, 1901.",
                "Her first paper appeared on Jun. 30, 1905."
            ]
        );
        for m in [
            "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec",
        ] {
            let t = format!("He left on {m}. 3, 1900. She stayed.");
            assert_eq!(
                texts(&sentences(&t)),
                [
                    format!("He left on {m}. 3, 1900."),
                    "She stayed.".to_string()
                ],
                "{m}"
            );
        }
    }

    #[test]
    fn us_at_sentence_end_breaks_before_an_opener() {
        let t = "She moved to the U.S. He stayed in Paris.";
        assert_eq!(
            texts(&sentences(t)),
            ["She moved to the U.S.", "He stayed in Paris."]
        );
    }

    #[test]
    fn decimals_ellipses_and_quotes() {
        let t = "It costs 33.25 dollars. He paused... and left. She said \"No.\" Then she left.";
        assert_eq!(
            texts(&sentences(t)),
            [
                "It costs 33.25 dollars.",
                "He paused... and left.",
                "She said \"No.\"",
                "Then she left."
            ]
        );
    }

    #[test]
    fn numbered_list_items_keep_their_numbers() {
        let t = "1. He was born in 1850.\n2. He won the prize.\n3.\nHe died.";
        let s = sentences(t);
        check_offsets(t, &s);
        assert_eq!(
            texts(&s),
            [
                "1. He was born in 1850.",
                "2. He won the prize.",
                "3.\nHe died."
            ]
        );
    }

    #[test]
    fn cjk_punctuation_without_spaces() {
        let t = "居里夫人出生于华沙。她获得了诺贝尔奖！真的吗？";
        let s = sentences(t);
        check_offsets(t, &s);
        assert_eq!(
            texts(&s),
            ["居里夫人出生于华沙。", "她获得了诺贝尔奖！", "真的吗？"]
        );
    }

    #[test]
    fn lines_without_punctuation_are_separate() {
        let t = "Born in Paris\nWon the prize in 1903";
        assert_eq!(
            texts(&sentences(t)),
            ["Born in Paris", "Won the prize in 1903"]
        );
    }

    #[test]
    fn compound_sentences_split_only_where_safe() {
        let t = "He was born in Paris, and he studied in Lyon; his father was a baker. \
                 She was born in 1867 and won the prize in 1903.";
        let c = claims(t);
        check_offsets(t, &c);
        assert_eq!(
            texts(&c),
            [
                "He was born in Paris",
                "he studied in Lyon",
                "his father was a baker.",
                "She was born in 1867 and won the prize in 1903."
            ]
        );
    }

    #[test]
    fn empty_and_blank_text_give_no_fragments() {
        assert!(claims("").is_empty());
        assert!(claims("  \n\n ").is_empty());
    }
}
