//! Exact rational arithmetic for checking the maths ground truth independently of the Python
//! converter: numbers, `+ - * / // % **`, unary signs, parentheses, `int(x)` (toward zero),
//! `round(x)` / `round(x, n)` (half to even, like Python) and `ensure_int(x)` (x must be whole).

use std::cmp::Ordering;

/// An exact rational number `n / d`, `d > 0`, in lowest terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Q {
    n: i128,
    d: i128,
}

fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Q {
    fn new(n: i128, d: i128) -> Result<Q, String> {
        if d == 0 {
            return Err("division by zero".into());
        }
        let g = gcd(n, d).max(1) * d.signum();
        Ok(Q { n: n / g, d: d / g })
    }
    fn int(n: i128) -> Q {
        Q { n, d: 1 }
    }
    fn is_int(self) -> bool {
        self.d == 1
    }
    fn floor(self) -> i128 {
        self.n.div_euclid(self.d)
    }
    fn trunc(self) -> i128 {
        self.n / self.d
    }
    fn add(self, o: Q) -> Result<Q, String> {
        let n = mul(self.n, o.d)?
            .checked_add(mul(o.n, self.d)?)
            .ok_or("overflow")?;
        Q::new(n, mul(self.d, o.d)?)
    }
    fn neg(self) -> Q {
        Q {
            n: -self.n,
            d: self.d,
        }
    }
    fn sub(self, o: Q) -> Result<Q, String> {
        self.add(o.neg())
    }
    fn mul(self, o: Q) -> Result<Q, String> {
        Q::new(mul(self.n, o.n)?, mul(self.d, o.d)?)
    }
    fn div(self, o: Q) -> Result<Q, String> {
        Q::new(mul(self.n, o.d)?, mul(self.d, o.n)?)
    }
    /// Python's `round`: to the nearest integer, ties to even.
    fn round_half_even(self) -> Result<Q, String> {
        let f = self.floor();
        let rest = self.sub(Q::int(f))?;
        let up = match rest.n.checked_mul(2).ok_or("overflow")?.cmp(&rest.d) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => f.rem_euclid(2) == 1,
        };
        Ok(Q::int(if up { f + 1 } else { f }))
    }
}

fn mul(a: i128, b: i128) -> Result<i128, String> {
    a.checked_mul(b).ok_or_else(|| "overflow".to_string())
}

/// A plain number as written: `14`, `-2.5`, `.01` (Python's literal syntax).
pub fn number(text: &str) -> Result<Q, String> {
    let t = text.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let whole_ok = ok(whole) || (whole.is_empty() && digits.starts_with('.'));
    if !whole_ok || (digits.contains('.') && !ok(frac)) || frac.len() > 18 {
        return Err(format!("not a plain number: `{text}`"));
    }
    let scale = 10i128.pow(frac.len() as u32);
    let n = format!("{whole}{frac}")
        .parse::<i128>()
        .map_err(|e| e.to_string())?;
    Q::new(if neg { -n } else { n }, scale)
}

/// Evaluates an arithmetic expression exactly.
pub fn eval(expr: &str) -> Result<Q, String> {
    let mut p = Parser {
        s: expr.as_bytes(),
        i: 0,
    };
    let v = p.sum()?;
    p.skip_ws();
    if p.i != p.s.len() {
        return Err(format!("unexpected `{}` in `{expr}`", &expr[p.i..]));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    /// Consumes `tok` if it comes next (and, for `*` and `/`, is not the start of `**` / `//`).
    fn eat(&mut self, tok: &str) -> bool {
        self.skip_ws();
        let rest = &self.s[self.i..];
        let doubled =
            tok.len() == 1 && rest.len() > 1 && rest[1] == rest[0] && b"*/".contains(&rest[0]);
        if rest.starts_with(tok.as_bytes()) && !doubled {
            self.i += tok.len();
            true
        } else {
            false
        }
    }
    fn sum(&mut self) -> Result<Q, String> {
        let mut v = self.product()?;
        loop {
            if self.eat("+") {
                v = v.add(self.product()?)?;
            } else if self.eat("-") {
                v = v.sub(self.product()?)?;
            } else {
                return Ok(v);
            }
        }
    }
    fn product(&mut self) -> Result<Q, String> {
        let mut v = self.unary()?;
        loop {
            if self.eat("//") {
                v = Q::int(v.div(self.unary()?)?.floor());
            } else if self.eat("*") {
                v = v.mul(self.unary()?)?;
            } else if self.eat("/") {
                v = v.div(self.unary()?)?;
            } else if self.eat("%") {
                let m = self.unary()?;
                v = v.sub(m.mul(Q::int(v.div(m)?.floor()))?)?;
            } else {
                return Ok(v);
            }
        }
    }
    fn unary(&mut self) -> Result<Q, String> {
        if self.eat("-") {
            Ok(self.unary()?.neg())
        } else if self.eat("+") {
            self.unary()
        } else {
            self.power()
        }
    }
    fn power(&mut self) -> Result<Q, String> {
        let base = self.atom()?;
        if !self.eat("**") {
            return Ok(base);
        }
        let exp = self.unary()?;
        if !exp.is_int() || !(0..=64).contains(&exp.n) {
            return Err("only small non-negative integer powers".into());
        }
        (0..exp.n).try_fold(Q::int(1), |acc, _| acc.mul(base))
    }
    fn atom(&mut self) -> Result<Q, String> {
        self.skip_ws();
        let start = self.i;
        if self.eat("(") {
            let v = self.sum()?;
            return if self.eat(")") {
                Ok(v)
            } else {
                Err("missing `)`".into())
            };
        }
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || b"._".contains(&self.s[self.i]))
        {
            self.i += 1;
        }
        let word = std::str::from_utf8(&self.s[start..self.i]).unwrap();
        if word.is_empty() {
            return Err(format!("expected a number at byte {start}"));
        }
        if !word.as_bytes()[0].is_ascii_alphabetic() {
            return number(word);
        }
        if !self.eat("(") {
            return Err(format!("unknown name `{word}`"));
        }
        let mut args = vec![self.sum()?];
        while self.eat(",") {
            args.push(self.sum()?);
        }
        if !self.eat(")") {
            return Err("missing `)` after arguments".into());
        }
        match (word, args.as_slice()) {
            ("int", [x]) => Ok(Q::int(x.trunc())),
            ("round", [x]) => x.round_half_even(),
            ("round", [x, places]) if places.is_int() && (0..=18).contains(&places.n) => {
                let scale = Q::int(10i128.pow(places.n as u32));
                x.mul(scale)?.round_half_even()?.div(scale)
            }
            ("ensure_int", [x]) if x.is_int() => Ok(*x),
            ("ensure_int", [_]) => Err("ensure_int of a non-integer".into()),
            _ => Err(format!(
                "unsupported call `{word}` with {} arguments",
                args.len()
            )),
        }
    }
}

#[test]
fn arithmetic_follows_python() {
    let v = |e: &str| eval(e).unwrap_or_else(|err| panic!("{e}: {err}"));
    let q = |n, d| Q::new(n, d).unwrap();
    assert_eq!(v("42/3"), q(14, 1));
    assert_eq!(v("1/3*3"), q(1, 1));
    assert_eq!(v("0.1+0.2"), q(3, 10));
    assert_eq!(v("7//2"), q(3, 1));
    assert_eq!(v("-7//2"), q(-4, 1));
    assert_eq!(v("-7%3"), q(2, 1));
    assert_eq!(v("7.5%2"), q(3, 2));
    assert_eq!(v("2**3*2"), q(16, 1));
    assert_eq!(v("-2**2"), q(-4, 1));
    assert_eq!(v("(1 + 2) * 3"), q(9, 1));
    assert_eq!(v("int(-2.7)"), q(-2, 1));
    assert_eq!(v("round(2.5)"), q(2, 1));
    assert_eq!(v("round(3.5)"), q(4, 1));
    assert_eq!(v("round(2.675, 2)"), q(268, 100));
    assert_eq!(v("int((round(1.26, 2) + 0.5))"), q(1, 1));
    assert_eq!(v("ensure_int(10/4*2)"), q(5, 1));
    assert!(eval("ensure_int(5/2)").is_err());
    assert!(eval("1/0").is_err());
    assert!(eval("2 ** x").is_err());
    assert!(eval("3 4").is_err());
    assert_eq!(number("-2.50").unwrap(), q(-5, 2));
    assert_eq!(v("24*150*.01"), q(36, 1));
    assert!(number("1,000").is_err());
    assert!(number(".").is_err());
}
