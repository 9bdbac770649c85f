//! The targets of the Add-On variant and the baselines (arXiv 2506.04051): Add-On marks the
//! first error onward, IDK is the whole answer or only the marker, RandomTrim cuts at a seeded
//! fragment boundary.

use super::*;
use crate::dataset::fragment::steps;

#[test]
fn addon_marks_the_first_error_onward() {
    let f = judged(steps(STEPS), &[T, F, F]);
    let out = addon_target(STEPS, &f, NullPolicy::Wrong, M);
    assert_eq!(
        out.text,
        format!("Step one is 1.\n{M}: Step two is 2.\nStep three is 3.")
    );
    assert_eq!((out.kept, out.dropped, out.abstained), (1, 2, false));
    let f = judged(steps(STEPS), &[F, F, F]);
    assert_eq!(
        addon_target(STEPS, &f, NullPolicy::Wrong, M).text,
        format!("{M}: {}", STEPS.trim())
    );
    let f = judged(steps(STEPS), &[T, T, T]);
    assert_eq!(
        addon_target(STEPS, &f, NullPolicy::Wrong, M).text,
        STEPS.trim()
    );
}

#[test]
fn idk_is_whole_or_only_the_marker() {
    let f = judged(steps(STEPS), &[T, T, T]);
    assert_eq!(
        idk_target(STEPS, &f, NullPolicy::Wrong, M).text,
        STEPS.trim()
    );
    let f = judged(steps(STEPS), &[T, T, F]);
    let out = idk_target(STEPS, &f, NullPolicy::Wrong, M);
    assert_eq!((out.text.as_str(), out.abstained, out.kept), (M, true, 0));
}

#[test]
fn random_trim_is_seeded_and_cuts_at_fragment_boundaries() {
    let f = judged(steps(STEPS), &[T, T, T]);
    let possible = [
        M.to_string(),
        format!("Step one is 1.\n{M}"),
        format!("Step one is 1.\nStep two is 2.\n{M}"),
        STEPS.trim().to_string(),
    ];
    let mut seen = [false; 4];
    for seed in 0..64 {
        let a = random_trim_target(STEPS, &f, seed, M);
        assert_eq!(
            a,
            random_trim_target(STEPS, &f, seed, M),
            "same seed, same cut"
        );
        let i = possible
            .iter()
            .position(|p| *p == a.text)
            .unwrap_or_else(|| panic!("unexpected {:?}", a.text));
        seen[i] = true;
        assert_eq!(a.kept + a.dropped, 3);
    }
    assert_eq!(seen, [true; 4], "every cut occurs over 64 seeds");
}
