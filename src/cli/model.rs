//! `--model` / `--device` options shared by the subcommands that load a model, and the
//! commands about a model itself: `bench`, `fetch-model`, `info`, `devices`.

use std::io::Write;

use anyhow::Result;
use clap::Args;
use halt_llm::backend::{self, DeviceChoice};
use halt_llm::model::config::LlamaConfig;
use halt_llm::model::load::{LoadedModel, ModelSource, open_model};
use halt_llm::{bench, fetch};

/// Which model, on which device.
#[derive(Args, Clone)]
pub struct ModelArgs {
    /// `default` (SmolLM2-135M-Instruct, fetched on first use), a GGUF file, or a Hugging
    /// Face folder (config.json + *.safetensors + tokenizer.json).
    #[arg(long, default_value = "default")]
    pub model: String,
    /// Compute device: cpu, wgpu (any GPU vendor) or cuda (builds with those features).
    #[arg(long, default_value = "cpu", env = "HALT_DEVICE")]
    pub device: DeviceChoice,
}

/// How the decode steps of a few sequences read the weights on the CPU
/// ([`halt_llm::model::decode_weights`]).
#[derive(Args, Clone)]
pub struct DecodeArgs {
    /// On the CPU, the decode steps of up to 64 sequences (and the first token's logits of a
    /// few prompts) read copies of the weights made when a generation first needs them:
    /// `auto` (the checkpoint's own Q4_1/Q8_0 blocks where the weights are exactly those, as
    /// in a GGUF not yet finetuned; any other weight in f32: the model's values either way),
    /// `f32`, `bf16` (rounded to bfloat16: half the memory and bytes; logits move by the
    /// rounding; up to 4 sequences) or `off` (no copies, for short one-off answers or tight
    /// memory; the MLP's SiLU then also stays on the backend's element-wise ops). Without
    /// AVX-512: up to 12 sequences for blocks, 4 for f32. Larger products always read the f32
    /// weights.
    #[arg(long, default_value = "auto", value_name = "FORMAT")]
    pub decode_weights: halt_llm::model::decode_weights::WeightFormat,
}

impl DecodeArgs {
    /// Makes the choice the process's ([`halt_llm::model::decode_weights::set_format`]).
    pub fn apply(&self) {
        halt_llm::model::decode_weights::set_format(self.decode_weights);
    }
}

/// Opens the device and loads the model on it ([`open_model`]).
pub fn load(args: &ModelArgs) -> Result<(LoadedModel, burn::tensor::Device)> {
    let device = backend::device(args.device)?;
    let loaded = open_model(args.model.as_str(), &device)?;
    Ok((loaded, device))
}

/// The configuration of the model `args` names, without its weights: enough to check
/// settings against it ([`halt_llm::settings::fits_memory`], the context length) before the
/// model loads.
pub fn config(args: &ModelArgs) -> Result<LlamaConfig> {
    let path = ModelSource::parse(&args.model).resolve()?;
    halt_llm::settings::model_config(&path)
}

/// `writeln!` to stdout that returns an error instead of panicking when stdout is closed
/// (`halt-llm info | head`).
macro_rules! outln {
    ($($t:tt)*) => {
        writeln!(std::io::stdout().lock(), $($t)*)?
    };
}

/// `halt-llm bench`.
#[derive(Args)]
pub struct BenchArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    decode: DecodeArgs,
    /// Sequences per batch.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Prompt length in tokens.
    #[arg(long, default_value_t = 128)]
    prompt_len: usize,
    /// Tokens to decode after the prompt.
    #[arg(long, default_value_t = 32)]
    new_tokens: usize,
    /// Repetitions (best is reported).
    #[arg(long, default_value_t = 2)]
    repeats: usize,
}

/// Runs `halt-llm bench`: one readable line, then the report as JSON.
pub fn bench(a: BenchArgs) -> Result<()> {
    a.decode.apply();
    let cfg = bench::BenchConfig {
        batch: a.batch,
        prompt_len: a.prompt_len,
        new_tokens: a.new_tokens,
        repeats: a.repeats,
    };
    cfg.validate(None)?;
    cfg.check_model(&config(&a.model)?)?;
    let (loaded, device) = load(&a.model)?;
    let r = bench::bench_model(&loaded.model, &cfg, &device)?;
    outln!(
        "model {} on {}: batch {}, prompt {} tokens: prefill {:.1} tokens/s; decode {} tokens: {:.1} tokens/s; peak RSS {}",
        loaded.source.display(),
        a.model.device,
        r.batch,
        r.prompt_len,
        r.prefill_tokens_per_s,
        r.new_tokens,
        r.decode_tokens_per_s,
        r.peak_rss_mib
            .map_or("n/a".into(), |m| format!("{m:.0} MiB"))
    );
    outln!("{}", serde_json::to_string(&r)?);
    Ok(())
}

/// Runs `halt-llm fetch-model`: prints where the default model is.
pub fn fetch_model() -> Result<()> {
    let p = fetch::default_model()?;
    outln!("{}", p.display());
    Ok(())
}

/// Runs `halt-llm info`: the model's source, configuration and tokenizer facts.
pub fn info(a: ModelArgs) -> Result<()> {
    let (loaded, _) = load(&a)?;
    outln!("source: {}", loaded.source.display());
    outln!("{}", serde_json::to_string_pretty(&loaded.model.config)?);
    outln!("tokenizer: {:?}", loaded.tokenizer);
    Ok(())
}

/// Runs `halt-llm devices`: each compiled backend, available or why not.
pub fn devices() -> Result<()> {
    for d in backend::compiled_devices() {
        let status = match backend::device(d) {
            Ok(_) => "available".to_string(),
            Err(e) => format!(
                "unavailable: {}",
                e.to_string().lines().next().unwrap_or("")
            ),
        };
        outln!("{d}: {status}");
    }
    Ok(())
}
