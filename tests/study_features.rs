//! The study's features end to end, each from a fault found in review: `own_best` through
//! `halt-llm align`, the report's capability-by-depth section, and `halt-llm run
//! --reuse-from` on the tiny fixture model.

use std::path::Path;
use std::process::Command;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_halt-llm");

/// `halt-llm align --method own_best` on a prompt whose best sample (all tie at mean
/// correctness 0; the first wins the tie) is an empty response: the target must not be
/// empty, since `halt-llm train` (and so `halt-llm run` with the `own_best` baseline) refuses
/// an empty target ("record math-t0: empty target").
#[test]
fn own_best_never_writes_an_empty_target() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("datasets/math")).unwrap();
    std::fs::write(
        d.join("datasets/math/train.jsonl"),
        common::sum_example("t", 0, 2, 3, "what is 2 plus 3?") + "\n",
    )
    .unwrap();
    // As the tiny fixture model sampled them in a `halt-llm run` (seed 0).
    std::fs::write(
        d.join("sampled.jsonl"),
        r#"{"id":"math-t0","responses":["","mvEEzdmmDj?RTsR the","uQY?zJmcUmRZzsSd"],"model":"hf","sampling":{"temperature":0.7,"top_p":0.95,"seed":0,"max_new_tokens":16},"finish":["eos","length","length"]}
"#,
    )
    .unwrap();
    std::fs::write(
        d.join("judged.jsonl"),
        r#"{"id":"math-t0","responses":[{"fragments":[],"kind":"dependent","mean_correctness":0.0,"complete":false},{"fragments":[{"text":"mvEEzdmmDj?","start":0,"end":11,"correct":true,"neutral":true}],"kind":"dependent","mean_correctness":0.0,"complete":false,"cut":true},{"fragments":[{"text":"uQY?","start":0,"end":4,"correct":true,"neutral":true}],"kind":"dependent","mean_correctness":0.0,"complete":false,"cut":true}],"null_policy":"wrong"}
"#,
    )
    .unwrap();
    let out = d.join("own_best.jsonl");
    let p = |x: &Path| x.to_str().unwrap().to_string();
    let o = Command::new(BIN)
        .args(["align", "--domain", "math", "--method", "own_best"])
        .args(["--datasets", &p(&d.join("datasets"))])
        .args(["--sampled", &p(&d.join("sampled.jsonl"))])
        .args(["--judged", &p(&d.join("judged.jsonl"))])
        .args(["--out", &p(&out)])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&o.stderr);
    if !o.status.success() {
        // Refusing with a message is acceptable; writing an untrainable record is not.
        return;
    }
    let text = std::fs::read_to_string(&out).unwrap();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            !v["target"].as_str().unwrap().trim().is_empty(),
            "own_best wrote an empty target, which training refuses:\n{line}\n{log}"
        );
    }
}

/// The report's "Capability by depth" lists every model: a model none of whose answers
/// gives a counted step (it abstains everywhere, or only restates) is the most telling row,
/// and its reference-point and by-difficulty tables (all 0) do not need counted steps; it
/// must not silently vanish from the section while other models are shown.
#[test]
fn capability_by_depth_keeps_a_model_without_counted_steps() {
    use halt_llm::dataset::example::Example;
    use halt_llm::dataset::record::NullPolicy;
    use halt_llm::eval::Evaluated;
    use halt_llm::eval::depth::depth_section;

    let example: Example =
        serde_json::from_str(&common::sum_example("s", 0, 1, 1, "what is 1 plus 1?")).unwrap();
    let abstains: Evaluated = serde_json::from_str(
        r#"{"id":"math-s0","answer":"Unsure from Here","finish":"eos","fragments":[],"kind":"dependent","marker_at":0,"abstained":true,"partial_abstained":false,"complete":false,"n_fragments":0,"n_correct":0,"n_neutral":0,"n_undecided":0,"n_reference_fragments":1,"progress":{"reached":0,"desired":1,"solved":false}}"#,
    )
    .unwrap();
    let answers: Evaluated = serde_json::from_str(
        r#"{"id":"math-s0","answer":"1+1 = 2\n#### 2","finish":"eos","fragments":[{"text":"1+1 = 2","start":0,"end":7,"correct":true,"neutral":false}],"kind":"dependent","marker_at":null,"abstained":false,"partial_abstained":false,"complete":true,"n_fragments":1,"n_correct":1,"n_neutral":0,"n_undecided":0,"n_reference_fragments":1,"progress":{"reached":1,"desired":1,"solved":true}}"#,
    )
    .unwrap();
    let (a, b) = (vec![abstains], vec![answers]);
    let models = vec![
        ("idk".to_string(), a.as_slice()),
        ("unchanged".to_string(), b.as_slice()),
    ];
    let md = depth_section(&models, &[example], NullPolicy::Wrong);
    assert!(md.contains("### unchanged"), "{md}");
    assert!(
        md.contains("### idk"),
        "the abstaining model is missing from Capability by depth:\n{md}"
    );
}

fn tiny_model() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama/hf")
}

/// A tiny run's settings (validation prompts as test prompts) with the given baselines.
fn tiny_config(dir: &Path, baselines: &str) -> String {
    let math = dir.join("datasets/math");
    std::fs::create_dir_all(&math).unwrap();
    let ex = |tag: &str, i: usize, a: u32, b: u32| {
        common::sum_example(tag, i, a, b, &format!("what is {a} plus {b}?"))
    };
    let train: Vec<String> = [(2, 3), (4, 1), (5, 5), (6, 2)]
        .iter()
        .enumerate()
        .map(|(i, (a, b))| ex("t", i, *a, *b))
        .collect();
    let held: Vec<String> = [(1, 1), (3, 4)]
        .iter()
        .enumerate()
        .map(|(i, (a, b))| ex("v", i, *a, *b))
        .collect();
    std::fs::write(math.join("train.jsonl"), train.join("\n") + "\n").unwrap();
    std::fs::write(math.join("validation.jsonl"), held.join("\n") + "\n").unwrap();
    std::fs::write(math.join("test.jsonl"), held.join("\n") + "\n").unwrap();
    format!(
        r#"model = "{model}"
domain = "math"
datasets = "{datasets}"
train_examples = 4
test_examples = 2
test_split = "validation"
alphas = [0.6]
baselines = {baselines}

[sample]
n = 3
max_new_tokens = 16
batch_prompts = 3
shots = 0

[train]
epochs = 1
batch_size = 2
max_seq_len = 128
checkpoint_every = 10

[eval]
max_new_tokens = 16
batch_size = 2
"#,
        model = tiny_model().display(),
        datasets = dir.join("datasets").display()
    )
}

fn halt_run(config: &Path, out: &Path, reuse: Option<&Path>) -> (bool, String) {
    let mut c = Command::new(BIN);
    c.args(["run", "--config", config.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()]);
    if let Some(r) = reuse {
        c.args(["--reuse-from", r.to_str().unwrap()]);
    }
    let o = c.output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A run folder that already has its own `sampled.jsonl` (an interrupted run that finished
/// sampling, e.g. on another device, which `--reuse-from` allows) must not receive the other
/// folder's `judged.jsonl` (and the targets built from it): those are the verdicts of other
/// responses. They were copied, and the first variant the other folder lacked failed to
/// align ("fragment 0 is not a slice of the response text"), on every rerun too.
#[test]
fn reuse_does_not_pair_this_folders_samples_with_the_other_folders_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let first = d.join("first.toml");
    std::fs::write(&first, tiny_config(d, r#"["unchanged"]"#)).unwrap();
    let (ok, log) = halt_run(&first, &d.join("A"), None);
    assert!(ok, "{log}");
    // B: its own settings recorded, the same prompts, and its own (other) samples.
    let second = d.join("second.toml");
    let text = tiny_config(d, r#"["unchanged", "random_trim"]"#);
    std::fs::write(&second, &text).unwrap();
    let b = d.join("B");
    std::fs::create_dir_all(b.join("data")).unwrap();
    std::fs::write(b.join("config.toml"), &text).unwrap();
    for f in ["train.jsonl", "test.jsonl"] {
        std::fs::copy(d.join("A/data").join(f), b.join("data").join(f)).unwrap();
    }
    let own: Vec<String> = std::fs::read_to_string(d.join("A/sampled.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut r: serde_json::Value = serde_json::from_str(l).unwrap();
            r["responses"] = serde_json::json!(vec!["1+1 = 2\n#### 2"; 3]);
            r["finish"] = serde_json::json!(vec!["eos"; 3]);
            r.to_string()
        })
        .collect();
    std::fs::write(b.join("sampled.jsonl"), own.join("\n") + "\n").unwrap();
    let (ok, log) = halt_run(&second, &b, Some(&d.join("A")));
    let judged = std::fs::read_to_string(b.join("judged.jsonl")).unwrap_or_default();
    let theirs = std::fs::read_to_string(d.join("A/judged.jsonl")).unwrap();
    assert!(
        !ok || judged != theirs,
        "B's samples were paired with A's verdicts:\n{log}"
    );
    if ok {
        return;
    }
    assert!(
        log.contains("--reuse-from") && !b.join("judged.jsonl").exists(),
        "reuse left B in a state a rerun cannot finish:\n{log}"
    );
}

/// `reference_free_alphas` (issue 17): the run labels its samples by agreement as well and
/// trains `halt-rf-α` beside `halt-α`; its labels and targets are those of the stage commands
/// (`judge --reference-free`, whose labels a hand-computed test checks, then `align`).
#[test]
fn a_run_trains_halt_on_reference_free_labels_beside_the_judges() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = d.join("rf.toml");
    let text = tiny_config(d, "[]").replace(
        "alphas = [0.6]\n",
        "alphas = [0.6]\nreference_free_alphas = [0.6]\nmin_support = 1\n",
    );
    std::fs::write(&config, text).unwrap();
    let run = d.join("R");
    let (ok, log) = halt_run(&config, &run, None);
    assert!(ok, "{log}");
    let stage = |args: &[&str]| {
        let o = Command::new(BIN).args(args).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let p = |f: &str| run.join(f).display().to_string();
    let own = d.join("rf-judged.jsonl").display().to_string();
    stage(&[
        "judge",
        "--domain",
        "math",
        "--reference-free",
        "--min-support",
        "1",
        "--sampled",
        &p("sampled.jsonl"),
        "--out",
        &own,
    ]);
    assert_eq!(
        std::fs::read_to_string(&own).unwrap(),
        std::fs::read_to_string(run.join("judged-reference-free.jsonl")).unwrap()
    );
    let aligned = d.join("rf-aligned.jsonl").display().to_string();
    let datasets = d.join("datasets").display().to_string();
    stage(&[
        "align",
        "--domain",
        "math",
        "--datasets",
        &datasets,
        "--alpha",
        "0.6",
        "--sampled",
        &p("sampled.jsonl"),
        "--judged",
        &own,
        "--out",
        &aligned,
    ]);
    let targets = |f: &str| -> Vec<String> {
        std::fs::read_to_string(f)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["target"].to_string())
            .collect()
    };
    assert_eq!(targets(&aligned), targets(&p("aligned/halt-rf-0.6.jsonl")));
    assert!(run.join("models/halt-rf-0.6/model/config.json").exists());
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("| halt-rf | 0.6 |"), "{report}");
}

/// A user with prompts alone (issue 17): training examples without reference or ground truth
/// (`{"id", "domain", "prompt"}`) give a HALT model through a run that trains only on
/// reference-free labels; no ground-truth judging happens (no `judged.jsonl`), the model is
/// evaluated on the test split's ground truth, and a run that asks for ground-truth models on
/// such prompts is refused before any work, naming the first prompt alone.
#[test]
fn a_run_on_prompts_alone_trains_halt_on_reference_free_labels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let text = tiny_config(d, "[]");
    let prompts: Vec<String> = [(2, 3), (4, 1), (5, 5), (6, 2)]
        .iter()
        .enumerate()
        .map(|(i, (a, b))| {
            serde_json::json!({"id": format!("mine-{i}"), "domain": "math",
                               "prompt": format!("what is {a} plus {b}?")})
            .to_string()
        })
        .collect();
    std::fs::write(
        d.join("datasets/math/train.jsonl"),
        prompts.join("\n") + "\n",
    )
    .unwrap();
    // asking for models on the judge's labels: refused, naming the prompt
    let refused = d.join("refused.toml");
    std::fs::write(&refused, &text).unwrap();
    let (ok, log) = halt_run(&refused, &d.join("X"), None);
    assert!(!ok);
    assert!(
        log.contains("`mine-0` is a prompt alone") && log.contains("alphas = []"),
        "{log}"
    );
    assert!(!d.join("X/sampled.jsonl").exists());
    // reference-free only: trained and evaluated
    let config = d.join("rf.toml");
    let text = text.replace(
        "alphas = [0.6]\n",
        "alphas = []\nreference_free_alphas = [0.6]\nmin_support = 1\n",
    );
    std::fs::write(&config, text).unwrap();
    let run = d.join("R");
    let (ok, log) = halt_run(&config, &run, None);
    assert!(ok, "{log}");
    assert!(run.join("sampled.jsonl").exists());
    assert!(!run.join("judged.jsonl").exists());
    assert!(run.join("judged-reference-free.jsonl").exists());
    assert!(run.join("models/halt-rf-0.6/model/config.json").exists());
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("| halt-rf | 0.6 |"), "{report}");
    assert!(
        report.contains("at least 1 of the other 2 samples")
            && report.contains("no model here uses the ground-truth judge's labels"),
        "{report}"
    );
    // the judge on a prompt alone says what to do instead
    let o = Command::new(BIN)
        .args(["judge", "--domain", "math", "--datasets"])
        .arg(d.join("datasets"))
        .arg("--sampled")
        .arg(run.join("sampled.jsonl"))
        .arg("--out")
        .arg(d.join("j.jsonl"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--reference-free"), "{err}");
}
