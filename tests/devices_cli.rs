//! `halt-llm devices` on a machine without a window system: the drivers' Wayland probes must
//! not print errors (before: four `error: XDG_RUNTIME_DIR is invalid or not set in the
//! environment.` lines from Mesa on a CI machine).
use std::process::Command;

#[test]
fn listing_devices_prints_no_driver_noise_without_a_window_system() {
    for empty in [false, true] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_halt-llm"));
        cmd.arg("devices").env_remove("WAYLAND_DISPLAY");
        if empty {
            cmd.env("XDG_RUNTIME_DIR", "");
        } else {
            cmd.env_remove("XDG_RUNTIME_DIR");
        }
        check(cmd.output().unwrap());
    }
}

fn check(out: std::process::Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("cpu: available\n"), "{stdout}");
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
}
