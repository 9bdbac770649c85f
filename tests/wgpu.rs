//! The GPU backend (`HALT_GPU`: wgpu by default, any GPU vendor or Mesa's lavapipe on a CPU
//! in CI; or cuda) computes the same forward pass as the CPU backend. Skipped with a message
//! when its device cannot be opened, unless required (`tests/common/gpu.rs`).

#![cfg(any(feature = "wgpu", feature = "cuda"))]

use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use halt_llm::backend::{self, DeviceChoice};

mod common;
use halt_llm::model::{Llama, LlamaConfig};

#[test]
fn wgpu_forward_matches_cpu() {
    let Some((_, wgpu)) = common::gpu::gpu_or_skip() else {
        return;
    };
    let cpu = backend::device(DeviceChoice::Cpu).unwrap();
    let config = LlamaConfig::tiny(97);
    let model = Llama::init(&config, &cpu);
    let ids: Vec<i64> = (0..2 * 9).map(|i| (i * 31 + 5) % 97).collect();
    // Row 0 is left-padded by two slots.
    let mask = vec![[vec![false; 2], vec![true; 7]].concat(), vec![true; 9]];
    let run = |m: &Llama, dev| {
        let input = Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [2, 9]), dev);
        m.forward(input, &mask)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
    };
    let on_cpu = run(&model, &cpu);
    let on_gpu = run(&model.clone().to_device(&wgpu), &wgpu);
    let d = on_cpu
        .iter()
        .zip(&on_gpu)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(d < 1e-3, "max |Δlogit| cpu vs wgpu = {d}");
}
