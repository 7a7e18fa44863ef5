"""Server restart: a run parked on a human gate survives stopping and restarting the dev server."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("temporalio")

import durable_app

from composable_agents import deploy
from composable_agents.temporal import answer_gate, list_open_gates
from composable_agents.temporal.client import FlowHandle, start_deployment
from composable_agents.temporal.devserver import DevServer, find_temporal_binary
from composable_agents.temporal.worker import build_worker

QUEUE = "ca-durable-restart"


async def _gates(client: Any, wid: str) -> list[str]:
    for _ in range(500):
        gates = await list_open_gates(client, wid)
        if gates:
            return gates
        await asyncio.sleep(0.02)
    return []


async def test_a_gated_run_survives_a_server_restart(tmp_path: Path) -> None:
    try:
        find_temporal_binary()
    except ImportError as exc:
        pytest.skip(str(exc))
    db = tmp_path / "temporal.sqlite"
    dep = deploy(durable_app.GATED)
    wid = f"restart-{uuid.uuid4().hex[:8]}"
    server = DevServer(db_filename=db)
    await server.__aenter__()
    port = server.port
    try:
        client = await server.client()
        worker = build_worker(client, task_queue=QUEUE, sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
                              graceful_shutdown_timeout=timedelta(seconds=0))
        async with worker:
            await start_deployment(dep, client, session_id=wid, input="r", task_queue=QUEUE)
            assert await _gates(client, wid) == ["$.1"]
    finally:
        await server.__aexit__()
    assert server.process is None and db.exists()

    restarted = DevServer(port=port, db_filename=db)
    await restarted.__aenter__()
    try:
        client = await restarted.client()
        worker = build_worker(client, task_queue=QUEUE, sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
                              graceful_shutdown_timeout=timedelta(seconds=0))
        async with worker:
            assert await _gates(client, wid) == ["$.1"]  # still parked, state rebuilt from history
            await answer_gate(client, wid, "$.1", approved=True, by="ops")
            handle = FlowHandle(dep, client.get_workflow_handle(wid))
            result = await asyncio.wait_for(handle.result(), 30)
    finally:
        await restarted.__aexit__()
    assert result.status == "ok", result.detail
    assert result.raw_value == "<<r>>"
    (gate,) = [e for e in result.projection.events if e["activation"] == "$.1"]
    assert gate["gate"] == {"approved": True, "reason": None, "by": "ops"}
