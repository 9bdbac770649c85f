//! Reference-free fragment labels: a fragment's confidence is its **support**, the number of the
//! other N−1 samples of the same prompt that contain it (the idea of SelfCheckGPT, Manakul et
//! al., arXiv 2303.08896: what a model reproduces across independent samples is more likely
//! right than what it says once). HALT (arXiv 2506.04051 §3) labels fragments against ground
//! truth; these labels need none.
//!
//! What "contains it" means, per domain ([`Evidence`]):
//! - maths steps: the quantity the step computes — the number after its last `=`, else its last
//!   number (`#### 22` → 22) — is a quantity some step of the other sample computes (numbers
//!   compared as values: `1,000` = `1000.0`); a step without a number has no evidence;
//! - claims (biographies, medicine): every normalised fact of the claim (its numbers and its
//!   capitalised words, lower-cased; a sentence's first word is skipped) occurs in the other
//!   sample's text; a claim without such facts has no evidence;
//! - code lines: the line with its whitespace removed is a line of the other sample; blank
//!   lines and lines of brackets or punctuation only have no evidence.
//!
//! A fragment with support of at least `min_support` is labelled correct, the rest wrong; one
//! without evidence is left undecided (`None`, counted as the run's null policy says). For
//! dependent fragments (steps, lines) everything after the first wrong fragment is wrong, as
//! with the ground-truth judge. Its limit: a model that is consistently wrong gets consistent
//! support.

use std::collections::HashSet;

use crate::dataset::judge::numbers::literals;

/// How a fragment is found in another sample (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// Maths steps: the quantity each step computes.
    Quantity,
    /// Claims: the facts (numbers, names) each claim states.
    Facts,
    /// Code: the line itself, whitespace removed.
    Line,
}

/// The default `min_support` for N = 5 samples: a fragment at least two of the four other
/// samples reproduce (a majority of the five says it).
pub const DEFAULT_MIN_SUPPORT: usize = 2;

/// Checks that `min_support` can label anything both ways with `samples` samples per prompt: at
/// least 1 (0 labels every fragment correct) and at most `samples − 1` (support counts the
/// other samples, so a larger threshold labels every fragment wrong).
///
/// # Errors
/// A threshold outside `1..=samples − 1`, with the reason.
pub fn check_min_support(min_support: usize, samples: usize) -> anyhow::Result<()> {
    if min_support == 0 {
        anyhow::bail!("min_support 0 would label every fragment correct: use at least 1");
    }
    if min_support + 1 > samples {
        anyhow::bail!(
            "min_support {min_support} can never be met with {samples} sample(s) per prompt \
             (support counts the other {} sample(s)): use at most {}, or sample more",
            samples.saturating_sub(1),
            samples.saturating_sub(1)
        );
    }
    Ok(())
}

/// What identifies a fragment when looking for it in another sample.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    /// A computed value.
    Quantity(f64),
    /// Lower-cased facts that must all occur.
    Facts(Vec<String>),
    /// A normalised code line.
    Line(String),
}

/// The quantity a maths step computes: the first number after its last `=`, else its last
/// number. `None` for a step without a number.
pub fn computed_quantity(step: &str) -> Option<f64> {
    match step.rfind('=') {
        Some(i) => literals(&step[i + 1..]).first().map(|n| n.value),
        None => None,
    }
    .or_else(|| literals(step).last().map(|n| n.value))
}

/// The facts of a claim: its numbers and capitalised words (not the first word), lower-cased.
pub fn claim_facts(claim: &str) -> Vec<String> {
    let mut facts: Vec<String> = literals(claim)
        .iter()
        .map(|n| format!("{}", n.value))
        .collect();
    for (i, word) in claim.split_whitespace().enumerate() {
        let w = word.trim_matches(|c: char| !c.is_alphanumeric());
        if i > 0 && w.chars().next().is_some_and(char::is_uppercase) {
            facts.push(w.to_lowercase());
        }
    }
    facts.sort();
    facts.dedup();
    facts
}

/// A code line without whitespace; `None` when nothing but brackets and punctuation is left.
pub fn line_key(line: &str) -> Option<String> {
    let key: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    key.chars().any(char::is_alphanumeric).then_some(key)
}

fn key(evidence: Evidence, fragment: &str) -> Option<Key> {
    match evidence {
        Evidence::Quantity => computed_quantity(fragment).map(Key::Quantity),
        Evidence::Facts => Some(claim_facts(fragment))
            .filter(|f| !f.is_empty())
            .map(Key::Facts),
        Evidence::Line => line_key(fragment).map(Key::Line),
    }
}

/// What one sample offers as evidence: its computed quantities, its words and numbers, or
/// its lines.
struct Offer {
    quantities: Vec<f64>,
    words: HashSet<String>,
    lines: HashSet<String>,
}

fn offer(fragments: &[&str]) -> Offer {
    let mut words = HashSet::new();
    for f in fragments {
        words.extend(literals(f).iter().map(|n| format!("{}", n.value)));
        words.extend(f.split_whitespace().map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        }));
    }
    Offer {
        quantities: fragments
            .iter()
            .filter_map(|f| computed_quantity(f))
            .collect(),
        words,
        lines: fragments.iter().filter_map(|f| line_key(f)).collect(),
    }
}

fn found(key: &Key, offer: &Offer) -> bool {
    match key {
        Key::Quantity(v) => offer
            .quantities
            .iter()
            .any(|&q| crate::dataset::judge::numbers::same(q, *v)),
        Key::Facts(facts) => facts.iter().all(|f| offer.words.contains(f)),
        Key::Line(line) => offer.lines.contains(line),
    }
}

/// The support of every fragment of every sample of one prompt: how many of the other samples
/// contain it (`None`: the fragment has no evidence to look for). `samples[i][k]` is the text
/// of fragment k of sample i; the result has the same shape.
pub fn supports(evidence: Evidence, samples: &[Vec<&str>]) -> Vec<Vec<Option<usize>>> {
    let offers: Vec<Offer> = samples.iter().map(|s| offer(s)).collect();
    samples
        .iter()
        .enumerate()
        .map(|(i, fragments)| {
            fragments
                .iter()
                .map(|f| {
                    let k = key(evidence, f)?;
                    Some(
                        offers
                            .iter()
                            .enumerate()
                            .filter(|&(j, o)| j != i && found(&k, o))
                            .count(),
                    )
                })
                .collect()
        })
        .collect()
}

/// Labels from supports: correct at `min_support` or more, wrong below, undecided without
/// evidence; with `dependent`, every fragment after the first wrong one is wrong too.
pub fn labels(
    supports: &[Option<usize>],
    min_support: usize,
    dependent: bool,
) -> Vec<Option<bool>> {
    let mut wrong_before = false;
    supports
        .iter()
        .map(|s| {
            if dependent && wrong_before {
                return Some(false);
            }
            let label = s.map(|n| n >= min_support);
            wrong_before |= label == Some(false);
            label
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_facts_and_lines_by_hand() {
        assert_eq!(
            computed_quantity("Lena has 13 + 9 = 22 marbles."),
            Some(22.0)
        );
        assert_eq!(computed_quantity("#### 1,000"), Some(1000.0));
        assert_eq!(computed_quantity("She gives away 9 of her 13"), Some(13.0));
        assert_eq!(computed_quantity("So she has fewer now."), None);
        assert_eq!(
            claim_facts("He was born in Ulm, Germany in 1879."),
            ["1879", "germany", "ulm"]
        );
        assert!(claim_facts("He liked music.").is_empty());
        assert_eq!(line_key("    return a + b"), Some("returna+b".into()));
        assert_eq!(line_key("    })"), None);
    }

    #[test]
    fn supports_of_five_hand_made_maths_samples() {
        // Quantities computed: s0 {22, 22}, s1 {117, 117}, s2 {22, 20}, s3 {22, 22}, s4 none.
        let samples = [
            vec!["13 + 9 = 22", "#### 22"],
            vec!["13 * 9 = 117", "#### 117"],
            vec!["13 + 9 = 22", "22 - 2 = 20"],
            vec!["She has 22 now.", "#### 22"],
            vec!["I am not sure."],
        ];
        let s: Vec<Vec<&str>> = samples.iter().map(|v| v.to_vec()).collect();
        let got = supports(Evidence::Quantity, &s);
        // 22 is computed by s0, s2, s3: each 22-step has the two other samples as support
        assert_eq!(got[0], [Some(2), Some(2)]);
        assert_eq!(got[1], [Some(0), Some(0)]);
        assert_eq!(got[2], [Some(2), Some(0)]);
        assert_eq!(got[3], [Some(2), Some(2)]);
        assert_eq!(got[4], [None]);
        // labels at min_support 2, dependent: s2's second step is wrong
        assert_eq!(labels(&got[2], 2, true), [Some(true), Some(false)]);
        // a wrong first step makes the rest wrong, whatever their support
        assert_eq!(
            labels(&[Some(0), Some(4), None], 2, true),
            [Some(false), Some(false), Some(false)]
        );
        // independent: each on its own; no evidence stays undecided
        assert_eq!(
            labels(&[Some(0), Some(4), None], 2, false),
            [Some(false), Some(true), None]
        );
    }

    #[test]
    fn claims_need_every_fact_and_lines_match_whole() {
        let samples = [
            vec![
                "He was born in Ulm in 1879.",
                "He won the Nobel Prize in 1921.",
            ],
            vec!["Einstein was born in Ulm in 1879."],
            vec!["He was born in Munich in 1879."],
        ];
        let s: Vec<Vec<&str>> = samples.iter().map(|v| v.to_vec()).collect();
        let got = supports(Evidence::Facts, &s);
        // {1879, ulm}: in s1 only (s2 has 1879 but Munich); {1921, nobel, prize}: nowhere
        assert_eq!(got[0], [Some(1), Some(0)]);
        // s1's {1879, ulm} ("Einstein" is its first word, skipped): in s0
        assert_eq!(got[1], [Some(1)]);
        assert_eq!(got[2], [Some(0)]);
        let code = [
            vec!["def f(a, b):", "    return a + b"],
            vec!["def f(a,b):", "  return a+b", "}"],
            vec!["def f(a, b):", "    return a - b"],
        ];
        let c: Vec<Vec<&str>> = code.iter().map(|v| v.to_vec()).collect();
        let got = supports(Evidence::Line, &c);
        assert_eq!(got[0], [Some(2), Some(1)]);
        assert_eq!(got[1], [Some(2), Some(1), None]);
        assert_eq!(got[2], [Some(2), Some(0)]);
    }

    /// With five samples, support counts four others: thresholds 1 to 4 can go either way.
    #[test]
    fn thresholds_that_cannot_label_both_ways_are_refused() {
        assert!(
            check_min_support(0, 5)
                .unwrap_err()
                .to_string()
                .contains("every fragment correct")
        );
        for k in 1..=4 {
            check_min_support(k, 5).unwrap();
        }
        let e = check_min_support(5, 5).unwrap_err().to_string();
        assert!(
            e.contains("min_support 5 can never be met with 5 sample(s)"),
            "{e}"
        );
        assert!(check_min_support(2, 2).is_err());
        assert!(check_min_support(1, 1).is_err());
    }
}
