//! Grouped-query self-attention (Ainslie et al. 2023) with rotary embeddings and an
//! optional KV cache. Query head `h` reads key/value head `h / (num_attention_heads /
//! num_key_value_heads)`, the grouping of transformers' `repeat_kv` (`[k0, k0, …, k1, k1,
//! …]`), computed by stacking each group's query heads instead of copying the cache.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Bool, DType, Device, Tensor, TensorData, activation::softmax};

use super::cache::{LayerCache, LayerKv};
use super::host_attention::{self, AttentionDims};
use super::linear::{project, project_many};
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
    /// - `cache`: this layer's cached keys and values (`past_len` positions) and the
    ///   positions to reserve when it is first allocated; the new keys/values are appended
    /// - output: `[batch, seq_len, hidden_size]`
    pub fn forward(
        &self,
        x: Tensor<3>,
        rope: &RopeAngles,
        mask: Tensor<4, Bool>,
        cache: Option<(&mut LayerCache, usize)>,
    ) -> Tensor<3> {
        let [batch, seq, _] = x.dims();
        debug_assert_eq!(self.num_heads % self.num_kv_heads, 0, "heads per KV head");
        let x_device = x.device();
        let heads =
            |t: Tensor<3>, n: usize| t.reshape([batch, seq, n, self.head_dim]).swap_dims(1, 2);
        let [q, k, v] = project_many([&self.q_proj, &self.k_proj, &self.v_proj], x);
        let q = rope.apply(heads(q, self.num_heads));
        let mut k = rope.apply(heads(k, self.num_kv_heads));
        let mut v = heads(v, self.num_kv_heads);

        if let Some((slot, reserve)) = cache {
            if on_host(&x_device, &q) {
                return self.attend_on_host(q, k, v, mask, slot, reserve);
            }
            (k, v) = LayerKv::append(slot, k, v, reserve);
        }
        let total = k.dims()[2];
        debug_assert_eq!(
            mask.dims(),
            [batch, 1, seq, total],
            "mask must be [batch, 1, seq_len, past_len + seq_len]"
        );
        // Grouped-query attention without copying the cache: the `rep` query heads that share
        // a KV head are stacked along the sequence axis, so keys and values are read once per
        // KV head (query head i uses KV head i / rep, as in HF `repeat_kv`).
        let rep = self.num_heads / self.num_kv_heads;
        let kvh = self.num_kv_heads;
        let q = q.reshape([batch, kvh, rep * seq, self.head_dim]);
        let scale = (self.head_dim as f64).powf(-0.5);
        let scores = q.matmul(k.swap_dims(2, 3)) * scale; // [b, kvh, rep·seq, total]
        let mask = mask
            .unsqueeze_dim::<5>(2)
            .expand([batch, kvh, rep, seq, total])
            .reshape([batch, kvh, rep * seq, total]);
        let probs = softmax(scores.mask_fill(mask, f32::NEG_INFINITY), 3);
        let out = probs
            .matmul(v) // [b, kvh, rep·seq, head_dim]
            .reshape([batch, self.num_heads, seq, self.head_dim]);
        let out = out
            .swap_dims(1, 2)
            .reshape([batch, seq, self.num_heads * self.head_dim]);
        project(&self.o_proj, out)
    }

    /// The cached path on the CPU: appends the new keys/values to the cache's buffers and
    /// computes the attention there ([`host_attention::attend`]), then `o_proj`.
    ///
    /// # Shapes
    /// - `q`: `[batch, num_attention_heads, seq_len, head_dim]` (rotated)
    /// - `k`, `v`: `[batch, num_key_value_heads, seq_len, head_dim]` (`k` rotated)
    /// - `mask`: `[batch, 1, seq_len, past_len + seq_len]`, `true` = masked
    /// - output: `[batch, seq_len, hidden_size]`
    fn attend_on_host(
        &self,
        q: Tensor<4>,
        k: Tensor<4>,
        v: Tensor<4>,
        mask: Tensor<4, Bool>,
        slot: &mut LayerCache,
        reserve: usize,
    ) -> Tensor<3> {
        let [batch, heads, seq, head_dim] = q.dims();
        let kv_heads = self.num_kv_heads;
        let total = mask.dims()[3];
        let device = q.device();
        let host = |t: Tensor<4>| t.into_data().try_into_vec::<f32>().expect("checked f32");
        let (q, k, v) = (host(q), host(k), host(v));
        let mask = mask
            .into_data()
            .try_into_vec::<bool>()
            .expect("a bool tensor holds bools");
        let scale = (head_dim as f32).powf(-0.5);
        let out = LayerKv::append_on_host(
            slot,
            &k,
            &v,
            [batch, kv_heads, seq, head_dim],
            reserve,
            &device,
            |keys, values, shared, capacity, len| {
                debug_assert_eq!(len, total, "mask and cache lengths differ");
                let dims = AttentionDims {
                    batch,
                    heads,
                    kv_heads,
                    seq_len: seq,
                    head_dim,
                    capacity,
                    total,
                };
                host_attention::attend(&q, keys, values, shared, &mask, dims, scale)
            },
        );
        let out = Tensor::from_data(
            TensorData::new(out, [batch, seq, heads * head_dim]),
            &device,
        );
        project(&self.o_proj, out)
    }
}

/// Whether a cached forward pass computes its attention on the host
/// ([`Attention::attend_on_host`]): on the CPU backend, for f32 values. Generation is the
/// only user of the cache; it never takes gradients, which the host path does not carry.
fn on_host(device: &Device, q: &Tensor<4>) -> bool {
    crate::backend::is_cpu(device) && q.dtype() == DType::F32
}
