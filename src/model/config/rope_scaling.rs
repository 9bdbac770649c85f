//! `rope_scaling` of a Hugging Face `config.json` (transformers `LlamaConfig.rope_scaling`):
//! the scheme ([`RopeType`], read from `rope_type` or the older `type`) and the Llama-3.1
//! frequency-scaling factors with transformers' defaults. How the frequencies use them is in
//! [`crate::model::rope`].

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

/// Default `factor`, `low_freq_factor`.
fn one() -> f64 {
    1.0
}
/// Default `high_freq_factor`.
fn four() -> f64 {
    4.0
}
/// Default `original_max_position_embeddings` (Llama 3's pre-training context).
fn ctx8192() -> usize {
    8192
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::LlamaConfig;

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
}
