//! Matrix products of a few rows by a large weight matrix on the CPU, split across the
//! rayon threads: the projections of a decode step (one token per sequence).
//!
//! A decode step multiplies a handful of activation rows by every weight matrix of the
//! model once, so it is bound by reading the weights from memory (540 MB of f32 per token
//! for SmolLM2-135M). The CPU backend hands such products to the `gemm` crate's
//! matrix-vector path, which runs on one thread: `perf record` on `halt-llm bench --batch 1`
//! put 70% of the samples there, at ~15 tokens/s, where OpenBLAS (through NumPy) runs the
//! same 211 products in 35 ms with one thread and 29 ms with two. These kernels read each
//! weight once per call, four weight rows per pass over the output, with the weight's rows
//! split across the threads: 25–29 tokens/s with two threads (18–19 with one).
//!
//! Results equal the ordinary product up to float rounding (the order of the sums differs
//! from `gemm`'s); `tests` check them against a plain triple loop in f64.

use half::bf16;
use rayon::prelude::*;

/// An element of a weight matrix the kernels read: f32, or bf16 widened to f32 as it is
/// read (exact: a bf16 is the top half of an f32).
pub trait Weight: Copy + Send + Sync {
    /// The value as f32.
    fn get(self) -> f32;
}

impl Weight for f32 {
    #[inline(always)]
    fn get(self) -> f32 {
        self
    }
}

impl Weight for bf16 {
    #[inline(always)]
    fn get(self) -> f32 {
        f32::from_bits((self.to_bits() as u32) << 16)
    }
}

/// Products with more rows than this go to the backend's general matrix product, whose
/// register-blocked kernels win once the product is no longer bound by reading the weight:
/// `halt-llm bench --prompt-len 128 --new-tokens 64` decoded 46 tok/s here against 28 at
/// batch 4, but 59 against 68 at batch 8 and 81 against 111 at batch 16 (2-vCPU AVX-512 VM).
pub const MAX_ROWS: usize = 4;

/// Columns (or weight rows) per task at least: smaller splits cost more than they save.
const MIN_SPLIT: usize = 64;

/// `x · w`.
///
/// # Shapes
/// - `x`: `[m, k]` row-major; `w`: `[k, n]` row-major (burn's `Linear` weight
///   `[d_input, d_output]`)
/// - output: `[m, n]` row-major
///
/// # Panics
/// If the slices do not have those lengths.
pub fn matmul<W: Weight>(x: &[f32], m: usize, w: &[W], k: usize, n: usize) -> Vec<f32> {
    assert_eq!(x.len(), m * k, "gemv::matmul: x is not [m, k]");
    assert_eq!(w.len(), k * n, "gemv::matmul: w is not [k, n]");
    // Each task reads a contiguous block of weight rows (one sequential stream) into its own
    // partial output; the partials are summed in task order, so the result does not depend
    // on scheduling. (Splitting the columns instead measured the same, within the noise.)
    let chunk = split(k);
    let partials: Vec<Vec<f32>> = (0..k.div_ceil(chunk))
        .into_par_iter()
        .map(|t| {
            let (k0, k1) = (t * chunk, ((t + 1) * chunk).min(k));
            let xs: Vec<f32> = (0..m)
                .flat_map(|j| x[j * k + k0..j * k + k1].iter().copied())
                .collect();
            let mut part = vec![0f32; m * n];
            let rows: Vec<&mut [f32]> = part.chunks_mut(n).collect();
            axpy_block(&xs, k1 - k0, &w[k0 * n..k1 * n], n, 0, n, rows);
            part
        })
        .collect();
    let mut parts = partials.into_iter();
    let mut out = parts.next().unwrap_or_else(|| vec![0f32; m * n]);
    for part in parts {
        for (o, p) in out.iter_mut().zip(&part) {
            *o += p;
        }
    }
    out
}

/// `x · wᵀ` (the tied output head: `w` is the token embedding).
///
/// # Shapes
/// - `x`: `[m, k]` row-major; `w`: `[n, k]` row-major (`[vocab_size, hidden_size]`)
/// - output: `[m, n]` row-major
///
/// # Panics
/// If the slices do not have those lengths.
pub fn matmul_transposed<W: Weight>(x: &[f32], m: usize, w: &[W], k: usize, n: usize) -> Vec<f32> {
    assert_eq!(x.len(), m * k, "gemv::matmul_transposed: x is not [m, k]");
    assert_eq!(w.len(), n * k, "gemv::matmul_transposed: w is not [n, k]");
    let mut out = vec![0f32; m * n];
    let chunk = split(n);
    let out_ptr = SyncPtr(out.as_mut_ptr());
    (0..n.div_ceil(chunk)).into_par_iter().for_each(|t| {
        let (r0, r1) = (t * chunk, ((t + 1) * chunk).min(n));
        for r in r0..r1 {
            let w_row = &w[r * k..(r + 1) * k];
            for j in 0..m {
                let v = dot(&x[j * k..(j + 1) * k], w_row);
                // SAFETY: output column `r` belongs to this task alone.
                unsafe { *out_ptr.at(j * n + r) = v };
            }
        }
    });
    out
}

/// Rows (or columns) per task: split evenly across the threads, in multiples of 16.
pub(crate) fn split(n: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    n.div_ceil(threads).next_multiple_of(16).max(MIN_SPLIT)
}

/// A pointer to an output buffer that the tasks of one call write disjoint parts of.
#[derive(Clone, Copy)]
pub(crate) struct SyncPtr(pub(crate) *mut f32);
// SAFETY: used only to write disjoint parts of one buffer from the tasks of one call.
unsafe impl Send for SyncPtr {}
unsafe impl Sync for SyncPtr {}
impl SyncPtr {
    /// # Safety
    /// `i` must be inside the buffer.
    pub(crate) unsafe fn at(self, i: usize) -> *mut f32 {
        unsafe { self.0.add(i) }
    }
}

/// `rows[j] += Σ_kk x[j, kk] · w[kk, c0..c1]`, dispatched on the CPU's vector width.
fn axpy_block<W: Weight>(
    x: &[f32],
    k: usize,
    w: &[W],
    n: usize,
    c0: usize,
    c1: usize,
    rows: Vec<&mut [f32]>,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { axpy_avx512(x, k, w, n, c0, c1, rows) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above.
            return unsafe { axpy_avx2(x, k, w, n, c0, c1, rows) };
        }
    }
    axpy_generic(x, k, w, n, c0, c1, rows)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn axpy_avx512<W: Weight>(
    x: &[f32],
    k: usize,
    w: &[W],
    n: usize,
    c0: usize,
    c1: usize,
    rows: Vec<&mut [f32]>,
) {
    axpy_generic(x, k, w, n, c0, c1, rows)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn axpy_avx2<W: Weight>(
    x: &[f32],
    k: usize,
    w: &[W],
    n: usize,
    c0: usize,
    c1: usize,
    rows: Vec<&mut [f32]>,
) {
    axpy_generic(x, k, w, n, c0, c1, rows)
}

/// The loop the dispatchers compile for their vector width (inlined into each): four rows
/// of `w` per pass over an output row, so each output element is loaded and stored once per
/// four weight rows.
#[inline(always)]
fn axpy_generic<W: Weight>(
    x: &[f32],
    k: usize,
    w: &[W],
    n: usize,
    c0: usize,
    c1: usize,
    mut rows: Vec<&mut [f32]>,
) {
    let width = c1 - c0;
    let row = |kk: usize| &w[kk * n + c0..kk * n + c0 + width];
    let mut kk = 0;
    while kk + 4 <= k {
        let (w0, w1, w2, w3) = (row(kk), row(kk + 1), row(kk + 2), row(kk + 3));
        for (j, out) in rows.iter_mut().enumerate() {
            let xs = &x[j * k + kk..j * k + kk + 4];
            let (x0, x1, x2, x3) = (xs[0], xs[1], xs[2], xs[3]);
            let ws = w0.iter().zip(w1).zip(w2.iter().zip(w3));
            for (o, ((a, b), (c, d))) in out.iter_mut().zip(ws) {
                *o = d.get().mul_add(
                    x3,
                    c.get()
                        .mul_add(x2, b.get().mul_add(x1, a.get().mul_add(x0, *o))),
                );
            }
        }
        kk += 4;
    }
    for kk in kk..k {
        let w_row = row(kk);
        for (j, out) in rows.iter_mut().enumerate() {
            let xv = x[j * k + kk];
            for (o, &wv) in out.iter_mut().zip(w_row) {
                *o = wv.get().mul_add(xv, *o);
            }
        }
    }
}

/// `Σ a[i]·b[i]` with 16 independent partial sums (so it vectorises), dispatched like
/// [`axpy_block`].
fn dot<W: Weight>(a: &[f32], b: &[W]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { dot_avx512(a, b) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above.
            return unsafe { dot_avx2(a, b) };
        }
    }
    dot_generic(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
unsafe fn dot_avx512<W: Weight>(a: &[f32], b: &[W]) -> f32 {
    dot_generic(a, b)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_avx2<W: Weight>(a: &[f32], b: &[W]) -> f32 {
    dot_generic(a, b)
}

#[inline(always)]
fn dot_generic<W: Weight>(a: &[f32], b: &[W]) -> f32 {
    const LANES: usize = 16;
    let mut acc = [0f32; LANES];
    let split = a.len() / LANES * LANES;
    for (ca, cb) in a[..split]
        .chunks_exact(LANES)
        .zip(b[..split].chunks_exact(LANES))
    {
        for l in 0..LANES {
            acc[l] = ca[l].mul_add(cb[l].get(), acc[l]);
        }
    }
    let mut sum: f32 = acc.iter().sum();
    for (x, y) in a[split..].iter().zip(&b[split..]) {
        sum = x.mul_add(y.get(), sum);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// The plain triple loop, in f64.
    fn reference(
        x: &[f32],
        m: usize,
        k: usize,
        n: usize,
        at: impl Fn(usize, usize) -> f32,
    ) -> Vec<f64> {
        let mut out = vec![0f64; m * n];
        for j in 0..m {
            for c in 0..n {
                out[j * n + c] = (0..k)
                    .map(|kk| x[j * k + kk] as f64 * at(kk, c) as f64)
                    .sum();
            }
        }
        out
    }

    #[test]
    fn small_row_products_equal_the_triple_loop() {
        // Odd sizes: tails of the 16-wide loops, uneven splits, one row and many.
        for &(m, k, n) in &[
            (1, 576, 576),
            (3, 37, 1000),
            (16, 100, 129),
            (1, 5, 3),
            (2, 576, 1536),
        ] {
            let x = values(m * k, 1);
            let w = values(k * n, 2);
            let got = matmul(&x, m, &w, k, n);
            let want = reference(&x, m, k, n, |kk, c| w[kk * n + c]);
            for (g, w) in got.iter().zip(&want) {
                assert!((*g as f64 - w).abs() < 1e-4, "x·w {m}×{k}×{n}: {g} vs {w}");
            }
            let wt = values(n * k, 3);
            let got = matmul_transposed(&x, m, &wt, k, n);
            let want = reference(&x, m, k, n, |kk, c| wt[c * k + kk]);
            for (g, w) in got.iter().zip(&want) {
                assert!((*g as f64 - w).abs() < 1e-4, "x·wᵀ {m}×{k}×{n}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn bf16_weights_are_read_as_their_exact_values() {
        // The reference widens with `half`'s own `to_f64`, not with `Weight::get`.
        let (m, k, n) = (2, 100, 70);
        let x = values(m * k, 4);
        let w: Vec<bf16> = values(k * n, 5).into_iter().map(bf16::from_f32).collect();
        let got = matmul(&x, m, &w, k, n);
        let want = reference(&x, m, k, n, |kk, c| w[kk * n + c].to_f64() as f32);
        for (g, e) in got.iter().zip(&want) {
            assert!((*g as f64 - e).abs() < 1e-4, "bf16 x·w: {g} vs {e}");
        }
        let got = matmul_transposed(&x, m, &w, k, n);
        let want = reference(&x, m, k, n, |kk, c| w[c * k + kk].to_f64() as f32);
        for (g, e) in got.iter().zip(&want) {
            assert!((*g as f64 - e).abs() < 1e-4, "bf16 x·wᵀ: {g} vs {e}");
        }
    }
}
