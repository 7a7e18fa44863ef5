"""Helpers for the ``http_tool`` tests: the stdlib test server in a subprocess, and its request log."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SERVER_SCRIPT = Path(__file__).with_name("http_test_server.py")


def free_port() -> int:
    """A port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class HttpServer:
    """The test server on a free 127.0.0.1 port: ``base`` URL, ``log`` path, ``requests()``, ``stop()``."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER_SCRIPT), str(self.port), str(log)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                msg = f"the HTTP test server exited with {self.proc.returncode}"
                raise RuntimeError(msg)
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)

    def requests(self, path: str | None = None) -> list[dict[str, Any]]:
        """The requests received so far (optionally only those to ``path``)."""
        if not self.log.exists():
            return []
        entries = [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]
        return [e for e in entries if path is None or e["path"] == path]

    def stop(self) -> None:
        """Terminate by PID and reap."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
