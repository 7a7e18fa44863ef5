"""Fixtures for the MCP tests: the test server over stdio and over streamable HTTP (see mcp_fixtures)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("mcp", reason="the MCP tests need the mcp SDK: pip install 'composable-agents[mcp]'")

from mcp_fixtures import HttpMcp, stdio_server

from composable_agents.compiler.snapshot import Snapshot
from composable_agents.integrations.mcp import McpServer, snapshot_from_servers


@pytest.fixture
def mcp_log(tmp_path: Path) -> Path:
    """A fresh call log for one test."""
    return tmp_path / "mcp-calls.jsonl"


@pytest.fixture
def stdio(mcp_log: Path) -> McpServer:
    """The test server over stdio (spawned on first use by whoever connects)."""
    return stdio_server(mcp_log)


@pytest.fixture(scope="module")
def http_mcp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpMcp]:
    """The test server over streamable HTTP, one per test module, stopped by PID.

    Shared to keep process starts down (the SDK takes about a second of CPU to import):
    tests tell their calls apart by their idempotency keys (``keyed(log, prefix)``).
    """
    running = HttpMcp(tmp_path_factory.mktemp("mcp-http") / "calls.jsonl")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def snap(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """A snapshot of the (v1, version 1.4.0) test server, taken once per session."""
    return snapshot_from_servers([stdio_server(tmp_path_factory.mktemp("mcp-snap") / "calls.jsonl")])
