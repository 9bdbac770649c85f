//! Issue 14, case 9: a backend thread that panics must end the command with a clear error,
//! never leave it hanging. The child process (this test binary run again with `HALT_PANIC_CHILD`
//! set) does what a failing GPU backend did: a background thread panics while the caller waits
//! for it forever. Without the hook it hangs; with `exit_on_background_panic` it exits with
//! status 1 and an `error:` line naming the thread, within seconds.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CHILD: &str = "HALT_PANIC_CHILD";

/// The child: waits on a channel that never receives, while its "backend" thread panics.
#[test]
fn child_waits_for_a_thread_that_panics() {
    let Ok(mode) = std::env::var(CHILD) else {
        return; // only runs as the child of the test below
    };
    if mode == "hook" {
        halt_llm::background_panic::exit_on_background_panic();
    }
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let _kept = tx.clone(); // the channel never closes: a lost thread means waiting forever
    std::thread::Builder::new()
        .name("backend-poller".into())
        .spawn(move || {
            let _tx = tx;
            panic!("Could not lock adapter context. This is most-likely a deadlock.");
        })
        .unwrap();
    let _ = rx.recv();
}

fn run_child(mode: &str, limit: Duration) -> (Option<i32>, String, Duration) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_waits_for_a_thread_that_panics",
            "--nocapture",
        ])
        .env(CHILD, mode)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (code, err, start.elapsed())
}

#[test]
fn a_panicking_background_thread_ends_the_process_with_an_error() {
    // without the hook the child hangs (killed here after 3 s): the failure the hook fixes
    let (code, _, _) = run_child("none", Duration::from_secs(3));
    assert_eq!(code, None, "expected the unhooked child to hang");
    // with it: status 1, an error line naming the thread and the panic, at once
    let (code, err, took) = run_child("hook", Duration::from_secs(30));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(
            "error: background thread `backend-poller` failed (Could not lock adapter context."
        ),
        "{err}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
}
