//! `halt-llm bench`: prefill and decode throughput (tokens/s) and peak memory of a model on
//! a device. Figures are measured, not estimated: wall-clock around work that is read back
//! to the host (so lazy backends cannot skip it), peak RSS from `/proc/self/status`.

use std::time::Instant;

use anyhow::Result;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Serialize;

use crate::model::config::LlamaConfig;
use crate::model::{KvCache, Llama};

/// Benchmark settings.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// Sequences per batch.
    pub batch: usize,
    /// Prompt length (tokens) for the prefill measurement.
    pub prompt_len: usize,
    /// Tokens decoded one at a time after the prefill.
    pub new_tokens: usize,
    /// Repetitions; the best (fastest) run is reported.
    pub repeats: usize,
}

impl BenchConfig {
    /// Checks the settings with the [`settings`](crate::settings) rules; with the model's
    /// `context` length, also that prompt and decoded tokens fit in it.
    ///
    /// # Errors
    /// The first value out of range, named.
    pub fn validate(&self, context: Option<usize>) -> Result<()> {
        use crate::settings;
        settings::batch("batch", self.batch)?;
        settings::tokens("prompt_len", self.prompt_len, 1)?;
        settings::tokens("new_tokens", self.new_tokens, 1)?;
        settings::passes("repeats", self.repeats)?;
        if let Some(context) = context {
            settings::fits_context(
                "prompt_len + new_tokens",
                self.prompt_len + self.new_tokens,
                context,
            )?;
        }
        Ok(())
    }

    /// Checks the settings against the configuration of the model, before its weights load:
    /// prompt and decoded tokens fit in its context, and the batch in this machine's memory
    /// ([`settings::fits_memory`](crate::settings::fits_memory); the prompt is prefilled at
    /// once).
    ///
    /// # Errors
    /// The first setting the model or the machine cannot take, named.
    pub fn check_model(&self, config: &LlamaConfig) -> Result<()> {
        use crate::settings;
        self.validate(Some(config.max_position_embeddings))?;
        settings::fits_memory(
            &[
                ("batch", self.batch),
                ("prompt_len", self.prompt_len),
                ("new_tokens", self.new_tokens),
            ],
            self.batch,
            self.prompt_len + self.new_tokens,
            settings::Work::Generation {
                prefill: self.prompt_len,
            },
            config,
        )
    }
}

/// Result of one benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Sequences per batch.
    pub batch: usize,
    /// Prompt length (tokens).
    pub prompt_len: usize,
    /// Decoded tokens per sequence.
    pub new_tokens: usize,
    /// Prefill throughput: `batch · prompt_len / seconds`.
    pub prefill_tokens_per_s: f64,
    /// Decode throughput: `batch · new_tokens / seconds` (KV cache, one token per step).
    pub decode_tokens_per_s: f64,
    /// Peak resident memory of the process so far (MiB), Linux only.
    pub peak_rss_mib: Option<f64>,
}

/// Runs prefill + decode with deterministic pseudo-random token ids.
///
/// # Errors
/// Reading results back from the device.
pub fn bench_model(model: &Llama, cfg: &BenchConfig, device: &Device) -> Result<BenchReport> {
    cfg.check_model(&model.config)?;
    let vocab = model.config.vocab_size as i64;
    let ids: Vec<i64> = (0..cfg.batch * cfg.prompt_len)
        .map(|i| (i as i64 * 7919 + 13) % vocab)
        .collect();
    let mut best_prefill = f64::INFINITY;
    let mut best_decode = f64::INFINITY;
    // As in generation (see `model::decode_weights`).
    let _host_weights = crate::model::decode_weights::install(device);
    for _ in 0..cfg.repeats.max(1) {
        let mut cache = KvCache::with_capacity(model.layers.len(), cfg.prompt_len + cfg.new_tokens);
        let input = Tensor::<2, Int>::from_data(
            TensorData::new(ids.clone(), [cfg.batch, cfg.prompt_len]),
            device,
        );
        let valid = vec![vec![true; cfg.prompt_len]; cfg.batch];
        let t0 = Instant::now();
        let h = model.forward_cached(input, &valid, &mut cache);
        let mut next = model
            .logits(h.narrow(1, cfg.prompt_len - 1, 1))
            .argmax(2)
            .reshape([cfg.batch, 1]);
        let _ = next.to_data();
        best_prefill = best_prefill.min(t0.elapsed().as_secs_f64());
        let t1 = Instant::now();
        for _ in 0..cfg.new_tokens {
            let h = model.forward_cached(next, &vec![vec![true]; cfg.batch], &mut cache);
            next = model.logits(h).argmax(2).reshape([cfg.batch, 1]);
            let _ = next.to_data();
        }
        best_decode = best_decode.min(t1.elapsed().as_secs_f64());
    }
    Ok(BenchReport {
        batch: cfg.batch,
        prompt_len: cfg.prompt_len,
        new_tokens: cfg.new_tokens,
        prefill_tokens_per_s: (cfg.batch * cfg.prompt_len) as f64 / best_prefill,
        decode_tokens_per_s: (cfg.batch * cfg.new_tokens) as f64 / best_decode,
        peak_rss_mib: peak_rss_mib(),
    })
}

/// Peak resident set size of this process in MiB (`VmHWM`), if the OS reports it.
pub fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
