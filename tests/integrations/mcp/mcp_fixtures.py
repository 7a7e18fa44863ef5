"""Helpers for the MCP tests: start the test server over stdio or streamable HTTP, read its call log.

The stdio server is spawned by the client itself (``McpServer(command=...)``;
the SDK stops its child when the session closes). The HTTP server is a
subprocess on a free 127.0.0.1 port, polled until it accepts connections and
stopped by its own PID.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from composable_agents.integrations.mcp import McpServer

SERVER_SCRIPT = Path(__file__).with_name("mcp_test_server.py")


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    """Poll until ``port`` accepts a connection (or the process died)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"the test server exited with {proc.returncode} before listening"
            raise RuntimeError(msg)
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    msg = f"nothing listened on 127.0.0.1:{port} after {timeout_s}s"
    raise RuntimeError(msg)


def read_log(path: Path) -> list[dict[str, Any]]:
    """The calls the test server recorded, in order."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def keyed(log: Path, prefix: str) -> list[dict[str, Any]]:
    """The logged calls whose idempotency key starts with ``prefix`` (for servers shared by tests)."""
    key = "io.composable-agents/idempotency-key"
    return [e for e in read_log(log) if str(e["meta"].get(key, "")).startswith(prefix)]


def stdio_server(log: Path, *, name: str = "research", **env: str) -> McpServer:
    """The test server over stdio, logging to ``log`` (``env`` adds CA_MCP_* variables)."""
    return McpServer(
        name,
        command=sys.executable,
        args=[str(SERVER_SCRIPT), "stdio"],
        env={"CA_MCP_LOG": str(log), **env},
    )


class HttpMcp:
    """A running HTTP test server: ``server`` (an :class:`McpServer`), ``log``, ``stop()``."""

    def __init__(self, log: Path, *, name: str = "research", **env: str) -> None:
        self.log = log
        self.env = env
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER_SCRIPT), "http", str(self.port)],
            env={**os.environ, "CA_MCP_LOG": str(log), **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_port(self.port, self.proc)
        except BaseException:
            self.stop()
            raise
        self.server = McpServer(name, url=f"http://127.0.0.1:{self.port}/mcp", headers={"X-Test": "1"})

    def restart(self) -> None:
        """Stop the server and start a fresh process on the same port (it knows none of the old sessions)."""
        self.stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER_SCRIPT), "http", str(self.port)],
            env={**os.environ, "CA_MCP_LOG": str(self.log), **self.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, self.proc)

    def stop(self) -> None:
        """Terminate by PID and reap."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
