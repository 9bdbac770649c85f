//! Scaled dot-product attention of a generation's forward passes on the CPU, computed on the
//! host from the KV cache's own buffers: `softmax(q·kᵀ / √head_dim + mask) · v` (Vaswani et
//! al. 2017, §3.2.1) with grouped-query heads (query head `h` reads KV head
//! `h / (num_attention_heads / num_key_value_heads)`, HF `repeat_kv`).
//!
//! The backend's path (`Attention::forward` without a cache) builds the whole
//! `[batch, heads, seq_len, past_len + seq_len]` score tensor, fills the masked slots with
//! `-∞`, takes a softmax of five element-wise passes with a scalar `exp`, and multiplies by
//! the values with the general matrix product, which packs the cached keys and values again
//! at every call. Here each query reads only the keys it may see (the unmasked slots, in
//! order), the scores of the query heads that share a KV head are computed together (each
//! cached key is loaded once for all of them), the softmax's `exp` is vectorized, and the
//! output is written straight in `[batch, seq_len, heads · head_dim]`, the layout `o_proj`
//! reads. Work is split across the rayon threads by (row, KV head, block of positions).
//!
//! Each query's result depends only on its own query vector and the keys/values it sees, in
//! slot order: not on the batch, on padding, or on how a prompt was cut into prefill chunks.
//! So a decode step's attention is the same, bit for bit, for a sequence alone or in a batch.
//! With AVX-512 (`host_attention/avx512.rs`) the products are vectorized along `head_dim`
//! (a multiple of 16); other CPUs, or other head sizes, take the portable loops below.

use rayon::prelude::*;

use super::gemv::SyncPtr;

#[cfg(target_arch = "x86_64")]
mod avx512;

/// Positions of one row that one task takes (a decode step has one).
const POSITIONS_PER_TASK: usize = 16;

/// Query heads scored together against each key (the group of heads sharing a KV head is
/// split into blocks of at most this many).
pub(crate) const MAX_BLOCK: usize = 4;

/// The sizes of one attention call.
#[derive(Debug, Clone, Copy)]
pub struct AttentionDims {
    /// Rows (sequences) of the batch.
    pub batch: usize,
    /// `num_attention_heads`.
    pub heads: usize,
    /// `num_key_value_heads` (divides `heads`).
    pub kv_heads: usize,
    /// New positions per row (`seq_len`).
    pub seq_len: usize,
    /// `head_dim`.
    pub head_dim: usize,
    /// Positions the cache buffers hold room for (their third dimension).
    pub capacity: usize,
    /// Filled cache positions, the new ones included (`past_len + seq_len`).
    pub total: usize,
}

/// Attention output for the new positions of every row.
///
/// # Shapes
/// - `q`: `[batch, heads, seq_len, head_dim]` (rotated)
/// - `keys`, `values`: `[batch, kv_heads, capacity, head_dim]`, positions `0..total` filled
///   (keys rotated); the new positions are the last `seq_len` of them
/// - `mask`: `[batch, seq_len, total]`, `true` = may not attend (padding, the future)
/// - output: `[batch, seq_len, heads · head_dim]`
///
/// A query with no visible key (never the case for a cache's masks: a query always sees
/// itself) gets zeros.
///
/// # Panics
/// If the buffers do not have these shapes, or `kv_heads` does not divide `heads`.
pub fn attend(
    q: &[f32],
    keys: &[f32],
    values: &[f32],
    mask: &[bool],
    d: AttentionDims,
    scale: f32,
) -> Vec<f32> {
    let AttentionDims {
        batch,
        heads,
        kv_heads,
        seq_len,
        head_dim,
        capacity,
        total,
    } = d;
    assert!(kv_heads > 0 && heads % kv_heads == 0, "heads per KV head");
    assert!(total <= capacity, "more filled positions than room");
    assert_eq!(
        q.len(),
        batch * heads * seq_len * head_dim,
        "q is not [b, h, s, d]"
    );
    let kv_len = batch * kv_heads * capacity * head_dim;
    assert!(
        keys.len() == kv_len && values.len() == kv_len,
        "keys/values shape"
    );
    assert_eq!(
        mask.len(),
        batch * seq_len * total,
        "mask is not [b, s, total]"
    );

    let mut out = vec![0f32; batch * seq_len * heads * head_dim];
    let out_ptr = SyncPtr(out.as_mut_ptr());
    let blocks = seq_len.div_ceil(POSITIONS_PER_TASK);
    let rep = heads / kv_heads;
    let vectorized = avx512_available() && head_dim % 16 == 0;
    (0..batch * kv_heads * blocks)
        .into_par_iter()
        .for_each_init(
            || (Vec::new(), Vec::new()),
            |(visible, scores): &mut (Vec<u32>, Vec<f32>), task| {
                let (pair, block) = (task / blocks, task % blocks);
                let (b, g) = (pair / kv_heads, pair % kv_heads);
                let kv = (b * kv_heads + g) * capacity * head_dim;
                let kv_end = kv + total * head_dim;
                let positions =
                    block * POSITIONS_PER_TASK..((block + 1) * POSITIONS_PER_TASK).min(seq_len);
                for i in positions {
                    let row_mask = &mask[(b * seq_len + i) * total..][..total];
                    visible.clear();
                    visible.extend((0..total as u32).filter(|&j| !row_mask[j as usize]));
                    for h0 in (g * rep..(g + 1) * rep).step_by(MAX_BLOCK) {
                        let rows = MAX_BLOCK.min((g + 1) * rep - h0);
                        let block = Block {
                            q: &q[((b * heads + h0) * seq_len + i) * head_dim..],
                            q_stride: seq_len * head_dim,
                            rows,
                            keys: &keys[kv..kv_end],
                            values: &values[kv..kv_end],
                            visible,
                            head_dim,
                            scale,
                        };
                        let out_at = ((b * seq_len + i) * heads + h0) * head_dim;
                        // SAFETY: output rows (b, i, h0..h0 + rows) belong to this task
                        // alone, and lie inside `out`.
                        let dst = unsafe {
                            std::slice::from_raw_parts_mut(out_ptr.at(out_at), rows * head_dim)
                        };
                        if vectorized {
                            #[cfg(target_arch = "x86_64")]
                            // SAFETY: AVX-512F and FMA detected; head_dim % 16 == 0.
                            unsafe {
                                avx512::block(&block, scores, dst)
                            };
                        } else {
                            portable_block(&block, scores, dst);
                        }
                    }
                }
            },
        );
    out
}

/// Whether this CPU takes the AVX-512 kernel (for head sizes that are multiples of 16).
pub fn avx512_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    return super::simd_exp::available();
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The query heads of one block (consecutive heads sharing a KV head) at one position, and
/// the keys/values of their KV head.
pub(crate) struct Block<'a> {
    /// Head `r`'s query is `q[r · q_stride..][..head_dim]`.
    pub q: &'a [f32],
    /// Distance between consecutive heads' queries.
    pub q_stride: usize,
    /// Heads in the block (1..=[`MAX_BLOCK`]).
    pub rows: usize,
    /// `[filled, head_dim]`: the KV head's keys.
    pub keys: &'a [f32],
    /// `[filled, head_dim]`: the KV head's values.
    pub values: &'a [f32],
    /// The key slots the position may see, ascending.
    pub visible: &'a [u32],
    /// Width of one head.
    pub head_dim: usize,
    /// `1 / √head_dim`.
    pub scale: f32,
}

/// One block's attention in plain loops (`out`: `[rows, head_dim]`).
pub(crate) fn portable_block(bl: &Block, scores: &mut Vec<f32>, out: &mut [f32]) {
    let (n, hd) = (bl.visible.len(), bl.head_dim);
    scores.clear();
    scores.resize(bl.rows * n, 0.0);
    for r in 0..bl.rows {
        let q = &bl.q[r * bl.q_stride..][..hd];
        let s = &mut scores[r * n..(r + 1) * n];
        for (t, &j) in bl.visible.iter().enumerate() {
            let k = &bl.keys[j as usize * hd..][..hd];
            s[t] = q.iter().zip(k).map(|(a, b)| a * b).sum::<f32>() * bl.scale;
        }
        let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0f32;
        for x in s.iter_mut() {
            *x = (*x - max).exp();
            sum += *x;
        }
        let o = &mut out[r * hd..(r + 1) * hd];
        o.fill(0.0);
        for (t, &j) in bl.visible.iter().enumerate() {
            let v = &bl.values[j as usize * hd..][..hd];
            for (o, v) in o.iter_mut().zip(v) {
                *o += s[t] * v;
            }
        }
        if sum > 0.0 {
            let inv = 1.0 / sum;
            o.iter_mut().for_each(|x| *x *= inv);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-2, 2) (the generator the quantized kernels' tests use).
    fn values(n: usize, seed: u64) -> Vec<f32> {
        crate::model::quant_blocks::testing::values(n, seed, 2.0)
    }

    /// The definition, in f64: for each (row, position, head), softmax over the unmasked
    /// keys of the head's KV head, then the weighted sum of values.
    fn reference(q: &[f32], k: &[f32], v: &[f32], mask: &[bool], d: AttentionDims) -> Vec<f64> {
        let AttentionDims {
            batch,
            heads,
            kv_heads,
            seq_len,
            head_dim: hd,
            capacity,
            total,
        } = d;
        let rep = heads / kv_heads;
        let scale = 1.0 / (hd as f64).sqrt();
        let mut out = vec![0f64; batch * seq_len * heads * hd];
        for b in 0..batch {
            for i in 0..seq_len {
                for h in 0..heads {
                    let g = h / rep;
                    let qv = &q[((b * heads + h) * seq_len + i) * hd..][..hd];
                    let kv = (b * kv_heads + g) * capacity * hd;
                    let seen: Vec<usize> = (0..total)
                        .filter(|&j| !mask[(b * seq_len + i) * total + j])
                        .collect();
                    let s: Vec<f64> = seen
                        .iter()
                        .map(|&j| {
                            (0..hd)
                                .map(|c| qv[c] as f64 * k[kv + j * hd + c] as f64)
                                .sum::<f64>()
                                * scale
                        })
                        .collect();
                    let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = s.iter().map(|x| (x - max).exp()).collect();
                    let sum: f64 = e.iter().sum();
                    let o = &mut out[((b * seq_len + i) * heads + h) * hd..][..hd];
                    for (t, &j) in seen.iter().enumerate() {
                        for c in 0..hd {
                            o[c] += e[t] / sum * v[kv + j * hd + c] as f64;
                        }
                    }
                }
            }
        }
        out
    }

    /// A cache-style mask: row `b` has `pads[b]` padding slots first; query `i` sees the
    /// real slots up to its own (`past + i`).
    fn cache_mask(pads: &[usize], seq_len: usize, total: usize) -> Vec<bool> {
        let past = total - seq_len;
        let mut m = Vec::new();
        for &pad in pads {
            for i in 0..seq_len {
                m.extend((0..total).map(|j| j < pad.min(past + i) || j > past + i));
            }
        }
        m
    }

    fn check(d: AttentionDims, pads: &[usize], both: bool) {
        let q = values(d.batch * d.heads * d.seq_len * d.head_dim, 1);
        let k = values(d.batch * d.kv_heads * d.capacity * d.head_dim, 2);
        let v = values(d.batch * d.kv_heads * d.capacity * d.head_dim, 3);
        let mask = cache_mask(pads, d.seq_len, d.total);
        let want = reference(&q, &k, &v, &mask, d);
        let scale = 1.0 / (d.head_dim as f32).sqrt();
        let got = attend(&q, &k, &v, &mask, d, scale);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!(
                (*g as f64 - w).abs() < 2e-5,
                "output {i}: {g} vs {w} ({d:?})"
            );
        }
        if both {
            // the portable loops, whatever this CPU takes
            let rep = d.heads / d.kv_heads;
            let mut scores = Vec::new();
            let visible: Vec<u32> = (0..d.total as u32).filter(|&j| !mask[j as usize]).collect();
            let bl = Block {
                q: &q,
                q_stride: d.seq_len * d.head_dim,
                rows: rep.min(MAX_BLOCK),
                keys: &k[..d.total * d.head_dim],
                values: &v[..d.total * d.head_dim],
                visible: &visible,
                head_dim: d.head_dim,
                scale,
            };
            let mut out = vec![0f32; bl.rows * d.head_dim];
            portable_block(&bl, &mut scores, &mut out);
            for (i, (g, w)) in out.iter().zip(&want).enumerate() {
                assert!(
                    (*g as f64 - w).abs() < 2e-5,
                    "portable output {i}: {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn decode_steps_and_prefill_chunks_match_the_definition_in_f64() {
        let dims = |batch, heads, kv_heads, seq_len, head_dim, capacity, total| AttentionDims {
            batch,
            heads,
            kv_heads,
            seq_len,
            head_dim,
            capacity,
            total,
        };
        // a decode step: SmolLM2's heads (9 over 3 KV heads, 64 wide), padded rows
        check(dims(3, 9, 3, 1, 64, 40, 37), &[0, 5, 36], true);
        // a prefill chunk after a cached part, 8 heads per KV head (two blocks), 128 wide
        check(dims(2, 16, 2, 20, 128, 64, 50), &[0, 7], true);
        // one head per KV head, a head size the vector kernel does not take, a whole prompt
        check(dims(1, 2, 2, 33, 24, 33, 33), &[0], true);
    }

    #[test]
    fn a_query_gets_the_same_result_alone_and_beside_padded_rows() {
        let d = AttentionDims {
            batch: 1,
            heads: 9,
            kv_heads: 3,
            seq_len: 1,
            head_dim: 64,
            capacity: 30,
            total: 30,
        };
        let hd = 64;
        let q = values(9 * hd, 4);
        let k = values(3 * 30 * hd, 5);
        let v = values(3 * 30 * hd, 6);
        let scale = 0.125;
        let alone = attend(&q, &k, &v, &[false; 30], d, scale);
        // the same row behind 11 padding slots, in a batch of 2
        let (cap, total) = (48, 41);
        let pad_kv = |x: &[f32]| {
            let mut out = vec![0f32; 2 * 3 * cap * hd];
            for g in 0..3 {
                out[(3 + g) * cap * hd + 11 * hd..][..30 * hd]
                    .copy_from_slice(&x[g * 30 * hd..][..30 * hd]);
            }
            out
        };
        let q2 = [values(9 * hd, 7), q.clone()].concat();
        let mask = [vec![false; total], (0..total).map(|j| j < 11).collect()].concat();
        let d2 = AttentionDims {
            batch: 2,
            capacity: cap,
            total,
            ..d
        };
        let batched = attend(&q2, &pad_kv(&k), &pad_kv(&v), &mask, d2, scale);
        assert_eq!(&batched[9 * hd..], &alone[..], "bit for bit");
    }
}
