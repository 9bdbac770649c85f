//! The report and plot written to a temporary folder: table rows and formats by hand, files
//! exist, the PNG decodes, the SVG has the axis labels.

use super::*;
use crate::dataset::record::{Fragment, FragmentKind, NullPolicy};
use crate::eval::bootstrap::BootstrapConfig;
use crate::eval::example_answers::pick_answers;
use crate::eval::metrics::summarize;
use crate::eval::record::Evaluated;
use crate::generate::FinishReason;

fn rec(id: &str, verdicts: &[Option<bool>], marker: bool, reference: usize) -> Evaluated {
    let mut answer = String::new();
    let mut fragments = Vec::new();
    for (i, &correct) in verdicts.iter().enumerate() {
        let text = format!("step {i}");
        fragments.push(Fragment {
            start: answer.len(),
            end: answer.len() + text.len(),
            text: text.clone(),
            correct,
            neutral: false,
        });
        answer.push_str(&text);
        answer.push('\n');
    }
    let marker_at = marker.then_some(answer.len());
    if marker {
        answer.push_str("Unsure from Here");
    }
    Evaluated {
        id: id.into(),
        answer,
        finish: FinishReason::Eos,
        n_fragments: fragments.len(),
        n_correct: verdicts.iter().filter(|v| **v == Some(true)).count(),
        n_undecided: verdicts.iter().filter(|v| v.is_none()).count(),
        fragments,
        kind: FragmentKind::Dependent,
        marker_at,
        abstained: marker && verdicts.is_empty(),
        partial_abstained: marker && !verdicts.is_empty(),
        complete: !marker && !verdicts.is_empty(),
        n_reference_fragments: reference,
        n_neutral: 0,
        progress: None,
        cut: false,
    }
}

fn result(method: &str, alpha: Option<f64>, recs: &[Evaluated]) -> MethodResult {
    MethodResult {
        method: method.into(),
        alpha,
        summary: summarize(recs, NullPolicy::Wrong, &BootstrapConfig::default()),
        shown: pick_answers(recs, &[], 2),
    }
}

/// unchanged: 2 full answers, 2 of 4 and 4 of 4 correct (reference 4 each): correctness 0.75,
/// completeness 0.75. halt α=0.4: 1 of 1 then the marker, and only the marker (reference 4):
/// correctness 1.0, completeness (1/4 + 0)/2 = 0.125, relative 0.125/0.75 = 0.1667.
fn results() -> Vec<MethodResult> {
    let t = Some(true);
    let f = Some(false);
    vec![
        result(
            "halt",
            Some(0.4),
            &[rec("a", &[t], true, 4), rec("b", &[], true, 4)],
        ),
        result(
            "halt",
            Some(0.8),
            &[rec("a", &[t, t, f], true, 4), rec("b", &[t], false, 4)],
        ),
        result(
            "unchanged",
            None,
            &[
                rec("a", &[t, t, f, f], false, 4),
                rec("b", &[t, t, t, t], false, 4),
            ],
        ),
        result(
            "idk",
            None,
            &[rec("a", &[], true, 4), rec("b", &[], true, 4)],
        ),
    ]
}

#[test]
fn table_rows_by_hand() {
    let md = render_markdown("T", &results(), None, None, "");
    assert!(md.contains("completeness rel. to unchanged"), "{md}");
    // cells of the first row that starts with `| {method} | {alpha} |`
    let row = |m: &str| -> Vec<String> {
        let line = md
            .lines()
            .find(|l| l.starts_with(m))
            .unwrap_or_else(|| panic!("no row {m:?} in\n{md}"));
        line.split(" | ")
            .map(|c| c.trim_matches(|ch| ch == '|' || ch == ' ').to_string())
            .collect()
    };
    // method, α, correctness, completeness, relative, F1, abstention, partial, prompts
    let halt = row("| halt | 0.4 |");
    assert_eq!(halt[2], "1.000 [1.000, 1.000]");
    assert!(halt[3].starts_with("0.125 ["), "{halt:?}");
    assert!(halt[4].starts_with("0.167 ["), "0.125 / 0.75: {halt:?}");
    assert!(halt[5].starts_with("0.222 ["), "2·1·0.125/1.125: {halt:?}");
    assert!(halt[6].starts_with("0.500 [") && halt[7].starts_with("0.500 ["));
    assert_eq!(halt[8], "2");
    let un = row("| unchanged | – |");
    assert!(
        un[2].starts_with("0.750 [") && un[3].starts_with("0.750 ["),
        "{un:?}"
    );
    // relative of itself is 1; its interval is [0.5, 1] / 0.75
    assert_eq!(un[4], "1.000 [0.667, 1.333]");
    // every answer abstains: correctness n/a, completeness 0 so F1 0, abstention 1
    let idk = row("| idk | – |");
    assert_eq!(
        idk[2..],
        [
            "n/a",
            "0.000 [0.000, 0.000]",
            "0.000 [0.000, 0.000]",
            "0.000 [0.000, 0.000]",
            "1.000 [1.000, 1.000]",
            "0.000 [0.000, 0.000]",
            "2"
        ]
    );
    assert!(!md.contains("NaN"));
    assert!(md.contains("## How the numbers were computed"));
    assert!(md.contains("null policy `wrong`"), "{md}");
    assert!(md.contains("1000 resamples, seed 0"));
    assert!(md.contains("### halt, α = 0.4"));
    assert!(md.contains("**a**: stopped with the marker after 1 fragment (✓), 1 correct"));
    assert!(md.contains("**b**: abstained: only the marker"));
}

#[test]
fn without_unchanged_there_is_no_relative_column() {
    let r = results();
    let md = render_markdown("T", &r[..2], None, None, "");
    assert!(!md.contains("rel. to unchanged"));
    let p = ReferencePoint {
        label: "pretrained, 4-shot".into(),
        correctness: Some(0.42),
        completeness: None,
    };
    let md = render_markdown("T", &r[..2], Some(&p), None, "");
    assert!(
        md.contains("Reference point (pretrained, 4-shot): correctness 0.420, completeness n/a.")
    );
}

#[test]
fn report_and_plot_files_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report");
    let reference = ReferencePoint {
        label: "pretrained".into(),
        correctness: Some(0.5),
        completeness: Some(0.4),
    };
    let files = write_report(&out, "HALT on tiny", &results(), Some(&reference), None, "").unwrap();
    let md = std::fs::read_to_string(&files.markdown).unwrap();
    assert!(md.starts_with("# HALT on tiny\n"));
    assert!(md.contains("![correctness against completeness](plot.png)"));
    let bytes = std::fs::read(&files.png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = decoder.read_info().unwrap();
    assert_eq!(
        (reader.info().width, reader.info().height),
        crate::eval::plot::SIZE
    );
    let svg = std::fs::read_to_string(&files.svg).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(100)]);
    for text in [
        "completeness",
        "correctness",
        "unchanged",
        "idk: correctness n/a",
        "pretrained",
        "α=0.4",
    ] {
        assert!(svg.contains(text), "SVG lacks {text:?}");
    }
    // only the three files, no temporary leftovers
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["plot.png", "plot.svg", "report.md"]);
    // a second write replaces them
    write_report(&out, "again", &results()[..1], None, None, "").unwrap();
    assert!(
        std::fs::read_to_string(&files.markdown)
            .unwrap()
            .starts_with("# again\n")
    );
}

#[test]
fn estimates_format() {
    use crate::eval::metrics::Estimate;
    let e = |value, ci95| Estimate {
        value,
        ci95,
        how: String::new(),
    };
    assert_eq!(fmt_estimate(&e(None, None)), "n/a");
    assert_eq!(fmt_estimate(&e(Some(0.5), None)), "0.500");
    assert_eq!(
        fmt_estimate(&e(Some(0.81234), Some([0.7, 0.9]))),
        "0.812 [0.700, 0.900]"
    );
}
