//! Every parameter of a model, by name, to compare the weights of two runs.
#![allow(dead_code)] // not every test file that shares this module uses it

use burn::store::ModuleSnapshot;
use halt_llm::model::llama::Llama;

/// Every parameter of `model` as `(name, f32 values)`, sorted by name.
pub fn params(model: &Llama) -> Vec<(String, Vec<f32>)> {
    let mut v: Vec<(String, Vec<f32>)> = model
        .collect(None, None, false)
        .into_iter()
        .map(|t| {
            let bytes = t.to_bytes().unwrap();
            let values = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (t.name.clone(), values)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}
