//! The maths judge (dependent steps; `design.md` "Judges", paper §"Judge").
//!
//! Steps come from the [`steps`] splitter. A step is wrong if
//! 1. an equation in it is arithmetically false ([`equations`]); or
//! 2. it writes a number that is neither in the question (digits or number words), nor written
//!    or computed in an earlier correct step, nor a ground-truth intermediate (a `<<expr=value>>`
//!    value or operand, or the answer), nor computed by a true equation in this step, nor one of the
//!    everyday constants ([`MathJudge::constants`]: 0, 1, 2, 7, 10, 12, 24, 52, 60, 100, 365,
//!    1000), nor a unit conversion (a known value times or divided by one of those constants
//!    above 1: 30 minutes → 0.5 hours). A number matches a known one exactly, rounded to the decimals it is written with,
//!    in absolute value (`-3` after `5 - 8`), or as a percentage (`25%` for 0.25); a list marker
//!    at the start of a step (`2.`, `Step 2:`) is not a number of the step; or
//! 3. it states the final answer (`#### x`, `\boxed{x}`, `answer is x`, `answer: x`; the last
//!    such step) and that is not the ground-truth answer.
//!
//! Everything after the first wrong step is wrong. Steps without numbers are correct (they
//! claim nothing checkable). An answer without a final-answer marker is judged by its steps and
//! reported incomplete ([`Judge::is_complete`]), so HALT appends the marker even when every step
//! is right; if it also holds no number at all, nothing in it is checkable and every step is
//! undecidable (`null`, counted by the run's null policy; default: wrong).

use std::sync::LazyLock;

use regex::Regex;

use super::arith::equations;
use super::numbers::{NumLit, literals, matches_rounded, number_words, parse_number, same};
use super::{Judge, JudgeError, expect_domain, first_wrong_onward};
use crate::dataset::domain::Domain;
use crate::dataset::example::Example;
use crate::dataset::fragment::steps;
use crate::dataset::record::{Fragment, FragmentKind};

static MARKER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(?:step\s*)?\(?\d{1,3}\s*[.):]\s").unwrap());
static ANSWER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)####|\\boxed\{|\banswer\b\s*(?:is|:|=)|\banswer\b[^.\d]{0,20}?\bis\b").unwrap()
});

/// The maths judge; see the module docs for its rules.
#[derive(Debug, Clone, PartialEq)]
pub struct MathJudge {
    /// Values every step may use without justification (unit conversions, "half", "twice").
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
fn final_answer(step: &str) -> Option<(usize, Option<f64>)> {
    let m = ANSWER.find_iter(step).last()?;
    let tail = if m.as_str().starts_with('\\') {
        &step[m.start()..]
    } else {
        &step[m.end()..]
    };
    Some((m.start(), parse_number(tail)))
}

fn known(values: &[f64], constants: &[f64], lit: &NumLit) -> bool {
    let candidates = [
        lit.value,
        lit.value.abs(),
        if lit.percent {
            lit.value / 100.0
        } else {
            lit.value
        },
    ];
    // unit conversions: a known value times or divided by a constant (30 minutes = 0.5 hours)
    let scale = constants.iter().filter(|c| **c > 1.0);
    let converted = values
        .iter()
        .flat_map(|v| scale.clone().flat_map(move |c| [v * c, v / c]));
    values.iter().copied().chain(converted).any(|v| {
        candidates.iter().any(|&c| {
            matches_rounded(v, c, lit.decimals) || matches_rounded(v.abs(), c, lit.decimals)
        })
    })
}

impl MathJudge {
    /// Verdicts for the given step texts of an answer to `example` (no splitting).
    pub fn judge_steps(
        &self,
        example: &Example,
        steps: &[&str],
    ) -> Result<Vec<Option<bool>>, JudgeError> {
        expect_domain(example, Domain::Math)?;
        let truth = example.math().ok_or_else(|| JudgeError::BadTruth {
            id: example.id.clone(),
            message: "no maths ground truth".into(),
        })?;
        let bad = |message: String| JudgeError::BadTruth {
            id: example.id.clone(),
            message,
        };
        let answer = parse_number(&truth.answer)
            .ok_or_else(|| bad(format!("answer `{}` is not a number", truth.answer)))?;
        let mut allowed: Vec<f64> = literals(&example.prompt).iter().map(|l| l.value).collect();
        allowed.extend(number_words(&example.prompt));
        allowed.extend(
            truth
                .calculations
                .iter()
                .filter_map(|c| parse_number(&c.value)),
        );
        // the operands of the reference's calculations are values of a correct solution too
        allowed.extend(
            truth
                .calculations
                .iter()
                .flat_map(|c| literals(&c.expr))
                .map(|l| l.value),
        );
        allowed.push(answer);
        allowed.extend(&self.constants);

        let answer_step = steps.iter().rposition(|s| final_answer(s).is_some());
        let mut verdicts = Vec::with_capacity(steps.len());
        for (i, step) in steps.iter().enumerate() {
            if verdicts.contains(&Some(false)) {
                verdicts.push(Some(false));
                continue;
            }
            let eqs = equations(step);
            let mut ok = eqs.iter().all(|e| e.holds);
            let mut here = allowed.clone();
            for e in &eqs {
                here.extend(&e.right_literals);
                here.extend([e.left, e.right]);
            }
            let mut check_until = step.len();
            if Some(i) == answer_step
                && let Some((at, value)) = final_answer(step)
            {
                check_until = at;
                ok &= value.is_some_and(|v| same(v, answer));
            }
            let skip_marker = MARKER.find(step).map_or(0, |m| m.end());
            let lits: Vec<NumLit> = literals(step);
            ok &= lits
                .iter()
                .filter(|l| l.start >= skip_marker && l.end <= check_until)
                .all(|l| known(&here, &self.constants, l));
            if ok {
                allowed = here;
                allowed.extend(lits.iter().map(|l| l.value));
            }
            verdicts.push(Some(ok));
        }
        first_wrong_onward(&mut verdicts);
        Ok(verdicts)
    }
}

impl Judge for MathJudge {
    fn domain(&self) -> Domain {
        Domain::Math
    }

    fn kind(&self) -> FragmentKind {
        FragmentKind::Dependent
    }

    fn judge(&self, example: &Example, response: &str) -> Result<Vec<Fragment>, JudgeError> {
        let spans = steps(response);
        let texts: Vec<&str> = spans.iter().map(|s| s.text.as_str()).collect();
        let mut verdicts = self.judge_steps(example, &texts)?;
        // Nothing checkable at all (no number, no final answer): undecidable, not correct.
        if !self.is_complete(response) && !response.chars().any(|c| c.is_ascii_digit()) {
            verdicts.iter_mut().for_each(|v| *v = None);
        }
        Ok(spans
            .into_iter()
            .zip(verdicts)
            .map(|(s, v)| Fragment::new(s, v))
            .collect())
    }

    fn is_complete(&self, response: &str) -> bool {
        final_answer(response).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::judge::test_data::{MATH_0001, example};

    fn verdicts(response: &str) -> Vec<Option<bool>> {
        let ex = example(MATH_0001);
        MathJudge::default()
            .judge(&ex, response)
            .unwrap()
            .iter()
            .map(|f| f.correct)
            .collect()
    }

    const T: Option<bool> = Some(true);
    const F: Option<bool> = Some(false);

    #[test]
    fn the_reference_solution_is_all_correct() {
        let ex = example(MATH_0001);
        assert_eq!(verdicts(&ex.reference), [T, T, T]);
    }

    #[test]
    fn a_correct_worked_solution_in_other_words() {
        let r = "1. Each 3 miles take 10 minutes.\n2. The city is 42 miles, so there are 42 / 3 = 14 stretches.\n\
                 3. That takes 14 x 10 = 140 minutes.\nThe answer is 140.";
        assert_eq!(verdicts(r), [T, T, T, T]);
    }

    #[test]
    fn an_arithmetic_error_is_wrong_and_so_is_everything_after() {
        let r = "The city will be covered in 42/3 = 15 intervals of 10 minutes.\n\
                 Thus, it will take 15 * 10 = 150 minutes.\n#### 150";
        assert_eq!(verdicts(r), [F, F, F]);
        let r = "42/3 = 14 intervals.\nSo 14 * 10 = 150 minutes.\n#### 150";
        assert_eq!(verdicts(r), [T, F, F]);
    }

    #[test]
    fn an_unjustified_value_is_wrong() {
        // 11 is not in the question, not computed, not a ground-truth intermediate
        let r = "There are 42/3 = 14 intervals.\nEach takes 11 minutes, so 14 * 11 = 154 minutes.\n#### 154";
        assert_eq!(verdicts(r), [T, F, F]);
        // 14 without the computation is a ground-truth intermediate: allowed
        assert_eq!(
            verdicts("There are 14 intervals.\n14 * 10 = 140.\n#### 140"),
            [T, T, T]
        );
    }

    #[test]
    fn completeness_and_uncheckable_answers() {
        let j = MathJudge::default();
        assert!(!j.is_complete("42/3 = 14.\n14 * 10 = 140."));
        assert!(j.is_complete("42/3 = 14.\n#### 140"));
        // Steps are still judged when the answer is cut short …
        assert_eq!(verdicts("42/3 = 14.\n14 * 10 = 140."), [T, T]);
        // … but text with no number and no final answer decides nothing.
        assert_eq!(verdicts("Let me think.\nThe dog is happy."), [None, None]);
    }

    #[test]
    fn the_final_answer_must_equal_the_ground_truth() {
        assert_eq!(verdicts("42/3 = 14.\n14 * 10 = 140.\n#### 141"), [T, T, F]);
        assert_eq!(verdicts("42/3 = 14.\nSo \\boxed{140} minutes."), [T, T]);
        assert_eq!(verdicts("42/3 = 14.\nThe answer is: 1,40 minutes"), [T, F]);
        assert_eq!(verdicts("42/3 = 14.\nThe answer is $140.00."), [T, T]);
    }

    #[test]
    fn steps_without_numbers_and_empty_answers() {
        assert_eq!(verdicts("Let us think.\n42/3 = 14."), [T, T]);
        assert!(verdicts("").is_empty());
    }

    #[test]
    fn a_generated_gsm_symbolic_instance() {
        // datasets/math/train.jsonl, math-0000-01 (answer 20; intermediates 768 and 64)
        let line = r#"{"domain":"math","ground_truth":{"answer":"20","answer_expr":"int((((8 * 96) / (320 * 12)) * 100))","calculations":[{"expr":"96*8","step":0,"value":"768"},{"expr":"768/12","step":1,"value":"64"}],"generated":true,"instance":1,"num_calculations":2,"num_steps":3,"source_index":473,"steps":["a","b","c"],"template":"0000"},"id":"math-0000-01","prompt":"Ella saw a 320-foot dolphin with 8 96-inch remoras attached to it. What percentage of the dolphin's body length is the combined length of the remoras?","reference":"x"}"#;
        let ex = example(line);
        let j = MathJudge::default();
        let good = "Combined: 96 inches/remora * 8 remoras = 768 inches.\n768 inches / 12 inches/foot = 64 foot.\n\
                    64 foot / 320 feet * 100% = 20%\n#### 20";
        let v: Vec<_> = j
            .judge(&ex, good)
            .unwrap()
            .into_iter()
            .map(|f| f.correct)
            .collect();
        assert_eq!(v, [T, T, T, T]);
        let bad = "Combined: 96 * 8 = 768 inches.\n768 / 12 = 64 feet.\n64 / 300 * 100% = 21.33%\n#### 21.33";
        let v: Vec<_> = j
            .judge(&ex, bad)
            .unwrap()
            .into_iter()
            .map(|f| f.correct)
            .collect();
        assert_eq!(v, [T, T, F, F]); // 300 is not in the question
    }
}
