#!/usr/bin/env bash
# The test command: sets up the reproducible environment when it is missing
# (tools/install.sh, seconds when it exists), runs the linters, checks an
# mmdet-only user environment (tools/check_mmdet_only_install.sh), then the
# test suite. Extra arguments go to pytest.
#   bash tools/run_tests.sh [PYTEST_ARGS ...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/install.sh
bash tools/lint.sh
if [ -z "${SKIP_MMDET_ONLY:-}" ]; then
  log="$(mktemp)"
  if ! bash tools/check_mmdet_only_install.sh > "$log" 2>&1; then
    tail -n 60 "$log"
    exit 1
  fi
  tail -n 1 "$log"
fi
exec "$ROOT/.venv/bin/python" -m pytest tests "$@"
