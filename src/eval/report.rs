//! The evaluation report: `report.md` (a table of every method's metrics with 95% intervals,
//! how they were computed, example answers showing where each method stopped) and the plot of
//! correctness against completeness ([`super::plot`]), all written atomically.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::claims::Claims;
use super::example_answers::{ShownAnswer, stop_description};
use super::metrics::{Estimate, Summary};
use super::plot::write_plot;
use crate::files::write_atomic;

/// One evaluated model for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct MethodResult {
    /// Method name (`halt`, `unchanged`, `idk`, `random_trim`, a model name, …).
    pub method: String,
    /// The threshold α of the training data (`None` for baselines without one).
    pub alpha: Option<f64>,
    /// Its metrics.
    pub summary: Summary,
    /// A few example answers ([`pick_answers`](super::example_answers::pick_answers)).
    pub shown: Vec<ShownAnswer>,
}

/// A reference point drawn in the plot and named in the report, e.g. the pretrained model's
/// own few-shot scores on the training prompts (mean correctness of its sampled responses).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferencePoint {
    /// What it is ("pretrained, 4-shot").
    pub label: String,
    /// Its correctness in [0, 1].
    pub correctness: Option<f64>,
    /// Its completeness in [0, 1]; without it the plot draws a horizontal line.
    pub completeness: Option<f64>,
}

/// The files [`write_report`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiles {
    /// `report.md`.
    pub markdown: PathBuf,
    /// `plot.png`.
    pub png: PathBuf,
    /// `plot.svg`.
    pub svg: PathBuf,
}

/// Name of the baseline that relative completeness is measured against (case-insensitive).
pub const UNCHANGED: &str = "unchanged";

/// Longest answer text shown per example (bytes, cut at a char boundary).
const SHOW_CHARS: usize = 800;

/// Writes `dir/report.md`, `dir/plot.png` and `dir/plot.svg` for `results` (in table order)
/// and the optional reference point; `sections` (markdown, may be empty) follows the Claims.
///
/// # Errors
/// The folder or a file cannot be written, the plot cannot be drawn.
pub fn write_report(
    dir: &Path,
    title: &str,
    results: &[MethodResult],
    reference: Option<&ReferencePoint>,
    claims: Option<&Claims>,
    sections: &str,
) -> Result<ReportFiles> {
    let files = ReportFiles {
        markdown: dir.join("report.md"),
        png: dir.join("plot.png"),
        svg: dir.join("plot.svg"),
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_plot(results, reference, &files.png, &files.svg)?;
    write_atomic(
        &files.markdown,
        render_markdown(title, results, reference, claims, sections).as_bytes(),
    )?;
    Ok(files)
}

/// `0.812 [0.701, 0.903]`, or `n/a` when undefined.
pub fn fmt_estimate(e: &Estimate) -> String {
    fmt_scaled(e, 1.0)
}

fn fmt_scaled(e: &Estimate, by: f64) -> String {
    match (e.value, e.ci95) {
        (None, _) => "n/a".into(),
        (Some(v), None) => format!("{:.3}", v / by),
        (Some(v), Some([lo, hi])) => format!("{:.3} [{:.3}, {:.3}]", v / by, lo / by, hi / by),
    }
}

fn fmt_alpha(alpha: Option<f64>) -> String {
    alpha.map_or_else(|| "–".into(), |a| format!("{a}"))
}

/// Escapes `|` for a markdown table cell and keeps it on one line.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The completeness of the `unchanged` baseline, if it is among `results` and defined.
fn unchanged_completeness(results: &[MethodResult]) -> Option<f64> {
    results
        .iter()
        .find(|r| r.method.eq_ignore_ascii_case(UNCHANGED))
        .and_then(|r| r.summary.completeness.value)
        .filter(|c| *c > 0.0)
}

/// The whole `report.md` text (`sections`: markdown placed after the Claims).
pub fn render_markdown(
    title: &str,
    results: &[MethodResult],
    reference: Option<&ReferencePoint>,
    claims: Option<&Claims>,
    sections: &str,
) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {title}\n");
    let base = unchanged_completeness(results);
    let solve = results.iter().any(|r| r.summary.solve_rate.is_some());
    md.push_str(
        "Values are in [0, 1], with 95% bootstrap intervals over prompts in brackets; \
         n/a: undefined (e.g. correctness when every answer abstains).\n\n",
    );
    md.push_str("| method | α | correctness | completeness |");
    if base.is_some() {
        md.push_str(" completeness rel. to unchanged |");
    }
    md.push_str(" F1 |");
    if solve {
        md.push_str(" solve rate |");
    }
    md.push_str(" abstention | partial abstention | prompts |\n|---|---|---|---|");
    if base.is_some() {
        md.push_str("---|");
    }
    if solve {
        md.push_str("---|");
    }
    md.push_str("---|---|---|---|\n");
    for r in results {
        let s = &r.summary;
        let _ = write!(
            md,
            "| {} | {} | {} | {} |",
            cell(&r.method),
            fmt_alpha(r.alpha),
            fmt_estimate(&s.correctness),
            fmt_estimate(&s.completeness)
        );
        if let Some(b) = base {
            let _ = write!(md, " {} |", fmt_scaled(&s.completeness, b));
        }
        let _ = write!(md, " {} |", fmt_estimate(&s.f1));
        if solve {
            let rate = s
                .solve_rate
                .as_ref()
                .map_or_else(|| "–".into(), fmt_estimate);
            let _ = write!(md, " {rate} |");
        }
        let _ = writeln!(
            md,
            " {} | {} | {} |",
            fmt_estimate(&s.abstention),
            fmt_estimate(&s.partial_abstention),
            s.counts.prompts
        );
    }
    if let Some(p) = reference {
        let v = |x: Option<f64>| x.map_or_else(|| "n/a".into(), |x| format!("{x:.3}"));
        let _ = writeln!(
            md,
            "\nReference point ({}): correctness {}, completeness {}.",
            p.label,
            v(p.correctness),
            v(p.completeness)
        );
    }
    if let Some(c) = claims {
        md.push_str(&claims_section(c));
    }
    md.push_str(sections);
    md.push_str("\n![correctness against completeness](plot.png)\n\n(also as `plot.svg`)\n\n");
    md.push_str("Pooled over all fragments (micro averages) and counts:\n\n");
    md.push_str(
        "| method | α | correctness (pooled) | completeness (pooled) | fragments given | correct | \
         undecided | neutral | reference fragments | abstained | partial | empty | cut at max \
         tokens | complete |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let (s, c) = (&r.summary, &r.summary.counts);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&r.method),
            fmt_alpha(r.alpha),
            fmt_estimate(&s.correctness_micro),
            fmt_estimate(&s.completeness_micro),
            c.fragments_given,
            c.fragments_correct,
            c.fragments_undecided,
            c.fragments_neutral,
            c.reference_fragments,
            c.abstained,
            c.partial_abstained,
            c.empty,
            c.truncated,
            c.complete
        );
    }
    md.push_str(&how_section(results, base.is_some()));
    md.push_str(&examples_section(results));
    md
}

fn how_section(results: &[MethodResult], relative: bool) -> String {
    let mut md = String::from("\n## How the numbers were computed\n\n");
    md.push_str(
        "Each test prompt is answered greedily and zero-shot; the answer is cut at the first \
         \"Unsure from Here\" marker (the marker is not a fragment, text after it is not \
         judged), and what comes before it is split and judged with the same fragmenter and \
         judge as the training data. An answer cut at the token limit loses its unfinished \
         last fragment. Per prompt: g = fragments given (neutral fragments, which state no \
         number, are not counted), c = correct fragments, r = fragments of the reference \
         answer (same fragmenter).\n\n\
         - **correctness**: mean over prompts with g > 0 of c/g (the paper's mean fragment \
         correctness). A full abstention gives g = 0: it is left out here, never divided by \
         zero, and counted in the abstention rate.\n\
         - **completeness**: maths: mean over prompts of the progress along the reference \
         solution: the reference's intermediate results that correct steps reach, plus one \
         point only for a correct final answer, over their number (restating the question is \
         no progress); other domains: mean over prompts with r > 0 of min(c, r)/r. An \
         abstention scores 0.\n",
    );
    if relative {
        md.push_str(
            "- **completeness rel. to unchanged**: completeness divided by the completeness of \
             the `unchanged` baseline (SFT on the reference answers); its interval is the \
             method's interval divided by that same point value.\n",
        );
    }
    md.push_str(
        "- **F1**: harmonic mean 2PC/(P+C) of correctness P and completeness C; 0 whenever C \
         is 0 (its limit), even when P is undefined.\n\
         - **solve rate** (maths): share of prompts whose answer states the right final \
         answer in a correct step.\n\
         - **abstention**: share of answers that are only the marker; **partial abstention**: \
         share that give fragments and then the marker.\n\
         - **pooled**: Σc/Σg, and the sum of completeness points over the sum of desired \
         points, over all prompts.\n\
         - **complete**: answers that reach their end by the judge's rule (maths: they state a \
         final answer, right or wrong).\n",
    );
    if let Some(r) = results.first() {
        let s = &r.summary;
        let _ = writeln!(
            md,
            "- Undecided verdicts: null policy `{}`. Intervals: percentile bootstrap (2.5th and \
             97.5th percentiles, nearest rank) over prompts, {} resamples, seed {}. \
             Each method's `summary.json` says the same per metric (`how`).",
            serde_json::to_value(s.null_policy)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            s.bootstrap.resamples,
            s.bootstrap.seed
        );
    }
    md
}

/// The "Claims" section: each claim, its paired difference with interval, and the verdict.
fn claims_section(c: &Claims) -> String {
    let mut md = String::from("\n## Claims\n\n");
    let _ = writeln!(
        md,
        "The paper's claims as differences between two methods on the same {} test prompts. \
         Intervals: one paired bootstrap ({} resamples, seed {}) that draws the {} clusters \
         ({}) with replacement, the same draw for every method, so renumbered instances of one \
         problem are not counted as independent. Verdict: supported when the 95% interval lies \
         above 0, contradicted when below 0, otherwise not resolved at this size; no verdict \
         when the difference is undefined (a method gave no fragment) in more than 5% of the \
         resamples (\"defined in\").\n",
        c.prompts, c.bootstrap.resamples, c.bootstrap.seed, c.clusters, c.cluster_kind
    );
    if c.claims.is_empty() {
        md.push_str("(no claim applies to the methods of this run)\n");
        return md;
    }
    md.push_str(
        "| claim | difference | 95% interval | defined in | verdict |\n|---|---|---|---|---|\n",
    );
    for claim in &c.claims {
        let d = claim
            .difference
            .map_or_else(|| "n/a".into(), |d| format!("{d:+.3}"));
        let ci = claim
            .ci95
            .map_or_else(|| "n/a".into(), |[lo, hi]| format!("[{lo:+.3}, {hi:+.3}]"));
        let _ = writeln!(
            md,
            "| {} | {d} | {ci} | {} of {} | {} |",
            cell(&claim.text),
            claim.defined_in,
            c.bootstrap.resamples,
            claim.verdict.words()
        );
    }
    md
}

/// `s` cut to at most `max` bytes at a char boundary, with `…` when cut.
fn shorten(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

fn examples_section(results: &[MethodResult]) -> String {
    let mut md = String::from("\n## Example answers\n");
    for r in results {
        let _ = writeln!(
            md,
            "\n### {}{}\n",
            r.method,
            r.alpha.map_or_else(String::new, |a| format!(", α = {a}"))
        );
        if r.shown.is_empty() {
            md.push_str("(none)\n");
        }
        for s in &r.shown {
            let e = &s.record;
            let _ = writeln!(md, "**{}**: {}\n", e.id, stop_description(e));
            for line in shorten(s.prompt.trim(), 300).lines() {
                let _ = writeln!(md, "> {line}");
            }
            let fence = if e.answer.contains("```") {
                "~~~~"
            } else {
                "```"
            };
            let _ = writeln!(
                md,
                "\n{fence}text\n{}\n{fence}\n",
                shorten(e.answer.trim_end(), SHOW_CHARS)
            );
        }
    }
    md
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
