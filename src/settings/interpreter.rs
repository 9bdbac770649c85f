//! The code judge's interpreter: run once to read its version.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

/// The oldest Python the code sandbox runs on (it installs audit hooks, new in 3.8).
pub const MIN_PYTHON: (u32, u32) = (3, 8);

/// A Python interpreter (`judge.python`): it runs `python -I -c "import sys;
/// print(sys.version_info[:2])"` within 30 s and reports Python [`MIN_PYTHON`] (3.8) or later.
/// Each interpreter is probed once per process.
///
/// # Errors
/// An interpreter that cannot be started, fails, hangs or is older than 3.8; the message names
/// the setting and the interpreter.
pub fn python(name: &str, interpreter: &str) -> Result<()> {
    static PROBED: OnceLock<Mutex<HashMap<String, Probe>>> = OnceLock::new();
    let probed = PROBED.get_or_init(Default::default);
    let known = probed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(interpreter)
        .cloned();
    let found = match known {
        Some(f) => f,
        None => {
            let f = python_version(interpreter);
            probed
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(interpreter.to_string(), f.clone());
            f
        }
    };
    match found {
        Err(why) => bail!(
            "{name} = {interpreter:?}: {why} (the code judge needs Python {}.{} or later)",
            MIN_PYTHON.0,
            MIN_PYTHON.1
        ),
        Ok(v) if v < MIN_PYTHON => bail!(
            "{name} = {interpreter:?} is Python {}.{}: the code judge needs Python {}.{} or later \
             (audit hooks)",
            v.0,
            v.1,
            MIN_PYTHON.0,
            MIN_PYTHON.1
        ),
        Ok(_) => Ok(()),
    }
}

/// What probing an interpreter found: its `(major, minor)` version, or why it could not be read.
type Probe = Result<(u32, u32), String>;

/// The `(major, minor)` version of `interpreter`, or why it could not be read.
fn python_version(interpreter: &str) -> Probe {
    let mut child = Command::new(interpreter)
        .args(["-I", "-c", "import sys; print(sys.version_info[:2])"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("it did not answer within 30 s".into());
            }
            Err(e) => return Err(format!("waiting for it: {e}")),
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        use std::io::Read;
        let _ = stdout.read_to_string(&mut out);
    }
    if !status.success() {
        return Err(format!("it failed ({status}) to print its version"));
    }
    // `(3, 11)`
    let parsed = out
        .trim()
        .strip_prefix('(')
        .and_then(|s| s.strip_suffix(')'))
        .and_then(|s| s.split_once(','))
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
    parsed.ok_or_else(|| {
        format!(
            "it is not a Python 3 interpreter (printed {:?})",
            out.trim()
        )
    })
}
