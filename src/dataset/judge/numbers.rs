//! Numbers and arithmetic in maths answers: normalisation of written numbers and the
//! equation checker used by the maths judge.
//!
//! Written forms understood by [`parse_number`]: `1,000`, `-3` / `−3`, `0.5`, `.5`, `1/2`,
//! the mixed number `2 1/2` (2.5),
//! `$9,500`, `12 ft`, `50%` (as written: 50), `\boxed{...}` with nested braces, `\frac{a}{b}`,
//! `#### x`.

use std::sync::LazyLock;

use regex::Regex;

/// Relative tolerance for "equal" numbers (floating-point noise only).
pub const REL_TOL: f64 = 1e-6;

static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?P<neg>[-−])?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)").unwrap()
});
static FRACTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*/\s*([-−]?)(\d+(?:\.\d+)?)").unwrap());
static MIXED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[ \t]+(\d+)\s*/\s*(\d+)").unwrap());
static LATEX_FRAC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\\d?frac\{([^{}]*)\}\{([^{}]*)\}").unwrap());

/// A number literal found in text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumLit {
    /// Its value as written (`50%` is 50, `1,000` is 1000).
    pub value: f64,
    /// Digits after the decimal point as written (rounding tolerance).
    pub decimals: u32,
    /// Whether a `%` follows it.
    pub percent: bool,
    /// Byte offsets of the literal in the text.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

/// Whether `a` and `b` are the same number up to floating-point noise.
pub fn same(a: f64, b: f64) -> bool {
    if !(a.is_finite() && b.is_finite()) {
        return false; // an overflowed number equals nothing, not even another infinity
    }
    (a - b).abs() <= REL_TOL * a.abs().max(b.abs()).max(1.0)
}

/// Whether `written` (with `decimals` digits shown) is `exact` rounded to those digits; for
/// integers (`decimals == 0`) only the exact value matches.
pub fn matches_rounded(exact: f64, written: f64, decimals: u32) -> bool {
    if same(exact, written) {
        return true;
    }
    decimals > 0 && (exact - written).abs() <= 0.5 * 10f64.powi(-(decimals as i32)) + 1e-9
}

/// The content of the last `\boxed{...}` (nested braces allowed), if any.
pub fn boxed(s: &str) -> Option<&str> {
    let at = s.rfind("\\boxed{")? + "\\boxed{".len();
    let mut depth = 1usize;
    for (i, c) in s[at..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&s[at..at + i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// The value of a written answer: the first number in it after normalisation (see the module
/// docs), `None` if there is none. `"$9,500"` → 9500, `"1/2"` → 0.5, `"12 ft"` → 12,
/// `"\boxed{\frac{1}{2}}"` → 0.5, `"#### 18"` → 18.
pub fn parse_number(s: &str) -> Option<f64> {
    let mut s = s.trim();
    if let Some(i) = s.rfind("####") {
        s = &s[i + 4..];
    }
    let inner = boxed(s).unwrap_or(s);
    let cleaned = LATEX_FRAC
        .replace_all(inner, "$1/$2")
        .replace("\\$", "")
        .replace("\\!", "")
        .replace("\\,", "")
        .replace("{,}", ",");
    let lit = literals(&cleaned).into_iter().next()?;
    let rest = &cleaned[lit.end..];
    if lit.decimals == 0
        && let Some(c) = MIXED.captures(rest)
    {
        let (num, den): (f64, f64) = (c[1].parse().ok()?, c[2].parse().ok()?);
        if den != 0.0 && num < den {
            return Some(lit.value + lit.value.signum() * num / den);
        }
    }
    if let Some(c) = FRACTION.captures(rest) {
        let den: f64 = c[2].parse().ok()?;
        let den = if c[1].is_empty() { den } else { -den };
        if den != 0.0 {
            return Some(lit.value / den);
        }
    }
    Some(lit.value)
}

/// Every number literal in `text`, in order. A `-` counts as a sign only at the start or after
/// a space, `(`, `=` or `$` (so `10-foot` is 10, not 10 and −… ).
pub fn literals(text: &str) -> Vec<NumLit> {
    let mut out = Vec::new();
    for c in NUMBER.captures_iter(text) {
        let whole = c.get(0).map_or(0..0, |m| m.range());
        let num = &c["num"];
        let sign = c.name("neg").map_or(0, |m| m.len());
        let prev = text[..whole.start].chars().next_back();
        let negative =
            sign > 0 && prev.is_none_or(|p| matches!(p, ' ' | '(' | '=' | '$' | '\n' | '\t'));
        let start = if negative {
            whole.start
        } else {
            whole.start + sign
        };
        let before = text[..start].chars().next_back();
        if before.is_some_and(|b| b.is_alphanumeric() || b == '.' || b == '_') {
            continue; // part of a word or identifier (x2, v1.5)
        }
        let Ok(v) = num.replace(',', "").parse::<f64>() else {
            continue;
        };
        let decimals = num.split('.').nth(1).map_or(0, |d| d.len() as u32);
        let percent = text[whole.end..].trim_start().starts_with('%');
        out.push(NumLit {
            value: if negative { -v } else { v },
            decimals,
            percent,
            start,
            end: whole.end,
        });
    }
    out
}

const TENS: [&str; 8] = [
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];
const UNITS: [&str; 9] = [
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];
static COMPOUND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b({})[- ]({})\b",
        TENS.join("|"),
        UNITS.join("|")
    ))
    .unwrap()
});

/// Number words: the cardinals (`one` … `million`) first, then the ratio words.
const WORDS: &[(&str, f64)] = &[
    ("one", 1.0),
    ("two", 2.0),
    ("three", 3.0),
    ("four", 4.0),
    ("five", 5.0),
    ("six", 6.0),
    ("seven", 7.0),
    ("eight", 8.0),
    ("nine", 9.0),
    ("ten", 10.0),
    ("eleven", 11.0),
    ("twelve", 12.0),
    ("thirteen", 13.0),
    ("fourteen", 14.0),
    ("fifteen", 15.0),
    ("sixteen", 16.0),
    ("seventeen", 17.0),
    ("eighteen", 18.0),
    ("nineteen", 19.0),
    ("twenty", 20.0),
    ("thirty", 30.0),
    ("forty", 40.0),
    ("fifty", 50.0),
    ("sixty", 60.0),
    ("seventy", 70.0),
    ("eighty", 80.0),
    ("ninety", 90.0),
    ("hundred", 100.0),
    ("thousand", 1000.0),
    ("million", 1e6),
    ("half", 0.5),
    ("half", 2.0),
    ("halves", 2.0),
    ("quarter", 4.0),
    ("third", 1.0 / 3.0),
    ("twice", 2.0),
    ("double", 2.0),
    ("triple", 3.0),
    ("thrice", 3.0),
    ("third", 3.0),
    ("quarter", 0.25),
    ("dozen", 12.0),
    ("pair", 2.0),
];

/// How many entries of [`WORDS`] are cardinals.
const CARDINALS: usize = 30;

fn words_in(text: &str, table: &[(&str, f64)]) -> Vec<f64> {
    let lower = text.to_lowercase();
    let mut out: Vec<f64> = COMPOUND
        .captures_iter(&lower)
        .filter_map(|c| {
            let tens = TENS.iter().position(|t| *t == &c[1])? as f64 * 10.0 + 20.0;
            let unit = UNITS.iter().position(|u| *u == &c[2])? as f64 + 1.0;
            Some(tens + unit)
        })
        .collect();
    // the parts of a compound (`forty-two`) are not numbers of their own
    let rest = COMPOUND.replace_all(&lower, " ");
    for w in rest.split(|c: char| !c.is_alphabetic()) {
        let stem = w.strip_suffix('s').unwrap_or(w);
        out.extend(
            table
                .iter()
                .filter(|(k, _)| *k == w || *k == stem)
                .map(|(_, v)| *v),
        );
    }
    out
}

/// Numbers written as words in a question (`three`, `forty-two`, `twice`, `half` (0.5 and 2),
/// `a quarter` (0.25 and 4), `a dozen`, ...).
pub fn number_words(text: &str) -> Vec<f64> {
    words_in(text, WORDS)
}

/// Cardinal numbers written as words (`four`, `forty-two`, `a hundred`): what a step claims
/// in words. Ratio words (`half`, `twice`) are left out: they name an operation, not a
/// quantity the step introduces.
pub fn cardinal_words(text: &str) -> Vec<f64> {
    words_in(text, &WORDS[..CARDINALS])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_number_format() {
        assert_eq!(parse_number("1,000"), Some(1000.0));
        assert_eq!(parse_number("-3"), Some(-3.0));
        assert_eq!(parse_number("−3"), Some(-3.0));
        assert_eq!(parse_number("0.5"), Some(0.5));
        assert_eq!(parse_number(".5"), Some(0.5));
        assert_eq!(parse_number("1/2"), Some(0.5));
        assert_eq!(parse_number("$9,500"), Some(9500.0));
        assert_eq!(parse_number("\\$9,500.25"), Some(9500.25));
        assert_eq!(parse_number("12 ft"), Some(12.0));
        assert_eq!(parse_number("50%"), Some(50.0));
        assert_eq!(parse_number("\\boxed{18}"), Some(18.0));
        assert_eq!(parse_number("so \\boxed{\\frac{1}{2}} m"), Some(0.5));
        assert_eq!(parse_number("\\boxed{\\text{{1{,}250}}}"), Some(1250.0));
        assert_eq!(parse_number("#### 140"), Some(140.0));
        assert_eq!(parse_number("#### -7/2"), Some(-3.5));
        assert_eq!(parse_number("no number here"), None);
        // mixed numbers: whole part plus a proper fraction
        assert_eq!(parse_number("2 1/2 cups"), Some(2.5));
        assert_eq!(parse_number("#### 3 3/4"), Some(3.75));
        assert_eq!(parse_number("-1 1/4"), Some(-1.25));
        assert_eq!(parse_number("2 5/4"), Some(2.0)); // not a proper fraction: only the 2
        assert_eq!(parse_number("1/0"), Some(1.0)); // a zero denominator is not a fraction
    }

    #[test]
    fn boxed_with_nested_braces() {
        assert_eq!(boxed("x \\boxed{\\frac{3}{4}} y"), Some("\\frac{3}{4}"));
        assert_eq!(boxed("\\boxed{unclosed"), None);
        assert_eq!(boxed("none"), None);
    }

    #[test]
    fn literals_skip_hyphens_and_identifiers() {
        let l = literals("a 10-foot shark, x2, costs $1,250.50 or -4 (i.e. 25%)");
        let v: Vec<f64> = l.iter().map(|n| n.value).collect();
        assert_eq!(v, [10.0, 1250.5, -4.0, 25.0]);
        let d: Vec<f64> = literals("5-3 = 2").iter().map(|n| n.value).collect();
        assert_eq!(d, [5.0, 3.0, 2.0]);
        assert_eq!(l[1].decimals, 2);
        assert!(l[3].percent);
        assert!(!l[0].percent);
    }

    #[test]
    fn rounding_tolerance_only_for_written_decimals() {
        assert!(matches_rounded(10.0 / 3.0, 3.33, 2));
        assert!(!matches_rounded(10.0 / 3.0, 3.34, 2));
        assert!(!matches_rounded(10.0 / 3.0, 3.0, 0));
        assert!(matches_rounded(0.1 + 0.2, 0.3, 1));
    }

    #[test]
    fn number_words() {
        assert_eq!(
            super::number_words("Three dogs and twice as many cats, half a dozen eggs"),
            [3.0, 2.0, 0.5, 2.0, 12.0]
        );
        assert_eq!(super::number_words("he buys forty-two packs"), [42.0]);
        assert_eq!(
            super::cardinal_words("Four cats, twice as many dogs and forty-two fish"),
            [42.0, 4.0]
        );
    }
}
