//! Subcommand handlers of the `halt-llm` binary, one file per group of commands (`main.rs` only
//! declares the commands and dispatches): each parses nothing itself (clap did) and calls the
//! library.

pub mod agreement;
pub mod dataset;
pub mod eval;
pub mod export;
pub mod generate;
pub mod logits;
pub mod model;
pub mod run;
pub mod serve;
pub mod train;
