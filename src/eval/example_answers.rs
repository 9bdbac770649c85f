//! Example answers for the report: a few [`Evaluated`] records per method, chosen to show
//! where the model stopped (a partial abstention, a full abstention, a full answer with a
//! wrong fragment, a fully correct one), with a one-line account of each.

use std::collections::HashMap;

use super::record::Evaluated;
use crate::dataset::example::Example;
use crate::generate::FinishReason;

/// One example answer as the report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShownAnswer {
    /// The test prompt.
    pub prompt: String,
    /// The evaluated answer.
    pub record: Evaluated,
}

/// Up to `k` records of `records`, deterministic: the first partial abstention, the first full
/// abstention, the first answer with a wrong fragment, the first answer with every fragment
/// correct (those that exist, in that order), then the first records not yet chosen. Prompts
/// come from `examples` (matched by id; empty when missing).
pub fn pick_answers(records: &[Evaluated], examples: &[Example], k: usize) -> Vec<ShownAnswer> {
    let kinds: [fn(&Evaluated) -> bool; 4] = [
        |e| e.partial_abstained,
        |e| e.abstained,
        |e| e.fragments.iter().any(|f| f.correct == Some(false)),
        |e| e.n_fragments > 0 && e.n_correct == e.n_fragments,
    ];
    let mut chosen: Vec<usize> = Vec::new();
    for kind in kinds {
        if let Some(i) = (0..records.len()).find(|&i| kind(&records[i]) && !chosen.contains(&i)) {
            chosen.push(i);
        }
    }
    let rest: Vec<usize> = (0..records.len()).filter(|i| !chosen.contains(i)).collect();
    chosen.extend(rest);
    chosen.truncate(k);
    let prompts: HashMap<&str, &str> = examples
        .iter()
        .map(|e| (e.id.as_str(), e.prompt.as_str()))
        .collect();
    chosen
        .into_iter()
        .map(|i| ShownAnswer {
            prompt: prompts
                .get(records[i].id.as_str())
                .map_or_else(String::new, |p| p.to_string()),
            record: records[i].clone(),
        })
        .collect()
}

/// The verdicts in order: `✓` correct, `✗` wrong, `?` undecided (e.g. `✓✓✗`).
pub fn verdict_marks(e: &Evaluated) -> String {
    e.fragments
        .iter()
        .map(|f| match f.correct {
            Some(true) => '✓',
            Some(false) => '✗',
            None => '?',
        })
        .collect()
}

/// Where and how the answer stopped, in words (e.g. "stopped with the marker after 2
/// fragments (✓✗)").
pub fn stop_description(e: &Evaluated) -> String {
    let marks = verdict_marks(e);
    let counted = format!(
        "{} fragment{} ({marks}), {} correct",
        e.n_fragments,
        if e.n_fragments == 1 { "" } else { "s" },
        e.n_correct
    );
    let end = match e.finish {
        FinishReason::Length => "; cut at max_new_tokens",
        _ => "",
    };
    if e.abstained {
        format!("abstained: only the marker{end}")
    } else if e.partial_abstained {
        format!("stopped with the marker after {counted}{end}")
    } else if e.n_fragments == 0 {
        format!("no fragment and no marker{end}")
    } else {
        format!("answered in full: {counted}{end}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::record::{Fragment, FragmentKind};

    fn rec(id: &str, verdicts: &[Option<bool>], marker: bool) -> Evaluated {
        let fragments: Vec<Fragment> = verdicts
            .iter()
            .map(|&correct| Fragment {
                text: "x".into(),
                start: 0,
                end: 1,
                correct,
                neutral: false,
            })
            .collect();
        Evaluated {
            id: id.into(),
            answer: "x".into(),
            finish: FinishReason::Eos,
            n_fragments: fragments.len(),
            n_correct: verdicts.iter().filter(|v| **v == Some(true)).count(),
            n_undecided: verdicts.iter().filter(|v| v.is_none()).count(),
            fragments,
            kind: FragmentKind::Dependent,
            marker_at: marker.then_some(1),
            abstained: marker && verdicts.is_empty(),
            partial_abstained: marker && !verdicts.is_empty(),
            complete: !marker && !verdicts.is_empty(),
            n_reference_fragments: 2,
            n_neutral: 0,
            progress: None,
            cut: false,
        }
    }

    #[test]
    fn picks_one_of_each_kind_first() {
        let recs = vec![
            rec("ok", &[Some(true)], false),
            rec("other", &[None], false),
            rec("wrong", &[Some(true), Some(false)], false),
            rec("abst", &[], true),
            rec("part", &[Some(true)], true),
        ];
        let ids = |k| -> Vec<String> {
            pick_answers(&recs, &[], k)
                .into_iter()
                .map(|s| s.record.id)
                .collect()
        };
        assert_eq!(ids(3), ["part", "abst", "wrong"]);
        assert_eq!(ids(10), ["part", "abst", "wrong", "ok", "other"]);
    }

    #[test]
    fn descriptions_by_hand() {
        assert_eq!(
            stop_description(&rec("a", &[Some(true), Some(false)], true)),
            "stopped with the marker after 2 fragments (✓✗), 1 correct"
        );
        assert_eq!(
            stop_description(&rec("a", &[], true)),
            "abstained: only the marker"
        );
        let mut e = rec("a", &[None], false);
        e.finish = FinishReason::Length;
        assert_eq!(
            stop_description(&e),
            "answered in full: 1 fragment (?), 0 correct; cut at max_new_tokens"
        );
        assert_eq!(
            stop_description(&rec("a", &[], false)),
            "no fragment and no marker"
        );
    }
}
