//! Rotary position embeddings (RoPE, Su et al. 2021) in the Hugging Face "rotate_half"
//! layout: a head vector `x = [x1 | x2]` (two halves of `head_dim / 2`) is rotated as
//! `[x1·cos − x2·sin | x2·cos + x1·sin]` with angle `position · inv_freq[i]`.
//!
//! GGUF files written by llama.cpp store Q/K weights permuted for the interleaved layout;
//! the GGUF loader undoes that permutation so one RoPE serves both checkpoint formats.

use burn::tensor::{Int, Tensor};

use super::config::{LlamaConfig, RopeScaling, RopeType};

/// Inverse frequencies `θ^(−2i/head_dim)` for `i in 0..head_dim/2`, with Llama-3
/// `rope_scaling` applied when configured (transformers `_compute_llama3_parameters`).
/// Computed in f64 on the host, returned as f32.
///
/// # Shapes
/// - output: `head_dim / 2` frequencies, the `i`-th for the dimension pair `(i, i + head_dim / 2)`
pub fn inv_freq(head_dim: usize, rope_theta: f64, scaling: Option<&RopeScaling>) -> Vec<f32> {
    debug_assert_eq!(head_dim % 2, 0, "head_dim must be even");
    let half = head_dim / 2;
    let base: Vec<f64> = (0..half)
        .map(|i| 1.0 / rope_theta.powf((2 * i) as f64 / head_dim as f64))
        .collect();
    let Some(s) = scaling.filter(|s| s.rope_type == RopeType::Llama3) else {
        return base.into_iter().map(|f| f as f32).collect();
    };
    let old_ctx = s.original_max_position_embeddings as f64;
    let low_freq_wavelen = old_ctx / s.low_freq_factor;
    let high_freq_wavelen = old_ctx / s.high_freq_factor;
    base.into_iter()
        .map(|f| {
            let wavelen = 2.0 * std::f64::consts::PI / f;
            let scaled = if wavelen < high_freq_wavelen {
                f
            } else if wavelen > low_freq_wavelen {
                f / s.factor
            } else {
                let smooth = (old_ctx / wavelen - s.low_freq_factor)
                    / (s.high_freq_factor - s.low_freq_factor);
                (1.0 - smooth) * f / s.factor + smooth * f
            };
            scaled as f32
        })
        .collect()
}

/// cos/sin of the rotation angles for one batch of positions, shared by all layers.
///
/// # Shapes
/// - `cos`, `sin`: `[batch, 1, seq_len, head_dim / 2]` (one angle per position and frequency,
///   the same for every head)
#[derive(Debug, Clone)]
pub struct RopeAngles {
    /// `cos(position · inv_freq)`, shape `[batch, 1, seq_len, head_dim / 2]`.
    pub cos: Tensor<4>,
    /// `sin(position · inv_freq)`, shape `[batch, 1, seq_len, head_dim / 2]`.
    pub sin: Tensor<4>,
}

impl RopeAngles {
    /// Angles for `positions` (token index within its own sequence).
    ///
    /// # Shapes
    /// - `positions`: `[batch, seq_len]`
    /// - output: `cos`, `sin` of `[batch, 1, seq_len, config.head_dim() / 2]`
    pub fn new(config: &LlamaConfig, positions: Tensor<2, Int>) -> Self {
        let mut freqs = inv_freq(
            config.head_dim(),
            config.rope_theta,
            config.rope_scaling.as_ref(),
        );
        if let Some(factors) = &config.rope_freq_factors {
            for (f, d) in freqs.iter_mut().zip(factors) {
                *f /= d;
            }
        }
        Self::from_inv_freq(&freqs, positions)
    }

    /// Angles for `positions` and the given inverse frequencies (`head_dim / 2` of them).
    ///
    /// # Shapes
    /// - `positions`: `[batch, seq_len]`
    /// - output: `cos`, `sin` of `[batch, 1, seq_len, inv_freq.len()]`
    pub fn from_inv_freq(inv_freq: &[f32], positions: Tensor<2, Int>) -> Self {
        let device = positions.device();
        let [batch, seq_len] = positions.dims();
        let half = inv_freq.len();
        let freqs = Tensor::<1>::from_floats(inv_freq, &device).reshape([1, 1, 1, half]);
        let pos = positions.float().reshape([batch, 1, seq_len, 1]);
        let angles = pos * freqs; // [batch, 1, seq_len, half]
        let angles = Self {
            cos: angles.clone().cos(),
            sin: angles.sin(),
        };
        debug_assert_eq!(angles.cos.dims(), [batch, 1, seq_len, half], "cos shape");
        debug_assert_eq!(angles.sin.dims(), [batch, 1, seq_len, half], "sin shape");
        angles
    }

    /// Rotates `x` (rotate_half layout).
    ///
    /// # Shapes
    /// - `x`: `[batch, heads, seq_len, head_dim]`, with `batch` and `seq_len` those of the
    ///   angles and `head_dim` twice their frequencies
    /// - output: `[batch, heads, seq_len, head_dim]`
    pub fn apply(&self, x: Tensor<4>) -> Tensor<4> {
        let [batch, heads, seq_len, head_dim] = x.dims();
        let half = head_dim / 2;
        debug_assert_eq!(
            self.cos.dims(),
            [batch, 1, seq_len, half],
            "x [batch, heads, seq_len, head_dim] needs angles [batch, 1, seq_len, head_dim / 2]"
        );
        debug_assert_eq!(self.sin.dims(), self.cos.dims(), "sin and cos shapes");
        debug_assert_eq!(head_dim % 2, 0, "head_dim must be even");
        let x1 = x.clone().narrow(3, 0, half);
        let x2 = x.narrow(3, half, half);
        let out1 = x1.clone() * self.cos.clone() - x2.clone() * self.sin.clone();
        let out2 = x2 * self.cos.clone() + x1 * self.sin.clone();
        let out = Tensor::cat(vec![out1, out2], 3);
        debug_assert_eq!(
            out.dims(),
            [batch, heads, seq_len, head_dim],
            "output shape"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn rotates_a_small_vector_by_hand() {
        // head_dim 4, theta 100: inv_freq = [1, 100^(-1/2) = 0.1].
        let f = inv_freq(4, 100.0, None);
        assert!((f[0] - 1.0).abs() < 1e-7 && (f[1] - 0.1).abs() < 1e-7);
        let dev = Device::flex();
        let pos = Tensor::<2, Int>::from_ints([[0, 1, 2]], &dev);
        let rope = RopeAngles::from_inv_freq(&f, pos);
        // x = [1, 2, 3, 4] at every position: pairs (x1, x2) = (1, 3) with freq 1 and
        // (2, 4) with freq 0.1.
        let x = Tensor::<1>::from_floats([1.0f32, 2.0, 3.0, 4.0], &dev)
            .reshape([1, 1, 1, 4])
            .repeat_dim(2, 3);
        let y = rope.apply(x).into_data().try_to_vec::<f32>().unwrap();
        let expect = |p: f64| {
            let (a, b) = (p * 1.0, p * 0.1);
            [
                1.0 * a.cos() - 3.0 * a.sin(),
                2.0 * b.cos() - 4.0 * b.sin(),
                3.0 * a.cos() + 1.0 * a.sin(),
                4.0 * b.cos() + 2.0 * b.sin(),
            ]
        };
        for p in 0..3 {
            for (i, e) in expect(p as f64).iter().enumerate() {
                assert!((y[p * 4 + i] as f64 - e).abs() < 1e-5, "pos {p} dim {i}");
            }
        }
        // Position 0 is the identity.
        assert_eq!(&y[..4], &[1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn gguf_frequency_factors_divide_the_frequencies() {
        // head_dim 4, theta 100: inv_freq = [1, 0.1]; factors [1, 4] → [1, 0.025].
        // Position 2 then rotates the second pair by 0.05 rad instead of 0.2.
        let mut c = LlamaConfig::tiny(8);
        c.hidden_size = 4;
        c.num_attention_heads = 1;
        c.num_key_value_heads = Some(1);
        c.rope_theta = 100.0;
        c.rope_freq_factors = Some(vec![1.0, 4.0]);
        let dev = Device::flex();
        let rope = RopeAngles::new(&c, Tensor::<2, Int>::from_ints([[2]], &dev));
        let sin = rope.sin.into_data().try_to_vec::<f32>().unwrap();
        assert!((sin[0] - 2f32.sin()).abs() < 1e-6 && (sin[1] - 0.05f32.sin()).abs() < 1e-6);
    }

    #[test]
    fn llama3_scaling_matches_hand_calculation() {
        // head_dim 8, theta 10000: inv_freq = [1, 0.1, 0.01, 0.001];
        // wavelengths 2π/f = [6.28, 62.8, 628.3, 6283.2].
        // factor 8, low 1, high 4, original context 1024:
        // low_freq_wavelen = 1024, high_freq_wavelen = 256.
        // 6.28, 62.8 < 256: unchanged. 6283 > 1024: f/8 = 1.25e-4.
        // 628.3 is medium: smooth = (1024/628.3 − 1)/(4 − 1) = 0.2099…;
        // (1 − smooth)·0.01/8 + smooth·0.01.
        let s = RopeScaling {
            rope_type: RopeType::Llama3,
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 1024,
        };
        let f = inv_freq(8, 10_000.0, Some(&s));
        let wl = 2.0 * std::f64::consts::PI / 0.01;
        let smooth = (1024.0 / wl - 1.0) / 3.0;
        let medium = (1.0 - smooth) * 0.01 / 8.0 + smooth * 0.01;
        let expect = [1.0, 0.1, medium, 0.001 / 8.0];
        for (a, e) in f.iter().zip(expect) {
            assert!(((*a as f64) - e).abs() < 1e-9 + 1e-6 * e, "{a} vs {e}");
        }
        assert!((smooth - 0.20996).abs() < 1e-4);
    }
}
