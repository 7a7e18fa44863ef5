"""The same model flows durably: a Temporal dev server, a worker whose ``router()`` reads the environment.

The worker is built without ``llm=``, so it answers reasoners with
``models.router()`` configured from ``ANTHROPIC_*``/``OPENAI_*`` variables
pointing at the local LLM server. Structured re-asks, agent tool use with an
ungranted tool, a non-retryable ``ProviderError`` and a 429 whose
``Retry-After`` becomes the activity's next retry delay all run through real
activities.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytest.importorskip("temporalio", reason="the durable tests need temporalio: pip install 'composable-agents[temporal]'")

import pytest_asyncio
from llm_server import LLMServer, anthropic_text, anthropic_tool, error, openai_tool
from temporalio.api.enums.v1 import EventType

from composable_agents import deploy, think, tool
from composable_agents.agents.agent import Agent
from composable_agents.agents.plans import agent_trace
from composable_agents.authoring.leaves import Reasoner
from composable_agents.core.ir import Ann
from composable_agents.errors import ModelNotConfigured
from composable_agents.integrations.models import AnthropicProvider, router
from composable_agents.temporal.client import run_deployment
from composable_agents.temporal.devserver import DevServer
from composable_agents.temporal.worker import build_worker

pytestmark = pytest.mark.asyncio(loop_scope="module")

QUEUE = "ca-tests-models"
ENV_KEYS = ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL")


@dataclass
class Verdict:
    label: str
    urgent: bool


VERDICT = Reasoner("md_verdict", "anthropic:claude-haiku-4-5", system="Triage.", reply=Verdict)
PLAIN = Reasoner("md_plain", "anthropic:claude-haiku-4-5")
CTL = Reasoner("md_ctl", "openai:gpt-4o-mini", system="Resolve.")
RAN: list[str] = []


@tool(name="md_lookup", effect="read", idempotent=True)
def md_lookup(ticket: str) -> dict[str, str]:
    """Look up a ticket."""
    RAN.append(ticket)
    return {"ticket": ticket, "queue": "billing"}


@pytest.fixture(scope="module")
def shared_llm_server() -> Iterator[LLMServer]:
    """One local LLM server for the module's worker; each test resets its script."""
    server = LLMServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(ca_dev_server: DevServer, shared_llm_server: LLMServer) -> AsyncIterator[Any]:
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    os.environ.update(
        {
            "ANTHROPIC_API_KEY": "env-key",
            "ANTHROPIC_BASE_URL": shared_llm_server.anthropic_url,
            "OPENAI_API_KEY": "env-key",
            "OPENAI_BASE_URL": shared_llm_server.openai_url,
        }
    )
    try:
        c = await ca_dev_server.client()  # the plugin's session dev server
        async with build_worker(c, task_queue=QUEUE):  # no llm=: the worker uses router() from the environment
            yield c
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def server(shared_llm_server: LLMServer) -> LLMServer:
    shared_llm_server.reset()
    RAN.clear()
    return shared_llm_server


async def _run(deployment: Any, client: Any, value: Any) -> Any:
    return await run_deployment(deployment, client, session_id=f"md-{uuid.uuid4().hex[:10]}", input=value, task_queue=QUEUE)


async def test_structured_reply_with_a_re_ask_runs_durably(client: Any, server: LLMServer) -> None:
    server.script(
        "anthropic",
        anthropic_tool(("reply", {"label": "billing"})),
        anthropic_tool(("reply", {"label": "billing", "urgent": True}), input_tokens=40, cache_read=8),
    )
    result = await _run(deploy(think(VERDICT)), client, "charged twice")
    assert result.status == "ok", result.detail
    assert result.raw_value == {"label": "billing", "urgent": True}
    assert server.requests[0].headers.get("authorization", "").endswith("env-key") or server.requests[0].headers.get("x-api-key") == "env-key"
    follow = server.bodies("anthropic")[1]["messages"][-1]["content"][0]
    assert follow["type"] == "tool_result" and "$.urgent" in follow["content"]
    event = next(e for e in result.projection.events if e["label"] == "md_verdict")
    assert event["provider"] == "anthropic" and event["usage"]["calls"] == 2
    assert event["usage"]["cache_read_tokens"] == 8 and event["usage"]["tokens"] == 15 + 53


async def test_agent_tool_use_with_an_ungranted_tool_runs_durably(client: Any, server: LLMServer) -> None:
    agent = Agent("md.agent", reasoner=CTL, tools=[md_lookup], max_rounds=4)
    server.script(
        "openai",
        openai_tool(("md_wire_money", {"amount": 10})),
        openai_tool(("md_lookup", {"input": "T-1"})),
        openai_tool(("finish", {"value": {"resolved": "T-1"}})),
    )
    result = await _run(agent.deploy(), client, "T-1")
    assert result.status == "ok", result.detail
    assert result.raw_value == {"resolved": "T-1"}
    assert RAN == ["T-1"]
    assert [(e["status"], e["action"].get("tool")) for e in agent_trace(result)] == [
        ("denied", "md_wire_money"),
        ("ok", "md_lookup"),
        ("ok", None),
    ]
    offered = [t["function"]["name"] for t in server.bodies("openai")[0]["tools"]]
    assert sorted(offered) == ["escalate", "finish", "md_lookup"]


async def test_a_provider_error_fails_the_run_without_retries(client: Any, server: LLMServer) -> None:
    server.script("anthropic", error("anthropic", 401, "authentication_error", "invalid x-api-key"))
    result = await _run(deploy(think(PLAIN, ann=Ann(max_attempts=4, retry_interval_s=0.05))), client, "x")
    assert result.status == "failed"
    assert result.detail["error"] == "ProviderError"  # the activity's non-retryable application error type
    assert len(server.requests) == 1


async def test_retry_after_is_the_next_activity_retry_delay(client: Any, server: LLMServer) -> None:
    server.script(
        "anthropic",
        error("anthropic", 429, "rate_limit_error", "slow down", retry_after=1.5),
        anthropic_text("after the wait"),
    )
    sid = f"md-retry-{uuid.uuid4().hex[:8]}"
    flow = think(PLAIN, ann=Ann(max_attempts=3, retry_interval_s=0.05))
    result = await run_deployment(deploy(flow), client, session_id=sid, input="x", task_queue=QUEUE)
    assert result.status == "ok", result.detail
    assert result.raw_value == "after the wait"
    first, second = server.requests
    assert second.at - first.at >= 1.4  # the 1.5 s Retry-After, not the 50 ms retry interval
    history = await client.get_workflow_handle(sid).fetch_history()
    started = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED]
    assert started and started[-1].activity_task_started_event_attributes.attempt == 2


async def test_a_worker_refuses_hosted_reasoners_it_cannot_serve(client: Any) -> None:
    unconfigured = router(anthropic=AnthropicProvider(api_key=""))  # an empty key is no key
    hosted = deploy(think(PLAIN) >> think(Reasoner("md_bare", "llama-3")))
    with pytest.raises(ModelNotConfigured) as info:
        build_worker(client, task_queue=QUEUE + "-refused", llm=unconfigured, deployments=[hosted])
    assert sorted(info.value.missing) == ["md_bare", "md_plain"]
