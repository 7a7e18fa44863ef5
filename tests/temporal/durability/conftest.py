"""Fixtures for the durability tests: real Temporal servers and worker *processes*.

Every server is ``temporal server start-dev`` on a free 127.0.0.1 port,
stopped by its own PID by the fixture (or test) that started it. Worker
processes run ``worker_main.py`` and are killed by PID (SIGKILL to simulate a
crash). Skipped, with the reason, without temporalio or the dev-server binary.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("temporalio", reason="the durability tests need temporalio: pip install 'composable-agents[temporal]'")

from composable_agents.temporal.devserver import DevServer
from composable_agents.testing.plugin import started_dev_server

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


@pytest.fixture(scope="module")
def server() -> Iterator[DevServer]:
    """A dev server for one test module."""
    yield from started_dev_server()


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A fresh tool-side SQLite store."""
    import durable_app

    path = str(tmp_path / "store.sqlite")
    durable_app.init_store(path)
    os.environ["CA_DURABLE_STORE"] = path
    return path
