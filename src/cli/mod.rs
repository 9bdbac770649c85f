//! Subcommand handlers of the `halt-llm` binary that would make `main.rs` too long: each parses
//! nothing itself (clap did) and calls the library.

pub mod dataset;
pub mod eval;
pub mod logits;
pub mod model;
pub mod run;
pub mod train;
