//! Loading the committed datasets: `datasets/<domain>/<split>.jsonl` into [`Example`]s.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::domain::{Domain, Split};
use super::error::DatasetError;
use super::example::Example;
use crate::stage::jsonl::read_jsonl;

/// The datasets folder, relative to the repository root.
pub const DATASETS_DIR: &str = "datasets";

/// The datasets folder to read: `root` itself, except that the default relative
/// [`DATASETS_DIR`], when absent from the working directory, is taken from the source tree
/// this binary was built from.
pub fn resolve_datasets_dir(root: &Path) -> PathBuf {
    // The default folder is found from the working directory, else in the source tree this
    // binary was built from (so the commands work from anywhere after `cargo build`).
    if root.as_os_str() == DATASETS_DIR && !root.exists() {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(DATASETS_DIR)
    } else {
        root.to_path_buf()
    }
}

/// The file of one split: `<root>/<domain>/<split>.jsonl`.
pub fn dataset_path(root: &Path, domain: Domain, split: Split) -> PathBuf {
    root.join(domain.as_str())
        .join(format!("{}.jsonl", split.as_str()))
}

/// Reads every [`Example`] of a JSON Lines file.
///
/// Each line must be a complete, valid record (see `datasets/<domain>/README.md`); ids must be
/// unique within the file. The first problem is returned as [`DatasetError::Record`] naming the
/// file and the 1-based line; nothing is skipped.
pub fn load_examples(path: &Path) -> Result<Vec<Example>, DatasetError> {
    let examples: Vec<Example> = read_jsonl(path)?;
    let mut first_line: HashMap<&str, usize> = HashMap::new();
    for (index, example) in examples.iter().enumerate() {
        // one record per line, so record `index` is on line `index + 1`
        if let Some(first) = first_line.insert(&example.id, index + 1) {
            return Err(DatasetError::Record {
                path: path.to_path_buf(),
                line: index + 1,
                message: format!("duplicate id `{}` (first on line {first})", example.id),
            });
        }
    }
    Ok(examples)
}

/// Loads one split of one domain from `root` (the `datasets` folder).
///
/// Besides what [`load_examples`] checks, every record must belong to `domain`.
pub fn load(root: &Path, domain: Domain, split: Split) -> Result<Vec<Example>, DatasetError> {
    let path = dataset_path(root, domain, split);
    let examples = load_examples(&path)?;
    if let Some((index, e)) = examples
        .iter()
        .enumerate()
        .find(|(_, e)| e.domain() != domain)
    {
        return Err(DatasetError::Record {
            path,
            line: index + 1,
            message: format!(
                "record `{}` has domain {} but the file is for {domain}",
                e.id,
                e.domain()
            ),
        });
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const MATH: &str = r#"{"domain":"math","ground_truth":{"answer":"140","answer_expr":null,"calculations":[{"expr":"42/3","step":0,"value":"14"}],"generated":false,"instance":0,"num_calculations":1,"num_steps":1,"source_index":103,"steps":["42/3 = 14 intervals."],"template":"0001"},"id":"math-0001-00","prompt":"Q?","reference":"42/3 = 14 intervals.\n#### 140"}"#;
    const CODE: &str = r#"{"domain":"code","ground_truth":{"entry_point":"f","language":"python","task_id":"HumanEval/0","test":"def check(c): pass"},"id":"code-humaneval-000","prompt":"def f():\n","reference":"    return 1\n"}"#;

    fn dir_with(domain: &str, split: &str, lines: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(domain)).unwrap();
        let mut f =
            std::fs::File::create(dir.path().join(domain).join(format!("{split}.jsonl"))).unwrap();
        for l in lines {
            writeln!(f, "{l}").unwrap();
        }
        dir
    }

    fn load_err(domain: Domain, lines: &[&str]) -> DatasetError {
        let dir = dir_with(domain.as_str(), "train", lines);
        load(dir.path(), domain, Split::Train).unwrap_err()
    }

    fn assert_names(err: &DatasetError, domain: Domain, line: usize, needle: &str) {
        let msg = err.to_string();
        let file = format!("{}/train.jsonl:{line}: ", domain.as_str());
        assert!(msg.contains(&file), "`{msg}` should name {file}");
        assert!(msg.contains(needle), "`{msg}` should contain `{needle}`");
        assert_eq!(err.line(), Some(line));
    }

    #[test]
    fn loads_valid_records_and_round_trips() {
        let dir = dir_with("math", "train", &[MATH]);
        let examples = load(dir.path(), Domain::Math, Split::Train).unwrap();
        assert_eq!(examples.len(), 1);
        let e = &examples[0];
        assert_eq!(e.domain(), Domain::Math);
        assert_eq!(e.math().unwrap().calculations[0].value, "14");
        let back: Example = serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap();
        assert_eq!(&back, e);
        let code: Example = serde_json::from_str(CODE).unwrap();
        let json: serde_json::Value = serde_json::to_value(&code).unwrap();
        assert_eq!(
            json,
            serde_json::from_str::<serde_json::Value>(CODE).unwrap(),
            "same fields back"
        );
    }

    #[test]
    fn malformed_line_is_an_error_with_file_and_line() {
        let err = load_err(Domain::Math, &[MATH, "{\"id\": \"math-x\", "]);
        assert_names(&err, Domain::Math, 2, "EOF");
    }

    #[test]
    fn missing_field_is_an_error_with_file_and_line() {
        let no_prompt = MATH.replace(r#""prompt":"Q?","#, "");
        assert_names(
            &load_err(Domain::Math, &[&no_prompt]),
            Domain::Math,
            1,
            "missing field `prompt`",
        );
        let no_answer = MATH
            .replace(r#""answer":"140","#, "")
            .replace("math-0001-00", "math-0001-01");
        let err = load_err(Domain::Math, &[MATH, &no_answer]);
        assert_names(&err, Domain::Math, 2, "missing field `answer`");
    }

    #[test]
    fn unknown_field_is_an_error_not_dropped() {
        let extra = MATH.replace(r#""prompt":"Q?","#, r#""prompt":"Q?","note":"x","#);
        assert_names(
            &load_err(Domain::Math, &[&extra]),
            Domain::Math,
            1,
            "unknown field `note`",
        );
    }

    #[test]
    fn unknown_domain_is_an_error_with_file_and_line() {
        let chem = CODE.replace(r#""domain":"code""#, r#""domain":"chemistry""#);
        assert_names(
            &load_err(Domain::Code, &[CODE, &chem]),
            Domain::Code,
            2,
            "chemistry",
        );
    }

    #[test]
    fn record_of_another_domain_is_an_error() {
        assert_names(
            &load_err(Domain::Math, &[MATH, CODE]),
            Domain::Math,
            2,
            "has domain code",
        );
    }

    #[test]
    fn duplicate_id_is_an_error() {
        assert_names(
            &load_err(Domain::Math, &[MATH, MATH]),
            Domain::Math,
            2,
            "duplicate id",
        );
    }

    #[test]
    fn inconsistent_counts_are_an_error() {
        let bad = MATH.replace(r#""num_steps":1"#, r#""num_steps":2"#);
        assert_names(
            &load_err(Domain::Math, &[&bad]),
            Domain::Math,
            1,
            "num_steps",
        );
    }

    #[test]
    fn empty_line_is_an_error() {
        // Blank lines at the very end are an editor's trailing newline; one before a record
        // is an error.
        assert_names(
            &load_err(Domain::Math, &[MATH, "", MATH]),
            Domain::Math,
            2,
            "empty line",
        );
    }

    #[test]
    fn missing_file_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path(), Domain::Bio, Split::Test).unwrap_err();
        assert!(matches!(err, DatasetError::Io { .. }));
        assert!(err.to_string().contains("bio/test.jsonl"), "{err}");
    }
}
