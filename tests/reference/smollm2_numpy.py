#!/usr/bin/env python3
"""Independent NumPy reference for the SmolLM2-135M-Instruct forward pass (GGUF).

Reads the GGUF file with llama.cpp's official `gguf` Python package, dequantizes
every tensor to float32 with `gguf.quants.dequantize`, and runs a Llama forward
pass in the Hugging Face `LlamaForCausalLM` convention (float32 throughout):

  * attn_q / attn_k rows are un-permuted (llama.cpp's convert script permutes
    them from HF's rotate_half layout to the interleaved GGML layout), then
    HF rotate_half RoPE is applied;
  * RMSNorm: x * rsqrt(mean(x^2) + eps) * w;
  * grouped-query attention, causal mask, scale 1/sqrt(head_dim);
  * SwiGLU MLP: down(silu(gate(x)) * up(x));
  * final norm, tied lm head (output.weight if present, else token_embd).

It also contains a tiny byte-level BPE tokenizer built from the GGUF vocab +
merges (pre-tokenizer "smollm": individual digits, then the GPT-2 regex) and
writes test fixtures for other implementations.

Usage:
    python3 -m pip install gguf numpy regex
    python3 tests/reference/smollm2_numpy.py [--gguf PATH] [--out PATH]

Self-checks performed (the script aborts if one fails):
  * token_embd dequantizes to [49152, 576];
  * the gguf package's Q4_1 / Q8_0 dequantization matches a hand-written one;
  * un-permute is the exact inverse of llama.cpp's permute;
  * the HF path (un-permuted weights + rotate_half RoPE) gives the same logits
    as the llama.cpp path (file weights as stored + interleaved/"NORM" RoPE).
"""

import argparse
import json
import math
import os
import sys
import time

import numpy as np

try:
    import gguf
except ImportError:  # pragma: no cover
    sys.exit("pip install gguf numpy regex")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_GGUF = os.path.join(REPO, "models", "cache", "SmolLM2-135M-Instruct.Q4_1.gguf")
DEFAULT_OUT = os.path.join(REPO, "tests", "fixtures", "smollm2_reference.json")

PROMPT = "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n"
PROBE_IDS = [0, 1, 2, 198, 314, 1000, 5000, 12345, 30000, 49151]
N_GREEDY = 12
DEQUANT_TENSORS = [
    "token_embd.weight",
    "blk.0.attn_q.weight",
    "blk.0.attn_k.weight",
    "blk.0.ffn_down.weight",
    "blk.0.attn_norm.weight",
    "output_norm.weight",
]
BIG_ARRAYS = ("tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type")


# --------------------------------------------------------------------------
# GGUF loading
# --------------------------------------------------------------------------

def field_value(field):
    """Python value of a GGUF metadata field (scalars, strings, arrays)."""
    v = field.contents()
    if isinstance(v, (np.generic,)):
        v = v.item()
    if isinstance(v, list):
        v = [x.item() if isinstance(x, np.generic) else x for x in v]
    return v


def field_type_name(field):
    return "/".join(t.name for t in field.types)


def load_gguf(path):
    reader = gguf.GGUFReader(path)
    meta = {}
    meta_types = {}
    for name, field in reader.fields.items():
        meta[name] = field_value(field)
        meta_types[name] = field_type_name(field)
    tensors = {}
    info = {}
    for t in reader.tensors:
        arr = gguf.quants.dequantize(t.data, t.tensor_type)
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        tensors[t.name] = arr
        info[t.name] = {
            "ggml_type": t.tensor_type.name,
            "gguf_shape": [int(x) for x in t.shape],
            "raw": t.data,
        }
    return reader, meta, meta_types, tensors, info


# --------------------------------------------------------------------------
# Hand-written dequantization (cross-check of gguf.quants.dequantize)
# --------------------------------------------------------------------------

def my_dequant_q4_1(raw, n_rows):
    # block: f16 d, f16 m, 16 bytes of nibbles; x[j] = d*lo(q[j]) + m,
    # x[j+16] = d*hi(q[j]) + m
    b = raw.reshape(-1, 20)
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)
    m = b[:, 2:4].copy().view(np.float16).astype(np.float32)
    q = b[:, 4:20]
    lo = (q & 0x0F).astype(np.float32)
    hi = (q >> 4).astype(np.float32)
    x = np.concatenate([lo, hi], axis=1) * d + m
    return x.reshape(n_rows, -1)


def my_dequant_q8_0(raw, n_rows):
    # block: f16 d, 32 x int8; x = d*q
    b = raw.reshape(-1, 34)
    d = b[:, 0:2].copy().view(np.float16).astype(np.float32)
    q = b[:, 2:34].copy().view(np.int8).astype(np.float32)
    return (q * d).reshape(n_rows, -1)


def check_dequant(tensors, info):
    checked = 0
    for name, inf in info.items():
        t = inf["ggml_type"]
        if t not in ("Q4_1", "Q8_0"):
            continue
        raw = np.asarray(inf["raw"]).reshape(-1)
        n_rows = tensors[name].shape[0]
        mine = my_dequant_q4_1(raw, n_rows) if t == "Q4_1" else my_dequant_q8_0(raw, n_rows)
        if not np.array_equal(mine, tensors[name]):
            diff = float(np.max(np.abs(mine - tensors[name])))
            raise AssertionError(f"dequant mismatch for {name} ({t}): max diff {diff}")
        checked += 1
    return checked


# --------------------------------------------------------------------------
# Q/K permutation
# --------------------------------------------------------------------------

def llamacpp_permute(w, n_head):
    """What convert_hf_to_gguf.py does to HF q_proj/k_proj (HF -> GGUF)."""
    out, inp = w.shape
    return w.reshape(n_head, 2, out // n_head // 2, inp).swapaxes(1, 2).reshape(out, inp)


def unpermute(w, n_head):
    """Inverse of llamacpp_permute (GGUF -> HF)."""
    out, inp = w.shape
    return w.reshape(n_head, out // n_head // 2, 2, inp).swapaxes(1, 2).reshape(out, inp)


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------

class Config:
    def __init__(self, meta):
        a = meta["general.architecture"]
        assert a == "llama", a
        self.n_layer = int(meta["llama.block_count"])
        self.d_model = int(meta["llama.embedding_length"])
        self.n_head = int(meta["llama.attention.head_count"])
        self.n_kv_head = int(meta["llama.attention.head_count_kv"])
        self.d_ff = int(meta["llama.feed_forward_length"])
        self.theta = float(meta["llama.rope.freq_base"])
        self.eps = float(meta["llama.attention.layer_norm_rms_epsilon"])
        self.head_dim = self.d_model // self.n_head
        self.rope_dim = int(meta.get("llama.rope.dimension_count", self.head_dim))
        assert self.rope_dim == self.head_dim


class SmolLM2:
    def __init__(self, cfg, tensors, hf_layout=True):
        """hf_layout=True: un-permute q/k and use rotate_half RoPE (HF).
        hf_layout=False: keep file weights and use interleaved RoPE (llama.cpp
        LLAMA_ROPE_TYPE_NORM). Both must produce identical logits."""
        self.cfg = cfg
        self.hf_layout = hf_layout
        self.embd = tensors["token_embd.weight"]
        assert self.embd.shape == (49152, cfg.d_model), self.embd.shape
        self.lm_head = tensors.get("output.weight", self.embd)
        self.out_norm = tensors["output_norm.weight"]
        self.layers = []
        for i in range(cfg.n_layer):
            p = f"blk.{i}."
            wq = tensors[p + "attn_q.weight"]
            wk = tensors[p + "attn_k.weight"]
            if hf_layout:
                wq = unpermute(wq, cfg.n_head)
                wk = unpermute(wk, cfg.n_kv_head)
            L = {
                "attn_norm": tensors[p + "attn_norm.weight"],
                "wq": np.ascontiguousarray(wq),
                "wk": np.ascontiguousarray(wk),
                "wv": tensors[p + "attn_v.weight"],
                "wo": tensors[p + "attn_output.weight"],
                "ffn_norm": tensors[p + "ffn_norm.weight"],
                "w_gate": tensors[p + "ffn_gate.weight"],
                "w_up": tensors[p + "ffn_up.weight"],
                "w_down": tensors[p + "ffn_down.weight"],
            }
            assert L["wq"].shape == (cfg.d_model, cfg.d_model)
            assert L["wk"].shape == (cfg.n_kv_head * cfg.head_dim, cfg.d_model)
            assert L["wv"].shape == (cfg.n_kv_head * cfg.head_dim, cfg.d_model)
            assert L["wo"].shape == (cfg.d_model, cfg.d_model)
            assert L["w_gate"].shape == (cfg.d_ff, cfg.d_model)
            assert L["w_up"].shape == (cfg.d_ff, cfg.d_model)
            assert L["w_down"].shape == (cfg.d_model, cfg.d_ff)
            self.layers.append(L)

    def rmsnorm(self, x, w):
        x = x.astype(np.float32)
        var = np.mean(x * x, axis=-1, keepdims=True)
        return (x * (1.0 / np.sqrt(var + np.float32(self.cfg.eps)))).astype(np.float32) * w

    def rope_tables(self, T):
        d = self.cfg.head_dim
        inv_freq = 1.0 / (self.cfg.theta ** (np.arange(0, d, 2, dtype=np.int64).astype(np.float32) / d))
        inv_freq = inv_freq.astype(np.float32)
        pos = np.arange(T, dtype=np.float32)
        freqs = np.outer(pos, inv_freq).astype(np.float32)  # [T, d/2]
        if self.hf_layout:
            emb = np.concatenate([freqs, freqs], axis=-1)  # [T, d]
        else:
            emb = np.repeat(freqs, 2, axis=-1)  # interleaved pairs
        return np.cos(emb).astype(np.float32), np.sin(emb).astype(np.float32)

    def apply_rope(self, x, cos, sin):
        # x: [H, T, d]
        if self.hf_layout:
            h = x.shape[-1] // 2
            rot = np.concatenate([-x[..., h:], x[..., :h]], axis=-1)  # rotate_half
        else:
            x0 = x[..., 0::2]
            x1 = x[..., 1::2]
            rot = np.stack([-x1, x0], axis=-1).reshape(x.shape)
        return (x * cos + rot * sin).astype(np.float32)

    def forward(self, ids, return_hidden=False):
        cfg = self.cfg
        ids = np.asarray(ids, dtype=np.int64)
        T = len(ids)
        H, KV, d = cfg.n_head, cfg.n_kv_head, cfg.head_dim
        group = H // KV
        x = self.embd[ids].astype(np.float32)  # [T, D]
        cos, sin = self.rope_tables(T)
        mask = np.triu(np.full((T, T), -np.inf, dtype=np.float32), k=1)
        scale = np.float32(1.0 / math.sqrt(d))
        per_layer = []
        for L in self.layers:
            h = self.rmsnorm(x, L["attn_norm"])
            q = (h @ L["wq"].T).reshape(T, H, d).transpose(1, 0, 2)
            k = (h @ L["wk"].T).reshape(T, KV, d).transpose(1, 0, 2)
            v = (h @ L["wv"].T).reshape(T, KV, d).transpose(1, 0, 2)
            q = self.apply_rope(q, cos, sin)
            k = self.apply_rope(k, cos, sin)
            # GQA: query head i uses kv head i // group
            k = np.repeat(k, group, axis=0)
            v = np.repeat(v, group, axis=0)
            s = (q @ k.transpose(0, 2, 1)) * scale + mask  # [H, T, T]
            s = s - s.max(axis=-1, keepdims=True)
            p = np.exp(s)
            p = (p / p.sum(axis=-1, keepdims=True)).astype(np.float32)
            o = (p @ v).transpose(1, 0, 2).reshape(T, H * d)
            x = x + o @ L["wo"].T
            h = self.rmsnorm(x, L["ffn_norm"])
            g = h @ L["w_gate"].T
            u = h @ L["w_up"].T
            a = (g / (1.0 + np.exp(-g))).astype(np.float32) * u
            x = x + a @ L["w_down"].T
            per_layer.append(x)
        hn = self.rmsnorm(x, self.out_norm)
        logits = (hn @ self.lm_head.T).astype(np.float32)
        if return_hidden:
            return logits, hn, per_layer
        return logits


# --------------------------------------------------------------------------
# Byte-level BPE tokenizer from GGUF metadata
# --------------------------------------------------------------------------

def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


class Tokenizer:
    # llama.cpp LLAMA_VOCAB_PRE_TYPE_SMOLLM: first split "\p{N}" (each digit
    # alone), then the GPT-2 regex (with HF's trailing \s+ alternative).
    GPT2_PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

    def __init__(self, meta):
        import regex

        self.re = regex
        self.tokens = meta["tokenizer.ggml.tokens"]
        self.types = meta["tokenizer.ggml.token_type"]
        self.vocab = {t: i for i, t in enumerate(self.tokens)}
        self.ranks = {tuple(m.split(" ", 1)): r for r, m in enumerate(meta["tokenizer.ggml.merges"])}
        self.b2u = bytes_to_unicode()
        self.u2b = {v: k for k, v in self.b2u.items()}
        # control tokens (type 3) are matched verbatim as specials
        self.specials = sorted((self.tokens[i] for i, t in enumerate(self.types) if t == 3), key=len, reverse=True)
        self.digit_re = regex.compile(r"\p{N}")
        self.gpt2_re = regex.compile(self.GPT2_PAT)

    def bpe(self, word):
        parts = list(word)
        while len(parts) > 1:
            best = None
            for i in range(len(parts) - 1):
                r = self.ranks.get((parts[i], parts[i + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, i)
            if best is None:
                break
            i = best[1]
            parts = parts[:i] + [parts[i] + parts[i + 1]] + parts[i + 2:]
        return parts

    def pretokenize(self, text):
        pieces = []
        pos = 0
        chunks = []
        for m in self.digit_re.finditer(text):
            if m.start() > pos:
                chunks.append(text[pos:m.start()])
            chunks.append(m.group())
            pos = m.end()
        if pos < len(text):
            chunks.append(text[pos:])
        for c in chunks:
            pieces.extend(self.gpt2_re.findall(c))
        assert "".join(pieces) == text, (pieces, text)
        return pieces

    def encode_plain(self, text):
        ids = []
        for piece in self.pretokenize(text):
            u = "".join(self.b2u[b] for b in piece.encode("utf-8"))
            for tok in self.bpe(u):
                ids.append(self.vocab[tok])
        return ids

    def encode(self, text, parse_special=True):
        if not parse_special:
            return self.encode_plain(text)
        ids = []
        i = 0
        buf_start = 0
        while i < len(text):
            for s in self.specials:
                if text.startswith(s, i):
                    if i > buf_start:
                        ids.extend(self.encode_plain(text[buf_start:i]))
                    ids.append(self.vocab[s])
                    i += len(s)
                    buf_start = i
                    break
            else:
                i += 1
        if buf_start < len(text):
            ids.extend(self.encode_plain(text[buf_start:]))
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            t = self.tokens[i]
            if self.types[i] == 3:
                out += t.encode("utf-8")
            else:
                out += bytes(self.u2b[c] for c in t)
        return out.decode("utf-8", errors="replace")


# --------------------------------------------------------------------------
# Fixture helpers
# --------------------------------------------------------------------------

def logsumexp(row):
    r = row.astype(np.float64)
    m = r.max()
    return float(m + np.log(np.sum(np.exp(r - m))))


def top_k(row, k=10):
    idx = np.argsort(-row, kind="stable")[:k]
    return [[int(i), float(row[i])] for i in idx]


def jsonable_meta(meta, meta_types):
    out = {}
    for k, v in meta.items():
        if k in BIG_ARRAYS:
            out[k] = {"length": len(v), "first20": v[:20], "gguf_type": meta_types[k]}
        else:
            out[k] = v
    out["_gguf_types"] = {k: meta_types[k] for k in meta}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf", default=DEFAULT_GGUF)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    reader, meta, meta_types, tensors, info = load_gguf(args.gguf)
    t_load = time.perf_counter() - t0
    print(f"loaded + dequantized {len(tensors)} tensors in {t_load:.2f}s")
    assert tensors["token_embd.weight"].shape == (49152, 576), tensors["token_embd.weight"].shape
    n_checked = check_dequant(tensors, info)
    print(f"hand-written Q4_1/Q8_0 dequant matches gguf.quants.dequantize on {n_checked} tensors")

    w = np.random.default_rng(0).standard_normal((192, 7)).astype(np.float32)
    assert np.array_equal(unpermute(llamacpp_permute(w, 3), 3), w)
    assert np.array_equal(llamacpp_permute(unpermute(w, 3), 3), w)

    cfg = Config(meta)
    print(f"config: layers={cfg.n_layer} d={cfg.d_model} heads={cfg.n_head}/{cfg.n_kv_head} "
          f"head_dim={cfg.head_dim} ff={cfg.d_ff} theta={cfg.theta} eps={cfg.eps}")
    print("tied embeddings:", "output.weight" not in tensors)
    model = SmolLM2(cfg, tensors, hf_layout=True)
    tok = Tokenizer(meta)

    # ---- prompt ids: BPE tokenizer, cross-checked with per-token vocab lookup
    prompt_ids = tok.encode(PROMPT)
    manual = ["<|im_start|>", "user", "Ċ", "What", "Ġis", "Ġthe", "Ġcapital", "Ġof", "ĠFrance", "?",
              "<|im_end|>", "Ċ", "<|im_start|>", "ass", "istant", "Ċ"]
    # note: "assistant" is not a single token; the merges give "ass" + "istant"
    assert "assistant" not in tok.vocab
    manual_ids = [tok.vocab[t] for t in manual]
    assert prompt_ids == manual_ids, (prompt_ids, manual_ids)
    assert tok.decode(prompt_ids) == PROMPT
    print("prompt ids:", prompt_ids)
    print("prompt toks:", [tok.tokens[i] for i in prompt_ids])

    # ---- forward + timing
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        logits, hn, per_layer = model.forward(prompt_ids, return_hidden=True)
        times.append(time.perf_counter() - t0)
    print(f"numpy forward, T={len(prompt_ids)}: min {min(times)*1000:.1f} ms "
          f"(runs: {', '.join(f'{t*1000:.1f}' for t in times)} ms)")
    assert np.all(np.isfinite(logits))

    # ---- cross-check: llama.cpp layout (file weights + interleaved rope)
    alt = SmolLM2(cfg, tensors, hf_layout=False)
    logits_alt = alt.forward(prompt_ids)
    max_diff = float(np.max(np.abs(logits_alt - logits)))
    print(f"HF-layout vs llama.cpp-layout logits max |diff| = {max_diff:.3e}")
    assert max_diff < 1e-3, max_diff
    assert np.array_equal(np.argmax(logits_alt, -1), np.argmax(logits, -1))
    del alt

    # ---- greedy decode (full recompute each step, no KV cache)
    seq = list(prompt_ids)
    greedy = []
    greedy_top1_logits = []
    t0 = time.perf_counter()
    for _ in range(N_GREEDY):
        lg = model.forward(seq)[-1]
        nxt = int(np.argmax(lg))
        greedy.append(nxt)
        greedy_top1_logits.append(float(lg[nxt]))
        seq.append(nxt)
    t_greedy = time.perf_counter() - t0
    greedy_text = tok.decode(greedy)
    print(f"greedy ids: {greedy}")
    print(f"greedy text: {greedy_text!r}  ({t_greedy:.2f}s for {N_GREEDY} steps)")
    eos = int(meta["tokenizer.ggml.eos_token_id"])
    first_eos = greedy.index(eos) if eos in greedy else None
    print("first eos index in greedy:", first_eos)

    # ---- tokenizer examples
    examples = {}
    for text in ["Hello world", " 12345"]:
        ids = tok.encode(text, parse_special=False)
        examples[text] = {"ids": ids, "tokens": [tok.tokens[i] for i in ids]}
    examples["<|im_start|>"] = {
        "parse_special_true": {"ids": tok.encode("<|im_start|>", True),
                               "tokens": [tok.tokens[i] for i in tok.encode("<|im_start|>", True)]},
        "parse_special_false_plain_bpe": {"ids": tok.encode("<|im_start|>", False),
                                          "tokens": [tok.tokens[i] for i in tok.encode("<|im_start|>", False)]},
    }
    for k, v in examples.items():
        print("tokenize", repr(k), "->", v)

    # ---- dequant fixtures
    dq = {}
    for name in DEQUANT_TENSORS:
        a = tensors[name]
        dq[name] = {
            "ggml_type": info[name]["ggml_type"],
            "gguf_shape": info[name]["gguf_shape"],
            "numpy_shape": list(a.shape),
            "first16": [float(x) for x in a.reshape(-1)[:16]],
            "sum_f64": float(np.sum(a.astype(np.float64))),
        }

    per_pos = []
    for t in range(len(prompt_ids)):
        row = logits[t]
        per_pos.append({
            "position": t,
            "token_id": prompt_ids[t],
            "top10": top_k(row, 10),
            "logsumexp": logsumexp(row),
            "probe_logits": [float(row[i]) for i in PROBE_IDS],
        })

    from collections import Counter
    type_counts = Counter(v["ggml_type"] for v in info.values())
    types_by_kind = {}
    for n, v in info.items():
        kind = n.split(".", 2)[-1] if n.startswith("blk.") else n
        types_by_kind.setdefault(kind, set()).add(v["ggml_type"])

    fixture = {
        "description": "SmolLM2-135M-Instruct Q4_1 GGUF, independent NumPy float32 forward "
                       "(HF LlamaForCausalLM convention; tests/reference/smollm2_numpy.py)",
        "gguf_file": os.path.basename(args.gguf),
        "prompt_text": PROMPT,
        "prompt_ids": prompt_ids,
        "prompt_tokens": [tok.tokens[i] for i in prompt_ids],
        "greedy_ids": greedy,
        "greedy_tokens": [tok.tokens[i] for i in greedy],
        "greedy_text": greedy_text,
        "greedy_top1_logits": greedy_top1_logits,
        "greedy_first_eos_index": first_eos,
        "probe_ids": PROBE_IDS,
        "positions": per_pos,
        "hidden_state_check": {
            "description": "output of output_norm at the last prompt position, first 16 values",
            "position": len(prompt_ids) - 1,
            "first16": [float(x) for x in hn[-1, :16]],
        },
        "layer_output_check": {
            "description": "residual stream after block i (before final norm) at last prompt position, first 8 values",
            "embedding_first8": [float(x) for x in tensors["token_embd.weight"][prompt_ids[-1], :8]],
            "blk0": [float(x) for x in per_layer[0][-1, :8]],
            "blk1": [float(x) for x in per_layer[1][-1, :8]],
            "blk29": [float(x) for x in per_layer[-1][-1, :8]],
        },
        "dequant": dq,
        "tensor_type_counts": dict(type_counts),
        "tensor_types_by_kind": {k: sorted(v) for k, v in sorted(types_by_kind.items())},
        "tokenizer_examples": examples,
        "tokenizer_examples_method": (
            "byte-level BPE using tokenizer.ggml.merges ranks (lowest rank first), pre-tokenizer per "
            "llama.cpp LLAMA_VOCAB_PRE_TYPE_SMOLLM: split \\p{N} individually, then GPT-2 regex; "
            "control tokens (token_type 3) are matched verbatim only when parse_special is true"),
        "metadata": jsonable_meta(meta, meta_types),
        "timing": {
            "load_and_dequant_s": t_load,
            "forward_prompt_s_min": min(times),
            "greedy_12_steps_s": t_greedy,
            "note": "CPU NumPy, informational only",
        },
        "numerics": {
            "dtype": "float32 everywhere (logsumexp and sums in float64)",
            "hf_vs_llamacpp_layout_max_abs_logit_diff": max_diff,
        },
    }

    if not args.no_write:
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(fixture, f, indent=1, ensure_ascii=False)
            f.write("\n")
        print("wrote", args.out)


if __name__ == "__main__":
    main()
