//! `halt-llm run --reuse-from DIR`: a run starts from the stage outputs of another run folder
//! that its own settings would make again, so that choosing settings on the validation split
//! and then running on the test split samples, judges and finetunes once.
//!
//! The usual sequence: a run with `test_split = "validation"` (say with the learning rate
//! `A`), more validation runs with other values reusing the first one's samples, then the
//! test run with the chosen value reusing the validation run that had it: its samples,
//! verdicts, targets and finetuned models are exactly what the test run would make, so only
//! the evaluation on the test prompts is new.
//!
//! What is copied, each only when this folder does not have it yet and the other one has it
//! complete, and only on top of the same inputs (a file this folder already has must be the
//! other's, else nothing made from it is taken):
//! - `sampled.jsonl` and `judged.jsonl`, when the fields that decide them are equal
//!   ([`SAMPLE_FIELDS`]) and `data/train.jsonl` is byte for byte the same; otherwise the
//!   run stops with the differing fields named (nothing is reused);
//! - `aligned/<variant>.jsonl` of each variant the other run has too (same name, method and
//!   α: a validation run may train only some of the test run's variants);
//! - `models/<variant>/` (without its `checkpoint/`) of those variants, when also `[train]` is
//!   equal and the model is finished (`model/config.json`);
//! - `eval/<name>/` of those models and of the pretrained model, when also the test prompts
//!   (`data/test.jsonl`, byte for byte) and the fields that decide the answers and their
//!   summary ([`EVAL_FIELDS`]) are equal and the evaluation is finished (`summary.json`):
//!   validation runs that differ only in `[train]` answer the validation prompts with the
//!   pretrained model once.
//!
//! The devices (`device`, `[train] devices`) may differ: they change results only by rounding.

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::config::RunConfig;
use super::run::{Variant, aligned_path, variants};

/// The settings that decide the samples and their verdicts (the training prompts are
/// compared by content).
pub const SAMPLE_FIELDS: [&str; 8] = [
    "model",
    "domain",
    "train_examples",
    "max_calculations",
    "seed",
    "sample",
    "judge",
    "null_policy",
];

/// With [`SAMPLE_FIELDS`] and the variant, the settings that decide the finetuned models.
pub const TRAIN_FIELDS: [&str; 1] = ["train"];

/// With the test prompts, the settings that decide an evaluation of a given model.
pub const EVAL_FIELDS: [&str; 3] = ["eval", "test_examples", "test_split"];

/// Copies into `dir` what `from` holds that `config` would make again (see the module docs);
/// returns what was copied, as paths relative to the run folder.
///
/// # Errors
/// `from` has no readable `config.toml` or `data/train.jsonl`; its samples were made with
/// other settings or training prompts (the differing fields named); I/O errors.
pub fn reuse_from(
    config: &RunConfig,
    dir: &Path,
    from: &Path,
    all: &[Variant],
) -> Result<Vec<String>> {
    let recorded = from.join("config.toml");
    let other = RunConfig::from_toml_file(&recorded)
        .with_context(|| format!("--reuse-from {}: reading its settings", from.display()))?;
    let (theirs, ours) = (
        serde_json::to_value(other.identity())?,
        serde_json::to_value(config.identity())?,
    );
    // the differing keys, named down to the table's field (`sample.n`)
    let differ = |fields: &[&str]| -> Vec<String> {
        let null = serde_json::Value::Null;
        fields
            .iter()
            .flat_map(|f| {
                let (a, b) = (
                    theirs.get(*f).unwrap_or(&null),
                    ours.get(*f).unwrap_or(&null),
                );
                crate::files::differing_fields(a, b)
                    .into_iter()
                    .map(move |d| match d.starts_with(' ') {
                        true => format!("{f}{d}"),
                        false => format!("{f}.{d}"),
                    })
            })
            .collect()
    };
    let d = differ(&SAMPLE_FIELDS);
    if !d.is_empty() {
        bail!(
            "--reuse-from {}: its samples were made with other settings ({}; recorded in {}); \
             nothing can be reused",
            from.display(),
            d.join("; "),
            recorded.display()
        );
    }
    let train = Path::new("data").join("train.jsonl");
    let read = |p: &Path| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    if read(&from.join(&train))? != read(&dir.join(&train))? {
        bail!(
            "--reuse-from {}: its training prompts ({}) differ from this run's; nothing can be \
             reused",
            from.display(),
            from.join(&train).display()
        );
    }
    let mut copied = Vec::new();
    // Each output is taken only on top of the same inputs: a file this folder already has
    // must equal the other folder's, else nothing made from it is taken (e.g. verdicts of
    // other samples).
    for name in ["sampled.jsonl", "judged.jsonl"] {
        if !take_file(from, dir, Path::new(name), &mut copied)? {
            return Ok(copied);
        }
    }
    let shared: Vec<&Variant> = {
        let theirs = variants(&other);
        // reference-free targets also depend on the support threshold
        all.iter()
            .filter(|v| theirs.contains(v))
            .filter(|v| !v.reference_free || other.min_support == config.min_support)
            .collect()
    };
    let mut same_targets = Vec::new();
    for v in &shared {
        let aligned = aligned_path(Path::new(""), v);
        if take_file(from, dir, &aligned, &mut copied)? {
            same_targets.push(*v);
        }
    }
    let same_tests = differ(&EVAL_FIELDS).is_empty() && {
        let test = Path::new("data").join("test.jsonl");
        read(&from.join(&test))? == read(&dir.join(&test))?
    };
    let evaluated = |name: &str| Path::new("eval").join(name);
    if same_tests {
        let shots = config.sample.shots;
        let mut pretrained = vec!["pretrained-0shot".to_string()];
        if shots > 0 {
            pretrained.push(format!("pretrained-{shots}shot"));
        }
        for name in pretrained {
            copy_finished(from, dir, &evaluated(&name), "summary.json", &mut copied)?;
        }
    }
    if !differ(&TRAIN_FIELDS).is_empty() {
        return Ok(copied);
    }
    for v in same_targets {
        let model = Path::new("models").join(&v.name);
        // a model of this folder's own (finished or not) is kept, and so is its evaluation
        if copy_finished(from, dir, &model, "model/config.json", &mut copied)? && same_tests {
            copy_finished(from, dir, &evaluated(&v.name), "summary.json", &mut copied)?;
        }
    }
    Ok(copied)
}

/// Takes `from/rel` into this folder: copies it when this folder lacks it; returns whether
/// this folder now holds the same file as `from` (`false` when `from` lacks it, or this
/// folder's own differs). A copied stage output replaces this folder's unfinished one
/// (`rel.partial`).
fn take_file(from: &Path, dir: &Path, rel: &Path, copied: &mut Vec<String>) -> Result<bool> {
    let (src, dst) = (from.join(rel), dir.join(rel));
    if !src.is_file() {
        return Ok(false);
    }
    let bytes = std::fs::read(&src).with_context(|| format!("reading {}", src.display()))?;
    if dst.exists() {
        let ours = std::fs::read(&dst).with_context(|| format!("reading {}", dst.display()))?;
        return Ok(ours == bytes);
    }
    crate::files::write_atomic(&dst, &bytes)?;
    let partial = dst.with_file_name(format!(
        "{}.partial",
        dst.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    ));
    if partial.exists() {
        std::fs::remove_file(&partial)
            .with_context(|| format!("removing {}", partial.display()))?;
    }
    copied.push(rel.display().to_string());
    Ok(true)
}

/// Copies the folder `from/rel` to `dir/rel` when it is finished there (it holds `done`) and
/// `dir/rel` does not exist; returns whether it copied.
fn copy_finished(
    from: &Path,
    dir: &Path,
    rel: &Path,
    done: &str,
    copied: &mut Vec<String>,
) -> Result<bool> {
    if from.join(rel).join(done).exists() && !dir.join(rel).exists() {
        copy_dir(&from.join(rel), &dir.join(rel))?;
        copied.push(rel.display().to_string());
        return Ok(true);
    }
    Ok(false)
}

/// Copies the folder `src` (without its `checkpoint/`) to `dst`, through a temporary sibling
/// folder renamed at the end, so a killed copy leaves no half model behind.
fn copy_dir(src: &Path, dst: &Path) -> Result<()> {
    let name = dst
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tmp = dst.with_file_name(format!(".{name}.reuse.tmp"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
    }
    copy_tree(src, &tmp)?;
    std::fs::rename(&tmp, dst)
        .with_context(|| format!("renaming {} to {}", tmp.display(), dst.display()))
}

fn copy_tree(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst).with_context(|| format!("creating {}", dst.display()))?;
    for entry in std::fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let entry = entry?;
        let path = entry.path();
        let target = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            if entry.file_name() != "checkpoint" {
                copy_tree(&path, &target)?;
            }
        } else {
            std::fs::copy(&path, &target)
                .with_context(|| format!("copying {} to {}", path.display(), target.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "reuse_tests.rs"]
mod tests;
