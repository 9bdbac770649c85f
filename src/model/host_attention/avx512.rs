//! The AVX-512 kernel of [`super::attend`]: one block of query heads (sharing a KV head) at
//! one position, `head_dim` a multiple of 16.
//!
//! 1. Scores: for each visible key, its `head_dim / 16` vectors are loaded once and
//!    multiplied into one vector sum per query head, reduced to `q·k · scale`.
//! 2. Softmax per head over its scores, 16 at a time: the max, then `exp(s − max)` by
//!    [`exp`] (vectorized, ≤ 2 ulp) and its sum.
//! 3. Output: `Σ p · v` over the visible values, each value vector loaded once for all heads
//!    of the block (sums for up to 4 × 4 vectors in registers), times `1 / Σ p`.
//!
//! Every sum runs in a fixed order over the visible keys, whatever the block or the batch.

use std::arch::x86_64::*;

use super::{Block, MAX_BLOCK};
use crate::model::simd_exp::softmax_numerators;

/// Columns of the output (16 floats each) summed at a time in step 3.
const COLS: usize = 4;

/// One block's attention (`out`: `[rows, head_dim]`).
///
/// # Safety
/// The CPU must have AVX-512F and FMA; `bl.head_dim` must be a multiple of 16 and the
/// slices as [`Block`] documents them.
#[target_feature(enable = "avx512f,fma")]
pub(super) unsafe fn block(bl: &Block, scores: &mut Vec<f32>, out: &mut [f32]) {
    let (rows, hd) = (bl.rows, bl.head_dim);
    assert!(hd % 16 == 0 && (1..=MAX_BLOCK).contains(&rows) && out.len() >= rows * hd);
    assert!(bl.q.len() >= (rows - 1) * bl.q_stride + hd);
    assert!(bl.visible_in_bounds());
    // Constant row and column counts keep the sums in registers (a runtime count leaves
    // them in memory).
    // SAFETY: this function's own features and the checks above.
    unsafe {
        match (rows, (hd / 16) % COLS == 0) {
            (1, true) => rows_of::<1, COLS>(bl, scores, out),
            (2, true) => rows_of::<2, COLS>(bl, scores, out),
            (3, true) => rows_of::<3, COLS>(bl, scores, out),
            (4, true) => rows_of::<4, COLS>(bl, scores, out),
            (1, false) => rows_of::<1, 1>(bl, scores, out),
            (2, false) => rows_of::<2, 1>(bl, scores, out),
            (3, false) => rows_of::<3, 1>(bl, scores, out),
            _ => rows_of::<4, 1>(bl, scores, out),
        }
    }
}

/// [`block`] for `R` rows, the output summed `C` vectors of columns at a time (`C` divides
/// `head_dim / 16`).
#[target_feature(enable = "avx512f,fma")]
unsafe fn rows_of<const R: usize, const C: usize>(
    bl: &Block,
    scores: &mut Vec<f32>,
    out: &mut [f32],
) {
    let (n, hd) = (bl.visible.len(), bl.head_dim);
    let vectors = hd / 16;
    scores.clear();
    scores.resize(R * n, 0.0);
    let q = bl.q.as_ptr();
    let kp = [bl.keys[0].as_ptr(), bl.keys[1].as_ptr()];
    let vp = [bl.values[0].as_ptr(), bl.values[1].as_ptr()];
    let sp = scores.as_mut_ptr();

    // 1. scores[r · n + t] = q_r · k_visible[t] · scale
    for (t, &j) in bl.visible.iter().enumerate() {
        // SAFETY: key `j` is inside its part (checked by `block`); query `r` inside `q`;
        // `scores` holds R · n values.
        unsafe {
            let (part, at) = bl.locate(j);
            let k = kp[part].add(at);
            let mut acc = [_mm512_setzero_ps(); R];
            for c in 0..vectors {
                let kv = _mm512_loadu_ps(k.add(16 * c));
                for (r, a) in acc.iter_mut().enumerate() {
                    let qv = _mm512_loadu_ps(q.add(r * bl.q_stride + 16 * c));
                    *a = _mm512_fmadd_ps(qv, kv, *a);
                }
            }
            for (r, a) in acc.iter().enumerate() {
                *sp.add(r * n + t) = _mm512_reduce_add_ps(*a) * bl.scale;
            }
        }
    }

    // 2. softmax numerators in place, and 1 / their sum per head
    let mut inv_sum = [0f32; R];
    for (r, inv) in inv_sum.iter_mut().enumerate() {
        // SAFETY: this function's own features.
        let (_, sum) = unsafe { softmax_numerators(&mut scores[r * n..(r + 1) * n]) };
        *inv = if sum > 0.0 { 1.0 / sum } else { 0.0 };
    }

    // 3. out_r = Σ_t p[r, t] · v_visible[t] / sum_r, C vectors of columns at a time
    let sp = scores.as_ptr();
    for c0 in (0..vectors).step_by(C) {
        // SAFETY: value `j` is inside its part (checked by `block`); `out` holds R · hd
        // floats (checked by `block`).
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); C]; R];
            for (t, &j) in bl.visible.iter().enumerate() {
                let (part, at) = bl.locate(j);
                let v = vp[part].add(at + 16 * c0);
                let mut vv = [_mm512_setzero_ps(); C];
                for (c, x) in vv.iter_mut().enumerate() {
                    *x = _mm512_loadu_ps(v.add(16 * c));
                }
                for (r, a) in acc.iter_mut().enumerate() {
                    let p = _mm512_set1_ps(*sp.add(r * n + t));
                    for (x, v) in a.iter_mut().zip(&vv) {
                        *x = _mm512_fmadd_ps(p, *v, *x);
                    }
                }
            }
            for (r, a) in acc.iter().enumerate() {
                let inv = _mm512_set1_ps(inv_sum[r]);
                let o = out.as_mut_ptr().add(r * hd + 16 * c0);
                for (c, x) in a.iter().enumerate() {
                    _mm512_storeu_ps(o.add(16 * c), _mm512_mul_ps(*x, inv));
                }
            }
        }
    }
}
