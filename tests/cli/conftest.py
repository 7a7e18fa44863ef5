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
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_fixtures import FAKE, Ca, Dev, _env, copy_project, run_ca, wait_for


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
