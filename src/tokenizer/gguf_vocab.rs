//! Rebuilding a Hugging Face tokenizer from GGUF metadata: llama.cpp stores a byte-level BPE
//! tokenizer (`tokenizer.ggml.model = "gpt2"`) as arrays, not as a `tokenizer.json`:
//!
//! - `tokenizer.ggml.tokens`: the vocabulary, a token's id is its index;
//! - `tokenizer.ggml.merges`: the BPE merges `"left right"`, highest priority first (rank =
//!   index);
//! - `tokenizer.ggml.token_type`: llama.cpp's `llama_token_type` per token; control (3) and
//!   user-defined (4) tokens become special tokens, matched whole in template text;
//! - `tokenizer.ggml.pre`: the name of the pre-tokenizer (how text is split into words before
//!   BPE; [`pre_tokenizer`]);
//! - `tokenizer.ggml.bos_token_id`, `eos_token_id`, `add_bos_token`, and
//!   `tokenizer.chat_template`.
//!
//! [`GgufVocab::read`] reads these keys, [`GgufVocab::tokenizer`] builds the `tokenizers`
//! tokenizer from them, and [`Tokenizer::from_gguf`] adds the BOS/EOS handling and the chat
//! template.

use anyhow::{Context, Result, anyhow, bail};
use ggus::{GGuf, GGufMetaMapExt};
use tokenizers::AddedToken;
use tokenizers::SplitDelimiterBehavior;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};

use super::Tokenizer;
use crate::chat::ChatTemplate;

/// GGUF `token_type` of an ordinary token (llama.cpp `LLAMA_TOKEN_TYPE_NORMAL`); the type of
/// every token when the file has no `tokenizer.ggml.token_type`.
pub const TOKEN_TYPE_NORMAL: i32 = 1;
/// GGUF `token_type` of a control token (`<|im_end|>`, …): a special token.
pub const TOKEN_TYPE_CONTROL: i32 = 3;
/// GGUF `token_type` of a user-defined token: a special token.
pub const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// The tokenizer of a GGUF file, as its metadata stores it (see the module docs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GgufVocab {
    /// `tokenizer.ggml.tokens`: token strings (byte-level: a space is `Ġ`, a newline `Ċ`); the
    /// id of a token is its index.
    pub tokens: Vec<String>,
    /// `tokenizer.ggml.merges`, each `"left right"` split at its space; rank = index.
    pub merges: Vec<(String, String)>,
    /// `tokenizer.ggml.token_type`, one per token ([`TOKEN_TYPE_NORMAL`] for all when absent).
    pub token_types: Vec<i32>,
    /// `tokenizer.ggml.pre`, the pre-tokenizer's name (`"default"` when absent).
    pub pre: String,
    /// `tokenizer.ggml.bos_token_id`.
    pub bos_id: Option<u32>,
    /// `tokenizer.ggml.eos_token_id`.
    pub eos_id: Option<u32>,
    /// `tokenizer.ggml.add_bos_token` (`false` when absent).
    pub add_bos: bool,
    /// `tokenizer.chat_template` (Jinja), if the file has one.
    pub chat_template: Option<String>,
}

impl GgufVocab {
    /// Reads the tokenizer keys of a GGUF file.
    ///
    /// # Errors
    /// Another tokenizer model (e.g. SentencePiece `llama`), missing or malformed arrays, a
    /// merge without a space.
    pub fn read(g: &GGuf) -> Result<Self> {
        let model = g
            .get_str("tokenizer.ggml.model")
            .map_err(|e| anyhow!("tokenizer.ggml.model: {e:?}"))?;
        if model != "gpt2" {
            bail!("GGUF tokenizer model `{model}` is not supported (only byte-level BPE `gpt2`)");
        }
        let tokens: Vec<String> = g
            .get_str_arr("tokenizer.ggml.tokens")
            .map_err(|e| anyhow!("tokenizer.ggml.tokens: {e:?}"))?
            .map(|t| t.map(str::to_owned))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow!("tokenizer.ggml.tokens: {e:?}"))?;
        let merges: Vec<(String, String)> = g
            .get_str_arr("tokenizer.ggml.merges")
            .map_err(|e| anyhow!("tokenizer.ggml.merges: {e:?}"))?
            .enumerate()
            .map(|(i, m)| {
                let m = m.map_err(|e| anyhow!("tokenizer.ggml.merges[{i}]: {e:?}"))?;
                let (a, b) = m
                    .split_once(' ')
                    .ok_or_else(|| anyhow!("tokenizer.ggml.merges[{i}] `{m}` has no space"))?;
                Ok((a.to_owned(), b.to_owned()))
            })
            .collect::<Result<_>>()?;
        let token_types: Vec<i32> = match g.get_i32_arr("tokenizer.ggml.token_type") {
            Ok(a) => a
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow!("tokenizer.ggml.token_type: {e:?}"))?,
            Err(_) => vec![TOKEN_TYPE_NORMAL; tokens.len()],
        };
        let id = |k: &str| g.get_usize(k).ok().map(|v| v as u32);
        Ok(Self {
            tokens,
            merges,
            token_types,
            pre: g
                .get_str("tokenizer.ggml.pre")
                .unwrap_or("default")
                .to_owned(),
            bos_id: id("tokenizer.ggml.bos_token_id"),
            eos_id: id("tokenizer.ggml.eos_token_id"),
            add_bos: g.get_bool("tokenizer.ggml.add_bos_token").unwrap_or(false),
            chat_template: g.get_str("tokenizer.chat_template").ok().map(str::to_owned),
        })
    }

    /// The `tokenizers` tokenizer: BPE over [`GgufVocab::tokens`] with
    /// [`GgufVocab::merges`], the pre-tokenizer named by [`GgufVocab::pre`], the byte-level
    /// decoder, and the control and user-defined tokens registered as special tokens.
    ///
    /// # Errors
    /// A merge whose parts or result are not tokens; an unusable pre-tokenizer regex.
    pub fn tokenizer(&self) -> Result<tokenizers::Tokenizer> {
        let vocab: tokenizers::models::bpe::Vocab = self
            .tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, self.merges.clone())
            .build()
            .map_err(|e| anyhow!("building BPE from GGUF vocab: {e}"))?;
        let mut tok = tokenizers::Tokenizer::new(bpe);
        tok.with_pre_tokenizer(Some(pre_tokenizer(&self.pre)?));
        tok.with_decoder(Some(ByteLevelDecoder::default()));
        let specials: Vec<AddedToken> = self
            .tokens
            .iter()
            .zip(&self.token_types)
            .filter(|(_, ty)| matches!(**ty, TOKEN_TYPE_CONTROL | TOKEN_TYPE_USER_DEFINED))
            .map(|(t, _)| AddedToken::from(t.clone(), true))
            .collect();
        tok.add_special_tokens(specials)
            .map_err(|e| anyhow!("registering special tokens: {e}"))?;
        Ok(tok)
    }

    /// The string of token `id` (empty for `None` or an id out of range).
    fn token_name(&self, id: Option<u32>) -> &str {
        id.and_then(|i| self.tokens.get(i as usize))
            .map_or("", String::as_str)
    }
}

impl Tokenizer {
    /// Rebuilds the tokenizer stored in GGUF metadata (`tokenizer.ggml.model = "gpt2"`,
    /// byte-level BPE; [`GgufVocab`]). Control and user-defined tokens are registered as
    /// special tokens.
    ///
    /// # Errors
    /// Another tokenizer model (e.g. SentencePiece `llama`), missing or malformed arrays.
    pub fn from_gguf(g: &GGuf) -> Result<Self> {
        Self::from_gguf_vocab(&GgufVocab::read(g)?)
    }

    /// The tokenizer of `vocab` with its BOS/EOS handling and chat template (ChatML when it
    /// has none).
    ///
    /// # Errors
    /// As [`GgufVocab::tokenizer`]; an invalid chat template.
    pub fn from_gguf_vocab(vocab: &GgufVocab) -> Result<Self> {
        let tok = vocab.tokenizer()?;
        let template = match &vocab.chat_template {
            Some(src) => ChatTemplate::new(
                src,
                vocab.token_name(vocab.bos_id),
                vocab.token_name(vocab.eos_id),
            )
            .context("tokenizer.chat_template")?,
            None => ChatTemplate::chatml(),
        };
        Ok(Self::from_parts(
            tok,
            vocab.bos_id,
            vocab.add_bos,
            vocab.eos_id,
            template,
        ))
    }
}

/// The pre-tokenizer named by GGUF `tokenizer.ggml.pre` (llama.cpp `llama-vocab.cpp`):
///
/// - `smollm`, `starcoder`, `refact`: every digit its own word, then GPT-2 splitting;
/// - `llama-bpe`, `llama3`, `smaug-bpe`: the Llama-3 regex (numbers in groups of up to three
///   digits);
/// - `gpt-2`, `gpt2`, `default`: the GPT-2 regex (a number is one word);
/// - anything else: GPT-2 splitting, with a warning.
///
/// Every choice ends with the byte-level mapping (a space becomes `Ġ`), without a prefix space.
///
/// # Errors
/// A regex the `tokenizers` crate refuses (not expected for these fixed patterns).
pub fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper> {
    const GPT2: &str =
        r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
    const LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    let byte_level =
        |regex: bool| PreTokenizerWrapper::ByteLevel(ByteLevel::new(false, true, regex));
    let split = |re: &str| -> Result<PreTokenizerWrapper> {
        Ok(PreTokenizerWrapper::Split(
            Split::new(
                SplitPattern::Regex(re.into()),
                SplitDelimiterBehavior::Isolated,
                false,
            )
            .map_err(|e| anyhow!("pre-tokenizer regex: {e}"))?,
        ))
    };
    Ok(match pre {
        // SmolLM / StarCoder: every digit is its own pre-token, then GPT-2 splitting.
        "smollm" | "starcoder" | "refact" => PreTokenizerWrapper::Sequence(Sequence::new(vec![
            PreTokenizerWrapper::Digits(Digits::new(true)),
            byte_level(true),
        ])),
        "llama-bpe" | "llama3" | "smaug-bpe" => {
            PreTokenizerWrapper::Sequence(Sequence::new(vec![split(LLAMA3)?, byte_level(false)]))
        }
        "gpt-2" | "gpt2" | "default" => {
            PreTokenizerWrapper::Sequence(Sequence::new(vec![split(GPT2)?, byte_level(false)]))
        }
        other => {
            eprintln!(
                "warning: GGUF pre-tokenizer `{other}` is not known here; using GPT-2 splitting"
            );
            byte_level(true)
        }
    })
}

#[cfg(test)]
#[path = "gguf_vocab_tests.rs"]
mod tests;
