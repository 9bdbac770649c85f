//! The second reference-free confidence signal: a fragment's mean token log-probability, from
//! the log-probabilities the sample stage records with every response
//! ([`Sampled::token_logprobs`], [`Sampled::token_ends`]). The model's own probability of what
//! it wrote is the "probability" baseline of SelfCheckGPT (arXiv 2303.08896 §5); it needs no
//! other sample, and is measured beside support by `halt-llm agreement --sampled`.
//!
//! Tokens and fragments are both byte spans of the response: token `i` covers
//! `[ends[i-1], ends[i])` (token 0 starts at 0). A fragment's tokens are those whose span
//! overlaps it; a token that covers no byte (part of a character finished by the next token)
//! belongs to the fragment its position falls in.

use super::record::{Judged, Sampled};

/// Mean of the log-probabilities of the tokens overlapping the byte span `start..end` of a
/// response, from the response's per-token `logprobs` and byte `ends` (`[tokens]` each, ends
/// non-decreasing). `None` when no token overlaps it, or the two lists differ in length.
pub fn mean_logprob(logprobs: &[f32], ends: &[usize], start: usize, end: usize) -> Option<f64> {
    if logprobs.len() != ends.len() || start >= end {
        return None;
    }
    let mut sum = 0.0;
    let mut n = 0usize;
    let mut from = 0;
    for (&lp, &to) in logprobs.iter().zip(ends) {
        let overlaps = if from == to {
            start <= from && from < end
        } else {
            from < end && to > start
        };
        if overlaps {
            sum += f64::from(lp);
            n += 1;
        }
        from = to;
        if from >= end {
            break;
        }
    }
    (n > 0).then(|| sum / n as f64)
}

/// [`mean_logprob`] of the span `start..end` of response `k` of `sampled`; `None` when the
/// record has no log-probabilities (sampled before they were recorded) or none overlap.
pub fn fragment_logprob(sampled: &Sampled, k: usize, start: usize, end: usize) -> Option<f64> {
    let lps = sampled.token_logprobs.get(k)?;
    let ends = sampled.token_ends.get(k)?;
    mean_logprob(lps, ends, start, end)
}

/// Checks that `sampled` is the record `judged` was judged from and that its token lists are
/// well formed: as many responses; every fragment's text the bytes `start..end` of its
/// response; per response (when there are token lists) as many log-probabilities as ends,
/// ends non-decreasing and within the response, log-probabilities finite and at most 0 (up to
/// rounding).
///
/// # Errors
/// The first mismatch, named by response and fragment or token.
pub fn check_against(judged: &Judged, sampled: &Sampled) -> Result<(), String> {
    let n = sampled.responses.len();
    if judged.responses.len() != n {
        return Err(format!(
            "{} responses judged but {n} sampled",
            judged.responses.len()
        ));
    }
    for (k, (j, text)) in judged.responses.iter().zip(&sampled.responses).enumerate() {
        for (i, f) in j.fragments.iter().enumerate() {
            if text.get(f.start..f.end) != Some(f.text.as_str()) {
                return Err(format!(
                    "response {k}, fragment {i} is not the sampled text at {}..{} (samples of \
                     another run?)",
                    f.start, f.end
                ));
            }
        }
    }
    let (lps, ends) = (&sampled.token_logprobs, &sampled.token_ends);
    if lps.is_empty() && ends.is_empty() {
        return Ok(());
    }
    if lps.len() != n || ends.len() != n {
        return Err(format!(
            "token_logprobs ({}) and token_ends ({}) must each have one list per response ({n})",
            lps.len(),
            ends.len()
        ));
    }
    for (k, ((lp, e), text)) in lps.iter().zip(ends).zip(&sampled.responses).enumerate() {
        if lp.len() != e.len() {
            return Err(format!(
                "response {k}: {} token log-probabilities but {} token ends",
                lp.len(),
                e.len()
            ));
        }
        if let Some(t) = e.windows(2).position(|w| w[1] < w[0]) {
            return Err(format!(
                "response {k}: token_ends decrease at token {}",
                t + 1
            ));
        }
        if e.last().is_some_and(|&last| last > text.len()) {
            return Err(format!(
                "response {k}: a token ends past the response ({} bytes)",
                text.len()
            ));
        }
        if let Some(t) = lp.iter().position(|&x| !x.is_finite() || x > 1e-4) {
            return Err(format!(
                "response {k}, token {t}: log-probability {} is not a log-probability (finite, \
                 at most 0)",
                lp[t]
            ));
        }
    }
    Ok(())
}

/// Token ends of a generated text after its leading and trailing whitespace is trimmed (the
/// plain prompt format keeps `text.trim()`): each end shifted left by the bytes removed at the
/// front and clamped to `[0, trimmed length]`.
pub fn trimmed_ends(text: &str, ends: &[usize]) -> Vec<usize> {
    let lead = text.len() - text.trim_start().len();
    let len = text.trim().len();
    ends.iter()
        .map(|&e| e.saturating_sub(lead).min(len))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Response "3 + 4 = 7. So 7." as five tokens: "3 +" [0,3) −0.5, " 4" [3,5) −1.0,
    /// " = 7." [5,10) −2.0, " So" [10,13) −0.1, " 7." [13,16) −0.3.
    #[test]
    fn mean_log_probability_of_the_overlapping_tokens_by_hand() {
        let lps = [-0.5, -1.0, -2.0, -0.1, -0.3];
        let ends = [3, 5, 10, 13, 16];
        // "3 + 4 = 7." = [0, 10): the first three tokens, (−0.5 − 1 − 2) / 3
        assert_eq!(mean_logprob(&lps, &ends, 0, 10), Some(-3.5 / 3.0));
        // "So 7." = [11, 16): " So" overlaps (its space is outside), " 7.": (−0.1 − 0.3) / 2
        let m = mean_logprob(&lps, &ends, 11, 16).unwrap();
        assert!((m + 0.2).abs() < 1e-6, "{m}");
        // "4" = [4, 5): only " 4"
        assert_eq!(mean_logprob(&lps, &ends, 4, 5), Some(-1.0));
        // past the text, or an empty span: nothing
        assert_eq!(mean_logprob(&lps, &ends, 16, 20), None);
        assert_eq!(mean_logprob(&lps, &ends, 4, 4), None);
        // lists of different lengths: nothing
        assert_eq!(mean_logprob(&lps[..4], &ends, 0, 10), None);
    }

    /// "é" is two bytes made of two tokens: the first completes nothing (end 0 = start), so it
    /// belongs to the fragment its position 0 falls in; the second ends at 2.
    #[test]
    fn a_token_without_bytes_belongs_where_it_stands() {
        let lps = [-4.0, -2.0, -1.0];
        let ends = [0, 2, 5];
        assert_eq!(mean_logprob(&lps, &ends, 0, 2), Some(-3.0));
        assert_eq!(mean_logprob(&lps, &ends, 2, 5), Some(-1.0));
    }

    /// "  ab cd " trimmed is "ab cd": tokens ending at 2 ("  "), 4 ("ab"), 7 (" cd"), 8 (" ")
    /// end at 0, 2, 5, 5 in it.
    #[test]
    fn trimming_shifts_and_clamps_the_ends() {
        assert_eq!(trimmed_ends("  ab cd ", &[2, 4, 7, 8]), vec![0, 2, 5, 5]);
        assert_eq!(trimmed_ends("ab", &[1, 2]), vec![1, 2]);
    }

    /// A judged record against its sampled record, then against broken copies of it.
    #[test]
    fn a_sampled_record_must_be_the_judged_ones_source() {
        let sampled: Sampled = serde_json::from_value(serde_json::json!({
            "id": "q", "responses": ["1 + 1 = 2"], "model": "m",
            "sampling": {"temperature": 1.0, "top_p": 1.0, "seed": 0, "max_new_tokens": 8},
            "token_logprobs": [[-0.1, -0.2]], "token_ends": [[7, 9]]
        }))
        .unwrap();
        let judged: Judged = serde_json::from_value(serde_json::json!({
            "id": "q", "responses": [{"fragments": [{"text": "1 + 1 = 2", "start": 0, "end": 9,
            "correct": true}], "kind": "dependent", "mean_correctness": 1.0}]
        }))
        .unwrap();
        check_against(&judged, &sampled).unwrap();
        let broken = |f: &dyn Fn(&mut Sampled)| {
            let mut s = sampled.clone();
            f(&mut s);
            check_against(&judged, &s).unwrap_err()
        };
        assert!(broken(&|s| s.responses[0] = "1 + 1 = 3".into()).contains("not the sampled text"));
        assert!(broken(&|s| s.responses.push("x".into())).contains("1 responses judged but 2"));
        assert!(broken(&|s| s.token_ends[0] = vec![9, 7]).contains("decrease at token 1"));
        assert!(broken(&|s| s.token_ends[0] = vec![7, 10]).contains("past the response"));
        assert!(broken(&|s| s.token_logprobs[0] = vec![-0.1]).contains("1 token log-prob"));
        assert!(broken(&|s| s.token_logprobs[0][1] = 5.0).contains("token 1: log-probability 5"));
        assert!(broken(&|s| s.token_ends.clear()).contains("one list per response"));
        let mut old = sampled.clone();
        old.token_logprobs.clear();
        old.token_ends.clear();
        check_against(&judged, &old).unwrap();
    }
}
