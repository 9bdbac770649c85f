//! Structured mutation of JSON documents: pick a node of a valid document and replace it with
//! an edge value (given as raw JSON text, so values serde_json cannot hold, such as `1e400`,
//! can be written), delete it, or add a key.

use proptest::prelude::*;
use serde_json::Value;

/// Raw JSON text of an edge value.
pub fn raw_value() -> impl Strategy<Value = String> {
    let fixed: Vec<String> = [
        "0",
        "-1",
        "1",
        "2",
        "3",
        "4",
        "7",
        "16",
        "63",
        "64",
        "65",
        "128",
        "4294967295",
        "4294967296",
        "1099511627776",
        "9007199254740993",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "1e400",
        "-1e400",
        "1e-400",
        "0.0",
        "-0.0",
        "0.5",
        "1e308",
        "null",
        "true",
        "false",
        "\"\"",
        "\"llama\"",
        "\"silu\"",
        "\"llama3\"",
        "\"default\"",
        "\"F32\"",
        "\"F16\"",
        "\"BF16\"",
        "\"I64\"",
        "\"U8\"",
        "\"length\"",
        "\"eos\"",
        "\"math\"",
        "\"bio\"",
        "\"code\"",
        "\"medicine\"",
        "\"independent\"",
        "\"dependent\"",
        "\"halt\"",
        "\"<|im_end|>\"",
        "\"\\u0000\"",
        "\"\\ud800\"",
        "[]",
        "[0]",
        "[1,2]",
        "[18446744073709551615]",
        "[0,18446744073709551615]",
        "{}",
        "{\"rope_type\":\"llama3\",\"factor\":0.0,\"low_freq_factor\":4.0,\"high_freq_factor\":1.0,\"original_max_position_embeddings\":0}",
        "{\"text\":\"x\",\"start\":5,\"end\":2,\"correct\":true}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    prop_oneof![
        6 => prop::sample::select(fixed),
        1 => any::<i64>().prop_map(|i| i.to_string()),
        1 => any::<u64>().prop_map(|i| i.to_string()),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| f.to_string()),
        1 => any::<String>().prop_map(|s| Value::String(s).to_string()),
        1 => (1usize..300).prop_map(|d| format!("{}{}", "[".repeat(d), "]".repeat(d))),
        1 => (1usize..300).prop_map(|d| format!("{}1{}", "{\"a\":".repeat(d), "}".repeat(d))),
    ]
}

/// One change to a JSON document.
#[derive(Debug, Clone)]
pub enum Edit {
    /// Replace node `node` (index mod the node count, document order) with raw JSON.
    Set(usize, String),
    /// Delete node `node` (the root is left alone).
    Remove(usize),
    /// Add or replace key `key` of object node `node` (not an object: ignored).
    Insert(usize, String, String),
}

/// Keys to add: the given ones plus random text.
pub fn edit(keys: &'static [&'static str]) -> impl Strategy<Value = Edit> {
    let key = prop_oneof![
        4 => prop::sample::select(keys).prop_map(str::to_string),
        1 => "\\PC{0,12}",
    ];
    prop_oneof![
        5 => (any::<usize>(), raw_value()).prop_map(|(n, v)| Edit::Set(n, v)),
        2 => any::<usize>().prop_map(Edit::Remove),
        3 => (any::<usize>(), key, raw_value()).prop_map(|(n, k, v)| Edit::Insert(n, k, v)),
    ]
}

fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let k = k.replace('~', "~0").replace('/', "~1");
                pointers(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// `doc` with `edits` applied, as JSON text.
pub fn mutate(doc: &Value, edits: &[Edit]) -> String {
    let mut doc = doc.clone();
    let mut raws: Vec<String> = Vec::new();
    let mut placeholder = |raw: &str| {
        raws.push(raw.to_string());
        Value::String(format!("\u{1}RAW{}\u{1}", raws.len() - 1))
    };
    for e in edits {
        let mut all = Vec::new();
        pointers(&doc, String::new(), &mut all);
        match e {
            Edit::Set(n, raw) => {
                let p = &all[n % all.len()];
                let v = placeholder(raw);
                if let Some(slot) = doc.pointer_mut(p) {
                    *slot = v;
                }
            }
            Edit::Remove(n) => {
                let p = &all[n % all.len()];
                if let Some((parent, last)) = p.rsplit_once('/') {
                    let key = last.replace("~1", "/").replace("~0", "~");
                    match doc.pointer_mut(parent) {
                        Some(Value::Object(m)) => {
                            m.remove(&key);
                        }
                        Some(Value::Array(a)) => {
                            if let Ok(i) = key.parse::<usize>()
                                && i < a.len()
                            {
                                a.remove(i);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Edit::Insert(n, key, raw) => {
                let p = &all[n % all.len()];
                let v = placeholder(raw);
                if let Some(Value::Object(m)) = doc.pointer_mut(p) {
                    m.insert(key.clone(), v);
                }
            }
        }
    }
    let mut text = doc.to_string();
    for (i, raw) in raws.iter().enumerate() {
        text = text.replace(&format!("\"\\u0001RAW{i}\\u0001\""), raw);
    }
    text
}

#[test]
fn mutate_writes_raw_values_and_removes_keys() {
    let doc: Value = serde_json::from_str(r#"{"a":1,"b":[2,3]}"#).unwrap();
    // Nodes in order: "", /a, /b, /b/0, /b/1.
    assert_eq!(
        mutate(&doc, &[Edit::Set(1, "1e400".into())]),
        r#"{"a":1e400,"b":[2,3]}"#
    );
    assert_eq!(mutate(&doc, &[Edit::Remove(3)]), r#"{"a":1,"b":[3]}"#);
    assert_eq!(
        mutate(&doc, &[Edit::Insert(0, "c".into(), "null".into())]),
        r#"{"a":1,"b":[2,3],"c":null}"#
    );
}
