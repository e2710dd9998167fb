#!/usr/bin/env bash
# The deployment benchmark on shapes (docs/en/notes/benchmarks.md,
# "Deployment"): RTMDet-tiny trained 12 epochs (seed 0), pruned by
# group_norm with sensitivity allocation to 1.5x, 2x and 3x fewer FLOPs,
# each finetuned 2 epochs (warm-up + cosine); then every model exported end
# to end, quantized to INT8, tested on the shapes test set and timed in
# ONNX Runtime at 256, 192 and 160 px (tools/benchmarks/deployment_tradeoff.py),
# with the trade-off plot. About 75 min on 2 CPU cores.
#   bash tools/benchmarks/deployment_shapes.sh [WORK_DIR]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WORK="${1:-work_dirs/deploy_bench}"
CONFIG=configs/rtmdet/rtmdet_tiny_12e_shapes.py
FINETUNE=configs/rtmdet/rtmdet_tiny_finetune-pruned-warmup-cosine-2e_shapes.py
BASE="$WORK/base/epoch_12.pth"
[ -f "$BASE" ] || "$PY" tools/train.py "$CONFIG" --work-dir "$WORK/base" \
  --cfg-options randomness.seed=0
MODELS=(--model unpruned "$CONFIG" "$BASE")
for S in 1.5 2 3; do
  P="$WORK/prune-${S}x"
  if [ ! -f "$P/finetune/epoch_2.pth" ]; then
    "$PY" tools/prune.py "$CONFIG" "$BASE" --method group_norm --speed-up "$S" \
      --allocation sensitivity --round-to 8 --out "$P" --overwrite
    "$PY" tools/train.py "$FINETUNE" --work-dir "$P/finetune" \
      --cfg-options load_from="$P/pruned.pth" randomness.seed=0
  fi
  MODELS+=(--model "pruned ${S}x" "$FINETUNE" "$P/finetune/epoch_2.pth")
done
"$PY" tools/benchmarks/deployment_tradeoff.py "${MODELS[@]}" \
  --input-sizes 256 192 160 --out "$WORK/tradeoff"
