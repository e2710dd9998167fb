#!/usr/bin/env bash
# An mmdet user's own environment, as a new user has it: torch, mmcv,
# mmengine and mmdet, and no mmsegmentation or mmrotate. Checks that
# `pip install -e .` leaves that torch untouched, that mmprune imports
# there, and that tools/prune.py and tools/deployment/export_onnx.py prune
# and export a model-zoo RTMDet (random weights, synthetic batch).
#   bash tools/check_mmdet_only_install.sh      (a fresh venv each run)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMDET_ONLY_VENV:-$ROOT/.venv-mmdet-only}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
rm -rf "$VENV"
"$PY" -m venv "$VENV"
V="$VENV/bin/python"
PIP="$V -m pip --disable-pip-version-check -q"
C=(-c "$ROOT/requirements/constraints.txt")
# the user's stack (versions as CI's, from its constraints)
$PIP install "${C[@]}" torch
WHEELS="$ROOT/../shared/wheels"
FIND=()
if [ -f "$WHEELS/SHA256SUMS" ]; then
  (cd "$WHEELS" && sha256sum --quiet -c SHA256SUMS) && FIND=(--find-links "$WHEELS")
fi
$PIP install "${FIND[@]}" "${C[@]}" 'setuptools<70' wheel
$PIP install --no-build-isolation "${FIND[@]}" "${C[@]}" mmcv mmengine mmdet
torch_before="$($V -c 'import torch; print(torch.__version__)')"

# mmprune as a user installs it: ranges only, no constraints
$PIP install -e "$ROOT"
torch_after="$($V -c 'import torch; print(torch.__version__)')"
if [ "$torch_before" != "$torch_after" ]; then
  echo "FAIL: pip install -e . changed torch $torch_before -> $torch_after" >&2
  exit 1
fi
$V - <<'PY'
import importlib.util
assert importlib.util.find_spec('mmseg') is None, 'mmseg is installed'
assert importlib.util.find_spec('mmrotate') is None, 'mmrotate is installed'
import mmprune  # noqa: F401
PY
cd "$ROOT"
ZOO=mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py
$V - "$ZOO" "$WORK/trained.pth" <<'PY'
import sys
import torch
import mmprune  # noqa: F401
from mmengine.registry import init_default_scope
from mmprune.models.builder import build_model_from
from mmprune.utils import read_config
cfg = read_config(sys.argv[1])
init_default_scope(cfg.default_scope)
torch.save(dict(state_dict=build_model_from(cfg).state_dict()), sys.argv[2])
PY
$V tools/prune.py "$ZOO" "$WORK/trained.pth" --ratio 0.3 --synthetic-batch \
  --input-shape 128 128 --no-latency --device cpu --out "$WORK/pruned"
# the deploy extra: ONNX Runtime
$PIP install -e "$ROOT[deploy]"
torch_after="$($V -c 'import torch; print(torch.__version__)')"
[ "$torch_before" = "$torch_after" ] || { echo "FAIL: the deploy extra changed torch" >&2; exit 1; }
$V tools/deployment/export_onnx.py "$ZOO" "$WORK/pruned/pruned.pth" \
  --out "$WORK/pruned/model.onnx" --input-shape 128 128 --latency-runs 2 \
  --device cpu
echo "mmdet-only environment: torch $torch_before untouched; mmprune imports without mmseg and mmrotate; $ZOO pruned and exported"
