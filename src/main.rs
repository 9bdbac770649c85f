//! `halt-llm`: command-line interface. Parses arguments, then calls the library.

use std::io::{BufRead, Write};
use std::path::PathBuf;

mod cli;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use cli::model::{ModelArgs, load};
use halt_llm::backend;
use halt_llm::chat::Message;
use halt_llm::generate::{SamplingConfig, generate};
use halt_llm::model::load::LoadedModel;
use halt_llm::{bench, fetch};

/// HALT (High Accuracy, Less Talk): capability-aligned finetuning of Llama models on burn.
#[derive(Parser)]
#[command(name = "halt-llm", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The whole HALT pipeline (sample, judge, align per α and baseline, finetune, evaluate,
    /// report) in one resumable run folder; with no arguments, the embedded default.
    Run(cli::run::RunArgs),
    /// Chat with a model: one answer to PROMPT, or an interactive session without it.
    Chat(ChatArgs),
    /// Generate answers for many prompts in batches (one JSON line per prompt).
    Generate(GenerateArgs),
    /// Measure prefill/decode tokens per second and peak memory.
    Bench(BenchArgs),
    /// Download and verify the default model (SmolLM2-135M-Instruct) into models/cache.
    FetchModel,
    /// Print a model's configuration and tokenizer facts.
    Info(ModelArgs),
    /// Print the next-token top-k logits after a prompt (to check a model against a reference
    /// implementation).
    Logits(cli::logits::LogitsArgs),
    /// List the devices this build can use.
    Devices,
    /// HALT stage 1: N few-shot responses of the pretrained model per training example.
    Sample(cli::dataset::SampleArgs),
    /// Split text from stdin into fragments (claims, facts, steps or lines), printed as JSON.
    Fragment(cli::dataset::FragmentArgs),
    /// HALT stage 2: fragment and judge every sampled response against the ground truth.
    Judge(cli::dataset::JudgeArgs),
    /// HALT stage 3: select a response by α and build the finetuning target.
    Align(cli::dataset::AlignArgs),
    /// HALT stage 4: finetune on aligned records (completion-only loss, AdamW, checkpoints,
    /// optional LoRA); writes a Hugging Face folder.
    Train(cli::train::TrainArgs),
    /// Measure training tokens/s and peak memory (full finetuning or LoRA).
    BenchTrain(cli::train::BenchTrainArgs),
    /// Evaluate a model on test prompts: answers judged like the training data, metrics
    /// with bootstrap intervals, report.md and a correctness/completeness plot.
    Eval(cli::eval::EvalArgs),
}

#[derive(Args, Clone)]
struct SamplingArgs {
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
        halt_llm::settings::at_least("max_new_tokens", self.max_new_tokens, 1)?;
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

#[derive(Args)]
struct ChatArgs {
    #[command(flatten)]
    model: ModelArgs,
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

#[derive(Args)]
struct GenerateArgs {
    #[command(flatten)]
    model: ModelArgs,
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

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    model: ModelArgs,
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

fn chat(args: ChatArgs) -> Result<()> {
    let cfg = args.sampling.config()?;
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

fn generate_cmd(args: GenerateArgs) -> Result<()> {
    let text = if args.prompts.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(&args.prompts)
            .with_context(|| format!("reading {}", args.prompts.display()))?
    };
    let prompts: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let cfg = args.sampling.config()?;
    halt_llm::settings::at_least("batch_size", args.batch_size, 1)?;
    let (loaded, device) = load(&args.model)?;
    let mut out = std::io::stdout().lock();
    for (b, chunk) in prompts.chunks(args.batch_size).enumerate() {
        let ids = chunk
            .iter()
            .map(|p| encode(&loaded, None, p, args.raw))
            .collect::<Result<Vec<_>>>()?;
        let cfg = SamplingConfig {
            seed: cfg.seed.wrapping_add((b * args.batch_size) as u64),
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

/// `println!` that returns an error instead of panicking when stdout is closed.
macro_rules! outln {
    ($($t:tt)*) => {
        writeln!(std::io::stdout().lock(), $($t)*)?
    };
}

fn main() {
    // A failing backend thread must end the command, never leave it waiting (issue 14).
    halt_llm::background_panic::exit_on_background_panic();
    if let Err(e) = run(Cli::parse()) {
        // A closed pipe (`halt-llm info | head`) is not an error worth reporting.
        let broken_pipe = e
            .chain()
            .filter_map(|c| c.downcast_ref::<std::io::Error>())
            .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe);
        if !broken_pipe {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Chat(a) => chat(a),
        Command::Generate(a) => generate_cmd(a),
        Command::Sample(a) => cli::dataset::sample(a),
        Command::Fragment(a) => cli::dataset::fragment(a),
        Command::Judge(a) => cli::dataset::judge(a),
        Command::Align(a) => cli::dataset::align(a),
        Command::Train(a) => cli::train::run(a),
        Command::Run(a) => cli::run::run(a),
        Command::BenchTrain(a) => cli::train::bench(a),
        Command::Eval(a) => cli::eval::eval(a),
        Command::Logits(a) => cli::logits::logits(a),
        Command::Bench(a) => {
            let cfg = bench::BenchConfig {
                batch: a.batch,
                prompt_len: a.prompt_len,
                new_tokens: a.new_tokens,
                repeats: a.repeats,
            };
            cfg.validate(None)?;
            let (loaded, device) = load(&a.model)?;
            let r = bench::run(&loaded.model, &cfg, &device)?;
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
        Command::FetchModel => {
            let p = fetch::default_model()?;
            outln!("{}", p.display());
            Ok(())
        }
        Command::Info(a) => {
            let (loaded, _) = load(&a)?;
            outln!("source: {}", loaded.source.display());
            outln!("{}", serde_json::to_string_pretty(&loaded.model.config)?);
            outln!("tokenizer: {:?}", loaded.tokenizer);
            Ok(())
        }
        Command::Devices => {
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
    }
}
