"""``ca replay --history FILE``: a committed history replays with today's code; after a code change it exits 1."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cli_fixtures import run_ca

pytest.importorskip("temporalio", reason="replay needs temporalio: pip install 'composable-agents[temporal]'")

ROOT = Path(__file__).resolve().parents[2]
HISTORY = ROOT / "tests" / "histories" / "example-quickstart.json"


def test_committed_history_replays(tmp_path: Path) -> None:
    done = run_ca("replay", "--history", str(HISTORY), "-m", "quickstart", "--path", str(ROOT / "examples"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "replayed example-quickstart: deterministic\n"


def test_changed_code_is_nondeterminism(tmp_path: Path) -> None:
    code = tmp_path / "app"
    code.mkdir()
    source = (ROOT / "examples" / "quickstart.py").read_text()
    changed = source.replace('return {"queue": hit["queue"],', 'return {"queue": hit["queue"].upper(),')
    assert changed != source, "the quickstart's ticket_prompt body moved: update this edit"
    (code / "quickstart.py").write_text(changed)
    done = run_ca("replay", "--history", str(HISTORY), "-m", "quickstart", "--path", str(code), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "error: nondeterminism replaying example-quickstart:" in done.stderr
    assert "Nondeterminism" in done.stderr


def test_replay_usage(tmp_path: Path) -> None:
    shutil.copy(HISTORY, tmp_path / "h.json")
    neither = run_ca("replay", "-m", "quickstart", "--path", str(ROOT / "examples"), cwd=tmp_path)
    assert neither.returncode == 2 and "give a WORKFLOW_ID or --history FILE" in neither.stderr
    missing = run_ca("replay", "--history", "nope.json", "-m", "json", cwd=tmp_path)
    assert missing.returncode == 2 and "--history nope.json: no such file" in missing.stderr
