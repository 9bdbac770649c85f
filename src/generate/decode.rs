//! Step 4 of [`super::generate_with_progress`], and the per-sequence state it updates: one
//! sampled token per unfinished sequence per step, streamed text, stop tokens and stop
//! strings, and the batch shrinking as sequences finish.

use anyhow::Result;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::{
    FinishReason, Generation, SamplingConfig, find_stop, last_logits, sample_token, token_logprob,
};
use crate::model::{KvCache, Llama};
use crate::tokenizer::{DecodeStream, Tokenizer};

/// Step 2: the decoding state of every sequence of one call.
pub(super) struct Sequences<'t> {
    /// The tokenizer (stop ids, and the streams borrow it).
    tokenizer: &'t Tokenizer,
    /// Sequence `i` samples with seed `seed + i`.
    rngs: Vec<StdRng>,
    /// Incremental decoders: text of whole UTF-8 characters as ids arrive.
    streams: Vec<DecodeStream<'t>>,
    /// The text so far.
    texts: Vec<String>,
    /// The ids so far (without a stop token).
    ids: Vec<Vec<u32>>,
    /// Log-probability of each id ([`Generation::logprobs`]).
    logprobs: Vec<Vec<f32>>,
    /// Text length after each id ([`Generation::text_ends`], before clamping at a cut).
    text_ends: Vec<Vec<usize>>,
    /// The finished generations.
    out: Vec<Option<Generation>>,
}

impl<'t> Sequences<'t> {
    /// `n` sequences, nothing generated yet.
    pub(super) fn new(tokenizer: &'t Tokenizer, n: usize, seed: u64) -> Self {
        Self {
            tokenizer,
            rngs: (0..n)
                .map(|i| StdRng::seed_from_u64(seed.wrapping_add(i as u64)))
                .collect(),
            streams: (0..n).map(|_| tokenizer.decode_stream(true)).collect(),
            texts: vec![String::new(); n],
            ids: vec![Vec::new(); n],
            logprobs: vec![Vec::new(); n],
            text_ends: vec![Vec::new(); n],
            out: vec![None; n],
        }
    }

    /// Step 4, one position: samples a token for every active row from its `logits` (rows
    /// of `[active.len() · vocab]`), adds it to its sequence, and marks the rows whose
    /// sequence finished `None`. Returns the tokens to feed next (`0` for finished rows,
    /// which stay in the batch until [`drop_finished_rows`] drops them).
    ///
    /// # Errors
    /// Decoding errors.
    pub(super) fn sample_step(
        &mut self,
        logits: &[f32],
        active: &mut [Option<usize>],
        step: usize,
        cfg: &SamplingConfig,
        on_text: &mut impl FnMut(usize, &str),
    ) -> Result<Vec<i64>> {
        let vocab = logits.len() / active.len();
        let mut next = Vec::with_capacity(active.len());
        for (row, slot) in active.iter_mut().enumerate() {
            let Some(seq) = *slot else {
                next.push(0);
                continue;
            };
            let row_logits = &logits[row * vocab..(row + 1) * vocab];
            let tok = sample_token(row_logits, cfg, &mut self.rngs[seq]);
            next.push(tok as i64);
            if let Some(finish) = self.push(seq, tok, row_logits, step, cfg, on_text)? {
                self.out[seq] = Some(self.take(seq, finish));
                *slot = None;
            }
        }
        Ok(next)
    }

    /// Sequence `seq`'s generation so far, ending for `finish`; token ends past the text's
    /// end (a stop string cut it) are clamped to it.
    fn take(&mut self, seq: usize, finish: FinishReason) -> Generation {
        let text = std::mem::take(&mut self.texts[seq]);
        let mut text_ends = std::mem::take(&mut self.text_ends[seq]);
        for end in &mut text_ends {
            *end = (*end).min(text.len());
        }
        Generation {
            ids: std::mem::take(&mut self.ids[seq]),
            text,
            finish,
            logprobs: std::mem::take(&mut self.logprobs[seq]),
            text_ends,
        }
    }

    /// Adds token `tok` (sampled at `step` from `logits`, `[vocab_size]`) to sequence `seq`,
    /// streaming its text to `on_text`; returns why the sequence ends, if it does: a stop
    /// token, a stop string (the text is cut before it), or the last step.
    ///
    /// # Errors
    /// Decoding errors.
    fn push(
        &mut self,
        seq: usize,
        tok: u32,
        logits: &[f32],
        step: usize,
        cfg: &SamplingConfig,
        on_text: &mut impl FnMut(usize, &str),
    ) -> Result<Option<FinishReason>> {
        if self.tokenizer.stop_ids.contains(&tok) {
            return Ok(Some(FinishReason::Eos));
        }
        self.ids[seq].push(tok);
        self.logprobs[seq].push(token_logprob(logits, tok));
        let mut stopped = false;
        if let Some(piece) = self.streams[seq].step(tok)? {
            let text = &mut self.texts[seq];
            let before = text.len();
            text.push_str(&piece);
            if let Some(cut) = find_stop(text, &cfg.stop_strings, before) {
                text.truncate(cut);
                if cut > before {
                    on_text(seq, &text[before..]);
                }
                stopped = true;
            } else {
                on_text(seq, &piece);
            }
        }
        self.text_ends[seq].push(self.texts[seq].len());
        Ok(if stopped {
            Some(FinishReason::StopString)
        } else if step + 1 == cfg.max_new_tokens {
            Some(FinishReason::Length)
        } else {
            None
        })
    }

    /// Step 5: every sequence's generation; one that never finished (no step ran) ends
    /// with [`FinishReason::Length`].
    pub(super) fn into_generations(mut self) -> Vec<Generation> {
        let out = std::mem::take(&mut self.out);
        out.into_iter()
            .enumerate()
            .map(|(i, g)| g.unwrap_or_else(|| self.take(i, FinishReason::Length)))
            .collect()
    }
}

/// Step 4: the tokens to feed next, after dropping the finished rows from the batch
/// (`active`, `cache` and `next`) once at least a quarter of the rows are finished; `alive`
/// lists the unfinished rows. Finished rows stay in the batch (fed a dummy token, their
/// logits ignored) until then: dropping rows copies the whole cache, so it is done rarely
/// rather than every time a sequence ends.
pub(super) fn drop_finished_rows(
    cache: &mut KvCache,
    active: &mut Vec<Option<usize>>,
    alive: &[usize],
    next: Vec<i64>,
) -> Vec<i64> {
    if (active.len() - alive.len()) * 4 >= active.len() {
        cache.select_rows(alive);
        *active = alive.iter().map(|&r| active[r]).collect();
        return alive.iter().map(|&r| next[r]).collect();
    }
    next
}

/// Step 4: runs one token per row through the model (appending to `cache`); returns the
/// next logits, `[rows · vocab_size]`.
///
/// # Errors
/// Reading the logits back from the device.
pub(crate) fn forward_tokens(
    model: &Llama,
    next: Vec<i64>,
    cache: &mut KvCache,
    device: &Device,
) -> Result<Vec<f32>> {
    let b = next.len();
    let input = Tensor::<2, Int>::from_data(TensorData::new(next, [b, 1]), device);
    let hidden = model.forward_cached(input, &vec![vec![true]; b], cache);
    last_logits(model, hidden)
}
