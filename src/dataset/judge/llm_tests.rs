//! Tests of the LLM judge over real HTTP against a small server on 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::*;

/// What the test server does with one connection.
enum Reply {
    /// 200 with a chat completion whose content is this string.
    Content(&'static str),
    /// This status and raw body.
    Raw(u16, &'static str),
    /// Waits this long before answering (a hung server).
    Hang(Duration),
}

struct Server {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
    handle: JoinHandle<()>,
}

/// Serves `replies` in order, one per connection, then stops; gives up after 10 s.
fn serve(replies: Vec<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    let handle = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(10);
        for reply in replies {
            let stream = loop {
                match listener.accept() {
                    Ok((s, _)) => break Some(s),
                    Err(_) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5))
                    }
                    Err(_) => break None,
                }
            };
            let Some(mut stream) = stream else { return };
            stream.set_nonblocking(false).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            seen.lock()
                .unwrap()
                .push(format!("{head}\n{}", String::from_utf8_lossy(&body)));
            let (status, text) = match reply {
                Reply::Content(c) => (
                    200,
                    json!({"choices": [{"message": {"role": "assistant", "content": c}}]})
                        .to_string(),
                ),
                Reply::Raw(s, b) => (s, b.to_string()),
                Reply::Hang(d) => {
                    std::thread::sleep(d);
                    (200, String::new())
                }
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    Server {
        url,
        requests,
        handle,
    }
}

fn judge(url: &str) -> LlmJudge {
    let mut c = LlmConfig::new(url, "judge-model");
    c.timeout = Duration::from_millis(500);
    c.max_retries = 1;
    c.backoff = Duration::from_millis(10);
    LlmJudge::new(c).unwrap()
}

#[test]
fn verdicts_are_parsed_and_the_request_is_well_formed() {
    // SAFETY: a variable only this test reads; set before any thread of this test reads it.
    unsafe { std::env::set_var("HALT_TEST_LLM_KEY_1", "sekret") };
    let s = serve(vec![
        Reply::Content("```json\n{\"verdict\": \"correct\"}\n```"),
        Reply::Content("{\"verdict\": \"incorrect\"}"),
        Reply::Content("Sure. {\"verdict\": \"unknown\"}"),
        Reply::Content("{\"first_wrong\": 2}"),
        Reply::Content("{\"first_wrong\": null}"),
    ]);
    let mut c = LlmConfig::new(format!("{}/chat/completions", s.url), "judge-model");
    c.api_key_env = Some("HALT_TEST_LLM_KEY_1".into());
    let j = LlmJudge::new(c).unwrap();
    assert_eq!(
        j.judge_claim("Who?", "Born in 1852.", "born 1852-08-30")
            .unwrap(),
        Some(true)
    );
    assert_eq!(
        j.judge_claim("Who?", "Born in 1853.", "born 1852-08-30")
            .unwrap(),
        Some(false)
    );
    assert_eq!(
        j.judge_claim("Who?", "He liked tea.", "born 1852-08-30")
            .unwrap(),
        None
    );
    assert_eq!(
        j.first_wrong_step("Q", "ref", &["a", "b", "c"], "")
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        j.first_wrong_step("Q", "ref", &["a"], "AssertionError")
            .unwrap(),
        None
    );
    s.handle.join().unwrap();
    let reqs = s.requests.lock().unwrap();
    assert_eq!(reqs.len(), 5);
    assert!(
        reqs[0].starts_with("POST /v1/chat/completions "),
        "{}",
        reqs[0]
    );
    assert!(
        reqs[0]
            .to_ascii_lowercase()
            .contains("authorization: bearer sekret"),
        "{}",
        reqs[0]
    );
    let body: Value = serde_json::from_str(reqs[0].split("\r\n\n").nth(1).unwrap_or("")).unwrap();
    assert_eq!(body["model"], "judge-model");
    assert_eq!(body["temperature"], 0);
    assert!(
        body["messages"][1]["content"]
            .as_str()
            .unwrap()
            .contains("Born in 1852.")
    );
    assert!(reqs[4].contains("AssertionError"));
}

#[test]
fn malformed_replies_are_errors() {
    let s = serve(vec![
        Reply::Content("I think it is fine."),
        Reply::Content("{\"verdict\": \"maybe\"}"),
        Reply::Raw(200, "not json at all"),
        Reply::Content("{\"first_wrong\": 7}"),
        Reply::Raw(404, "no such model"),
    ]);
    let j = judge(&s.url);
    for _ in 0..3 {
        let e = j.judge_claim("Q", "c", "t").unwrap_err();
        assert!(matches!(e, LlmError::Malformed(_)), "{e}");
    }
    let e = j.first_wrong_step("Q", "r", &["a", "b"], "").unwrap_err();
    assert!(e.to_string().contains("not in 1..=2"), "{e}");
    let e = j.judge_claim("Q", "c", "t").unwrap_err();
    assert!(matches!(e, LlmError::Http { status: 404, .. }), "{e}"); // 4xx: no retry
    s.handle.join().unwrap();
    assert_eq!(s.requests.lock().unwrap().len(), 5);
}

#[test]
fn a_hung_server_times_out_after_the_retries() {
    let s = serve(vec![
        Reply::Hang(Duration::from_millis(1500)),
        Reply::Hang(Duration::from_millis(1500)),
    ]);
    let j = judge(&s.url);
    let start = Instant::now();
    let e = j.judge_claim("Q", "c", "t").unwrap_err();
    assert!(matches!(e, LlmError::Transport { .. }), "{e}");
    assert!(
        start.elapsed() < Duration::from_millis(1400),
        "{:?}",
        start.elapsed()
    );
    s.handle.join().unwrap();
    assert_eq!(s.requests.lock().unwrap().len(), 2, "one try and one retry");
}

#[test]
fn server_errors_are_retried_and_verdicts_cached() {
    let s = serve(vec![
        Reply::Raw(503, "busy"),
        Reply::Content("{\"verdict\": \"correct\"}"),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let mut c = LlmConfig::new(&s.url, "judge-model");
    c.backoff = Duration::from_millis(10);
    c.cache_dir = Some(dir.path().join("cache"));
    let j = LlmJudge::new(c).unwrap();
    assert_eq!(j.judge_claim("Q", "c", "t").unwrap(), Some(true));
    s.handle.join().unwrap();
    assert_eq!(s.requests.lock().unwrap().len(), 2);
    // the server is gone: the same question is answered from the cache
    assert_eq!(j.judge_claim("Q", "c", "t").unwrap(), Some(true));
    assert_eq!(
        std::fs::read_dir(dir.path().join("cache")).unwrap().count(),
        1
    );
    // a different question is not in the cache and fails to connect
    assert!(j.judge_claim("Q", "other", "t").is_err());
}

#[test]
fn a_missing_key_variable_is_named() {
    let mut c = LlmConfig::new("http://127.0.0.1:9/v1", "m");
    c.api_key_env = Some("HALT_TEST_LLM_KEY_UNSET_42".into());
    let e = LlmJudge::new(c).unwrap_err();
    assert!(e.to_string().contains("HALT_TEST_LLM_KEY_UNSET_42"), "{e}");
}
