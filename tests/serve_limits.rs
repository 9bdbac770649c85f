//! `halt-llm serve` against odd and hostile clients (found by a breaker review): wrong
//! methods and impossible `n` get OpenAI-style errors, the bearer scheme is matched in any
//! case, a declared oversized body is refused before it arrives, slow clients are cut off
//! (10 s for headers, 30 s for a body) and open connections are bounded without losing the
//! clients that wait.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;

use common::serve::*;

/// Connects to the server at `base` (`http://127.0.0.1:PORT`).
fn connect(base: &str) -> TcpStream {
    let s = TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

/// Reads until the server closes the connection (or 60 s pass); the text read.
fn read_all(mut s: TcpStream) -> String {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn status_and_code(raw: &str) -> (u16, String) {
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw.split("\r\n\r\n").nth(1).unwrap_or("");
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    (
        status,
        v["error"]["code"].as_str().unwrap_or("").to_string(),
    )
}

#[test]
fn wrong_methods_impossible_n_and_key_spellings() {
    let server = start(&["--max-batch", "1", "--max-queue", "1"]);
    let r = agent()
        .get(format!("{}/v1/chat/completions", server.base))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let v: Value = serde_json::from_str(&r.into_body().read_to_string().unwrap()).unwrap();
    assert_eq!(v["error"]["code"], "method_not_allowed", "{v}");
    // n = 3 can never fit a batch of 1 plus a queue of 1: 400, not a 429 to retry in vain
    let body = request("hi", json!({"n": 3, "max_tokens": 2}));
    let (s, text) = post_raw(
        &server.base,
        "/v1/chat/completions",
        body.to_string().as_bytes(),
        Some(KEY),
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_n")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("between 1 and 2")
    );
    // the scheme name is case-insensitive (RFC 7235)
    let mut r = agent()
        .post(format!("{}/v1/chat/completions", server.base))
        .header("Authorization", &format!("bearer {KEY}"))
        .send(
            request("hi", json!({"max_tokens": 2}))
                .to_string()
                .as_bytes(),
        )
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        200,
        "{}",
        r.body_mut().read_to_string().unwrap()
    );
    // a key no client could send is refused at start
    let out = Command::new(env!("CARGO_BIN_EXE_halt-llm"))
        .args(["serve", "--model"])
        .arg(tiny_model())
        .args(["--port", "0", "--api-key-env", "HALT_TEST_SPACED_KEY"])
        .env("HALT_TEST_SPACED_KEY", " sekrit ")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("leading or trailing spaces"));
}

#[test]
fn a_declared_oversized_body_is_refused_before_it_arrives() {
    let server = start(&["--max-body-bytes", "2048"]);
    let mut s = connect(&server.base);
    write!(
        s,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 99999999\r\n\r\n{{"
    )
    .unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).unwrap();
    let (status, code) = status_and_code(&String::from_utf8_lossy(&buf[..n]));
    assert_eq!((status, code.as_str()), (413, "body_too_large"));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn slow_clients_are_cut_off_and_waiting_clients_are_served() {
    // two connections at most: two idle clients hold both
    let server = start(&["--max-connections", "2"]);
    let t = Instant::now();
    let mut idle = connect(&server.base);
    idle.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        .unwrap(); // headers never finished
    let mut slow_body = connect(&server.base);
    write!(
        slow_body,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"messages\""
    )
    .unwrap(); // 11 of 100 body bytes
    // a third client waits to be accepted, then is served
    let waiting = std::thread::spawn({
        let base = server.base.clone();
        move || {
            let t = Instant::now();
            let (s, _) = post_raw(
                &base,
                "/v1/chat/completions",
                request("hi", json!({"max_tokens": 2}))
                    .to_string()
                    .as_bytes(),
                Some(KEY),
            );
            (s, t.elapsed())
        }
    });
    // the unfinished headers: the connection is closed after 10 s, with nothing sent
    let cut = read_all(idle);
    let idle_for = t.elapsed();
    assert!(
        (Duration::from_secs(9)..Duration::from_secs(30)).contains(&idle_for),
        "{idle_for:?} {cut:?}"
    );
    let (status, waited) = waiting.join().unwrap();
    assert_eq!(status, 200);
    assert!(
        waited >= Duration::from_secs(5),
        "served before a slot was free: {waited:?}"
    );
    // the unfinished body: 408 after 30 s
    let (status, code) = status_and_code(&read_all(slow_body));
    assert_eq!((status, code.as_str()), (408, "request_timeout"));
    assert!(t.elapsed() >= Duration::from_secs(29), "{:?}", t.elapsed());
    // and the server still answers
    let (s, _) = post_raw(
        &server.base,
        "/v1/chat/completions",
        request("hi", json!({"max_tokens": 2}))
            .to_string()
            .as_bytes(),
        Some(KEY),
    );
    assert_eq!(s, 200);
}
