//! Builders the fuzz targets share: a copy of the tiny Hugging Face fixture, loading a model
//! with its error as text, raw JSON written into a file, the first example of a domain, and
//! `Sampled` records for hand-made responses.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use halt_llm::dataset::Example;
use halt_llm::dataset::record::{Sampled, SamplingParams};
use halt_llm::model::load::{LoadedModel, load_model};
use serde_json::Value;

/// The files of the Hugging Face fixture folder.
pub const HF_FILES: [&str; 4] = [
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
];

/// The tiny Hugging Face fixture folder, `tests/fixtures/tiny-llama/hf`.
pub fn hf_fixture() -> PathBuf {
    crate::repo_path("tests/fixtures/tiny-llama/hf")
}

/// A copy of the Hugging Face fixture folder (its [`HF_FILES`]) in a temporary folder.
pub fn hf_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in HF_FILES {
        std::fs::copy(hf_fixture().join(f), dir.path().join(f)).unwrap();
    }
    dir
}

/// Loads the GGUF file or Hugging Face folder at `path` on the CPU; an error as its whole
/// chain (`{e:#}`), the form the tests match.
pub fn try_load(path: &Path) -> Result<LoadedModel, String> {
    load_model(path, &Device::flex()).map_err(|e| format!("{e:#}"))
}

/// Sets `key` of the JSON object in the file at `path` to the raw JSON text `raw` (written as
/// is, so values serde_json cannot hold, such as `1e400` or arrays nested too deep, can be
/// written).
pub fn set_raw_json(path: &Path, key: &str, raw: &str) {
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc[key] = Value::String("\u{1}".into());
    std::fs::write(path, doc.to_string().replace("\"\\u0001\"", raw)).unwrap();
}

/// The first line of `datasets/<domain>/train.jsonl` (one `Example` record).
pub fn first_line(domain: &str) -> String {
    let path = crate::repo_path(&format!("datasets/{domain}/train.jsonl"));
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().next().unwrap().to_string()
}

/// The first training example of `domain`.
pub fn first_example(domain: &str) -> Example {
    serde_json::from_str(&first_line(domain)).unwrap()
}

/// Sampling parameters at temperature 0.7 and top-p 0.95 with `seed` and `max_new_tokens`.
pub fn sampling(seed: u64, max_new_tokens: usize) -> SamplingParams {
    SamplingParams {
        temperature: 0.7,
        top_p: 0.95,
        seed,
        max_new_tokens,
    }
}

/// A `Sampled` record of example `id` holding `responses`, from model `m` with
/// [`sampling`]`(0, 8)` and no finish reasons.
pub fn sampled(id: &str, responses: Vec<String>) -> Sampled {
    Sampled {
        id: id.into(),
        responses,
        model: "m".into(),
        sampling: sampling(0, 8),
        finish: vec![],
        token_logprobs: Vec::new(),
        token_ends: Vec::new(),
    }
}
