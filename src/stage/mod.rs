//! The shared runner of the pipeline stages: JSON Lines output that is written atomically and
//! resumes where a killed run stopped.
//!
//! Protocol for an output `out.jsonl`:
//! - records are appended in chunks to `out.jsonl.partial` in the same folder; each chunk is one
//!   `write` followed by `fsync`, so a killed run loses at most the chunk it was writing;
//! - when every item is done, `out.jsonl.partial` is renamed to `out.jsonl` (atomic on one file
//!   system): a reader never sees a half-written `out.jsonl`;
//! - on a rerun, the records already in `out.jsonl.partial` (or, when there is none, in
//!   `out.jsonl`) are kept and their ids are skipped; a last line without its newline (cut by
//!   the kill) is dropped and redone. Any other unreadable line is an error naming the file and
//!   line. A finished `out.jsonl` that needs more records (say, a larger `--limit`) is moved back
//!   to `out.jsonl.partial` and appended to.
//!
//! A rerun does not check that the earlier records were made with the same options; delete the
//! output to start over.

pub mod jsonl;
pub mod progress;

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::dataset::DatasetError;
use jsonl::{parse_line, read_jsonl};
use progress::Progress;

/// A record with an example id (what resuming matches on).
pub trait Keyed {
    /// The example id.
    fn id(&self) -> &str;
}

/// The `.partial` file beside `out`: `out` with `.partial` appended to its name.
pub fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

/// An output file being written: the ids already done and the `.partial` file to append to.
pub struct StageOutput<T> {
    out: PathBuf,
    partial: PathBuf,
    done: HashSet<String>,
    /// Open `.partial` file, once there is something to append (or it existed).
    file: Option<File>,
    /// Whether a truncated last line was dropped when resuming.
    pub dropped_truncated_line: bool,
    _record: PhantomData<T>,
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DatasetError + '_ {
    move |source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl<T: Serialize + DeserializeOwned + Keyed> StageOutput<T> {
    /// Opens `out` for a (possibly resumed) run; creates its folder if needed.
    ///
    /// # Errors
    /// An unreadable file, or a line (other than a truncated last line of the
    /// `.partial` file) that is not a record of type `T`, naming the file and line.
    pub fn open(out: &Path) -> Result<Self, DatasetError> {
        if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        let partial = partial_path(out);
        let mut stage = StageOutput {
            out: out.to_path_buf(),
            partial: partial.clone(),
            done: HashSet::new(),
            file: None,
            dropped_truncated_line: false,
            _record: PhantomData,
        };
        if partial.exists() {
            stage.resume_partial()?;
        } else if out.exists() {
            for r in read_jsonl::<T>(out)? {
                stage.done.insert(r.id().to_string());
            }
        }
        Ok(stage)
    }

    /// Reads the `.partial` file, cutting off a truncated last line, and opens it for appending.
    fn resume_partial(&mut self) -> Result<(), DatasetError> {
        let path = self.partial.clone();
        let mut reader = std::io::BufReader::new(File::open(&path).map_err(io_err(&path))?);
        // Bytes of the complete lines (each ended by `\n`), and of the file.
        let (mut complete, mut total) = (0u64, 0u64);
        let mut buf = Vec::new();
        for i in 0.. {
            let Some(ended) = jsonl::next_line(&mut reader, &mut buf, &path, i + 1)? else {
                break;
            };
            total += buf.len() as u64 + u64::from(ended);
            if !ended {
                break; // a line cut by a kill: dropped below, redone by the stage
            }
            complete = total;
            let text = std::str::from_utf8(&buf).map_err(|_| DatasetError::Record {
                path: path.clone(),
                line: i + 1,
                message: "not valid UTF-8".into(),
            })?;
            let record: T = parse_line(&path, i + 1, text)?;
            self.done.insert(record.id().to_string());
        }
        let file = OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        if complete < total {
            file.set_len(complete).map_err(io_err(&path))?;
            self.dropped_truncated_line = true;
        }
        drop(file);
        self.file = Some(self.open_append(&path)?);
        Ok(())
    }

    fn open_append(&self, path: &Path) -> Result<File, DatasetError> {
        OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .map_err(io_err(path))
    }

    /// Whether a record with this id is already in the output.
    pub fn is_done(&self, id: &str) -> bool {
        self.done.contains(id)
    }

    /// How many distinct ids are already in the output.
    pub fn done_count(&self) -> usize {
        self.done.len()
    }

    /// Appends one chunk of records (one write, then `fsync`).
    pub fn append(&mut self, records: &[T]) -> Result<(), DatasetError> {
        if records.is_empty() {
            return Ok(());
        }
        if self.file.is_none() {
            if self.out.exists() {
                // A finished output that needs more records: continue it as the partial file.
                std::fs::rename(&self.out, &self.partial).map_err(io_err(&self.partial))?;
                let bytes = std::fs::read(&self.partial).map_err(io_err(&self.partial))?;
                let mut file = self.open_append(&self.partial)?;
                if bytes.last().is_some_and(|&b| b != b'\n') {
                    file.write_all(b"\n").map_err(io_err(&self.partial))?;
                }
                self.file = Some(file);
            } else {
                self.file = Some(self.open_append(&self.partial)?);
            }
        }
        let mut buf = Vec::new();
        for r in records {
            serde_json::to_writer(&mut buf, r)
                .map_err(|e| io_err(&self.partial)(std::io::Error::other(e)))?;
            buf.push(b'\n');
        }
        let path = self.partial.clone();
        let file = self.file.as_mut().expect("opened above");
        file.write_all(&buf).map_err(io_err(&path))?;
        file.sync_data().map_err(io_err(&path))?;
        for r in records {
            self.done.insert(r.id().to_string());
        }
        Ok(())
    }

    /// Completes the output: renames the `.partial` file to the final name (or, when nothing
    /// was ever written, creates an empty output atomically). Returns the final path.
    pub fn finish(mut self) -> Result<PathBuf, DatasetError> {
        if let Some(file) = self.file.take() {
            file.sync_all().map_err(io_err(&self.partial))?;
            drop(file);
            std::fs::rename(&self.partial, &self.out).map_err(io_err(&self.out))?;
        } else if !self.out.exists() {
            let dir = match self.out.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let tmp = tempfile::Builder::new()
                .prefix(crate::files::TEMP_PREFIX)
                .tempfile_in(&dir)
                .map_err(io_err(&dir))?;
            tmp.persist(&self.out)
                .map_err(|e| io_err(&self.out)(e.error))?;
        }
        Ok(self.out)
    }
}

/// What a stage run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageReport {
    /// The finished output file.
    pub path: PathBuf,
    /// Items given to the stage.
    pub total: usize,
    /// Items skipped because their record was already in the output.
    pub skipped: usize,
    /// Records written by this run.
    pub written: usize,
    /// Whether a truncated last line of a `.partial` file was dropped (and redone).
    pub dropped_truncated_line: bool,
}

/// Options of [`run_stage`].
#[derive(Debug, Clone)]
pub struct StageOptions {
    /// Label of the progress bar / lines.
    pub label: String,
    /// Items per chunk: one call of the work function, one append.
    pub chunk: usize,
    /// Print no progress.
    pub quiet: bool,
}

/// Runs one stage: skips the items whose id is already in `out`, calls `work` on the others in
/// chunks of `options.chunk` (in order), appends each chunk's records, then finishes the file.
///
/// `work` returns the records of a chunk (normally one per item, any order). Errors from `work`
/// stop the run; what was appended before stays and is skipped by the next run. Progress counts
/// a chunk's items when its records are appended; a `work` that knows how far it is inside its
/// chunk reports that with [`Progress::partial`] (the sample stage does, per decode step), so
/// progress and the time left show before the first chunk ends.
pub fn run_stage<I, T>(
    out: &Path,
    items: &[I],
    id_of: impl Fn(&I) -> &str,
    options: &StageOptions,
    mut work: impl FnMut(&[&I], &Progress) -> anyhow::Result<Vec<T>>,
) -> anyhow::Result<StageReport>
where
    T: Serialize + DeserializeOwned + Keyed,
{
    let mut output = StageOutput::<T>::open(out)?;
    let pending: Vec<&I> = items.iter().filter(|i| !output.is_done(id_of(i))).collect();
    let skipped = items.len() - pending.len();
    let mut progress = if options.quiet {
        Progress::quiet(&options.label, pending.len())
    } else {
        Progress::new(&options.label, pending.len())
    };
    if output.dropped_truncated_line {
        progress.note(&format!(
            "{}: dropped a truncated last line of {}",
            options.label,
            partial_path(out).display()
        ));
    }
    if skipped > 0 {
        progress.note(&format!(
            "{}: {skipped} of {} already in {}; doing the other {}",
            options.label,
            items.len(),
            out.display(),
            pending.len()
        ));
    }
    let mut written = 0;
    for chunk in pending.chunks(options.chunk.max(1)) {
        let records = work(chunk, &progress)?;
        output.append(&records)?;
        written += records.len();
        progress.inc(chunk.len());
    }
    progress.finish();
    let dropped_truncated_line = output.dropped_truncated_line;
    let path = output.finish()?;
    Ok(StageReport {
        path,
        total: items.len(),
        skipped,
        written,
        dropped_truncated_line,
    })
}

#[cfg(test)]
mod tests;
