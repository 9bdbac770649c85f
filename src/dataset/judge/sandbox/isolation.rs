//! How sandboxed programs are isolated: bubblewrap where it works, else `unshare -rn`, else
//! resource limits only; decided once per interpreter (see the code judge's docs,
//! [`crate::dataset::judge::code`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use super::{SCRATCH_BYTES, wait_until};

/// The protection a sandboxed program gets besides the resource limits (see the code judge's
/// docs, [`crate::dataset::judge::code`]); [`isolation`] says which one runs here.
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

/// The program's working directory inside bubblewrap.
const SCRATCH: &str = "/sandbox";

/// How bubblewrap runs a given interpreter.
#[derive(Debug, Clone)]
pub(super) struct Bwrap {
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
    pub(super) fn command(&self, dir: &Path) -> Command {
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
            c.args(["--size", &SCRATCH_BYTES.to_string()]);
        }
        c.args(["--tmpfs", "/tmp"]);
        // after `/tmp`, which would hide an interpreter there
        for b in &self.binds {
            c.arg("--ro-bind").arg(b).arg(b);
        }
        // the working directory: a tmpfs of its own (bounded where `--size` works) holding the
        // program and the runner, read-only; the host's scratch directory is not mounted
        if self.sized_tmp {
            c.args(["--size", &SCRATCH_BYTES.to_string()]);
        }
        c.args(["--tmpfs", SCRATCH]);
        for f in ["prog.py", "runner.py"] {
            c.arg("--ro-bind")
                .arg(dir.join(f))
                .arg(format!("{SCRATCH}/{f}"));
        }
        c.args(["--chdir", SCRATCH, "--remount-ro", "/"])
            .arg(&self.python);
        if self.nobody {
            c.uid(NOBODY).gid(NOBODY);
        }
        c
    }

    /// Lets the sandbox's user read the program and the runner in `dir`.
    pub(super) fn prepare(&self, dir: &Path) -> std::io::Result<()> {
        if self.nobody {
            std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY))?;
        }
        Ok(())
    }

    /// Whether this setup runs a trivial program that writes to its working directory and reads
    /// it back.
    fn works(&self) -> bool {
        let Ok(dir) = tempfile::tempdir() else {
            return false;
        };
        let probe = "open('probe', 'w').write('ok'); print(open('probe').read())";
        let files = ["prog.py", "runner.py"].map(|f| std::fs::write(dir.path().join(f), ""));
        if files.iter().any(Result::is_err) || self.prepare(dir.path()).is_err() {
            return false;
        }
        let Ok(out) = std::fs::File::create(dir.path().join("stdout")) else {
            return false;
        };
        let mut cmd = self.command(dir.path());
        cmd.args(["-I", "-c", probe])
            .stdin(Stdio::null())
            .stdout(out)
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
        ok && super::read_capped(&dir.path().join("stdout"), 8).trim_end() == "ok"
    }
}

/// How programs for one interpreter are run; decided once per interpreter.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) isolation: Isolation,
    pub(super) bwrap: Option<Bwrap>,
}

pub(super) fn plan(python: &str) -> Arc<Plan> {
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
pub(super) fn warn_once(python: &str, plan: &Plan) {
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
