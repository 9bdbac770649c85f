//! `halt-llm serve` test helpers: start the server on a free port, send raw or JSON
//! requests, read event streams, and run `halt-llm generate` for the expected answers.
#![allow(dead_code)] // each test file uses some of them

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_halt-llm");
pub const KEY: &str = "test-key-123";

pub fn tiny_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama/hf")
}

/// A running server; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `halt-llm serve` on a free port with `extra` flags and the API key in the
/// environment; waits for its "listening on" line.
pub fn start(extra: &[&str]) -> Server {
    start_model(&tiny_model().display().to_string(), extra)
}

/// [`start`] with another model (`default`: SmolLM2-135M-Instruct).
pub fn start_model(model: &str, extra: &[&str]) -> Server {
    let mut flags = vec!["--api-key-env", "HALT_TEST_KEY"];
    flags.extend_from_slice(extra);
    spawn(model, &flags)
}

/// `halt-llm serve --model MODEL --port 0 FLAGS`, once it listens.
pub fn spawn(model: &str, flags: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .args(["serve", "--model", model])
        .args(["--port", "0"])
        .args(flags)
        .env("HALT_TEST_KEY", KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(addr) = line.strip_prefix("serve: listening on ") {
            break addr.to_string();
        }
    };
    // keep draining stderr so the server never blocks on a full pipe
    std::thread::spawn(move || for _ in lines {});
    Server { child, base }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(120)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// POSTs `body` (raw bytes) to `path`, with the key unless `key` is `None`; returns the
/// status and the body text.
pub fn post_raw(base: &str, path: &str, body: &[u8], key: Option<&str>) -> (u16, String) {
    let mut req = agent()
        .post(format!("{base}{path}"))
        .header("Content-Type", "application/json");
    if let Some(k) = key {
        req = req.header("Authorization", &format!("Bearer {k}"));
    }
    let mut resp = req.send(body).unwrap();
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_to_string().unwrap())
}

pub fn chat(base: &str, body: &Value) -> (u16, Value) {
    let (status, text) = post_raw(
        base,
        "/v1/chat/completions",
        body.to_string().as_bytes(),
        Some(KEY),
    );
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

/// The `data:` payloads of a server-sent event stream.
pub fn sse_events(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: ").or_else(|| l.strip_prefix("data:")))
        .map(str::to_string)
        .collect()
}

/// `halt-llm generate` on `prompts` (one line each, one batch) with the tiny model: the
/// responses.
pub fn generate(prompts: &[&str], seed: u64, temperature: f32, max_tokens: usize) -> Vec<String> {
    generate_with(
        &tiny_model().display().to_string(),
        prompts,
        seed,
        temperature,
        max_tokens,
    )
}

/// [`generate`] with another model.
pub fn generate_with(
    model: &str,
    prompts: &[&str],
    seed: u64,
    temperature: f32,
    max_tokens: usize,
) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prompts.txt");
    std::fs::write(&file, prompts.join("\n") + "\n").unwrap();
    let out = Command::new(BIN)
        .args(["generate", "--model", model])
        .arg("--prompts")
        .arg(&file)
        .args(["--seed", &seed.to_string()])
        .args(["--temperature", &temperature.to_string()])
        .args(["--max-new-tokens", &max_tokens.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["response"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

pub fn request(prompt: &str, extra: Value) -> Value {
    let mut body = json!({"model": "tiny", "messages": [{"role": "user", "content": prompt}]});
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}
