//! LoRA (Hu et al. 2021) on the decoder's projections with burn 0.22's reparameterization:
//! each target weight `W [d_in, d_out]` becomes `W + (α/r)·A·B` with `A [d_in, r]` random and
//! `B [r, d_out]` zero at the start, `W` frozen; `Module::materialize` merges the factors back
//! (used by the export).

use anyhow::Result;
use burn::module::{Lora, Module, ParamGroup};
use burn::store::ModuleSnapshot;

use super::config::LoraSettings;
use crate::model::llama::Llama;

/// The parameter-path pattern of the LoRA target projections.
fn lora_pattern(lora: &LoraSettings) -> String {
    let alternatives = lora.target_modules.join("|");
    format!(r"^layers\.\d+\.(self_attn|mlp)\.({alternatives})\.weight$")
}

/// Attaches LoRA factors to the target projections; everything else is frozen.
/// Returns the model and the number of trainable parameters (`r·(d_in + d_out)` per
/// adapted `[d_in, d_out]` weight).
///
/// # Errors
/// An invalid target name.
pub fn apply_lora(model: Llama, lora: &LoraSettings) -> Result<(Llama, usize)> {
    let pattern = lora_pattern(lora);
    let re = regex::Regex::new(&pattern)?;
    let trainable = model
        .collect(None, None, false)
        .iter()
        .filter(|t| re.is_match(&t.name))
        .map(|t| lora.rank * t.shape.iter().sum::<usize>())
        .sum();
    let group = ParamGroup::from_regex(&pattern)
        .map_err(|e| anyhow::anyhow!("LoRA target modules: {e:?}"))?;
    let l = Lora::new(lora.rank, lora.alpha).set_param_group(group);
    Ok((model.apply_lora(l), trainable))
}
