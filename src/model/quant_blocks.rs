//! A weight matrix held as llama.cpp's quantized blocks (Q4_1 or Q8_0), recovered exactly
//! from the model's f32 values: the compact host copy for decode steps
//! ([`super::decode_weights`], read by [`super::quant_gemv`]).
//!
//! A GGUF checkpoint stores its weights as blocks of 32 values sharing a scale (and, for
//! Q4_1, a minimum); the loader dequantizes them to f32 (`q · d + m` in f32, as
//! `ggml-quants` and llama.cpp's `dequantize_row_q4_1` do). For SmolLM2-135M-Instruct that
//! is Q4_1 for every projection and Q8_0 for the token embedding (the tied head): 20 and 34
//! bytes per 32 weights instead of 128. [`BlockRows::recover`] finds, for each block of a
//! row, the scale, minimum and 4- or 8-bit integers whose dequantization gives back every
//! f32 value bit for bit, and gives up (`None`) if a single value of the matrix does not: a
//! matrix that was finetuned, or that came from safetensors, stays f32. So the blocks are
//! the model's own weights, not a rounding of them; products from them differ from the f32
//! product only by the order of the sums.

use rayon::prelude::*;

mod encode;
use encode::{Part, encode_group};

/// Values per block (GGML's `QK4_1` and `QK8_0`).
pub const BLOCK: usize = 32;

/// The block format of a [`BlockRows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    /// `value = q · d + m`, `q` in `0..16` (4 bits), `d` and `m` f16 (GGML type 3).
    Q4_1,
    /// `value = q · d`, `q` in `-128..128` (8 bits), `d` f16 (GGML type 8).
    Q8_0,
}

/// A `[rows, cols]` matrix as blocks of [`BLOCK`] values along each row.
///
/// Per block `b` of row `r` (`nb = cols / 32` blocks per row, block index `r · nb + b`):
/// `scale[i]` is `d` and `min[i]` is `m` (Q4_1 only; empty for Q8_0), both widened from f16
/// to f32; `quants` holds 16 bytes per block for Q4_1 (byte `i`: value `i` in its low nibble,
/// value `i + 16` in its high nibble, GGML's order) and 32 bytes per block for Q8_0 (the
/// `i8` values as bytes).
#[derive(Debug, Clone)]
pub struct BlockRows {
    /// The block format.
    pub kind: BlockKind,
    /// Rows (a projection's `d_output`, the embedding's `vocab_size`).
    pub rows: usize,
    /// Values per row (a projection's `d_input`, the `hidden_size`); a multiple of 32.
    pub cols: usize,
    /// `d` per block, `[rows · cols / 32]`.
    pub scale: Vec<f32>,
    /// `m` per block (Q4_1), `[rows · cols / 32]`; empty for Q8_0.
    pub min: Vec<f32>,
    /// The integers, packed as described above.
    pub quants: Vec<u8>,
}

impl BlockRows {
    /// The blocks whose dequantization is `values` (`[rows, cols]` row-major) bit for bit,
    /// trying Q4_1 then Q8_0; `None` when neither holds every value exactly or `cols` is not
    /// a multiple of 32.
    pub fn recover(values: &[f32], rows: usize, cols: usize) -> Option<Self> {
        assert_eq!(
            values.len(),
            rows * cols,
            "BlockRows::recover: not [rows, cols]"
        );
        [BlockKind::Q4_1, BlockKind::Q8_0]
            .into_iter()
            .find_map(|kind| Self::recover_as(kind, values, rows, cols))
    }

    /// [`recover`](Self::recover) for one format.
    pub fn recover_as(kind: BlockKind, values: &[f32], rows: usize, cols: usize) -> Option<Self> {
        assert_eq!(
            values.len(),
            rows * cols,
            "BlockRows::recover: not [rows, cols]"
        );
        if cols == 0 || !cols.is_multiple_of(BLOCK) {
            return None;
        }
        let per = match kind {
            BlockKind::Q4_1 => BLOCK / 2,
            BlockKind::Q8_0 => BLOCK,
        };
        // Blocks per task: large enough that the threads' start-up is small against it.
        const GROUP: usize = 1024;
        let encode = |group: &[f32]| {
            let n = group.len() / BLOCK;
            let (mut d, mut m, mut q) = (
                Vec::with_capacity(n),
                Vec::with_capacity(n),
                Vec::with_capacity(n * per),
            );
            encode_group(kind, group, &mut d, &mut m, &mut q).then_some((d, m, q))
        };
        // The first block alone rejects a wrong format before the threads start.
        encode(&values[..BLOCK])?;
        let parts: Option<Vec<Part>> = values.par_chunks(BLOCK * GROUP).map(encode).collect();
        let blocks = rows * cols / BLOCK;
        let mut out = Self {
            kind,
            rows,
            cols,
            scale: Vec::with_capacity(blocks),
            min: Vec::with_capacity(if kind == BlockKind::Q4_1 { blocks } else { 0 }),
            quants: Vec::with_capacity(blocks * per),
        };
        for (d, m, q) in parts? {
            out.scale.extend_from_slice(&d);
            out.min.extend_from_slice(&m);
            out.quants.extend_from_slice(&q);
        }
        Some(out)
    }

    /// Blocks per row.
    pub fn blocks_per_row(&self) -> usize {
        self.cols / BLOCK
    }

    /// Every value, `[rows, cols]` row-major, dequantized as the GGUF loader does.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.cols);
        for i in 0..self.scale.len() {
            let d = self.scale[i];
            match self.kind {
                BlockKind::Q4_1 => {
                    let q = &self.quants[i * 16..i * 16 + 16];
                    let m = self.min[i];
                    out.extend(q.iter().map(|&b| (b & 15) as f32 * d + m));
                    out.extend(q.iter().map(|&b| (b >> 4) as f32 * d + m));
                }
                BlockKind::Q8_0 => {
                    let q = &self.quants[i * 32..i * 32 + 32];
                    out.extend(q.iter().map(|&b| b as i8 as f32 * d));
                }
            }
        }
        out
    }

    /// Bytes held (scales, minimums and integers).
    pub fn bytes(&self) -> usize {
        4 * (self.scale.len() + self.min.len()) + self.quants.len()
    }
}

/// Deterministic test weights, as a GGUF delivers them; shared by this module's and
/// [`super::quant_gemv`]'s tests.
#[cfg(test)]
pub(crate) mod testing {
    use ggml_quants::Quantize;

    /// Deterministic values in [-scale, scale).
    pub fn values(len: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    /// Quantized and dequantized by `ggml-quants` (the loader's own dequantizer), as a
    /// GGUF's weights reach the model.
    pub fn through<B: Quantize<f32, 32>>(v: &[f32]) -> Vec<f32> {
        v.chunks(32)
            .flat_map(|c| B::quantize(c.try_into().unwrap()).dequantize())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{through, values};
    use super::*;
    use ggml_quants::{Q4_1, Q8_0};

    #[test]
    fn q4_1_weights_are_recovered_exactly() {
        for (seed, scale) in [(1, 1.0), (2, 0.02), (3, 300.0)] {
            let (rows, cols) = (7, 96);
            let v = through::<Q4_1>(&values(rows * cols, seed, scale));
            let b = BlockRows::recover(&v, rows, cols).expect("a Q4_1 matrix");
            assert_eq!(b.kind, BlockKind::Q4_1);
            assert_eq!(b.scale.len(), rows * 3);
            let back = b.dequantize();
            assert!(v.iter().zip(&back).all(|(a, b)| a.to_bits() == b.to_bits()));
            assert_eq!(b.bytes(), rows * 3 * (4 + 4 + 16));
        }
    }

    #[test]
    fn q8_0_weights_are_recovered_exactly() {
        for (seed, scale) in [(4, 1.0), (5, 0.05)] {
            let (rows, cols) = (5, 64);
            let v = through::<Q8_0>(&values(rows * cols, seed, scale));
            let b = BlockRows::recover(&v, rows, cols).expect("a Q8_0 matrix");
            assert_eq!(b.kind, BlockKind::Q8_0);
            let back = b.dequantize();
            assert!(v.iter().zip(&back).all(|(a, b)| a.to_bits() == b.to_bits()));
        }
    }

    #[test]
    fn a_block_by_hand() {
        // Q4_1 with d = 0.5, m = -1: values -1, -0.5, …, 6.5 (q = 0..15), twice.
        let v: Vec<f32> = (0..32).map(|i| (i % 16) as f32 * 0.5 - 1.0).collect();
        let b = BlockRows::recover(&v, 1, 32).unwrap();
        assert_eq!((b.kind, b.scale[0], b.min[0]), (BlockKind::Q4_1, 0.5, -1.0));
        // Byte i: value i (q = i) low, value i + 16 (q = i) high.
        assert_eq!(b.quants[3], 3 | (3 << 4));
        // A constant block: d = 0.
        let b = BlockRows::recover(&[0.25; 32], 1, 32).unwrap();
        assert_eq!((b.scale[0], b.min[0]), (0.0, 0.25));
    }

    #[test]
    fn other_matrices_stay_f32() {
        // Plain f32 values, a value off by one ulp, a NaN, a width that is not whole blocks.
        let (rows, cols) = (4, 64);
        assert!(BlockRows::recover(&values(rows * cols, 6, 1.0), rows, cols).is_none());
        let mut v = through::<Q4_1>(&values(rows * cols, 7, 1.0));
        assert!(BlockRows::recover(&v, rows, cols).is_some());
        v[100] = f32::from_bits(v[100].to_bits() + 1);
        assert!(BlockRows::recover(&v, rows, cols).is_none());
        v[100] = f32::NAN;
        assert!(BlockRows::recover(&v, rows, cols).is_none());
        assert!(BlockRows::recover(&values(3 * 40, 8, 1.0), 3, 40).is_none());
    }
}
