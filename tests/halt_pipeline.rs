//! End to end through the `halt-llm` binary on tiny inputs: sample (the tiny random GGUF
//! model) → judge → align on six hand-made maths examples, with resumed runs; plus
//! `halt-llm fragment` on hand-checked offsets.
//!
//! The tiny model's vocabulary has letters, space, newline and `. , ! ?` only, so its
//! responses never contain a digit; the maths judge counts steps without numbers as correct
//! (its documented rule), which the expectations below follow. One sampled record is replaced
//! by hand-written responses so that wrong steps and "Unsure from Here" targets are checked too.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use halt_llm::dataset::fewshot::PromptFormat;
use halt_llm::dataset::record::{AlignMethod, Aligned, FragmentKind, Judged, Sampled};
use halt_llm::dataset::sample::{SampleConfig, SampleSettings, few_shot_prompt};
use halt_llm::dataset::{Example, read_jsonl};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_halt-llm");

fn tiny_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama/tiny.gguf")
}

/// `(a, b)` of the six examples `math-t{i}`: prompt `a+b?`, reference `a+b = c\n#### c`.
const SUMS: [(u32, u32); 6] = [(2, 3), (4, 1), (5, 5), (6, 2), (7, 1), (8, 8)];

fn write_dataset(root: &Path) {
    let dir = root.join("math");
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = String::new();
    for (i, (a, b)) in SUMS.iter().enumerate() {
        text.push_str(&common::sum_example("t", i, *a, *b, &format!("{a}+{b}?")));
        text.push('\n');
    }
    std::fs::write(dir.join("train.jsonl"), text).unwrap();
}

fn run(args: &[&str]) -> Output {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "halt-llm {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn sample(dir: &Path, limit: usize) -> String {
    let datasets = dir.join("datasets");
    let out = run(&[
        "sample",
        "--domain",
        "math",
        "--datasets",
        datasets.to_str().unwrap(),
        "--model",
        tiny_model().to_str().unwrap(),
        "--device",
        "cpu",
        "--format",
        "plain",
        "--limit",
        &limit.to_string(),
        "--n",
        "2",
        "--max-new-tokens",
        "12",
        "--seed",
        "1",
        "--batch-prompts",
        "2",
        "--out",
        dir.join("s.jsonl").to_str().unwrap(),
    ]);
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn ids<T>(records: &[T], id: impl Fn(&T) -> &str) -> Vec<String> {
    records.iter().map(|r| id(r).to_string()).collect()
}

#[test]
fn sample_judge_align_end_to_end_with_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_dataset(&dir.join("datasets"));
    let s_path = dir.join("s.jsonl");

    // 1. sample the first 3 examples
    sample(dir, 3);
    let s: Vec<Sampled> = read_jsonl(&s_path).unwrap();
    assert_eq!(ids(&s, |r| &r.id), ["math-t0", "math-t1", "math-t2"]);
    for r in &s {
        assert_eq!(r.responses.len(), 2);
        assert_eq!(r.model, "tiny.gguf");
        assert_eq!(r.sampling.temperature, 0.7);
        assert_eq!(r.sampling.top_p, 0.95);
        assert_eq!(r.sampling.seed, 1);
        assert_eq!(r.sampling.max_new_tokens, 12);
        assert!(
            r.responses
                .iter()
                .all(|t| !t.chars().any(|c| c.is_ascii_digit()))
        );
        // every token's log-probability and where it ends in the (trimmed) response
        assert_eq!((r.token_logprobs.len(), r.token_ends.len()), (2, 2));
        for ((text, lps), ends) in r.responses.iter().zip(&r.token_logprobs).zip(&r.token_ends) {
            assert!(lps.len() <= 12 && lps.len() == ends.len());
            assert!(lps.iter().all(|&lp| lp <= 0.0 && lp.is_finite()), "{lps:?}");
            assert!(ends.windows(2).all(|w| w[0] <= w[1]), "{ends:?}");
            assert_eq!(
                ends.last().copied().unwrap_or(0),
                text.len(),
                "{ends:?} {text:?}"
            );
        }
    }
    assert!(!dir.join("s.jsonl.partial").exists());

    // 2. replace math-t0's responses by hand-written ones; a resumed run must keep them
    let mut l = lines(&s_path);
    let mut t0: Sampled = serde_json::from_str(&l[0]).unwrap();
    // the sample stage records why each response ended
    assert_eq!(t0.finish.len(), 2);
    t0.responses = vec!["2+3 = 6\n#### 6".into(), "2+3 = 5\n#### 6".into()];
    // the hand-written responses ended on their own (not cut at the token limit)
    t0.finish.clear();
    t0.token_logprobs.clear();
    t0.token_ends.clear();
    l[0] = serde_json::to_string(&t0).unwrap();
    std::fs::write(&s_path, l.join("\n") + "\n").unwrap();

    // 3. a larger --limit samples only the two new examples
    let log = sample(dir, 5);
    assert!(
        log.contains("5 examples (3 already done), wrote 2 records"),
        "{log}"
    );
    let l5 = lines(&s_path);
    assert_eq!(l5.len(), 5);
    assert_eq!(l5[..3], l[..3]);
    let s: Vec<Sampled> = read_jsonl(&s_path).unwrap();
    assert_eq!(
        ids(&s, |r| &r.id),
        ["math-t0", "math-t1", "math-t2", "math-t3", "math-t4"]
    );

    // 4. a killed run: a partial file whose last line is cut; the rerun redoes that record
    std::fs::remove_file(&s_path).unwrap();
    let cut = format!("{}\n{}", l5[..4].join("\n"), &l5[4][..l5[4].len() / 2]);
    std::fs::write(dir.join("s.jsonl.partial"), cut).unwrap();
    let log = sample(dir, 5);
    assert!(log.contains("dropped a truncated last line"), "{log}");
    assert!(
        log.contains("5 examples (4 already done), wrote 1 records"),
        "{log}"
    );
    let again = lines(&s_path);
    assert_eq!(again[..4], l5[..4]);
    // the seed of a response depends on the example, not on the batch it ran in
    assert_eq!(again[4], l5[4]);
    assert!(!dir.join("s.jsonl.partial").exists());

    // 5. judge
    let data = dir.join("datasets");
    let j_path = dir.join("j.jsonl");
    let (ds, sp, jp) = (
        data.to_str().unwrap(),
        s_path.to_str().unwrap(),
        j_path.to_str().unwrap(),
    );
    run(&[
        "judge",
        "--domain",
        "math",
        "--datasets",
        ds,
        "--sampled",
        sp,
        "--out",
        jp,
    ]);
    let j: Vec<Judged> = read_jsonl(&j_path).unwrap();
    assert_eq!(ids(&j, |r| &r.id), ids(&s, |r| &r.id));
    for (jr, sr) in j.iter().zip(&s) {
        assert_eq!(jr.responses.len(), 2);
        for (resp, text) in jr.responses.iter().zip(&sr.responses) {
            assert_eq!(resp.kind, FragmentKind::Dependent);
            for f in &resp.fragments {
                assert_eq!(text.get(f.start..f.end), Some(f.text.as_str()));
            }
        }
    }
    // "2+3 = 6" is false, and everything after the first wrong step is wrong
    let v = |r: usize| -> Vec<Option<bool>> {
        j[0].responses[r]
            .fragments
            .iter()
            .map(|f| f.correct)
            .collect()
    };
    assert_eq!(v(0), [Some(false), Some(false)]);
    assert_eq!(j[0].responses[0].mean_correctness, 0.0);
    // "2+3 = 5" holds, but the final answer 6 is not 5
    assert_eq!(v(1), [Some(true), Some(false)]);
    assert_eq!(j[0].responses[1].mean_correctness, 0.5);
    // the hand-written responses state a final answer; the tiny model writes no digits and no
    // final answer: its steps claim nothing checkable, so they are neutral (kept, not
    // counted) and, with no counted fragment, its mean correctness is 0
    assert!(j[0].responses.iter().all(|r| r.complete));
    for r in &j[1..] {
        for resp in &r.responses {
            assert!(!resp.complete);
            assert!(resp.fragments.iter().all(|f| f.neutral));
            assert_eq!(resp.mean_correctness, 0.0);
        }
    }

    // 6. align at α = 0.6 (N = 2: ⌈1.2⌉ = 2, clipped to index 1 = the better response)
    let a_path = dir.join("a.jsonl");
    let ap = a_path.to_str().unwrap();
    let align = |alpha: &str, out: &str| {
        run(&[
            "align",
            "--domain",
            "math",
            "--datasets",
            ds,
            "--sampled",
            sp,
            "--judged",
            jp,
            "--alpha",
            alpha,
            "--method",
            "halt",
            "--out",
            out,
        ])
    };
    align("0.6", ap);
    let a: Vec<Aligned> = read_jsonl(&a_path).unwrap();
    assert_eq!(ids(&a, |r| &r.id), ids(&s, |r| &r.id));
    assert_eq!(a[0].target, "2+3 = 5\nUnsure from Here");
    assert_eq!(a[0].selected, Some(1));
    assert_eq!((a[0].kept, a[0].dropped, a[0].abstained), (1, 1, false));
    for (i, r) in a.iter().enumerate() {
        let (x, y) = SUMS[i];
        assert_eq!(r.prompt, format!("{x}+{y}?"));
        assert_eq!(r.method, AlignMethod::Halt);
        assert_eq!(r.alpha, Some(0.6));
    }
    // α = 0 takes the worst response, wrong from its first step: only the marker
    let a0_path = dir.join("a0.jsonl");
    align("0", a0_path.to_str().unwrap());
    let a0: Vec<Aligned> = read_jsonl(&a0_path).unwrap();
    assert_eq!(a0[0].target, "Unsure from Here");
    assert_eq!(a0[0].selected, Some(0));
    assert_eq!((a0[0].kept, a0[0].dropped, a0[0].abstained), (0, 2, true));
    // rerunning a finished stage does nothing
    let before = std::fs::read_to_string(&a_path).unwrap();
    let out = align("0.6", ap);
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote 0 to"));
    assert_eq!(std::fs::read_to_string(&a_path).unwrap(), before);
}

#[test]
fn four_shots_fit_in_the_tiny_context() {
    let tmp = tempfile::tempdir().unwrap();
    write_dataset(tmp.path());
    let pool: Vec<Example> = read_jsonl(&tmp.path().join("math/train.jsonl")).unwrap();
    let dev = halt_llm::backend::device(halt_llm::backend::DeviceChoice::Cpu).unwrap();
    let loaded = halt_llm::model::load::load_model(&tiny_model(), &dev).unwrap();
    let cfg = SampleConfig {
        settings: SampleSettings {
            format: PromptFormat::Plain,
            ..SampleSettings::default()
        },
        ..SampleConfig::default()
    };
    for i in 0..pool.len() {
        let (ids, used) = few_shot_prompt(&loaded.tokenizer, &pool, i, &cfg, 116).unwrap();
        assert_eq!(used, 4);
        assert!(ids.len() <= 116);
    }
    // a budget too small for even the bare prompt is an error naming the example
    let err = few_shot_prompt(&loaded.tokenizer, &pool, 2, &cfg, 3).unwrap_err();
    assert!(err.to_string().contains("math-t2"), "{err}");
}

#[test]
fn judge_names_the_line_of_an_unknown_id() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_dataset(&dir.join("datasets"));
    let s = dir.join("s.jsonl");
    let rec = |id: &str| {
        format!(
            r#####"{{"id":"{id}","responses":["#### 5"],"model":"m","sampling":{{"temperature":0.7,"top_p":0.95,"seed":0,"max_new_tokens":8}}}}"#####
        )
    };
    std::fs::write(&s, format!("{}\n{}\n", rec("math-t0"), rec("math-zz"))).unwrap();
    let out = Command::new(BIN)
        .args(["judge", "--domain", "math", "--datasets"])
        .arg(dir.join("datasets"))
        .arg("--sampled")
        .arg(&s)
        .arg("--out")
        .arg(dir.join("j.jsonl"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("s.jsonl:2: id `math-zz` is not in"), "{err}");
    assert!(!dir.join("j.jsonl").exists());
}

fn fragment(kind: &str, text: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(["fragment", "--kind", kind])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A command refused by its arguments exits before reading its input: the pipe may then
    // be closed by the time this writes (a race the test lost under load).
    if let Err(e) = child.stdin.take().unwrap().write_all(text.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

#[test]
fn fragment_command_prints_spans_with_byte_offsets() {
    // "1. First, 3 + 4 = 7." is bytes 0..20, newline, "2. Then 7 * 2 = 14." 21..40,
    // newline, "#### 14" 41..48
    let out = fragment(
        "steps",
        "1. First, 3 + 4 = 7.\n2. Then 7 * 2 = 14.\n#### 14\n",
    );
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim_end(),
        r#####"[{"text":"1. First, 3 + 4 = 7.","start":0,"end":20},{"text":"2. Then 7 * 2 = 14.","start":21,"end":40},{"text":"#### 14","start":41,"end":48}]"#####
    );
    // "Here:\n" 0..6, fence line 6..16, "x = 1" 16..21, blank line, "y = 2" 23..28
    let out = fragment("lines", "Here:\n```python\nx = 1\n\ny = 2\n```\n");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim_end(),
        r#"[{"text":"x = 1","start":16,"end":21},{"text":"y = 2","start":23,"end":28}]"#
    );
    // "Dr. Smith was born in 1901." is 27 bytes; "He won the prize." 28..45
    let out = fragment("claims", "Dr. Smith was born in 1901. He won the prize.");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim_end(),
        r#"[{"text":"Dr. Smith was born in 1901.","start":0,"end":27},{"text":"He won the prize.","start":28,"end":45}]"#
    );
    let out = fragment("words", "x");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fragment kind `words`"));
}

/// `halt-llm sample` remembers the examples file its responses answer
/// (`OUT.made_with.json`): a rerun into the same output with another file (the same ids with
/// other prompts) is refused, naming both files, instead of keeping the old responses; the same
/// file elsewhere is not.
#[test]
fn sample_refuses_another_examples_file_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_dataset(&dir.join("datasets"));
    let other = dir.join("other");
    std::fs::create_dir_all(other.join("math")).unwrap();
    let text = std::fs::read_to_string(dir.join("datasets/math/train.jsonl")).unwrap();
    std::fs::write(
        other.join("math/train.jsonl"),
        text.replace("\"2+3?\"", "\"3+2?\""),
    )
    .unwrap();
    let copy = dir.join("copy");
    std::fs::create_dir_all(copy.join("math")).unwrap();
    std::fs::write(copy.join("math/train.jsonl"), &text).unwrap();
    let out = dir.join("s.jsonl");
    let sample_from = |datasets: &Path| {
        Command::new(BIN)
            .args(["sample", "--domain", "math", "--datasets"])
            .arg(datasets)
            .args(["--model", tiny_model().to_str().unwrap(), "--device", "cpu"])
            .args(["--limit", "2", "--n", "1", "--max-new-tokens", "4", "--out"])
            .arg(&out)
            .output()
            .unwrap()
    };
    assert!(sample_from(&dir.join("datasets")).status.success());
    let o = sample_from(&other);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    let names = format!(
        "data = \"{}\" there, \"{}\" now; data_sha256 = ",
        dir.join("datasets/math/train.jsonl").display(),
        other.join("math/train.jsonl").display()
    );
    assert!(err.contains(&names), "{err}");
    assert!(err.contains("s.jsonl.made_with.json"), "{err}");
    // the same file elsewhere: the responses are kept
    let o = sample_from(&copy);
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(
        log.contains("2 examples (2 already done), wrote 0 records"),
        "{log}"
    );
}

/// `sample`'s record of what made its responses is per output file: a rerun with other
/// settings names the file (as given, relative here) and `--out`; responses whose record was
/// deleted or damaged are refused; a damaged record beside no response is replaced.
#[test]
fn a_sampled_file_names_itself_and_its_record_when_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_dataset(&dir.join("datasets"));
    let sample_n = |n: &str| {
        Command::new(BIN)
            .current_dir(dir)
            .args(["sample", "--domain", "math", "--datasets", "datasets"])
            .args(["--model", tiny_model().to_str().unwrap(), "--device", "cpu"])
            .args(["--format", "plain", "--limit", "1", "--max-new-tokens", "4"])
            .args(["--n", n, "--out", "s.jsonl"])
            .output()
            .unwrap()
    };
    let last_error = |o: &Output| {
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        err.lines().last().unwrap_or("").to_string()
    };
    assert!(sample_n("1").status.success());
    let err = last_error(&sample_n("2"));
    assert!(
        err.starts_with("error: s.jsonl was made with other settings ("),
        "{err}"
    );
    assert!(
        err.ends_with(
            "recorded in s.jsonl.made_with.json): use another --out, or delete s.jsonl to start \
             over"
        ),
        "{err}"
    );
    // the record deleted: the responses are refused, not silently mixed
    let record = dir.join("s.jsonl.made_with.json");
    let kept = std::fs::read_to_string(&record).unwrap();
    std::fs::remove_file(&record).unwrap();
    assert_eq!(
        last_error(&sample_n("2")),
        "error: s.jsonl holds results without a record of what made them \
         (s.jsonl.made_with.json is missing, so results of other settings could not be told \
         apart): restore s.jsonl.made_with.json, or delete s.jsonl to start over"
    );
    // damaged: refused while there are responses
    std::fs::write(&record, "{").unwrap();
    let err = last_error(&sample_n("1"));
    assert!(
        err.starts_with(
            "error: s.jsonl.made_with.json is not a record of what made the results in s.jsonl"
        ),
        "{err}"
    );
    // restored: resumed (nothing new to sample)
    std::fs::write(&record, &kept).unwrap();
    assert!(sample_n("1").status.success());
    // no responses: a damaged record is replaced
    std::fs::remove_file(dir.join("s.jsonl")).unwrap();
    std::fs::write(&record, "{").unwrap();
    assert!(sample_n("2").status.success());
    let now: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(now["n"], 2, "{now}");
}
