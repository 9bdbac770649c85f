//! The biography judge (independent claims against structured facts; `design.md` "Judges").
//!
//! Each claim (from the [`claims`] splitter) is checked against [`BioTruth`]:
//! - *dates* (`30 August 1852`, `August 30, 1852`, `30th of August 1852`, `1852-08-30`,
//!   `August 1852`, `1852`): in a claim about birth (`born`, `birth`) they must agree with the
//!   birth date in every part they state; in a claim about the prize (`Nobel`, `prize`,
//!   `awarded`, `laureate`) a year must be a prize year; in a claim about both, a bare year may
//!   be either. Dates in other claims (death, career) are not checked.
//! - *places*, in the clause after `born`: capitalised names after `in`/`at`/`near` and after
//!   commas. If any names the birthplace or birth country (including the "(now ...)" country,
//!   a US city without its state code, and common aliases: USA/United States/America,
//!   United Kingdom/England/Britain/Scotland/Wales, the Netherlands/Holland), the claim matches;
//!   if none does, it contradicts.
//! - *category*, in a prize claim: `physics`, `chemistry`, `physiology`/`medicine`,
//!   `literature`, `peace`, `economics`/`economic`: one of the laureate's categories matches,
//!   any other contradicts.
//! - *motivation*, in a prize claim with `for`/`recognition`/`because`: if at least half (and
//!   at least two) of its content words (4+ letters, compared by their first 5 letters) occur in
//!   a motivation, it matches; otherwise it is undecided (paraphrases cannot be refuted by words).
//!
//! A claim with any contradiction is wrong, else one with any match is correct, else it is
//! undecided (`null`): then the LLM judge decides if one is configured.

use std::sync::{Arc, LazyLock};

use regex::Regex;

use super::llm::LlmJudge;
use super::{Judge, JudgeError, expect_domain};
use crate::dataset::domain::Domain;
use crate::dataset::example::Example;
use crate::dataset::fragment::claims;
use crate::dataset::record::{Fragment, FragmentKind};
use crate::dataset::truth::BioTruth;

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

fn is_month_name(s: &str) -> bool {
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

/// Every date in `text`, each written form once (a full date is not also counted as a year).
pub fn dates(text: &str) -> Vec<DateMention> {
    let mut out = Vec::new();
    let mut used: Vec<std::ops::Range<usize>> = Vec::new();
    let mut take =
        |r: std::ops::Range<usize>, d: Option<DateMention>, out: &mut Vec<DateMention>| {
            if let Some(d) = d
                && !used.iter().any(|u| u.start < r.end && r.start < u.end)
            {
                used.push(r);
                out.push(d);
            }
        };
    let num = |s: &str| s.parse::<u32>().ok();
    for c in ISO.captures_iter(text) {
        let d = DateMention {
            year: c[1].parse().unwrap_or(0),
            month: num(&c[2]),
            day: num(&c[3]),
        };
        take(c.get(0).map_or(0..0, |m| m.range()), Some(d), &mut out);
    }
    for c in DMY.captures_iter(text) {
        let d = month(&c[2]).map(|m| DateMention {
            year: c[3].parse().unwrap_or(0),
            month: Some(m),
            day: num(&c[1]),
        });
        take(c.get(0).map_or(0..0, |m| m.range()), d, &mut out);
    }
    for c in MDY.captures_iter(text) {
        let d = month(&c[1]).map(|m| DateMention {
            year: c[3].parse().unwrap_or(0),
            month: Some(m),
            day: num(&c[2]),
        });
        take(c.get(0).map_or(0..0, |m| m.range()), d, &mut out);
    }
    for c in MY.captures_iter(text) {
        let d = month(&c[1]).map(|m| DateMention {
            year: c[2].parse().unwrap_or(0),
            month: Some(m),
            day: None,
        });
        take(c.get(0).map_or(0..0, |m| m.range()), d, &mut out);
    }
    for c in YEAR.captures_iter(text) {
        let d = DateMention {
            year: c[1].parse().unwrap_or(0),
            month: None,
            day: None,
        };
        take(c.get(0).map_or(0..0, |m| m.range()), Some(d), &mut out);
    }
    out
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

/// The verdict of one claim by the rules of the module docs: `Some(false)` contradiction,
/// `Some(true)` match, `None` undecided.
pub fn check_claim(truth: &BioTruth, claim: &str) -> Option<bool> {
    let lower = claim.to_lowercase();
    let is_birth = lower.contains("born") || lower.contains("birth");
    let is_prize = ["nobel", "prize", "awarded", "laureate"]
        .iter()
        .any(|k| lower.contains(k));
    let (mut matched, mut contradicted) = (false, false);
    let mut note = |ok: bool| {
        if ok {
            matched = true
        } else {
            contradicted = true
        }
    };
    let birth_date = birth(truth);
    let prize_years: Vec<i32> = truth.prizes.iter().map(|p| p.year as i32).collect();
    let mut years_said = Vec::new();
    for d in dates(claim) {
        if d.month.is_none() {
            years_said.push(d.year);
        }
        let is_birth_date = birth_date.is_some_and(|b| agrees(&d, &b));
        match (is_birth, is_prize) {
            (true, false) => note(is_birth_date),
            (false, true) => note(prize_years.contains(&d.year) && d.month.is_none()),
            (true, true) if d.month.is_some() => note(is_birth_date),
            (true, true) => note(is_birth_date || prize_years.contains(&d.year)),
            (false, false) => {}
        }
    }
    if is_birth && let Some(at) = lower.find("born").or_else(|| lower.find("birth")) {
        let clause_end = [" and ", ";", " where ", " before ", " after "]
            .iter()
            .filter_map(|s| lower[at..].find(s).map(|i| at + i))
            .min()
            .unwrap_or(claim.len());
        let known = place_names(truth);
        let mut said = Vec::new();
        for c in PLACE.captures_iter(&claim[at..clause_end]) {
            for name in c[1].split(',') {
                let n = name
                    .trim()
                    .trim_start_matches("the ")
                    .trim_end_matches('.')
                    .to_lowercase();
                if !n.is_empty() && !is_month_name(&n) && !YEAR.is_match(&n) {
                    said.push(n);
                }
            }
        }
        if !said.is_empty() {
            note(said.iter().any(|s| {
                known
                    .iter()
                    .any(|k| k == s || k.contains(s.as_str()) || s.contains(k.as_str()))
            }));
        }
    }
    if is_prize {
        let cats: Vec<&str> = lower
            .split(|c: char| !c.is_alphabetic())
            .filter_map(category_of)
            .collect();
        if !cats.is_empty() {
            // with a year, category and year must belong to the same prize
            note(truth.prizes.iter().any(|p| {
                cats.contains(&p.category.as_str())
                    && (years_said.is_empty() || years_said.contains(&(p.year as i32)))
            }));
        }
        if let Some(at) = ["for ", "recognition", "because"]
            .iter()
            .filter_map(|k| lower.find(k))
            .min()
        {
            let words = content_words(&claim[at..]);
            let motivation: Vec<String> = truth
                .prizes
                .iter()
                .flat_map(|p| content_words(&p.motivation))
                .collect();
            let hits = words.iter().filter(|w| motivation.contains(w)).count();
            if hits >= 2 && hits * 2 >= words.len() {
                matched = true;
            }
        }
    }
    if contradicted {
        Some(false)
    } else if matched {
        Some(true)
    } else {
        None
    }
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

    fn kind(&self) -> FragmentKind {
        FragmentKind::Independent
    }

    fn judge(&self, example: &Example, response: &str) -> Result<Vec<Fragment>, JudgeError> {
        expect_domain(example, Domain::Bio)?;
        let truth = example.bio().ok_or_else(|| JudgeError::BadTruth {
            id: example.id.clone(),
            message: "no bio truth".into(),
        })?;
        let facts = serde_json::to_string(truth).unwrap_or_default();
        claims(response)
            .into_iter()
            .map(|span| {
                let mut verdict = check_claim(truth, &span.text);
                if verdict.is_none()
                    && let Some(llm) = &self.llm
                {
                    verdict = llm.judge_claim(&example.prompt, &span.text, &facts)?;
                }
                Ok(Fragment::new(span, verdict))
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "bio_tests.rs"]
mod tests;
