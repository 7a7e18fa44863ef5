"""Fixtures for the ``http_tool`` tests: a real HTTP server on 127.0.0.1, stopped by PID."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("httpx", reason="HTTP tools need httpx: pip install 'composable-agents[http]'")

from http_fixtures import HttpServer


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """One test server per test module (each test uses its own idempotency keys / run ids)."""
    server = HttpServer(tmp_path_factory.mktemp("http") / "requests.jsonl")
    try:
        yield server
    finally:
        server.stop()
