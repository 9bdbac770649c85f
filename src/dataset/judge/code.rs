//! The code judge (dependent lines; `design.md` "Judges"): the program is run against the
//! example's tests in a sandbox.
//!
//! Program: `prompt + code + test + "check(<entry_point>)"`, where `code` is the
//! [`code_region`] of the answer (a full `def` after the prompt simply redefines the function;
//! a bare body continues the prompt's `def`).
//!
//! Sandbox ([`run_python`]): a separate `python3 -I` process in its own process group, in a fresh
//! temporary directory (the working directory, removed afterwards) with an empty environment
//! except `PATH`; a Python preamble sets `RLIMIT_AS` (memory, default 1 GiB), `RLIMIT_CPU`,
//! `RLIMIT_FSIZE` (16 MiB) and no core files, and arms `faulthandler` to print where the program
//! is stuck shortly before the wall-clock limit (default 10 s), at which the whole process group
//! is killed. Network: where `unshare -rn` works (Linux with user namespaces, or root) the
//! program runs in an empty network namespace; elsewhere only Python's `socket` connect
//! functions are disabled by the preamble (not a security boundary: documented, and reported by
//! [`network_isolated`]).
//!
//! Verdicts: passing → every line correct. Failing → the first wrong line is asked of the LLM
//! judge when one is configured; otherwise (or if it names none) the heuristic: the last
//! traceback frame (or `faulthandler` frame, for a timeout) that lies in the answer's code marks
//! the first wrong line; a failure with no frame in the code (a failed assertion, wrong output)
//! marks the first line, i.e. the whole answer is wrong.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, Instant};

use regex::Regex;

use super::llm::LlmJudge;
use super::{Judge, JudgeError, expect_domain, first_wrong_onward};
use crate::dataset::domain::Domain;
use crate::dataset::example::Example;
use crate::dataset::fragment::{code_region, lines};
use crate::dataset::record::{Fragment, FragmentKind};

const PREAMBLE: &str = r#"import faulthandler, resource, socket, sys
mem, wall = int(sys.argv[1]), float(sys.argv[2])
resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
cpu = int(wall) + 1
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
def _no_network(*args, **kwargs):
    raise OSError("network access is disabled in the HALT sandbox")
socket.socket.connect = _no_network
socket.socket.connect_ex = _no_network
socket.create_connection = _no_network
faulthandler.dump_traceback_later(max(wall - 0.5, 0.1), exit=True)
sys.argv = ["prog.py"]
with open("prog.py", encoding="utf-8") as f:
    code = compile(f.read(), "prog.py", "exec")
exec(code, {"__name__": "__main__"})
"#;

static FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"File "prog\.py", line (\d+)"#).unwrap());

/// Resource limits of the code sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxLimits {
    /// Wall-clock limit for the whole run.
    pub wall: Duration,
    /// Address-space limit in bytes.
    pub memory_bytes: u64,
    /// The Python interpreter to run.
    pub python: String,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            wall: Duration::from_secs(10),
            memory_bytes: 1 << 30,
            python: "python3".into(),
        }
    }
}

/// What happened to a sandboxed run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// Exit status 0 within the limits.
    pub passed: bool,
    /// Stopped at the wall-clock limit.
    pub timed_out: bool,
    /// The exit code, if the process exited normally.
    pub exit_code: Option<i32>,
    /// Standard error (at most 64 KiB), with tracebacks.
    pub stderr: String,
}

/// Whether programs run without network (`unshare -rn` works here); checked once.
pub fn network_isolated() -> bool {
    static OK: OnceLock<bool> = OnceLock::new();
    *OK.get_or_init(|| {
        Command::new("unshare")
            .args(["-rn", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn read_capped(path: &Path) -> String {
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(64 << 10).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

/// Runs a Python program in the sandbox described in the module docs.
///
/// Errors: [`JudgeError::Sandbox`] if the temporary directory or the process cannot be set up
/// (e.g. no `python3`); a program that fails, crashes, loops or exhausts memory is an
/// [`RunOutcome`] with `passed == false`, not an error.
pub fn run_python(program: &str, limits: &SandboxLimits) -> Result<RunOutcome, JudgeError> {
    use std::os::unix::process::CommandExt;
    let err = |what: &str, e: std::io::Error| JudgeError::Sandbox(format!("{what}: {e}"));
    let dir = tempfile::tempdir().map_err(|e| err("temporary directory", e))?;
    std::fs::write(dir.path().join("prog.py"), program).map_err(|e| err("write program", e))?;
    std::fs::write(dir.path().join("runner.py"), PREAMBLE).map_err(|e| err("write runner", e))?;
    let stdout = std::fs::File::create(dir.path().join("stdout")).map_err(|e| err("stdout", e))?;
    let stderr = std::fs::File::create(dir.path().join("stderr")).map_err(|e| err("stderr", e))?;
    let args = [
        "-I".to_string(),
        "runner.py".into(),
        limits.memory_bytes.to_string(),
        format!("{:.3}", limits.wall.as_secs_f64()),
    ];
    let mut cmd = if network_isolated() {
        let mut c = Command::new("unshare");
        c.arg("-rn").arg(&limits.python);
        c
    } else {
        Command::new(&limits.python)
    };
    cmd.args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| err(&format!("start {}", limits.python), e))?;
    let deadline = Instant::now() + limits.wall + Duration::from_secs(1);
    let mut timed_out = false;
    let status = loop {
        match child.try_wait().map_err(|e| err("wait", e))? {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                // the process group holds the program and anything it started
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                timed_out = true;
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let stderr = read_capped(&dir.path().join("stderr"));
    timed_out |= stderr.contains("Timeout (");
    let exit_code = status.and_then(|s| s.code());
    Ok(RunOutcome {
        passed: !timed_out && exit_code == Some(0),
        timed_out,
        exit_code,
        stderr,
    })
}

/// The program to run for `code` (see the module docs) and the 0-based program line of the
/// code's first line.
pub fn program_for(example: &Example, code: &str) -> Result<(String, usize), JudgeError> {
    let truth = example.code().ok_or_else(|| JudgeError::BadTruth {
        id: example.id.clone(),
        message: "no code ground truth".into(),
    })?;
    let mut program = example.prompt.clone();
    if !program.is_empty() && !program.ends_with('\n') {
        program.push('\n');
    }
    let first_line = program.matches('\n').count();
    program.push_str(code);
    program.push_str(&format!(
        "\n\n{}\n\ncheck({})\n",
        truth.test, truth.entry_point
    ));
    Ok((program, first_line))
}

/// The code judge; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct CodeJudge {
    /// Sandbox limits.
    pub limits: SandboxLimits,
    /// Locates the first wrong line of a failing answer, if configured.
    pub llm: Option<Arc<LlmJudge>>,
}

impl Judge for CodeJudge {
    fn domain(&self) -> Domain {
        Domain::Code
    }

    fn kind(&self) -> FragmentKind {
        FragmentKind::Dependent
    }

    fn judge(&self, example: &Example, response: &str) -> Result<Vec<Fragment>, JudgeError> {
        expect_domain(example, Domain::Code)?;
        let spans = lines(response);
        if spans.is_empty() {
            return Ok(Vec::new());
        }
        let region = code_region(response);
        let (program, first_line) = program_for(example, &response[region.clone()])?;
        let outcome = run_python(&program, &self.limits)?;
        let mut verdicts = vec![Some(true); spans.len()];
        if !outcome.passed {
            let texts: Vec<&str> = spans.iter().map(|s| s.text.as_str()).collect();
            let from_llm = match &self.llm {
                Some(llm) => llm.first_wrong_step(
                    &example.prompt,
                    &example.reference,
                    &texts,
                    &outcome.stderr,
                )?,
                None => None,
            };
            // program line (1-based) of each span
            let span_lines: Vec<usize> = spans
                .iter()
                .map(|s| first_line + 1 + response[region.start..s.start].matches('\n').count())
                .collect();
            let last_line = span_lines.last().copied().unwrap_or(0);
            let mut in_code = FRAME
                .captures_iter(&outcome.stderr)
                .filter_map(|c| c[1].parse::<usize>().ok())
                .filter(|&line| line <= last_line)
                .filter_map(|line| span_lines.iter().rposition(|&l| l <= line));
            // tracebacks list the innermost frame last, faulthandler (timeouts) first
            let from_trace = if outcome.stderr.contains("most recent call first") {
                in_code.next()
            } else {
                in_code.last()
            };
            let first = from_llm
                .filter(|&i| i < spans.len())
                .or(from_trace)
                .unwrap_or(0);
            verdicts[first] = Some(false);
            first_wrong_onward(&mut verdicts);
        }
        Ok(spans
            .into_iter()
            .zip(verdicts)
            .map(|(s, v)| Fragment::new(s, v))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::judge::test_data::{CODE_003, example};

    fn quick() -> CodeJudge {
        CodeJudge {
            limits: SandboxLimits {
                wall: Duration::from_secs(3),
                memory_bytes: 256 << 20,
                python: "python3".into(),
            },
            llm: None,
        }
    }

    fn verdicts(response: &str) -> Vec<Option<bool>> {
        let ex = example(CODE_003);
        quick()
            .judge(&ex, response)
            .unwrap()
            .iter()
            .map(|f| f.correct)
            .collect()
    }

    const T: Option<bool> = Some(true);
    const F: Option<bool> = Some(false);

    #[test]
    fn the_reference_passes_and_every_line_is_correct() {
        let ex = example(CODE_003);
        assert_eq!(verdicts(&ex.reference), [T; 6]);
        let fenced = "Here:\n```python\ndef below_zero(operations):\n    total = 0\n    for op in operations:\n        total += op\n        if total < 0:\n            return True\n    return False\n```\n";
        assert_eq!(verdicts(fenced), [T; 7]);
    }

    #[test]
    fn a_wrong_answer_without_a_frame_is_wrong_from_the_first_line() {
        let wrong = "    return False\n";
        assert_eq!(verdicts(wrong), [F]);
        let wrong = "    balance = 0\n    for op in operations:\n        balance += op\n    return balance < 0\n";
        assert_eq!(verdicts(wrong), [F, F, F, F]);
    }

    #[test]
    fn an_exception_marks_its_line_as_first_wrong() {
        let r = "    balance = 0\n    for op in operations:\n        balance += op / 0\n        if balance < 0:\n            return True\n    return False\n";
        assert_eq!(verdicts(r), [T, T, F, F, F, F]);
    }

    #[test]
    fn an_endless_loop_is_stopped_and_judged_wrong() {
        let r = "    balance = 0\n    while True:\n        balance += 1\n    return False\n";
        let start = Instant::now();
        let v = verdicts(r);
        assert!(
            start.elapsed() < Duration::from_secs(6),
            "{:?}",
            start.elapsed()
        );
        // faulthandler points into the loop (`while` or its body), not at line 1
        assert_eq!(v[0], T, "{v:?}");
        assert_eq!(v[2..], [F, F], "{v:?}");
    }

    #[test]
    fn unbounded_allocation_is_stopped_and_judged_wrong() {
        let r = "    hog = []\n    while True:\n        hog.append(' ' * 10_000_000)\n    return False\n";
        let v = verdicts(r);
        assert!(v.contains(&F), "{v:?}");
        let out = run_python("x = bytearray(2 << 30)\n", &quick().limits).unwrap();
        assert!(!out.passed && out.stderr.contains("MemoryError"), "{out:?}");
    }

    #[test]
    fn no_network_and_a_private_working_directory() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let prog =
            format!("import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\n");
        let out = run_python(&prog, &quick().limits).unwrap();
        assert!(!out.passed, "connected to the host: {out:?}");
        let out = run_python("import os\nassert sorted(os.listdir('.')) == ['prog.py', 'runner.py', 'stderr', 'stdout']\n", &quick().limits).unwrap();
        assert!(out.passed, "{out:?}");
    }

    #[test]
    fn a_missing_interpreter_is_a_clear_error() {
        let limits = SandboxLimits {
            python: "/nonexistent/python3".into(),
            ..SandboxLimits::default()
        };
        let r = run_python("pass\n", &limits);
        if network_isolated() {
            // unshare starts but cannot exec the interpreter: a failed run, not a panic
            assert!(!r.unwrap().passed);
        } else {
            assert!(r.unwrap_err().to_string().contains("/nonexistent/python3"));
        }
    }
}
