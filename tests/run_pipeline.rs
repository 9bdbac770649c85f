//! `halt-llm run` end to end on the tiny fixture model and nine hand-made maths examples:
//! every stage's output, the report and the plot exist; a rerun skips every stage; a run
//! killed during finetuning and started again ends with the same report.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_halt-llm");

fn tiny_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama/hf")
}

fn example(i: usize, a: u32, b: u32) -> String {
    common::sum_example("t", i, a, b, &format!("what is {a} plus {b}?"))
}

fn setup(dir: &Path) -> PathBuf {
    let math = dir.join("datasets/math");
    std::fs::create_dir_all(&math).unwrap();
    let sums = [
        (2, 3),
        (4, 1),
        (5, 5),
        (6, 2),
        (7, 1),
        (8, 8),
        (1, 1),
        (3, 4),
        (9, 2),
    ];
    let lines: Vec<String> = sums
        .iter()
        .enumerate()
        .map(|(i, (a, b))| example(i, *a, *b))
        .collect();
    std::fs::write(math.join("train.jsonl"), lines[..6].join("\n") + "\n").unwrap();
    std::fs::write(math.join("test.jsonl"), lines[6..].join("\n") + "\n").unwrap();
    let config = format!(
        r#"model = "{model}"
domain = "math"
datasets = "{datasets}"
train_examples = 6
test_examples = 3
alphas = [0.4, 0.8]
baselines = ["unchanged", "idk"]
eval_max_new_tokens = 12
eval_batch_size = 3

[sample]
n = 3
max_new_tokens = 12
batch_prompts = 3
shots = 2

[train]
epochs = 40
lr = 1e-3
batch_size = 2
max_seq_len = 128
checkpoint_every = 10
"#,
        model = tiny_model().display(),
        datasets = dir.join("datasets").display()
    );
    let path = dir.join("run.toml");
    std::fs::write(&path, config).unwrap();
    path
}

fn run(config: &Path, out: &Path) -> String {
    let o = Command::new(BIN)
        .args([
            "run",
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "halt-llm run failed:\n{log}");
    log
}

const VARIANTS: [&str; 4] = ["halt-0.4", "halt-0.8", "unchanged", "idk"];

#[test]
fn run_writes_every_stage_skips_when_done_and_survives_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = setup(dir);

    // An uninterrupted run.
    let a = dir.join("a");
    let log = run(&config, &a);
    for f in [
        "config.toml",
        "data/train.jsonl",
        "data/test.jsonl",
        "sampled.jsonl",
        "judged.jsonl",
    ] {
        assert!(a.join(f).exists(), "{f}\n{log}");
    }
    for v in VARIANTS {
        assert!(a.join(format!("aligned/{v}.jsonl")).exists(), "{v}");
        assert!(
            a.join(format!("models/{v}/model/model.safetensors"))
                .exists(),
            "{v}"
        );
        assert!(a.join(format!("eval/{v}/summary.json")).exists(), "{v}");
        assert!(a.join(format!("eval/{v}/evaluated.jsonl")).exists(), "{v}");
    }
    let report = std::fs::read_to_string(a.join("report.md")).unwrap();
    // HALT rows are named `halt` with their α (one line in the plot), baselines by name.
    for row in [
        "| halt | 0.4 |",
        "| halt | 0.8 |",
        "| unchanged |",
        "| idk | 0.8 |",
    ] {
        assert!(
            report.contains(row),
            "{row} missing from the report:\n{report}"
        );
    }
    let png = std::fs::read(a.join("plot.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        std::fs::read_to_string(a.join("plot.svg"))
            .unwrap()
            .contains("<svg")
    );

    // A rerun does nothing but rewrite the report.
    let again = run(&config, &a);
    for word in ["sampling", "judging", "finetuning", "evaluating"] {
        assert!(!again.contains(word), "rerun did `{word}`:\n{again}");
    }
    assert_eq!(
        std::fs::read_to_string(a.join("report.md")).unwrap(),
        report
    );

    // Other settings in the same folder are refused.
    let changed = dir.join("changed.toml");
    std::fs::write(
        &changed,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("epochs = 40", "epochs = 41"),
    )
    .unwrap();
    let o = Command::new(BIN)
        .args([
            "run",
            "--config",
            changed.to_str().unwrap(),
            "--out",
            a.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("other settings"));

    // A run killed once the first model has a checkpoint, then started again.
    let b = dir.join("b");
    let mut child = Command::new(BIN)
        .args([
            "run",
            "--config",
            config.to_str().unwrap(),
            "--out",
            b.to_str().unwrap(),
        ])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = b.join("models/halt-0.4/checkpoint/model-1.bpk");
    let started = Instant::now();
    while !checkpoint.exists() && started.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(checkpoint.exists(), "no checkpoint appeared");
    let resumed = run(&config, &b);
    assert_eq!(
        std::fs::read_to_string(b.join("report.md")).unwrap(),
        report,
        "resumed run differs:\n{resumed}"
    );
}
