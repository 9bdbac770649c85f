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

/// A small run (one HALT model, two epochs) on the examples of [`setup`], with the given
/// generation budgets and number of test prompts, written to `dir/<name>.toml`.
fn small_config(
    dir: &Path,
    name: &str,
    sample_tokens: usize,
    eval_tokens: usize,
    test_examples: usize,
) -> PathBuf {
    let config = format!(
        r#"model = "{model}"
domain = "math"
datasets = "{datasets}"
train_examples = 6
test_examples = {test_examples}
alphas = [0.4]
baselines = []

[sample]
n = 2
max_new_tokens = {sample_tokens}
batch_prompts = 3
shots = 2

[train]
epochs = 2
batch_size = 2
max_seq_len = 128
checkpoint_every = 10

[eval]
max_new_tokens = {eval_tokens}
batch_size = 3
"#,
        model = tiny_model().display(),
        datasets = dir.join("datasets").display()
    );
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, config).unwrap();
    path
}

/// `halt-llm run` that must fail: its error output.
fn run_error(config: &Path, out: &Path) -> String {
    let o = Command::new(BIN)
        .args(["run", "--config", config.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "halt-llm run succeeded:\n{log}");
    log
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

/// Every prompt of a run (training prompts with `[sample]`'s budget, test prompts with
/// `[eval]`'s) is checked against the context before any stage works, and the message names
/// the file, the example, the token counts and the setting as the run's file writes it. A run
/// that failed so leaves no result, and its folder takes the corrected settings (choosing its
/// examples again); once a stage has produced something, other settings are refused.
#[test]
fn prompts_are_checked_first_and_a_failed_start_does_not_bind_the_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    setup(dir);
    let out = dir.join("r");
    // by hand: `<|im_start|>` `user` (4) `\n`, `what is 1 plus 1?` (`what` 4, ` is` 3, ` 1` 1:
    // the tiny vocabulary has no digits, ` plus` 5, ` 1` 1, `?` 1), `<|im_end|>` `\n`
    // `<|im_start|>` `assistant` (9) `\n`: 1 + 4 + 1 + 15 + 1 + 1 + 1 + 9 + 1 = 34 tokens, and
    // as many for `what is 2 plus 3?`
    const PROMPT_T6: usize = 34;
    const PROMPT_T0: usize = 34;
    let message = |file: &str, id: &str, prompt: usize, tokens: usize, setting: &str| {
        format!(
            "error: {}: example `{id}`: its prompt is {prompt} tokens; with {tokens} new tokens \
             ({setting}) it needs {}, more than the model's context length of 128 tokens \
             (max_position_embeddings): lower {setting} or shorten the prompt\n",
            out.join("data").join(file).display(),
            prompt + tokens
        )
    };
    // 1. the test prompts do not fit with 120 new tokens: refused before sampling
    let err = run_error(&small_config(dir, "eval120", 12, 120, 3), &out);
    assert_eq!(
        err,
        message(
            "test.jsonl",
            "math-t6",
            PROMPT_T6,
            120,
            "[eval] max_new_tokens"
        )
    );
    assert!(!out.join("sampled.jsonl.partial").exists() && !out.join("sampled.jsonl").exists());
    // 2. nor do the training prompts with 120 (the folder takes these other settings)
    let err = run_error(&small_config(dir, "sample120", 120, 12, 3), &out);
    assert_eq!(
        err,
        message(
            "train.jsonl",
            "math-t0",
            PROMPT_T0,
            120,
            "[sample] max_new_tokens"
        )
    );
    // 3. corrected, with two test prompts: the folder takes them and chooses its examples again
    run(&small_config(dir, "fixed", 12, 12, 2), &out);
    let test = std::fs::read_to_string(out.join("data/test.jsonl")).unwrap();
    assert_eq!(test.lines().count(), 2);
    assert!(out.join("report.md").exists());
    // 4. with results in it, the folder refuses other settings
    let err = run_error(&small_config(dir, "eval13", 12, 13, 2), &out);
    assert!(err.contains("was made with other settings"), "{err}");
    assert!(
        err.contains("eval.max_new_tokens = 12 there, 13 now"),
        "{err}"
    );
}

/// Where a run folder stands: the last stage whose output exists (for the kill log).
fn stage_of(dir: &Path) -> String {
    let has = |p: &str| dir.join(p).exists();
    let count = |sub: &str, file: &str| {
        VARIANTS
            .iter()
            .filter(|v| dir.join(sub).join(v).join(file).exists())
            .count()
    };
    if has("report.md") {
        "done".into()
    } else if count("eval", "summary.json") > 0 || has("eval") {
        format!(
            "evaluating ({} of 4 + pretrained)",
            count("eval", "summary.json")
        )
    } else if count("models", "model/config.json") > 0 || has("models") {
        format!(
            "finetuning ({} of 4 done)",
            count("models", "model/config.json")
        )
    } else if has("aligned") {
        "aligning".into()
    } else if has("judged.jsonl") || has("sampled.jsonl") {
        "judging".into()
    } else if has("sampled.jsonl.partial") || has("data") {
        "sampling".into()
    } else {
        "starting".into()
    }
}

/// Every file under `dir`, relative, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// kill -9 anywhere (issue 14): `halt-llm run` killed with SIGKILL at pseudo-random moments
/// (fixed seed) and started again each time ends with the same stage outputs, models, answers
/// and report as an uninterrupted run, and leaves no `.partial` or temporary file behind.
#[test]
fn killed_anywhere_and_restarted_a_run_ends_as_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let config = setup(dir);
    let a = dir.join("a");
    let started = Instant::now();
    run(&config, &a);
    let total = started.elapsed();

    // Kill moments: when a stage's output appears (or any later one: a stage may have finished
    // in an earlier attempt), plus a pseudo-random delay (fixed-seed SplitMix64) of up to 3% of
    // the uninterrupted run's wall time; one attempt per marker, each started on the folder the
    // previous one was killed in.
    let mut state = 0x0123_4567_89ab_cdefu64;
    let mut next = || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let markers = [
        "config.toml",
        "data/test.jsonl",
        "sampled.jsonl.partial",
        "sampled.jsonl",
        "judged.jsonl",
        "aligned",
        "models/halt-0.4/checkpoint",
        "models/halt-0.4/model",
        "models/halt-0.8/checkpoint",
        "models/unchanged/model",
        "models/idk/checkpoint",
        "eval",
        "eval/halt-0.8",
        "eval/idk",
        "eval/pretrained-4shot",
    ];
    let b = dir.join("b");
    let mut kills = Vec::new();
    for (k, marker) in markers.iter().enumerate() {
        let delay = total.mul_f64(0.03 * next());
        let mut child = Command::new(BIN)
            .args(["run", "--config", config.to_str().unwrap()])
            .args(["--out", b.to_str().unwrap()])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        let mut seen = None;
        while child.try_wait().unwrap().is_none() {
            if seen.is_none() && markers[k..].iter().any(|m| b.join(m).exists()) {
                seen = Some(Instant::now());
            }
            if seen.is_some_and(|s| s.elapsed() >= delay) || t.elapsed() > total * 4 {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if child.try_wait().unwrap().is_some() {
            kills.push(format!("{marker}: finished first"));
            continue;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills.push(format!(
            "{marker} +{:.0} ms: {}",
            delay.as_secs_f64() * 1e3,
            stage_of(&b)
        ));
    }
    eprintln!(
        "uninterrupted run {:.1}s; killed at {}",
        total.as_secs_f64(),
        kills.join(", ")
    );
    let killed = kills
        .iter()
        .filter(|k| !k.ends_with("finished first"))
        .count();
    assert!(killed >= 8, "only {killed} kills: {kills:?}");
    run(&config, &b);

    let (fa, fb) = (files_under(&a), files_under(&b));
    let only = |x: &[PathBuf], y: &[PathBuf]| -> Vec<PathBuf> {
        x.iter().filter(|f| !y.contains(f)).cloned().collect()
    };
    assert!(
        fa == fb,
        "only in the uninterrupted run: {:?}; only in the killed one: {:?} ({})",
        only(&fa, &fb),
        only(&fb, &fa),
        kills.join(", ")
    );
    for f in &fb {
        let name = f.file_name().unwrap().to_string_lossy();
        assert!(
            !name.ends_with(".partial")
                && !name.ends_with(".tmp")
                && !name.starts_with(".halt-tmp"),
            "left behind: {}",
            f.display()
        );
        // checkpoints and logs hold timings; the config is written by each; every result must match
        // Not compared byte for byte: checkpoints, training logs and summaries (timings),
        // and `made_with.json` (it names the model by its path, which differs between a and b).
        let in_model_folder = f.iter().nth(2).is_some_and(|c| c == "model");
        if (f.starts_with("models") && !in_model_folder) || name == "made_with.json" {
            continue;
        }
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{} differs after the kills ({})",
            f.display(),
            kills.join(", ")
        );
    }
}
