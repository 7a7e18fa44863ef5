"""What the ``ca`` tests share besides fixtures: running ``ca`` as a user would, the fixture project, polling.

Imported by ``conftest.py`` and the test modules as ``cli_fixtures`` (a
module name of its own: ``from conftest import ...`` would pick up whichever
directory's conftest was imported last when several test folders run together).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent / "project"
FAKE = "support_reply=support.fakes:support_reply"

Ca = Callable[..., subprocess.CompletedProcess[str]]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TEMPORAL_ADDRESS", "CA_FORCE_TERMINAL", "NO_COLOR")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run_ca(*args: str, cwd: Path, stdin: str | None = None, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    """``ca ARGS`` in ``cwd``; extra keyword arguments are environment variables."""
    return subprocess.run(
        [sys.executable, "-m", "composable_agents", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**_env(), **env},
        check=False,
    )


def copy_project(dest: Path) -> Path:
    """A fresh copy of the fixture project at ``dest``."""
    shutil.copytree(FIXTURE, dest, ignore=shutil.ignore_patterns("__pycache__", ".ca"))
    return dest


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def wait_for(predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``predicate`` until it holds (fail naming ``what`` after ``timeout_s``)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Dev:
    """A running ``ca dev``: its project, address, own PID and the server's PID."""

    root: Path
    address: str
    pid: int
    server_pid: int
    process: subprocess.Popen[str]

    def ca(self, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        """``ca ARGS`` in the dev project (the durable verbs find the address in ``.ca/dev.json``)."""
        return run_ca(*args, cwd=self.root, stdin=stdin, **env)
