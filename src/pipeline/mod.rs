//! `halt-llm run`: sample → judge → align (per α and baseline) → train → evaluate → report,
//! in one resumable run folder ([`run::run`]), configured by [`config::RunConfig`].
//!
//! - [`config`]: the settings (TOML, embedded default);
//! - [`examples`]: the training / test split (step 1);
//! - [`run`](mod@run): the table of contents and steps 0–5 (settings, examples, sample, judge,
//!   align, finetune);
//! - `evaluate`: steps 6–7 (evaluation of every model, claims and report);
//! - [`reuse`]: `--reuse-from`, starting a run from another folder's samples, targets and
//!   models (validation runs, then the test run);
//! - [`targets`]: what each variant's training targets teach (marker-only, truncated, whole).
//! - [`variants`]: the models a run trains (one HALT model per α, the baselines).

pub mod config;
mod evaluate;
pub mod examples;
mod record;
pub mod reuse;
pub mod run;
pub mod targets;
pub mod variants;

pub use config::RunConfig;
pub use run::{RunOutcome, run, run_reusing};
