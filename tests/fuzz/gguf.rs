//! GGUF: a valid small Llama GGUF built in memory (every integer of its header and tensor
//! table recorded), and the tiny fixture `tests/fixtures/tiny-llama/tiny.gguf`; mutated
//! (header integers set to edge values such as `u64::MAX` or `2^60`, bytes flipped, the file
//! cut short) and loaded with `load_model`. Loading must fail with an error or succeed; it
//! must not panic, hang, or allocate from a size it has not checked against the file.

use std::path::Path;

use halt_llm::model::load::gguf;
use proptest::prelude::*;

use crate::fuzz;
use crate::support::try_load;

/// One integer field of the built header: byte offset, width (4 or 8) and what it is.
#[derive(Debug, Clone)]
pub struct Field {
    pub at: usize,
    pub width: usize,
    pub what: String,
}

/// A GGUF v3 file under construction.
#[derive(Default)]
pub struct Builder {
    pub bytes: Vec<u8>,
    pub fields: Vec<Field>,
    n_kv: u64,
    tensors: Vec<(String, Vec<u64>, u32, Vec<u8>)>,
}

impl Builder {
    fn int(&mut self, v: u64, width: usize, what: String) {
        self.fields.push(Field {
            at: self.bytes.len(),
            width,
            what,
        });
        self.bytes.extend(&v.to_le_bytes()[..width]);
    }
    fn string(&mut self, s: &str, what: &str) {
        self.int(s.len() as u64, 8, format!("length of {what}"));
        self.bytes.extend(s.as_bytes());
    }
    fn key(&mut self, key: &str, ty: u32) {
        self.n_kv += 1;
        self.string(key, &format!("key {key}"));
        self.int(ty.into(), 4, format!("type of {key}"));
    }
    pub fn kv_u32(&mut self, key: &str, v: u32) {
        self.key(key, 4);
        self.int(v.into(), 4, format!("value of {key}"));
    }
    pub fn kv_f32(&mut self, key: &str, v: f32) {
        self.key(key, 6);
        self.bytes.extend(v.to_le_bytes());
    }
    pub fn kv_bool(&mut self, key: &str, v: bool) {
        self.key(key, 7);
        self.bytes.push(v.into());
    }
    pub fn kv_str(&mut self, key: &str, v: &str) {
        self.key(key, 8);
        self.string(v, &format!("value of {key}"));
    }
    pub fn kv_str_arr(&mut self, key: &str, v: &[&str]) {
        self.key(key, 9);
        self.int(8, 4, format!("element type of {key}"));
        self.int(v.len() as u64, 8, format!("count of {key}"));
        for (i, s) in v.iter().enumerate() {
            self.string(s, &format!("{key}[{i}]"));
        }
    }
    pub fn kv_i32_arr(&mut self, key: &str, v: &[i32]) {
        self.key(key, 9);
        self.int(5, 4, format!("element type of {key}"));
        self.int(v.len() as u64, 8, format!("count of {key}"));
        for x in v {
            self.bytes.extend(x.to_le_bytes());
        }
    }
    /// A tensor with GGUF dims (innermost first), GGML type and its data.
    pub fn tensor(&mut self, name: &str, dims: &[u64], ty: u32, data: Vec<u8>) {
        self.tensors.push((name.into(), dims.to_vec(), ty, data));
    }

    /// The finished file: header (metadata written so far), tensor table, aligned data.
    pub fn finish(mut self) -> (Vec<u8>, Vec<Field>) {
        let metadata = std::mem::take(&mut self.bytes);
        let meta_fields = std::mem::take(&mut self.fields);
        self.bytes.extend(b"GGUF");
        self.int(3, 4, "version".into());
        self.int(self.tensors.len() as u64, 8, "n_tensors".into());
        self.int(self.n_kv, 8, "n_kv".into());
        let shift = self.bytes.len();
        self.bytes.extend(metadata);
        self.fields.extend(meta_fields.into_iter().map(|f| Field {
            at: f.at + shift,
            ..f
        }));
        let tensors = std::mem::take(&mut self.tensors);
        let mut offset = 0u64;
        let mut offsets = Vec::new();
        for (name, dims, ty, data) in &tensors {
            self.string(name, &format!("tensor name {name}"));
            self.int(dims.len() as u64, 4, format!("n_dims of {name}"));
            for (i, d) in dims.iter().enumerate() {
                self.int(*d, 8, format!("dim {i} of {name}"));
            }
            self.int((*ty).into(), 4, format!("type of {name}"));
            self.int(offset, 8, format!("offset of {name}"));
            offsets.push(offset);
            offset = (offset + data.len() as u64).div_ceil(32) * 32;
        }
        let data_start = self.bytes.len().div_ceil(32) * 32;
        self.bytes.resize(data_start, 0);
        for ((_, _, _, data), off) in tensors.iter().zip(offsets) {
            self.bytes.resize(data_start + off as usize, 0);
            self.bytes.extend(data);
        }
        let end = self.bytes.len().div_ceil(32) * 32;
        self.bytes.resize(end, 0);
        (self.bytes, self.fields)
    }
}

fn f32_data(n: usize, seed: u32) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            let x = ((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000;
            (x as f32 / 1000.0 - 0.5).to_le_bytes()
        })
        .collect()
}

/// Q8_0 blocks for `n` values (n a multiple of 32): scale 0.01, values `i mod 17 − 8`.
fn q8_0_data(n: usize) -> Vec<u8> {
    let mut b = Vec::new();
    for block in 0..n / 32 {
        b.extend(half::f16::from_f32(0.01).to_le_bytes());
        b.extend((0..32).map(|i| (((block + i) % 17) as i8 - 8) as u8));
    }
    b
}

/// Q4_0 blocks for `n` values: scale 0.02, nibbles `i mod 16`.
fn q4_0_data(n: usize) -> Vec<u8> {
    let mut b = Vec::new();
    for _ in 0..n / 32 {
        b.extend(half::f16::from_f32(0.02).to_le_bytes());
        b.extend((0..16u8).map(|i| i << 4 | (15 - i)));
    }
    b
}

/// A valid one-layer Llama (hidden 32, 2 heads of 16, 1 KV head, MLP 64, 7 tokens) with a
/// byte-level BPE tokenizer and a chat template; F32, Q8_0 and Q4_0 tensors.
pub fn small_llama() -> (Vec<u8>, Vec<Field>) {
    let mut b = Builder::default();
    b.kv_str("general.architecture", "llama");
    b.kv_u32("general.alignment", 32);
    b.kv_u32("llama.embedding_length", 32);
    b.kv_u32("llama.attention.head_count", 2);
    b.kv_u32("llama.attention.head_count_kv", 1);
    b.kv_u32("llama.block_count", 1);
    b.kv_u32("llama.feed_forward_length", 64);
    b.kv_u32("llama.context_length", 128);
    b.kv_u32("llama.attention.key_length", 16);
    b.kv_f32("llama.attention.layer_norm_rms_epsilon", 1e-5);
    b.kv_f32("llama.rope.freq_base", 10_000.0);
    b.kv_str("tokenizer.ggml.model", "gpt2");
    b.kv_str("tokenizer.ggml.pre", "smollm");
    let tokens = ["a", "b", "c", "ab", "Ġ", "<|im_start|>", "<|im_end|>"];
    b.kv_str_arr("tokenizer.ggml.tokens", &tokens);
    b.kv_str_arr("tokenizer.ggml.merges", &["a b"]);
    b.kv_i32_arr("tokenizer.ggml.token_type", &[1, 1, 1, 1, 1, 3, 3]);
    b.kv_u32("tokenizer.ggml.bos_token_id", 5);
    b.kv_u32("tokenizer.ggml.eos_token_id", 6);
    b.kv_bool("tokenizer.ggml.add_bos_token", false);
    b.kv_str("tokenizer.chat_template", halt_llm::chat::CHATML);
    let (h, kv, ff, v) = (32u64, 16u64, 64u64, 7u64);
    b.tensor("token_embd.weight", &[h, v], 8, q8_0_data((h * v) as usize));
    b.tensor("output_norm.weight", &[h], 0, f32_data(h as usize, 1));
    b.tensor("blk.0.attn_norm.weight", &[h], 0, f32_data(h as usize, 2));
    b.tensor(
        "blk.0.attn_q.weight",
        &[h, h],
        0,
        f32_data((h * h) as usize, 3),
    );
    b.tensor(
        "blk.0.attn_k.weight",
        &[h, kv],
        0,
        f32_data((h * kv) as usize, 4),
    );
    b.tensor(
        "blk.0.attn_v.weight",
        &[h, kv],
        0,
        f32_data((h * kv) as usize, 5),
    );
    b.tensor(
        "blk.0.attn_output.weight",
        &[h, h],
        0,
        f32_data((h * h) as usize, 6),
    );
    b.tensor("blk.0.ffn_norm.weight", &[h], 0, f32_data(h as usize, 7));
    b.tensor(
        "blk.0.ffn_gate.weight",
        &[h, ff],
        0,
        f32_data((h * ff) as usize, 8),
    );
    b.tensor(
        "blk.0.ffn_up.weight",
        &[h, ff],
        0,
        f32_data((h * ff) as usize, 9),
    );
    b.tensor(
        "blk.0.ffn_down.weight",
        &[ff, h],
        2,
        q4_0_data((h * ff) as usize),
    );
    b.finish()
}

/// Edge values for header integers (written truncated to the field's width): small counts
/// and type ids, the alignment, and the powers of two and maxima of u32 and u64.
#[rustfmt::skip]
const EDGES: [u64; 33] = [
    0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 12, 13, 14, 15, 16, 30, 31, 32, 33, 64, 255, 256, 4096,
    0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 1 << 32, 1 << 40, 1 << 60, 1 << 63, u64::MAX,
    u64::MAX - 7, u64::MAX / 24,
];

pub fn edge_value() -> impl Strategy<Value = u64> {
    prop_oneof![prop::sample::select(&EDGES[..]), 0u64..300, any::<u64>()]
}

/// One change to a GGUF file.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Set header integer field `field` (index mod the field count) to `value`.
    SetField { field: usize, value: u64 },
    /// Add `delta` to a header integer field.
    Nudge { field: usize, delta: i8 },
    /// XOR the byte at `pos` (mod the header length) with `xor`.
    FlipHeaderByte { pos: usize, xor: u8 },
    /// Write `value` (8 bytes) at `pos` (mod the header length).
    Write64 { pos: usize, value: u64 },
    /// Cut the file to `per_mille`‰ of its length.
    Truncate { per_mille: u16 },
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), edge_value()).prop_map(|(field, value)| Mutation::SetField { field, value }),
        2 => (any::<usize>(), any::<i8>()).prop_map(|(field, delta)| Mutation::Nudge { field, delta }),
        2 => (any::<usize>(), 1u8..=255).prop_map(|(pos, xor)| Mutation::FlipHeaderByte { pos, xor }),
        1 => (any::<usize>(), edge_value()).prop_map(|(pos, value)| Mutation::Write64 { pos, value }),
        1 => (0u16..1000).prop_map(|per_mille| Mutation::Truncate { per_mille }),
    ]
}

/// Applies `mutations` to `bytes` whose header is `header_len` bytes with integer `fields`
/// (empty: field mutations act as byte writes).
pub fn apply(bytes: &[u8], fields: &[Field], header_len: usize, mutations: &[Mutation]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let write = |b: &mut Vec<u8>, at: usize, width: usize, v: u64| {
        if at + width <= b.len() {
            b[at..at + width].copy_from_slice(&v.to_le_bytes()[..width]);
        }
    };
    for m in mutations {
        match *m {
            Mutation::SetField { field, value } if !fields.is_empty() => {
                let f = &fields[field % fields.len()];
                write(&mut b, f.at, f.width, value);
            }
            Mutation::Nudge { field, delta } if !fields.is_empty() => {
                let f = &fields[field % fields.len()];
                if f.at + f.width <= b.len() {
                    let mut v = [0u8; 8];
                    v[..f.width].copy_from_slice(&b[f.at..f.at + f.width]);
                    let x = u64::from_le_bytes(v).wrapping_add(delta as i64 as u64);
                    write(&mut b, f.at, f.width, x);
                }
            }
            Mutation::SetField { field: pos, value } | Mutation::Write64 { pos, value } => {
                write(&mut b, pos % header_len.max(1), 8, value);
            }
            Mutation::Nudge { field: pos, delta } => {
                let at = pos % header_len.max(1);
                if at < b.len() {
                    b[at] = b[at].wrapping_add(delta as u8);
                }
            }
            Mutation::FlipHeaderByte { pos, xor } => {
                let at = pos % header_len.max(1);
                if at < b.len() {
                    b[at] ^= xor;
                }
            }
            Mutation::Truncate { per_mille } => {
                let len = b.len() * per_mille as usize / 1000;
                b.truncate(len);
            }
        }
    }
    b
}

/// Loads `bytes` as a `.gguf` file (written to `dir`); any result but a panic is fine.
fn load(dir: &Path, bytes: &[u8]) -> Result<(), String> {
    let path = dir.join("m.gguf");
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    // Parse alone first (the header checks), then the whole load.
    let _ = gguf::parse(bytes, &path);
    let r = try_load(&path).map(|_| ());
    crate::verbose(&r);
    r
}

/// Byte length of the header and tensor table of a GGUF file (where its data starts).
fn header_len(bytes: &[u8]) -> usize {
    let g = gguf::parse(bytes, Path::new("x.gguf")).expect("a valid GGUF");
    g.data.as_ptr() as usize - bytes.as_ptr() as usize
}

#[test]
fn the_built_gguf_loads_and_the_fixture_parses() {
    // The fuzz starts from valid files: the built one loads as a whole (its tokenizer
    // round-trips "ab", which the one merge joins into one token: id 3).
    let dir = tempfile::tempdir().unwrap();
    let (bytes, fields) = small_llama();
    assert!(fields.len() > 60, "{}", fields.len());
    assert!(
        fields
            .iter()
            .any(|f| f.what == "n_tensors" && f.at == 8 && f.width == 8)
    );
    let path = dir.path().join("m.gguf");
    std::fs::write(&path, &bytes).unwrap();
    let m = try_load(&path).unwrap();
    assert_eq!(m.model.config.vocab_size, 7);
    assert_eq!(m.tokenizer.encode_plain("ab").unwrap(), vec![3]);
    let fixture = std::fs::read(crate::repo_path("tests/fixtures/tiny-llama/tiny.gguf")).unwrap();
    assert!(header_len(&fixture) > 1000);
}

#[test]
fn fuzz_gguf_built_header_fields() {
    let (bytes, fields) = small_llama();
    let hl = header_len(&bytes);
    let dir = tempfile::tempdir().unwrap();
    fuzz(
        "gguf_built",
        1,
        prop::collection::vec(mutation(), 1..4),
        |muts| {
            let b = apply(&bytes, &fields, hl, &muts);
            let _ = load(dir.path(), &b);
            Ok(())
        },
    );
}

#[test]
fn fuzz_gguf_fixture_bytes() {
    let bytes = std::fs::read(crate::repo_path("tests/fixtures/tiny-llama/tiny.gguf")).unwrap();
    let hl = header_len(&bytes);
    let dir = tempfile::tempdir().unwrap();
    fuzz(
        "gguf_fixture",
        4,
        prop::collection::vec(mutation(), 1..4),
        |muts| {
            let b = apply(&bytes, &[], hl, &muts);
            let _ = load(dir.path(), &b);
            Ok(())
        },
    );
}

#[test]
fn fuzz_gguf_random_bytes() {
    // Random bytes behind a valid magic and version.
    fuzz(
        "gguf_random",
        1,
        prop::collection::vec(any::<u8>(), 0..512),
        |tail| {
            let mut b = b"GGUF\x03\0\0\0".to_vec();
            b.extend(tail);
            let _ = gguf::parse(&b, Path::new("r.gguf"));
            Ok(())
        },
    );
}
