//! `halt-llm eval` as one library call: answer and judge the test prompts into
//! `DIR/evaluated.jsonl` (resumable), summarise them into `DIR/summary.json`, and write
//! `DIR/report.md` with `DIR/plot.png` and `DIR/plot.svg`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::Device;

use super::answer_stage::{EvalConfig, answer_stage};
use super::bootstrap::BootstrapConfig;
use super::example_answers::pick_answers;
use super::metrics::{Summary, summarize};
use super::record::Evaluated;
use super::report::{MethodResult, ReportFiles, write_report};
use crate::dataset::example::Example;
use crate::dataset::judge::JudgeConfig;
use crate::dataset::read_jsonl;
use crate::dataset::record::NullPolicy;
use crate::files::{Results, check_made_with, holds_record, write_json_atomic};
use crate::model::load::LoadedModel;
use crate::stage::StageReport;

/// Example answers shown per method in the report.
pub const SHOWN_PER_METHOD: usize = 3;

/// Everything `halt-llm eval` needs besides the model and the examples.
#[derive(Debug, Clone)]
pub struct EvalRun {
    /// Generation and marker settings.
    pub eval: EvalConfig,
    /// The judges (LLM judge, sandbox limits).
    pub judges: JudgeConfig,
    /// How undecided verdicts count in the summary.
    pub null_policy: NullPolicy,
    /// Bootstrap resamples and seed.
    pub bootstrap: BootstrapConfig,
    /// The method name in the report (e.g. the model's file name).
    pub label: String,
    /// The method's α, if it has one.
    pub alpha: Option<f64>,
}

/// What [`run_eval`] produced.
#[derive(Debug, Clone)]
pub struct EvalOutputs {
    /// `evaluated.jsonl` and what the answer stage did.
    pub stage: StageReport,
    /// `summary.json`.
    pub summary_path: PathBuf,
    /// The metrics.
    pub summary: Summary,
    /// `report.md` and the plot.
    pub report: ReportFiles,
}

/// Paths of the outputs in `dir`: `evaluated.jsonl`, `summary.json`.
pub fn output_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("evaluated.jsonl"), dir.join("summary.json"))
}

/// The records of `path` for the examples `selected`, in their order (a file resumed with a
/// larger `--limit` may hold more). Errors: a selected example without a record.
pub fn records_for(path: &Path, selected: &[Example]) -> Result<Vec<Evaluated>> {
    let all: Vec<Evaluated> = read_jsonl(path)?;
    let mut by_id: HashMap<String, Evaluated> =
        all.into_iter().map(|e| (e.id.clone(), e)).collect();
    selected
        .iter()
        .map(|ex| match by_id.remove(&ex.id) {
            Some(e) => Ok(e),
            None => bail!("{}: no record for `{}`", path.display(), ex.id),
        })
        .collect()
}

/// The file in an evaluation folder that records the model, the test set and the settings its
/// answers were made with ([`made_with`]); a rerun with another model, another test file or
/// other settings is refused once the folder holds an answer (a folder without answers takes
/// the new ones: [`check_made_with`]).
pub const MADE_WITH: &str = "made_with.json";

/// What the answers in an evaluation folder depend on: the model (its
/// [`model_sha256`](crate::fetch::model_sha256), and its [`model_name`](crate::fetch::model_name),
/// which is shown in the message but not compared), the test file (its SHA-256, and its path,
/// shown but not compared, as the model's name) and the settings that change the answers or
/// their verdicts.
///
/// # Errors
/// Unreadable model or test files.
pub fn made_with(loaded: &LoadedModel, eval: &EvalConfig) -> Result<serde_json::Value> {
    let data = eval.source.file.as_deref();
    Ok(serde_json::json!({
        "model": crate::fetch::model_name(&loaded.source),
        "model_sha256": crate::fetch::model_sha256(&loaded.source)?,
        "data": data.map(|p| p.display().to_string()),
        "data_sha256": data.map(crate::fetch::sha256_file).transpose()?,
        "max_new_tokens": eval.settings.max_new_tokens,
        "format": format!("{:?}", eval.settings.format).to_lowercase(),
        "shots": eval.shots,
        "marker": eval.marker,
    }))
}

/// The fields of [`made_with`] shown in a refusal but not compared (paths, which move).
pub const MADE_WITH_SHOWN_ONLY: [&str; 2] = ["model", "data"];

/// Runs the whole evaluation of `loaded` on `examples` into `dir`.
///
/// # Errors
/// Invalid settings; a folder whose answers were made with another model, another test file or
/// other settings ([`MADE_WITH`]); a prompt that does not fit the model's context; the stage's
/// errors.
pub fn run_eval(
    loaded: &LoadedModel,
    device: &Device,
    examples: &[Example],
    run: &EvalRun,
    dir: &Path,
) -> Result<EvalOutputs> {
    let (evaluated, summary_path) = output_paths(dir);
    run.eval.validate()?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    crate::files::remove_stale_temp_files(dir)?;
    // Recorded before the first answer is written; binding only once there is one.
    check_made_with(
        &dir.join(MADE_WITH),
        &made_with(loaded, &run.eval)?,
        &MADE_WITH_SHOWN_ONLY,
        &Results {
            path: dir,
            hold: holds_record(&evaluated),
            elsewhere: "another output folder",
            delete: "this folder".into(),
        },
    )?;
    let stage = answer_stage(loaded, device, examples, &run.eval, &run.judges, &evaluated)?;
    let selected = run.eval.selected(examples);
    let records = records_for(&stage.path, selected)?;
    let summary = summarize(&records, run.null_policy, &run.bootstrap);
    let result = MethodResult {
        method: run.label.clone(),
        alpha: run.alpha,
        summary: summary.clone(),
        shown: pick_answers(&records, selected, SHOWN_PER_METHOD),
    };
    let title = format!("Evaluation of {}", run.label);
    let depth = super::depth::depth_section(
        &[(run.label.clone(), &records[..])],
        selected,
        run.null_policy,
    );
    let report = write_report(dir, &title, &[result], None, None, &depth)?;
    // Written last: a folder with `summary.json` holds a finished evaluation (`halt-llm run`
    // skips it on a rerun), so a run killed while writing the report redoes it.
    write_json_atomic(&summary_path, &summary)?;
    Ok(EvalOutputs {
        stage,
        summary_path,
        summary,
        report,
    })
}
