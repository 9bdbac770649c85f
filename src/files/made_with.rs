//! What made an output folder's results (`made_with.json`, a run's `config.toml`): recorded
//! before the first result, compared on a rerun, each difference named.

use anyhow::Result;
use std::path::Path;

use super::{read_settings_text, write_json_atomic};

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
