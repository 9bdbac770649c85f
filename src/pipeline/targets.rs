//! What each variant's training targets teach (arXiv 2506.04051 §3, "Align the target"): how
//! many targets are only the marker (abstain entirely), how many keep some steps and then the
//! marker (stop there), how many keep the sample whole, and how many steps they keep.

use std::fmt::Write as _;

use serde::Serialize;

use crate::dataset::record::{AlignMethod, Aligned};
use crate::eval::depth::share;

/// The composition of one variant's aligned targets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetMix {
    /// The variant (`halt-0.4`, `idk`, …).
    pub variant: String,
    /// Targets.
    pub targets: usize,
    /// Targets that are only the marker.
    pub marker_only: usize,
    /// Targets that keep some of the sample and contain the marker (truncated, or Add-On's
    /// marked remainder).
    pub with_marker: usize,
    /// Targets without the marker (the sample whole, or the reference for Unchanged).
    pub whole: usize,
    /// Mean fragments of the sample kept per target (marker-only targets count 0); `None`
    /// for Unchanged, whose targets are the references.
    pub mean_kept: Option<f64>,
}

/// The [`TargetMix`] of `records` (one variant's aligned file), with `marker` the abstention
/// marker they were built with.
pub fn target_mix(variant: &str, records: &[Aligned], marker: &str) -> TargetMix {
    let marker_only = records.iter().filter(|a| a.abstained).count();
    let with_marker = records
        .iter()
        .filter(|a| !a.abstained && a.target.contains(marker))
        .count();
    let references = records.iter().all(|a| a.method == AlignMethod::Unchanged);
    TargetMix {
        variant: variant.to_string(),
        targets: records.len(),
        marker_only,
        with_marker,
        whole: records.len() - marker_only - with_marker,
        mean_kept: (!references && !records.is_empty())
            .then(|| records.iter().map(|a| a.kept).sum::<usize>() as f64 / records.len() as f64),
    }
}

/// The "What the training targets teach" section; empty without rows.
pub fn targets_section(rows: &[TargetMix]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut md = String::from(
        "\n## What the training targets teach\n\nOne row per finetuned model: the share of its \
         training targets that are only the marker (abstain), that keep some steps and then the \
         marker (stop there), and that have no marker (the sample whole, or the reference for \
         unchanged); and the mean number of the sample's fragments a target keeps.\n\n\
         | method | targets | marker only | steps, then the marker | whole | mean fragments kept \
         |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} |",
            r.variant,
            r.targets,
            share(r.marker_only, r.targets),
            share(r.with_marker, r.targets),
            share(r.whole, r.targets),
            r.mean_kept
                .map_or_else(|| "–".into(), |m| format!("{m:.2}"))
        );
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aligned(target: &str, method: AlignMethod, kept: usize, abstained: bool) -> Aligned {
        Aligned {
            id: format!("x{kept}{target}"),
            prompt: "q".into(),
            target: target.into(),
            method,
            alpha: Some(0.6),
            selected: Some(0),
            kept,
            dropped: 0,
            abstained,
        }
    }

    #[test]
    fn targets_are_sorted_into_marker_only_truncated_and_whole() {
        let m = "Unsure from Here";
        let rows = [
            aligned(m, AlignMethod::Halt, 0, true),
            aligned("1 + 2 = 3.\nUnsure from Here", AlignMethod::Halt, 1, false),
            aligned(
                "1 + 2 = 3.\n3 * 4 = 12.\n#### 12",
                AlignMethod::Halt,
                3,
                false,
            ),
            aligned(
                "1 + 2 = 3.\n3 * 4 = 12.\n#### 12",
                AlignMethod::Halt,
                3,
                false,
            ),
        ];
        let mix = target_mix("halt-0.4", &rows, m);
        // by hand: 1 marker only, 1 truncated, 2 whole; kept (0 + 1 + 3 + 3) / 4 = 1.75
        assert_eq!(
            (mix.targets, mix.marker_only, mix.with_marker, mix.whole),
            (4, 1, 1, 2)
        );
        assert_eq!(mix.mean_kept, Some(1.75));
        let md = targets_section(&[mix]);
        assert!(
            md.contains("| halt-0.4 | 4 | 0.250 | 0.250 | 0.500 | 1.75 |"),
            "{md}"
        );
        let unchanged = target_mix(
            "unchanged",
            &[aligned("ref\n#### 1", AlignMethod::Unchanged, 0, false)],
            m,
        );
        assert_eq!((unchanged.whole, unchanged.mean_kept), (1, None));
    }
}
