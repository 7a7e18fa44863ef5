"""``scripts/main.sh --live``: without an API key it refuses (the main job stays keyless); the model it picks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "examples" / "run_durable.py"
KEYS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "CA_LIVE_MODEL")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    env.update(extra)
    return env


def test_live_without_a_key_exits_before_starting_anything() -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), "--live"], capture_output=True, text=True, env=_env(), timeout=120, check=False)
    assert out.returncode == 2
    assert "--live needs ANTHROPIC_API_KEY or OPENAI_API_KEY" in out.stdout
    assert "temporal dev server" not in out.stdout  # no server was started


def test_live_picks_a_model_the_key_can_call() -> None:
    code = "import run_durable as r; print(r.live_model())"
    cwd = str(ROOT / "examples")
    for env, want in (
        (_env(ANTHROPIC_API_KEY="k"), "anthropic:claude-haiku-4-5"),
        (_env(OPENAI_API_KEY="k"), "openai:gpt-4o-mini"),
        (_env(OPENAI_API_KEY="k", CA_LIVE_MODEL="openai:gpt-4.1-mini"), "openai:gpt-4.1-mini"),
        (_env(), "None"),
    ):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=cwd, timeout=60, check=True)
        assert out.stdout.strip() == want
