//! The numerators of a softmax over one row, in place: `s ← exp(s − max s)`, returning
//! `(max s, Σ exp(s − max s))`. Used by the host attention's portable path and by the
//! training loss on the host (`train::head_loss`).

/// With AVX-512 ([`simd_exp::softmax_numerators`](super::simd_exp::softmax_numerators)) where
/// the CPU has it, else [`exp_minus_max_portable`].
pub fn exp_minus_max(s: &mut [f32]) -> (f32, f32) {
    #[cfg(target_arch = "x86_64")]
    if super::simd_exp::available() {
        // SAFETY: AVX-512F and FMA detected.
        return unsafe { super::simd_exp::softmax_numerators(s) };
    }
    exp_minus_max_portable(s)
}

/// One value at a time, with the C library's `expf`.
pub fn exp_minus_max_portable(s: &mut [f32]) -> (f32, f32) {
    let max = s.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for x in s.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    (max, sum)
}
