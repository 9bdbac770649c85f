//! The align stage (`halt-llm align`): [`Judged`] records (with their [`Sampled`] responses)
//! turned into finetuning pairs, [`Aligned`] records, by α and a method (resumable, see
//! [`run_stage`]).

use std::path::Path;

use anyhow::{Context, Result, bail};

use super::align::{AlignConfig, align, unchanged};
use super::example::Example;
use super::join::{index_by_id, partner};
use super::record::{AlignMethod, Aligned, Judged, Sampled};
use crate::stage::jsonl::read_jsonl;
use crate::stage::{StageOptions, StageReport, run_stage};

/// The command-line name of a method (`halt`, `random_trim`, ...).
pub fn method_name(method: AlignMethod) -> String {
    serde_json::to_value(method)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{method:?}"))
}

/// Records per output chunk of the align stage.
pub const ALIGN_CHUNK: usize = 64;

/// Where the align stage reads its inputs.
#[derive(Debug, Clone, Copy)]
pub struct AlignInputs<'a> {
    /// The examples of the split (prompts, references).
    pub examples: &'a [Example],
    /// The file they were read from (named in errors).
    pub examples_path: &'a Path,
    /// The sample stage's output (`None` only for [`AlignMethod::Unchanged`]).
    pub sampled: Option<&'a Path>,
    /// The judge stage's output (`None` only for [`AlignMethod::Unchanged`]).
    pub judged: Option<&'a Path>,
}

/// Writes one [`Aligned`] record per judged record to `out` (in the judged file's order).
///
/// [`AlignMethod::Unchanged`] needs no samples: with a judged file it covers the judged ids,
/// without one every example.
///
/// # Errors
/// Missing inputs, unreadable or malformed files, ids that are repeated or have no
/// partner (naming the file and line), alignment errors (α outside [0, 1], records that do not
/// match; naming the judged line).
pub fn align_stage(
    inputs: AlignInputs<'_>,
    method: AlignMethod,
    config: &AlignConfig,
    out: &Path,
    quiet: bool,
) -> Result<StageReport> {
    if !(0.0..=1.0).contains(&config.alpha) {
        bail!("--alpha {} is not in [0, 1]", config.alpha);
    }
    let options = StageOptions {
        label: "align".into(),
        chunk: ALIGN_CHUNK,
        quiet,
    };
    let by_id = index_by_id(inputs.examples, inputs.examples_path)?;
    let examples_name = inputs.examples_path.display().to_string();
    let (Some(sampled_path), Some(judged_path)) = (inputs.sampled, inputs.judged) else {
        if method != AlignMethod::Unchanged {
            bail!(
                "align --method {} needs --sampled and --judged",
                method_name(method)
            );
        }
        let items: Vec<&Example> = match inputs.judged {
            Some(jp) => {
                let judged: Vec<Judged> = read_jsonl(jp)?;
                judged
                    .iter()
                    .enumerate()
                    .map(|(i, j)| Ok(partner(&by_id, &j.id, jp, i + 1, &examples_name)?))
                    .collect::<Result<_>>()?
            }
            None => inputs.examples.iter().collect(),
        };
        return run_stage(
            out,
            &items,
            |e| e.id.as_str(),
            &options,
            |chunk, _| {
                Ok(chunk
                    .iter()
                    .map(|e| unchanged(e))
                    .collect::<Result<Vec<Aligned>, _>>()?)
            },
        );
    };
    let sampled: Vec<Sampled> = read_jsonl(sampled_path)?;
    let judged: Vec<Judged> = read_jsonl(judged_path)?;
    let sampled_by_id = index_by_id(&sampled, sampled_path)?;
    index_by_id(&judged, judged_path)?;
    let sampled_name = sampled_path.display().to_string();
    let items: Vec<(usize, &Judged, &Sampled, &Example)> = judged
        .iter()
        .enumerate()
        .map(|(i, j)| {
            let s = partner(&sampled_by_id, &j.id, judged_path, i + 1, &sampled_name)?;
            let e = partner(&by_id, &j.id, judged_path, i + 1, &examples_name)?;
            Ok((i + 1, j, s, e))
        })
        .collect::<Result<_>>()?;
    run_stage(
        out,
        &items,
        |(_, j, _, _)| j.id.as_str(),
        &options,
        |chunk, _| {
            chunk
                .iter()
                .map(|(line, j, s, e)| {
                    align(e, s, j, method, config).with_context(|| {
                        format!("{}:{line}: aligning `{}`", judged_path.display(), j.id)
                    })
                })
                .collect()
        },
    )
}
