//! Every failure the fuzz targets found, with its exact input, as a plain test. Before the
//! fix each of these panicked or aborted the process; now each is an error naming the file
//! and the field.

use std::path::Path;

use crate::support::{hf_copy, set_raw_json, try_load};

/// Sets `key` of the folder's `config.json` to the raw JSON `value`.
fn set_config(dir: &Path, key: &str, value: &str) {
    set_raw_json(&dir.join("config.json"), key, value);
}

/// The error of loading the model at `path` (a test failure if it loads).
fn load_error(path: &Path) -> String {
    match try_load(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e,
    }
}

#[test]
fn hf_config_with_a_huge_size_is_refused_before_allocating() {
    // Was: abort (`memory allocation of 5669356830720 bytes failed` for the fuzz's input) in
    // `Llama::init`, sized by config.json before any weight was read. Here: 2^32 × 64
    // embedding values + 2 layers of 36 992 + a final norm of 64 = 274 877 980 992
    // parameters, which cannot be in a 314 632-byte safetensors file.
    let dir = hf_copy();
    set_config(dir.path(), "vocab_size", "4294967296");
    let e = load_error(dir.path());
    assert!(
        e.contains("config.json") && e.contains("274877980992 parameters") && e.contains("314632"),
        "{e}"
    );
    // Sizes whose product overflows u64 are refused too (not wrapped).
    let dir = hf_copy();
    set_config(dir.path(), "intermediate_size", "18446744073709551615");
    let e = load_error(dir.path());
    assert!(e.contains("overflow"), "{e}");
}

#[test]
fn hf_config_with_a_zero_epsilon_is_refused() {
    // Was: panic `epsilon must be positive.` in burn's RmsNormConfig::init (1e-400 parses
    // to 0.0, which validation accepted as non-negative).
    let dir = hf_copy();
    set_config(dir.path(), "rms_norm_eps", "1e-400");
    let e = load_error(dir.path());
    assert!(e.contains("rms_norm_eps must be a positive number"), "{e}");
}

#[test]
fn tokenizer_json_nested_too_deep_or_out_of_range_is_an_error() {
    // Was: panic `Helper: Error("recursion limit exceeded", …)` inside the tokenizers crate
    // (its decoder deserializer `expect`s), the fuzz input being a `decoder` nested 300
    // arrays deep; `1e400` (a number out of range) took the same path.
    for value in [
        format!("{}{}", "[".repeat(300), "]".repeat(300)),
        "1e400".to_string(),
    ] {
        let dir = hf_copy();
        set_raw_json(&dir.path().join("tokenizer.json"), "decoder", &value);
        let e = load_error(dir.path());
        assert!(e.contains("tokenizer.json"), "{e}");
    }
}

#[test]
fn gguf_with_a_huge_block_count_is_refused_before_building_names() {
    // Was (by the code path the fuzz reached): `llama.block_count` = 2^32 − 1 went to
    // `hf_to_gguf_names`, which builds 9 names per layer (~39 billion strings) before any
    // tensor is looked up: a hang, then out of memory.
    let (mut bytes, fields) = crate::gguf::small_llama();
    let f = fields
        .iter()
        .find(|f| f.what == "value of llama.block_count")
        .unwrap();
    bytes[f.at..f.at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.gguf");
    std::fs::write(&path, &bytes).unwrap();
    let e = load_error(&path);
    assert!(
        e.contains("GGUF metadata") && e.contains("parameters"),
        "{e}"
    );
}

#[test]
fn many_boxed_markers_are_judged_in_linear_time() {
    // Was: a 64 KiB response of `\boxed{` repeated (9362 times) took 146 s through the
    // maths judge: `final_answer` read the clause after every marker, each clause running to
    // the end of the text. Now the markers are searched from the end and a clause is read up
    // to 1000 bytes. The last marker starts at byte 7 × 9361 = 65527 and states no value.
    use halt_llm::dataset::judge::math::final_answer;
    use halt_llm::dataset::judge::{JudgeConfig, judge_for, judge_response};
    use halt_llm::dataset::{Domain, Split, load};
    let text = "\\boxed{".repeat(9362);
    let start = std::time::Instant::now();
    assert_eq!(final_answer(&text), Some((65527, None)));
    let ex = load(&crate::repo_path("datasets"), Domain::Math, Split::Train)
        .unwrap()
        .remove(0);
    let judge = judge_for(Domain::Math, &JudgeConfig::default());
    let j = judge_response(judge.as_ref(), &ex, &text, false).unwrap();
    // One step (no line break or sentence end), a final answer without a value: wrong.
    assert_eq!(j.fragments.len(), 1);
    assert_eq!(j.fragments[0].correct, Some(false));
    assert!(start.elapsed().as_secs() < 15, "{:?}", start.elapsed());
    // The word forms: the value of the last one with a number.
    assert_eq!(
        final_answer("the answer is 4, no, the answer is 5"),
        Some((21, Some(5.0)))
    );
    assert_eq!(
        final_answer("the answer is 4, answer: none"),
        Some((0, Some(4.0)))
    );
}
