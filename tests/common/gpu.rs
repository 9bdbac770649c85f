//! The GPU backend that the GPU parity tests (`tests/wgpu.rs`, `tests/wgpu_train.rs`) check
//! against the CPU backend: `HALT_GPU` = `wgpu` (default) or `cuda` (a build with
//! `--features cuda`). A device that cannot be opened skips the test with a message, unless
//! `HALT_REQUIRE_GPU=1` (or, for wgpu, `HALT_REQUIRE_WGPU=1`, which `.ci/run` sets): then it
//! fails.
#![allow(dead_code)] // each test file uses some of them

use burn::tensor::Device;
use halt_llm::backend::{self, DeviceChoice};

/// The backend under test and its device, or `None` (after saying why) to skip.
///
/// # Panics
/// An unknown `HALT_GPU`, or a device that does not open while it is required.
pub fn gpu_or_skip() -> Option<(DeviceChoice, Device)> {
    let choice: DeviceChoice = match std::env::var("HALT_GPU") {
        Ok(name) => name.parse().expect("HALT_GPU"),
        Err(_) => DeviceChoice::Wgpu,
    };
    let on = |var: &str| std::env::var(var).as_deref() == Ok("1");
    let required =
        on("HALT_REQUIRE_GPU") || (choice == DeviceChoice::Wgpu && on("HALT_REQUIRE_WGPU"));
    match backend::device(choice) {
        Ok(device) => Some((choice, device)),
        Err(e) if required => panic!("{choice:?} is required here but unavailable: {e:#}"),
        Err(e) => {
            eprintln!("skipping: no {choice:?} device: {e:#}");
            None
        }
    }
}
