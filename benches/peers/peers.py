#!/usr/bin/env python3
"""Peer benchmark: the workloads of `halt-llm bench` / `halt-llm bench-train`, measured with
halt-llm itself, with HF transformers + PyTorch (f32) and with llama.cpp (llama-cpp-python),
on the same GGUF file, printed as one markdown table.

    python peers.py [--halt-bin BIN]... [--only halt,torch,llama] [--out FILE]   # everything
    python peers.py torch-bench --batch 1 --prompt-len 128 --new-tokens 64      # one workload

Every workload runs in its own process (peak RSS is a process-wide high-water mark) and
prints one JSON line with the same fields as halt-llm's. Benchmark only; CI never runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
THREADS = int(os.environ.get("PEERS_THREADS", "2"))
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# (key, halt-llm subcommand + args, peer kinds that can run it, peer subcommand args)
WORKLOADS = [
    ("b1", ["bench", "--batch", "1", "--prompt-len", "128", "--new-tokens", "64"], "torch,llama"),
    ("b16", ["bench", "--batch", "16", "--prompt-len", "128", "--new-tokens", "64"], "torch,llama"),
    ("p512", ["bench", "--batch", "1", "--prompt-len", "512", "--new-tokens", "1"], "torch,llama"),
    ("sft", ["bench-train", "--batch-size", "4", "--seq-len", "256", "--steps", "3"], "torch"),
    (
        "lora8",
        ["bench-train", "--batch-size", "4", "--seq-len", "256", "--steps", "3", "--lora-rank", "8"],
        "torch",
    ),
]


def default_model() -> Path:
    d = os.environ.get("HALT_MODEL_DIR")
    return (Path(d) if d else REPO / "models" / "cache") / MODEL_FILE


def default_halt_bin() -> Path:
    t = os.environ.get("CARGO_TARGET_DIR")
    if t:
        return Path(t) / "release" / "halt-llm"
    return Path.home() / ".cache" / "halt-llm" / "target" / "release" / "halt-llm"


def peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(report: dict) -> None:
    report["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(report), flush=True)


# --------------------------------------------------------------------------------------------
# PyTorch (HF transformers, f32)
# --------------------------------------------------------------------------------------------


def load_torch_model(gguf: Path):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    return torch, model


def torch_bench(a) -> None:
    """Prefill (one forward over the prompt, last-position logits, argmax) then greedy decode
    with the KV cache, one token per step; best of `repeats`, as `halt-llm bench`."""
    torch, model = load_torch_model(a.model)
    model.eval()
    vocab = model.config.vocab_size
    ids = [(i * 7919 + 13) % vocab for i in range(a.batch * a.prompt_len)]
    prompt = torch.tensor(ids, dtype=torch.long).reshape(a.batch, a.prompt_len)
    import inspect

    from transformers import DynamicCache

    # transformers 5.x renamed `past_key_values` to `cache`; the cache is updated in place.
    params = inspect.signature(model.forward).parameters
    cache_kw = "cache" if "cache" in params else "past_key_values"
    best_prefill = best_decode = float("inf")
    with torch.inference_mode():
        for _ in range(max(a.repeats, 1)):
            cache = DynamicCache(config=model.config)
            t0 = time.perf_counter()
            out = model(input_ids=prompt, use_cache=True, logits_to_keep=1, **{cache_kw: cache})
            nxt = out.logits[:, -1, :].argmax(-1, keepdim=True)
            generated = [nxt[0, 0].item()]
            best_prefill = min(best_prefill, time.perf_counter() - t0)
            t1 = time.perf_counter()
            for _ in range(a.new_tokens):
                out = model(input_ids=nxt, use_cache=True, **{cache_kw: cache})
                nxt = out.logits[:, -1, :].argmax(-1, keepdim=True)
                generated.append(nxt.tolist()[0][0])
            best_decode = min(best_decode, time.perf_counter() - t1)
            del out, cache
    emit(
        {
            "impl": "pytorch",
            "torch": torch.__version__,
            "batch": a.batch,
            "prompt_len": a.prompt_len,
            "new_tokens": a.new_tokens,
            "prefill_tokens_per_s": a.batch * a.prompt_len / best_prefill,
            "decode_tokens_per_s": a.batch * a.new_tokens / best_decode
            if a.new_tokens
            else None,
            "first_tokens": generated[:8],
        }
    )


LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def add_lora(torch, model, rank: int) -> None:
    """Freezes the model and wraps every decoder projection in `W x + (α/r)·B(A x)`, α = 2r
    (halt-llm's `LoraSettings::with_rank`)."""
    nn = torch.nn

    class LoraLinear(nn.Module):
        def __init__(self, base: nn.Linear):
            super().__init__()
            self.base = base
            alpha = 2.0 * rank
            self.scale = alpha / rank
            self.lora_a = nn.Parameter(torch.empty(rank, base.in_features))
            self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank))
            nn.init.kaiming_uniform_(self.lora_a, a=5**0.5)

        def forward(self, x):
            return self.base(x) + (x @ self.lora_a.t() @ self.lora_b.t()) * self.scale

    for p in model.parameters():
        p.requires_grad_(False)
    for layer in model.model.layers:
        for parent in (layer.self_attn, layer.mlp):
            for name in LORA_TARGETS:
                if hasattr(parent, name):
                    setattr(parent, name, LoraLinear(getattr(parent, name)))


def torch_train(a) -> None:
    """Full finetuning (or LoRA) with AdamW, every position supervised, one untimed warm-up
    step then `steps` timed ones, as `halt-llm bench-train`."""
    torch, model = load_torch_model(a.model)
    vocab = model.config.vocab_size
    rows = [
        [(i * 7919 + b * 104_729) % vocab for i in range(a.seq_len + 1)]
        for b in range(a.batch_size)
    ]
    data = torch.tensor(rows, dtype=torch.long)
    inputs, targets = data[:, :-1].contiguous(), data[:, 1:].contiguous()
    if a.lora_rank:
        add_lora(torch, model, a.lora_rank)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    # burn's AdamWConfig defaults: β = (0.9, 0.999), ε = 1e-5, weight decay 1e-4.
    optim = torch.optim.AdamW(params, lr=1e-5, betas=(0.9, 0.999), eps=1e-5, weight_decay=1e-4)

    def step():
        logits = model(input_ids=inputs, use_cache=False).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1))
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        return loss

    step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    _ = loss.item()
    sps = (time.perf_counter() - t0) / a.steps
    emit(
        {
            "impl": "pytorch",
            "torch": torch.__version__,
            "mode": f"lora-r{a.lora_rank}" if a.lora_rank else "full",
            "batch": a.batch_size,
            "seq_len": a.seq_len,
            "trainable_params": sum(p.numel() for p in params),
            "seconds_per_step": sps,
            "tokens_per_s": a.batch_size * a.seq_len / sps,
        }
    )


# --------------------------------------------------------------------------------------------
# llama.cpp (llama-cpp-python low-level API)
# --------------------------------------------------------------------------------------------


def llama_bench(a) -> None:
    """Same definitions with llama.cpp: prefill = llama_decode over the prompt (n_batch 512,
    logits for the last position only) + argmax; decode = greedy, one token per sequence per
    llama_decode, argmax on the host. A fresh context per repeat (empty KV cache)."""
    import ctypes

    import numpy as np

    import llama_cpp as L

    quiet = L.llama_log_callback(lambda level, text, user_data: None)  # keep a reference
    L.llama_log_set(quiet, ctypes.c_void_p())
    L.llama_backend_init()
    mparams = L.llama_model_default_params()
    model = L.llama_model_load_from_file(str(a.model).encode(), mparams)
    if not model:
        sys.exit(f"llama.cpp could not load {a.model}")
    vocab = L.llama_model_get_vocab(model)
    n_vocab = L.llama_vocab_n_tokens(vocab)
    B, P, N = a.batch, a.prompt_len, a.new_tokens
    per_seq = 1 << (P + N + 1).bit_length()  # power of two >= P + N + 1
    n_batch = 512
    prompt = [(i * 7919 + 13) % n_vocab for i in range(B * P)]

    def new_ctx():
        c = L.llama_context_default_params()
        c.n_ctx = per_seq * B
        c.n_batch = n_batch
        c.n_ubatch = n_batch
        c.n_seq_max = B
        c.n_threads = THREADS
        c.n_threads_batch = THREADS
        c.no_perf = True
        ctx = L.llama_init_from_model(model, c)
        if not ctx:
            sys.exit("llama.cpp could not create a context")
        return ctx

    batch = L.llama_batch_init(max(n_batch, B), 0, 1)

    def decode(ctx, toks):  # toks: list of (token, pos, seq, want_logits)
        for j in range(0, len(toks), n_batch):
            chunk = toks[j : j + n_batch]
            batch.n_tokens = len(chunk)
            for i, (t, pos, seq, want) in enumerate(chunk):
                batch.token[i] = t
                batch.pos[i] = pos
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq
                batch.logits[i] = want
            rc = L.llama_decode(ctx, batch)
            if rc != 0:
                sys.exit(f"llama_decode returned {rc}")

    def argmax_outputs(ctx, n):
        # Output rows are numbered in the order of the flagged tokens of the last batch.
        out = []
        for i in range(n):
            ptr = L.llama_get_logits_ith(ctx, i)
            out.append(int(np.ctypeslib.as_array(ptr, shape=(n_vocab,)).argmax()))
        return out

    best_prefill = best_decode = float("inf")
    for _ in range(max(a.repeats, 1)):
        ctx = new_ctx()
        toks = [(prompt[s * P + p], p, s, p == P - 1) for s in range(B) for p in range(P)]
        # Put the sequences' last tokens in the final chunk so their logits are all there.
        last = [t for t in toks if t[3]]
        toks = [t for t in toks if not t[3]] + last
        t0 = time.perf_counter()
        decode(ctx, toks)
        tail = len(toks) - ((len(toks) - 1) // n_batch) * n_batch  # tokens in the final chunk
        assert tail >= B, "the sequences' last tokens must share the final llama_decode call"
        first = tail - B  # llama_get_logits_ith takes the token's index in the batch
        nxt = [
            int(
                np.ctypeslib.as_array(L.llama_get_logits_ith(ctx, first + s), shape=(n_vocab,))
                .argmax()
            )
            for s in range(B)
        ]
        best_prefill = min(best_prefill, time.perf_counter() - t0)
        generated = [nxt[0]]
        t1 = time.perf_counter()
        for k in range(N):
            decode(ctx, [(nxt[s], P + k, s, True) for s in range(B)])
            nxt = argmax_outputs(ctx, B)
            generated.append(nxt[0])
        best_decode = min(best_decode, time.perf_counter() - t1)
        L.llama_free(ctx)
    L.llama_batch_free(batch)
    L.llama_model_free(model)
    emit(
        {
            "impl": "llama.cpp",
            "llama_cpp_python": getattr(L, "__version__", "?"),
            "system_info": L.llama_print_system_info().decode(errors="replace").strip(),
            "batch": B,
            "prompt_len": P,
            "new_tokens": N,
            "prefill_tokens_per_s": B * P / best_prefill,
            "decode_tokens_per_s": B * N / best_decode if N else None,
            "first_tokens": generated[:8],
        }
    )


# --------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------


def peer_args(halt_args: list[str]) -> list[str]:
    """halt-llm's flags map one to one onto the peer subcommands', plus the model."""
    sub = "torch-train" if halt_args[0] == "bench-train" else "bench"
    return [sub, *halt_args[1:]]


def cpu_busy(seconds: float = 1.0) -> float | None:
    """Fraction of the machine's CPU time in use (by anything) over `seconds`, from /proc/stat:
    the benchmark runs `THREADS` threads, so anything above ~0.1 before a workload means
    someone else is using the CPUs and the figures will be low (llama.cpp's spinning threads
    collapse the most)."""

    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]  # total, idle + iowait

    try:
        t0, i0 = snap()
        time.sleep(seconds)
        t1, i1 = snap()
    except OSError:
        return None
    return 1.0 - (i1 - i0) / max(t1 - t0, 1)


def run_json(cmd: list[str], env: dict, timeout: int, log) -> dict | None:
    busy = cpu_busy()
    if busy is not None and busy > 0.15:
        print(f"  warning: the CPUs are {busy:.0%} busy before this workload", file=sys.stderr)
    log.write(f"$ {' '.join(cmd)}\n")
    log.flush()
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        log.write(f"  timed out after {timeout} s\n")
        print(f"  TIMEOUT: {' '.join(cmd)}", file=sys.stderr)
        return None
    log.write(p.stdout + p.stderr + f"  (exit {p.returncode}, {time.perf_counter() - t0:.1f} s)\n")
    log.flush()
    for line in reversed(p.stdout.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            r["wall_s"] = round(time.perf_counter() - t0, 1)
            r["cpu_busy_before"] = None if busy is None else round(busy, 3)
            return r
    print(f"  FAILED (exit {p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}", file=sys.stderr)
    return None


def orchestrate(a) -> None:
    only = {s.strip() for s in a.only.split(",") if s.strip()}
    unknown = only - {"halt", "torch", "llama"}
    if unknown:
        sys.exit(f"--only: unknown part(s) {sorted(unknown)} (halt, torch, llama)")
    if not a.model.is_file():
        sys.exit(f"model not found: {a.model}")
    halt_bins = []
    for spec in a.halt_bin or [os.environ.get("HALT_BIN") or str(default_halt_bin())]:
        label, _, path = spec.rpartition("=")
        halt_bins.append((label or Path(path).name, path))
    if len({l for l, _ in halt_bins}) < len(halt_bins):
        sys.exit("two --halt-bin columns share a name: label them, e.g. --halt-bin before=PATH")
    if "halt" in only:
        for _, b in halt_bins:
            if not os.access(b, os.X_OK):
                sys.exit(f"halt-llm binary not found or not executable: {b} (--halt-bin / $HALT_BIN)")
    workloads = [w for w in WORKLOADS if not a.workloads or w[0] in a.workloads.split(",")]
    env = dict(os.environ)
    env.setdefault("RAYON_NUM_THREADS", str(THREADS))
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        OMP_NUM_THREADS=str(THREADS),
        PYTHONUNBUFFERED="1",
    )
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    log_path = out.with_suffix(".log")
    results: dict = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "model": str(a.model),
        "threads": THREADS,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "columns": {},
    }
    cols: list[tuple[str, str]] = []  # (column name, kind)
    for label, b in (halt_bins if "halt" in only else []):
        cols.append((label, "halt:" + b))
    if "torch" in only:
        cols.append(("PyTorch", "torch"))
    if "llama" in only:
        cols.append(("llama.cpp", "llama"))
    py = sys.executable
    me = str(Path(__file__).resolve())
    t_all = time.perf_counter()
    with open(log_path, "w") as log:
        for name, kind in cols:
            res = results["columns"].setdefault(name, {"kind": kind})
            for key, halt_args, peers in workloads:
                if kind.startswith("halt:"):
                    cmd = [kind[5:], *halt_args, "--model", str(a.model)]
                elif kind in peers.split(","):
                    sub = peer_args(halt_args)
                    if kind == "llama":
                        if sub[0] != "bench":
                            continue
                        sub[0] = "llama-bench"
                    else:
                        sub[0] = "torch-bench" if sub[0] == "bench" else "torch-train"
                    cmd = [py, me, *sub, "--model", str(a.model)]
                else:
                    continue
                print(f"[{time.perf_counter() - t_all:6.0f} s] {name}: {key} ...", file=sys.stderr, flush=True)
                r = run_json(cmd, env, a.timeout, log)
                res[key] = r
                tmp = dict(results, elapsed_s=round(time.perf_counter() - t_all, 1))
                out.write_text(json.dumps(tmp, indent=2) + "\n")
    results["elapsed_s"] = round(time.perf_counter() - t_all, 1)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results, [c for c, _ in cols]))
    print(f"\nraw numbers: {out}  (log: {log_path}); {results['elapsed_s']:.0f} s in all", file=sys.stderr)


ROWS = [
    ("decode b1 (tok/s)", "b1", "decode_tokens_per_s"),
    ("prefill 128 (tok/s)", "b1", "prefill_tokens_per_s"),
    ("decode b16 aggregate (tok/s)", "b16", "decode_tokens_per_s"),
    ("decode b16/b1 (×)", None, "b16/b1"),
    ("prefill 512 (tok/s)", "p512", "prefill_tokens_per_s"),
    ("decode b1 peak RSS (MiB)", "b1", "peak_rss_mib"),
    ("full SFT (tok/s)", "sft", "tokens_per_s"),
    ("full SFT peak RSS (MiB)", "sft", "peak_rss_mib"),
    ("LoRA r8 (tok/s)", "lora8", "tokens_per_s"),
    ("LoRA r8 peak RSS (MiB)", "lora8", "peak_rss_mib"),
]


def figure(col: dict, key: str | None, field: str) -> float | None:
    if key is None:
        b1 = (col.get("b1") or {}).get("decode_tokens_per_s")
        b16 = (col.get("b16") or {}).get("decode_tokens_per_s")
        return b16 / b1 if b1 and b16 else None
    v = (col.get(key) or {}).get(field)
    return float(v) if isinstance(v, (int, float)) else None


def fmt(v: float | None, ratio: bool = False) -> str:
    if v is None:
        return "—"
    if ratio:
        return f"{v:.2f}×"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def table(results: dict, names: list[str]) -> str:
    cols = results["columns"]
    halts = [n for n in names if cols[n]["kind"].startswith("halt:")]
    ratio_cols = []
    if halts:
        last = halts[-1]
        for peer in ("PyTorch", "llama.cpp"):
            if peer in names:
                ratio_cols.append((f"{'halt' if len(halts) == 1 else 'last halt'}/{peer}", last, peer))
    head = ["figure", *names, *(r[0] for r in ratio_cols)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, key, field in ROWS:
        vals = [figure(cols[n], key, field) for n in names]
        if all(v is None for v in vals):
            continue
        row = [label, *(fmt(v, ratio=key is None) for v in vals)]
        for _, h, p in ratio_cols:
            hv, pv = figure(cols[h], key, field), figure(cols[p], key, field)
            row.append(fmt(hv / pv, ratio=True) if hv and pv else "—")
        lines.append("| " + " | ".join(row) + " |")
    notes = [
        "",
        f"Model {Path(results['model']).name}, {THREADS} threads, "
        f"{results['machine']['cpus']} CPUs. Ratios are halt ÷ peer: above 1 means halt is faster "
        "(tok/s rows) or uses more memory (RSS rows). PyTorch is f32 (GGUF dequantized); "
        "llama.cpp runs the quantized weights; llama.cpp has no training.",
    ]
    busy = [
        r.get("cpu_busy_before") or 0.0
        for n in names
        for r in cols[n].values()
        if isinstance(r, dict)
    ]
    if busy and max(busy) > 0.15:
        notes.append(
            f"**Warning:** the CPUs were up to {max(busy):.0%} busy before a workload started: "
            "figures are not comparable (see cpu_busy_before in the JSON)."
        )
    if len(halts) > 1:
        notes.append("Columns: " + ", ".join(f"`{n}`" for n in halts) + "; ratios use the last.")
    return "\n".join(lines + notes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd")

    def common(p):
        p.add_argument("--model", type=Path, default=default_model(), help="GGUF file")

    p = sub.add_parser("torch-bench", help="PyTorch prefill/decode (one process)")
    common(p)
    for n, d in (("--batch", 1), ("--prompt-len", 128), ("--new-tokens", 32), ("--repeats", 2)):
        p.add_argument(n, type=int, default=d)
    p.set_defaults(fn=torch_bench)
    p = sub.add_parser("llama-bench", help="llama.cpp prefill/decode (one process)")
    common(p)
    for n, d in (("--batch", 1), ("--prompt-len", 128), ("--new-tokens", 32), ("--repeats", 2)):
        p.add_argument(n, type=int, default=d)
    p.set_defaults(fn=llama_bench)
    p = sub.add_parser("torch-train", help="PyTorch training step throughput (one process)")
    common(p)
    for n, d in (("--batch-size", 4), ("--seq-len", 256), ("--steps", 3), ("--lora-rank", 0)):
        p.add_argument(n, type=int, default=d)
    p.set_defaults(fn=torch_train)
    p = sub.add_parser("table", help="print the table of a saved --out JSON")
    p.add_argument("json", type=Path)
    p.set_defaults(fn=lambda a: print(table(json.loads(a.json.read_text()), list(json.loads(a.json.read_text())["columns"]))))

    # No subcommand: run everything.
    common(ap)
    ap.add_argument("--halt-bin", action="append", default=[],
                    help="[LABEL=]PATH of a halt-llm binary; repeat for before/after (the last one is "
                    "compared with the peers; LABEL defaults to the file name). Default $HALT_BIN, else "
                    "$CARGO_TARGET_DIR/release/halt-llm, else ~/.cache/halt-llm/target/release/halt-llm)")
    ap.add_argument("--only", default="halt,torch,llama", help="comma-separated parts: halt, torch, llama")
    ap.add_argument("--workloads", default="", help="comma-separated subset of: " + ",".join(w[0] for w in WORKLOADS))
    ap.add_argument("--out", default=str(HERE / "last-run.json"), help="raw numbers (JSON)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per workload process")
    a = ap.parse_args()
    if a.cmd is None:
        orchestrate(a)
    else:
        a.fn(a)


if __name__ == "__main__":
    main()
