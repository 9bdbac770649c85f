//! Tests of alignment; every expected target is written by hand. Shared here: the marker, the
//! verdict shorthands, [`judged`] and a three-step response; the tests, by topic:
//! `halt_rules` (HALT targets: which fragments a target keeps and how it reads), `baselines`
//! (the Addon, IDK and random-trim targets), `selection` (choosing the response at α and
//! building the record), `facts` (biography answers split into atomic facts).

use super::*;
use crate::dataset::record::Span;

#[path = "align_tests/baselines.rs"]
mod baselines;
#[path = "align_tests/facts.rs"]
mod facts;
#[path = "align_tests/halt_rules.rs"]
mod halt_rules;
#[path = "align_tests/selection.rs"]
mod selection;

const M: &str = UNSURE_MARKER;

const T: Option<bool> = Some(true);

const F: Option<bool> = Some(false);

/// The fragments `spans` with `verdicts`, one each.
fn judged(spans: Vec<Span>, verdicts: &[Option<bool>]) -> Vec<Fragment> {
    assert_eq!(spans.len(), verdicts.len(), "test setup");
    spans
        .into_iter()
        .zip(verdicts)
        .map(|(s, v)| Fragment::new(s, *v))
        .collect()
}

/// A response of three reasoning steps.
const STEPS: &str = "Step one is 1.\nStep two is 2.\nStep three is 3.\n";
