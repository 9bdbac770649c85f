//! The rules that find the facts of one claim ([`facts_in`]): the claim's topics (birth,
//! prize, death) from keywords, then its dates, birthplaces, prize categories and prize
//! motivation, as the [facts module](super) documents them; overlapping candidates keep the
//! earlier one.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

use super::FactKind;
use super::dates::{date_mentions, is_month_name};

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

/// What a keyword of a claim is about.
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
}
