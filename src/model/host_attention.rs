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
/// - `keys`, `values`: `[batch, kv_heads, capacity, head_dim]`, each row's own slots
///   (keys rotated): all `total` of them, or with `shared` the `total − shared.len` slots
///   that follow the shared ones; the new positions are the last `seq_len` slots
/// - `shared`: leading slots stored once for rows that share them ([`SharedSlots`])
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
    shared: Option<&SharedSlots>,
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
    let split = shared.map_or(0, |s| s.len);
    assert!(split <= total, "more shared slots than filled ones");
    assert!(total - split <= capacity, "more filled positions than room");
    if let Some(s) = shared {
        assert!(s.rows.len() == batch, "a shared-slot row per batch row");
        assert!(s.keys.len() == s.values.len(), "shared keys/values shape");
        assert!(
            s.rows
                .iter()
                .all(|&r| (r + 1) * kv_heads * s.len * head_dim <= s.keys.len()),
            "a row's shared slots lie outside the shared buffers"
        );
    }
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
                // rows next to each other take the same KV head one after the other, so
                // the slots they share are read from the cache, not from memory, after the first
                let (pair, block) = (task / blocks, task % blocks);
                let (g, b) = (pair / batch, pair % batch);
                let kv = (b * kv_heads + g) * capacity * head_dim;
                let kv_end = kv + (total - split) * head_dim;
                let (shared_keys, shared_values): (&[f32], &[f32]) = match shared {
                    Some(s) => {
                        let at = (s.rows[b] * kv_heads + g) * s.len * head_dim;
                        let end = at + s.len * head_dim;
                        (&s.keys[at..end], &s.values[at..end])
                    }
                    None => (&[], &[]),
                };
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
                            keys: [shared_keys, &keys[kv..kv_end]],
                            values: [shared_values, &values[kv..kv_end]],
                            split: split as u32,
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
    /// The KV head's keys in two parts, `[split, head_dim]` (the shared slots; empty
    /// without) and `[filled − split, head_dim]` (the row's own): slot `j` is row `j` of the
    /// first part if `j < split`, else row `j − split` of the second.
    pub keys: [&'a [f32]; 2],
    /// The KV head's values, in the same two parts.
    pub values: [&'a [f32]; 2],
    /// The first slot of the second part.
    pub split: u32,
    /// The key slots the position may see, ascending.
    pub visible: &'a [u32],
    /// Width of one head.
    pub head_dim: usize,
    /// `1 / √head_dim`.
    pub scale: f32,
}

impl Block<'_> {
    /// Where slot `j`'s key (`part = keys`) or value (`part = values`) starts: its part and
    /// the offset in it.
    #[inline(always)]
    pub fn locate(&self, j: u32) -> (usize, usize) {
        if j < self.split {
            (0, j as usize * self.head_dim)
        } else {
            (1, (j - self.split) as usize * self.head_dim)
        }
    }

    /// Whether every visible slot's key and value lie inside their part.
    pub fn visible_in_bounds(&self) -> bool {
        let fits = |j: u32| {
            let (part, at) = self.locate(j);
            at + self.head_dim <= self.keys[part].len().min(self.values[part].len())
        };
        let first_own = self.visible.partition_point(|&j| j < self.split);
        (first_own == 0 || fits(self.visible[first_own - 1]))
            && self.visible.last().is_none_or(|&j| fits(j))
    }
}

/// Leading cache slots stored once for several rows: the prompt's slots that the N samples
/// of one prompt share ([`KvCache::share_rows`](super::KvCache::share_rows)).
#[derive(Debug, Clone, Copy)]
pub struct SharedSlots<'a> {
    /// `[prompts, kv_heads, len, head_dim]` (rotated).
    pub keys: &'a [f32],
    /// `[prompts, kv_heads, len, head_dim]`.
    pub values: &'a [f32],
    /// Slots per prompt (the first `len` slots of every row).
    pub len: usize,
    /// Row `b` reads the shared slots of prompt `rows[b]`, `[batch]`.
    pub rows: &'a [usize],
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
            let (part, at) = bl.locate(j);
            let k = &bl.keys[part][at..][..hd];
            s[t] = q.iter().zip(k).map(|(a, b)| a * b).sum::<f32>() * bl.scale;
        }
        let (_, sum) = super::softmax::exp_minus_max_portable(s);
        let o = &mut out[r * hd..(r + 1) * hd];
        o.fill(0.0);
        for (t, &j) in bl.visible.iter().enumerate() {
            let (part, at) = bl.locate(j);
            let v = &bl.values[part][at..][..hd];
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
mod tests;
