#!/usr/bin/env python3
"""Check a `halt-llm export --to gguf` file with llama.cpp's own reader (the `gguf` package,
gguf-py from the llama.cpp repository), independently of the project's Rust code.

    python3 tests/reference/check_gguf_export.py EXPORT.gguf SOURCE TYPE

SOURCE is the model that was exported: a Hugging Face folder (config.json, model.safetensors,
tokenizer.json, tokenizer_config.json) or a GGUF file. TYPE is f32, f16 or q8_0.

Checks, each an assertion naming what differs:
- metadata: general.architecture = llama, general.file_type, the llama.* hyper-parameters from
  the source's config, tokenizer.ggml.model = gpt2, tokens / merges / token types / BOS / EOS /
  add_bos_token and the chat template equal to the source's;
- tensors: exactly llama.cpp's names for the model, ne = HF shape reversed, norms F32 and
  matrices of TYPE (F16 where a row is not a whole number of Q8_0 blocks);
- values: every tensor dequantized by gguf.quants equals the source's weights, with attn_q /
  attn_k in llama.cpp's row order (convert_hf_to_gguf.py LlamaModel.permute, applied here to
  the HF rows); exact for f32, within half-precision rounding for f16, within half a Q8_0 step
  for q8_0.

Prints "ok: N tensors, M metadata keys" and exits 0 when everything holds.
"""

import json
import os
import struct
import sys

import numpy as np
from gguf import GGMLQuantizationType as QT
from gguf import GGUFReader
from gguf.quants import dequantize


def permute(w, n_head):
    """convert_hf_to_gguf.py LlamaModel.permute (HF -> GGUF row order)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def read_safetensors_f32(path):
    """The F32 tensors of a safetensors file (8-byte header length, JSON header, raw data)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: dtype {info['dtype']}"
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"])
    return out


def field(reader, key):
    f = reader.fields.get(key)
    if f is None:
        return None
    return f.contents()


def hf_source(path):
    """(config dict, tokenizer facts, {gguf name: weights in GGUF row order})."""
    cfg = json.load(open(os.path.join(path, "config.json")))
    tok = json.load(open(os.path.join(path, "tokenizer.json")))
    tcfg_path = os.path.join(path, "tokenizer_config.json")
    tcfg = json.load(open(tcfg_path)) if os.path.exists(tcfg_path) else {}
    vocab = dict(tok["model"]["vocab"])
    types = {}
    for t in tok.get("added_tokens", []):
        vocab[t["content"]] = t["id"]
        types[t["id"]] = 3 if t.get("special") else 4
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]

    def tok_name(k):
        v = tcfg.get(k)
        return v.get("content") if isinstance(v, dict) else v

    facts = {
        "tokens": tokens,
        "merges": merges,
        "token_type": [types.get(i, 1) for i in range(len(tokens))],
        "bos": vocab.get(tok_name("bos_token")),
        "eos": vocab.get(tok_name("eos_token")),
        "add_bos": bool(tcfg.get("add_bos_token", False)),
        "chat_template": tcfg.get("chat_template"),
    }
    n_head = cfg["num_attention_heads"]
    n_kv = cfg.get("num_key_value_heads", n_head)
    weights = {}
    names = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
             "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
             "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down"}
    for name, w in read_safetensors_f32(os.path.join(path, "model.safetensors")).items():
        if name == "model.embed_tokens.weight":
            weights["token_embd.weight"] = w
        elif name == "model.norm.weight":
            weights["output_norm.weight"] = w
        elif name == "lm_head.weight":
            weights["output.weight"] = w
        else:
            _, _, i, *rest = name.split(".")
            part = ".".join(rest[:-1])
            if part == "self_attn.q_proj":
                w = permute(w, n_head)
            elif part == "self_attn.k_proj":
                w = permute(w, n_kv)
            weights[f"blk.{i}.{names[part]}.weight"] = w
    hp = {
        "llama.embedding_length": cfg["hidden_size"],
        "llama.block_count": cfg["num_hidden_layers"],
        "llama.feed_forward_length": cfg["intermediate_size"],
        "llama.attention.head_count": n_head,
        "llama.attention.head_count_kv": n_kv,
        "llama.context_length": cfg["max_position_embeddings"],
        "llama.vocab_size": cfg["vocab_size"],
    }
    hpf = {"llama.rope.freq_base": cfg.get("rope_theta", 10000.0),
           "llama.attention.layer_norm_rms_epsilon": cfg["rms_norm_eps"]}
    return hp, hpf, facts, weights


def gguf_source(path):
    r = GGUFReader(path)
    facts = {
        "tokens": field(r, "tokenizer.ggml.tokens"),
        "merges": field(r, "tokenizer.ggml.merges"),
        "token_type": field(r, "tokenizer.ggml.token_type"),
        "bos": field(r, "tokenizer.ggml.bos_token_id"),
        "eos": field(r, "tokenizer.ggml.eos_token_id"),
        "add_bos": bool(field(r, "tokenizer.ggml.add_bos_token") or False),
        "chat_template": field(r, "tokenizer.chat_template"),
    }
    keys = ["llama.embedding_length", "llama.block_count", "llama.feed_forward_length",
            "llama.attention.head_count", "llama.attention.head_count_kv", "llama.context_length"]
    hp = {k: field(r, k) for k in keys}
    hpf = {k: field(r, k) for k in ["llama.rope.freq_base", "llama.attention.layer_norm_rms_epsilon"]}
    weights = {}
    for t in r.tensors:
        shape = [int(x) for x in reversed(t.shape)]
        weights[t.name] = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(shape)
    return hp, hpf, facts, weights


def main():
    out, source, ty = sys.argv[1], sys.argv[2], sys.argv[3]
    want_type = {"f32": QT.F32, "f16": QT.F16, "q8_0": QT.Q8_0}[ty]
    hp, hpf, facts, weights = (gguf_source if source.endswith(".gguf") else hf_source)(source)
    r = GGUFReader(out)

    def check(cond, what):
        if not cond:
            sys.exit(f"FAIL: {what}")

    check(field(r, "general.architecture") == "llama", "general.architecture")
    check(field(r, "general.file_type") == {"f32": 0, "f16": 1, "q8_0": 7}[ty], "general.file_type")
    for k, v in hp.items():
        check(field(r, k) == v, f"{k}: {field(r, k)} != {v}")
    for k, v in hpf.items():
        check(abs(field(r, k) - v) <= 1e-6 * abs(v), f"{k}: {field(r, k)} != {v}")
    check(field(r, "tokenizer.ggml.model") == "gpt2", "tokenizer.ggml.model")
    check(list(field(r, "tokenizer.ggml.tokens")) == list(facts["tokens"]), "tokenizer.ggml.tokens")
    check(list(field(r, "tokenizer.ggml.merges")) == list(facts["merges"]), "tokenizer.ggml.merges")
    check(list(field(r, "tokenizer.ggml.token_type")) == list(facts["token_type"]), "token_type")
    check(field(r, "tokenizer.ggml.bos_token_id") == facts["bos"], "bos_token_id")
    check(field(r, "tokenizer.ggml.eos_token_id") == facts["eos"], "eos_token_id")
    check(bool(field(r, "tokenizer.ggml.add_bos_token")) == facts["add_bos"], "add_bos_token")
    if facts["chat_template"] is not None:
        check(field(r, "tokenizer.chat_template") == facts["chat_template"], "tokenizer.chat_template")

    got = {t.name: t for t in r.tensors}
    want_names = set(weights) - {"rope_freqs.weight"}
    check(set(got) - {"rope_freqs.weight"} == want_names,
          f"tensor names: extra {sorted(set(got) - want_names)}, missing {sorted(want_names - set(got))}")
    for name, w in weights.items():
        if name not in got:
            continue
        t = got[name]
        check([int(x) for x in t.shape] == list(reversed(w.shape)), f"{name}: ne {list(t.shape)}")
        if w.ndim == 1:
            expect = QT.F32
        elif want_type == QT.Q8_0 and w.shape[-1] % 32:
            expect = QT.F16
        else:
            expect = want_type
        check(t.tensor_type == expect, f"{name}: type {t.tensor_type.name}, expected {expect.name}")
        v = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(w.shape)
        if t.tensor_type == QT.F32:
            bound = np.zeros_like(w)
        elif t.tensor_type == QT.F16:
            bound = np.abs(w) * 2.0**-11 + 2.0**-24
        else:  # Q8_0: half a step of each block's scale max|x|/127, plus the f16 scale's rounding
            blocks = np.abs(w.reshape(-1, 32)).max(axis=1, keepdims=True) / 127.0
            bound = (np.broadcast_to(blocks, (blocks.shape[0], 32)).reshape(w.shape) * (0.5 + 128 * 2.0**-11))
        err = np.abs(v - w) - bound
        check(err.max() <= 1e-7, f"{name}: values differ by up to {float(np.abs(v - w).max())}")
    print(f"ok: {len(r.tensors)} tensors, {len(r.fields)} metadata keys")


if __name__ == "__main__":
    main()
