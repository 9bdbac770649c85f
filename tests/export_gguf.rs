//! GGUF export (`halt-llm export --to gguf`, issue 16): an exported file loads back through
//! this project's GGUF loader with the source model's logits and tokenizer, and llama.cpp's
//! own reader (the `gguf` Python package: `tests/reference/check_gguf_export.py`, installed by
//! `.ci/run`, which sets `HALT_REQUIRE_GGUF`) finds llama.cpp's names, Q/K row order, types,
//! hyper-parameters, tokenizer and chat template in it.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::{Device, Int, Tensor, TensorData};
use halt_llm::chat::Message;
use halt_llm::fetch;
use halt_llm::model::load::{LoadedModel, load_model};
use halt_llm::train::export_gguf::{GgufType, export_gguf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tiny-llama")
        .join(name)
}

fn logits(m: &LoadedModel, ids: &[u32]) -> Vec<f32> {
    let dev = Device::flex();
    let n = ids.len();
    let t = Tensor::<2, Int>::from_data(
        TensorData::new(ids.iter().map(|&i| i as i64).collect(), [1, n]),
        &dev,
    );
    m.model
        .forward(t, &[vec![true; n]])
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn argmax_last(l: &[f32], vocab: usize) -> usize {
    let last = &l[l.len() - vocab..];
    (0..vocab)
        .max_by(|&i, &j| last[i].total_cmp(&last[j]))
        .unwrap()
}

fn export(source: &Path, ty: GgufType, dir: &Path) -> PathBuf {
    let m = load_model(source, &Device::flex()).unwrap();
    let out = dir.join(format!("export-{ty}.gguf"));
    export_gguf(&m.model, &m.tokenizer, &out, ty, "test", Some(source)).unwrap();
    assert!(
        !dir.join(format!("export-{ty}.gguf.tmp")).exists(),
        "temporary file left behind"
    );
    out
}

/// The tokenizer of `b` reads text and renders chats as `a`'s does.
fn same_tokenizer(a: &LoadedModel, b: &LoadedModel) {
    let chat = [
        Message::system("You add numbers."),
        Message::user("What is 12 + 345? Say it in 2 words, ok?\n<|im_end|> stays text"),
    ];
    for text in [
        "the cat sat on 2024 mats",
        "  héllo\n\n wörld 123456 !?",
        "",
    ] {
        assert_eq!(
            a.tokenizer.encode(text).unwrap(),
            b.tokenizer.encode(text).unwrap(),
            "{text:?}"
        );
    }
    assert_eq!(
        a.tokenizer.encode_chat(&chat, true).unwrap(),
        b.tokenizer.encode_chat(&chat, true).unwrap()
    );
    assert_eq!(a.tokenizer.bos_id, b.tokenizer.bos_id);
    assert_eq!(a.tokenizer.add_bos, b.tokenizer.add_bos);
    assert_eq!(a.tokenizer.stop_ids, b.tokenizer.stop_ids);
    assert_eq!(
        a.tokenizer.chat_template.source,
        b.tokenizer.chat_template.source
    );
}

/// Runs llama.cpp's reader over `out`; false when the `gguf` package is missing (and
/// `HALT_REQUIRE_GGUF` unset).
fn llama_cpp_reader_check(out: &Path, source: &Path, ty: GgufType) -> bool {
    let have = Command::new("python3")
        .args(["-c", "import gguf, numpy"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var_os("HALT_REQUIRE_GGUF").is_none(),
            "HALT_REQUIRE_GGUF is set but `import gguf, numpy` fails"
        );
        eprintln!("skipped: the `gguf` Python package is not installed");
        return false;
    }
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/reference/check_gguf_export.py");
    let o = Command::new("python3")
        .arg(script)
        .arg(out)
        .arg(source)
        .arg(ty.to_string())
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{ty}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    true
}

#[test]
fn tiny_exports_load_back_with_the_source_logits_and_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("hf");
    let hf = load_model(&source, &Device::flex()).unwrap();
    let ids: Vec<u32> = (0..24).map(|i| (i * 7 + 3) % 62).collect();
    let want = logits(&hf, &ids);
    let vocab = hf.model.config.vocab_size;
    // F32 is the weights exactly; F16 and Q8_0 round them (bounds measured on this model:
    // 5e-4 and 2e-2, with margin); the next token stays the same.
    for (ty, tol) in [
        (GgufType::F32, 1e-6),
        (GgufType::F16, 5e-3),
        (GgufType::Q8_0, 0.1),
    ] {
        let out = export(&source, ty, dir.path());
        let back = load_model(&out, &Device::flex()).unwrap();
        let got = logits(&back, &ids);
        assert!(
            max_diff(&got, &want) <= tol,
            "{ty}: {}",
            max_diff(&got, &want)
        );
        assert_eq!(argmax_last(&got, vocab), argmax_last(&want, vocab), "{ty}");
        same_tokenizer(&hf, &back);
        llama_cpp_reader_check(&out, &source, ty);
    }
}

#[test]
fn llama3_rope_scaling_is_written_as_rope_freqs() {
    // 24 positions: past the fixture's original context of 16, where the scaling matters
    let dir = tempfile::tempdir().unwrap();
    let source = fixture("hf-llama3");
    let hf = load_model(&source, &Device::flex()).unwrap();
    let out = export(&source, GgufType::F32, dir.path());
    let back = load_model(&out, &Device::flex()).unwrap();
    assert!(back.model.config.rope_freq_factors.is_some());
    let ids: Vec<u32> = (0..24).map(|i| (i * 5 + 1) % 62).collect();
    let d = max_diff(&logits(&back, &ids), &logits(&hf, &ids));
    assert!(d <= 1e-5, "{d}");
    // and without the factors the logits would differ: the test can fail
    let plain = load_model(&fixture("hf"), &Device::flex()).unwrap();
    assert!(max_diff(&logits(&plain, &ids), &logits(&hf, &ids)) > 1e-3);
    llama_cpp_reader_check(&out, &source, GgufType::F32);
}

#[test]
fn the_default_model_exports_to_its_own_logits() {
    // SmolLM2-135M-Instruct ships as Q4_1; its dequantized weights are f32 values, so an F32
    // export holds them exactly and gives the same logits; Q8_0 is checked by llama.cpp's
    // reader against the source file's values.
    let source =
        fetch::default_model().expect("default model (run .ci/run or `halt-llm fetch-model`)");
    let dir = tempfile::tempdir().unwrap();
    let m = load_model(&source, &Device::flex()).unwrap();
    let ids = m
        .tokenizer
        .encode_chat(&[Message::user("What is 7 times 8? Count 1 2 3.")], true)
        .unwrap();
    let want = logits(&m, &ids);
    let out = dir.path().join("smol.gguf");
    export_gguf(&m.model, &m.tokenizer, &out, GgufType::F32, "smol", None).unwrap();
    let back = load_model(&out, &Device::flex()).unwrap();
    assert!(max_diff(&logits(&back, &ids), &want) <= 1e-4);
    same_tokenizer(&m, &back);
    llama_cpp_reader_check(&out, &source, GgufType::F32);
    std::fs::remove_file(&out).unwrap();
    let q8 = dir.path().join("smol-q8.gguf");
    export_gguf(&m.model, &m.tokenizer, &q8, GgufType::Q8_0, "smol", None).unwrap();
    llama_cpp_reader_check(&q8, &source, GgufType::Q8_0);
}

#[test]
fn the_export_command_writes_gguf_and_hf_and_refuses_a_wrong_name() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_halt-llm");
    let model = fixture("hf");
    let run = |args: &[&str]| {
        Command::new(bin)
            .args(["export", "--model"])
            .arg(&model)
            .args(args)
            .output()
            .unwrap()
    };
    let out = dir.path().join("m.gguf");
    let o = run(&["--out", out.to_str().unwrap(), "--type", "q8_0"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let back = load_model(&out, &Device::flex()).unwrap();
    assert_eq!(back.model.config.num_hidden_layers, 2);
    let hf_out = dir.path().join("m-hf");
    let o = run(&["--to", "hf", "--out", hf_out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(hf_out.join("model.safetensors").exists());
    let o = run(&["--out", dir.path().join("m.bin").to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("should end in .gguf"));
    let o = run(&["--out", out.to_str().unwrap(), "--type", "q4_0"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not one of f32, f16, q8_0"));
}

/// Faults a breaker found: an export never deletes or overwrites what it did not write.
#[test]
fn exports_never_destroy_what_they_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = env!("CARGO_BIN_EXE_halt-llm");
    let model = fixture("hf");
    let export = |args: &[&str]| {
        let o = Command::new(bin)
            .current_dir(d)
            .args(["export", "--model"])
            .arg(&model)
            .args(args)
            .output()
            .unwrap();
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    std::fs::write(d.join("precious.txt"), "x").unwrap();
    std::fs::create_dir_all(d.join("data")).unwrap();
    std::fs::write(d.join("data/keep.txt"), "y").unwrap();
    std::fs::create_dir_all(d.join("results.tmp")).unwrap();
    std::fs::write(d.join("results.tmp/important.csv"), "z").unwrap();
    // `.` and `..` name no folder: refused before anything is touched
    for out in [".", "..", "data/.."] {
        let (ok, e) = export(&["--to", "hf", "--out", out]);
        assert!(!ok && e.contains("names no folder"), "{out}: {e}");
    }
    // a folder holding other files is not replaced
    let (ok, e) = export(&["--to", "hf", "--out", "data"]);
    assert!(!ok && e.contains("keep.txt"), "{e}");
    // an export next to an unrelated `results.tmp` leaves it alone; a second export replaces
    // the first
    for _ in 0..2 {
        let (ok, e) = export(&["--to", "hf", "--out", "results.v2"]);
        assert!(ok, "{e}");
    }
    // a file is not a folder to write to
    let (ok, e) = export(&["--to", "hf", "--out", "precious.txt"]);
    assert!(!ok && e.contains("is a file"), "{e}");
    // GGUF: not over its own source, not onto a folder, no partial file left
    std::fs::copy(fixture("tiny.gguf"), d.join("self.gguf")).unwrap();
    let before = std::fs::read(d.join("self.gguf")).unwrap();
    let o = Command::new(bin)
        .current_dir(d)
        .args(["export", "--model", "self.gguf", "--out", "./self.gguf"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("is the model being exported"));
    assert_eq!(std::fs::read(d.join("self.gguf")).unwrap(), before);
    std::fs::create_dir_all(d.join("adir.gguf")).unwrap();
    let (ok, e) = export(&["--out", "adir.gguf"]);
    assert!(!ok && e.contains("is a folder"), "{e}");
    assert!(!d.join("adir.gguf.tmp").exists());
    let (ok, e) = export(&["--out", "UPPER.GGUF"]);
    assert!(ok, "{e}");
    // everything that was there is still there
    assert_eq!(
        std::fs::read_to_string(d.join("precious.txt")).unwrap(),
        "x"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("data/keep.txt")).unwrap(),
        "y"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("results.tmp/important.csv")).unwrap(),
        "z"
    );
    assert!(d.join("results.v2/model.safetensors").exists());
    assert!(!d.join("results.v2.halt-export-tmp").exists());
}
