//! The code sandbox: runs a Python program in a separate, limited process and reports how it
//! ended (see [`run_python`]; the limits and isolation are described in the code judge's docs,
//! [`super::code`]).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::JudgeError;

const PREAMBLE: &str = r#"import faulthandler, os, resource, socket, sys, traceback
mem, wall, token = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
done = os.path.abspath("done")
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
_exit = os._exit
def _traced_exit(status):
    traceback.print_stack()
    sys.stderr.flush()
    _exit(status)
os._exit = _traced_exit
faulthandler.dump_traceback_later(max(wall - 0.5, 0.1), exit=True)
sys.argv = ["prog.py"]
with open("prog.py", encoding="utf-8") as f:
    code = compile(f.read(), "prog.py", "exec")
try:
    exec(code, {"__name__": "__main__"})
except SystemExit:
    traceback.print_exc()
    sys.exit(3)
with open(done, "w") as f:
    f.write(token)
"#;

/// Classifies the answer's code as a prefix and closes it (rule 1 of the module docs); prints
/// one JSON line: `kept` code lines, their `closer`, the program line of a `syntax` error that
/// is evidence, and the `open` loops and `try` blocks at the last kept line.
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

/// Runs a Python program in the sandbox described in the module docs.
///
/// # Errors
/// [`JudgeError::Sandbox`] if the temporary directory or the process cannot be set up (e.g. no
/// `python3`); a program that fails, exits early, crashes, loops or exhausts memory is a
/// [`RunOutcome`] with `passed == false`, not an error.
pub fn run_python(program: &str, limits: &SandboxLimits) -> Result<RunOutcome, JudgeError> {
    use std::os::unix::process::CommandExt;
    let err = |what: &str, e: std::io::Error| JudgeError::Sandbox(format!("{what}: {e}"));
    let dir = tempfile::tempdir().map_err(|e| err("temporary directory", e))?;
    std::fs::write(dir.path().join("prog.py"), program).map_err(|e| err("write program", e))?;
    std::fs::write(dir.path().join("runner.py"), PREAMBLE).map_err(|e| err("write runner", e))?;
    let stdout = std::fs::File::create(dir.path().join("stdout")).map_err(|e| err("stdout", e))?;
    let stderr = std::fs::File::create(dir.path().join("stderr")).map_err(|e| err("stderr", e))?;
    let token = token();
    let args = [
        "-I".to_string(),
        "runner.py".into(),
        limits.memory_bytes.to_string(),
        format!("{:.3}", limits.wall.as_secs_f64()),
        token.clone(),
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
    let stderr = read_capped(&dir.path().join("stderr"), 64 << 10);
    timed_out |= stderr.contains("Timeout (");
    let completed = read_capped(&dir.path().join("done"), 64) == token;
    let exit_code = status.and_then(|s| s.code());
    Ok(RunOutcome {
        passed: completed && !timed_out && exit_code == Some(0),
        completed,
        timed_out,
        exit_code,
        stdout: read_capped(&dir.path().join("stdout"), 1 << 20),
        stderr,
    })
}
