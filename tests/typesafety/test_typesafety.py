"""Static typing as data: run mypy (with our plugin) ONCE over every case, then judge each file.

``cases/pass_*.py`` must type-check cleanly under ``--strict``.
``cases/fail_*.py`` must produce exactly one error, on the line marked
``# E: <substring>``, whose text contains the substring (``[any-edge]`` matches
the error code).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CASES = HERE / "cases"
ROOT = HERE.parent.parent
_ERROR = re.compile(r"^(?P<file>[^:]+\.py):(?P<line>\d+): error: (?P<msg>.*)$")
_MARK = re.compile(r"#\s*E:\s*(?P<expect>.+?)\s*$")

PASS_CASES = sorted(p.name for p in CASES.glob("pass_*.py"))
FAIL_CASES = sorted(p.name for p in CASES.glob("fail_*.py"))


@cache
def mypy_errors() -> dict[str, list[tuple[int, str]]]:
    """One mypy run over the whole corpus; errors grouped by case file name."""
    config = (
        "[mypy]\n"
        "strict = True\n"
        "extra_checks = True\n"
        "warn_unreachable = True\n"
        "plugins = composable_agents.mypy\n"
        f"mypy_path = {CASES}\n"
        f"cache_dir = {ROOT / '.mypy_cache' / 'typesafety'}\n"
    )
    cfg = ROOT / ".mypy_cache" / "typesafety.ini"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(config)
    files = [str(CASES / name) for name in (*PASS_CASES, *FAIL_CASES)]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(cfg),
            "--show-error-codes",
            "--no-pretty",
            *files,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if proc.returncode not in (0, 1):
        pytest.fail(f"mypy crashed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    out: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for raw in proc.stdout.splitlines():
        m = _ERROR.match(raw)
        if m:
            out[Path(m["file"]).name].append((int(m["line"]), m["msg"]))
    return out


def _mark(name: str) -> tuple[int, str]:
    marks = [
        (no, m["expect"])
        for no, text in enumerate((CASES / name).read_text().splitlines(), start=1)
        if (m := _MARK.search(text))
    ]
    assert len(marks) == 1, (
        f"{name}: a failing case needs exactly one `# E:` line, found {len(marks)}"
    )
    return marks[0]


def test_corpus_size() -> None:
    assert len(PASS_CASES) >= 15
    assert len(FAIL_CASES) >= 20
    assert sum("[any-edge]" in _mark(n)[1] for n in FAIL_CASES) >= 4


def test_shared_leaves_type_check() -> None:
    assert mypy_errors().get("ts_common.py", []) == []


@pytest.mark.parametrize("name", PASS_CASES)
def test_pass(name: str) -> None:
    assert mypy_errors().get(name, []) == []


@pytest.mark.parametrize("name", FAIL_CASES)
def test_fail(name: str) -> None:
    line, expect = _mark(name)
    errors = mypy_errors().get(name, [])
    assert len(errors) == 1, f"{name}: expected exactly one error on line {line}, got {errors}"
    got_line, msg = errors[0]
    assert got_line == line, f"{name}: error on line {got_line}, expected line {line}: {msg}"
    assert expect in msg, f"{name}: {expect!r} not in {msg!r}"
