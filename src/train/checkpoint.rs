//! Checkpoint files that are never half-written: burn-train's records are serialized to
//! bytes, written to a temporary file and renamed into place. A run killed while saving
//! leaves the previous checkpoint intact, and [`latest_complete`] finds the newest segment
//! whose model, optimiser and schedule files all exist.

use std::path::{Path, PathBuf};

use burn::tensor::Bytes;
use burn::train::checkpoint::{Checkpoint, Checkpointer, CheckpointerError};

/// The three record kinds burn-train saves per checkpoint.
pub const KINDS: [&str; 3] = ["model", "optim", "scheduler"];

/// Saves `{dir}/{name}-{epoch}.bpk` atomically.
#[derive(Debug, Clone)]
pub struct AtomicCheckpointer {
    dir: PathBuf,
    name: String,
}

impl AtomicCheckpointer {
    /// A checkpointer for records called `name` in `dir` (created when missing).
    pub fn new(dir: &Path, name: &str) -> Self {
        std::fs::create_dir_all(dir).ok();
        Self {
            dir: dir.to_path_buf(),
            name: name.to_string(),
        }
    }

    fn path(&self, epoch: usize) -> PathBuf {
        checkpoint_path(&self.dir, &self.name, epoch)
    }
}

/// `{dir}/{name}-{epoch}.bpk`.
pub fn checkpoint_path(dir: &Path, name: &str, epoch: usize) -> PathBuf {
    dir.join(format!("{name}-{epoch}.bpk"))
}

impl<R: Checkpoint> Checkpointer<R> for AtomicCheckpointer {
    fn save(&self, epoch: usize, record: R) -> Result<(), CheckpointerError> {
        let bytes = record
            .checkpoint_into_bytes()
            .map_err(CheckpointerError::Record)?;
        let path = self.path(epoch);
        let tmp = path.with_extension("bpk.tmp");
        std::fs::write(&tmp, &bytes[..]).map_err(CheckpointerError::IOError)?;
        std::fs::rename(&tmp, &path).map_err(CheckpointerError::IOError)
    }

    fn delete(&self, epoch: usize) -> Result<(), CheckpointerError> {
        let path = self.path(epoch);
        if path.exists() {
            std::fs::remove_file(path).map_err(CheckpointerError::IOError)?;
        }
        Ok(())
    }

    fn restore(&self, epoch: usize) -> Result<R, CheckpointerError> {
        let bytes = std::fs::read(self.path(epoch)).map_err(CheckpointerError::IOError)?;
        R::checkpoint_from_bytes(Bytes::from_bytes_vec(bytes)).map_err(CheckpointerError::Record)
    }
}

/// The newest epoch (burn-train's 1-based count) with all of [`KINDS`] saved in `dir`.
pub fn latest_complete(dir: &Path) -> Option<usize> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut epochs: Vec<usize> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stem = name.strip_prefix("model-")?.strip_suffix(".bpk")?;
            stem.parse().ok()
        })
        .collect();
    epochs.sort_unstable();
    epochs
        .into_iter()
        .rev()
        .find(|&e| KINDS.iter().all(|k| checkpoint_path(dir, k, e).exists()))
}

/// Removes the checkpoint files of epochs before `keep_from` (every kind): what burn-train's
/// "keep the last two" would have deleted had the run not been killed between deleting one
/// kind of an old checkpoint and the next. Called when a run resumes, so a resumed run ends
/// with the files of an uninterrupted one.
///
/// # Errors
/// The folder cannot be read, or a file cannot be removed.
pub fn prune_before(dir: &Path, keep_from: usize) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let name = entry?.file_name().into_string().unwrap_or_default();
        let epoch = KINDS.iter().find_map(|k| {
            name.strip_prefix(&format!("{k}-"))?
                .strip_suffix(".bpk")?
                .parse::<usize>()
                .ok()
        });
        if epoch.is_some_and(|e| e < keep_from) {
            std::fs::remove_file(dir.join(&name))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run killed while burn-train deleted checkpoint 1 (optim-1 gone, model-1 and
    /// scheduler-1 left) and resumed from 3: only epochs 2 and 3 stay, other files untouched.
    #[test]
    fn a_resume_prunes_what_an_interrupted_deletion_left() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "model-1.bpk",
            "scheduler-1.bpk",
            "model-2.bpk",
            "optim-2.bpk",
            "scheduler-2.bpk",
            "model-3.bpk",
            "optim-3.bpk",
            "scheduler-3.bpk",
            "notes.txt",
        ];
        for n in names {
            std::fs::write(dir.path().join(n), "x").unwrap();
        }
        assert_eq!(latest_complete(dir.path()), Some(3));
        prune_before(dir.path(), 2).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut want: Vec<String> = names[2..].iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(left, want);
    }
}
