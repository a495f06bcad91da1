#!/usr/bin/env bash
# The README's test command: set up, then lint, type-check and test everything.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --for-tests
echo "== ruff"; .venv/bin/ruff check . && .venv/bin/ruff format --check .
echo "== mypy --strict"; .venv/bin/mypy
echo "== javascript tests"; (cd viewer_app/web && node --test test/)
echo "== pytest"; .venv/bin/pytest "$@"
