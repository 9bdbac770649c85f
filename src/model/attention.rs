//! Grouped-query self-attention (Ainslie et al. 2023) with rotary embeddings and an
//! optional KV cache. Query head `h` reads key/value head `h / (num_attention_heads /
//! num_key_value_heads)`: KV heads are repeated as `[k0, k0, …, k1, k1, …]`, as
//! transformers' `repeat_kv` does.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Bool, Device, Tensor, activation::softmax};

use super::rope::RopeAngles;

/// Self-attention of one decoder layer (HF names `q_proj`, `k_proj`, `v_proj`, `o_proj`).
#[derive(Module, Debug)]
pub struct Attention {
    /// `[hidden_size → num_attention_heads · head_dim]`.
    pub q_proj: Linear,
    /// `[hidden_size → num_key_value_heads · head_dim]`.
    pub k_proj: Linear,
    /// `[hidden_size → num_key_value_heads · head_dim]`.
    pub v_proj: Linear,
    /// `[num_attention_heads · head_dim → hidden_size]`.
    pub o_proj: Linear,
    /// Number of query heads.
    #[module(skip)]
    pub num_heads: usize,
    /// Number of key/value heads.
    #[module(skip)]
    pub num_kv_heads: usize,
    /// Width of one head.
    #[module(skip)]
    pub head_dim: usize,
}

impl Attention {
    /// Random initialisation (for tests and from-scratch training).
    pub fn init(
        hidden_size: usize,
        num_heads: usize,
        num_kv_heads: usize,
        head_dim: usize,
        device: &Device,
    ) -> Self {
        let lin = |i, o| LinearConfig::new(i, o).with_bias(false).init(device);
        Self {
            q_proj: lin(hidden_size, num_heads * head_dim),
            k_proj: lin(hidden_size, num_kv_heads * head_dim),
            v_proj: lin(hidden_size, num_kv_heads * head_dim),
            o_proj: lin(num_heads * head_dim, hidden_size),
            num_heads,
            num_kv_heads,
            head_dim,
        }
    }

    /// # Shapes
    /// - `x`: `[batch, seq_len, hidden_size]`
    /// - `rope`: angles for the `seq_len` new positions
    /// - `mask`: `[batch, 1, seq_len, past_len + seq_len]`, `true` = masked
    /// - `cache`: this layer's `(keys, values)`, each `[batch, num_key_value_heads, past_len,
    ///   head_dim]`; replaced by the extended cache when given
    /// - output: `[batch, seq_len, hidden_size]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        rope: &RopeAngles,
        mask: Tensor<4, Bool>,
        cache: Option<&mut Option<(Tensor<4>, Tensor<4>)>>,
    ) -> Tensor<3> {
        let [batch, seq, _] = x.dims();
        let heads =
            |t: Tensor<3>, n: usize| t.reshape([batch, seq, n, self.head_dim]).swap_dims(1, 2);
        let q = rope.apply(heads(self.q_proj.forward(x.clone()), self.num_heads));
        let mut k = rope.apply(heads(self.k_proj.forward(x.clone()), self.num_kv_heads));
        let mut v = heads(self.v_proj.forward(x), self.num_kv_heads);

        if let Some(slot) = cache {
            if let Some((pk, pv)) = slot.take() {
                k = Tensor::cat(vec![pk, k], 2);
                v = Tensor::cat(vec![pv, v], 2);
            }
            *slot = Some((k.clone(), v.clone()));
        }
        let total = k.dims()[2];
        let k = self.repeat_kv(k);
        let v = self.repeat_kv(v);

        let scale = (self.head_dim as f64).powf(-0.5);
        let scores = q.matmul(k.swap_dims(2, 3)) * scale; // [b, h, seq, total]
        let mask = mask.expand([batch, self.num_heads, seq, total]);
        let probs = softmax(scores.mask_fill(mask, f32::NEG_INFINITY), 3);
        let out = probs.matmul(v); // [b, h, seq, head_dim]
        let out = out
            .swap_dims(1, 2)
            .reshape([batch, seq, self.num_heads * self.head_dim]);
        self.o_proj.forward(out)
    }

    /// `[b, kv_heads, t, d]` → `[b, heads, t, d]` with each KV head repeated
    /// `heads / kv_heads` times in a row.
    fn repeat_kv(&self, x: Tensor<4>) -> Tensor<4> {
        let rep = self.num_heads / self.num_kv_heads;
        if rep == 1 {
            return x;
        }
        let [b, kvh, t, d] = x.dims();
        x.unsqueeze_dim::<5>(2)
            .expand([b, kvh, rep, t, d])
            .reshape([b, kvh * rep, t, d])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gqa_repeats_kv_heads_in_order() {
        let dev = Device::flex();
        let attn = Attention::init(8, 4, 2, 2, &dev);
        // Two KV heads with values 0 and 1: query heads must read [0, 0, 1, 1].
        let x = Tensor::<1>::from_floats([0.0f32, 0.0, 1.0, 1.0], &dev).reshape([1, 2, 1, 2]);
        let r = attn.repeat_kv(x).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(r, vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
    }
}
