#!/usr/bin/env bash
# The whole test suite: installs what it needs into .venv, then mypy --strict on src/ and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh

echo "== system tools for the picture and terminal tests (installed when missing and root)"
bash scripts/ensure_chromium.sh
bash scripts/ensure_tmux.sh
bash scripts/ensure_postgres.sh
echo "== mypy --strict (src/)"
.venv/bin/python -m mypy
echo "== pytest (tests/ and property_tests/)"
.venv/bin/python -m pytest -p no:cacheprovider "$@"
