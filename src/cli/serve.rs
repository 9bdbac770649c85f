//! `halt-llm serve`: the OpenAI-compatible server ([`halt_llm::serve`]).

use std::net::{IpAddr, SocketAddr};

use anyhow::{Context, Result, bail};
use clap::Args;
use halt_llm::serve::{ServeConfig, serve};

use super::model::{ModelArgs, load};

/// `halt-llm serve`.
#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    decode: super::model::DecodeArgs,
    /// Address to listen on (127.0.0.1: this machine only; 0.0.0.0: every interface).
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port (0: any free port; the address is printed on standard error).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Environment variable holding the API key that every request must send as
    /// `Authorization: Bearer <key>` (without it, no authentication).
    #[arg(long, value_name = "VAR")]
    api_key_env: Option<String>,
    /// Most sequences decoded at once (continuous batching).
    #[arg(long, default_value_t = 16)]
    max_batch: usize,
    /// Most sequences waiting beyond the batch; more requests get 429.
    #[arg(long, default_value_t = 64)]
    max_queue: usize,
    /// Largest request body in bytes (413 above).
    #[arg(long, default_value_t = 1 << 20)]
    max_body_bytes: usize,
    /// `max_tokens` of a request that gives none.
    #[arg(long, default_value_t = 256)]
    default_max_tokens: usize,
    /// Most choices per request (`n`).
    #[arg(long, default_value_t = 8)]
    max_n: usize,
    /// The abstention marker: generation ends at it, and responses report it.
    #[arg(long, default_value = halt_llm::dataset::record::UNSURE_MARKER)]
    marker: String,
    /// Most connections open at once; further clients wait to be accepted. A client has 10 s
    /// to send its headers and 30 s for its body.
    #[arg(long, default_value_t = 256)]
    max_connections: usize,
}

/// Runs `halt-llm serve` until the process is stopped.
pub fn serve_cmd(args: ServeArgs) -> Result<()> {
    args.decode.apply();
    halt_llm::settings::count("max-batch", args.max_batch, 1)?;
    halt_llm::settings::count("max-n", args.max_n, 1)?;
    halt_llm::settings::count("default-max-tokens", args.default_max_tokens, 1)?;
    halt_llm::settings::count("max-connections", args.max_connections, 1)?;
    if args.max_batch > 1024 || args.max_n > 128 || args.max_queue > 1 << 20 {
        bail!("--max-batch (≤ 1024), --max-n (≤ 128) or --max-queue (≤ 2^20) is too large");
    }
    if args.max_body_bytes < 1024 {
        bail!("--max-body-bytes must be at least 1024");
    }
    let api_key = match &args.api_key_env {
        None => None,
        Some(var) => {
            let key = std::env::var(var)
                .with_context(|| format!("--api-key-env {var}: the variable is not set"))?;
            if key.trim().is_empty() {
                bail!("--api-key-env {var}: the variable is empty");
            }
            // HTTP trims header values, so such a key could never be sent.
            if key.trim() != key || key.chars().any(char::is_control) {
                bail!(
                    "--api-key-env {var}: the key has leading or trailing spaces or control \
                     characters, which no client can send in a header"
                );
            }
            Some(key)
        }
    };
    let (loaded, device) = load(&args.model)?;
    serve(
        loaded,
        device,
        ServeConfig {
            addr: SocketAddr::new(args.host, args.port),
            api_key,
            max_batch: args.max_batch,
            max_queue: args.max_queue,
            max_body_bytes: args.max_body_bytes,
            default_max_tokens: args.default_max_tokens,
            max_n: args.max_n,
            marker: args.marker,
            max_connections: args.max_connections,
        },
    )
}
