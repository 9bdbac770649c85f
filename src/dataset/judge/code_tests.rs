//! Tests of [`code`](super) on HumanEval/3 (`below_zero`): expected verdicts written by hand
//! before running. They need `python3`, as the judge does.
use super::*;
use std::time::{Duration, Instant};

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
const N: Option<bool> = None;

#[test]
fn the_reference_passes_and_every_line_is_correct() {
    let ex = example(CODE_003);
    assert_eq!(verdicts(&ex.reference), [T; 6]);
    let fenced = "Here:\n```python\ndef below_zero(operations):\n    total = 0\n    for op in operations:\n        total += op\n        if total < 0:\n            return True\n    return False\n```\n";
    assert_eq!(verdicts(fenced), [T; 7]);
}

#[test]
fn code_fenced_inside_a_list_item_is_judged_unindented() {
    // Issue 14, case 6: the fence and its code are indented by three spaces.
    let listed = "1. Define the function:\n   ```python\n   def below_zero(operations):\n       total = 0\n       for op in operations:\n           total += op\n           if total < 0:\n               return True\n       return False\n   ```\n";
    assert_eq!(verdicts(listed), [T; 7]);
    // the same under a tab
    let tabbed = listed.replace("\n   ", "\n\t");
    assert_eq!(verdicts(&tabbed), [T; 7]);
}

#[test]
fn a_program_that_forges_the_end_of_its_run_is_not_a_pass() {
    // `return False` fails HumanEval/3's tests; each forgery then leaves with status 0 by a
    // way the runner does not trace. A review forged a pass with the first kind against the
    // earlier runner (it kept `token` in `__main__` and wrote the `done` file after a run).
    for forgery in [
        "import __main__, posix\nposix.write(3, str(getattr(__main__, 'token', '')).encode())\nposix._exit(0)\n",
        "import sys, posix\nposix.write(3, str(sys._getframe(1).f_globals.get('token')).encode())\nposix._exit(0)\n",
        "import sys, posix\nsys.audit('halt.done')\nposix._exit(0)\n",
    ] {
        let v = verdicts(&format!("    return False\n{forgery}"));
        assert!(v.iter().all(|v| *v != T), "{forgery}: {v:?}");
    }
}

#[test]
fn a_failure_with_no_frame_in_the_code_blames_no_line() {
    // a failed assertion in `check`: nothing shows which line is wrong
    assert_eq!(verdicts("    return False\n"), [N]);
    // the first three lines do the work of the reference's first three (its own continuation
    // passes after them); the last is where it goes wrong, but nothing shows it
    let wrong = "    balance = 0\n    for op in operations:\n        balance += op\n    return balance < 0\n";
    assert_eq!(verdicts(wrong), [T, T, T, N]);
}

#[test]
fn an_exception_marks_its_line_as_first_wrong() {
    let r = "    balance = 0\n    for op in operations:\n        balance += op / 0\n        if balance < 0:\n            return True\n    return False\n";
    assert_eq!(verdicts(r), [T, T, F, F, F, F]);
}

#[test]
fn a_partial_program_that_raises_is_wrong_from_that_line() {
    // `operations[0]` on the first test's `[]`; the open `for` gets `pass` to run
    let r = "    balance = 0\n    first = operations[0]\n    for op in operations:\n";
    assert_eq!(verdicts(r), [T, F, F]);
}

#[test]
fn a_partial_program_that_runs_is_right_so_far_only_where_the_reference_shows_it() {
    // returns None (unfinished), but the reference's continuation completes it
    let r = "    balance = 0\n    for op in operations:\n        balance += op\n";
    assert_eq!(verdicts(r), [T, T, T]);
    // written another way: nothing shows it right or wrong
    let r = "    total = 0\n    for x in operations:\n";
    assert_eq!(verdicts(r), [N, N]);
    // cut mid-line at the token limit: the unfinished statement is left out, not blamed
    let r = "    balance = 0\n    for op in operations:\n        balance += (op";
    assert_eq!(verdicts(r), [T, T, N]);
}

#[test]
fn a_syntax_error_no_continuation_fixes_is_wrong() {
    let r = "    balance = 0\n    for op in operations\n        balance += op\n";
    assert_eq!(verdicts(r), [T, F, F]);
    // a last line without a line break may be cut mid-line: not evidence
    assert_eq!(verdicts("    balance = 0\n    x = 1 +"), [T, N]);
    assert_eq!(verdicts("    balance = 0\n    x = 1 +\n"), [T, F]);
}

#[test]
fn exiting_before_the_tests_end_is_never_a_pass() {
    // HumanEval/3's tests fail for `return False`; leaving before they run used to pass
    assert_eq!(
        verdicts("    return False\nimport sys\nsys.exit(0)\n"),
        [N, N, F]
    );
    assert_eq!(
        verdicts("    return False\nimport os\nos._exit(0)\n"),
        [N, N, F]
    );
    for exit in [
        "exit()",
        "quit()",
        "raise SystemExit",
        "raise SystemExit(0)",
    ] {
        let v = verdicts(&format!("    return False\n{exit}\n"));
        assert_eq!(v, [N, F], "{exit}");
    }
    let limits = quick().limits;
    let out = run_python("import sys\nsys.exit(0)\n", &limits).unwrap();
    assert!(
        !out.passed && !out.completed && out.exit_code == Some(3),
        "{out:?}"
    );
    assert!(out.stderr.contains("SystemExit"), "{out:?}");
    let out = run_python("import os\nos._exit(0)\n", &limits).unwrap();
    assert!(
        !out.passed && !out.completed && out.exit_code == Some(0),
        "{out:?}"
    );
    assert!(out.stderr.contains(r#"File "prog.py", line 2"#), "{out:?}");
    let out = run_python("print('done')\n", &limits).unwrap();
    assert!(
        out.passed && out.completed && out.stdout == "done\n",
        "{out:?}"
    );
}

#[test]
fn an_endless_loop_is_stopped_and_judged_wrong() {
    let r = "    balance = 0\n    while True:\n        balance += 1\n    return False\n";
    let start = Instant::now();
    let v = verdicts(r);
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    // faulthandler points into the loop (`while` or its body), not at line 1
    assert_eq!(v[0], T, "{v:?}");
    assert_eq!(v[2..], [F, F], "{v:?}");
}

#[test]
fn a_loop_still_open_at_the_end_is_not_blamed_for_not_ending() {
    // the missing rest of the body might have ended it
    let v = verdicts("    balance = 0\n    while True:\n        balance += 1\n");
    assert_ne!(v[0], F, "{v:?}");
    assert_eq!(v[1..], [N, N], "{v:?}");
}

#[test]
fn unbounded_allocation_is_stopped_and_judged_wrong() {
    let r =
        "    hog = []\n    while True:\n        hog.append(' ' * 10_000_000)\n    return False\n";
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
    // the program and the runner; outside bubblewrap also the run's own output files
    let out = run_python(
        "import os\nfiles = set(os.listdir('.'))\n\
         assert {'prog.py', 'runner.py'} <= files <= {'prog.py', 'runner.py', 'stdout', 'stderr', 'done'}\n",
        &quick().limits,
    )
    .unwrap();
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
