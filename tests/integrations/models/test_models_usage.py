"""Real usage from the providers: tokens (with cache), cost from genai-prices, budgets, the projection."""

from __future__ import annotations

import pytest
from llm_server import LLMServer, anthropic_text, openai_text

from composable_agents import deploy, think
from composable_agents.authoring.leaves import Reasoner
from composable_agents.integrations.models import Router
from composable_agents.integrations.models._pricing import price
from composable_agents.integrations.models._wire import Usage

genai_prices = pytest.importorskip("genai_prices")

HAIKU = Reasoner("mu_haiku", "anthropic:claude-haiku-4-5", max_tokens=100)
MINI = Reasoner("mu_mini", "openai:gpt-4o-mini", max_tokens=100)
LOCAL = Reasoner("mu_local", "openai:my-local-llama")


def _table_price(provider: str, model: str, **counts: int) -> float:
    return float(genai_prices.calc_price(genai_prices.Usage(**counts), model, provider_id=provider).total_price)


def test_anthropic_usage_with_cache_tokens_and_cost_reach_the_event(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("anthropic", anthropic_text("hi", input_tokens=100, output_tokens=40, cache_read=1000, cache_write=200))
    result = deploy(think(HAIKU)).dry_run("x", llm=llm)
    event = next(e for e in result.projection.events if e["label"] == "mu_haiku")
    usage = event["usage"]
    # Anthropic's input_tokens excludes cache tokens; ours counts every prompt token
    assert usage["input_tokens"] == 1300 and usage["output_tokens"] == 40
    assert usage["cache_read_tokens"] == 1000 and usage["cache_write_tokens"] == 200
    assert usage["tokens"] == 1340
    expected = _table_price("anthropic", "claude-haiku-4-5", input_tokens=1300, output_tokens=40, cache_read_tokens=1000, cache_write_tokens=200)
    assert usage["cost"] == pytest.approx(expected)
    assert event["cost"] == pytest.approx(expected)
    assert event["provider"] == "anthropic" and event["model"] == "claude-haiku-4-5"
    assert "costUnknown" not in event and "fallback" not in event
    assert result.cost == pytest.approx(expected)


def test_openai_cached_tokens_are_counted(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("openai", openai_text("hi", prompt_tokens=2000, completion_tokens=10, cached_tokens=1500))
    result = deploy(think(MINI)).dry_run("x", llm=llm)
    usage = next(e for e in result.projection.events if e["label"] == "mu_mini")["usage"]
    assert (usage["input_tokens"], usage["cache_read_tokens"], usage["tokens"]) == (2000, 1500, 2010)
    assert usage["cost"] == pytest.approx(_table_price("openai", "gpt-4o-mini", input_tokens=2000, output_tokens=10, cache_read_tokens=1500))


def test_an_unknown_model_costs_zero_and_is_marked(llm_server: LLMServer, llm: Router) -> None:
    llm_server.script("openai", openai_text("local", model="my-local-llama"))
    result = deploy(think(LOCAL)).dry_run("x", llm=llm)
    event = next(e for e in result.projection.events if e["label"] == "mu_local")
    assert event["costUnknown"] is True and event["cost"] == 0.0
    assert event["usage"]["tokens"] == 15


def test_real_tokens_make_the_token_budget_refuse_the_next_call(llm_server: LLMServer, llm: Router) -> None:
    # Each call is estimated at max_tokens=100 before it runs and charged its real usage after.
    flow = think(HAIKU) >> think(HAIKU)
    caps = {"budget": {"tokens": 300}}
    llm_server.script("anthropic", anthropic_text("long answer", input_tokens=150, output_tokens=60))
    result = deploy(flow, capabilities=caps).dry_run("x", llm=llm)
    assert result.status == "over_budget"
    assert len(llm_server.requests) == 1  # 210 real + 100 estimated > 300: the second call never went out
    assert result.usage is not None and result.usage["tokens"] == 210
    # with small real usage both calls fit
    llm_server.reset()
    llm_server.script("anthropic", anthropic_text("a", input_tokens=20, output_tokens=5), anthropic_text("b", input_tokens=20, output_tokens=5))
    ok = deploy(flow, capabilities=caps).dry_run("x", llm=llm)
    assert ok.value == "b" and ok.usage is not None and ok.usage["tokens"] == 50


def test_flat_rate_fast_path_matches_the_table() -> None:
    for provider, model in (("anthropic", "claude-haiku-4-5"), ("openai", "gpt-4o-mini"), ("anthropic", "claude-sonnet-4-5")):
        usage = Usage(input_tokens=250_000, output_tokens=1200, cache_read_tokens=5000, cache_write_tokens=300)
        want = _table_price(provider, model, input_tokens=250_000, output_tokens=1200, cache_read_tokens=5000, cache_write_tokens=300)
        assert price(provider, model, usage) == pytest.approx(want)
    assert price("openai", "certainly-not-a-model", Usage(1, 1)) is None
