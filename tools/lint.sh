#!/usr/bin/env bash
# The linters CI runs (the checks of .pre-commit-config.yaml, read-only):
# flake8, isort and yapf with their settings in setup.cfg.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN="${MMPRUNE_VENV:-$ROOT/.venv}/bin"
PATHS=(mmprune tools tests configs setup.py docs/en/conf.py)
"$BIN/flake8" "${PATHS[@]}"
"$BIN/isort" --check-only --diff "${PATHS[@]}"
diff="$("$BIN/yapf" --diff --recursive "${PATHS[@]}" || true)"
if [ -n "$diff" ]; then
  echo "$diff"
  echo "yapf: the files above need formatting (yapf -i -r mmprune tools tests configs)" >&2
  exit 1
fi
echo "lint: flake8, isort and yapf pass"
