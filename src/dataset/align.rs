//! Alignment (paper §"Select by threshold α" and §"Align the target"): pick one of the N judged
//! responses by α and turn it into a finetuning target; plus the Add-On variant and the
//! baselines Unchanged, IDK and RandomTrim, and the control OwnBest (the best sample whole).
//!
//! Joining rules (documented choices): a kept prefix is the response's own bytes up to the end of
//! the last kept fragment; the marker follows on a new line if the text after that fragment
//! started a new line, else after a space; a code fence left open by the prefix is closed first.
//!
//! Independent targets are built claim by claim ([`claims()`](super::fragment::claims())): a claim
//! whose fragments are all kept stays as written, one with none kept is deleted. A claim split into
//! facts ([`facts()`](super::fragment::facts()), biographies) and kept in part keeps its *glue*
//! (the text outside its facts: subject, verb, `the Nobel Prize`, the full stop) with its kept
//! facts; a deleted fact takes one adjacent separator with it (the glue before it, else the one
//! after it, if that is only spaces, punctuation, `and`/`or`); then runs of spaces are collapsed,
//! spaces before punctuation, empty parentheses and a leading comma are removed, and the claim's
//! capital is restored. So deleting the place of `X was born on 30 August 1852 in Amsterdam, the
//! Netherlands.` gives `X was born on 30 August 1852.`. Between kept claims the original text is
//! kept; where claims were deleted, the separator that followed the last kept claim is used, the
//! next claim's first letter is capitalised after sentence punctuation, and the final full stop is
//! restored if it was deleted.

use rand::{Rng, SeedableRng, rngs::StdRng};

use super::align_independent::independent_target;
use super::align_select::{best_with_text, judged_text};
pub use super::align_select::{select, select_response};
use super::example::Example;
use super::record::{
    AlignMethod, Aligned, Fragment, FragmentKind, Judged, JudgedResponse, NullPolicy, Sampled,
    UNSURE_MARKER,
};

/// What can go wrong aligning.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AlignError {
    /// α must lie in [0, 1].
    #[error("alpha {0} is not in [0, 1]")]
    Alpha(f64),
    /// There is nothing to select from.
    #[error("`{0}`: no responses")]
    NoResponses(String),
    /// The Unchanged baseline of a prompt alone: there is no reference to train on.
    #[error(
        "`{0}` is a prompt alone: the unchanged baseline needs its reference answer (align it \
         with HALT on reference-free labels instead)"
    )]
    NoReference(String),
    /// The records do not belong together.
    #[error("records do not match: {0}")]
    Mismatch(String),
    /// A fragment does not describe its response: `text != response[start..end]`, or it is
    /// empty, or it starts before the previous fragment ends.
    #[error(
        "`{id}` response {response}: fragment {fragment} is not a slice of the response text \
         after the previous fragment"
    )]
    BadFragment {
        /// The example id.
        id: String,
        /// Response index.
        response: usize,
        /// Fragment index.
        fragment: usize,
    },
}

/// Options of `halt-llm align`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlignConfig {
    /// The selection threshold α in [0, 1] (paper: 0.4, 0.6, 0.8).
    pub alpha: f64,
    /// The abstention marker (default [`UNSURE_MARKER`]).
    pub marker: String,
    /// Seed of [`AlignMethod::RandomTrim`] (combined with the example id).
    pub seed: u64,
}

impl Default for AlignConfig {
    fn default() -> Self {
        AlignConfig {
            alpha: 0.6,
            marker: UNSURE_MARKER.into(),
            seed: 0,
        }
    }
}

/// A target built from one response.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The target text.
    pub text: String,
    /// Fragments kept.
    pub kept: usize,
    /// Fragments left out (Add-On: marked uncertain).
    pub dropped: usize,
    /// Whether the target is only the marker.
    pub abstained: bool,
}

pub(super) fn marker_only(marker: &str, n: usize) -> Target {
    Target {
        text: marker.to_string(),
        kept: 0,
        dropped: n,
        abstained: true,
    }
}

fn whole(response: &str, n: usize) -> Target {
    Target {
        text: response.trim().to_string(),
        kept: n,
        dropped: 0,
        abstained: false,
    }
}

/// The response up to the end of fragment `k - 1`, then the marker (`k == 0`: marker only).
fn truncate(response: &str, f: &[Fragment], k: usize, marker: &str) -> Target {
    if k == 0 {
        return marker_only(marker, f.len());
    }
    let mut text = response[..f[k - 1].end].trim_start().to_string();
    let fences: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("```") || l.starts_with("~~~"))
        .map(|l| l[..3].to_string())
        .collect();
    if fences.len() % 2 == 1 {
        text.push('\n');
        text.push_str(&fences[0]);
    }
    // The marker takes the place of the next fragment, so it follows the same separator; at
    // the end of the response, the one between the last two fragments.
    let gap = match f.get(k) {
        Some(next) => &response[f[k - 1].end..next.start],
        None if k >= 2 => &response[f[k - 2].end..f[k - 1].start],
        None => "",
    };
    let sep = if gap.contains('\n') || fences.len() % 2 == 1 {
        "\n"
    } else {
        " "
    };
    text.push_str(sep);
    text.push_str(marker);
    Target {
        text,
        kept: k,
        dropped: f.len() - k,
        abstained: false,
    }
}

/// The HALT target (paper §5): independent → wrong fragments deleted (none left → marker);
/// dependent → fragments before the first wrong one + marker (first wrong → marker); nothing
/// wrong → the response whole. "Wrong" follows `policy` for `null` verdicts; a response without
/// fragments gives the marker.
pub fn halt_target(
    response: &str,
    f: &[Fragment],
    kind: FragmentKind,
    policy: NullPolicy,
    marker: &str,
) -> Target {
    let wrong: Vec<bool> = f.iter().map(|x| policy.is_wrong(x.correct)).collect();
    if f.is_empty() {
        return marker_only(marker, 0);
    }
    if !wrong.contains(&true) {
        return whole(response, f.len());
    }
    if kind == FragmentKind::Dependent {
        let k = wrong.iter().position(|w| *w).unwrap_or(f.len());
        return truncate(response, f, k, marker);
    }
    independent_target(response, f, &wrong, marker)
}

/// Add-On HALT: everything kept, the first wrong fragment and all after it marked uncertain:
/// `{text before it}{sep}{marker}: {the rest}`; nothing wrong → the response whole.
pub fn addon_target(response: &str, f: &[Fragment], policy: NullPolicy, marker: &str) -> Target {
    let Some(k) = f.iter().position(|x| policy.is_wrong(x.correct)) else {
        return whole(response, f.len());
    };
    let prefix = response[..f[k].start].trim();
    let rest = response[f[k].start..].trim_end();
    let sep = if prefix.is_empty() {
        ""
    } else if response[..f[k].start].ends_with('\n') {
        "\n"
    } else {
        " "
    };
    Target {
        text: format!("{prefix}{sep}{marker}: {rest}"),
        kept: k,
        dropped: f.len() - k,
        abstained: false,
    }
}

/// IDK baseline: the response whole if nothing in it is wrong, else only the marker.
pub fn idk_target(response: &str, f: &[Fragment], policy: NullPolicy, marker: &str) -> Target {
    if !f.is_empty() && !f.iter().any(|x| policy.is_wrong(x.correct)) {
        whole(response, f.len())
    } else {
        marker_only(marker, f.len())
    }
}

/// RandomTrim baseline: keep the first `t` fragments, `t` uniform in `0..=n` (seeded), then the
/// marker; `t == n` keeps the response whole.
pub fn random_trim_target(response: &str, f: &[Fragment], seed: u64, marker: &str) -> Target {
    let t = StdRng::seed_from_u64(seed).random_range(0..=f.len());
    if t == f.len() && t > 0 {
        whole(response, t)
    } else {
        truncate(response, f, t, marker)
    }
}

/// FNV-1a of the id: a stable per-example seed component.
fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn check(example: &Example, sampled: &Sampled, judged: &Judged) -> Result<(), AlignError> {
    if sampled.id != example.id || judged.id != example.id {
        return Err(AlignError::Mismatch(format!(
            "example `{}`, sampled `{}`, judged `{}`",
            example.id, sampled.id, judged.id
        )));
    }
    if judged.responses.len() != sampled.responses.len() {
        return Err(AlignError::Mismatch(format!(
            "`{}`: {} responses sampled but {} judged",
            example.id,
            sampled.responses.len(),
            judged.responses.len()
        )));
    }
    if judged.responses.is_empty() {
        return Err(AlignError::NoResponses(example.id.clone()));
    }
    for (r, (text, j)) in sampled.responses.iter().zip(&judged.responses).enumerate() {
        if let Some(end) = j.answer_end
            && (!text.is_char_boundary(end) || j.fragments.last().is_some_and(|f| f.end > end))
        {
            return Err(AlignError::Mismatch(format!(
                "`{}` response {r}: answer_end {end} is not a character boundary of the \
                 response before which every fragment ends",
                example.id
            )));
        }
        let mut previous_end = 0;
        for (i, fr) in j.fragments.iter().enumerate() {
            // each fragment a non-empty slice of the response, in order, none overlapping
            let in_order = fr.start >= previous_end && fr.start < fr.end;
            previous_end = fr.end;
            if !in_order || text.get(fr.start..fr.end) != Some(fr.text.as_str()) {
                return Err(AlignError::BadFragment {
                    id: example.id.clone(),
                    response: r,
                    fragment: i,
                });
            }
        }
    }
    Ok(())
}

/// The [`Aligned`] record of one example for `method` (for [`AlignMethod::Unchanged`] see
/// [`unchanged`], which needs no samples).
///
/// # Errors
/// α outside [0, 1], ids or response counts that disagree, or fragments whose offsets do
/// not match their response.
pub fn align(
    example: &Example,
    sampled: &Sampled,
    judged: &Judged,
    method: AlignMethod,
    config: &AlignConfig,
) -> Result<Aligned, AlignError> {
    if method == AlignMethod::Unchanged {
        return unchanged(example);
    }
    check(example, sampled, judged)?;
    // OwnBest takes the best sample with text (α = 1 orders them); the others select by α.
    let (alpha, selected) = match method {
        AlignMethod::OwnBest => (None, best_with_text(sampled, judged)),
        _ => (
            Some(config.alpha),
            Some(select_response(&judged.responses, config.alpha)?),
        ),
    };
    let Some(selected) = selected else {
        // OwnBest, and no sample has any text to keep: nothing of the model's own to train on
        let t = marker_only(&config.marker, 0);
        return Ok(Aligned {
            id: example.id.clone(),
            prompt: example.prompt.clone(),
            target: t.text,
            method,
            alpha,
            selected: None,
            kept: 0,
            dropped: 0,
            abstained: true,
        });
    };
    let JudgedResponse {
        fragments: f,
        kind,
        complete,
        ..
    } = &judged.responses[selected];
    let response = judged_text(&sampled.responses[selected], &judged.responses[selected]);
    let (policy, marker) = (judged.null_policy, config.marker.as_str());
    let wrong = |x: &Fragment| policy.is_wrong(x.correct);
    // An incomplete response with nothing wrong stopped early: HALT keeps it and appends the
    // marker; IDK abstains (it is not a fully correct answer).
    let stopped_early = !*complete && !f.iter().any(wrong);
    let t = match method {
        AlignMethod::Halt if stopped_early => truncate(response, f, f.len(), marker),
        AlignMethod::Idk if stopped_early => marker_only(marker, f.len()),
        AlignMethod::Halt => halt_target(response, f, *kind, policy, marker),
        AlignMethod::Addon => addon_target(response, f, policy, marker),
        AlignMethod::Idk => idk_target(response, f, policy, marker),
        AlignMethod::RandomTrim => {
            random_trim_target(response, f, config.seed ^ id_hash(&example.id), marker)
        }
        AlignMethod::OwnBest => whole(response, f.len()),
        AlignMethod::Unchanged => return unchanged(example),
    };
    Ok(Aligned {
        id: example.id.clone(),
        prompt: example.prompt.clone(),
        target: t.text,
        method,
        alpha,
        selected: Some(selected),
        kept: t.kept,
        dropped: t.dropped,
        abstained: t.abstained,
    })
}

/// The Unchanged baseline: SFT on the ground-truth reference (no α, no sample).
///
/// # Errors
/// [`AlignError::NoReference`] for a prompt alone.
pub fn unchanged(example: &Example) -> Result<Aligned, AlignError> {
    if !example.has_ground_truth() {
        return Err(AlignError::NoReference(example.id.clone()));
    }
    Ok(Aligned {
        id: example.id.clone(),
        prompt: example.prompt.clone(),
        target: example.reference.clone(),
        method: AlignMethod::Unchanged,
        alpha: None,
        selected: None,
        kept: 0,
        dropped: 0,
        abstained: false,
    })
}

#[cfg(test)]
#[path = "align_tests.rs"]
mod tests;
