//! The reference solution's path of a maths problem: the quantities a correct answer may
//! introduce (paper §"Judge": a fragment is judged as a step *toward the reference solution*,
//! not merely as a true sentence).
//!
//! The path holds
//! - every number of the question, in digits or as a cardinal word (`four`, `forty-two`) or a
//!   ratio word (`thrice` → 3, `half` → 0.5 and 2, `dozen` → 12);
//! - every number written in the reference's steps (operands and results), the value of every
//!   equation in them (`3/6=50%` → 0.5, evaluated as [`equations`] does), every
//!   `<<expr=value>>` calculation recorded in the dataset (its value and its operands), the
//!   literals of a GSM-Symbolic instance's answer expression, and the answer.
//!
//! A value is *on the path* ([`SolutionPath::contains`]) when it equals one of these (up to the
//! decimals it is written with, in absolute value), or one of them as a percentage (0.25 for
//! 25 %, and back). A number a step *states* may also be a plain unit conversion of one
//! ([`SolutionPath::contains_converted`]): a path value times or divided by one of
//! [`CONVERSIONS`] (30 minutes → 0.5 hours, 3 feet → 36 inches). Conversions are not accepted
//! for an equation's *result*: with 1 and 2 on nearly every path, `12 · 2 = 24` would otherwise
//! pass as "2 feet in inches".
//!
//! The *intermediates* are the values the reference computes on its way (its equation values
//! and calculation results), without those that are already numbers of the question or the
//! answer: reaching them is progress, restating the question is not. They measure completeness
//! ([`SolutionPath::progress_of`]).

use std::sync::LazyLock;

use regex::Regex;

use super::arith::{CONVERSIONS, equations};
use super::numbers::{NumLit, literals, matches_rounded, number_words, parse_number, same};
use crate::dataset::truth::MathTruth;

static AFTER_EQUALS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"=\s*[$€£]?").unwrap());

/// The quantities of one problem's reference solution (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct SolutionPath {
    /// Every value on the path (question numbers, reference numbers and results, answer).
    pub values: Vec<f64>,
    /// Values the reference computes that are neither question numbers nor the answer.
    pub intermediates: Vec<f64>,
    /// The question's own numbers (digits and words).
    pub given: Vec<f64>,
    /// The final answer.
    pub answer: f64,
}

/// Whether `a` and `b` are the same quantity, the one possibly written as a percentage of the
/// other (`0.25` and `25`).
fn same_or_percent(a: f64, b: f64) -> bool {
    same(a, b) || same(a * 100.0, b) || same(a, b * 100.0)
}

fn push_unique(v: &mut Vec<f64>, x: f64) {
    if x.is_finite() && !v.iter().any(|y| same(*y, x)) {
        v.push(x);
    }
}

impl SolutionPath {
    /// The path of a problem: `question` is the prompt, `truth` its ground truth.
    ///
    /// # Errors
    /// The ground-truth answer is not a number (the message says which text).
    pub fn new(question: &str, truth: &MathTruth) -> Result<Self, String> {
        let answer = parse_number(&truth.answer)
            .ok_or_else(|| format!("answer `{}` is not a number", truth.answer))?;
        let mut given = Vec::new();
        for x in literals(question).iter().map(|l| l.value) {
            push_unique(&mut given, x);
        }
        for x in number_words(question) {
            push_unique(&mut given, x);
        }
        let mut computed = Vec::new();
        let mut written = Vec::new();
        for step in &truth.steps {
            for e in equations(step) {
                push_unique(&mut computed, e.right);
            }
            // a number right after `=` is a result even where the equation checker skips the
            // equation (`one of them are 3/6=50%`: `of` makes it skip)
            for m in AFTER_EQUALS.find_iter(step) {
                if let Some(l) = literals(&step[m.end()..]).first().filter(|l| l.start <= 3) {
                    push_unique(
                        &mut computed,
                        if l.percent { l.value / 100.0 } else { l.value },
                    );
                }
            }
            for l in literals(step) {
                push_unique(&mut written, l.value);
            }
        }
        for c in &truth.calculations {
            if let Some(v) = parse_number(&c.value) {
                push_unique(&mut computed, v);
            }
            for l in literals(&c.expr) {
                push_unique(&mut written, l.value);
            }
        }
        for l in truth.answer_expr.iter().flat_map(|e| literals(e)) {
            push_unique(&mut written, l.value);
        }
        let intermediates: Vec<f64> = computed
            .iter()
            .copied()
            .filter(|v| !same_or_percent(*v, answer))
            .filter(|v| !given.iter().any(|g| same_or_percent(*v, *g)))
            .collect();
        let mut values = given.clone();
        for x in computed.into_iter().chain(written).chain([answer]) {
            push_unique(&mut values, x);
        }
        Ok(SolutionPath {
            values,
            intermediates,
            given,
            answer,
        })
    }

    /// Whether `value`, written with `decimals` digits after the point, is on the path: equal
    /// to a path value up to those decimals, in absolute value, or as a percentage of one.
    pub fn contains(&self, value: f64, decimals: u32) -> bool {
        self.scaled_by(value, decimals, &[100.0])
    }

    /// [`contains`](Self::contains), or a unit conversion of a path value (times or divided by
    /// one of [`CONVERSIONS`]).
    pub fn contains_converted(&self, value: f64, decimals: u32) -> bool {
        self.scaled_by(value, decimals, &CONVERSIONS)
    }

    fn scaled_by(&self, value: f64, decimals: u32, factors: &[f64]) -> bool {
        if !value.is_finite() {
            return false; // a number too large for f64 is no quantity of any solution
        }
        let hit = |p: f64| {
            matches_rounded(p, value, decimals) || matches_rounded(p.abs(), value.abs(), decimals)
        };
        self.values.iter().any(|&p| {
            hit(p)
                || factors
                    .iter()
                    .any(|&c| hit(p * c) || (p.abs() >= 1e-12 && hit(p / c)))
        })
    }

    /// Whether a number a step writes is on the path or a unit conversion of a path value: its
    /// value as written, or for `N%` also N/100.
    pub fn contains_literal(&self, lit: &NumLit) -> bool {
        self.contains_converted(lit.value, lit.decimals)
            || (lit.percent && self.contains_converted(lit.value / 100.0, lit.decimals + 2))
    }

    /// Which [`intermediates`](Self::intermediates) the values of `reached` (numbers written
    /// or computed in an answer's correct steps, with their decimals) hit: one flag each.
    pub fn progress_of(&self, reached: &[(f64, u32)]) -> Vec<bool> {
        self.intermediates
            .iter()
            .map(|&r| {
                reached.iter().any(|&(v, d)| {
                    matches_rounded(r, v, d)
                        || matches_rounded(r * 100.0, v, d)
                        || matches_rounded(r, v / 100.0, d + 2)
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::truth::Calculation;

    fn truth(steps: &[&str], calcs: &[(&str, &str)], answer: &str) -> MathTruth {
        MathTruth {
            template: "t".into(),
            source_index: 0,
            instance: 0,
            generated: false,
            steps: steps.iter().map(|s| s.to_string()).collect(),
            calculations: calcs
                .iter()
                .enumerate()
                .map(|(i, (e, v))| Calculation {
                    step: i,
                    expr: e.to_string(),
                    value: v.to_string(),
                })
                .collect(),
            num_steps: steps.len(),
            num_calculations: calcs.len(),
            answer: answer.into(),
            answer_expr: None,
        }
    }

    /// The Brett/Angela problem: 14 · 3 = 42, 42 − 4 = 38.
    fn angela() -> SolutionPath {
        let q = "Brett is 14 years old. In four years his sister Angela will be thrice as old as \
                 Brett is now. How old is Angela right now?";
        let t = truth(
            &[
                "In four years Angela will be 14*3=42 years old.",
                "So now she is 42-4=38 years old.",
            ],
            &[("14*3", "42"), ("42-4", "38")],
            "38",
        );
        SolutionPath::new(q, &t).unwrap()
    }

    #[test]
    fn the_angela_path_by_hand() {
        let p = angela();
        // question: 14, four, thrice; reference: 42 (computed), 38 (answer)
        for v in [14.0, 4.0, 3.0, 42.0, 38.0] {
            assert!(p.contains(v, 0), "{v}");
        }
        // 18 = 14 + 4 and 54 = 3 · 18 are true arithmetic off the path
        for v in [18.0, 54.0, 50.0, 26.0] {
            assert!(!p.contains(v, 0), "{v}");
        }
        // 42 is the only intermediate (38 is the answer, 14 is given)
        assert_eq!(p.intermediates, [42.0]);
        assert_eq!(p.answer, 38.0);
        // unit conversions of path values: 42 · 12 = 504 (months), 38 · 365 (days), for
        // stated numbers only
        assert!(p.contains_converted(504.0, 0) && p.contains_converted(13870.0, 0));
        assert!(!p.contains(504.0, 0));
        // 2 and 10 are no conversions: 56 = 14 · 4 and 140 = 14 · 10 are off the path
        // (28 would be on it: 4 weeks are 28 days)
        assert!(!p.contains_converted(56.0, 0) && !p.contains_converted(140.0, 0));
        assert!(p.contains_converted(28.0, 0));
        // percentages are the same quantity: 0.42 is 42 %
        assert!(p.contains(0.42, 2) && p.contains(4200.0, 0));
    }

    #[test]
    fn percent_results_and_rounding() {
        // datasets/math/train.jsonl, math-0002-00 (no recorded calculations)
        let q = "Jerry is rolling a six-sided die. How much more likely is it (expressed as \
                 percentage points) that he rolls a number greater than 3 than that he rolls two \
                 even numbers in a row?";
        let t = truth(
            &[
                "There are 3 numbers greater than 3 on the dice, so the chances of rolling one of them are 3/6=50%.",
                "The chance of rolling one even number is 50%, so the chance of rolling two in a row is 50% * 50% = 25%.",
                "The difference between these two probabilities is 50% - 25% = 25%.",
            ],
            &[],
            "25",
        );
        let p = SolutionPath::new(q, &t).unwrap();
        // 3/6 = 0.5 is computed and is not the answer (25) nor a question number
        assert_eq!(p.intermediates, [0.5]);
        let lit = |s: &str| literals(s)[0];
        assert!(p.contains_literal(&lit("50%")));
        assert!(p.contains_literal(&lit("0.5")));
        assert!(!p.contains_literal(&lit("75%")));
        // reached as 50% or as 0.5
        assert_eq!(p.progress_of(&[(50.0, 0)]), [true]);
        assert_eq!(p.progress_of(&[(0.5, 1)]), [true]);
        assert_eq!(p.progress_of(&[(6.0, 0)]), [false]);
        // rounding: 10/3 written 3.33
        let t = truth(&["10/3 = 3.33"], &[], "3.33");
        let p = SolutionPath::new("10 apples for 3 people", &t).unwrap();
        assert!(p.contains(3.33, 2));
        assert!(p.contains(3.3, 1)); // 3.33 rounded to one decimal
        assert!(!p.contains(3.4, 1));
    }
}
