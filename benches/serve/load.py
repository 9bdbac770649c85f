#!/usr/bin/env python3
"""Load benchmark of `halt-llm serve` (a benchmark, not a test: CI never runs it).

Starts the server on 127.0.0.1 (a free port), sends the same REQUESTS distinct prompts twice:
first one at a time (the baseline: what a server without batching could do at best), then from
CLIENTS concurrent clients, and prints one markdown table: requests/s, generated tokens/s and
p50/p99 latency of each pass, and whether every concurrent answer came back and equals the
answer the same prompt got alone (greedy decoding, so an answer that differs was either mixed
up with another request's or changed by batching; the two are told apart).

    python3 benches/serve/load.py                       # 256 requests, 32 clients, SmolLM2
    python3 benches/serve/load.py --requests 64 --clients 16 --max-tokens 32
    python3 benches/serve/load.py --bin target/release/halt-llm --model runs/x/models/halt-0.6/model

Only the Python standard library. Bounded: --requests, --max-tokens, and --timeout (seconds
per pass; the benchmark fails rather than waits longer). Run it on an idle machine: anything
running beside it slows both passes, not equally.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def default_bin():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/halt-llm/target"))
    for p in (os.path.join(target, "release/halt-llm"), os.path.join(ROOT, "target/release/halt-llm")):
        if os.path.exists(p):
            return p
    return "halt-llm"


def prompts(n):
    """n distinct short questions (names and numbers vary, so no two answers should agree)."""
    names = ["Lena", "Omar", "Ines", "Tariq", "Mei", "Pablo", "Anya", "Kofi"]
    things = ["apples", "marbles", "stamps", "books", "coins", "shells", "pencils", "cards"]
    out = []
    for i in range(n):
        a, b = 3 + i % 17, 1 + (i // 17) % 9
        out.append(f"{names[i % 8]} has {a} {things[(i // 8) % 8]} and gets {b} more. How many now?")
    return out


def start_server(args):
    cmd = [args.bin, "serve", "--model", args.model, "--port", "0", "--max-batch", str(args.max_batch),
           "--max-queue", str(max(args.requests, 64))]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.time() + 300
    for line in proc.stderr:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, m.group(1)
        if time.time() > deadline:
            break
    proc.kill()
    sys.exit(f"the server did not start: {' '.join(cmd)}")


def ask(base, prompt, max_tokens, timeout):
    body = json.dumps({"messages": [{"role": "user", "content": prompt}], "temperature": 0,
                       "max_tokens": max_tokens, "seed": 0}).encode()
    req = urllib.request.Request(base + "/v1/chat/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as r:
        reply = json.load(r)
    return time.perf_counter() - t0, reply["choices"][0]["message"]["content"], reply["usage"]["completion_tokens"]


def run_pass(base, ps, clients, max_tokens, timeout):
    """[(latency s, text, tokens) or None] in prompt order, and the wall time."""
    results = [None] * len(ps)
    errors = []

    def one(i):
        try:
            results[i] = ask(base, ps[i], max_tokens, timeout)
        except (urllib.error.URLError, OSError, KeyError, ValueError) as e:
            errors.append(f"request {i}: {e}")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(len(ps)), timeout=timeout))
    wall = time.perf_counter() - t0
    return results, wall, errors


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def summary(name, results, wall):
    done = [r for r in results if r]
    lat = [r[0] for r in done]
    tokens = sum(r[2] for r in done)
    return {"pass": name, "answered": len(done), "wall_s": wall, "requests_per_s": len(done) / wall,
            "tokens_per_s": tokens / wall, "p50_s": pct(lat, 0.5) if lat else None,
            "p99_s": pct(lat, 0.99) if lat else None, "tokens": tokens}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("HALT_BIN", default_bin()))
    ap.add_argument("--model", default="default")
    ap.add_argument("--requests", type=int, default=256)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--max-batch", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=48)
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per pass")
    ap.add_argument("--out", default=os.path.join(ROOT, "benches/serve/last-run.json"))
    args = ap.parse_args()
    ps = prompts(args.requests)
    proc, base = start_server(args)
    try:
        ask(base, "warm up", 4, 120)
        seq, seq_wall, seq_err = run_pass(base, ps, 1, args.max_tokens, args.timeout)
        con, con_wall, con_err = run_pass(base, ps, args.clients, args.max_tokens, args.timeout)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    alone = {i: r[1] for i, r in enumerate(seq) if r}
    same = sum(1 for i, r in enumerate(con) if r and alone.get(i) == r[1])
    others = {t: i for i, t in alone.items()}
    mixed = sum(1 for i, r in enumerate(con) if r and alone.get(i) != r[1] and r[1] in others)
    rows = [summary("one at a time", seq, seq_wall), summary(f"{args.clients} concurrent clients", con, con_wall)]
    report = {"requests": args.requests, "clients": args.clients, "max_batch": args.max_batch,
              "max_tokens": args.max_tokens, "model": args.model, "bin": args.bin, "passes": rows,
              "concurrent_equal_to_alone": same, "concurrent_equal_to_another_prompts_answer": mixed,
              "errors": seq_err + con_err, "cpus": os.cpu_count()}
    with open(args.out + ".tmp", "w") as f:
        json.dump(report, f, indent=1)
    os.replace(args.out + ".tmp", args.out)
    print(f"{args.requests} requests, greedy, max_tokens {args.max_tokens}, model {args.model}, "
          f"--max-batch {args.max_batch}, {os.cpu_count()} CPUs\n")
    print("| pass | answered | wall s | requests/s | tokens/s | p50 latency s | p99 latency s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['pass']} | {r['answered']}/{args.requests} | {r['wall_s']:.1f} | {r['requests_per_s']:.2f} "
              f"| {r['tokens_per_s']:.1f} | {r['p50_s']:.2f} | {r['p99_s']:.2f} |")
    print(f"\nconcurrent answers equal to the same prompt's answer alone: {same}/{args.requests}; "
          f"equal to another prompt's answer (mixed up): {mixed}; errors: {len(report['errors'])}")
    for e in report["errors"][:10]:
        print("  " + e)
    ok = not report["errors"] and rows[1]["answered"] == args.requests and mixed == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
