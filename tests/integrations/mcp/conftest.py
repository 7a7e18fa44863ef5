"""Fixtures for the MCP tests: the test server over stdio and over streamable HTTP (see mcp_fixtures)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("mcp", reason="the MCP tests need the mcp SDK: pip install 'composable-agents[mcp]'")

from mcp_fixtures import HttpMcp, stdio_server

from composable_agents.integrations.mcp import McpServer


@pytest.fixture
def mcp_log(tmp_path: Path) -> Path:
    """A fresh call log for one test."""
    return tmp_path / "mcp-calls.jsonl"


@pytest.fixture
def stdio(mcp_log: Path) -> McpServer:
    """The test server over stdio (spawned on first use by whoever connects)."""
    return stdio_server(mcp_log)


@pytest.fixture
def http_mcp(tmp_path: Path) -> Iterator[HttpMcp]:
    """The test server over streamable HTTP, started for one test and stopped by PID."""
    running = HttpMcp(tmp_path / "mcp-http-calls.jsonl")
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def start_http_mcp(tmp_path: Path) -> Iterator[Callable[..., HttpMcp]]:
    """A factory for extra HTTP test servers (a changed schema, another version); all stopped at the end."""
    started: list[HttpMcp] = []

    def start(**env: str) -> HttpMcp:
        running = HttpMcp(tmp_path / f"mcp-http-{len(started)}.jsonl", **env)
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            running.stop()
