//! Hand-made aligned training records (the `train` stage's input).
#![allow(dead_code)] // not every test file that shares this module uses it

use std::path::Path;

use halt_llm::dataset::record::{AlignMethod, Aligned};

/// Writes one HALT record (α = 0.6) per `(prompt, target)` pair to `path`, ids `r0, r1, …`;
/// a target that is exactly "Unsure from Here" is marked as an abstention.
pub fn write_aligned(path: &Path, pairs: &[(&str, &str)]) {
    let records: Vec<Aligned> = pairs
        .iter()
        .enumerate()
        .map(|(i, (p, t))| Aligned {
            id: format!("r{i}"),
            prompt: p.to_string(),
            target: t.to_string(),
            method: AlignMethod::Halt,
            alpha: Some(0.6),
            selected: Some(0),
            kept: 1,
            dropped: 0,
            abstained: *t == "Unsure from Here",
        })
        .collect();
    halt_llm::dataset::write_jsonl(path, &records).unwrap();
}
