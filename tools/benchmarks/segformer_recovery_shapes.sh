#!/usr/bin/env bash
# Recovery of SegFormer-b0 pruned to 2x fewer FLOPs on the shapes set, every
# mIoU from the stock tools/test.py (val split):
#   1. the baseline: 2000 iterations (segformer_mit-b0_8xb8-2k_shapes-128x128.py)
#   2. the control: the same 500-iteration finetune without pruning
#   3. group_norm with uniform ratios, then that finetune
#   4. sensitivity-allocated ratios; a finetune distilled from the unpruned
#      model (channel-wise distillation of the logits); both
#   5. the uniform group_norm architecture trained from scratch with the
#      whole budget (2000 + 500 iterations, the baseline's schedule)
# Prints a markdown table. One job at a time (2 CPU cores); about 45 min.
#   bash tools/benchmarks/segformer_recovery_shapes.sh [WORK]
#   BASE_CKPT=... reuses a baseline checkpoint
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-work_dirs/segformer_recovery}
BASE_CFG=configs/segformer/segformer_mit-b0_8xb8-2k_shapes-128x128.py
P=configs/pruning/segformer
D=configs/distillation
mkdir -p "$WORK"
BASE_CKPT=${BASE_CKPT:-$WORK/base/iter_2000.pth}
if [ ! -f "$BASE_CKPT" ]; then
    $PY tools/train.py $BASE_CFG --work-dir "$WORK/base" > "$WORK/base.log" 2>&1
fi

miou_of() {  # the last mIoU a log printed
    { grep -o 'mIoU: [0-9.]*' "$1" || true; } | tail -1 | awk '{print $2}'
}
row() {  # name, pruning_results.json, test log
    $PY - "$1" "$2" "$(miou_of "$3")" <<'PY'
import json, sys
name, path, m = sys.argv[1:]
r = json.load(open(path))
print(f"| {name} | {r['params_before'] / 1e6:.2f}M -> {r['params_after'] / 1e6:.2f}M "
      f"| {r['flops_before'] / 1e9:.3f} -> {r['flops_after'] / 1e9:.3f} ({r['speed_up']:.2f}x) "
      f"| {m} |")
PY
}

echo "| run | params | GFLOPs at 128 px | mIoU |"
echo "| --- | --- | --- | --- |"
$PY tools/test.py $BASE_CFG "$BASE_CKPT" --work-dir "$WORK/base" > "$WORK/base.test.log" 2>&1
echo "| baseline, 2000 iterations | | | $(miou_of "$WORK/base.test.log") |"
$PY tools/train.py configs/segformer/segformer_mit-b0_finetune-500_shapes-128x128.py \
    --work-dir "$WORK/control" --cfg-options load_from="$BASE_CKPT" \
    > "$WORK/control.log" 2>&1
echo "| unpruned, same 500-iteration finetune (control) | | | $(miou_of "$WORK/control.log") |"

run() {  # name, train config, test config, work dir
    $PY tools/train.py "$2" --work-dir "$4" \
        --cfg-options load_from="$BASE_CKPT" > "$4.log" 2>&1
    $PY tools/test.py "$3" "$4/iter_500.pth" --work-dir "$4" \
        > "$4.test.log" 2>&1
    row "$1" "$4/pruning_results.json" "$4.test.log"
}
run "group_norm 2x, uniform ratios" \
    $P/segformer_mit-b0_group-norm-2x_8xb8-500_shapes-128x128.py \
    $P/segformer_mit-b0_group-norm-2x_8xb8-500_shapes-128x128.py "$WORK/gn"
run "group_norm 2x, sensitivity-allocated ratios" \
    $P/segformer_mit-b0_group-norm-sensitivity-2x_8xb8-500_shapes-128x128.py \
    $P/segformer_mit-b0_group-norm-sensitivity-2x_8xb8-500_shapes-128x128.py "$WORK/gn_sensitivity"
run "group_norm 2x, uniform, finetune distilled from the unpruned model" \
    $D/segformer_mit-b0_group-norm-2x_cwd-self_8xb8-500_shapes-128x128.py \
    $P/segformer_mit-b0_group-norm-2x_8xb8-500_shapes-128x128.py "$WORK/gn_cwd"
run "group_norm 2x, sensitivity ratios + distilled finetune" \
    $D/segformer_mit-b0_group-norm-sensitivity-2x_cwd-self_8xb8-500_shapes-128x128.py \
    $P/segformer_mit-b0_group-norm-sensitivity-2x_8xb8-500_shapes-128x128.py "$WORK/gn_sensitivity_cwd"

# the uniform group_norm architecture from scratch, whole budget
$PY tools/prune.py $BASE_CFG "$BASE_CKPT" --method group_norm --speed-up 2 \
    --random-init --out "$WORK/scratch_init" > "$WORK/scratch_init.log" 2>&1
cfg=$P/segformer_mit-b0_group-norm-2x-scratch_8xb8-2500_shapes-128x128.py
$PY tools/train.py $cfg --work-dir "$WORK/scratch" \
    --cfg-options load_from="$WORK/scratch_init/pruned.pth" > "$WORK/scratch.log" 2>&1
$PY tools/test.py $cfg "$WORK/scratch/iter_2500.pth" --work-dir "$WORK/scratch" \
    > "$WORK/scratch.test.log" 2>&1
row "uniform group_norm architecture from scratch, 2000 + 500 iterations" \
    "$WORK/scratch_init/pruning_results.json" "$WORK/scratch.test.log"
