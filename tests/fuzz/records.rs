//! The JSON Lines records of every stage (`Example`, `Sampled`, `Judged`, `Aligned`,
//! `Evaluated`) through `parse_line` and `read_jsonl`: random bytes, random text, and valid
//! records with one node changed; and the TOML settings (`RunConfig`, `TrainConfig`) with
//! values, lines and nesting changed. Errors are fine, panics and hangs are not; a record
//! error names the 1-based line.

use std::path::Path;

use halt_llm::dataset::judge::Progress;
use halt_llm::dataset::record::{
    AlignMethod, Aligned, Fragment, FragmentKind, Judged, JudgedResponse, NullPolicy, Sampled,
};
use halt_llm::dataset::{DatasetError, Example, parse_line, read_jsonl};
use halt_llm::eval::record::Evaluated;
use halt_llm::generate::FinishReason;
use halt_llm::pipeline::config::RunConfig;
use halt_llm::train::config::{LoraSettings, TrainConfig};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::fuzz;
use crate::json::{edit, mutate};
use crate::support::{first_example, first_line, sampled, sampling};

fn fragment(text: &str, start: usize, correct: Option<bool>) -> Fragment {
    Fragment {
        text: text.into(),
        start,
        end: start + text.len(),
        correct,
        neutral: false,
    }
}

/// One valid record of each stage, as JSON.
fn seeds() -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    for domain in ["math", "bio", "code", "medicine"] {
        out.push((
            "Example",
            serde_json::from_str(&first_line(domain)).unwrap(),
        ));
    }
    let sampled = Sampled {
        id: "math-0001-00".into(),
        responses: vec!["1+1 = 2\n#### 2".into(), "x".into()],
        model: "m".into(),
        sampling: sampling(1, 96),
        finish: vec![FinishReason::Eos, FinishReason::Length],
        token_logprobs: Vec::new(),
        token_ends: Vec::new(),
    };
    out.push(("Sampled", serde_json::to_value(&sampled).unwrap()));
    let judged = Judged {
        id: "math-0001-00".into(),
        responses: vec![JudgedResponse {
            fragments: vec![
                fragment("1+1 = 2", 0, Some(true)),
                fragment("#### 2", 8, None),
            ],
            kind: FragmentKind::Dependent,
            mean_correctness: 0.5,
            complete: true,
            cut: true,
            answer_end: Some(14),
        }],
        null_policy: NullPolicy::Wrong,
    };
    out.push(("Judged", serde_json::to_value(&judged).unwrap()));
    let aligned = Aligned {
        id: "math-0001-00".into(),
        prompt: "p".into(),
        target: "1+1 = 2\nUnsure from Here".into(),
        method: AlignMethod::Halt,
        alpha: Some(0.6),
        selected: Some(0),
        kept: 1,
        dropped: 1,
        abstained: false,
    };
    out.push(("Aligned", serde_json::to_value(&aligned).unwrap()));
    let evaluated = Evaluated {
        id: "math-0001-00".into(),
        answer: "1+1 = 2\nUnsure from Here".into(),
        finish: FinishReason::StopString,
        fragments: vec![fragment("1+1 = 2", 0, Some(true))],
        kind: FragmentKind::Dependent,
        marker_at: Some(8),
        abstained: false,
        partial_abstained: true,
        complete: false,
        n_fragments: 1,
        n_correct: 1,
        n_neutral: 0,
        n_undecided: 0,
        n_reference_fragments: 2,
        progress: Some(Progress {
            reached: 1,
            desired: 2,
            solved: false,
        }),
        cut: false,
    };
    out.push(("Evaluated", serde_json::to_value(&evaluated).unwrap()));
    out
}

/// Parses `line` as record type `kind` (line 1 of a pretend file); `Ok(true)` if it parsed.
fn parse_as(kind: &str, line: &str) -> Result<bool, TestCaseError> {
    fn one<T: DeserializeOwned>(line: &str) -> Result<bool, TestCaseError> {
        match parse_line::<T>(Path::new("f.jsonl"), 1, line) {
            Ok(_) => Ok(true),
            Err(e) => {
                prop_assert_eq!(e.line(), Some(1), "{}", e);
                Ok(false)
            }
        }
    }
    match kind {
        "Example" => {
            let ok = one::<Example>(line)?;
            if ok {
                let ex: Example =
                    serde_json::from_str(line.trim_start_matches('\u{feff}')).unwrap();
                let _ = ex.validate();
            }
            Ok(ok)
        }
        "Sampled" => one::<Sampled>(line),
        "Judged" => one::<Judged>(line),
        "Aligned" => one::<Aligned>(line),
        "Evaluated" => one::<Evaluated>(line),
        _ => unreachable!(),
    }
}

const KINDS: [&str; 5] = ["Example", "Sampled", "Judged", "Aligned", "Evaluated"];

#[test]
fn the_seed_records_parse() {
    for (kind, v) in seeds() {
        assert!(parse_as(kind, &v.to_string()).unwrap(), "{kind}");
    }
}

const RECORD_KEYS: &[&str] = &[
    "id",
    "domain",
    "prompt",
    "reference",
    "ground_truth",
    "responses",
    "finish",
    "fragments",
    "start",
    "end",
    "text",
    "correct",
    "neutral",
    "kind",
    "answer_end",
    "alpha",
    "selected",
    "method",
    "marker_at",
    "progress",
    "answer",
    "steps",
    "calculations",
    "options",
    "prizes",
    "test",
    "entry_point",
    "null_policy",
    "sampling",
];

#[test]
fn fuzz_jsonl_mutated_records() {
    let seeds = seeds();
    let strategy = (
        0..seeds.len(),
        prop::collection::vec(edit(RECORD_KEYS), 1..4),
        0..KINDS.len(),
    );
    fuzz("jsonl_mutated", 1, strategy, |(i, edits, k)| {
        let (kind, doc) = &seeds[i];
        let line = mutate(doc, &edits);
        parse_as(kind, &line)?;
        // Also as a record of another stage.
        parse_as(KINDS[k], &line)?;
        Ok(())
    });
}

#[test]
fn fuzz_jsonl_random_lines() {
    let line = prop_oneof![
        "\\PC{0,80}",
        crate::text::unicode(),
        crate::json::raw_value(),
        prop::collection::vec(any::<u8>(), 0..80)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    fuzz("jsonl_random", 1, (line, 0..KINDS.len()), |(line, k)| {
        parse_as(KINDS[k], &line)?;
        Ok(())
    });
}

#[test]
fn fuzz_read_jsonl_files() {
    // Whole files: valid lines, broken lines, blank lines, BOMs, invalid UTF-8, CR.
    let seeds: Vec<String> = seeds()
        .into_iter()
        .filter(|(k, _)| *k == "Sampled")
        .map(|(_, v)| v.to_string())
        .collect();
    let good = seeds[0].clone();
    let piece = prop_oneof![
        4 => Just(good.into_bytes()),
        1 => Just(b"\n".to_vec()),
        1 => Just(b"\r\n".to_vec()),
        1 => Just("\u{feff}".as_bytes().to_vec()),
        1 => Just(b"   ".to_vec()),
        1 => Just(vec![0xff, 0xfe]),
        1 => prop::collection::vec(any::<u8>(), 0..20),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.jsonl");
    fuzz(
        "read_jsonl",
        1,
        prop::collection::vec(piece, 0..12),
        |pieces| {
            let bytes = pieces.concat();
            std::fs::write(&path, &bytes).unwrap();
            match read_jsonl::<Sampled>(&path) {
                Ok(records) => {
                    prop_assert!(records.len() <= bytes.iter().filter(|b| **b == b'\n').count() + 1)
                }
                Err(DatasetError::Record { line, .. }) => {
                    let lines = bytes.split(|b| *b == b'\n').count();
                    prop_assert!(line >= 1 && line <= lines, "line {} of {}", line, lines);
                }
                Err(e) => prop_assert!(false, "not a record error: {}", e),
            }
            Ok(())
        },
    );
}

/// TOML value texts.
fn toml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "0", "-1", "1", "2", "18446744073709551615", "9223372036854775807",
            "-9223372036854775808", "9223372036854775808", "1e400", "nan", "inf", "-inf", "-0.0",
            "0.5", "1.5", "true", "\"\"", "\"cpu\"", "\"wgpu\"", "\"cuda\"", "\"tpu\"",
            "\"math\"", "\"bio\"", "\"x\"", "[]", "[0.4, 0.6]", "[2.0]", "[\"idk\"]",
            "[\"halt\"]", "[\"q_proj\"]", "[\"nope\"]", "{}", "{ rank = 0 }", "1979-05-27",
            "'''\n'''", "\"\\u0000\"", "\"\\uD800\"",
        ])
        .prop_map(str::to_string),
        1 => any::<i64>().prop_map(|i| i.to_string()),
        1 => any::<f64>().prop_map(|f| format!("{f:?}")),
        1 => "\\PC{0,12}",
        1 => (1usize..400).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d))),
        1 => (1usize..400).prop_map(|d| format!("{}{}", "{ a = ".repeat(d), "}".repeat(d))),
    ]
}

#[derive(Debug, Clone)]
enum TomlEdit {
    /// Replace the value of line `n` (mod the line count), if it has one.
    Value(usize, String),
    /// Insert `key = value` before line `n`.
    Line(usize, String, String),
    /// Delete line `n`.
    Delete(usize),
    /// Replace line `n` with arbitrary text.
    Text(usize, String),
}

fn toml_edit() -> impl Strategy<Value = TomlEdit> {
    let key = prop_oneof![
        4 => prop::sample::select(vec![
            "model", "domain", "datasets", "train_examples", "test_examples", "alphas",
            "baselines", "seed", "device", "n", "temperature", "top_p", "epochs", "lr",
            "batch_size", "lora", "rank", "alpha", "target_modules", "max_seq_len", "[sample]",
            "[train]", "[lora]", "[[x]]", "a.b.c",
        ])
        .prop_map(str::to_string),
        1 => "\\PC{0,10}",
    ];
    prop_oneof![
        4 => (any::<usize>(), toml_value()).prop_map(|(n, v)| TomlEdit::Value(n, v)),
        2 => (any::<usize>(), key, toml_value()).prop_map(|(n, k, v)| TomlEdit::Line(n, k, v)),
        1 => any::<usize>().prop_map(TomlEdit::Delete),
        1 => (any::<usize>(), crate::text::unicode()).prop_map(|(n, t)| TomlEdit::Text(n, t)),
    ]
}

fn apply_toml(base: &str, edits: &[TomlEdit]) -> String {
    let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
    for e in edits {
        let n = lines.len().max(1);
        match e {
            TomlEdit::Value(i, v) => {
                if let Some(l) = lines.get_mut(i % n)
                    && let Some((k, _)) = l.split_once(" = ")
                {
                    *l = format!("{k} = {v}");
                }
            }
            TomlEdit::Line(i, k, v) => lines.insert((i % n).min(lines.len()), format!("{k} = {v}")),
            TomlEdit::Delete(i) => {
                if !lines.is_empty() {
                    lines.remove(i % n);
                }
            }
            TomlEdit::Text(i, t) => {
                if let Some(l) = lines.get_mut(i % n) {
                    *l = t.clone();
                }
            }
        }
    }
    lines.join("\n")
}

#[test]
fn fuzz_toml_settings() {
    let run = RunConfig::default().to_toml();
    let train = TrainConfig {
        data: vec!["a.jsonl".into()],
        lora: Some(LoraSettings::with_rank(8)),
        ..TrainConfig::default()
    }
    .to_toml();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let strategy = (any::<bool>(), prop::collection::vec(toml_edit(), 1..4));
    fuzz("toml_settings", 1, strategy, |(is_run, edits)| {
        let text = apply_toml(if is_run { &run } else { &train }, &edits);
        std::fs::write(&path, &text).unwrap();
        if is_run {
            if let Ok(c) = RunConfig::from_toml_file(&path) {
                let _ = c.validate();
                let _ = c.to_toml();
            }
        } else if let Ok(c) = TrainConfig::from_toml_file(&path) {
            let _ = c.validate();
            let _ = c.to_toml();
        }
        Ok(())
    });
}

/// A `Judged` record as a hand-edited file can hold it: fragments that are real slices of
/// the response (the check `align` makes) but in any order, overlapping or not, with any
/// verdicts, means, flags and `answer_end`.
/// Fragments as (start, end, verdict, neutral), mean, complete, cut, answer_end.
type EditedResponse = (
    Vec<(usize, usize, Option<bool>, bool)>,
    f64,
    bool,
    bool,
    Option<usize>,
);

fn judged_response(response: &'static str) -> impl Strategy<Value = EditedResponse> {
    let n = response.len();
    (
        prop::collection::vec(
            (0..=n, 0..=n, prop::option::of(any::<bool>()), any::<bool>()),
            0..6,
        ),
        // Not NaN: JSON cannot hold it (`align::select_response` panics on a NaN mean,
        // reported to the align stage's owner).
        prop_oneof![Just(-1.0), Just(2.0), Just(1e308), 0.0..=1.0f64],
        any::<bool>(),
        any::<bool>(),
        prop::option::of(0..=n + 2),
    )
}

#[test]
fn fuzz_align_on_edited_judged_records() {
    use halt_llm::dataset::align::{AlignConfig, align};
    const RESPONSES: [&str; 2] = ["1+1 = 2.\nThen 2*3 = 6.\n#### 6", "a é 👍 b"];
    let example = first_example("math");
    let strategy = (
        judged_response(RESPONSES[0]),
        judged_response(RESPONSES[1]),
        prop::sample::select(vec![
            AlignMethod::Halt,
            AlignMethod::Addon,
            AlignMethod::Idk,
            AlignMethod::RandomTrim,
        ]),
        prop_oneof![Just(f64::NAN), -0.5..1.5f64],
        any::<u64>(),
    );
    fuzz(
        "align_edited",
        1,
        strategy,
        |(r0, r1, method, alpha, seed)| {
            let responses: Vec<JudgedResponse> = [r0, r1]
                .into_iter()
                .zip(RESPONSES)
                .map(|((frags, mean, complete, cut, answer_end), text)| {
                    // In order, not empty, not overlapping, so that some records get past
                    // `align`'s check (`align_refuses_fragments_out_of_order` below).
                    let mut fragments: Vec<Fragment> = frags
                        .into_iter()
                        .filter_map(|(a, b, correct, neutral)| {
                            let (s, e) = (a.min(b), a.max(b));
                            let t = text.get(s..e)?;
                            Some(Fragment {
                                text: t.into(),
                                start: s,
                                end: e,
                                correct,
                                neutral,
                            })
                        })
                        .filter(|f| f.start < f.end)
                        .collect();
                    fragments.sort_by_key(|f| f.start);
                    let mut end = 0;
                    fragments.retain(|f| {
                        let keep = f.start >= end;
                        if keep {
                            end = f.end;
                        }
                        keep
                    });
                    JudgedResponse {
                        fragments,
                        kind: FragmentKind::Dependent,
                        mean_correctness: mean,
                        complete,
                        cut,
                        answer_end,
                    }
                })
                .collect();
            let sampled = sampled(&example.id, RESPONSES.map(String::from).to_vec());
            let judged = Judged {
                id: example.id.clone(),
                responses,
                null_policy: NullPolicy::Wrong,
            };
            let config = AlignConfig {
                alpha,
                seed,
                ..AlignConfig::default()
            };
            let _ = align(&example, &sampled, &judged, method, &config);
            Ok(())
        },
    );
}

#[test]
fn align_refuses_fragments_out_of_order() {
    // Fuzz finding (align_edited): a `Judged` record whose fragments are each a real slice of
    // the response but out of order (`[10..10, 0..0]` of "a é 👍 b", response cut) passes
    // `align`'s check and then panics in `addon_target` (`end byte index 10 is out of
    // bounds`): the cut response ends at the last fragment (byte 0), the first is at 10.
    use halt_llm::dataset::align::{AlignConfig, align};
    let example = first_example("math");
    let text = "a é 👍 b";
    let frag = |at: usize| Fragment {
        text: String::new(),
        start: at,
        end: at,
        correct: None,
        neutral: false,
    };
    let judged = Judged {
        id: example.id.clone(),
        responses: vec![JudgedResponse {
            fragments: vec![frag(10), frag(0)],
            kind: FragmentKind::Dependent,
            mean_correctness: 2.0,
            complete: false,
            cut: true,
            answer_end: None,
        }],
        null_policy: NullPolicy::Wrong,
    };
    let sampled = sampled(&example.id, vec![text.into()]);
    let r = align(
        &example,
        &sampled,
        &judged,
        AlignMethod::Addon,
        &AlignConfig::default(),
    );
    assert!(r.is_err(), "{r:?}");
}
