//! One pre-norm Llama decoder layer:
//! `h = x + attn(rms(x))`, `out = h + mlp(rms(h))`.

use burn::module::Module;
use burn::nn::{RmsNorm, RmsNormConfig};
use burn::tensor::{Bool, Device, Tensor};

use super::attention::Attention;
use super::cache::LayerCache;
use super::config::LlamaConfig;
use super::mlp::Mlp;
use super::rope::RopeAngles;

/// A decoder layer (HF `LlamaDecoderLayer`).
#[derive(Module, Debug)]
pub struct DecoderLayer {
    /// RMSNorm before attention (HF `input_layernorm`).
    pub input_layernorm: RmsNorm,
    /// Grouped-query self-attention.
    pub self_attn: Attention,
    /// RMSNorm before the MLP (HF `post_attention_layernorm`).
    pub post_attention_layernorm: RmsNorm,
    /// SwiGLU MLP.
    pub mlp: Mlp,
}

impl DecoderLayer {
    /// Random initialisation from a config.
    pub fn init(c: &LlamaConfig, device: &Device) -> Self {
        let norm = || {
            RmsNormConfig::new(c.hidden_size)
                .with_epsilon(c.rms_norm_eps)
                .init(device)
        };
        Self {
            input_layernorm: norm(),
            self_attn: Attention::init(
                c.hidden_size,
                c.num_attention_heads,
                c.num_kv_heads(),
                c.head_dim(),
                device,
            ),
            post_attention_layernorm: norm(),
            mlp: Mlp::init(c.hidden_size, c.intermediate_size, device),
        }
    }

    /// # Shapes
    /// `x`: `[batch, seq_len, hidden_size]` → same; see [`Attention::forward`] for the rest.
    pub fn forward(
        &self,
        x: Tensor<3>,
        rope: &RopeAngles,
        mask: Tensor<4, Bool>,
        cache: Option<(&mut LayerCache, usize)>,
    ) -> Tensor<3> {
        let h = x.clone()
            + self
                .self_attn
                .forward(self.input_layernorm.forward(x), rope, mask, cache);
        h.clone() + self.mlp.forward(self.post_attention_layernorm.forward(h))
    }
}
