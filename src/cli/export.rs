//! `halt-llm export`: write a model (a `train` output, a GGUF file, `default`) as a GGUF file
//! for llama.cpp / Ollama, or as a Hugging Face folder.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use halt_llm::train::export::export_hf;
use halt_llm::train::export_gguf::{GgufType, export_gguf};

use super::model::{ModelArgs, load};

/// The format `export` writes.
#[derive(Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    // (no `///` here: variant docs would turn `--help` into clap's long form)
    // one GGUF v3 file in llama.cpp's layout (llama.cpp, Ollama, LM Studio)
    Gguf,
    // a Hugging Face folder (model.safetensors, config.json, tokenizer files)
    Hf,
}

/// `halt-llm export`.
#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// Output format: gguf (one file in llama.cpp's layout, for llama.cpp, Ollama, LM Studio)
    /// or hf (a Hugging Face folder: model.safetensors, config.json, tokenizer files).
    #[arg(long, value_enum, default_value = "gguf")]
    to: ExportFormat,
    /// Where to write: a `.gguf` file, or a folder for `--to hf` (an existing one is replaced
    /// only if it holds nothing but an earlier export).
    #[arg(long)]
    out: PathBuf,
    /// GGUF weight type: f32, f16 or q8_0 (norms stay f32).
    #[arg(long = "type", value_name = "TYPE", default_value = "f16")]
    ty: GgufType,
    /// `general.name` of a GGUF export (default: the output file's stem).
    #[arg(long)]
    name: Option<String>,
}

/// Loads the model and writes it.
pub fn export(args: ExportArgs) -> Result<()> {
    if matches!(args.to, ExportFormat::Gguf)
        && args
            .out
            .extension()
            .is_none_or(|e| !e.eq_ignore_ascii_case("gguf"))
    {
        bail!(
            "--out {}: the file name should end in .gguf (e.g. model.gguf) for --to gguf",
            args.out.display()
        );
    }
    let (loaded, _device) = load(&args.model)?;
    match args.to {
        ExportFormat::Gguf => {
            let name = args.name.clone().unwrap_or_else(|| {
                args.out
                    .file_stem()
                    .map_or("model".into(), |s| s.to_string_lossy().into_owned())
            });
            let n = export_gguf(
                &loaded.model,
                &loaded.tokenizer,
                &args.out,
                args.ty,
                &name,
                Some(&loaded.source),
            )?;
            eprintln!(
                "wrote {} ({n} tensors, {}; llama.cpp: llama-cli -m {} -cnv)",
                args.out.display(),
                args.ty,
                args.out.display()
            );
        }
        ExportFormat::Hf => {
            if loaded.source.canonicalize().ok() == args.out.canonicalize().ok()
                && args.out.exists()
            {
                bail!(
                    "--out {} is the model being exported: write to another folder",
                    args.out.display()
                );
            }
            export_hf(&loaded.model, &loaded.tokenizer, &args.out)?;
            eprintln!("wrote {}", args.out.display());
        }
    }
    Ok(())
}
