#!/usr/bin/env bash
# The reproducible environment: a virtual environment (.venv) with the
# versions CI tests (requirements/constraints.txt) and mmprune installed
# editable with every extra. Idempotent: a second run only checks a stamp
# and an import, and returns in seconds.
# (In an environment you already have: pip install -e ".[mim,deploy]";
# see docs/en/get_started.md.)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMPRUNE_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
STAMP="$VENV/.mmprune-install-stamp"
want="$(cat "$ROOT"/requirements/*.txt "$ROOT/tools/install.sh" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c "import mmprune" 2>/dev/null; then
  echo "mmprune environment up to date: $VENV"
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# shellcheck disable=SC1091
source "$VENV/bin/activate"
PIP="python -m pip --disable-pip-version-check"
C=(-c "$ROOT/requirements/constraints.txt")
$PIP install -q --upgrade pip
$PIP install -q -r "$ROOT/requirements/build.txt"
# torch first, exactly pinned: anything looser pulls a multi-GB CUDA build.
$PIP install -q "${C[@]}" torch
# mmcv 2.1.0 has no wheel on PyPI for this torch; use the prebuilt one in
# ../shared/wheels when present (checksum verified), else build from source
# (about 26 minutes on 2 cores).
WHEELS="$ROOT/../shared/wheels"
FIND=()
if [ -f "$WHEELS/SHA256SUMS" ]; then
  (cd "$WHEELS" && sha256sum --quiet -c SHA256SUMS) && FIND=(--find-links "$WHEELS")
fi
$PIP install -q --no-build-isolation "${FIND[@]}" "${C[@]}" mmcv
# mmrotate's metadata pins mmdet<3.1 although it runs on 3.3 with mmprune's
# import shim: installed without its dependencies (the rotate extra has them).
$PIP install -q --no-deps "${C[@]}" mmrotate
$PIP install -q --no-build-isolation "${C[@]}" -e "$ROOT[all,docs,tests]"
python -c "import mmprune, mmcv.ops, mmdet, mmseg, mmrotate, onnxruntime, torch_pruning; print('mmprune environment ready:', '$VENV')"
echo "$want" > "$STAMP"
