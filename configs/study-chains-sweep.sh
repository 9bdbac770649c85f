#!/bin/sh
# Chooses the learning rate of the study run on the validation split, then runs the study.
#
#   configs/study-chains-sweep.sh            # the validation runs, the choice, the study run
#   HALT_LLM=path/to/halt-llm configs/study-chains-sweep.sh
#
# Every run resumes when the script is run again. The choice rule, fixed before any run: the
# highest mean F1 of halt-0.6 and unchanged on the 144 validation prompts (ties: the lower
# learning rate). The test split is touched only by the last command.
set -eu
cd "$(dirname "$0")/.."
BIN=${HALT_LLM:-target/release/halt-llm}
RATES="0.0003 0.001 0.003"
first=""
for lr in $RATES; do
    out=runs/study-chains-validation-lr$lr
    mkdir -p runs
    sed "s/^lr = .*/lr = $lr/" configs/study-chains-validation.toml > "runs/.validation-lr$lr.toml"
    if [ -z "$first" ]; then
        "$BIN" run --config "runs/.validation-lr$lr.toml" --out "$out"
        first=$out
    else
        "$BIN" run --config "runs/.validation-lr$lr.toml" --out "$out" --reuse-from "$first"
    fi
done
chosen=$(python3 - $RATES <<'PY'
import json, sys
best = None
for lr in sys.argv[1:]:
    f1 = []
    for model in ("halt-0.6", "unchanged"):
        path = f"runs/study-chains-validation-lr{lr}/eval/{model}/summary.json"
        f1.append(json.load(open(path))["f1"]["value"] or 0.0)
    mean = sum(f1) / 2
    print(f"lr {lr}: F1 halt-0.6 {f1[0]:.3f}, unchanged {f1[1]:.3f}, mean {mean:.3f}", file=sys.stderr)
    if best is None or mean > best[0]:
        best = (mean, lr)
print(best[1])
PY
)
echo "chosen on validation: lr = $chosen" >&2
if ! grep -q "^lr = $chosen\$" configs/study-chains.toml; then
    echo "configs/study-chains.toml has another lr: set lr = $chosen there first" >&2
    exit 1
fi
"$BIN" run --config configs/study-chains.toml --out runs/study-chains \
    --reuse-from "runs/study-chains-validation-lr$chosen"
