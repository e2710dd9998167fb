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
#   the zoo instead  at the whole budget from fresh weights: RTMDet-tiny
#                    itself, and the zoo's next-larger RTMDet-s pruned
#                    uniformly (l1) to about RTMDet-tiny's FLOPs; RTMDet-s
#                    trained like the baseline (s-original), pruned with
#                    the default recipe to RTMDet-tiny's FLOPs, then
#                    finetuned (s-sensitivity-6e) or its architecture
#                    trained from fresh weights (s-sensitivity-54e)
#   the old finetune a constant 4e-4 (the shipped 2e shapes recipes)
#   distillation     the default recipe distilled from the unpruned model
#                    (PKD on the neck, logits KD)
#   iterative points group_norm uniform (2x) pruned once before the
#                    finetune, and in three steps (iterations 0, 100, 200)
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
ROWS=${ROWS:-original control-1x pruned-1x control-5x pruned-5x control-20x pruned-20x pruned-20x-seed1 pruned-20x-seed2 l1-uniform-5x scratch-6e control-constant pruned-constant scratch-54e scratch-uniform-54e tiny-54e s-uniform-54e pkd-20x gn-uniform-20x gn-iter3-20x s-original s-sensitivity-6e s-sensitivity-54e}
BASE_CFG=configs/rtmdet/rtmdet_tiny_48e_shapes-128.py
CONTROL=configs/rtmdet/rtmdet_tiny_finetune-cosine-6e_shapes-128.py
PRUNED=configs/pruning/rtmdet/rtmdet_tiny_group-norm-sensitivity-2x_cosine-6e_shapes-128.py
DISTILLED=configs/distillation/rtmdet_tiny_group-norm-sensitivity-2x_pkd-self_cosine-6e_shapes-128.py
BASE_CKPT=$WORK/rtmdet_baseline/epoch_48.pth
S_CFG=configs/rtmdet/rtmdet_s_48e_shapes-128.py
# RTMDet-s / RTMDet-tiny FLOPs at 128 px: 0.591G / 0.321G. Uniform steps
# with round_to=8 jump from 1.79x to 2.22x; a quarter of every group's
# channels gives 0.330G (4.99M parameters; RTMDet-tiny 4.87M)
S_RATIO=0.25
S_SPEED_UP=1.84
S_CKPT=$WORK/rtmdet_s_baseline/epoch_48.pth
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
    # a distilled checkpoint loads with the plain pruning config
    [ "$cfg" = "$DISTILLED" ] && cfg=$PRUNED
    test_run "$name" "$cfg" "$WORK/$name/epoch_6.pth"
}
stretched() {  # epochs -> cfg-options giving the base schedule that length
    echo train_cfg.max_epochs="$1" param_scheduler.1.begin=$(($1 / 2)) \
        param_scheduler.1.end="$1" param_scheduler.1.T_max=$(($1 - $1 / 2))
}
scratch() {  # name, epochs, pruned checkpoint, [its base config]
    local name=$1 epochs=$2 src=$3 base=${4:-$BASE_CFG}
    # shellcheck disable=SC2046
    [ -d "$WORK/$name/convert" ] || $PY tools/model_converters/pruned_to_scratch.py \
        "$base" "$src" --out "$WORK/$name/convert" \
        --cfg-options $(stretched "$epochs") > "$WORK/$name.convert.log" 2>&1
    local cfg
    cfg=$WORK/$name/convert/$(basename "$base" .py)_scratch.py
    # a finished training is only tested (the script resumes)
    [ -f "$WORK/$name/epoch_$epochs.pth" ] || \
        $PY tools/train.py "$cfg" --work-dir "$WORK/$name" > "$WORK/$name.log" 2>&1
    test_run "$name" "$cfg" "$WORK/$name/epoch_$epochs.pth"
}
pruned_s() {  # RTMDet-s, fresh weights, pruned l1 uniform to tiny's FLOPs
    local out=$WORK/rtmdet_s_pruned
    [ -f "$out/pruned.pth" ] && return
    mkdir -p "$out"
    $PY -c "import sys, torch, mmprune
from mmengine.registry import init_default_scope
from mmprune.models.builder import build_model_from
from mmprune.utils import read_config
cfg = read_config(sys.argv[1]); init_default_scope('mmdet')
torch.manual_seed(0)
torch.save(dict(state_dict=build_model_from(cfg).state_dict()), sys.argv[2])" \
        "$S_CFG" "$out/init.pth"
    $PY tools/prune.py "$S_CFG" "$out/init.pth" --method l1 --allocation uniform \
        --ratio "$S_RATIO" --no-latency --base-schedule --out "$out" \
        --overwrite > "$WORK/rtmdet_s_pruned.log" 2>&1
}
trained_s() {  # RTMDet-s trained like the baseline
    [ -f "$S_CKPT" ] || $PY tools/train.py "$S_CFG" \
        --work-dir "$WORK/rtmdet_s_baseline" > "$WORK/rtmdet_s_baseline.log" 2>&1
}
sensitivity_s() {  # the trained RTMDet-s, default recipe, to tiny's FLOPs
    local out=$WORK/rtmdet_s_sensitivity
    [ -f "$out/pruned.pth" ] && return
    trained_s
    $PY tools/prune.py "$S_CFG" "$S_CKPT" --method group_norm \
        --speed-up "$S_SPEED_UP" --no-latency --out "$out" \
        --overwrite > "$WORK/rtmdet_s_sensitivity.log" 2>&1
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
    pkd-*x) finetune "$row" "$DISTILLED" optim_wrapper.optimizer.lr="$(rate "${row%-seed*}")" "${seed[@]}" ;;
    gn-uniform-*x) finetune "$row" "$PRUNED" optim_wrapper.optimizer.lr="$(rate "${row%-seed*}")" "${seed[@]}" \
        custom_hooks.1.allocation=uniform ;;
    gn-iter3-*x) finetune "$row" "$PRUNED" optim_wrapper.optimizer.lr="$(rate "${row%-seed*}")" "${seed[@]}" \
        custom_hooks.1.allocation=uniform "custom_hooks.1.prune_at=[0,100,200]" ;;
    control-constant) finetune "$row" "$CONTROL" optim_wrapper.optimizer.lr=4e-4 param_scheduler=None ;;
    pruned-constant) finetune "$row" "$PRUNED" optim_wrapper.optimizer.lr=4e-4 param_scheduler=None ;;
    scratch-6e) scratch "$row" 6 "$WORK/pruned-5x/epoch_6.pth" ;;
    scratch-54e) scratch "$row" 54 "$WORK/pruned-5x/epoch_6.pth" ;;
    scratch-uniform-54e) scratch "$row" 54 "$WORK/l1-uniform-5x/epoch_6.pth" ;;
    tiny-54e)
        # shellcheck disable=SC2046
        [ -f "$WORK/$row/epoch_54.pth" ] || $PY tools/train.py "$BASE_CFG" \
            --work-dir "$WORK/$row" --cfg-options $(stretched 54) > "$WORK/$row.log" 2>&1
        test_run "$row" "$BASE_CFG" "$WORK/$row/epoch_54.pth" ;;
    s-original) trained_s && test_run "$row" "$S_CFG" "$S_CKPT" ;;
    s-sensitivity-6e)
        sensitivity_s
        cfg=$WORK/rtmdet_s_sensitivity/$(basename "$S_CFG" .py)_finetune.py
        [ -f "$WORK/$row/epoch_6.pth" ] || $PY tools/train.py "$cfg" \
            --work-dir "$WORK/$row" > "$WORK/$row.log" 2>&1
        test_run "$row" "$cfg" "$WORK/$row/epoch_6.pth" ;;
    s-sensitivity-54e) sensitivity_s && scratch "$row" 54 "$WORK/rtmdet_s_sensitivity/pruned.pth" "$S_CFG" ;;
    s-uniform-54e) pruned_s && scratch "$row" 54 "$WORK/rtmdet_s_pruned/pruned.pth" "$S_CFG" ;;
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
