//! Validation of a [`LlamaConfig`]: the checks every loader runs before a buffer is sized from
//! the config (sizes and head counts, the architecture fields `model_type`, `hidden_act`,
//! `attention_bias` / `mlp_bias`, and positive `rope_theta`, `rms_norm_eps` and Llama-3
//! `rope_scaling` factors), each refusal naming the field.

use anyhow::{Result, bail};

use super::{LlamaConfig, RopeType};

impl LlamaConfig {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::RopeScaling;

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
