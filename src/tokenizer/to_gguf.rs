//! The other direction of [`GgufVocab::tokenizer`]: the GGUF vocabulary of a byte-level BPE
//! [`Tokenizer`], whichever file it was loaded from, for a GGUF export
//! ([`crate::train::export_gguf`]). llama.cpp reads the result as `tokenizer.ggml.model =
//! "gpt2"`:
//!
//! - tokens and merges come from the BPE model (its vocabulary by id, its merges by rank);
//! - added tokens marked special become control tokens (type 3), other added tokens
//!   user-defined (type 4), everything else normal (type 1);
//! - `pre` is the llama.cpp pre-tokenizer name whose splitting equals the tokenizer's own
//!   (see [`pre_tokenizer_name`]); a pre-tokenizer llama.cpp has no name for is an error,
//!   since llama.cpp would split text differently and the exported model would read other
//!   tokens than it was trained on.

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use super::Tokenizer;
use super::gguf_vocab::{
    GgufVocab, TOKEN_TYPE_CONTROL, TOKEN_TYPE_NORMAL, TOKEN_TYPE_USER_DEFINED, pre_tokenizer,
};

/// The llama.cpp pre-tokenizer names this project can write, in order of preference among
/// names that split alike.
const PRE_NAMES: [&str; 3] = ["smollm", "llama-bpe", "gpt-2"];

impl GgufVocab {
    /// The GGUF vocabulary of `tokenizer` (see the module docs).
    ///
    /// # Errors
    /// A tokenizer model other than BPE, a token id missing from the vocabulary (ids must run
    /// 0..vocab_size without gaps), a pre-tokenizer llama.cpp has no name for, a normalizer
    /// (llama.cpp's `gpt2` tokenizer applies none), or a merge GGUF's `"left right"` strings
    /// cannot hold.
    pub fn from_tokenizer(tokenizer: &Tokenizer) -> Result<Self> {
        let json: Value = serde_json::from_str(
            &tokenizer
                .inner()
                .to_string(false)
                .map_err(|e| anyhow!("serializing the tokenizer: {e}"))?,
        )
        .context("reading the serialized tokenizer")?;
        let model = &json["model"];
        if model["type"] != "BPE" {
            bail!(
                "tokenizer model {} cannot be written as GGUF `gpt2` (only byte-level BPE)",
                model["type"]
            );
        }
        if !json["normalizer"].is_null() {
            bail!("the tokenizer has a normalizer, which llama.cpp's `gpt2` tokenizer lacks");
        }
        let vocab_size = tokenizer.vocab_size();
        let mut tokens: Vec<Option<String>> = vec![None; vocab_size];
        let mut token_types = vec![TOKEN_TYPE_NORMAL; vocab_size];
        let mut place = |token: &str, id: &Value| -> Result<usize> {
            let id = id
                .as_u64()
                .and_then(|i| usize::try_from(i).ok())
                .filter(|&i| i < vocab_size)
                .ok_or_else(|| anyhow!("token `{token}` has id {id}, outside 0..{vocab_size}"))?;
            tokens[id] = Some(token.to_owned());
            Ok(id)
        };
        for (token, id) in model["vocab"]
            .as_object()
            .ok_or_else(|| anyhow!("the BPE model has no vocabulary"))?
        {
            place(token, id)?;
        }
        for added in json["added_tokens"].as_array().into_iter().flatten() {
            let content = added["content"]
                .as_str()
                .ok_or_else(|| anyhow!("an added token without content: {added}"))?;
            let id = place(content, &added["id"])?;
            token_types[id] = if added["special"].as_bool().unwrap_or(false) {
                TOKEN_TYPE_CONTROL
            } else {
                TOKEN_TYPE_USER_DEFINED
            };
        }
        let tokens = tokens
            .into_iter()
            .enumerate()
            .map(|(i, t)| t.ok_or_else(|| anyhow!("no token has id {i}")))
            .collect::<Result<Vec<_>>>()?;
        let merges = model["merges"]
            .as_array()
            .ok_or_else(|| anyhow!("the BPE model has no merges"))?
            .iter()
            .enumerate()
            .map(|(i, m)| merge(m).ok_or_else(|| anyhow!("merge {i} is unreadable: {m}")))
            .collect::<Result<Vec<_>>>()?;
        // GGUF stores a merge as one string split at its first space.
        if let Some((i, (a, _))) = merges
            .iter()
            .enumerate()
            .find(|(_, (a, _))| a.contains(' '))
        {
            bail!("merge {i} has a space in its left part `{a}`: GGUF cannot store it");
        }
        Ok(Self {
            tokens,
            merges,
            token_types,
            pre: pre_tokenizer_name(&json["pre_tokenizer"])?.to_owned(),
            bos_id: tokenizer.bos_id,
            eos_id: tokenizer.stop_ids.first().copied(),
            add_bos: tokenizer.add_bos,
            chat_template: Some(tokenizer.chat_template.source.clone()),
        })
    }
}

/// A merge as `tokenizer.json` writes it: `"left right"` (older files) or `["left", "right"]`.
fn merge(m: &Value) -> Option<(String, String)> {
    match m {
        Value::String(s) => s.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())),
        Value::Array(pair) => match pair.as_slice() {
            [Value::String(a), Value::String(b)] => Some((a.clone(), b.clone())),
            _ => None,
        },
        _ => None,
    }
}

/// The llama.cpp `tokenizer.ggml.pre` name of a serialized `tokenizers` pre-tokenizer: the
/// name whose pre-tokenizer ([`pre_tokenizer`], what this project builds when it loads a GGUF
/// file) serializes to the same JSON, or one of the Hugging Face forms that split alike:
/// `ByteLevel` with its own GPT-2 regex (`gpt-2`), and `Digits` (one digit each) before that
/// (`smollm`, as SmolLM2's `tokenizer.json` has it). `trim_offsets` is ignored (it moves
/// offsets, not splits).
///
/// # Errors
/// Any other pre-tokenizer, named in the message.
pub fn pre_tokenizer_name(pre: &Value) -> Result<&'static str> {
    let pre = without_trim_offsets(pre.clone());
    for name in PRE_NAMES {
        let ours = serde_json::to_value(pre_tokenizer(name)?)?;
        if without_trim_offsets(ours) == pre {
            return Ok(name);
        }
    }
    let gpt2_byte_level = |v: &Value| {
        v["type"] == "ByteLevel" && v["use_regex"] == true && v["add_prefix_space"] == false
    };
    let single_digits = |v: &Value| v["type"] == "Digits" && v["individual_digits"] == true;
    match pre["type"].as_str() {
        Some("ByteLevel") if gpt2_byte_level(&pre) => return Ok("gpt-2"),
        Some("Sequence") => {
            if let Some([a, b]) = pre["pretokenizers"].as_array().map(Vec::as_slice) {
                if single_digits(a) && gpt2_byte_level(b) {
                    return Ok("smollm");
                }
                if gpt2_byte_level(a) && b.is_null() {
                    return Ok("gpt-2");
                }
            }
        }
        _ => {}
    }
    bail!(
        "the tokenizer's pre-tokenizer has no llama.cpp name (known: {}): {pre}",
        PRE_NAMES.join(", ")
    )
}

fn without_trim_offsets(mut v: Value) -> Value {
    match &mut v {
        Value::Object(o) => {
            o.remove("trim_offsets");
            for x in o.values_mut() {
                *x = without_trim_offsets(x.take());
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                *x = without_trim_offsets(x.take());
            }
        }
        _ => {}
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hugging_face_forms_get_llama_cpp_names() {
        // SmolLM2's tokenizer.json (HF hub, transformers 4.4x) writes these two forms.
        let smollm = json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true},
            {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
        ]});
        assert_eq!(pre_tokenizer_name(&smollm).unwrap(), "smollm");
        let gpt2 = json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
                          "use_regex": true});
        assert_eq!(pre_tokenizer_name(&gpt2).unwrap(), "gpt-2");
        // GPT-2 with a prefix space splits " hello" and "hello" alike: not llama.cpp's gpt-2
        let prefixed = json!({"type": "ByteLevel", "add_prefix_space": true, "use_regex": true});
        let e = pre_tokenizer_name(&prefixed).unwrap_err().to_string();
        assert!(e.contains("no llama.cpp name"), "{e}");
    }

    #[test]
    fn what_a_gguf_load_builds_is_named_back() {
        for name in PRE_NAMES {
            let v = serde_json::to_value(pre_tokenizer(name).unwrap()).unwrap();
            assert_eq!(pre_tokenizer_name(&v).unwrap(), name);
        }
    }

    #[test]
    fn merges_in_either_form() {
        assert_eq!(merge(&json!("Ġ t")), Some(("Ġ".into(), "t".into())));
        assert_eq!(
            merge(&json!(["a b", "c"])),
            Some(("a b".into(), "c".into()))
        );
        assert_eq!(merge(&json!(["a"])), None);
    }
}
