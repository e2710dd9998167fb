#!/usr/bin/env bash
# Recovery from a converged model (the converged benchmark). RTMDet-tiny is
# trained on the 128 px shapes set until its validation mAP stops rising
# (configs/rtmdet/rtmdet_tiny_48e_shapes-128.py, 48 epochs); then, each
# within 6 epochs (1/8 of that budget) and each beside its unpruned control
# finetuned the same way:
#   finetune rates   1x, 5x and 20x the baseline's final rate (2e-4; 20x is
#                    its peak, the default tools/prune.py writes), a
#                    50-iteration warm-up, cosine to zero, EMA restarted
#   recipes          group_norm + sensitivity allocation (the default) and
#                    l1 uniform, 2x fewer FLOPs, round_to=8
#   retrain route    the sensitivity architecture from fresh weights, at the
#                    finetune's budget and at the whole budget (54 epochs);
#                    the uniform l1 architecture at the whole budget
#   the old finetune a constant 4e-4 (the shipped 2e shapes recipes)
#   seeds            a row name ending in -seed<N> repeats that row with
#                    randomness.seed=N (the training's spread)
# Every model is scored on the 1000-image test split; the table gives each
# run as a share of the original and of its control, with paired standard
# errors over 20 image chunks (tools/analysis_tools/paired_bbox_map.py).
# A run whose predictions exist is skipped, so the script resumes; ROWS
# picks runs (default: all). One job at a time (2 CPU cores).
#   bash tools/benchmarks/converged_recovery_shapes.sh [WORK]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-work_dirs/converged}
ROWS=${ROWS:-original control-1x pruned-1x control-5x pruned-5x control-20x pruned-20x pruned-20x-seed1 pruned-20x-seed2 l1-uniform-5x scratch-6e control-constant pruned-constant scratch-54e scratch-uniform-54e}
BASE_CFG=configs/rtmdet/rtmdet_tiny_48e_shapes-128.py
CONTROL=configs/rtmdet/rtmdet_tiny_finetune-cosine-6e_shapes-128.py
PRUNED=configs/pruning/rtmdet/rtmdet_tiny_group-norm-sensitivity-2x_cosine-6e_shapes-128.py
BASE_CKPT=$WORK/rtmdet_baseline/epoch_48.pth
FINAL_LR=2e-4
mkdir -p "$WORK/pred"
export PYTHONWARNINGS=ignore

[ -f "$BASE_CKPT" ] || $PY tools/train.py "$BASE_CFG" \
    --work-dir "$WORK/rtmdet_baseline" > "$WORK/rtmdet_baseline.log" 2>&1

test_run() {  # name, config, checkpoint
    $PY tools/test.py "$2" "$3" --work-dir "$WORK/$1" \
        --out "$WORK/pred/$1.pkl" > "$WORK/$1.test.log" 2>&1
}
finetune() {  # name, config, cfg-options...
    local name=$1 cfg=$2
    shift 2
    $PY tools/train.py "$cfg" --work-dir "$WORK/$name" \
        --cfg-options load_from="$BASE_CKPT" "$@" > "$WORK/$name.log" 2>&1
    test_run "$name" "$cfg" "$WORK/$name/epoch_6.pth"
}
scratch() {  # name, epochs, the pruned run whose architecture is trained
    local name=$1 epochs=$2 src=$WORK/$3/epoch_6.pth
    [ -d "$WORK/$name/convert" ] || $PY tools/model_converters/pruned_to_scratch.py \
        "$BASE_CFG" "$src" --out "$WORK/$name/convert" --cfg-options \
        train_cfg.max_epochs="$epochs" param_scheduler.1.begin=$((epochs / 2)) \
        param_scheduler.1.end="$epochs" param_scheduler.1.T_max=$((epochs - epochs / 2)) \
        > "$WORK/$name.convert.log" 2>&1
    local cfg=$WORK/$name/convert/rtmdet_tiny_48e_shapes-128_scratch.py
    $PY tools/train.py "$cfg" --work-dir "$WORK/$name" > "$WORK/$name.log" 2>&1
    test_run "$name" "$cfg" "$WORK/$name/epoch_$epochs.pth"
}
rate() {  # a row name ending in <k>x -> k times the final rate
    local k=${1##*-}
    $PY -c "print(${k%x} * $FINAL_LR)"
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
    control-*x) finetune "$row" "$CONTROL" optim_wrapper.optimizer.lr="$(rate "${row%-seed*}")" "${seed[@]}" ;;
    pruned-*x) finetune "$row" "$PRUNED" optim_wrapper.optimizer.lr="$(rate "${row%-seed*}")" "${seed[@]}" ;;
    l1-uniform-*x) finetune "$row" "$PRUNED" optim_wrapper.optimizer.lr="$(rate "${row%-seed*}")" "${seed[@]}" \
        custom_hooks.1.method=l1 custom_hooks.1.allocation=uniform ;;
    control-constant) finetune "$row" "$CONTROL" optim_wrapper.optimizer.lr=4e-4 param_scheduler=None ;;
    pruned-constant) finetune "$row" "$PRUNED" optim_wrapper.optimizer.lr=4e-4 param_scheduler=None ;;
    scratch-6e) scratch "$row" 6 pruned-5x ;;
    scratch-54e) scratch "$row" 54 pruned-5x ;;
    scratch-uniform-54e) scratch "$row" 54 l1-uniform-5x ;;
    *) echo "unknown row $row" >&2; exit 2 ;;
    esac
done

# the baseline's validation curve: converged when it stops rising
$PY tools/analysis_tools/val_curve.py "$WORK/rtmdet_baseline"

runs=()
for row in $ROWS; do
    [ -f "$WORK/pred/$row.pkl" ] && runs+=("$row=$WORK/pred/$row.pkl")
done
$PY tools/analysis_tools/paired_bbox_map.py \
    data/shapes_coco_128/test/annotation.json "${runs[@]}" --control control-20x
