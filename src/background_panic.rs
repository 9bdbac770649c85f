//! A panic on a background thread ends the process with a clear error instead of leaving it
//! hanging.
//!
//! GPU backends run work on threads of their own (wgpu's device poller, cubecl's runtime); when
//! one of them panics (seen with Mesa's OpenGL fallback adapter: "Could not lock adapter
//! context. This is most-likely a deadlock."), the main thread waits forever for a result that
//! will not come. [`exit_on_background_panic`] installs a panic hook that, after the usual
//! panic message, prints one `error:` line naming the thread and exits with status 1. The exit
//! skips `atexit` handlers (`_exit` on Unix): a driver's teardown can wait on the very lock the
//! failed thread held.
//!
//! Panics on the main thread are left to the default behaviour (unwinding, status 101).

/// Installs the hook (see the module docs). Call once, at the start of `main`; panics that a
/// library catches on purpose with `catch_unwind` on a background thread would also end the
/// process, so only binaries install it.
pub fn exit_on_background_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        let thread = std::thread::current();
        if thread.name() == Some("main") {
            return;
        }
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into());
        eprintln!(
            "error: background thread `{}` failed ({what}); stopping instead of waiting for it. \
             If this is the compute backend (a GPU driver or wgpu adapter problem), \
             `halt-llm devices` shows what is available; `--device cpu` always works.",
            thread.name().unwrap_or("unnamed")
        );
        exit_now(1);
    }));
}

/// Ends the process at once with `code`, without `atexit` handlers.
fn exit_now(code: i32) -> ! {
    use std::io::Write;
    let _ = std::io::stderr().flush();
    #[cfg(unix)]
    {
        unsafe extern "C" {
            fn _exit(status: i32) -> !;
        }
        // SAFETY: `_exit` takes a plain status and never returns; nothing is left to unwind.
        unsafe { _exit(code) }
    }
    #[cfg(not(unix))]
    std::process::exit(code)
}
