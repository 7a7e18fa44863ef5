"""Chaos: 100 concurrent runs while the worker process is SIGKILLed and restarted at 20 random moments.

Seeded (``CA_CHAOS_SEED``, default 9). Every run must end ``ok``, none may be
lost, and the tool-side store must show every idempotency key applied exactly
once although many attempts were cut short by the kills.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from typing import Any

import pytest

pytest.importorskip("temporalio")

import durable_app
from workers import WorkerProcess

from composable_agents import deploy
from composable_agents.temporal.client import start_deployment

RUNS = 100
KILLS = 20
SEED = int(os.environ.get("CA_CHAOS_SEED", "9"))


async def test_chaos_100_runs_20_worker_kills(server: Any, store: str) -> None:
    rng = random.Random(SEED)
    client = await server.client()
    queue = f"ca-durable-chaos-{uuid.uuid4().hex[:6]}"
    dep = deploy(durable_app.APPLY_TWICE)
    env = {"CA_DURABLE_MAX_ACTIVITIES": "6"}
    worker = WorkerProcess(server.target_host, queue, store, **env)
    started = time.monotonic()
    pids = [worker.pid]
    try:
        handles = await asyncio.gather(*(
            start_deployment(dep, client, session_id=f"chaos-{SEED}-{i}-{uuid.uuid4().hex[:6]}", input=f"item{i}",
                             task_queue=queue)
            for i in range(RUNS)
        ))
        results_task = asyncio.gather(*(h.result() for h in handles))
        for _ in range(KILLS):
            await asyncio.sleep(rng.uniform(0.2, 1.2))
            worker.kill()
            await asyncio.sleep(rng.uniform(0.0, 0.3))
            worker = await asyncio.get_running_loop().run_in_executor(
                None, lambda: WorkerProcess(server.target_host, queue, store, **env)
            )
            pids.append(worker.pid)
        results = await asyncio.wait_for(results_task, 150)
    finally:
        worker.stop()
    elapsed = time.monotonic() - started
    assert len(pids) == KILLS + 1
    assert [r.status for r in results] == ["ok"] * RUNS, [r.detail for r in results if r.status != "ok"][:3]
    assert sorted(r.raw_value for r in results) == sorted(f"applied:<applied:item{i}>" for i in range(RUNS))
    keys = durable_app.rows(store, "SELECT count(DISTINCT key) FROM attempts")[0][0]
    assert keys == 2 * RUNS
    doubled = durable_app.rows(store, "SELECT key, count(*) FROM effects GROUP BY key HAVING count(*) > 1")
    assert doubled == []  # no idempotency key applied twice
    assert durable_app.rows(store, "SELECT count(*) FROM effects")[0][0] == 2 * RUNS  # none lost
    attempts = durable_app.rows(store, "SELECT count(*) FROM attempts")[0][0]
    cut_short = attempts - 2 * RUNS
    assert cut_short > 0  # the kills did interrupt running tool attempts (which were retried)
    print(f"chaos: {RUNS} runs, {KILLS} kills, {cut_short} retried attempts, {elapsed:.1f}s")
