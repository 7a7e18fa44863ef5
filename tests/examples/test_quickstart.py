"""The seed's quickstart runs unchanged as a script and prints the documented record."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = (
    "{'ticket': 'Customer was charged twice.', 'queue': 'billing', "
    "'summary': 'Use the duplicate-charge runbook.', 'reply': 'billing: Use the duplicate-charge runbook.'}"
)


def test_quickstart_prints_the_documented_value() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "quickstart.py")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == EXPECTED + "\n"


def test_quickstart_lowers_to_a_small_graph() -> None:
    import runpy

    ns = runpy.run_path(str(ROOT / "examples" / "quickstart.py"), run_name="quickstart_under_test")
    doc = ns["triage"].to_json()
    assert doc["op"] == "seq"
    ops = [s["op"] for s in doc["steps"]]
    assert ops == ["prim", "par", "arr"]
    assert doc["steps"][0]["ann"] == {"maxAttempts": 3, "timeoutS": 5}
    assert doc["steps"][2]["pure"] == "std.merge"
    keep, chain = doc["steps"][1]["branches"]
    assert keep["op"] == "ident"
    assert [s["op"] for s in chain["steps"]] == ["arr", "prim"]
    assert chain["steps"][1]["ann"] == {"timeoutS": 10}
