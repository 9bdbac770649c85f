//! The pretrained model's own few-shot scores as the report's reference point: its sampled
//! training-set responses ([`Judged`] records of the judge stage), scored like test answers.

use std::collections::HashMap;

use super::answer::splitter_for;
use super::metrics::{Tally, point};
use super::report::ReferencePoint;
use crate::dataset::example::Example;
use crate::dataset::record::{Judged, NullPolicy};

/// Correctness and completeness of every judged response in `judged` (each response one
/// answer, metrics as in [`point`]: per-response means), with `examples` giving the
/// reference answers (matched by id; records without an example are skipped).
pub fn pretrained_point(
    judged: &[Judged],
    examples: &[Example],
    policy: NullPolicy,
    label: &str,
) -> ReferencePoint {
    let by_id: HashMap<&str, &Example> = examples.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut tallies = Vec::new();
    for j in judged {
        let Some(ex) = by_id.get(j.id.as_str()) else {
            continue;
        };
        let reference = splitter_for(ex.domain()).split(&ex.reference).len();
        for r in &j.responses {
            let decided: Vec<bool> = r
                .fragments
                .iter()
                .filter_map(|f| policy.resolve(f.correct))
                .collect();
            tallies.push(Tally {
                given: decided.len(),
                correct: decided.iter().filter(|c| **c).count(),
                reference,
                abstained: false,
                partial: false,
            });
        }
    }
    let [correctness, _, completeness, ..] = point(&tallies);
    ReferencePoint {
        label: label.to_string(),
        correctness,
        completeness,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::judge::test_data::{MATH_0001, example};
    use crate::dataset::record::{Fragment, FragmentKind, JudgedResponse};

    fn response(verdicts: &[Option<bool>]) -> JudgedResponse {
        JudgedResponse {
            fragments: verdicts
                .iter()
                .map(|&correct| Fragment {
                    text: "x".into(),
                    start: 0,
                    end: 1,
                    correct,
                })
                .collect(),
            kind: FragmentKind::Dependent,
            mean_correctness: 0.0,
            complete: true,
        }
    }

    #[test]
    fn scores_by_hand() {
        let ex = example(MATH_0001); // reference: 3 steps
        let j = Judged {
            id: ex.id.clone(),
            responses: vec![
                response(&[Some(true), Some(true), Some(false)]),
                response(&[Some(true), None]),
            ],
            null_policy: NullPolicy::Wrong,
        };
        let p = pretrained_point(
            std::slice::from_ref(&j),
            std::slice::from_ref(&ex),
            NullPolicy::Wrong,
            "pre",
        );
        // correctness (2/3 + 1/2) / 2; completeness (2/3 + 1/3) / 2
        assert!((p.correctness.unwrap() - 7.0 / 12.0).abs() < 1e-12);
        assert!((p.completeness.unwrap() - 0.5).abs() < 1e-12);
        // ignore: the second response is 1 of 1 → (2/3 + 1) / 2
        let p = pretrained_point(&[j], &[ex], NullPolicy::Ignore, "pre");
        assert!((p.correctness.unwrap() - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(p.label, "pre");
    }
}
