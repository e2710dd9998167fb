#!/usr/bin/env bash
# Evidence for structured pruning on the shapes benchmark (RTMDet-tiny from
# the main job's checkpoint), every mAP from the stock tools/test.py:
#   1. a control: the 2-epoch (200-iteration) finetune without pruning
#   2. each method of $METHODS pruned to 2x fewer FLOPs (round_to=8), then
#      the same finetune (configs/pruning/rtmdet/rtmdet_tiny_<m>-2x_2e_shapes.py);
#      the test reloads the pruned checkpoint with the same config
#   3. the l1-pruned architecture trained from scratch with the same budget
#   4. recovery, with the best uniform criterion (group_norm): ratios
#      allocated by sensitivity, distillation from the unpruned self (PKD
#      on the neck + logits KD), both; and the same pruned architecture
#      trained from scratch with the whole budget (8 + 2 epochs)
# Prints a markdown table. One job at a time (2 CPU cores).
#   METHODS="l1 lamp" bash tools/benchmarks/structured_pruning_shapes.sh [WORK]
#   METHODS=group_norm SKIP_L1_SCRATCH=1 bash ...   the recovery table only
#   SKIP_RECOVERY=1, SKIP_FULL_SCRATCH=1, SKIP_CONTROL=1 leave parts out
#   BASE_CKPT=work_dirs/rtmdet_tiny_12e_shapes/epoch_12.pth BASE_EPOCHS=12
#       prunes a longer-trained baseline; the from-scratch row then trains
#       BASE_EPOCHS + 2 epochs (the whole budget)
#   TEST_IMAGES=1000 (the default) tests every row on a separate 1000-image
#       test split (generated on first use) instead of the 100 val images,
#       dumps each row's predictions, and ends with the paired differences
#       to the control and their standard errors
#       (tools/analysis_tools/paired_bbox_map.py); TEST_IMAGES=0: the val split
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-work_dirs/structured_pruning_shapes}
METHODS=${METHODS:-l1 random lamp group_norm group_taylor group_hessian slim group_slim group_sl growing_reg}
BASE_CFG=configs/rtmdet/rtmdet_tiny_12e_shapes.py
BASE_CKPT=${BASE_CKPT:-work_dirs/main_job/epoch_8.pth}
BASE_EPOCHS=${BASE_EPOCHS:-8}
SCRATCH_EPOCHS=$((BASE_EPOCHS + 2))
TEST_IMAGES=${TEST_IMAGES:-1000}
mkdir -p "$WORK"
TEST_OPTS=()
if [ "$TEST_IMAGES" != 0 ]; then
    TEST_ROOT=${MMPRUNE_DATA:-data}/shapes_coco_256/test$TEST_IMAGES/
    TEST_OPTS=(--cfg-options test_dataloader.dataset.data_root=$TEST_ROOT
        test_dataloader.dataset.shapes.num_images=$TEST_IMAGES
        test_dataloader.dataset.shapes.split=test
        test_evaluator.ann_file=${TEST_ROOT}annotation.json)
fi
test_run() {  # config, checkpoint, work dir: tools/test.py on the test set
    local out=()
    [ "$TEST_IMAGES" = 0 ] || out=(--out "$3.pkl")
    $PY tools/test.py "$1" "$2" --work-dir "$3" "${out[@]}" "${TEST_OPTS[@]}" \
        > "$3.test.log" 2>&1
}
[ -f "$BASE_CKPT" ] || bash tools/main_job.sh

map_of() {  # the last COCO bbox mAP a log printed
    { grep -o 'coco/bbox_mAP: [0-9.]*' "$1" || true; } | tail -1 | awk '{print $2}'
}
row() {  # name, work dir, test log
    $PY - "$1" "$2/pruning_results.json" "$(map_of "$3")" <<'PY'
import json, sys
name, path, m = sys.argv[1:]
r = json.load(open(path))
print(f"| {name} | {r['params_before'] / 1e6:.2f}M -> {r['params_after'] / 1e6:.2f}M "
      f"| {r['flops_before'] / 1e9:.3f} -> {r['flops_after'] / 1e9:.3f} ({r['speed_up']:.2f}x) "
      f"| {r['latency_ms_before']} -> {r['latency_ms_after']} ({r['latency_speed_up']:.2f}x) "
      f"| {m} |")
PY
}

echo "| run | params | GFLOPs at 256 px | CPU latency ms (256 px) | bbox mAP |"
echo "| --- | --- | --- | --- | --- |"
if [ -z "${SKIP_CONTROL:-}" ]; then
    $PY tools/train.py configs/rtmdet/rtmdet_tiny_finetune-2e_shapes.py \
        --work-dir "$WORK/control" \
        --cfg-options load_from="$BASE_CKPT" > "$WORK/control.log" 2>&1
    test_run configs/rtmdet/rtmdet_tiny_finetune-2e_shapes.py \
        "$WORK/control/epoch_2.pth" "$WORK/control"
    echo "| unpruned, same finetune (control) | 4.87M | 1.285 | | $(map_of "$WORK/control.test.log") |"
fi

for m in $METHODS; do
    cfg=configs/pruning/rtmdet/rtmdet_tiny_${m//_/-}-2x_2e_shapes.py
    dir=$WORK/$m
    $PY tools/train.py "$cfg" --work-dir "$dir" \
        --cfg-options load_from="$BASE_CKPT" > "$dir.log" 2>&1
    test_run "$cfg" "$dir/epoch_2.pth" "$dir"
    row "$m 2x + finetune" "$dir" "$dir.test.log"
done

# the l1 architecture from scratch: same structure, fresh weights
if [ -z "${SKIP_L1_SCRATCH:-}" ]; then
$PY tools/prune.py $BASE_CFG "$BASE_CKPT" --method l1 --speed-up 2 \
    --random-init --out "$WORK/scratch_init" > "$WORK/scratch_init.log" 2>&1
cfg=configs/pruning/rtmdet/rtmdet_tiny_l1-2x-scratch_2e_shapes.py
$PY tools/train.py $cfg --work-dir "$WORK/scratch" \
    --cfg-options load_from="$WORK/scratch_init/pruned.pth" \
    > "$WORK/scratch.log" 2>&1
test_run $cfg "$WORK/scratch/epoch_2.pth" "$WORK/scratch"
row "l1 2x architecture from scratch, same budget" "$WORK/scratch_init" "$WORK/scratch.test.log"
fi

# recovery: sensitivity-allocated ratios, self-distillation, both; each
# trained with its config and tested with the plain pruning config
recovery() {  # name, train config, test config, work dir
    $PY tools/train.py "$2" --work-dir "$4" \
        --cfg-options load_from="$BASE_CKPT" > "$4.log" 2>&1
    test_run "$3" "$4/epoch_2.pth" "$4"
    row "$1" "$4" "$4.test.log"
}
P=configs/pruning/rtmdet
D=configs/distillation
if [ -z "${SKIP_RECOVERY:-}" ]; then
    recovery "group_norm 2x, sensitivity-allocated ratios + finetune" \
        $P/rtmdet_tiny_group-norm-sensitivity-2x_2e_shapes.py \
        $P/rtmdet_tiny_group-norm-sensitivity-2x_2e_shapes.py "$WORK/gn_sensitivity"
    recovery "group_norm 2x + finetune distilled from the unpruned model" \
        $D/rtmdet_tiny_group-norm-2x_pkd-self_2e_shapes.py \
        $P/rtmdet_tiny_group-norm-2x_2e_shapes.py "$WORK/gn_pkd"
    recovery "group_norm 2x, sensitivity ratios + distilled finetune" \
        $D/rtmdet_tiny_group-norm-sensitivity-2x_pkd-self_2e_shapes.py \
        $P/rtmdet_tiny_group-norm-sensitivity-2x_2e_shapes.py "$WORK/gn_sensitivity_pkd"
fi

# the group_norm 2x architecture from scratch with the whole budget: the
# baseline's epochs plus the finetune's 2, on the baseline's schedule
if [ -z "${SKIP_FULL_SCRATCH:-}" ]; then
    $PY tools/prune.py $BASE_CFG "$BASE_CKPT" --method group_norm --speed-up 2 \
        --random-init --out "$WORK/gn_scratch_init" > "$WORK/gn_scratch_init.log" 2>&1
    cfg=$P/rtmdet_tiny_group-norm-2x-scratch_10e_shapes.py
    E=$SCRATCH_EPOCHS
    $PY tools/train.py $cfg --work-dir "$WORK/gn_scratch$E" \
        --cfg-options load_from="$WORK/gn_scratch_init/pruned.pth" \
        train_cfg.max_epochs=$E train_cfg.val_interval=$E \
        param_scheduler.1.begin=$((E / 2)) param_scheduler.1.end=$E \
        param_scheduler.1.T_max=$((E - E / 2)) \
        > "$WORK/gn_scratch$E.log" 2>&1
    test_run $cfg "$WORK/gn_scratch$E/epoch_$E.pth" "$WORK/gn_scratch$E"
    row "group_norm 2x architecture from scratch, whole budget ($E epochs)" \
        "$WORK/gn_scratch_init" "$WORK/gn_scratch$E.test.log"
fi

# how far each row is from the control on these images (paired, with
# standard errors): which differences the test set resolves
if [ "$TEST_IMAGES" != 0 ] && [ -f "$WORK/control.pkl" ]; then
    runs=(control="$WORK/control.pkl")
    for pkl in "$WORK"/*.pkl; do
        name=$(basename "$pkl" .pkl)
        [ "$name" = control ] || runs+=("$name=$pkl")
    done
    echo
    $PY tools/analysis_tools/paired_bbox_map.py "${TEST_ROOT}annotation.json" "${runs[@]}"
fi
