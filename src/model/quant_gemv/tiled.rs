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
/// Groups of at most this many activation rows step along `k` by whole blocks (both halves
/// of four weight rows' blocks in registers; the blocks widened in registers when they are
/// all the rows there are).
const PAIR_ROWS: usize = 3;

/// Output columns `r0..r1` of `x · wᵀ` for all `m` rows of `x`.
///
/// # Safety
/// The CPU must have AVX-512F/BW and FMA; `x` must be `[m, k]`; `out` must point at an
/// `[m, n]` buffer whose columns `r0..r1` no other thread writes meanwhile.
#[target_feature(enable = "avx512f,avx512bw,fma")]
pub unsafe fn rows(w: Source, x: &[f32], m: usize, r0: usize, r1: usize, out: SyncPtr) {
    let (n, k) = w.dims();
    assert!(x.len() >= m * k && r1 <= n && k % BLOCK == 0);
    let mut scratch = match w {
        Source::Blocks(_) => vec![0f32; TILE * k],
        Source::F32 { w, .. } => {
            assert!(w.len() >= n * k);
            Vec::new()
        }
    };
    // Few activation rows read each widened value once: widen in registers.
    let direct = matches!(w, Source::Blocks(_)) && m <= PAIR_ROWS;
    let mut r = r0;
    while r < r1 {
        let tile = TILE.min(r1 - r);
        let wp = match w {
            Source::Blocks(b) if !direct => {
                for i in 0..tile {
                    // SAFETY: this function's own features.
                    unsafe { widen(b, r + i, &mut scratch[i * k..(i + 1) * k]) };
                }
                scratch.as_ptr()
            }
            Source::Blocks(_) => std::ptr::null(),
            // SAFETY: rows `r..r + tile` are inside `w` (asserted above).
            Source::F32 { w, .. } => unsafe { w.as_ptr().add(r * k) },
        };
        let mut j = 0;
        while j < m {
            let group = GROUP.min(m - j);
            // SAFETY: the loader reads `tile` weight rows of `k` (in `wp`, or row `r` on of
            // the blocks), `x` rows `j..j + group` exist; the outputs are columns
            // `r..r + tile` of rows `j..j + group`.
            unsafe {
                let xp = x.as_ptr().add(j * k);
                let o = |jj: usize| out.at((j + jj) * n + r);
                match w {
                    Source::Blocks(b) if direct => {
                        let l = Direct {
                            w: b,
                            r,
                            nb: k / BLOCK,
                        };
                        by_tile(&l, tile, group, xp, k, o)
                    }
                    _ => by_tile(&Ptr { p: wp, k }, tile, group, xp, k, o),
                }
            }
            j += group;
        }
        r += tile;
    }
}

/// Where [`block`] gets the weights of row `i` of its tile.
trait Load {
    /// Values `16s..16s + 16`.
    ///
    /// # Safety
    /// They must exist; the CPU must have AVX-512F/BW.
    unsafe fn vec(&self, i: usize, s: usize) -> __m512;

    /// Block `b`'s two halves, values `32b..32b + 16` and `32b + 16..32b + 32`.
    ///
    /// # Safety
    /// As [`Load::vec`].
    #[inline(always)]
    unsafe fn pair(&self, i: usize, b: usize) -> (__m512, __m512) {
        unsafe { (self.vec(i, 2 * b), self.vec(i, 2 * b + 1)) }
    }
}

/// f32 rows in memory, `k` apart (a widened tile or an f32 weight).
struct Ptr {
    p: *const f32,
    k: usize,
}

impl Load for Ptr {
    #[inline(always)]
    unsafe fn vec(&self, i: usize, s: usize) -> __m512 {
        unsafe { _mm512_loadu_ps(self.p.add(i * self.k + 16 * s)) }
    }
}

/// Blocks widened in registers as they are read: rows `r..` of `w`, `nb` blocks per row.
struct Direct<'a> {
    w: &'a BlockRows,
    r: usize,
    nb: usize,
}

impl Load for Direct<'_> {
    #[inline(always)]
    unsafe fn vec(&self, i: usize, s: usize) -> __m512 {
        unsafe {
            let (lo, hi) = self.pair(i, s / 2);
            if s.is_multiple_of(2) { lo } else { hi }
        }
    }

    #[inline(always)]
    unsafe fn pair(&self, i: usize, b: usize) -> (__m512, __m512) {
        unsafe { widen_block(self.w, (self.r + i) * self.nb + b) }
    }
}

/// [`block`] for a tile of `tile` (1..=4) weight rows and a group of `g` (1..=6)
/// activation rows, written to `o`.
///
/// # Safety
/// As [`block`]; `o` must give valid output addresses.
#[inline(always)]
unsafe fn by_tile(
    l: &impl Load,
    tile: usize,
    g: usize,
    xp: *const f32,
    k: usize,
    o: impl Fn(usize) -> *mut f32,
) {
    unsafe {
        match (tile, g) {
            (4, 6) => store::<4, 6>(block::<4, 6>(l, xp, k), o),
            (4, g) => by_group::<4>(l, g, xp, k, o),
            (3, g) => by_group::<3>(l, g, xp, k, o),
            (2, g) => by_group::<2>(l, g, xp, k, o),
            (_, g) => by_group::<1>(l, g, xp, k, o),
        }
    }
}

/// [`block`] for a group of `g` (1..=6) activation rows.
///
/// # Safety
/// As [`block`]; `o` must give valid output addresses.
#[inline(always)]
unsafe fn by_group<const R: usize>(
    l: &impl Load,
    g: usize,
    xp: *const f32,
    k: usize,
    o: impl Fn(usize) -> *mut f32,
) {
    unsafe {
        match g {
            1 => store::<R, 1>(block::<R, 1>(l, xp, k), o),
            2 => store::<R, 2>(block::<R, 2>(l, xp, k), o),
            3 => store::<R, 3>(block::<R, 3>(l, xp, k), o),
            4 => store::<R, 4>(block::<R, 4>(l, xp, k), o),
            5 => store::<R, 5>(block::<R, 5>(l, xp, k), o),
            _ => store::<R, 6>(block::<R, 6>(l, xp, k), o),
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

/// `Σ_c w[i, c] · x[j, c]` for `R` weight rows and `J` activation rows, both
/// `k`-contiguous (`k` a multiple of 32), each sum over `c` in ascending steps of 16 lanes
/// then [`sum4`]; entry `[j][i]`, entries `i ≥ R` zero.
///
/// # Safety
/// `l` must give `R` weight rows of `k` and `xp` hold `[J, k]` values; the CPU must have
/// AVX-512F/BW and FMA.
/// (No closures here: they would not inherit the caller's target features, and the
/// intrinsics in them would become calls.)
// The loops index the weight vectors and the sums in lockstep over constant bounds: the
// register blocking, spelled out.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
unsafe fn block<const R: usize, const J: usize>(
    l: &impl Load,
    xp: *const f32,
    k: usize,
) -> [__m128; J] {
    unsafe {
        let zero = _mm512_setzero_ps();
        let mut acc = [[zero; TILE]; J];
        if J <= PAIR_ROWS {
            // Whole blocks: both halves of each weight row in registers (8 vectors).
            let (mut lo, mut hi) = ([zero; TILE], [zero; TILE]);
            for b in 0..k / BLOCK {
                for i in 0..R {
                    (lo[i], hi[i]) = l.pair(i, b);
                }
                for j in 0..J {
                    let xv = xp.add(j * k + b * BLOCK);
                    let (x0, x1) = (_mm512_loadu_ps(xv), _mm512_loadu_ps(xv.add(16)));
                    for i in 0..R {
                        acc[j][i] = _mm512_fmadd_ps(lo[i], x0, acc[j][i]);
                        acc[j][i] = _mm512_fmadd_ps(hi[i], x1, acc[j][i]);
                    }
                }
            }
        } else {
            // Half blocks: four weight vectors and 24 sums in registers. Each sum sees the
            // same products in the same order as above.
            let mut wv = [zero; TILE];
            let mut c = 0;
            while c < k {
                for i in 0..R {
                    wv[i] = l.vec(i, c / 16);
                }
                for j in 0..J {
                    let xv = _mm512_loadu_ps(xp.add(j * k + c));
                    for i in 0..R {
                        acc[j][i] = _mm512_fmadd_ps(wv[i], xv, acc[j][i]);
                    }
                }
                c += 16;
            }
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

/// Weight row `r` as f32 into `dst` (`[k]`), with [`widen_block`].
///
/// # Safety
/// The CPU must have AVX-512F/BW.
#[target_feature(enable = "avx512f,avx512bw,fma")]
unsafe fn widen(w: &BlockRows, r: usize, dst: &mut [f32]) {
    let nb = w.blocks_per_row();
    assert!(dst.len() >= nb * BLOCK && (r + 1) * nb <= w.scale.len());
    for b in 0..nb {
        // SAFETY: block `r · nb + b` exists (the assert above), `dst` holds its values.
        unsafe {
            let (lo, hi) = widen_block(w, r * nb + b);
            let o = dst.as_mut_ptr().add(b * BLOCK);
            _mm512_storeu_ps(o, lo);
            _mm512_storeu_ps(o.add(16), hi);
        }
    }
}

/// Block `i` as f32, values `0..16` and `16..32`: `q · d + m` (Q4_1) or `q · d` (Q8_0), the
/// model's f32 values bit for bit. The loader rounds the product, then the sum; a fused
/// multiply-add rounds once, and gives the same value because `q · d` is exact in f32 (a
/// 4- or 8-bit integer times an f16: at most 19 significant bits).
///
/// # Safety
/// Block `i` must exist; the CPU must have AVX-512F/BW and FMA.
#[inline(always)]
unsafe fn widen_block(w: &BlockRows, i: usize) -> (__m512, __m512) {
    unsafe {
        let d = _mm512_set1_ps(*w.scale.get_unchecked(i));
        match w.kind {
            BlockKind::Q4_1 => {
                let q = _mm512_cvtepu8_epi32(_mm_loadu_si128(
                    w.quants.as_ptr().add(i * 16) as *const __m128i
                ));
                // Value `j` in the low nibble of byte `j`, value `j + 16` in its high one.
                let lo = _mm512_cvtepi32_ps(_mm512_and_si512(q, _mm512_set1_epi32(15)));
                let hi = _mm512_cvtepi32_ps(_mm512_srli_epi32::<4>(q));
                let m = _mm512_set1_ps(*w.min.get_unchecked(i));
                (_mm512_fmadd_ps(lo, d, m), _mm512_fmadd_ps(hi, d, m))
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
