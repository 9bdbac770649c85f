//! The medicine judge (multiple choice with explanation; paper §"Judge", book "Fragments and judges"; the paper leaves
//! the fragmenting of medicine *open*).
//!
//! Fragments are claims ([`Splitter::Claims`], [`claims()`](crate::dataset::fragment::claims());
//! independent). The chosen option is found by, in order:
//! `answer is B` / `answer: (B)` / `Answer - B`; a line that is only the letter (`B`, `(B)`,
//! `B.`; the last such line); an answer that starts with `B.`, `B)`, `(B)`; the first option
//! text (lower case, at least 3 characters) that occurs in the answer as whole words (so
//! `Vitamin B1` is not found inside `vitamin B12`), the longest one where several start at the
//! same place. The claim containing it is the *answer claim*: correct iff the option is the
//! key.
//!
//! Explanation claims (all others): with an LLM judge, each is judged against the question,
//! options, key and the source's explanation where there is one. Without one, the documented
//! rule is that they *inherit the answer's verdict* (an explanation that leads to the keyed
//! option is taken as right, one that leads elsewhere as wrong); if no option can be found,
//! every claim is undecided (`null`).

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::llm::LlmJudge;
use super::{Judge, JudgeError, expect_domain};
use crate::dataset::domain::Domain;
use crate::dataset::example::Example;
use crate::dataset::fragment::Splitter;
use crate::dataset::record::Fragment;
use crate::dataset::truth::MedicineTruth;

static STATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\banswer\s*(?:is|:|-|=)?\s*(?:option\s*)?[(\[]?\s*(?-i:([A-D]))\b").unwrap()
});
static LEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*[(\[]?([A-D])[.):\]]").unwrap());
static LONE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^[ \t]*[(\[]?([A-D])[.)\]]?[ \t]*$").unwrap());

/// The option the answer chooses (0 = A ... 3 = D) and the byte offset where it is stated.
pub fn chosen_option(truth: &MedicineTruth, response: &str) -> Option<(usize, usize)> {
    let letter = |c: &regex::Captures<'_>| {
        let m = c.get(1)?;
        let i = m.as_str().chars().next()?.to_ascii_uppercase() as usize - 'A' as usize;
        Some((i, m.start()))
    };
    if let Some(found) = STATED.captures(response).as_ref().and_then(letter) {
        return Some(found);
    }
    if let Some(found) = LONE
        .captures_iter(response)
        .last()
        .as_ref()
        .and_then(letter)
    {
        return Some(found);
    }
    if let Some(found) = LEADING.captures(response).as_ref().and_then(letter) {
        return Some(found);
    }
    let lower = response.to_lowercase();
    truth
        .options
        .iter()
        .enumerate()
        .filter(|(_, o)| o.trim().len() >= 3)
        .filter_map(|(i, o)| {
            let o = o.trim().to_lowercase();
            whole_word_find(&lower, &o).map(|at| (i, at, o.len()))
        })
        .min_by_key(|&(_, at, len)| (at, std::cmp::Reverse(len)))
        .map(|(i, at, _)| (i, at))
}

/// Byte offset of the first occurrence of `needle` in `haystack` that is not part of a longer
/// word (no letter or digit right before or after it).
fn whole_word_find(haystack: &str, needle: &str) -> Option<usize> {
    let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    haystack
        .match_indices(needle)
        .map(|(at, _)| at)
        .find(|&at| {
            !word(haystack[..at].chars().next_back())
                && !word(haystack[at + needle.len()..].chars().next())
        })
}

/// The medicine judge; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct MedicineJudge {
    /// Judges explanation claims, if configured.
    pub llm: Option<Arc<LlmJudge>>,
}

impl Judge for MedicineJudge {
    fn domain(&self) -> Domain {
        Domain::Medicine
    }

    fn splitter(&self) -> Splitter {
        Splitter::Claims
    }

    fn judge(&self, example: &Example, response: &str) -> Result<Vec<Fragment>, JudgeError> {
        expect_domain(example, Domain::Medicine)?;
        let truth = example.medicine().ok_or_else(|| JudgeError::BadTruth {
            id: example.id.clone(),
            message: "no medicine ground truth".into(),
        })?;
        let spans = self.fragments(response);
        let chosen = chosen_option(truth, response);
        let answer_ok = chosen.map(|(i, _)| i == truth.answer.index());
        let answer_claim =
            chosen.and_then(|(_, at)| spans.iter().position(|s| s.start <= at && at < s.end));
        let ground_truth = format!(
            "Correct answer: {}. {}\nExplanation: {}",
            truth.answer.letter(),
            truth.answer_text,
            truth.explanation.as_deref().unwrap_or("(none given)")
        );
        spans
            .into_iter()
            .enumerate()
            .map(|(i, span)| {
                let verdict = if Some(i) == answer_claim {
                    answer_ok
                } else if let Some(llm) = &self.llm {
                    llm.judge_claim(&example.prompt, &span.text, &ground_truth)?
                } else {
                    answer_ok
                };
                Ok(Fragment::new(span, verdict))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::judge::test_data::{MED_DIARRHEA, example};

    fn verdicts(response: &str) -> Vec<Option<bool>> {
        let ex = example(MED_DIARRHEA);
        MedicineJudge::default()
            .judge(&ex, response)
            .unwrap()
            .iter()
            .map(|f| f.correct)
            .collect()
    }

    #[test]
    fn the_reference_is_correct() {
        let ex = example(MED_DIARRHEA);
        assert_eq!(verdicts(&ex.reference), [Some(true)]);
    }

    #[test]
    fn the_chosen_option_in_its_usual_forms() {
        let truth = example(MED_DIARRHEA).medicine().unwrap().clone();
        assert_eq!(
            chosen_option(&truth, "The answer is (B).").map(|c| c.0),
            Some(1)
        );
        assert_eq!(chosen_option(&truth, "Answer: C").map(|c| c.0), Some(2));
        assert_eq!(
            chosen_option(&truth, "B) Diarrheal diseases").map(|c| c.0),
            Some(1)
        );
        assert_eq!(
            chosen_option(&truth, "Most deaths: malaria, then tuberculosis.").map(|c| c.0),
            Some(2)
        );
        assert_eq!(chosen_option(&truth, "I do not know."), None);
        assert_eq!(chosen_option(&truth, "The answer is a bit unclear."), None);
    }

    const MED_VITAMINS: &str = r#"{"domain":"medicine","ground_truth":{"answer":"B","answer_text":"Vitamin B12","explanation":null,"options":["Vitamin B1","Vitamin B12","Iron","Folate"],"question":"Pernicious anaemia is caused by a lack of:","source_line":1,"subject":"medicine","subject_id":"medicine"},"id":"medicine-test-vitamins","prompt":"Pernicious anaemia is caused by a lack of:\nA. Vitamin B1\nB. Vitamin B12\nC. Iron\nD. Folate","reference":"The answer is B: Vitamin B12"}"#;
    const MED_INSULIN: &str = r#"{"domain":"medicine","ground_truth":{"answer":"B","answer_text":"Islets of Langerhans","explanation":null,"options":["Liver","Islets of Langerhans","Adrenal cortex","Spleen"],"question":"Insulin is made in the:","source_line":2,"subject":"medicine","subject_id":"medicine"},"id":"medicine-test-insulin","prompt":"Insulin is made in the:\nA. Liver\nB. Islets of Langerhans\nC. Adrenal cortex\nD. Spleen","reference":"The answer is B: Islets of Langerhans"}"#;

    #[test]
    fn an_option_inside_a_longer_one_is_not_chosen() {
        // Issue 14, case 3: "Vitamin B1" is a prefix of "vitamin B12".
        let truth = example(MED_VITAMINS).medicine().unwrap().clone();
        let r = "Pernicious anaemia comes from a lack of vitamin B12.";
        assert_eq!(chosen_option(&truth, r).map(|c| c.0), Some(1));
        assert_eq!(
            chosen_option(&truth, "A lack of vitamin B1 causes beriberi.").map(|c| c.0),
            Some(0)
        );
        // Inside a longer word it is not an option either.
        assert_eq!(chosen_option(&truth, "Ironically, nobody knows."), None);
    }

    #[test]
    fn the_letter_alone_on_the_last_line_is_the_answer() {
        // Issue 14, case 4: the explanation names a distractor ("liver", option A).
        let ex = example(MED_INSULIN);
        let r = "The liver stores glycogen, but insulin comes from the islets of Langerhans.\n\nB";
        let truth = ex.medicine().unwrap();
        assert_eq!(chosen_option(truth, r).map(|c| c.0), Some(1));
        let judged = MedicineJudge::default().judge(&ex, r).unwrap();
        assert!(judged.len() >= 2, "{judged:?}");
        assert!(judged.iter().all(|f| f.correct == Some(true)), "{judged:?}");
        // A response that is only the letter.
        assert_eq!(chosen_option(truth, "B").map(|c| c.0), Some(1));
        assert_eq!(chosen_option(truth, "  (B)\n").map(|c| c.0), Some(1));
        // A sentence starting with "A" is not a lone letter.
        assert_eq!(chosen_option(truth, "A gland makes it."), None);
    }

    #[test]
    fn explanations_inherit_the_answer_without_an_llm() {
        let right =
            "Diarrhea is a leading killer of children. The answer is B: Diarrheal diseases.";
        assert_eq!(verdicts(right), [Some(true), Some(true)]);
        let wrong = "Malaria kills millions each year. The answer is C.";
        assert_eq!(verdicts(wrong), [Some(false), Some(false)]);
        assert_eq!(verdicts("Deaths have many causes."), [None]);
    }
}
