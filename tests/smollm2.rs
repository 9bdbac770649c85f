//! The real SmolLM2-135M-Instruct GGUF against an independent NumPy reference
//! (`tests/reference/smollm2_numpy.py`, run once; its output is
//! `tests/fixtures/smollm2_reference.json`).

use burn::tensor::{Device, Int, Tensor, TensorData};
use halt_llm::chat::Message;
use halt_llm::fetch;
use halt_llm::generate::{FinishReason, SamplingConfig, generate};
use halt_llm::model::KvCache;
use halt_llm::model::load::{LoadedModel, gguf, load_model};
use serde_json::Value;

mod common;
use common::forward::logits_of;

fn reference() -> Value {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/smollm2_reference.json"),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn load() -> (LoadedModel, Device) {
    let dev = Device::flex();
    let path =
        fetch::default_model().expect("default model (run .ci/run or `halt-llm fetch-model`)");
    (load_model(&path, &dev).unwrap(), dev)
}

fn ids_of(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

#[test]
fn config_and_dequantized_tensors_match_reference() {
    let r = reference();
    let path = fetch::default_model().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let g = gguf::parse(&bytes, &path).unwrap();
    let c = gguf::config_from_gguf(&g).unwrap();
    assert_eq!(
        (
            c.num_hidden_layers,
            c.hidden_size,
            c.num_attention_heads,
            c.num_kv_heads()
        ),
        (30, 576, 9, 3)
    );
    assert_eq!(
        (c.intermediate_size, c.vocab_size, c.head_dim()),
        (1536, 49152, 64)
    );
    assert_eq!(c.rope_theta, 100_000.0);
    assert!(c.tie_word_embeddings);
    for (name, want) in r["dequant"].as_object().unwrap() {
        let shape: Vec<usize> = want["numpy_shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        let data = gguf::tensor_f32(&g, name, &shape).unwrap();
        for (i, w) in want["first16"].as_array().unwrap().iter().enumerate() {
            assert_eq!(data[i], w.as_f64().unwrap() as f32, "{name}[{i}]");
        }
        let sum: f64 = data.iter().map(|&x| x as f64).sum();
        let want_sum = want["sum_f64"].as_f64().unwrap();
        assert!(
            (sum - want_sum).abs() < 1e-6 * want_sum.abs().max(1.0),
            "{name} sum {sum} vs {want_sum}"
        );
    }
    // A wrong expected shape is an error naming the tensor.
    let e = gguf::tensor_f32(&g, "blk.0.attn_q.weight", &[1, 2])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("blk.0.attn_q.weight") && e.contains("[576, 576]"),
        "{e}"
    );
    let e = gguf::tensor_f32(&g, "blk.99.attn_q.weight", &[1])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("blk.99.attn_q.weight") && e.contains("missing"),
        "{e}"
    );
}

#[test]
fn tokenizer_matches_reference_and_keeps_user_text_plain() {
    let r = reference();
    let (loaded, _) = load();
    let t = &loaded.tokenizer;
    let ex = &r["tokenizer_examples"];
    assert_eq!(
        t.encode("Hello world").unwrap(),
        ids_of(&ex["Hello world"]["ids"])
    );
    assert_eq!(t.encode(" 12345").unwrap(), ids_of(&ex[" 12345"]["ids"]));
    assert_eq!(t.token_to_id("<|im_start|>"), Some(1));
    // Typed by a user, "<|im_start|>" is text, never the control token.
    assert_eq!(
        t.encode("<|im_start|>").unwrap(),
        ids_of(&ex["<|im_start|>"]["parse_special_false_plain_bpe"]["ids"])
    );
    // The chat prompt: SmolLM2's template adds its default system turn, then the user turn
    // and the generation prompt exactly as the reference tokenized them. No BOS is added
    // (add_bos_token = false), so nothing is doubled.
    let ids = t
        .encode_chat(&[Message::user("What is the capital of France?")], true)
        .unwrap();
    let want = ids_of(&r["prompt_ids"]);
    assert!(ids.ends_with(&want), "{ids:?}");
    assert_eq!(ids[0], 1);
    assert_eq!(
        ids.iter().filter(|&&i| i == 1).count(),
        3,
        "one <|im_start|> per turn"
    );
    let text = t.decode(&ids, false).unwrap();
    assert!(text.starts_with("<|im_start|>system\nYou are a helpful AI assistant named SmolLM"));
    // A user message containing the control string stays plain text inside the template.
    let ids = t.encode_chat(&[Message::user("<|im_end|>")], true).unwrap();
    assert_eq!(
        ids.iter().filter(|&&i| i == 2).count(),
        2,
        "only the template's two <|im_end|>"
    );
}

#[test]
fn logits_match_numpy_reference() {
    let r = reference();
    let (loaded, dev) = load();
    let ids = ids_of(&r["prompt_ids"]);
    let logits = logits_of(&loaded.model, &ids, &dev);
    let probe = ids_of(&r["probe_ids"]);
    let mut max_diff = 0f32;
    for pos in r["positions"].as_array().unwrap() {
        let p = pos["position"].as_u64().unwrap() as usize;
        let row = &logits[p];
        for (k, want) in probe.iter().zip(pos["probe_logits"].as_array().unwrap()) {
            max_diff = max_diff.max((row[*k as usize] - want.as_f64().unwrap() as f32).abs());
        }
        for pair in pos["top10"].as_array().unwrap() {
            let id = pair[0].as_u64().unwrap() as usize;
            max_diff = max_diff.max((row[id] - pair[1].as_f64().unwrap() as f32).abs());
        }
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let lse = m + row.iter().map(|&x| (x as f64 - m).exp()).sum::<f64>().ln();
        assert!(
            (lse - pos["logsumexp"].as_f64().unwrap()).abs() < 1e-2,
            "lse at {p}"
        );
    }
    assert!(max_diff < 1e-2, "max |Δlogit| = {max_diff}");
    // The last position's argmax is unambiguous ("The").
    let last = logits.last().unwrap();
    let argmax = (0..last.len())
        .max_by(|&a, &b| last[a].total_cmp(&last[b]))
        .unwrap();
    assert_eq!(argmax as u64, r["greedy_ids"][0].as_u64().unwrap());
}

#[test]
fn kv_cache_path_equals_full_forward_token_by_token() {
    let r = reference();
    let (loaded, dev) = load();
    let ids = ids_of(&r["prompt_ids"]);
    let full = logits_of(&loaded.model, &ids, &dev);
    let mut cache = KvCache::new(loaded.model.layers.len());
    // First 5 tokens as a chunk, then one at a time.
    let mut got = Vec::new();
    let chunk = |s: &[u32]| {
        Tensor::<2, Int>::from_data(
            TensorData::new(s.iter().map(|&i| i as i64).collect(), [1, s.len()]),
            &dev,
        )
    };
    let h = loaded
        .model
        .forward_cached(chunk(&ids[..5]), &[vec![true; 5]], &mut cache);
    let l = loaded
        .model
        .logits(h)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    got.extend(l.chunks(l.len() / 5).map(<[f32]>::to_vec));
    for i in 5..ids.len() {
        let h = loaded
            .model
            .forward_cached(chunk(&ids[i..i + 1]), &[vec![true]], &mut cache);
        got.push(
            loaded
                .model
                .logits(h)
                .into_data()
                .try_to_vec::<f32>()
                .unwrap(),
        );
    }
    for (p, (a, b)) in full.iter().zip(&got).enumerate() {
        let d = a
            .iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(d < 1e-3, "position {p}: max |Δ| {d}");
    }
}

#[test]
fn greedy_generation_answers_paris_and_batches_agree() {
    let r = reference();
    let (loaded, dev) = load();
    let t = &loaded.tokenizer;
    let prompt = ids_of(&r["prompt_ids"]);
    let cfg = SamplingConfig {
        max_new_tokens: 12,
        ..Default::default()
    };
    let mut streamed = String::new();
    let g = generate(
        &loaded.model,
        t,
        std::slice::from_ref(&prompt),
        &cfg,
        |_, s| streamed.push_str(s),
        &dev,
    )
    .unwrap();
    // The reference's greedy ids up to its first <|im_end|> (id 2), which ends generation.
    let want = ids_of(&r["greedy_ids"]);
    let eos_at = r["greedy_first_eos_index"].as_u64().unwrap() as usize;
    assert_eq!(g[0].ids, want[..eos_at]);
    assert_eq!(g[0].finish, FinishReason::Eos);
    assert_eq!(g[0].text, "The capital of France is Paris.");
    assert_eq!(streamed, g[0].text);

    // Batched (left-padded, different lengths) equals one by one.
    let other = t
        .encode_chat(&[Message::user("Name three colors.")], true)
        .unwrap();
    let cfg = SamplingConfig {
        max_new_tokens: 10,
        ..Default::default()
    };
    let batch = generate(
        &loaded.model,
        t,
        &[other.clone(), prompt.clone()],
        &cfg,
        |_, _| {},
        &dev,
    )
    .unwrap();
    let alone_a = generate(&loaded.model, t, &[other], &cfg, |_, _| {}, &dev).unwrap();
    let alone_b = generate(&loaded.model, t, &[prompt], &cfg, |_, _| {}, &dev).unwrap();
    for (b, a) in [(&batch[0], &alone_a[0]), (&batch[1], &alone_b[0])] {
        assert_eq!(
            (&b.ids, &b.text, b.finish, &b.text_ends),
            (&a.ids, &a.text, a.finish, &a.text_ends)
        );
        // log-probabilities from batched and single-row products: equal up to f32 rounding
        assert_eq!(b.logprobs.len(), a.logprobs.len());
        assert!(
            b.logprobs
                .iter()
                .zip(&a.logprobs)
                .all(|(x, y)| (x - y).abs() < 1e-4)
        );
    }

    // Stop strings cut the text before the match.
    let cfg = SamplingConfig {
        max_new_tokens: 12,
        stop_strings: vec![" is".into()],
        ..Default::default()
    };
    let g = generate(
        &loaded.model,
        t,
        &[ids_of(&r["prompt_ids"])],
        &cfg,
        |_, _| {},
        &dev,
    )
    .unwrap();
    assert_eq!(g[0].text, "The capital of France");
    assert_eq!(g[0].finish, FinishReason::StopString);
}

#[test]
fn chunked_prefill_of_a_long_prompt_matches_the_full_forward() {
    let (loaded, dev) = load();
    let t = &loaded.tokenizer;
    let text = "The quick brown fox jumps over the lazy dog. ".repeat(60);
    let ids = t.encode_chat(&[Message::user(text)], true).unwrap();
    assert!(ids.len() > 600, "{}", ids.len()); // several prefill chunks
    let full = logits_of(&loaded.model, &ids, &dev);
    let last = full.last().unwrap();
    let argmax = (0..last.len())
        .max_by(|&a, &b| last[a].total_cmp(&last[b]))
        .unwrap();
    let cfg = SamplingConfig {
        max_new_tokens: 1,
        ..Default::default()
    };
    let g = generate(&loaded.model, t, &[ids], &cfg, |_, _| {}, &dev).unwrap();
    if g[0].finish == FinishReason::Eos {
        assert!(t.stop_ids.contains(&(argmax as u32)));
    } else {
        assert_eq!(g[0].ids, vec![argmax as u32]);
    }
}
