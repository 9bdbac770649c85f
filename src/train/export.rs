//! Export a model as a Hugging Face folder: `model.safetensors` (PyTorch names and
//! `[out, in]` layout, f32), `config.json`, `tokenizer.json`, `tokenizer_config.json` (chat
//! template, BOS/EOS) and `generation_config.json`. This project's loader reads it back
//! ([`crate::model::load::load_model`]), and so does `transformers`
//! (`AutoModelForCausalLM.from_pretrained(dir)`).

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use burn::module::Module;
use burn::store::{BurnToPyTorchAdapter, ModuleSnapshot, SafetensorsStore};
use serde_json::json;

use crate::model::config::{LlamaConfig, TokenIds};
use crate::model::llama::Llama;
use crate::tokenizer::Tokenizer;

/// The files [`export_hf`] writes; a folder holding nothing else is one it may replace.
pub const HF_EXPORT_FILES: [&str; 5] = [
    "model.safetensors",
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "generation_config.json",
];

/// Writes `model` (LoRA adapters merged in) and `tokenizer` to the folder `dir`, atomically:
/// everything goes to the sibling `<name>.halt-export-tmp` first, which is renamed to `dir`
/// when complete. An existing `dir` is replaced only when it holds nothing but the files an
/// earlier export wrote ([`HF_EXPORT_FILES`]).
///
/// # Errors
/// `dir` without a folder name (`.`, `..`); `dir` an existing file, or a folder holding other
/// files (nothing is touched then); I/O errors (naming the file); serialization errors.
pub fn export_hf(model: &Llama, tokenizer: &Tokenizer, dir: &Path) -> Result<()> {
    let name = dir.file_name().ok_or_else(|| {
        anyhow!(
            "{} names no folder to write (not `.` or `..`)",
            dir.display()
        )
    })?;
    if dir.is_file() {
        anyhow::bail!(
            "{} is a file, not a folder to write the model to",
            dir.display()
        );
    }
    if dir.is_dir() {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
        for e in entries {
            let e = e.with_context(|| format!("listing {}", dir.display()))?;
            let file = e.file_name();
            if !HF_EXPORT_FILES.iter().any(|f| file == **f) || !e.path().is_file() {
                anyhow::bail!(
                    "{} exists and holds {} (not a model this command wrote): remove it or \
                     choose another folder",
                    dir.display(),
                    file.to_string_lossy()
                );
            }
        }
    }
    let tmp = dir.with_file_name(format!("{}.halt-export-tmp", name.to_string_lossy()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("removing {}", tmp.display()))?;
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;

    // Merge LoRA factors into dense weights; a plain model is unchanged.
    let model = model.clone().materialize();
    let weights = tmp.join("model.safetensors");
    let mut store = pytorch_store(SafetensorsStore::from_file(&weights)).metadata("format", "pt");
    model
        .save_into(&mut store)
        .map_err(|e| anyhow!("writing {}: {e:?}", weights.display()))?;
    sort_safetensors_metadata(&weights)?;

    let tok_name = |id: Option<u32>| id.and_then(|i| tokenizer.inner().id_to_token(i));
    let bos = tok_name(tokenizer.bos_id);
    let eos = tok_name(tokenizer.stop_ids.first().copied());
    let config = hf_config(&model.config, tokenizer);
    write_json(&tmp.join("config.json"), &serde_json::to_value(&config)?)?;
    tokenizer
        .inner()
        .save(tmp.join("tokenizer.json"), false)
        .map_err(|e| anyhow!("writing {}: {e}", tmp.join("tokenizer.json").display()))?;
    write_json(
        &tmp.join("tokenizer_config.json"),
        &json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": bos,
            "eos_token": eos,
            "pad_token": eos,
            "add_bos_token": tokenizer.add_bos,
            "add_eos_token": false,
            "clean_up_tokenization_spaces": false,
            "model_max_length": model.config.max_position_embeddings,
            "chat_template": tokenizer.chat_template.source,
        }),
    )?;
    write_json(
        &tmp.join("generation_config.json"),
        &json!({
            "bos_token_id": tokenizer.bos_id,
            "eos_token_id": tokenizer.stop_ids,
        }),
    )?;

    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("replacing {}", dir.display()))?;
    }
    std::fs::rename(&tmp, dir)
        .with_context(|| format!("renaming {} to {}", tmp.display(), dir.display()))
}

/// `store` set to write Hugging Face names (`model.layers.0.self_attn.q_proj.weight`) in
/// PyTorch's `[out, in]` layout.
pub(crate) fn pytorch_store(store: SafetensorsStore) -> SafetensorsStore {
    store
        .with_to_adapter(BurnToPyTorchAdapter)
        .with_key_remapping(r"^(embed_tokens|layers|norm)\.", "model.$1.")
}

/// The HF `config.json` of `config`, with the tokenizer's BOS/EOS ids.
fn hf_config(config: &LlamaConfig, tokenizer: &Tokenizer) -> LlamaConfig {
    let mut c = config.clone();
    c.architectures = Some(vec!["LlamaForCausalLM".into()]);
    c.model_type = Some("llama".into());
    c.hidden_act.get_or_insert_with(|| "silu".into());
    c.num_key_value_heads = Some(config.num_kv_heads());
    c.head_dim = Some(config.head_dim());
    if c.bos_token_id.is_none() {
        c.bos_token_id = tokenizer.bos_id;
    }
    if c.eos_token_id.is_none() {
        c.eos_token_id = tokenizer.stop_ids.first().map(|&i| TokenIds::One(i));
    }
    c
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// Rewrites the `__metadata__` entry of a safetensors header in place with its keys sorted.
/// burn writes that map from a hash map, so two exports of the same weights differed in the
/// order of `format`, `producer` and `version`; sorted, the same weights give the same bytes
/// (a resumed run's model is byte-identical to an uninterrupted one's). The header keeps its
/// length (padded with spaces, as the format allows).
///
/// # Errors
/// I/O errors, or a header that is not the JSON object the format prescribes.
fn sort_safetensors_metadata(path: &Path) -> Result<()> {
    use std::collections::BTreeMap;
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .with_context(|| format!("reading {}", path.display()))?;
    let n = usize::try_from(u64::from_le_bytes(len))?;
    let mut header = vec![0u8; n];
    f.read_exact(&mut header)
        .with_context(|| format!("reading the header of {}", path.display()))?;
    let text = std::str::from_utf8(&header)?;
    let Some(start) = text.find(r#""__metadata__":"#) else {
        return Ok(());
    };
    let value_at = start + r#""__metadata__":"#.len();
    let mut stream = serde_json::Deserializer::from_str(&text[value_at..])
        .into_iter::<BTreeMap<String, String>>();
    let metadata = match stream.next() {
        Some(Ok(m)) => m,
        _ => anyhow::bail!("{}: unreadable __metadata__ in the header", path.display()),
    };
    let end = value_at + stream.byte_offset();
    let sorted = serde_json::to_string(&metadata)?;
    if sorted.len() != end - value_at {
        return Ok(()); // not the compact form burn writes: leave it as it is
    }
    let mut fixed = header.clone();
    fixed[value_at..end].copy_from_slice(sorted.as_bytes());
    f.seek(SeekFrom::Start(8))?;
    f.write_all(&fixed)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
