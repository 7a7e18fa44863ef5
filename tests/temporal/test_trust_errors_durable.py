"""SPEC §22.10 on Temporal: a failure's ``detail`` has the local shape, and non-JSON results fail alike.

A raising tool reports the user's exception type (``"ValueError"``) on both
backends; its failed attempts are benign activity failures, so the SDK does
not log a WARNING traceback per attempt; a ``-> Any`` tool returning a
``datetime`` fails that step on the worker as in ``dry_run``.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

pytest.importorskip("temporalio", reason="the Temporal tests need temporalio: pip install 'composable-agents[temporal]'")

import pytest_asyncio

from composable_agents import call, deploy, tool
from composable_agents.temporal.client import run_deployment
from composable_agents.temporal.devserver import DevServer
from composable_agents.temporal.worker import build_worker

TASK_QUEUE = "ca-tests-trust-errors"


@tool(name="tre_boom", effect="read", idempotent=True)
def tre_boom(x: str) -> str:
    raise ValueError(f"bad input {x!r}")


@tool(name="tre_when", effect="read", idempotent=True)
def tre_when(x: str) -> Any:
    return datetime.datetime(2026, 1, 2, 3, 4, 5)


@pytest_asyncio.fixture
async def env(temporal_server: DevServer) -> AsyncIterator[Any]:
    client = await temporal_server.client()
    async with build_worker(client, task_queue=TASK_QUEUE, tools=[tre_boom, tre_when]):
        yield client


async def test_a_raising_tool_has_the_same_error_type_locally_and_durably(env: Any, caplog: pytest.LogCaptureFixture) -> None:
    deployment = deploy(call(tre_boom), tools=[tre_boom], reasoners=[])
    local = deployment.dry_run("q")
    with caplog.at_level(logging.WARNING):
        durable = await run_deployment(
            deployment, env, session_id=f"tre-{uuid.uuid4().hex[:8]}", input="q", task_queue=TASK_QUEUE
        )
    assert local.status == durable.status == "failed"
    assert local.detail is not None and durable.detail is not None
    assert local.detail["error"] == durable.detail["error"] == "ValueError"
    tracebacks = [r for r in caplog.records if "Completing activity as failed" in r.getMessage()]
    assert tracebacks == []  # attempts fail quietly (DEBUG), the Result says what happened


async def test_a_non_json_result_fails_the_step_on_the_worker_too(env: Any) -> None:
    deployment = deploy(call(tre_when), tools=[tre_when], reasoners=[])
    local = deployment.dry_run("q")
    durable = await run_deployment(
        deployment, env, session_id=f"tre-{uuid.uuid4().hex[:8]}", input="q", task_queue=TASK_QUEUE
    )
    assert local.status == durable.status == "failed"
    assert local.detail is not None and durable.detail is not None
    assert local.detail["error"] == durable.detail["error"] == "StepTypeError"
    assert "datetime" in str(durable.detail)


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"


@tool(name="tre_fetch", effect="read", idempotent=True)
def tre_fetch(x: str) -> dict[str, str]:
    return {"page": f"Authorization: Bearer {JWT}", "q": x}


async def test_the_durable_projection_redacts_like_the_local_one(temporal_server: DevServer) -> None:
    import json

    client = await temporal_server.client()
    deployment = deploy(call(tre_fetch), tools=[tre_fetch], reasoners=[])
    async with build_worker(client, task_queue=TASK_QUEUE + "-r", tools=[tre_fetch]):
        durable = await run_deployment(
            deployment, client, session_id=f"tre-{uuid.uuid4().hex[:8]}", input="q", task_queue=TASK_QUEUE + "-r"
        )
    local = deployment.dry_run("q")
    assert durable.status == local.status == "ok"
    assert JWT in durable.value["page"]  # the value is the user's
    exported = json.dumps(durable.projection.to_json())
    assert JWT not in exported and "[REDACTED]" in exported
    assert durable.projection.comparable() == local.projection.comparable()
