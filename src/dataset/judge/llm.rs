//! The LLM judge: a client for any OpenAI-compatible chat-completions endpoint (vLLM,
//! llama.cpp server, hosted APIs), as the paper used Llama3-405B given the ground truth
//! (paper §"Judge").
//!
//! Two prompts: "judge this claim against this ground truth" ([`LlmJudge::judge_claim`], reply
//! `{"verdict": "correct" | "incorrect" | "unknown"}`) and "find the first wrong step given this
//! reference solution" ([`LlmJudge::first_wrong_step`], reply `{"first_wrong": n | null}`,
//! 1-based). Requests use temperature 0. Transport errors, timeouts, HTTP 429 and 5xx are retried
//! with exponential back-off (`backoff · 2^k`); a malformed reply is an error (not retried: at
//! temperature 0 it would repeat). Parsed replies are cached on disk, one file per request,
//! named by the SHA-256 of (model, system prompt, user prompt).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Settings of the LLM judge.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// The endpoint: a full `.../chat/completions` URL, or a base URL (`http://host:8000/v1`)
    /// to which `/chat/completions` is appended.
    pub url: String,
    /// The model name sent in each request.
    pub model: String,
    /// The environment variable holding the API key (sent as `Authorization: Bearer`), if any.
    pub api_key_env: Option<String>,
    /// Time limit for one request (connect, send, receive).
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Delay before the first retry; doubled after each.
    pub backoff: Duration,
    /// Where verdicts are cached (`None`: no cache).
    pub cache_dir: Option<PathBuf>,
}

impl LlmConfig {
    /// A configuration with defaults: no key, 60 s timeout, 3 retries from 1 s, no cache.
    pub fn new(url: impl Into<String>, model: impl Into<String>) -> Self {
        LlmConfig {
            url: url.into(),
            model: model.into(),
            api_key_env: None,
            timeout: Duration::from_secs(60),
            max_retries: 3,
            backoff: Duration::from_secs(1),
            cache_dir: None,
        }
    }
}

/// What can go wrong talking to the LLM judge.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The configured API-key variable is not set.
    #[error("environment variable {0} (API key of the LLM judge) is not set")]
    MissingKey(String),
    /// The server answered with an error status (after retries, for 429 and 5xx).
    #[error("HTTP {status} from {url}: {body}")]
    Http {
        /// The endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the reply body.
        body: String,
    },
    /// The request failed (connection, timeout), after retries.
    #[error("request to {url} failed: {message}")]
    Transport {
        /// The endpoint.
        url: String,
        /// What failed.
        message: String,
    },
    /// The reply is not a chat completion or not the JSON verdict asked for.
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// The verdict cache could not be written.
    #[error("cache {path}: {source}")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// The LLM judge client (see the module docs).
#[derive(Debug)]
pub struct LlmJudge {
    config: LlmConfig,
    url: String,
    api_key: Option<String>,
    agent: ureq::Agent,
}

const CLAIM_SYSTEM: &str = "You are a strict fact checker. Judge the claim only against the \
ground truth given. Reply with JSON only: {\"verdict\": \"correct\"} if the ground truth supports \
the claim, {\"verdict\": \"incorrect\"} if it contradicts it, {\"verdict\": \"unknown\"} if it \
cannot decide.";

const STEPS_SYSTEM: &str = "You are a strict grader. Given a problem, a reference solution and a \
numbered attempt, find the first step of the attempt that is wrong (a false statement, a wrong \
calculation, or code that makes the solution fail). Reply with JSON only: {\"first_wrong\": N} \
with N the 1-based step number, or {\"first_wrong\": null} if no step is wrong.";

impl LlmJudge {
    /// A client for `config`; reads the API key from its environment variable.
    ///
    /// Errors: [`LlmError::MissingKey`] if `api_key_env` is set but the variable is not.
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        let api_key = match &config.api_key_env {
            Some(var) => Some(std::env::var(var).map_err(|_| LlmError::MissingKey(var.clone()))?),
            None => None,
        };
        let url = if config
            .url
            .trim_end_matches('/')
            .ends_with("/chat/completions")
        {
            config.url.clone()
        } else {
            format!("{}/chat/completions", config.url.trim_end_matches('/'))
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Ok(LlmJudge {
            config,
            url,
            api_key,
            agent,
        })
    }

    /// Whether `claim` is supported (`Some(true)`), contradicted (`Some(false)`) or undecidable
    /// (`None`) by `ground_truth` (free text or JSON facts); `question` gives the context.
    pub fn judge_claim(
        &self,
        question: &str,
        claim: &str,
        ground_truth: &str,
    ) -> Result<Option<bool>, LlmError> {
        let user =
            format!("Question:\n{question}\n\nGround truth:\n{ground_truth}\n\nClaim:\n{claim}");
        self.ask(CLAIM_SYSTEM, &user, |v| {
            match v.get("verdict").and_then(Value::as_str) {
                Some("correct") => Ok(Some(true)),
                Some("incorrect") => Ok(Some(false)),
                Some("unknown") => Ok(None),
                _ => Err(LlmError::Malformed(format!("no verdict in {v}"))),
            }
        })
    }

    /// The 0-based index of the first wrong step of `steps`, or `None` if none is wrong;
    /// `feedback` (e.g. a failing test's output) is shown when not empty.
    pub fn first_wrong_step(
        &self,
        question: &str,
        reference: &str,
        steps: &[&str],
        feedback: &str,
    ) -> Result<Option<usize>, LlmError> {
        let numbered: String = steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {s}\n", i + 1))
            .collect();
        let mut user = format!(
            "Problem:\n{question}\n\nReference solution:\n{reference}\n\nAttempt:\n{numbered}"
        );
        if !feedback.trim().is_empty() {
            user.push_str(&format!("\nTest output of the attempt:\n{feedback}\n"));
        }
        let n = steps.len();
        self.ask(STEPS_SYSTEM, &user, |v| match v.get("first_wrong") {
            Some(Value::Null) => Ok(None),
            Some(x) => match x.as_u64() {
                Some(k) if k >= 1 && (k as usize) <= n => Ok(Some(k as usize - 1)),
                _ => Err(LlmError::Malformed(format!(
                    "first_wrong {x} is not in 1..={n}"
                ))),
            },
            None => Err(LlmError::Malformed(format!("no first_wrong in {v}"))),
        })
    }

    /// Sends one chat request (or reads its cached reply) and parses the JSON in the reply.
    fn ask<T>(
        &self,
        system: &str,
        user: &str,
        parse: impl Fn(&Value) -> Result<T, LlmError>,
    ) -> Result<T, LlmError> {
        let mut hasher = Sha256::new();
        for part in [self.config.model.as_str(), system, user] {
            hasher.update(part.as_bytes());
            hasher.update([0u8]);
        }
        let key: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let cache = self
            .config
            .cache_dir
            .as_ref()
            .map(|d| d.join(format!("{key}.json")));
        if let Some(path) = &cache
            && let Ok(text) = std::fs::read_to_string(path)
            && let Ok(v) = json_in(&text)
            && let Ok(t) = parse(&v)
        {
            return Ok(t);
        }
        let content = self.request(system, user)?;
        let value = json_in(&content)?;
        let verdict = parse(&value)?;
        if let Some(path) = cache {
            let io = |source| LlmError::Cache {
                path: path.clone(),
                source,
            };
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, value.to_string()).map_err(io)?;
            std::fs::rename(&tmp, &path).map_err(io)?;
        }
        Ok(verdict)
    }

    /// POSTs the chat request with retries; returns the first choice's message content.
    fn request(&self, system: &str, user: &str) -> Result<String, LlmError> {
        let body = json!({
            "model": self.config.model,
            "temperature": 0,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        })
        .to_string();
        let mut delay = self.config.backoff;
        let mut attempt = 0;
        loop {
            let result = self.post(&body);
            let retry = match &result {
                Err(LlmError::Transport { .. }) => true,
                Err(LlmError::Http { status, .. }) => *status == 429 || *status >= 500,
                _ => false,
            };
            if !retry || attempt >= self.config.max_retries {
                return result;
            }
            std::thread::sleep(delay);
            delay *= 2;
            attempt += 1;
        }
    }

    fn post(&self, body: &str) -> Result<String, LlmError> {
        let transport = |e: ureq::Error| LlmError::Transport {
            url: self.url.clone(),
            message: e.to_string(),
        };
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        if let Some(key) = &self.api_key {
            req = req.header("Authorization", &format!("Bearer {key}"));
        }
        let mut resp = req.send(body).map_err(transport)?;
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().map_err(transport)?;
        if status != 200 {
            let body = text.chars().take(300).collect();
            return Err(LlmError::Http {
                url: self.url.clone(),
                status,
                body,
            });
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            LlmError::Malformed(format!(
                "not JSON ({e}): {}",
                text.chars().take(200).collect::<String>()
            ))
        })?;
        v.pointer("/choices/0/message/content")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                LlmError::Malformed(format!(
                    "no choices[0].message.content in {}",
                    text.chars().take(200).collect::<String>()
                ))
            })
    }
}

/// The first JSON object in a reply (models often wrap it in prose or a ```json fence).
fn json_in(content: &str) -> Result<Value, LlmError> {
    let (Some(a), Some(b)) = (content.find('{'), content.rfind('}')) else {
        return Err(LlmError::Malformed(format!(
            "no JSON object in `{content}`"
        )));
    };
    if b < a {
        return Err(LlmError::Malformed(format!(
            "no JSON object in `{content}`"
        )));
    }
    serde_json::from_str(&content[a..=b])
        .map_err(|e| LlmError::Malformed(format!("{e} in `{content}`")))
}

#[cfg(test)]
#[path = "llm_tests.rs"]
mod tests;
