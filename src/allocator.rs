//! Keeps freed tensor memory inside the process (glibc `malloc` settings).
//!
//! The CPU backend allocates a fresh buffer for nearly every tensor op. glibc serves each
//! request over `M_MMAP_THRESHOLD` (128 KiB, rising to at most 32 MiB) with its own `mmap`
//! and unmaps it on `free`, and it returns the top of the heap to the kernel once more than
//! `M_TRIM_THRESHOLD` is free there. Training then faults in, and the kernel zeroes, the
//! same hundreds of megabytes on every step: `perf record` on `halt-llm bench-train
//! --batch-size 4 --seq-len 256` put 34% of the samples in the kernel's `clear_page_erms`
//! (plus 3% in `exc_page_fault`) on an AVX-512 machine, where the matrix products are fast
//! enough for this to be the largest cost after them.
//!
//! [`keep_freed_memory`] turns both off: every allocation comes from the heap and freed
//! memory is reused rather than returned. The process's peak resident memory is about the
//! same (the peak is the peak either way); it just stays there until the process ends.

/// Tells glibc `malloc` never to serve requests with a private `mmap`
/// (`mallopt(M_MMAP_MAX, 0)`) and to keep up to 2 GiB free at the top of the heap
/// (`M_TRIM_THRESHOLD`), so that freed tensor buffers are reused without page faults.
///
/// Does nothing (and returns `false`) where the C library is not glibc, or when the
/// environment sets `GLIBC_TUNABLES` (the user's own malloc settings win). Call it once,
/// first thing in `main`, before threads start.
pub fn keep_freed_memory() -> bool {
    if std::env::var_os("GLIBC_TUNABLES").is_some() {
        return false;
    }
    set_glibc_options()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn set_glibc_options() -> bool {
    // SAFETY: `mallopt` only changes malloc's parameters; it is called before other threads
    // allocate (see the function's contract) and takes plain integers.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn set_glibc_options() -> bool {
    false
}
