//! Batched autoregressive generation with a KV cache: greedy, temperature and nucleus
//! (top-p) sampling with a seed, stop tokens and stop strings, and streaming text that never
//! splits a UTF-8 character.
//!
//! Prompts of different lengths are left-padded; padding slots are masked and positions
//! count real tokens only, so a prompt generates the same tokens alone or in a batch.

use anyhow::{Result, bail};
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

use crate::model::{KvCache, Llama};

mod sampling;
use crate::tokenizer::Tokenizer;
pub use sampling::sample_token;

/// Prompt positions run through the model at once during prefill.
const PREFILL_CHUNK: usize = 256;

/// How to pick each next token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamplingConfig {
    /// Most tokens to generate per sequence.
    pub max_new_tokens: usize,
    /// Softmax temperature; `0` means greedy (argmax).
    pub temperature: f32,
    /// Nucleus sampling: sample from the smallest set of tokens whose probability mass
    /// reaches `top_p` (`1.0` = the whole vocabulary).
    pub top_p: f32,
    /// Seed; sequence `i` of a call uses `seed + i`.
    pub seed: u64,
    /// Generation of a sequence stops when its text contains one of these; the text is cut
    /// before it.
    #[serde(default)]
    pub stop_strings: Vec<String>,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        Self {
            max_new_tokens: 256,
            temperature: 0.0,
            top_p: 1.0,
            seed: 0,
            stop_strings: Vec::new(),
        }
    }
}

/// Why a sequence ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// An end-of-sequence / end-of-turn token.
    Eos,
    /// A stop string.
    StopString,
    /// `max_new_tokens` reached.
    Length,
}

/// One generated continuation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generation {
    /// Generated ids (without the stop token).
    pub ids: Vec<u32>,
    /// Decoded text, cut before a stop string.
    pub text: String,
    /// Why it ended.
    pub finish: FinishReason,
}

impl SamplingConfig {
    /// Checks the settings.
    ///
    /// # Errors
    /// A negative or non-finite temperature, or `top_p` outside `(0, 1]`.
    pub fn validate(&self) -> Result<()> {
        crate::settings::temperature(self.temperature)?;
        crate::settings::top_p(self.top_p)?;
        Ok(())
    }
}

/// Generates a continuation for each prompt (token ids, already templated), in one batch.
///
/// `on_text(i, piece)` receives streamed text of sequence `i` as it completes.
///
/// # Errors
/// Empty prompt, prompt plus `max_new_tokens` longer than the model's context, decoding.
pub fn generate(
    model: &Llama,
    tokenizer: &Tokenizer,
    prompts: &[Vec<u32>],
    cfg: &SamplingConfig,
    mut on_text: impl FnMut(usize, &str),
    device: &Device,
) -> Result<Vec<Generation>> {
    cfg.validate()?;
    if prompts.is_empty() {
        return Ok(Vec::new());
    }
    let max_len = prompts.iter().map(Vec::len).max().unwrap_or(0);
    if prompts.iter().any(Vec::is_empty) {
        bail!("cannot generate from an empty prompt");
    }
    let ctx = model.config.max_position_embeddings;
    if max_len + cfg.max_new_tokens > ctx {
        bail!(
            "prompt ({max_len} tokens) + max_new_tokens ({}) exceeds the context length {ctx}",
            cfg.max_new_tokens
        );
    }
    let n = prompts.len();
    let mut rngs: Vec<StdRng> = (0..n)
        .map(|i| StdRng::seed_from_u64(cfg.seed.wrapping_add(i as u64)))
        .collect();
    let mut streams: Vec<_> = (0..n).map(|_| tokenizer.decode_stream(true)).collect();
    let mut texts = vec![String::new(); n];
    let mut out: Vec<Option<Generation>> = vec![None; n];
    let mut ids_out: Vec<Vec<u32>> = vec![Vec::new(); n];

    // Prefill each distinct prompt once (left-padded), then repeat its cache rows for every
    // sequence that shares it: N samples of one prompt cost one prefill.
    let mut unique: Vec<usize> = Vec::new();
    let mut row_of = Vec::with_capacity(n);
    let mut seen = std::collections::HashMap::new();
    for (i, p) in prompts.iter().enumerate() {
        let u = *seen.entry(p).or_insert_with(|| {
            unique.push(i);
            unique.len() - 1
        });
        row_of.push(u);
    }
    let mut flat = Vec::with_capacity(unique.len() * max_len);
    let mut valid = Vec::with_capacity(unique.len());
    for &i in &unique {
        let p = &prompts[i];
        let pad = max_len - p.len();
        flat.extend(std::iter::repeat_n(0i64, pad));
        flat.extend(p.iter().map(|&t| t as i64));
        valid.push((0..max_len).map(|j| j >= pad).collect::<Vec<bool>>());
    }
    // Chunks of PREFILL_CHUNK positions bound the attention scores to
    // `[rows, heads, PREFILL_CHUNK, prompt_len]` however long the prompt is.
    let mut cache = KvCache::with_capacity(model.layers.len(), max_len + cfg.max_new_tokens);
    let rows = unique.len();
    let mut hidden = None;
    for start in (0..max_len).step_by(PREFILL_CHUNK) {
        let end = (start + PREFILL_CHUNK).min(max_len);
        let ids: Vec<i64> = (0..rows)
            .flat_map(|r| flat[r * max_len + start..r * max_len + end].iter().copied())
            .collect();
        let chunk_valid: Vec<Vec<bool>> = valid.iter().map(|v| v[start..end].to_vec()).collect();
        let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [rows, end - start]), device);
        hidden = Some(model.forward_cached(input, &chunk_valid, &mut cache));
    }
    let mut logits = last_logits(model, hidden.expect("prompts are not empty"))?;
    if unique.len() < n {
        cache.select_rows(&row_of);
        let vocab = logits.len() / unique.len();
        logits = row_of
            .iter()
            .flat_map(|&u| logits[u * vocab..(u + 1) * vocab].to_vec())
            .collect();
    }
    // `active[row]`: the sequence decoded in cache row `row`, `None` once it has finished.
    // Finished rows stay in the batch (fed a dummy token, their logits ignored) until a
    // quarter of the rows are finished: dropping rows copies the whole cache, so it is done
    // rarely rather than every time a sequence ends.
    let mut active: Vec<Option<usize>> = (0..n).map(Some).collect();

    for step in 0..cfg.max_new_tokens {
        let vocab = logits.len() / active.len();
        let mut next = Vec::with_capacity(active.len());
        for (row, slot) in active.iter_mut().enumerate() {
            let Some(seq) = *slot else {
                next.push(0);
                continue;
            };
            let tok = sample_token(&logits[row * vocab..(row + 1) * vocab], cfg, &mut rngs[seq]);
            next.push(tok as i64);
            let finish = if tokenizer.stop_ids.contains(&tok) {
                Some(FinishReason::Eos)
            } else {
                ids_out[seq].push(tok);
                let mut stopped = false;
                if let Some(piece) = streams[seq].step(tok)? {
                    let before = texts[seq].len();
                    texts[seq].push_str(&piece);
                    if let Some(cut) = find_stop(&texts[seq], &cfg.stop_strings, before) {
                        texts[seq].truncate(cut);
                        if cut > before {
                            on_text(seq, &texts[seq][before..]);
                        }
                        stopped = true;
                    } else {
                        on_text(seq, &piece);
                    }
                }
                if stopped {
                    Some(FinishReason::StopString)
                } else if step + 1 == cfg.max_new_tokens {
                    Some(FinishReason::Length)
                } else {
                    None
                }
            };
            if let Some(finish) = finish {
                out[seq] = Some(Generation {
                    ids: std::mem::take(&mut ids_out[seq]),
                    text: std::mem::take(&mut texts[seq]),
                    finish,
                });
                *slot = None;
            }
        }
        let alive: Vec<usize> = (0..active.len()).filter(|&r| active[r].is_some()).collect();
        if alive.is_empty() {
            break;
        }
        if (active.len() - alive.len()) * 4 >= active.len() {
            cache.select_rows(&alive);
            next = alive.iter().map(|&r| next[r]).collect();
            active = alive.iter().map(|&r| active[r]).collect();
        }
        let b = active.len();
        let input = Tensor::<2, Int>::from_data(TensorData::new(next, [b, 1]), device);
        let hidden = model.forward_cached(input, &vec![vec![true]; b], &mut cache);
        logits = last_logits(model, hidden)?;
    }
    Ok(out
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            g.unwrap_or_else(|| Generation {
                ids: std::mem::take(&mut ids_out[i]),
                text: std::mem::take(&mut texts[i]),
                finish: FinishReason::Length,
            })
        })
        .collect())
}

/// Logits of the last position of each row, flattened `[batch · vocab_size]` on the host.
fn last_logits(model: &Llama, hidden: Tensor<3>) -> Result<Vec<f32>> {
    let [_, s, _] = hidden.dims();
    let logits = model.logits(hidden.narrow(1, s - 1, 1));
    logits
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| anyhow::anyhow!("reading logits: {e:?}"))
}

/// Byte index where the first stop string starts, searching only where a match could
/// involve text appended after `new_from`.
fn find_stop(text: &str, stops: &[String], new_from: usize) -> Option<usize> {
    stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| {
            let mut from = new_from.saturating_sub(s.len() - 1);
            while !text.is_char_boundary(from) {
                from -= 1;
            }
            text[from..].find(s.as_str()).map(|i| from + i)
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_string_search_spans_pieces() {
        let stops = vec!["\n\nQ:".to_string()];
        assert_eq!(find_stop("answer\n\nQ", &stops, 7), None);
        assert_eq!(find_stop("answer\n\nQ:", &stops, 9), Some(6));
        assert_eq!(find_stop("é\n\nQ:", &stops, 3), Some(2));
    }
}
