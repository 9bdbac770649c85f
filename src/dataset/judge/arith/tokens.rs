//! The tokens of a maths step for the equation checker: LaTeX rewritten as plain arithmetic,
//! numbers (thousands separators, decimals, `%`), operators and operator words, and unit words
//! after a number dropped ([`tokens`]); the word lists that decide what is a unit and what
//! carries arithmetic.

/// Words that change the arithmetic of the expression after them (the equation is skipped).
pub(super) const ARITH_WORDS: &[&str] = &[
    "of",
    "half",
    "twice",
    "double",
    "doubled",
    "triple",
    "tripled",
    "thrice",
    "quarter",
    "third",
    "fourth",
    "fifth",
    "percent",
    "by",
    "over",
    "divided",
    "multiplied",
    "squared",
    "cubed",
    "sqrt",
    "less",
    "more",
    "average",
    "per",
    "product",
    "difference",
    "quotient",
];

/// Words that are never units (they join clauses), so they end an expression.
const NOT_UNITS: &[&str] = &[
    "and", "or", "so", "then", "which", "is", "are", "was", "were", "to", "for", "in", "on", "at",
    "the", "a", "an", "if", "but", "because", "since", "that", "this", "we", "he", "she", "they",
];

#[derive(Debug, Clone, PartialEq)]
/// A token of a step: a number (with its written decimals and a `%`), an operator, a
/// parenthesis, `=`, a word, or anything else (which ends an expression).
pub(super) enum Tok {
    Num {
        value: f64,
        decimals: u32,
        percent: bool,
    },
    Op(char),
    Open,
    Close,
    Eq,
    Word(String),
    Other,
}

/// The tokens of `step`, LaTeX rewritten and units dropped: what [`super::equations`] splits into
/// runs at `=` and evaluates.
pub(super) fn tokens(step: &str) -> Vec<Tok> {
    drop_units(tokenize(&normalise_latex(step)))
}

/// Rewrites the LaTeX of `s` as plain arithmetic (`\times` → `*`, `\frac{a}{b}` →
/// `(a)/(b)`, …); braces left over become spaces.
fn normalise_latex(s: &str) -> String {
    let mut s = s
        .replace("\\times", "*")
        .replace("\\cdot", "*")
        .replace("\\div", "/")
        .replace("\\left", "")
        .replace("\\right", "")
        .replace("\\$", "$")
        .replace("\\%", "%");
    while let Some(at) = s.find("\\frac{").or_else(|| s.find("\\dfrac{")) {
        let open = at + s[at..].find('{').unwrap_or(0);
        s.replace_range(at..open, "");
        let rewritten = s[at..]
            .replacen('{', "(", 1)
            .replacen("}{", ")/(", 1)
            .replacen('}', ")", 1);
        s.replace_range(at.., &rewritten);
    }
    s.replace(['{', '}'], " ")
}

/// The tokens of `s` (numbers with thousands separators and `%`, operator words such as `times`
/// and `plus`, currency signs dropped).
fn tokenize(s: &str) -> Vec<Tok> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let mut text = String::new();
            while i < chars.len() {
                let d = chars[i];
                let group = d == ','
                    && (1..=3).all(|k| chars.get(i + k).is_some_and(|x| x.is_ascii_digit()))
                    && !chars.get(i + 4).is_some_and(|x| x.is_ascii_digit());
                let point = d == '.' && chars.get(i + 1).is_some_and(|x| x.is_ascii_digit());
                if d.is_ascii_digit() || point {
                    text.push(d);
                } else if !group {
                    break;
                }
                i += 1;
            }
            let mut j = i;
            while chars.get(j) == Some(&' ') {
                j += 1;
            }
            let percent = chars.get(j) == Some(&'%');
            if percent {
                i = j + 1;
            }
            let decimals = text.split('.').nth(1).map_or(0, |d| d.len() as u32);
            match text.parse() {
                Ok(value) => out.push(Tok::Num {
                    value,
                    decimals,
                    percent,
                }),
                Err(_) => out.push(Tok::Other),
            }
            continue;
        }
        if c.is_alphabetic() {
            let start = i;
            while i < chars.len() && (chars[i].is_alphabetic() || chars[i] == '\'') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect::<String>().to_lowercase();
            let mut j = i;
            while chars.get(j) == Some(&' ') {
                j += 1;
            }
            let operand_follows = chars
                .get(j)
                .is_some_and(|d| d.is_ascii_digit() || *d == '(' || *d == '$');
            out.push(match word.as_str() {
                "x" | "times" if operand_follows => Tok::Op('*'),
                "plus" => Tok::Op('+'),
                "minus" => Tok::Op('-'),
                "equals" => Tok::Eq,
                _ => Tok::Word(word),
            });
            continue;
        }
        out.push(match c {
            '+' => Tok::Op('+'),
            '-' | '−' => Tok::Op('-'),
            '*' | '×' | '·' | '∗' => Tok::Op('*'),
            '/' | '÷' => Tok::Op('/'),
            '(' => Tok::Open,
            ')' => Tok::Close,
            '=' => Tok::Eq,
            '$' | '€' | '£' => {
                i += 1;
                continue;
            }
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            _ => Tok::Other,
        });
        i += 1;
    }
    out
}

/// Drops unit words after numbers (and their `/word`, `per word` parts).
fn drop_units(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let after_value = matches!(out.last(), Some(Tok::Num { .. } | Tok::Close));
        if let Tok::Word(w) = &toks[i]
            && after_value
            && !ARITH_WORDS.contains(&w.as_str())
            && !NOT_UNITS.contains(&w.as_str())
        {
            i += 1;
            loop {
                match (toks.get(i), toks.get(i + 1)) {
                    (Some(Tok::Op('/')), Some(Tok::Word(_))) => i += 2,
                    (Some(Tok::Word(p)), Some(Tok::Word(_))) if p == "per" => i += 2,
                    _ => break,
                }
            }
            continue;
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}
