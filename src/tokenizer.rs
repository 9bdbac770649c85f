//! Tokenizer: the `tokenizers` crate, loaded from a Hugging Face `tokenizer.json` or rebuilt
//! from GGUF metadata ([`gguf_vocab`]: byte-level BPE from `tokenizer.ggml.tokens`, `merges`,
//! `token_type`, `pre`), plus the checkpoint's chat template.
//!
//! Safety rule: text a user typed is never parsed into control tokens. Chat prompts are
//! rendered with placeholders for message contents; the template's own text is encoded with
//! special-token matching, the contents without it.

pub mod gguf_vocab;
pub mod to_gguf;

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;

use crate::chat::{ChatTemplate, Message};

pub use gguf_vocab::GgufVocab;

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
