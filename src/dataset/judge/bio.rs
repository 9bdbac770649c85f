//! The biography judge (independent facts against structured facts; paper §"Judge", book "Fragments and judges").
//!
//! Answers are split with the facts splitter ([`Splitter::Facts`], module
//! [`fragment::facts`](mod@crate::dataset::fragment::facts)): each claim
//! into its atomic facts (birth date, birthplace, prize year, category, motivation; see that
//! module for how they are found), or whole when it states fewer than two. Each fact is checked
//! against [`BioTruth`] by its kind:
//! - *birth date* (`30 August 1852`, `August 30, 1852`, `1852-08-30`, `August 1852`, `1852`):
//!   must agree with the birth date in every part it states;
//! - *prize year*: a bare year that is a prize year (a full date is wrong: the truth has no prize
//!   dates); when the claim names categories that are the laureate's, the year must belong to a
//!   prize in one of them (a category that is not the laureate's is wrong on its own);
//! - *year* (bare, in a claim about both birth and prize): the birth year or a prize year;
//! - *birthplace* (`in Amsterdam, the Netherlands`): decided by its first, most specific name: it
//!   must name the birthplace or birth country (including the "(now ...)" country, a US city
//!   without its state code, and common aliases: USA/United States/America, United
//!   Kingdom/England/Britain/Scotland/Wales, the Netherlands/Holland). A wrong city with the
//!   right country after it is wrong (the city is the more specific fact);
//! - *category* (`physics`, `chemistry`, `physiology`/`medicine`, `literature`, `peace`,
//!   `economics`/`economic`): one of the laureate's categories, of a prize in a year the claim
//!   names if it names some of the laureate's prize years (a year that is none of them is wrong
//!   on its own: `Chemistry 1965` for the 1901 chemist has a right category and a wrong year); a
//!   category and a year of two different prizes of the laureate are both wrong (which one is
//!   cannot be told);
//! - *motivation* (`for ...`, `in recognition of ...`, `because ...`): if at least half (and at
//!   least two) of its content words (4+ letters, compared by their first 5 letters) occur in a
//!   motivation, it matches; otherwise it is undecided (paraphrases cannot be refuted by words).
//!
//! A whole claim (fewer than two facts) is wrong if a fact in it is, else correct if one is,
//! else undecided ([`check_claim`]). An undecided fragment is `null`; the LLM judge decides it if
//! one is configured (for a fact, it sees the fact and its claim).

use std::ops::Range;
use std::sync::Arc;

use super::llm::LlmJudge;
use super::{Judge, JudgeError, expect_domain};
use crate::dataset::domain::Domain;
use crate::dataset::example::Example;
use crate::dataset::fragment::Splitter;
pub use crate::dataset::fragment::facts::DateMention;
use crate::dataset::fragment::facts::{FactKind, claims_with_facts, date_mentions, facts_in};
use crate::dataset::record::Fragment;
use crate::dataset::truth::BioTruth;

/// Every date in `text`, in text order, each written form once (a full date is not also counted
/// as a year).
pub fn dates(text: &str) -> Vec<DateMention> {
    date_mentions(text).into_iter().map(|(_, d)| d).collect()
}

/// The birth date of the truth (`YYYY-MM-DD`).
fn birth(truth: &BioTruth) -> Option<DateMention> {
    dates(&truth.birth_date).into_iter().next()
}

fn agrees(said: &DateMention, truth: &DateMention) -> bool {
    said.year == truth.year
        && said.month.is_none_or(|m| Some(m) == truth.month)
        && said.day.is_none_or(|d| Some(d) == truth.day)
}

/// Names that denote the birthplace or birth country (lower case).
fn place_names(truth: &BioTruth) -> Vec<String> {
    let mut names = vec![truth.birth_place.to_lowercase()];
    // "New York NY" -> "new york"; "Prussia (now Poland)" -> "prussia", "poland"
    let place = truth.birth_place.trim();
    if let Some((city, state)) = place.rsplit_once(' ')
        && state.len() == 2
        && state.chars().all(|c| c.is_ascii_uppercase())
    {
        names.push(city.to_lowercase());
    }
    for part in [&truth.birth_place, &truth.birth_country] {
        for piece in part.split(['(', ')', ',']) {
            let p = piece
                .trim()
                .trim_start_matches("now ")
                .trim_start_matches("the ")
                .to_lowercase();
            if !p.is_empty() {
                names.push(p);
            }
        }
    }
    let aliases: &[&[&str]] = &[
        &[
            "usa",
            "united states",
            "united states of america",
            "us",
            "u.s.",
            "u.s.a.",
            "america",
        ],
        &[
            "united kingdom",
            "uk",
            "u.k.",
            "england",
            "britain",
            "great britain",
            "scotland",
            "wales",
            "northern ireland",
        ],
        &["netherlands", "holland"],
        &["russian empire", "russia"],
    ];
    let mut extra = Vec::new();
    for group in aliases {
        if names.iter().any(|n| group.contains(&n.as_str())) {
            extra.extend(group.iter().map(|s| s.to_string()));
        }
    }
    names.extend(extra);
    names
}

fn category_of(word: &str) -> Option<&'static str> {
    Some(match word {
        "physics" => "physics",
        "chemistry" => "chemistry",
        "medicine" | "physiology" => "medicine",
        "literature" => "literature",
        "peace" => "peace",
        "economics" | "economic" => "economics",
        _ => return None,
    })
}

fn content_words(s: &str) -> Vec<String> {
    const STOP: &[&str] = &[
        "their", "there", "which", "these", "those", "with", "from", "that", "this", "work",
        "works", "nobel", "prize", "awarded",
    ];
    s.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 4 && !STOP.contains(&w.as_str()))
        .map(|w| w.chars().take(5).collect())
        .collect()
}

fn first_date(text: &str) -> Option<DateMention> {
    date_mentions(text).into_iter().next().map(|(_, d)| d)
}

/// Whether the birthplace fact `text` (`in Amsterdam, the Netherlands`) names the birthplace or
/// country by its first name; `None` if it names nothing.
fn place_matches(truth: &BioTruth, text: &str) -> Option<bool> {
    let names = text
        .trim_start()
        .trim_start_matches(|c: char| c.is_alphabetic())
        .trim_start();
    let first = names
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .trim_start_matches("the ")
        .trim_end_matches('.')
        .to_lowercase();
    if first.is_empty() {
        return None;
    }
    let known = place_names(truth);
    Some(
        known
            .iter()
            .any(|k| *k == first || k.contains(first.as_str()) || first.contains(k.as_str())),
    )
}

fn category_in(text: &str) -> Option<&'static str> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphabetic())
        .find_map(category_of)
}

/// The verdict of each fact `facts` (ranges into `claim`, as from
/// [`facts_in`]) by the rules of the module docs:
/// `Some(false)` contradiction, `Some(true)` match, `None` undecided.
pub fn check_facts(
    truth: &BioTruth,
    claim: &str,
    facts: &[(Range<usize>, FactKind)],
) -> Vec<Option<bool>> {
    let birth_date = birth(truth);
    let prize_years: Vec<i32> = truth.prizes.iter().map(|p| p.year as i32).collect();
    let text = |r: &Range<usize>| claim.get(r.clone()).unwrap_or("");
    let cats: Vec<&str> = facts
        .iter()
        .filter(|(_, k)| *k == FactKind::Category)
        .filter_map(|(r, _)| category_in(text(r)))
        .collect();
    let cats_hers: Vec<&str> = cats
        .iter()
        .copied()
        .filter(|c| truth.prizes.iter().any(|p| p.category == *c))
        .collect();
    // the laureate's prize years the claim names (a wrong year is wrong on its own)
    let years: Vec<i32> = facts
        .iter()
        .filter(|(_, k)| matches!(k, FactKind::PrizeYear | FactKind::Year))
        .filter_map(|(r, _)| first_date(text(r)))
        .filter(|d| d.month.is_none() && prize_years.contains(&d.year))
        .map(|d| d.year)
        .collect();
    let is_birth = |d: &DateMention| birth_date.is_some_and(|b| agrees(d, &b));
    let prize_year = |d: &DateMention| {
        d.month.is_none()
            && truth.prizes.iter().any(|p| {
                p.year as i32 == d.year
                    && (cats_hers.is_empty() || cats_hers.contains(&p.category.as_str()))
            })
    };
    facts
        .iter()
        .map(|(r, kind)| match kind {
            FactKind::BirthDate => match (first_date(text(r)), birth_date) {
                (Some(d), Some(b)) => Some(agrees(&d, &b)),
                _ => None,
            },
            FactKind::PrizeYear => first_date(text(r)).map(|d| prize_year(&d)),
            FactKind::Year => {
                first_date(text(r)).map(|d| is_birth(&d) || prize_years.contains(&d.year))
            }
            FactKind::BirthPlace => place_matches(truth, text(r)),
            FactKind::Category => category_in(text(r)).map(|c| {
                truth.prizes.iter().any(|p| {
                    p.category == c && (years.is_empty() || years.contains(&(p.year as i32)))
                })
            }),
            FactKind::Motivation => {
                let words = content_words(text(r));
                let motivation: Vec<String> = truth
                    .prizes
                    .iter()
                    .flat_map(|p| content_words(&p.motivation))
                    .collect();
                let hits = words.iter().filter(|w| motivation.contains(w)).count();
                (hits >= 2 && hits * 2 >= words.len()).then_some(true)
            }
        })
        .collect()
}

/// Wrong if any verdict is, else correct if any is, else undecided.
fn combine(verdicts: &[Option<bool>]) -> Option<bool> {
    if verdicts.contains(&Some(false)) {
        Some(false)
    } else if verdicts.contains(&Some(true)) {
        Some(true)
    } else {
        None
    }
}

/// The verdict of one whole claim by the rules of the module docs: its facts combined
/// (`Some(false)` a contradiction, `Some(true)` a match, `None` undecided or no fact).
pub fn check_claim(truth: &BioTruth, claim: &str) -> Option<bool> {
    combine(&check_facts(truth, claim, &facts_in(claim)))
}

/// The biography judge; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct BioJudge {
    /// Decides the claims the rules leave undecided, if configured.
    pub llm: Option<Arc<LlmJudge>>,
}

impl Judge for BioJudge {
    fn domain(&self) -> Domain {
        Domain::Bio
    }

    fn splitter(&self) -> Splitter {
        Splitter::Facts
    }

    fn judge(&self, example: &Example, response: &str) -> Result<Vec<Fragment>, JudgeError> {
        expect_domain(example, Domain::Bio)?;
        let truth = example.bio().ok_or_else(|| JudgeError::BadTruth {
            id: example.id.clone(),
            message: "no bio truth".into(),
        })?;
        let facts = serde_json::to_string(truth).unwrap_or_default();
        let mut out = Vec::new();
        for claim in claims_with_facts(response) {
            let ranges: Vec<(Range<usize>, FactKind)> = claim
                .facts
                .iter()
                .map(|f| {
                    (
                        f.span.start - claim.span.start..f.span.end - claim.span.start,
                        f.kind,
                    )
                })
                .collect();
            let verdicts = check_facts(truth, &claim.span.text, &ranges);
            let judged: Vec<(String, Option<bool>)> = if claim.is_split() {
                claim
                    .facts
                    .iter()
                    .zip(verdicts)
                    .map(|(f, v)| {
                        let ask = format!(
                            "{}\n(Judge only this part of the sentence: \"{}\")",
                            claim.span.text, f.span.text
                        );
                        (ask, v)
                    })
                    .collect()
            } else {
                vec![(claim.span.text.clone(), combine(&verdicts))]
            };
            for (span, (ask, mut verdict)) in claim.fragments().into_iter().zip(judged) {
                if verdict.is_none()
                    && let Some(llm) = &self.llm
                {
                    verdict = llm.judge_claim(&example.prompt, &ask, &facts)?;
                }
                out.push(Fragment::new(span, verdict));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
#[path = "bio_tests.rs"]
mod tests;
