//! Llama configuration, mirroring the fields of a Hugging Face `config.json`
//! (`LlamaConfig` in transformers) so a checkpoint's config deserializes as it is. GGUF
//! metadata (`llama.*` keys) is mapped onto the same fields in [`crate::model::load::gguf`].
//!
//! The pieces: this module holds [`LlamaConfig`] (the fields, defaults and reading of
//! `config.json`); `rope_scaling` holds [`RopeScaling`] and [`RopeType`]; `validate` holds
//! [`LlamaConfig::validate`].

mod rope_scaling;
mod validate;

use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

pub use rope_scaling::{RopeScaling, RopeType};

/// Default `rope_theta`.
fn default_theta() -> f64 {
    10_000.0
}
/// Default `rms_norm_eps`.
fn default_eps() -> f64 {
    1e-6
}
/// Default `max_position_embeddings`.
fn default_max_pos() -> usize {
    2048
}

/// `eos_token_id` is an integer or a list of integers in HF configs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TokenIds {
    /// A single id.
    One(u32),
    /// Several ids (any of them ends generation).
    Many(Vec<u32>),
}

impl TokenIds {
    /// The ids as a list.
    pub fn to_vec(&self) -> Vec<u32> {
        match self {
            Self::One(i) => vec![*i],
            Self::Many(v) => v.clone(),
        }
    }
}

/// Architecture hyper-parameters of a Llama model (HF `config.json` field names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    /// Number of tokens in the vocabulary (rows of the embedding matrix).
    pub vocab_size: usize,
    /// Width of the residual stream (`d_model`).
    pub hidden_size: usize,
    /// Inner width of the SwiGLU MLP.
    pub intermediate_size: usize,
    /// Number of decoder layers.
    pub num_hidden_layers: usize,
    /// Number of query heads.
    pub num_attention_heads: usize,
    /// Number of key/value heads (grouped-query attention); equals `num_attention_heads` for
    /// plain multi-head attention.
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    /// Per-head width; defaults to `hidden_size / num_attention_heads`.
    #[serde(default)]
    pub head_dim: Option<usize>,
    /// Epsilon inside RMSNorm's square root.
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    /// Base of the rotary frequencies (θ).
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    /// Optional RoPE frequency scaling (Llama 3.1+).
    #[serde(default)]
    pub rope_scaling: Option<RopeScaling>,
    /// Longest sequence (tokens) the model supports.
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    /// Whether the output head shares the token-embedding matrix.
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Beginning-of-sequence token id.
    #[serde(default)]
    pub bos_token_id: Option<u32>,
    /// End-of-sequence token id(s).
    #[serde(default)]
    pub eos_token_id: Option<TokenIds>,
    /// HF architecture list (e.g. `["LlamaForCausalLM"]`), kept for export.
    #[serde(default)]
    pub architectures: Option<Vec<String>>,
    /// HF model type; must be `llama` (or a Llama-compatible type such as `mistral`).
    #[serde(default)]
    pub model_type: Option<String>,
    /// MLP activation; only `silu` (SwiGLU) is supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_act: Option<String>,
    /// Biases on the attention projections (not supported: Llama has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attention_bias: Option<bool>,
    /// Biases on the MLP projections (not supported: Llama has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mlp_bias: Option<bool>,
    /// Per-frequency divisors from a GGUF `rope_freqs.weight` tensor (how llama.cpp stores
    /// Llama-3.1 scaling): `inv_freq[i] / rope_freq_factors[i]`. Not an HF field; HF configs
    /// express the same through `rope_scaling`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rope_freq_factors: Option<Vec<f32>>,
}

impl LlamaConfig {
    /// Reads and validates a Hugging Face `config.json`.
    ///
    /// # Errors
    /// Unreadable file, invalid JSON (with line/column), or inconsistent head counts.
    pub fn from_hf_json(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let cfg: Self = serde_json::from_str(&text)
            .with_context(|| format!("parsing Llama config {}", path.display()))?;
        cfg.validate()
            .with_context(|| format!("invalid config {}", path.display()))?;
        Ok(cfg)
    }

    /// Number of key/value heads (defaults to the number of query heads).
    pub fn num_kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }

    /// A small random-initialisable config for tests and examples.
    pub fn tiny(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            hidden_size: 64,
            intermediate_size: 128,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: Some(2),
            head_dim: None,
            rms_norm_eps: 1e-5,
            rope_theta: 10_000.0,
            rope_scaling: None,
            max_position_embeddings: 512,
            tie_word_embeddings: true,
            bos_token_id: None,
            eos_token_id: None,
            architectures: Some(vec!["LlamaForCausalLM".into()]),
            model_type: Some("llama".into()),
            rope_freq_factors: None,
            hidden_act: None,
            attention_bias: None,
            mlp_bias: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hf_config_with_llama3_scaling() {
        // Abridged from Llama-3.2-1B's config.json.
        let json = r#"{
          "architectures": ["LlamaForCausalLM"], "bos_token_id": 128000,
          "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_size": 2048,
          "intermediate_size": 8192, "max_position_embeddings": 131072, "model_type": "llama",
          "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
          "rms_norm_eps": 1e-05,
          "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                           "original_max_position_embeddings": 8192, "rope_type": "llama3"},
          "rope_theta": 500000.0, "tie_word_embeddings": true, "vocab_size": 128256 }"#;
        let c: LlamaConfig = serde_json::from_str(json).unwrap();
        c.validate().unwrap();
        assert_eq!(c.num_kv_heads(), 8);
        assert_eq!(c.head_dim(), 64);
        assert_eq!(
            c.eos_token_id.unwrap().to_vec(),
            vec![128001, 128008, 128009]
        );
        let s = c.rope_scaling.unwrap();
        assert_eq!(s.factor, 32.0);
        assert_eq!(s.rope_type, RopeType::Llama3);
    }
}
