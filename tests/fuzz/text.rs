//! Chat templates (minijinja) and the tokenizer on arbitrary text: a template is compiled and
//! rendered with arbitrary messages; compiling may fail and rendering may fail, but neither
//! may panic, hang or allocate without a bound (format widths, indents, repeated strings).
//! The tokenizer encodes and decodes arbitrary Unicode.

use std::sync::OnceLock;

use halt_llm::chat::{ChatTemplate, Message};
use halt_llm::model::load::gguf;
use halt_llm::tokenizer::Tokenizer;
use proptest::prelude::*;

use crate::fuzz;

/// Pieces of Jinja that templates are glued from.
const PIECES: &[&str] = &[
    "{{ ",
    " }}",
    "{% ",
    " %}",
    "{# ",
    " #}",
    "{%- ",
    " -%}",
    "for m in messages",
    "endfor",
    "if ",
    "else",
    "elif ",
    "endif",
    "set x = ",
    "x",
    "message['content']",
    "messages[0]['role']",
    "m.content",
    "m['role']",
    "loop.index",
    "loop.first",
    "range(3)",
    "range(100000)",
    "range(-5)",
    "bos_token",
    "eos_token",
    "add_generation_prompt",
    "raise_exception('no')",
    "'a' * 3",
    "[1, 2] * 3",
    "|length",
    "|tojson",
    "|indent(4)",
    "|indent(99999999999999)",
    "|trim",
    "|upper",
    "|list",
    "|join(',')",
    "|first",
    "|last",
    "|reverse",
    "|sort",
    "|default('d')",
    "|int",
    "|float",
    "|string",
    "|replace('a', 'bb')",
    ".strip()",
    ".split(' ')",
    ".startswith('<')",
    ".endswith('>')",
    ".replace('', 'xy')",
    ".format(1)",
    "'{:>99999999999999}'.format(1)",
    "'{:099999999999999}'.format(1)",
    "'%99999999999999d'|format(1)",
    "'%-99999999999999s'|format('a')",
    "macro f(a)",
    "endmacro",
    "f(1)",
    "caller()",
    "call f(2)",
    "endcall",
    "namespace(a=1)",
    "ns.a",
    "~",
    " + ",
    " - ",
    " * ",
    " / ",
    " // ",
    " % ",
    " ** ",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "'",
    "\"",
    " ",
    "\n",
    "1",
    "0",
    "-1",
    "999999999999999999999999999999",
    "1e400",
    "None",
    "none",
    "true",
    "false",
    "loop.cycle('a', 'b')",
    "recursive",
    "loop(m)",
    "break",
    "continue",
    "filter upper",
    "endfilter",
    " is defined",
    " is none",
    "not ",
    " in ",
    " and ",
    " or ",
    "<|im_start|>",
    "<|im_end|>",
    "\u{E000}0\u{E001}",
    "\u{0}",
];

/// Well-formed template statements: text, output, loops (bounded), conditions, sets.
fn statement() -> impl Strategy<Value = String> {
    let expr = prop_oneof![
        Just("m['content']".to_string()),
        Just("m.role".to_string()),
        Just("bos_token".to_string()),
        Just("loop.index0".to_string()),
        Just("'%99999999999999d'|format(1)".to_string()),
        Just("'{:>99999999999999}'.format(1)".to_string()),
        Just("m['content']|indent(99999999999999)".to_string()),
        Just("m['content'].replace('', m['content'])".to_string()),
        Just("('ab' * 1000).replace('', 'cd' * 1000)".to_string()),
        Just("m['content'] * 1000".to_string()),
        Just("messages|tojson".to_string()),
        Just("m['content'].split('')".to_string()),
        Just("m['content'][::-1]".to_string()),
        Just("m['content'][99999999999999999999:]".to_string()),
        Just("(messages|length) // 0".to_string()),
        Just("(messages|length) % 0".to_string()),
        Just("2 ** 99999".to_string()),
        Just("9223372036854775807 + 1".to_string()),
        Just("range(100000)|list|length".to_string()),
        Just("raise_exception(m['content'])".to_string()),
        "[a-z_]{1,6}",
    ];
    let leaf = prop_oneof![
        "[^{}%#]{0,8}",
        expr.clone().prop_map(|e| format!("{{{{ {e} }}}}")),
        expr.clone()
            .prop_map(|e| format!("{{% set x = {e} %}}{{{{ x }}}}")),
    ];
    leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat()),
            (inner.clone(), 0u32..40).prop_map(|(b, n)| format!(
                "{{% for i in range({n}) %}}{b}{{% endfor %}}"
            )),
            inner
                .clone()
                .prop_map(|b| format!("{{% for m in messages %}}{b}{{% endfor %}}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!(
                "{{% if add_generation_prompt %}}{a}{{% else %}}{b}{{% endif %}}"
            )),
            inner.prop_map(|b| format!(
                "{{% macro g(m) %}}{b}{{% endmacro %}}{{% for m in messages %}}{{{{ g(m) }}}}{{% endfor %}}"
            )),
        ]
    })
}

/// A chat template: glued pieces (mostly not compiling), structured statements, the real one.
pub fn template() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::collection::vec(
            prop_oneof![4 => prop::sample::select(PIECES).prop_map(str::to_string), 1 => "\\PC{0,4}"],
            0..30,
        )
        .prop_map(|v| v.concat()),
        3 => prop::collection::vec(statement(), 1..4).prop_map(|v| v.concat()),
        1 => Just(halt_llm::chat::CHATML.to_string()),
    ]
}

/// Arbitrary Unicode with the characters that break text handling: combining marks, RTL,
/// emoji sequences, NUL, private-use markers, lone surrogates' replacements, CRLF.
pub fn unicode() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => "\\PC{0,6}",
        2 => any::<char>().prop_map(String::from),
        3 => prop::sample::select(vec![
            "\u{0301}", "e\u{0301}\u{0302}", "\u{202E}", "\u{200F}", "\u{200D}", "عربي", "עברית",
            "👍🏽", "👨‍👩‍👧", "🇫🇷", "\0", "\u{FEFF}", "\u{FFFD}", "\u{E000}", "\u{E001}", "\r\n",
            "\u{2028}", "\t", " ", "\n", "\n\n", "<|im_end|>", "<|im_start|>", "ab", "Ġ",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..30).prop_map(|v| v.concat())
}

fn message() -> impl Strategy<Value = Message> {
    (
        prop::sample::select(vec!["system", "user", "assistant", "tool", ""]),
        unicode(),
    )
        .prop_map(|(r, c)| Message::new(r, c))
}

#[test]
fn fuzz_chat_template() {
    let strategy = (
        template(),
        prop::collection::vec(message(), 0..4),
        any::<bool>(),
    );
    fuzz(
        "chat_template",
        1,
        strategy,
        |(src, messages, gen_prompt)| {
            let compiled = ChatTemplate::new(&src, "<s>", "</s>");
            if let Ok(t) = &compiled {
                crate::verbose(
                    &t.render(&messages, gen_prompt)
                        .map_err(|e| format!("{e:#}")),
                );
                let _ = t.clone();
            }
            Ok(())
        },
    );
}

/// GPT-2's byte-to-character table: the 256 byte tokens of a byte-level BPE.
fn byte_tokens() -> Vec<String> {
    let mut bs: Vec<u32> = (u32::from(b'!')..=u32::from(b'~'))
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    let mut pairs: Vec<(u32, u32)> = bs.into_iter().zip(cs).collect();
    pairs.sort();
    pairs
        .into_iter()
        .map(|(_, c)| char::from_u32(c).unwrap().to_string())
        .collect()
}

/// A byte-level BPE with every byte, two merges and ChatML's special tokens, rebuilt from GGUF
/// metadata like a checkpoint's: it can encode any text, so decoding gives the text back.
fn tokenizer() -> &'static Tokenizer {
    static TOK: OnceLock<Tokenizer> = OnceLock::new();
    TOK.get_or_init(|| {
        let mut tokens = byte_tokens();
        tokens.extend(["Ġt", "th", "<|im_start|>", "<|im_end|>"].map(String::from));
        let types: Vec<i32> = (0..tokens.len())
            .map(|i| if i + 2 >= tokens.len() { 3 } else { 1 })
            .collect();
        let mut b = crate::gguf::Builder::default();
        b.kv_str("tokenizer.ggml.model", "gpt2");
        b.kv_str("tokenizer.ggml.pre", "smollm");
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        b.kv_str_arr("tokenizer.ggml.tokens", &refs);
        b.kv_str_arr("tokenizer.ggml.merges", &["Ġ t", "t h"]);
        b.kv_i32_arr("tokenizer.ggml.token_type", &types);
        b.kv_u32("tokenizer.ggml.eos_token_id", (tokens.len() - 1) as u32);
        let (bytes, _) = b.finish();
        let g = gguf::parse(&bytes, std::path::Path::new("tok.gguf")).unwrap();
        Tokenizer::from_gguf(&g).unwrap()
    })
}

#[test]
fn the_byte_tokenizer_round_trips_by_hand() {
    let tok = tokenizer();
    // " t" is one token (the merge "Ġ t"), "h" and "x" bytes of their own.
    let ids = tok.encode_plain(" thx").unwrap();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(tok.decode(&ids, false).unwrap(), " thx");
    assert_eq!(tok.token_to_id("<|im_end|>"), Some(259));
}

#[test]
fn fuzz_tokenizer_round_trip() {
    let tok = tokenizer();
    let strategy = (unicode(), prop::collection::vec(message(), 0..4));
    fuzz("tokenizer", 1, strategy, |(text, messages)| {
        let ids = tok
            .encode_plain(&text)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Byte-level BPE: plain text decodes back to itself, special-token text included.
        let back = tok
            .decode(&ids, false)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&back, &text);
        let mut stream = tok.decode_stream(false);
        let mut streamed = String::new();
        for &id in &ids {
            if let Some(s) = stream
                .step(id)
                .map_err(|e| TestCaseError::fail(e.to_string()))?
            {
                streamed.push_str(&s);
            }
        }
        // The stream holds back a trailing U+FFFD (it cannot tell it from an unfinished
        // UTF-8 sequence); everything else comes out.
        prop_assert!(
            text.starts_with(&streamed) && text[streamed.len()..].chars().all(|c| c == '\u{FFFD}'),
            "streamed {:?}",
            streamed
        );
        let (ids, spans) = tok
            .encode_chat_spans(&messages, true)
            .map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
        prop_assert_eq!(spans.len(), messages.len());
        for s in &spans {
            prop_assert!(s.start <= s.end && s.end <= ids.len(), "{s:?}");
        }
        // Unknown ids are errors, not panics.
        let _ = tok.decode(&[u32::MAX, 0, 70_000], true);
        let _ = tok.decode_stream(true).step(u32::MAX);
        Ok(())
    });
}
