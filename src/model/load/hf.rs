//! Hugging Face checkpoint folder loader: `config.json`, one or more `*.safetensors` (read
//! with burn-store, PyTorch `[out, in]` layout adapted to burn's `[in, out]`), and
//! `tokenizer.json` + `tokenizer_config.json` (chat template, special tokens).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::Device;

use super::LoadedModel;
use crate::model::config::LlamaConfig;
use crate::model::llama::Llama;
use crate::tokenizer::Tokenizer;

/// The `*.safetensors` files of a folder, sorted (sharded checkpoints have several).
pub fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no *.safetensors file in {}", dir.display());
    }
    Ok(files)
}

/// Loads a Hugging Face Llama folder.
///
/// # Errors
/// Missing `config.json` / weights / `tokenizer.json`; a model tensor absent from every
/// safetensors file, or of the wrong shape (the message lists the tensors).
pub fn load_hf(dir: &Path, device: &Device) -> Result<LoadedModel> {
    let config = LlamaConfig::from_hf_json(&dir.join("config.json"))?;
    let tokenizer = Tokenizer::from_hf_dir(dir)?;
    let model = load_weights(&config, dir, device)?;
    Ok(LoadedModel {
        model,
        tokenizer,
        source: dir.to_path_buf(),
    })
}

/// Loads the safetensors weights of `dir` into a model built from `config`.
///
/// # Errors
/// See [`load_hf`].
pub fn load_weights(config: &LlamaConfig, dir: &Path, device: &Device) -> Result<Llama> {
    let files = safetensors_files(dir)?;
    // Every stored value takes at least one byte: the files' total size bounds the model the
    // config may describe, checked before `Llama::init` allocates from the config's sizes.
    let mut bytes = 0u64;
    for f in &files {
        let len = std::fs::metadata(f)
            .with_context(|| format!("reading {}", f.display()))?
            .len();
        bytes = bytes.saturating_add(len);
    }
    config.validate()?;
    super::check_fits(
        config,
        bytes,
        &format!("the safetensors files of {}", dir.display()),
    )
    .with_context(|| format!("config.json of {}", dir.display()))?;
    let mut model = Llama::init(config, device);
    let mut applied = std::collections::HashSet::new();
    let mut errors = Vec::new();
    for file in files {
        let mut store = SafetensorsStore::from_file(&file)
            .with_from_adapter(PyTorchToBurnAdapter)
            .with_key_remapping(r"^model\.", "")
            .allow_partial(true);
        let result = model
            .load_from(&mut store)
            .map_err(|e| anyhow::anyhow!("{}: {e:?}", file.display()))?;
        applied.extend(result.applied.iter().cloned());
        errors.extend(
            result
                .errors
                .iter()
                .map(|e| format!("{}: {e:?}", file.display())),
        );
    }
    if !errors.is_empty() {
        bail!("loading {}:\n  {}", dir.display(), errors.join("\n  "));
    }
    let expected: Vec<String> = model
        .clone()
        .collect(None, None, false)
        .into_iter()
        .map(|t| t.name)
        .collect();
    let missing: Vec<&String> = expected.iter().filter(|p| !applied.contains(*p)).collect();
    if !missing.is_empty() {
        bail!(
            "{}: tensors missing from the safetensors files: {}",
            dir.display(),
            missing
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(model)
}
