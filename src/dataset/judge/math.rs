//! The maths judge (dependent steps; paper §"Judge"): a step is correct when it is a right
//! step *toward the reference solution*, not merely a true sentence.
//!
//! Steps come from the steps splitter ([`Splitter::Steps`],
//! [`steps()`](crate::dataset::fragment::steps())). The quantities a correct answer may introduce
//! are those on the reference solution's path ([`SolutionPath`]: numbers of the question, numbers
//! and results of the reference's steps and recorded calculations, the answer, and plain unit
//! conversions of them). A step is **wrong** if
//! 1. an equation in it is arithmetically false ([`equations`]); or
//! 2. an equation's result is off the path: true arithmetic on the wrong quantities
//!    (`14 + 4 = 18` when the solution is `14 · 3 = 42`, `42 − 4 = 38`) is a wrong step; so is
//!    the stated result of an equation whose arithmetic the checker skips (`half of 20 = 10`,
//!    [`skipped_results`]); or
//! 3. it writes a number (in digits, or a cardinal word such as `eighteen`) that is neither on
//!    the path nor one of the everyday constants ([`MathJudge::constants`], e.g. `60` minutes,
//!    `7` days; a constant may be an operand or a stated fact, never an equation's result):
//!    an invented quantity such as `(26 inches)`. A list marker at the start of a step
//!    (`2.`, `Step 2:`) is not a number of the step; or
//! 4. it states the final answer (`#### x`, `\boxed{x}`, `answer is x`, `answer: x`; the last
//!    such step; [`final_answer`]) and that is not the ground-truth answer.
//!
//! The answer ends with its first final-answer statement ([`Judge::answer_end`],
//! [`statement_end`]): what follows (small models go on after `#### 18` with a `Question: …` /
//! `Answer: …` of their own, on the next line or on the same one) is not part of the answer and
//! is not judged.
//!
//! Everything after the first wrong step is wrong. A step with no number at all (no digits, no
//! cardinal word, no equation, no final answer) claims nothing checkable: it is **neutral**
//! ([`Fragment::neutral`]): kept in targets while nothing before it is wrong, but counted
//! neither as given nor as correct. An answer without a final-answer marker is judged by its
//! steps and reported incomplete ([`Judge::is_complete`]), so HALT appends the marker even when
//! every step is right.
//!
//! Completeness ([`Judge::progress`]): the reference's intermediates an answer's correct steps
//! reach, plus one point for a correct final answer, over their number (restating the question
//! is no progress).

use std::sync::LazyLock;

use regex::Regex;

use super::arith::{equations, skipped_results};
use super::numbers::{NumLit, cardinal_words, literals, parse_number, same};
use super::path::SolutionPath;
use super::{Judge, JudgeError, Progress, expect_domain, first_wrong_onward};
use crate::dataset::domain::Domain;
use crate::dataset::example::Example;
use crate::dataset::fragment::Splitter;
use crate::dataset::record::Fragment;

static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(?:step\s*)?\(?\d{1,3}\s*[.):]\s").unwrap());
static ANSWER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)####|\\boxed\{|\banswer\b\**\s*(?:is|:|=)|\b(?:the|final|my|our)\s+answer\b[^.,;\d]{0,20}?\bis\b",
    )
    .unwrap()
});
/// The end of the clause that states a final answer: `. `, `, `, `; ` or a line break.
static CLAUSE_END: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[.,;](?:\s|$)|\n").unwrap());

/// The maths judge; see the module docs for its rules.
#[derive(Debug, Clone, PartialEq)]
pub struct MathJudge {
    /// Values a step may state or use as an operand without being on the solution's path
    /// (unit factors and small counts: 60 minutes, 7 days, 100 %); never accepted as the
    /// result of an equation.
    pub constants: Vec<f64>,
}

impl Default for MathJudge {
    fn default() -> Self {
        MathJudge {
            constants: vec![
                0.0, 1.0, 2.0, 7.0, 10.0, 12.0, 24.0, 52.0, 60.0, 100.0, 365.0, 1000.0,
            ],
        }
    }
}

/// Where a step states the final answer: the byte offset of the marker and the value.
///
/// Markers: `####` and `\boxed{` always (with nothing readable after them the value is `None`:
/// a wrong final answer); the word forms `answer is`, `answer:`, `the answer … is` only when a
/// number follows in their clause, so prose such as `Answer: let's think` or `the answer is
/// clear` states no final answer. The value is read from the clause after the marker (up to
/// `. `, `, `, `; ` or the end of the line): the result of its last equation when it has one
/// (`the answer is 60 + 10 = 70` → 70), else its first number as [`parse_number`] reads it
/// (`$1,250`, `25%`, `2 1/2`, `\boxed{\frac{1}{2}}`).
pub fn final_answer(step: &str) -> Option<(usize, Option<f64>)> {
    // The last marker that counts, searched from the end: only markers after it are read
    // (reading every marker's clause made a response of thousands of `\boxed{` quadratic).
    let markers: Vec<regex::Match> = ANSWER.find_iter(step).collect();
    markers.iter().rev().find_map(|m| {
        let value = value_after(step, m);
        let explicit = m.as_str().starts_with('#') || m.as_str().starts_with('\\');
        (explicit || value.is_some()).then_some((m.start(), value))
    })
}

/// Longest clause read after a final-answer marker (bytes): a clause longer than this without
/// `. `, `, `, `; ` or a line break is not an answer statement, and the bound keeps a response
/// of many markers linear.
const MAX_CLAUSE: usize = 1000;

/// The value stated after a final-answer marker (see [`final_answer`]).
fn value_after(step: &str, m: &regex::Match) -> Option<f64> {
    let tail = if m.as_str().starts_with('\\') {
        &step[m.start()..]
    } else {
        &step[m.end()..]
    };
    let lead = tail.len() - tail.trim_start().len();
    let mut cap = (lead + MAX_CLAUSE).min(tail.len());
    while !tail.is_char_boundary(cap) {
        cap -= 1;
    }
    let tail = &tail[..cap];
    let clause = match CLAUSE_END.find(&tail[lead..]) {
        Some(end) => &tail[..lead + end.start()],
        None => tail,
    };
    equations(clause)
        .last()
        .map(|e| e.right)
        .or_else(|| parse_number(clause))
        .filter(|v| v.is_finite())
}

/// A number as `#### x` gives it: sign, currency, digits with separators, decimals, a fraction
/// or mixed number, a percent sign, and the closing `**` or `__` of a bold `**#### x**`.
static HASH_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*[-+−]?\s*[$€£]?\s*\d[\d,]*(?:\.\d+)?(?:\s+\d+/\d+|/\d+)?(?:\s*%)?(?:\*\*|__)?")
        .unwrap()
});
/// The label of a question or answer a model invents after its own (`Question:`, `Q:`,
/// `Problem:`, `Answer:`): the end of a final-answer clause at the latest.
static NEW_ITEM: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\s(?:Question|Problem|Q|Answer)\s*:").unwrap());

/// Where the first final-answer statement of `step` ends (a byte offset in `step`), if it has
/// one: the text after it (an invented `Question: …` on the same line) is not part of the
/// answer. After `#### x`, the end of the number (GSM8K's answer line holds only it); after
/// `\boxed{…}`, the closing brace; after a word form (`the answer is 18 dollars.`), the end of
/// its clause (`.`, `,`, `;` before a space, a line break) or an invented item's label,
/// whichever is first. A `####` or `\boxed{` with no readable value ends at its clause's end.
pub fn statement_end(step: &str) -> Option<usize> {
    let m = ANSWER
        .find_iter(step)
        .find(|m| m.as_str().starts_with(['#', '\\']) || value_after(step, m).is_some())?;
    let after = &step[m.end()..];
    if m.as_str().starts_with('#') {
        if let Some(v) = HASH_VALUE.find(after) {
            return Some(m.end() + v.end());
        }
    } else if m.as_str().starts_with('\\') {
        let mut depth = 1usize;
        for (i, c) in after.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(m.end() + i + 1);
                    }
                }
                '\n' => break,
                _ => {}
            }
        }
    }
    let lead = after.len() - after.trim_start().len();
    let clause = CLAUSE_END.find(&after[lead..]).map_or(after.len(), |e| {
        lead + e.start() + e.as_str().trim_end().len()
    });
    let clause = NEW_ITEM
        .find(&after[..clause])
        .map_or(clause, |l| l.start());
    Some(m.end() + clause)
}

/// One step's verdict before the first-wrong rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepVerdict {
    /// Whether the step is correct by itself (see the module rules).
    pub correct: bool,
    /// Whether it holds no number at all (see the module docs).
    pub neutral: bool,
}

impl MathJudge {
    fn is_constant(&self, v: f64) -> bool {
        self.constants.iter().any(|c| same(*c, v))
    }

    fn path(&self, example: &Example) -> Result<SolutionPath, JudgeError> {
        expect_domain(example, Domain::Math)?;
        let bad = |message: String| JudgeError::BadTruth {
            id: example.id.clone(),
            message,
        };
        let truth = example
            .math()
            .ok_or_else(|| bad("no maths ground truth".into()))?;
        SolutionPath::new(&example.prompt, truth).map_err(bad)
    }

    /// Verdicts for the given step texts of an answer to `example` (no splitting), with the
    /// first-wrong rule applied.
    ///
    /// # Errors
    /// [`JudgeError::WrongDomain`] for a non-maths example, [`JudgeError::BadTruth`] when the
    /// ground-truth answer is not a number.
    pub fn judge_steps(
        &self,
        example: &Example,
        steps: &[&str],
    ) -> Result<Vec<StepVerdict>, JudgeError> {
        let path = self.path(example)?;
        let answer_step = steps.iter().rposition(|s| final_answer(s).is_some());
        let mut out: Vec<StepVerdict> = Vec::with_capacity(steps.len());
        for (i, step) in steps.iter().enumerate() {
            let mut check_until = step.len();
            let mut ok = true;
            let is_answer = Some(i) == answer_step;
            if is_answer && let Some((at, value)) = final_answer(step) {
                check_until = at;
                ok &= value.is_some_and(|v| same(v, path.answer));
            }
            let eqs = equations(step);
            ok &= eqs.iter().all(|e| e.holds);
            ok &= eqs.iter().all(|e| {
                if e.conversion {
                    // `42 years = 504 months`: a conversion of a known quantity
                    path.contains_converted(e.left, 0) || self.is_constant(e.left)
                } else {
                    path.contains(e.right, e.right_decimals)
                }
            });
            // an equation whose arithmetic cannot be checked (`a mass of 10*12 = 120`) still
            // states its result, which must be on the path
            ok &= skipped_results(step)
                .iter()
                .all(|&(v, d)| path.contains(v, d));
            let skip_marker = MARKER.find(step).map_or(0, |m| m.end()).min(check_until);
            let lits: Vec<NumLit> = literals(step)
                .into_iter()
                .filter(|l| l.start >= skip_marker && l.end <= check_until)
                .collect();
            ok &= lits
                .iter()
                .all(|l| path.contains_literal(l) || self.is_constant(l.value));
            let words = cardinal_words(&step[skip_marker..check_until]);
            ok &= words
                .iter()
                .all(|&w| path.contains_converted(w, 0) || self.is_constant(w));
            let neutral = !is_answer && eqs.is_empty() && lits.is_empty() && words.is_empty();
            out.push(StepVerdict {
                correct: ok,
                neutral,
            });
        }
        let mut verdicts: Vec<Option<bool>> = out.iter().map(|v| Some(v.correct)).collect();
        first_wrong_onward(&mut verdicts);
        for (v, c) in out.iter_mut().zip(verdicts) {
            v.correct = c == Some(true);
        }
        Ok(out)
    }
}

impl Judge for MathJudge {
    fn domain(&self) -> Domain {
        Domain::Math
    }

    fn splitter(&self) -> Splitter {
        Splitter::Steps
    }

    fn judge(&self, example: &Example, response: &str) -> Result<Vec<Fragment>, JudgeError> {
        let spans = self.fragments(response);
        let texts: Vec<&str> = spans.iter().map(|s| s.text.as_str()).collect();
        let verdicts = self.judge_steps(example, &texts)?;
        Ok(spans
            .into_iter()
            .zip(verdicts)
            .map(|(s, v)| Fragment {
                neutral: v.neutral,
                ..Fragment::new(s, Some(v.correct))
            })
            .collect())
    }

    fn is_complete(&self, response: &str) -> bool {
        final_answer(response).is_some()
    }

    /// The end of the first final-answer statement, in the first step that has one
    /// ([`statement_end`]); the whole response without one.
    fn answer_end(&self, response: &str) -> usize {
        self.fragments(response)
            .iter()
            .find_map(|s| Some(s.start + statement_end(&s.text)?))
            .unwrap_or(response.len())
    }

    fn progress(
        &self,
        example: &Example,
        fragments: &[Fragment],
    ) -> Result<Option<Progress>, JudgeError> {
        let path = self.path(example)?;
        let mut reached: Vec<(f64, u32)> = Vec::new();
        let mut solved = false;
        for f in fragments
            .iter()
            .filter(|f| f.counts() && f.correct == Some(true))
        {
            let until = match final_answer(&f.text) {
                Some((at, value)) => {
                    solved |= value.is_some_and(|v| same(v, path.answer));
                    at
                }
                None => f.text.len(),
            };
            reached.extend(
                literals(&f.text[..until])
                    .iter()
                    .map(|l| (l.value, l.decimals)),
            );
            reached.extend(
                equations(&f.text)
                    .iter()
                    .map(|e| (e.right, e.right_decimals)),
            );
        }
        let hits = path.progress_of(&reached).iter().filter(|h| **h).count();
        Ok(Some(Progress {
            reached: hits + usize::from(solved),
            desired: path.intermediates.len() + 1,
            solved,
        }))
    }
}

#[cfg(test)]
#[path = "math_tests.rs"]
mod tests;
