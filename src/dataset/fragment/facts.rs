//! Atomic facts of biography claims (independent fragments; the biography judge's splitter,
//! `halt-llm fragment --kind facts`).
//!
//! A biography sentence such as `X was born on 30 August 1852 in Amsterdam, the Netherlands.`
//! states two facts, and one can be right while the other is wrong. As FActScore does, each
//! [`claims`] claim is split into the facts the ground truth can check; rule-based, from the
//! text alone (so the reference and an answer split the same way):
//!
//! - *topics*: a claim is about birth if it has `born`/`birth`, about the prize if it has
//!   `Nobel`/`prize`/`awarded`/`laureate`;
//! - *dates* ([`date_mentions`]: `30 August 1852`, `August 30, 1852`, `30th of August 1852`,
//!   `1852-08-30`, `August 1852`, `1852`), with a directly preceding `on`/`in` (`the`): the topic
//!   keyword nearest before the date in the same clause decides ([`FactKind::BirthDate`] or
//!   [`FactKind::PrizeYear`]; clauses end at ` and `, `;`, ` where `, ` before `, ` after ` and
//!   at a comma before `he`/`she`/`they`/`his`/`her`/`their`); a date after `died`/`death` is no
//!   fact; without such a keyword the claim's only topic decides, and in a claim about both a
//!   full date is the birth date and a bare year is [`FactKind::Year`] (birth or prize year). A
//!   lifespan in parentheses (`(1852–1911)`) is one birth-date fact;
//! - *places*, in the clause after `born`/`birth`: `in`/`at`/`near` followed by capitalised
//!   names separated by commas (a month name is a date, not a place), the preposition included
//!   (`in Amsterdam, the Netherlands`): one [`FactKind::BirthPlace`] fact per preposition;
//! - *categories*, in a prize claim: `Physics`, `Chemistry`, `Physiology or Medicine`,
//!   `Medicine`, `Literature`, `Peace`, `Economic Sciences`, `Economics`, with a directly
//!   preceding `in`/`for` (`the`);
//! - the *motivation*, in a prize claim: from the first `for` (not followed by a category or a
//!   number), `in (special) recognition (of)` or `because (of)` to the end of the claim, or to
//!   the next date (a year after the motivation is its own fact); a motivation that opens the
//!   claim before the prize keyword ends at its first comma.
//!
//! Overlapping candidates keep the earlier one. The text of a claim outside its facts (subject
//! and verb, `the Nobel Prize`, `was awarded to X`, separators, the final full stop) is *glue*:
//! it is no fragment, and alignment keeps it with the claim's kept facts
//! ([`halt_target`](crate::dataset::align::halt_target)).
//!
//! A claim with two or more facts gives one fragment per fact ([`facts`]); a claim with one fact
//! or none stays one fragment, the whole claim (as [`claims`] gives it).
//!
//! The pieces: `dates` (the written forms of a date), `rules` (the facts of one claim); this
//! module holds the fact types and splits a whole response.

mod dates;
mod rules;

pub use dates::{DateMention, date_mentions, is_month_name};
pub use rules::facts_in;

use super::claims::claims;
use crate::dataset::record::Span;

/// What a fact states (see the module docs for how each is found).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactKind {
    /// A date of birth (or the first date of a lifespan).
    BirthDate,
    /// The year of a prize.
    PrizeYear,
    /// A bare year in a claim about both birth and prize: either.
    Year,
    /// A birthplace (city, region, country).
    BirthPlace,
    /// A prize category.
    Category,
    /// What the prize was for.
    Motivation,
}

/// One fact of a claim: its span in the response and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The fact's text and byte offsets in the response.
    pub span: Span,
    /// What it states.
    pub kind: FactKind,
}

/// A claim (from [`claims`]) and the facts found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The claim's text and byte offsets in the response.
    pub span: Span,
    /// Its facts, in order, offsets into the response.
    pub facts: Vec<Fact>,
}

impl Claim {
    /// Whether the claim is split into its facts (two or more facts).
    pub fn is_split(&self) -> bool {
        self.facts.len() >= 2
    }

    /// The claim's fragments: its facts if it is split, else the claim whole.
    pub fn fragments(&self) -> Vec<Span> {
        if self.is_split() {
            self.facts.iter().map(|f| f.span.clone()).collect()
        } else {
            vec![self.span.clone()]
        }
    }
}

/// Every claim of `text` with its facts.
pub fn claims_with_facts(text: &str) -> Vec<Claim> {
    claims(text)
        .into_iter()
        .map(|claim| {
            let facts = facts_in(&claim.text)
                .into_iter()
                .map(|(r, kind)| Fact {
                    span: Span {
                        text: claim.text[r.clone()].to_string(),
                        start: claim.start + r.start,
                        end: claim.start + r.end,
                    },
                    kind,
                })
                .collect();
            Claim { span: claim, facts }
        })
        .collect()
}

/// The fragments of `text`: the facts of each claim with two or more, else the claim whole.
pub fn facts(text: &str) -> Vec<Span> {
    claims_with_facts(text)
        .iter()
        .flat_map(Claim::fragments)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_without_two_facts_stay_whole() {
        let t = "He studied chemistry in Delft. He won the Nobel Prize in 1901. He was born \
                 on 30 August 1852 in Rotterdam.";
        let f = facts(t);
        for s in &f {
            assert_eq!(&t[s.start..s.end], s.text);
        }
        let f: Vec<&str> = f.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            f,
            [
                "He studied chemistry in Delft.",
                "He won the Nobel Prize in 1901.",
                "on 30 August 1852",
                "in Rotterdam"
            ]
        );
        assert!(facts("").is_empty());
    }
}
