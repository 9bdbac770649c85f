//! Llama configuration, mirroring the fields of a Hugging Face `config.json`
//! (`LlamaConfig` in transformers) so a checkpoint's config deserializes as it is. GGUF
//! metadata (`llama.*` keys) is mapped onto the same fields in [`crate::model::load::gguf`].

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// The scheme of a `rope_scaling` (its `rope_type`, or the older key `type`), as in
/// candle-transformers' `Llama3RopeType`. Only these two are supported: any other scheme of
/// transformers (`linear`, `dynamic`, `yarn`, `longrope`, …) is refused when the config is
/// read, with an error that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
pub enum RopeType {
    /// `"llama3"`: the Llama-3.1 frequency scaling (transformers
    /// `_compute_llama3_parameters`).
    Llama3,
    /// `"default"`: plain RoPE, the scaling is a no-op.
    #[default]
    Default,
}

impl RopeType {
    /// The name in a Hugging Face config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Llama3 => "llama3",
            Self::Default => "default",
        }
    }
}

impl From<RopeType> for &'static str {
    fn from(t: RopeType) -> Self {
        t.as_str()
    }
}

impl TryFrom<String> for RopeType {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "llama3" => Ok(Self::Llama3),
            "default" => Ok(Self::Default),
            _ => Err(format!(
                "unsupported rope_scaling type `{s}` (supported: llama3, default)"
            )),
        }
    }
}

impl std::fmt::Display for RopeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `rope_scaling` of a Hugging Face config. Only the Llama-3 scheme (`rope_type: "llama3"`)
/// changes the frequencies here; `"default"` is a no-op. Source: transformers
/// `_compute_llama3_parameters`, Llama 3.1 release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RopeScaling {
    /// Scaling scheme ([`RopeType`]); HF also accepts the older key `type`.
    #[serde(alias = "type")]
    pub rope_type: RopeType,
    /// Factor by which low frequencies (long wavelengths) are divided.
    #[serde(default = "one")]
    pub factor: f64,
    /// Wavelengths longer than `original_max_position_embeddings / low_freq_factor` are scaled.
    #[serde(default = "one")]
    pub low_freq_factor: f64,
    /// Wavelengths shorter than `original_max_position_embeddings / high_freq_factor` are kept.
    #[serde(default = "four")]
    pub high_freq_factor: f64,
    /// Context length the model was pre-trained with before scaling (tokens).
    #[serde(default = "ctx8192")]
    pub original_max_position_embeddings: usize,
}

fn one() -> f64 {
    1.0
}
fn four() -> f64 {
    4.0
}
fn ctx8192() -> usize {
    8192
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_eps() -> f64 {
    1e-6
}
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

    /// Checks that the shapes are consistent.
    ///
    /// # Errors
    /// Zero sizes, heads that do not divide, odd head width.
    pub fn validate(&self) -> Result<()> {
        if self.vocab_size == 0 || self.hidden_size == 0 || self.num_hidden_layers == 0 {
            bail!("vocab_size, hidden_size and num_hidden_layers must be > 0");
        }
        if self.num_attention_heads == 0 || self.num_kv_heads() == 0 {
            bail!("num_attention_heads and num_key_value_heads must be > 0");
        }
        if !self.num_attention_heads.is_multiple_of(self.num_kv_heads()) {
            bail!(
                "num_attention_heads ({}) is not a multiple of num_key_value_heads ({})",
                self.num_attention_heads,
                self.num_kv_heads()
            );
        }
        if let Some(t) = &self.model_type
            && !matches!(t.as_str(), "llama" | "mistral")
        {
            bail!("model_type `{t}` is not a Llama architecture (supported: llama, mistral)");
        }
        if let Some(act) = &self.hidden_act
            && act != "silu"
        {
            bail!("hidden_act `{act}` is not supported (Llama uses silu)");
        }
        if self.attention_bias == Some(true) || self.mlp_bias == Some(true) {
            bail!("attention_bias / mlp_bias are not supported (Llama has no biases)");
        }
        if !(self.rope_theta.is_finite() && self.rope_theta > 0.0) {
            bail!(
                "rope_theta must be a positive number, got {}",
                self.rope_theta
            );
        }
        // Positive: burn's RmsNorm refuses (panics on) a zero epsilon, which `1e-400` also
        // parses to.
        if !(self.rms_norm_eps.is_finite() && self.rms_norm_eps > 0.0) {
            bail!(
                "rms_norm_eps must be a positive number, got {}",
                self.rms_norm_eps
            );
        }
        if !self.head_dim().is_multiple_of(2) {
            bail!(
                "head_dim ({}) must be even for rotary embeddings",
                self.head_dim()
            );
        }
        if let Some(s) = &self.rope_scaling {
            // The llama3 scheme divides by `factor` and by `high_freq_factor − low_freq_factor`.
            let positive = |x: f64| x.is_finite() && x > 0.0;
            if s.rope_type == RopeType::Llama3
                && !(positive(s.factor)
                    && positive(s.low_freq_factor)
                    && s.high_freq_factor.is_finite()
                    && s.high_freq_factor > s.low_freq_factor
                    && s.original_max_position_embeddings > 0)
            {
                bail!(
                    "rope_scaling: factor, low_freq_factor and original_max_position_embeddings \
                     must be positive and high_freq_factor larger than low_freq_factor, got \
                     {s:?}"
                );
            }
        }
        Ok(())
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

    #[test]
    fn rope_type_reads_either_key_and_refuses_other_schemes() {
        let scaling = |json: &str| serde_json::from_str::<RopeScaling>(json);
        assert_eq!(
            scaling(r#"{"rope_type": "llama3", "factor": 8.0}"#)
                .unwrap()
                .rope_type,
            RopeType::Llama3
        );
        // the older key of transformers
        assert_eq!(
            scaling(r#"{"type": "llama3", "factor": 8.0}"#)
                .unwrap()
                .rope_type,
            RopeType::Llama3
        );
        assert_eq!(
            scaling(r#"{"rope_type": "default"}"#).unwrap().rope_type,
            RopeType::Default
        );
        for other in ["linear", "dynamic", "yarn", "Llama3", ""] {
            let e = scaling(&format!(r#"{{"rope_type": "{other}", "factor": 2.0}}"#))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!("unsupported rope_scaling type `{other}`")),
                "{e}"
            );
        }
        // A config with another scheme is refused when read, with the scheme named.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"vocab_size": 8, "hidden_size": 8, "intermediate_size": 8,
                "num_hidden_layers": 1, "num_attention_heads": 2,
                "rope_scaling": {"type": "dynamic", "factor": 2.0}}"#,
        )
        .unwrap();
        let e = format!("{:#}", LlamaConfig::from_hf_json(&path).unwrap_err());
        assert!(e.contains("unsupported rope_scaling type `dynamic`"), "{e}");
        // Written back under `rope_type`, as transformers writes it.
        let s = scaling(r#"{"type": "llama3"}"#).unwrap();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["rope_type"], "llama3");
        assert_eq!(serde_json::from_value::<RopeScaling>(json).unwrap(), s);
    }

    #[test]
    fn rejects_a_zero_epsilon_and_degenerate_rope_scaling() {
        // Fuzz finding: `"rms_norm_eps": 1e-400` parses to 0.0, which passed validation and
        // then panicked in burn's RmsNormConfig::init ("epsilon must be positive").
        let mut c: LlamaConfig = serde_json::from_str(
            r#"{"vocab_size": 8, "hidden_size": 8, "intermediate_size": 8,
                "num_hidden_layers": 1, "num_attention_heads": 2, "rms_norm_eps": 1e-400}"#,
        )
        .unwrap();
        assert_eq!(c.rms_norm_eps, 0.0);
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("rms_norm_eps must be a positive number"), "{e}");
        c.rms_norm_eps = 1e-5;
        c.validate().unwrap();
        // llama3 scaling with equal low and high frequency factors divides by zero.
        c.rope_scaling = Some(RopeScaling {
            rope_type: RopeType::Llama3,
            factor: 8.0,
            low_freq_factor: 4.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192,
        });
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("rope_scaling"), "{e}");
    }

    #[test]
    fn rejects_bad_head_counts() {
        let mut c = LlamaConfig::tiny(32);
        c.num_key_value_heads = Some(3);
        assert!(c.validate().unwrap_err().to_string().contains("multiple"));
    }
}
