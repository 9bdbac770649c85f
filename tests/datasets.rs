//! Checks of the committed datasets (`datasets/<domain>/{train,test}.jsonl`).

#[path = "datasets/arith.rs"]
mod arith;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use halt_llm::dataset::{Domain, Example, Split, load};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets")
}

/// The splits of the paper's four domains (only the generated chains have a validation split).
const PAPER_SPLITS: [Split; 2] = [Split::Train, Split::Test];

fn split(domain: Domain, split: Split) -> Vec<Example> {
    load(&root(), domain, split).unwrap_or_else(|e| panic!("{e}"))
}

/// A split of the generated chains (`datasets/chains/math/`).
fn chains(split: Split) -> Vec<Example> {
    load(&root().join("chains"), Domain::Math, split).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_committed_record_loads() {
    for domain in Domain::ALL {
        for s in PAPER_SPLITS {
            let examples = split(domain, s);
            assert!(!examples.is_empty(), "{domain}/{s} is empty");
            assert!(examples.iter().all(|e| e.domain() == domain));
            assert!(
                examples
                    .iter()
                    .all(|e| !e.prompt.trim().is_empty() && !e.reference.trim().is_empty())
            );
        }
    }
}

#[test]
fn counts_match_the_readmes() {
    for domain in Domain::ALL {
        let readme =
            std::fs::read_to_string(root().join(domain.as_str()).join("README.md")).unwrap();
        for s in PAPER_SPLITS {
            let row = format!("| {s} | {} |", split(domain, s).len());
            assert!(readme.contains(&row), "{domain}/README.md lacks `{row}`");
        }
    }
}

#[test]
fn sizes_are_as_required() {
    let n = |d, s| split(d, s).len();
    assert!(n(Domain::Math, Split::Train) >= 1500);
    assert!(n(Domain::Math, Split::Test) >= 500);
    assert!(n(Domain::Math, Split::Train) + n(Domain::Math, Split::Test) >= 2500);
    assert_eq!(
        n(Domain::Code, Split::Train) + n(Domain::Code, Split::Test),
        164
    );
    assert!(n(Domain::Bio, Split::Train) + n(Domain::Bio, Split::Test) >= 700);
    assert!(n(Domain::Medicine, Split::Train) + n(Domain::Medicine, Split::Test) >= 1300);
    let originals: HashSet<String> = PAPER_SPLITS
        .into_iter()
        .flat_map(|s| split(Domain::Math, s))
        .filter_map(|e| {
            e.math()
                .filter(|t| !t.generated)
                .map(|t| t.template.clone())
        })
        .collect();
    assert_eq!(originals.len(), 100, "the 100 original problems");
}

#[test]
fn ids_are_unique_across_domains_and_splits() {
    let mut seen = HashSet::new();
    for domain in Domain::ALL {
        for s in PAPER_SPLITS {
            for e in split(domain, s) {
                assert!(e.id.starts_with(&format!("{domain}-")), "{}", e.id);
                assert!(seen.insert(e.id.clone()), "duplicate id {}", e.id);
            }
        }
    }
}

/// The key that must not be shared between train and test.
fn group(e: &Example) -> String {
    if let Some(t) = e.math() {
        return format!("template {}", t.template);
    }
    if let Some(t) = e.medicine() {
        return format!("question {}", t.question);
    }
    if let Some(t) = e.code() {
        return format!("task {}", t.task_id);
    }
    format!("laureate {}", e.bio().unwrap().name)
}

#[test]
fn train_and_test_are_disjoint() {
    for domain in Domain::ALL {
        let train: HashSet<String> = split(domain, Split::Train).iter().map(group).collect();
        let test: HashSet<String> = split(domain, Split::Test).iter().map(group).collect();
        let shared: Vec<_> = train.intersection(&test).collect();
        assert!(shared.is_empty(), "{domain}: in both splits: {shared:?}");
        let train_prompts: HashSet<String> = split(domain, Split::Train)
            .into_iter()
            .map(|e| e.prompt)
            .collect();
        assert!(
            split(domain, Split::Test)
                .iter()
                .all(|e| !train_prompts.contains(&e.prompt))
        );
    }
}

#[test]
fn math_calculations_and_answers_recompute() {
    let examples: Vec<Example> = PAPER_SPLITS
        .into_iter()
        .flat_map(|s| split(Domain::Math, s))
        .collect();
    let (generated, calculations) = recompute(&examples);
    assert!(generated >= 2000, "{generated} generated instances");
    assert!(calculations > 5000, "{calculations} calculations");
}

/// The generated chains: every split loads, every calculation and answer recomputes with the
/// independent evaluator, each step states its own calculation as `a op k = r` starting from
/// the previous result, and ids are unique (`chains-` prefix: they live in their own folder).
#[test]
fn the_generated_chains_recompute_and_chain() {
    let mut all = Vec::new();
    for (s, n) in [
        (Split::Train, 1800),
        (Split::Validation, 240),
        (Split::Test, 432),
    ] {
        let examples = chains(s);
        assert_eq!(examples.len(), n, "chains/{s}");
        all.extend(examples);
    }
    let (generated, calculations) = recompute(&all);
    assert_eq!(generated, all.len());
    assert_eq!(calculations, all.len() / 6 * (1 + 2 + 3 + 4 + 5 + 6));
    let mut seen = HashSet::new();
    for e in &all {
        assert!(
            e.id.starts_with("chains-") && seen.insert(e.id.clone()),
            "{}",
            e.id
        );
        let t = e.math().unwrap();
        let mut previous: Option<&str> = None;
        for (i, c) in t.calculations.iter().enumerate() {
            let (a, rest) = c.expr.split_at(c.expr.find(['+', '-', '*', '/']).unwrap());
            let (op, k) = rest.split_at(1);
            let equation = format!("{a} {op} {k} = {}", c.value);
            assert!(
                t.steps[i].contains(&equation),
                "{}: `{equation}` not in step {i}",
                e.id
            );
            if let Some(p) = previous {
                assert_eq!(
                    a, p,
                    "{}: step {i} does not start from the previous result",
                    e.id
                );
            }
            previous = Some(&c.value);
        }
    }
}

/// Checks every calculation and answer of maths `examples` with the independent evaluator
/// ([`arith`]); returns the generated instances and the calculations checked.
fn recompute(examples: &[Example]) -> (usize, usize) {
    let mut failures = Vec::new();
    let (mut generated, mut calculations) = (0, 0);
    {
        for e in examples {
            let t = e.math().unwrap();
            for c in &t.calculations {
                calculations += 1;
                match (arith::eval(&c.expr), arith::number(&c.value)) {
                    (Ok(got), Ok(want)) if got == want => {}
                    (got, want) => failures.push(format!(
                        "{}: <<{}={}>>: {got:?} vs {want:?}",
                        e.id, c.expr, c.value
                    )),
                }
            }
            let answer = arith::number(&t.answer);
            if t.generated {
                generated += 1;
                let expr = t
                    .answer_expr
                    .as_deref()
                    .unwrap_or_else(|| panic!("{}: no answer_expr", e.id));
                match (arith::eval(expr), &answer) {
                    (Ok(got), Ok(want)) if got == *want => {}
                    (got, want) => {
                        failures.push(format!("{}: {expr} = {got:?}, #### {want:?}", e.id))
                    }
                }
            } else if answer.is_err() {
                failures.push(format!("{}: answer `{}` is not a number", e.id, t.answer));
            }
            assert!(
                e.reference.ends_with(&format!("#### {}", t.answer)),
                "{}",
                e.id
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures, e.g. {:#?}",
        failures.len(),
        &failures[..failures.len().min(10)]
    );
    (generated, calculations)
}

#[test]
fn math_steps_are_recorded() {
    let examples = split(Domain::Math, Split::Train);
    let mut by_steps: HashMap<usize, usize> = HashMap::new();
    for e in &examples {
        let t = e.math().unwrap();
        assert_eq!(t.num_calculations, t.calculations.len());
        assert!(
            t.steps.iter().all(|s| !s.contains("<<")),
            "{}: annotation left in a step",
            e.id
        );
        *by_steps.entry(t.num_calculations).or_default() += 1;
    }
    assert!(by_steps.len() >= 5, "a range of difficulties: {by_steps:?}");
}

#[test]
fn latin1_birthplace_round_trips_to_utf8() {
    let all: Vec<Example> = PAPER_SPLITS
        .into_iter()
        .flat_map(|s| split(Domain::Bio, s))
        .collect();
    let find = |name: &str| {
        all.iter()
            .filter_map(|e| e.bio())
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no laureate {name}"))
    };
    // nobel.csv, row "1932,physics,Werner Karl Heisenberg,5-Dec-01,W\xfcrzburg,Germany,...":
    // the byte 0xFC (Latin-1 'ü') must arrive as the UTF-8 bytes C3 BC.
    let heisenberg = find("Werner Karl Heisenberg");
    assert_eq!(heisenberg.birth_place, "Würzburg");
    assert_eq!(&heisenberg.birth_place.as_bytes()[..3], b"W\xc3\xbc");
    assert_eq!(heisenberg.birth_date, "1901-12-05");
    assert_eq!(heisenberg.prizes[0].year, 1932);
    // row "1950,chemistry,Kurt Alder,10-Jul-02,K\xf6nigsh\xfctte (now Chorz\xf3w),Germany (now Poland),..."
    assert_eq!(find("Kurt Alder").birth_place, "Königshütte (now Chorzów)");
    // row "1901,peace,Fr\xe9d\xe9ric Passy,20 May 1822,Paris,France,..."
    let passy = find("Frédéric Passy");
    assert_eq!(
        (passy.birth_date.as_str(), passy.birth_place.as_str()),
        ("1822-05-20", "Paris")
    );
    assert!(
        all.iter()
            .all(|e| !e.reference.contains('\u{FFFD}') && !e.prompt.contains('\u{FFFD}'))
    );
}

#[test]
fn medicine_reference_states_the_keyed_option() {
    for s in PAPER_SPLITS {
        for e in split(Domain::Medicine, s) {
            let t = e.medicine().unwrap();
            let letter = t.answer.letter();
            assert_eq!(
                e.reference,
                format!("The answer is {letter}: {}", t.options[t.answer.index()])
            );
            assert!(
                e.prompt.contains(&format!("\n{letter}. {}", t.answer_text)),
                "{}",
                e.id
            );
        }
    }
}

#[test]
fn code_examples_carry_their_tests() {
    for s in PAPER_SPLITS {
        for e in split(Domain::Code, s) {
            let t = e.code().unwrap();
            assert!(
                e.prompt.contains(&format!("def {}(", t.entry_point)),
                "{}",
                e.id
            );
            assert!(t.test.contains("def check(candidate)"), "{}", e.id);
        }
    }
}
