use super::*;

/// An output folder `dir` that holds results.
fn held(dir: &Path) -> Results<'_> {
    Results {
        path: dir,
        hold: true,
        elsewhere: "another output folder",
        delete: "this folder".into(),
    }
}

/// An output folder `dir` without results.
fn empty(dir: &Path) -> Results<'_> {
    Results {
        hold: false,
        ..held(dir)
    }
}

#[test]
fn writes_replaces_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sub/a.json");
    write_atomic(&p, b"one").unwrap();
    write_json_atomic(&p, &serde_json::json!({"x": 1})).unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\n  \"x\": 1\n}\n");
    let names: Vec<_> = std::fs::read_dir(dir.path().join("sub")).unwrap().collect();
    assert_eq!(names.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
    }
    assert_eq!(folder_of(Path::new("a.md")), PathBuf::from("."));
}

#[test]
fn stale_temporary_files_are_removed_and_partial_outputs_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("models/a/checkpoint")).unwrap();
    std::fs::create_dir_all(d.join("models/a/model.tmp")).unwrap();
    for f in [
        "sampled.jsonl.partial",
        ".halt-tmp-abc123",
        "models/a/checkpoint/model-1.bpk.tmp",
        "models/a/checkpoint/model-1.bpk",
        "models/a/model.tmp/config.json",
        "report.md",
    ] {
        std::fs::write(d.join(f), "x").unwrap();
    }
    // by hand: the temp file, the checkpoint being saved, the export folder
    assert_eq!(remove_stale_temp_files(d).unwrap(), 3);
    assert!(d.join("sampled.jsonl.partial").exists());
    assert!(d.join("models/a/checkpoint/model-1.bpk").exists());
    assert!(d.join("report.md").exists());
    assert!(!d.join("models/a/model.tmp").exists());
    assert_eq!(remove_stale_temp_files(&d.join("missing")).unwrap(), 0);
}

#[test]
fn differing_fields_are_named_with_their_path() {
    let a = serde_json::json!({"model": "a.gguf", "sample": {"n": 5, "top_p": 0.95}, "seed": 0});
    let b = serde_json::json!({"model": "b.gguf", "sample": {"n": 3, "top_p": 0.95}, "seed": 0});
    assert_eq!(
        differing_fields(&a, &b),
        [
            r#"model = "a.gguf" there, "b.gguf" now"#,
            "sample.n = 5 there, 3 now"
        ]
    );
    assert!(differing_fields(&a, &a).is_empty());
}

#[test]
fn a_folder_made_with_another_model_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("made_with.json");
    let now = serde_json::json!({"model": "/m/one", "model_sha256": "aa", "shots": 0});
    // recorded before the first result
    check_made_with(&path, &now, &["model"], &empty(dir.path())).unwrap();
    // the same model moved elsewhere: accepted
    let moved = serde_json::json!({"model": "/n/one", "model_sha256": "aa", "shots": 0});
    check_made_with(&path, &moved, &["model"], &held(dir.path())).unwrap();
    let other = serde_json::json!({"model": "/m/two", "model_sha256": "bb", "shots": 0});
    let e = format!(
        "{:#}",
        check_made_with(&path, &other, &["model"], &held(dir.path())).unwrap_err()
    );
    assert!(e.contains(r#"model = "/m/one" there, "/m/two" now"#), "{e}");
    assert!(e.contains(r#"model_sha256 = "aa" there, "bb" now"#), "{e}");
    // a record without the test file (an earlier version's) is completed, not refused
    let with_data = serde_json::json!({"model": "/m/one", "model_sha256": "aa", "shots": 0,
        "data_sha256": "cc"});
    check_made_with(&path, &with_data, &["model"], &held(dir.path())).unwrap();
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(recorded, with_data);
    let other_data = serde_json::json!({"model": "/m/one", "model_sha256": "aa", "shots": 0,
        "data_sha256": "dd"});
    let e = format!(
        "{:#}",
        check_made_with(&path, &other_data, &["model"], &held(dir.path())).unwrap_err()
    );
    assert!(e.contains(r#"data_sha256 = "cc" there, "dd" now"#), "{e}");
}

#[test]
fn a_folder_without_results_takes_the_new_settings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("made_with.json");
    let first = serde_json::json!({"model_sha256": "aa", "max_new_tokens": 400});
    check_made_with(&path, &first, &[], &empty(dir.path())).unwrap();
    // the first command failed before its first answer: the corrected one is accepted and
    // recorded in its place
    let fixed = serde_json::json!({"model_sha256": "aa", "max_new_tokens": 40});
    check_made_with(&path, &fixed, &[], &empty(dir.path())).unwrap();
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(recorded, fixed);
    // once it holds an answer, the folder is bound to them
    let e = format!(
        "{:#}",
        check_made_with(&path, &first, &[], &held(dir.path())).unwrap_err()
    );
    assert!(e.contains("max_new_tokens = 40 there, 400 now"), "{e}");
}

#[test]
fn results_without_a_readable_record_are_refused_and_a_folder_without_results_is_free() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("made_with.json");
    let now = serde_json::json!({"model_sha256": "aa"});
    let out = Path::new("s.jsonl");
    let sampled = Results {
        path: out,
        hold: true,
        elsewhere: "another --out",
        delete: "s.jsonl".into(),
    };
    // results whose record was deleted: refused, naming the results and the record
    let e = check_made_with(&path, &now, &[], &sampled).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "s.jsonl holds results without a record of what made them ({0} is missing, so \
             results of other settings could not be told apart): restore {0}, or delete \
             s.jsonl to start over",
            path.display()
        )
    );
    assert!(!path.exists());
    // a damaged record: refused with results, replaced without
    std::fs::write(&path, "{\"model_sha256\": ").unwrap();
    let e = check_made_with(&path, &now, &[], &sampled).unwrap_err();
    let e = e.to_string();
    assert!(
        e.starts_with(&format!(
            "{} is not a record of what made the results in s.jsonl (EOF while parsing",
            path.display()
        )),
        "{e}"
    );
    assert!(
        e.ends_with("restore it, or delete s.jsonl to start over"),
        "{e}"
    );
    std::fs::write(&path, "[1]").unwrap();
    let e = check_made_with(&path, &now, &[], &sampled).unwrap_err();
    assert!(e.to_string().contains("(not a JSON object)"), "{e}");
    check_made_with(&path, &now, &[], &empty(dir.path())).unwrap();
    let recorded: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(recorded, now);
    // other settings: the output file named, and --out to change
    let other = serde_json::json!({"model_sha256": "bb"});
    let e = check_made_with(&path, &other, &[], &sampled).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "s.jsonl was made with other settings (model_sha256 = \"aa\" there, \"bb\" now; \
             recorded in {}): use another --out, or delete s.jsonl to start over",
            path.display()
        )
    );
}

#[test]
fn a_record_is_a_complete_line_of_the_output_or_its_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("evaluated.jsonl");
    let partial = dir.path().join("evaluated.jsonl.partial");
    assert!(!holds_record(&out));
    std::fs::write(&partial, "").unwrap();
    assert!(!holds_record(&out));
    // a line cut by a kill is no record
    std::fs::write(&partial, "{\"id\":").unwrap();
    assert!(!holds_record(&out));
    std::fs::write(&partial, "{\"id\":\"a\"}\n").unwrap();
    assert!(holds_record(&out));
    std::fs::remove_file(&partial).unwrap();
    std::fs::write(&out, "{\"id\":\"a\"}\n").unwrap();
    assert!(holds_record(&out));
}
