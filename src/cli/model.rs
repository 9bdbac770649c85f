//! `--model` / `--device` options shared by the subcommands that load a model.

use anyhow::{Context, Result};
use clap::Args;
use halt_llm::backend::{self, DeviceChoice};
use halt_llm::fetch;
use halt_llm::model::load::{LoadedModel, load_model};

/// Which model, on which device.
#[derive(Args, Clone)]
pub struct ModelArgs {
    /// `default` (SmolLM2-135M-Instruct, fetched on first use), a GGUF file, or a Hugging
    /// Face folder (config.json + *.safetensors + tokenizer.json).
    #[arg(long, default_value = "default")]
    pub model: String,
    /// Compute device: cpu, wgpu (any GPU vendor) or cuda (builds with those features).
    #[arg(long, default_value = "cpu", env = "HALT_DEVICE")]
    pub device: DeviceChoice,
}

/// Opens the device and loads the model.
pub fn load(args: &ModelArgs) -> Result<(LoadedModel, burn::tensor::Device)> {
    let device = backend::device(args.device)?;
    let path = fetch::resolve_model(Some(&args.model))?;
    let loaded =
        load_model(&path, &device).with_context(|| format!("loading model {}", path.display()))?;
    Ok((loaded, device))
}
