"""The README's quickstart block runs as written and prints what the README says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quickstart_runs_and_prints_the_documented_value(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    block = re.findall(r"```python\n(.*?)```", text, re.DOTALL)[0]
    script = tmp_path / "readme_quickstart.py"
    script.write_text(block, encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == "{'reply': 'billing: Use the duplicate-charge runbook.'}"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", lines[1])


def test_readme_commands_are_the_scripts_ci_runs() -> None:
    text = README.read_text(encoding="utf-8")
    assert "bash scripts/main.sh" in text and "bash scripts/test.sh" in text
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test.sh" in ci
