//! Tests of [`sample`](super).
use super::*;

#[test]
fn seeds_by_hand() {
    // N = 5: example 0 uses 10..14, example 3 uses 10 + 15 .. 10 + 19
    assert_eq!(response_seed(10, 5, 0, 0), 10);
    assert_eq!(response_seed(10, 5, 0, 4), 14);
    assert_eq!(response_seed(10, 5, 3, 0), 25);
    assert_eq!(response_seed(10, 5, 3, 4), 29);
}

/// A maths example `math-s{i}` with `prompt`.
fn example(i: usize, prompt: &str) -> Example {
    serde_json::from_value(serde_json::json!({
        "domain": "math",
        "id": format!("math-s{i}"),
        "prompt": prompt,
        "reference": "1+1 = 2\n#### 2",
        "ground_truth": {
            "answer": "2", "answer_expr": null,
            "calculations": [{"expr": "1+1", "step": 0, "value": "2"}],
            "generated": false, "instance": 0, "num_calculations": 1, "num_steps": 1,
            "source_index": i, "steps": ["1+1 = 2"], "template": format!("s{i}")
        }
    }))
    .unwrap()
}

/// Every prompt is checked before the first response: a prompt too long second in the
/// split stops the stage before the first is sampled, and the message names the file, the
/// example, the token counts, the context and the budget as the command names it.
#[test]
fn a_prompt_too_long_stops_the_stage_before_any_response() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dev = crate::backend::device(crate::backend::DeviceChoice::Cpu).unwrap();
    let loaded =
        crate::model::load::load_model(&root.join("tests/fixtures/tiny-llama/hf"), &dev).unwrap();
    let pool = vec![
        example(0, "hi"),
        example(1, &"a".repeat(300)),
        example(2, "hi"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sampled.jsonl");
    let cfg = SampleConfig {
        settings: SampleSettings {
            n: 1,
            max_new_tokens: 4,
            shots: 0,
            batch_prompts: 1,
            ..SampleSettings::default()
        },
        quiet: true,
        source: PromptSource::new(std::path::Path::new("train.jsonl"), "max_new_tokens"),
        ..SampleConfig::default()
    };
    let err = sample_stage(&loaded, &dev, &pool, &cfg, &out).unwrap_err();
    // by hand, chat format: `<|im_start|>` `user` (4) `\n`, 300 × `a`, `<|im_end|>` `\n`
    // `<|im_start|>` `assistant` (9) `\n`: 319 tokens
    assert_eq!(
        format!("{err:#}"),
        "train.jsonl: example `math-s1`: its prompt is 319 tokens; with 4 new tokens \
         (max_new_tokens) it needs 323, more than the model's context length of 128 \
         tokens (max_position_embeddings): lower max_new_tokens or shorten the prompt"
    );
    assert!(
        !crate::stage::partial_path(&out).exists(),
        "a response was written"
    );
    // the first alone fits
    let first = SampleConfig {
        limit: Some(1),
        ..cfg
    };
    assert_eq!(
        sample_stage(&loaded, &dev, &pool, &first, &out)
            .unwrap()
            .written,
        1
    );
}

#[test]
fn runs_of_consecutive_indices() {
    assert_eq!(
        contiguous_runs(&[0, 1, 2, 5, 6, 9]),
        vec![vec![0, 1, 2], vec![5, 6], vec![9]]
    );
    assert!(contiguous_runs(&[]).is_empty());
}
