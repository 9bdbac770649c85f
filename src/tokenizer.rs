//! Tokenizer: the `tokenizers` crate, loaded from a Hugging Face `tokenizer.json` or rebuilt
//! from GGUF metadata (byte-level BPE: `tokenizer.ggml.tokens`, `merges`, `token_type`,
//! `pre`), plus the checkpoint's chat template.
//!
//! Safety rule: text a user typed is never parsed into control tokens. Chat prompts are
//! rendered with placeholders for message contents; the template's own text is encoded with
//! special-token matching, the contents without it.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use ggus::{GGuf, GGufMetaMapExt};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior};

use crate::chat::{ChatTemplate, Message};

/// GGUF `token_type` values (llama.cpp `llama_token_type`).
const TOKEN_TYPE_CONTROL: i32 = 3;
const TOKEN_TYPE_USER_DEFINED: i32 = 4;

/// A tokenizer with its special tokens and chat template.
#[derive(Clone)]
pub struct Tokenizer {
    /// Matches special tokens in text (used for template text only).
    with_special: tokenizers::Tokenizer,
    /// Never produces special tokens from text (used for user content).
    plain: tokenizers::Tokenizer,
    /// Beginning-of-sequence id, if the model has one.
    pub bos_id: Option<u32>,
    /// Prepend BOS when encoding (GGUF `tokenizer.ggml.add_bos_token`).
    pub add_bos: bool,
    /// Ids that end generation (EOS and the chat end-of-turn token).
    pub stop_ids: Vec<u32>,
    /// Chat template.
    pub chat_template: ChatTemplate,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("bos_id", &self.bos_id)
            .field("stop_ids", &self.stop_ids)
            .finish()
    }
}

impl Tokenizer {
    fn from_parts(
        tok: tokenizers::Tokenizer,
        bos_id: Option<u32>,
        add_bos: bool,
        eos_id: Option<u32>,
        chat_template: ChatTemplate,
    ) -> Self {
        let mut plain = tok.clone();
        plain.set_encode_special_tokens(true);
        let mut stop_ids: Vec<u32> = eos_id.into_iter().collect();
        for t in [
            "<|im_end|>",
            "<|eot_id|>",
            "<|end_of_turn|>",
            "<end_of_turn>",
        ] {
            if let Some(id) = tok.token_to_id(t)
                && !stop_ids.contains(&id)
            {
                stop_ids.push(id);
            }
        }
        Self {
            with_special: tok,
            plain,
            bos_id,
            add_bos,
            stop_ids,
            chat_template,
        }
    }

    /// Rebuilds the tokenizer stored in GGUF metadata (`tokenizer.ggml.model = "gpt2"`,
    /// byte-level BPE). Control and user-defined tokens are registered as special tokens.
    ///
    /// # Errors
    /// Another tokenizer model (e.g. SentencePiece `llama`), missing or malformed arrays.
    pub fn from_gguf(g: &GGuf) -> Result<Self> {
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
        let types: Vec<i32> = match g.get_i32_arr("tokenizer.ggml.token_type") {
            Ok(a) => a
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow!("tokenizer.ggml.token_type: {e:?}"))?,
            Err(_) => vec![1; tokens.len()],
        };
        let vocab: tokenizers::models::bpe::Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| anyhow!("building BPE from GGUF vocab: {e}"))?;
        let mut tok = tokenizers::Tokenizer::new(bpe);
        let pre = g.get_str("tokenizer.ggml.pre").unwrap_or("default");
        tok.with_pre_tokenizer(Some(pre_tokenizer(pre)?));
        tok.with_decoder(Some(ByteLevelDecoder::default()));
        let specials: Vec<AddedToken> = tokens
            .iter()
            .zip(&types)
            .filter(|(_, ty)| matches!(**ty, TOKEN_TYPE_CONTROL | TOKEN_TYPE_USER_DEFINED))
            .map(|(t, _)| AddedToken::from(t.clone(), true))
            .collect();
        tok.add_special_tokens(specials)
            .map_err(|e| anyhow!("registering special tokens: {e}"))?;

        let id = |k: &str| g.get_usize(k).ok().map(|v| v as u32);
        let bos_id = id("tokenizer.ggml.bos_token_id");
        let eos_id = id("tokenizer.ggml.eos_token_id");
        let add_bos = g.get_bool("tokenizer.ggml.add_bos_token").unwrap_or(false);
        let name = |i: Option<u32>| {
            i.and_then(|i| tokens.get(i as usize).cloned())
                .unwrap_or_default()
        };
        let template = match g.get_str("tokenizer.chat_template") {
            Ok(src) => ChatTemplate::new(src, &name(bos_id), &name(eos_id))
                .context("tokenizer.chat_template")?,
            Err(_) => ChatTemplate::chatml(),
        };
        Ok(Self::from_parts(tok, bos_id, add_bos, eos_id, template))
    }

    /// Loads `tokenizer.json` and, when present, `tokenizer_config.json` (chat template,
    /// `bos_token`, `eos_token`, `add_bos_token`) from a Hugging Face folder.
    ///
    /// # Errors
    /// Missing or invalid `tokenizer.json`; an invalid template.
    pub fn from_hf_dir(dir: &Path) -> Result<Self> {
        let path = dir.join("tokenizer.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        // The tokenizers crate panics instead of failing on some malformed files (a
        // `decoder` or `normalizer` nested past serde_json's recursion limit, or holding a
        // number out of range such as `1e400`): reading the file as plain JSON first turns
        // those into errors, and a panic left in the crate becomes one too.
        serde_json::from_str::<serde_json::Value>(&text)
            .with_context(|| format!("parsing {}", path.display()))?;
        let mut tok = std::panic::catch_unwind(|| text.parse::<tokenizers::Tokenizer>())
            .map_err(|_| anyhow!("reading {}: malformed tokenizer file", path.display()))?
            .map_err(|e| anyhow!("reading {}: {e}", path.display()))?;
        // BOS/EOS are handled here (no doubled BOS), not by the file's post-processor.
        tok.with_post_processor(None::<tokenizers::PostProcessorWrapper>);
        let cfg_path = dir.join("tokenizer_config.json");
        let cfg: serde_json::Value = if cfg_path.exists() {
            let text = std::fs::read_to_string(&cfg_path)
                .with_context(|| format!("reading {}", cfg_path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", cfg_path.display()))?
        } else {
            serde_json::Value::Null
        };
        let token_str = |k: &str| -> Option<String> {
            match &cfg[k] {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Object(o) => o.get("content")?.as_str().map(str::to_owned),
                _ => None,
            }
        };
        let bos = token_str("bos_token");
        let eos = token_str("eos_token");
        let bos_id = bos.as_deref().and_then(|t| tok.token_to_id(t));
        let eos_id = eos.as_deref().and_then(|t| tok.token_to_id(t));
        let add_bos = cfg["add_bos_token"].as_bool().unwrap_or(false);
        let template = match &cfg["chat_template"] {
            serde_json::Value::String(s) => ChatTemplate::new(
                s,
                bos.as_deref().unwrap_or(""),
                eos.as_deref().unwrap_or(""),
            )
            .with_context(|| format!("chat_template in {}", cfg_path.display()))?,
            _ => ChatTemplate::chatml(),
        };
        Ok(Self::from_parts(tok, bos_id, add_bos, eos_id, template))
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.with_special.get_vocab_size(true)
    }

    /// Id of a token string (special tokens included).
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.with_special.token_to_id(token)
    }

    /// Encodes plain text (e.g. a base-model prompt). Special-token strings in `text` stay
    /// ordinary text. BOS is prepended when the model asks for it.
    ///
    /// # Errors
    /// Tokenizer failures (not expected for valid UTF-8).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = self.encode_plain(text)?;
        self.prepend_bos(&mut ids);
        Ok(ids)
    }

    /// Encodes text without BOS, never matching special tokens.
    pub fn encode_plain(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .plain
            .encode(text, false)
            .map_err(|e| anyhow!("tokenizing: {e}"))?
            .get_ids()
            .to_vec())
    }

    fn encode_template_text(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self
            .with_special
            .encode(text, false)
            .map_err(|e| anyhow!("tokenizing: {e}"))?
            .get_ids()
            .to_vec())
    }

    fn prepend_bos(&self, ids: &mut Vec<u32>) {
        if let (true, Some(bos)) = (self.add_bos, self.bos_id)
            && ids.first() != Some(&bos)
        {
            ids.insert(0, bos);
        }
    }

    /// Renders `messages` with the chat template and encodes them. Special tokens come only
    /// from the template; message contents are encoded as plain text. BOS is added only if
    /// the model asks for it and the template did not already render it.
    ///
    /// # Errors
    /// Template errors; a template that drops or rewrites message contents.
    pub fn encode_chat(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<Vec<u32>> {
        Ok(self.encode_chat_spans(messages, add_generation_prompt)?.0)
    }

    /// Like [`Tokenizer::encode_chat`], and also returns, per message, the token range its
    /// content occupies in the ids (contents are tokenized on their own, so no token
    /// straddles a content boundary).
    ///
    /// # Errors
    /// See [`Tokenizer::encode_chat`].
    pub fn encode_chat_spans(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<(Vec<u32>, Vec<std::ops::Range<usize>>)> {
        let marker = |i: usize| format!("\u{E000}{i}\u{E001}");
        let masked: Vec<Message> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| Message::new(&m.role, marker(i)))
            .collect();
        let rendered = self.chat_template.render(&masked, add_generation_prompt)?;
        let mut ids = Vec::new();
        let mut spans = Vec::with_capacity(messages.len());
        let mut rest = rendered.as_str();
        for (i, m) in messages.iter().enumerate() {
            let mk = marker(i);
            let Some(at) = rest.find(&mk) else {
                bail!("the chat template dropped or altered message {i}; cannot tokenize safely");
            };
            ids.extend(self.encode_template_text(&rest[..at])?);
            let start = ids.len();
            ids.extend(self.encode_plain(&m.content)?);
            spans.push(start..ids.len());
            rest = &rest[at + mk.len()..];
        }
        ids.extend(self.encode_template_text(rest)?);
        let before = ids.len();
        self.prepend_bos(&mut ids);
        if ids.len() > before {
            for s in &mut spans {
                *s = s.start + 1..s.end + 1;
            }
        }
        Ok((ids, spans))
    }

    /// The rendered chat text (for display and debugging).
    pub fn render_chat(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        self.chat_template.render(messages, add_generation_prompt)
    }

    /// Decodes ids to text; `skip_special` drops control tokens.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        self.with_special
            .decode(ids, skip_special)
            .map_err(|e| anyhow!("decoding: {e}"))
    }

    /// A streaming decoder that yields text only once it is complete UTF-8.
    pub fn decode_stream(&self, skip_special: bool) -> DecodeStream<'_> {
        DecodeStream {
            inner: self.with_special.decode_stream(skip_special),
        }
    }

    /// The underlying `tokenizers` tokenizer (for export).
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.with_special
    }
}

/// Incremental detokenizer: feed ids one by one, get text pieces that never split a UTF-8
/// character (tokenizers' `DecodeStream`).
pub struct DecodeStream<'a> {
    inner: tokenizers::DecodeStream<
        'a,
        tokenizers::ModelWrapper,
        tokenizers::NormalizerWrapper,
        PreTokenizerWrapper,
        tokenizers::PostProcessorWrapper,
        tokenizers::DecoderWrapper,
    >,
}

impl DecodeStream<'_> {
    /// Adds one id; returns the newly completed text, if any.
    ///
    /// # Errors
    /// Unknown id.
    pub fn step(&mut self, id: u32) -> Result<Option<String>> {
        self.inner
            .step(id)
            .map_err(|e| anyhow!("decoding id {id}: {e}"))
    }
}

/// The pre-tokenizer named by GGUF `tokenizer.ggml.pre` (llama.cpp `llama-vocab.cpp`).
fn pre_tokenizer(pre: &str) -> Result<PreTokenizerWrapper> {
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
