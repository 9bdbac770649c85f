//! Supervised finetuning on HALT-aligned targets with burn-train (paper step 6: "ordinary
//! SFT, loss on the target tokens only").
//!
//! - [`example`]: (prompt, target) → token ids + label mask, via the chat template;
//! - [`batch`]: the burn `Batcher` (padding, the one shift to next-token targets);
//! - [`step`]: completion-only cross-entropy normalised per optimiser step; `TrainStep`;
//! - [`head_loss`]: the output head and the cross-entropy together on the CPU;
//! - [`plan`]: shuffling, micro-batches, accumulation groups and checkpoint segments;
//! - [`schedule`]: linear warm-up + cosine decay;
//! - [`adamw`]: AdamW in one pass over each parameter on the CPU;
//! - [`checkpoint`]: atomic checkpoint files and finding the last complete one;
//! - [`config`]: the settings (CLI and TOML);
//! - [`lora`]: LoRA adapters on the target projections;
//! - [`finetune`]: a training run as numbered steps (output folder, resume, model, export);
//! - `data`: the aligned records tokenized and split into training / validation examples;
//! - `learner`: the segment plan and burn-train's learner over it;
//! - [`export`]: Hugging Face folder output;
//! - [`log`]: plain log lines for non-terminals;
//! - [`bench`](mod@bench): training tokens/s and peak memory.

pub mod adamw;
pub mod batch;
pub mod bench;
pub mod checkpoint;
pub mod config;
mod data;
pub mod example;
pub mod export;
pub mod export_gguf;
pub mod finetune;
pub mod head_loss;
mod learner;
pub mod log;
pub mod lora;
pub mod plan;
pub mod schedule;
pub mod step;

pub use config::{LoraSettings, TrainConfig};
pub use finetune::{TrainOptions, TrainSummary, train};
