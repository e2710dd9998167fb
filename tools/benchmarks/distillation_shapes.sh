#!/usr/bin/env bash
# Evidence for distillation on the shapes benchmark: the same finetune
# budget with and without a teacher, for
#   1. RTMDet-tiny slimmed to half the FLOPs (weights inherited from the
#      main job's checkpoint; 2 epochs = 200 iterations), teacher: the main
#      job's RTMDet-tiny
#   2. LSK-S slimming plan B (weights inherited; 100 iterations), teacher: the
#      lsk_s_fpn_3e_shapes_le90 baseline
# Every student checkpoint is tested with the stock tools/test.py and the
# student's plain config. One job at a time (2 CPU cores).
#   RTM_CKPT=... LSK_CKPT=... bash tools/benchmarks/distillation_shapes.sh [WORK]
# SKIP_LSK_CONTROL=1 skips the plan-B run without a teacher (the same run
# as in tools/benchmarks/lsk_slimming_shapes.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-work_dirs/distillation_shapes}
RTM_CKPT=${RTM_CKPT:-work_dirs/main_job/epoch_8.pth}
LSK_CKPT=${LSK_CKPT:-work_dirs/lsk_s_fpn_3e_shapes_le90/epoch_3.pth}
mkdir -p "$WORK"

last_metric() {  # the last value of metric $2 that log $1 printed
    { grep -o "$2: [0-9.]*" "$1" || true; } | tail -1 | awk '{print $2}'
}

# finetune NAME STUDENT_CFG KD_CFG HOOK_INDEX CKPT LAST_CKPT_FILE [plain] kd
# trains the student alone (plain) and/or distilled (kd), both starting
# from weights inherited from CKPT, and tests each with STUDENT_CFG
finetune() {
    local name=$1 student=$2 kd=$3 hook=$4 ckpt=$5 last=$6
    shift 6
    for run in "$@"; do
        local cfg=$student extra="custom_hooks.$hook.checkpoint=$ckpt"
        if [ "$run" = kd ]; then
            cfg=$kd
            extra="$extra model.teacher_checkpoint=$ckpt"
        fi
        $PY tools/train.py "$cfg" --work-dir "$WORK/${name}_$run" \
            --cfg-options $extra > "$WORK/${name}_$run.log" 2>&1
        $PY tools/test.py "$student" "$WORK/${name}_$run/$last" \
            --work-dir "$WORK/${name}_$run" > "$WORK/${name}_$run.test.log" 2>&1
    done
}

echo "| student | teacher | finetune | mAP without KD | mAP with KD |"
echo "| --- | --- | --- | --- | --- |"

finetune rtm configs/pruning/rtmdet/rtmdet_tiny_slim-half-flops_2e_shapes.py \
    configs/distillation/rtmdet_tiny_slim-half-flops_kd-rtmdet-tiny_2e_shapes.py \
    1 "$RTM_CKPT" epoch_2.pth plain kd
echo "| RTMDet-tiny, half FLOPs (inherited) | RTMDet-tiny (main job) | 200 iters | $(last_metric "$WORK/rtm_plain.test.log" coco/bbox_mAP) | $(last_metric "$WORK/rtm_kd.test.log" coco/bbox_mAP) |"

runs="plain kd"
[ "${SKIP_LSK_CONTROL:-0}" = 1 ] && runs="kd"
finetune lsk configs/pruning/lsknet/lsk_s_fpn_3e_shapes_le90_pruneB.py \
    configs/distillation/lsk_s_fpn_3e_shapes_le90_pruneB_kd-lsk-s.py \
    0 "$LSK_CKPT" iter_100.pth $runs
plain=$( [ -f "$WORK/lsk_plain.test.log" ] && last_metric "$WORK/lsk_plain.test.log" dota/mAP || echo "see lsk_slimming_shapes.sh")
echo "| LSK-S plan B (inherited) | LSK-S baseline | 100 iters | $plain | $(last_metric "$WORK/lsk_kd.test.log" dota/mAP) |"
