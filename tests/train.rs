//! Finetuning (issue 5) on the tiny fixture model `tests/fixtures/tiny-llama/hf` (random
//! weights, 64-token letter vocabulary, ChatML template). Expected token ids below are worked
//! out by hand from its `tokenizer.json` (vocabulary a..z = 0..25, A..Z = 26..51, `Ġ` 52,
//! `Ċ` 53, `he` 58; merges `h e`, `Ġ t`, `Ġt he`, `l l`; `<|im_start|>` 62, `<|im_end|>` 63).

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::GradientsAccumulator;
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn::train::TrainStep;
use halt_llm::chat::ChatTemplate;
use halt_llm::generate::{SamplingConfig, generate};
use halt_llm::model::llama::Llama;
use halt_llm::model::load::{LoadedModel, load_model};
use halt_llm::train::batch::make_batch;
use halt_llm::train::example::tokenize_pair;
use halt_llm::train::export::export_hf;
use halt_llm::train::step::masked_nll_sum;
use halt_llm::train::{LoraSettings, TrainConfig, TrainOptions, train};

mod common;
use common::aligned::write_aligned;
use common::weights::params;

fn tiny_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama/hf")
}

fn tiny(device: &Device) -> LoadedModel {
    load_model(&tiny_dir(), device).unwrap()
}

#[test]
fn label_mask_of_a_chatml_conversation_by_hand() {
    let tok = tiny(&Device::flex()).tokenizer;
    let e = tokenize_pair(&tok, "x", "hi", "the cat", 512).unwrap();
    // "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    let prompt = [
        62, 20, 18, 4, 17, 53, 7, 8, 63, 53, 62, 0, 18, 18, 8, 18, 19, 0, 13, 19, 53,
    ];
    // "the" → t he; " cat" → Ġ c a t; then <|im_end|> (the "\n" after it is dropped).
    let target = [19, 58, 52, 2, 0, 19, 63];
    let want: Vec<u32> = prompt.iter().chain(&target).copied().collect();
    assert_eq!(e.input_ids, want);
    let mask: Vec<bool> = (0..want.len()).map(|i| i >= prompt.len()).collect();
    assert_eq!(e.label_mask, mask);
    assert_eq!(e.num_labels(), 7);

    // The batcher shifts once: input position i predicts token i+1; padding is masked.
    let short = tokenize_pair(&tok, "y", "a", "b", 512).unwrap();
    let b = make_batch(&[e.clone(), short.clone()], &Device::flex());
    let seq = want.len() - 1;
    assert_eq!(b.input_ids.dims(), [2, seq]);
    let mask = b.target_mask.into_data().try_to_vec::<f32>().unwrap();
    let targets = b
        .targets
        .into_data()
        .convert::<i64>()
        .try_to_vec::<i64>()
        .unwrap();
    for i in 0..seq {
        let label = i + 1 >= prompt.len();
        assert_eq!(mask[i] == 1.0, label, "position {i}");
        assert_eq!(targets[i], want[i + 1] as i64);
    }
    // Row 2: "<|im_start|>user\na<|im_end|>\n<|im_start|>assistant\nb<|im_end|>": 62, u s e r,
    // Ċ, a, 63, Ċ, 62, a s s i s t a n t, Ċ, b, 63 = 22 tokens; labels "b" (index 20) and
    // <|im_end|> (21), predicted from input positions 19 and 20; 21.. is padding.
    assert_eq!(short.input_ids.len(), 22);
    let row2: Vec<usize> = (0..seq).filter(|&i| mask[seq + i] == 1.0).collect();
    assert_eq!(row2, vec![19, 20]);
    assert_eq!(b.attention_mask[1].iter().filter(|&&v| v).count(), 21);
    assert_eq!(b.num_targets, 9);
}

#[test]
fn no_doubled_bos_and_eos_appended_when_the_template_has_none() {
    let mut tok = tiny(&Device::flex()).tokenizer;
    // A model that asks for BOS (= <|im_start|> here) whose template also renders it.
    tok.add_bos = true;
    tok.bos_id = Some(62);
    let e = tokenize_pair(&tok, "x", "hi", "he", 512).unwrap();
    assert_eq!(&e.input_ids[..2], &[62, 20]);
    assert_eq!(
        e.input_ids.iter().filter(|&&t| t == 62).count(),
        2,
        "one per turn"
    );

    // A template without end-of-turn tokens: "user: hi\nassistant: he\n".
    tok.add_bos = false;
    tok.chat_template = ChatTemplate::new(
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}\
         {% if add_generation_prompt %}assistant: {% endif %}",
        "",
        "<|im_end|>",
    )
    .unwrap();
    let e = tokenize_pair(&tok, "x", "hi", "he", 512).unwrap();
    // Labels: "he" (58) and the appended EOS (63); nothing after.
    assert_eq!(&e.input_ids[e.input_ids.len() - 2..], &[58, 63]);
    assert_eq!(e.num_labels(), 2);
}

#[test]
fn long_examples_lose_prompt_tokens_first() {
    let tok = tiny(&Device::flex()).tokenizer;
    let full = tokenize_pair(&tok, "x", "abcdefghij", "he", 512).unwrap();
    assert_eq!(full.input_ids.len(), 31);
    let cut = tokenize_pair(&tok, "x", "abcdefghij", "he", 25).unwrap();
    assert_eq!(cut.input_ids.len(), 25);
    assert_eq!(cut.prompt_tokens_cut, 6);
    assert_eq!(cut.target_tokens_cut, 0);
    assert_eq!(cut.input_ids[..], full.input_ids[6..]);
    assert_eq!(cut.num_labels(), 2);
    // A target longer than the limit keeps one context token and is cut at the end.
    let cut = tokenize_pair(&tok, "x", "a", "abcdefghijklmnop", 10).unwrap();
    assert_eq!(cut.input_ids.len(), 10);
    assert_eq!(cut.num_labels(), 9);
    assert!(cut.target_tokens_cut > 0);
}

/// Logits `[1, n, 2]` whose cross-entropy for target 0 is `ce` at every position:
/// softmax([0, a])₀ = 1 / (1 + eᵃ), so a = ln(e^ce − 1).
fn logits_with_ce(n: usize, ce: f64, device: &Device) -> Tensor<3> {
    let a = ((ce.exp()) - 1.0).ln() as f32;
    let data: Vec<f32> = (0..n).flat_map(|_| [0.0, a]).collect();
    Tensor::from_data(TensorData::new(data, [1, n, 2]), device)
}

#[test]
fn loss_is_normalised_over_the_whole_optimiser_step() {
    let dev = Device::flex();
    let zeros = |n: usize| Tensor::<2, Int>::zeros([1, n], &dev);
    let ones = |n: usize| Tensor::<2>::ones([1, n], &dev);
    // Micro-batch A: 10 label tokens at loss 1.0; B: 100 at loss 2.0.
    let a = masked_nll_sum(logits_with_ce(10, 1.0, &dev), zeros(10), ones(10));
    let b = masked_nll_sum(logits_with_ce(100, 2.0, &dev), zeros(100), ones(100));
    let step_tokens = 110.0;
    let accumulated = a.into_scalar::<f64>() / step_tokens + b.into_scalar::<f64>() / step_tokens;
    let want = (10.0 * 1.0 + 100.0 * 2.0) / 110.0; // 1.90909…, not (1.0 + 2.0) / 2
    assert!((accumulated - want).abs() < 1e-4, "{accumulated}");
    // Batched together (A padded to 100 with unmasked positions): the same.
    let logits = Tensor::cat(
        vec![
            Tensor::cat(
                vec![logits_with_ce(10, 1.0, &dev), logits_with_ce(90, 5.0, &dev)],
                1,
            ),
            logits_with_ce(100, 2.0, &dev),
        ],
        0,
    );
    let mask = Tensor::cat(
        vec![
            Tensor::cat(vec![ones(10), Tensor::zeros([1, 90], &dev)], 1),
            ones(100),
        ],
        0,
    );
    let batched = masked_nll_sum(logits, Tensor::zeros([2, 100], &dev), mask).into_scalar::<f64>()
        / step_tokens;
    assert!((batched - want).abs() < 1e-4, "{batched}");
}

#[test]
fn accumulated_gradients_equal_the_batched_gradient() {
    let dev = Device::flex().autodiff();
    let loaded = tiny(&dev);
    let (model, tok) = (loaded.model, loaded.tokenizer);
    let e1 = tokenize_pair(&tok, "1", "hi", "the cat", 64).unwrap();
    let e2 = tokenize_pair(&tok, "2", "hello there", "a", 64).unwrap();
    let total = e1.num_labels() + e2.num_labels();
    assert_ne!(e1.num_labels(), e2.num_labels());
    let mut acc = GradientsAccumulator::new();
    for e in [&e1, &e2] {
        let mut b = make_batch(std::slice::from_ref(e), &dev);
        b.step_targets = total;
        acc.accumulate(&model, TrainStep::step(&model, b).grads);
    }
    let mut accumulated = acc.grads();
    let mut both = TrainStep::step(&model, make_batch(&[e1, e2], &dev)).grads;
    let id = model.embed_tokens.weight.id;
    let g1 = accumulated
        .remove::<2>(id)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let g2 = both
        .remove::<2>(id)
        .unwrap()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let scale = g2.iter().map(|v| v.abs()).fold(0f32, f32::max);
    assert!(scale > 0.0);
    for (a, b) in g1.iter().zip(&g2) {
        assert!((a - b).abs() <= 1e-5 * scale.max(1.0), "{a} vs {b}");
    }
}

fn config(data: &Path) -> TrainConfig {
    TrainConfig {
        data: vec![data.to_path_buf()],
        model: tiny_dir().display().to_string(),
        epochs: 4,
        lr: 1e-2,
        warmup_ratio: 0.0,
        batch_size: 2,
        grad_accum: 1,
        max_seq_len: 64,
        valid_fraction: 0.0,
        checkpoint_every: 2,
        ..TrainConfig::default()
    }
}

const PAIRS: [(&str, &str); 3] = [
    ("hi", "the cat sat."),
    ("who", "Unsure from Here"),
    ("hello", "a dog ran. Unsure from Here"),
];

#[test]
fn a_tiny_model_overfits_and_then_says_its_targets() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("aligned.jsonl");
    write_aligned(&data, &PAIRS);
    let cfg = TrainConfig {
        epochs: 150,
        batch_size: 3,
        lr: 1e-2,
        min_lr_ratio: 0.1,
        checkpoint_every: 1000,
        ..config(&data)
    };
    let out = dir.path().join("run");
    let summary = train(&cfg, &out, &TrainOptions::default())
        .unwrap()
        .unwrap();
    assert_eq!(summary.steps, 150);
    assert_eq!(summary.train_examples, 3);
    let dev = Device::flex();
    let done = load_model(&summary.model_dir, &dev).unwrap();
    // Loss near zero on the training examples.
    let examples: Vec<_> = PAIRS
        .iter()
        .map(|(p, t)| tokenize_pair(&done.tokenizer, "x", p, t, 64).unwrap())
        .collect();
    let loss = halt_llm::train::step::mean_loss(&done.model, &examples, 3, &dev).unwrap();
    assert!(loss < 0.05, "loss {loss}");
    // Greedy answers are exactly the targets, the marker included.
    let prompts: Vec<Vec<u32>> = PAIRS
        .iter()
        .map(|(p, _)| {
            done.tokenizer
                .encode_chat(&[halt_llm::chat::Message::user(*p)], true)
                .unwrap()
        })
        .collect();
    let sampling = SamplingConfig {
        max_new_tokens: 40,
        ..SamplingConfig::default()
    };
    let answers = generate(
        &done.model,
        &done.tokenizer,
        &prompts,
        &sampling,
        |_, _| {},
        &dev,
    )
    .unwrap();
    for ((_, target), got) in PAIRS.iter().zip(&answers) {
        assert_eq!(got.text.trim_end(), *target);
    }
}

#[test]
fn a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one() {
    for lora in [None, Some(LoraSettings::with_rank(4))] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("aligned.jsonl");
        write_aligned(&data, &PAIRS);
        let cfg = TrainConfig {
            lora: lora.clone(),
            valid_fraction: 0.34,
            grad_accum: 2,
            batch_size: 1,
            epochs: 6,
            ..config(&data)
        };
        // 2 training examples × 6 epochs / (1 × 2) = 6 steps = 3 segments of 2.
        let a = dir.path().join("a");
        let whole = train(&cfg, &a, &TrainOptions::default()).unwrap().unwrap();
        assert_eq!(whole.steps, 6);
        let b = dir.path().join("b");
        let stopped = TrainOptions {
            stop_after_segments: Some(1),
            ..TrainOptions::default()
        };
        assert!(train(&cfg, &b, &stopped).unwrap().is_none());
        assert!(!b.join("model").exists());
        // Without --resume the folder is refused; with it, the run continues after step 2.
        assert!(train(&cfg, &b, &TrainOptions::default()).is_err());
        let resume = TrainOptions {
            resume: true,
            ..TrainOptions::default()
        };
        let resumed = train(&cfg, &b, &resume).unwrap().unwrap();
        assert_eq!(resumed.resumed_after_step, 2);
        let dev = Device::flex();
        let wa = params(&load_model(&whole.model_dir, &dev).unwrap().model);
        let wb = params(&load_model(&resumed.model_dir, &dev).unwrap().model);
        assert_eq!(wa.len(), wb.len());
        let base = params(&tiny(&dev).model);
        let mut changed = false;
        for ((na, va), ((nb, vb), (_, v0))) in wa.iter().zip(wb.iter().zip(&base)) {
            assert_eq!(na, nb);
            changed |= va != v0;
            for (x, y) in va.iter().zip(vb) {
                assert!((x - y).abs() <= 1e-5 * x.abs().max(1.0), "{na}: {x} vs {y}");
            }
        }
        assert!(changed, "training changed nothing (lora: {lora:?})");
        // A different setting is refused on resume, naming it.
        let other = TrainConfig {
            lr: 1e-3,
            ..cfg.clone()
        };
        let err = train(&other, &b, &resume).unwrap_err().to_string();
        assert!(err.contains("lr = 0.001"), "{err}");
        // Resuming a finished run changes nothing.
        let again = train(&cfg, &b, &resume).unwrap().unwrap();
        assert_eq!(again.model_dir, resumed.model_dir);
        assert!(
            (again.seconds - resumed.seconds).abs() < 1e-9,
            "the recorded summary"
        );
        // Killed after the last checkpoint, before the export: the resumed export holds the
        // trained weights (those of the uninterrupted run), not the pretrained ones.
        std::fs::remove_dir_all(b.join("model")).unwrap();
        std::fs::remove_file(b.join("train_summary.json")).unwrap();
        let late = train(&cfg, &b, &resume).unwrap().unwrap();
        assert_eq!(late.resumed_after_step, 6);
        let wc = params(&load_model(&late.model_dir, &dev).unwrap().model);
        for ((na, va), (_, vc)) in wa.iter().zip(&wc) {
            for (x, y) in va.iter().zip(vc) {
                assert!((x - y).abs() <= 1e-5 * x.abs().max(1.0), "{na}: {x} vs {y}");
            }
        }
    }
}

#[test]
fn export_round_trip_gives_the_same_logits_and_lora_merges() {
    let dev = Device::flex();
    let loaded = tiny(&dev);
    let ids = Tensor::<2, Int>::from_data(
        TensorData::new(vec![62i64, 20, 18, 7, 58, 53, 19], [1, 7]),
        &dev,
    );
    let valid = vec![vec![true; 7]];
    let check = |model: &Llama| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("model");
        export_hf(model, &loaded.tokenizer, &out).unwrap();
        for f in [
            "model.safetensors",
            "config.json",
            "tokenizer.json",
            "tokenizer_config.json",
        ] {
            assert!(out.join(f).exists(), "{f}");
        }
        let back = load_model(&out, &dev).unwrap();
        let want = model
            .forward(ids.clone(), &valid)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let got = back
            .model
            .forward(ids.clone(), &valid)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (a, b) in want.iter().zip(&got) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        assert_eq!(
            back.tokenizer
                .encode_chat(&[halt_llm::chat::Message::user("hi")], true)
                .unwrap(),
            loaded
                .tokenizer
                .encode_chat(&[halt_llm::chat::Message::user("hi")], true)
                .unwrap()
        );
    };
    check(&loaded.model);

    // LoRA with non-zero factors (B is zero at init, so give every rank-2 factor random
    // values): the exported, merged model must compute what the adapted one does.
    let (adapted, _) =
        halt_llm::train::lora::apply_lora(loaded.model.clone(), &LoraSettings::with_rank(2))
            .unwrap();
    let adapted = adapted.map(&mut Noise);
    let base = loaded
        .model
        .forward(ids.clone(), &valid)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let lora = adapted
        .forward(ids.clone(), &valid)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let moved = base
        .iter()
        .zip(&lora)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(moved > 1e-3, "the adapters change the output ({moved})");
    check(&adapted);
}

/// Gives random values to the `[rank = 2, d_out]` LoRA factors.
struct Noise;

impl burn::module::ModuleMapper for Noise {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<Tensor<D>>,
    ) -> burn::module::Param<Tensor<D>> {
        param.map(|t| {
            if D == 2 && t.dims()[0] == 2 {
                Tensor::random(
                    t.shape(),
                    burn::tensor::Distribution::Normal(0.0, 0.5),
                    &t.device(),
                )
            } else {
                t
            }
        })
    }
}

#[test]
fn a_failed_start_leaves_no_run_behind() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("aligned.jsonl");
    write_aligned(&data, &PAIRS);
    let out = dir.path().join("run");
    let bad = TrainConfig {
        model: "/nonexistent/model".into(),
        ..config(&data)
    };
    assert!(train(&bad, &out, &TrainOptions::default()).is_err());
    assert!(!out.join("train_config.toml").exists());
    let good = TrainConfig {
        epochs: 1,
        ..config(&data)
    };
    train(&good, &out, &TrainOptions::default())
        .unwrap()
        .unwrap();
    // Diverging (NaN loss) is an error, not a model: at the largest rate accepted
    // (settings::MAX_LEARNING_RATE = 10), a decoupled weight decay of 1 multiplies every weight
    // by 1 − lr·1 = −9 per step until it overflows.
    let wild = TrainConfig {
        lr: 10.0,
        weight_decay: 1.0,
        epochs: 50,
        ..config(&data)
    };
    let err = train(&wild, &dir.path().join("wild"), &TrainOptions::default()).unwrap_err();
    assert!(err.to_string().contains("diverged"), "{err}");
}

#[test]
fn the_label_only_loss_equals_the_masked_full_vocabulary_loss() {
    // Reference: log-softmax over every position, masked (the previous formulation).
    let dev = Device::flex();
    let loaded = tiny(&dev);
    let (model, tok) = (loaded.model, loaded.tokenizer);
    let e1 = tokenize_pair(&tok, "1", "hello there", "the cat", 64).unwrap();
    let e2 = tokenize_pair(&tok, "2", "hi", "a", 64).unwrap();
    let b = make_batch(&[e1.clone(), e2.clone()], &dev);
    let logits = model.forward(b.input_ids.clone(), &b.attention_mask);
    let want =
        masked_nll_sum(logits, b.targets.clone(), b.target_mask.clone()).into_scalar::<f64>();
    let (got, n) = model.batch_nll(&b);
    let got = got.into_scalar::<f64>();
    assert_eq!(n, e1.num_labels() + e2.num_labels());
    assert!(want > 1.0);
    assert!((got - want).abs() < 1e-4 * want, "{got} vs {want}");
}

#[test]
fn the_lora_side_path_equals_the_materialised_weight() {
    use burn::optim::{AdamWConfig, GradientsParams};
    use burn::tensor::Distribution;
    use halt_llm::model::linear::project;
    use halt_llm::train::lora::apply_lora;
    // Reference: burn's reparameterised `Linear::forward`, x · (W + s·A·B).
    let dev = Device::flex().autodiff();
    let loaded = tiny(&dev);
    let (model, tok) = (loaded.model, loaded.tokenizer);
    let (model, _) = apply_lora(model, &LoraSettings::with_rank(4)).unwrap();
    // One optimiser step so that B (zero at the start) is not zero.
    let e = tokenize_pair(&tok, "1", "hi", "the cat", 64).unwrap();
    let (loss, _) = model.step_loss(&make_batch(&[e], &dev));
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let model = AdamWConfig::new().init().step(1e-2, model, grads);
    let lin = &model.layers[0].mlp.up_proj;
    let d_in = lin.weight.base().dims()[0];
    let x = Tensor::<3>::random([2, 3, d_in], Distribution::Normal(0.0, 1.0), &dev);
    let side = project(lin, x.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let whole = lin
        .forward(x.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let base = x
        .matmul(lin.weight.base().unsqueeze_dim(0))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let moved = side
        .iter()
        .zip(&base)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(moved > 1e-4, "the adapter changed nothing: {moved}");
    for (a, b) in side.iter().zip(&whole) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
}

/// Issue 14, case 8: under gradient accumulation the loss printed for an optimiser step is the
/// step's loss, the mean cross-entropy per label token over all its micro-batches (the number
/// `--batch-size 2` prints for the same two examples), not the last micro-batch's. Expected
/// value: the untrained model's mean loss over both examples, from the library's `mean_loss`
/// (the log is not involved); the two targets have different label counts, so a per-batch mean
/// or the last micro-batch's loss would differ from it.
#[test]
fn the_printed_loss_of_an_accumulated_step_is_the_steps_loss() {
    use halt_llm::train::step::mean_loss;
    const BIN: &str = env!("CARGO_BIN_EXE_halt-llm");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("aligned.jsonl");
    let pairs = [("hi", "the cat sat on the mat."), ("who", "a dog.")];
    write_aligned(&data, &pairs);
    let device = Device::flex();
    let m = tiny(&device);
    let examples: Vec<_> = pairs
        .iter()
        .enumerate()
        .map(|(i, (p, t))| tokenize_pair(&m.tokenizer, &format!("r{i}"), p, t, 64).unwrap())
        .collect();
    assert_ne!(examples[0].num_labels(), examples[1].num_labels());
    let want = mean_loss(&m.model, &examples, 2, &device).unwrap();

    let config = dir.path().join("train.toml");
    std::fs::write(
        &config,
        "epochs = 1\nvalid_fraction = 0.0\nmax_seq_len = 64\nwarmup_ratio = 0.0\n",
    )
    .unwrap();
    let printed = |batch_size: usize, grad_accum: usize| -> f64 {
        let out = dir.path().join(format!("out-{batch_size}-{grad_accum}"));
        let run = std::process::Command::new(BIN)
            .arg("train")
            .arg("--config")
            .arg(&config)
            .arg("--data")
            .arg(&data)
            .arg("--model")
            .arg(tiny_dir())
            .arg("--out")
            .arg(&out)
            .args(["--batch-size", &batch_size.to_string()])
            .args(["--grad-accum", &grad_accum.to_string()])
            .arg("--plain")
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{log}");
        let line = log
            .lines()
            .find(|l| l.starts_with("train: step 1/1 · loss "))
            .unwrap_or_else(|| panic!("no step line in:\n{log}"));
        line["train: step 1/1 · loss ".len()..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let accumulated = printed(1, 2);
    let batched = printed(2, 1);
    assert!((accumulated - want).abs() < 2e-4, "{accumulated} vs {want}");
    assert!((batched - want).abs() < 2e-4, "{batched} vs {want}");
}

/// The same weights exported twice give the same bytes (burn writes the safetensors metadata
/// from a hash map; the exporter sorts it), so a resumed run's model can be compared byte for
/// byte with an uninterrupted one's.
#[test]
fn exporting_the_same_weights_gives_the_same_bytes() {
    let device = Device::flex();
    let m = tiny(&device);
    let dir = tempfile::tempdir().unwrap();
    let bytes: Vec<Vec<u8>> = (0..4)
        .map(|i| {
            let out = dir.path().join(format!("m{i}"));
            export_hf(&m.model, &m.tokenizer, &out).unwrap();
            std::fs::read(out.join("model.safetensors")).unwrap()
        })
        .collect();
    assert!(bytes.iter().all(|b| *b == bytes[0]));
    let n = u64::from_le_bytes(bytes[0][..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&bytes[0][8..8 + n]).unwrap();
    assert!(
        header.starts_with(r#"{"__metadata__":{"format":"pt","producer":"burn","version":"#),
        "{header}"
    );
}

/// Data parallelism (issue 18): the same run with each micro-batch split across two CPU
/// devices (`devices = ["cpu", "cpu"]`) ends with the weights of the run on one device. Five
/// pairs with different numbers of label tokens, micro-batches of 3 and 2 examples (split 2 + 1
/// and 1 + 1: parts with different label counts), two micro-batches per optimiser step: only
/// the order of float sums differs, so the weights agree to rounding.
#[test]
fn two_cpu_devices_with_the_batch_split_train_like_one() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("aligned.jsonl");
    let pairs = [
        PAIRS[0],
        PAIRS[1],
        PAIRS[2],
        ("hey", "the dog sat. the cat ran."),
        ("yo", "a cat."),
    ];
    write_aligned(&data, &pairs);
    let base = TrainConfig {
        batch_size: 3,
        grad_accum: 2,
        epochs: 4,
        valid_fraction: 0.0,
        checkpoint_every: 100,
        ..config(&data)
    };
    let parallel = TrainConfig {
        devices: vec!["cpu".into(), "cpu".into()],
        ..base.clone()
    };
    let run = |cfg: &TrainConfig, name: &str| {
        let s = train(cfg, &dir.path().join(name), &TrainOptions::default())
            .unwrap()
            .unwrap();
        assert_eq!(s.steps, 4);
        params(&tiny_from(&s.model_dir))
    };
    let (one, two) = (run(&base, "one"), run(&parallel, "two"));
    let start = params(&tiny(&Device::flex()).model);
    let (mut moved, mut apart) = (0f32, 0f32);
    for (((na, a), (nb, b)), (_, s)) in one.iter().zip(&two).zip(&start) {
        assert_eq!(na, nb);
        for ((x, y), z) in a.iter().zip(b).zip(s) {
            moved = moved.max((x - z).abs());
            apart = apart.max((x - y).abs());
        }
    }
    eprintln!("largest weight change {moved}; one vs two devices: largest difference {apart}");
    assert!(moved > 0.01, "training did not move the weights ({moved})");
    assert!(
        apart <= 1e-4,
        "one device vs two: weights differ by {apart}"
    );
}

fn tiny_from(dir: &Path) -> Llama {
    load_model(dir, &Device::flex()).unwrap().model
}

/// The loss computed on the host with the output head (`train::head_loss`) against the
/// reference: burn's autodiff of the cross-entropy written with tensor operations
/// (`step::nll_sum` on `Llama::logits`). Same value, same gradients for the tied embedding
/// (which gets gradient both as the head and as the input embedding) and for a layer's weight.
#[test]
fn the_host_head_loss_has_the_value_and_gradients_of_the_tensor_loss() {
    host_head_loss_against_the_tensor_loss(false);
}

/// The same with an untied output head (`lm_head`, weight `[hidden, vocab]`, which the host
/// path reads transposed), through `Llama::batch_nll` as training calls it.
#[test]
fn an_untied_head_takes_the_host_path_with_the_same_value_and_gradients() {
    host_head_loss_against_the_tensor_loss(true);
}

fn host_head_loss_against_the_tensor_loss(untied: bool) {
    use halt_llm::train::head_loss::head_nll_sum;
    use halt_llm::train::step::nll_sum;
    let dev = Device::flex().autodiff();
    let loaded = tiny(&dev);
    let (mut model, tok) = (loaded.model, loaded.tokenizer);
    assert!(
        model.lm_head.is_none(),
        "the fixture ties its head to the embedding"
    );
    if untied {
        // A head of its own: the embedding's transpose, scaled, so it differs from a tied one.
        let weight = model.embed_tokens.weight.val().transpose().mul_scalar(0.8);
        model.lm_head = Some(burn::nn::Linear {
            weight: burn::module::Param::from_tensor(weight.detach()),
            bias: None,
        });
    }
    let e1 = tokenize_pair(&tok, "1", "hello there", "the cat sat", 64).unwrap();
    let e2 = tokenize_pair(&tok, "2", "hi", "a hat", 64).unwrap();
    let b = make_batch(&[e1, e2], &dev);
    let at_labels = || {
        let hidden = model.hidden_states(b.input_ids.clone(), &b.attention_mask);
        let [bs, s, h] = hidden.dims();
        hidden
            .reshape([bs * s, h])
            .select(0, b.label_positions.clone())
    };
    let grads_of = |loss: Tensor<1>| {
        let value = loss.clone().into_scalar::<f64>();
        let grads = loss.backward();
        let head = match &model.lm_head {
            Some(head) => head.weight.grad(&grads).unwrap(),
            None => model.embed_tokens.weight.grad(&grads).unwrap(),
        };
        let up = model.layers[0].mlp.up_proj.weight.grad(&grads).unwrap();
        let flat = |t: Tensor<2>| t.into_data().try_to_vec::<f32>().unwrap();
        (value, flat(head), flat(up))
    };
    let reference = {
        let logits = model.logits(at_labels().unsqueeze_dim(0)).squeeze_dim(0);
        grads_of(nll_sum(logits, b.label_targets.clone()))
    };
    let targets: Vec<usize> = b
        .label_targets
        .clone()
        .into_data()
        .iter::<i64>()
        .map(|t| t as usize)
        .collect();
    let host = if untied {
        // As training computes it: `batch_nll` takes the host path for this head.
        let (sum, n) = model.batch_nll(&b);
        assert_eq!(n, targets.len());
        grads_of(sum)
    } else {
        grads_of(
            head_nll_sum(at_labels(), model.embed_tokens.weight.val(), &targets)
                .expect("the CPU backend takes the host path"),
        )
    };
    assert!(reference.0 > 1.0);
    assert!(
        (host.0 - reference.0).abs() < 1e-5 * reference.0,
        "{} vs {}",
        host.0,
        reference.0
    );
    for (name, got, want) in [
        ("head", &host.1, &reference.1),
        ("up_proj", &host.2, &reference.2),
    ] {
        let scale = want.iter().fold(0f32, |m, x| m.max(x.abs()));
        assert!(scale > 1e-4, "{name}: the reference gradient is not zero");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= 1e-4 * scale, "{name}[{i}]: {g} vs {w}");
        }
    }
}
