//! `halt-llm train`: finetune on aligned records (flags, or a TOML file with the same
//! field names; flags override the file).

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use halt_llm::backend::DeviceChoice;
use halt_llm::train::{LoraSettings, TrainConfig, TrainOptions, train};

/// Arguments of `halt-llm train`. Every setting left out comes from `--config`, or else
/// from the defaults shown by `--print-config`.
#[derive(Args, Clone)]
pub struct TrainArgs {
    /// TOML file with the training settings (field names as in `--print-config`).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Aligned JSONL file(s) from `halt-llm align`; several train one multi-domain model.
    #[arg(long, num_args = 1..)]
    data: Vec<PathBuf>,
    /// Model to finetune: `default`, a GGUF file or a Hugging Face folder.
    #[arg(long)]
    model: Option<String>,
    /// Output folder (checkpoints, logs, `model/`).
    #[arg(long)]
    out: Option<PathBuf>,
    /// LoRA rank; without it, all weights are finetuned.
    #[arg(long)]
    lora_rank: Option<usize>,
    /// LoRA α (default 2 × rank).
    #[arg(long)]
    lora_alpha: Option<f64>,
    /// Comma-separated LoRA target modules (default: all projections).
    #[arg(long, value_delimiter = ',')]
    lora_targets: Option<Vec<String>>,
    /// Passes over the training data.
    #[arg(long)]
    epochs: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Examples per micro-batch.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Micro-batches per optimiser step.
    #[arg(long)]
    grad_accum: Option<usize>,
    /// Longest sequence in tokens.
    #[arg(long)]
    max_seq_len: Option<usize>,
    /// Optimiser steps between checkpoints.
    #[arg(long)]
    checkpoint_every: Option<usize>,
    /// Random seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Compute device: cpu, wgpu or cuda.
    #[arg(long, env = "HALT_DEVICE")]
    device: Option<DeviceChoice>,
    /// Data-parallel training on these devices (comma-separated, two or more: cpu, wgpu,
    /// wgpu:N (N-th discrete GPU), cuda, cuda:N; the first holds the model): each micro-batch
    /// is split across them (replaces --device).
    #[arg(long, value_delimiter = ',')]
    devices: Vec<String>,
    /// Continue the run in `--out` from its last checkpoint.
    #[arg(long)]
    resume: bool,
    /// Plain log lines even on a terminal.
    #[arg(long)]
    plain: bool,
    /// Print the resulting settings as TOML and exit.
    #[arg(long)]
    print_config: bool,
}

impl TrainArgs {
    /// The settings: the file, then the flags over it.
    fn config(&self) -> Result<TrainConfig> {
        let mut c = match &self.config {
            Some(p) => TrainConfig::from_toml_file(p)?,
            None => TrainConfig::default(),
        };
        if !self.data.is_empty() {
            c.data = self.data.clone();
        }
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f.clone() { c.$f = v; } )* };
        }
        set!(
            model,
            epochs,
            lr,
            batch_size,
            grad_accum,
            max_seq_len,
            checkpoint_every,
            seed,
            device
        );
        if !self.devices.is_empty() {
            c.devices = self.devices.iter().map(|d| d.trim().to_string()).collect();
        }
        c.overlay_lora(self.lora_rank, self.lora_alpha, self.lora_targets.clone())?;
        Ok(c)
    }
}

/// Runs `halt-llm train`.
pub fn train_cmd(args: TrainArgs) -> Result<()> {
    let config = args.config()?;
    if args.print_config {
        print!("{}", config.to_toml());
        return Ok(());
    }
    let Some(out) = args.out.clone() else {
        bail!("--out DIR is required (where checkpoints and the finetuned model go)");
    };
    let opts = TrainOptions {
        resume: args.resume,
        stop_after_segments: None,
        plain_log: args.plain,
    };
    let summary = train(&config, &out, &opts)?.expect("runs to the end");
    eprintln!(
        "train: done: {} steps on {} examples ({} label tokens per pass), {:.0} s; \
         validation loss {} → {}",
        summary.steps,
        summary.train_examples,
        summary.train_label_tokens,
        summary.seconds,
        summary
            .valid_loss_before
            .map_or("n/a".into(), |l| format!("{l:.4}")),
        summary
            .valid_loss_after
            .map_or("n/a".into(), |l| format!("{l:.4}")),
    );
    println!("{}", summary.model_dir.display());
    Ok(())
}

/// Arguments of `halt-llm bench-train`.
#[derive(Args, Clone)]
pub struct BenchTrainArgs {
    #[command(flatten)]
    model: super::model::ModelArgs,
    /// Sequences per optimiser step.
    #[arg(long, default_value_t = 4)]
    batch_size: usize,
    /// Tokens per sequence.
    #[arg(long, default_value_t = 256)]
    seq_len: usize,
    /// Timed optimiser steps (after one warm-up step).
    #[arg(long, default_value_t = 3)]
    steps: usize,
    /// Measure LoRA of this rank (all projections) instead of full finetuning.
    #[arg(long)]
    lora_rank: Option<usize>,
    /// Train on these aligned JSONL files (as `halt-llm train` batches them) instead of
    /// synthetic sequences; `--seq-len` is then the cut-off length. Repeatable.
    #[arg(long)]
    data: Vec<PathBuf>,
}

/// Runs `halt-llm bench-train`.
pub fn bench(args: BenchTrainArgs) -> Result<()> {
    let cfg = halt_llm::train::bench::TrainBenchConfig {
        batch: args.batch_size,
        seq_len: args.seq_len,
        steps: args.steps,
        lora: args.lora_rank.map(LoraSettings::with_rank),
        data: args.data.clone(),
    };
    cfg.validate()?;
    cfg.check_model(&super::model::config(&args.model)?)?;
    let device = halt_llm::backend::device(args.model.device)?;
    let loaded =
        halt_llm::model::load::open_model(args.model.model.as_str(), &device.clone().autodiff())?;
    let r = halt_llm::train::bench::bench_training(loaded.model, &loaded.tokenizer, &cfg, &device)?;
    println!(
        "{} on {} ({}): {} × ≤{} tokens per step, {:.2} s/step, {:.1} tokens/s ({:.1} label tokens/s), peak RSS {}",
        r.mode,
        args.model.device,
        r.workload,
        r.batch,
        r.seq_len,
        r.seconds_per_step,
        r.tokens_per_s,
        r.label_tokens_per_s,
        r.peak_rss_mib
            .map_or("n/a".into(), |m| format!("{m:.0} MiB"))
    );
    println!("{}", serde_json::to_string(&r)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        train: TrainArgs,
    }

    fn config(args: &[&str]) -> TrainConfig {
        let mut all = vec!["halt-llm"];
        all.extend(args);
        Cli::try_parse_from(all).unwrap().train.config().unwrap()
    }

    #[test]
    fn train_flags_over_the_file_over_the_defaults() {
        // by hand: the file sets 7 epochs, lr 0.01 and LoRA rank 4 (α 8); --lr 0.002 and
        // --data win over the file, the epochs stay the file's, the batch size (in neither)
        // is the default 4
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(
            &file,
            "data = [\"a.jsonl\"]\nepochs = 7\nlr = 0.01\n[lora]\nrank = 4\nalpha = 8.0\n\
             target_modules = [\"q_proj\"]\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let c = config(&["--config", path, "--lr", "0.002", "--data", "b.jsonl"]);
        assert_eq!((c.epochs, c.lr, c.batch_size), (7, 0.002, 4));
        assert_eq!(c.data, vec![PathBuf::from("b.jsonl")]);
        let l = c.lora.as_ref().unwrap();
        assert_eq!((l.rank, l.alpha, l.target_modules.len()), (4, 8.0, 1));
        // without flags, the file alone
        let c = config(&["--config", path]);
        assert_eq!(
            (c.lr, c.data.clone()),
            (0.01, vec![PathBuf::from("a.jsonl")])
        );
        // without a file, the defaults: full finetuning at lr 5e-5
        let c = config(&["--epochs", "2"]);
        assert_eq!((c.epochs, c.lr, c.lora.is_none()), (2, 5e-5, true));
    }
}
