//! The one place where compile-time features and the `--device` option become a burn
//! [`Device`]. Nothing else in the crate names a backend.
//!
//! | `--device` | feature  | burn device                          |
//! |------------|----------|--------------------------------------|
//! | `cpu`      | always   | `Device::flex()` (pure-Rust CPU)     |
//! | `wgpu`     | `wgpu`   | `Device::wgpu(DeviceKind::DefaultDevice)`: any GPU vendor through WebGPU (Vulkan, Metal, DX12), or Mesa's lavapipe on a CPU |
//! | `cuda`     | `cuda`   | `Device::cuda(0)`                    |

use std::fmt;
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor};

/// A compute backend a user can ask for with `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeviceChoice {
    /// burn's `flex` CPU backend (always compiled in).
    #[default]
    Cpu,
    /// WebGPU through wgpu: Vulkan, Metal or DX12, whatever the machine has.
    Wgpu,
    /// NVIDIA CUDA (device 0).
    Cuda,
}

impl FromStr for DeviceChoice {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(Self::Cpu),
            "wgpu" | "gpu" | "webgpu" | "vulkan" => Ok(Self::Wgpu),
            "cuda" => Ok(Self::Cuda),
            other => bail!("unknown device `{other}`: expected one of cpu, wgpu, cuda"),
        }
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Cpu => "cpu",
            Self::Wgpu => "wgpu",
            Self::Cuda => "cuda",
        })
    }
}

/// The devices this build can use (depends on the `wgpu` / `cuda` features).
pub fn compiled_devices() -> Vec<DeviceChoice> {
    let mut v = vec![DeviceChoice::Cpu];
    if cfg!(feature = "wgpu") {
        v.push(DeviceChoice::Wgpu);
    }
    if cfg!(feature = "cuda") {
        v.push(DeviceChoice::Cuda);
    }
    v
}

/// Turns a [`DeviceChoice`] into a burn [`Device`] and checks that it works by running one
/// small operation on it.
///
/// # Errors
/// - the backend was not compiled in (names the cargo feature to enable);
/// - the backend is compiled in but no adapter/driver could be opened (for wgpu: no Vulkan,
///   Metal or DX12 adapter; install a GPU driver or Mesa's `mesa-vulkan-drivers`).
pub fn device(choice: DeviceChoice) -> Result<Device> {
    let dev = match choice {
        DeviceChoice::Cpu => Device::flex(),
        DeviceChoice::Wgpu => wgpu_device()?,
        DeviceChoice::Cuda => cuda_device()?,
    };
    if choice != DeviceChoice::Cpu {
        probe(&dev, choice)?;
    }
    Ok(dev)
}

/// The devices of a training run: `choice` alone, or, for data parallelism, each of `specs`
/// (`cpu`, `wgpu`, `wgpu:N` — the N-th *discrete* GPU —, `cuda`, `cuda:N`), the first being the
/// main device (the model's, where gradients are summed and the optimiser steps). Each is
/// opened and probed like [`device`].
///
/// # Errors
/// A spec that does not parse, a single spec (data parallelism needs two or more), or a
/// device that does not open.
pub fn training_devices(choice: DeviceChoice, specs: &[String]) -> Result<Vec<Device>> {
    if specs.is_empty() {
        return Ok(vec![device(choice)?]);
    }
    check_device_specs(specs)?;
    specs
        .iter()
        .map(|s| {
            let (choice, index) = parse_spec(s)?;
            let dev = match (choice, index) {
                (_, None) | (DeviceChoice::Cpu, _) => return device(choice),
                (DeviceChoice::Wgpu, Some(i)) => wgpu_device_at(i)?,
                (DeviceChoice::Cuda, Some(i)) => cuda_device_at(i)?,
            };
            probe(&dev, choice).with_context(|| match choice {
                DeviceChoice::Wgpu => format!(
                    "device `{s}`: wgpu:N is the N-th discrete GPU (an integrated GPU, Apple's \
                     or Mesa's lavapipe is plain `wgpu`)"
                ),
                _ => format!("device `{s}`"),
            })?;
            Ok(dev)
        })
        .collect()
}

/// Checks the syntax of data-parallel device specs (see [`training_devices`]) without opening
/// anything.
///
/// # Errors
/// One spec alone, or a spec that does not parse.
pub fn check_device_specs(specs: &[String]) -> Result<()> {
    if specs.len() == 1 {
        bail!(
            "devices = [\"{}\"]: data parallelism needs two or more devices (one device is \
             `device`)",
            specs[0]
        );
    }
    for s in specs {
        parse_spec(s)?;
    }
    Ok(())
}

/// `cpu`, `wgpu[:N]`, `cuda[:N]` → the backend and the optional index.
fn parse_spec(spec: &str) -> Result<(DeviceChoice, Option<usize>)> {
    let (name, index) = match spec.split_once(':') {
        Some((n, i)) => {
            let i: usize = i
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("device `{spec}`: `{i}` is not a device index"))?;
            (n, Some(i))
        }
        None => (spec, None),
    };
    let choice: DeviceChoice = name.trim().parse()?;
    if choice == DeviceChoice::Cpu && index.is_some_and(|i| i > 0) {
        bail!("device `{spec}`: the CPU backend has one device (use `cpu` several times)");
    }
    Ok((choice, index))
}

/// Whether `device` is the CPU backend (with or without automatic differentiation).
pub fn is_cpu(device: &Device) -> bool {
    *device == Device::flex()
}

/// The same device with automatic differentiation, for training.
pub fn autodiff(device: &Device) -> Device {
    device.clone().autodiff()
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
}

#[cfg(feature = "wgpu")]
fn wgpu_device_at(index: usize) -> Result<Device> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::DiscreteGpu(index)))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device_at(_index: usize) -> Result<Device> {
    wgpu_device()
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> Result<Device> {
    bail!("this build has no wgpu backend: rebuild with `--features wgpu`")
}

#[cfg(feature = "cuda")]
fn cuda_device() -> Result<Device> {
    Ok(Device::cuda(0))
}

#[cfg(feature = "cuda")]
fn cuda_device_at(index: usize) -> Result<Device> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda_device_at(_index: usize) -> Result<Device> {
    cuda_device()
}

#[cfg(not(feature = "cuda"))]
fn cuda_device() -> Result<Device> {
    bail!("this build has no CUDA backend: rebuild with `--features cuda` (see README: CUDA)")
}

/// Runs a tiny computation and reads it back; burn opens GPU adapters lazily and panics when
/// there is none, so the panic is caught here and turned into an error.
fn probe(dev: &Device, choice: DeviceChoice) -> Result<()> {
    let dev = dev.clone();
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(move || {
        let t = Tensor::<1>::from_floats([1.0f32, 2.0, 3.0], &dev);
        t.sum().into_scalar::<f32>()
    });
    std::panic::set_hook(prev);
    match r {
        Ok(v) if (v - 6.0).abs() < 1e-4 => Ok(()),
        Ok(v) => bail!("{choice} device self-test computed 1+2+3 = {v}"),
        Err(e) => {
            let msg = e
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| e.downcast_ref::<&str>().copied())
                .unwrap_or("unknown error");
            bail!(
                "could not open a {choice} device: {msg}\n\
                 hint: check the GPU driver (for wgpu on a machine without a GPU: \
                 `apt-get install mesa-vulkan-drivers libvulkan1`), or use `--device cpu`"
            )
        }
    }
}

/// Keeps the window-system probes of GPU drivers quiet. halt-llm opens no window, but a
/// Vulkan driver probing Wayland (Mesa's, lavapipe's) prints `error: XDG_RUNTIME_DIR is invalid
/// or not set in the environment.` once per probe where that variable is unset (containers,
/// `ssh` sessions without a login manager, CI). Where it is unset or empty, this points it at the
/// temporary directory, where no Wayland socket is found and the probe fails silently.
///
/// # Safety
/// Changes the environment: call it first in `main`, before any thread starts.
pub unsafe fn quiet_window_system_probes() {
    let unset = std::env::var_os("XDG_RUNTIME_DIR").is_none_or(|v| v.is_empty());
    if cfg!(feature = "wgpu") && unset {
        // SAFETY: the caller guarantees no other thread reads the environment yet
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_parallel_device_specs() {
        let specs = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_spec("cuda:1").unwrap(), (DeviceChoice::Cuda, Some(1)));
        assert_eq!(parse_spec("wgpu").unwrap(), (DeviceChoice::Wgpu, None));
        check_device_specs(&specs(&["cpu", "cpu"])).unwrap();
        check_device_specs(&specs(&["wgpu:0", "wgpu:1", "cuda"])).unwrap();
        let err = |v: &[&str]| check_device_specs(&specs(v)).unwrap_err().to_string();
        assert!(err(&["cpu"]).contains("two or more devices"));
        assert!(err(&["cuda:x", "cpu"]).contains("`x` is not a device index"));
        assert!(err(&["cpu:1", "cpu"]).contains("one device"));
        assert!(err(&["tpu", "cpu"]).contains("unknown device `tpu`"));
        // two CPU devices open (the same backend twice)
        assert_eq!(
            training_devices(DeviceChoice::Cpu, &specs(&["cpu", "cpu"]))
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn parses_device_names() {
        assert_eq!("cpu".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cpu);
        assert_eq!("WGPU".parse::<DeviceChoice>().unwrap(), DeviceChoice::Wgpu);
        assert_eq!("cuda".parse::<DeviceChoice>().unwrap(), DeviceChoice::Cuda);
        let e = "tpu".parse::<DeviceChoice>().unwrap_err().to_string();
        assert!(e.contains("tpu") && e.contains("cpu, wgpu, cuda"), "{e}");
    }

    #[test]
    fn cpu_device_computes() {
        let dev = device(DeviceChoice::Cpu).unwrap();
        let t = Tensor::<1>::from_floats([1.0f32, 2.0], &dev);
        assert_eq!(t.sum().into_scalar::<f32>(), 3.0);
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn missing_backend_is_an_error_not_a_panic() {
        let e = device(DeviceChoice::Cuda).unwrap_err().to_string();
        assert!(e.contains("--features cuda"), "{e}");
    }
}
