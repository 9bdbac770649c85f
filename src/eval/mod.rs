//! Evaluation (paper §"Evaluation", arXiv 2506.04051): answer held-out test prompts with a
//! (finetuned) model, judge the answers with the training data's fragmenter and judge, compute
//! correctness, completeness, F1 and abstention rates with bootstrap intervals, and report them
//! in a table and a plot.
//!
//! - [`record`]: the [`Evaluated`] record (one per test prompt);
//! - [`answer`]: one answer → one record (marker handling, judging, the reference's fragments
//!   counted with the judge's splitter);
//! - [`stage`]: the resumable answer stage (greedy zero-shot generation in batches);
//! - [`metrics`] and [`bootstrap`]: the metrics, their intervals, the [`Summary`];
//! - [`claims`]: the paper's claims as paired differences with clustered bootstrap intervals;
//! - [`shown`], [`report`], [`plot`]: example answers, `report.md`, `plot.png` / `plot.svg`;
//! - [`run`]: `halt-llm eval` as one call ([`run_eval`]).

pub mod answer;
pub mod bootstrap;
pub mod claims;
pub mod metrics;
pub mod plot;
pub mod record;
pub mod report;
pub mod run;
pub mod shown;
pub mod stage;

pub use answer::evaluate_answer;
pub use bootstrap::BootstrapConfig;
pub use metrics::{Estimate, Summary, summarize};
pub use record::Evaluated;
pub use report::{MethodResult, ReferencePoint, write_report};
pub use run::{EvalRun, run_eval};
pub use stage::{EvalConfig, EvalSettings, answer_stage};
