//! Tests of the sandbox's pass rule: a program passes only by returning. The forgeries below
//! are those a review found against earlier runners (a token in `__main__`; a secret held by
//! the audit hook, reached through a signal handler's frame, through the program's own hook,
//! or through another program reading this one's memory), and their kin.
use super::*;

fn limits() -> SandboxLimits {
    SandboxLimits {
        wall: Duration::from_secs(5),
        memory_bytes: 256 << 20,
        python: "python3".into(),
    }
}

/// Runs `reach` followed by a print: the sandbox must refuse it before the print.
#[track_caller]
fn refused(reach: &str) {
    let out = run_python(&format!("{reach}print('reached')\n"), &limits()).unwrap();
    assert!(!out.passed, "{reach}: {out:?}");
    assert!(!out.stdout.contains("reached"), "{reach}: {out:?}");
    assert!(
        out.stderr.contains("in the HALT sandbox"),
        "{reach}: {out:?}"
    );
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
fn frames_code_is_out_of_reach() {
    // frames are reachable (unittest, asyncio and logging use them); their code, which holds
    // the secret, is not
    for reach in [
        "import sys\nc = sys._getframe(0).f_code\n",
        "try:\n    1 / 0\nexcept ZeroDivisionError as e:\n    c = e.__traceback__.tb_frame.f_code\n",
        "import types\nc = types.FrameType.f_code.__get__(__import__('sys')._getframe())\n",
        "import inspect\nf = inspect.stack()\n",
    ] {
        refused(reach);
    }
}

#[test]
fn what_could_read_the_secret_is_refused() {
    for reach in [
        // the garbage collector lists every code object
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
        refused(reach);
    }
}

#[test]
fn writing_to_the_done_descriptor_or_raising_the_done_event_forges_nothing() {
    for forgery in [
        // stdin carried the program; the runner has read it and left /dev/null there
        "import os\nos.write(3, os.read(0, 1 << 20))\n",
        "import os\nos.write(3, b'0' * 32)\n",
        "import sys\nsys.audit('halt.done')\n",
        "import __main__\n__main__._run()\n",
        // the program's source on disk is without its last line
        "import os\nos.write(3, open('prog.py', 'rb').read())\n",
    ] {
        let out = forged(forgery);
        assert!(!out.passed && !out.completed, "{forgery}: {out:?}");
    }
}

#[test]
fn the_standard_library_works_in_the_sandbox() {
    // typing, enum, collections and logging use frames; subprocess and asyncio import (and
    // start nothing); unittest's assertRaises clears a traceback's frames
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
                   import asyncio, subprocess, unittest\n\
                   assert asyncio.run(asyncio.sleep(0, 'slept')) == 'slept'\n\
                   class T(unittest.TestCase):\n    def test(self):\n        with self.assertRaises(ZeroDivisionError):\n            1 / 0\n\
                   r = unittest.TextTestRunner(stream=open(__import__('os').devnull, 'w')).run(unittest.defaultTestLoader.loadTestsFromTestCase(T))\n\
                   assert r.wasSuccessful()\n\
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

#[test]
fn a_signal_handlers_frame_leads_to_no_secret() {
    // a review walked `f_back` from a signal handler's frame to the runner's locals
    let out = forged(
        "import os, signal\n\
         found = []\n\
         def handler(n, frame):\n\
         \x20   while frame is not None:\n\
         \x20       found.extend(str(v) for v in frame.f_locals.values())\n\
         \x20       try:\n\
         \x20           found.extend(str(c) for c in frame.f_code.co_consts)\n\
         \x20       except ValueError:\n\
         \x20           pass\n\
         \x20       frame = frame.f_back\n\
         signal.signal(signal.SIGUSR1, handler)\n\
         signal.raise_signal(signal.SIGUSR1)\n\
         for v in found:\n\
         \x20   os.write(3, v.encode()[-64:])\n",
    );
    assert!(!out.passed && !out.completed, "{out:?}");
}

#[test]
fn the_programs_own_audit_hook_sees_no_secret() {
    // a review's hook ran inside the runner's and read the runner hook's frame
    let out = forged(
        "import os, sys\n\
         def hook(event, args):\n\
         \x20   try:\n\
         \x20       f = sys._getframe()\n\
         \x20   except ValueError:\n\
         \x20       return\n\
         \x20   while f is not None:\n\
         \x20       for v in f.f_locals.values():\n\
         \x20           os.write(3, str(v).encode()[-64:])\n\
         \x20       f = f.f_back\n\
         sys.addaudithook(hook)\n\
         sys.audit('halt.done')\n",
    );
    assert!(!out.passed && !out.completed, "{out:?}");
}

#[test]
fn no_other_program_can_be_started_to_read_this_ones_memory() {
    // a review started an unhooked python3 through _posixsubprocess.fork_exec
    for start in [
        "import _posixsubprocess\n_posixsubprocess.fork_exec()\n",
        // a refused extension under another package name
        "import importlib.util, glob, sys\n\
         p = glob.glob(sys.base_prefix + '/lib/python3*/lib-dynload/_ctypes*.so')[0]\n\
         importlib.util.module_from_spec(importlib.util.spec_from_file_location('x._ctypes', p))\n",
        "import multiprocessing\nmultiprocessing.get_context('spawn').Process(target=print).start()\n",
        "import os\nos.execv('/usr/bin/true', ['true'])\n",
        "import os\nos.posix_spawn('/usr/bin/true', ['true'], {})\n",
    ] {
        let out = run_python(&format!("{start}print('reached')\n"), &limits()).unwrap();
        assert!(
            !out.passed && !out.stdout.contains("reached"),
            "{start}: {out:?}"
        );
    }
}

#[test]
fn the_program_is_its_own_main_module() {
    // pickling a class of the program, postponed annotations and doctest need a real
    // `__main__`; doctest turns tracing off, which is allowed
    let program = "from __future__ import annotations\n\
                   import dataclasses, doctest, pickle, typing, sys\n\
                   @dataclasses.dataclass\nclass P:\n    x: int\n    c: typing.ClassVar[int] = 0\n\
                   def add(a: int, b: int) -> int:\n    \"\"\"\n    >>> add(1, 2)\n    3\n    \"\"\"\n    return a + b\n\
                   assert pickle.loads(pickle.dumps(P(1))) == P(1)\n\
                   assert [f.name for f in dataclasses.fields(P)] == ['x']\n\
                   assert typing.get_type_hints(add) == {'a': int, 'b': int, 'return': int}\n\
                   assert sys.modules['__main__'].add is add\n\
                   assert doctest.testmod().failed == 0\n\
                   print('ok')\n";
    let out = run_python(program, &limits()).unwrap();
    assert!(out.passed && out.stdout.ends_with("ok\n"), "{out:?}");
}
