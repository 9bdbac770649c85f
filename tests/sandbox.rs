//! The code sandbox keeps generated programs away from the user's files and stops a fork bomb
//! (issue 14). Tests that need bubblewrap are skipped with a message where it is missing or
//! cannot run, unless `HALT_REQUIRE_BWRAP=1` (set by `.ci/run`), where that is a failure.
//! They need `python3`, as the code judge does.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use halt_llm::dataset::judge::sandbox::{self, Isolation, SandboxLimits, run_python};

const PYTHON: &str = "python3";

fn limits() -> SandboxLimits {
    SandboxLimits {
        wall: Duration::from_secs(3),
        memory_bytes: 256 << 20,
        python: PYTHON.into(),
    }
}

/// Whether bubblewrap runs the programs here; otherwise prints why the test is skipped (or
/// fails, under `HALT_REQUIRE_BWRAP=1`).
fn bubblewrap(test: &str) -> bool {
    let isolation = sandbox::isolation(PYTHON);
    if isolation == Isolation::Bubblewrap {
        return true;
    }
    if std::env::var("HALT_REQUIRE_BWRAP").as_deref() == Ok("1") {
        panic!("HALT_REQUIRE_BWRAP=1 but the code sandbox runs without bubblewrap: {isolation}");
    }
    eprintln!(
        "skipping {test}: the code sandbox runs without bubblewrap here ({isolation}); \
         install it with `apt-get install bubblewrap`"
    );
    false
}

fn home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
}

fn random() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// A Python string literal for `path`.
fn py(path: &Path) -> String {
    serde_json::to_string(path.to_str().unwrap()).unwrap()
}

#[test]
fn bubblewrap_runs_the_programs_where_it_is_installed() {
    if !bubblewrap("bubblewrap_runs_the_programs_where_it_is_installed") {
        return;
    }
    let out = run_python("print('hi')\n", &limits()).unwrap();
    assert_eq!(out.isolation, Isolation::Bubblewrap, "{out:?}");
    assert!(out.passed && out.stdout == "hi\n", "{out:?}");
    // the sandbox's own view: no network interface but loopback; its own process namespace,
    // where bubblewrap's reaper is process 1 and the interpreter process 2; only the system's
    // program directories (no `/etc/passwd`, no `/root`'s or `/home`'s files besides a bound
    // interpreter's); non-ASCII output still works without the user's locale
    let prog = "import os, socket\nassert socket.if_nameindex() in ([], [(1, 'lo')]), socket.if_nameindex()\nassert os.getpid() == 2, os.getpid()\nassert not os.path.exists('/etc/passwd'), os.listdir('/etc')\nprint('\u{e9}t\u{e9}')\n";
    let out = run_python(prog, &limits()).unwrap();
    assert!(out.passed && out.stdout == "\u{e9}t\u{e9}\n", "{out:?}");
}

#[test]
fn a_program_cannot_write_to_the_users_home_or_working_directory() {
    if !bubblewrap("a_program_cannot_write_to_the_users_home_or_working_directory") {
        return;
    }
    let name = format!("halt-sandbox-probe-{}", random());
    let cwd = std::env::current_dir().unwrap();
    for dir in [home(), cwd] {
        let target = dir.join(&name);
        let prog = format!(
            "with open({}, 'w') as f:\n    f.write('written from the sandbox')\nprint('wrote')\n",
            py(&target)
        );
        let out = run_python(&prog, &limits()).unwrap();
        let leaked = target.exists();
        if leaked {
            let _ = std::fs::remove_file(&target);
        }
        assert!(!leaked, "the program wrote {}: {out:?}", target.display());
        // the directory is not there, or is read-only: the open fails
        assert!(!out.passed && !out.stdout.contains("wrote"), "{out:?}");
        assert!(
            out.stderr.contains("FileNotFoundError")
                || out.stderr.contains("PermissionError")
                || out.stderr.contains("Read-only file system"),
            "{out:?}"
        );
    }
}

#[test]
fn a_program_cannot_read_the_users_files() {
    if !bubblewrap("a_program_cannot_read_the_users_files") {
        return;
    }
    let secret = format!("halt-secret-{}", random());
    let in_home = tempfile::Builder::new()
        .prefix("halt-sandbox-secret-")
        .tempdir_in(home())
        .unwrap();
    let in_tmp = tempfile::Builder::new()
        .prefix("halt-sandbox-secret-")
        .tempdir()
        .unwrap();
    for dir in [in_home.path(), in_tmp.path()] {
        let file = dir.join("secret.txt");
        std::fs::write(&file, &secret).unwrap();
        let prog = format!("print(open({}).read())\n", py(&file));
        let out = run_python(&prog, &limits()).unwrap();
        assert!(!out.passed, "{out:?}");
        assert!(
            !out.stdout.contains(&secret),
            "read {}: {out:?}",
            file.display()
        );
        assert!(out.stderr.contains("FileNotFoundError"), "{out:?}");
        // nor list the directory that holds it
        let parent = dir.parent().unwrap();
        let prog = format!(
            "import os\ntry:\n    print(os.listdir({}))\nexcept OSError as e:\n    print(e)\n",
            py(parent)
        );
        let out = run_python(&prog, &limits()).unwrap();
        let dir_name = dir.file_name().unwrap().to_str().unwrap();
        assert!(out.passed, "{out:?}");
        assert!(
            !out.stdout.contains(dir_name),
            "listed {}: {out:?}",
            parent.display()
        );
    }
}

/// Processes whose command line holds `needle` (NUL-separated arguments).
fn processes_with(needle: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(needle) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn a_fork_bomb_ends_at_the_wall_clock_limit_and_leaves_no_process() {
    // The memory limit, unique to this run, marks its processes: every one of them (the
    // sandbox's and every fork) has `runner.py <memory_bytes>` on its command line.
    let limits = SandboxLimits {
        memory_bytes: (256 << 20) + rand::random::<u64>() % 1_000_000,
        ..limits()
    };
    let marker = format!("runner.py\0{}\0", limits.memory_bytes);
    // Every process forks ten times, each child going on with the loop: 2^10 = 1024 processes
    // at most, should the sandbox not stop them (a safety cap so that a broken sandbox does not
    // take the test machine down); a refused fork prints `refused` and goes on.
    let prog = "import os, time\nfor _ in range(10):\n    try:\n        os.fork()\n    except OSError:\n        print('refused', flush=True)\nwhile True:\n    time.sleep(0.05)\n";
    let start = Instant::now();
    let out = run_python(prog, &limits).unwrap();
    let took = start.elapsed();
    let gone = Instant::now();
    let mut left = processes_with(&marker);
    while !left.is_empty() && gone.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(50));
        left = processes_with(&marker);
    }
    eprintln!(
        "fork bomb: returned after {took:?} (wall limit {:?}); isolation: {}; processes \
         limited: {}; {} `refused` lines; processes left after {:?}: {}",
        limits.wall,
        out.isolation,
        sandbox::processes_limited(PYTHON),
        out.stdout.matches("refused").count(),
        gone.elapsed(),
        left.len()
    );
    assert!(left.is_empty(), "processes left: {left:?}");
    assert!(!out.passed && !out.completed && out.timed_out, "{out:?}");
    // the sandbox kills what is left 1 s after the wall-clock limit at the latest, then waits
    // at most 2 s for the killed processes to go
    assert!(took < limits.wall + Duration::from_secs(3), "{took:?}");
    if sandbox::processes_limited(PYTHON) {
        // 1024 processes do not fit in the limit: some forks were refused
        const { assert!(sandbox::MAX_PROCESSES < 1024) };
        assert!(out.stdout.contains("refused"), "{out:?}");
    }
}

#[test]
fn a_process_that_leaves_the_process_group_is_killed_after_the_run() {
    let limits = SandboxLimits {
        memory_bytes: (256 << 20) + rand::random::<u64>() % 1_000_000,
        ..limits()
    };
    let marker = format!("runner.py\0{}\0", limits.memory_bytes);
    // a daemon: a new session (out of the run's process group), then a grandchild that sleeps
    // on after the program has returned
    let prog = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        time.sleep(30)\n    os._exit(0)\nos.wait()\nprint('returned')\n";
    let start = Instant::now();
    let out = run_python(prog, &limits).unwrap();
    let left = processes_with(&marker);
    assert!(left.is_empty(), "processes left: {left:?} {out:?}");
    assert!(out.passed && out.stdout == "returned\n", "{out:?}");
    assert!(start.elapsed() < limits.wall, "{:?}", start.elapsed());
}

#[test]
fn a_correct_program_still_passes() {
    let prog = "import tempfile\ndef add(a, b):\n    return a + b\nassert add(2, 3) == 5\nwith tempfile.TemporaryFile() as f:\n    f.write(b'scratch')\n    f.seek(0)\n    assert f.read() == b'scratch'\nwith open('out.txt', 'w') as f:\n    f.write('kept in the scratch directory')\nprint(open('out.txt').read())\n";
    let out = run_python(prog, &limits()).unwrap();
    assert!(out.passed && out.completed && !out.timed_out, "{out:?}");
    assert_eq!(out.stdout, "kept in the scratch directory\n");
    assert_eq!(out.isolation, sandbox::isolation(PYTHON));
}
