"""``serve`` as a container entrypoint: SIGTERM drains an in-flight tool, and it hosts sessions and agents."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("temporalio")

import durable_app

from composable_agents import Agent, deploy
from composable_agents.temporal.client import start_deployment
from composable_agents.temporal.devserver import free_port

HERE = Path(__file__).resolve().parent


def _health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _serve(target: str, queue: str, store: str, port: int) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        TEMPORAL_ADDRESS=target,
        COMPOSABLE_AGENTS_TASK_QUEUE=queue,
        COMPOSABLE_AGENTS_MODULES="durable_app",
        COMPOSABLE_AGENTS_HEALTH_PORT=str(port),
        COMPOSABLE_AGENTS_DRAIN_S="10",
        COMPOSABLE_AGENTS_STICKY_S="1",
        CA_DURABLE_STORE=store,
        PYTHONPATH=os.pathsep.join([str(HERE), str(HERE.parents[2] / "src"), os.environ.get("PYTHONPATH", "")]),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "composable_agents.temporal.serve"], env=env, start_new_session=True
    )


async def _until_healthy(port: int) -> None:
    for _ in range(300):
        try:
            if _health(port) == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("serve did not become healthy")


async def test_sigterm_drains_the_running_tool_then_a_new_serve_finishes_the_run(server: Any, store: str) -> None:
    client = await server.client()
    queue = f"ca-durable-serve-{uuid.uuid4().hex[:6]}"
    port = free_port()
    first = _serve(server.target_host, queue, store, port)
    second = None
    try:
        await _until_healthy(port)
        wid = f"drain-{uuid.uuid4().hex[:8]}"
        handle = await start_deployment(deploy(durable_app.APPLY_TWICE), client, session_id=wid, input="d",
                                        task_queue=queue)
        for _ in range(500):
            if durable_app.rows(store, "SELECT count(*) FROM attempts")[0][0]:
                break
            await asyncio.sleep(0.01)
        first.send_signal(signal.SIGTERM)  # mid-tool: the attempt must finish, not be cut
        t0 = time.monotonic()
        assert await asyncio.get_running_loop().run_in_executor(None, lambda: first.wait(30)) == 0
        assert time.monotonic() - t0 < 10
        assert durable_app.rows(store, "SELECT key, pid FROM effects") == [(f"{wid}:$.0", first.pid)]
        second_port = free_port()
        second = _serve(server.target_host, queue, store, second_port)
        await _until_healthy(second_port)
        result = await asyncio.wait_for(handle.result(), 60)
        assert result.status == "ok" and result.raw_value == "applied:<applied:d>"
        attempts = durable_app.rows(store, "SELECT key, count(*) FROM attempts GROUP BY key ORDER BY key")
        assert attempts == [(f"{wid}:$.0", 1), (f"{wid}:$.2", 1)]  # drained: nothing was retried
        # the same serve process hosts durable sessions
        chat = await Agent("dur.serve.chat").open(session=durable_app.CHAT, backend="temporal", client=client,
                                                   task_queue=queue)
        await chat.send("hi")
        await chat.drain()
        assert (await chat.state())["carrier"] == {"n": 1, "history": ["hi"]}
        await chat.close()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
