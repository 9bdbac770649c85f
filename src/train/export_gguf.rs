//! Export a model as one GGUF v3 file that llama.cpp, Ollama and LM Studio load (and this
//! project's own loader, [`crate::model::load::load_model`]): the layout of llama.cpp's
//! `convert_hf_to_gguf.py` for `LlamaForCausalLM`.
//!
//! - Tensors under llama.cpp's names (`token_embd`, `blk.N.attn_q`, …,
//!   [`hf_to_gguf_names`]); the rows of `attn_q` / `attn_k` permuted from Hugging Face's
//!   rotate-half order to llama.cpp's interleaved one ([`permute_rows`]); a Llama-3
//!   `rope_scaling` written as the `rope_freqs` tensor llama.cpp reads.
//! - Weight matrices in the chosen [`GgufType`] (F32, F16 or Q8_0; a matrix whose rows are
//!   not a whole number of 32-value blocks falls back to F16 under Q8_0, as the converter
//!   does); norms and `rope_freqs` always F32.
//! - `llama.*` hyper-parameters, and the tokenizer (`tokenizer.ggml.*`, byte-level BPE,
//!   [`GgufVocab::from_tokenizer`]) with its chat template (`tokenizer.chat_template`).
//!
//! LoRA adapters are merged into the weights first.

use std::io::BufWriter;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use ggml_quants::{Q8_0, Quantize};
use ggus::{GGmlType, GGufFileHeader, GGufFileWriter, GGufMetaDataValueType as Ty};

use crate::model::config::LlamaConfig;
use crate::model::llama::Llama;
use crate::model::load::gguf::{hf_to_gguf_names, permute_rows};
use crate::model::rope::inv_freq;
use crate::tokenizer::{GgufVocab, Tokenizer};

/// The storage type of the exported weight matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgufType {
    /// 32-bit floats: the weights exactly.
    F32,
    /// IEEE half precision (the converter's default `--outtype f16`).
    F16,
    /// llama.cpp's 8-bit blocks: 32 values share one f16 scale (`max |x| / 127`), 34 bytes
    /// per block.
    Q8_0,
}

impl GgufType {
    /// `general.file_type` (llama.cpp `llama_ftype`: ALL_F32 = 0, MOSTLY_F16 = 1,
    /// MOSTLY_Q8_0 = 7).
    pub fn file_type(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q8_0 => 7,
        }
    }
}

impl std::str::FromStr for GgufType {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "f32" => Ok(Self::F32),
            "f16" => Ok(Self::F16),
            "q8_0" => Ok(Self::Q8_0),
            other => bail!("GGUF type `{other}` is not one of f32, f16, q8_0"),
        }
    }
}

impl std::fmt::Display for GgufType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::Q8_0 => "q8_0",
        })
    }
}

/// One tensor ready to write: its GGUF name, dimensions innermost first (`ne`), type and
/// bytes.
struct GgufTensor {
    name: String,
    ne: Vec<u64>,
    ty: GGmlType,
    bytes: Vec<u8>,
}

/// Writes `model` (LoRA merged in) and `tokenizer` as the GGUF file `path`, atomically (a
/// temporary file beside it, flushed to the disk and renamed when complete; removed on
/// failure). `name` goes to `general.name`; `source` is the file or folder the model was
/// loaded from, which the export must not overwrite. Returns the number of tensors written.
///
/// # Errors
/// `path` a folder or the source itself; a tokenizer GGUF cannot hold
/// ([`GgufVocab::from_tokenizer`]); I/O errors naming the file.
pub fn export_gguf(
    model: &Llama,
    tokenizer: &Tokenizer,
    path: &Path,
    ty: GgufType,
    name: &str,
    source: Option<&Path>,
) -> Result<usize> {
    if path.file_name().is_none() || path.is_dir() {
        bail!("{} is a folder, not a file to write", path.display());
    }
    if let Some(source) = source
        && same_file(source, path)
    {
        bail!(
            "{} is the model being exported: write the export to another file",
            path.display()
        );
    }
    let vocab = GgufVocab::from_tokenizer(tokenizer)
        .context("the tokenizer as GGUF metadata (tokenizer.ggml.*)")?;
    let model = model.clone().materialize();
    let config = &model.config;
    let tensors = tensors(&model, ty)?;
    let meta = metadata(config, &vocab, ty, name);

    let mut tmp_name = path.file_name().expect("checked above").to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let count = tensors.len();
    let written = write_file(&tmp, &meta, tensors).and_then(|()| {
        std::fs::rename(&tmp, path)
            .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp); // never leave a complete-looking partial file
    }
    written.map(|()| count)
}

/// Writes the GGUF file `tmp` and flushes it to the disk.
fn write_file(tmp: &Path, meta: &[Meta], tensors: Vec<GgufTensor>) -> Result<()> {
    let file = std::fs::File::create(tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let header = GGufFileHeader::new(3, tensors.len() as u64, meta.len() as u64);
    let io = |e: std::io::Error| anyhow!("writing {}: {e}", tmp.display());
    let mut w = GGufFileWriter::new(BufWriter::new(file), header).map_err(io)?;
    for (key, vty, value) in meta {
        w.write_meta_kv(key, *vty, value).map_err(io)?;
    }
    let mut w = w.finish::<Vec<u8>>(true);
    for t in tensors {
        w.write_tensor(&t.name, t.ty, &t.ne, t.bytes).map_err(io)?;
    }
    w.finish().map_err(io)?;
    std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(io)
}

/// Whether `a` and `b` are the same existing file (false when either does not exist).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The model's tensors in llama.cpp's order and layout (see the module docs).
fn tensors(model: &Llama, ty: GgufType) -> Result<Vec<GgufTensor>> {
    let config = &model.config;
    let mut store = super::export::pytorch_store(SafetensorsStore::from_bytes(None));
    model
        .save_into(&mut store)
        .map_err(|e| anyhow!("collecting the weights: {e:?}"))?;
    let bytes = store
        .get_bytes()
        .map_err(|e| anyhow!("collecting the weights: {e:?}"))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| anyhow!("reading the collected weights: {e}"))?;
    let names = hf_to_gguf_names(config.num_hidden_layers);
    let mut order: Vec<(String, String)> = Vec::new();
    let mut push = |hf: &str| {
        if let Some(gg) = names.get(hf) {
            order.push((hf.to_owned(), gg.clone()));
        }
    };
    push("model.embed_tokens.weight");
    for i in 0..config.num_hidden_layers {
        for part in [
            "input_layernorm",
            "self_attn.q_proj",
            "self_attn.k_proj",
            "self_attn.v_proj",
            "self_attn.o_proj",
            "post_attention_layernorm",
            "mlp.gate_proj",
            "mlp.up_proj",
            "mlp.down_proj",
        ] {
            push(&format!("model.layers.{i}.{part}.weight"));
        }
    }
    push("model.norm.weight");
    if !config.tie_word_embeddings {
        push("lm_head.weight");
    }
    let mut out = Vec::with_capacity(order.len() + 1);
    if let Some(factors) = rope_freq_factors(config)? {
        out.push(GgufTensor {
            name: "rope_freqs.weight".into(),
            ne: vec![factors.len() as u64],
            ty: GGmlType::F32,
            bytes: factors.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
    }
    for (hf, gg) in order {
        let view = st
            .tensor(&hf)
            .map_err(|e| anyhow!("the model has no tensor `{hf}`: {e}"))?;
        let shape = view.shape().to_vec();
        let mut data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        if hf.ends_with("q_proj.weight") {
            permute_rows(&mut data, &shape, config.num_attention_heads);
        } else if hf.ends_with("k_proj.weight") {
            permute_rows(&mut data, &shape, config.num_kv_heads());
        }
        let ne: Vec<u64> = shape.iter().rev().map(|&d| d as u64).collect();
        let (ty, bytes) = encode(&data, &shape, ty);
        out.push(GgufTensor {
            name: gg,
            ne,
            ty,
            bytes,
        });
    }
    Ok(out)
}

/// The GGML type and bytes of one tensor of row-major `shape` (1-D tensors stay F32).
fn encode(data: &[f32], shape: &[usize], ty: GgufType) -> (GGmlType, Vec<u8>) {
    let f16 = || {
        data.iter()
            .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
            .collect()
    };
    let row = shape.last().copied().unwrap_or(0);
    match ty {
        _ if shape.len() < 2 => (
            GGmlType::F32,
            data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
        GgufType::F32 => (
            GGmlType::F32,
            data.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ),
        GgufType::F16 => (GGmlType::F16, f16()),
        GgufType::Q8_0 if row % 32 != 0 => (GGmlType::F16, f16()),
        GgufType::Q8_0 => {
            let mut bytes = Vec::with_capacity(data.len() / 32 * 34);
            for block in data.chunks_exact(32) {
                let q = Q8_0::quantize(block.try_into().expect("32 values"));
                bytes.extend(q.delta.to_le_bytes());
                bytes.extend(q.quants.iter().map(|&v| v as u8));
            }
            (GGmlType::Q8_0, bytes)
        }
    }
}

/// The per-frequency divisors llama.cpp applies for a Llama-3 `rope_scaling` (its
/// `rope_freqs` tensor, `head_dim / 2` values: unscaled ÷ scaled inverse frequency), or the
/// factors the model was loaded with from a GGUF file.
///
/// # Errors
/// None today (every scaling this project loads is Llama-3's); kept fallible for others.
fn rope_freq_factors(config: &LlamaConfig) -> Result<Option<Vec<f32>>> {
    if let Some(f) = &config.rope_freq_factors {
        return Ok(Some(f.clone()));
    }
    let Some(scaling) = &config.rope_scaling else {
        return Ok(None);
    };
    let plain = inv_freq(config.head_dim(), config.rope_theta, None);
    let scaled = inv_freq(config.head_dim(), config.rope_theta, Some(scaling));
    Ok(Some(
        plain.iter().zip(&scaled).map(|(p, s)| p / s).collect(),
    ))
}

/// A metadata entry: key, value type, value bytes (GGUF little-endian encoding).
type Meta = (String, Ty, Vec<u8>);

fn string_bytes(s: &str) -> Vec<u8> {
    let mut b = (s.len() as u64).to_le_bytes().to_vec();
    b.extend(s.as_bytes());
    b
}

fn array_bytes(elem: Ty, items: Vec<Vec<u8>>) -> Vec<u8> {
    let mut b = (elem as u32).to_le_bytes().to_vec();
    b.extend((items.len() as u64).to_le_bytes());
    b.extend(items.into_iter().flatten());
    b
}

/// The `general.*`, `llama.*` and `tokenizer.*` keys of the export.
fn metadata(config: &LlamaConfig, vocab: &GgufVocab, ty: GgufType, name: &str) -> Vec<Meta> {
    let mut m: Vec<Meta> = Vec::new();
    let s = |k: &str, v: &str| (k.to_owned(), Ty::String, string_bytes(v));
    let u = |k: &str, v: usize| (k.to_owned(), Ty::U32, (v as u32).to_le_bytes().to_vec());
    let f = |k: &str, v: f64| (k.to_owned(), Ty::F32, (v as f32).to_le_bytes().to_vec());
    m.push(s("general.architecture", "llama"));
    m.push(s("general.name", name));
    m.push(u("general.file_type", ty.file_type() as usize));
    if ty == GgufType::Q8_0 {
        m.push(u("general.quantization_version", 2));
    }
    m.push(u("llama.context_length", config.max_position_embeddings));
    m.push(u("llama.embedding_length", config.hidden_size));
    m.push(u("llama.block_count", config.num_hidden_layers));
    m.push(u("llama.feed_forward_length", config.intermediate_size));
    m.push(u("llama.rope.dimension_count", config.head_dim()));
    m.push(u("llama.attention.head_count", config.num_attention_heads));
    m.push(u("llama.attention.head_count_kv", config.num_kv_heads()));
    m.push(u("llama.attention.key_length", config.head_dim()));
    m.push(u("llama.attention.value_length", config.head_dim()));
    m.push(f(
        "llama.attention.layer_norm_rms_epsilon",
        config.rms_norm_eps,
    ));
    m.push(f("llama.rope.freq_base", config.rope_theta));
    m.push(u("llama.vocab_size", config.vocab_size));
    m.push(s("tokenizer.ggml.model", "gpt2"));
    m.push(s("tokenizer.ggml.pre", &vocab.pre));
    m.push((
        "tokenizer.ggml.tokens".into(),
        Ty::Array,
        array_bytes(
            Ty::String,
            vocab.tokens.iter().map(|t| string_bytes(t)).collect(),
        ),
    ));
    m.push((
        "tokenizer.ggml.token_type".into(),
        Ty::Array,
        array_bytes(
            Ty::I32,
            vocab
                .token_types
                .iter()
                .map(|t| t.to_le_bytes().to_vec())
                .collect(),
        ),
    ));
    m.push((
        "tokenizer.ggml.merges".into(),
        Ty::Array,
        array_bytes(
            Ty::String,
            vocab
                .merges
                .iter()
                .map(|(a, b)| string_bytes(&format!("{a} {b}")))
                .collect(),
        ),
    ));
    if let Some(id) = vocab.bos_id {
        m.push(u("tokenizer.ggml.bos_token_id", id as usize));
    }
    if let Some(id) = vocab.eos_id {
        m.push(u("tokenizer.ggml.eos_token_id", id as usize));
        m.push(u("tokenizer.ggml.padding_token_id", id as usize));
    }
    m.push((
        "tokenizer.ggml.add_bos_token".into(),
        Ty::Bool,
        vec![u8::from(vocab.add_bos)],
    ));
    m.push(("tokenizer.ggml.add_eos_token".into(), Ty::Bool, vec![0]));
    if let Some(t) = &vocab.chat_template {
        m.push(s("tokenizer.chat_template", t));
    }
    m
}

#[cfg(test)]
#[path = "export_gguf_tests.rs"]
mod tests;
