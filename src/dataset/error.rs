//! The error type of the dataset module.

use std::path::PathBuf;

/// What can go wrong reading or writing dataset files.
///
/// Errors about a record always name the file and the 1-based line, so a bad line can be found
/// and fixed; the loader never skips a line it cannot read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The file could not be opened, read or written.
    #[error("cannot read or write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A line is not a valid record: malformed JSON, a missing or unknown field, an unknown
    /// domain, inconsistent counts, a record of the wrong domain, a duplicate id, an empty line.
    #[error("{path}:{line}: {message}")]
    Record {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
    /// A domain name other than `math`, `bio`, `code` or `medicine`.
    #[error("unknown domain `{0}` (expected one of: math, bio, code, medicine)")]
    UnknownDomain(String),
    /// A split name other than `train` or `test`.
    #[error("unknown split `{0}` (expected train, validation or test)")]
    UnknownSplit(String),
}

impl DatasetError {
    /// The 1-based line number of a [`DatasetError::Record`] error, `None` for the others.
    pub fn line(&self) -> Option<usize> {
        match self {
            DatasetError::Record { line, .. } => Some(*line),
            _ => None,
        }
    }
}
