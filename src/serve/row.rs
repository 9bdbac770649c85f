//! One row of `serve`'s running batch ([`super::engine`]) and how a sampled token is added to
//! it: stop tokens, stop strings, the HALT marker, the token budget, and the text sent to its
//! client (never the start of a stop string).

use anyhow::Result;
use rand::rngs::StdRng;

use super::engine::{Event, Job};
use super::held_back::held_back;
use crate::generate::{FinishReason, find_stop};
use crate::tokenizer::{DecodeStream, Tokenizer};

/// One row of the running batch.
pub(super) struct Row<'t> {
    /// The completion it generates.
    pub(super) job: Job,
    /// Its sampler, seeded from the request.
    pub(super) rng: StdRng,
    /// Text of whole UTF-8 characters as tokens arrive.
    pub(super) stream: DecodeStream<'t>,
    /// The text so far.
    pub(super) text: String,
    /// Bytes of `text` already sent.
    pub(super) sent: usize,
    /// Tokens generated.
    pub(super) generated: usize,
}

/// Adds token `tok` to `row`, sending the text that is safe to send; returns why the row
/// ends, if it does: an end-of-turn token, a stop string (cut), the marker (kept, also when a
/// stop string starts where it does), or its token budget.
pub(super) fn step(
    row: &mut Row<'_>,
    tok: u32,
    tokenizer: &Tokenizer,
) -> Result<Option<FinishReason>> {
    let cfg = &row.job.sampling;
    let mut finish = None;
    if tokenizer.stop_ids.contains(&tok) {
        finish = Some(FinishReason::Eos);
    } else if let Some(piece) = row.stream.step(tok)? {
        let before = row.text.len();
        row.text.push_str(&piece);
        let cut = find_stop(&row.text, &cfg.stop_strings, before);
        let marked = row
            .job
            .marker
            .as_deref()
            .filter(|m| !m.is_empty())
            .and_then(|m| find_stop(&row.text, &[m.to_string()], before).map(|at| (at, m.len())));
        // The marker wins over a stop string that starts at the same place or later (a
        // stop string equal to the marker included): it stays in the text, so the answer's
        // `halt` field and its text agree.
        match (cut, marked) {
            (_, Some((at, len))) if cut.is_none_or(|c| at <= c) => {
                row.text.truncate(at + len);
                finish = Some(FinishReason::StopString);
            }
            (Some(c), _) => {
                row.text.truncate(c);
                finish = Some(FinishReason::StopString);
            }
            _ => {}
        }
    }
    if finish.is_none() && row.generated >= cfg.max_new_tokens {
        finish = Some(FinishReason::Length);
    }
    // Send what cannot be the start of a stop string (everything, at the end).
    let upto = match finish {
        Some(_) => row.text.len(),
        None => row.text.len() - held_back(&row.text, &cfg.stop_strings),
    };
    if upto > row.sent {
        let piece = row.text[row.sent..upto].to_string();
        let _ = row.job.events.send((row.job.index, Event::Text(piece)));
        row.sent = upto;
    }
    Ok(finish)
}
