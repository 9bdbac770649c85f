//! The wgpu backend (any GPU vendor; Mesa's lavapipe on a CPU in CI) computes the same
//! forward pass as the CPU backend. Skipped with a message when no adapter can be opened,
//! unless `HALT_REQUIRE_WGPU=1` (set by `.ci/run`), where that is a failure.

#![cfg(feature = "wgpu")]

use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use halt_llm::backend::{self, DeviceChoice};
use halt_llm::model::{Llama, LlamaConfig};

#[test]
fn wgpu_forward_matches_cpu() {
    let wgpu = match backend::device(DeviceChoice::Wgpu) {
        Ok(d) => d,
        Err(e) if std::env::var("HALT_REQUIRE_WGPU").as_deref() != Ok("1") => {
            eprintln!("skipping: no wgpu adapter: {e:#}");
            return;
        }
        Err(e) => panic!("HALT_REQUIRE_WGPU=1 but wgpu is unavailable: {e:#}"),
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
