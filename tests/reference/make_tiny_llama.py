#!/usr/bin/env python3
"""Build tiny, deterministic Llama test fixtures (GGUF + Hugging Face folders).

Independent reference (does not use the project's Rust code). Creates, under
tests/fixtures/tiny-llama/:

  tiny.gguf          GGUF v3, arch "llama", gpt2-style tokenizer in metadata,
                     Q/K rows permuted as llama.cpp's convert_hf_to_gguf.py does,
                     a MIX of tensor types (Q4_0, Q4_1, Q8_0, F16, BF16, F32).
  hf/                config.json, model.safetensors (float32, HF names, q/k NOT
                     permuted, values = dequantized GGUF values), tokenizer.json,
                     tokenizer_config.json (ChatML chat_template).
  hf-llama3/         same files (copies), but config.json has rope_theta 500000
                     and llama3 rope_scaling (factor 8, low 1, high 4, orig ctx 16).
  reference.json     NumPy float64 forward passes on the dequantized weights.

Model: vocab 64, hidden 64, intermediate 128, 2 layers, 4 heads, 2 KV heads
(head_dim 16), rms_norm_eps 1e-5, rope_theta 10000, tied embeddings.

Forward convention (HF LlamaForCausalLM): RMSNorm x*rsqrt(mean(x^2)+eps)*w,
rotate_half RoPE on un-permuted q/k, GQA (KV head j serves query heads
j*rep .. j*rep+rep-1), causal softmax attention with scale 1/sqrt(head_dim),
SwiGLU MLP down(silu(gate(x))*up(x)), final norm, lm_head = embed_tokens.

Self-checks (script aborts if one fails): GGUF round-trip via GGUFReader
(names, shapes, types), dequantized file values == safetensors values (after
un-permuting q/k), llama.cpp path (stored permuted weights + interleaved RoPE
on pairs (2i, 2i+1)) == HF path, HF `tokenizers` encodes the test texts to the
expected ids, float32 forward close to the float64 reference.

Checked once out of band (not by this script): transformers 5.24
LlamaForCausalLM loads hf/, hf-llama3/ and tiny.gguf (gguf_file=) and matches
the logits to ~4e-7 (its RMSNorm runs in float32); AutoTokenizer and its
chat template give the same ids / text. llama.cpp (libllama from
llama-cpp-python 0.3.36) loads tiny.gguf, tokenizes identically and
reproduces "greedy"; with an all-F32 copy of the weights and an F32 KV cache
its logits match to ~1e-6, with the mixed types here only to ~0.06 (its CPU
kernels quantize activations to Q8 / F16 / BF16 for quantized / half weights;
the default F16 KV cache adds ~2e-3).

Usage:
    python3 -m pip install gguf numpy safetensors tokenizers
    python3 tests/reference/make_tiny_llama.py [--out DIR]
"""

import argparse
import json
import math
import os
import shutil
import sys

import numpy as np

try:
    import gguf
    from gguf import GGMLQuantizationType as QT
    from safetensors.numpy import load_file, save_file
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
except ImportError:  # pragma: no cover
    sys.exit("python3 -m pip install gguf numpy safetensors tokenizers")

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "tests", "fixtures", "tiny-llama")

SEED = 20240763  # chosen so greedy top1-top2 margins are >= 0.26 and not one repeated token

# ---------------------------------------------------------------- config
VOCAB = 64
HIDDEN = 64
FF = 128
N_LAYER = 2
N_HEAD = 4
N_KV = 2
HEAD_DIM = HIDDEN // N_HEAD  # 16
EPS = 1e-5
THETA = 10000.0
MAX_POS = 128
BOS_ID = 62
EOS_ID = 63

LLAMA3_THETA = 500000.0
LLAMA3_SCALING = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 16,
}

CHAT_TEMPLATE = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content']"
    " + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

# ---------------------------------------------------------------- vocab
# ids 0..57: single GPT-2 byte-level characters (a-z, A-Z, 'Ġ' = space,
# 'Ċ' = newline, . , ! ?); ids 58..61: merged tokens produced by MERGES;
# 62/63: control tokens.
SINGLE_CHARS = (
    [chr(c) for c in range(ord("a"), ord("z") + 1)]
    + [chr(c) for c in range(ord("A"), ord("Z") + 1)]
    + ["\u0120", "\u010a", ".", ",", "!", "?"]  # Ġ (0x20), Ċ (0x0A)
)
MERGES = [("h", "e"), ("\u0120", "t"), ("\u0120t", "he"), ("l", "l")]
MERGED_TOKENS = ["he", "\u0120t", "\u0120the", "ll"]
SPECIALS = ["<|im_start|>", "<|im_end|>"]
TOKENS = SINGLE_CHARS + MERGED_TOKENS + SPECIALS
TOKEN_TYPES = [1] * (len(SINGLE_CHARS) + len(MERGED_TOKENS)) + [3, 3]
assert len(TOKENS) == VOCAB and len(set(TOKENS)) == VOCAB
assert TOKENS.index("<|im_start|>") == BOS_ID and TOKENS.index("<|im_end|>") == EOS_ID

# ---------------------------------------------------------------- tensor types
# per-layer ggml type of each projection; norms F32; token_embd Q8_0
LAYER_TYPES = [
    {"attn_q": QT.Q4_0, "attn_k": QT.Q4_1, "attn_v": QT.Q8_0, "attn_output": QT.F16,
     "ffn_gate": QT.BF16, "ffn_up": QT.F32, "ffn_down": QT.Q8_0},
    {"attn_q": QT.BF16, "attn_k": QT.F16, "attn_v": QT.F32, "attn_output": QT.Q4_1,
     "ffn_gate": QT.Q4_0, "ffn_up": QT.Q8_0, "ffn_down": QT.Q4_1},
]
EMBD_TYPE = QT.Q8_0

GGUF_TO_HF = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}

# ---------------------------------------------------------------- test inputs
IDS_TEXT = "<|im_start|>user\nHello the!"
# expected tokenization (checked against the HF `tokenizers` library below)
IDS_TOKENS = ["<|im_start|>", "u", "s", "e", "r", "\u010a", "H", "e", "ll", "o", "\u0120the", "!"]
N_GREEDY = 10
TOKENIZER_TEXTS = [
    "hello there",
    "Hello the world.",
    "the then",
    "<|im_start|>assistant\nOk!<|im_end|>\n",
]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) \
        + list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


# ---------------------------------------------------------------- permutation
def llamacpp_permute(w, n_head):
    """convert_hf_to_gguf.py LlamaModel.permute (HF -> GGUF row order)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head):
    """Inverse of llamacpp_permute (GGUF -> HF row order)."""
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


# ---------------------------------------------------------------- rope
def inv_freq_plain(theta, dim):
    return 1.0 / (theta ** (np.arange(0, dim, 2, dtype=np.float64) / dim))


def inv_freq_llama3(theta, dim, sc):
    """transformers modeling_rope_utils._compute_llama3_parameters (float64)."""
    inv_freq = inv_freq_plain(theta, dim)
    factor = sc["factor"]
    low = sc["low_freq_factor"]
    high = sc["high_freq_factor"]
    old_ctx = sc["original_max_position_embeddings"]
    low_freq_wavelen = old_ctx / low
    high_freq_wavelen = old_ctx / high
    wavelen = 2 * math.pi / inv_freq
    out = np.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    smooth = (old_ctx / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * out / factor + smooth * out
    is_medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
    out = np.where(is_medium, smoothed, out)
    bands = np.where(wavelen < high_freq_wavelen, "unscaled",
                     np.where(wavelen > low_freq_wavelen, "scaled", "smoothed"))
    return out, wavelen, bands


# ---------------------------------------------------------------- forward
def forward(W, ids, inv_freq, hf_layout=True, dtype=np.float64):
    """W: dict with HF-layout weights if hf_layout, else GGUF (permuted) q/k.
    hf_layout=True: rotate_half RoPE; False: interleaved pairs (2i, 2i+1)."""
    ids = np.asarray(ids, dtype=np.int64)
    T = len(ids)
    H, KV, d = N_HEAD, N_KV, HEAD_DIM
    rep = H // KV
    c = lambda a: np.asarray(a, dtype=dtype)

    def rmsnorm(x, w):
        return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + dtype(EPS)) * c(w)

    freqs = np.outer(np.arange(T, dtype=np.float64), inv_freq)  # [T, d/2]
    if hf_layout:
        emb = np.concatenate([freqs, freqs], axis=-1)
    else:
        emb = np.repeat(freqs, 2, axis=-1)
    cos, sin = c(np.cos(emb)), c(np.sin(emb))

    def rope(x):  # [h, T, d]
        if hf_layout:
            rot = np.concatenate([-x[..., d // 2:], x[..., : d // 2]], axis=-1)
        else:
            rot = np.stack([-x[..., 1::2], x[..., 0::2]], axis=-1).reshape(x.shape)
        return x * cos + rot * sin

    mask = np.triu(np.full((T, T), -np.inf), k=1).astype(dtype)
    x = c(W["embed"])[ids]
    for L in W["layers"]:
        h = rmsnorm(x, L["attn_norm"])
        q = (h @ c(L["q"]).T).reshape(T, H, d).transpose(1, 0, 2)
        k = (h @ c(L["k"]).T).reshape(T, KV, d).transpose(1, 0, 2)
        v = (h @ c(L["v"]).T).reshape(T, KV, d).transpose(1, 0, 2)
        q, k = rope(q), rope(k)
        k = np.repeat(k, rep, axis=0)  # query head i -> kv head i // rep
        v = np.repeat(v, rep, axis=0)
        s = q @ k.transpose(0, 2, 1) / dtype(math.sqrt(d)) + mask
        s = s - s.max(axis=-1, keepdims=True)
        p = np.exp(s)
        p = p / p.sum(axis=-1, keepdims=True)
        o = (p @ v).transpose(1, 0, 2).reshape(T, H * d)
        x = x + o @ c(L["o"]).T
        h = rmsnorm(x, L["ffn_norm"])
        g = h @ c(L["gate"]).T
        u = h @ c(L["up"]).T
        x = x + (g / (1 + np.exp(-g)) * u) @ c(L["down"]).T
    x = rmsnorm(x, W["norm"])
    return x @ c(W["embed"]).T


def weights_from_hf(st):
    W = {"embed": st["model.embed_tokens.weight"], "norm": st["model.norm.weight"], "layers": []}
    for i in range(N_LAYER):
        p = f"model.layers.{i}."
        W["layers"].append({
            "attn_norm": st[p + "input_layernorm.weight"],
            "q": st[p + "self_attn.q_proj.weight"], "k": st[p + "self_attn.k_proj.weight"],
            "v": st[p + "self_attn.v_proj.weight"], "o": st[p + "self_attn.o_proj.weight"],
            "ffn_norm": st[p + "post_attention_layernorm.weight"],
            "gate": st[p + "mlp.gate_proj.weight"], "up": st[p + "mlp.up_proj.weight"],
            "down": st[p + "mlp.down_proj.weight"],
        })
    return W


def weights_from_gguf(t):
    """Stored (permuted) layout, for the llama.cpp-style path."""
    W = {"embed": t["token_embd.weight"], "norm": t["output_norm.weight"], "layers": []}
    for i in range(N_LAYER):
        p = f"blk.{i}."
        W["layers"].append({
            "attn_norm": t[p + "attn_norm.weight"],
            "q": t[p + "attn_q.weight"], "k": t[p + "attn_k.weight"],
            "v": t[p + "attn_v.weight"], "o": t[p + "attn_output.weight"],
            "ffn_norm": t[p + "ffn_norm.weight"],
            "gate": t[p + "ffn_gate.weight"], "up": t[p + "ffn_up.weight"],
            "down": t[p + "ffn_down.weight"],
        })
    return W


# ---------------------------------------------------------------- building
def make_random_hf_weights(rng):
    """Random float32 weights in HF layout [out, in]."""
    def w(*shape):
        return (rng.standard_normal(shape) * 0.1).astype(np.float32)

    def norm():
        return (1.0 + rng.standard_normal(HIDDEN) * 0.1).astype(np.float32)

    st = {"model.embed_tokens.weight": w(VOCAB, HIDDEN)}
    for i in range(N_LAYER):
        p = f"model.layers.{i}."
        st[p + "input_layernorm.weight"] = norm()
        st[p + "self_attn.q_proj.weight"] = w(N_HEAD * HEAD_DIM, HIDDEN)
        st[p + "self_attn.k_proj.weight"] = w(N_KV * HEAD_DIM, HIDDEN)
        st[p + "self_attn.v_proj.weight"] = w(N_KV * HEAD_DIM, HIDDEN)
        st[p + "self_attn.o_proj.weight"] = w(HIDDEN, N_HEAD * HEAD_DIM)
        st[p + "post_attention_layernorm.weight"] = norm()
        st[p + "mlp.gate_proj.weight"] = w(FF, HIDDEN)
        st[p + "mlp.up_proj.weight"] = w(FF, HIDDEN)
        st[p + "mlp.down_proj.weight"] = w(HIDDEN, FF)
    st["model.norm.weight"] = norm()
    return st


def gguf_plan():
    """[(gguf_name, hf_name, ggml_type, permute_n_head or None)] in file order."""
    plan = [("token_embd.weight", "model.embed_tokens.weight", EMBD_TYPE, None)]
    for i in range(N_LAYER):
        for short in ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                      "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]:
            g = f"blk.{i}.{short}.weight"
            h = f"model.layers.{i}.{GGUF_TO_HF[short]}.weight"
            typ = QT.F32 if short.endswith("norm") else LAYER_TYPES[i][short]
            perm = N_HEAD if short == "attn_q" else N_KV if short == "attn_k" else None
            plan.append((g, h, typ, perm))
    plan.append(("output_norm.weight", "model.norm.weight", QT.F32, None))
    return plan


def quant_roundtrip(w, typ):
    """(payload for GGUFWriter.add_tensor, dequantized float32 values)."""
    q = gguf.quants.quantize(w, typ)
    if typ == QT.F32:
        assert q.dtype == np.float32
    elif typ == QT.F16:
        assert q.dtype == np.float16
    else:
        assert q.dtype == np.uint8, (typ, q.dtype)
    dq = np.asarray(gguf.quants.dequantize(q, typ), dtype=np.float32).reshape(w.shape)
    return q, dq


def hf_config(llama3):
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": VOCAB,
        "hidden_size": HIDDEN,
        "intermediate_size": FF,
        "num_hidden_layers": N_LAYER,
        "num_attention_heads": N_HEAD,
        "num_key_value_heads": N_KV,
        "head_dim": HEAD_DIM,
        "hidden_act": "silu",
        "max_position_embeddings": MAX_POS,
        "rms_norm_eps": EPS,
        "rope_theta": LLAMA3_THETA if llama3 else THETA,
        "rope_scaling": dict(LLAMA3_SCALING) if llama3 else None,
        "tie_word_embeddings": True,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "pretraining_tp": 1,
        "initializer_range": 0.02,
        "use_cache": True,
        "bos_token_id": BOS_ID,
        "eos_token_id": EOS_ID,
        "pad_token_id": EOS_ID,
        "torch_dtype": "float32",
        "transformers_version": "4.46.0",
    }
    return cfg


def build_hf_tokenizer():
    vocab = {t: i for i, t in enumerate(TOKENS)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=list(MERGES), fuse_unk=False))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in SPECIALS])
    for s, i in zip(SPECIALS, (BOS_ID, EOS_ID)):
        assert tok.token_to_id(s) == i, (s, tok.token_to_id(s))
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    return tok


def tokenizer_config():
    added = {str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                      "single_word": False, "special": True}
             for s, i in zip(SPECIALS, (BOS_ID, EOS_ID))}
    return {
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "additional_special_tokens": list(SPECIALS),
        "bos_token": "<|im_start|>",
        "eos_token": "<|im_end|>",
        "pad_token": "<|im_end|>",
        "unk_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "model_max_length": MAX_POS,
        "tokenizer_class": "PreTrainedTokenizerFast",
    }


def render_chatml(messages, add_generation_prompt):
    s = "".join("<|im_start|>" + m["role"] + "\n" + m["content"] + "<|im_end|>" + "\n" for m in messages)
    if add_generation_prompt:
        s += "<|im_start|>assistant\n"
    return s


def write_gguf(path, payloads):
    w = gguf.GGUFWriter(path, "llama")
    w.add_name("tiny-llama")
    w.add_context_length(MAX_POS)
    w.add_embedding_length(HIDDEN)
    w.add_block_count(N_LAYER)
    w.add_feed_forward_length(FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_KV)
    w.add_layer_norm_rms_eps(EPS)
    w.add_rope_freq_base(THETA)
    w.add_rope_dimension_count(HEAD_DIM)
    w.add_vocab_size(VOCAB)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(TOKENS)
    w.add_token_types(TOKEN_TYPES)
    w.add_token_merges([f"{a} {b}" for a, b in MERGES])
    w.add_bos_token_id(BOS_ID)
    w.add_eos_token_id(EOS_ID)
    w.add_pad_token_id(EOS_ID)
    w.add_add_bos_token(False)
    w.add_add_eos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)
    for name, (payload, typ) in payloads.items():
        if typ in (QT.F32, QT.F16):
            w.add_tensor(name, payload)
        else:
            w.add_tensor(name, payload, raw_dtype=typ)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def hand_dequant(raw, typ, n_rows):
    """Hand-written ggml dequantization (cross-check of gguf.quants.dequantize)."""
    raw = np.ascontiguousarray(raw).reshape(-1).view(np.uint8)
    if typ == QT.F32:
        return raw.view("<f4").astype(np.float32).reshape(n_rows, -1)
    if typ == QT.F16:
        return raw.view("<f2").astype(np.float32).reshape(n_rows, -1)
    if typ == QT.BF16:  # upper 16 bits of an f32
        return (raw.view("<u2").astype(np.uint32) << 16).view(np.float32).reshape(n_rows, -1)
    if typ == QT.Q8_0:  # block 34 B: f16 d, 32 x i8; x = d*q
        b = raw.reshape(-1, 34)
        d = b[:, 0:2].copy().view("<f2").astype(np.float32)
        q = b[:, 2:].copy().view(np.int8).astype(np.float32)
        return (d * q).reshape(n_rows, -1)
    if typ in (QT.Q4_0, QT.Q4_1):
        # Q4_0 block 18 B: f16 d, 16 B nibbles; x[j] = d*(lo-8), x[j+16] = d*(hi-8)
        # Q4_1 block 20 B: f16 d, f16 m, 16 B nibbles; x[j] = d*lo + m, x[j+16] = d*hi + m
        hdr = 2 if typ == QT.Q4_0 else 4
        b = raw.reshape(-1, hdr + 16)
        d = b[:, 0:2].copy().view("<f2").astype(np.float32)
        q = b[:, hdr:]
        nib = np.concatenate([q & 0x0F, q >> 4], axis=1).astype(np.float32)
        if typ == QT.Q4_0:
            x = (nib - 8.0) * d
        else:
            m = b[:, 2:4].copy().view("<f2").astype(np.float32)
            x = nib * d + m
        return x.reshape(n_rows, -1)
    raise NotImplementedError(typ)


def field_value(field):
    v = field.contents()
    if isinstance(v, np.generic):
        v = v.item()
    return v


def margin(row):
    s = np.sort(row)
    return float(s[-1] - s[-2])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    out = args.out
    hf_dir = os.path.join(out, "hf")
    l3_dir = os.path.join(out, "hf-llama3")
    os.makedirs(hf_dir, exist_ok=True)
    os.makedirs(l3_dir, exist_ok=True)

    # permutation sanity
    t = np.arange(64 * 3, dtype=np.float32).reshape(64, 3)
    for nh in (N_HEAD, N_KV):
        assert np.array_equal(unpermute(llamacpp_permute(t, nh), nh), t)

    rng = np.random.default_rng(SEED)
    st_raw = make_random_hf_weights(rng)

    # ---- quantize (GGUF layout), dequantize -> HF values
    plan = gguf_plan()
    payloads = {}
    gguf_dq = {}  # dequantized, file (permuted) order
    st = {}       # HF layout, float32 = dequantized GGUF values
    for gname, hname, typ, perm in plan:
        w = st_raw[hname]
        wf = llamacpp_permute(w, perm) if perm else w
        payload, dq = quant_roundtrip(np.ascontiguousarray(wf), typ)
        payloads[gname] = (payload, typ)
        gguf_dq[gname] = dq
        st[hname] = np.ascontiguousarray(unpermute(dq, perm) if perm else dq)
        if typ == QT.F32:
            assert np.array_equal(dq, wf)
        err = float(np.max(np.abs(dq - wf)))
        print(f"{gname:26s} {typ.name:5s} shape {list(w.shape)} permute={perm} max|quant err|={err:.4f}")

    gguf_path = os.path.join(out, "tiny.gguf")
    write_gguf(gguf_path, payloads)

    # ---- HF folders
    st_path = os.path.join(hf_dir, "model.safetensors")
    save_file(st, st_path, metadata={"format": "pt"})
    tok = build_hf_tokenizer()
    tok.save(os.path.join(hf_dir, "tokenizer.json"))
    with open(os.path.join(hf_dir, "tokenizer_config.json"), "w") as f:
        json.dump(tokenizer_config(), f, indent=2, ensure_ascii=False)
        f.write("\n")
    for d, llama3 in ((hf_dir, False), (l3_dir, True)):
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(hf_config(llama3), f, indent=2)
            f.write("\n")
    for fname in ("model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        dst = os.path.join(l3_dir, fname)
        if os.path.islink(dst):
            os.unlink(dst)
        shutil.copyfile(os.path.join(hf_dir, fname), dst)

    # ================================================================ checks
    # 1. GGUF round-trip
    reader = gguf.GGUFReader(gguf_path)
    meta = {k: field_value(f) for k, f in reader.fields.items()}
    assert meta["GGUF.version"] == 3, meta["GGUF.version"]
    assert meta["general.architecture"] == "llama"
    expect_meta = {
        "llama.context_length": MAX_POS, "llama.embedding_length": HIDDEN, "llama.block_count": N_LAYER,
        "llama.feed_forward_length": FF, "llama.attention.head_count": N_HEAD,
        "llama.attention.head_count_kv": N_KV, "llama.rope.dimension_count": HEAD_DIM,
        "llama.vocab_size": VOCAB, "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "gpt-2",
        "tokenizer.ggml.bos_token_id": BOS_ID, "tokenizer.ggml.eos_token_id": EOS_ID,
        "tokenizer.ggml.add_bos_token": False, "tokenizer.chat_template": CHAT_TEMPLATE,
    }
    for k, v in expect_meta.items():
        assert meta[k] == v, (k, meta[k], v)
    assert abs(meta["llama.attention.layer_norm_rms_epsilon"] - EPS) < 1e-12
    assert meta["llama.rope.freq_base"] == THETA
    assert list(meta["tokenizer.ggml.tokens"]) == TOKENS
    assert [int(x) for x in meta["tokenizer.ggml.token_type"]] == TOKEN_TYPES
    assert list(meta["tokenizer.ggml.merges"]) == [f"{a} {b}" for a, b in MERGES]
    assert "output.weight" not in [t.name for t in reader.tensors]
    read_dq = {}
    tensor_info = {}
    assert [t.name for t in reader.tensors] == [p[0] for p in plan]
    for (gname, hname, typ, perm), t in zip(plan, reader.tensors):
        assert t.name == gname
        assert t.tensor_type == typ, (gname, t.tensor_type, typ)
        np_shape = tuple(st[hname].shape)
        assert tuple(int(x) for x in t.shape) == tuple(reversed(np_shape)), (gname, t.shape, np_shape)
        dq = np.asarray(gguf.quants.dequantize(t.data, t.tensor_type), dtype=np.float32).reshape(np_shape)
        assert np.array_equal(dq, gguf_dq[gname]), gname
        assert np.array_equal(hand_dequant(t.data, typ, np_shape[0] if len(np_shape) == 2 else 1)
                              .reshape(np_shape), dq), ("hand dequant", gname)
        read_dq[gname] = dq
        tensor_info[gname] = {"ggml_type": t.tensor_type.name, "gguf_ne": [int(x) for x in t.shape],
                              "n_bytes": int(t.n_bytes), "hf_name": hname, "permuted_n_head": perm}
    # 2. safetensors == dequantized GGUF (un-permuted)
    st_back = load_file(st_path)
    assert sorted(st_back) == sorted(st)
    for gname, hname, typ, perm in plan:
        a = st_back[hname]
        assert a.dtype == np.float32
        b = unpermute(read_dq[gname], perm) if perm else read_dq[gname]
        assert np.array_equal(a, b), hname
    with open(st_path, "rb") as f1, open(os.path.join(l3_dir, "model.safetensors"), "rb") as f2:
        assert f1.read() == f2.read()
    print("GGUF round-trip OK; hand-written dequant == gguf.quants.dequantize; safetensors == un-permuted dequantized GGUF (bit-exact)")

    # 3. forward passes
    W_hf = weights_from_hf(st_back)
    W_cpp = weights_from_gguf(read_dq)
    inv_plain = inv_freq_plain(THETA, HEAD_DIM)
    inv_l3, wavelen, bands = inv_freq_llama3(LLAMA3_THETA, HEAD_DIM, LLAMA3_SCALING)
    inv_l3_base = inv_freq_plain(LLAMA3_THETA, HEAD_DIM)
    print("llama3 rope bands (theta 500000, orig ctx 16 -> low_freq_wavelen 16, high_freq_wavelen 4):")
    for i in range(HEAD_DIM // 2):
        print(f"  i={i} base inv_freq={inv_l3_base[i]:.6g} wavelen={wavelen[i]:.4g} -> {bands[i]:8s} "
              f"inv_freq={inv_l3[i]:.6g} (ratio {inv_l3[i] / inv_l3_base[i]:.4f})")
    assert "scaled" in bands and "smoothed" in bands

    # tokenizer: HF tokenizers must produce the expected ids
    enc = tok.encode(IDS_TEXT, add_special_tokens=False)
    ids = [TOKENS.index(s) for s in IDS_TOKENS]
    assert enc.ids == ids, (enc.tokens, IDS_TOKENS)
    assert len(ids) == 12 and ids[0] == BOS_ID
    assert tok.decode(ids, skip_special_tokens=False) == IDS_TEXT

    logits = forward(W_hf, ids, inv_plain)
    logits_cpp = forward(W_cpp, ids, inv_plain, hf_layout=False)
    d_plain = float(np.max(np.abs(logits - logits_cpp)))
    logits_l3 = forward(W_hf, ids, inv_l3)
    logits_l3_cpp = forward(W_cpp, ids, inv_l3, hf_layout=False)
    d_l3 = float(np.max(np.abs(logits_l3 - logits_l3_cpp)))
    logits_f32 = forward(W_hf, ids, inv_plain.astype(np.float32), dtype=np.float32)
    d_f32 = float(np.max(np.abs(logits - logits_f32)))
    logits_cpp_f32 = forward(W_cpp, ids, inv_plain.astype(np.float32), hf_layout=False, dtype=np.float32)
    d_cpp_f32 = float(np.max(np.abs(logits - logits_cpp_f32)))
    print(f"HF vs llama.cpp path max|diff|: plain {d_plain:.2e}, llama3 {d_l3:.2e} (float64); "
          f"float32 HF vs float64 {d_f32:.2e}, float32 llama.cpp path vs float64 {d_cpp_f32:.2e}")
    assert d_plain < 1e-9 and d_l3 < 1e-9 and d_f32 < 1e-4 and d_cpp_f32 < 1e-4
    d_l3_vs_plain = float(np.max(np.abs(logits - logits_l3)))
    print(f"plain vs llama3 logits max|diff| = {d_l3_vs_plain:.3f}")
    assert d_l3_vs_plain > 1e-2
    # llama3 with scaling vs llama3 theta without scaling also differ
    d_scaling = float(np.max(np.abs(logits_l3 - forward(W_hf, ids, inv_l3_base))))
    print(f"llama3 scaled vs unscaled (theta 500000) logits max|diff| = {d_scaling:.3f}")
    assert d_scaling > 1e-3
    print("logits std per position (plain):", np.round(logits.std(axis=-1), 3).tolist())
    print("argmax per position (plain):", np.argmax(logits, -1).tolist())

    # batch: two sequences, each alone
    brng = np.random.default_rng(SEED + 1)
    batch = [
        [BOS_ID] + [int(x) for x in brng.integers(0, 62, size=6)],
        [BOS_ID] + [int(x) for x in brng.integers(0, 62, size=11)],
    ]
    batch_logits = [forward(W_hf, s, inv_plain) for s in batch]
    for s, lg in zip(batch, batch_logits):
        assert np.max(np.abs(lg - forward(W_cpp, s, inv_plain, hf_layout=False))) < 1e-9
    # prefix property: causal model, logits of a prefix == first rows of the full sequence
    assert np.max(np.abs(forward(W_hf, ids[:7], inv_plain) - logits[:7])) < 1e-9

    # greedy (full recompute, no cache)
    seq = list(ids)
    greedy, greedy_margins = [], []
    for _ in range(N_GREEDY):
        lg = forward(W_hf, seq, inv_plain)[-1]
        nxt = int(np.argmax(lg))
        greedy.append(nxt)
        greedy_margins.append(margin(lg))
        seq.append(nxt)
    # same greedy in float32 and via the llama.cpp path
    seq32 = list(ids)
    for _ in range(N_GREEDY):
        seq32.append(int(np.argmax(forward(W_cpp, seq32, inv_plain.astype(np.float32), hf_layout=False,
                                           dtype=np.float32)[-1])))
    assert seq32[len(ids):] == greedy, (seq32[len(ids):], greedy)
    print("greedy:", greedy, [TOKENS[i] for i in greedy])
    print("greedy top1-top2 margins:", [round(m, 4) for m in greedy_margins])

    # tokenizer examples (HF tokenizers library)
    tok_examples = []
    chat = render_chatml([{"role": "user", "content": "Hello the!"}], add_generation_prompt=True)
    for text in TOKENIZER_TEXTS + [chat]:
        e = tok.encode(text, add_special_tokens=False)
        assert tok.decode(e.ids, skip_special_tokens=False) == text
        tok_examples.append({"text": text, "ids": e.ids, "tokens": e.tokens})
        print("tokenize", repr(text), "->", e.ids)

    dequant_head = {}
    for gname, hname, typ, perm in plan:
        a = read_dq[gname]
        dequant_head[gname] = {
            **tensor_info[gname],
            "first8": [float(x) for x in a.reshape(-1)[:8]],
            "sum": float(np.sum(a.astype(np.float64))),
            "sum_abs": float(np.sum(np.abs(a.astype(np.float64)))),
        }

    to_list = lambda a: [[float(x) for x in row] for row in a]
    ref = {
        "description": "tiny random Llama (tests/reference/make_tiny_llama.py); NumPy float64 forward, HF "
                       "convention, on the dequantized GGUF weights (== hf/model.safetensors). Logits are "
                       "full [T][vocab] rows.",
        "seed": SEED,
        "config": {k: v for k, v in hf_config(False).items() if k not in ("architectures",)},
        "llama3_rope": {"rope_theta": LLAMA3_THETA, "rope_scaling": LLAMA3_SCALING,
                        "bands": [str(b) for b in bands], "wavelen": [float(x) for x in wavelen]},
        "tensor_types": {g: tensor_info[g]["ggml_type"] for g in tensor_info},
        "text": IDS_TEXT,
        "ids": ids,
        "tokens": IDS_TOKENS,
        "logits": to_list(logits),
        "logits_llama3": to_list(logits_l3),
        "batch": [{"ids": s, "logits": to_list(lg)} for s, lg in zip(batch, batch_logits)],
        "greedy": greedy,
        "greedy_tokens": [TOKENS[i] for i in greedy],
        "greedy_top1_margins": greedy_margins,
        "inv_freq_plain": [float(x) for x in inv_plain],
        "inv_freq_llama3": [float(x) for x in inv_l3],
        "dequant_head": dequant_head,
        "tokenizer_examples": tok_examples,
        "chat_template_example": {
            "messages": [{"role": "user", "content": "Hello the!"}],
            "add_generation_prompt": True,
            "rendered": chat,
        },
        "numerics": {
            "reference_dtype": "float64",
            "hf_vs_llamacpp_path_max_abs_diff_plain": d_plain,
            "hf_vs_llamacpp_path_max_abs_diff_llama3": d_l3,
            "float32_forward_vs_reference_max_abs_diff": d_f32,
            "float32_llamacpp_path_vs_reference_max_abs_diff": d_cpp_f32,
            "plain_vs_llama3_max_abs_diff": d_l3_vs_plain,
        },
    }
    ref_path = os.path.join(out, "reference.json")
    with open(ref_path, "w") as f:
        json.dump(ref, f, indent=1, ensure_ascii=False)
        f.write("\n")

    total = 0
    print("files:")
    for root, _, files in sorted(os.walk(out)):
        for fn in sorted(files):
            p = os.path.join(root, fn)
            assert not os.path.islink(p)
            sz = os.path.getsize(p)
            total += sz
            print(f"  {os.path.relpath(p, out):32s} {sz:9d} bytes")
    print(f"  total {total} bytes")
    assert total < 1_100_000


if __name__ == "__main__":
    main()
