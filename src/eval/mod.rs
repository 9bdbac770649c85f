//! Evaluation (paper §"Evaluation", arXiv 2506.04051): answer held-out test prompts with a
//! (finetuned) model, judge the answers with the training data's fragmenter and judge, compute
//! correctness, completeness, F1 and abstention rates with bootstrap intervals, and report them
//! in a table and a plot.
//!
//! - [`record`]: the [`Evaluated`] record (one per test prompt);
//! - [`answer`]: one answer → one record (marker handling, judging, the reference's fragments
//!   counted with the judge's splitter);
//! - [`answer_stage`](mod@answer_stage): the resumable answer stage (greedy zero-shot generation in batches);
//! - [`metrics`] and [`bootstrap`]: the metrics, their intervals, the [`Summary`];
//! - [`claims`]: the paper's claims as paired differences with clustered bootstrap intervals;
//! - [`depth`] and [`stops`]: capability by step depth, and where a finetuned model stops
//!   compared with the pretrained model's first wrong step;
//! - [`example_answers`], [`report`], [`plot`]: example answers, `report.md`, `plot.png` / `plot.svg`;
//! - [`evaluate`]: `halt-llm eval` as one call ([`run_eval`]).

pub mod answer;
pub mod answer_stage;
pub mod bootstrap;
pub mod claims;
pub mod depth;
pub mod detection;
pub mod evaluate;
pub mod example_answers;
pub mod label_quality;
pub mod metrics;
pub mod plot;
pub mod record;
pub mod report;
pub mod stops;

pub use answer::evaluate_answer;
pub use answer_stage::{EvalConfig, EvalSettings, answer_stage};
pub use bootstrap::BootstrapConfig;
pub use evaluate::{EvalRun, run_eval};
pub use metrics::{Estimate, Summary, summarize};
pub use record::Evaluated;
pub use report::{MethodResult, ReferencePoint, write_report};
