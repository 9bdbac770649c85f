//! The two shapes of a chat-completions answer: one JSON `chat.completion` once every choice
//! has finished, or server-sent events as the text arrives (see [`super`]).

use std::convert::Infallible;

use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedReceiver;

use super::api::{HaltInfo, Usage, finish_reason};
use super::engine::Event;
use super::routes::error;
use crate::generate::FinishReason;

/// What every response of one request repeats.
pub(super) struct Head {
    pub(super) id: String,
    pub(super) created: u64,
    pub(super) model: String,
    pub(super) marker: String,
    pub(super) prompt_tokens: usize,
    pub(super) choices: usize,
}

pub(super) fn unix_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Waits for every choice and answers with one `chat.completion`.
pub(super) async fn json_response(
    head: Head,
    mut rx: UnboundedReceiver<(usize, Event)>,
) -> Response {
    let mut texts = vec![String::new(); head.choices];
    let mut finishes: Vec<Option<FinishReason>> = vec![None; head.choices];
    let mut completion = 0;
    while let Some((i, event)) = rx.recv().await {
        match event {
            Event::Text(t) => texts[i].push_str(&t),
            Event::Done {
                finish,
                completion_tokens,
                ..
            } => {
                finishes[i] = Some(finish);
                completion += completion_tokens;
            }
            Event::Failed(m) => {
                return error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "generation_failed",
                    m,
                );
            }
        }
    }
    let choices: Vec<Value> = texts
        .iter()
        .zip(&finishes)
        .enumerate()
        .map(|(i, (text, f))| {
            json!({
                "index": i,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason(f.unwrap_or(FinishReason::Length)),
                "logprobs": null,
                "halt": HaltInfo::of(text, &head.marker),
            })
        })
        .collect();
    axum::Json(json!({
        "id": head.id,
        "object": "chat.completion",
        "created": head.created,
        "model": head.model,
        "choices": choices,
        "usage": usage(head.prompt_tokens, completion),
    }))
    .into_response()
}

fn usage(prompt_tokens: usize, completion_tokens: usize) -> Usage {
    Usage {
        prompt_tokens,
        completion_tokens,
        total_tokens: prompt_tokens + completion_tokens,
    }
}

/// Answers with server-sent events: per choice a role chunk, content chunks as text arrives,
/// a last chunk with `finish_reason` and `halt`; then the usage chunk when asked, then
/// `[DONE]`. A client that goes away drops the stream, which cancels its choices.
pub(super) fn stream_response(
    head: Head,
    mut rx: UnboundedReceiver<(usize, Event)>,
    include_usage: bool,
) -> Response {
    let (out, events) = tokio::sync::mpsc::channel::<Result<SseEvent, Infallible>>(64);
    tokio::spawn(async move {
        let chunk = |choice: Value| {
            let mut c = json!({
                "id": head.id,
                "object": "chat.completion.chunk",
                "created": head.created,
                "model": head.model,
                "choices": [choice],
            });
            if include_usage {
                c["usage"] = Value::Null;
            }
            SseEvent::default().data(c.to_string())
        };
        for i in 0..head.choices {
            let role = json!({"index": i, "delta": {"role": "assistant", "content": ""},
                              "logprobs": null, "finish_reason": null});
            if out.send(Ok(chunk(role))).await.is_err() {
                return;
            }
        }
        let mut texts = vec![String::new(); head.choices];
        let mut completion = 0;
        while let Some((i, event)) = rx.recv().await {
            let c = match event {
                Event::Text(t) => {
                    texts[i].push_str(&t);
                    json!({"index": i, "delta": {"content": t}, "logprobs": null,
                           "finish_reason": null})
                }
                Event::Done {
                    finish,
                    completion_tokens,
                    ..
                } => {
                    completion += completion_tokens;
                    json!({"index": i, "delta": {}, "logprobs": null,
                           "finish_reason": finish_reason(finish),
                           "halt": HaltInfo::of(&texts[i], &head.marker)})
                }
                Event::Failed(m) => {
                    let e = json!({"error": {"message": m, "type": "server_error",
                                             "code": "generation_failed"}});
                    let _ = out.send(Ok(SseEvent::default().data(e.to_string()))).await;
                    return;
                }
            };
            if out.send(Ok(chunk(c))).await.is_err() {
                return; // the client went away: dropping `rx` cancels the choices
            }
        }
        if include_usage {
            let u = json!({
                "id": head.id,
                "object": "chat.completion.chunk",
                "created": head.created,
                "model": head.model,
                "choices": [],
                "usage": usage(head.prompt_tokens, completion),
            });
            if out
                .send(Ok(SseEvent::default().data(u.to_string())))
                .await
                .is_err()
            {
                return;
            }
        }
        let _ = out.send(Ok(SseEvent::default().data("[DONE]"))).await;
    });
    let stream =
        futures_util::stream::unfold(
            events,
            |mut rx| async move { rx.recv().await.map(|e| (e, rx)) },
        );
    Sse::new(stream).into_response()
}
