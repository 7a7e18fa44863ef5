"""MCP tools on Temporal workers: ``run_worker(mcp_servers=[...])`` against the real test server.

A worker process owns one session per server; runs carry the workflow's idempotency key in
``_meta``; a retried read attempt repeats the key on a reopened transport; a lost write is not
repeated; ``isError`` is not retried; a changed schema and an unsatisfied pin are refused before
any call; a restarted worker reconnects.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("temporalio", reason="durable runs need temporalio: pip install 'composable-agents[temporal]'")

from mcp_fixtures import read_log, stdio_server

from composable_agents import ExecutionPolicy, call, deploy, mcp, pure
from composable_agents.compiler.snapshot import Snapshot
from composable_agents.integrations.mcp import (
    IDEMPOTENCY_META,
    PRINCIPAL_META,
    McpServer,
)
from composable_agents.temporal.client import run_deployment
from composable_agents.temporal.worker import run_worker

KEY = IDEMPOTENCY_META
FAST_RETRY = ExecutionPolicy(initial_interval_s=0.1)
GRANTS: dict[str, Any] = {
    "tools": [
        {"name": "research/search", "effect": "read", "idempotency": "native"},
        {"name": "research/crash_once", "effect": "read", "idempotency": "native"},
        {"name": "research/fail", "effect": "read", "idempotency": "native"},
        "research/record",
        "research/crash_write",
    ],
    "mcp_servers": {"research": ">=1.2"},
}


@pure("mcp_durable.as_note")
def as_note(value: dict[str, Any]) -> dict[str, str]:
    return {"note": ",".join(value["hits"])}


@asynccontextmanager
async def worker(client: Any, queue: str, servers: list[McpServer], **kwargs: Any) -> AsyncIterator[None]:
    """``run_worker(mcp_servers=...)`` as a task; cancelling it stops the worker and closes its sessions."""
    task = asyncio.create_task(run_worker(client=client, task_queue=queue, mcp_servers=servers, llm=_no_llm, **kwargs))
    try:
        await asyncio.sleep(0)  # let the worker start polling before the first run
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _no_llm(reasoner: Any, value: Any) -> Any:
    raise AssertionError("no reasoner runs in these tests")


def _sid(name: str) -> str:
    return f"mcp-{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def client(ca_dev_server: Any) -> Any:
    return await ca_dev_server.client()


def _queue() -> str:
    return f"ca-mcp-{uuid.uuid4().hex[:8]}"


async def test_durable_runs_share_one_session_and_carry_the_key_and_principal(
    client: Any, snap: Snapshot, stdio: McpServer, mcp_log: Path
) -> None:
    flow = call(mcp("research", "search")) >> as_note >> call(mcp("research", "record"))
    dep = deploy(flow, snap, capabilities=GRANTS)
    queue = _queue()
    async with worker(client, queue, [stdio]):
        sids = [_sid("pool"), _sid("pool")]
        results = [
            await run_deployment(dep, client, session_id=sid, input={"query": "oak"}, task_queue=queue,
                                 principal={"tenant": "acme"})
            for sid in sids
        ]
    assert [r.status for r in results] == ["ok", "ok"], [r.detail for r in results]
    assert results[1].value == {"stored": "oak-1,oak-2", "count": 2}
    entries = read_log(mcp_log)
    assert [(e["tool"], e["meta"][KEY]) for e in entries] == [
        ("search", f"{sids[0]}:$.0"),
        ("record", f"{sids[0]}:$.2"),
        ("search", f"{sids[1]}:$.0"),
        ("record", f"{sids[1]}:$.2"),
    ]
    assert all(e["meta"][PRINCIPAL_META] == {"tenant": "acme"} for e in entries)
    assert len({e["pid"] for e in entries}) == 1  # one server process for every call of the worker


async def test_retry_keeps_the_key_lost_write_is_not_repeated_is_error_not_retried(
    client: Any, snap: Snapshot, stdio: McpServer, mcp_log: Path
) -> None:
    queue = _queue()
    runs: dict[str, Any] = {}
    async with worker(client, queue, [stdio]):
        for tool, value in (("crash_once", {"note": "r"}), ("crash_write", {"note": "w"}), ("fail", {"reason": "no"})):
            # a short retry interval: the retried read reconnects without a second's wait
            dep = deploy(call(mcp("research", tool)), snap, capabilities=GRANTS, policy=FAST_RETRY)
            sid = _sid(tool)
            runs[tool] = (sid, await run_deployment(dep, client, session_id=sid, input=value, task_queue=queue))
    entries = read_log(mcp_log)

    sid, result = runs["crash_once"]
    assert result.status == "ok", result.detail
    assert result.value == {"note": "r", "attempts": 2}
    retried = [e for e in entries if e["tool"] == "crash_once"]
    assert [e["meta"][KEY] for e in retried] == [f"{sid}:$", f"{sid}:$"]
    assert retried[0]["pid"] != retried[1]["pid"]

    sid, result = runs["crash_write"]
    assert result.status == "failed"
    assert "ToolUnavailable" in json.dumps(result.detail)
    assert [e["meta"][KEY] for e in entries if e["tool"] == "crash_write"] == [f"{sid}:$"]

    sid, result = runs["fail"]
    assert result.status == "failed"
    assert "refused: no" in json.dumps(result.detail)
    assert [e["meta"][KEY] for e in entries if e["tool"] == "fail"] == [f"{sid}:$"]


async def test_a_changed_schema_and_an_unsatisfied_pin_are_refused_before_any_call(
    client: Any, snap: Snapshot, mcp_log: Path
) -> None:
    dep = deploy(call(mcp("research", "search")), snap, capabilities=GRANTS)
    queue = _queue()
    async with worker(client, queue, [stdio_server(mcp_log, CA_MCP_VARIANT="v2")]):
        drift = await run_deployment(dep, client, session_id=_sid("drift"), input={"query": "x"}, task_queue=queue)
    assert drift.status == "failed"
    assert "ToolDefinitionMismatch" in json.dumps(drift.detail)

    old = stdio_server(mcp_log, CA_MCP_VERSION="1.1.0")
    queue = _queue()
    # the worker checks the pins of the deployments it hosts (and of its own capabilities=) on connect
    async with worker(client, queue, [old], deployments=[dep]):
        pinned = await run_deployment(dep, client, session_id=_sid("pin"), input={"query": "x"}, task_queue=queue)
    assert pinned.status == "failed"
    assert "does not satisfy the pin" in json.dumps(pinned.detail)
    assert read_log(mcp_log) == []


async def test_a_restarted_worker_reconnects(client: Any, snap: Snapshot, stdio: McpServer, mcp_log: Path) -> None:
    dep = deploy(call(mcp("research", "search")), snap, capabilities=GRANTS)
    queue = _queue()
    run: Callable[[str], Any] = lambda sid: run_deployment(
        dep, client, session_id=sid, input={"query": "elm"}, task_queue=queue
    )
    async with worker(client, queue, [stdio]):
        first = await run(_sid("before"))
    async with worker(client, queue, [stdio]):
        second = await run(_sid("after"))
    assert (first.status, second.status) == ("ok", "ok"), (first.detail, second.detail)
    assert first.value == second.value == {"query": "elm", "hits": ["elm-1", "elm-2"]}
    pids = [e["pid"] for e in read_log(mcp_log)]
    assert len(pids) == 2 and pids[0] != pids[1]  # the second worker opened its own session
