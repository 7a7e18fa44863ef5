"""The typed examples pass ``mypy --strict`` with the repository's mypy.ini (plugin on).

One mypy run over all of them. ``quickstart.py`` is left out: the seed's
``hit | answer`` is not strictly typed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
EXAMPLES = (
    "typed_triage.py",
    "email_approval.py",
    "session_demo.py",
    "support_triage.py",
    "research_assistant.py",
    "episode_summary_flow.py",
    "cluster_labeling_flow.py",
    "run_durable.py",
    "mcp_research.py",
    "mcp_research_server.py",
)
_ERROR = re.compile(r"^(?P<file>[^:]+\.py):(?P<line>\d+): error: (?P<msg>.*)$")


@cache
def mypy_run() -> tuple[int, str]:
    """``mypy --strict`` with the repository config over every example, once."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "mypy.ini"),
            "--strict",
            "--show-error-codes",
            "--no-pretty",
            "--cache-dir",
            str(ROOT / ".mypy_cache" / "examples"),
            *(str(ROOT / "examples" / name) for name in EXAMPLES),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode not in (0, 1):
        pytest.fail(f"mypy crashed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.returncode, proc.stdout


def test_the_plugin_is_on() -> None:
    config = (ROOT / "mypy.ini").read_text()
    assert "plugins = composable_agents.mypy" in config


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_type_checks(name: str) -> None:
    _, out = mypy_run()
    errors = [
        line
        for line in out.splitlines()
        if (m := _ERROR.match(line)) and Path(m["file"]).name == name
    ]
    assert errors == []


def test_no_errors_at_all() -> None:
    code, out = mypy_run()
    assert code == 0, out
