#!/usr/bin/env bash
# The main job on the embedded default: train the RTMDet-tiny baseline on the
# synthetic shapes set for a short schedule, then test it and print its mAP.
#   bash tools/main_job.sh [EPOCHS]      (default 8; about 10 min on 2 cores)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
EPOCHS="${1:-8}"
CONFIG=configs/rtmdet/rtmdet_tiny_12e_shapes.py
WORK=work_dirs/main_job
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK" --cfg-options \
  train_cfg.max_epochs="$EPOCHS" train_cfg.val_interval="$EPOCHS" \
  param_scheduler.1.begin=$((EPOCHS / 2)) param_scheduler.1.end="$EPOCHS" \
  param_scheduler.1.T_max=$((EPOCHS - EPOCHS / 2))
CKPT="$WORK/epoch_${EPOCHS}.pth"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK" 2>&1 | tee "$WORK/test.log" | grep -E "bbox_mAP_copypaste|coco/bbox_mAP:" || true
MAP=$(grep -oE "coco/bbox_mAP: [0-9.]+" "$WORK/test.log" | tail -1 | cut -d' ' -f2)
echo "main job: RTMDet-tiny, ${EPOCHS} epochs on shapes -> test bbox mAP ${MAP:-?} (checkpoint: $CKPT)"
