//! `halt-llm logits` end to end: the real SmolLM2-135M-Instruct against the independent NumPy
//! reference (`tests/fixtures/smollm2_reference.json`, see `tests/smollm2.rs`), and the tiny
//! random Llama (`tests/fixtures/tiny-llama/hf`) against the library's own forward pass, with
//! hand-made ties, `--top-k` clamping and the argument errors.
//!
//! Like `tests/smollm2.rs`, the SmolLM2 tests need the default model: they take it from
//! `fetch::default_model()` (`$HALT_MODEL_DIR` or `models/cache`, fetched if missing).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use burn::tensor::{Device, Int, Tensor, TensorData};
use halt_llm::chat::Message;
use halt_llm::fetch;
use halt_llm::model::load::load_model;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_halt-llm");

fn tiny_hf() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama/hf")
}

fn reference() -> Value {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smollm2_reference.json"),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Runs `halt-llm logits --model MODEL --device cpu ARGS…`.
fn logits_cmd(model: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args([
            "logits",
            "--model",
            model.to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .args(args)
        .output()
        .unwrap()
}

/// Runs the command with `--json` and parses its one output line.
fn logits_json(model: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let o = logits_cmd(model, &all);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{all:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "one JSON line: {stdout}");
    serde_json::from_str(stdout.trim()).unwrap()
}

/// The error of a failing run: exit status 1, one `error: …` message, no panic.
fn logits_error(model: &Path, args: &[&str]) -> String {
    let o = logits_cmd(model, args);
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!o.status.success(), "{args:?} succeeded");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(o.stdout.is_empty(), "{args:?} printed to stdout");
    stderr
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// The logits row of the last position, from the library's full forward pass (all positions,
/// no cache): the independent computation the command's top-k is checked against.
fn library_last_logits(model: &Path, ids: &[u32]) -> Vec<f32> {
    let dev = Device::flex();
    let loaded = load_model(model, &dev).unwrap();
    let n = ids.len();
    let input = Tensor::<2, Int>::from_data(
        TensorData::new(ids.iter().map(|&i| i64::from(i)).collect(), [1, n]),
        &dev,
    );
    let flat = loaded
        .model
        .forward(input, &[vec![true; n]])
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let v = flat.len() / n;
    flat[(n - 1) * v..].to_vec()
}

/// All `(id, logit)` of a row sorted by the documented rule: logit descending (with -0 = +0),
/// then id ascending. A plain stable sort, unlike the command's partial selection.
fn sorted_by_rule(row: &[f32]) -> Vec<(u32, f32)> {
    let mut pairs: Vec<(u32, f32)> = row
        .iter()
        .enumerate()
        .map(|(i, &x)| (i as u32, x))
        .collect();
    pairs.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap().then_with(|| a.0.cmp(&b.0)));
    pairs
}

fn lse(row: &[f32]) -> f64 {
    let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    m + row.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln()
}

#[test]
fn smollm2_top10_matches_the_numpy_reference() {
    let r = reference();
    let model =
        fetch::default_model().expect("default model (run .ci/run or `halt-llm fetch-model`)");
    // The reference's prompt is ChatML already rendered (no system turn): `--special` reads
    // its control-token strings as control tokens.
    let prompt = r["prompt_text"].as_str().unwrap();
    let out = logits_json(&model, &["--prompt", prompt, "--special", "--top-k", "10"]);
    assert_eq!(u32s(&out["prompt_ids"]), u32s(&r["prompt_ids"]));
    assert_eq!(strings(&out["prompt_tokens"]), strings(&r["prompt_tokens"]));
    let last = r["positions"].as_array().unwrap().last().unwrap();
    assert_eq!(
        last["position"].as_u64().unwrap() as usize,
        u32s(&r["prompt_ids"]).len() - 1
    );
    let want: Vec<(u32, f32)> = last["top10"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_u64().unwrap() as u32, p[1].as_f64().unwrap() as f32))
        .collect();
    let ids = u32s(&out["ids"]);
    let logits = f32s(&out["logits"]);
    assert_eq!(
        ids,
        want.iter().map(|p| p.0).collect::<Vec<_>>(),
        "top-10 ids in order"
    );
    for ((id, got), (_, w)) in ids.iter().zip(&logits).zip(&want) {
        assert!(
            (got - w).abs() < 1e-2,
            "logit of {id}: {got} vs reference {w}"
        );
    }
    let lse = out["logsumexp"].as_f64().unwrap();
    assert!(
        (lse - last["logsumexp"].as_f64().unwrap()).abs() < 1e-2,
        "logsumexp {lse}"
    );
    // Tokens are vocabulary pieces; the top one is the reference's first greedy token.
    let tokens = strings(&out["tokens"]);
    assert_eq!(tokens.len(), 10);
    assert_eq!(tokens[0], r["greedy_tokens"][0].as_str().unwrap());
}

#[test]
fn smollm2_chat_and_plain_prompts() {
    let r = reference();
    let model =
        fetch::default_model().expect("default model (run .ci/run or `halt-llm fetch-model`)");
    let ref_ids = u32s(&r["prompt_ids"]);
    // `--chat`: one user turn with SmolLM2's template, which adds its default system turn
    // before the reference's user turn and generation prompt.
    let out = logits_json(
        &model,
        &[
            "--prompt",
            "What is the capital of France?",
            "--chat",
            "--top-k",
            "3",
        ],
    );
    let ids = u32s(&out["prompt_ids"]);
    assert!(
        ids.ends_with(&ref_ids) && ids.len() > ref_ids.len(),
        "{ids:?}"
    );
    assert_eq!(ids[0], 1, "<|im_start|> of the system turn");
    assert_eq!(u32s(&out["ids"]).len(), 3);
    assert_eq!(strings(&out["tokens"])[0], "The");
    // Without `--chat` or `--special`, the control-token strings a user typed are text.
    let out = logits_json(
        &model,
        &[
            "--prompt",
            r["prompt_text"].as_str().unwrap(),
            "--top-k",
            "1",
        ],
    );
    let ids = u32s(&out["prompt_ids"]);
    assert!(!ids.contains(&1) && !ids.contains(&2), "{ids:?}");
}

#[test]
fn tiny_top_k_is_the_k_largest_of_the_library_logits() {
    let model = tiny_hf();
    let loaded = load_model(&model, &Device::flex()).unwrap();
    let prompt = "hello there, the shell";
    let prompt_ids = loaded.tokenizer.encode(prompt).unwrap();
    let row = library_last_logits(&model, &prompt_ids);
    assert_eq!(row.len(), 64);
    let want = sorted_by_rule(&row);
    for k in [1usize, 5, 64] {
        let out = logits_json(&model, &["--prompt", prompt, "--top-k", &k.to_string()]);
        assert_eq!(u32s(&out["prompt_ids"]), prompt_ids);
        let ids = u32s(&out["ids"]);
        let logits = f32s(&out["logits"]);
        assert_eq!(
            ids,
            want[..k].iter().map(|p| p.0).collect::<Vec<_>>(),
            "k = {k}"
        );
        for (got, (id, w)) in logits.iter().zip(&want) {
            assert!((got - w).abs() < 1e-5, "logit of {id}: {got} vs {w}");
        }
        // Tokens are the vocabulary pieces (`Ġthe`, not ` the`).
        let tokens = strings(&out["tokens"]);
        let pieces: Vec<String> = ids
            .iter()
            .map(|&i| loaded.tokenizer.inner().id_to_token(i).unwrap())
            .collect();
        assert_eq!(tokens, pieces);
        assert!(
            (out["logsumexp"].as_f64().unwrap() - lse(&row)).abs() < 1e-4,
            "logsumexp"
        );
    }
    let out = logits_json(&model, &["--prompt", prompt, "--top-k", "64"]);
    let prompt_tokens = strings(&out["prompt_tokens"]);
    assert!(
        prompt_tokens.contains(&"Ġthe".to_string()),
        "{prompt_tokens:?}"
    );
    // The table: a header line, a column line, one line per rank.
    let o = logits_cmd(&model, &["--prompt", prompt, "--top-k", "3"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(
        lines[0].starts_with(&format!("prompt: {} tokens", prompt_ids.len())),
        "{text}"
    );
    let first: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(first[..2], ["1", want[0].0.to_string().as_str()], "{text}");
}

/// Copies the tiny model with the embedding rows of `zero` set to 0: its head is tied to the
/// embeddings, so those tokens' logits are exactly ±0 whatever the hidden state: a tie.
fn tiny_with_zero_rows(dir: &Path, zero: &[usize]) -> PathBuf {
    let src = tiny_hf();
    for f in ["config.json", "tokenizer.json", "tokenizer_config.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let mut bytes = std::fs::read(src.join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let emb = &header["model.embed_tokens.weight"];
    assert_eq!(emb["dtype"], "F32");
    assert_eq!(u32s(&emb["shape"]), [64, 64]);
    let start = 8 + n + emb["data_offsets"][0].as_u64().unwrap() as usize;
    for &r in zero {
        bytes[start + r * 256..start + (r + 1) * 256].fill(0);
    }
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
    dir.to_path_buf()
}

#[test]
fn tiny_ties_order_by_id_and_k_is_clamped_to_the_vocabulary() {
    let tmp = tempfile::tempdir().unwrap();
    // 'q', 'x' and 'Q': not in the prompt, so only their logits change.
    let tied = [42u32, 16, 23];
    let model = tiny_with_zero_rows(tmp.path(), &tied.map(|i| i as usize));
    let prompt = "hello there";
    let out = logits_json(&model, &["--prompt", prompt, "--top-k", "1000"]);
    let ids = u32s(&out["ids"]);
    let logits = f32s(&out["logits"]);
    // K above the vocabulary prints the whole vocabulary, each id once.
    assert_eq!(ids.len(), 64);
    let mut seen = ids.clone();
    seen.sort_unstable();
    assert_eq!(seen, (0..64).collect::<Vec<u32>>());
    // Sorted by logit descending, then id ascending.
    for w in ids.iter().zip(&logits).collect::<Vec<_>>().windows(2) {
        let ((a, la), (b, lb)) = (w[0], w[1]);
        assert!(
            la > lb || (la == lb && a < b),
            "{a} ({la}) before {b} ({lb})"
        );
    }
    // The three zero logits are a run, in id order; no other logit is zero.
    let at = ids.iter().position(|&i| i == 16).unwrap();
    assert_eq!(ids[at..at + 3], [16, 23, 42]);
    assert!(logits[at..at + 3].iter().all(|&x| x == 0.0));
    assert_eq!(logits.iter().filter(|&&x| x == 0.0).count(), 3);
    // And it is the library's row, sorted.
    let row = library_last_logits(&model, &u32s(&out["prompt_ids"]));
    let want = sorted_by_rule(&row);
    assert_eq!(ids, want.iter().map(|p| p.0).collect::<Vec<_>>());
    // K = 2 cut inside the tie keeps the smallest ids.
    let two_tied = logits_json(
        &model,
        &["--prompt", prompt, "--top-k", &(at + 2).to_string()],
    );
    assert_eq!(u32s(&two_tied["ids"])[at..], [16, 23]);
}

#[test]
fn tiny_chat_equals_the_rendered_prompt_with_special() {
    let model = tiny_hf();
    let loaded = load_model(&model, &Device::flex()).unwrap();
    let chat = logits_json(&model, &["--prompt", "hi there", "--chat", "--top-k", "5"]);
    let want = loaded
        .tokenizer
        .encode_chat(&[Message::user("hi there")], true)
        .unwrap();
    assert_eq!(u32s(&chat["prompt_ids"]), want);
    assert_eq!(want[0], 62, "<|im_start|>");
    // The same text rendered by hand, with `--special`: the same ids, the same top-k.
    let rendered = "<|im_start|>user\nhi there<|im_end|>\n<|im_start|>assistant\n";
    let special = logits_json(&model, &["--prompt", rendered, "--special", "--top-k", "5"]);
    assert_eq!(special["prompt_ids"], chat["prompt_ids"]);
    assert_eq!(special["ids"], chat["ids"]);
    assert_eq!(special["logits"], chat["logits"]);
    // Without `--special` the control strings are text.
    let plain = logits_json(&model, &["--prompt", rendered, "--top-k", "5"]);
    let ids = u32s(&plain["prompt_ids"]);
    assert!(!ids.contains(&62) && !ids.contains(&63), "{ids:?}");
}

#[test]
fn tiny_argument_errors_are_clear() {
    let model = tiny_hf();
    let e = logits_error(&model, &["--prompt", "hello", "--top-k", "0"]);
    assert!(e.contains("error: top_k must be at least 1, got 0"), "{e}");
    let e = logits_error(&model, &["--prompt", "", "--json"]);
    assert!(e.contains("error: prompt is empty"), "{e}");
    let e = logits_error(&model, &["--top-k", "3"]);
    assert!(e.contains("--prompt <PROMPT>"), "{e}");
    let e = logits_error(&model, &["--prompt", "hello", "--top-k=-1"]);
    assert!(
        e.contains("invalid value '-1' for '--top-k <TOP_K>'"),
        "{e}"
    );
    let e = logits_error(&model, &["--prompt", "hello", "--chat", "--special"]);
    assert!(e.contains("cannot be used with"), "{e}");
    // The tiny model's context is 128 tokens; one letter is one token.
    let long = "a".repeat(200);
    let e = logits_error(&model, &["--prompt", &long]);
    assert!(
        e.contains("prompt = 200 tokens exceeds the model's context length of 128 tokens"),
        "{e}"
    );
    let e = logits_error(&tiny_hf().join("missing"), &["--prompt", "hello"]);
    assert!(e.contains("error: loading model"), "{e}");
}
