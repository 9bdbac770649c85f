//! `halt-llm eval` end to end on the tiny random GGUF model and four hand-made maths test
//! examples: the output folder holds evaluated.jsonl, summary.json, report.md and the plot; a
//! rerun with a larger `--limit` answers only the new prompts; a rerun under another null
//! policy answers nothing and recomputes the summary.
//!
//! The tiny model's vocabulary has letters, space, newline and `. , ! ?` only: its answers hold
//! no digit and no final answer, so the maths judge leaves every step undecided (null).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use halt_llm::dataset::read_jsonl;
use halt_llm::dataset::record::NullPolicy;
use halt_llm::eval::{Evaluated, Summary};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_halt-llm");

fn tiny_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama/tiny.gguf")
}

/// `(a, b)` of the examples `math-e{i}`: prompt `a+b?`, reference `a+b = c\n#### c` (2 steps).
const SUMS: [(u32, u32); 4] = [(2, 3), (4, 1), (5, 5), (6, 2)];

fn write_test_set(path: &Path) {
    let mut text = String::new();
    for (i, (a, b)) in SUMS.iter().enumerate() {
        text.push_str(&common::sum_example("e", i, *a, *b, &format!("{a}+{b}?")));
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn eval(data: &Path, out: &Path, extra: &[&str]) -> Output {
    let (args, o) = eval_with(data, out, "10", extra);
    assert!(
        o.status.success(),
        "halt-llm {args:?} failed:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// `halt-llm eval` with `--max-new-tokens max_new_tokens`, succeeding or not.
fn eval_with(
    data: &Path,
    out: &Path,
    max_new_tokens: &str,
    extra: &[&str],
) -> (Vec<String>, Output) {
    let mut args = vec![
        "eval",
        "--model",
        tiny_model().to_str().unwrap(),
        "--device",
        "cpu",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--max-new-tokens",
        max_new_tokens,
        "--batch-size",
        "2",
        "--resamples",
        "200",
    ]
    .into_iter()
    .map(str::to_string)
    .collect::<Vec<_>>();
    args.extend(extra.iter().map(|s| s.to_string()));
    let o = Command::new(BIN).args(&args).output().unwrap();
    (args, o)
}

/// The error of a `halt-llm eval` that must fail.
fn eval_error(data: &Path, out: &Path, max_new_tokens: &str) -> String {
    let (args, o) = eval_with(data, out, max_new_tokens, &[]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "halt-llm {args:?} succeeded:\n{err}");
    err
}

fn summary(out: &Path) -> Summary {
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn eval_on_the_tiny_model_writes_records_summary_report_and_plot() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("test.jsonl");
    write_test_set(&data);
    let out = tmp.path().join("eval");

    // 1. the first two prompts
    eval(&data, &out, &["--limit", "2"]);
    let first: Vec<Evaluated> = read_jsonl(&out.join("evaluated.jsonl")).unwrap();
    let ids: Vec<&str> = first.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["math-e0", "math-e1"]);
    for e in &first {
        assert_eq!(e.n_reference_fragments, 2, "`a+b = c` and `#### c`");
        assert!(
            !e.answer.chars().any(|c| c.is_ascii_digit()),
            "{:?}",
            e.answer
        );
        // no number: every step is neutral, neither given nor correct
        assert!(e.fragments.iter().all(|f| f.neutral));
        assert_eq!((e.n_fragments, e.n_neutral), (0, e.fragments.len()));
        assert_eq!(e.n_undecided, 0);
        assert!(!e.abstained && !e.partial_abstained && e.marker_at.is_none());
        assert!(!e.complete, "no final answer");
        for f in &e.fragments {
            assert_eq!(e.answer.get(f.start..f.end), Some(f.text.as_str()));
        }
    }
    assert!(!out.join("evaluated.jsonl.partial").exists());

    // 2. all four: only the two new prompts are answered, the first two records are kept
    let o = eval(&data, &out, &[]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("eval: 4 prompts (2 already done)"), "{log}");
    let all: Vec<Evaluated> = read_jsonl(&out.join("evaluated.jsonl")).unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!(all[..2], first[..]);
    let s = summary(&out);
    assert_eq!(s.null_policy, NullPolicy::Wrong);
    assert_eq!(s.counts.prompts, 4);
    assert_eq!(s.counts.reference_fragments, 8);
    assert_eq!(s.counts.abstained, 0);
    assert_eq!(s.abstention.value, Some(0.0));
    // every fragment neutral: nothing given, correctness undefined, completeness and F1 0
    let neutral: usize = all.iter().map(|e| e.n_neutral).sum();
    assert_eq!(s.counts.fragments_given, 0);
    assert_eq!(s.counts.fragments_neutral, neutral);
    assert_eq!(s.correctness.value, None);
    assert_eq!(s.completeness.value, Some(0.0));
    assert_eq!(s.f1.value, Some(0.0));
    assert_eq!(s.solve_rate.as_ref().and_then(|e| e.value), Some(0.0));

    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.starts_with("# Evaluation of tiny.gguf\n"), "{md}");
    assert!(md.contains("| tiny.gguf | – |"), "{md}");
    assert!(md.contains("## How the numbers were computed"));
    let png = std::fs::read(out.join("plot.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(out.join("plot.svg")).unwrap();
    assert!(svg.contains("completeness") && svg.contains("correctness"));

    // 3. another null policy: nothing is answered again, the summary follows the policy; with
    // nothing given, correctness stays undefined (null, n/a), not NaN
    let o = eval(&data, &out, &["--null-policy", "ignore", "--label", "tiny"]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("eval: 4 prompts (4 already done)"), "{log}");
    assert!(log.contains("correctness n/a"), "{log}");
    let again: Vec<Evaluated> = read_jsonl(&out.join("evaluated.jsonl")).unwrap();
    assert_eq!(again, all);
    let s = summary(&out);
    assert_eq!(s.null_policy, NullPolicy::Ignore);
    assert_eq!(s.correctness.value, None);
    assert_eq!(s.counts.answered, 0);
    let json = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(!json.contains("NaN"));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("| tiny | – | n/a |"), "{md}");
}

#[test]
fn eval_refuses_a_missing_test_file() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Command::new(BIN)
        .args(["eval", "--model", tiny_model().to_str().unwrap()])
        .args(["--data", tmp.path().join("nope.jsonl").to_str().unwrap()])
        .args(["--out", tmp.path().join("o").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("nope.jsonl"), "{err}");
}

/// A failed evaluation leaves no answer: the corrected command into the same folder is not
/// refused as made with other settings; once the folder holds answers, it is.
#[test]
fn a_folder_without_answers_takes_the_corrected_settings() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("test.jsonl");
    write_test_set(&data);
    let out = tmp.path().join("eval");
    // 120 new tokens leave 8 of the 128 for a prompt: too few for the first one
    let err = eval_error(&data, &out, "120");
    assert!(err.contains("example `math-e0`"), "{err}");
    assert!(!out.join("evaluated.jsonl.partial").exists());
    // corrected: accepted and recorded
    eval(&data, &out, &[]);
    assert_eq!(
        read_jsonl::<Evaluated>(&out.join("evaluated.jsonl"))
            .unwrap()
            .len(),
        4
    );
    let made_with: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("made_with.json")).unwrap())
            .unwrap();
    assert_eq!(made_with["max_new_tokens"], 10);
    // with answers in it, the folder is bound to the settings that made them
    let err = eval_error(&data, &out, "11");
    assert!(err.contains("max_new_tokens = 10 there, 11 now"), "{err}");
}

/// Answers whose `made_with.json` was deleted or damaged are refused (other settings could not
/// be told apart); a folder without answers takes the new settings whatever its record holds.
#[test]
fn answers_without_a_readable_record_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("test.jsonl");
    write_test_set(&data);
    let out = tmp.path().join("eval");
    let record = out.join("made_with.json");
    // no answers: a damaged record is replaced
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(&record, "not json").unwrap();
    eval(&data, &out, &["--limit", "1"]);
    let made_with: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(made_with["max_new_tokens"], 10);
    // answers, the record deleted: refused, naming the folder and the record
    std::fs::remove_file(&record).unwrap();
    let err = eval_error(&data, &out, "11");
    assert!(
        err.contains(&format!(
            "{} holds results without a record of what made them ({} is missing",
            out.display(),
            record.display()
        )),
        "{err}"
    );
    assert!(err.contains("delete this folder to start over"), "{err}");
    // damaged: refused too
    std::fs::write(&record, "not json").unwrap();
    let err = eval_error(&data, &out, "10");
    assert!(
        err.contains(&format!(
            "{} is not a record of what made the results in {}",
            record.display(),
            out.display()
        )),
        "{err}"
    );
}

/// Every prompt is checked against the context before the first answer: a prompt too long
/// third in the file stops the command before the first two are answered, with a message that
/// names the file, the example, the token counts, the context and the flag.
#[test]
fn a_prompt_too_long_is_refused_before_any_answer() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("test.jsonl");
    // by hand: 300 times `a`, one token each in the tiny vocabulary (no merge of `aa`), in the
    // chat template: `<|im_start|>` `user` (4) `\n`, the prompt, `<|im_end|>` `\n`
    // `<|im_start|>` `assistant` (9) `\n`: 300 + 19 = 319 tokens, 329 with 10 new ones
    let long = "a".repeat(300);
    let mut text = String::new();
    for (i, (a, b)) in SUMS.iter().enumerate() {
        let prompt = if i == 2 {
            long.clone()
        } else {
            format!("{a}+{b}?")
        };
        text.push_str(&common::sum_example("e", i, *a, *b, &prompt));
        text.push('\n');
    }
    std::fs::write(&data, text).unwrap();
    let out = tmp.path().join("eval");
    let err = eval_error(&data, &out, "10");
    let expected = format!(
        "error: {}: example `math-e2`: its prompt is 319 tokens; with 10 new tokens \
         (max_new_tokens) it needs 329, more than the model's context length of 128 tokens \
         (max_position_embeddings): lower max_new_tokens or shorten the prompt\n",
        data.display()
    );
    assert_eq!(err, expected);
    assert!(
        !out.join("evaluated.jsonl.partial").exists(),
        "answers were written"
    );
    assert!(
        !out.join("evaluated.jsonl").exists(),
        "answers were written"
    );
    // the first two alone fit
    eval(&data, &out, &["--limit", "2"]);
}

/// An evaluation folder remembers its test file: another `--data` file is refused (its old
/// answers would be reused for other prompts), naming both files; the same file moved is not.
#[test]
fn another_test_file_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("test.jsonl");
    write_test_set(&data);
    let out = tmp.path().join("eval");
    eval(&data, &out, &[]);
    // the same ids with other prompts
    let other = tmp.path().join("other.jsonl");
    let text = std::fs::read_to_string(&data)
        .unwrap()
        .replace("2+3?", "3+2?");
    std::fs::write(&other, text).unwrap();
    let err = eval_error(&other, &out, "10");
    let names = format!(
        "data = \"{}\" there, \"{}\" now; data_sha256 = ",
        data.display(),
        other.display()
    );
    assert!(err.contains(&names), "{err}");
    assert!(
        err.contains(&format!("{} was made with other settings", out.display())),
        "{err}"
    );
    // the same file elsewhere: its answers are reused
    let moved = tmp.path().join("moved.jsonl");
    std::fs::copy(&data, &moved).unwrap();
    let o = eval(&moved, &out, &[]);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("eval: 4 prompts (4 already done)"), "{log}");
}
