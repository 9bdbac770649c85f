//! Choosing the response a target is built from (arXiv 2506.04051 §"Select by threshold α"):
//! the response at α's position in the order of mean correctness, or, for the OwnBest
//! control, the best response that has text; and the judged part of a response.

use super::align::AlignError;
use super::record::{Judged, JudgedResponse, Sampled};

/// The index (into `means`) chosen by α: sort ascending by mean correctness (ties by index) and
/// take position ⌈α·N⌉, 0-based, clipped to N−1 (paper §4). `α·N` is taken with a 1e-9 slack so
/// that 0.6·5 is 3, not 4 through rounding.
pub fn select(means: &[f64], alpha: f64) -> Result<usize, AlignError> {
    if !(0.0..=1.0).contains(&alpha) {
        return Err(AlignError::Alpha(alpha));
    }
    if means.is_empty() {
        return Err(AlignError::NoResponses(String::new()));
    }
    let mut order: Vec<usize> = (0..means.len()).collect();
    order.sort_by(|&a, &b| means[a].total_cmp(&means[b]).then(a.cmp(&b)));
    let pos = ((alpha * means.len() as f64 - 1e-9).ceil().max(0.0) as usize).min(means.len() - 1);
    Ok(order[pos])
}

/// The response chosen by α among judged `responses`: the mean correctness at [`select`]'s
/// position sets the level; among the responses with exactly that mean, a complete answer comes
/// first, then the one with more correct (counted) fragments, then the lower index. So a
/// correct answer cut at the token limit is never chosen over an equally correct complete one.
///
/// # Errors
/// As [`select`].
pub fn select_response(responses: &[JudgedResponse], alpha: f64) -> Result<usize, AlignError> {
    let means: Vec<f64> = responses.iter().map(|r| r.mean_correctness).collect();
    let level = means[select(&means, alpha)?];
    // `total_cmp` equality, so that a NaN mean (never in a file: JSON has none) is its own level
    let best = (0..responses.len())
        .filter(|&i| means[i].total_cmp(&level).is_eq())
        .max_by_key(|&i| {
            let r = &responses[i];
            (r.complete, r.n_correct(), std::cmp::Reverse(i))
        });
    Ok(best.expect("the selected response has the level's mean"))
}

/// The judged part of a response: up to the end of its answer ([`JudgedResponse::answer_end`]),
/// or, for a response cut at the token limit, up to its last judged fragment (the unfinished
/// fragment after it was never judged, so no target may include it).
pub(super) fn judged_text<'r>(response: &'r str, judged: &JudgedResponse) -> &'r str {
    match (judged.cut, judged.fragments.last()) {
        (true, Some(last)) => &response[..last.end],
        (true, None) => "",
        (false, _) => &response[..judged.answer_end.unwrap_or(response.len())],
    }
}

/// OwnBest's choice: the response with the highest mean correctness whose judged text is not
/// blank (ties: a complete answer, then more correct fragments, then the lower index; as
/// [`select_response`] at α = 1); `None` when every response is blank (an empty reply, or one
/// cut at the token limit before its first fragment ended), which would make an empty target.
pub(super) fn best_with_text(sampled: &Sampled, judged: &Judged) -> Option<usize> {
    (0..judged.responses.len())
        .filter(|&i| {
            !judged_text(&sampled.responses[i], &judged.responses[i])
                .trim()
                .is_empty()
        })
        .max_by(|&a, &b| {
            let (x, y) = (&judged.responses[a], &judged.responses[b]);
            x.mean_correctness
                .total_cmp(&y.mean_correctness)
                .then(x.complete.cmp(&y.complete))
                .then(x.n_correct().cmp(&y.n_correct()))
                .then(b.cmp(&a))
        })
}
