//! Independent HALT targets (paper §"Align the target": wrong independent fragments are
//! deleted), built claim by claim so that deleting a wrong fact keeps a readable sentence; the
//! rules are in the [`align`](super::align) module docs.

use super::align::{Target, marker_only};
use super::fragment::claims;
use super::record::Fragment;

const SENTENCE_END: [char; 6] = ['.', '!', '?', '。', '！', '？'];

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or_else(String::new, |first| first.to_uppercase().chain(c).collect())
}

/// A claim of an independent response: its byte range and the indices of the fragments in it.
struct Unit {
    start: usize,
    end: usize,
    frags: Vec<usize>,
}

/// The claims of `response` ([`claims`]), merged where a fragment spans several, each with the
/// fragments that start in it; claims without fragments are left out. With the `claims`
/// splitter every claim is one fragment; with `facts` a claim holds its facts.
fn units(response: &str, f: &[Fragment]) -> Vec<Unit> {
    let mut spans: Vec<(usize, usize)> = claims(response)
        .iter()
        .map(|s| (s.start, s.end))
        .chain(f.iter().map(|x| (x.start, x.end)))
        .collect();
    spans.sort_unstable();
    let mut out: Vec<Unit> = Vec::new();
    for (start, end) in spans {
        match out.last_mut() {
            Some(last) if start < last.end => last.end = last.end.max(end),
            _ => out.push(Unit {
                start,
                end,
                frags: Vec::new(),
            }),
        }
    }
    for (i, x) in f.iter().enumerate() {
        if let Some(u) = out
            .iter_mut()
            .find(|u| u.start <= x.start && x.start < u.end.max(u.start + 1))
        {
            u.frags.push(i);
        }
    }
    out.retain(|u| !u.frags.is_empty());
    out
}

/// Glue that only separates facts (spaces, punctuation, `and`/`or`): deleted with a fact.
fn is_separator(glue: &str) -> bool {
    glue.split(|c: char| !c.is_alphanumeric())
        .all(|w| w.is_empty() || w.eq_ignore_ascii_case("and") || w.eq_ignore_ascii_case("or"))
}

static EMPTY_PARENS: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"[ \t]*\(\s*\)").unwrap());
static DOUBLE_PUNCT: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r",\s*([,.;:!?])").unwrap());
static SPACES: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"[ \t]{2,}").unwrap());
static SPACE_BEFORE: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"[ \t]+([,.;:!?)\]])").unwrap());

/// The text of claim `u` with its wrong fragments deleted (module docs), `None` if none is kept.
fn unit_text(response: &str, f: &[Fragment], wrong: &[bool], u: &Unit) -> Option<String> {
    let idx = &u.frags;
    if idx.iter().all(|&i| wrong[i]) {
        return None;
    }
    let whole = response.get(u.start..u.end).unwrap_or("");
    if idx.iter().all(|&i| !wrong[i]) {
        return Some(whole.to_string());
    }
    // glue[k] precedes fragment k, glue[n] follows the last one
    let n = idx.len();
    let mut glue: Vec<&str> = Vec::with_capacity(n + 1);
    let mut at = u.start;
    for &i in idx {
        glue.push(response.get(at..f[i].start).unwrap_or(""));
        at = at.max(f[i].end);
    }
    glue.push(response.get(at..u.end).unwrap_or(""));
    // a deleted fragment takes a separator with it: the one before, else the one after (never
    // the claim's head or tail)
    let mut removed = vec![false; n + 1];
    for k in (0..n).filter(|&k| wrong[idx[k]]) {
        if k > 0 && !removed[k] && is_separator(glue[k]) {
            removed[k] = true;
        } else if k + 1 < n && !removed[k + 1] && is_separator(glue[k + 1]) {
            removed[k + 1] = true;
        }
    }
    let mut s = String::new();
    for k in 0..=n {
        if !removed[k] {
            s.push_str(glue[k]);
        }
        if k < n && !wrong[idx[k]] {
            s.push_str(&f[idx[k]].text);
        }
    }
    let s = EMPTY_PARENS.replace_all(&s, "");
    let s = DOUBLE_PUNCT.replace_all(&s, "$1");
    let s = SPACES.replace_all(&s, " ");
    let s = SPACE_BEFORE.replace_all(&s, "$1");
    let s = s
        .trim_start_matches(|c: char| c.is_whitespace() || ",;:".contains(c))
        .trim_end();
    let starts_upper = whole.chars().next().is_some_and(char::is_uppercase);
    Some(if starts_upper {
        capitalise(s)
    } else {
        s.to_string()
    })
}

/// The independent HALT target: claim by claim (module docs); none kept → marker.
pub(super) fn independent_target(
    response: &str,
    f: &[Fragment],
    wrong: &[bool],
    marker: &str,
) -> Target {
    let units = units(response, f);
    let gap = |a: usize, b: usize| response.get(a..b).unwrap_or("");
    let mut text = String::new();
    let mut prev: Option<usize> = None; // index of the last kept claim
    for (i, u) in units.iter().enumerate() {
        let Some(body) = unit_text(response, f, wrong, u) else {
            continue;
        };
        match prev {
            Some(p) if p + 1 == i => {
                text.push_str(gap(units[p].end, u.start));
                text.push_str(&body);
            }
            Some(p) => {
                // Deleted claims in between: keep the separator that followed the last kept
                // claim (the one after a deleted claim may be "; " after a full stop), and
                // start a new sentence only after sentence punctuation.
                text.push_str(gap(units[p].end, units[p + 1].start));
                if text.trim_end().ends_with(SENTENCE_END) {
                    text.push_str(&capitalise(&body));
                } else {
                    text.push_str(&body);
                }
            }
            None if i > 0 => text.push_str(&capitalise(&body)),
            None => text.push_str(&body),
        }
        prev = Some(i);
    }
    let kept = wrong.iter().filter(|w| !**w).count();
    if kept == 0 {
        return marker_only(marker, f.len());
    }
    let last_end = units
        .last()
        .and_then(|u| response.get(u.start..u.end))
        .and_then(|t| t.chars().last());
    if let Some(p) = last_end.filter(|c| SENTENCE_END.contains(c))
        && !text.ends_with(SENTENCE_END)
    {
        text.push(p);
    }
    Target {
        text,
        kept,
        dropped: f.len() - kept,
        abstained: false,
    }
}
