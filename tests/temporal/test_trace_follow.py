"""Durable runs reach the trace store and OTel out of band: ``ingest`` one run, ``follow`` every run as it closes.

A worker on the session's dev server runs small flows (one fails); a
follower started before them stores each as it closes. The stored events
carry workflow-clock times (epoch milliseconds), errors and values. With
temporalio's ``TracingInterceptor`` on the starting client, the exported run
span sits under the client's ``StartWorkflow`` span.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("temporalio", reason="the Temporal tests need temporalio: pip install 'composable-agents[temporal]'")
pytest.importorskip("opentelemetry.sdk", reason="the OTel export needs the `otel` extra")

import pytest_asyncio
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.contrib.opentelemetry import TracingInterceptor

from composable_agents import arr, deploy, pure, tool
from composable_agents.integrations.otel import OtelSink, span_id_for
from composable_agents.integrations.store import TraceStore, follow, ingest
from composable_agents.temporal.client import run_deployment
from composable_agents.temporal.devserver import DevServer
from composable_agents.temporal.worker import build_worker

pytestmark = pytest.mark.asyncio(loop_scope="module")

TASK_QUEUE = "ca-tests-trace-follow"


@tool(effect="read", idempotent=True)
def tf_lookup(q: str) -> dict[str, str]:
    return {"q": q, "token": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"}


@pure("tf.size")
def tf_size(doc: dict[str, str]) -> int:
    return len(doc["q"])


@pure("tf.reject_long")
def tf_reject_long(n: int) -> int:
    if n > 5:
        raise ValueError(f"too long: {n}")
    return n


FLOW = deploy((tf_lookup >> arr("tf.size") >> arr("tf.reject_long")).named("tf.flow"), tools=[tf_lookup])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(temporal_server: DevServer) -> AsyncIterator[Any]:
    worker_client = await temporal_server.client()
    async with build_worker(worker_client, task_queue=TASK_QUEUE, tools=[tf_lookup]):
        yield worker_client


async def _until(predicate: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_follow_stores_every_run_as_it_closes(client: Any, tmp_path: Path) -> None:
    store = TraceStore.open(f"sqlite:///{tmp_path}/follow.db")
    stop = asyncio.Event()
    follower = asyncio.create_task(follow(client, store, poll_s=0.2, stop=stop))
    ids = [f"tf-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    inputs = ["ab", "abc", "much too long"]
    results = [
        await run_deployment(FLOW, client, session_id=wid, input=value, task_queue=TASK_QUEUE)
        for wid, value in zip(ids, inputs, strict=True)
    ]
    assert [r.status for r in results] == ["ok", "ok", "failed"]
    try:
        await _until(lambda: set(ids) <= {r.run_id for r in store.runs(limit=1000)})
    finally:
        stop.set()
        count = await follower
    assert count >= 3
    for wid, result in zip(ids, results, strict=True):
        got = store.get_run(wid)
        assert got is not None
        assert got.status == result.status
        assert got.flow == "tf.flow"
        # workflow.now() times: epoch milliseconds, ordered
        assert got.started_at is not None and got.started_at > 1e12
        for event in got.events:
            assert event["startedAt"] <= event["endedAt"]
        tool_event = got.by_activation()["$.0"]
        assert tool_event["tool"] == "tf_lookup"
        assert "ghp_" not in repr(tool_event["output"])  # redacted
        assert tool_event["input"] == inputs[ids.index(wid)]
    failed = store.get_run(ids[2])
    assert failed is not None
    leaf = failed.by_activation()["$.2"]
    assert leaf["error"] == {"type": "ValueError", "message": "too long: 13"}
    assert failed.by_activation()["$"]["error"]["type"] == "ValueError"
    # ingesting again stores nothing twice
    await ingest(client, ids[0], store)
    assert len(store.get_run(ids[0]).events) == len(results[0].projection.events)  # type: ignore[union-attr]
    store.close()


async def test_exported_run_sits_under_the_tracing_interceptor_span(client: Any, temporal_server: DevServer) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    traced = await temporal_server.client(interceptors=[TracingInterceptor(provider.get_tracer("client"))])
    wid = f"tf-otel-{uuid.uuid4().hex[:8]}"
    result = await run_deployment(FLOW, traced, session_id=wid, input="abc", task_queue=TASK_QUEUE)
    assert result.ok
    await ingest(client, wid, OtelSink(provider))
    spans = exporter.get_finished_spans()
    (start,) = [s for s in spans if s.name.startswith("StartWorkflow:")]
    (run_span,) = [s for s in spans if s.name.startswith("run:")]
    assert run_span.parent is not None and run_span.parent.span_id == start.context.span_id
    assert run_span.context.trace_id == start.context.trace_id
    ours = [s for s in spans if s.attributes and "ca.activation" in s.attributes]
    assert len(ours) == len(result.projection.events)
    root = next(s for s in ours if s.attributes["ca.activation"] == "$")
    assert root.context.span_id == span_id_for(wid, "$")
    assert root.parent is not None and root.parent.span_id == run_span.context.span_id
