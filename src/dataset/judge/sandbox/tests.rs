//! Tests of the sandbox's pass rule: a program passes only by returning. Each forgery below
//! was tried by hand against the earlier runner (which kept its token in `__main__`); the
//! first two passed there.
use super::*;

fn limits() -> SandboxLimits {
    SandboxLimits {
        wall: Duration::from_secs(5),
        memory_bytes: 256 << 20,
        python: "python3".into(),
    }
}

/// Runs `program`, which tries to forge the end and then leaves with `os._exit(0)` through
/// the `posix` module (not the runner's traced `os._exit`).
fn forged(program: &str) -> RunOutcome {
    let leave = "\nimport posix\nposix._exit(0)\n";
    run_python(&format!("{program}{leave}"), &limits()).unwrap()
}

#[test]
fn the_runners_globals_hold_no_secret() {
    // the old runner kept `token` and `done` in its module globals
    let out = forged(
        "import __main__, os\n\
         for name in dir(__main__):\n\
         \x20   v = getattr(__main__, name)\n\
         \x20   if isinstance(v, (str, bytes)) and len(v) == 32:\n\
         \x20       os.write(3, v if isinstance(v, bytes) else v.encode())\n",
    );
    assert!(!out.passed && !out.completed, "{out:?}");
}

#[test]
fn frames_are_out_of_reach() {
    for reach in [
        "import sys\nf = sys._getframe(1)\n",
        "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    f = e.__traceback__.tb_frame\n",
        "def g():\n    yield 1\nf = g().gi_frame\n",
        "import sys\nf = sys._current_frames()\n",
        "import inspect\nf = inspect.stack()\n",
    ] {
        let out = run_python(&format!("{reach}print('reached')\n"), &limits()).unwrap();
        assert!(!out.passed, "{reach}: {out:?}");
        assert!(!out.stdout.contains("reached"), "{reach}: {out:?}");
        assert!(
            out.stderr
                .contains("frame access is disabled in the HALT sandbox"),
            "{reach}: {out:?}"
        );
    }
}

#[test]
fn the_hooks_secret_is_out_of_reach() {
    for reach in [
        // the garbage collector lists the hook and its closure
        "import gc\nfor o in gc.get_objects():\n    pass\n",
        "import gc\ngc.get_referrers(1)\n",
        // raw memory
        "import ctypes\n",
        "open('/proc/self/mem', 'rb')\n",
        "open('/dev/fd/../mem', 'rb')\n",
        "import os\nos.symlink('/proc/self/mem', 'm')\n",
        "import os\nos.chdir('/')\n",
        // another program could read this one's memory
        "import subprocess\nsubprocess.run(['true'])\n",
        "import os\nos.system('true')\n",
        // tracing could jump over the tests
        "import sys\nsys.settrace(lambda *a: None)\n",
    ] {
        let out = run_python(&format!("{reach}print('reached')\n"), &limits()).unwrap();
        assert!(!out.passed, "{reach}: {out:?}");
        assert!(!out.stdout.contains("reached"), "{reach}: {out:?}");
        assert!(
            out.stderr.contains("in the HALT sandbox"),
            "{reach}: {out:?}"
        );
    }
}

#[test]
fn writing_to_the_done_descriptor_or_raising_the_done_event_forges_nothing() {
    for forgery in [
        // stdin carried the secret; the runner has read it and left /dev/null there
        "import os\nos.write(3, os.read(0, 64))\n",
        "import os\nos.write(3, b'0' * 32)\n",
        "import sys\nsys.audit('halt.done')\n",
        "import __main__\n__main__._run()\n",
    ] {
        let out = forged(forgery);
        assert!(!out.passed && !out.completed, "{forgery}: {out:?}");
    }
}

#[test]
fn the_standard_library_works_without_frames() {
    // typing, enum, collections and logging ask for frames and fall back on ValueError
    let program = "from typing import TypeVar, NamedTuple\n\
                   import collections, enum, logging, dataclasses, functools, re, math\n\
                   T = TypeVar('T')\n\
                   P = collections.namedtuple('P', 'x y')\n\
                   Color = enum.Enum('Color', 'RED GREEN')\n\
                   class Q(NamedTuple):\n    a: int\n\
                   @dataclasses.dataclass\nclass D:\n    a: int = 1\n\
                   logging.warning('logged %d', 1)\n\
                   import warnings\nwarnings.warn('w')\n\
                   assert P(1, 2).y == 2 and Color.RED.value == 1 and D().a == 1 and Q(3).a == 3\n\
                   print('ok')\n";
    let out = run_python(program, &limits()).unwrap();
    assert!(out.passed && out.stdout == "ok\n", "{out:?}");
    assert!(out.stderr.contains("logged 1"), "{out:?}");
}

#[test]
fn a_program_that_returns_passes_even_if_it_writes_to_the_done_descriptor() {
    let out = run_python("import os\nos.write(3, b'noise')\nprint('ok')\n", &limits()).unwrap();
    assert!(out.passed && out.completed, "{out:?}");
}

#[test]
fn the_scratch_space_is_bounded_under_bubblewrap() {
    if !isolation("python3").filesystem() {
        eprintln!("skipped: no bubblewrap here");
        return;
    }
    // five files of 15 MiB: the fifth does not fit in SCRATCH_BYTES (64 MiB)
    let program = "import os\nn = 0\n\
                   try:\n\
                   \x20   for i in range(5):\n\
                   \x20       with open('f%d' % i, 'wb') as f:\n\
                   \x20           f.write(b'x' * (15 << 20))\n\
                   \x20       n += 1\n\
                   except OSError as e:\n\
                   \x20   print(n, e.errno == 28)\n";
    let out = run_python(program, &limits()).unwrap();
    assert_eq!(out.stdout, "4 True\n", "{out:?}");
}
