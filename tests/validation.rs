//! One validation rule per setting (issue 14): the same value is refused with the same message
//! whether it comes from a flag or a TOML file, before any model is loaded or any output is
//! written; token budgets are checked against the model's context length up front; an
//! evaluation folder refuses a second model by name. Expected messages are written by hand
//! from the rules in `src/settings/`; the tiny fixture model has a context of 128 tokens
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

/// `train` with `flags`, and `train` with the same setting in a TOML file: both fail with
/// `message`.
#[track_caller]
fn train_flag_and_file(flags: &[&str], toml: &str, message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a.jsonl");
    std::fs::write(&data, "").unwrap();
    let file = dir.path().join("t.toml");
    std::fs::write(&file, toml).unwrap();
    let common = ["train", "--data", s(&data), "--out", "/nonexistent/out"];
    let mut by_flag = common.to_vec();
    by_flag.extend(flags);
    fails_with(&halt(&by_flag), message);
    let mut by_file = common.to_vec();
    by_file.extend(["--config", s(&file)]);
    fails_with(&halt(&by_file), message);
}

#[test]
fn counts_of_two_to_the_32_are_refused_with_the_exact_value() {
    // by hand: 2^32 = 4294967296, 2^32 + 1 = 4294967297 (printed exactly, not as a float)
    train_flag_and_file(
        &["--batch-size", "4294967297"],
        "batch_size = 4294967297\n",
        "batch_size must be at most 4096, got 4294967297",
    );
    train_flag_and_file(
        &["--epochs", "4294967296"],
        "epochs = 4294967296\n",
        "epochs must be at most 10000, got 4294967296",
    );
    train_flag_and_file(
        &["--grad-accum", "4294967296"],
        "grad_accum = 4294967296\n",
        "grad_accum must be at most 4096, got 4294967296",
    );
    train_flag_and_file(
        &["--checkpoint-every", "4294967296"],
        "checkpoint_every = 4294967296\n",
        "checkpoint_every must be at most 10000000, got 4294967296",
    );
    train_flag_and_file(
        &["--max-seq-len", "4294967296"],
        "max_seq_len = 4294967296\n",
        "max_seq_len must be at most 16777216, got 4294967296",
    );
    train_flag_and_file(
        &["--lora-rank", "4294967296"],
        "[lora]\nrank = 4294967296\n",
        "lora.rank must be at most 4096, got 4294967296",
    );
    // the commands without a settings file
    let no_model = "/nonexistent/model.gguf";
    let cases: [(&[&str], &str); 9] = [
        (
            &["bench", "--repeats", "4294967296"],
            "repeats must be at most 10000, got 4294967296",
        ),
        (
            &["bench", "--batch", "4294967296"],
            "batch must be at most 4096, got 4294967296",
        ),
        (
            &["bench", "--prompt-len", "4294967296"],
            "prompt_len must be at most 16777216, got 4294967296",
        ),
        (
            &["bench-train", "--steps", "4294967296"],
            "steps must be at most 10000000, got 4294967296",
        ),
        (
            &["bench-train", "--batch-size", "4294967296"],
            "batch_size must be at most 4096, got 4294967296",
        ),
        (
            &["bench-train", "--lora-rank", "4294967296"],
            "lora.rank must be at most 4096, got 4294967296",
        ),
        (
            &["generate", "--prompts", "-", "--batch-size", "4294967296"],
            "batch_size must be at most 4096, got 4294967296",
        ),
        (
            &["chat", "--max-new-tokens", "4294967296", "hi"],
            "max_new_tokens must be at most 16777216, got 4294967296",
        ),
        (
            &["logits", "--prompt", "hi", "--top-k", "4294967296"],
            "top_k must be at most 16777216, got 4294967296",
        ),
    ];
    for (args, message) in cases {
        let mut all = args.to_vec();
        all.extend(["--model", no_model]);
        fails_with(&halt(&all), message);
    }
}

#[test]
fn sample_and_eval_counts_get_the_same_message_from_a_flag_and_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    let out = dir.path().join("out.jsonl");
    let no_model = "/nonexistent/model.gguf";
    let sample = [
        "sample",
        "--domain",
        "math",
        "--model",
        no_model,
        "--out",
        s(&out),
    ];
    for (flag, value, toml, message) in [
        (
            "--n",
            "4294967296",
            "n = 4294967296\n",
            "n must be at most 1024, got 4294967296",
        ),
        (
            "--batch-prompts",
            "4294967296",
            "batch_prompts = 4294967296\n",
            "batch_prompts must be at most 4096, got 4294967296",
        ),
        (
            "--shots",
            "4294967296",
            "shots = 4294967296\n",
            "shots must be at most 256, got 4294967296",
        ),
        (
            "--max-new-tokens",
            "4294967296",
            "max_new_tokens = 4294967296\n",
            "max_new_tokens must be at most 16777216, got 4294967296",
        ),
    ] {
        let mut by_flag = sample.to_vec();
        by_flag.extend([flag, value]);
        fails_with(&halt(&by_flag), message);
        std::fs::write(&file, toml).unwrap();
        let mut by_file = sample.to_vec();
        by_file.extend(["--config", s(&file)]);
        fails_with(&halt(&by_file), message);
    }
    let eval = [
        "eval",
        "--model",
        no_model,
        "--data",
        "x.jsonl",
        "--out",
        s(&out),
    ];
    for (flag, value, toml, message) in [
        (
            "--batch-size",
            "4294967296",
            "batch_size = 4294967296\n",
            "batch_size must be at most 4096, got 4294967296",
        ),
        (
            "--max-new-tokens",
            "4294967296",
            "max_new_tokens = 4294967296\n",
            "max_new_tokens must be at most 16777216, got 4294967296",
        ),
    ] {
        let mut by_flag = eval.to_vec();
        by_flag.extend([flag, value]);
        fails_with(&halt(&by_flag), message);
        std::fs::write(&file, toml).unwrap();
        let mut by_file = eval.to_vec();
        by_file.extend(["--config", s(&file)]);
        fails_with(&halt(&by_file), message);
    }
    // flags without a file field: the limit, the marker, the resamples
    for (args, message) in [
        (&["--limit", "0"][..], "limit must be at least 1, got 0"),
        (
            &["--limit", "4294967296"],
            "limit must be at most 100000000, got 4294967296",
        ),
        (
            &["--resamples", "4294967296"],
            "resamples must be at most 1000000, got 4294967296",
        ),
        (
            &["--marker", ""],
            r#"marker must not be empty or only whitespace, got """#,
        ),
        (
            &["--marker", "  "],
            r#"marker must not be empty or only whitespace, got "  ""#,
        ),
    ] {
        let mut all = eval.to_vec();
        all.extend(args);
        fails_with(&halt(&all), message);
    }
    let mut all = sample.to_vec();
    all.extend(["--limit", "0"]);
    fails_with(&halt(&all), "limit must be at least 1, got 0");
    fails_with(
        &halt(&[
            "align",
            "--domain",
            "math",
            "--method",
            "unchanged",
            "--marker",
            "",
            "--out",
            s(&out),
        ]),
        r#"marker must not be empty or only whitespace, got """#,
    );
    assert!(!out.exists());
}

#[test]
fn an_absurd_learning_rate_and_duplicate_lora_targets_are_refused() {
    train_flag_and_file(
        &["--lr", "1e6"],
        "lr = 1e6\n",
        "lr must be at most 10, got 1000000",
    );
    train_flag_and_file(
        &["--lora-rank", "4", "--lora-targets", "q_proj,v_proj,q_proj"],
        "[lora]\nrank = 4\ntarget_modules = [\"q_proj\", \"v_proj\", \"q_proj\"]\n",
        "target module `q_proj` is listed twice in lora.target_modules",
    );
}

#[test]
fn a_seed_that_toml_cannot_record_is_refused() {
    // train records its settings (seed included) in train_config.toml, whose integers are
    // signed 64-bit: 2^64 − 1 would be written but not read back by --resume
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a.jsonl");
    std::fs::write(&data, "").unwrap();
    fails_with(
        &halt(&[
            "train",
            "--data",
            s(&data),
            "--out",
            "/nonexistent/out",
            "--seed",
            "18446744073709551615",
        ]),
        "seed must be at most 9223372036854775807, got 18446744073709551615",
    );
}

#[test]
fn a_lora_rank_alone_in_a_file_gets_the_flag_defaults() {
    // by hand: `[lora] rank = 4` alone is `--lora-rank 4`: α = 2 × 4 = 8, every projection
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.toml");
    std::fs::write(&file, "[lora]\nrank = 4\n").unwrap();
    let print = |args: &[&str]| {
        let mut all = vec!["train", "--print-config"];
        all.extend(args);
        let out = halt(&all);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let by_file = print(&["--config", s(&file)]);
    assert_eq!(by_file, print(&["--lora-rank", "4"]));
    assert!(
        by_file.contains("[lora]\nrank = 4\nalpha = 8.0\n"),
        "{by_file}"
    );
    // an α given in the file is kept
    std::fs::write(&file, "[lora]\nrank = 4\nalpha = 3.0\n").unwrap();
    assert!(print(&["--config", s(&file)]).contains("alpha = 3.0\n"));
    // the same in a run's [train.lora]
    std::fs::write(&file, "[train.lora]\nrank = 4\n").unwrap();
    let out = halt(&["run", "--config", s(&file), "--print-config"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("[train.lora]\nrank = 4\nalpha = 8.0\n"),
        "{text}"
    );
}

#[test]
fn a_lora_rank_above_the_hidden_size_is_refused_before_loading() {
    // the tiny fixture's hidden size is 64
    let message = "lora.rank = 128 exceeds the model's hidden size of 64 (hidden_size)";
    let tiny = tiny();
    fails_with(
        &halt(&[
            "bench-train",
            "--model",
            s(&tiny),
            "--lora-rank",
            "128",
            "--seq-len",
            "16",
        ]),
        message,
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("a.jsonl");
    std::fs::write(
        &data,
        r#"{"id":"r0","prompt":"hi","target":"the cat.","method":"halt","alpha":0.6,"selected":0,"kept":1,"dropped":0,"abstained":false}
"#,
    )
    .unwrap();
    let out = dir.path().join("train");
    let args = [
        "train",
        "--data",
        s(&data),
        "--model",
        s(&tiny),
        "--out",
        s(&out),
    ];
    let mut flag = args.to_vec();
    flag.extend(["--lora-rank", "128", "--max-seq-len", "64"]);
    fails_with(&halt(&flag), message);
    assert!(!out.join("train_config.toml").exists());
    // a run: before any stage
    let toml = dir.path().join("run.toml");
    std::fs::write(
        &toml,
        format!("model = {:?}\n[train.lora]\nrank = 128\n", s(&tiny)),
    )
    .unwrap();
    let run = dir.path().join("run");
    fails_with(
        &halt(&["run", "--config", s(&toml), "--out", s(&run)]),
        "train.lora.rank = 128 exceeds the model's hidden size of 64 (hidden_size)",
    );
    assert!(!run.exists(), "a refused run wrote {}", run.display());
}

#[test]
fn a_runs_judge_and_train_settings_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("run.toml");
    let out = dir.path().join("run");
    for (text, message) in [
        (
            "[judge]\nsandbox_seconds = 1e12\n",
            "judge.sandbox_seconds must be in (0, 3600] seconds, got 1000000000000",
        ),
        (
            "[judge]\nsandbox_seconds = 1e30\n",
            "judge.sandbox_seconds must be in (0, 3600] seconds, got \
             1000000000000000000000000000000",
        ),
        (
            // 2^44 MiB = 2^64 bytes
            "[judge]\nsandbox_memory_mib = 17592186044416\n",
            "judge.sandbox_memory_mib must be at most 1048576, got 17592186044416",
        ),
        (
            "[judge]\nsandbox_memory_mib = 8\n",
            "judge.sandbox_memory_mib must be at least 64, got 8",
        ),
        (
            "domain = \"code\"\n[judge]\npython = \"/nonexistent/python3\"\n",
            "judge.python = \"/nonexistent/python3\": cannot run it: No such file or directory \
             (os error 2) (the code judge needs Python 3.8 or later)",
        ),
        (
            "[train]\nlr = 1e6\n",
            "train: lr must be at most 10, got 1000000",
        ),
        (
            "[train]\nepochs = 4294967296\n",
            "train: epochs must be at most 10000, got 4294967296",
        ),
        (
            "[sample]\nn = 4294967296\n",
            "sample: n must be at most 1024, got 4294967296",
        ),
        (
            "train_examples = 4294967296\n",
            "train_examples must be at most 100000000, got 4294967296",
        ),
    ] {
        std::fs::write(&toml, text).unwrap();
        fails_with(
            &halt(&["run", "--config", s(&toml), "--out", s(&out)]),
            message,
        );
    }
    assert!(!out.exists(), "a refused run wrote {}", out.display());
}

#[test]
fn big_integers_are_printed_exactly() {
    // by hand: 2^53 + 1 = 9007199254740993, which an f64 would round to 9007199254740992
    let out = halt(&["train", "--epochs", "9007199254740993", "--print-config"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("epochs = 9007199254740993\n"), "{text}");
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("t.toml");
    std::fs::write(&toml, "epochs = 9007199254740993\n").unwrap();
    let data = dir.path().join("a.jsonl");
    std::fs::write(&data, "").unwrap();
    let common = ["train", "--data", s(&data), "--out", "/nonexistent/out"];
    let want = "epochs must be at most 10000, got 9007199254740993";
    let mut by_flag = common.to_vec();
    by_flag.extend(["--epochs", "9007199254740993"]);
    fails_with(&halt(&by_flag), want);
    let mut by_file = common.to_vec();
    by_file.extend(["--config", s(&toml)]);
    fails_with(&halt(&by_file), want);
}

/// A Hugging Face folder with only a `config.json` (no weights): the tiny fixture's
/// configuration with a vocabulary of 10^6 tokens, 10^6 layers and a context of 10^6 tokens,
/// so that a large batch needs more memory than any machine. A refused command never loads
/// the weights, so none are needed.
fn huge_config(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(tiny().join("config.json")).unwrap();
    let mut c: serde_json::Value = serde_json::from_str(&text).unwrap();
    c["vocab_size"] = 1_000_000.into();
    c["num_hidden_layers"] = 1_000_000.into();
    c["max_position_embeddings"] = 1_000_000.into();
    let model = dir.join("huge");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::write(model.join("config.json"), c.to_string()).unwrap();
    model
}

/// Fails with `{head}` … `(MemTotal): lower {lower}`; the machine's memory between them
/// depends on the machine.
#[track_caller]
fn fails_for_memory(out: &Output, head: &str, lower: &str) {
    fails_with(out, head);
    fails_with(out, &format!("(MemTotal): lower {lower}"));
}

#[test]
fn settings_too_large_together_are_refused_before_any_work() {
    if !Path::new("/proc/meminfo").exists() {
        return; // the machine's memory is unknown: nothing is checked
    }
    let dir = tempfile::tempdir().unwrap();
    let huge = huge_config(dir.path());
    let model = s(&huge);
    // by hand (see settings::memory::estimate): a training step of 4096 × 100000 tokens:
    // logits 3 · 4096 · 10^5 · 10^6 · 4 B ≈ 4.4 PiB, keys and values 10^6 · 2 · 4096 · 2
    // · 10^5 · 16 · 4 B = 1.048576 · 10^17 B ≈ 93.1 PiB: in all ≈ 97.5 PiB
    let keys = "needs about 97.5 PiB of working memory (93.1 PiB for the keys and values \
                alone, 1000000 layers × 2 KV heads × 16 per head), more than this machine's";
    fails_for_memory(
        &halt(&[
            "bench-train",
            "--model",
            model,
            "--batch-size",
            "4096",
            "--seq-len",
            "100000",
            "--steps",
            "1",
        ]),
        &format!("batch_size 4096 × seq_len 100000 {keys}"),
        "batch_size or seq_len",
    );
    let data = dir.path().join("a.jsonl");
    std::fs::write(
        &data,
        r#"{"id":"r0","prompt":"hi","target":"the cat.","method":"halt","alpha":0.6,"selected":0,"kept":1,"dropped":0,"abstained":false}
"#,
    )
    .unwrap();
    let out = dir.path().join("train");
    let train = [
        "train",
        "--data",
        s(&data),
        "--model",
        model,
        "--out",
        s(&out),
        "--batch-size",
        "4096",
        "--max-seq-len",
        "100000",
    ];
    fails_for_memory(
        &halt(&train),
        &format!("batch_size 4096 × max_seq_len 100000 {keys}"),
        "batch_size or max_seq_len",
    );
    assert!(!out.exists(), "a refused run wrote {}", out.display());
    // a run: the same rule for its [train] settings, named as in the file (its [sample] and
    // [eval] batches small enough)
    let toml = dir.path().join("run.toml");
    std::fs::write(
        &toml,
        format!(
            "model = {model:?}\n[sample]\nbatch_prompts = 1\nn = 1\nmax_new_tokens = 1\n\
             [eval]\nbatch_size = 1\nmax_new_tokens = 1\n\
             [train]\nbatch_size = 4096\nmax_seq_len = 100000\n"
        ),
    )
    .unwrap();
    let run = dir.path().join("run");
    fails_for_memory(
        &halt(&["run", "--config", s(&toml), "--out", s(&run)]),
        &format!("train.batch_size 4096 × train.max_seq_len 100000 {keys}"),
        "train.batch_size or train.max_seq_len",
    );
    assert!(!run.exists(), "a refused run wrote {}", run.display());
    // sampling: one prompt (--limit 1, fewer than --batch-prompts) × 1024 samples of 100000
    // new tokens: KV cache 10^6 · 2 · 1024 · 2 · 100001 · 16 · 4 B ≈ 23.3 PiB
    let sampled = dir.path().join("s.jsonl");
    fails_for_memory(
        &halt(&[
            "sample",
            "--domain",
            "math",
            "--limit",
            "1",
            "--n",
            "1024",
            "--max-new-tokens",
            "100000",
            "--model",
            model,
            "--out",
            s(&sampled),
        ]),
        "prompts 1 × n 1024 × max_new_tokens 100000 needs about 23.3 PiB of working memory \
         (23.3 PiB for the KV cache alone, 1000000 layers × 2 KV heads × 16 per head)",
        "prompts, n or max_new_tokens",
    );
    assert!(!sampled.exists());
    // evaluation: one test prompt × 100000 new tokens: 10^6 · 2 · 1 · 2 · 100001 · 16 · 4 B
    // ≈ 23.3 TiB
    let test = dir.path().join("test.jsonl");
    std::fs::write(&test, common::sum_example("e", 0, 2, 3, "2+3?") + "\n").unwrap();
    let evaluated = dir.path().join("eval");
    fails_for_memory(
        &halt(&[
            "eval",
            "--data",
            s(&test),
            "--model",
            model,
            "--out",
            s(&evaluated),
            "--max-new-tokens",
            "100000",
        ]),
        "prompts 1 × max_new_tokens 100000 needs about 23.3 TiB of working memory (23.3 TiB \
         for the KV cache alone",
        "prompts or max_new_tokens",
    );
    assert!(!evaluated.exists());
    // generate and bench: the same rule with their own names
    let prompts = dir.path().join("p.txt");
    std::fs::write(&prompts, "hello\n").unwrap();
    fails_for_memory(
        &halt(&[
            "generate",
            "--prompts",
            s(&prompts),
            "--model",
            model,
            "--max-new-tokens",
            "100000",
        ]),
        "prompts 1 × max_new_tokens 100000 needs about 23.3 TiB",
        "prompts or max_new_tokens",
    );
    fails_for_memory(
        &halt(&[
            "bench",
            "--model",
            model,
            "--batch",
            "1",
            "--prompt-len",
            "100000",
            "--new-tokens",
            "1",
        ]),
        "batch 1 × prompt_len 100000 × new_tokens 1 needs about",
        "batch, prompt_len or new_tokens",
    );
}

#[test]
fn lora_alpha_and_the_optimiser_numbers_are_bounded_and_printed_as_typed() {
    // LoRA α: 1e39 is finite as typed but far above the bound of 65536 (and infinite as the
    // f32 scale α / rank); from the flag, from `[lora]` and from a run's `[train.lora]`
    train_flag_and_file(
        &["--lora-rank", "4", "--lora-alpha", "1e39"],
        "[lora]\nrank = 4\nalpha = 1e39\n",
        "lora.alpha must be at most 65536, got 1e39",
    );
    train_flag_and_file(
        &["--lora-rank", "4", "--lora-alpha", "65537"],
        "[lora]\nrank = 4\nalpha = 65537.0\n",
        "lora.alpha must be at most 65536, got 65537",
    );
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("run.toml");
    std::fs::write(&toml, "[train.lora]\nrank = 4\nalpha = 1e39\n").unwrap();
    let run = dir.path().join("run");
    fails_with(
        &halt(&["run", "--config", s(&toml), "--out", s(&run)]),
        "lora.alpha must be at most 65536, got 1e39",
    );
    // the f32 settings (file only): printed in their own shortest form, an overflow named
    let data = dir.path().join("a.jsonl");
    std::fs::write(&data, "").unwrap();
    let file = |toml: &str, message: &str| {
        let path = dir.path().join("t.toml");
        std::fs::write(&path, toml).unwrap();
        let out = "/nonexistent/out";
        fails_with(
            &halt(&[
                "train",
                "--data",
                s(&data),
                "--out",
                out,
                "--config",
                s(&path),
            ]),
            message,
        );
    };
    file("beta2 = -0.1\n", "beta2 must be in [0, 1), got -0.1");
    file(
        "weight_decay = 1e39\n",
        "weight_decay must be a finite number >= 0, got inf (a number beyond ±3.4e38, the \
         range of a 32-bit float)",
    );
    file(
        "weight_decay = 11.0\n",
        "weight_decay must be at most 10, got 11",
    );
    file("epsilon = 2.0\n", "epsilon must be at most 1, got 2");
    file(
        "max_grad_norm = 1e7\n",
        "max_grad_norm must be at most 1000000, got 10000000",
    );
    // sampling's temperature from a flag: 1e300 overflows an f32
    let out = dir.path().join("s.jsonl");
    fails_with(
        &halt(&[
            "sample",
            "--domain",
            "math",
            "--temperature",
            "1e300",
            "--model",
            "/nonexistent/model.gguf",
            "--out",
            s(&out),
        ]),
        "temperature must be a finite number >= 0 (0 = greedy), got inf (a number beyond \
         ±3.4e38, the range of a 32-bit float)",
    );
}

#[test]
fn an_endless_settings_file_or_line_is_refused() {
    if !Path::new("/dev/zero").exists() {
        return;
    }
    fails_with(
        &halt(&["run", "--config", "/dev/zero", "--out", "/nonexistent/run"]),
        "/dev/zero is larger than 1 MiB, too large for a settings file: is it the right file?",
    );
    fails_with(
        &halt(&["train", "--config", "/dev/zero", "--print-config"]),
        "/dev/zero is larger than 1 MiB, too large for a settings file",
    );
    fails_with(
        &halt(&[
            "eval",
            "--data",
            "/dev/zero",
            "--model",
            "/nonexistent/model.gguf",
            "--out",
            "/nonexistent/eval",
        ]),
        "/dev/zero:1: line longer than 64 MiB, the most one record may take (is it a JSON Lines \
         file?)",
    );
}

#[test]
fn a_budget_from_a_settings_file_is_named_as_a_setting_not_a_flag() {
    // by hand: the tiny model's context is 128 tokens; 200 new tokens leave no room
    let dir = tempfile::tempdir().unwrap();
    let tiny = tiny();
    let message = "max_new_tokens = 200 leaves no room for a prompt in the model's context \
                   length of 128 tokens (max_position_embeddings)";
    let toml = dir.path().join("c.toml");
    std::fs::write(&toml, "max_new_tokens = 200\n").unwrap();
    let sampled = dir.path().join("s.jsonl");
    fails_with(
        &halt(&[
            "sample",
            "--domain",
            "math",
            "--limit",
            "1",
            "--model",
            s(&tiny),
            "--config",
            s(&toml),
            "--out",
            s(&sampled),
        ]),
        message,
    );
    let test = dir.path().join("test.jsonl");
    std::fs::write(&test, common::sum_example("e", 0, 2, 3, "2+3?") + "\n").unwrap();
    fails_with(
        &halt(&[
            "eval",
            "--data",
            s(&test),
            "--model",
            s(&tiny),
            "--config",
            s(&toml),
            "--out",
            s(&dir.path().join("eval")),
        ]),
        message,
    );
    let prompts = dir.path().join("p.txt");
    std::fs::write(&prompts, "hello\n").unwrap();
    fails_with(
        &halt(&[
            "generate",
            "--prompts",
            s(&prompts),
            "--model",
            s(&tiny),
            "--max-new-tokens",
            "200",
        ]),
        message,
    );
}

/// The code judge's sandbox settings on the `judge` command follow `[judge]`'s rules, with the
/// same messages.
#[test]
fn the_judge_commands_sandbox_flags_follow_the_judge_settings_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let sampled = tmp.path().join("sampled.jsonl");
    std::fs::write(&sampled, "").unwrap();
    let out = tmp.path().join("judged.jsonl");
    let datasets = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
    let judge = |flag: &str, value: &str| {
        halt(&[
            "judge",
            "--domain",
            "code",
            "--datasets",
            s(&datasets),
            "--sampled",
            s(&sampled),
            "--out",
            s(&out),
            flag,
            value,
        ])
    };
    fails_with(
        &judge("--sandbox-seconds", "1e12"),
        "judge.sandbox_seconds must be in (0, 3600] seconds, got 1000000000000",
    );
    fails_with(
        &judge("--sandbox-memory-mib", "8"),
        "judge.sandbox_memory_mib must be at least 64, got 8",
    );
    fails_with(
        &judge("--python", "/nonexistent/python3"),
        "judge.python = \"/nonexistent/python3\": cannot run it",
    );
    assert!(!out.exists());
}
