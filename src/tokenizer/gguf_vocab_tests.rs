//! A vocabulary built by hand, and the ids its rebuilt tokenizer gives, reasoned out below.
//!
//! Byte-level BPE: the pre-tokenizer cuts the text into words and maps each byte to a printable
//! character (`a` stays `a`, a space becomes `Ġ`); BPE then starts from the characters of each
//! word and applies the merges by rank (lowest index first) until none applies; a merge never
//! crosses a word.

use super::*;

const NORMAL: i32 = TOKEN_TYPE_NORMAL;
const CONTROL: i32 = TOKEN_TYPE_CONTROL;
const USER: i32 = TOKEN_TYPE_USER_DEFINED;

/// Ids: `a` 0, `b` 1, `c` 2, `Ġ` 3, `ab` 4, `bc` 5, `Ġa` 6, `1` 7, `2` 8, `12` 9,
/// `<|im_end|>` 10 (control), `<|endoftext|>` 11 (control), `<tool>` 12 (user-defined).
const TOKENS: [(&str, i32); 13] = [
    ("a", NORMAL),
    ("b", NORMAL),
    ("c", NORMAL),
    ("Ġ", NORMAL),
    ("ab", NORMAL),
    ("bc", NORMAL),
    ("Ġa", NORMAL),
    ("1", NORMAL),
    ("2", NORMAL),
    ("12", NORMAL),
    ("<|im_end|>", CONTROL),
    ("<|endoftext|>", CONTROL),
    ("<tool>", USER),
];

fn vocab(merges: &[&str], pre: &str) -> GgufVocab {
    GgufVocab {
        tokens: TOKENS.iter().map(|(t, _)| t.to_string()).collect(),
        merges: merges
            .iter()
            .map(|m| {
                let (a, b) = m.split_once(' ').unwrap();
                (a.to_string(), b.to_string())
            })
            .collect(),
        token_types: TOKENS.iter().map(|(_, ty)| *ty).collect(),
        pre: pre.into(),
        bos_id: None,
        eos_id: Some(11),
        add_bos: false,
        chat_template: None,
    }
}

/// `a b` first, `b c` second, `Ġ a` third.
const AB_FIRST: [&str; 4] = ["a b", "b c", "Ġ a", "1 2"];
/// `b c` first, `a b` second.
const BC_FIRST: [&str; 4] = ["b c", "a b", "Ġ a", "1 2"];
/// `Ġ a` first, `a b` second.
const SPACE_A_FIRST: [&str; 4] = ["Ġ a", "a b", "b c", "1 2"];

fn ids(v: &GgufVocab, text: &str) -> Vec<u32> {
    v.tokenizer()
        .unwrap()
        .encode(text, false)
        .unwrap()
        .get_ids()
        .to_vec()
}

#[test]
fn merges_apply_in_rank_order() {
    // `abc` is a, b, c with two candidate merges, (a, b) and (b, c); the lower rank wins and
    // there is no merge to `abc`, so it stops there.
    assert_eq!(ids(&vocab(&AB_FIRST, "gpt2"), "abc"), [4, 2]); // ab, c
    assert_eq!(ids(&vocab(&BC_FIRST, "gpt2"), "abc"), [0, 5]); // a, bc
    assert_eq!(ids(&vocab(&AB_FIRST, "gpt2"), "a"), [0]);
}

#[test]
fn a_space_starts_a_word_as_g() {
    // GPT-2 splitting: `ab ab` is the words `ab` and ` ab`, the second `Ġab` after the byte
    // mapping. In `Ġab`, (a, b) outranks (Ġ, a) in AB_FIRST: Ġ, ab, and `Ġ ab` is no merge.
    assert_eq!(ids(&vocab(&AB_FIRST, "gpt2"), "ab ab"), [4, 3, 4]);
    // With (Ġ, a) first: Ġa, b, and `Ġa b` is no merge.
    assert_eq!(ids(&vocab(&SPACE_A_FIRST, "gpt2"), "ab ab"), [4, 6, 1]);
    // No merge crosses words: `ab c` is `ab`, `Ġc` (Ġ, c: no merge).
    assert_eq!(ids(&vocab(&AB_FIRST, "gpt2"), "ab c"), [4, 3, 2]);
}

#[test]
fn the_pre_tokenizer_decides_how_numbers_split() {
    // GPT-2 (`default` too): a number is one word, so `1 2` merges both pairs of `1212`.
    for pre in ["gpt2", "gpt-2", "default"] {
        assert_eq!(ids(&vocab(&AB_FIRST, pre), "12"), [9], "{pre}");
        assert_eq!(ids(&vocab(&AB_FIRST, pre), "1212"), [9, 9], "{pre}");
        assert_eq!(ids(&vocab(&AB_FIRST, pre), "a12"), [0, 9], "{pre}");
    }
    // Llama 3: numbers in groups of up to three digits: `121` (→ 12, 1) and `2`.
    for pre in ["llama-bpe", "llama3"] {
        assert_eq!(ids(&vocab(&AB_FIRST, pre), "12"), [9], "{pre}");
        assert_eq!(ids(&vocab(&AB_FIRST, pre), "1212"), [9, 7, 8], "{pre}");
    }
    // SmolLM / StarCoder: every digit is its own word, so `1 2` never applies.
    for pre in ["smollm", "starcoder"] {
        assert_eq!(ids(&vocab(&AB_FIRST, pre), "12"), [7, 8], "{pre}");
        assert_eq!(ids(&vocab(&AB_FIRST, pre), "1212"), [7, 8, 7, 8], "{pre}");
        assert_eq!(ids(&vocab(&AB_FIRST, pre), "a12"), [0, 7, 8], "{pre}");
    }
}

#[test]
fn control_and_user_defined_tokens_are_special_in_template_text_only() {
    let tok = Tokenizer::from_gguf_vocab(&vocab(&AB_FIRST, "gpt2")).unwrap();
    assert_eq!(tok.vocab_size(), 13);
    assert_eq!(tok.token_to_id("<|im_end|>"), Some(10));
    assert_eq!(tok.encode_template_text("ab<|im_end|>").unwrap(), [4, 10]);
    assert_eq!(tok.encode_template_text("a<tool>b").unwrap(), [0, 12, 1]);
    // User text never becomes a control token.
    let plain = tok.encode_plain("ab<|im_end|>").unwrap();
    assert_eq!(&plain[..1], [4]);
    assert!(!plain.contains(&10), "{plain:?}");
    // EOS, then the chat end-of-turn token.
    assert_eq!(tok.stop_ids, [11, 10]);
    // Decoding maps `Ġ` back to a space; special tokens can be skipped.
    assert_eq!(tok.decode(&[4, 3, 4], false).unwrap(), "ab ab");
    assert_eq!(
        tok.decode(&[4, 6, 1, 10], false).unwrap(),
        "ab ab<|im_end|>"
    );
    assert_eq!(tok.decode(&[4, 10], true).unwrap(), "ab");
}

#[test]
fn bos_is_prepended_only_when_the_file_asks() {
    let mut v = vocab(&AB_FIRST, "gpt2");
    v.bos_id = Some(11);
    let tok = Tokenizer::from_gguf_vocab(&v).unwrap();
    assert_eq!(tok.encode("ab").unwrap(), [4]);
    v.add_bos = true;
    let tok = Tokenizer::from_gguf_vocab(&v).unwrap();
    assert_eq!(tok.encode("ab").unwrap(), [11, 4]);
}

#[test]
fn a_merge_of_unknown_tokens_is_an_error() {
    let e = vocab(&["a x"], "gpt2").tokenizer().unwrap_err().to_string();
    assert!(e.contains("building BPE from GGUF vocab"), "{e}");
    // `b a` names known tokens but its result `ba` is not one.
    assert!(vocab(&["b a"], "gpt2").tokenizer().is_err());
}

/// A GGUF file with metadata only (no tensors), written as the format lays it out.
#[derive(Default)]
struct Gguf {
    bytes: Vec<u8>,
    n_kv: u64,
}

impl Gguf {
    fn string(&mut self, s: &str) {
        self.bytes.extend((s.len() as u64).to_le_bytes());
        self.bytes.extend(s.as_bytes());
    }
    fn key(&mut self, key: &str, ty: u32) {
        self.n_kv += 1;
        self.string(key);
        self.bytes.extend(ty.to_le_bytes());
    }
    fn str(mut self, key: &str, v: &str) -> Self {
        self.key(key, 8);
        self.string(v);
        self
    }
    fn u32(mut self, key: &str, v: u32) -> Self {
        self.key(key, 4);
        self.bytes.extend(v.to_le_bytes());
        self
    }
    fn bool(mut self, key: &str, v: bool) -> Self {
        self.key(key, 7);
        self.bytes.push(v.into());
        self
    }
    fn strs(mut self, key: &str, v: &[&str]) -> Self {
        self.key(key, 9);
        self.bytes.extend(8u32.to_le_bytes());
        self.bytes.extend((v.len() as u64).to_le_bytes());
        v.iter().for_each(|s| self.string(s));
        self
    }
    fn i32s(mut self, key: &str, v: &[i32]) -> Self {
        self.key(key, 9);
        self.bytes.extend(5u32.to_le_bytes());
        self.bytes.extend((v.len() as u64).to_le_bytes());
        v.iter().for_each(|x| self.bytes.extend(x.to_le_bytes()));
        self
    }
    fn finish(self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend(0u64.to_le_bytes());
        out.extend(self.n_kv.to_le_bytes());
        out.extend(self.bytes);
        out.resize(out.len().div_ceil(32) * 32, 0);
        out
    }
}

fn read(file: Gguf) -> Result<GgufVocab> {
    let bytes = file.finish();
    let g = GGuf::new(&bytes).map_err(|e| anyhow!("{e:?}"))?;
    GgufVocab::read(&g)
}

fn tokens() -> Vec<&'static str> {
    TOKENS.iter().map(|(t, _)| *t).collect()
}

#[test]
fn read_takes_the_tokenizer_keys_of_a_gguf_file() {
    let types: Vec<i32> = TOKENS.iter().map(|(_, ty)| *ty).collect();
    let file = Gguf::default()
        .str("tokenizer.ggml.model", "gpt2")
        .str("tokenizer.ggml.pre", "smollm")
        .strs("tokenizer.ggml.tokens", &tokens())
        .strs("tokenizer.ggml.merges", &AB_FIRST)
        .i32s("tokenizer.ggml.token_type", &types)
        .u32("tokenizer.ggml.bos_token_id", 11)
        .u32("tokenizer.ggml.eos_token_id", 11)
        .bool("tokenizer.ggml.add_bos_token", true)
        .str("tokenizer.chat_template", crate::chat::CHATML);
    let v = read(file).unwrap();
    let mut expect = vocab(&AB_FIRST, "smollm");
    expect.bos_id = Some(11);
    expect.add_bos = true;
    expect.chat_template = Some(crate::chat::CHATML.into());
    assert_eq!(v, expect);
    let tok = Tokenizer::from_gguf_vocab(&v).unwrap();
    assert_eq!(tok.encode("ab 12").unwrap(), [11, 4, 3, 7, 8]);
}

#[test]
fn read_defaults_and_refusals() {
    // No token types (all normal), no pre-tokenizer (`default`), no BOS/EOS, no template.
    let v = read(
        Gguf::default()
            .str("tokenizer.ggml.model", "gpt2")
            .strs("tokenizer.ggml.tokens", &tokens())
            .strs("tokenizer.ggml.merges", &AB_FIRST),
    )
    .unwrap();
    assert_eq!(v.token_types, [TOKEN_TYPE_NORMAL; 13]);
    assert_eq!(v.pre, "default");
    assert_eq!((v.bos_id, v.eos_id, v.add_bos), (None, None, false));
    assert_eq!(v.chat_template, None);
    // SentencePiece and a merge without its space are refused.
    let e = read(
        Gguf::default()
            .str("tokenizer.ggml.model", "llama")
            .strs("tokenizer.ggml.tokens", &tokens()),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("`llama` is not supported"), "{e}");
    let e = read(
        Gguf::default()
            .str("tokenizer.ggml.model", "gpt2")
            .strs("tokenizer.ggml.tokens", &tokens())
            .strs("tokenizer.ggml.merges", &["a b", "bc"]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("merges[1] `bc` has no space"), "{e}");
}
