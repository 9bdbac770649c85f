//! One validation rule per setting (issue 14): the same value is refused with the same message
//! whether it comes from a flag or a TOML file, before any model is loaded or any output is
//! written; token budgets are checked against the model's context length up front; an
//! evaluation folder refuses a second model by name. Expected messages are written by hand
//! from the rules in `src/settings.rs`; the tiny fixture model has a context of 128 tokens
//! (`max_position_embeddings` in `tests/fixtures/tiny-llama/hf/config.json`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_halt-llm");

fn tiny() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama/hf")
}

fn halt(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("HALT_DEVICE")
        .output()
        .unwrap()
}

/// The command fails with `error: {message}` as the last line of stderr.
#[track_caller]
fn fails_with(out: &Output, message: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "succeeded: {err}");
    let last = err.lines().last().unwrap_or("");
    assert!(last.contains(message), "want `{message}` in:\n{err}");
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn zero_counts_are_refused_before_the_model_loads() {
    // A model path that does not exist: the setting must be the error, not the model.
    let no_model = "/nonexistent/model.gguf";
    let cases: [(&[&str], &str); 6] = [
        (
            &[
                "eval",
                "--batch-size",
                "0",
                "--data",
                "x.jsonl",
                "--out",
                "o",
            ],
            "batch_size must be at least 1, got 0",
        ),
        (
            &["bench-train", "--lora-rank", "0"],
            "lora.rank must be at least 1, got 0",
        ),
        (
            &["bench", "--repeats", "0"],
            "repeats must be at least 1, got 0",
        ),
        (
            &["bench", "--new-tokens", "0"],
            "new_tokens must be at least 1, got 0",
        ),
        (
            &["generate", "--prompts", "-", "--batch-size", "0"],
            "batch_size must be at least 1, got 0",
        ),
        (
            &["chat", "--max-new-tokens", "0", "hi"],
            "max_new_tokens must be at least 1, got 0",
        ),
    ];
    for (args, message) in cases {
        let mut all = args.to_vec();
        all.extend(["--model", no_model]);
        fails_with(&halt(&all), message);
    }
}

#[test]
fn bench_train_checks_its_data_files_before_loading_the_model() {
    fails_with(
        &halt(&[
            "bench-train",
            "--model",
            "/nonexistent/model.gguf",
            "--data",
            "/nonexistent/aligned.jsonl",
        ]),
        "data file /nonexistent/aligned.jsonl does not exist",
    );
}

#[test]
fn a_flag_and_a_toml_field_get_the_same_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a.jsonl");
    std::fs::write(&data, "").unwrap();
    let toml = dir.path().join("t.toml");
    std::fs::write(&toml, "batch_size = 0\n").unwrap();
    let want = "batch_size must be at least 1, got 0";
    let common = ["train", "--data", s(&data), "--out", "/nonexistent/out"];
    let mut by_flag = common.to_vec();
    by_flag.extend(["--batch-size", "0"]);
    fails_with(&halt(&by_flag), want);
    let mut by_file = common.to_vec();
    by_file.extend(["--config", s(&toml)]);
    fails_with(&halt(&by_file), want);
}

#[test]
fn a_run_refuses_a_duplicate_alpha_and_a_duplicate_baseline() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("run.toml");
    let out = dir.path().join("run");
    std::fs::write(&toml, "alphas = [0.4, 0.6, 0.4]\n").unwrap();
    fails_with(
        &halt(&["run", "--config", s(&toml), "--out", s(&out)]),
        "alpha 0.4 is listed twice in alphas",
    );
    std::fs::write(&toml, "baselines = [\"idk\", \"idk\"]\n").unwrap();
    fails_with(
        &halt(&["run", "--config", s(&toml), "--out", s(&out)]),
        "baseline `idk` is listed twice in baselines",
    );
    assert!(!out.exists(), "a refused run wrote {}", out.display());
}

#[test]
fn token_budgets_are_checked_against_the_context_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = tiny();
    // train: the sequence length
    let data = dir.path().join("a.jsonl");
    std::fs::write(
        &data,
        r#"{"id":"r0","prompt":"hi","target":"the cat.","method":"halt","alpha":0.6,"selected":0,"kept":1,"dropped":0,"abstained":false}
"#,
    )
    .unwrap();
    let out = dir.path().join("train");
    fails_with(
        &halt(&[
            "train",
            "--data",
            s(&data),
            "--model",
            s(&tiny),
            "--out",
            s(&out),
            "--max-seq-len",
            "100000",
        ]),
        "max_seq_len = 100000 tokens exceeds the model's context length of 128 tokens",
    );
    assert!(!out.join("train_config.toml").exists());
    // bench-train: the same rule for its sequence length
    fails_with(
        &halt(&["bench-train", "--model", s(&tiny), "--seq-len", "100000"]),
        "seq_len = 100000 tokens exceeds the model's context length of 128 tokens",
    );
    // run: the evaluation budget, found before sampling (nothing written); the file uses the
    // former top-level name, which is still read as `[eval] max_new_tokens`
    let toml = dir.path().join("run.toml");
    std::fs::write(
        &toml,
        format!("model = {:?}\neval_max_new_tokens = 600\n", s(&tiny)),
    )
    .unwrap();
    let run = dir.path().join("run");
    fails_with(
        &halt(&["run", "--config", s(&toml), "--out", s(&run)]),
        "eval.max_new_tokens = 600 leaves no room for a prompt in the model's context length \
         of 128 tokens",
    );
    assert!(!run.exists(), "a refused run wrote {}", run.display());
}

#[test]
fn an_evaluation_folder_refuses_another_model_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let data = dir.path().join("test.jsonl");
    std::fs::write(&data, common::sum_example("e", 0, 2, 3, "2+3?") + "\n").unwrap();
    let out = dir.path().join("eval");
    let eval = |model: &Path| {
        halt(&[
            "eval",
            "--model",
            s(model),
            "--data",
            s(&data),
            "--limit",
            "1",
            "--max-new-tokens",
            "4",
            "--resamples",
            "0",
            "--out",
            s(&out),
        ])
    };
    let first = eval(&tiny());
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // the same model again: resumed
    assert!(eval(&tiny()).status.success());
    // another model (the Llama-3-scaled fixture): refused, naming both
    let other = root.join("tests/fixtures/tiny-llama/hf-llama3");
    let refused = eval(&other);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{err}");
    assert!(err.contains("was made with other settings"), "{err}");
    assert!(
        err.contains(r#"model = "hf" there, "hf-llama3" now"#),
        "{err}"
    );
}
