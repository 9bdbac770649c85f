//! A model's logits over a whole sequence, from one full forward pass (no KV cache).
#![allow(dead_code)] // not every test file that shares this module uses it

use burn::tensor::{Device, Int, Tensor, TensorData};
use halt_llm::model::Llama;

/// The logits at every position of `ids` (one sequence), one full forward pass: `[positions]`
/// rows of `vocab_size` values.
pub fn logits_of(model: &Llama, ids: &[u32], dev: &Device) -> Vec<Vec<f32>> {
    let n = ids.len();
    let input = Tensor::<2, Int>::from_data(
        TensorData::new(ids.iter().map(|&i| i as i64).collect(), [1, n]),
        dev,
    );
    let flat = model
        .forward(input, &[vec![true; n]])
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    flat.chunks(flat.len() / n).map(<[f32]>::to_vec).collect()
}
