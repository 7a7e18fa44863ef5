"""``WorkerProcess``: a durability-test worker in its own process (started ready, killed by PID)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


class WorkerProcess:
    """A ``worker_main.py`` child process (started ready; killed or stopped by its PID)."""

    def __init__(self, target: str, queue: str, store: str, **env: str) -> None:
        environ = dict(os.environ, CA_DURABLE_STORE=store, **env)
        src = str(HERE.parents[2] / "src")
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
