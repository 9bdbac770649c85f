//! Checkpoint loaders. Both produce a [`Llama`] whose parameters are the checkpoint's,
//! dequantized to f32:
//! - [`gguf`]: llama.cpp GGUF v3 files (config and tokenizer from the metadata);
//! - [`hf`]: Hugging Face folders (`config.json` + `*.safetensors` + `tokenizer.json`).
//!
//! [`load_model`] picks the loader from the path; [`open_model`] (in `open`) is the one entry
//! the commands and the pipeline use: it resolves `default` or a path ([`ModelSource`]),
//! fetching the default model on first use, then calls [`load_model`].

pub mod gguf;
pub mod gguf_check;
pub mod hf;
mod open;

pub use open::{ModelSource, open_model};

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

/// Number of parameters of the model `config` describes (embeddings, every layer, final
/// norm, untied output head); `None` when it does not fit in a `u64` (sizes from a hostile
/// file).
pub fn parameter_count(config: &LlamaConfig) -> Option<u64> {
    let c = config;
    let n = |x: usize| u64::try_from(x).ok();
    let (h, inter, vocab) = (n(c.hidden_size)?, n(c.intermediate_size)?, n(c.vocab_size)?);
    let q = n(c.num_attention_heads)?.checked_mul(n(c.head_dim())?)?;
    let kv = n(c.num_kv_heads())?.checked_mul(n(c.head_dim())?)?;
    // q, k, v and o projections; gate, up and down; two norms.
    let attn = h.checked_mul(q.checked_mul(2)?.checked_add(kv.checked_mul(2)?)?)?;
    let mlp = h.checked_mul(inter)?.checked_mul(3)?;
    let layer = attn.checked_add(mlp)?.checked_add(h.checked_mul(2)?)?;
    let heads = if c.tie_word_embeddings { 1 } else { 2 };
    let embed = vocab.checked_mul(h)?.checked_mul(heads)?;
    n(c.num_hidden_layers)?
        .checked_mul(layer)?
        .checked_add(embed)?
        .checked_add(h)
}

/// Refuses a config that describes a larger model than its checkpoint holds, before any
/// buffer is sized from the config: `available` is an upper bound of the values the weight
/// files can hold (`source` names them). Without it a `config.json` or GGUF header with a huge
/// size (say `hidden_size: 1099511627776`) would make the model allocate that much.
pub(crate) fn check_fits(config: &LlamaConfig, available: u64, source: &str) -> Result<()> {
    match parameter_count(config) {
        Some(p) if p <= available => Ok(()),
        Some(p) => bail!(
            "the config describes a model of {p} parameters, but {source} can hold at most \
             {available} values (check vocab_size, hidden_size, intermediate_size, \
             num_hidden_layers, the head counts and head_dim)"
        ),
        None => bail!(
            "the config's sizes overflow when multiplied (check vocab_size, hidden_size, \
             intermediate_size, num_hidden_layers, the head counts and head_dim)"
        ),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_by_hand() {
        // tiny(32): hidden 64, MLP 128, 2 layers, 4 heads and 2 KV heads of 16, tied.
        // Per layer: q and o 64·64 each, k and v 64·32 each (12288), MLP 3·64·128 (24576),
        // two norms (128): 36992; embeddings 32·64 = 2048; final norm 64.
        let mut c = LlamaConfig::tiny(32);
        assert_eq!(parameter_count(&c), Some(2 * 36992 + 2048 + 64));
        c.tie_word_embeddings = false;
        assert_eq!(parameter_count(&c), Some(2 * 36992 + 2 * 2048 + 64));
        // Fuzz finding: sizes from a hostile config overflow instead of wrapping.
        c.hidden_size = usize::MAX / 2;
        assert_eq!(parameter_count(&c), None);
    }

    #[test]
    fn a_config_larger_than_its_weights_is_refused() {
        let c = LlamaConfig::tiny(32);
        check_fits(&c, 76_096, "f").unwrap();
        let e = check_fits(&c, 76_095, "f").unwrap_err().to_string();
        assert!(
            e.contains("76096 parameters") && e.contains("at most 76095"),
            "{e}"
        );
    }
}
