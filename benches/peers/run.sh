#!/usr/bin/env bash
# Peer benchmark: halt-llm vs HF transformers + PyTorch (f32) vs llama.cpp on the same GGUF.
# See README.md. Benchmark only; CI never runs it.
#
#   benches/peers/run.sh [--skip-install] [--install-only] [peers.py options...]
#   e.g. benches/peers/run.sh --halt-bin before=$HOME/.cache/halt-llm/bin/halt-llm-before \
#                             --halt-bin after=$HOME/.cache/halt-llm/target/release/halt-llm
#        benches/peers/run.sh --only halt --workloads b1,b16
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VENV=${PEERS_VENV:-$HOME/.cache/halt-llm/peers-venv}
LLAMA_CPP_PYTHON=${LLAMA_CPP_PYTHON:-0.3.36}
SKIP_INSTALL=0
INSTALL_ONLY=0
ARGS=()
ONLY="halt,torch,llama"
prev=""
for a in "$@"; do
  case "$a" in
    --skip-install) SKIP_INSTALL=1 ;;
    --install-only) INSTALL_ONLY=1 ;;
    -h|--help) sed -n '2,8p' "$0"; echo; ARGS+=("$a") ;;
    *) ARGS+=("$a") ;;
  esac
  [ "$prev" = "--only" ] && ONLY=$a
  case "$a" in --only=*) ONLY=${a#--only=} ;; esac
  prev=$a
done

# CPU features for the llama.cpp build: AVX-512 only where the CPU *and* the OS enable it
# (/proc/cpuinfo lists avx512f only then; some VMs hide it and its instructions trap). AMX
# is always off: on the Zen 5 VMs this was written on, the CPU advertises it but it traps.
cmake_args() {
  local a="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DLLAVA_BUILD=OFF"
  local flags
  flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
  if grep -qw avx512f <<<"$flags"; then
    a+=" -DGGML_AVX512=ON"
    grep -qw avx512vbmi <<<"$flags" && a+=" -DGGML_AVX512_VBMI=ON"
    grep -qw avx512_vnni <<<"$flags" && a+=" -DGGML_AVX512_VNNI=ON"
    grep -qw avx512_bf16 <<<"$flags" && a+=" -DGGML_AVX512_BF16=ON"
  else
    a+=" -DGGML_AVX512=OFF"
  fi
  echo "$a"
}

install() {
  local t0=$SECONDS cargs stamp want
  cargs=${PEERS_CMAKE_ARGS:-$(cmake_args)}
  want=$(cat "$HERE/requirements.txt"; echo "llama-cpp-python==$LLAMA_CPP_PYTHON $cargs")
  stamp="$VENV/.peers-stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "peers venv up to date: $VENV" >&2
    return
  fi
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  export PATH="$VENV/bin:$PATH"
  "$VENV/bin/pip" install --disable-pip-version-check -q -r "$HERE/requirements.txt"
  # Built from source so CMAKE_ARGS applies; --no-cache-dir so a wheel cached under other
  # flags is not reused. Takes ~12 min on 2 cores.
  echo "building llama-cpp-python==$LLAMA_CPP_PYTHON with CMAKE_ARGS=$cargs" >&2
  CMAKE_ARGS="$cargs" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-2} \
    "$VENV/bin/pip" install --disable-pip-version-check -q --no-cache-dir --force-reinstall --no-deps \
    --no-binary llama-cpp-python "llama-cpp-python==$LLAMA_CPP_PYTHON"
  echo "$want" >"$stamp"
  echo "installed in $((SECONDS - t0)) s" >&2
}

needs_venv=0
case ",$ONLY," in *,torch,*|*,llama,*) needs_venv=1 ;; esac
if [ "$INSTALL_ONLY" = 1 ] || { [ "$needs_venv" = 1 ] && [ "$SKIP_INSTALL" = 0 ]; }; then
  install
fi
[ "$INSTALL_ONLY" = 1 ] && exit 0

if [ "$needs_venv" = 1 ]; then
  PY="$VENV/bin/python"
  [ -x "$PY" ] || { echo "no venv at $VENV: run without --skip-install first" >&2; exit 1; }
else
  PY=python3 # the halt-only orchestration needs the standard library only
fi
exec "$PY" "$HERE/peers.py" "${ARGS[@]}"
