//! `halt-llm`: command-line interface. Parses arguments, then calls the library.

mod cli;

use anyhow::Result;
use clap::{Parser, Subcommand};
use cli::model::ModelArgs;

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
    Chat(cli::generate::ChatArgs),
    /// Generate answers for many prompts in batches (one JSON line per prompt).
    Generate(cli::generate::GenerateArgs),
    /// Serve a model over an OpenAI-compatible HTTP API (chat completions, streaming,
    /// continuous batching; answers report the HALT marker).
    Serve(cli::serve::ServeArgs),
    /// Measure prefill/decode tokens per second and peak memory.
    Bench(cli::model::BenchArgs),
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
    /// Reference-free labels (agreement across the N samples of a prompt) measured against
    /// the ground-truth judge: AUROC/AUPRC for detecting wrong fragments.
    Agreement(cli::agreement::AgreementArgs),
    /// Write a model (a `train` output, a GGUF file, `default`) as a GGUF file for llama.cpp
    /// and Ollama, or as a Hugging Face folder.
    Export(cli::export::ExportArgs),
}

fn main() {
    // Freed tensor buffers reused, not unmapped and faulted in again (see the module docs).
    halt_llm::allocator::keep_freed_memory();
    // SAFETY: first thing in `main`, before any thread starts
    unsafe { halt_llm::backend::quiet_window_system_probes() };
    // A failing backend thread must end the command, never leave it waiting (issue 14).
    halt_llm::background_panic::exit_on_background_panic();
    let cli = Cli::parse();
    // Every command but `serve` runs its heavy work on this thread: make it a worker of the
    // pool the CPU kernels run on (see `halt_llm::threads`). The server's work runs on its
    // model thread, which joins a pool of its own.
    if !matches!(cli.command, Command::Serve(_)) {
        // An error means the pool already exists; it then stays as it is.
        let _ = halt_llm::threads::join_the_pool();
    }
    if let Err(e) = dispatch(cli) {
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

/// Runs the command `cli` names (each handler is in `src/cli/`).
fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Run(a) => cli::run::run(a),
        Command::Chat(a) => cli::generate::chat(a),
        Command::Generate(a) => cli::generate::generate_cmd(a),
        Command::Serve(a) => cli::serve::serve_cmd(a),
        Command::Bench(a) => cli::model::bench(a),
        Command::FetchModel => cli::model::fetch_model(),
        Command::Info(a) => cli::model::info(a),
        Command::Logits(a) => cli::logits::logits(a),
        Command::Devices => cli::model::devices(),
        Command::Sample(a) => cli::dataset::sample(a),
        Command::Fragment(a) => cli::dataset::fragment(a),
        Command::Judge(a) => cli::dataset::judge(a),
        Command::Align(a) => cli::dataset::align(a),
        Command::Train(a) => cli::train::train_cmd(a),
        Command::BenchTrain(a) => cli::train::bench(a),
        Command::Eval(a) => cli::eval::eval(a),
        Command::Export(a) => cli::export::export(a),
        Command::Agreement(a) => cli::agreement::agreement(a),
    }
}
