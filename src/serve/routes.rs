//! The HTTP side of `halt-llm serve`: routes, authentication, request checks, the JSON
//! response and the server-sent event stream (see [`super`] for the behaviour).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::sync::mpsc::unbounded_channel;

use super::ServeConfig;
use super::api::{ChatRequest, ErrorBody, ErrorDetail};
use super::engine::{Engine, Job, Refused};
use super::responses::{Head, json_response, stream_response, unix_time};
use crate::chat::Message;
use crate::generate::SamplingConfig;
use crate::tokenizer::Tokenizer;

/// What every handler shares.
pub(super) struct State {
    pub(super) engine: Engine,
    pub(super) tokenizer: Tokenizer,
    /// The model's name in responses.
    pub(super) name: String,
    /// The model's context length (prompt + max_tokens must fit).
    pub(super) context: usize,
    pub(super) config: ServeConfig,
    /// Counter for response ids.
    pub(super) next_id: AtomicU64,
}

type Shared = Arc<State>;

/// The routes; unknown paths get a JSON 404.
pub(super) fn router(state: Shared) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route("/health", get(health))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// An OpenAI-style error response.
pub(super) fn error(
    status: StatusCode,
    kind: &str,
    code: &str,
    message: impl Into<String>,
) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            message: message.into(),
            kind: kind.into(),
            code: code.into(),
        },
    };
    (status, axum::Json(body)).into_response()
}

fn bad_request(code: &str, message: impl Into<String>) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request_error",
        code,
        message,
    )
}

async fn not_found(req: Request) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        "not_found",
        format!("no route for {} {}", req.method(), req.uri().path()),
    )
}

async fn method_not_allowed(req: Request) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request_error",
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

/// `None` when the request may pass; a 401 response otherwise. The scheme name `Bearer` is
/// matched in any case (RFC 7235).
fn check_key(state: &State, headers: &HeaderMap) -> Option<Response> {
    let key = state.config.api_key.as_deref()?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, key) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(key)
        });
    match given {
        Some(g) if constant_time_eq(g.as_bytes(), key.as_bytes()) => None,
        _ => Some(error(
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid_api_key",
            "missing or wrong API key (send `Authorization: Bearer <key>`)",
        )),
    }
}

/// Compares without stopping at the first difference (the time does not tell how much of a
/// key was right).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

async fn health(axum::extract::State(state): axum::extract::State<Shared>) -> Response {
    axum::Json(
        json!({"status": "ok", "model": state.name, "load": state.engine.load(),
                      "cancelled": state.engine.cancelled()}),
    )
    .into_response()
}

async fn models(
    axum::extract::State(state): axum::extract::State<Shared>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = check_key(&state, &headers) {
        return r;
    }
    axum::Json(json!({
        "object": "list",
        "data": [{"id": state.name, "object": "model", "created": 0, "owned_by": "halt-llm"}],
    }))
    .into_response()
}

/// A checked request: the prompt and one sampling setting per choice.
struct Plan {
    prompt: Vec<u32>,
    choices: Vec<SamplingConfig>,
    stream: bool,
    include_usage: bool,
}

/// Why a request is refused with 400: the error code and the message.
struct Invalid(&'static str, String);

fn invalid(code: &'static str, message: impl Into<String>) -> Invalid {
    Invalid(code, message.into())
}

/// Checks `req` and turns it into a [`Plan`], or says what is wrong (a 400).
fn plan(state: &State, req: ChatRequest) -> Result<Plan, Invalid> {
    if req.messages.is_empty() {
        return Err(invalid("invalid_messages", "`messages` must not be empty"));
    }
    let mut messages = Vec::with_capacity(req.messages.len());
    for m in &req.messages {
        let text = m.text().map_err(|e| invalid("invalid_content", e))?;
        messages.push(Message::new(&m.role, text));
    }
    let prompt = state.tokenizer.encode_chat(&messages, true).map_err(|e| {
        invalid(
            "invalid_messages",
            format!("rendering the chat template: {e:#}"),
        )
    })?;
    let n = req.n.unwrap_or(1);
    // A request is admitted whole: more choices than the batch and the queue hold together
    // could never be served (a 429 would ask the client to retry in vain).
    let most = state
        .config
        .max_n
        .min(state.config.max_batch + state.config.max_queue);
    if n == 0 || n > most as u64 {
        return Err(invalid(
            "invalid_n",
            format!("`n` must be between 1 and {most} on this server"),
        ));
    }
    let room = state.context.saturating_sub(prompt.len());
    if room == 0 {
        return Err(invalid(
            "context_length_exceeded",
            format!(
                "the prompt has {} tokens: the model's context of {} tokens leaves no room to \
                 answer",
                prompt.len(),
                state.context
            ),
        ));
    }
    let max_tokens = match req.max_completion_tokens.or(req.max_tokens) {
        None => (state.config.default_max_tokens as u64).min(room as u64),
        Some(0) => {
            return Err(invalid(
                "invalid_max_tokens",
                "`max_tokens` must be at least 1",
            ));
        }
        Some(m) => m,
    };
    if max_tokens == 0 || max_tokens > room as u64 {
        return Err(invalid(
            "context_length_exceeded",
            format!(
                "the prompt has {} tokens and max_tokens is {max_tokens}: together more than the \
                 model's context of {} tokens",
                prompt.len(),
                state.context
            ),
        ));
    }
    let temperature = req.temperature.unwrap_or(1.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(invalid(
            "invalid_temperature",
            "`temperature` must be in [0, 2]",
        ));
    }
    let top_p = req.top_p.unwrap_or(1.0);
    if !(top_p > 0.0 && top_p <= 1.0) {
        return Err(invalid("invalid_top_p", "`top_p` must be in (0, 1]"));
    }
    let stop = req.stop.map(|s| s.into_vec()).unwrap_or_default();
    if stop.len() > 4 || stop.iter().any(|s| s.is_empty() || s.len() > 256) {
        return Err(invalid(
            "invalid_stop",
            "`stop` takes at most 4 non-empty strings of at most 256 bytes",
        ));
    }
    let seed = req.seed.unwrap_or_else(rand::random);
    let choices = (0..n)
        .map(|i| SamplingConfig {
            max_new_tokens: max_tokens as usize,
            temperature: temperature as f32,
            top_p: top_p as f32,
            seed: seed.wrapping_add(i),
            stop_strings: stop.clone(),
        })
        .collect();
    Ok(Plan {
        prompt,
        choices,
        stream: req.stream.unwrap_or(false),
        include_usage: req.stream_options.is_some_and(|o| o.include_usage),
    })
}

async fn chat_completions(
    axum::extract::State(state): axum::extract::State<Shared>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(r) = check_key(&state, &headers) {
        return r;
    }
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "body_too_large",
            format!(
                "the request body is larger than {} bytes",
                state.config.max_body_bytes
            ),
        )
    };
    // A declared length over the limit is refused before any of the body is waited for.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.config.max_body_bytes as u64) {
        return too_large();
    }
    let read = to_bytes(body, state.config.max_body_bytes);
    let bytes = match tokio::time::timeout(super::listen::BODY_TIMEOUT, read).await {
        Ok(Ok(b)) => b,
        Ok(Err(_)) => return too_large(),
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request_error",
                "request_timeout",
                format!(
                    "the request body did not arrive within {} s",
                    super::listen::BODY_TIMEOUT.as_secs()
                ),
            );
        }
    };
    let req: ChatRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return bad_request(
                "invalid_json",
                format!("the body is not a chat request: {e}"),
            );
        }
    };
    // Rendering and tokenizing is host work of a few milliseconds: off the async workers.
    let planned = {
        let state = state.clone();
        tokio::task::spawn_blocking(move || plan(&state, req)).await
    };
    let plan = match planned {
        Ok(Ok(p)) => p,
        Ok(Err(Invalid(code, message))) => return bad_request(code, message),
        Err(e) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal",
                format!("{e}"),
            );
        }
    };
    let (tx, rx) = unbounded_channel();
    let jobs = plan
        .choices
        .iter()
        .enumerate()
        .map(|(index, sampling)| Job {
            prompt: plan.prompt.clone(),
            sampling: sampling.clone(),
            marker: Some(state.config.marker.clone()),
            index,
            events: tx.clone(),
        })
        .collect();
    drop(tx);
    match state.engine.submit(jobs) {
        Ok(()) => {}
        Err(Refused::Busy) => {
            return error(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "queue_full",
                "the server's queue is full; retry later",
            );
        }
        Err(Refused::Stopped) => {
            return error(
                StatusCode::SERVICE_UNAVAILABLE,
                "server_error",
                "model_stopped",
                "the model thread has stopped",
            );
        }
    }
    let id = format!("chatcmpl-{}", state.next_id.fetch_add(1, Ordering::Relaxed));
    let head = Head {
        id,
        created: unix_time(),
        model: state.name.clone(),
        marker: state.config.marker.clone(),
        prompt_tokens: plan.prompt.len(),
        choices: plan.choices.len(),
    };
    if plan.stream {
        stream_response(head, rx, plan.include_usage)
    } else {
        json_response(head, rx).await
    }
}
