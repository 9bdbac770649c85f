use std::cell::RefCell;

use serde::Deserialize;

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Row {
    id: String,
    v: u32,
}

impl Keyed for Row {
    fn id(&self) -> &str {
        &self.id
    }
}

fn opts(chunk: usize) -> StageOptions {
    StageOptions {
        label: "test".into(),
        chunk,
        quiet: true,
    }
}

/// Runs the stage over ids `items`, recording which ids `work` saw; `fail_at` makes the work
/// fail when it meets that id.
fn run(
    out: &Path,
    items: &[&str],
    chunk: usize,
    fail_at: Option<&str>,
) -> (anyhow::Result<StageReport>, Vec<String>) {
    let seen = RefCell::new(Vec::new());
    let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
    let r = run_stage(
        out,
        &items,
        |s| s.as_str(),
        &opts(chunk),
        |chunk, _| {
            let mut rows = Vec::new();
            for id in chunk {
                if Some(id.as_str()) == fail_at {
                    anyhow::bail!("failing at {id}");
                }
                seen.borrow_mut().push(id.to_string());
                rows.push(Row {
                    id: id.to_string(),
                    v: id.len() as u32,
                });
            }
            Ok(rows)
        },
    );
    (r, seen.into_inner())
}

fn text(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn fresh_run_writes_everything_and_leaves_no_partial() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sub/out.jsonl");
    let (r, seen) = run(&out, &["a", "bb", "ccc"], 2, None);
    let r = r.unwrap();
    assert_eq!(seen, ["a", "bb", "ccc"]);
    assert_eq!((r.total, r.skipped, r.written), (3, 0, 3));
    assert_eq!(
        text(&out),
        "{\"id\":\"a\",\"v\":1}\n{\"id\":\"bb\",\"v\":2}\n{\"id\":\"ccc\",\"v\":3}\n"
    );
    assert!(!partial_path(&out).exists());
    assert_eq!(partial_path(&out).file_name().unwrap(), "out.jsonl.partial");
}

#[test]
fn rerun_with_more_items_does_only_the_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    run(&out, &["a", "b"], 1, None).0.unwrap();
    let (r, seen) = run(&out, &["a", "b", "c", "d"], 1, None);
    let r = r.unwrap();
    assert_eq!(seen, ["c", "d"]);
    assert_eq!((r.total, r.skipped, r.written), (4, 2, 2));
    let ids: Vec<String> = read_jsonl::<Row>(&out)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, ["a", "b", "c", "d"]);
    // everything done: a third run does no work and leaves the file as it is
    let before = text(&out);
    let (r, seen) = run(&out, &["a", "b", "c", "d"], 1, None);
    assert!(seen.is_empty());
    assert_eq!(r.unwrap().written, 0);
    assert_eq!(text(&out), before);
}

#[test]
fn truncated_last_line_of_a_partial_file_is_redone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    std::fs::write(
        partial_path(&out),
        "{\"id\":\"a\",\"v\":1}\n{\"id\":\"b\",\"v\":1}\n{\"id\":\"c\",\"v",
    )
    .unwrap();
    let (r, seen) = run(&out, &["a", "b", "c", "d"], 3, None);
    let r = r.unwrap();
    assert!(r.dropped_truncated_line);
    assert_eq!(seen, ["c", "d"]);
    assert_eq!(
        text(&out),
        "{\"id\":\"a\",\"v\":1}\n{\"id\":\"b\",\"v\":1}\n{\"id\":\"c\",\"v\":1}\n{\"id\":\"d\",\"v\":1}\n"
    );
}

#[test]
fn a_failed_run_keeps_its_finished_chunks_and_the_rerun_completes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    // chunks [a b] [c d] [e]: fails inside the second chunk, so only [a b] was appended
    let (r, _) = run(&out, &["a", "b", "c", "d", "e"], 2, Some("d"));
    assert!(r.unwrap_err().to_string().contains("failing at d"));
    assert!(!out.exists());
    assert_eq!(
        text(&partial_path(&out)),
        "{\"id\":\"a\",\"v\":1}\n{\"id\":\"b\",\"v\":1}\n"
    );
    let (r, seen) = run(&out, &["a", "b", "c", "d", "e"], 2, None);
    assert_eq!(seen, ["c", "d", "e"]);
    assert_eq!(r.unwrap().skipped, 2);
    assert_eq!(read_jsonl::<Row>(&out).unwrap().len(), 5);
    assert!(!partial_path(&out).exists());
}

#[test]
fn a_bad_line_inside_the_partial_file_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    std::fs::write(
        partial_path(&out),
        "{\"id\":\"a\",\"v\":1}\n{\"id\":\"b\"}\n{\"id\":\"c\",\"v\":1}\n",
    )
    .unwrap();
    let err = run(&out, &["a"], 1, None).0.unwrap_err().to_string();
    assert!(err.contains("out.jsonl.partial:2:"), "{err}");
    assert!(err.contains("missing field `v`"), "{err}");
}

#[test]
fn no_items_gives_an_empty_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    let r = run(&out, &[], 4, None).0.unwrap();
    assert_eq!((r.total, r.written), (0, 0));
    assert_eq!(text(&out), "");
}

#[test]
fn a_finished_file_without_final_newline_is_continued_on_a_new_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    std::fs::write(&out, "{\"id\":\"a\",\"v\":7}").unwrap();
    let (_, seen) = run(&out, &["a", "b"], 1, None);
    assert_eq!(seen, ["b"]);
    assert_eq!(
        text(&out),
        "{\"id\":\"a\",\"v\":7}\n{\"id\":\"b\",\"v\":1}\n"
    );
}
