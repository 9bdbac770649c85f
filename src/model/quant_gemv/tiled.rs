//! The AVX-512 kernel for products of more activation rows than the one-pass kernels of
//! [`super::avx512`] keep in registers (a batch of sequences decoding together), from a
//! weight held as blocks or as f32 rows.
//!
//! A thread takes [`TILE`] weight rows at a time (blocks are first widened into an f32
//! scratch of `[TILE, k]`: the exact dequantized values, `q · d + m` as the loader computes
//! them, so the sums below are the f32 model's products), then multiplies them by the
//! activations [`GROUP`] rows at a time: a `TILE × GROUP` block of vector sums held in
//! registers, each weight vector loaded once per group and each activation vector once per
//! tile (the register blocking of a GEMM micro-kernel, along `k` since both operands are
//! `k`-contiguous). Widening costs one pass over the weight per call, shared by all `m` rows.

use super::super::gemv::SyncPtr;
use super::{BLOCK, BlockKind, BlockRows, Source};
use std::arch::x86_64::*;

/// Weight rows widened and multiplied together.
pub const TILE: usize = 4;
/// Activation rows per register block (`TILE · GROUP` = 24 of the 32 vector registers).
pub const GROUP: usize = 6;

/// Output columns `r0..r1` of `x · wᵀ` for all `m` rows of `x`.
///
/// # Safety
/// The CPU must have AVX-512F/BW and FMA; `x` must be `[m, k]`; `out` must point at an
/// `[m, n]` buffer whose columns `r0..r1` no other thread writes meanwhile.
#[target_feature(enable = "avx512f,avx512bw,fma")]
pub unsafe fn rows(w: Source, x: &[f32], m: usize, r0: usize, r1: usize, out: SyncPtr) {
    let (n, k) = w.dims();
    assert!(x.len() >= m * k && r1 <= n && k % 16 == 0);
    let mut scratch = match w {
        Source::Blocks(_) => vec![0f32; TILE * k],
        Source::F32 { w, .. } => {
            assert!(w.len() >= n * k);
            Vec::new()
        }
    };
    let mut r = r0;
    while r < r1 {
        let tile = TILE.min(r1 - r);
        let wp = match w {
            Source::Blocks(b) => {
                for i in 0..tile {
                    // SAFETY: this function's own features.
                    unsafe { widen(b, r + i, &mut scratch[i * k..(i + 1) * k]) };
                }
                scratch.as_ptr()
            }
            // SAFETY: rows `r..r + tile` are inside `w` (asserted above).
            Source::F32 { w, .. } => unsafe { w.as_ptr().add(r * k) },
        };
        let mut j = 0;
        while j < m {
            let group = GROUP.min(m - j);
            // SAFETY: `wp` holds `tile` rows of `k`, `x` rows `j..j + group` exist; the
            // outputs are columns `r..r + tile` of rows `j..j + group`.
            unsafe {
                let xp = x.as_ptr().add(j * k);
                let o = |jj: usize| out.at((j + jj) * n + r);
                match (tile, group) {
                    (4, 6) => store::<4, 6>(block::<4, 6>(wp, xp, k), o),
                    (4, g) => by_group::<4>(g, wp, xp, k, o),
                    (3, g) => by_group::<3>(g, wp, xp, k, o),
                    (2, g) => by_group::<2>(g, wp, xp, k, o),
                    (_, g) => by_group::<1>(g, wp, xp, k, o),
                }
            }
            j += group;
        }
        r += tile;
    }
}

/// [`block`] for a group of `g` (1..=6) activation rows.
///
/// # Safety
/// As [`block`]; `o` must give valid output addresses.
#[inline(always)]
unsafe fn by_group<const R: usize>(
    g: usize,
    wp: *const f32,
    xp: *const f32,
    k: usize,
    o: impl Fn(usize) -> *mut f32,
) {
    unsafe {
        match g {
            1 => store::<R, 1>(block::<R, 1>(wp, xp, k), o),
            2 => store::<R, 2>(block::<R, 2>(wp, xp, k), o),
            3 => store::<R, 3>(block::<R, 3>(wp, xp, k), o),
            4 => store::<R, 4>(block::<R, 4>(wp, xp, k), o),
            5 => store::<R, 5>(block::<R, 5>(wp, xp, k), o),
            _ => store::<R, 6>(block::<R, 6>(wp, xp, k), o),
        }
    }
}

/// Writes the first `R` sums of `sums[j]` (weight rows `r..r + R` against activation row
/// `j`) to `o(j)`, `o(j)..o(j) + R`.
///
/// # Safety
/// `o` must give valid, unaliased output addresses with `R` values each; AVX-512F.
#[inline(always)]
unsafe fn store<const R: usize, const J: usize>(sums: [__m128; J], o: impl Fn(usize) -> *mut f32) {
    for (j, s) in sums.iter().enumerate() {
        unsafe {
            if R == TILE {
                _mm_storeu_ps(o(j), *s);
            } else {
                let mut v = [0f32; TILE];
                _mm_storeu_ps(v.as_mut_ptr(), *s);
                std::ptr::copy_nonoverlapping(v.as_ptr(), o(j), R);
            }
        }
    }
}

/// `Σ_c w[i, c] · x[j, c]` for `R` widened weight rows and `J` activation rows, both
/// `k`-contiguous (`k` a multiple of 16); entry `[j][i]`, entries `i ≥ R` zero.
///
/// # Safety
/// `wp` must hold `[R, k]` and `xp` `[J, k]` values; the CPU must have AVX-512F and FMA.
/// (No closures here: they would not inherit the caller's target features, and the
/// intrinsics in them would become calls.)
// The loops index the weight vectors and the sums in lockstep over constant bounds: the
// register blocking, spelled out.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
unsafe fn block<const R: usize, const J: usize>(
    wp: *const f32,
    xp: *const f32,
    k: usize,
) -> [__m128; J] {
    unsafe {
        let zero = _mm512_setzero_ps();
        let mut acc = [[zero; TILE]; J];
        let mut wv = [zero; TILE];
        let mut c = 0;
        while c < k {
            for i in 0..R {
                wv[i] = _mm512_loadu_ps(wp.add(i * k + c));
            }
            for j in 0..J {
                let xv = _mm512_loadu_ps(xp.add(j * k + c));
                for i in 0..R {
                    acc[j][i] = _mm512_fmadd_ps(wv[i], xv, acc[j][i]);
                }
            }
            c += 16;
        }
        let mut sums = [_mm_setzero_ps(); J];
        for j in 0..J {
            sums[j] = sum4(acc[j]);
        }
        sums
    }
}

/// The lane sums of four vectors, `[Σa, Σb, Σc, Σd]`, by a transposing tree (13
/// instructions instead of four separate reductions).
#[inline(always)]
unsafe fn sum4([a, b, c, d]: [__m512; 4]) -> __m128 {
    unsafe {
        // Per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3], and likewise for c, d.
        let ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
        let cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
        // Per lane: [Σa, Σb, Σc, Σd] of that lane's four values.
        let (ab, cd) = (_mm512_castps_pd(ab), _mm512_castps_pd(cd));
        let t = _mm512_add_ps(
            _mm512_castpd_ps(_mm512_unpacklo_pd(ab, cd)),
            _mm512_castpd_ps(_mm512_unpackhi_pd(ab, cd)),
        );
        // The four lanes added.
        let t = _mm512_add_ps(t, _mm512_shuffle_f32x4::<0b0100_1110>(t, t));
        let t = _mm512_add_ps(t, _mm512_shuffle_f32x4::<0b1011_0001>(t, t));
        _mm512_castps512_ps128(t)
    }
}

/// Weight row `r` as f32 into `dst` (`[k]`): `q · d + m` (Q4_1) or `q · d` (Q8_0), rounded
/// after the product as the loader's dequantization is (no fused multiply-add), so `dst`
/// holds the model's f32 values.
///
/// # Safety
/// The CPU must have AVX-512F/BW.
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn widen(w: &BlockRows, r: usize, dst: &mut [f32]) {
    let nb = w.blocks_per_row();
    assert!(dst.len() >= nb * BLOCK && (r + 1) * nb <= w.scale.len());
    let low = _mm512_set1_epi32(15);
    for b in 0..nb {
        let i = r * nb + b;
        // SAFETY: block `i` exists (the assert above) and `dst` holds its 32 values.
        unsafe {
            let d = _mm512_set1_ps(*w.scale.get_unchecked(i));
            let (lo, hi) = match w.kind {
                BlockKind::Q4_1 => {
                    let q = _mm512_cvtepu8_epi32(_mm_loadu_si128(
                        w.quants.as_ptr().add(i * 16) as *const __m128i
                    ));
                    let m = _mm512_set1_ps(*w.min.get_unchecked(i));
                    let lo = _mm512_cvtepi32_ps(_mm512_and_si512(q, low));
                    let hi = _mm512_cvtepi32_ps(_mm512_srli_epi32::<4>(q));
                    (
                        _mm512_add_ps(_mm512_mul_ps(lo, d), m),
                        _mm512_add_ps(_mm512_mul_ps(hi, d), m),
                    )
                }
                BlockKind::Q8_0 => {
                    let p = w.quants.as_ptr().add(i * 32);
                    let lo = _mm512_cvtepi8_epi32(_mm_loadu_si128(p as *const __m128i));
                    let hi = _mm512_cvtepi8_epi32(_mm_loadu_si128(p.add(16) as *const __m128i));
                    (
                        _mm512_mul_ps(_mm512_cvtepi32_ps(lo), d),
                        _mm512_mul_ps(_mm512_cvtepi32_ps(hi), d),
                    )
                }
            };
            let o = dst.as_mut_ptr().add(b * BLOCK);
            _mm512_storeu_ps(o, lo);
            _mm512_storeu_ps(o.add(16), hi);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quant_blocks::testing::{through, values};
    use ggml_quants::{Q4_1, Q8_0};

    #[test]
    fn widening_gives_the_loaders_values_bit_for_bit() {
        if !super::super::has_tiled() {
            eprintln!("skipped: this CPU has no AVX-512");
            return;
        }
        let (n, k) = (5, 96);
        for (kind, want) in [
            // Dequantized by `ggml-quants`, the loader's own crate.
            (BlockKind::Q4_1, through::<Q4_1>(&values(n * k, 41, 1.0))),
            (BlockKind::Q8_0, through::<Q8_0>(&values(n * k, 42, 3.0))),
        ] {
            let w = BlockRows::recover_as(kind, &want, n, k).unwrap();
            for r in 0..n {
                let mut got = vec![0f32; k];
                // SAFETY: the CPU has AVX-512 (checked above).
                unsafe { widen(&w, r, &mut got) };
                for (i, (g, e)) in got.iter().zip(&want[r * k..(r + 1) * k]).enumerate() {
                    assert_eq!(g.to_bits(), e.to_bits(), "{kind:?} row {r} value {i}");
                }
            }
        }
    }
}
