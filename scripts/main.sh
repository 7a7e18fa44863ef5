#!/usr/bin/env bash
# The main job: the example flows run durably on an embedded Temporal dev server.
# Creates .venv (python3 -m venv) and installs composable-agents[dev] if needed, then runs
# examples/run_durable.py: it starts the dev server on a free local port, runs a worker in
# the same process with a fake LLM, prints each result and its trace, and stops the server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
if ! .venv/bin/python -c "import composable_agents, temporalio" >/dev/null 2>&1; then
  echo "== installing composable-agents[dev] into .venv"
  .venv/bin/python -m pip install -q -e '.[dev]'
fi
exec .venv/bin/python examples/run_durable.py "$@"
