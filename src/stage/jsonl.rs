//! JSON Lines files: one serde record per line, errors naming file and line.
//!
//! Every stage of the pipeline reads and writes its records this way (the book's data chapter, "The stage records").

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::dataset::DatasetError;

/// Parses one line of `path` (used for error messages; `line` is 1-based).
///
/// An empty or blank line is an error: a JSON Lines file has exactly one record per line. A
/// UTF-8 byte-order mark at the start of line 1 (written by some Windows editors) is skipped.
pub fn parse_line<T: DeserializeOwned>(
    path: &Path,
    line: usize,
    text: &str,
) -> Result<T, DatasetError> {
    let text = match line {
        1 => text.strip_prefix('\u{feff}').unwrap_or(text),
        _ => text,
    };
    let record_error = |message: String| DatasetError::Record {
        path: path.to_path_buf(),
        line,
        message,
    };
    if text.trim().is_empty() {
        return Err(record_error(
            "empty line (expected one JSON record per line)".into(),
        ));
    }
    serde_json::from_str(text).map_err(|e| record_error(e.to_string()))
}

/// Longest line of a JSON Lines file: 64 MiB, far above any real record (a few KiB), so that
/// an endless line (`--data /dev/zero`) is refused at once instead of filling memory.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Reads the next line of `reader` (line number `line`, 1-based, of `path`) into `buf`, without
/// its `\n`, reading at most [`MAX_LINE_BYTES`] of it. Returns `None` at the end of the file,
/// else whether the line ended with `\n` (the last line of a file may not).
///
/// # Errors
/// An unreadable file; a line longer than [`MAX_LINE_BYTES`] (file and line named).
pub fn next_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    path: &Path,
    line: usize,
) -> Result<Option<bool>, DatasetError> {
    buf.clear();
    let n = <&mut _ as std::io::Read>::take(reader, MAX_LINE_BYTES as u64 + 1)
        .read_until(b'\n', buf)
        .map_err(|source| DatasetError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
        return Ok(Some(true));
    }
    if buf.len() > MAX_LINE_BYTES {
        return Err(DatasetError::Record {
            path: path.to_path_buf(),
            line,
            message: format!(
                "line longer than {} MiB, the most one record may take (is it a JSON Lines \
                 file?)",
                MAX_LINE_BYTES >> 20
            ),
        });
    }
    Ok(Some(false))
}

/// Reads every record of a JSON Lines file, in order.
///
/// Fails on the first line that cannot be read or parsed, naming the file and the 1-based line;
/// no line is ever skipped, except blank lines at the very end of the file (an editor's
/// trailing newline): a blank line followed by a record is an error.
pub fn read_jsonl<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, DatasetError> {
    let io_error = |source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(io_error)?);
    let mut records = Vec::new();
    // First blank line not yet followed by a record (1-based).
    let mut blank: Option<usize> = None;
    let mut buf = Vec::new();
    for index in 0.. {
        if next_line(&mut reader, &mut buf, path, index + 1)?.is_none() {
            break;
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        let text = std::str::from_utf8(&buf).map_err(|_| DatasetError::Record {
            path: path.to_path_buf(),
            line: index + 1,
            message: "not valid UTF-8".into(),
        })?;
        if text.trim().is_empty() {
            blank.get_or_insert(index + 1);
            continue;
        }
        if let Some(line) = blank {
            return Err(DatasetError::Record {
                path: path.to_path_buf(),
                line,
                message: "empty line (expected one JSON record per line)".into(),
            });
        }
        records.push(parse_line(path, index + 1, text)?);
    }
    Ok(records)
}

/// Writes records as JSON Lines (one compact JSON object per line, `\n` after each).
pub fn write_jsonl<T: Serialize>(path: &Path, records: &[T]) -> Result<(), DatasetError> {
    let io_error = |source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut out = BufWriter::new(File::create(path).map_err(io_error)?);
    for record in records {
        serde_json::to_writer(&mut out, record).map_err(|e| io_error(std::io::Error::other(e)))?;
        out.write_all(b"\n").map_err(io_error)?;
    }
    out.flush().map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        a: u32,
    }

    fn file_with(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    #[test]
    fn round_trip() {
        let f = tempfile::NamedTempFile::new().unwrap();
        let rows = vec![Row { a: 1 }, Row { a: 2 }];
        write_jsonl(f.path(), &rows).unwrap();
        assert_eq!(
            std::fs::read_to_string(f.path()).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
        assert_eq!(read_jsonl::<Row>(f.path()).unwrap(), rows);
    }

    #[test]
    fn malformed_line_names_file_and_line() {
        let f = file_with("{\"a\":1}\n{\"a\":2}\n{\"a\": oops}\n");
        let err = read_jsonl::<Row>(f.path()).unwrap_err();
        assert_eq!(err.line(), Some(3));
        let msg = err.to_string();
        assert!(
            msg.starts_with(&format!("{}:3: ", f.path().display())),
            "{msg}"
        );
    }

    #[test]
    fn missing_field_names_file_and_line() {
        let f = file_with("{\"a\":1}\n{\"b\":2}\n");
        let err = read_jsonl::<Row>(f.path()).unwrap_err();
        assert_eq!(err.line(), Some(2));
        assert!(err.to_string().contains("missing field `a`"), "{err}");
    }

    #[test]
    fn empty_line_is_an_error_not_skipped() {
        let f = file_with("{\"a\":1}\n\n{\"a\":2}\n");
        let err = read_jsonl::<Row>(f.path()).unwrap_err();
        assert_eq!(err.line(), Some(2));
        assert!(err.to_string().contains("empty line"), "{err}");
    }

    #[test]
    fn a_byte_order_mark_and_trailing_blank_lines_are_accepted() {
        // Issue 14, case 7: a file saved with a UTF-8 BOM; and an editor's trailing newlines.
        let f = file_with("\u{feff}{\"a\":1}\n{\"a\":2}\n\n  \n");
        assert_eq!(
            read_jsonl::<Row>(f.path()).unwrap(),
            vec![Row { a: 1 }, Row { a: 2 }]
        );
        // A BOM anywhere else is not skipped.
        let f = file_with("{\"a\":1}\n\u{feff}{\"a\":2}\n");
        assert_eq!(read_jsonl::<Row>(f.path()).unwrap_err().line(), Some(2));
    }

    #[test]
    fn an_endless_line_is_refused_naming_file_and_line() {
        // by hand: line 2 is 64 MiB + 1 bytes without its newline, one more than the most
        let mut text = String::from("{\"a\":1}\n");
        text.push_str(&"a".repeat(MAX_LINE_BYTES + 1));
        let f = file_with(&text);
        let err = read_jsonl::<Row>(f.path()).unwrap_err();
        assert_eq!(err.line(), Some(2));
        assert_eq!(
            err.to_string(),
            format!(
                "{}:2: line longer than 64 MiB, the most one record may take (is it a JSON \
                 Lines file?)",
                f.path().display()
            )
        );
        // a line of exactly 64 MiB is read (and here fails as JSON, not for its length)
        let f = file_with(&"a".repeat(MAX_LINE_BYTES));
        let err = read_jsonl::<Row>(f.path()).unwrap_err().to_string();
        assert!(!err.contains("longer than"), "{err}");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let f = file_with("{\"a\":1}\n");
        std::fs::write(f.path(), b"{\"a\":1}\n{\"a\":\xff}\n").unwrap();
        let err = read_jsonl::<Row>(f.path()).unwrap_err();
        assert_eq!(err.line(), Some(2), "{err}");
    }

    #[test]
    fn missing_file_is_an_io_error_naming_it() {
        let err = read_jsonl::<Row>(Path::new("/nonexistent/halt/x.jsonl")).unwrap_err();
        assert!(matches!(err, DatasetError::Io { .. }));
        assert!(
            err.to_string().contains("/nonexistent/halt/x.jsonl"),
            "{err}"
        );
    }
}
