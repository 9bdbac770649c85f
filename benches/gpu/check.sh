#!/usr/bin/env bash
# The first thing to run on a GPU machine. For each GPU backend of halt-llm (wgpu: any vendor
# through Vulkan/Metal/DX12; cuda: NVIDIA), it builds halt-llm with that backend, opens its
# device, checks it against the CPU backend (the logits of a forward pass, tests/wgpu.rs; five
# training steps, tests/wgpu_train.rs), then measures decode and training speed beside the
# CPU's, and prints one table. A backend it cannot build, open or check is listed as skipped,
# with the reason and the log to read. Not a test: CI does not run it.
#
#   benches/gpu/check.sh                 # SmolLM2-135M-Instruct (fetched on first use)
#   benches/gpu/check.sh --model PATH    # another GGUF file or Hugging Face folder
#   benches/gpu/check.sh --only wgpu     # one backend
#   benches/gpu/check.sh --model tests/fixtures/tiny-llama/hf --prompt-len 64 --seq-len 64
#                                        # a quick run of the machinery (tiny model, context 128)
#
# The cuda build uses its own target folder ($CARGO_TARGET_DIR-cuda): building the default
# features and cuda in one folder would rebuild burn's GPU crates each time.
set -uo pipefail
CALLER_DIR="$(pwd)"
cd "$(dirname "$0")/../.."

MODEL=default
ONLY=""
PROMPT_LEN=128
SEQ_LEN=256
while [ $# -gt 0 ]; do
  case "$1" in
    --model) MODEL="${2:?--model needs a value}"; shift 2 ;;
    --only)
      ONLY="${2:?--only needs wgpu or cuda}"; shift 2
      case "$ONLY" in wgpu|cuda) ;; *) echo "--only $ONLY: expected wgpu or cuda"; exit 2 ;; esac ;;
    --prompt-len) PROMPT_LEN="$2"; shift 2 ;;
    --seq-len) SEQ_LEN="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument $1 (see --help)"; exit 2 ;;
  esac
done

# a relative --model is relative to where the script was called from
if [ "$MODEL" != default ] && [ "${MODEL#/}" = "$MODEL" ] && [ -e "$CALLER_DIR/$MODEL" ]; then
  MODEL="$CALLER_DIR/$MODEL"
fi
TARGET="${CARGO_TARGET_DIR:-$HOME/.cache/halt-llm/target}"
LOGS="$(mktemp -d /tmp/halt-gpu-check.XXXXXX)"
ROWS=()
say() { echo "gpu-check: $*" >&2; }

# One JSON line of `halt-llm bench`/`bench-train` → the value of a field, 1 decimal.
field() { python3 -c 'import json,sys; print(f"{json.loads(sys.argv[1])[sys.argv[2]]:.1f}")' "$1" "$2" 2>/dev/null || echo "?"; }

# measure NAME BIN DEVICE: prefill and decode tok/s (batch 1, prompt PROMPT_LEN, 32 new
# tokens), full-SFT tok/s and peak RSS (batch 4 × SEQ_LEN); a failed measurement says why.
measure() {
  local name="$1" bin="$2" dev="$3" b t log="$LOGS/$1-bench.log"
  b=$("$bin" bench --model "$MODEL" --device "$dev" --batch 1 --prompt-len "$PROMPT_LEN" \
        --new-tokens 32 --repeats 2 2>>"$log" | tail -1)
  t=$("$bin" bench-train --model "$MODEL" --device "$dev" --batch-size 4 --seq-len "$SEQ_LEN" \
        --steps 3 2>>"$log" | tail -1)
  if ! python3 -c 'import json,sys; [json.loads(a) for a in sys.argv[1:]]' "$b" "$t" 2>/dev/null; then
    echo "failed: $(grep -m1 -E '^error|panicked' "$log" | tr '|' '/' | cut -c1-100) (log $log) | – | – | –"
    return
  fi
  echo "$(field "$b" prefill_tokens_per_s) | $(field "$b" decode_tokens_per_s) | $(field "$t" tokens_per_s) | $(field "$t" peak_rss_mib)"
}

# check BACKEND FEATURES TARGET_DIR
check() {
  local backend="$1" features="$2" target="$3" start bin status
  start=$(date +%s)
  say "$backend: building (cargo build --release $features; log $LOGS/$backend-build.log)"
  if ! CARGO_TARGET_DIR="$target" cargo build --release --locked $features --bin halt-llm \
        >"$LOGS/$backend-build.log" 2>&1; then
    local why
    why=$(grep -m1 -E "^error" "$LOGS/$backend-build.log" | tr '|' '/' | cut -c1-120)
    ROWS+=("| $backend | skipped: the build failed (${why:-see log}); log $LOGS/$backend-build.log | – | – | – | – |")
    return
  fi
  bin="$target/release/halt-llm"
  status=$("$bin" devices 2>&1 | grep -E "^$backend:" | cut -d: -f2- | sed 's/^ *//')
  if [ "$status" != "available" ]; then
    ROWS+=("| $backend | skipped: device not available (${status:-not compiled in}) | – | – | – | – |")
    return
  fi
  say "$backend: parity with the CPU backend (tests/wgpu.rs, tests/wgpu_train.rs; log $LOGS/$backend-parity.log)"
  local parity="pass"
  if ! HALT_GPU="$backend" HALT_REQUIRE_GPU=1 CARGO_TARGET_DIR="$target" \
       cargo test --release --locked $features --test wgpu --test wgpu_train \
       >"$LOGS/$backend-parity.log" 2>&1; then
    parity="FAIL (log $LOGS/$backend-parity.log)"
  fi
  say "$backend: bench and bench-train"
  ROWS+=("| $backend | built, device opened, parity $parity ($(( $(date +%s) - start )) s) | $(measure "$backend" "$bin" "$backend") |")
}

DEFAULT_BIN="$TARGET/release/halt-llm"
say "cpu: building the default features (log $LOGS/cpu-build.log)"
if CARGO_TARGET_DIR="$TARGET" cargo build --release --locked --bin halt-llm >"$LOGS/cpu-build.log" 2>&1; then
  "$DEFAULT_BIN" devices >&2
  ROWS+=("| cpu | reference backend | $(measure cpu "$DEFAULT_BIN" cpu) |")
else
  echo "the default build failed: see $LOGS/cpu-build.log"; exit 1
fi
if [ -z "$ONLY" ] || [ "$ONLY" = wgpu ]; then check wgpu "" "$TARGET"; fi
if [ -z "$ONLY" ] || [ "$ONLY" = cuda ]; then check cuda "--features cuda" "$TARGET-cuda"; fi

echo
echo "model $MODEL; bench: batch 1, prompt $PROMPT_LEN, 32 new tokens; bench-train: full SFT, batch 4 × $SEQ_LEN tokens; $(nproc) CPUs; $(date -u +%Y-%m-%dT%H:%MZ); logs in $LOGS"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/GPU: /'
else
  echo "no nvidia-smi: no NVIDIA driver on this machine"
fi
if ! compgen -G "/dev/dri/renderD*" >/dev/null && [ ! -e /dev/nvidia0 ]; then
  echo "no GPU device node (/dev/dri/renderD*, /dev/nvidia0): wgpu runs on Mesa's lavapipe, the CPU, so its figures are not a GPU's"
fi
echo
echo "| backend | status | prefill tok/s | decode tok/s (batch 1) | full SFT tok/s | SFT peak RSS MiB |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
