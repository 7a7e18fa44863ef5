"""Fixtures for the ``ca`` tests: run the CLI as a user would, on a copy of the fixture project.

``ca(...)`` runs ``python -m composable_agents`` in a subprocess (stdout is a
pipe, so output is the plain form the tests compare exactly) and returns the
completed process. ``project`` is a fresh copy of ``tests/cli/project`` per
test (the ledger and the trace store write into it). ``dev`` is one ``ca dev``
for the module that asks for it: started in its own project copy, polled
until ``.ca/dev.json`` appears, and stopped with SIGINT by its PID.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
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


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A writable copy of the fixture project."""
    return copy_project(tmp_path / "project")


@pytest.fixture
def ca(project: Path) -> Ca:
    """``ca(*args, **env)`` run in this test's project copy."""

    def call(*args: str, stdin: str | None = None, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        return run_ca(*args, cwd=cwd or project, stdin=stdin, **env)

    return call


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


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    """One ``ca dev`` (server + worker with the fake reasoner) for a test module, stopped by PID."""
    pytest.importorskip("temporalio", reason="the durable verbs need temporalio: pip install 'composable-agents[temporal]'")
    from composable_agents.temporal.devserver import find_temporal_binary

    try:
        find_temporal_binary()
    except ImportError as exc:
        pytest.skip(str(exc))
    root = copy_project(tmp_path_factory.mktemp("dev") / "project")
    log = (root.parent / "dev.log").open("w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "composable_agents", "dev", "--fake", FAKE],
        cwd=root, stdout=log, stderr=subprocess.STDOUT, text=True, env=_env(),
    )
    info_path = root / ".ca" / "dev.json"
    try:
        wait_for(lambda: info_path.is_file() or proc.poll() is not None, 60, "ca dev to write .ca/dev.json")
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"ca dev exited early:\n{log.read()}")
        info = json.loads(info_path.read_text())
        yield Dev(root, info["address"], info["pid"], info["server_pid"], proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
