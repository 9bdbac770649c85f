//! Metric values on hand-made records; every expected number is worked out by hand in the
//! comments.

use super::*;
use crate::dataset::judge::Progress;
use crate::dataset::record::FragmentKind;

/// A record with `n` fragments given, `c` correct, `u` undecided, `r` reference fragments,
/// and the marker at the end when `marker`.
fn rec(id: &str, n: usize, c: usize, u: usize, r: usize, marker: bool) -> Evaluated {
    Evaluated {
        id: id.into(),
        answer: String::new(),
        finish: FinishReason::Eos,
        fragments: Vec::new(),
        kind: FragmentKind::Dependent,
        marker_at: marker.then_some(0),
        abstained: marker && n == 0,
        partial_abstained: marker && n > 0,
        complete: n > 0 && !marker,
        n_fragments: n,
        n_correct: c,
        n_undecided: u,
        n_reference_fragments: r,
        n_neutral: 0,
        progress: None,
        cut: false,
    }
}

/// A: full answer 3 of 4 correct (reference 4); B: 2 given, 1 correct, 1 undecided, then the
/// marker (reference 4); C: only the marker (reference 2); D: 5 of 5 correct, more than the
/// reference's 3, cut at max_new_tokens; E: empty answer (reference 2).
fn five() -> Vec<Evaluated> {
    let mut d = rec("D", 5, 5, 0, 3, false);
    d.finish = FinishReason::Length;
    vec![
        rec("A", 4, 3, 0, 4, false),
        rec("B", 2, 1, 1, 4, true),
        rec("C", 0, 0, 0, 2, true),
        d,
        rec("E", 0, 0, 0, 2, false),
    ]
}

fn none() -> BootstrapConfig {
    BootstrapConfig {
        resamples: 0,
        seed: 0,
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-12)
}

#[test]
fn null_policy_wrong_by_hand() {
    let s = summarize(&five(), NullPolicy::Wrong, &none());
    // per prompt c/g: A 3/4, B 1/2, D 5/5; C and E give nothing → (0.75 + 0.5 + 1) / 3
    assert!(close(s.correctness.value, 0.75), "{:?}", s.correctness);
    // pooled (3 + 1 + 5) / (4 + 2 + 5)
    assert!(close(s.correctness_micro.value, 9.0 / 11.0));
    // min(c, r)/r: A 3/4, B 1/4, C 0/2, D 3/3, E 0/2 → 2.0 / 5
    assert!(close(s.completeness.value, 0.4));
    // (3 + 1 + 0 + 3 + 0) / (4 + 4 + 2 + 3 + 2)
    assert!(close(s.completeness_micro.value, 7.0 / 15.0));
    // 2 · 0.75 · 0.4 / 1.15
    assert!(close(s.f1.value, 0.6 / 1.15));
    assert!(close(s.abstention.value, 0.2)); // C
    assert!(close(s.partial_abstention.value, 0.2)); // B
    assert_eq!(
        s.counts,
        Counts {
            prompts: 5,
            answered: 3,
            abstained: 1,
            partial_abstained: 1,
            empty: 1,
            truncated: 1,
            complete: 2, // A and D
            fragments_given: 11,
            fragments_correct: 9,
            fragments_undecided: 1,
            reference_fragments: 15,
            fragments_neutral: 0,
            cut: 0,
            solved: 0,
        }
    );
    assert!(s.correctness.ci95.is_none(), "no resamples, no interval");
}

#[test]
fn null_policy_correct_and_ignore_by_hand() {
    // correct: B has 2 of 2 → (0.75 + 1 + 1) / 3; pooled 10/11; completeness B 2/4 → 2.25/5
    let s = summarize(&five(), NullPolicy::Correct, &none());
    assert!(close(s.correctness.value, 2.75 / 3.0));
    assert!(close(s.correctness_micro.value, 10.0 / 11.0));
    assert!(close(s.completeness.value, 0.45));
    assert!(close(s.completeness_micro.value, 8.0 / 15.0));
    assert_eq!(
        (s.counts.fragments_given, s.counts.fragments_correct),
        (11, 10)
    );
    // ignore: B has 1 of 1 → (0.75 + 1 + 1) / 3; pooled 9/10; completeness as under wrong
    let s = summarize(&five(), NullPolicy::Ignore, &none());
    assert!(close(s.correctness.value, 2.75 / 3.0));
    assert!(close(s.correctness_micro.value, 0.9));
    assert!(close(s.completeness.value, 0.4));
    assert_eq!((s.counts.fragments_given, s.counts.answered), (10, 3));
    // a record whose only fragment is undecided gives nothing under ignore
    let s = summarize(&[rec("U", 1, 0, 1, 1, false)], NullPolicy::Ignore, &none());
    assert_eq!(s.correctness.value, None);
    assert_eq!(s.counts.answered, 0);
}

#[test]
fn all_abstain_is_undefined_correctness_not_nan() {
    let recs = [rec("a", 0, 0, 0, 3, true), rec("b", 0, 0, 0, 2, true)];
    let s = summarize(&recs, NullPolicy::Wrong, &BootstrapConfig::default());
    assert_eq!(s.correctness.value, None);
    assert_eq!(s.correctness.ci95, None);
    assert_eq!(s.correctness_micro.value, None);
    // completeness is 0, so F1 is 0 although correctness is undefined (2PC/(P+C) → 0)
    assert_eq!(s.f1.value, Some(0.0));
    assert!(close(s.completeness.value, 0.0));
    assert!(close(s.completeness_micro.value, 0.0));
    assert!(close(s.abstention.value, 1.0));
    assert!(close(s.partial_abstention.value, 0.0));
    assert_eq!(s.abstention.ci95, Some([1.0, 1.0]));
    let json = serde_json::to_string(&s).unwrap();
    assert!(!json.contains("NaN") && !json.contains("nan"), "{json}");
    assert!(
        json.contains(r#""correctness":{"value":null,"ci95":null"#),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<Summary>(&json).unwrap(), s);
}

#[test]
fn no_records_no_values() {
    let s = summarize(&[], NullPolicy::Wrong, &BootstrapConfig::default());
    for e in [&s.correctness, &s.completeness, &s.f1, &s.abstention] {
        assert_eq!((e.value, e.ci95), (None, None));
    }
}

#[test]
fn f1_is_zero_when_nothing_is_correct() {
    let s = summarize(&[rec("w", 3, 0, 0, 3, false)], NullPolicy::Wrong, &none());
    assert!(close(s.correctness.value, 0.0));
    assert!(close(s.completeness.value, 0.0));
    assert!(close(s.f1.value, 0.0));
}

#[test]
fn bootstrap_interval_contains_the_point_and_is_deterministic() {
    let mut recs = five();
    recs.extend(five().into_iter().map(|mut e| {
        e.id.push('2');
        e
    }));
    let b = BootstrapConfig {
        resamples: 1000,
        seed: 42,
    };
    let s = summarize(&recs, NullPolicy::Wrong, &b);
    for e in [
        &s.correctness,
        &s.correctness_micro,
        &s.completeness,
        &s.completeness_micro,
        &s.f1,
        &s.abstention,
        &s.partial_abstention,
    ] {
        let v = e.value.unwrap();
        let [lo, hi] = e.ci95.unwrap();
        assert!(lo <= v && v <= hi, "{v} not in [{lo}, {hi}]: {}", e.how);
        assert!(
            lo < hi,
            "10 varied prompts give a proper interval: {}",
            e.how
        );
        assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
    }
    assert_eq!(s, summarize(&recs, NullPolicy::Wrong, &b));
    let other = summarize(&recs, NullPolicy::Wrong, &BootstrapConfig { seed: 43, ..b });
    assert_eq!(other.correctness.value, s.correctness.value);
    assert_ne!(
        (
            other.correctness.ci95,
            other.completeness.ci95,
            other.f1.ci95
        ),
        (s.correctness.ci95, s.completeness.ci95, s.f1.ci95)
    );
}

#[test]
fn one_prompt_gives_a_point_interval() {
    // every resample is the one prompt again
    let s = summarize(
        &[rec("A", 4, 3, 0, 4, false)],
        NullPolicy::Wrong,
        &BootstrapConfig::default(),
    );
    assert_eq!(s.correctness.ci95, Some([0.75, 0.75]));
    assert_eq!(s.completeness.ci95, Some([0.75, 0.75]));
}

#[test]
fn how_says_what_was_computed() {
    let s = summarize(&five(), NullPolicy::Wrong, &BootstrapConfig::default());
    assert!(s.correctness.how.contains("per-prompt mean"));
    assert!(s.correctness.how.contains("3 of 5 prompts"));
    assert!(s.correctness.how.contains("count as given and wrong"));
    assert!(s.correctness_micro.how.contains("9 correct / 11 given"));
    assert!(s.abstention.how.contains("1 of 5 answers"));
    assert!(s.f1.how.contains("harmonic mean"));
    assert!(s.completeness.how.contains("1000 resamples, seed 0"));
}

/// A maths record with progress `reached` of `desired` points, `solved` or not.
fn progressed(
    id: &str,
    g: usize,
    c: usize,
    reached: usize,
    desired: usize,
    solved: bool,
) -> Evaluated {
    let mut e = rec(id, g, c, 0, 9, false);
    e.progress = Some(Progress {
        reached,
        desired,
        solved,
    });
    e
}

#[test]
fn f1_at_zero_completeness_whatever_the_correctness() {
    // by hand: C = 0 → F1 = 0, whether P is 1, 0.3 or undefined; C undefined → n/a
    assert_eq!(f1(Some(1.0), Some(0.0)), Some(0.0));
    assert_eq!(f1(Some(0.3), Some(0.0)), Some(0.0));
    assert_eq!(f1(None, Some(0.0)), Some(0.0));
    assert_eq!(f1(Some(0.5), None), None);
    assert_eq!(f1(None, None), None);
    // 2 · 0.5 · 0.25 / 0.75 = 1/3
    assert!(close(f1(Some(0.5), Some(0.25)), 1.0 / 3.0));
    // restating the question: every fragment correct, no progress → P 1, C 0, F1 0
    let s = summarize(
        &[progressed("r", 2, 2, 0, 3, false)],
        NullPolicy::Wrong,
        &none(),
    );
    assert!(close(s.correctness.value, 1.0));
    assert!(close(s.completeness.value, 0.0));
    assert_eq!(s.f1.value, Some(0.0));
}

#[test]
fn solve_rate_and_completeness_from_progress() {
    // Reference with 2 intermediates + the final answer: 3 points.
    // S: reaches both and states the right answer → 3/3, solved.
    // W: reaches both, wrong final answer (its last step is wrong) → 2/3, not solved.
    // H: reaches one intermediate and stops with the marker → 1/3.
    // N: only the marker → 0/3.
    let mut h = progressed("H", 1, 1, 1, 3, false);
    h.marker_at = Some(10);
    h.partial_abstained = true;
    let mut n = progressed("N", 0, 0, 0, 3, false);
    n.marker_at = Some(0);
    n.abstained = true;
    let recs = [
        progressed("S", 3, 3, 3, 3, true),
        progressed("W", 3, 2, 2, 3, false),
        h,
        n,
    ];
    let s = summarize(&recs, NullPolicy::Wrong, &none());
    // completeness (1 + 2/3 + 1/3 + 0) / 4 = 0.5; pooled (3 + 2 + 1 + 0) / 12 = 0.5
    assert!(close(s.completeness.value, 0.5));
    assert!(close(s.completeness_micro.value, 0.5));
    // solve rate 1 of 4
    let solve = s
        .solve_rate
        .as_ref()
        .expect("maths records have a solve rate");
    assert!(close(solve.value, 0.25));
    assert_eq!(s.counts.solved, 1);
    // correctness: S 1, W 2/3, H 1 (N gives nothing) → (1 + 2/3 + 1) / 3 = 8/9
    assert!(close(s.correctness.value, 8.0 / 9.0));
    // without progress (other domains) there is no solve rate
    assert!(
        summarize(&five(), NullPolicy::Wrong, &none())
            .solve_rate
            .is_none()
    );
}
