//! Tests of the depth tables; every expected count is worked out by hand from the verdicts.

use super::*;
use crate::dataset::judge::Progress;
use crate::dataset::judge::test_data::{MATH_0001, example};
use crate::dataset::record::{Fragment, FragmentKind};
use crate::generate::FinishReason;

const T: Option<bool> = Some(true);
const F: Option<bool> = Some(false);

/// An answer to `id` with one neutral step, then counted steps with `verdicts` (also the
/// fixture of `stops`' tests).
pub(in crate::eval) fn answer(
    id: &str,
    verdicts: &[Option<bool>],
    progress: Option<Progress>,
) -> Evaluated {
    let mut fragments = vec![Fragment {
        text: "First, read.".into(),
        start: 0,
        end: 12,
        correct: Some(true),
        neutral: true,
    }];
    for (i, v) in verdicts.iter().enumerate() {
        fragments.push(Fragment {
            text: format!("s{i}"),
            start: 13 + 3 * i,
            end: 15 + 3 * i,
            correct: *v,
            neutral: false,
        });
    }
    Evaluated {
        id: id.into(),
        answer: String::new(),
        finish: FinishReason::Eos,
        fragments,
        kind: FragmentKind::Dependent,
        marker_at: None,
        abstained: false,
        partial_abstained: false,
        complete: false,
        n_fragments: verdicts.len(),
        n_correct: 0,
        n_neutral: 1,
        n_undecided: 0,
        n_reference_fragments: 2,
        progress,
        cut: false,
    }
}

#[test]
fn steps_are_counted_by_position_skipping_neutral_ones() {
    let records = [
        answer("a", &[T, T, F], None),
        answer("b", &[T, F], None),
        answer("c", &[F], None),
        answer("d", &[], None),
        answer("e", &[T, None], None),
    ];
    // step 1: given by a, b, c, e (4); right in a, b, e (3)
    // step 2: given by a, b, e (3); right in a (1); e's undecided is wrong under `wrong`
    // step 3: given by a (1); right in none
    let rows = by_step(&records, NullPolicy::Wrong);
    let got: Vec<(usize, usize, usize)> =
        rows.iter().map(|r| (r.step, r.reached, r.right)).collect();
    assert_eq!(got, vec![(1, 4, 3), (2, 3, 1), (3, 1, 0)]);
    // under `correct` e's second step is right; under `ignore` it is not a step
    let rows = by_step(&records, NullPolicy::Correct);
    assert_eq!((rows[1].reached, rows[1].right), (3, 2));
    let rows = by_step(&records, NullPolicy::Ignore);
    assert_eq!((rows[1].reached, rows[1].right), (2, 1));
    assert_eq!(first_wrong(&records[0], NullPolicy::Wrong), Some(3));
    assert_eq!(first_wrong(&records[3], NullPolicy::Wrong), None);
    assert_eq!(first_wrong(&records[4], NullPolicy::Ignore), None);
    let md = depth_tables("m", &records, &[], NullPolicy::Wrong);
    assert!(md.contains("| 2 | 3 | 1 | 0.200 | 0.333 |"), "{md}");
    assert!(
        !md.contains("calculations"),
        "no maths examples: no difficulty table\n{md}"
    );
}

#[test]
fn maths_answers_are_grouped_by_the_problems_calculations() {
    // MATH_0001 has 2 calculations
    let ex = example(MATH_0001);
    let p = |reached, solved| {
        Some(Progress {
            reached,
            desired: 2,
            solved,
        })
    };
    let records = [
        answer(&ex.id, &[T, T], p(2, true)),
        answer("other", &[T], p(1, false)), // not among the examples: left out
    ];
    let mut second = records[0].clone();
    second.fragments.truncate(2);
    second.fragments[1].correct = F;
    second.progress = p(0, false);
    let rows = by_difficulty(
        &[records[0].clone(), second.clone()],
        std::slice::from_ref(&ex),
        NullPolicy::Wrong,
    );
    assert_eq!(
        rows,
        vec![DifficultyRow {
            calculations: 2,
            prompts: 2,
            first_step_right: 1,
            all_right: 1,
            solved: 1,
            reached: 2,
            desired: 4,
        }]
    );
    // points: answer 1 reaches 2 of 2, `other` 1 of 2, `second` 0 of 2 (by hand)
    let all = [records[0].clone(), records[1].clone(), second.clone()];
    let points: Vec<(usize, usize, usize)> = by_reference_point(&all)
        .iter()
        .map(|r| (r.step, r.reached, r.right))
        .collect();
    assert_eq!(points, vec![(1, 3, 2), (2, 3, 1)]);
    let md = depth_section(
        &[("pretrained".into(), &records[..])],
        &[ex],
        NullPolicy::Wrong,
    );
    assert!(md.contains("## Capability by depth"), "{md}");
    assert!(
        md.contains("| 2 | 1 | 1.000 | 1.000 | 1.000 | 1.000 |"),
        "{md}"
    );
}
