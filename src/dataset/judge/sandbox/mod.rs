//! The code sandbox: runs a Python program in a separate, limited process and reports how it
//! ended (see [`run_python`]; the limits and isolation are described in the code judge's docs,
//! [`super::code`]).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::JudgeError;

mod isolation;

use isolation::plan;
pub use isolation::{Isolation, MAX_PROCESSES, isolation, network_isolated, processes_limited};

/// The runner: limits, the audit hook that keeps the run's secret from the program, and the
/// program's run (see the code judge's docs).
const RUNNER: &str = include_str!("runner.py");

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
    /// The program ran to its end (`completed`) and the process exited with status 0 within the
    /// limits.
    pub passed: bool,
    /// The program returned: the preamble wrote this run's token after it (an exit before the
    /// end, a crash or a timeout leaves it unwritten).
    pub completed: bool,
    /// Stopped at the wall-clock limit.
    pub timed_out: bool,
    /// The exit code, if the process exited normally.
    pub exit_code: Option<i32>,
    /// Standard output (at most 1 MiB).
    pub stdout: String,
    /// Standard error (at most 64 KiB), with tracebacks.
    pub stderr: String,
    /// The protection the program ran under.
    pub isolation: Isolation,
}

/// Waits for `child` until `deadline`; `None` if it is still running then.
fn wait_until(
    child: &mut std::process::Child,
    deadline: Instant,
) -> std::io::Result<Option<std::process::ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills the processes that have `token` (this run's) on their command line, and waits until
/// they are gone or until `deadline`: the program and its forks have it, from the preamble's
/// arguments, even one that left the process group and the sandbox without a process namespace.
/// Without `/proc`, returns.
fn wait_gone(token: &str, deadline: Instant) {
    let alive = || -> Vec<String> {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let pid = e.file_name().into_string().ok()?;
                let ours = pid.bytes().all(|b| b.is_ascii_digit())
                    && std::fs::read(e.path().join("cmdline"))
                        .is_ok_and(|c| c.windows(token.len()).any(|w| w == token.as_bytes()));
                ours.then_some(pid)
            })
            .collect()
    };
    loop {
        let pids = alive();
        if pids.is_empty() || Instant::now() >= deadline {
            return;
        }
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(&pids)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills every process left in the process group `pgid` (SIGKILL).
fn kill_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

pub(crate) fn read_capped(path: &Path, cap: u64) -> String {
    let mut buf = Vec::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = f.take(cap).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

pub(crate) fn token() -> String {
    format!(
        "{:016x}{:016x}",
        rand::random::<u64>(),
        rand::random::<u64>()
    )
}

/// Bytes each of the program's own `tmpfs` mounts (its working directory and `/tmp`) may hold
/// under bubblewrap (where bubblewrap supports `--size`); each file is further bounded by
/// `RLIMIT_FSIZE` (16 MiB).
pub const SCRATCH_BYTES: u64 = 64 << 20;

/// The descriptor the program's last line writes the secret to.
const DONE_FD: i32 = 3;

/// Makes `file` the child's descriptor [`DONE_FD`] (without close-on-exec).
fn pass_as_done_fd(cmd: &mut Command, file: &std::fs::File) {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let fd = file.as_raw_fd();
    // SAFETY: only async-signal-safe calls (dup2, fcntl) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let ok = if fd == DONE_FD {
                libc::fcntl(fd, libc::F_SETFD, 0) >= 0
            } else {
                libc::dup2(fd, DONE_FD) >= 0
            };
            if ok {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// Runs a Python program in the sandbox described in the module docs.
///
/// The program passes only if it returns: its last line, added here, writes a secret (random
/// per run) to a descriptor of the runner's. The program reaches the runner on its standard
/// input and is compiled there, so the secret is only a constant of the program's code object,
/// which the runner's audit hook keeps out of reach (no frame's code, no garbage-collector
/// lists, no `ctypes`, no `/proc`, no other programs); `prog.py`, for tracebacks and `inspect`,
/// holds the program without that line.
///
/// # Errors
/// [`JudgeError::Sandbox`] if the temporary directory or the process cannot be set up (e.g. no
/// `python3`); a program that fails, exits early, crashes, loops or exhausts memory is a
/// [`RunOutcome`] with `passed == false`, not an error.
pub fn run_python(program: &str, limits: &SandboxLimits) -> Result<RunOutcome, JudgeError> {
    run_python_showing(program, program, limits)
}

/// [`run_python`], with `shown` as the `prog.py` the program can read (and tracebacks quote)
/// instead of `program` itself: for a program that holds a secret of its own in its text (the
/// code judge's search), `shown` is the same program without it.
///
/// # Errors
/// As [`run_python`].
pub fn run_python_showing(
    program: &str,
    shown: &str,
    limits: &SandboxLimits,
) -> Result<RunOutcome, JudgeError> {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let err = |what: &str, e: std::io::Error| JudgeError::Sandbox(format!("{what}: {e}"));
    let plan = plan(&limits.python);
    isolation::warn_once(&limits.python, &plan);
    let dir = tempfile::tempdir().map_err(|e| err("temporary directory", e))?;
    std::fs::write(dir.path().join("prog.py"), shown).map_err(|e| err("write program", e))?;
    std::fs::write(dir.path().join("runner.py"), RUNNER).map_err(|e| err("write runner", e))?;
    let stdout = std::fs::File::create(dir.path().join("stdout")).map_err(|e| err("stdout", e))?;
    let stderr = std::fs::File::create(dir.path().join("stderr")).map_err(|e| err("stderr", e))?;
    let done = std::fs::File::create(dir.path().join("done")).map_err(|e| err("done", e))?;
    // the tag finds the run's processes by their command line; the secret proves the end
    let tag = token();
    let secret = token();
    let sep = if program.is_empty() || program.ends_with('\n') {
        ""
    } else {
        "\n"
    };
    let source = format!("{program}{sep}__import__(\"os\").write({DONE_FD}, b\"{secret}\")\n");
    // the process limit only where the program has its own user namespace: elsewhere it would
    // count all of the user's processes
    let nproc = match plan.isolation {
        Isolation::None => 0,
        _ => MAX_PROCESSES,
    };
    let args = [
        "-I".to_string(),
        "runner.py".into(),
        limits.memory_bytes.to_string(),
        format!("{:.3}", limits.wall.as_secs_f64()),
        tag.clone(),
        nproc.to_string(),
    ];
    let mut cmd = match (&plan.bwrap, plan.isolation) {
        (Some(b), _) => {
            b.prepare(dir.path())
                .map_err(|e| err("scratch directory", e))?;
            b.command(dir.path())
        }
        (None, Isolation::NetworkOnly) => {
            let mut c = Command::new("unshare");
            c.arg("-rn").arg(&limits.python);
            c
        }
        (None, _) => Command::new(&limits.python),
    };
    cmd.args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0);
    pass_as_done_fd(&mut cmd, &done);
    let mut child = cmd
        .spawn()
        .map_err(|e| err(&format!("start {}", limits.python), e))?;
    drop(done);
    if let Some(mut stdin) = child.stdin.take() {
        // the runner reads all of it before it runs anything; one that died first is a failed
        // run (the write then fails with a broken pipe)
        let _ = stdin.write_all(source.as_bytes());
    }
    let deadline = Instant::now() + limits.wall + Duration::from_secs(1);
    let status = wait_until(&mut child, deadline).map_err(|e| err("wait", e))?;
    // The process group holds the program and whatever it started (under bubblewrap, the
    // sandbox's own processes die with it: `--die-with-parent` and the process namespace).
    kill_group(child.id());
    let mut timed_out = false;
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        timed_out = true;
    }
    // Killed processes take a while to go (a second for a thousand forks): wait for them, so
    // that none outlives the run.
    wait_gone(&tag, Instant::now() + Duration::from_secs(2));
    let stderr = read_capped(&dir.path().join("stderr"), 64 << 10);
    timed_out |= stderr.contains("Timeout (");
    // the program may write to the descriptor too, but not the secret
    let completed = read_capped(&dir.path().join("done"), 64 << 10).contains(&secret);
    let exit_code = status.and_then(|s| s.code());
    Ok(RunOutcome {
        passed: completed && !timed_out && exit_code == Some(0),
        completed,
        timed_out,
        exit_code,
        stdout: read_capped(&dir.path().join("stdout"), 1 << 20),
        stderr,
        isolation: plan.isolation,
    })
}

#[cfg(test)]
mod tests;
