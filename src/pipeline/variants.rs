//! The models a run trains and evaluates ([`variants`]): one HALT model per α, the
//! baselines, and HALT models trained on reference-free labels.

use super::config::RunConfig;
use crate::dataset::align_stage::method_name;
use crate::dataset::record::AlignMethod;

/// One model the run trains and evaluates.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    /// Folder and report name: `halt-0.4`, `unchanged`, …
    pub name: String,
    /// How its targets are built.
    pub method: AlignMethod,
    /// Its α (HALT and α-dependent baselines).
    pub alpha: Option<f64>,
    /// Trained on reference-free labels (`judged-reference-free.jsonl`) instead of the
    /// ground-truth judge's.
    pub reference_free: bool,
}

/// The variants of a config: one HALT model per α, then the baselines, then one HALT model
/// per α of `reference_free_alphas` (`halt-rf-α`). IDK and RandomTrim
/// select a sample too; they use the middle α of the list (0.6 by default). OwnBest takes the
/// best sample (no α).
pub fn variants(config: &RunConfig) -> Vec<Variant> {
    let mut v: Vec<Variant> = config
        .alphas
        .iter()
        .map(|&a| Variant {
            name: format!("halt-{a}"),
            method: AlignMethod::Halt,
            alpha: Some(a),
            reference_free: false,
        })
        .collect();
    let mid = config
        .alphas
        .get(config.alphas.len() / 2)
        .copied()
        .unwrap_or(0.6);
    for &m in &config.baselines {
        v.push(Variant {
            name: method_name(m),
            method: m,
            alpha: (!matches!(m, AlignMethod::Unchanged | AlignMethod::OwnBest)).then_some(mid),
            reference_free: false,
        });
    }
    v.extend(config.reference_free_alphas.iter().map(|&a| Variant {
        name: format!("halt-rf-{a}"),
        method: AlignMethod::Halt,
        alpha: Some(a),
        reference_free: true,
    }));
    v
}
