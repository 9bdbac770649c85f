//! Atomic file writes for every stage output: a temporary file in the same folder, synced,
//! then renamed over the target, so a reader never sees a half-written `summary.json`,
//! `report.md`, config or plot; and reading TOML settings files with errors that name them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

mod made_with;

pub use made_with::{Results, check_made_with, differing_fields, holds_record};

/// The folder of `path` (`.` for a bare file name).
pub fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder + rename), creating
/// the folder if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = folder_of(path);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = temp_file_in(&dir, "")?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .and_then(|_| make_readable(tmp.as_file()))
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The name prefix of every temporary file the stages write beside their outputs (renamed
/// into place when complete); what [`remove_stale_temp_files`] clears after a killed run.
pub const TEMP_PREFIX: &str = ".halt-tmp-";

/// A new temporary file in `dir` named `.halt-tmp-XXXXXX{suffix}` ([`TEMP_PREFIX`]).
///
/// # Errors
/// The file cannot be created (the message names the folder).
pub fn temp_file_in(dir: &Path, suffix: &str) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(suffix)
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))
}

/// Removes, under `dir` (recursively), what a killed run left half-written: files and folders
/// named `.halt-tmp-*` ([`TEMP_PREFIX`]) or `*.tmp` (checkpoints being saved, a model folder
/// being exported). `.partial` stage outputs are kept: the stages resume from them. Returns
/// how many entries were removed; a missing `dir` removes nothing.
///
/// # Errors
/// A folder that cannot be read or an entry that cannot be removed (named).
pub fn remove_stale_temp_files(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if name.starts_with(TEMP_PREFIX) || name.ends_with(".tmp") {
            if is_dir {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            }
            .with_context(|| format!("removing {}", path.display()))?;
            removed += 1;
        } else if is_dir {
            removed += remove_stale_temp_files(&path)?;
        }
    }
    Ok(removed)
}

/// Gives a temporary file (created `0600`) the usual `0644` mode of an output file (Unix).
pub fn make_readable(file: &std::fs::File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Writes `value` as pretty JSON (with a final newline) to `path`, atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Largest settings file read ([`read_toml`], also `made_with.json` records): 1 MiB, far above
/// any real one (a few hundred bytes), so that `--config /dev/zero` is refused at once instead
/// of filling memory.
pub const MAX_SETTINGS_BYTES: u64 = 1 << 20;

/// The text of the settings file `path`, at most [`MAX_SETTINGS_BYTES`].
///
/// # Errors
/// An unreadable file, not UTF-8, or larger than 1 MiB (named).
pub fn read_settings_text(path: &Path) -> Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_SETTINGS_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > MAX_SETTINGS_BYTES {
        anyhow::bail!(
            "{} is larger than 1 MiB, too large for a settings file: is it the right file?",
            path.display()
        );
    }
    String::from_utf8(bytes).with_context(|| format!("reading {}: not UTF-8", path.display()))
}

/// Reads a TOML settings file into `T` (missing fields take `T`'s serde defaults).
///
/// # Errors
/// Unreadable file, larger than 1 MiB ([`MAX_SETTINGS_BYTES`]), invalid TOML, an unknown or
/// mistyped field (named, with its line).
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = read_settings_text(path)?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

#[cfg(test)]
mod tests;
