//! `halt-llm chat` and `halt-llm generate`: answers of a model to prompts, one at a time on a
//! terminal or many in batches as JSON lines.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use halt_llm::chat::Message;
use halt_llm::generate::{SamplingConfig, batch_seed, generate};
use halt_llm::model::load::LoadedModel;

use super::model::{ModelArgs, load};

/// Sampling flags shared by `chat` and `generate`.
#[derive(Args, Clone)]
pub struct SamplingArgs {
    /// Softmax temperature; 0 = greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Nucleus sampling mass.
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    /// Random seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Maximum new tokens per answer.
    #[arg(long, default_value_t = 256)]
    max_new_tokens: usize,
    /// Stop when the answer contains this string (repeatable).
    #[arg(long = "stop")]
    stop: Vec<String>,
}

impl SamplingArgs {
    /// The sampling settings, checked with the shared rules.
    fn config(&self) -> Result<SamplingConfig> {
        halt_llm::settings::tokens("max_new_tokens", self.max_new_tokens, 1)?;
        let cfg = SamplingConfig {
            max_new_tokens: self.max_new_tokens,
            temperature: self.temperature,
            top_p: self.top_p,
            seed: self.seed,
            stop_strings: self.stop.clone(),
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// `halt-llm chat`.
#[derive(Args)]
pub struct ChatArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    decode: super::model::DecodeArgs,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// System prompt (default: the chat template's own, if any).
    #[arg(long)]
    system: Option<String>,
    /// Treat the prompt as raw text (no chat template), e.g. for a base model.
    #[arg(long)]
    raw: bool,
    /// The message; without it, read messages from stdin (one per line).
    prompt: Vec<String>,
}

/// `halt-llm generate`.
#[derive(Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    decode: super::model::DecodeArgs,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// Text file with one prompt per line (`-` for stdin).
    #[arg(long)]
    prompts: PathBuf,
    /// Prompts per batch.
    #[arg(long, default_value_t = 8)]
    batch_size: usize,
    /// Treat prompts as raw text (no chat template).
    #[arg(long)]
    raw: bool,
}

fn encode(loaded: &LoadedModel, system: Option<&str>, text: &str, raw: bool) -> Result<Vec<u32>> {
    if raw {
        return loaded.tokenizer.encode(text);
    }
    let mut msgs = Vec::new();
    if let Some(s) = system {
        msgs.push(Message::system(s));
    }
    msgs.push(Message::user(text));
    loaded.tokenizer.encode_chat(&msgs, true)
}

/// The model's configuration, after checking `max_new_tokens` against its context (before
/// any weights are loaded).
fn budget_fits(
    model: &super::model::ModelArgs,
    max_new_tokens: usize,
) -> Result<halt_llm::model::config::LlamaConfig> {
    let config = super::model::config(model)?;
    halt_llm::settings::new_tokens(
        "max_new_tokens",
        max_new_tokens,
        config.max_position_embeddings,
    )?;
    Ok(config)
}

/// Runs `halt-llm chat`.
pub fn chat(args: ChatArgs) -> Result<()> {
    args.decode.apply();
    let cfg = args.sampling.config()?;
    budget_fits(&args.model, cfg.max_new_tokens)?;
    let (loaded, device) = load(&args.model)?;
    let answer = |prompt: &str| -> Result<()> {
        let ids = encode(&loaded, args.system.as_deref(), prompt, args.raw)?;
        let mut out = std::io::stdout().lock();
        generate(
            &loaded.model,
            &loaded.tokenizer,
            &[ids],
            &cfg,
            |_, piece| {
                let _ = out.write_all(piece.as_bytes());
                let _ = out.flush();
            },
            &device,
        )?;
        writeln!(out)?;
        Ok(())
    };
    if !args.prompt.is_empty() {
        return answer(&args.prompt.join(" "));
    }
    let stdin = std::io::stdin();
    eprintln!("Type a message and press Enter (Ctrl-D to quit).");
    for line in stdin.lock().lines() {
        let line = line?;
        if !line.trim().is_empty() {
            answer(&line)?;
        }
    }
    Ok(())
}

/// Runs `halt-llm generate`: one JSON line `{"prompt", "response", "finish"}` per prompt.
pub fn generate_cmd(args: GenerateArgs) -> Result<()> {
    args.decode.apply();
    let cfg = args.sampling.config()?;
    halt_llm::settings::batch("batch_size", args.batch_size)?;
    let text = if args.prompts.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(&args.prompts)
            .with_context(|| format!("reading {}", args.prompts.display()))?
    };
    let prompts: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let model = budget_fits(&args.model, cfg.max_new_tokens)?;
    halt_llm::settings::fits_generation(
        "",
        ("batch_size", args.batch_size),
        None,
        cfg.max_new_tokens,
        Some(prompts.len()),
        halt_llm::generate::PREFILL_CHUNK,
        &model,
    )?;
    let (loaded, device) = load(&args.model)?;
    let mut out = std::io::stdout().lock();
    for (b, chunk) in prompts.chunks(args.batch_size).enumerate() {
        let ids = chunk
            .iter()
            .map(|p| encode(&loaded, None, p, args.raw))
            .collect::<Result<Vec<_>>>()?;
        let cfg = SamplingConfig {
            seed: batch_seed(cfg.seed, b, args.batch_size),
            ..cfg.clone()
        };
        let gens = generate(
            &loaded.model,
            &loaded.tokenizer,
            &ids,
            &cfg,
            |_, _| {},
            &device,
        )?;
        for (p, g) in chunk.iter().zip(gens) {
            let line = serde_json::json!({"prompt": p, "response": g.text, "finish": g.finish});
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}
