//! Hugging Face folders: the tiny fixture (`tests/fixtures/tiny-llama/hf`) with one file
//! mutated at a time: `config.json` (edge values for every field: zero, negative, huge, wrong
//! types, heads that do not divide), the safetensors header (its 8-byte length, dtypes,
//! shapes, data offsets, the JSON itself), `tokenizer.json` and `tokenizer_config.json`;
//! loaded with `load_model`. An error is fine; a panic, a hang or an allocation sized by the
//! config before it is checked against the weights is not.

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

use crate::fuzz;
use crate::json::{Edit, edit, mutate, raw_value};
use crate::support::{hf_copy, hf_fixture, try_load};

/// The fixture's JSON file `name`.
fn read_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(hf_fixture().join(name)).unwrap()).unwrap()
}

/// Loads the folder; any result but a panic is fine.
fn load(dir: &Path) {
    crate::verbose(&try_load(dir).map(|_| ()));
}

const CONFIG_KEYS: &[&str] = &[
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "head_dim",
    "rms_norm_eps",
    "rope_theta",
    "rope_scaling",
    "max_position_embeddings",
    "tie_word_embeddings",
    "bos_token_id",
    "eos_token_id",
    "model_type",
    "hidden_act",
    "attention_bias",
    "mlp_bias",
    "rope_freq_factors",
];

#[test]
fn the_fixture_loads() {
    let dir = hf_copy();
    try_load(dir.path()).unwrap();
}

#[test]
fn fuzz_hf_config_json() {
    let base = read_json("config.json");
    let dir = hf_copy();
    let size = prop::sample::select(vec![
        "0",
        "1",
        "2",
        "3",
        "5",
        "64",
        "4096",
        "4294967296",
        "1099511627776",
        "18446744073709551615",
        "-4",
        "1e400",
    ]);
    let strategy = prop_oneof![
        // Size fields set to edge numbers, several at once.
        3 => prop::collection::vec(
            (prop::sample::select(&CONFIG_KEYS[..7]), size),
            1..4,
        )
        .prop_map(|kvs| {
            kvs.into_iter()
                .map(|(k, v)| Edit::Insert(0, k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        }),
        2 => prop::collection::vec(edit(CONFIG_KEYS), 1..4),
        1 => prop::collection::vec(
            (prop::sample::select(CONFIG_KEYS), raw_value())
                .prop_map(|(k, v)| Edit::Insert(0, k.to_string(), v)),
            1..3,
        ),
    ];
    fuzz("hf_config_json", 2, strategy, |edits| {
        std::fs::write(dir.path().join("config.json"), mutate(&base, &edits)).unwrap();
        load(dir.path());
        Ok(())
    });
}

/// One change to a safetensors file.
#[derive(Debug, Clone)]
enum StEdit {
    /// The 8-byte header length.
    Length(u64),
    /// A change to the header JSON (re-serialized with a consistent length).
    Header(Edit),
    /// A tensor's `dtype`, `shape` or `data_offsets` (tensor index mod the count).
    Tensor(usize, &'static str, String),
    /// XOR a byte of the header JSON text.
    Flip(usize, u8),
    /// Cut the file to this many ‰.
    Truncate(u16),
}

fn st_edit() -> impl Strategy<Value = StEdit> {
    let shape = prop_oneof![
        prop::sample::select(vec![
            "[]",
            "[0]",
            "[64]",
            "[64,64]",
            "[64,65]",
            "[4096,4096]",
            "[18446744073709551615]",
            "[4294967296,4294967296]",
            "[1,1,1,1,1,1,1,1]",
            "[-1]",
            "null",
        ])
        .prop_map(str::to_string),
        prop::collection::vec(crate::gguf::edge_value(), 0..4).prop_map(|v| format!("{v:?}")),
    ];
    let offsets = prop_oneof![
        prop::sample::select(vec![
            "[0,0]",
            "[0,16384]",
            "[16384,0]",
            "[0,18446744073709551615]",
            "[18446744073709551615,18446744073709551615]",
            "[0]",
            "[]",
            "[0,1,2]",
        ])
        .prop_map(str::to_string),
        (crate::gguf::edge_value(), crate::gguf::edge_value())
            .prop_map(|(a, b)| format!("[{a},{b}]")),
    ];
    let dtype = prop::sample::select(vec![
        "\"F32\"",
        "\"F16\"",
        "\"BF16\"",
        "\"F64\"",
        "\"I64\"",
        "\"U8\"",
        "\"BOOL\"",
        "\"F8_E4M3\"",
        "\"F4\"",
        "\"XX\"",
        "7",
    ])
    .prop_map(str::to_string);
    prop_oneof![
        1 => crate::gguf::edge_value().prop_map(StEdit::Length),
        2 => edit(&["__metadata__", "model.norm.weight", "lm_head.weight", "dtype", "shape", "data_offsets"]).prop_map(StEdit::Header),
        2 => (any::<usize>(), shape).prop_map(|(i, s)| StEdit::Tensor(i, "shape", s)),
        2 => (any::<usize>(), offsets).prop_map(|(i, s)| StEdit::Tensor(i, "data_offsets", s)),
        1 => (any::<usize>(), dtype).prop_map(|(i, s)| StEdit::Tensor(i, "dtype", s)),
        1 => (any::<usize>(), 1u8..=255).prop_map(|(p, x)| StEdit::Flip(p, x)),
        1 => (0u16..1000).prop_map(StEdit::Truncate),
    ]
}

fn apply_st(file: &[u8], edits: &[StEdit]) -> Vec<u8> {
    let n = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let mut header: Value = serde_json::from_slice(&file[8..8 + n]).unwrap();
    let data = &file[8 + n..];
    let mut text = header.to_string();
    let mut length = None;
    let mut flips = Vec::new();
    let mut truncate = None;
    for e in edits {
        match e {
            StEdit::Length(v) => length = Some(*v),
            StEdit::Header(edit) => {
                text = mutate(&header, std::slice::from_ref(edit));
                if let Ok(v) = serde_json::from_str(&text) {
                    header = v;
                }
            }
            StEdit::Tensor(i, field, raw) => {
                let names: Vec<String> = header
                    .as_object()
                    .map(|m| m.keys().filter(|k| *k != "__metadata__").cloned().collect())
                    .unwrap_or_default();
                if names.is_empty() {
                    continue;
                }
                let name = &names[i % names.len()];
                let p = format!("/{}/{field}", name.replace('~', "~0").replace('/', "~1"));
                let mut all = Vec::new();
                collect(&header, String::new(), &mut all);
                if let Some(idx) = all.iter().position(|x| *x == p) {
                    text = mutate(&header, &[Edit::Set(idx, raw.clone())]);
                    if let Ok(v) = serde_json::from_str(&text) {
                        header = v;
                    }
                }
            }
            StEdit::Flip(p, x) => flips.push((*p, *x)),
            StEdit::Truncate(t) => truncate = Some(*t),
        }
    }
    let mut h = text.into_bytes();
    for (p, x) in flips {
        if !h.is_empty() {
            let i = p % h.len();
            h[i] ^= x;
        }
    }
    let mut out = length.unwrap_or(h.len() as u64).to_le_bytes().to_vec();
    out.extend(&h);
    out.extend(data);
    if let Some(t) = truncate {
        out.truncate(out.len() * t as usize / 1000);
    }
    out
}

fn collect(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                collect(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn fuzz_hf_safetensors_header() {
    let file = std::fs::read(hf_fixture().join("model.safetensors")).unwrap();
    // Unchanged, the rewritten file still loads (the edits start from a valid file).
    let dir = hf_copy();
    std::fs::write(dir.path().join("model.safetensors"), apply_st(&file, &[])).unwrap();
    try_load(dir.path()).unwrap();
    fuzz(
        "hf_safetensors",
        2,
        prop::collection::vec(st_edit(), 1..4),
        |edits| {
            std::fs::write(
                dir.path().join("model.safetensors"),
                apply_st(&file, &edits),
            )
            .unwrap();
            load(dir.path());
            Ok(())
        },
    );
}

#[test]
fn fuzz_hf_tokenizer_files() {
    let tok = read_json("tokenizer.json");
    let cfg = read_json("tokenizer_config.json");
    let dir = hf_copy();
    let keys: &'static [&'static str] = &[
        "model",
        "vocab",
        "merges",
        "added_tokens",
        "id",
        "content",
        "type",
        "pre_tokenizer",
        "normalizer",
        "decoder",
        "post_processor",
        "chat_template",
        "bos_token",
        "eos_token",
        "add_bos_token",
        "pattern",
        "Regex",
        "unk_token",
        "dropout",
    ];
    let strategy = (
        any::<bool>(),
        prop::collection::vec(edit(keys), 1..4),
        crate::text::template(),
    );
    fuzz(
        "hf_tokenizer_files",
        2,
        strategy,
        |(which, edits, template)| {
            let (name, base) = if which {
                ("tokenizer.json", &tok)
            } else {
                ("tokenizer_config.json", &cfg)
            };
            let mut text = mutate(base, &edits);
            if !which && edits.len() == 1 {
                let mut c = cfg.clone();
                c["chat_template"] = Value::String(template);
                text = c.to_string();
            }
            std::fs::write(dir.path().join(name), text).unwrap();
            if let Ok(m) = try_load(dir.path()) {
                let msgs = [halt_llm::chat::Message::user("hi <|im_end|> ab")];
                let _ = m.tokenizer.encode_chat(&msgs, true);
                if let Ok(ids) = m.tokenizer.encode("ab c 12") {
                    let _ = m.tokenizer.decode(&ids, true);
                }
            }
            std::fs::copy(hf_fixture().join(name), dir.path().join(name)).unwrap();
            Ok(())
        },
    );
}
