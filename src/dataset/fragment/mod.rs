//! Fragment splitters (paper §"Fragment"): a response becomes a list of [`Span`]s with byte
//! offsets into it.
//!
//! - [`claims`](mod@claims) (independent; medicine): sentences, then compound sentences split
//!   into atomic claims where the rule is safe;
//! - [`facts`](mod@facts) (independent; biographies): claims, then a claim stating two or more
//!   checkable facts (birth date, birthplace, prize year, category, motivation) split into one
//!   fragment per fact; the rest of such a claim (subject, verb, separators) is glue, no fragment;
//! - [`steps`](mod@steps) (dependent; maths): one reasoning step per fragment;
//! - [`lines`](mod@lines) (dependent; code): the code lines, inside the first fenced block if
//!   there is one.
//!
//! Each domain's judge names the splitter it uses
//! ([`Judge::splitter`](crate::dataset::judge::Judge::splitter)).
//!
//! Every span satisfies `text == &response[start..end]`, has no leading or trailing whitespace
//! (code lines keep their indentation), and spans are in order and do not overlap.

pub mod claims;
pub mod facts;
pub mod lines;
pub mod steps;

use std::fmt;
use std::str::FromStr;

pub use claims::{claims, sentences};
pub use facts::facts;
pub use lines::{code_region, code_text, lines};
pub use steps::steps;

use super::record::{FragmentKind, Span};

/// Which splitter to use (`halt-llm fragment --kind claims|facts|steps|lines`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Splitter {
    /// Atomic claims (independent fragments).
    Claims,
    /// Atomic facts of biography claims (independent fragments).
    Facts,
    /// Reasoning steps (dependent fragments).
    Steps,
    /// Code lines (dependent fragments).
    Lines,
}

impl Splitter {
    /// The splitter's name as used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Splitter::Claims => "claims",
            Splitter::Facts => "facts",
            Splitter::Steps => "steps",
            Splitter::Lines => "lines",
        }
    }

    /// The fragment kind this splitter produces.
    pub fn kind(self) -> FragmentKind {
        match self {
            Splitter::Claims | Splitter::Facts => FragmentKind::Independent,
            Splitter::Steps | Splitter::Lines => FragmentKind::Dependent,
        }
    }

    /// Splits `text` into fragments.
    pub fn split(self, text: &str) -> Vec<Span> {
        match self {
            Splitter::Claims => claims(text),
            Splitter::Facts => facts(text),
            Splitter::Steps => steps(text),
            Splitter::Lines => lines(text),
        }
    }
}

impl fmt::Display for Splitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown splitter name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fragment kind `{0}` (expected claims, facts, steps or lines)")]
pub struct UnknownSplitter(pub String);

impl FromStr for Splitter {
    type Err = UnknownSplitter;

    /// Parses `claims`, `facts`, `steps` or `lines`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "claims" => Ok(Splitter::Claims),
            "facts" => Ok(Splitter::Facts),
            "steps" => Ok(Splitter::Steps),
            "lines" => Ok(Splitter::Lines),
            _ => Err(UnknownSplitter(s.to_string())),
        }
    }
}

/// `halt-llm fragment`: the fragments of `text` as a JSON array `[{"text","start","end"}]`.
pub fn fragments_json(text: &str, splitter: Splitter) -> String {
    // serialising plain strings and integers cannot fail
    serde_json::to_string(&splitter.split(text)).unwrap_or_else(|_| "[]".into())
}

/// The span `text[start..end]` with surrounding whitespace removed; `None` if nothing is left.
/// `start..end` must lie on char boundaries.
pub(crate) fn trimmed(text: &str, start: usize, end: usize) -> Option<Span> {
    let slice = &text[start..end];
    let lead = slice.len() - slice.trim_start().len();
    let body = slice.trim();
    if body.is_empty() {
        return None;
    }
    Some(Span {
        text: body.to_string(),
        start: start + lead,
        end: start + lead + body.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_unknown_is_an_error() {
        for s in [
            Splitter::Claims,
            Splitter::Facts,
            Splitter::Steps,
            Splitter::Lines,
        ] {
            assert_eq!(s.as_str().parse::<Splitter>().unwrap(), s);
        }
        let err = "words".parse::<Splitter>().unwrap_err();
        assert!(err.to_string().contains("words"));
    }

    #[test]
    fn json_output_has_text_start_end() {
        let json = fragments_json("a = 1\n\nb = 2\n", Splitter::Lines);
        assert_eq!(
            json,
            r#"[{"text":"a = 1","start":0,"end":5},{"text":"b = 2","start":7,"end":12}]"#
        );
    }
}
