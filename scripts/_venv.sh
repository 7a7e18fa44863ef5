# Sourced by the scripts: make sure .venv exists and holds this checkout with its dev extras.
# Reinstalls only when pyproject.toml changed since the last install (a stamp file records its hash).
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $($PY --version 2>&1)"
  "$PY" -m venv .venv
fi
stamp=".venv/.composable-agents-stamp"
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $(pwd)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "== installing composable-agents[dev] into .venv (first run takes a minute or two)"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e '.[dev]'
  echo "$want" > "$stamp"
fi
