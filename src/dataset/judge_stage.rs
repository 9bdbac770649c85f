//! The judge stage (`halt-llm judge`): every [`Sampled`] record of a file, fragmented and judged
//! against its example's ground truth, as [`Judged`] records (resumable, see [`run_stage`]).

use std::path::Path;

use anyhow::{Context, Result};

use super::example::Example;
use super::join::{index_by_id, partner};
use super::judge::{Judge, judge_sampled};
use super::record::{Judged, NullPolicy, Sampled};
use crate::stage::jsonl::read_jsonl;
use crate::stage::{StageOptions, StageReport, run_stage};

/// Records per output chunk of the judge stage (a killed run redoes at most this many).
pub const JUDGE_CHUNK: usize = 4;

/// Judges every record of `sampled_path` with `judge` against `examples` (read from
/// `examples_path`, named in errors) and writes [`Judged`] records to `out`.
///
/// # Errors
/// An unreadable or malformed sampled file, a sampled id that is repeated or not among
/// the examples (naming the sampled file and line), a judge failure (naming the record).
pub fn judge_stage(
    judge: &dyn Judge,
    examples: &[Example],
    examples_path: &Path,
    sampled_path: &Path,
    policy: NullPolicy,
    out: &Path,
    quiet: bool,
) -> Result<StageReport> {
    let sampled: Vec<Sampled> = read_jsonl(sampled_path)?;
    index_by_id(&sampled, sampled_path)?;
    let by_id = index_by_id(examples, examples_path)?;
    let items: Vec<(usize, &Sampled, &Example)> = sampled
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let ex = partner(
                &by_id,
                &s.id,
                sampled_path,
                i + 1,
                &examples_path.display().to_string(),
            )?;
            Ok((i + 1, s, ex))
        })
        .collect::<Result<_>>()?;
    let options = StageOptions {
        label: "judge".into(),
        chunk: JUDGE_CHUNK,
        quiet,
    };
    run_stage(
        out,
        &items,
        |(_, s, _)| s.id.as_str(),
        &options,
        |chunk, _| {
            chunk
                .iter()
                .map(|(line, s, ex)| -> Result<Judged> {
                    judge_sampled(judge, ex, s, policy).with_context(|| {
                        format!("{}:{line}: judging `{}`", sampled_path.display(), s.id)
                    })
                })
                .collect()
        },
    )
}

/// The reference-free judge stage (`halt-llm judge --reference-free`): every record of
/// `sampled_path` labelled by agreement across its own samples
/// ([`judge_reference_free`](super::judge::reference_free::judge_reference_free)); no
/// examples are read. Resumable like [`judge_stage`].
///
/// # Errors
/// An unreadable or malformed sampled file, a repeated sampled id (naming the file and line); a
/// `min_support` that cannot label both ways with a record's number of samples
/// ([`check_min_support`](crate::dataset::agreement::check_min_support)).
pub fn reference_free_stage(
    judge: &dyn Judge,
    sampled_path: &Path,
    policy: NullPolicy,
    min_support: usize,
    out: &Path,
    quiet: bool,
) -> Result<StageReport> {
    let sampled: Vec<Sampled> = read_jsonl(sampled_path)?;
    index_by_id(&sampled, sampled_path)?;
    for (line, s) in sampled.iter().enumerate() {
        crate::dataset::agreement::check_min_support(min_support, s.responses.len())
            .with_context(|| format!("{}:{}: `{}`", sampled_path.display(), line + 1, s.id))?;
    }
    let items: Vec<(usize, &Sampled)> = sampled
        .iter()
        .enumerate()
        .map(|(i, s)| (i + 1, s))
        .collect();
    let options = StageOptions {
        label: "judge (reference-free)".into(),
        chunk: JUDGE_CHUNK,
        quiet,
    };
    run_stage(
        out,
        &items,
        |(_, s)| s.id.as_str(),
        &options,
        |chunk, _| {
            chunk
                .iter()
                .map(|(line, s)| -> Result<Judged> {
                    super::judge::reference_free::judge_reference_free(
                        judge,
                        s,
                        policy,
                        min_support,
                    )
                    .with_context(|| {
                        format!("{}:{line}: labelling `{}`", sampled_path.display(), s.id)
                    })
                })
                .collect()
        },
    )
}
