//! The Rust samples of the tutorial book (`book/`), compiled and run as tests.
//!
//! The book includes the code between `// ANCHOR: name` and `// ANCHOR_END: name` with
//! `{{#include ../../tests/book_samples.rs:name}}`; `tests/book.rs` checks that every anchor the
//! book names exists. Each sample uses only the public `halt_llm` API and runs offline on the
//! CPU (the datasets in `datasets/`, the files in `book/examples/`, the tiny model in
//! `tests/fixtures/tiny-llama`). Tests run with the repository root as working directory, as
//! the book's readers do.

use std::path::Path;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;

#[test]
fn load_dataset() -> Result {
    // ANCHOR: load_dataset
    use halt_llm::dataset::{DATASETS_DIR, Domain, Split, load};

    let train = load(DATASETS_DIR.as_ref(), Domain::Math, Split::Train)?;
    let fog = train
        .iter()
        .find(|e| e.id == "math-0001-00")
        .expect("in the train split");
    let truth = fog.math().expect("a maths example");
    println!(
        "{} examples; {}: answer {}",
        train.len(),
        fog.id,
        truth.answer
    );
    for c in &truth.calculations {
        println!("  step {}: {} = {}", c.step, c.expr, c.value);
    }
    // ANCHOR_END: load_dataset
    assert_eq!(train.len(), 1813);
    assert_eq!(truth.answer, "140");
    let calcs: Vec<(&str, &str)> = truth
        .calculations
        .iter()
        .map(|c| (c.expr.as_str(), c.value.as_str()))
        .collect();
    assert_eq!(calcs, [("42/3", "14"), ("14*10", "140")]);
    Ok(())
}

#[test]
fn fragment_steps() {
    // ANCHOR: fragment_steps
    use halt_llm::dataset::fragment::Splitter;

    let answer = "1. The city is 42 / 3 = 14 stretches. Each takes 10 minutes.\n\
                  2. So 14 * 10 = 140 minutes.\n#### 140";
    for span in Splitter::Steps.split(answer) {
        // `span.text` is exactly `answer[span.start..span.end]` (byte offsets).
        assert_eq!(&answer[span.start..span.end], span.text);
        println!("{:>3}..{:<3} {}", span.start, span.end, span.text);
    }
    // ANCHOR_END: fragment_steps
    let spans = Splitter::Steps.split(answer);
    let offsets: Vec<(usize, usize)> = spans.iter().map(|s| (s.start, s.end)).collect();
    assert_eq!(offsets, [(0, 37), (38, 60), (61, 89), (90, 98)]);
    let texts: Vec<String> = spans.into_iter().map(|s| s.text).collect();
    assert_eq!(
        texts,
        [
            "1. The city is 42 / 3 = 14 stretches.",
            "Each takes 10 minutes.",
            "2. So 14 * 10 = 140 minutes.",
            "#### 140"
        ]
    );
}

#[test]
fn judge_one_response() -> Result {
    // ANCHOR: judge_one_response
    use halt_llm::dataset::judge::{JudgeConfig, judge_for};
    use halt_llm::dataset::{DATASETS_DIR, Domain, Split, load};

    let train = load(DATASETS_DIR.as_ref(), Domain::Math, Split::Train)?;
    let fog = train
        .iter()
        .find(|e| e.id == "math-0001-00")
        .expect("in the train split");
    let judge = judge_for(Domain::Math, &JudgeConfig::default()); // rules only, no LLM
    let response = "42 / 3 = 14 stretches of 3 miles.\n14 * 10 = 150 minutes.\n#### 150";
    for f in judge.judge(fog, response)? {
        println!("{:<12} {}", format!("{:?}", f.correct), f.text);
    }
    // ANCHOR_END: judge_one_response
    let verdicts: Vec<Option<bool>> = judge
        .judge(fog, response)?
        .iter()
        .map(|f| f.correct)
        .collect();
    assert_eq!(verdicts, [Some(true), Some(false), Some(false)]);
    Ok(())
}

/// The verdicts the book's judge chapter shows for the real SmolLM2 sample.
#[test]
fn real_math_sample_is_judged_as_the_book_says() -> Result {
    use halt_llm::dataset::judge::{JudgeConfig, judge_for, judge_sampled};
    use halt_llm::dataset::record::{NullPolicy, Sampled};
    use halt_llm::dataset::{DATASETS_DIR, Domain, Split, load, read_jsonl};

    // math-0000-00: in the test split since the split is stratified by difficulty
    let test = load(DATASETS_DIR.as_ref(), Domain::Math, Split::Test)?;
    let sampled: Vec<Sampled> = read_jsonl(Path::new("book/examples/math/sampled.jsonl"))?;
    let example = test.iter().find(|e| e.id == sampled[0].id).unwrap();
    let judge = judge_for(Domain::Math, &JudgeConfig::default());
    let judged = judge_sampled(judge.as_ref(), example, &sampled[0], NullPolicy::Wrong)?;
    let verdicts: Vec<Vec<bool>> = judged
        .responses
        .iter()
        .map(|r| {
            r.fragments
                .iter()
                .map(|f| f.correct == Some(true))
                .collect()
        })
        .collect();
    assert_eq!(
        verdicts,
        [
            vec![true, false, false, false],
            vec![false, false, false],
            vec![false, false, false],
            vec![true, false, false, false, false],
            vec![false, false, false],
        ]
    );
    Ok(())
}

#[test]
fn select_and_align() {
    // ANCHOR: select_and_align
    use halt_llm::dataset::align::{halt_target, select};
    use halt_llm::dataset::fragment::Splitter;
    use halt_llm::dataset::record::{Fragment, FragmentKind, NullPolicy, UNSURE_MARKER};

    // Mean fragment correctness of five judged responses (the book's worked example).
    let means = [1.0, 1.0 / 3.0, 0.25, 2.0 / 3.0, 0.5];
    // Ascending order: 2, 1, 4, 3, 0; α = 0.6 takes position ⌈0.6 · 5⌉ = 3, response 3.
    let chosen = select(&means, 0.6).unwrap();
    assert_eq!(chosen, 3);

    let response = "42 / 3 = 14 stretches of 3 miles.\n14 * 10 = 140 minutes.\n#### 14";
    let verdicts = [Some(true), Some(true), Some(false)];
    let fragments: Vec<Fragment> = Splitter::Steps
        .split(response)
        .into_iter()
        .zip(verdicts)
        .map(|(span, v)| Fragment::new(span, v))
        .collect();
    let target = halt_target(
        response,
        &fragments,
        FragmentKind::Dependent,
        NullPolicy::Wrong,
        UNSURE_MARKER,
    );
    println!("{}", target.text);
    // ANCHOR_END: select_and_align
    assert_eq!(
        target.text,
        "42 / 3 = 14 stretches of 3 miles.\n14 * 10 = 140 minutes.\nUnsure from Here"
    );
    assert_eq!(
        (target.kept, target.dropped, target.abstained),
        (2, 1, false)
    );
    assert_eq!(select(&means, 0.4).unwrap(), 4);
    assert_eq!(select(&means, 0.8).unwrap(), 0);
}

#[test]
fn own_data() -> Result {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("my-data.jsonl");
    std::fs::write(
        &path,
        include_str!("../book/examples/own-data/math/train.jsonl"),
    )?;
    // ANCHOR: own_data
    use halt_llm::dataset::load_examples;

    // Every line is checked: unknown or missing fields, an unknown domain, counts that do
    // not match their lists, duplicate ids are errors that name the file and the line.
    let mine = load_examples(&path)?;
    for e in &mine {
        println!("{} ({}): {}", e.id, e.domain(), e.prompt);
    }
    // ANCHOR_END: own_data
    assert_eq!(mine.len(), 2);
    assert_eq!(mine[0].math().unwrap().answer, "42");

    // A typo in a field name is an error naming the file and line.
    let bad = include_str!("../book/examples/own-data/math/train.jsonl")
        .replace("\"prompt\"", "\"promt\"");
    std::fs::write(&path, bad)?;
    let err = load_examples(&path).unwrap_err().to_string();
    assert!(err.contains("my-data.jsonl:1"), "{err}");
    Ok(())
}

#[test]
fn load_and_generate() -> Result {
    // ANCHOR: load_and_generate
    use halt_llm::backend::{DeviceChoice, device};
    use halt_llm::generate::{SamplingConfig, generate};
    use halt_llm::model::load::load_model;

    let dev = device(DeviceChoice::Cpu)?; // or DeviceChoice::Wgpu / Cuda, as --device
    // A GGUF file or a Hugging Face folder; here the tiny random test model.
    let loaded = load_model(Path::new("tests/fixtures/tiny-llama/tiny.gguf"), &dev)?;
    let config = &loaded.model.config;
    println!(
        "{} layers, hidden {}",
        config.num_hidden_layers, config.hidden_size
    );

    let prompt = loaded.tokenizer.encode("hello world")?;
    let cfg = SamplingConfig {
        max_new_tokens: 8,
        ..SamplingConfig::default() // greedy
    };
    let out = generate(
        &loaded.model,
        &loaded.tokenizer,
        &[prompt],
        &cfg,
        |_, _| {},
        &dev,
    )?;
    println!("{:?} ({:?})", out[0].text, out[0].finish);
    // ANCHOR_END: load_and_generate
    assert_eq!((config.num_hidden_layers, config.hidden_size), (2, 64));
    assert!(out[0].ids.len() <= 8);
    Ok(())
}

#[test]
fn metrics_by_hand() -> Result {
    // ANCHOR: metrics_by_hand
    use halt_llm::dataset::judge::{JudgeConfig, judge_for};
    use halt_llm::dataset::record::{NullPolicy, UNSURE_MARKER};
    use halt_llm::dataset::{DATASETS_DIR, Domain, Split, load};
    use halt_llm::eval::report::fmt_estimate;
    use halt_llm::eval::{BootstrapConfig, evaluate_answer, summarize};
    use halt_llm::generate::FinishReason;

    let train = load(DATASETS_DIR.as_ref(), Domain::Math, Split::Train)?;
    let fog = train
        .iter()
        .find(|e| e.id == "math-0001-00")
        .expect("in the train split");
    let judge = judge_for(Domain::Math, &JudgeConfig::default());
    // Four answers to the fog problem, scored as if they answered four test prompts.
    let answers = [
        // complete and right
        "The city is 42 / 3 = 14 stretches of 3 miles.\n\
         Each stretch takes 10 minutes, so 14 * 10 = 140 minutes.\n#### 140",
        // one right step, then the marker: a partial abstention
        "The city is 42 / 3 = 14 stretches of 3 miles.\nUnsure from Here",
        // only the marker: a full abstention
        "Unsure from Here",
        // wrong from the first step
        "42 / 3 = 15 stretches.\n15 * 10 = 150 minutes.\n#### 150",
    ];
    let mut records = Vec::new();
    for answer in answers {
        let e = evaluate_answer(
            judge.as_ref(),
            fog,
            answer,
            FinishReason::Eos,
            UNSURE_MARKER,
        )?;
        let p = e.progress.expect("maths answers have a progress");
        println!(
            "g = {}, c = {}, points {}/{}, solved {}, abstained {}, partial {}",
            e.n_fragments,
            e.n_correct,
            p.reached,
            p.desired,
            p.solved,
            e.abstained,
            e.partial_abstained
        );
        records.push(e);
    }
    let s = summarize(&records, NullPolicy::Wrong, &BootstrapConfig::default());
    println!("correctness  {}", fmt_estimate(&s.correctness));
    println!("completeness {}", fmt_estimate(&s.completeness));
    println!("F1           {}", fmt_estimate(&s.f1));
    println!("abstention   {}", fmt_estimate(&s.abstention));
    println!("partial      {}", fmt_estimate(&s.partial_abstention));
    println!("pooled correctness {}", fmt_estimate(&s.correctness_micro));
    // ANCHOR_END: metrics_by_hand
    let tallies: Vec<(usize, usize, usize)> = records
        .iter()
        .map(|e| (e.n_fragments, e.n_correct, e.n_reference_fragments))
        .collect();
    assert_eq!(tallies, [(3, 3, 3), (1, 1, 3), (0, 0, 3), (3, 0, 3)]);
    let close = |v: Option<f64>, want: f64| (v.unwrap() - want).abs() < 1e-12;
    // (1 + 1 + 0) / 3 answered prompts; the abstention is left out
    assert!(close(s.correctness.value, 2.0 / 3.0));
    // points: the reference computes one intermediate (14) before the answer (140), so 2
    // points; (2/2 + 1/2 + 0 + 0) / 4
    assert!(close(s.completeness.value, 0.375));
    let points: Vec<(usize, usize)> = records
        .iter()
        .map(|e| e.progress.map(|p| (p.reached, p.desired)).unwrap())
        .collect();
    assert_eq!(points, [(2, 2), (1, 2), (0, 2), (0, 2)]);
    // 2 · (2/3) · (3/8) / (2/3 + 3/8) = 12/25
    assert!(close(s.f1.value, 0.48));
    // solve rate: 1 of 4
    assert!(close(s.solve_rate.as_ref().unwrap().value, 0.25));
    assert!(close(s.abstention.value, 0.25));
    assert!(close(s.partial_abstention.value, 0.25));
    // pooled: 4 correct of 7 given
    assert!(close(s.correctness_micro.value, 4.0 / 7.0));
    assert_eq!((s.counts.answered, s.counts.complete), (3, 2));
    Ok(())
}
