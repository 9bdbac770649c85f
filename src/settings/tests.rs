use super::*;
use std::time::Duration;

fn message(r: Result<()>) -> String {
    format!("{:#}", r.unwrap_err())
}

#[test]
fn each_rule_accepts_its_range_and_names_the_setting() {
    assert!(at_least("batch_size", 1, 1).is_ok());
    assert_eq!(
        message(at_least("batch_size", 0, 1)),
        "batch_size must be at least 1, got 0"
    );
    assert!(fraction("valid_fraction", 1.0).is_ok());
    assert!(fraction("valid_fraction", f64::NAN).is_err());
    assert!(fraction_below_one("beta2", 1.0).is_err());
    assert!(positive("lr", 0.0).is_err());
    assert!(positive("lr", f64::INFINITY).is_err());
    assert!(non_negative("weight_decay", 0.0).is_ok());
    assert!(temperature(0.0).is_ok() && temperature(-0.1).is_err());
    assert!(top_p(1.0).is_ok() && top_p(0.0).is_err() && top_p(f32::NAN).is_err());
}

#[test]
fn every_count_has_an_upper_bound_printed_exactly() {
    // by hand: 2^32 + 1 = 4294967297, printed as an integer (a float would show
    // 4294967296)
    let big = (1usize << 32) + 1;
    for (r, want) in [
        (
            batch("batch_size", big),
            "batch_size must be at most 4096, got 4294967297",
        ),
        (samples("n", 1025), "n must be at most 1024, got 1025"),
        (
            lora_rank("lora.rank", big),
            "lora.rank must be at most 4096, got 4294967297",
        ),
        (
            passes("epochs", big),
            "epochs must be at most 10000, got 4294967297",
        ),
        (
            resamples("resamples", 1_000_001),
            "resamples must be at most 1000000, got 1000001",
        ),
        (
            steps("steps", big),
            "steps must be at most 10000000, got 4294967297",
        ),
        (
            tokens("max_new_tokens", big, 1),
            "max_new_tokens must be at most 16777216, got 4294967297",
        ),
        (
            examples("train_examples", big, 2),
            "train_examples must be at most 100000000, got 4294967297",
        ),
        (limit(Some(0)), "limit must be at least 1, got 0"),
        (shots("shots", 257), "shots must be at most 256, got 257"),
        (
            count("max_calculations", big, 1),
            "max_calculations must be at most 1000000, got 4294967297",
        ),
        (
            at_most("x", u64::MAX, 7),
            "x must be at most 7, got 18446744073709551615",
        ),
    ] {
        assert_eq!(message(r), want);
    }
    // the bounds themselves pass, as do the lower ends
    batch("batch_size", MAX_BATCH).unwrap();
    samples("n", 1).unwrap();
    lora_rank("lora.rank", MAX_LORA_RANK).unwrap();
    passes("repeats", MAX_PASSES).unwrap();
    resamples("resamples", 0).unwrap();
    steps("steps", MAX_STEPS).unwrap();
    tokens("max_seq_len", 8, 8).unwrap();
    assert_eq!(
        message(tokens("max_seq_len", 7, 8)),
        "max_seq_len must be at least 8, got 7"
    );
    shots("shots", 0).unwrap();
    limit(None).unwrap();
    assert_eq!(
        message(new_tokens("max_new_tokens", big, usize::MAX).map(|_| ())),
        "max_new_tokens must be at most 16777216, got 4294967297"
    );
    seed("seed", MAX_SEED).unwrap();
    assert_eq!(
        message(seed("seed", u64::MAX)),
        "seed must be at most 9223372036854775807, got 18446744073709551615"
    );
    assert_eq!(
        message(lora_rank_fits("lora.rank", 128, 64)),
        "lora.rank = 128 exceeds the model's hidden size of 64 (hidden_size)"
    );
    lora_rank_fits("lora.rank", 64, 64).unwrap();
}

#[test]
fn learning_rate_time_and_memory_are_bounded() {
    learning_rate("lr", 10.0).unwrap();
    assert_eq!(
        message(learning_rate("lr", 1e6)),
        "lr must be at most 10, got 1000000"
    );
    assert_eq!(
        message(learning_rate("lr", 0.0)),
        "lr must be a positive number, got 0"
    );
    assert_eq!(seconds("s", 3600.0).unwrap(), Duration::from_secs(3600));
    for v in [0.0, -1.0, 1e12, 1e30, f64::INFINITY, f64::NAN] {
        assert!(seconds("s", v).is_err(), "{v}");
    }
    assert_eq!(
        message(seconds("judge.sandbox_seconds", 1e12).map(|_| ())),
        "judge.sandbox_seconds must be in (0, 3600] seconds, got 1000000000000"
    );
    assert_eq!(memory_mib("m", 64).unwrap(), 64 << 20);
    assert_eq!(memory_mib("m", 1 << 20).unwrap(), 1 << 40);
    // 2^44 MiB is 2^64 bytes: it would wrap to 0
    assert_eq!(
        message(memory_mib("judge.sandbox_memory_mib", 1 << 44).map(|_| ())),
        "judge.sandbox_memory_mib must be at most 1048576, got 17592186044416"
    );
    assert_eq!(
        message(memory_mib("judge.sandbox_memory_mib", 16).map(|_| ())),
        "judge.sandbox_memory_mib must be at least 64, got 16"
    );
}

#[test]
fn markers_lists_and_interpreters() {
    marker("marker", "Unsure from Here").unwrap();
    assert_eq!(
        message(marker("marker", "")),
        r#"marker must not be empty or only whitespace, got """#
    );
    assert!(marker("marker", " \t").is_err());
    distinct(
        "target module",
        "lora.target_modules",
        &["q_proj", "v_proj"],
    )
    .unwrap();
    assert_eq!(
        message(distinct(
            "target module",
            "lora.target_modules",
            &["q_proj", "v_proj", "q_proj"]
        )),
        "target module `q_proj` is listed twice in lora.target_modules"
    );
    // the tests need python3 (3.8 or later), as the code judge does
    python("judge.python", "python3").unwrap();
    assert_eq!(
        message(python("judge.python", "/nonexistent/python3")),
        "judge.python = \"/nonexistent/python3\": cannot run it: No such file or directory \
         (os error 2) (the code judge needs Python 3.8 or later)"
    );
    assert_eq!(
        message(python("judge.python", "false")),
        "judge.python = \"false\": it failed (exit status: 1) to print its version (the \
         code judge needs Python 3.8 or later)"
    );
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("python2");
    std::fs::write(&old, "#!/bin/sh\necho '(2, 7)'\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    let old = old.to_str().unwrap();
    assert_eq!(
        message(python("judge.python", old)),
        format!(
            "judge.python = {old:?} is Python 2.7: the code judge needs Python 3.8 or later \
             (audit hooks)"
        )
    );
}

#[test]
fn duplicate_alphas_are_refused() {
    assert!(alphas("alphas", &[0.4, 0.6, 0.8]).is_ok());
    assert_eq!(
        message(alphas("alphas", &[0.4, 0.6, 0.4])),
        "alpha 0.4 is listed twice in alphas"
    );
    assert!(alphas("alphas", &[1.5]).is_err());
}

#[test]
fn a_generation_budget_leaves_room_for_the_prompt() {
    assert_eq!(new_tokens("max_new_tokens", 96, 8192).unwrap(), 8096);
    assert!(new_tokens("max_new_tokens", 0, 8192).is_err());
    assert_eq!(
        message(new_tokens("eval_max_new_tokens", 8192, 8192).map(|_| ())),
        "eval_max_new_tokens = 8192 leaves no room for a prompt in the model's context \
         length of 8192 tokens (max_position_embeddings)"
    );
}

#[test]
fn a_budget_larger_than_the_context_is_refused() {
    assert!(fits_context("max_seq_len", 8192, 8192).is_ok());
    assert_eq!(
        message(fits_context("max_seq_len", 100_000, 8192)),
        "max_seq_len = 100000 tokens exceeds the model's context length of 8192 tokens \
         (max_position_embeddings)"
    );
}
