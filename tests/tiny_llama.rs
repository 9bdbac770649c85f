//! Both checkpoint loaders against an independent NumPy reference on a tiny random Llama
//! (`tests/reference/make_tiny_llama.py`, run once): the same weights as a GGUF file (Q/K
//! permuted by llama.cpp's rule; Q4_0, Q4_1, Q8_0, F16, BF16 and F32 tensors) and as Hugging
//! Face safetensors folders (one with Llama-3 `rope_scaling`).

use std::path::PathBuf;

use burn::tensor::{Device, Int, Tensor, TensorData};
use halt_llm::chat::Message;
use halt_llm::generate::{SamplingConfig, generate};
use halt_llm::model::Llama;
use halt_llm::model::load::load_model;
use halt_llm::model::rope::inv_freq;
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama")
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("reference.json")).unwrap()).unwrap()
}

fn ids_of(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

fn logits(model: &Llama, ids: &[u32], dev: &Device) -> Vec<f32> {
    let n = ids.len();
    let t = Tensor::<2, Int>::from_data(
        TensorData::new(ids.iter().map(|&i| i as i64).collect(), [1, n]),
        dev,
    );
    model
        .forward(t, &[vec![true; n]])
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

fn assert_close(got: &[f32], want: &[Vec<f64>], tol: f64, what: &str) {
    let flat: Vec<f64> = want.iter().flatten().copied().collect();
    assert_eq!(got.len(), flat.len(), "{what}: length");
    let d = got
        .iter()
        .zip(&flat)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max);
    assert!(d < tol, "{what}: max |Δ| = {d}");
}

#[test]
fn gguf_and_safetensors_give_the_reference_logits() {
    let r = reference();
    let dev = Device::flex();
    let ids = ids_of(&r["ids"]);
    let want = matrix(&r["logits"]);
    let gguf = load_model(&dir().join("tiny.gguf"), &dev).unwrap();
    assert_close(&logits(&gguf.model, &ids, &dev), &want, 1e-4, "GGUF");
    let hf = load_model(&dir().join("hf"), &dev).unwrap();
    assert_close(&logits(&hf.model, &ids, &dev), &want, 1e-4, "safetensors");
}

#[test]
fn llama3_rope_scaling_matches_reference() {
    let r = reference();
    let dev = Device::flex();
    let m = load_model(&dir().join("hf-llama3"), &dev).unwrap();
    let c = &m.model.config;
    let f = inv_freq(c.head_dim(), c.rope_theta, c.rope_scaling.as_ref());
    for (a, b) in f.iter().zip(r["inv_freq_llama3"].as_array().unwrap()) {
        let b = b.as_f64().unwrap();
        assert!(
            ((*a as f64) - b).abs() <= 1e-6 * b.abs() + 1e-12,
            "{a} vs {b}"
        );
    }
    let ids = ids_of(&r["ids"]);
    assert_close(
        &logits(&m.model, &ids, &dev),
        &matrix(&r["logits_llama3"]),
        1e-4,
        "llama3",
    );
}

#[test]
fn padded_batch_matches_sequences_alone() {
    let r = reference();
    let dev = Device::flex();
    let m = load_model(&dir().join("tiny.gguf"), &dev).unwrap().model;
    let seqs: Vec<Vec<u32>> = r["batch"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| ids_of(&b["ids"]))
        .collect();
    let len = seqs.iter().map(Vec::len).max().unwrap();
    let mut flat = Vec::new();
    let mut mask = Vec::new();
    for s in &seqs {
        let pad = len - s.len();
        flat.extend(std::iter::repeat_n(0i64, pad).chain(s.iter().map(|&i| i as i64)));
        mask.push((0..len).map(|j| j >= pad).collect::<Vec<_>>());
    }
    let t = Tensor::<2, Int>::from_data(TensorData::new(flat, [seqs.len(), len]), &dev);
    let out = m.forward(t, &mask).into_data().try_to_vec::<f32>().unwrap();
    let v = 64;
    for (b, s) in seqs.iter().enumerate() {
        let pad = len - s.len();
        let rows = &out[(b * len + pad) * v..(b + 1) * len * v];
        assert_close(
            rows,
            &matrix(&r["batch"][b]["logits"]),
            1e-4,
            &format!("row {b}"),
        );
    }
}

#[test]
fn greedy_generation_with_cache_matches_reference() {
    let r = reference();
    let dev = Device::flex();
    let m = load_model(&dir().join("tiny.gguf"), &dev).unwrap();
    let mut tok = m.tokenizer.clone();
    tok.stop_ids.clear(); // the reference ran 10 steps without stopping
    let cfg = SamplingConfig {
        max_new_tokens: 10,
        ..Default::default()
    };
    let g = generate(&m.model, &tok, &[ids_of(&r["ids"])], &cfg, |_, _| {}, &dev).unwrap();
    assert_eq!(g[0].ids, ids_of(&r["greedy"]));
}

#[test]
fn tokenizers_from_gguf_and_tokenizer_json_agree_with_reference() {
    let r = reference();
    let dev = Device::flex();
    for path in [dir().join("tiny.gguf"), dir().join("hf")] {
        let t = load_model(&path, &dev).unwrap().tokenizer;
        for ex in r["tokenizer_examples"].as_array().unwrap() {
            let text = ex["text"].as_str().unwrap();
            let want = ids_of(&ex["ids"]);
            if text.contains("<|") {
                continue; // control tokens come only from the chat template, checked below
            }
            assert_eq!(t.encode(text).unwrap(), want, "{} `{text}`", path.display());
        }
        let c = &r["chat_template_example"];
        let msgs: Vec<Message> = serde_json::from_value(c["messages"].clone()).unwrap();
        assert_eq!(
            t.render_chat(&msgs, true).unwrap(),
            c["rendered"].as_str().unwrap()
        );
        let last = r["tokenizer_examples"].as_array().unwrap().last().unwrap();
        assert_eq!(
            t.encode_chat(&msgs, true).unwrap(),
            ids_of(&last["ids"]),
            "{}",
            path.display()
        );
        assert_eq!(t.stop_ids, vec![63]);
    }
}

#[test]
fn loader_errors_name_the_problem() {
    let dev = Device::flex();
    let tmp = tempfile::tempdir().unwrap();
    // A GGUF file cut short.
    let bytes = std::fs::read(dir().join("tiny.gguf")).unwrap();
    let cut = tmp.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = format!("{:#}", load_model(&cut, &dev).err().unwrap());
    assert!(e.contains("cut.gguf"), "{e}");
    // An HF folder whose safetensors lack a tensor the config needs (3 layers, file has 2).
    let hf = tmp.path().join("hf");
    std::fs::create_dir(&hf).unwrap();
    for f in [
        "model.safetensors",
        "tokenizer.json",
        "tokenizer_config.json",
    ] {
        std::fs::copy(dir().join("hf").join(f), hf.join(f)).unwrap();
    }
    let mut cfg: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("hf/config.json")).unwrap())
            .unwrap();
    cfg["num_hidden_layers"] = 3.into();
    std::fs::write(hf.join("config.json"), cfg.to_string()).unwrap();
    let e = format!("{:#}", load_model(&hf, &dev).err().unwrap());
    assert!(e.contains("layers.2.self_attn.q_proj.weight"), "{e}");
    // A metadata value type byte that GGUF does not define (ggus would read it unchecked).
    let mut bad = bytes.clone();
    let key_len = u64::from_le_bytes(bad[24..32].try_into().unwrap()) as usize;
    bad[32 + key_len..36 + key_len].copy_from_slice(&99u32.to_le_bytes());
    let vt = tmp.path().join("valtype.gguf");
    std::fs::write(&vt, &bad).unwrap();
    let e = format!("{:#}", load_model(&vt, &dev).err().unwrap());
    assert!(e.contains("unknown value type 99"), "{e}");
    // A Hugging Face config that is not plain Llama is refused, not run as Llama.
    cfg["num_hidden_layers"] = 2.into();
    cfg["hidden_act"] = "gelu".into();
    std::fs::write(hf.join("config.json"), cfg.to_string()).unwrap();
    let e = format!("{:#}", load_model(&hf, &dev).err().unwrap());
    assert!(e.contains("hidden_act `gelu`"), "{e}");
    // Not a model at all.
    let junk = tmp.path().join("junk.bin");
    std::fs::write(&junk, b"hello").unwrap();
    let e = format!("{:#}", load_model(&junk, &dev).err().unwrap());
    assert!(e.contains("neither a GGUF file"), "{e}");
}

#[test]
fn shared_prompts_are_prefilled_once_and_sample_like_alone() {
    let r = reference();
    let dev = Device::flex();
    let m = load_model(&dir().join("tiny.gguf"), &dev).unwrap();
    let mut tok = m.tokenizer.clone();
    tok.stop_ids.clear();
    let a = ids_of(&r["ids"]);
    let b = ids_of(&r["batch"][0]["ids"]);
    let prompts = vec![a.clone(), a.clone(), b, a];
    let cfg = SamplingConfig {
        max_new_tokens: 8,
        temperature: 1.0,
        top_p: 0.9,
        seed: 5,
        ..Default::default()
    };
    let together = generate(&m.model, &tok, &prompts, &cfg, |_, _| {}, &dev).unwrap();
    for (i, p) in prompts.iter().enumerate() {
        let alone_cfg = SamplingConfig {
            seed: 5 + i as u64,
            ..cfg.clone()
        };
        let alone = generate(
            &m.model,
            &tok,
            std::slice::from_ref(p),
            &alone_cfg,
            |_, _| {},
            &dev,
        )
        .unwrap();
        let (t, a) = (&together[i], &alone[0]);
        assert_eq!(
            (&t.ids, &t.text, t.finish, &t.text_ends),
            (&a.ids, &a.text, a.finish, &a.text_ends),
            "sequence {i}"
        );
        // the log-probabilities come from a batched product: equal up to f32 rounding
        assert_eq!(t.logprobs.len(), a.logprobs.len());
        for (x, y) in t.logprobs.iter().zip(&a.logprobs) {
            assert!((x - y).abs() < 1e-5, "sequence {i}: {x} vs {y}");
        }
    }
    // Different seeds on one prompt give different samples (else the test proves nothing).
    assert_ne!(together[0].ids, together[1].ids);
}

/// The log-probability recorded with each sampled token is the log-softmax (temperature 1) of
/// the logits a full forward pass (no KV cache) gives for the sequence up to it, computed here
/// in f64; the first one also equals the NumPy reference's last prompt row. Each token's text
/// end is the length of the text decoded up to it.
#[test]
fn sampled_tokens_carry_their_log_probabilities_and_text_ends() {
    let r = reference();
    let dev = Device::flex();
    let m = load_model(&dir().join("tiny.gguf"), &dev).unwrap();
    let mut tok = m.tokenizer.clone();
    tok.stop_ids.clear();
    let prompt = ids_of(&r["ids"]);
    let cfg = SamplingConfig {
        max_new_tokens: 8,
        temperature: 0.8,
        top_p: 0.9,
        seed: 11,
        ..Default::default()
    };
    let g = generate(
        &m.model,
        &tok,
        std::slice::from_ref(&prompt),
        &cfg,
        |_, _| {},
        &dev,
    )
    .unwrap();
    let g = &g[0];
    assert_eq!(g.ids.len(), 8);
    assert_eq!((g.logprobs.len(), g.text_ends.len()), (8, 8));
    let log_softmax = |row: &[f64], id: u32| {
        let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let lse = m + row.iter().map(|x| (x - m).exp()).sum::<f64>().ln();
        row[id as usize] - lse
    };
    let vocab = r["config"]["vocab_size"].as_u64().unwrap() as usize;
    let reference_row = &matrix(&r["logits"])[prompt.len() - 1];
    let want = log_softmax(reference_row, g.ids[0]);
    assert!(
        (f64::from(g.logprobs[0]) - want).abs() < 1e-4,
        "token 0: {} vs {want}",
        g.logprobs[0]
    );
    let mut seq = prompt.clone();
    for (i, &id) in g.ids.iter().enumerate() {
        let all = logits(&m.model, &seq, &dev);
        let row: Vec<f64> = all[(seq.len() - 1) * vocab..]
            .iter()
            .map(|&x| f64::from(x))
            .collect();
        let want = log_softmax(&row, id);
        assert!(
            (f64::from(g.logprobs[i]) - want).abs() < 1e-4,
            "token {i}: {} vs {want}",
            g.logprobs[i]
        );
        assert!(g.logprobs[i] <= 0.0);
        seq.push(id);
        let decoded = tok.decode(&g.ids[..=i], true).unwrap();
        assert_eq!(g.text_ends[i], decoded.len(), "token {i}");
    }
    assert_eq!(*g.text_ends.last().unwrap(), g.text.len());
}
