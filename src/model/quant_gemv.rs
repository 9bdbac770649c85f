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
    let (n, k) = (w.rows, w.cols);
    assert!(
        (1..=max_rows()).contains(&m),
        "quant_gemv::matmul: {m} rows"
    );
    assert_eq!(x.len(), m * k, "quant_gemv::matmul: x is not [m, k]");
    if has_tiled() {
        return tiled_matmul(x, m, Source::Blocks(w));
    }
    // Σ x over each block, for the Q4_1 minimum's term.
    let xsum: Vec<f32> = match w.kind {
        BlockKind::Q4_1 => x.chunks(BLOCK).map(|c| c.iter().sum()).collect(),
        BlockKind::Q8_0 => Vec::new(),
    };
    let mut out = vec![0f32; m * n];
    let chunk = split(n);
    let out_ptr = SyncPtr(out.as_mut_ptr());
    (0..n.div_ceil(chunk)).into_par_iter().for_each(|t| {
        let rows = t * chunk..((t + 1) * chunk).min(n);
        let task = Task {
            w,
            x,
            xsum: &xsum,
            m,
            out: out_ptr,
        };
        // SAFETY: output columns `rows` belong to this task alone.
        unsafe { task.run(rows.start, rows.end) };
    });
    out
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

/// `task.rows::<M>(r0, r1)` with `M` the constant equal to `m` (1..=12).
macro_rules! by_rows {
    ($task:expr, $m:expr, $r0:expr, $r1:expr) => {
        match $m {
            1 => $task.rows::<1>($r0, $r1),
            2 => $task.rows::<2>($r0, $r1),
            3 => $task.rows::<3>($r0, $r1),
            4 => $task.rows::<4>($r0, $r1),
            5 => $task.rows::<5>($r0, $r1),
            6 => $task.rows::<6>($r0, $r1),
            7 => $task.rows::<7>($r0, $r1),
            8 => $task.rows::<8>($r0, $r1),
            9 => $task.rows::<9>($r0, $r1),
            10 => $task.rows::<10>($r0, $r1),
            11 => $task.rows::<11>($r0, $r1),
            _ => $task.rows::<12>($r0, $r1),
        }
    };
}

/// The rows one thread computes, and where their results go.
struct Task<'a> {
    w: &'a BlockRows,
    x: &'a [f32],
    xsum: &'a [f32],
    m: usize,
    out: SyncPtr,
}

impl Task<'_> {
    /// Computes output columns `r0..r1` of every activation row, dispatched on the CPU's
    /// vector width.
    ///
    /// # Safety
    /// No other thread may write those columns meanwhile.
    unsafe fn run(&self, r0: usize, r1: usize) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { self.run_avx2(r0, r1) };
        }
        unsafe { self.run_generic(r0, r1) }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(&self, r0: usize, r1: usize) {
        unsafe { self.run_generic(r0, r1) }
    }

    /// The loops the AVX2 and generic dispatchers compile for their vector width (inlined
    /// into each), with the number of activation rows as a constant.
    #[inline(always)]
    unsafe fn run_generic(&self, r0: usize, r1: usize) {
        unsafe { by_rows!(self, self.m, r0, r1) }
    }

    /// Rows `r0..r1` with the portable loops.
    #[inline(always)]
    unsafe fn rows<const M: usize>(&self, r0: usize, r1: usize) {
        let w = self.w;
        let (n, k, nb) = (w.rows, w.cols, w.blocks_per_row());
        for r in r0..r1 {
            let scale = &w.scale[r * nb..(r + 1) * nb];
            let sums: [f32; M] = match w.kind {
                BlockKind::Q4_1 => {
                    let quants = &w.quants[r * nb * 16..(r + 1) * nb * 16];
                    let min = &w.min[r * nb..(r + 1) * nb];
                    q4_1_row::<M>(quants, scale, min, self.x, self.xsum, k)
                }
                BlockKind::Q8_0 => {
                    let quants = &w.quants[r * nb * 32..(r + 1) * nb * 32];
                    q8_0_row::<M>(quants, scale, self.x, k)
                }
            };
            for (j, s) in sums.into_iter().enumerate() {
                // SAFETY: column `r` is this task's (the caller's promise); `j < m`.
                unsafe { *self.out.at(j * n + r) = s };
            }
        }
    }
}

/// Row `r`'s product with each of the `M` activation rows (Q4_1), one activation row at a
/// time (a loop over several at once does not vectorise).
#[inline(always)]
fn q4_1_row<const M: usize>(
    quants: &[u8],
    scale: &[f32],
    min: &[f32],
    x: &[f32],
    xsum: &[f32],
    k: usize,
) -> [f32; M] {
    let nb = scale.len();
    let mut out = [0f32; M];
    for (j, o) in out.iter_mut().enumerate() {
        let x = &x[j * k..(j + 1) * k];
        let mut acc = [0f32; 16];
        for b in 0..nb {
            let q: &[u8; 16] = quants[b * 16..b * 16 + 16].try_into().unwrap();
            let xs: &[f32; 32] = x[b * BLOCK..b * BLOCK + BLOCK].try_into().unwrap();
            let d = scale[b];
            for i in 0..16 {
                let (lo, hi) = ((q[i] & 15) as f32, (q[i] >> 4) as f32);
                let t = xs[i + 16].mul_add(hi, xs[i] * lo);
                acc[i] = t.mul_add(d, acc[i]);
            }
        }
        *o = acc.iter().sum::<f32>() + shift(min, &xsum[j * nb..(j + 1) * nb]);
    }
    out
}

/// `Σ_b m_b · (Σ x over block b)`: the Q4_1 minimums' share of a row's product.
#[inline(always)]
fn shift(min: &[f32], xsum: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let split = min.len() / 8 * 8;
    for (m, s) in min[..split]
        .chunks_exact(8)
        .zip(xsum[..split].chunks_exact(8))
    {
        for l in 0..8 {
            acc[l] = m[l].mul_add(s[l], acc[l]);
        }
    }
    let tail: f32 = min[split..]
        .iter()
        .zip(&xsum[split..])
        .map(|(m, s)| m * s)
        .sum();
    acc.iter().sum::<f32>() + tail
}

/// Row `r`'s product with each of the `M` activation rows (Q8_0), one activation row at a
/// time.
#[inline(always)]
fn q8_0_row<const M: usize>(quants: &[u8], scale: &[f32], x: &[f32], k: usize) -> [f32; M] {
    let mut out = [0f32; M];
    for (j, o) in out.iter_mut().enumerate() {
        let x = &x[j * k..(j + 1) * k];
        let mut acc = [0f32; 16];
        for (b, &d) in scale.iter().enumerate() {
            let q: &[u8; 32] = quants[b * 32..b * 32 + 32].try_into().unwrap();
            let xs: &[f32; 32] = x[b * BLOCK..b * BLOCK + BLOCK].try_into().unwrap();
            for i in 0..16 {
                let (lo, hi) = (q[i] as i8 as f32, q[i + 16] as i8 as f32);
                let t = xs[i + 16].mul_add(hi, xs[i] * lo);
                acc[i] = t.mul_add(d, acc[i]);
            }
        }
        *o = acc.iter().sum();
    }
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
    fn the_portable_loops_equal_the_triple_loop_too() {
        // `matmul` takes the AVX-512 kernels on a CPU that has them; the loops that AVX2 and
        // other CPUs run are checked here directly, row by row.
        let (m, n, k) = (3, 5, 96);
        let nb = k / BLOCK;
        let x = values(m * k, 21);
        let xsum: Vec<f32> = x.chunks(BLOCK).map(|c| c.iter().sum()).collect();
        for (kind, wv) in [
            (BlockKind::Q4_1, through::<Q4_1>(&values(n * k, 22))),
            (BlockKind::Q8_0, through::<Q8_0>(&values(n * k, 23))),
        ] {
            let w = BlockRows::recover_as(kind, &wv, n, k).unwrap();
            for r in 0..n {
                let scale = &w.scale[r * nb..(r + 1) * nb];
                let got: [f32; 3] = match kind {
                    BlockKind::Q4_1 => q4_1_row::<3>(
                        &w.quants[r * nb * 16..(r + 1) * nb * 16],
                        scale,
                        &w.min[r * nb..(r + 1) * nb],
                        &x,
                        &xsum,
                        k,
                    ),
                    BlockKind::Q8_0 => {
                        q8_0_row::<3>(&w.quants[r * nb * 32..(r + 1) * nb * 32], scale, &x, k)
                    }
                };
                for (j, g) in got.iter().enumerate() {
                    let want: f64 = (0..k)
                        .map(|i| x[j * k + i] as f64 * wv[r * k + i] as f64)
                        .sum();
                    assert!(
                        (*g as f64 - want).abs() < 1e-4,
                        "{kind:?} row {r}: {g} vs {want}"
                    );
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
