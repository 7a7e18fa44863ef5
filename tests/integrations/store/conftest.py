"""A real PostgreSQL server for the store tests, started on a free loopback port and stopped by the fixture.

``initdb`` and ``pg_ctl`` run as the ``postgres`` user (``runuser``) on a
fresh data directory under ``/tmp``; the server listens on 127.0.0.1 only and
is stopped (``pg_ctl stop``, then its PID) when the session ends. Tests that
need it skip with the reason when PostgreSQL cannot be run here.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """``postgresql://postgres@127.0.0.1:<port>/postgres`` of a server this fixture owns."""
    pytest.importorskip("psycopg", reason="the PostgreSQL store needs psycopg 3: pip install 'composable-agents[postgres]'")
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not found under /usr/lib/postgresql/*/bin (apt-get install -y postgresql)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without `runuser`: cannot start PostgreSQL as the postgres user")
    data = Path(tempfile.mkdtemp(prefix="ca-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    log = data / "server.log"
    init = subprocess.run(
        _as_postgres([str(bindir / "initdb"), "-D", str(data / "db"), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
        capture_output=True, text=True, check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip()[:300]}")
    opts = f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={data} -c fsync=off"
    start = subprocess.run(
        _as_postgres([str(bindir / "pg_ctl"), "-D", str(data / "db"), "-l", str(log), "-o", opts, "-w", "-t", "30", "start"]),
        capture_output=True, text=True, check=False,
    )
    if start.returncode != 0:
        shutil.rmtree(data, ignore_errors=True)
        pytest.skip(f"pg_ctl start failed: {start.stderr.strip()[:300]}")
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        import psycopg

        deadline = time.monotonic() + 30
        while True:  # poll for readiness (pg_ctl -w already waited; connect to be sure)
            try:
                psycopg.connect(url, connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield url
    finally:
        pid_file = data / "db" / "postmaster.pid"
        pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
        stop = subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "-w", "stop"]),
            capture_output=True, text=True, check=False,
        )
        if stop.returncode != 0 and pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture
def fresh_pg_url(pg_url: str) -> Iterator[str]:
    """A new empty database on the session server (dropped afterwards)."""
    import uuid

    import psycopg

    name = f"ca_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
