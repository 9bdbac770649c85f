//! `halt-llm serve` over real HTTP on 127.0.0.1 with the tiny fixture model: answers (JSON and
//! streamed) equal `halt-llm generate`'s for the same seed, `stop` and the HALT marker,
//! authentication, bounded and malformed bodies, and a client that leaves mid-stream.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;

use common::serve::*;

#[test]
fn answers_equal_generate_as_json_and_as_a_stream() {
    let server = start(&[]);
    let prompt = "what is 2 plus 3?";
    let want = generate(&[prompt, prompt], 7, 0.8, 12);
    // JSON, two choices: seeds 7 and 8, as `generate` gives sequences 0 and 1 of one batch
    let (status, v) = chat(
        &server.base,
        &request(
            prompt,
            json!({"temperature": 0.8, "seed": 7, "max_tokens": 12, "n": 2}),
        ),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["object"], "chat.completion");
    for (i, w) in want.iter().enumerate() {
        assert_eq!(
            v["choices"][i]["message"]["content"],
            json!(w),
            "choice {i}: {v}"
        );
        assert_eq!(v["choices"][i]["halt"]["abstention"], "none");
        assert!(matches!(
            v["choices"][i]["finish_reason"].as_str(),
            Some("stop" | "length")
        ));
    }
    let u = &v["usage"];
    assert_eq!(
        u["total_tokens"].as_u64(),
        Some(u["prompt_tokens"].as_u64().unwrap() + u["completion_tokens"].as_u64().unwrap())
    );
    // streamed: the role first, the deltas add up to the same text, usage, then [DONE]
    let body = request(
        prompt,
        json!({"temperature": 0.8, "seed": 7, "max_tokens": 12, "stream": true,
               "stream_options": {"include_usage": true}}),
    );
    let (status, text) = post_raw(
        &server.base,
        "/v1/chat/completions",
        body.to_string().as_bytes(),
        Some(KEY),
    );
    assert_eq!(status, 200, "{text}");
    let events = sse_events(&text);
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"), "{text}");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let streamed: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(streamed, want[0]);
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["completion_tokens"].as_u64().unwrap() >= 1);
    let last_choice = &chunks[chunks.len() - 2]["choices"][0];
    assert!(last_choice["finish_reason"].is_string(), "{last_choice}");
    assert_eq!(last_choice["halt"]["abstention"], "none");
}

#[test]
fn stop_strings_and_the_marker_end_the_answer() {
    // the greedy answer, then a stop string from its middle and a marker from its middle
    let prompt = "what is 4 plus 1?";
    let full = generate(&[prompt], 0, 0.0, 16).remove(0);
    let chars: Vec<char> = full.chars().collect();
    assert!(
        chars.len() >= 6,
        "the tiny model's answer is long enough: {full:?}"
    );
    let needle: String = chars[chars.len() / 2..chars.len() / 2 + 2].iter().collect();
    let expect_stop = &full[..full.find(&needle).unwrap()];
    let server = start(&["--marker", &needle]);
    let greedy = json!({"temperature": 0, "max_tokens": 16});
    // the marker: generation ends after it, kept, reported as a partial abstention
    let (_, v) = chat(&server.base, &request(prompt, greedy.clone()));
    let content = v["choices"][0]["message"]["content"].as_str().unwrap();
    let at = full.find(&needle).unwrap();
    assert_eq!(content, &full[..at + needle.len()], "{v}");
    let halt = &v["choices"][0]["halt"];
    assert_eq!(halt["marker"], json!(needle));
    if full[..at].trim().is_empty() {
        assert_eq!(halt["abstention"], "full");
    } else {
        assert_eq!(halt["abstention"], "partial");
        assert_eq!(halt["answer"], json!(full[..at].trim()));
    }
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    // a stop string: cut before it, never sent, not even in part while streaming
    let mut body = greedy.clone();
    body["stop"] = json!([needle.clone()]);
    let server = start(&[]);
    let (_, v) = chat(&server.base, &request(prompt, body.clone()));
    assert_eq!(
        v["choices"][0]["message"]["content"],
        json!(expect_stop),
        "{v}"
    );
    body["stream"] = json!(true);
    let (_, text) = post_raw(
        &server.base,
        "/v1/chat/completions",
        request(prompt, body).to_string().as_bytes(),
        Some(KEY),
    );
    let streamed: String = sse_events(&text)
        .iter()
        .filter(|e| *e != "[DONE]")
        .filter_map(|e| {
            serde_json::from_str::<Value>(e).unwrap()["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_string)
        })
        .collect();
    assert_eq!(streamed, expect_stop);
    // a stop string equal to the marker does not hide the abstention: the marker is kept
    let server = start(&["--marker", &needle]);
    let mut body = greedy.clone();
    body["stop"] = json!([needle.clone()]);
    let (_, v) = chat(&server.base, &request(prompt, body));
    assert_eq!(
        v["choices"][0]["message"]["content"].as_str().unwrap(),
        &full[..at + needle.len()],
        "{v}"
    );
    assert_ne!(v["choices"][0]["halt"]["abstention"], "none", "{v}");
}

#[test]
fn keys_limits_and_malformed_requests_get_openai_errors() {
    let server = start(&["--max-body-bytes", "2048"]);
    let ok = request("hi", json!({"max_tokens": 2, "temperature": 0}));
    let body = ok.to_string();
    let code = |status_text: (u16, String)| {
        let v: Value = serde_json::from_str(&status_text.1)
            .unwrap_or_else(|e| panic!("{e}: {}", status_text.1));
        (
            status_text.0,
            v["error"]["code"].as_str().unwrap_or("").to_string(),
            v,
        )
    };
    let path = "/v1/chat/completions";
    let (s, c, _) = code(post_raw(&server.base, path, body.as_bytes(), None));
    assert_eq!((s, c.as_str()), (401, "invalid_api_key"));
    let (s, c, _) = code(post_raw(&server.base, path, body.as_bytes(), Some("wrong")));
    assert_eq!((s, c.as_str()), (401, "invalid_api_key"));
    let (s, _) = post_raw(&server.base, path, body.as_bytes(), Some(KEY));
    assert_eq!(s, 200);
    let big = request(&"x".repeat(4096), json!({}));
    let (s, c, _) = code(post_raw(
        &server.base,
        path,
        big.to_string().as_bytes(),
        Some(KEY),
    ));
    assert_eq!((s, c.as_str()), (413, "body_too_large"));
    for (bad, want) in [
        (&b"{not json"[..], "invalid_json"),
        (br#"{"messages": []}"#, "invalid_messages"),
        (
            br#"{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100000000}"#,
            "context_length_exceeded",
        ),
        (
            br#"{"messages": [{"role": "user", "content": "hi"}], "temperature": 9}"#,
            "invalid_temperature",
        ),
        (
            br#"{"messages": [{"role": "user", "content": "hi"}], "n": 0}"#,
            "invalid_n",
        ),
        (
            br#"{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}"#,
            "invalid_content",
        ),
    ] {
        let (s, c, v) = code(post_raw(&server.base, path, bad, Some(KEY)));
        assert_eq!((s, c.as_str()), (400, want), "{v}");
        assert_eq!(v["error"]["type"], "invalid_request_error");
    }
    // a prompt longer than the tiny model's context of 128 tokens, with no max_tokens
    let long = request(&"x ".repeat(200), json!({}));
    let (s, c, v) = code(post_raw(
        &server.base,
        path,
        long.to_string().as_bytes(),
        Some(KEY),
    ));
    assert_eq!((s, c.as_str()), (400, "context_length_exceeded"), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("leaves no room"),
        "{v}"
    );
    let (s, c, _) = code(post_raw(&server.base, "/v2/nothing", b"{}", Some(KEY)));
    assert_eq!((s, c.as_str()), (404, "not_found"));
    // the models list needs the key; the health check does not
    let mut r = agent()
        .get(format!("{}/v1/models", server.base))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    r = agent()
        .get(format!("{}/v1/models", server.base))
        .header("Authorization", &format!("Bearer {KEY}"))
        .call()
        .unwrap();
    let models: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(models["data"][0]["object"], "model");
    let r = agent()
        .get(format!("{}/health", server.base))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // still serving after all that
    let (s, _) = post_raw(&server.base, path, body.as_bytes(), Some(KEY));
    assert_eq!(s, 200);
}

/// A raw streaming request for a long greedy story (400 tokens: seconds on the default
/// model), sent on its own connection so the test can drop it; nothing read yet.
fn story_stream(base: &str) -> (TcpStream, Vec<u8>) {
    let addr = base.trim_start_matches("http://").to_string();
    let body = request(
        "Write a very long story about a dragon who learns to count.",
        json!({"max_tokens": 400, "stream": true, "temperature": 0}),
    )
    .to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    (s, Vec::new())
}

/// On the default model (decoding a long greedy story takes seconds), so the stream is still
/// running when its client leaves: the server cancels it (counted in `/health`) and answers
/// the others as if alone.
#[test]
fn a_client_leaving_mid_stream_does_not_disturb_the_others() {
    let server = start_model("default", &[]);
    let (mut s, mut seen) = story_stream(&server.base);
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("\"content\":\"") || seen.len() < 800 {
        let n = s.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "the stream ended early: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    // another client asks while the story is still being told
    let other = std::thread::spawn({
        let base = server.base.clone();
        move || {
            let server = Server {
                child: Command::new("true").spawn().unwrap(),
                base,
            };
            let v = chat(
                &server.base,
                &request("Say hello.", json!({"max_tokens": 12, "temperature": 0})),
            );
            std::mem::forget(server);
            v
        }
    });
    drop(s);
    let (status, v) = other.join().unwrap();
    assert_eq!(status, 200, "{v}");
    let alone = generate_with("default", &["Say hello."], 0, 0.0, 12).remove(0);
    assert_eq!(v["choices"][0]["message"]["content"], json!(alone));
    // the abandoned story is cancelled and its slot freed
    let started = Instant::now();
    loop {
        let mut r = agent()
            .get(format!("{}/health", server.base))
            .call()
            .unwrap();
        let h: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
        if h["load"] == 0 {
            assert_eq!(h["cancelled"], 1, "{h}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the abandoned stream still holds a slot: {h}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `--max-batch 1 --max-queue 0` on the default model: while one long story streams, a second
/// request is refused with 429 `queue_full`; once the story's client leaves, requests pass.
#[test]
fn a_full_queue_answers_429() {
    let server = start_model("default", &["--max-batch", "1", "--max-queue", "0"]);
    let (mut s, mut seen) = story_stream(&server.base);
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("\"content\":\"") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended early");
        seen.extend_from_slice(&buf[..n]);
    }
    let (status, text) = post_raw(
        &server.base,
        "/v1/chat/completions",
        request("Say hello.", json!({"max_tokens": 4}))
            .to_string()
            .as_bytes(),
        Some(KEY),
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (status, &v["error"]["code"]),
        (429, &json!("queue_full")),
        "{v}"
    );
    assert_eq!(v["error"]["type"], "rate_limit_error");
    drop(s);
    let started = Instant::now();
    loop {
        let (status, _) = post_raw(
            &server.base,
            "/v1/chat/completions",
            request("Say hello.", json!({"max_tokens": 4}))
                .to_string()
                .as_bytes(),
            Some(KEY),
        );
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still {status}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The official `openai` Python client (installed by `.ci/run`, which sets
/// `HALT_REQUIRE_OPENAI`; elsewhere the test skips without it): a completion, a stream, the
/// models list, the `halt` field through the client's `model_extra`, and a wrong key raising
/// the client's `AuthenticationError`.
#[test]
fn the_openai_python_client_talks_to_the_server() {
    let have = Command::new("python3")
        .args(["-c", "import openai"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var_os("HALT_REQUIRE_OPENAI").is_none(),
            "HALT_REQUIRE_OPENAI is set but `import openai` fails"
        );
        eprintln!("skipped: the `openai` Python package is not installed");
        return;
    }
    let server = start(&[]);
    let prompt = "what is 2 plus 3?";
    let want = generate(&[prompt], 5, 0.0, 10).remove(0);
    let script = r#"
import json, sys
import openai
from openai import OpenAI
base, key, prompt = sys.argv[1], sys.argv[2], sys.argv[3]
c = OpenAI(base_url=base + "/v1", api_key=key, max_retries=0)
msgs = [{"role": "user", "content": prompt}]
r = c.chat.completions.create(model="tiny", messages=msgs, temperature=0, max_tokens=10, seed=5)
streamed = "".join(
    ch.choices[0].delta.content or ""
    for ch in c.chat.completions.create(model="tiny", messages=msgs, temperature=0,
                                        max_tokens=10, stream=True,
                                        stream_options={"include_usage": True})
    if ch.choices)
try:
    OpenAI(base_url=base + "/v1", api_key="wrong", max_retries=0).models.list()
    refused = False
except openai.AuthenticationError:
    refused = True
print(json.dumps({"content": r.choices[0].message.content, "finish": r.choices[0].finish_reason,
                  "halt": (r.choices[0].model_extra or {}).get("halt"), "streamed": streamed,
                  "usage": r.usage.total_tokens, "models": [m.id for m in c.models.list()],
                  "refused": refused}))
"#;
    let out = Command::new("python3")
        .args(["-c", script, &server.base, KEY, prompt])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["content"], json!(want), "{v}");
    assert_eq!(v["streamed"], json!(want), "{v}");
    assert_eq!(v["halt"]["abstention"], "none", "{v}");
    assert!(v["usage"].as_u64().unwrap() > 0);
    assert_eq!(v["models"], json!(["hf"]), "{v}");
    assert_eq!(v["refused"], true);
}

/// The project's own LLM-judge client ([`halt_llm::dataset::judge::llm`]) pointed at the
/// server (the default model: the judge's prompt is longer than the tiny model's context):
/// the request goes through and the reply comes back as a chat completion. SmolLM2-135M may
/// or may not answer with a JSON verdict; either a verdict or a malformed-verdict error is a
/// round trip, a transport or HTTP error is not.
#[test]
fn the_llm_judge_client_talks_to_the_server() {
    use halt_llm::dataset::judge::llm::{LlmConfig, LlmError, LlmJudge};
    let server = spawn("default", &["--default-max-tokens", "48"]);
    let mut config = LlmConfig::new(format!("{}/v1", server.base), "SmolLM2");
    config.max_retries = 0;
    let judge = LlmJudge::new(config).unwrap();
    match judge.judge_claim("What is 2 + 3?", "2 + 3 = 5", "5") {
        Ok(_) => {}
        Err(LlmError::Malformed(m)) => assert!(!m.is_empty()),
        Err(other) => panic!("the judge did not get a chat completion back: {other:?}"),
    }
}

/// A tiny model finetuned (as `tests/train.rs` does) until it says its HALT targets: served,
/// its answers stop at the marker and the `halt` field reads them: a partial abstention with
/// the text before the marker, and a full one.
#[test]
fn a_model_finetuned_to_stop_shows_the_marker_field() {
    use halt_llm::train::{TrainConfig, TrainOptions, train};
    let pairs = [
        ("hi", "the cat sat."),
        ("who", "Unsure from Here"),
        ("hello", "a dog ran. Unsure from Here"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("aligned.jsonl");
    common::aligned::write_aligned(&data, &pairs);
    let cfg = TrainConfig {
        data: vec![data],
        model: tiny_model().display().to_string(),
        epochs: 150,
        lr: 1e-2,
        min_lr_ratio: 0.1,
        warmup_ratio: 0.0,
        batch_size: 3,
        grad_accum: 1,
        max_seq_len: 64,
        valid_fraction: 0.0,
        checkpoint_every: 1000,
        ..TrainConfig::default()
    };
    let summary = train(&cfg, &dir.path().join("run"), &TrainOptions::default())
        .unwrap()
        .unwrap();
    let server = start_model(&summary.model_dir.display().to_string(), &[]);
    let ask = |prompt: &str| {
        let (status, v) = chat(
            &server.base,
            &request(prompt, json!({"temperature": 0, "max_tokens": 40})),
        );
        assert_eq!(status, 200, "{v}");
        v["choices"][0].clone()
    };
    let partial = ask("hello");
    assert_eq!(partial["message"]["content"], "a dog ran. Unsure from Here");
    assert_eq!(partial["finish_reason"], "stop");
    assert_eq!(
        partial["halt"],
        json!({"marker": "Unsure from Here", "abstention": "partial", "answer": "a dog ran."})
    );
    let full = ask("who");
    assert_eq!(full["halt"]["abstention"], "full");
    assert_eq!(full["halt"]["answer"], "");
    let whole = ask("hi");
    assert_eq!(whole["message"]["content"], "the cat sat.");
    assert_eq!(whole["halt"]["abstention"], "none");
}
