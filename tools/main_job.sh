#!/usr/bin/env bash
# The main job on the embedded default: train the RTMDet-tiny baseline on the
# synthetic shapes set for a short schedule and test it; then prune it to 2x
# fewer FLOPs with the best recipe measured (group_norm, sensitivity
# allocation, round_to=8), finetune 200 iterations, test the pruned
# checkpoint with the same config, export both to ONNX (checked against
# PyTorch in ONNX Runtime) and print a before/after table.
# It first sets up the reproducible environment when it is missing
# (tools/install.sh; seconds when it exists).
#   bash tools/main_job.sh [EPOCHS]      (default 8; about 18 min on 2 cores)
#   REUSE_BASELINE=1 bash tools/main_job.sh   keeps an existing baseline
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
[ -n "${PYTHON:-}" ] || bash tools/install.sh
PY="${PYTHON:-$ROOT/.venv/bin/python}"
EPOCHS="${1:-8}"
CONFIG=configs/rtmdet/rtmdet_tiny_12e_shapes.py
WORK=work_dirs/main_job
CKPT="$WORK/epoch_${EPOCHS}.pth"
if [ -z "${REUSE_BASELINE:-}" ] || [ ! -f "$CKPT" ]; then
  "$PY" tools/train.py "$CONFIG" --work-dir "$WORK" --cfg-options \
    train_cfg.max_epochs="$EPOCHS" train_cfg.val_interval="$EPOCHS" \
    param_scheduler.1.begin=$((EPOCHS / 2)) param_scheduler.1.end="$EPOCHS" \
    param_scheduler.1.T_max=$((EPOCHS - EPOCHS / 2))
fi
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK" 2>&1 | tee "$WORK/test.log" | grep -E "bbox_mAP_copypaste|coco/bbox_mAP:" || true
MAP=$(grep -oE "coco/bbox_mAP: [0-9.]+" "$WORK/test.log" | tail -1 | cut -d' ' -f2)
echo "main job: RTMDet-tiny, ${EPOCHS} epochs on shapes -> test bbox mAP ${MAP:-?} (checkpoint: $CKPT)"

# prune 2x -> finetune -> test, with the stock tools
PRUNED_CFG=configs/pruning/rtmdet/rtmdet_tiny_group-norm-sensitivity-2x_2e_shapes.py
PWORK=work_dirs/main_job_pruned
"$PY" tools/train.py "$PRUNED_CFG" --work-dir "$PWORK" \
  --cfg-options load_from="$CKPT" > "$PWORK.log" 2>&1
"$PY" tools/test.py "$PRUNED_CFG" "$PWORK/epoch_2.pth" --work-dir "$PWORK" \
  > "$PWORK/test.log" 2>&1
PMAP=$(grep -oE "coco/bbox_mAP: [0-9.]+" "$PWORK/test.log" | tail -1 | cut -d' ' -f2)
# deploy both: ONNX export checked against PyTorch, latency in both runtimes
"$PY" tools/deployment/export_onnx.py "$CONFIG" "$CKPT" \
  --out "$WORK/deploy/baseline.onnx" --input-shape 256 256 > "$WORK/export.log" 2>&1
"$PY" tools/deployment/export_onnx.py "$PRUNED_CFG" "$PWORK/epoch_2.pth" \
  --out "$PWORK/deploy/pruned.onnx" --input-shape 256 256 > "$PWORK/export.log" 2>&1
"$PY" - "$PWORK/pruning_results.json" "${MAP:-?}" "${PMAP:-?}" \
  "$WORK/deploy/baseline.deploy.json" "$PWORK/deploy/pruned.deploy.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lat = [json.load(open(p))['latency'] for p in sys.argv[4:6]]
ms = [{k: v['median_ms'] for k, v in x.items() if isinstance(v, dict)} for x in lat]
print('| RTMDet-tiny on shapes | params | GFLOPs (256 px) | PyTorch latency (ms) | ONNX Runtime latency (ms, exported) | bbox mAP |')
print('| --- | --- | --- | --- | --- | --- |')
print(f"| baseline | {r['params_before'] / 1e6:.2f}M | {r['flops_before'] / 1e9:.3f} | {ms[0]['torch']:.1f} | {ms[0]['onnxruntime']:.1f} | {sys.argv[2]} |")
print(f"| group_norm 2x (sensitivity) + 200-iteration finetune | {r['params_after'] / 1e6:.2f}M | {r['flops_after'] / 1e9:.3f} | {ms[1]['torch']:.1f} | {ms[1]['onnxruntime']:.1f} | {sys.argv[3]} |")
print(f"| speed-up | | {r['flops_before'] / r['flops_after']:.2f}x | {ms[0]['torch'] / ms[1]['torch']:.2f}x | {ms[0]['onnxruntime'] / ms[1]['onnxruntime']:.2f}x | |")
PY
