#!/usr/bin/env bash
# Evidence for config-declared slimming with weight inheritance (the slimming plans
# A/B/C of lsk_s_fpn_1x_dota_le90) on the shapes benchmark:
#   1. the baseline lsk_s_fpn_3e_shapes_le90 (trained unless BASE_CKPT is set)
#   2. each plan right after importance-based inheritance and after plain
#      strict=False loading, tested with the stock tools/test.py
#   3. the same 100-iteration finetune from both starts
# Prints a markdown table of DOTA mAP. Runs one job at a time (2 CPU cores).
#   bash tools/benchmarks/lsk_slimming_shapes.sh [WORK=work_dirs/lsk_slimming]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-work_dirs/lsk_slimming}
BASE_CFG=configs/lsknet/lsk_s_fpn_3e_shapes_le90.py
mkdir -p "$WORK"

map_of() {  # the last DOTA mAP a log printed
    { grep -o 'dota/mAP: [0-9.]*' "$1" || true; } | tail -1 | awk '{print $2}'
}

BASE_CKPT=${BASE_CKPT:-$WORK/base/epoch_3.pth}
if [ ! -f "$BASE_CKPT" ]; then
    $PY tools/train.py $BASE_CFG --work-dir "$WORK/base" > "$WORK/base.log" 2>&1
fi
$PY tools/test.py $BASE_CFG "$BASE_CKPT" --work-dir "$WORK/base" \
    > "$WORK/base_test.log" 2>&1
echo "| config | start | mAP, no finetune | mAP, 100-iter finetune |"
echo "| --- | --- | --- | --- |"
# control: the unslimmed baseline given the same 100-iteration finetune
cat > "$WORK/base_ft.py" <<CFG
_base_ = '$PWD/configs/pruning/lsknet/lsk_s_fpn_3e_shapes_le90_pruneA.py'
model = dict(backbone=dict(mlp_ratios=[8, 8, 4, 4]),
             roi_head=dict(bbox_head=dict(fc_out_channels=1024)))
custom_hooks = []
CFG
$PY tools/train.py "$WORK/base_ft.py" --work-dir "$WORK/base_ft" \
    --cfg-options load_from="$BASE_CKPT" > "$WORK/base_ft.log" 2>&1
echo "| lsk_s_fpn_3e_shapes_le90 (baseline) | trained | $(map_of "$WORK/base_test.log") | $(map_of "$WORK/base_ft.log") |"

for plan in A B C; do
    cfg=configs/pruning/lsknet/lsk_s_fpn_3e_shapes_le90_prune$plan.py
    for start in inherit strict-false; do
        dir=$WORK/prune$plan-$start
        flag=""
        [ "$start" = strict-false ] && flag="--strict-false"
        $PY tools/inherit_weights.py $cfg "$BASE_CKPT" --out "$dir/start.pth" \
            $flag > "$dir.inherit.log" 2>&1
        $PY tools/test.py $cfg "$dir/start.pth" --work-dir "$dir" \
            > "$dir.test0.log" 2>&1
        # the same finetune from both starts: load_from the start checkpoint
        $PY tools/train.py $cfg --work-dir "$dir" --cfg-options \
            load_from="$dir/start.pth" custom_hooks=[] > "$dir.ft.log" 2>&1
        echo "| prune$plan | $start | $(map_of "$dir.test0.log") | $(map_of "$dir.ft.log") |"
    done
done
