//! Tests of [`claims`](super): differences known by construction, worked out by hand.

use super::*;

fn tally(given: usize, correct: usize) -> Tally {
    Tally {
        given,
        correct,
        reference: 4,
        progress: None,
        abstained: given == 0,
        partial: false,
    }
}

fn method(name: &str, rows: &[(&str, usize, usize)]) -> MethodTallies {
    MethodTallies {
        name: name.into(),
        tallies: rows
            .iter()
            .map(|(id, g, c)| (id.to_string(), tally(*g, *c)))
            .collect(),
    }
}

fn spec(a: &str, b: &str, metric: usize) -> ClaimSpec {
    ClaimSpec {
        text: format!("{a} vs {b}"),
        a: a.into(),
        b: b.into(),
        metric,
    }
}

const BOOT: BootstrapConfig = BootstrapConfig {
    resamples: 1000,
    seed: 3,
};

/// A is B plus exactly one correct fragment of four on every prompt, on prompts of very
/// different difficulty: every paired resample's difference is exactly 0.25, so the interval
/// is [0.25, 0.25] (an unpaired interval would be wide: B alone ranges over 0 .. 0.5).
#[test]
fn a_constant_paired_difference_has_a_point_interval() {
    let b = method(
        "b",
        &[("p1", 4, 0), ("p2", 4, 1), ("p3", 4, 2), ("p4", 4, 0)],
    );
    let a = method(
        "a",
        &[("p1", 4, 1), ("p2", 4, 2), ("p3", 4, 3), ("p4", 4, 1)],
    );
    let c = test_claims(
        &[a, b],
        &[spec("a", "b", at::CORRECTNESS)],
        |id| id.to_string(),
        "prompt",
        &BOOT,
    );
    let claim = &c.claims[0];
    assert_eq!(claim.difference, Some(0.25));
    let [lo, hi] = claim.ci95.unwrap();
    assert!(
        (lo - 0.25).abs() < 1e-12 && (hi - 0.25).abs() < 1e-12,
        "{lo} {hi}"
    );
    assert_eq!(claim.verdict, Verdict::Supported);
    assert_eq!((c.prompts, c.clusters), (4, 4));
}

/// Two clusters of two prompts: A − B = +1 on cluster X and −1 on cluster Y. The point
/// difference is 0; a resample draws X twice (diff +1, probability 1/4), Y twice (−1, 1/4) or
/// one of each (0, 1/2), so the 2.5th percentile is −1 and the 97.5th is +1: not resolved.
#[test]
fn clusters_are_resampled_whole() {
    let a = method(
        "a",
        &[("x1", 1, 1), ("x2", 1, 1), ("y1", 1, 0), ("y2", 1, 0)],
    );
    let b = method(
        "b",
        &[("x1", 1, 0), ("x2", 1, 0), ("y1", 1, 1), ("y2", 1, 1)],
    );
    let cluster = |id: &str| id[..1].to_string();
    let c = test_claims(
        &[a.clone(), b.clone()],
        &[spec("a", "b", at::CORRECTNESS)],
        cluster,
        "template",
        &BOOT,
    );
    assert_eq!(c.clusters, 2);
    assert_eq!(c.claims[0].difference, Some(0.0));
    assert_eq!(c.claims[0].ci95, Some([-1.0, 1.0]));
    assert_eq!(c.claims[0].verdict, Verdict::NotResolved);
    // Resampled by prompt instead, the four prompts are four clusters.
    let by_prompt = test_claims(
        &[a, b],
        &[spec("a", "b", at::CORRECTNESS)],
        |id| id.to_string(),
        "prompt",
        &BootstrapConfig {
            resamples: 200,
            seed: 1,
        },
    );
    assert_eq!(by_prompt.clusters, 4);
}

/// F1 against a method that always abstains: its correctness is undefined and its
/// completeness 0, so its F1 is 0 (not n/a) and the difference is defined.
#[test]
fn f1_against_an_abstaining_method() {
    // A: 2 of 4 correct on both prompts: P = 0.5, C = min(2, 4)/4 = 0.5, F1 = 0.5.
    let a = method("halt-0.4", &[("p1", 4, 2), ("p2", 4, 2)]);
    let idk = method("idk", &[("p1", 0, 0), ("p2", 0, 0)]);
    let specs = paper_claims(&["halt-0.4", "idk"], &[0.4]);
    assert_eq!(specs.len(), 1, "{specs:?}");
    assert_eq!(specs[0].metric, at::F1);
    let c = test_claims(&[a, idk], &specs, |id| id.to_string(), "prompt", &BOOT);
    assert_eq!(c.claims[0].difference, Some(0.5));
    assert_eq!(c.claims[0].verdict, Verdict::Supported);
}

#[test]
fn the_paper_claims_for_three_alphas() {
    let names = [
        "halt-0.4",
        "halt-0.6",
        "halt-0.8",
        "unchanged",
        "idk",
        "random_trim",
    ];
    let specs = paper_claims(&names, &[0.4, 0.6, 0.8]);
    // 4 per α, plus the two α-ordering claims
    assert_eq!(specs.len(), 14);
    let last = &specs[13];
    assert_eq!((last.a.as_str(), last.b.as_str()), ("halt-0.8", "halt-0.4"));
    assert_eq!(last.metric, at::COMPLETENESS);
    // with the own-best control, one more per α: 5 per α + 2
    let mut with_control = names.to_vec();
    with_control.push("own_best");
    let specs = paper_claims(&with_control, &[0.4, 0.6, 0.8]);
    assert_eq!(specs.len(), 17);
    assert_eq!(
        (specs[4].a.as_str(), specs[4].b.as_str()),
        ("halt-0.4", "own_best")
    );
    assert_eq!(specs[4].metric, at::CORRECTNESS);
    assert_eq!(Verdict::of(Some([-0.2, -0.01]), 1.0), Verdict::Contradicted);
    assert_eq!(Verdict::of(None, 1.0), Verdict::NotResolved);
    // an interval over too few defined resamples gives no verdict
    assert_eq!(Verdict::of(Some([0.1, 0.2]), 0.9), Verdict::NotResolved);
}

/// One prompt of eight answered by A: A's correctness is undefined whenever a resample misses
/// it (about (7/8)^8 = 34% of resamples), so the claim gets no verdict however its interval
/// looks.
#[test]
fn a_claim_on_one_answered_prompt_gets_no_verdict() {
    let ids = ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"];
    let a_rows: Vec<(&str, usize, usize)> = ids
        .iter()
        .map(|id| (*id, usize::from(*id == "p1"), 0))
        .collect();
    let b_rows: Vec<(&str, usize, usize)> = ids.iter().map(|id| (*id, 2, 1)).collect();
    let c = test_claims(
        &[method("a", &a_rows), method("b", &b_rows)],
        &[spec("a", "b", at::CORRECTNESS)],
        |id| id.to_string(),
        "prompt",
        &BOOT,
    );
    let claim = &c.claims[0];
    assert_eq!(claim.ci95, Some([-0.5, -0.5]));
    assert!(
        claim.defined_in < 800 && claim.defined_in > 500,
        "{}",
        claim.defined_in
    );
    assert_eq!(claim.verdict, Verdict::NotResolved);
}
