//! Reasoning steps of a maths answer (dependent fragments).
//!
//! One step per fragment: every non-blank line, and within a line every sentence (with the
//! abbreviation-aware [`sentences`] segmenter, so `12.5` or `e.g.` do not
//! split). List numbering stays with its step: a bare marker (`1.`, `Step 2:`) on its own is
//! merged with the following step, so no fragment is only a number. The final answer line
//! (`#### 18`, `The answer is 18.`) is a step like any other.

use std::sync::LazyLock;

use regex::Regex;

use super::claims::sentences;
use crate::dataset::record::Span;

static BARE_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(\(?(\d{1,3}|[a-z])[.):]|step\s*\d{1,3}\s*[.:)]?|[-*•])$").unwrap()
});

/// Step spans of `text` (byte offsets, whitespace trimmed).
pub fn steps(text: &str) -> Vec<Span> {
    let mut raw = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        for s in sentences(line) {
            raw.push(Span {
                text: s.text,
                start: s.start + offset,
                end: s.end + offset,
            });
        }
        offset += line.len();
    }
    // merge bare list markers into the step after them
    let mut out: Vec<Span> = Vec::new();
    let mut pending: Option<usize> = None;
    for s in raw {
        let start = pending.take().unwrap_or(s.start);
        if BARE_MARKER.is_match(&s.text) {
            pending = Some(start);
            continue;
        }
        out.push(Span {
            text: text[start..s.end].to_string(),
            start,
            end: s.end,
        });
    }
    if let Some(start) = pending {
        // a trailing marker with nothing after it: keep it rather than lose text
        let end = text.trim_end().len();
        out.push(Span {
            text: text[start..end].to_string(),
            start,
            end,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(spans: &[Span]) -> Vec<&str> {
        spans.iter().map(|s| s.text.as_str()).collect()
    }

    #[test]
    fn gsm_reference_solution_is_one_step_per_line() {
        // datasets/math/train.jsonl, math-0001-00 (reference)
        let t = "The city will be covered in 42/3 = 14 intervals of 10 minutes.\n\
                 Thus, it will take 14 * 10 = 140 minutes for the fog to cover the whole city.\n\
                 #### 140";
        let s = steps(t);
        assert_eq!(
            texts(&s),
            [
                "The city will be covered in 42/3 = 14 intervals of 10 minutes.",
                "Thus, it will take 14 * 10 = 140 minutes for the fog to cover the whole city.",
                "#### 140"
            ]
        );
        assert_eq!((s[2].start, s[2].end), (t.len() - 8, t.len()));
    }

    #[test]
    fn numbering_stays_with_its_step() {
        let t = "1. She has 5 apples.\n2.\nShe buys 3 more: 5 + 3 = 8.\nStep 3: So 8 apples.\n\nThe answer is 8.";
        let s = steps(t);
        for f in &s {
            assert_eq!(&t[f.start..f.end], f.text);
        }
        assert_eq!(
            texts(&s),
            [
                "1. She has 5 apples.",
                "2.\nShe buys 3 more: 5 + 3 = 8.",
                "Step 3: So 8 apples.",
                "The answer is 8."
            ]
        );
    }

    #[test]
    fn sentences_within_a_line_are_steps_but_decimals_are_not_split() {
        let t = "A pen costs $1.50. Two pens cost 2 * 1.50 = 3.00 dollars.";
        assert_eq!(
            texts(&steps(t)),
            [
                "A pen costs $1.50.",
                "Two pens cost 2 * 1.50 = 3.00 dollars."
            ]
        );
    }

    #[test]
    fn a_trailing_bare_number_is_kept_as_it_may_be_the_answer() {
        let s = steps("So 2 + 2 = 4.\n2.");
        assert_eq!(texts(&s), ["So 2 + 2 = 4.", "2."]); // kept, not lost
        assert!(steps("").is_empty());
    }
}
