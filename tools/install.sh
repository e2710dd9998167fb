#!/usr/bin/env bash
# One-command set-up: a virtual environment (.venv) with the pinned OpenMMLab
# stack and mmprune installed editable. Idempotent: a second run only checks a
# stamp and returns in seconds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMPRUNE_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
STAMP="$VENV/.mmprune-install-stamp"
want="$(cat "$ROOT"/requirements/*.txt "$ROOT/tools/install.sh" | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c "import mmprune" 2>/dev/null; then
  echo "mmprune environment up to date: $VENV"
  exit 0
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
# shellcheck disable=SC1091
source "$VENV/bin/activate"
PIP="python -m pip --disable-pip-version-check"
$PIP install -q --upgrade pip
$PIP install -q -r "$ROOT/requirements/build.txt"
# torch first, exactly pinned: anything looser pulls a multi-GB CUDA build.
$PIP install -q torch==2.13.0
# mmcv 2.1.0 has no wheel on PyPI for this torch; use the prebuilt one in
# ../shared/wheels when present (checksum verified), else build from source
# (about 26 minutes on 2 cores).
WHEELS="$ROOT/../shared/wheels"
FIND=()
if [ -f "$WHEELS/SHA256SUMS" ]; then
  (cd "$WHEELS" && sha256sum --quiet -c SHA256SUMS) && FIND=(--find-links "$WHEELS")
fi
$PIP install -q --no-build-isolation "${FIND[@]}" mmcv==2.1.0
$PIP install -q -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/mminstall.txt" -r "$ROOT/requirements/tests.txt"
# mmrotate's metadata pins mmdet<3.1 although it runs on 3.3 with mmprune's shims.
$PIP install -q --no-deps mmrotate==1.0.0rc1
$PIP install -q --no-deps --no-build-isolation -e "$ROOT"
# mmrotate also runs in fresh interpreters that never import mmprune (the
# spawn pool of DOTAMetric): a startup line installs the import shim there.
python - <<'PY'
import sysconfig
from mmprune.compat.mmrotate_import import startup_pth_line
with open(sysconfig.get_paths()['purelib'] + '/mmprune_compat.pth', 'w') as f:
    f.write(startup_pth_line())
PY
python -c "import mmprune, mmcv.ops, mmdet, mmseg, mmrotate, torch_pruning; print('mmprune environment ready:', '$VENV')"
echo "$want" > "$STAMP"
