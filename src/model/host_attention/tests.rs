//! Tests of [`super::attend`] and the portable loops against the definition in f64.

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
    let got = attend(&q, &k, &v, None, &mask, d, scale);
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
            keys: [&[], &k[..d.total * d.head_dim]],
            values: [&[], &v[..d.total * d.head_dim]],
            split: 0,
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
    let alone = attend(&q, &k, &v, None, &[false; 30], d, scale);
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
    let batched = attend(&q2, &pad_kv(&k), &pad_kv(&v), None, &mask, d2, scale);
    assert_eq!(&batched[9 * hd..], &alone[..], "bit for bit");
}

/// Rows that share their first slots (N samples of one prompt) read them from one copy:
/// the result equals the definition on each row's whole slots, and equals, bit for bit,
/// the same call on a copy of the shared slots per row; the portable loops agree.
#[test]
fn shared_slots_give_what_a_copy_per_row_gives() {
    let (heads, kv_heads, hd) = (9, 3, 64);
    let (prompts, shared_len, own_cap, own_len) = (2, 20, 8, 3);
    let rows = [0usize, 0, 1, 1, 0];
    let batch = rows.len();
    let total = shared_len + own_len;
    let pads = [0, 0, 6, 6, 0]; // prompt 1 is left-padded by 6 slots
    let (sk, sv) = (
        values(prompts * kv_heads * shared_len * hd, 11),
        values(prompts * kv_heads * shared_len * hd, 12),
    );
    let (ok, ov) = (
        values(batch * kv_heads * own_cap * hd, 13),
        values(batch * kv_heads * own_cap * hd, 14),
    );
    // each row's slots copied out: its prompt's shared slots, then its own
    let whole = |shared: &[f32], own: &[f32]| {
        let mut out = Vec::new();
        for (b, &p) in rows.iter().enumerate() {
            for g in 0..kv_heads {
                out.extend_from_slice(
                    &shared[(p * kv_heads + g) * shared_len * hd..][..shared_len * hd],
                );
                out.extend_from_slice(&own[(b * kv_heads + g) * own_cap * hd..][..own_len * hd]);
            }
        }
        out
    };
    let (wk, wv) = (whole(&sk, &ok), whole(&sv, &ov));
    for seq_len in [1, 2] {
        let q = values(batch * heads * seq_len * hd, 15 + seq_len as u64);
        let mask = cache_mask(&pads, seq_len, total);
        let d = AttentionDims {
            batch,
            heads,
            kv_heads,
            seq_len,
            head_dim: hd,
            capacity: own_cap,
            total,
        };
        let shared = SharedSlots {
            keys: &sk,
            values: &sv,
            len: shared_len,
            rows: &rows,
        };
        let scale = 0.125;
        let got = attend(&q, &ok, &ov, Some(&shared), &mask, d, scale);
        let copied = AttentionDims {
            capacity: total,
            ..d
        };
        let want = reference(&q, &wk, &wv, &mask, copied);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((*g as f64 - w).abs() < 2e-5, "output {i}: {g} vs {w}");
        }
        let per_row = attend(&q, &wk, &wv, None, &mask, copied, scale);
        assert_eq!(got, per_row, "bit for bit");

        // the portable loops on row 2 (prompt 1), position 0, heads 0..3
        let visible: Vec<u32> = (0..total as u32)
            .filter(|&j| !mask[2 * seq_len * total + j as usize])
            .collect();
        let bl = Block {
            q: &q[2 * heads * seq_len * hd..],
            q_stride: seq_len * hd,
            rows: 3,
            keys: [
                &sk[kv_heads * shared_len * hd..][..shared_len * hd],
                &ok[2 * kv_heads * own_cap * hd..][..own_len * hd],
            ],
            values: [
                &sv[kv_heads * shared_len * hd..][..shared_len * hd],
                &ov[2 * kv_heads * own_cap * hd..][..own_len * hd],
            ],
            split: shared_len as u32,
            visible: &visible,
            head_dim: hd,
            scale,
        };
        let mut out = vec![0f32; 3 * hd];
        portable_block(&bl, &mut Vec::new(), &mut out);
        let at = 2 * seq_len * heads * hd;
        for (i, (g, w)) in out.iter().zip(&want[at..]).enumerate() {
            assert!(
                (*g as f64 - w).abs() < 2e-5,
                "portable output {i}: {g} vs {w}"
            );
        }
    }
}
