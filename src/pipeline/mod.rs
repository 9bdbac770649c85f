//! `halt-llm run`: sample → judge → align (per α and baseline) → train → evaluate → report,
//! in one resumable run folder ([`run::run`]), configured by [`config::RunConfig`].

pub mod config;
pub mod examples;
pub mod run;

pub use config::RunConfig;
pub use run::{RunOutcome, run};
