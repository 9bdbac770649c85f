//! `halt-llm serve`: an OpenAI-compatible HTTP server for a (HALT-finetuned) model, on axum and
//! tokio.
//!
//! - `POST /v1/chat/completions`: JSON, or server-sent events with `"stream": true`
//!   ([`api`] has the fields honoured); every choice carries HALT's extra field `halt`
//!   ([`api::HaltInfo`]): whether the answer stopped at the abstention marker, fully or
//!   partially, and the text before it. Generation ends at the marker (kept in the text);
//!   `finish_reason` stays `stop` or `length`.
//! - `GET /v1/models`, `GET /health`.
//!
//! Generation runs on one model thread with continuous batching ([`engine`]): a request that
//! arrives while others decode joins them at the next step. The async runtime never runs
//! tensor work. The queue is bounded (429 when full); with an API key, requests without the
//! bearer key get 401; bodies and token budgets are bounded (413, 400); every error is
//! OpenAI-style JSON (`{"error": {"message", "type", "code"}}`). Slow clients are cut off and
//! open connections are bounded ([`listen`]). It binds 127.0.0.1 unless told otherwise.

pub mod api;
pub mod engine;
pub mod held_back;
pub mod listen;
mod responses;
mod routes;
mod row;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};

use crate::model::load::LoadedModel;
pub use engine::Engine;

/// Settings of `halt-llm serve`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    /// Address to bind (`127.0.0.1:8080`; port 0 picks a free one, printed at start).
    pub addr: SocketAddr,
    /// The bearer key every request must carry (`None`: no authentication).
    pub api_key: Option<String>,
    /// Most sequences decoded at once (one batch).
    pub max_batch: usize,
    /// Most requests' choices waiting beyond the batch; more get 429.
    pub max_queue: usize,
    /// Largest request body, in bytes (413 above).
    pub max_body_bytes: usize,
    /// `max_tokens` when a request gives none.
    pub default_max_tokens: usize,
    /// Most choices per request (`n`).
    pub max_n: usize,
    /// The abstention marker watched for.
    pub marker: String,
    /// Most connections open at once ([`listen`]); more clients wait to be accepted.
    pub max_connections: usize,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            api_key: None,
            max_batch: 16,
            max_queue: 64,
            max_body_bytes: 1 << 20,
            default_max_tokens: 256,
            max_n: 8,
            marker: crate::dataset::record::UNSURE_MARKER.to_string(),
            max_connections: 256,
        }
    }
}

/// Serves `loaded` on `device` until the process is stopped. Prints `serve: listening on
/// http://ADDR` on standard error once the socket is bound.
///
/// # Errors
/// The address cannot be bound; the runtime cannot start.
pub fn serve(loaded: LoadedModel, device: burn::tensor::Device, config: ServeConfig) -> Result<()> {
    let name = model_name(&loaded.source);
    let context = loaded.model.config.max_position_embeddings;
    let tokenizer = loaded.tokenizer.clone();
    let engine = Engine::start(
        loaded.model,
        loaded.tokenizer,
        device,
        config.max_batch,
        config.max_queue,
    );
    let state = Arc::new(routes::State {
        engine,
        tokenizer,
        name,
        context,
        config: config.clone(),
        next_id: Default::default(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("binding {}", config.addr))?;
        let local = listener.local_addr()?;
        eprintln!("serve: listening on http://{local}");
        listen::accept_loop(listener, routes::router(state), config.max_connections).await;
        Ok(())
    })
}

/// The name the server reports for its model: the file stem or folder name; for a run's
/// `models/<variant>/model/` folder, the variant (`halt-0.6`).
fn model_name(source: &std::path::Path) -> String {
    let stem = if source.is_dir() {
        match source.file_name() {
            Some(n) if n == "model" => source.parent().and_then(|p| p.file_name()).or(Some(n)),
            n => n,
        }
    } else {
        source.file_stem()
    };
    stem.map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::model_name;
    use std::path::Path;

    #[test]
    fn models_are_named_after_their_file_or_run_variant() {
        assert_eq!(model_name(Path::new("m/SmolLM2.Q4_1.gguf")), "SmolLM2.Q4_1");
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("models/halt-0.6/model");
        std::fs::create_dir_all(&model).unwrap();
        assert_eq!(model_name(&model), "halt-0.6");
        assert_eq!(model_name(dir.path().join("models").as_path()), "models");
    }
}
