//! The equation checker of the maths judge: finds `a = b (= c ...)` chains in a step and
//! evaluates both sides.
//!
//! Rules (documented for the book):
//! - units after a number are dropped (`6 inches/remora * 2 remoras = 12 inches` is `6*2=12`;
//!   one word after a number, plus `/word` or `per word` parts);
//! - `x`/`times`/`×`/`·`/`\times` multiply, `÷`/`\div` divide, `equals` is `=`, `$` is dropped,
//!   `\frac{a}{b}` is `(a)/(b)`, `N%` is N/100 (and, if that fails, N: "1/10 * 100 = 10%");
//! - any other word or punctuation ends an expression; a side that is not a complete arithmetic
//!   expression makes that equation undecidable, and it is skipped (never judged wrong);
//! - an equation directly after a word that carries arithmetic (`half of 20 = 10`,
//!   `twice 4 = 8`) is skipped too;
//! - an equation whose run starts with an operator right after a word (`x + 4 = 42`) is skipped
//!   too (its left operand is a word);
//! - two single numbers that differ by a unit-conversion factor ([`CONVERSIONS`]) are equal:
//!   `2 hours = 120 minutes` is `2 = 120` after the units are dropped, and holds;
//! - sides are equal up to floating-point noise, or up to rounding when a side is a single
//!   number written with decimals (`10/3 = 3.33`); `10/3 = 3` is false.
//!
//! The pieces: `tokens` (LaTeX, numbers, operators, units), `eval` (the value of one side);
//! this module finds the equations and decides whether each holds.

mod eval;
mod tokens;

use super::numbers::{matches_rounded, same};
use eval::eval;
use tokens::{ARITH_WORDS, Tok, tokens};

/// One checked equation `left = right` of a step.
#[derive(Debug, Clone, PartialEq)]
pub struct Equation {
    /// Value of the left side.
    pub left: f64,
    /// Value of the right side.
    pub right: f64,
    /// Whether the two sides are equal (see the module rules).
    pub holds: bool,
    /// Number literals written on the right side (values computed by this equation).
    pub right_literals: Vec<f64>,
    /// Decimals written on the right side when it is a single number (`3.33` → 2), else 0:
    /// the rounding a result may carry.
    pub right_decimals: u32,
    /// A unit conversion between two single numbers (`2 hours = 120 minutes`, `42 years = 504
    /// months`): the sides differ by one of [`CONVERSIONS`], and it holds.
    pub conversion: bool,
}

/// Factors of plain unit conversions: days/week, inches/foot and months/year, hours/day,
/// weeks/year, minutes/hour and seconds/minute, percent and cents, grams/kg and metres/km,
/// days/year, seconds/hour. 2 and 10 are left out on purpose: doubling or scaling by ten is
/// arithmetic, not a change of unit, and would let almost any number through.
pub const CONVERSIONS: [f64; 9] = [7.0, 12.0, 24.0, 52.0, 60.0, 100.0, 1000.0, 365.0, 3600.0];

/// Every decidable equation of `step`, in order.
pub fn equations(step: &str) -> Vec<Equation> {
    equations_and_skipped(step).0
}

/// The results of the equations of `step` that [`equations`] skips because a word carrying
/// arithmetic comes before them (`half of 20 = 10` → 10): the value of the right side, with
/// the decimals written when it is a single number. Their arithmetic cannot be checked, but
/// what they state as a result can.
pub fn skipped_results(step: &str) -> Vec<(f64, u32)> {
    equations_and_skipped(step).1
}

fn equations_and_skipped(step: &str) -> (Vec<Equation>, Vec<(f64, u32)>) {
    let toks = tokens(step);
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut run: Vec<Tok> = Vec::new();
    for t in toks.into_iter().chain([Tok::Other]) {
        match t {
            Tok::Word(w) => {
                check_run(&run, &words, &mut out, &mut skipped);
                run.clear();
                words.push(w.to_lowercase());
            }
            Tok::Other => {
                check_run(&run, &words, &mut out, &mut skipped);
                run.clear();
                words.push(String::new());
            }
            t => run.push(t),
        }
    }
    (out, skipped)
}

fn check_run(
    run: &[Tok],
    words_before: &[String],
    out: &mut Vec<Equation>,
    skipped: &mut Vec<(f64, u32)>,
) {
    let sides: Vec<&[Tok]> = run.split(|t| *t == Tok::Eq).collect();
    if sides.len() < 2 {
        return;
    }
    // up to 3 words before the run, within the same clause (punctuation stops the look-back)
    let arith_before = words_before
        .iter()
        .rev()
        .take(3)
        .take_while(|w| !w.is_empty())
        .any(|w| ARITH_WORDS.contains(&w.as_str()));
    // a run that starts with an operator right after a word has a word as its left operand
    // (`x + 4 = 42`): its first equation cannot be checked either
    let word_operand = matches!(run.first(), Some(Tok::Op(_)))
        && words_before.last().is_some_and(|w| !w.is_empty());
    for (i, pair) in sides.windows(2).enumerate() {
        if i == 0 && (arith_before || word_operand) {
            if let Some(v) = eval(pair[1], true) {
                let decimals = match pair[1] {
                    [Tok::Num { decimals, .. }] => *decimals,
                    _ => 0,
                };
                skipped.push((v, decimals));
            }
            continue;
        }
        let (l, r) = (pair[0], pair[1]);
        let (Some(lp), Some(rp)) = (eval(l, true), eval(r, true)) else {
            continue;
        };
        let (lr, rr) = (eval(l, false), eval(r, false));
        let single = |side: &[Tok]| matches!(side, [Tok::Num { .. }]);
        let conversion = single(l)
            && single(r)
            && lp != 0.0
            && CONVERSIONS
                .iter()
                .any(|&c| same(lp * c, rp) || same(lp, rp * c));
        let holds = conversion
            || equal(lp, rp, l, r)
            || matches!((lr, rr), (Some(a), Some(b)) if equal(a, b, l, r));
        let right_literals = r
            .iter()
            .filter_map(|t| match t {
                Tok::Num { value, .. } => Some(*value),
                _ => None,
            })
            .collect();
        let right_decimals = match r {
            [Tok::Num { decimals, .. }] => *decimals,
            _ => 0,
        };
        out.push(Equation {
            left: lp,
            right: rp,
            holds,
            right_literals,
            right_decimals,
            conversion,
        });
    }
}

fn equal(a: f64, b: f64, left: &[Tok], right: &[Tok]) -> bool {
    let decimals = |side: &[Tok]| match side {
        [Tok::Num { decimals, .. }] => *decimals,
        _ => 0,
    };
    same(a, b) || matches_rounded(a, b, decimals(right)) || matches_rounded(b, a, decimals(left))
}

#[cfg(test)]
#[path = "arith_tests.rs"]
mod tests;
