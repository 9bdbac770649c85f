//! The run folder's record of its settings (`config.toml`): written before the first result,
//! compared on a rerun; a folder without results takes new settings.

use super::config::RunConfig;
use anyhow::{Context, Result, bail};
use std::path::Path;

/// Writes `dir/config.toml` (creating `dir`), or checks that the one there is the same
/// (the devices and the dataset folders may differ).
///
/// A run folder is bound to its settings only once it holds a result ([`holds_results`]): a
/// folder where no stage has produced anything yet (a start that failed, say on a prompt too
/// long for the context) takes the new settings; the examples the earlier settings selected
/// (`data/`) are removed first, so they are chosen again with the new ones. `data/` goes
/// before `config.toml` is replaced: a run killed between the two finds the old settings and
/// no result, and takes the new settings again.
///
/// A folder holding results without a readable `config.toml` (deleted or damaged) is refused:
/// a run records its settings before any stage writes, so only a user can leave it so.
///
/// # Errors
/// A folder holding results whose recorded settings differ (the differing fields named), or
/// are missing or unreadable; I/O errors.
pub(super) fn record_config(config: &RunConfig, dir: &Path) -> Result<()> {
    let path = dir.join("config.toml");
    let bound = dir.is_dir() && holds_results(dir)?;
    if bound && !path.exists() {
        bail!(
            "{} holds results without a record of what made them ({} is missing, so results of \
             other settings could not be told apart): restore {}, or use another --out",
            dir.display(),
            path.display(),
            path.display()
        );
    }
    if bound {
        let recorded = RunConfig::from_toml_file(&path).with_context(|| {
            format!(
                "{} records what made the results in {}: restore it, or use another --out",
                path.display(),
                dir.display()
            )
        })?;
        // the devices do not change results (beyond rounding), the dataset folder may move
        let mut a = recorded.identity();
        let b = config.identity();
        a.datasets = b.datasets.clone();
        if a == b {
            return Ok(());
        }
        let diff =
            crate::files::differing_fields(&serde_json::to_value(&a)?, &serde_json::to_value(&b)?);
        bail!(
            "{} was made with other settings ({}; recorded in {}); use another --out, or the \
             same settings",
            dir.display(),
            diff.join("; "),
            path.display()
        );
    }
    // No result yet: the folder takes the new settings, whatever is recorded (even a record
    // that cannot be read), and its examples are chosen again with them.
    if path.exists() && RunConfig::from_toml_file(&path).is_ok_and(|r| same_run(&r, config)) {
        return Ok(());
    }
    let data = dir.join("data");
    if data.exists() {
        std::fs::remove_dir_all(&data).with_context(|| format!("removing {}", data.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::files::write_atomic(&path, config.to_toml().as_bytes())
}

/// Whether the recorded settings `a` and `b` make the same results (the device and the
/// dataset folders may differ).
fn same_run(a: &RunConfig, b: &RunConfig) -> bool {
    let mut a = a.identity();
    let b = &b.identity();
    a.datasets = b.datasets.clone();
    &a == b
}

/// Whether the run folder `dir` holds a result of its settings: anything but `config.toml`,
/// the selected examples (`data/`, chosen again from the settings), temporary files and a
/// `.partial` stage output without a complete record (what a run that failed or was killed
/// before its first sampled record leaves). Anything else, a file of the user's included,
/// counts: such a folder keeps its settings.
///
/// # Errors
/// An unreadable folder.
fn holds_results(dir: &Path) -> Result<bool> {
    use crate::files::{TEMP_PREFIX, holds_record};
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let empty_partial = name
            .strip_suffix(".partial")
            .is_some_and(|out| !holds_record(&dir.join(out)));
        let ignored = name == "config.toml"
            || name == "data"
            || name.starts_with(TEMP_PREFIX)
            || name.ends_with(".tmp")
            || empty_partial;
        if !ignored {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_folder_with_results_needs_its_readable_record() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let config = RunConfig::default();
        let path = dir.join("config.toml");
        record_config(&config, &dir).unwrap();
        // no result yet: a damaged record is replaced by the settings
        std::fs::write(&path, "not = [toml").unwrap();
        record_config(&config, &dir).unwrap();
        assert!(same_run(
            &RunConfig::from_toml_file(&path).unwrap(),
            &config
        ));
        // a result, the record deleted: refused, not silently bound to other settings
        std::fs::write(dir.join("sampled.jsonl"), "{}\n").unwrap();
        std::fs::remove_file(&path).unwrap();
        let e = record_config(&config, &dir).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{} holds results without a record of what made them ({1} is missing, so \
                 results of other settings could not be told apart): restore {1}, or use \
                 another --out",
                dir.display(),
                path.display()
            )
        );
        // damaged: refused, naming the file and what to do
        std::fs::write(&path, "not = [toml").unwrap();
        let e = format!("{:#}", record_config(&config, &dir).unwrap_err());
        assert!(
            e.starts_with(&format!(
                "{} records what made the results in {}: restore it, or use another --out",
                path.display(),
                dir.display()
            )),
            "{e}"
        );
        // restored: the same settings are accepted
        std::fs::write(&path, config.to_toml()).unwrap();
        record_config(&config, &dir).unwrap();
    }
}
