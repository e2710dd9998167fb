#!/usr/bin/env bash
# Which finetune recovers a 2x-pruned RTMDet-tiny best within a fixed
# budget of 200 iterations (batch 8) from the main job's checkpoint, each
# recipe beside its own control (the unpruned model, same finetune); every
# mAP from the stock tools/test.py:
#   constant   lr 4e-4 (a tenth of the baseline's peak), no warm-up or decay
#              (configs/rtmdet/rtmdet_tiny_finetune-2e_shapes.py)
#   cosine     lr 2e-3, 20-iteration linear warm-up, cosine to 5%
#              (configs/rtmdet/rtmdet_tiny_finetune-warmup-cosine-2e_shapes.py)
#   cosine-4e-3  the same at the baseline's peak rate
#   cosine, no EMA   the EMA copy follows the weights (momentum 0.9999)
#   cosine, iterative   pruned in two points (iterations 0 and 100)
# Pruning: group_norm, speed_up=2.0, round_to=8 (uniform ratios).
# Prints a markdown table. One job at a time (2 CPU cores).
#   bash tools/benchmarks/finetune_recipes_shapes.sh [WORK]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-work_dirs/finetune_recipes}
BASE_CKPT=${BASE_CKPT:-work_dirs/main_job/epoch_8.pth}
mkdir -p "$WORK"
[ -f "$BASE_CKPT" ] || bash tools/main_job.sh

CONTROL=configs/rtmdet/rtmdet_tiny_finetune-2e_shapes.py
CONTROL_COS=configs/rtmdet/rtmdet_tiny_finetune-warmup-cosine-2e_shapes.py
PRUNED=configs/pruning/rtmdet/rtmdet_tiny_group-norm-2x_2e_shapes.py
PRUNED_COS=configs/pruning/rtmdet/rtmdet_tiny_group-norm-2x_warmup-cosine-2e_shapes.py

map_of() {  # the last COCO bbox mAP a log printed
    { grep -o 'coco/bbox_mAP: [0-9.]*' "$1" || true; } | tail -1 | awk '{print $2}'
}
run() {  # name, config, cfg-options...
    local name=$1 cfg=$2
    shift 2
    local dir=$WORK/$name
    $PY tools/train.py "$cfg" --work-dir "$dir" \
        --cfg-options load_from="$BASE_CKPT" "$@" > "$dir.log" 2>&1
    $PY tools/test.py "$cfg" "$dir/epoch_2.pth" --work-dir "$dir" \
        > "$dir.test.log" 2>&1
    local speed_up=''
    if [ -f "$dir/pruning_results.json" ]; then
        speed_up=$($PY -c "import json,sys; print(f\"{json.load(open(sys.argv[1]))['speed_up']:.2f}x\")" "$dir/pruning_results.json")
    fi
    echo "| $name | $speed_up | $(map_of "$dir.test.log") |"
}

echo "| recipe | FLOPs reduction | bbox mAP |"
echo "| --- | --- | --- |"
run control-constant "$CONTROL"
run pruned-constant "$PRUNED"
run control-cosine "$CONTROL_COS"
run pruned-cosine "$PRUNED_COS"
run control-cosine-4e-3 "$CONTROL_COS" optim_wrapper.optimizer.lr=4e-3
run pruned-cosine-4e-3 "$PRUNED_COS" optim_wrapper.optimizer.lr=4e-3
run pruned-cosine-no-ema "$PRUNED_COS" custom_hooks.0.momentum=0.9999
run pruned-cosine-iterative "$PRUNED_COS" "custom_hooks.1.prune_at=[0,100]"
