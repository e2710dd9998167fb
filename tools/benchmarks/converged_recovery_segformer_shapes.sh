#!/usr/bin/env bash
# Recovery from a converged model, SegFormer-b0 (the converged benchmark's
# segmentation half). SegFormer-b0 is trained on the 128 px shapes set until
# its validation mIoU stops rising (configs/segformer/
# segformer_mit-b0_8xb8-6k_shapes-128x128.py, 6000 iterations); then, each
# within 750 iterations (1/8 of that budget) and beside its unpruned control
# finetuned the same way (the schedule tools/prune.py writes: the
# baseline's peak rate after a 50-iteration warm-up, cosine to zero):
#   pruned        group_norm + sensitivity allocation (the default recipe),
#                 2x fewer FLOPs, round_to=8; -seed<N> repeats it with
#                 randomness.seed=N (the training's spread)
#   l1-uniform    l1 with uniform ratios, the same target and finetune
#   pruned-cwd    the default recipe distilled from the unpruned model
#                 (channel-wise distillation of the logits)
#   *-quarter     the control and the default recipe at a quarter of the rate
#   scratch-750   the retrain route at the finetune's budget: the pruned
#                 structure from fresh weights (pruned_to_scratch.py)
#   scratch-6750  the same at the whole budget (baseline + finetune)
# Every model is scored on the 1000-image test split; the table gives each
# run as a share of the original and of the control, with paired standard
# errors over 20 image chunks (tools/analysis_tools/paired_miou.py). A run
# whose predictions exist is skipped, so the script resumes; ROWS picks runs
# (default: all). One job at a time (2 CPU cores).
#   bash tools/benchmarks/converged_recovery_segformer_shapes.sh [WORK]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-work_dirs/converged_segformer}
ROWS=${ROWS:-original control pruned l1-uniform pruned-cwd scratch-750 pruned-seed1 pruned-seed2 scratch-6750 control-quarter pruned-quarter}
BASE_CFG=configs/segformer/segformer_mit-b0_8xb8-6k_shapes-128x128.py
CONTROL=configs/segformer/segformer_mit-b0_finetune-cosine-750_shapes-128x128.py
PRUNED=configs/pruning/segformer/segformer_mit-b0_group-norm-sensitivity-2x_cosine-750_shapes-128x128.py
DISTILLED=configs/distillation/segformer_mit-b0_group-norm-sensitivity-2x_cwd-self_cosine-750_shapes-128x128.py
BASE_CKPT=$WORK/baseline/iter_6000.pth
mkdir -p "$WORK/pred"
export PYTHONWARNINGS=ignore

[ -f "$BASE_CKPT" ] || $PY tools/train.py "$BASE_CFG" \
    --work-dir "$WORK/baseline" > "$WORK/baseline.log" 2>&1

test_run() {  # name, config, checkpoint
    $PY tools/test.py "$2" "$3" --work-dir "$WORK/$1" \
        --out "$WORK/pred/$1.pkl" > "$WORK/$1.test.log" 2>&1
}
finetune() {  # name, config, cfg-options... (TEST_CFG: the config to test)
    local name=$1 cfg=$2
    shift 2
    $PY tools/train.py "$cfg" --work-dir "$WORK/$name" \
        --cfg-options load_from="$BASE_CKPT" "$@" > "$WORK/$name.log" 2>&1
    test_run "$name" "${TEST_CFG:-$cfg}" "$WORK/$name/iter_750.pth"
}
scratch() {  # name, iterations
    local name=$1 iters=$2 src=$WORK/pruned/iter_750.pth
    [ -d "$WORK/$name/convert" ] || $PY tools/model_converters/pruned_to_scratch.py \
        "$BASE_CFG" "$src" --out "$WORK/$name/convert" --cfg-options \
        train_cfg.max_iters="$iters" param_scheduler.1.end="$iters" \
        > "$WORK/$name.convert.log" 2>&1
    local cfg=$WORK/$name/convert/segformer_mit-b0_8xb8-6k_shapes-128x128_scratch.py
    $PY tools/train.py "$cfg" --work-dir "$WORK/$name" > "$WORK/$name.log" 2>&1
    test_run "$name" "$cfg" "$WORK/$name/iter_$iters.pth"
}

for row in $ROWS; do
    [ -f "$WORK/pred/$row.pkl" ] && continue
    echo "$(date +%T) $row"
    seed=()
    if [[ $row == *-seed* ]]; then
        seed=(randomness.seed="${row##*-seed}")
    fi
    case ${row%-seed*} in
    original) test_run original "$BASE_CFG" "$BASE_CKPT" ;;
    control) finetune "$row" "$CONTROL" "${seed[@]}" ;;
    pruned) finetune "$row" "$PRUNED" "${seed[@]}" ;;
    l1-uniform) finetune "$row" "$PRUNED" "${seed[@]}" \
        custom_hooks.0.method=l1 custom_hooks.0.allocation=uniform ;;
    pruned-cwd) TEST_CFG=$PRUNED finetune "$row" "$DISTILLED" "${seed[@]}" ;;
    control-quarter) finetune "$row" "$CONTROL" optim_wrapper.optimizer.lr=5e-4 ;;
    pruned-quarter) finetune "$row" "$PRUNED" optim_wrapper.optimizer.lr=5e-4 ;;
    scratch-750) scratch "$row" 750 ;;
    scratch-6750) scratch "$row" 6750 ;;
    *) echo "unknown row $row" >&2; exit 2 ;;
    esac
done

# the baseline's validation curve: converged when it stops rising
$PY tools/analysis_tools/val_curve.py "$WORK/baseline" --metric mIoU

runs=()
for row in $ROWS; do
    [ -f "$WORK/pred/$row.pkl" ] && runs+=("$row=$WORK/pred/$row.pkl")
done
$PY tools/analysis_tools/paired_miou.py "${runs[@]}" --control control
