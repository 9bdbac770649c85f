//! Products of 1 to [`MAX_ROWS`] activation rows with a weight held as quantized blocks
//! ([`BlockRows`]), or in f32 (the tiled kernel), split across the rayon threads: the decode
//! steps of a GGUF model, reading 20 (Q4_1) or 34 (Q8_0) bytes per 32 weights instead of
//! 128.
//!
//! On a CPU with AVX-512 every product takes the tiled kernel (`quant_gemv/tiled.rs`): it widens the
//! blocks of four weight rows at a time to their exact f32 values (in registers for up to
//! three activation rows, else into a scratch tile shared by all rows) and multiplies them by
//! the activations in register blocks of 4 × 6 sums, as a GEMM micro-kernel does. Each
//! output is summed in the same order whatever the number of rows, so a sequence's product
//! is the same, bit for bit, alone or in a batch. Other CPUs take the one-pass
//! portable loops (at most [`ONE_PASS_ROWS`] rows, one activation row at a time; batch
//! invariance holds there too): for a Q4_1 block of row `r`,
//! `Σᵢ xᵢ·(qᵢ·d + m) = d·Σᵢ xᵢ·qᵢ + m·Σᵢ xᵢ`, the block sums of `x` computed once per call.
//! No activation is quantized (llama.cpp quantizes them to 8 bits for its integer dot
//! products; here the products are the f32 model's). Results equal the f32 product of the
//! dequantized weights up to float rounding; `tests` check them against a triple loop in
//! f64.

use super::gemv::{SyncPtr, split};
use super::quant_blocks::{BLOCK, BlockKind, BlockRows};
use rayon::prelude::*;

mod portable;
#[cfg(target_arch = "x86_64")]
mod tiled;

/// Products with more rows than this go to the backend's general matrix product (on a CPU
/// with AVX-512; [`ONE_PASS_ROWS`] on others, see [`max_rows`]). `halt-llm bench
/// --prompt-len 128 --new-tokens 64` on the 2-vCPU AVX-512 VM, decode tokens/s with the
/// tiled kernel against the backend's product: batch 16 162 against 117, batch 32 216
/// against 141, batch 60 217 against 144.
pub const MAX_ROWS: usize = 64;

/// The one-pass kernels (every activation row's sums at once, one activation row at a time)
/// take products of at most this many rows on a CPU without AVX-512, where they are the
/// only kernels.
pub const ONE_PASS_ROWS: usize = 12;

/// A `[n, k]` weight as the tiled kernel reads it.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// Quantized blocks, widened tile by tile.
    Blocks(&'a BlockRows),
    /// f32 rows, `[n, k]` row-major, read in place.
    F32 {
        /// The values.
        w: &'a [f32],
        /// Rows.
        n: usize,
        /// Values per row (a multiple of 32).
        k: usize,
    },
}

impl Source<'_> {
    /// `(n, k)`.
    pub fn dims(&self) -> (usize, usize) {
        match self {
            Source::Blocks(b) => (b.rows, b.cols),
            Source::F32 { n, k, .. } => (*n, *k),
        }
    }
}

/// Whether this CPU runs the tiled kernel (x86-64 with AVX-512F/BW and FMA).
pub fn has_tiled() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// The most rows [`matmul`] takes on this CPU: [`MAX_ROWS`] with the tiled kernel, else
/// [`ONE_PASS_ROWS`].
pub fn max_rows() -> usize {
    if has_tiled() { MAX_ROWS } else { ONE_PASS_ROWS }
}

/// `x · wᵀ`.
///
/// # Shapes
/// - `x`: `[m, k]` row-major, `1 ≤ m ≤ max_rows()`; `w`: `[n, k]` blocks (a projection's
///   `[d_output, d_input]`, the embedding's `[vocab_size, hidden_size]`)
/// - output: `[m, n]` row-major
///
/// # Panics
/// If `x` is not `[m, k]` or `m` is outside `1..=max_rows()`.
pub fn matmul(x: &[f32], m: usize, w: &BlockRows) -> Vec<f32> {
    let k = w.cols;
    assert!(
        (1..=max_rows()).contains(&m),
        "quant_gemv::matmul: {m} rows"
    );
    assert_eq!(x.len(), m * k, "quant_gemv::matmul: x is not [m, k]");
    if has_tiled() {
        return tiled_matmul(x, m, Source::Blocks(w));
    }
    portable::matmul(x, m, w)
}

/// `x · wᵀ` with the tiled kernel, the weight's rows split across the rayon threads.
///
/// # Shapes
/// `x`: `[m, k]` row-major (`m ≤ MAX_ROWS`), `w`: `[n, k]` → `[m, n]` row-major
///
/// # Panics
/// As [`tiled_matmul_many`].
pub fn tiled_matmul(x: &[f32], m: usize, w: Source) -> Vec<f32> {
    let mut outs = tiled_matmul_many(x, m, &[w]);
    outs.pop().expect("one weight, one product")
}

/// `x · wᵢᵀ` for each weight `wᵢ` of `ws` (all of the same input width `k`) in one
/// parallel region: their `Σ nᵢ` rows are split across the rayon threads as one run, so a
/// decode step's q/k/v (or gate/up) projections wake the threads once and read `x` once.
/// Each output is summed as [`tiled_matmul`] sums it alone, so the products equal
/// separate calls bit for bit.
///
/// # Shapes
/// `x`: `[m, k]` row-major (`m ≤ MAX_ROWS`), `ws[i]`: `[nᵢ, k]` → `[m, nᵢ]` row-major each
///
/// # Panics
/// If the CPU has no AVX-512 ([`has_tiled`]), `x` is not `[m, k]`, the weights' widths
/// differ or `k` is not a multiple of 32.
pub fn tiled_matmul_many(x: &[f32], m: usize, ws: &[Source]) -> Vec<Vec<f32>> {
    assert!(
        has_tiled(),
        "quant_gemv::tiled_matmul: this CPU has no AVX-512"
    );
    let k = ws.first().map_or(0, |w| w.dims().1);
    assert!(
        ws.iter().all(|w| w.dims().1 == k),
        "quant_gemv::tiled_matmul: weights of different widths"
    );
    assert!(
        (1..=MAX_ROWS).contains(&m),
        "quant_gemv::tiled_matmul: {m} rows"
    );
    assert_eq!(x.len(), m * k, "quant_gemv::tiled_matmul: x is not [m, k]");
    let mut outs: Vec<Vec<f32>> = ws.iter().map(|w| vec![0f32; m * w.dims().0]).collect();
    let ptrs: Vec<SyncPtr> = outs.iter_mut().map(|o| SyncPtr(o.as_mut_ptr())).collect();
    let total: usize = ws.iter().map(|w| w.dims().0).sum();
    let chunk = split(total);
    (0..total.div_ceil(chunk)).into_par_iter().for_each(|t| {
        let (a, b) = (t * chunk, ((t + 1) * chunk).min(total));
        // The part of rows `a..b` of the run that falls in each weight.
        let mut first = 0;
        for (w, &out) in ws.iter().zip(&ptrs) {
            let n = w.dims().0;
            let (r0, r1) = (a.max(first), b.min(first + n));
            if r0 < r1 {
                #[cfg(target_arch = "x86_64")]
                // SAFETY: the CPU has AVX-512 (asserted above); output columns
                // `r0 - first..r1 - first` of this weight's product belong to this task
                // alone.
                unsafe {
                    tiled::rows(*w, x, m, r0 - first, r1 - first, out)
                };
                #[cfg(not(target_arch = "x86_64"))]
                let _ = out;
            }
            first += n;
        }
    });
    outs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::quant_blocks::testing::{through, values as scaled};
    use ggml_quants::{Q4_1, Q8_0};

    fn values(len: usize, seed: u64) -> Vec<f32> {
        scaled(len, seed, 1.0)
    }

    #[test]
    fn the_tiled_kernel_reads_f32_rows_too() {
        if !has_tiled() {
            eprintln!("skipped: this CPU has no AVX-512");
            return;
        }
        for &(m, n, k) in &[(1, 9, 32), (5, 70, 96), (13, 33, 576), (64, 7, 64)] {
            let x = values(m * k, 31);
            let w = values(n * k, 32);
            let got = tiled_matmul(&x, m, Source::F32 { w: &w, n, k });
            for j in 0..m {
                for r in 0..n {
                    let want: f64 = (0..k)
                        .map(|i| x[j * k + i] as f64 * w[r * k + i] as f64)
                        .sum();
                    let g = got[j * n + r] as f64;
                    assert!((g - want).abs() < 1e-4, "f32 {m}×{n}×{k}: {g} vs {want}");
                }
            }
        }
    }

    #[test]
    fn several_weights_in_one_region_equal_the_triple_loop_and_separate_calls() {
        if !has_tiled() {
            eprintln!("skipped: this CPU has no AVX-512");
            return;
        }
        let k = 96;
        // Widths that end mid-tile and mid-task, so that tasks straddle two weights.
        let (q4, q8, f) = (
            through::<Q4_1>(&values(70 * k, 51)),
            through::<Q8_0>(&values(33 * k, 52)),
            values(101 * k, 53),
        );
        let q4b = BlockRows::recover_as(BlockKind::Q4_1, &q4, 70, k).unwrap();
        let q8b = BlockRows::recover_as(BlockKind::Q8_0, &q8, 33, k).unwrap();
        let sources = [
            Source::Blocks(&q4b),
            Source::F32 { w: &f, n: 101, k },
            Source::Blocks(&q8b),
        ];
        let dequantized: [(&[f32], usize); 3] = [(&q4, 70), (&f, 101), (&q8, 33)];
        for m in [1, 5, 16] {
            let x = values(m * k, 54);
            let got = tiled_matmul_many(&x, m, &sources);
            for ((out, &(wv, n)), source) in got.iter().zip(&dequantized).zip(sources) {
                assert_eq!(out.len(), m * n);
                for j in 0..m {
                    for r in 0..n {
                        let want: f64 = (0..k)
                            .map(|i| x[j * k + i] as f64 * wv[r * k + i] as f64)
                            .sum();
                        let g = out[j * n + r] as f64;
                        assert!((g - want).abs() < 1e-4, "m {m} n {n}: {g} vs {want}");
                    }
                }
                let alone = tiled_matmul(&x, m, source);
                assert!(
                    alone
                        .iter()
                        .zip(out)
                        .all(|(a, b)| a.to_bits() == b.to_bits()),
                    "m {m} n {n}: one region differs from a call of its own"
                );
            }
        }
    }

    #[test]
    fn block_products_equal_the_triple_loop_on_the_dequantized_weights() {
        for &(m, n, k) in &[
            (1, 576, 576),
            (4, 200, 1536),
            (3, 49, 64),
            (2, 1, 32),
            (8, 70, 96),
            (6, 33, 576),
            // The tiled kernel (AVX-512): groups of 6 rows and their remainders, tiles of 4
            // weight rows and theirs (n not a multiple of 4), up to MAX_ROWS.
            (13, 70, 96),
            (30, 33, 576),
            (17, 6, 1536),
            (64, 49, 64),
        ] {
            let x = values(m * k, 11);
            for (kind, wv) in [
                (BlockKind::Q4_1, through::<Q4_1>(&values(n * k, 12))),
                (BlockKind::Q8_0, through::<Q8_0>(&values(n * k, 13))),
            ] {
                let w = BlockRows::recover_as(kind, &wv, n, k).unwrap();
                let got = matmul(&x, m, &w);
                for j in 0..m {
                    for r in 0..n {
                        let want: f64 = (0..k)
                            .map(|i| x[j * k + i] as f64 * wv[r * k + i] as f64)
                            .sum();
                        let g = got[j * n + r] as f64;
                        assert!(
                            (g - want).abs() < 1e-4,
                            "{kind:?} {m}×{n}×{k}: {g} vs {want}"
                        );
                    }
                }
            }
        }
    }
}
