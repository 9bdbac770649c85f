//! Joining the records of two stages by example id, with errors that name the file and line of
//! the record that has no partner.

use std::collections::HashMap;
use std::path::Path;

use super::error::DatasetError;
use super::example::Example;
use crate::stage::Keyed;

impl Keyed for Example {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Records by id. A repeated id is an error naming `path` and the 1-based line of the repeat
/// (records are assumed to be the lines of `path`, in order).
pub fn index_by_id<'a, T: Keyed>(
    records: &'a [T],
    path: &Path,
) -> Result<HashMap<&'a str, &'a T>, DatasetError> {
    let mut map = HashMap::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        if map.insert(r.id(), r).is_some() {
            return Err(DatasetError::Record {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("duplicate id `{}`", r.id()),
            });
        }
    }
    Ok(map)
}

/// The partner of the record at `line` of `path`, looked up by `id` in `index` (which was read
/// from `other`); a missing partner is an error naming `path:line` and `other`.
pub fn partner<'a, T>(
    index: &HashMap<&str, &'a T>,
    id: &str,
    path: &Path,
    line: usize,
    other: &str,
) -> Result<&'a T, DatasetError> {
    index.get(id).copied().ok_or_else(|| DatasetError::Record {
        path: path.to_path_buf(),
        line,
        message: format!("id `{id}` is not in {other}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::record::{Sampled, SamplingParams};

    fn s(id: &str) -> Sampled {
        Sampled {
            id: id.into(),
            responses: vec![],
            model: "m".into(),
            sampling: SamplingParams {
                temperature: 0.7,
                top_p: 0.95,
                seed: 0,
                max_new_tokens: 8,
            },
            finish: vec![],
            token_logprobs: Vec::new(),
            token_ends: Vec::new(),
        }
    }

    #[test]
    fn duplicates_and_missing_partners_name_file_and_line() {
        let p = Path::new("x/sampled.jsonl");
        let recs = [s("a"), s("b"), s("a")];
        let err = index_by_id(&recs, p).unwrap_err().to_string();
        assert_eq!(err, "x/sampled.jsonl:3: duplicate id `a`");
        let idx = index_by_id(&recs[..2], p).unwrap();
        assert_eq!(partner(&idx, "b", p, 9, "y").unwrap().id, "b");
        let err = partner(&idx, "c", Path::new("j.jsonl"), 4, "x/sampled.jsonl")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "j.jsonl:4: id `c` is not in x/sampled.jsonl");
    }
}
