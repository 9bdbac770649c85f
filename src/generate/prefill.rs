//! Step 3 of [`super::generate_with_progress`]: the prompts through the model, each distinct
//! prompt once, left-padded, in chunks.

use anyhow::Result;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::{PREFILL_CHUNK, last_logits};
use crate::model::{KvCache, Llama};

/// Step 3: runs each distinct prompt through the model once (left-padded, in chunks of
/// [`PREFILL_CHUNK`] positions), then repeats its cache rows and logits for every sequence
/// that shares it: N samples of one prompt cost one prefill, and on the CPU their cache
/// holds the prompt's keys and values once ([`KvCache::share_rows`]). Returns the cache (room for
/// `max_new_tokens` more positions) and the last position's logits, one row per prompt.
///
/// # Errors
/// Reading the logits back from the device.
pub(crate) fn prefill(
    model: &Llama,
    prompts: &[Vec<u32>],
    max_len: usize,
    max_new_tokens: usize,
    device: &Device,
) -> Result<(KvCache, Vec<f32>)> {
    let (unique, row_of) = distinct_prompts(prompts);
    let (flat, valid) = left_padded(prompts, &unique, max_len);
    // Chunks of PREFILL_CHUNK positions bound the attention scores to
    // `[rows, heads, PREFILL_CHUNK, prompt_len]` however long the prompt is.
    let mut cache = KvCache::with_capacity(model.layers.len(), max_len + max_new_tokens);
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
    if unique.len() < prompts.len() {
        cache.share_rows(&row_of);
        let vocab = logits.len() / unique.len();
        logits = row_of
            .iter()
            .flat_map(|&u| logits[u * vocab..(u + 1) * vocab].to_vec())
            .collect();
    }
    Ok((cache, logits))
}

/// The distinct prompts, as indices of their first occurrence, and for each prompt the
/// index of its distinct prompt in that list.
fn distinct_prompts(prompts: &[Vec<u32>]) -> (Vec<usize>, Vec<usize>) {
    let mut unique: Vec<usize> = Vec::new();
    let mut row_of = Vec::with_capacity(prompts.len());
    let mut seen = std::collections::HashMap::new();
    for (i, p) in prompts.iter().enumerate() {
        let u = *seen.entry(p).or_insert_with(|| {
            unique.push(i);
            unique.len() - 1
        });
        row_of.push(u);
    }
    (unique, row_of)
}

/// The prompts `unique` left-padded to `max_len`: flattened ids `[rows · max_len]` (padding
/// `0`), and per row which positions are real tokens.
fn left_padded(
    prompts: &[Vec<u32>],
    unique: &[usize],
    max_len: usize,
) -> (Vec<i64>, Vec<Vec<bool>>) {
    let mut flat = Vec::with_capacity(unique.len() * max_len);
    let mut valid = Vec::with_capacity(unique.len());
    for &i in unique {
        let p = &prompts[i];
        let pad = max_len - p.len();
        flat.extend(std::iter::repeat_n(0i64, pad));
        flat.extend(p.iter().map(|&t| t as i64));
        valid.push((0..max_len).map(|j| j >= pad).collect::<Vec<bool>>());
    }
    (flat, valid)
}
