"""Fixtures for the durability tests: real Temporal servers and worker *processes*.

Every server is ``temporal server start-dev`` on a free 127.0.0.1 port,
stopped by its own PID by the fixture (or test) that started it. Worker
processes run ``worker_main.py`` and are killed by PID (SIGKILL to simulate a
crash). Skipped, with the reason, without temporalio or the dev-server binary.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("temporalio", reason="the durability tests need temporalio: pip install 'composable-agents[temporal]'")

from composable_agents.execution.devserver import DevServer, find_temporal_binary

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


@pytest.fixture(scope="module")
def server() -> Iterator[DevServer]:
    """A dev server for one test module."""
    try:
        find_temporal_binary()
    except ImportError as exc:
        pytest.skip(str(exc))
    srv = DevServer().start()
    try:
        yield srv
    finally:
        srv.stop()


class WorkerProcess:
    """A ``worker_main.py`` child process (started ready; killed or stopped by its PID)."""

    def __init__(self, target: str, queue: str, store: str, **env: str) -> None:
        environ = dict(os.environ, CA_DURABLE_STORE=store, **env)
        src = str(HERE.parents[1] / "src")
        environ["PYTHONPATH"] = src + os.pathsep + environ.get("PYTHONPATH", "")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "worker_main.py"), target, queue],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=environ,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if b"READY" not in line:
            self.kill()
            msg = f"worker did not start: {line!r}"
            raise RuntimeError(msg)
        self.ready_s = time.monotonic() - self.started

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL (a crash: nothing is drained)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 5 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A fresh tool-side SQLite store."""
    import durable_app

    path = str(tmp_path / "store.sqlite")
    durable_app.init_store(path)
    os.environ["CA_DURABLE_STORE"] = path
    return path
