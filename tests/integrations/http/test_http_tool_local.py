"""``http_tool`` leaves in local runs against the real stdlib test server on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any, TypedDict

import pytest
from http_fixtures import HttpServer

from composable_agents import Agent, call, deploy, flow, pure
from composable_agents.errors import (
    CapabilityDenied,
    CompositionError,
    StepTypeError,
    ToolRejected,
    ToolUnavailable,
    ValidationError,
)
from composable_agents.integrations.http import HttpToolDef, http_tool, retry_after_seconds


class City(TypedDict):
    city: str


class Forecast(TypedDict):
    city: str
    temp: int


SECRET = "sk-weather-test-0123456789abcdef"
TOKEN_VAR = "CA_HTTP_TEST_WEATHER_TOKEN"


def _tools(base: str) -> dict[str, Any]:
    return {
        "weather": http_tool(
            "http_local.weather", f"{base}/weather", input=City, output=Forecast,
            headers_env={"Authorization": TOKEN_VAR},
        ),
        "flaky": http_tool("http_local.flaky", f"{base}/flaky", input=City, output=Forecast),
        "limited": http_tool("http_local.limited", f"{base}/limited", input=City, output=Forecast),
        "bad": http_tool("http_local.bad", f"{base}/bad", input=City, output=Forecast),
        "wrong": http_tool("http_local.wrong", f"{base}/wrong", input=City, output=Forecast),
        "down": http_tool("http_local.down", f"{base}/down", effect="write", input=City, output=Forecast),
        "down_idem": http_tool(
            "http_local.flaky_write", f"{base}/flaky", effect="write", idempotent=True, input=City, output=Forecast
        ),
        "search": http_tool("http_local.search", f"{base}/search", method="GET"),
    }


@pytest.fixture(scope="module")
def tools(http_server: HttpServer) -> dict[str, Any]:
    return _tools(http_server.base)


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(TOKEN_VAR, SECRET)
    return SECRET


def _keys(server: HttpServer, path: str, run_id: str) -> list[str]:
    return [e["headers"]["idempotency-key"] for e in server.requests(path) if e["headers"]["idempotency-key"].startswith(run_id)]


@pure("http_local.temp")
def temp_of(value: Forecast) -> int:
    return value["temp"]


def test_declaration_errors_are_typed() -> None:
    with pytest.raises(CompositionError, match="absolute http"):
        http_tool("x_rel", "/weather")
    with pytest.raises(CompositionError, match="credentials in the URL"):
        http_tool("x_cred", "https://user:pw@api.example.com/")
    with pytest.raises(CompositionError, match="method must be one of"):
        http_tool("x_verb", "https://api.example.com/", method="BREW")
    with pytest.raises(CompositionError, match="never the secret itself"):
        http_tool("x_secret", "https://api.example.com/", headers_env={"Authorization": "Bearer sk-live-abc"})
    with pytest.raises(CompositionError, match="without '/'"):
        http_tool("a/b", "https://api.example.com/")


def test_the_frozen_definition_holds_the_url_and_env_names_never_the_secret(
    tools: dict[str, Any], token: str, http_server: HttpServer
) -> None:
    weather = tools["weather"]
    assert isinstance(weather.definition, HttpToolDef)
    dep = deploy(weather, tools=[weather])
    entry = dep.manifest_json["tools"]["http_local.weather"]["definition"]
    assert entry["http"] == {
        "url": f"{http_server.base}/weather",
        "method": "POST",
        "timeoutS": 30.0,
        "headersEnv": {"Authorization": f"env://{TOKEN_VAR}"},
    }
    assert entry["contract"]["effect"] == "read"
    assert entry["contract"]["outputSchema"]["properties"]["temp"] == {"type": "integer"}
    everything = json.dumps([dep.flow_json, dep.manifest_json, dep.capabilities_json, dep.artifact_hash])
    assert token not in everything
    # another URL is another tool: the definition hash moves with the endpoint
    moved = http_tool("http_local.weather_moved", f"{http_server.base}/weather2", input=City, output=Forecast)
    assert moved.definition.definition_hash() != weather.definition.definition_hash()


def test_a_local_run_sends_the_key_the_env_header_and_the_principal(
    tools: dict[str, Any], token: str, http_server: HttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    dep = deploy(tools["weather"] >> temp_of, tools=[tools["weather"]])
    result = dep.dry_run({"city": "Oslo"}, run_id="h-local", principal={"tenant": "acme"})
    assert result.status == "ok", result.detail
    assert result.value == 21
    (req,) = [e for e in http_server.requests("/weather") if e["headers"]["idempotency-key"] == "h-local:$.0"]
    assert req["body"] == {"city": "Oslo"}
    assert req["headers"]["authorization"] == token
    assert json.loads(req["headers"]["x-principal"]) == {"tenant": "acme"}
    # the header is read at call time: a rotated secret is used by the next run, no redeploy
    monkeypatch.setenv(TOKEN_VAR, "rotated-value")
    assert dep.dry_run({"city": "Oslo"}, run_id="h-rotated").status == "ok"
    (again,) = [e for e in http_server.requests("/weather") if e["headers"]["idempotency-key"] == "h-rotated:$.0"]
    assert again["headers"]["authorization"] == "rotated-value"


def test_a_missing_environment_variable_fails_before_any_request(
    tools: dict[str, Any], http_server: HttpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_VAR, raising=False)
    result = deploy(tools["weather"], tools=[tools["weather"]]).dry_run({"city": "x"}, run_id="h-noenv")
    assert result.status == "failed"
    assert isinstance(result.error, CapabilityDenied)
    assert TOKEN_VAR in str(result.error)
    assert _keys(http_server, "/weather", "h-noenv") == []


@pytest.mark.parametrize(("name", "path", "wait_s"), [("flaky", "/flaky", 7.0), ("limited", "/limited", 1.0)])
def test_503_and_429_are_retried_after_retry_after_with_the_same_key(
    tools: dict[str, Any], http_server: HttpServer, name: str, path: str, wait_s: float
) -> None:
    dep = deploy(tools[name], tools=[tools[name]])
    result = dep.dry_run({"city": "Rome"}, run_id=f"h-{name}")
    assert result.status == "ok", result.detail
    assert result.value["city"] == "Rome"
    assert _keys(http_server, path, f"h-{name}") == [f"h-{name}:$", f"h-{name}:$"]
    (event,) = [e for e in result.projection.events if e.get("label") == f"http_local.{name}"]
    assert event["endedAt"] - event["startedAt"] >= wait_s * 1000  # the virtual clock waited Retry-After


def test_other_4xx_wrong_bodies_and_lost_writes_are_not_retried(tools: dict[str, Any], http_server: HttpServer) -> None:
    bad = deploy(tools["bad"], tools=[tools["bad"]]).dry_run({"city": "x"}, run_id="h-bad")
    assert bad.status == "failed"
    assert isinstance(bad.error, ToolRejected) and bad.error.status == 400
    assert _keys(http_server, "/bad", "h-bad") == ["h-bad:$"]

    wrong = deploy(tools["wrong"], tools=[tools["wrong"]]).dry_run({"city": "x"}, run_id="h-wrong")
    assert wrong.status == "failed"
    assert isinstance(wrong.error, StepTypeError)
    assert wrong.error.path in ("$.city", "$.temp")

    down = deploy(tools["down"], tools=[tools["down"]]).dry_run({"city": "x"}, run_id="h-down")
    assert down.status == "failed"
    assert isinstance(down.error, ToolUnavailable)
    assert _keys(http_server, "/down", "h-down") == ["h-down:$"]  # a write/none call gets one attempt

    # an asserted idempotent write may retry, with the same key
    idem = deploy(tools["down_idem"], tools=[tools["down_idem"]]).dry_run({"city": "Pisa"}, run_id="h-idem")
    assert idem.status == "ok", idem.detail
    assert _keys(http_server, "/flaky", "h-idem") == ["h-idem:$", "h-idem:$"]


def test_get_sends_the_input_as_query_parameters(tools: dict[str, Any], http_server: HttpServer) -> None:
    result = deploy(call(tools["search"]), tools=[tools["search"]]).dry_run({"q": "owl"}, run_id="h-get")
    assert result.status == "ok", result.detail
    assert result.value == {"q": "owl", "hits": ["owl-1", "owl-2"]}
    (req,) = [e for e in http_server.requests("/search") if e["headers"]["idempotency-key"] == "h-get:$"]
    assert req["method"] == "GET" and req["query"] == {"q": "owl"}


async def test_flow_body_agent_and_arun(tools: dict[str, Any], token: str, http_server: HttpServer) -> None:
    weather = tools["weather"]

    @flow
    def forecast(c: City) -> int:
        return temp_of(weather(c))

    result = await deploy(forecast, tools=[weather]).arun({"city": "Bergen"}, run_id="h-flow")
    assert result.status == "ok", result.detail
    assert result.value == 21

    agent = Agent("http_local.agent", tools=[weather], max_rounds=3)
    replies = iter([{"action": "call", "tool": "http_local.weather", "input": {"city": "Lima"}},
                    {"action": "finish", "value": "sunny"}])
    seen: list[Any] = []

    def controller(value: Any) -> Any:
        seen.append(value)
        return next(replies)

    run = await agent.arun("go", reasoners={agent.controller: controller}, run_id="h-agent")
    assert run.status == "ok", run.detail
    assert seen[1]["last"] == {"city": "Lima", "temp": 21}
    assert any(e["body"] == {"city": "Lima"} for e in http_server.requests("/weather"))


def test_network_grants_gate_the_endpoint_host(tools: dict[str, Any]) -> None:
    weather = tools["weather"]
    with pytest.raises(ValidationError, match="NETWORK_DENIED"):
        deploy(weather, tools=[weather], capabilities={"network": ["api.other.example"]})
    with pytest.raises(ValidationError, match="NETWORK_DENIED"):
        deploy(weather, tools=[weather], capabilities={"network": []})
    assert not deploy(weather, tools=[weather], capabilities={"network": ["127.0.0.1"]}).blocking
    with pytest.warns(Warning, match="dev-mode"):
        dev = deploy(weather, tools=[weather], capabilities={"network": []}, mode="dev")
    assert [d.code for d in dev.prod_gap] == ["NETWORK_DENIED"]


def test_a_direct_call_runs_the_request(tools: dict[str, Any], token: str) -> None:
    assert tools["weather"]({"city": "Turku"}) == {"city": "Turku", "temp": 21}


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412480.0 - 30) == 30.0
    assert retry_after_seconds("999999") == 3600.0
