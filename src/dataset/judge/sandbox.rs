//! The code sandbox: runs a Python program in a separate, limited process and reports how it
//! ended (see [`run_python`]; the limits and isolation are described in the code judge's docs,
//! [`super::code`]).

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use super::JudgeError;

const PREAMBLE: &str = r#"import faulthandler, os, resource, socket, sys, traceback
mem, wall, token, nproc = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
done = os.path.abspath("done")
if nproc:
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    except (ValueError, OSError):
        pass
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

/// The protection a sandboxed program gets besides the resource limits (see the code judge's
/// docs, [`super::code`]); [`isolation`] says which one runs here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isolation {
    /// bubblewrap (`bwrap`): a mount namespace with only the system's program directories
    /// (`/usr`, `/lib*`, `/bin`) and the interpreter's installation, read-only; a fresh `/tmp`
    /// (64 MiB); the scratch directory, read-write, as the only other writable place; no network;
    /// own process, IPC, host-name and user namespaces; at most [`MAX_PROCESSES`] processes
    /// where the kernel enforces it (see [`processes_limited`]).
    Bubblewrap,
    /// `unshare -rn`: no network, but the program sees (and may write) what the user can.
    NetworkOnly,
    /// Resource limits only; network connections are refused by Python's `socket` functions,
    /// which is not a security boundary.
    None,
}

impl Isolation {
    /// The program cannot read or write the user's files.
    pub fn filesystem(self) -> bool {
        self == Isolation::Bubblewrap
    }

    /// The program has no network (an empty network namespace).
    pub fn network(self) -> bool {
        self != Isolation::None
    }
}

impl std::fmt::Display for Isolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Isolation::Bubblewrap => "bubblewrap (no access to the user's files, no network)",
            Isolation::NetworkOnly => "network only (unshare -rn; the user's files are reachable)",
            Isolation::None => "none (resource limits only)",
        })
    }
}

/// The most processes a sandboxed program may have at once (`RLIMIT_NPROC`, counted in the
/// program's own user namespace; see [`processes_limited`]).
pub const MAX_PROCESSES: u32 = 64;

/// The user and group a root caller runs bubblewrap as: the kernel does not hold root's
/// processes to `RLIMIT_NPROC`.
const NOBODY: u32 = 65534;

/// Where the scratch directory is mounted inside bubblewrap.
const SCRATCH: &str = "/sandbox";

/// How bubblewrap runs a given interpreter.
#[derive(Debug, Clone)]
struct Bwrap {
    /// The interpreter's `sys.executable`.
    python: String,
    /// Its installation directories outside the system's (a venv, pyenv), bound read-only.
    binds: Vec<PathBuf>,
    /// `--size` bounds `/tmp` (bubblewrap 0.7 and later, not installed setuid).
    sized_tmp: bool,
    /// Run as [`NOBODY`] (the caller is root).
    nobody: bool,
}

impl Bwrap {
    /// The `bwrap` command that runs the interpreter with `dir` as its working directory;
    /// its arguments follow.
    fn command(&self, dir: &Path) -> Command {
        use std::os::unix::process::CommandExt;
        let mut c = Command::new("bwrap");
        c.args([
            "--unshare-all",
            "--unshare-user",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--clearenv",
            "--setenv",
            "PATH",
            "/usr/local/bin:/usr/bin:/bin",
        ]);
        for d in [
            "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
        ] {
            match std::fs::symlink_metadata(d) {
                Ok(m) if m.file_type().is_symlink() => {
                    if let Ok(target) = std::fs::read_link(d) {
                        c.arg("--symlink").arg(target).arg(d);
                    }
                }
                Ok(m) if m.is_dir() => {
                    c.args(["--ro-bind", d, d]);
                }
                _ => {}
            }
        }
        for f in ["/etc/ld.so.cache", "/etc/alternatives"] {
            if Path::new(f).exists() {
                c.args(["--ro-bind", f, f]);
            }
        }
        c.args(["--dev", "/dev"]);
        if self.sized_tmp {
            c.args(["--size", &(64u64 << 20).to_string()]);
        }
        c.args(["--tmpfs", "/tmp"]);
        // after `/tmp`, which would hide an interpreter there
        for b in &self.binds {
            c.arg("--ro-bind").arg(b).arg(b);
        }
        c.arg("--bind")
            .arg(dir)
            .args([SCRATCH, "--chdir", SCRATCH, "--remount-ro", "/"])
            .arg(&self.python);
        if self.nobody {
            c.uid(NOBODY).gid(NOBODY);
        }
        c
    }

    /// Makes `dir` writable inside the sandbox.
    fn prepare(&self, dir: &Path) -> std::io::Result<()> {
        if self.nobody {
            std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY))?;
        }
        Ok(())
    }

    /// Whether this setup runs a trivial program that writes to its working directory.
    fn works(&self) -> bool {
        let Ok(dir) = tempfile::tempdir() else {
            return false;
        };
        if self.prepare(dir.path()).is_err() {
            return false;
        }
        let mut cmd = self.command(dir.path());
        cmd.args(["-I", "-c", "open('probe', 'w').write('ok')"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let Ok(mut child) = cmd.spawn() else {
            return false;
        };
        let ok = match wait_until(&mut child, Instant::now() + Duration::from_secs(10)) {
            Ok(Some(status)) => status.success(),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                false
            }
        };
        ok && read_capped(&dir.path().join("probe"), 8) == "ok"
    }
}

/// How programs for one interpreter are run; decided once per interpreter.
#[derive(Debug)]
struct Plan {
    isolation: Isolation,
    bwrap: Option<Bwrap>,
}

fn plan(python: &str) -> Arc<Plan> {
    static PLANS: OnceLock<Mutex<HashMap<String, Arc<Plan>>>> = OnceLock::new();
    let mut plans = PLANS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(p) = plans.get(python) {
        return p.clone();
    }
    let p = Arc::new(match bubblewrap(python) {
        Some(b) => Plan {
            isolation: Isolation::Bubblewrap,
            bwrap: Some(b),
        },
        None if network_isolated() => Plan {
            isolation: Isolation::NetworkOnly,
            bwrap: None,
        },
        None => Plan {
            isolation: Isolation::None,
            bwrap: None,
        },
    });
    plans.insert(python.to_string(), p.clone());
    p
}

/// A bubblewrap setup that works for `python`, if `bwrap` is installed and allowed here.
fn bubblewrap(python: &str) -> Option<Bwrap> {
    let installed = Command::new("bwrap")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        return None;
    }
    let (python, binds) = interpreter(python)?;
    // as root, first as nobody (so that the process limit holds), then as root
    let users: &[bool] = if running_as_root() {
        &[true, false]
    } else {
        &[false]
    };
    for &nobody in users {
        for sized_tmp in [true, false] {
            let b = Bwrap {
                python: python.clone(),
                binds: binds.clone(),
                sized_tmp,
                nobody,
            };
            if b.works() {
                return Some(b);
            }
        }
    }
    None
}

/// The interpreter's executable and the directories of its installation that bubblewrap must
/// bind besides the system's (none for the system's `python3`; never `/`, the home directory,
/// the working directory, the temporary directory or a directory above them).
fn interpreter(python: &str) -> Option<(String, Vec<PathBuf>)> {
    let out = Command::new(python)
        .args([
            "-I",
            "-c",
            "import json, sys; print(json.dumps([sys.executable, sys.prefix, sys.base_prefix, \
             sys.exec_prefix, sys.base_exec_prefix]))",
        ])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let paths: Vec<String> = serde_json::from_slice(&out.stdout).ok()?;
    let exe = paths.first().filter(|e| e.starts_with('/'))?.clone();
    let mut dirs: Vec<PathBuf> = paths[1..].iter().map(PathBuf::from).collect();
    dirs.extend(Path::new(&exe).parent().map(Path::to_path_buf));
    if let Ok(real) = std::fs::canonicalize(&exe) {
        dirs.extend(real.parent().map(Path::to_path_buf));
    }
    let system = [
        "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
    ];
    let private: Vec<PathBuf> = [
        std::env::var_os("HOME").map(PathBuf::from),
        std::env::current_dir().ok(),
        Some(std::env::temp_dir()),
    ]
    .into_iter()
    .flatten()
    .filter_map(|p| std::fs::canonicalize(p).ok())
    .collect();
    let mut binds: Vec<PathBuf> = Vec::new();
    for d in dirs {
        let Ok(d) = std::fs::canonicalize(d) else {
            continue;
        };
        let unsafe_dir = d == Path::new("/") || private.iter().any(|p| p.starts_with(&d));
        if unsafe_dir || system.iter().any(|s| d.starts_with(s)) {
            continue;
        }
        binds.push(d);
    }
    binds.sort();
    binds.dedup();
    let nested = binds.clone();
    binds.retain(|d| !nested.iter().any(|o| o != d && d.starts_with(o)));
    Some((exe, binds))
}

/// The protection programs run by `python` get here (decided on first use: bubblewrap if
/// `bwrap` is installed and runs that interpreter, else `unshare -rn` if it works, else none).
pub fn isolation(python: &str) -> Isolation {
    plan(python).isolation
}

/// Whether the kernel holds programs run by `python` to [`MAX_PROCESSES`]: in their own user
/// namespace (bubblewrap or `unshare -r`) and not as root (the kernel exempts root; a root caller
/// runs bubblewrap as `nobody` when that user can run the interpreter). Otherwise a fork bomb
/// runs until the wall-clock limit, when all its processes are killed.
pub fn processes_limited(python: &str) -> bool {
    let p = plan(python);
    match &p.bwrap {
        Some(b) => b.nobody || !running_as_root(),
        None => p.isolation == Isolation::NetworkOnly && !running_as_root(),
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
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

/// Warns once on stderr when programs run without filesystem isolation, or without a limit on
/// their processes.
fn warn_once(python: &str, plan: &Plan) {
    static WARNED: Once = Once::new();
    if plan.isolation != Isolation::Bubblewrap {
        WARNED.call_once(|| {
            eprintln!(
                "warning: the code sandbox cannot keep generated programs from the user's files \
                 here (isolation: {}); install bubblewrap (`apt-get install bubblewrap`)",
                plan.isolation
            )
        });
    } else if !processes_limited(python) {
        WARNED.call_once(|| {
            eprintln!(
                "warning: the code sandbox runs as root with an interpreter that user nobody \
                 cannot run ({python}): the number of processes is not limited (a fork bomb \
                 runs until the wall-clock limit)"
            )
        });
    }
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

/// Runs a Python program in the sandbox described in the module docs.
///
/// # Errors
/// [`JudgeError::Sandbox`] if the temporary directory or the process cannot be set up (e.g. no
/// `python3`); a program that fails, exits early, crashes, loops or exhausts memory is a
/// [`RunOutcome`] with `passed == false`, not an error.
pub fn run_python(program: &str, limits: &SandboxLimits) -> Result<RunOutcome, JudgeError> {
    use std::os::unix::process::CommandExt;
    let err = |what: &str, e: std::io::Error| JudgeError::Sandbox(format!("{what}: {e}"));
    let plan = plan(&limits.python);
    warn_once(&limits.python, &plan);
    let dir = tempfile::tempdir().map_err(|e| err("temporary directory", e))?;
    std::fs::write(dir.path().join("prog.py"), program).map_err(|e| err("write program", e))?;
    std::fs::write(dir.path().join("runner.py"), PREAMBLE).map_err(|e| err("write runner", e))?;
    let stdout = std::fs::File::create(dir.path().join("stdout")).map_err(|e| err("stdout", e))?;
    let stderr = std::fs::File::create(dir.path().join("stderr")).map_err(|e| err("stderr", e))?;
    let token = token();
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
        token.clone(),
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
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| err(&format!("start {}", limits.python), e))?;
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
    wait_gone(&token, Instant::now() + Duration::from_secs(2));
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
        isolation: plan.isolation,
    })
}
