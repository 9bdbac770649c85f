//! GGUF v3 loader (llama.cpp's format, parsed with the `ggus` crate; blocks dequantized with
//! `ggml-quants`).
//!
//! - Config from the `llama.*` metadata keys, mapped onto Hugging Face field names.
//! - Tensors F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and the K-quants Q2_K…Q6_K are
//!   dequantized to f32 on load; any other type is an error naming the tensor.
//! - llama.cpp's `convert_hf_to_gguf.py` permutes the rows of `attn_q` / `attn_k` from HF's
//!   rotate_half layout to the interleaved one (`reshape(n_head, 2, head_dim/2, in)
//!   .swapaxes(1, 2)`); [`unpermute_rows`] undoes it, so the model uses one RoPE for both
//!   formats.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use burn::tensor::Device;
use ggml_quants::{Q2K, Q3K, Q4_0, Q4_1, Q4K, Q5_0, Q5_1, Q5K, Q6K, Q8_0, QuantExt};
use ggus::{GGmlType, GGuf, GGufMetaMapExt};

use super::{LoadedModel, assemble};
use crate::model::config::{LlamaConfig, TokenIds};
use crate::tokenizer::Tokenizer;

/// Parses the header of a GGUF file read into memory.
///
/// # Errors
/// Not GGUF v3, truncated, or a tensor type unknown to the parser. ggus panics on some exotic tensor types
/// while computing sizes; that panic is caught and reported as an error.
pub fn parse<'a>(bytes: &'a [u8], path: &Path) -> Result<GGuf<'a>> {
    super::gguf_check::check(bytes).with_context(|| format!("GGUF {}", path.display()))?;
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(|| GGuf::new(bytes));
    std::panic::set_hook(prev);
    match r {
        Ok(Ok(g)) => Ok(g),
        Ok(Err(e)) => bail!("{} is not a readable GGUF v3 file: {e}", path.display()),
        Err(_) => bail!(
            "{}: a tensor uses a GGML type this loader does not know",
            path.display()
        ),
    }
}

/// Loads model, tokenizer and chat template from a GGUF file.
///
/// # Errors
/// Non-llama architecture, missing metadata, missing/misshapen tensors, unsupported types.
pub fn load_gguf(path: &Path, device: &Device) -> Result<LoadedModel> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let g = parse(&bytes, path)?;
    let config = config_from_gguf(&g).with_context(|| format!("GGUF {}", path.display()))?;
    let tokenizer =
        Tokenizer::from_gguf(&g).with_context(|| format!("tokenizer of {}", path.display()))?;
    // The file's tensors bound the model its metadata may describe (checked before
    // anything is sized from `llama.block_count` or the other sizes).
    config
        .validate()
        .with_context(|| format!("GGUF {}", path.display()))?;
    let values = g
        .tensors
        .values()
        .map(|t| {
            let info = t.to_info();
            let count = info.shape().iter().try_fold(1u64, |a, &d| a.checked_mul(d));
            count.unwrap_or(u64::MAX)
        })
        .fold(0u64, u64::saturating_add);
    super::check_fits(
        &config,
        values,
        &format!("the tensors of {}", path.display()),
    )
    .with_context(|| format!("GGUF metadata of {}", path.display()))?;
    let names = hf_to_gguf_names(config.num_hidden_layers);
    let model = assemble(&config, device, |hf_name, shape| {
        let gg = names
            .get(hf_name)
            .ok_or_else(|| anyhow!("no GGUF name for {hf_name}"))?;
        let mut data = tensor_f32(&g, gg, shape)
            .with_context(|| format!("{} (GGUF {})", path.display(), gg))?;
        if hf_name.ends_with("q_proj.weight") {
            unpermute_rows(&mut data, shape, config.num_attention_heads);
        } else if hf_name.ends_with("k_proj.weight") {
            unpermute_rows(&mut data, shape, config.num_kv_heads());
        }
        Ok(data)
    })?;
    Ok(LoadedModel {
        model,
        tokenizer,
        source: path.to_path_buf(),
    })
}

/// Maps `llama.*` GGUF metadata to a [`LlamaConfig`].
///
/// # Errors
/// `general.architecture` other than `llama`, or a required key missing.
pub fn config_from_gguf(g: &GGuf) -> Result<LlamaConfig> {
    let arch = g
        .general_architecture()
        .map_err(|e| anyhow!("general.architecture: {e:?}"))?;
    if arch != "llama" {
        bail!("architecture `{arch}` is not supported (only `llama`)");
    }
    let usize_key = |k: &str| {
        g.get_usize(k)
            .map_err(|e| anyhow!("metadata key `{k}` missing or invalid: {e:?}"))
    };
    let hidden_size = usize_key("llama.embedding_length")?;
    let num_attention_heads = usize_key("llama.attention.head_count")?;
    let num_kv = g
        .get_usize("llama.attention.head_count_kv")
        .unwrap_or(num_attention_heads);
    let vocab_size = match g.get_usize("llama.vocab_size") {
        Ok(v) => v,
        Err(_) => g
            .get_str_arr("tokenizer.ggml.tokens")
            .map_err(|e| anyhow!("neither llama.vocab_size nor tokenizer.ggml.tokens: {e:?}"))?
            .len(),
    };
    let head_dim = g
        .get_usize("llama.attention.key_length")
        .unwrap_or(hidden_size / num_attention_heads.max(1));
    let has_output = g.tensors.contains_key("output.weight");
    let rope_freq_factors = if g.tensors.contains_key("rope_freqs.weight") {
        Some(tensor_f32(g, "rope_freqs.weight", &[head_dim / 2])?)
    } else {
        None
    };
    Ok(LlamaConfig {
        vocab_size,
        hidden_size,
        intermediate_size: usize_key("llama.feed_forward_length")?,
        num_hidden_layers: usize_key("llama.block_count")?,
        num_attention_heads,
        num_key_value_heads: Some(num_kv),
        head_dim: Some(head_dim),
        rms_norm_eps: g
            .get_f32("llama.attention.layer_norm_rms_epsilon")
            .map(f64::from)
            .unwrap_or(1e-5),
        rope_theta: g
            .get_f32("llama.rope.freq_base")
            .map(f64::from)
            .unwrap_or(10_000.0),
        rope_scaling: None,
        max_position_embeddings: g.get_usize("llama.context_length").unwrap_or(2048),
        tie_word_embeddings: !has_output,
        bos_token_id: g
            .get_usize("tokenizer.ggml.bos_token_id")
            .ok()
            .map(|v| v as u32),
        eos_token_id: g
            .get_usize("tokenizer.ggml.eos_token_id")
            .ok()
            .map(|v| TokenIds::One(v as u32)),
        architectures: Some(vec!["LlamaForCausalLM".into()]),
        model_type: Some("llama".into()),
        rope_freq_factors,
        hidden_act: None,
        attention_bias: None,
        mlp_bias: None,
    })
}

/// Hugging Face tensor name → GGUF tensor name for a Llama with `layers` layers.
pub fn hf_to_gguf_names(layers: usize) -> HashMap<String, String> {
    let mut m = HashMap::new();
    m.insert(
        "model.embed_tokens.weight".into(),
        "token_embd.weight".into(),
    );
    m.insert("model.norm.weight".into(), "output_norm.weight".into());
    m.insert("lm_head.weight".into(), "output.weight".into());
    let per_layer = [
        ("input_layernorm", "attn_norm"),
        ("self_attn.q_proj", "attn_q"),
        ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("post_attention_layernorm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"),
        ("mlp.up_proj", "ffn_up"),
        ("mlp.down_proj", "ffn_down"),
    ];
    for i in 0..layers {
        for (hf, gg) in per_layer {
            m.insert(
                format!("model.layers.{i}.{hf}.weight"),
                format!("blk.{i}.{gg}.weight"),
            );
        }
    }
    m
}

/// Dequantizes one GGUF tensor to f32 in row-major order and checks its shape. GGUF lists
/// dimensions innermost first (`ne[0]` = columns), so `[in, out]` in the file is the
/// row-major `[out, in]` that `expect` gives.
///
/// # Errors
/// Missing tensor, shape mismatch, unsupported type, truncated data (all name the tensor).
pub fn tensor_f32(g: &GGuf, name: &str, expect: &[usize]) -> Result<Vec<f32>> {
    let meta = g
        .tensors
        .get(name)
        .ok_or_else(|| anyhow!("tensor `{name}` is missing"))?;
    let info = meta.to_info();
    let shape: Vec<usize> = info.shape().iter().rev().map(|&d| d as usize).collect();
    if shape != expect {
        bail!("tensor `{name}` has shape {shape:?}, expected {expect:?}");
    }
    let n: usize = shape.iter().product();
    let start = info.offset();
    let bytes = g
        .data
        .get(start..start + info.nbytes())
        .ok_or_else(|| anyhow!("tensor `{name}`: data runs past the end of the file"))?;
    dequantize(info.ty(), bytes, n).with_context(|| format!("tensor `{name}`"))
}

/// Dequantizes `n` values of GGML type `ty` from little-endian `bytes`.
///
/// # Errors
/// Unsupported type, or a byte length that does not match `n`.
pub fn dequantize(ty: GGmlType, bytes: &[u8], n: usize) -> Result<Vec<f32>> {
    fn scalars<const W: usize>(b: &[u8], n: usize, f: impl Fn([u8; W]) -> f32) -> Result<Vec<f32>> {
        if b.len() != n * W {
            bail!("expected {} bytes, found {}", n * W, b.len());
        }
        Ok(b.chunks_exact(W)
            .map(|c| f(c.try_into().expect("chunk width")))
            .collect())
    }
    match ty {
        GGmlType::F32 => scalars::<4>(bytes, n, f32::from_le_bytes),
        GGmlType::F16 => scalars::<2>(bytes, n, |c| half::f16::from_le_bytes(c).to_f32()),
        GGmlType::BF16 => scalars::<2>(bytes, n, |c| half::bf16::from_le_bytes(c).to_f32()),
        GGmlType::Q4_0 => blocks::<Q4_0, 32>(bytes, n),
        GGmlType::Q4_1 => blocks::<Q4_1, 32>(bytes, n),
        GGmlType::Q5_0 => blocks::<Q5_0, 32>(bytes, n),
        GGmlType::Q5_1 => blocks::<Q5_1, 32>(bytes, n),
        GGmlType::Q8_0 => blocks::<Q8_0, 32>(bytes, n),
        GGmlType::Q2K => blocks::<Q2K, 256>(bytes, n),
        GGmlType::Q3K => blocks::<Q3K, 256>(bytes, n),
        GGmlType::Q4K => blocks::<Q4K, 256>(bytes, n),
        GGmlType::Q5K => blocks::<Q5K, 256>(bytes, n),
        GGmlType::Q6K => blocks::<Q6K, 256>(bytes, n),
        other => bail!("GGML type {other:?} is not supported"),
    }
}

/// Dequantizes quantized blocks of `N` values each. The bytes are copied into a buffer
/// aligned for the block type first (file offsets need not be).
fn blocks<B: QuantExt<f32, N>, const N: usize>(bytes: &[u8], n: usize) -> Result<Vec<f32>> {
    let size = std::mem::size_of::<B>();
    if !n.is_multiple_of(N) || bytes.len() != n / N * size {
        bail!(
            "{} values need {} bytes of {}-value blocks, found {}",
            n,
            n / N * size,
            N,
            bytes.len()
        );
    }
    let count = n / N;
    let mut buf: Vec<std::mem::MaybeUninit<B>> = Vec::with_capacity(count);
    // SAFETY: the blocks are `repr(C)` plain-old-data (integers and f16) for which every bit
    // pattern is valid; `buf` has room for exactly `count` blocks = `bytes.len()` bytes.
    let blocks: &[B] = unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.as_mut_ptr().cast::<u8>(), bytes.len());
        buf.set_len(count);
        std::slice::from_raw_parts(buf.as_ptr().cast::<B>(), count)
    };
    let mut out = vec![0f32; n];
    B::dequantize_slice(&mut out, blocks).map_err(|e| anyhow!("dequantize: {e:?}"))?;
    Ok(out)
}

/// Undoes llama.cpp's Q/K row permutation in place: file row `h·d + 2i + j` holds HF row
/// `h·d + j·d/2 + i` (`d` = head_dim, `j ∈ {0, 1}`, `i < d/2`).
///
/// `shape` is `[n_head · head_dim, in]`.
pub fn unpermute_rows(data: &mut [f32], shape: &[usize], n_head: usize) {
    move_rows(data, shape, n_head, false);
}

/// llama.cpp's Q/K row permutation (`convert_hf_to_gguf.py`, `LlamaModel.permute`), the
/// inverse of [`unpermute_rows`]: HF row `h·d + j·d/2 + i` goes to file row `h·d + 2i + j`.
///
/// `shape` is `[n_head · head_dim, in]`.
pub fn permute_rows(data: &mut [f32], shape: &[usize], n_head: usize) {
    move_rows(data, shape, n_head, true);
}

/// Moves rows between the HF order and the file order (`to_file`: HF → file).
fn move_rows(data: &mut [f32], shape: &[usize], n_head: usize, to_file: bool) {
    let (rows, cols) = (shape[0], shape[1]);
    let d = rows / n_head;
    let half = d / 2;
    let src = data.to_vec();
    for h in 0..n_head {
        for i in 0..half {
            for j in 0..2 {
                let file_row = h * d + 2 * i + j;
                let hf_row = h * d + j * half + i;
                let (to, from) = if to_file {
                    (file_row, hf_row)
                } else {
                    (hf_row, file_row)
                };
                data[to * cols..(to + 1) * cols]
                    .copy_from_slice(&src[from * cols..(from + 1) * cols]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpermute_inverts_llama_cpp_permute() {
        // One head of width 4, one column: HF rows [a0, a1 | b0, b1] (halves a and b).
        // llama.cpp permute gives interleaved [a0, b0, a1, b1].
        let mut file = vec![10.0, 20.0, 11.0, 21.0];
        unpermute_rows(&mut file, &[4, 1], 1);
        assert_eq!(file, vec![10.0, 11.0, 20.0, 21.0]);
    }

    #[test]
    fn permute_is_llama_cpps_and_unpermute_undoes_it() {
        // HF rows [a0, a1 | b0, b1] of one head of width 4 → interleaved [a0, b0, a1, b1]
        let mut hf = vec![10.0, 11.0, 20.0, 21.0];
        permute_rows(&mut hf, &[4, 1], 1);
        assert_eq!(hf, vec![10.0, 20.0, 11.0, 21.0]);
        let original: Vec<f32> = (0..48).map(|v| v as f32).collect(); // 2 heads × 8 rows, 3 cols
        let mut x = original.clone();
        permute_rows(&mut x, &[16, 3], 2);
        assert_ne!(x, original);
        unpermute_rows(&mut x, &[16, 3], 2);
        assert_eq!(x, original);
    }

    #[test]
    fn q8_0_block_by_hand() {
        // Q8_0 block: f16 scale then 32 i8. Scale 0.5, values -2, -1, 0, 1, … → ×0.5.
        let mut b = half::f16::from_f32(0.5).to_le_bytes().to_vec();
        b.extend((0..32).map(|i| (i as i8 - 2) as u8));
        let v = dequantize(GGmlType::Q8_0, &b, 32).unwrap();
        assert_eq!(&v[..4], &[-1.0, -0.5, 0.0, 0.5]);
        assert_eq!(v[31], 14.5);
    }

    #[test]
    fn q4_1_block_by_hand() {
        // Q4_1: f16 delta, f16 min, 16 bytes; low nibbles are values 0..16, high 16..32.
        let mut b = half::f16::from_f32(2.0).to_le_bytes().to_vec();
        b.extend(half::f16::from_f32(-1.0).to_le_bytes());
        b.extend((0..16u8).map(|i| (15 - i) << 4 | i));
        let v = dequantize(GGmlType::Q4_1, &b, 32).unwrap();
        assert_eq!(v[0], -1.0); // 0·2 − 1
        assert_eq!(v[3], 5.0); // 3·2 − 1
        assert_eq!(v[16], 29.0); // 15·2 − 1
        assert_eq!(v[31], -1.0);
    }

    #[test]
    fn wrong_byte_count_is_an_error() {
        let e = dequantize(GGmlType::F32, &[0; 7], 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected 8 bytes"), "{e}");
    }
}
