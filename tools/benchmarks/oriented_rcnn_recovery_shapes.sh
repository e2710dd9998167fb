#!/usr/bin/env bash
# Recovery of Oriented R-CNN R18 pruned to 2x fewer FLOPs on the shapes set
# (DOTA format, 128 px), every mAP from the stock tools/test.py:
#   1. the baseline: 4 epochs (oriented-rcnn-le90_r18_fpn_4e_shapes.py)
#   2. the control: the same 1-epoch finetune without pruning
#   3. group_norm with uniform ratios, then that finetune
#   4. sensitivity-allocated ratios; a finetune distilled from the unpruned
#      model (PKD on the FPN, logits KD on the RoI classifier)
#   5. the uniform group_norm architecture trained from scratch with the
#      whole budget (4 + 1 epochs, the baseline's schedule)
# Prints a markdown table. One job at a time (2 CPU cores); about 50 min.
#   bash tools/benchmarks/oriented_rcnn_recovery_shapes.sh [WORK]
#   BASE_CKPT=... reuses a baseline checkpoint
#   TEST_IMAGES=500 (the default) tests on a separate 500-image test split
#       (generated on first use) instead of the 100 val images; 0: val
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-work_dirs/oriented_rcnn_recovery}
BASE_CFG=configs/oriented_rcnn/oriented-rcnn-le90_r18_fpn_4e_shapes.py
P=configs/pruning/oriented_rcnn
D=configs/distillation
TEST_IMAGES=${TEST_IMAGES:-500}
mkdir -p "$WORK"
BASE_CKPT=${BASE_CKPT:-$WORK/base/epoch_4.pth}
if [ ! -f "$BASE_CKPT" ]; then
    $PY tools/train.py $BASE_CFG --work-dir "$WORK/base" > "$WORK/base.log" 2>&1
fi
TEST_OPTS=()
if [ "$TEST_IMAGES" != 0 ]; then
    TEST_OPTS=(--cfg-options
        test_dataloader.dataset.data_root=${MMPRUNE_DATA:-data}/shapes_dota_128/test$TEST_IMAGES/
        test_dataloader.dataset.shapes.num_images=$TEST_IMAGES
        test_dataloader.dataset.shapes.split=test)
fi
test_run() {  # config, checkpoint, work dir: tools/test.py on the test set
    $PY tools/test.py "$1" "$2" --work-dir "$3" "${TEST_OPTS[@]}" \
        > "$3.test.log" 2>&1
}
map_of() {  # the last DOTA mAP a log printed
    { grep -o 'dota/mAP: [0-9.]*' "$1" || true; } | tail -1 | awk '{print $2}'
}
row() {  # name, pruning_results.json, test log
    $PY - "$1" "$2" "$(map_of "$3")" <<'PY'
import json, sys
name, path, m = sys.argv[1:]
r = json.load(open(path))
print(f"| {name} | {r['params_before'] / 1e6:.2f}M -> {r['params_after'] / 1e6:.2f}M "
      f"| {r['flops_before'] / 1e9:.3f} -> {r['flops_after'] / 1e9:.3f} ({r['speed_up']:.2f}x) "
      f"| {m} |")
PY
}

echo "| run | params | GFLOPs at 128 px | DOTA mAP |"
echo "| --- | --- | --- | --- |"
test_run $BASE_CFG "$BASE_CKPT" "$WORK/base"
echo "| baseline, 4 epochs | | | $(map_of "$WORK/base.test.log") |"
$PY tools/train.py configs/oriented_rcnn/oriented-rcnn-le90_r18_fpn_finetune-1e_shapes.py \
    --work-dir "$WORK/control" --cfg-options load_from="$BASE_CKPT" \
    > "$WORK/control.log" 2>&1
test_run configs/oriented_rcnn/oriented-rcnn-le90_r18_fpn_finetune-1e_shapes.py \
    "$WORK/control/epoch_1.pth" "$WORK/control"
echo "| unpruned, same 1-epoch finetune (control) | | | $(map_of "$WORK/control.test.log") |"

run() {  # name, train config, test config, work dir
    $PY tools/train.py "$2" --work-dir "$4" \
        --cfg-options load_from="$BASE_CKPT" > "$4.log" 2>&1
    test_run "$3" "$4/epoch_1.pth" "$4"
    row "$1" "$4/pruning_results.json" "$4.test.log"
}
run "group_norm 2x, uniform ratios" \
    $P/oriented-rcnn-le90_r18_fpn_group-norm-2x_1e_shapes.py \
    $P/oriented-rcnn-le90_r18_fpn_group-norm-2x_1e_shapes.py "$WORK/gn"
run "group_norm 2x, sensitivity-allocated ratios" \
    $P/oriented-rcnn-le90_r18_fpn_group-norm-sensitivity-2x_1e_shapes.py \
    $P/oriented-rcnn-le90_r18_fpn_group-norm-sensitivity-2x_1e_shapes.py "$WORK/gn_sensitivity"
if [ -z "${SKIP_DISTILL:-}" ]; then
run "group_norm 2x, uniform, finetune distilled from the unpruned model" \
    $D/oriented-rcnn-le90_r18_fpn_group-norm-2x_pkd-self_1e_shapes.py \
    $P/oriented-rcnn-le90_r18_fpn_group-norm-2x_1e_shapes.py "$WORK/gn_pkd"
fi

# the uniform group_norm architecture from scratch, whole budget
$PY tools/prune.py $BASE_CFG "$BASE_CKPT" --method group_norm --speed-up 2 \
    --random-init --out "$WORK/scratch_init" > "$WORK/scratch_init.log" 2>&1
cfg=$P/oriented-rcnn-le90_r18_fpn_group-norm-2x-scratch_5e_shapes.py
$PY tools/train.py $cfg --work-dir "$WORK/scratch" \
    --cfg-options load_from="$WORK/scratch_init/pruned.pth" > "$WORK/scratch.log" 2>&1
test_run $cfg "$WORK/scratch/epoch_5.pth" "$WORK/scratch"
row "uniform group_norm architecture from scratch, 4 + 1 epochs" \
    "$WORK/scratch_init/pruning_results.json" "$WORK/scratch.test.log"
