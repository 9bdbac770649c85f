//! Capability by depth: how far along its answers a model stays right (arXiv 2506.04051 §1:
//! a model should stop where it would go wrong, so where it goes wrong is the quantity HALT
//! aligns to).
//!
//! Positions count a model's own *counted* steps: neutral fragments, which claim nothing
//! checkable, are skipped; an undecided fragment follows the null policy (`wrong`, `correct`,
//! or skipped under `ignore`). In a dependent domain everything after the first wrong step is
//! wrong, so the k-th step is right exactly when the first k steps are: the share of answers
//! whose k-th step is right is a survival curve over depth.
//!
//! For maths problems [`by_difficulty`] groups the answers by the reference solution's number
//! of calculations instead (the problem's depth).

use std::fmt::Write as _;

use serde::Serialize;

use super::record::Evaluated;
use crate::dataset::example::{Example, GroundTruth};
use crate::dataset::record::NullPolicy;

/// The verdicts of `e`'s counted steps, in order (`true`: right), under `policy`.
pub fn counted_verdicts(e: &Evaluated, policy: NullPolicy) -> Vec<bool> {
    e.fragments
        .iter()
        .filter(|f| !f.neutral)
        .filter_map(|f| match (f.correct, policy) {
            (Some(v), _) => Some(v),
            (None, NullPolicy::Wrong) => Some(false),
            (None, NullPolicy::Correct) => Some(true),
            (None, NullPolicy::Ignore) => None,
        })
        .collect()
}

/// The 1-based position of `e`'s first wrong counted step, `None` when no step is wrong.
pub fn first_wrong(e: &Evaluated, policy: NullPolicy) -> Option<usize> {
    counted_verdicts(e, policy)
        .iter()
        .position(|right| !right)
        .map(|i| i + 1)
}

/// The answers' k-th counted step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StepRow {
    /// k (1-based).
    pub step: usize,
    /// Answers that give a k-th counted step.
    pub reached: usize,
    /// Answers whose k-th counted step is right.
    pub right: usize,
}

/// One row per position k = 1 ..= the longest answer's counted steps.
pub fn by_step(records: &[Evaluated], policy: NullPolicy) -> Vec<StepRow> {
    let mut rows: Vec<StepRow> = Vec::new();
    for e in records {
        for (i, right) in counted_verdicts(e, policy).into_iter().enumerate() {
            if rows.len() <= i {
                rows.push(StepRow {
                    step: i + 1,
                    reached: 0,
                    right: 0,
                });
            }
            rows[i].reached += 1;
            rows[i].right += usize::from(right);
        }
    }
    rows
}

/// How far the answers get along their reference solutions (maths: [`Evaluated::progress`]):
/// row j counts the answers whose problem has at least j points (reference intermediates plus
/// the final answer) as `reached`, and those that reach at least j of them as `right`. In a
/// chain of dependent calculations point j needs the j − 1 before it, so this is step
/// accuracy by depth on the reference's path; restating the question scores no point.
pub fn by_reference_point(records: &[Evaluated]) -> Vec<StepRow> {
    let mut rows: Vec<StepRow> = Vec::new();
    for p in records.iter().filter_map(|e| e.progress) {
        for j in 1..=p.desired {
            if rows.len() < j {
                rows.push(StepRow {
                    step: j,
                    reached: 0,
                    right: 0,
                });
            }
            rows[j - 1].reached += 1;
            rows[j - 1].right += usize::from(p.reached.min(p.desired) >= j);
        }
    }
    rows
}

/// The maths problems of one difficulty (reference calculations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DifficultyRow {
    /// The reference solution's number of calculations.
    pub calculations: usize,
    /// Problems answered.
    pub prompts: usize,
    /// Answers whose first counted step is right.
    pub first_step_right: usize,
    /// Answers with no wrong counted step and at least one right one.
    pub all_right: usize,
    /// Answers with the right final answer in a correct step.
    pub solved: usize,
    /// Completeness points reached (intermediates and final answer), summed.
    pub reached: usize,
    /// Completeness points of complete answers, summed.
    pub desired: usize,
}

/// The answers grouped by their problem's number of calculations (maths examples only;
/// records whose id is not among `examples`, or not a maths problem, are left out), in
/// increasing order of calculations.
pub fn by_difficulty(
    records: &[Evaluated],
    examples: &[Example],
    policy: NullPolicy,
) -> Vec<DifficultyRow> {
    let depth: std::collections::HashMap<&str, usize> = examples
        .iter()
        .filter_map(|e| match &e.ground_truth {
            GroundTruth::Math(m) => Some((e.id.as_str(), m.num_calculations)),
            _ => None,
        })
        .collect();
    let mut rows: std::collections::BTreeMap<usize, DifficultyRow> = Default::default();
    for e in records {
        let Some(&calculations) = depth.get(e.id.as_str()) else {
            continue;
        };
        let row = rows.entry(calculations).or_insert(DifficultyRow {
            calculations,
            prompts: 0,
            first_step_right: 0,
            all_right: 0,
            solved: 0,
            reached: 0,
            desired: 0,
        });
        let v = counted_verdicts(e, policy);
        row.prompts += 1;
        row.first_step_right += usize::from(v.first() == Some(&true));
        row.all_right += usize::from(!v.is_empty() && v.iter().all(|r| *r));
        if let Some(p) = e.progress {
            row.solved += usize::from(p.solved);
            row.reached += p.reached.min(p.desired);
            row.desired += p.desired;
        }
    }
    rows.into_values().collect()
}

/// `a/b` as a share with three decimals, `–` when `b` is 0.
pub(crate) fn share(a: usize, b: usize) -> String {
    if b == 0 {
        "–".into()
    } else {
        format!("{:.3}", a as f64 / b as f64)
    }
}

/// The markdown tables of [`by_step`] and (maths) [`by_reference_point`] and
/// [`by_difficulty`] for one model, under a `###` heading `label`; a model none of whose
/// answers gives a counted step (it always abstains) says so instead of the step table.
pub fn depth_tables(
    label: &str,
    records: &[Evaluated],
    examples: &[Example],
    policy: NullPolicy,
) -> String {
    let steps = by_step(records, policy);
    let n = records.len();
    let mut md = format!("\n### {label}\n\n");
    if steps.is_empty() {
        let _ = writeln!(
            md,
            "None of its {n} answers gives a counted step (each abstains, or states nothing \
             checkable)."
        );
    } else {
        let _ = write!(
            md,
            "| step | answers giving it | right | right, of all {n} answers | right, of those \
             giving it |\n|---|---|---|---|---|\n"
        );
    }
    for r in &steps {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            r.step,
            r.reached,
            r.right,
            share(r.right, n),
            share(r.right, r.reached)
        );
    }
    let points = by_reference_point(records);
    if !points.is_empty() {
        md.push_str(
            "\n| reference point | answers to problems that have it | reached | share \
             |\n|---|---|---|---|\n",
        );
        for r in &points {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                r.step,
                r.reached,
                r.right,
                share(r.right, r.reached)
            );
        }
    }
    let rows = by_difficulty(records, examples, policy);
    if !rows.is_empty() {
        md.push_str(
            "\n| calculations | problems | first step right | no wrong step | solved | \
             completeness (pooled) |\n|---|---|---|---|---|---|\n",
        );
        for r in &rows {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                r.calculations,
                r.prompts,
                share(r.first_step_right, r.prompts),
                share(r.all_right, r.prompts),
                share(r.solved, r.prompts),
                share(r.reached, r.desired)
            );
        }
    }
    md
}

/// The "Capability by depth" section: [`depth_tables`] of each `(label, answers)`.
pub fn depth_section(
    models: &[(String, &[Evaluated])],
    examples: &[Example],
    policy: NullPolicy,
) -> String {
    if models.is_empty() {
        return String::new();
    }
    let tables: String = models
        .iter()
        .map(|(label, records)| depth_tables(label, records, examples, policy))
        .collect();
    format!(
        "\n## Capability by depth\n\nThe k-th counted step of each answer (neutral steps \
         skipped; undecided ones as the null policy says). Everything after a wrong step is \
         wrong, so \"right, of all answers\" falls with k: it is the share of answers still right \
         after k steps. Maths adds how far the answers get along the reference solution \
         (point j: its j-th intermediate result, the final answer last; restating the question \
         reaches none) and the answers by their problem's number of reference \
         calculations.\n{tables}"
    )
}

#[cfg(test)]
#[path = "depth_tests.rs"]
pub(super) mod tests;
