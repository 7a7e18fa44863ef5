"""SPEC §22.2: numbers from outside are checked.

Reported usage must be finite and non-negative (else ``InvalidUsage``, a
typed non-retryable error, nothing credited); a bound call is charged at
least the tool's declared cost; retries are charged per attempt; concurrent
reservations cover ``server/*`` grants and agent branches.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from composable_agents import (
    Ann,
    Reasoner,
    call,
    deploy,
    mcp,
    par,
    seq,
    snapshot_from_listings,
    think,
    tool,
)
from composable_agents.agents.agent import Agent
from composable_agents.errors import InvalidUsage
from composable_agents.execution.interpreter import split_usage

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TRUST_USAGE = Reasoner("trust_usage_r", "fake")
BAD_VALUES: list[Any] = [-1, -0.5, math.nan, math.inf, -math.inf, "5", True, False, None, [1], {"n": 1}]


@pytest.mark.parametrize("field", ["tokens", "cost", "input_tokens", "output_tokens"])
@pytest.mark.parametrize("bad", BAD_VALUES, ids=repr)
def test_split_usage_rejects_untrusted_numbers(field: str, bad: Any) -> None:
    if bad is None:
        return  # an absent/None field is simply not reported
    with pytest.raises(InvalidUsage, match=field):
        split_usage({"text": "hi", "__usage__": {field: bad}})


def test_split_usage_accepts_good_numbers() -> None:
    value, usage = split_usage({"__value__": "ok", "__usage__": {"input_tokens": 3, "output_tokens": 4, "cost": 0.25}})
    assert value == "ok"
    assert usage is not None and usage["tokens"] == 7 and usage["cost"] == 0.25
    with pytest.raises(InvalidUsage):
        split_usage({"__value__": "ok", "__usage__": "lots"})


def test_reasoner_reporting_negative_cost_fails_and_credits_nothing() -> None:
    caps = {"budget": {"cost": 1.0, "tokens": 10_000}}
    flow = seq(think(TRUST_USAGE, ann=Ann(cost_usd=0.1)), think(TRUST_USAGE, ann=Ann(cost_usd=0.1)))
    d = deploy(flow, capabilities=caps, mode="dev")
    result = d.dry_run("x", reasoners={"trust_usage_r": lambda v: {"__value__": v, "__usage__": {"tokens": 5, "cost": -200}}})
    assert result.status == "failed"
    assert result.detail is not None and result.detail["error"] == "InvalidUsage"
    assert result.usage is not None and result.usage["cost"] >= 0.1 - 1e-9  # the estimate stays charged, nothing refunded


@tool(name="trust_usage_lookup", effect="read", idempotent=True, ann=Ann(cost_usd=0.1))
def trust_usage_lookup(q: Any) -> Any:
    return {"q": q}


@pytest.mark.parametrize("bad", [-5, math.nan, "3", True, -0.01], ids=repr)
def test_controller_reporting_bad_usage_cannot_disable_the_budget(bad: Any) -> None:
    agent = Agent("trust.usage.ctrl", tools=[trust_usage_lookup], max_rounds=50, budget={"cost": 1.0})
    n = {"calls": 0}

    def ctrl(view: Any) -> Any:
        n["calls"] += 1
        return {"action": "call", "tool": "trust_usage_lookup", "input": "q", "__usage__": {"tokens": 10, "cost": bad}}

    result = agent.run("x", reasoners={agent.controller: ctrl})
    assert result.status == "failed"
    assert result.detail is not None and result.detail["error"] == "InvalidUsage"
    assert n["calls"] == 1


@tool(name="trust_usage_pricey", effect="read", idempotent=True, ann=Ann(cost_usd=0.4))
def trust_usage_pricey(q: Any) -> Any:
    return q


def test_call_is_charged_the_tools_declared_cost_even_when_annotated_lower() -> None:
    caps = {"budget": {"cost": 1.0}}
    flow = seq(*[call(trust_usage_pricey, ann=Ann(cost_usd=0.0)) for _ in range(3)])
    result = deploy(flow, capabilities=caps).dry_run("q")
    assert result.status == "over_budget"  # 3 x 0.4 > 1.0: the lower annotation does not discount it


FLAKY: dict[str, int] = {}


@tool(name="trust_usage_flaky", effect="read", idempotent=True, ann=Ann(max_attempts=5, retry_interval_s=0.01))
def trust_usage_flaky(q: Any, *, idempotency_key: str) -> Any:
    FLAKY[idempotency_key] = FLAKY.get(idempotency_key, 0) + 1
    if FLAKY[idempotency_key] < 5:
        raise ConnectionError("transient")
    return q


def test_retries_are_charged_per_attempt() -> None:
    FLAKY.clear()
    caps = {"tools": [{"name": "trust_usage_flaky", "maxCalls": 3}]}
    result = deploy(trust_usage_flaky, capabilities=caps).dry_run("q")
    assert result.status == "over_budget"
    assert sum(FLAKY.values()) == 3  # the fourth attempt was refused before it ran
    FLAKY.clear()
    roomy = deploy(trust_usage_flaky, capabilities={"tools": [{"name": "trust_usage_flaky", "maxCalls": 5}]})
    ok = roomy.dry_run("q")
    assert ok.status == "ok"
    assert ok.detail is None
    assert sum(FLAKY.values()) == 5


SNAP = snapshot_from_listings({"trustsrv": {"a": {"inputSchema": {}}, "b": {"inputSchema": {}}}})


def test_par_is_not_refused_what_the_sequence_allows_under_a_wildcard_grant() -> None:
    caps = {"tools": [{"name": "trustsrv/*", "effect": "read", "idempotency": "native", "maxCalls": 2}]}
    fakes = {"trustsrv/a": lambda v: v, "trustsrv/b": lambda v: v}
    a, b = call(mcp("trustsrv", "a")), call(mcp("trustsrv", "b"))
    in_seq = deploy(seq(a, b, a, b), SNAP, capabilities=caps).dry_run(1, tools=fakes)
    assert in_seq.status == "ok"
    in_par = deploy(par(seq(a, b), seq(a, b)), SNAP, capabilities=caps).dry_run(1, tools=fakes)
    assert in_par.status == "ok", in_par.detail
    over = deploy(par(seq(a, a), seq(a, b)), SNAP, capabilities=caps).dry_run(1, tools=fakes)
    assert over.status == "over_budget"


def test_par_of_agents_is_not_refused_what_the_sequence_allows() -> None:
    caps = {"tools": [{"name": "trust_usage_lookup", "maxCalls": 4}], "budget": {"cost": 10.0}}
    one = Agent("trust.usage.par.a", tools=[trust_usage_lookup], max_rounds=5)
    two = Agent("trust.usage.par.b", tools=[trust_usage_lookup], max_rounds=5)

    def ctrl(view: Any) -> Any:
        if len(view["trace"]) < 2:
            return {"action": "call", "tool": "trust_usage_lookup", "input": "q"}
        return {"action": "finish", "value": len(view["trace"])}

    fakes = {one.controller: ctrl, two.controller: ctrl}
    in_seq = deploy(seq(one, two), capabilities=caps).dry_run("x", reasoners=fakes)
    assert in_seq.status == "ok", in_seq.detail
    in_par = deploy(par(one, two), capabilities=caps).dry_run("x", reasoners=fakes)
    assert in_par.status == "ok", in_par.detail
    assert in_par.value == [2, 2]


FLAKY_REPLIES: dict[str, int] = {}
TRUST_FLAKY_R = Reasoner("trust_usage_flaky_r", "fake")


def _flaky_reasoner(value: Any) -> Any:
    FLAKY_REPLIES["n"] = FLAKY_REPLIES.get("n", 0) + 1
    if FLAKY_REPLIES["n"] < 5:
        raise ConnectionError("transient")
    return value


def test_reasoner_retries_are_charged_per_attempt() -> None:
    step = think(TRUST_FLAKY_R, ann=Ann(max_attempts=5, cost_usd=0.1))
    FLAKY_REPLIES.clear()
    tight = deploy(step, reasoners=[TRUST_FLAKY_R], capabilities={"budget": {"cost": 0.35}})
    result = tight.dry_run("q", reasoners={"trust_usage_flaky_r": _flaky_reasoner})
    assert result.status == "over_budget"
    assert FLAKY_REPLIES["n"] == 3  # 3 x 0.1 charged; the fourth attempt (0.4 > 0.35) never started
    FLAKY_REPLIES.clear()
    roomy = deploy(step, reasoners=[TRUST_FLAKY_R], capabilities={"budget": {"cost": 0.55}})
    ok = roomy.dry_run("q", reasoners={"trust_usage_flaky_r": _flaky_reasoner})
    assert ok.status == "ok" and ok.raw_value == "q"
    assert FLAKY_REPLIES["n"] == 5
    assert ok.usage is not None and ok.usage["cost"] == pytest.approx(0.5)  # the ledger charged all five
