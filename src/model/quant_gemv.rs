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
/// If the CPU has no AVX-512 ([`has_tiled`]), `x` is not `[m, k]` or `k` is not a multiple
/// of 32.
pub fn tiled_matmul(x: &[f32], m: usize, w: Source) -> Vec<f32> {
    assert!(
        has_tiled(),
        "quant_gemv::tiled_matmul: this CPU has no AVX-512"
    );
    let (n, k) = w.dims();
    assert!(
        (1..=MAX_ROWS).contains(&m),
        "quant_gemv::tiled_matmul: {m} rows"
    );
    assert_eq!(x.len(), m * k, "quant_gemv::tiled_matmul: x is not [m, k]");
    let mut out = vec![0f32; m * n];
    let chunk = split(n);
    let out_ptr = SyncPtr(out.as_mut_ptr());
    (0..n.div_ceil(chunk)).into_par_iter().for_each(|t| {
        let rows = t * chunk..((t + 1) * chunk).min(n);
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has AVX-512 (asserted above); output columns `rows` belong to this
        // task alone.
        unsafe {
            tiled::rows(w, x, m, rows.start, rows.end, out_ptr)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (rows, out_ptr);
    });
    out
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
