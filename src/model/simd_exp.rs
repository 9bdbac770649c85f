//! `eˣ` and SiLU on 16 floats at a time with AVX-512, for the host paths of a generation's
//! forward passes (attention's softmax, the MLP's gate) and of the training loss (the softmax
//! over the vocabulary): the CPU backend's `exp` calls the C library's scalar `expf` once per
//! value.

use std::arch::x86_64::*;

/// Whether this CPU has the AVX-512F and FMA instructions the functions here use.
pub fn available() -> bool {
    std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma")
}

/// `eˣ` of 16 floats: `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, `eʳ` by Cephes' `expf`
/// polynomial (S. L. Moshier, Cephes Math Library, `expf.c`), then `· 2ⁿ` by `vscalefps`
/// (which underflows to 0 and overflows to ∞ as `exp` does). NaN stays NaN.
#[target_feature(enable = "avx512f,fma")]
pub(crate) fn exp(x: __m512) -> __m512 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 in two parts, so that n · LN2_HI is exact (Cephes' C1, C2)
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const P: [f32; 6] = [
        1.987_569_1e-4,
        1.398_199_9e-3,
        8.333_452e-3,
        4.166_579_6e-2,
        1.666_666_5e-1,
        0.5, // Cephes: 5.0000001201E-1, which rounds to 0.5 in f32
    ];
    // below -104 the result is 0 and above 89 ∞ either way; the clamp keeps n finite
    // (max/min return their second operand when it is NaN, so NaN passes through)
    let x = _mm512_max_ps(_mm512_set1_ps(-104.0), x);
    let x = _mm512_min_ps(_mm512_set1_ps(89.0), x);
    let n = _mm512_roundscale_ps::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_ps(x, _mm512_set1_ps(LOG2E)),
    );
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), x);
    let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
    let mut p = _mm512_set1_ps(P[0]);
    for &c in &P[1..] {
        p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
    }
    // eʳ ≈ 1 + r + r²·p(r)
    let r2 = _mm512_mul_ps(r, r);
    let e = _mm512_add_ps(_mm512_fmadd_ps(p, r2, r), _mm512_set1_ps(1.0));
    _mm512_scalef_ps(e, n)
}

/// `gate ← silu(gate) · up = gate · up / (1 + e^(−gate))` in place (the SwiGLU product of
/// Llama's MLP, Shazeer 2020), 16 values at a time.
///
/// # Safety
/// The CPU must have AVX-512F and FMA ([`available`]).
///
/// # Panics
/// If the slices differ in length.
#[target_feature(enable = "avx512f,fma")]
pub unsafe fn silu_mul(gate: &mut [f32], up: &[f32]) {
    assert_eq!(gate.len(), up.len(), "gate and up differ in length");
    let n = gate.len();
    let (g, u) = (gate.as_mut_ptr(), up.as_ptr());
    let one = _mm512_set1_ps(1.0);
    let mut i = 0;
    while i < n {
        let mask: __mmask16 = if n - i >= 16 {
            0xffff
        } else {
            ((1u32 << (n - i)) - 1) as __mmask16
        };
        // SAFETY: lanes past the end are masked off.
        unsafe {
            let x = _mm512_maskz_loadu_ps(mask, g.add(i));
            let y = _mm512_maskz_loadu_ps(mask, u.add(i));
            let e = exp(_mm512_sub_ps(_mm512_setzero_ps(), x));
            let r = _mm512_div_ps(_mm512_mul_ps(x, y), _mm512_add_ps(one, e));
            _mm512_mask_storeu_ps(g.add(i), mask, r);
        }
        i += 16;
    }
}

/// `s ← exp(s − max s)` in place, 16 values at a time; returns `(max s, Σ exp(s − max s))`.
///
/// # Safety
/// The CPU must have AVX-512F and FMA ([`available`]).
#[target_feature(enable = "avx512f,fma")]
pub(crate) unsafe fn softmax_numerators(s: &mut [f32]) -> (f32, f32) {
    let n = s.len();
    let p = s.as_mut_ptr();
    let tail = (n % 16) as u32;
    let tail_mask: __mmask16 = ((1u32 << tail) - 1) as __mmask16;
    let full = n - n % 16;
    // SAFETY: full vectors below `full`, the tail by masked loads and stores.
    unsafe {
        let mut max = _mm512_set1_ps(f32::NEG_INFINITY);
        for i in (0..full).step_by(16) {
            max = _mm512_max_ps(max, _mm512_loadu_ps(p.add(i)));
        }
        if tail > 0 {
            let x = _mm512_mask_loadu_ps(_mm512_set1_ps(f32::NEG_INFINITY), tail_mask, p.add(full));
            max = _mm512_max_ps(max, x);
        }
        let max = _mm512_reduce_max_ps(max);
        let m = _mm512_set1_ps(max);
        let mut sum = _mm512_setzero_ps();
        for i in (0..full).step_by(16) {
            let e = exp(_mm512_sub_ps(_mm512_loadu_ps(p.add(i)), m));
            _mm512_storeu_ps(p.add(i), e);
            sum = _mm512_add_ps(sum, e);
        }
        if tail > 0 {
            let x = _mm512_maskz_loadu_ps(tail_mask, p.add(full));
            let e = _mm512_maskz_mov_ps(tail_mask, exp(_mm512_sub_ps(x, m)));
            _mm512_mask_storeu_ps(p.add(full), tail_mask, e);
            sum = _mm512_add_ps(sum, e);
        }
        (max, _mm512_reduce_add_ps(sum))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ulp_of_f64_exp_on_a_softmax_range() {
        if !available() {
            return;
        }
        let xs: Vec<f32> = (0..200_000)
            .map(|i| -100.0 + i as f32 * 0.0005)
            .chain([0.0, -0.0, 1.0, 10.0, 88.0, -87.3, -103.9])
            .collect();
        for chunk in xs.chunks_exact(16) {
            let mut got = [0f32; 16];
            // SAFETY: AVX-512F and FMA detected above.
            unsafe { _mm512_storeu_ps(got.as_mut_ptr(), exp(_mm512_loadu_ps(chunk.as_ptr()))) };
            for (&x, &g) in chunk.iter().zip(&got) {
                let want = (x as f64).exp();
                let ulp = (want as f32).abs() * f32::EPSILON;
                // results below f32's normal range are compared absolutely
                let tol = (2.0 * ulp as f64).max(f32::MIN_POSITIVE as f64);
                assert!(
                    (g as f64 - want).abs() <= tol,
                    "exp({x}) = {g}, want {want}"
                );
            }
        }
        let special = [f32::NEG_INFINITY, -200.0, 200.0, f32::NAN];
        let mut lanes = [0f32; 16];
        lanes[..4].copy_from_slice(&special);
        let mut got = [0f32; 16];
        // SAFETY: as above.
        unsafe { _mm512_storeu_ps(got.as_mut_ptr(), exp(_mm512_loadu_ps(lanes.as_ptr()))) };
        assert_eq!(got[0], 0.0);
        assert_eq!(got[1], 0.0);
        assert_eq!(got[2], f32::INFINITY);
        assert!(got[3].is_nan());
    }

    #[test]
    fn softmax_numerators_match_f64() {
        if !available() {
            return;
        }
        // 38 values: two full vectors and a tail; the max sits in the tail
        let xs: Vec<f32> = (0..37)
            .map(|i| ((i * 7 % 13) as f32 - 6.0) * 1.3)
            .chain([9.5])
            .collect();
        let max = 9.5f64;
        let want: Vec<f64> = xs.iter().map(|&x| (x as f64 - max).exp()).collect();
        let want_sum: f64 = want.iter().sum();
        let mut got = xs.clone();
        // SAFETY: AVX-512F and FMA detected above.
        let (m, sum) = unsafe { softmax_numerators(&mut got) };
        assert_eq!(m, 9.5);
        assert!(
            (sum as f64 - want_sum).abs() < 1e-6 * want_sum,
            "{sum} vs {want_sum}"
        );
        for ((g, w), x) in got.iter().zip(&want).zip(&xs) {
            // exp's 2 ulp, plus the rounding of x − max to f32 (relative 2⁻²⁴ of |x − max|)
            let tol = (2.4e-7 + (*x as f64 - max).abs() * 6e-8) * w;
            assert!((*g as f64 - w).abs() <= tol, "{g} vs {w}");
        }
    }

    #[test]
    fn silu_mul_matches_the_definition_in_f64() {
        if !available() {
            return;
        }
        // 37 values: two full vectors and a tail
        let gate: Vec<f32> = (0..37).map(|i| (i as f32 - 18.0) * 1.7).collect();
        let up: Vec<f32> = (0..37).map(|i| 0.5 - i as f32 * 0.03).collect();
        let mut got = gate.clone();
        // SAFETY: AVX-512F and FMA detected above.
        unsafe { silu_mul(&mut got, &up) };
        for ((g, u), r) in gate.iter().zip(&up).zip(&got) {
            let (g, u) = (*g as f64, *u as f64);
            let want = g / (1.0 + (-g).exp()) * u;
            assert!(
                (*r as f64 - want).abs() <= 4e-7 * want.abs().max(1e-30),
                "{g}, {u}: {r} vs {want}"
            );
        }
    }
}
