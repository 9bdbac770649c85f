//! Dates as biography claims write them (the dates of the facts splitter): `30 August 1852`,
//! `August 30, 1852`, `30th of August 1852`, `1852-08-30`, `August 1852` and a bare year
//! (1500–2099), each found once with its byte range ([`date_mentions`]); month names and
//! their abbreviations ([`is_month_name`]).

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

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
