//! Checkpoint loaders. Both produce a [`Llama`] whose parameters are the checkpoint's,
//! dequantized to f32:
//! - [`gguf`]: llama.cpp GGUF v3 files (config and tokenizer from the metadata);
//! - [`hf`]: Hugging Face folders (`config.json` + `*.safetensors` + `tokenizer.json`).
//!
//! [`load_model`] picks the loader from the path.

pub mod gguf;
pub mod gguf_check;
pub mod hf;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::module::Param;
use burn::nn::{Embedding, Linear, RmsNorm};
use burn::tensor::{Device, Tensor, TensorData};

use super::attention::Attention;
use super::block::DecoderLayer;
use super::config::LlamaConfig;
use super::llama::Llama;
use super::mlp::Mlp;
use crate::tokenizer::Tokenizer;

/// A loaded checkpoint: the model, its tokenizer (with chat template) and where it came from.
pub struct LoadedModel {
    /// The network, on the requested device.
    pub model: Llama,
    /// Tokenizer and chat template from the same checkpoint.
    pub tokenizer: Tokenizer,
    /// The file or folder it was loaded from.
    pub source: PathBuf,
}

/// Loads a GGUF file or a Hugging Face folder (with `config.json`).
///
/// # Errors
/// Unknown format, unreadable files, a missing tensor or a tensor of the wrong shape (the
/// message names the tensor), an unsupported quantization type.
pub fn load_model(path: &Path, device: &Device) -> Result<LoadedModel> {
    if path.is_dir() {
        return hf::load_hf(path, device);
    }
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
    {
        return gguf::load_gguf(path, device);
    }
    if !path.exists() {
        bail!("model path {} does not exist", path.display());
    }
    let mut magic = [0u8; 4];
    use std::io::Read;
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .with_context(|| format!("reading {}", path.display()))?;
    if &magic == b"GGUF" {
        return gguf::load_gguf(path, device);
    }
    bail!(
        "{} is neither a GGUF file nor a Hugging Face folder with config.json",
        path.display()
    )
}

/// Assembles a [`Llama`] from named f32 weights. `fetch(hf_name, shape)` returns the
/// row-major data of a tensor in Hugging Face naming and PyTorch layout (`[out, in]` for
/// projections); it must fail with the tensor's name when it is missing or misshapen.
pub(crate) fn assemble(
    config: &LlamaConfig,
    device: &Device,
    mut fetch: impl FnMut(&str, &[usize]) -> Result<Vec<f32>>,
) -> Result<Llama> {
    config.validate()?;
    let c = config;
    let (hd, nh, nkv) = (c.head_dim(), c.num_attention_heads, c.num_kv_heads());
    // Torch `[out, in]` → burn Linear `[in, out]`, transposed on the host so the weight is
    // contiguous (a strided view makes flex's matrix-vector products copy it every call).
    let mut linear = |name: &str, out: usize, inp: usize| -> Result<Linear> {
        let data = fetch(name, &[out, inp])?;
        let mut t = vec![0f32; data.len()];
        for (r, row) in data.chunks_exact(inp).enumerate() {
            for (c, &v) in row.iter().enumerate() {
                t[c * out + r] = v;
            }
        }
        Ok(Linear {
            weight: Param::from_tensor(Tensor::from_data(TensorData::new(t, [inp, out]), device)),
            bias: None,
        })
    };
    let mut layers = Vec::with_capacity(c.num_hidden_layers);
    for i in 0..c.num_hidden_layers {
        let p = format!("model.layers.{i}");
        layers.push((
            linear(
                &format!("{p}.self_attn.q_proj.weight"),
                nh * hd,
                c.hidden_size,
            )?,
            linear(
                &format!("{p}.self_attn.k_proj.weight"),
                nkv * hd,
                c.hidden_size,
            )?,
            linear(
                &format!("{p}.self_attn.v_proj.weight"),
                nkv * hd,
                c.hidden_size,
            )?,
            linear(
                &format!("{p}.self_attn.o_proj.weight"),
                c.hidden_size,
                nh * hd,
            )?,
            linear(
                &format!("{p}.mlp.gate_proj.weight"),
                c.intermediate_size,
                c.hidden_size,
            )?,
            linear(
                &format!("{p}.mlp.up_proj.weight"),
                c.intermediate_size,
                c.hidden_size,
            )?,
            linear(
                &format!("{p}.mlp.down_proj.weight"),
                c.hidden_size,
                c.intermediate_size,
            )?,
        ));
    }
    let lm_head = if c.tie_word_embeddings {
        None
    } else {
        Some(linear("lm_head.weight", c.vocab_size, c.hidden_size)?)
    };
    let shape = [c.vocab_size, c.hidden_size];
    let embed = Tensor::<2>::from_data(
        TensorData::new(fetch("model.embed_tokens.weight", &shape)?, shape),
        device,
    );
    let mut norm = |name: &str| -> Result<RmsNorm> {
        let data = fetch(name, &[c.hidden_size])?;
        Ok(RmsNorm {
            gamma: Param::from_tensor(Tensor::from_data(
                TensorData::new(data, [c.hidden_size]),
                device,
            )),
            epsilon: c.rms_norm_eps,
        })
    };
    let mut blocks = Vec::with_capacity(layers.len());
    for (i, (q, k, v, o, gate, up, down)) in layers.into_iter().enumerate() {
        let p = format!("model.layers.{i}");
        blocks.push(DecoderLayer {
            input_layernorm: norm(&format!("{p}.input_layernorm.weight"))?,
            self_attn: Attention {
                q_proj: q,
                k_proj: k,
                v_proj: v,
                o_proj: o,
                num_heads: nh,
                num_kv_heads: nkv,
                head_dim: hd,
            },
            post_attention_layernorm: norm(&format!("{p}.post_attention_layernorm.weight"))?,
            mlp: Mlp {
                gate_proj: gate,
                up_proj: up,
                down_proj: down,
            },
        });
    }
    Ok(Llama {
        embed_tokens: Embedding {
            weight: Param::from_tensor(embed),
        },
        layers: blocks,
        norm: norm("model.norm.weight")?,
        lm_head,
        config: c.clone(),
    })
}
