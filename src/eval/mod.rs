//! Evaluation (paper §"Evaluation", `shared/paper/HALT.md`): answer held-out test prompts with a
//! (finetuned) model, judge the answers with the training data's fragmenter and judge, compute
//! correctness, completeness, F1 and abstention rates with bootstrap intervals, and report them
//! in a table and a plot.
//!
//! - [`record`]: the [`Evaluated`] record (one per test prompt);
//! - [`answer`]: one answer → one record (marker handling, [`splitter_for`] a domain);
//! - [`stage`]: the resumable answer stage (greedy zero-shot generation in batches);
//! - [`metrics`] and [`bootstrap`]: the metrics, their intervals, the [`Summary`];
//! - [`pretrained`]: the pretrained model's few-shot scores as a reference point;
//! - [`shown`], [`report`], [`plot`]: example answers, `report.md`, `plot.png` / `plot.svg`;
//! - [`run`]: `halt-llm eval` as one call ([`run_eval`]).

pub mod answer;
pub mod bootstrap;
pub mod metrics;
pub mod plot;
pub mod pretrained;
pub mod record;
pub mod report;
pub mod run;
pub mod shown;
pub mod stage;

pub use answer::{evaluate_answer, splitter_for};
pub use bootstrap::BootstrapConfig;
pub use metrics::{Estimate, Summary, summarize};
pub use record::Evaluated;
pub use report::{MethodResult, ReferencePoint, write_report};
pub use run::{EvalRun, run_eval};
pub use stage::{EvalConfig, answer_stage};
