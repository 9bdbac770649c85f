//! Evaluation of one side of an equation: a recursive-descent parser over the tokens
//! (`+ -` below `* /`, unary signs, parentheses); a side that is not one complete expression,
//! or divides by zero, has no value.

use super::tokens::Tok;

/// Evaluates a complete expression (`None` if it is not one, or divides by zero).
pub(super) fn eval(toks: &[Tok], percent_scales: bool) -> Option<f64> {
    let mut p = Parser {
        toks,
        at: 0,
        percent_scales,
    };
    let v = p.expr()?;
    (p.at == toks.len() && v.is_finite()).then_some(v)
}

/// The parser's state: the tokens and the position reached.
struct Parser<'a> {
    toks: &'a [Tok],
    at: usize,
    percent_scales: bool,
}

impl Parser<'_> {
    fn expr(&mut self) -> Option<f64> {
        let mut v = self.term()?;
        while let Some(Tok::Op(op @ ('+' | '-'))) = self.toks.get(self.at) {
            self.at += 1;
            let r = self.term()?;
            v = if *op == '+' { v + r } else { v - r };
        }
        Some(v)
    }

    fn term(&mut self) -> Option<f64> {
        let mut v = self.factor()?;
        while let Some(Tok::Op(op @ ('*' | '/'))) = self.toks.get(self.at) {
            self.at += 1;
            let r = self.factor()?;
            if *op == '/' && r == 0.0 {
                return None;
            }
            v = if *op == '*' { v * r } else { v / r };
        }
        Some(v)
    }

    fn factor(&mut self) -> Option<f64> {
        let t = self.toks.get(self.at)?;
        self.at += 1;
        match t {
            Tok::Op('-') => self.factor().map(|v| -v),
            Tok::Op('+') => self.factor(),
            Tok::Num { value, percent, .. } => Some(if *percent && self.percent_scales {
                value / 100.0
            } else {
                *value
            }),
            Tok::Open => {
                let v = self.expr()?;
                (self.toks.get(self.at) == Some(&Tok::Close)).then(|| {
                    self.at += 1;
                    v
                })
            }
            _ => None,
        }
    }
}
