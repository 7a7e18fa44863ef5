"""Crash and resume: SIGKILL the worker process mid-tool, start a new one, nothing is lost or doubled."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

pytest.importorskip("temporalio")

import durable_app
from workers import WorkerProcess

from composable_agents import deploy
from composable_agents.temporal.client import start_deployment

QUEUE = "ca-durable-crash"


async def _wait_for(path: str, sql: str, count: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if durable_app.rows(path, sql)[0][0] >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {sql!r} >= {count}")


class _Crash:
    """A first worker, SIGKILLed once the store shows its first row in a table, and its replacement."""

    def __init__(self, server: Any, queue: str, store: str) -> None:
        self.target, self.queue, self.store = server.target_host, queue, store
        self.first = WorkerProcess(self.target, queue, store)
        self.second: WorkerProcess | None = None
        self.killed_at = 0.0

    async def kill_first_after(self, table: str) -> None:
        await _wait_for(self.store, f"SELECT count(*) FROM {table}", 1)
        self.first.kill()
        self.killed_at = time.monotonic()

    def replace(self) -> WorkerProcess:
        self.second = WorkerProcess(self.target, self.queue, self.store)
        return self.second


@contextmanager
def _crash(server: Any, queue: str, store: str) -> Iterator[_Crash]:
    """Start the first worker; at the end stop the replacement (if started), then kill the first."""
    crash = _Crash(server, queue, store)
    try:
        try:
            yield crash
        finally:
            if crash.second is not None:
                crash.second.stop()
    finally:
        crash.first.kill()


async def test_sigkill_mid_tool_resumes_on_a_new_worker(server: Any, store: str) -> None:
    client = await server.client()
    queue = f"{QUEUE}-{uuid.uuid4().hex[:6]}"
    wid = f"crash-{uuid.uuid4().hex[:8]}"
    with _crash(server, queue, store) as crash:
        handle = await start_deployment(deploy(durable_app.APPLY_TWICE), client, session_id=wid, input="x",
                                        task_queue=queue)
        await crash.kill_first_after("attempts")  # mid-sleep of the first dur_apply attempt: its effect is not applied yet
        assert durable_app.rows(store, "SELECT count(*) FROM effects") == [(0,)]
        first, second = crash.first, crash.replace()
        result = await asyncio.wait_for(handle.result(), 60)
        resumed_s = time.monotonic() - crash.killed_at
    assert result.status == "ok", result.detail
    assert result.value == "applied:<applied:x>"
    attempts = durable_app.rows(store, "SELECT key, pid FROM attempts ORDER BY at")
    effects = durable_app.rows(store, "SELECT key, count(*) FROM effects GROUP BY key ORDER BY key")
    keys = sorted({k for k, _ in attempts})
    assert keys == [f"{wid}:$.0", f"{wid}:$.2"]  # one key per step, the same on every attempt
    assert [k for k, _ in attempts].count(f"{wid}:$.0") == 2  # the killed attempt and its retry
    assert {pid for _, pid in attempts} == {first.pid, second.pid}
    assert effects == [(k, 1) for k in keys]  # each key applied exactly once
    assert resumed_s < 2 * durable_app.TIMEOUT_S + 10


async def test_a_lost_non_idempotent_write_is_never_executed_twice(server: Any, store: str) -> None:
    client = await server.client()
    queue = f"{QUEUE}-w-{uuid.uuid4().hex[:6]}"
    wid = f"write-{uuid.uuid4().hex[:8]}"
    with _crash(server, queue, store) as crash:
        handle = await start_deployment(deploy(durable_app.WRITE_ONCE), client, session_id=wid, input="w",
                                        task_queue=queue)
        await crash.kill_first_after("writes")
        crash.replace()
        result = await asyncio.wait_for(handle.result(), 60)
    # Its single attempt was lost with the worker: the run fails cleanly (a timeout), it is not retried.
    assert result.status == "failed"
    assert result.detail["activation"] == "$.0" and "timed out" in result.detail["message"], result.detail
    writes = durable_app.rows(store, "SELECT key, pid, done FROM writes")
    assert writes == [(f"{wid}:$.0", crash.first.pid, 0)]


async def test_heartbeats_detect_a_dead_worker_long_before_the_tool_timeout(server: Any, store: str) -> None:
    client = await server.client()
    queue = f"{QUEUE}-hb-{uuid.uuid4().hex[:6]}"
    wid = f"hb-{uuid.uuid4().hex[:8]}"
    with _crash(server, queue, store) as crash:
        handle = await start_deployment(deploy(durable_app.APPLY_LONG), client, session_id=wid, input="h",
                                        task_queue=queue, heartbeat_s=1.0)
        await crash.kill_first_after("attempts")
        crash.replace()
        result = await asyncio.wait_for(handle.result(), 60)
        resumed_s = time.monotonic() - crash.killed_at
    assert result.status == "ok" and result.raw_value == "<applied:h>"
    assert resumed_s < 10  # the tool's start-to-close timeout is 120 s
    assert durable_app.rows(store, "SELECT key, count(*) FROM effects GROUP BY key") == [(f"{wid}:$.0", 1)]
    assert durable_app.rows(store, "SELECT count(*) FROM attempts") == [(2,)]


async def test_a_session_turn_survives_a_worker_kill(server: Any, store: str) -> None:
    from composable_agents import Agent

    client = await server.client()
    queue = f"{QUEUE}-s-{uuid.uuid4().hex[:6]}"
    with _crash(server, queue, store) as crash:
        handle = await Agent("dur.crash.chat", tools=[durable_app.dur_apply]).open(
            session=durable_app.SLOW_CHAT, backend="temporal", client=client, task_queue=queue, heartbeat_s=1.0
        )
        ack = await handle.send("m1", idempotency_key="k1")
        await crash.kill_first_after("attempts")  # mid-turn: the turn's tool call is lost with the worker
        crash.replace()
        assert await handle.send("m1", idempotency_key="k1") == ack  # the ack survived too
        await handle.send("m2", idempotency_key="k2")
        await asyncio.wait_for(handle.drain(), 60)
        await handle.close()
        events = [e async for e in handle.events()]
    assert [e.payload for e in events if e.is_emit] == ["applied:m1", "applied:m2"]
    assert not [e for e in events if e.is_error]
    effects = durable_app.rows(store, "SELECT key, count(*) FROM effects GROUP BY key ORDER BY key")
    assert [n for _, n in effects] == [1, 1]
    assert durable_app.rows(store, "SELECT count(*) FROM attempts")[0][0] == 3  # m1 twice (killed + retry), m2 once
