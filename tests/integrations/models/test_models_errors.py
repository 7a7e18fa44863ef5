"""Provider errors mapped to the taxonomy, Retry-After, fallback, the breaker and ModelNotConfigured."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
from llm_server import LLMServer, Response, anthropic_text, error, openai_text

from composable_agents import deploy, think, tool
from composable_agents.agents.agent import Agent
from composable_agents.authoring.leaves import Reasoner
from composable_agents.core.ir import Ann
from composable_agents.errors import (
    ComposableAgentsError,
    ModelNotConfigured,
    ProviderError,
    ProviderRefusal,
    ProviderUnavailable,
)
from composable_agents.execution.env import current_env
from composable_agents.execution.resilience import CircuitBreaker, CircuitOpen
from composable_agents.integrations.models import AnthropicProvider, OpenAIProvider, Router, router

A = Reasoner("me_a", "anthropic:claude-haiku-4-5")
O = Reasoner("me_o", "openai:gpt-4o-mini")
RETRY = Ann(max_attempts=3, retry_interval_s=1.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _providers(server: LLMServer, **kw: Any) -> dict[str, Any]:
    return {
        "anthropic": AnthropicProvider(api_key="k", base_url=server.anthropic_url),
        "openai": OpenAIProvider(api_key="k", base_url=server.openai_url),
        **kw,
    }


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
@pytest.mark.parametrize("api", ["anthropic", "openai"])
def test_request_errors_are_provider_errors_and_never_retried(llm_server: LLMServer, llm: Router, api: str, status: int) -> None:
    reasoner = A if api == "anthropic" else O
    llm_server.script(api, error(api, status, "invalid_request_error", f"bad thing {status}"), anthropic_text("never"))
    result = deploy(think(reasoner, ann=RETRY)).dry_run("x", llm=llm)
    assert result.status == "failed"
    err = result.error
    assert isinstance(err, ProviderError) and err.non_retryable
    assert (err.status, err.type, err.message) == (status, "invalid_request_error", f"bad thing {status}")
    assert err.provider == api
    assert len(llm_server.requests) == 1


@pytest.mark.parametrize("status", [408, 409, 429, 500, 503, 529])
async def test_transient_statuses_are_provider_unavailable(llm_server: LLMServer, llm: Router, status: int) -> None:
    llm_server.script("anthropic", error("anthropic", status, "overloaded_error", "busy"))
    with pytest.raises(ProviderUnavailable) as info:
        await llm(A, "x")
    assert info.value.status == status and not info.value.non_retryable
    assert "busy" in str(info.value)


def test_retry_after_is_the_local_delay_before_the_next_attempt(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script(
        "anthropic",
        error("anthropic", 429, "rate_limit_error", "slow down", retry_after=7),
        anthropic_text("finally"),
    )
    times: list[float] = []

    async def timed(reasoner: Any, value: Any) -> Any:
        times.append(current_env().now())
        return await llm(reasoner, value)

    result = deploy(think(A, ann=RETRY)).dry_run("x", llm=timed)
    assert result.value == "finally"
    assert len(times) == 2 and times[1] - times[0] == pytest.approx(7.0)  # not the 1 s retry interval


async def test_retry_after_parses_seconds_and_is_carried(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("openai", error("openai", 503, "server_error", "later", retry_after=2.5))
    with pytest.raises(ProviderUnavailable) as info:
        await llm(O, "x")
    assert info.value.retry_after_s == 2.5


async def test_connection_refused_and_timeouts_are_transient(llm_server: LLMServer) -> None:
    dead = router(anthropic=AnthropicProvider(api_key="k", base_url=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(ProviderUnavailable, match="connection failed"):
        await dead(A, "x")
    release = threading.Event()

    def slow(api: str, body: Any) -> Response:
        release.wait(5)
        return openai_text("late")

    llm_server.responder = slow
    try:
        hasty = router(openai=OpenAIProvider(api_key="k", base_url=llm_server.openai_url, timeout_s=0.2))
        with pytest.raises(ProviderUnavailable, match="timed out"):
            await hasty(O, "x")
    finally:
        release.set()


async def test_refusals_are_provider_refusals(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("anthropic", anthropic_text("I can't help with that.", stop="refusal"))
    with pytest.raises(ProviderRefusal, match="refused") as info:
        await llm(A, "x")
    assert info.value.non_retryable and info.value.provider == "anthropic"
    llm_server.script("openai", openai_text("", refusal="I won't do that."))
    with pytest.raises(ProviderRefusal, match="I won't do that"):
        await llm(O, "x")


def test_fallback_on_a_transient_error_is_recorded_on_the_event(llm_server: LLMServer) -> None:
    llm = router(**_providers(llm_server), fallback={"anthropic:claude-haiku-4-5": ["openai:gpt-4o-mini"]})
    llm_server.script("anthropic", error("anthropic", 529, "overloaded_error", "overloaded"))
    llm_server.script("openai", openai_text("from openai"))
    result = deploy(think(A)).dry_run("x", llm=llm)
    assert result.value == "from openai"
    assert [r.api for r in llm_server.requests] == ["anthropic", "openai"]
    assert llm_server.bodies("openai")[0]["model"] == "gpt-4o-mini"
    event = next(e for e in result.projection.events if e["label"] == "me_a")
    assert event["provider"] == "openai" and event["model"] == "gpt-4o-mini"
    assert event["fallback"] == {"from": "anthropic:claude-haiku-4-5", "to": "openai:gpt-4o-mini"}


async def test_no_fallback_for_a_provider_error(llm_server: LLMServer) -> None:
    llm = router(**_providers(llm_server), fallback={"anthropic:claude-haiku-4-5": ["openai:gpt-4o-mini"]})
    llm_server.script("anthropic", error("anthropic", 400, "invalid_request_error", "bad"))
    with pytest.raises(ProviderError):
        await llm(A, "x")
    assert [r.api for r in llm_server.requests] == ["anthropic"]


async def test_the_breaker_opens_per_provider(llm_server: LLMServer) -> None:
    now = [0.0]
    template = CircuitBreaker(failure_threshold=2, reset_after_s=30, clock=lambda: now[0])
    llm = router(**_providers(llm_server), breaker=template)
    llm_server.script("anthropic", *[error("anthropic", 503, "api_error", "down")] * 2)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            await llm(A, "x")
    with pytest.raises(CircuitOpen):
        await llm(A, "x")
    assert len(llm_server.requests) == 2  # the open circuit made no request
    llm_server.script("openai", openai_text("openai is fine"))
    assert (await llm(O, "x"))["__value__"] == "openai is fine"  # its own breaker, still closed
    now[0] = 31.0  # half-open: one trial call closes it again
    llm_server.script("anthropic", anthropic_text("back"))
    assert (await llm(A, "x"))["__value__"] == "back"
    assert template.failures == 0  # each provider got a copy


async def test_an_open_breaker_moves_straight_to_the_fallback(llm_server: LLMServer) -> None:
    breakers = {"anthropic": CircuitBreaker(failure_threshold=1, reset_after_s=60)}
    llm = router(**_providers(llm_server), fallback={"anthropic:claude-haiku-4-5": ["openai:gpt-4o-mini"]}, breaker=breakers)
    llm_server.script("anthropic", error("anthropic", 500, "api_error", "down"))
    llm_server.script("openai", openai_text("one"), openai_text("two"))
    assert (await llm(A, "x"))["__value__"] == "one"
    assert breakers["anthropic"].state == "open"
    assert (await llm(A, "x"))["__value__"] == "two"
    assert [r.api for r in llm_server.requests] == ["anthropic", "openai", "openai"]


MNC_CALLS: list[str] = []


@tool(name="me_first", effect="read", idempotent=True)
def me_first(value: str) -> str:
    MNC_CALLS.append(value)
    return value


def test_model_not_configured_lists_every_reasoner_before_the_first_step(monkeypatch: pytest.MonkeyPatch) -> None:
    MNC_CALLS.clear()
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "k")
    no_key = Reasoner("me_no_key", "anthropic:claude-haiku-4-5")
    no_prefix = Reasoner("me_no_prefix", "gpt-4o")
    unknown = Reasoner("me_unknown", "mistral:large")
    fine = Reasoner("me_fine", "openai:gpt-4o-mini")
    flow = me_first >> think(fine) >> think(no_key) >> think(no_prefix) >> think(unknown)
    with pytest.raises(ModelNotConfigured) as info:
        deploy(flow).dry_run("x", llm=router())
    assert sorted(info.value.missing) == ["me_no_key", "me_no_prefix", "me_unknown"]
    text = str(info.value)
    assert "ANTHROPIC_API_KEY" in text and "names no provider" in text and "unknown provider 'mistral'" in text
    assert MNC_CALLS == []  # nothing ran
    assert isinstance(info.value, LookupError) and info.value.non_retryable
    # a fake for the unconfigured ones is enough
    fakes = {n: (lambda v: "faked") for n in ("me_no_key", "me_no_prefix", "me_unknown", "me_fine")}
    assert deploy(flow).dry_run("x", reasoners=fakes, llm=router()).value == "faked"


def test_an_agent_without_a_real_controller_model_is_not_configured() -> None:
    MNC_CALLS.clear()
    agent = Agent("me.bare", tools=[me_first])
    with pytest.raises(ModelNotConfigured, match="names no provider") as info:
        agent.run("x", llm=router(anthropic=AnthropicProvider(api_key="k")))
    assert list(info.value.missing) == [agent.controller]
    assert MNC_CALLS == []


def test_the_provider_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "env-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:1")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    provider = AnthropicProvider()
    assert provider.configured and provider.api_key == "env-key" and provider.base_url == "http://127.0.0.1:1"
    assert "env-key" not in repr(provider)
    assert not OpenAIProvider().configured
    assert OpenAIProvider(api_key="given").configured
    with pytest.raises(ValueError, match="timeout_s"):
        AnthropicProvider(timeout_s=0)
    with pytest.raises(ValueError, match="fallback"):
        router(fallback={"anthropic:m": ["cohere:x"]})


def test_errors_survive_pickling() -> None:
    import pickle

    for exc in (
        ProviderError(429, "rate_limit_error", "slow", provider="anthropic", model="m"),
        ProviderRefusal("no", provider="openai", model="n"),
        ProviderUnavailable("later", provider="openai", model="n", status=503, retry_after_s=2.0),
        ModelNotConfigured({"r": "why"}),
    ):
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc)
        assert isinstance(back, ComposableAgentsError)
    assert pickle.loads(pickle.dumps(ProviderUnavailable("x", retry_after_s=2.0))).retry_after_s == 2.0


def test_importing_the_models_package_loads_no_sdk() -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import composable_agents.integrations.models as m\n"
        "m.router()\n"
        "print([n for n in ('anthropic', 'openai', 'genai_prices') if n in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"  # each SDK loads on its provider's first call
