"""``http_tool`` leaves on a Temporal worker: the same key on every attempt, Retry-After as the
next retry delay, 4xx not retried, and no secret from ``headers_env`` in the artifact or history."""

from __future__ import annotations

import json
import uuid
from typing import Any, TypedDict

import pytest

pytest.importorskip("temporalio", reason="durable runs need temporalio: pip install 'composable-agents[temporal]'")

from http_fixtures import HttpServer

from composable_agents import ExecutionPolicy, deploy, pure
from composable_agents.integrations.http import http_tool
from composable_agents.temporal.artifact import artifact_json
from composable_agents.temporal.client import run_deployment
from composable_agents.temporal.worker import build_worker

SECRET = "sk-durable-weather-0123456789abcdef"
TOKEN_VAR = "CA_HTTP_DURABLE_TOKEN"


class City(TypedDict):
    city: str


class Forecast(TypedDict):
    city: str
    temp: int


@pure("http_durable.temp")
def temp_of(value: Forecast) -> int:
    return value["temp"]


async def _no_llm(reasoner: Any, value: Any) -> Any:
    raise AssertionError("no reasoner runs in these tests")


def _sid(name: str) -> str:
    return f"http-{name}-{uuid.uuid4().hex[:8]}"


async def test_http_tools_on_a_worker(
    ca_dev_server: Any, http_server: HttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_VAR, SECRET)
    base = http_server.base
    weather = http_tool("http_durable.weather", f"{base}/weather", input=City, output=Forecast,
                        headers_env={"Authorization": TOKEN_VAR})
    limited = http_tool("http_durable.limited", f"{base}/limited", input=City, output=Forecast)
    bad = http_tool("http_durable.bad", f"{base}/bad", input=City, output=Forecast)
    caps = {"network": ["127.0.0.1"]}
    deps = {
        "weather": deploy(weather >> temp_of, tools=[weather], capabilities=caps),
        # a short retry interval, so only Retry-After can explain a 1 s gap between the attempts
        "limited": deploy(limited, tools=[limited], capabilities=caps, policy=ExecutionPolicy(initial_interval_s=0.05)),
        "bad": deploy(bad, tools=[bad], capabilities=caps),
    }
    client = await ca_dev_server.client()
    queue = f"ca-http-{uuid.uuid4().hex[:8]}"
    sids = {name: _sid(name) for name in deps}
    results = {}
    # the worker runs the tools it has in its process (this module registered them), like any @tool
    async with build_worker(client, task_queue=queue, llm=_no_llm):
        for name, dep in deps.items():
            results[name] = await run_deployment(dep, client, session_id=sids[name], input={"city": "Oslo"},
                                                 task_queue=queue, principal={"tenant": "acme"})

    assert results["weather"].status == "ok", results["weather"].detail
    assert results["weather"].value == 21
    (sent,) = [e for e in http_server.requests("/weather") if e["headers"]["idempotency-key"] == f"{sids['weather']}:$.0"]
    assert sent["headers"]["authorization"] == SECRET  # read from the worker's environment at call time
    assert json.loads(sent["headers"]["x-principal"]) == {"tenant": "acme"}

    assert results["limited"].status == "ok", results["limited"].detail
    tries = [e for e in http_server.requests("/limited") if e["headers"]["idempotency-key"] == f"{sids['limited']}:$"]
    assert len(tries) == 2
    assert tries[1]["t"] - tries[0]["t"] >= 0.9  # Retry-After: 1 was the next retry delay

    assert results["bad"].status == "failed"
    assert "ToolRejected" in json.dumps(results["bad"].detail)
    assert len([e for e in http_server.requests("/bad") if e["headers"]["idempotency-key"].startswith(sids["bad"])]) == 1

    # the secret is in neither the artifact nor the workflow history
    artifact = json.dumps(artifact_json(deps["weather"]))
    assert f"{base}/weather" in artifact and f"env://{TOKEN_VAR}" in artifact
    assert SECRET not in artifact
    history = await client.get_workflow_handle(sids["weather"]).fetch_history()
    assert SECRET not in history.to_json()
