//! The portable loops of [`super`], for CPUs without AVX-512: one pass over each weight row
//! for up to [`super::ONE_PASS_ROWS`] activation rows, one activation row at a time (a loop
//! over several at once does not vectorise). For a Q4_1 block,
//! `Σᵢ xᵢ·(qᵢ·d + m) = d·Σᵢ xᵢ·qᵢ + m·Σᵢ xᵢ`, the block sums of `x` computed once per call.

use super::super::gemv::{SyncPtr, split};
use super::{BLOCK, BlockKind, BlockRows};
use rayon::prelude::*;

/// `x · wᵀ` with the portable loops, the weight's rows split across the rayon threads.
///
/// # Shapes
/// `x`: `[m, k]` row-major (`m ≤ ONE_PASS_ROWS`), `w`: `[n, k]` blocks → `[m, n]` row-major
pub(super) fn matmul(x: &[f32], m: usize, w: &BlockRows) -> Vec<f32> {
    let n = w.rows;
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
}
