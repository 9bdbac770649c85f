//! The OpenAI chat-completions wire format that `halt-llm serve` speaks (requests, responses,
//! stream chunks, errors), and HALT's extra field.
//!
//! Request fields honoured: `messages`, `max_tokens` / `max_completion_tokens`, `temperature`,
//! `top_p`, `seed`, `stop` (a string or a list), `n`, `stream`, `stream_options.include_usage`;
//! any other field is accepted and ignored (clients send many). A message's `content` may be a
//! string or a list of `{"type": "text", "text": …}` parts (other parts are refused).

use serde::{Deserialize, Serialize};

use crate::generate::FinishReason;

/// `POST /v1/chat/completions` body.
#[derive(Debug, Clone, Deserialize)]
pub struct ChatRequest {
    /// Ignored: the server has one model (its name is in every response).
    #[serde(default)]
    pub model: Option<String>,
    /// The conversation, rendered with the model's own chat template.
    pub messages: Vec<ChatMessage>,
    /// Most tokens to generate (legacy name).
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// Most tokens to generate (current name; wins over `max_tokens`).
    #[serde(default)]
    pub max_completion_tokens: Option<u64>,
    /// Sampling temperature in [0, 2]; 0 is greedy. Default 1.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass in (0, 1]. Default 1.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// Seed: choice `i` samples with `seed + i` (as `halt-llm generate`). Default: random.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Stop strings (removed from the output).
    #[serde(default)]
    pub stop: Option<Stop>,
    /// Choices to generate. Default 1.
    #[serde(default)]
    pub n: Option<u64>,
    /// Server-sent events instead of one JSON response.
    #[serde(default)]
    pub stream: Option<bool>,
    /// Stream options.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
}

/// `stop`: one string or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    /// One stop string.
    One(String),
    /// Several.
    Many(Vec<String>),
}

impl Stop {
    /// The stop strings as a list.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Stop::One(s) => vec![s],
            Stop::Many(v) => v,
        }
    }
}

/// `stream_options`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StreamOptions {
    /// Send a last chunk with `usage` (and `"usage": null` in the others).
    #[serde(default)]
    pub include_usage: bool,
}

/// One message of `messages`.
#[derive(Debug, Clone, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant`, …
    pub role: String,
    /// The text: a string, a list of text parts, or `null` (empty).
    #[serde(default)]
    pub content: Option<Content>,
}

/// A message's content.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Content parts; only `{"type": "text", "text": …}` is supported.
    Parts(Vec<ContentPart>),
}

/// One content part.
#[derive(Debug, Clone, Deserialize)]
pub struct ContentPart {
    /// Must be `text`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text of a `text` part.
    #[serde(default)]
    pub text: Option<String>,
}

impl ChatMessage {
    /// The message's text (parts joined by newlines).
    ///
    /// # Errors
    /// A part that is not text (its type named).
    pub fn text(&self) -> Result<String, String> {
        match &self.content {
            None => Ok(String::new()),
            Some(Content::Text(t)) => Ok(t.clone()),
            Some(Content::Parts(parts)) => parts
                .iter()
                .map(|p| match (p.kind.as_str(), &p.text) {
                    ("text", Some(t)) => Ok(t.clone()),
                    ("text", None) => Err("a content part of type `text` has no `text`".into()),
                    (kind, _) => Err(format!(
                        "content part of type `{kind}` is not supported (only text)"
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| v.join("\n")),
        }
    }
}

/// HALT's extra field on every choice (`choices[i].halt`): whether the answer stopped at the
/// abstention marker, and the answer without it. Clients that do not know it ignore it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HaltInfo {
    /// The marker the server watches for (`Unsure from Here` by default).
    pub marker: String,
    /// `none` (no marker), `partial` (some text, then the marker) or `full` (only the marker).
    pub abstention: Abstention,
    /// The text before the marker, trimmed (the whole text when there is no marker).
    pub answer: String,
}

/// How much of an answer is an abstention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Abstention {
    /// No marker.
    None,
    /// Text, then the marker.
    Partial,
    /// Only the marker.
    Full,
}

impl HaltInfo {
    /// The HALT reading of `text` for `marker` (the first occurrence counts).
    pub fn of(text: &str, marker: &str) -> HaltInfo {
        let at = (!marker.is_empty()).then(|| text.find(marker)).flatten();
        let (abstention, answer) = match at {
            None => (Abstention::None, text.trim()),
            Some(i) if text[..i].trim().is_empty() => (Abstention::Full, ""),
            Some(i) => (Abstention::Partial, text[..i].trim()),
        };
        HaltInfo {
            marker: marker.to_string(),
            abstention,
            answer: answer.to_string(),
        }
    }
}

/// The `finish_reason` a client knows: `stop` (end of turn, a stop string, the marker) or
/// `length`.
pub fn finish_reason(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Eos | FinishReason::StopString => "stop",
        FinishReason::Length => "length",
    }
}

/// `usage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens (counted once per request, as OpenAI does for `n` > 1).
    pub prompt_tokens: usize,
    /// Generated tokens over all choices (a final end-of-turn token included).
    pub completion_tokens: usize,
    /// The sum.
    pub total_tokens: usize,
}

/// An error body: `{"error": {"message", "type", "code"}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// The error itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// What went wrong, for a person.
    pub message: String,
    /// `invalid_request_error`, `authentication_error`, `rate_limit_error`, `server_error`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A stable code (`invalid_json`, `invalid_api_key`, `body_too_large`, …).
    pub code: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_clients_send_them() {
        let r: ChatRequest = serde_json::from_str(
            r#"{"model": "x", "messages": [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": null}],
                "stop": "END", "n": 2, "stream": true, "stream_options": {"include_usage": true},
                "logprobs": false, "user": "someone", "tools": []}"#,
        )
        .unwrap();
        assert_eq!(r.messages[1].text().unwrap(), "a\nb");
        assert_eq!(r.messages[2].text().unwrap(), "");
        assert_eq!(r.stop.unwrap().into_vec(), vec!["END"]);
        assert!(r.stream_options.unwrap().include_usage);
        let bad: ChatMessage =
            serde_json::from_str(r#"{"role": "user", "content": [{"type": "image_url"}]}"#)
                .unwrap();
        assert!(bad.text().unwrap_err().contains("image_url"));
    }

    #[test]
    fn the_marker_reads_as_full_partial_or_none() {
        let m = "Unsure from Here";
        let h = HaltInfo::of("3 + 4 = 7.\nUnsure from Here", m);
        assert_eq!(
            (h.abstention, h.answer.as_str()),
            (Abstention::Partial, "3 + 4 = 7.")
        );
        let h = HaltInfo::of("  Unsure from Here", m);
        assert_eq!((h.abstention, h.answer.as_str()), (Abstention::Full, ""));
        let h = HaltInfo::of("#### 7", m);
        assert_eq!(
            (h.abstention, h.answer.as_str()),
            (Abstention::None, "#### 7")
        );
        assert_eq!(
            serde_json::to_value(&h).unwrap()["abstention"],
            serde_json::json!("none")
        );
    }
}
