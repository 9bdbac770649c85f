//! Atomic file writes for every stage output: a temporary file in the same folder, synced,
//! then renamed over the target, so a reader never sees a half-written `summary.json`,
//! `report.md`, config or plot; and reading TOML settings files with errors that name them.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The folder of `path` (`.` for a bare file name).
pub fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `bytes` to `path` atomically (temporary file in the same folder + rename), creating
/// the folder if needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = folder_of(path);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tmp = temp_file_in(&dir, "")?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .and_then(|_| make_readable(tmp.as_file()))
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The name prefix of every temporary file the stages write beside their outputs (renamed
/// into place when complete); what [`remove_stale_temp_files`] clears after a killed run.
pub const TEMP_PREFIX: &str = ".halt-tmp-";

/// A new temporary file in `dir` named `.halt-tmp-XXXXXX{suffix}` ([`TEMP_PREFIX`]).
///
/// # Errors
/// The file cannot be created (the message names the folder).
pub fn temp_file_in(dir: &Path, suffix: &str) -> Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(suffix)
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))
}

/// Removes, under `dir` (recursively), what a killed run left half-written: files and folders
/// named `.halt-tmp-*` ([`TEMP_PREFIX`]) or `*.tmp` (checkpoints being saved, a model folder
/// being exported). `.partial` stage outputs are kept: the stages resume from them. Returns
/// how many entries were removed; a missing `dir` removes nothing.
///
/// # Errors
/// A folder that cannot be read or an entry that cannot be removed (named).
pub fn remove_stale_temp_files(dir: &Path) -> Result<usize> {
    let mut removed = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    for entry in entries {
        let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if name.starts_with(TEMP_PREFIX) || name.ends_with(".tmp") {
            if is_dir {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            }
            .with_context(|| format!("removing {}", path.display()))?;
            removed += 1;
        } else if is_dir {
            removed += remove_stale_temp_files(&path)?;
        }
    }
    Ok(removed)
}

/// Gives a temporary file (created `0600`) the usual `0644` mode of an output file (Unix).
pub fn make_readable(file: &std::fs::File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// Writes `value` as pretty JSON (with a final newline) to `path`, atomically.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// Largest settings file read ([`read_toml`], also `made_with.json` records): 1 MiB, far above
/// any real one (a few hundred bytes), so that `--config /dev/zero` is refused at once instead
/// of filling memory.
pub const MAX_SETTINGS_BYTES: u64 = 1 << 20;

/// The text of the settings file `path`, at most [`MAX_SETTINGS_BYTES`].
///
/// # Errors
/// An unreadable file, not UTF-8, or larger than 1 MiB (named).
pub fn read_settings_text(path: &Path) -> Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_SETTINGS_BYTES + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading {}", path.display()))?;
    if bytes.len() as u64 > MAX_SETTINGS_BYTES {
        anyhow::bail!(
            "{} is larger than 1 MiB, too large for a settings file: is it the right file?",
            path.display()
        );
    }
    String::from_utf8(bytes).with_context(|| format!("reading {}: not UTF-8", path.display()))
}

/// Reads a TOML settings file into `T` (missing fields take `T`'s serde defaults).
///
/// # Errors
/// Unreadable file, larger than 1 MiB ([`MAX_SETTINGS_BYTES`]), invalid TOML, an unknown or
/// mistyped field (named, with its line).
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = read_settings_text(path)?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// The fields whose values differ between two JSON objects (`recorded`, `now`), as
/// `name = recorded there, now here` phrases, in the order of `now`'s fields; nested objects
/// are compared field by field (`sample.n = 5 there, 3 now`); a field missing on one side
/// counts as `null`.
pub fn differing_fields(recorded: &serde_json::Value, now: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_into(&mut out, "", recorded, now);
    out
}

fn diff_into(out: &mut Vec<String>, prefix: &str, a: &serde_json::Value, b: &serde_json::Value) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = y.keys().collect();
            keys.extend(x.keys().filter(|k| !y.contains_key(*k)));
            for k in keys {
                let name = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                let (u, v) = (
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                );
                diff_into(out, &name, u, v);
            }
        }
        _ if a != b => out.push(format!("{prefix} = {a} there, {b} now")),
        _ => {}
    }
}

/// The results a record of what made them is about ([`check_made_with`]), and how messages
/// name them.
#[derive(Debug, Clone)]
pub struct Results<'a> {
    /// The results as the user named them: an output folder (`eval`) or file (`sample`).
    pub path: &'a Path,
    /// Whether they hold a result yet (e.g. [`holds_record`] of the answers file).
    pub hold: bool,
    /// Where else to write, in a refusal: `another output folder`, `another --out`.
    pub elsewhere: &'a str,
    /// What to delete to start over: `this folder`, the output file.
    pub delete: String,
}

/// Records what an output's results were made with in `path` (a JSON object, e.g. the model
/// and the settings that change the answers), or, when `path` exists, checks that `now` is the
/// same: resuming into results made with another model would silently mix two models'
/// answers. Fields named in `shown_only` (e.g. the model's path, which moves with the folder)
/// are not compared, but the message names them when they differ too. Nor are fields the
/// record lacks (a folder recorded by an earlier version): the record is completed with them.
///
/// Results are bound to what made them only once they hold a result (`results.hold`). Results
/// without one (a command that failed before its first result) take `now`, whatever the record
/// holds, even when it cannot be read. Callers record before they write their first result, so
/// results killed at any moment never hold a result without the record of what made them:
/// results that do (the record deleted or damaged) are refused, as other settings could not
/// be told apart.
///
/// # Errors
/// Results that hold a result and whose record differs from `now` (the message names each
/// differing field and `path`), is missing or cannot be read; unreadable or unwritable files.
pub fn check_made_with(
    path: &Path,
    now: &serde_json::Value,
    shown_only: &[&str],
    results: &Results,
) -> Result<()> {
    let start_over = format!("delete {} to start over", results.delete);
    if !results.hold {
        // Not bound yet: a missing, damaged or different record is replaced.
        let same = read_settings_text(path)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|r| &r == now);
        return if same {
            Ok(())
        } else {
            write_json_atomic(path, now)
        };
    }
    if !path.exists() {
        anyhow::bail!(
            "{} holds results without a record of what made them ({} is missing, so results \
             of other settings could not be told apart): restore {}, or {start_over}",
            results.path.display(),
            path.display(),
            path.display()
        );
    }
    let text = read_settings_text(path)?;
    let recorded: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        Ok(_) => anyhow::bail!(
            "{} is not a record of what made the results in {} (not a JSON object): restore \
             it, or {start_over}",
            path.display(),
            results.path.display()
        ),
        Err(e) => anyhow::bail!(
            "{} is not a record of what made the results in {} ({e}): restore it, or \
             {start_over}",
            path.display(),
            results.path.display()
        ),
    };
    // Fields an earlier version did not record are not compared: the record is completed.
    let unrecorded: Vec<&String> = now
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| recorded.get(k.as_str()).is_none())
                .collect()
        })
        .unwrap_or_default();
    let diff = differing_fields(&recorded, now);
    let compared = |d: &&String| {
        !shown_only
            .iter()
            .copied()
            .chain(unrecorded.iter().map(|k| k.as_str()))
            .any(|f| d.starts_with(&format!("{f} = ")))
    };
    if diff.iter().any(|d| compared(&d)) {
        anyhow::bail!(
            "{} was made with other settings ({}; recorded in {}): use {}, or {start_over}",
            results.path.display(),
            diff.join("; "),
            path.display(),
            results.elsewhere
        );
    }
    if unrecorded.is_empty() {
        return Ok(());
    }
    write_json_atomic(path, now)
}

/// Whether the JSON Lines output `out` holds at least one record: `out` exists and is not
/// empty, or its resumable `out.partial` holds a complete line (a line cut by a kill is no
/// record: the stage drops it and redoes it).
pub fn holds_record(out: &Path) -> bool {
    let mut partial = out.as_os_str().to_owned();
    partial.push(".partial");
    let complete_line = |p: &Path| std::fs::read(p).is_ok_and(|b| b.contains(&b'\n'));
    std::fs::metadata(out).is_ok_and(|m| m.len() > 0) || complete_line(Path::new(&partial))
}

#[cfg(test)]
mod tests {
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
        let a =
            serde_json::json!({"model": "a.gguf", "sample": {"n": 5, "top_p": 0.95}, "seed": 0});
        let b =
            serde_json::json!({"model": "b.gguf", "sample": {"n": 3, "top_p": 0.95}, "seed": 0});
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
}
