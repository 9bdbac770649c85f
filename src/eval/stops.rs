//! Where a finetuned model stops, compared with where the pretrained model goes wrong on the
//! same prompt (arXiv 2506.04051 §1 and §3: HALT's targets end where the model's own answers
//! go wrong, so a HALT model should stop there).
//!
//! For each test prompt on which the pretrained model's answer has a wrong counted step, at
//! position f (1-based, [`first_wrong`]), a finetuned model's answer *stops in time* when it
//! gives fewer than f counted steps (an abstention gives none). Positions count steps, not the
//! same steps: the two answers may compute differently; the comparison says whether a model
//! learned to stop about as far as its pretrained self stays right.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::depth::{counted_verdicts, first_wrong, share};
use super::record::Evaluated;
use crate::dataset::record::NullPolicy;

/// One finetuned model against the pretrained answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StopRow {
    /// The model's name in the report.
    pub method: String,
    /// Prompts answered by both on which the pretrained answer has a wrong step.
    pub compared: usize,
    /// Of those, the model's answers that give fewer counted steps than the pretrained
    /// model's first wrong step.
    pub stopped_in_time: usize,
    /// Of those, the model's answers without a wrong counted step (abstentions included).
    pub no_wrong_step: usize,
    /// Mean counted steps the model gives on the compared prompts.
    pub mean_steps: Option<f64>,
    /// Mean right steps the pretrained model gives before its first wrong one (f − 1).
    pub mean_pretrained_right: Option<f64>,
    /// Prompts answered by both on which the pretrained answer has no wrong step.
    pub pretrained_right: usize,
    /// Of those, the model's answers that give fewer counted steps than the pretrained one.
    pub stopped_early: usize,
}

fn mean(xs: &[usize]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<usize>() as f64 / xs.len() as f64)
}

/// The [`StopRow`] of `model`'s answers against `pretrained`'s (paired by prompt id).
pub fn stop_row(
    method: &str,
    model: &[Evaluated],
    pretrained: &[Evaluated],
    policy: NullPolicy,
) -> StopRow {
    let by_id: HashMap<&str, &Evaluated> = pretrained.iter().map(|e| (e.id.as_str(), e)).collect();
    let mut row = StopRow {
        method: method.to_string(),
        compared: 0,
        stopped_in_time: 0,
        no_wrong_step: 0,
        mean_steps: None,
        mean_pretrained_right: None,
        pretrained_right: 0,
        stopped_early: 0,
    };
    let (mut steps, mut right_before) = (Vec::new(), Vec::new());
    for e in model {
        let Some(p) = by_id.get(e.id.as_str()) else {
            continue;
        };
        let given = counted_verdicts(e, policy);
        match first_wrong(p, policy) {
            Some(f) => {
                row.compared += 1;
                row.stopped_in_time += usize::from(given.len() < f);
                row.no_wrong_step += usize::from(given.iter().all(|r| *r));
                steps.push(given.len());
                right_before.push(f - 1);
            }
            None => {
                row.pretrained_right += 1;
                let theirs = counted_verdicts(p, policy).len();
                row.stopped_early += usize::from(given.len() < theirs);
            }
        }
    }
    row.mean_steps = mean(&steps);
    row.mean_pretrained_right = mean(&right_before);
    row
}

/// The "Where the models stop" section: one row per model against `reference` (the
/// pretrained answers named `reference_label`); empty without rows.
pub fn stops_section(rows: &[StopRow], reference_label: &str) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut md = format!(
        "\n## Where the models stop\n\nCompared with the pretrained model ({reference_label}) \
         on the same test prompts. Where its answer has a wrong step, at position f: does the \
         finetuned model stop in time (fewer than f counted steps; an abstention gives none), \
         and is its own answer free of wrong steps? Where the pretrained answer has no wrong \
         step: how often the finetuned model gives fewer steps (stopping where it need not).\n\n\
         | method | prompts where pretrained goes wrong | stops in time | no wrong step | mean \
         steps given | pretrained right steps before its error | prompts where pretrained has no \
         wrong step | stops earlier than pretrained |\n|---|---|---|---|---|---|---|---|\n"
    );
    let m = |x: Option<f64>| x.map_or_else(|| "–".into(), |x| format!("{x:.2}"));
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            r.method,
            r.compared,
            share(r.stopped_in_time, r.compared),
            share(r.no_wrong_step, r.compared),
            m(r.mean_steps),
            m(r.mean_pretrained_right),
            r.pretrained_right,
            share(r.stopped_early, r.pretrained_right)
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::depth::tests::answer as answer_with;

    /// An answer of `id` whose counted steps have `verdicts` (`None`: undecided), after one
    /// neutral step.
    fn answer(id: &str, verdicts: &[Option<bool>]) -> Evaluated {
        answer_with(id, verdicts, None)
    }

    const T: Option<bool> = Some(true);
    const F: Option<bool> = Some(false);

    #[test]
    fn a_model_is_compared_with_the_pretrained_models_first_error() {
        // pretrained: a wrong at step 2, b wrong at step 1, c right throughout (3 steps),
        // d undecided at step 2 (wrong under the `wrong` policy)
        let pre = [
            answer("a", &[T, F, F]),
            answer("b", &[F]),
            answer("c", &[T, T, T]),
            answer("d", &[T, None]),
        ];
        // model: a gives 1 right step (in time: 1 < 2), b abstains (in time: 0 < 1),
        // c gives 2 of 3 (earlier than pretrained), d gives 2 steps, the second wrong
        // (not in time: 2 ≥ 2)
        let model = [
            answer("a", &[T]),
            answer("b", &[]),
            answer("c", &[T, T]),
            answer("d", &[T, F]),
            answer("z", &[T]), // not answered by the pretrained model: left out
        ];
        let r = stop_row("halt-0.4", &model, &pre, NullPolicy::Wrong);
        assert_eq!(r.compared, 3);
        assert_eq!(r.stopped_in_time, 2);
        assert_eq!(r.no_wrong_step, 2);
        assert_eq!(r.mean_steps, Some((1.0 + 0.0 + 2.0) / 3.0));
        assert_eq!(r.mean_pretrained_right, Some((1.0 + 0.0 + 1.0) / 3.0));
        assert_eq!((r.pretrained_right, r.stopped_early), (1, 1));
        // under `ignore`, d's undecided step is skipped: the pretrained d has no wrong step
        let r = stop_row("halt-0.4", &model, &pre, NullPolicy::Ignore);
        assert_eq!((r.compared, r.pretrained_right), (2, 2));
        let md = stops_section(&[r], "pretrained, 4-shot");
        assert!(
            md.contains("| halt-0.4 | 2 | 1.000 | 1.000 | 0.50 | 0.50 | 2 | 0.500 |"),
            "{md}"
        );
    }
}
