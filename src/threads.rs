//! The command's own thread as a worker of rayon's global pool, so that the CPU kernels'
//! parallel loops (the host products and attention of a decode step, the backend's matrix
//! products) start and end without putting it to sleep.
//!
//! A thread outside the pool that starts a parallel loop hands the work to the pool's
//! workers and sleeps on a lock until they finish; the workers then wake it, and between two
//! loops they spin, yield and fall asleep in turn. A decode step runs about 150 such loops
//! (five per layer), so on a 2-vCPU machine with the default pool (two workers plus the
//! command's thread: three threads on two CPUs) the kernel's scheduler took about a fifth of
//! `perf record`'s samples of `halt-llm bench --batch 1` (`finish_task_switch`,
//! `_raw_spin_unlock_irqrestore`, `__schedule`, `sched_yield`). With the command's thread as
//! worker 0 ([`rayon::ThreadPoolBuilder::use_current_thread`]) a loop runs its first part
//! on that thread and the other worker steals the rest; no thread sleeps while it waits.
//!
//! The catch: a thread of the pool that is not running a parallel loop does not take work
//! handed in from outside, so only the thread that runs the heavy work may join: the
//! command's own thread ([`join_the_pool`], every command but `serve`, and only with two or
//! more threads), or the server's model thread, which joins a pool of its own
//! ([`pool_of_its_own`]). Threads that a command starts for work of their own (the shards of
//! data-parallel training) take a pool of their own too, so that they never wait for the
//! command's thread. Results do not depend on the choice: every kernel splits its work the
//! same way whatever thread runs a part.

/// Builds rayon's global pool with the calling thread as worker 0 and
/// `RAYON_NUM_THREADS` threads in all (default: the available parallelism), counting this
/// one; returns whether it did. Call it once, early in `main`, on the thread that will run
/// the command's work, and only where that thread runs the heavy work itself.
///
/// With fewer than two threads it does nothing and returns `false`: the one worker would be
/// this thread, and a parallel loop started by any other thread (a data-parallel shard, a
/// library's background thread) while this one waits for it outside a loop would never run.
/// With two or more, the other workers run such loops.
///
/// # Errors
/// If the global pool was already built (by an earlier call, or implicitly by a parallel
/// loop that ran before this): the pool is then left as it is.
pub fn join_the_pool() -> Result<bool, rayon::ThreadPoolBuildError> {
    let n = threads();
    if n < 2 {
        return Ok(false);
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .use_current_thread()
        .build_global()
        .map(|()| true)
}

/// The threads a pool gets by default, as rayon decides them: `RAYON_NUM_THREADS` when it
/// is a positive number, else the deprecated `RAYON_RS_NUM_CPUS` likewise, else the
/// available parallelism.
fn threads() -> usize {
    let var = |name| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
    };
    var("RAYON_NUM_THREADS")
        .or_else(|| var("RAYON_RS_NUM_CPUS"))
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// A new rayon pool with the calling thread as worker 0 and `RAYON_NUM_THREADS` threads in
/// all (default: the available parallelism), counting this one: from now on the parallel
/// loops this thread starts run on it. For a long-lived thread that runs the heavy work
/// while another thread owns the global pool (the server's model thread, a data-parallel
/// shard). Keep the pool alive as long as the thread works; the thread stays registered with
/// it for its life. When the other threads cannot start, the pool is this thread alone (its
/// loops then run on it, one part after another).
///
/// # Errors
/// If even that fails: this thread is already a worker of a pool (it then keeps that one).
pub fn pool_of_its_own() -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    let with = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .use_current_thread()
            .build()
    };
    with(threads()).or_else(|_| with(1))
}
