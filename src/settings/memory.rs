//! Settings each within bounds but too large together: the working memory of one batch
//! against the machine's memory.
//!
//! Each count has its own bound ([`batch`](super::batch), [`tokens`](super::tokens)), but a
//! batch of 4096 sequences of 8192 tokens is far beyond any machine even though both numbers
//! are allowed. [`fits_memory`] estimates the largest buffers one batch holds at once from the
//! model's configuration and refuses, before any work, a batch that cannot fit in the
//! machine's memory (`MemTotal` in `/proc/meminfo`; where that cannot be read, nothing is
//! checked). The estimate counts only the largest buffers, in `f32`, so it is a floor: a batch
//! it lets through may still be too large for a device with less memory than the host.

use anyhow::{Result, bail};

use crate::model::config::LlamaConfig;

/// Bytes of one `f32`.
const F32: f64 = 4.0;

/// What a batch does, which decides the buffers it holds at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Work {
    /// Forward and backward over every position (`train`, `bench-train`): the full-vocabulary
    /// logits `[rows, positions, vocab_size]`, their log-softmax and its gradient (three times
    /// the logits), and each layer's keys and values kept for the backward pass.
    Training,
    /// Prefill then decode (`sample`, `eval`, `generate`, `chat`, `bench`): the KV cache for
    /// every position, one position's logits per row, and one layer's attention scores for a
    /// prefill pass of `prefill` positions against all of them.
    Generation {
        /// Positions per prefill pass (the prompt at once, or a chunk of it).
        prefill: usize,
    },
}

/// The estimated working memory of one batch, in bytes, by buffer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// The logits (for training: with their log-softmax and gradient).
    pub logits: f64,
    /// The KV cache (for training: the keys and values kept for the backward pass).
    pub kv_cache: f64,
    /// One layer's attention scores during prefill (0 for training, which the estimate
    /// leaves out).
    pub scores: f64,
}

impl Estimate {
    /// The sum of the buffers.
    pub fn total(&self) -> f64 {
        self.logits + self.kv_cache + self.scores
    }
}

/// The working memory of a batch of `rows` sequences of `positions` tokens on a model of
/// configuration `config` (see [`Work`] for what is counted). Computed in `f64`, so no product
/// overflows.
pub fn estimate(config: &LlamaConfig, rows: usize, positions: usize, work: Work) -> Estimate {
    let (rows, positions) = (rows as f64, positions as f64);
    let vocab = config.vocab_size as f64;
    let kv = config.num_hidden_layers as f64
        * 2.0
        * rows
        * config.num_kv_heads() as f64
        * positions
        * config.head_dim() as f64
        * F32;
    match work {
        Work::Training => Estimate {
            logits: 3.0 * rows * positions * vocab * F32,
            kv_cache: kv,
            scores: 0.0,
        },
        Work::Generation { prefill } => Estimate {
            logits: rows * vocab * F32,
            kv_cache: kv,
            scores: rows
                * config.num_attention_heads as f64
                * (prefill as f64).min(positions)
                * positions
                * F32,
        },
    }
}

/// This machine's memory in bytes (`MemTotal` in `/proc/meminfo`), or `None` where it cannot
/// be read.
pub fn machine_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// A number of bytes the way people read it: `512 B`, `1.5 KiB`, `23.4 GiB`, `6.0 TiB`.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A batch of `rows` sequences of `positions` tokens (see [`estimate`]) against this machine's
/// memory ([`machine_memory`]; not checked where it cannot be read). `settings` are the
/// settings that make the batch, with their values, as the message names them (e.g.
/// `[("batch_size", 4096), ("seq_len", 8192)]`).
///
/// # Errors
/// The estimate is larger than the machine's memory: the message names the settings, the
/// estimate, its largest buffer and the memory.
pub fn fits_memory(
    settings: &[(&str, usize)],
    rows: usize,
    positions: usize,
    work: Work,
    config: &LlamaConfig,
) -> Result<()> {
    fits_memory_of(settings, rows, positions, work, config, machine_memory())
}

/// [`fits_memory`] against `memory` bytes (`None`: not checked).
///
/// # Errors
/// As [`fits_memory`].
pub fn fits_memory_of(
    settings: &[(&str, usize)],
    rows: usize,
    positions: usize,
    work: Work,
    config: &LlamaConfig,
    memory: Option<u64>,
) -> Result<()> {
    let Some(memory) = memory else {
        return Ok(());
    };
    let e = estimate(config, rows, positions, work);
    if e.total() <= memory as f64 {
        return Ok(());
    }
    let largest = if e.logits >= e.kv_cache && e.logits >= e.scores {
        format!(
            "{} for the logits{} alone, vocab {}",
            human_bytes(e.logits),
            if work == Work::Training {
                " and their gradients"
            } else {
                ""
            },
            config.vocab_size
        )
    } else if e.kv_cache >= e.scores {
        format!(
            "{} for the {} alone, {} layers × {} KV heads × {} per head",
            human_bytes(e.kv_cache),
            if work == Work::Training {
                "keys and values"
            } else {
                "KV cache"
            },
            config.num_hidden_layers,
            config.num_kv_heads(),
            config.head_dim()
        )
    } else {
        format!(
            "{} for one layer's attention scores alone, {} heads",
            human_bytes(e.scores),
            config.num_attention_heads
        )
    };
    let named: Vec<String> = settings.iter().map(|(n, v)| format!("{n} {v}")).collect();
    let names: Vec<&str> = settings.iter().map(|(n, _)| *n).collect();
    let lower = match names.split_last() {
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    bail!(
        "{} needs about {} of working memory ({largest}), more than this machine's {} \
         (MemTotal): lower {lower}",
        named.join(" × "),
        human_bytes(e.total()),
        human_bytes(memory as f64),
    );
}

/// A generation job against this machine's memory, before any work ([`fits_memory`]): batches
/// of `batch` (setting name, value) prompts, `n` (when the job samples several) sequences each,
/// of at least one prompt token and `max_new_tokens` new ones, prefilled in chunks of
/// `prefill` positions. With `prompts`, the number of prompts of the job, a batch holds at most
/// that many (named `prompts` when fewer than the batch setting). Names are prefixed with
/// `prefix` (`sample.` in a run's settings).
///
/// # Errors
/// As [`fits_memory`].
pub fn fits_generation(
    prefix: &str,
    batch: (&str, usize),
    n: Option<usize>,
    max_new_tokens: usize,
    prompts: Option<usize>,
    prefill: usize,
    config: &LlamaConfig,
) -> Result<()> {
    let mut factors = vec![match prompts {
        Some(p) if p < batch.1 => ("prompts".to_string(), p.max(1)),
        _ => (format!("{prefix}{}", batch.0), batch.1),
    }];
    if let Some(n) = n {
        factors.push((format!("{prefix}n"), n));
    }
    factors.push((format!("{prefix}max_new_tokens"), max_new_tokens));
    let rows = factors[0].1.saturating_mul(n.unwrap_or(1));
    let named: Vec<(&str, usize)> = factors.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    fits_memory(
        &named,
        rows,
        max_new_tokens.saturating_add(1),
        Work::Generation { prefill },
        config,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SmolLM2-135M's shape: vocabulary 49152, 30 layers, 9 query and 3 KV heads of 64.
    fn smollm2() -> LlamaConfig {
        LlamaConfig {
            hidden_size: 576,
            intermediate_size: 1536,
            num_hidden_layers: 30,
            num_attention_heads: 9,
            num_key_value_heads: Some(3),
            head_dim: Some(64),
            ..LlamaConfig::tiny(49152)
        }
    }

    const GIB: u64 = 1 << 30;

    #[test]
    fn a_training_batch_too_large_for_the_machine_is_refused_naming_its_settings() {
        // by hand: logits 4096 · 8192 · 49152 · 4 B = 3 · 2^43 B = 6 TiB, three times that
        // 18 TiB; keys and values 30 · 2 · 4096 · 3 · 8192 · 64 · 4 B = 180 · 2^33 B
        // = 1.40625 TiB; in all 19.40625 TiB
        let c = smollm2();
        let e = estimate(&c, 4096, 8192, Work::Training);
        assert_eq!(e.logits, 18.0 * 2f64.powi(40));
        assert_eq!(e.kv_cache, 180.0 * 2f64.powi(33));
        let err = fits_memory_of(
            &[("batch_size", 4096), ("seq_len", 8192)],
            4096,
            8192,
            Work::Training,
            &c,
            Some(24 * GIB),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "batch_size 4096 × seq_len 8192 needs about 19.4 TiB of working memory (18.0 TiB \
             for the logits and their gradients alone, vocab 49152), more than this machine's \
             24.0 GiB (MemTotal): lower batch_size or seq_len"
        );
        // by hand: batch 4 × 256 tokens: logits 3 · 4 · 256 · 49152 · 4 B = 576 MiB, keys
        // and values 30 · 2 · 4 · 3 · 256 · 64 · 4 B = 45 MiB: fits in 24 GiB
        let e = estimate(&c, 4, 256, Work::Training);
        assert_eq!(e.total(), (576 + 45) as f64 * 2f64.powi(20));
        let ok = &[("batch_size", 4), ("seq_len", 256)];
        fits_memory_of(ok, 4, 256, Work::Training, &c, Some(24 * GIB)).unwrap();
        // memory unknown: not checked
        fits_memory_of(ok, 4096, 8192, Work::Training, &c, None).unwrap();
    }

    #[test]
    fn a_generation_batch_is_bounded_by_its_kv_cache() {
        // by hand: 4096 rows × 8001 positions: KV cache 30 · 2 · 4096 · 3 · 8001 · 64 · 4 B
        // = 1,510,138,183,680 B ≈ 1.37 TiB; logits of one position 4096 · 49152 · 4 B
        // = 768 MiB; scores 4096 · 9 · 8000 · 8001 · 4 B ≈ 8.6 TiB (the prompt at once)
        let c = smollm2();
        let e = estimate(&c, 4096, 8001, Work::Generation { prefill: 8000 });
        assert_eq!(e.kv_cache, 1_510_138_183_680.0);
        assert_eq!(e.logits, 768.0 * 2f64.powi(20));
        assert_eq!(e.scores, 4096.0 * 9.0 * 8000.0 * 8001.0 * 4.0);
        let settings = [("batch", 4096), ("prompt_len + new_tokens", 8001)];
        let work = Work::Generation { prefill: 8000 };
        let err = fits_memory_of(&settings, 4096, 8001, work, &c, Some(24 * GIB)).unwrap_err();
        assert!(
            err.to_string().contains(
                "for one layer's attention scores alone, 9 heads), more than this machine's \
                 24.0 GiB (MemTotal): lower batch or prompt_len + new_tokens"
            ),
            "{err}"
        );
        // in chunks of 256 the cache is the largest: three settings listed
        let settings = [("batch_prompts", 4096), ("n", 1), ("max_new_tokens", 8000)];
        let work = Work::Generation { prefill: 256 };
        let err = fits_memory_of(&settings, 4096, 8001, work, &c, Some(24 * GIB)).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "batch_prompts 4096 × n 1 × max_new_tokens 8000 needs about 1.6 TiB of working \
                 memory (1.4 TiB for the KV cache alone, 30 layers × 3 KV heads × 64 per head)"
            ),
            "{err}"
        );
        assert!(
            err.to_string()
                .ends_with("lower batch_prompts, n or max_new_tokens")
        );
    }

    #[test]
    fn bytes_are_printed_in_binary_units() {
        assert_eq!(human_bytes(512.0), "512 B");
        assert_eq!(human_bytes(1536.0), "1.5 KiB");
        assert_eq!(human_bytes(23.4 * GIB as f64), "23.4 GiB");
        assert_eq!(human_bytes(6.0 * 2f64.powi(40)), "6.0 TiB");
    }

    #[test]
    fn the_machine_memory_is_read_where_linux_reports_it() {
        if std::path::Path::new("/proc/meminfo").exists() {
            assert!(machine_memory().unwrap() > 0);
        }
    }
}
