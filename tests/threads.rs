//! `halt_llm::threads`: the calling thread becomes worker 0 of rayon's global pool, parallel
//! loops it starts give the same results as sequential ones, and a second call is refused.
//! (Its own test binary: the global pool can be built once per process.)

use rayon::prelude::*;

#[test]
fn the_calling_thread_joins_the_global_pool_once() {
    assert_eq!(rayon::current_thread_index(), None, "not a worker yet");
    halt_llm::threads::join_the_pool().expect("the first build of the global pool");
    assert_eq!(rayon::current_thread_index(), Some(0), "worker 0");
    // Σ i² for i < n is n(n − 1)(2n − 1)/6.
    let n: u64 = 1_000_000;
    let sum: u64 = (0..n).into_par_iter().map(|i| i * i).sum();
    assert_eq!(sum, n * (n - 1) * (2 * n - 1) / 6);
    // Work split across the pool's threads runs on both when there are two.
    let threads: std::collections::BTreeSet<usize> = (0..64)
        .into_par_iter()
        .map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(2));
            rayon::current_thread_index().expect("runs on a worker")
        })
        .collect();
    assert!(
        threads.contains(&0),
        "worker 0 (this thread) took part: {threads:?}"
    );
    if rayon::current_num_threads() > 1 {
        assert!(
            threads.len() > 1,
            "one thread did all the work: {threads:?}"
        );
    }
    assert!(
        halt_llm::threads::join_the_pool().is_err(),
        "the pool exists: a second build is refused"
    );
}

#[test]
fn a_thread_joins_a_pool_of_its_own() {
    let got = std::thread::spawn(|| {
        let pool = halt_llm::threads::pool_of_its_own().expect("a local pool");
        let index = rayon::current_thread_index();
        let sum: u64 = (0..1000u64).into_par_iter().sum();
        (index, pool.current_num_threads(), sum)
    })
    .join()
    .unwrap();
    assert_eq!(got.0, Some(0), "the thread is worker 0 of its pool");
    assert!(got.1 >= 1);
    assert_eq!(got.2, 999 * 1000 / 2);
}
