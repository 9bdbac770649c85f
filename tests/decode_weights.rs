//! Decode steps on the host kernels (`halt_llm::model::decode_weights`, `gemv`,
//! `quant_gemv`) against the burn path, on the real SmolLM2-135M-Instruct: f32 copies and
//! the GGUF's own quantized blocks (`auto`) must give the full forward's logits; bf16 copies
//! must give the logits of a model whose weights were rounded to bf16 beforehand (by burn's
//! own cast), run on the ordinary path.

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use halt_llm::fetch;
use halt_llm::model::decode_weights::{WeightFormat, held, install_as};
use halt_llm::model::load::load_model;
use halt_llm::model::{KvCache, Llama};

mod common;
use common::forward::logits_of;

fn load() -> (Llama, Device) {
    let dev = Device::flex();
    let path =
        fetch::default_model().expect("default model (run .ci/run or `halt-llm fetch-model`)");
    (load_model(&path, &dev).unwrap().model, dev)
}

/// Fixed token ids (any ids exercise every weight).
const IDS: [u32; 12] = [
    504, 3575, 282, 4649, 314, 7042, 30, 657, 314, 2908, 327, 260,
];

fn full_logits(model: &Llama, dev: &Device) -> Vec<Vec<f32>> {
    logits_of(model, &IDS, dev)
}

/// Every token fed alone through the KV cache (every product has one row).
fn one_at_a_time(model: &Llama, dev: &Device) -> Vec<Vec<f32>> {
    let mut cache = KvCache::new(model.layers.len());
    IDS.iter()
        .map(|&id| {
            let input = Tensor::<2, Int>::from_data(TensorData::new(vec![id as i64], [1, 1]), dev);
            let h = model.forward_cached(input, &[vec![true]], &mut cache);
            model.logits(h).into_data().try_to_vec::<f32>().unwrap()
        })
        .collect()
}

/// `rows` sequences (distinct variations of [`IDS`]) decoding their last token together:
/// the prefix through the KV cache in one pass, then one step of `rows` products of one row
/// each per sequence. Returns the step's logits (one row per sequence) and, as the
/// expectation, each sequence's full-forward logits at its last position.
fn last_step_together(model: &Llama, dev: &Device, rows: usize) -> [Vec<Vec<f32>>; 2] {
    last_step_of(model, dev, rows, IDS.len())
}

/// [`last_step_together`] with sequences of `len` tokens.
fn last_step_of(model: &Llama, dev: &Device, rows: usize, len: usize) -> [Vec<Vec<f32>>; 2] {
    let seqs: Vec<Vec<u32>> = (0..rows)
        .map(|b| {
            let mut ids = IDS[..len].to_vec();
            ids[b % (len - 1)] = 100 + b as u32;
            ids
        })
        .collect();
    let want = seqs
        .iter()
        .map(|ids| logits_of(model, ids, dev).pop().unwrap())
        .collect();
    let n = len;
    let ids = |range: std::ops::Range<usize>| {
        let flat: Vec<i64> = seqs
            .iter()
            .flat_map(|s| s[range.clone()].iter().map(|&t| t as i64))
            .collect();
        Tensor::<2, Int>::from_data(TensorData::new(flat, [rows, range.len()]), dev)
    };
    let mut cache = KvCache::new(model.layers.len());
    model.forward_cached(ids(0..n - 1), &vec![vec![true; n - 1]; rows], &mut cache);
    let h = model.forward_cached(ids(n - 1..n), &vec![vec![true]; rows], &mut cache);
    let vocab = model.embed_tokens.weight.dims()[0];
    let got = model.logits(h).into_data().try_to_vec::<f32>().unwrap();
    [got.chunks(vocab).map(<[f32]>::to_vec).collect(), want]
}

fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}

fn argmaxes(rows: &[Vec<f32>]) -> Vec<usize> {
    rows.iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .unwrap()
                .0
        })
        .collect()
}

#[test]
fn f32_host_copies_give_the_full_forward_logits() {
    let (model, dev) = load();
    let want = full_logits(&model, &dev);
    assert!(
        install_as(&dev, WeightFormat::Off).is_none(),
        "`off` makes no copies"
    );
    let _scope = install_as(&dev, WeightFormat::F32).expect("the CPU installs");
    let got = one_at_a_time(&model, &dev);
    let d = max_diff(&got, &want);
    assert!(d < 1e-3, "max |Δ| {d}");
}

#[test]
fn the_checkpoints_own_blocks_give_the_full_forward_logits() {
    let (model, dev) = load();
    let want = full_logits(&model, &dev);
    let _scope = install_as(&dev, WeightFormat::Auto).expect("the CPU installs");
    let got = one_at_a_time(&model, &dev);
    // Every projection (30 layers × 7) is Q4_1 in this GGUF and the embedding Q8_0: all 211
    // weights must be recovered as blocks, none left f32.
    let ([f32s, bf16s, blocks], bytes) = held();
    assert_eq!(
        (f32s, bf16s, blocks),
        (0, 0, 211),
        "weights held as (f32, bf16, blocks)"
    );
    assert!(bytes < 130_000_000, "{bytes} bytes");
    let d = max_diff(&got, &want);
    eprintln!("blocks: {bytes} bytes; max |Δ logit| {d} against the full forward");
    assert!(d < 1e-3, "max |Δ| {d}");
}

#[test]
fn finetuned_weights_are_not_taken_for_blocks() {
    // A weight nudged by training is no longer the checkpoint's blocks: it must be read in
    // f32, and the logits must still be the (changed) model's.
    let (mut model, dev) = load();
    let layer = &mut model.layers[0].mlp;
    layer.up_proj.weight = layer.up_proj.weight.clone().map(|w| w.mul_scalar(1.0001));
    let want = full_logits(&model, &dev);
    let _scope = install_as(&dev, WeightFormat::Auto).expect("the CPU installs");
    let got = one_at_a_time(&model, &dev);
    let ([f32s, _, blocks], _) = held();
    assert_eq!((f32s, blocks), (1, 210), "weights held as (f32, blocks)");
    let d = max_diff(&got, &want);
    assert!(d < 1e-3, "max |Δ| {d}");
}

#[test]
fn bf16_host_copies_give_the_logits_of_bf16_rounded_weights() {
    let (model, dev) = load();
    let f32_logits = full_logits(&model, &dev);
    // The expected model: every projection rounded to bf16 by burn's cast; the tied head as
    // a separate rounded linear layer, because the input embedding is read in f32 on both
    // sides (only the output head reads the host copy).
    let round = |t: Tensor<2>| t.cast(DType::BF16).cast(DType::F32);
    let mut rounded = model.clone();
    for layer in &mut rounded.layers {
        let (a, m) = (&mut layer.self_attn, &mut layer.mlp);
        for l in [&mut a.q_proj, &mut a.k_proj, &mut a.v_proj, &mut a.o_proj] {
            l.weight = l.weight.clone().map(round);
        }
        for l in [&mut m.gate_proj, &mut m.up_proj, &mut m.down_proj] {
            l.weight = l.weight.clone().map(round);
        }
    }
    assert!(rounded.lm_head.is_none(), "SmolLM2 ties its embedding");
    rounded.lm_head = Some(Linear {
        weight: Param::from_tensor(round(model.embed_tokens.weight.val()).transpose()),
        bias: None,
    });
    let want = full_logits(&rounded, &dev);
    assert!(
        max_diff(&want, &f32_logits) > 1e-3,
        "the rounding must move the logits, or this test shows nothing"
    );

    let _scope = install_as(&dev, WeightFormat::Bf16).expect("the CPU installs");
    let got = one_at_a_time(&model, &dev);
    let d = max_diff(&got, &want);
    assert!(
        d < 1e-3,
        "bf16 host copies vs bf16-rounded model: max |Δ| {d}"
    );
    // The tolerance against the f32 model, as measured (the book quotes it).
    let from_f32 = max_diff(&got, &f32_logits);
    let same_argmax = argmaxes(&got)
        .iter()
        .zip(argmaxes(&f32_logits))
        .filter(|(a, b)| **a == *b)
        .count();
    eprintln!(
        "bf16 vs f32: max |Δ logit| {from_f32}, same argmax at {same_argmax}/{} positions",
        IDS.len()
    );
    assert!(from_f32 < 0.5, "bf16 moved a logit by {from_f32}");
}

#[test]
fn many_sequences_at_once_give_the_full_forward_logits() {
    // Decode steps of 5–64 sequences (the tiled kernel on AVX-512 CPUs: groups of 6 rows and
    // their remainders), from blocks (`auto`), from f32 copies, and from `auto`'s f32
    // fallback for a finetuned weight.
    let (model, dev) = load();
    let mut nudged = model.clone();
    let mlp = &mut nudged.layers[3].mlp;
    mlp.down_proj.weight = mlp.down_proj.weight.clone().map(|w| w.mul_scalar(1.0001));
    for (name, model, format, rows) in [
        ("blocks", &model, WeightFormat::Auto, 13),
        ("blocks", &model, WeightFormat::Auto, 64),
        ("f32", &model, WeightFormat::F32, 5),
        ("f32", &model, WeightFormat::F32, 40),
        (
            "auto, one weight finetuned",
            &nudged,
            WeightFormat::Auto,
            19,
        ),
    ] {
        let _scope = install_as(&dev, format).expect("the CPU installs");
        let [got, want] = last_step_together(model, &dev, rows);
        let ([f32s, _, blocks], _) = held();
        let d = max_diff(&got, &want);
        eprintln!("{name}, {rows} rows: held (f32 {f32s}, blocks {blocks}); max |Δ| {d}");
        assert!(d < 1e-3, "{name}, {rows} rows: max |Δ| {d}");
        assert_eq!(argmaxes(&got), argmaxes(&want), "{name}, {rows} rows");
    }
}

#[test]
fn a_sequence_gets_the_same_logits_alone_and_in_a_batch() {
    // The host kernels sum each output in the same order whatever the number of rows, so
    // the first sequence's step is bit for bit the same decoded alone, with 2 others, or
    // with 63 others (blocks and f32 copies). Two-token sequences, so that the one-token
    // prefixes also run on the host kernels (a prefix of more than 64 rows in all would take
    // the burn path, whose sums differ in order).
    let (model, dev) = load();
    for format in [WeightFormat::Auto, WeightFormat::F32] {
        let _scope = install_as(&dev, format).expect("the CPU installs");
        let [alone, _] = last_step_of(&model, &dev, 1, 2);
        for rows in [3, 13, 64] {
            let [batch, _] = last_step_of(&model, &dev, rows, 2);
            assert!(
                alone[0]
                    .iter()
                    .zip(&batch[0])
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{format:?}: the first sequence's logits differ alone and in {rows} rows"
            );
        }
    }
}
