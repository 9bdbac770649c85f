//! What a sample output's responses were made with (`OUT.made_with.json`): the model, the
//! examples file and the settings that change the responses.

use crate::model::load::LoadedModel;
use anyhow::Result;
use std::path::{Path, PathBuf};

use super::sample::SampleConfig;

/// The file beside the output `out` of `halt-llm sample` that records what its responses were
/// made with ([`made_with`]): `out` with `.made_with.json` appended
/// (`sampled.jsonl.made_with.json`).
pub fn made_with_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".made_with.json");
    out.with_file_name(name)
}

/// What the responses of a sample output depend on: the model (its
/// [`model_sha256`](crate::fetch::model_sha256); its name shown, not compared), the examples
/// file (`cfg.source.file`: its SHA-256; its path shown, not compared) and the settings that
/// change the responses (not `batch_prompts`, which does not, nor `--limit`).
///
/// # Errors
/// Unreadable model or examples files.
pub fn made_with(loaded: &LoadedModel, cfg: &SampleConfig) -> Result<serde_json::Value> {
    let data = cfg.source.file.as_deref();
    let s = &cfg.settings;
    Ok(serde_json::json!({
        "model": crate::fetch::model_name(&loaded.source),
        "model_sha256": crate::fetch::model_sha256(&loaded.source)?,
        "data": data.map(|p| p.display().to_string()),
        "data_sha256": data.map(crate::fetch::sha256_file).transpose()?,
        "n": s.n,
        // as written (`0.7`, not the f32's exact binary value)
        "temperature": as_written(s.temperature),
        "top_p": as_written(s.top_p),
        "max_new_tokens": s.max_new_tokens,
        "shots": s.shots,
        "format": s.format.as_str(),
        "seed": cfg.seed,
    }))
}

/// `x` as an f64 that prints as the f32 does (`0.7`, not `0.699999988079071`).
fn as_written(x: f32) -> f64 {
    x.to_string().parse().unwrap_or(f64::NAN)
}

/// Records in [`made_with_path`] what the responses in `out` are made with, or checks that a
/// rerun resuming `out` is made with the same model, examples file and settings: resuming with
/// another examples file would keep the old responses of every id the two share. Bound only
/// once `out` holds a response ([`check_made_with`](crate::files::check_made_with)). `halt-llm
/// sample` calls it before [`sample_stage`](super::sample::sample_stage); `halt-llm run` binds its sampling by its
/// `config.toml` instead.
///
/// # Errors
/// An output holding responses made with another model, another examples file or other
/// settings (each difference named), or without a readable record; unreadable files.
pub fn check_made_with(loaded: &LoadedModel, cfg: &SampleConfig, out: &Path) -> Result<()> {
    // The record is per output file: the messages name it, and `--out` to change.
    crate::files::check_made_with(
        &made_with_path(out),
        &made_with(loaded, cfg)?,
        &["model", "data"],
        &crate::files::Results {
            path: out,
            hold: crate::files::holds_record(out),
            elsewhere: "another --out",
            delete: out.display().to_string(),
        },
    )
}
