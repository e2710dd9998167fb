#!/usr/bin/env bash
# Evidence for unstructured sparsity on the shapes benchmark (RTMDet-tiny):
#   1. the baseline checkpoint (the main job's, trained unless BASE_CKPT
#      exists), tested with the stock tools/test.py
#   2. a control: the same 2-epoch finetune without sparsity
#   3. the module-aware config and the 50% global config
#   4. each sparse checkpoint compressed, sizes and round trip
# Prints a markdown table. One job at a time (2 CPU cores).
#   bash tools/benchmarks/sparsity_shapes.sh [WORK=work_dirs/sparsity_shapes]
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-.venv/bin/python}
WORK=${1:-work_dirs/sparsity_shapes}
BASE_CFG=configs/rtmdet/rtmdet_tiny_12e_shapes.py
BASE_CKPT=${BASE_CKPT:-work_dirs/main_job/epoch_8.pth}
mkdir -p "$WORK"
[ -f "$BASE_CKPT" ] || bash tools/main_job.sh

map_of() {  # the last COCO bbox mAP a log printed
    { grep -o 'coco/bbox_mAP: [0-9.]*' "$1" || true; } | tail -1 | awk '{print $2}'
}

$PY tools/test.py $BASE_CFG "$BASE_CKPT" --work-dir "$WORK/base" \
    > "$WORK/base_test.log" 2>&1
echo "| config | targeted sparsity | bbox mAP | dense latency before / after (ms, 256 px) | checkpoint MB: dense weights -> compressed |"
echo "| --- | --- | --- | --- | --- |"
echo "| baseline (main job, 8 epochs) | 0 | $(map_of "$WORK/base_test.log") | | |"

$PY tools/train.py configs/rtmdet/rtmdet_tiny_finetune-2e_shapes.py \
    --work-dir "$WORK/control" \
    --cfg-options load_from="$BASE_CKPT" > "$WORK/control.log" 2>&1
echo "| same finetune, no sparsity (control) | 0 | $(map_of "$WORK/control.log") | | |"

for name in module-aware-cubic 50-global-cubic; do
    cfg=configs/sparsity/rtmdet_tiny_sparsity-${name}_2e_shapes.py
    dir=$WORK/$name
    $PY tools/train.py $cfg --work-dir "$dir" \
        --cfg-options load_from="$BASE_CKPT" > "$dir.log" 2>&1
    $PY tools/model_converters/compress_sparse_checkpoint.py \
        "$dir/epoch_2.pth" "$dir/epoch_2_compressed.pth" \
        --json "$dir/sizes.json" > "$dir.compress.log" 2>&1
    # the compressed file through the stock test tool
    $PY tools/test.py $cfg "$dir/epoch_2_compressed.pth" --work-dir "$dir" \
        > "$dir.test.log" 2>&1
    $PY - "$dir" "$(map_of "$dir.test.log")" "$name" <<'PY'
import json, sys
d, m, name = sys.argv[1:]
r = json.load(open(f'{d}/sparsity_results.json'))
s = json.load(open(f'{d}/sizes.json'))
lat = r['latency']
print(f"| {name} | {r['overall']['targeted_sparsity']:.1%} | {m} | "
      f"{lat.get('dense_before_ms')} / {lat.get('dense_after_ms')} | "
      f"{s['dense_weights_bytes'] / 1e6:.2f} -> "
      f"{s['compressed_file_bytes'] / 1e6:.2f} "
      f"({s['compressed_vs_dense_weights']:.0%}) |")
PY
done
