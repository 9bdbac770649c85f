//! Steps 6–7 of `halt-llm run` ([`super::run::run`]): every model answers the held-out test
//! prompts and is judged (`RUN/eval/<method>/`), then the comparison is written
//! (`RUN/claims.json`, `RUN/report.md`, `RUN/plot.{png,svg}`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::examples::cluster_of;
use super::run::{PipelineRun, Variant, load_checkpoint, say};
use super::targets::{target_mix, targets_section};
use crate::dataset::align_stage::method_name;
use crate::dataset::record::AlignMethod;
use crate::dataset::sample::PromptSource;
use crate::eval::answer_stage::EvalConfig;
use crate::eval::bootstrap::BootstrapConfig;
use crate::eval::claims::{MethodTallies, paper_claims, test_claims};
use crate::eval::depth::depth_section;
use crate::eval::evaluate::{EvalRun, SHOWN_PER_METHOD, output_paths, records_for, run_eval};
use crate::eval::example_answers::pick_answers;
use crate::eval::metrics::{Summary, Tally};
use crate::eval::record::Evaluated;
use crate::eval::report::{MethodResult, write_report};
use crate::eval::stops::{stop_row, stops_section};

/// What step 6 gathers for the report.
pub(super) struct Evaluations {
    /// One row of the report per evaluated model, in evaluation order.
    pub(super) results: Vec<MethodResult>,
    /// Per-prompt tallies of the finetuned models, for the paper's claims.
    pub(super) tallies: Vec<MethodTallies>,
    /// Every model's evaluated answers, by variant name (`halt-0.4`, …, `pretrained-0shot`),
    /// for the depth and stopping sections.
    pub(super) answers: Vec<(String, Vec<Evaluated>)>,
}

impl PipelineRun<'_> {
    /// Step 6a: evaluates each variant's finetuned model (`models/<variant>/model/`) into
    /// `eval/<variant>/`, greedy and zero-shot; a variant whose `summary.json` exists is
    /// read back instead.
    ///
    /// # Errors
    /// A model that does not load; generation or judging errors; malformed `summary.json`
    /// or `evaluated.jsonl` (file named).
    pub(super) fn evaluate_variants(&self, all: &[Variant]) -> Result<Evaluations> {
        let mut results = Vec::new();
        let mut tallies = Vec::new();
        let mut answers = Vec::new();
        for v in all {
            let model_dir = self.dir.join("models").join(&v.name).join("model");
            let (summary, records) =
                self.evaluate(&v.name, &self.eval_run(&v.name, v.alpha), &model_dir)?;
            tallies.push(method_tallies(&v.name, &records, self.config));
            results.push(MethodResult {
                // HALT models share one name so the plot joins them into one line across α
                // (those on reference-free labels another).
                method: match v.method {
                    AlignMethod::Halt if v.reference_free => "halt-rf".to_string(),
                    AlignMethod::Halt => method_name(v.method),
                    _ => v.name.clone(),
                },
                alpha: v.alpha,
                summary,
                shown: pick_answers(&records, &self.test, SHOWN_PER_METHOD),
            });
            answers.push((v.name.clone(), records));
        }
        Ok(Evaluations {
            results,
            tallies,
            answers,
        })
    }

    /// Step 6b: the pretrained model on the same test prompts, greedy like the finetuned
    /// models: zero-shot, and with the sampling stage's shots (from the training split),
    /// into `eval/pretrained-<k>shot/`; appends their rows to `evaluations`.
    ///
    /// # Errors
    /// As [`PipelineRun::evaluate_variants`].
    pub(super) fn evaluate_pretrained(&self, evaluations: &mut Evaluations) -> Result<()> {
        let mut shot_counts = vec![0];
        if self.config.sample.shots > 0 {
            shot_counts.push(self.config.sample.shots);
        }
        for shots in shot_counts {
            let name = format!("pretrained-{shots}shot");
            let mut run = self.eval_run(&name, None);
            run.eval.shots = shots;
            run.eval.shot_pool = self.train.clone();
            let (summary, records) = self.evaluate(&name, &run, &self.model_path)?;
            evaluations.results.push(MethodResult {
                method: format!("pretrained, {shots}-shot"),
                alpha: None,
                summary,
                shown: pick_answers(&records, &self.test, SHOWN_PER_METHOD),
            });
            evaluations.answers.push((name, records));
        }
        Ok(())
    }

    /// The evaluation job of one model: greedy answers with the run's `[eval]` settings, the
    /// run's judges, null policy and bootstrap seed.
    fn eval_run(&self, label: &str, alpha: Option<f64>) -> EvalRun {
        EvalRun {
            eval: EvalConfig {
                settings: self.config.eval.clone(),
                source: PromptSource::new(&self.test_path, super::run::EVAL_BUDGET),
                ..EvalConfig::default()
            },
            judges: self.judges.clone(),
            null_policy: self.config.null_policy,
            bootstrap: BootstrapConfig {
                resamples: 1000,
                seed: self.config.seed,
            },
            label: label.to_string(),
            alpha,
        }
    }

    /// Evaluates the model at `model_dir` with `run` into `eval/<name>/` (answers,
    /// verdicts, `summary.json`), or reads `eval/<name>/summary.json` back when it exists
    /// (the model is then not loaded). Returns the summary and the evaluated answers of
    /// the test prompts.
    ///
    /// # Errors
    /// A model that does not load; generation or judging errors; an unreadable or
    /// malformed `summary.json` or `evaluated.jsonl` (file named).
    fn evaluate(
        &self,
        name: &str,
        run: &EvalRun,
        model_dir: &Path,
    ) -> Result<(Summary, Vec<Evaluated>)> {
        let eval_dir = self.dir.join("eval").join(name);
        let (evaluated, summary_path) = output_paths(&eval_dir);
        let summary = if summary_path.exists() {
            serde_json::from_str(
                &std::fs::read_to_string(&summary_path)
                    .with_context(|| format!("reading {}", summary_path.display()))?,
            )
            .with_context(|| format!("parsing {}", summary_path.display()))?
        } else {
            say(&format!("evaluating {name}"));
            let loaded = load_checkpoint(model_dir, &self.device)?;
            run_eval(&loaded, &self.device, &self.test, run, &eval_dir)?.summary
        };
        Ok((summary, records_for(&evaluated, &self.test)?))
    }

    /// Step 7: tests the paper's claims as paired differences clustered by problem
    /// template (maths) or prompt, writes them to `claims.json`, and writes `report.md`
    /// and `plot.{png,svg}`. Returns the path of `report.md`.
    ///
    /// # Errors
    /// I/O errors writing the files; a plot that cannot be drawn.
    pub(super) fn report(&self, all: &[Variant], evaluations: &Evaluations) -> Result<PathBuf> {
        let config = self.config;
        let names: Vec<&str> = all.iter().map(|v| v.name.as_str()).collect();
        let specs = paper_claims(&names, &config.alphas);
        let clusters: HashMap<&str, String> = self
            .test
            .iter()
            .map(|e| (e.id.as_str(), cluster_of(e)))
            .collect();
        let claims = test_claims(
            &evaluations.tallies,
            &specs,
            |id| clusters.get(id).cloned().unwrap_or_else(|| id.to_string()),
            match config.domain {
                crate::dataset::Domain::Math => "problem templates",
                _ => "prompts",
            },
            &BootstrapConfig {
                resamples: 1000,
                seed: config.seed,
            },
        );
        crate::files::write_atomic(
            &self.dir.join("claims.json"),
            serde_json::to_string_pretty(&claims)?.as_bytes(),
        )?;
        let title = format!(
            "HALT on {} ({}), {} training / {} test prompts",
            config.domain,
            crate::fetch::model_name(&self.model_path),
            self.train.len(),
            self.test.len()
        );
        let extra = self.alignment_sections(all, evaluations)?;
        let files = write_report(
            self.dir,
            &title,
            &evaluations.results,
            None,
            Some(&claims),
            &extra,
        )?;
        Ok(files.markdown)
    }

    /// The report's sections on capability alignment: what each variant's targets teach,
    /// where the finetuned models stop compared with the pretrained model's first wrong step
    /// (its answers with the sampling stage's shots when it has them: the capability the
    /// targets were cut to), and the capability by depth of the pretrained and finetuned
    /// models; plus, below [`STUDY_SIZE`] test prompts, the note that the run is a smoke test.
    ///
    /// # Errors
    /// An unreadable or malformed aligned file (named).
    fn alignment_sections(&self, all: &[Variant], evaluations: &Evaluations) -> Result<String> {
        let policy = self.config.null_policy;
        let mut md = String::new();
        if self.test.len() < STUDY_SIZE {
            md.push_str(&format!(
                "\n## Size\n\nWith {} test prompts this run is a smoke test of the pipeline, \
                 not a result: differences of the size the paper reports are within its \
                 intervals. A run that can resolve them needs a few hundred test prompts over \
                 many problem templates (the book's Results chapter).\n",
                self.test.len()
            ));
        }
        if all.iter().any(|v| v.reference_free) {
            let judged = if all.iter().all(|v| v.reference_free) {
                "no model here uses the ground-truth judge's labels".to_string()
            } else {
                "the other models learn from the ground-truth judge's labels \
                 (`judged.jsonl`)"
                    .to_string()
            };
            md.push_str(&format!(
                "\n## Labels\n\n`halt-rf` models are HALT trained on reference-free labels \
                 (`{}`): a fragment is correct when at least {} of the other {} samples of its \
                 prompt contain it (agreement; the book's \"Labels without ground truth\"); \
                 {judged}.\n",
                super::run::REFERENCE_FREE_JUDGED,
                self.config.min_support,
                self.config.sample.n.saturating_sub(1),
            ));
        }
        let mut mixes = Vec::new();
        for v in all {
            let path = super::run::aligned_path(self.dir, v);
            let records: Vec<crate::dataset::record::Aligned> =
                crate::stage::jsonl::read_jsonl(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
            mixes.push(target_mix(
                &v.name,
                &records,
                crate::dataset::record::UNSURE_MARKER,
            ));
        }
        md.push_str(&targets_section(&mixes));
        let find = |name: &str| {
            evaluations
                .answers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, r)| r.as_slice())
        };
        let shots = self.config.sample.shots;
        let reference = [format!("pretrained-{shots}shot"), "pretrained-0shot".into()]
            .into_iter()
            .find_map(|name| find(&name).map(|r| (name, r)));
        if let Some((name, pretrained)) = reference {
            let rows: Vec<_> = all
                .iter()
                .filter_map(|v| find(&v.name).map(|r| stop_row(&v.name, r, pretrained, policy)))
                .collect();
            md.push_str(&stops_section(&rows, &name));
        }
        let models: Vec<(String, &[Evaluated])> = evaluations
            .answers
            .iter()
            .rev()
            .map(|(n, r)| (n.clone(), r.as_slice()))
            .collect();
        md.push_str(&depth_section(&models, &self.test, policy));
        Ok(md)
    }
}

/// Test prompts below which a run's report calls itself a smoke test.
pub const STUDY_SIZE: usize = 100;

/// One tally per test prompt of a method's evaluated answers, under the run's null policy.
fn method_tallies(name: &str, records: &[Evaluated], config: &super::RunConfig) -> MethodTallies {
    MethodTallies {
        name: name.to_string(),
        tallies: records
            .iter()
            .map(|e| (e.id.clone(), Tally::of(e, config.null_policy)))
            .collect(),
    }
}
