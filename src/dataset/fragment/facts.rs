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

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::claims::claims;
use crate::dataset::record::Span;

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const M: &str = r"(January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?";

static ISO: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(\d{4})-(\d{2})-(\d{2})\b").unwrap());
static DMY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{M},?\s+(\d{{4}})\b"
    ))
    .unwrap()
});
static MDY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b{M}\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})\b"
    ))
    .unwrap()
});
static MY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"\b{M},?\s+(\d{{4}})\b")).unwrap());
static YEAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b(1[5-9]\d\d|20\d\d)\b").unwrap());
static PLACE: LazyLock<Regex> = LazyLock::new(|| {
    let name = r"(?:the\s+)?\p{Lu}[\p{L}'.\-]*(?:\s+(?:of\s+)?\p{Lu}[\p{L}'.\-]*)*";
    Regex::new(&format!(r"\b(?:in|at|near)\s+({name}(?:,\s*{name})*)")).unwrap()
});
static BIRTH_KW: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\b(?:born|birth)").unwrap());
static PRIZE_KW: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:nobel|prize|awarded|laureate)").unwrap());
static DEATH_KW: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:died|death|passed away)\b").unwrap());
static CLAUSE_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i) and |;| where | before | after |, (?:he|she|they|his|her|their)\b").unwrap()
});
static DATE_PREP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:on|in)\s+(?:the\s+)?$").unwrap());
static DASH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*[-–—]\s*$").unwrap());
const CATEGORIES: &str = r"physiology\s+or\s+medicine|economic\s+sciences|physics|chemistry|physiology|medicine|literature|peace|economics|economic";
static CATEGORY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)\b(?:{CATEGORIES})\b")).unwrap());
static CATEGORY_PREP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:in|for)\s+(?:the\s+)?$").unwrap());
static MOTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:in\s+(?:[a-z]+\s+)?recognition(?:\s+of)?|because(?:\s+of)?|for)\b")
        .unwrap()
});
static NOT_A_MOTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?i)^\s+(?:(?:the\s+)?(?:{CATEGORIES})\b|\d)")).unwrap()
});

/// A date as written in a claim: year, and month / day where stated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateMention {
    /// The year.
    pub year: i32,
    /// The month (1-12), if stated.
    pub month: Option<u32>,
    /// The day of the month, if stated.
    pub day: Option<u32>,
}

fn month(name: &str) -> Option<u32> {
    let l = name.to_lowercase();
    MONTHS
        .iter()
        .position(|m| l.starts_with(m))
        .map(|i| i as u32 + 1)
}

/// Whether `s` (lower case) is a month name or abbreviation.
pub fn is_month_name(s: &str) -> bool {
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    FULL.contains(&s) || MONTHS.contains(&s) || s == "sept"
}

/// Every date in `text` with its byte range, in text order; each written form once (a full date
/// is not also counted as a year).
pub fn date_mentions(text: &str) -> Vec<(Range<usize>, DateMention)> {
    let mut out: Vec<(Range<usize>, DateMention)> = Vec::new();
    let mut take = |r: Range<usize>, d: Option<DateMention>| {
        if let Some(d) = d
            && !out.iter().any(|(u, _)| u.start < r.end && r.start < u.end)
        {
            out.push((r, d));
        }
    };
    let num = |s: &str| s.parse::<u32>().ok();
    let whole = |c: &regex::Captures| c.get(0).map_or(0..0, |m| m.range());
    for c in ISO.captures_iter(text) {
        let d = DateMention {
            year: c[1].parse().unwrap_or(0),
            month: num(&c[2]),
            day: num(&c[3]),
        };
        take(whole(&c), Some(d));
    }
    for c in DMY.captures_iter(text) {
        let d = month(&c[2]).map(|m| DateMention {
            year: c[3].parse().unwrap_or(0),
            month: Some(m),
            day: num(&c[1]),
        });
        take(whole(&c), d);
    }
    for c in MDY.captures_iter(text) {
        let d = month(&c[1]).map(|m| DateMention {
            year: c[3].parse().unwrap_or(0),
            month: Some(m),
            day: num(&c[2]),
        });
        take(whole(&c), d);
    }
    for c in MY.captures_iter(text) {
        let d = month(&c[1]).map(|m| DateMention {
            year: c[2].parse().unwrap_or(0),
            month: Some(m),
            day: None,
        });
        take(whole(&c), d);
    }
    for c in YEAR.captures_iter(text) {
        let d = DateMention {
            year: c[1].parse().unwrap_or(0),
            month: None,
            day: None,
        };
        take(whole(&c), Some(d));
    }
    out.sort_by_key(|(r, _)| r.start);
    out
}

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Topic {
    Birth,
    Prize,
    Death,
}

/// The facts of one claim `claim` (byte ranges into it), in order, not overlapping.
pub fn facts_in(claim: &str) -> Vec<(Range<usize>, FactKind)> {
    let mut keywords: Vec<(Range<usize>, Topic)> = Vec::new();
    for (re, topic) in [
        (&*BIRTH_KW, Topic::Birth),
        (&*PRIZE_KW, Topic::Prize),
        (&*DEATH_KW, Topic::Death),
    ] {
        keywords.extend(re.find_iter(claim).map(|m| (m.range(), topic)));
    }
    keywords.sort_by_key(|(r, _)| r.start);
    let about = |t: Topic| keywords.iter().any(|(_, k)| *k == t);
    let (birth, prize) = (about(Topic::Birth), about(Topic::Prize));
    let mut out: Vec<(Range<usize>, FactKind)> = Vec::new();

    // dates
    let dates = date_mentions(claim);
    let with_prep = |start: usize| DATE_PREP.find(&claim[..start]).map_or(start, |m| m.start());
    let mut i = 0;
    while i < dates.len() {
        let (r, d) = &dates[i];
        if let Some((r2, _)) = dates.get(i + 1)
            && DASH.is_match(&claim[r.end..r2.start])
            && claim[..r.start].trim_end().ends_with('(')
            && claim[r2.end..].trim_start().starts_with(')')
        {
            out.push((r.start..r2.end, FactKind::BirthDate));
            i += 2;
            continue;
        }
        i += 1;
        let before = keywords.iter().rev().find(|(k, _)| k.end <= r.start);
        let topic = match before {
            Some((_, Topic::Death)) => continue,
            Some((k, t)) if !CLAUSE_END.is_match(&claim[k.end..r.start]) => Some(*t),
            _ => None,
        };
        let kind = match (topic, birth, prize) {
            (Some(Topic::Birth), ..) | (None, true, false) => FactKind::BirthDate,
            (Some(Topic::Prize), ..) | (None, false, true) => FactKind::PrizeYear,
            (None, true, true) if d.month.is_some() => FactKind::BirthDate,
            (None, true, true) => FactKind::Year,
            _ => continue,
        };
        out.push((with_prep(r.start)..r.end, kind));
    }

    // places, in the clause after "born"
    if let Some((k, _)) = keywords.iter().find(|(_, t)| *t == Topic::Birth) {
        let at = k.start;
        let clause_end = CLAUSE_END
            .find(&claim[at..])
            .map_or(claim.len(), |m| at + m.start());
        for c in PLACE.captures_iter(&claim[at..clause_end]) {
            let (Some(all), Some(names)) = (c.get(0), c.get(1)) else {
                continue;
            };
            let first = names.as_str().split(',').next().unwrap_or("");
            let first = first.trim().trim_start_matches("the ").to_lowercase();
            if is_month_name(first.trim_end_matches('.')) {
                continue;
            }
            let body = names.as_str().trim_end_matches(['.', ',', ' ']);
            out.push((
                at + all.start()..at + names.start() + body.len(),
                FactKind::BirthPlace,
            ));
        }
    }

    // categories and motivation, in a prize claim
    if prize {
        let first_prize = keywords
            .iter()
            .find(|(_, t)| *t == Topic::Prize)
            .map_or(0, |(r, _)| r.start);
        let motive = MOTIVE
            .find_iter(claim)
            .find(|m| !NOT_A_MOTIVE.is_match(&claim[m.end()..]));
        let motive_start = motive.as_ref().map_or(claim.len(), |m| m.start());
        for m in CATEGORY.find_iter(claim) {
            if m.start() >= motive_start {
                break;
            }
            let start = CATEGORY_PREP
                .find(&claim[..m.start()])
                .map_or(m.start(), |p| p.start());
            out.push((start..m.end(), FactKind::Category));
        }
        if let Some(m) = motive {
            let mut end = claim.len();
            if m.start() < first_prize {
                end = claim[m.end()..].find(',').map_or(end, |i| m.end() + i);
            }
            if let Some((r, _)) = out
                .iter()
                .filter(|(r, k)| r.start >= m.end() && *k != FactKind::BirthPlace)
                .min_by_key(|(r, _)| r.start)
            {
                end = end.min(r.start);
            }
            let body = claim[m.start()..end].trim_end_matches(|c: char| {
                c.is_whitespace() || matches!(c, ',' | ';' | ':' | '.' | '!' | '?')
            });
            if body.len() > m.len() {
                out.push((m.start()..m.start() + body.len(), FactKind::Motivation));
            }
        }
    }

    out.sort_by_key(|(r, _)| r.start);
    let mut kept: Vec<(Range<usize>, FactKind)> = Vec::new();
    for (r, k) in out {
        if kept.last().is_none_or(|(p, _)| p.end <= r.start) && r.start < r.end {
            kept.push((r, k));
        }
    }
    kept
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

    fn texts(text: &str) -> Vec<(String, FactKind)> {
        facts_in(text)
            .into_iter()
            .map(|(r, k)| (text[r].to_string(), k))
            .collect()
    }

    fn fact(s: &str, k: FactKind) -> (String, FactKind) {
        (s.to_string(), k)
    }

    use FactKind::*;

    #[test]
    fn a_birth_sentence_has_a_date_and_a_place() {
        assert_eq!(
            texts("X was born on 30 August 1852 in Amsterdam, the Netherlands."),
            [
                fact("on 30 August 1852", BirthDate),
                fact("in Amsterdam, the Netherlands", BirthPlace)
            ]
        );
        assert_eq!(
            texts("Born in Rotterdam, Netherlands, on August 30, 1852, he studied in Delft."),
            [
                fact("in Rotterdam, Netherlands", BirthPlace),
                fact("on August 30, 1852", BirthDate)
            ]
        );
        assert_eq!(
            texts("He was born in August 1852 and died in 1911 in Berlin."),
            [fact("in August 1852", BirthDate)]
        );
    }

    #[test]
    fn a_prize_sentence_has_category_year_and_motivation() {
        assert_eq!(
            texts(
                "He received the Nobel Prize in Physics in 1901 for his work on osmotic pressure."
            ),
            [
                fact("in Physics", Category),
                fact("in 1901", PrizeYear),
                fact("for his work on osmotic pressure", Motivation)
            ]
        );
        assert_eq!(
            texts("The Nobel Peace Prize 1901 was awarded jointly to A and B."),
            [fact("Peace", Category), fact("1901", PrizeYear)]
        );
        assert_eq!(
            texts("He won the Nobel Prize for Chemistry for his work on dynamics in 1901."),
            [
                fact("for Chemistry", Category),
                fact("for his work on dynamics", Motivation),
                fact("in 1901", PrizeYear)
            ]
        );
        assert_eq!(
            texts("In 1901, he received the Nobel Prize in Physiology or Medicine."),
            [
                fact("In 1901", PrizeYear),
                fact("in Physiology or Medicine", Category)
            ]
        );
    }

    #[test]
    fn birth_and_prize_in_one_claim() {
        assert_eq!(
            texts("Born in 1852, he won the Nobel Prize in 1901."),
            [fact("in 1852", BirthDate), fact("in 1901", PrizeYear)]
        );
        assert_eq!(
            texts("Van 't Hoff (1852–1911) won the Nobel Prize in Chemistry."),
            [fact("1852–1911", BirthDate), fact("in Chemistry", Category)]
        );
    }

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
