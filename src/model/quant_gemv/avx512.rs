//! The AVX-512 kernels of [`super`]: one pass over a weight row for all `M` activation rows,
//! each block widened once, the `M` sums in registers.

use super::{BLOCK, shift};
use std::arch::x86_64::*;

/// [`super::q4_1_row`] with AVX-512.
///
/// # Safety
/// The CPU must have AVX-512F/BW and FMA; the slices must have the lengths of one row:
/// `quants` 16 bytes and `scale`/`min` one value per block, `x` `[M, k]`, `xsum`
/// `[M, k / 32]`.
#[target_feature(enable = "avx512f,avx512bw,fma")]
#[inline]
pub unsafe fn q4_1_row<const M: usize>(
    quants: &[u8],
    scale: &[f32],
    min: &[f32],
    x: &[f32],
    xsum: &[f32],
    k: usize,
) -> [f32; M] {
    let nb = scale.len();
    assert!(quants.len() >= nb * 16 && x.len() >= M * k && k >= nb * BLOCK);
    assert!(min.len() >= nb && xsum.len() >= M * nb);
    let mut acc = [_mm512_setzero_ps(); M];
    let low = _mm512_set1_epi32(15);
    for b in 0..nb {
        // SAFETY: in bounds by the asserts above.
        unsafe {
            let q = _mm512_cvtepu8_epi32(_mm_loadu_si128(
                quants.as_ptr().add(b * 16) as *const __m128i
            ));
            let lo = _mm512_cvtepi32_ps(_mm512_and_si512(q, low));
            let hi = _mm512_cvtepi32_ps(_mm512_srli_epi32::<4>(q));
            let d = _mm512_set1_ps(*scale.get_unchecked(b));
            for (j, acc) in acc.iter_mut().enumerate() {
                let xp = x.as_ptr().add(j * k + b * BLOCK);
                let t = _mm512_mul_ps(_mm512_loadu_ps(xp), lo);
                let t = _mm512_fmadd_ps(_mm512_loadu_ps(xp.add(16)), hi, t);
                *acc = _mm512_fmadd_ps(t, d, *acc);
            }
        }
    }
    let mut out = [0f32; M];
    for (j, o) in out.iter_mut().enumerate() {
        *o = _mm512_reduce_add_ps(acc[j]) + shift(&min[..nb], &xsum[j * nb..(j + 1) * nb]);
    }
    out
}

/// [`super::q8_0_row`] with AVX-512.
///
/// # Safety
/// The CPU must have AVX-512F/BW and FMA; `quants` must hold 32 bytes per block of
/// `scale`, and `x` be `[M, k]` with `k ≥ 32 · blocks`.
#[target_feature(enable = "avx512f,avx512bw,fma")]
#[inline]
pub unsafe fn q8_0_row<const M: usize>(
    quants: &[u8],
    scale: &[f32],
    x: &[f32],
    k: usize,
) -> [f32; M] {
    let nb = scale.len();
    assert!(quants.len() >= nb * 32 && x.len() >= M * k && k >= nb * BLOCK);
    let mut acc = [_mm512_setzero_ps(); M];
    for b in 0..nb {
        // SAFETY: in bounds by the assert above.
        unsafe {
            let p = quants.as_ptr().add(b * 32);
            let lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(p as *const __m128i)));
            let hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(
                p.add(16) as *const __m128i
            )));
            let d = _mm512_set1_ps(*scale.get_unchecked(b));
            for (j, acc) in acc.iter_mut().enumerate() {
                let xp = x.as_ptr().add(j * k + b * BLOCK);
                let t = _mm512_mul_ps(_mm512_loadu_ps(xp), lo);
                let t = _mm512_fmadd_ps(_mm512_loadu_ps(xp.add(16)), hi, t);
                *acc = _mm512_fmadd_ps(t, d, *acc);
            }
        }
    }
    acc.map(|a| _mm512_reduce_add_ps(a))
}
