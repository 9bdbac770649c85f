//! `halt_llm::threads`: the calling thread becomes worker 0 of rayon's global pool (with two
//! or more threads), parallel loops it starts give the same results as sequential ones, and
//! a second call is refused; data-parallel training through the CLI (whose thread joins the
//! pool) ends with one thread and with two. (Its own test binary: the global pool can be
//! built once per process.)

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rayon::prelude::*;

mod common;
use common::aligned::write_aligned;

#[test]
fn the_calling_thread_joins_the_global_pool_once() {
    assert_eq!(rayon::current_thread_index(), None, "not a worker yet");
    let joined = halt_llm::threads::join_the_pool().expect("the first build of the global pool");
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().unwrap().get());
    if threads < 2 {
        assert!(!joined, "one thread: the pool is left alone");
        assert_eq!(rayon::current_thread_index(), None);
        return;
    }
    assert!(joined);
    assert_eq!(rayon::current_thread_index(), Some(0), "worker 0");
    assert_eq!(rayon::current_num_threads(), threads);
    // Σ i² for i < n is n(n − 1)(2n − 1)/6.
    let n: u64 = 1_000_000;
    let sum: u64 = (0..n).into_par_iter().map(|i| i * i).sum();
    assert_eq!(sum, n * (n - 1) * (2 * n - 1) / 6);
    // Work split across the pool's threads runs on more than one of them.
    let ran_on: std::collections::BTreeSet<usize> = (0..64)
        .into_par_iter()
        .map(|_| {
            std::thread::sleep(Duration::from_millis(2));
            rayon::current_thread_index().expect("runs on a worker")
        })
        .collect();
    assert!(
        ran_on.contains(&0),
        "worker 0 (this thread) took part: {ran_on:?}"
    );
    assert!(ran_on.len() > 1, "one thread did all the work: {ran_on:?}");
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

/// `halt-llm train --devices cpu,cpu` (LoRA on the real SmolLM2-135M-Instruct, whose
/// products are large enough to run as parallel loops): each step's shard runs on a thread of
/// its own while the command's thread waits for it. With the command's thread the only worker
/// of the pool this once waited forever; it must end, with one thread and two.
#[test]
fn data_parallel_training_from_the_cli_ends_with_one_thread_and_two() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("aligned.jsonl");
    write_aligned(
        &data,
        &[
            ("hi", "the cat sat."),
            ("who", "Unsure from Here"),
            ("hello", "a dog ran. Unsure from Here"),
            ("hey", "the dog sat. the cat ran."),
        ],
    );
    let model = halt_llm::fetch::default_model()
        .expect("default model (run .ci/run or `halt-llm fetch-model`)");
    for threads in ["1", "2"] {
        let out = dir.path().join(format!("run-{threads}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_halt-llm"))
            .args(["train", "--plain", "--devices", "cpu,cpu", "--epochs", "1"])
            .args(["--batch-size", "4", "--max-seq-len", "64", "--lr", "0.01"])
            .args(["--lora-rank", "4"])
            .arg("--model")
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(&out)
            .env("RAYON_NUM_THREADS", threads)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(300) {
                child.kill().unwrap();
                panic!("{threads} thread(s): `train --devices cpu,cpu` still running after 300 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
        assert!(status.success(), "{threads} thread(s): {status}\n{stderr}");
        assert!(
            out.join("model").exists(),
            "{threads} thread(s): no model written\n{stderr}"
        );
    }
}
