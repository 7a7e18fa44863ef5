"""maxCalls counters and the budget: checked before each spend, deterministic under concurrency."""

from __future__ import annotations

from typing import Any

import pytest

from composable_agents import Ann, Reasoner, call, deploy, each, par, seq, sub, think, tool
from composable_agents.execution.limits import INF, Estimate, Ledger, ledger_from_capabilities

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

calls: list[Any] = []


@tool(name="lim_t", effect="read")
def lim_t(x: Any) -> Any:
    calls.append(x)
    return x


@tool(name="lim_u", effect="read")
def lim_u(x: Any) -> Any:
    return x


def caps(max_calls: int | None = None, **budget: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": "lim_t", "effect": "read", "idempotency": "native"}
    if max_calls is not None:
        entry["maxCalls"] = max_calls
    out: dict[str, Any] = {
        "tools": [entry, {"name": "lim_u", "effect": "read"}],
        "reasoners": ["lim_r"],
    }
    if budget:
        out["budget"] = budget
    return out


def test_max_calls_refuses_before_the_extra_call() -> None:
    calls.clear()
    result = deploy(seq(lim_t, lim_t, lim_t), capabilities=caps(2), mode="dev").dry_run(1)
    assert result.status == "over_budget"
    assert result.detail is not None
    assert result.detail["limit"] == "maxCalls"
    assert result.detail["tool"] == "lim_t"
    assert len(calls) == 2  # the third call never ran
    assert result.usage == {"calls": {"lim_t": 2}, "cost": 0.0, "tokens": 0}


def test_within_limits_runs_and_reports_usage() -> None:
    result = deploy(seq(lim_t, lim_u, lim_t), capabilities=caps(2), mode="dev").dry_run(1)
    assert result.status == "ok"
    assert result.usage == {"calls": {"lim_t": 2, "lim_u": 1}, "cost": 0.0, "tokens": 0}


def test_cost_budget_is_checked_before_each_spend() -> None:
    calls.clear()
    priced = call(lim_t, ann=Ann(cost_usd=0.1))
    result = deploy(seq(priced, priced, priced), capabilities=caps(cost=0.25), mode="dev").dry_run(
        1
    )
    assert result.status == "over_budget"
    assert result.detail["limit"] == "cost"  # type: ignore[index]
    assert len(calls) == 2


def test_token_budget_uses_reported_usage() -> None:
    r = Reasoner("lim_r", model="m", max_tokens=100)
    flow = seq(think(r), think(r), think(r))
    d = deploy(flow, capabilities=caps(tokens=260), reasoners=[r], mode="dev")
    fake = lambda v: {"text": "ok", "__usage__": {"input_tokens": 40, "output_tokens": 40}}
    ok = d.dry_run("q", reasoners={"lim_r": fake})
    assert ok.status == "ok"  # before each call: used + estimate (100) <= 260
    assert ok.value == {"text": "ok"}
    assert ok.usage["tokens"] == 240  # type: ignore[index]
    heavy = lambda v: {"text": "ok", "__usage__": {"tokens": 120}}
    over = d.dry_run("q", reasoners={"lim_r": heavy})
    assert over.status == "over_budget"
    assert over.detail["limit"] == "tokens"  # type: ignore[index]


def test_wall_seconds_on_the_env_clock() -> None:
    from composable_agents.core.ir import CallStep, Prim

    nap = Prim(step=CallStep("__sleep__", args={"seconds": 10}))
    flow = seq(lim_t, nap, lim_t)
    assert deploy(flow, capabilities=caps(wallSeconds=60), mode="dev").dry_run(1).status == "ok"
    late = deploy(flow, capabilities=caps(wallSeconds=5), mode="dev").dry_run(1)
    assert late.status == "over_budget"
    assert late.detail["limit"] == "wallSeconds"  # type: ignore[index]


def test_concurrent_branches_reserve_in_branch_order() -> None:
    flow = par(lim_t, seq(lim_t, lim_t), lim_t)
    d = deploy(flow, capabilities=caps(3), mode="dev")
    outcomes = set()
    for seed in range(15):
        result = d.dry_run(1, seed=seed)
        outcomes.add((result.status, result.detail["limit"], result.detail["step"]))  # type: ignore[index]
    # quotas 1, 2, 0 in branch order: the third branch is always the one refused
    assert outcomes == {("over_budget", "maxCalls", "tool 'lim_t' at $.2")}


def test_each_items_reserve_in_item_order() -> None:
    d = deploy(each(lim_t, max_parallel=3), capabilities=caps(4), mode="dev")
    assert d.dry_run([1, 2, 3, 4]).status == "ok"
    steps = {d.dry_run([1, 2, 3, 4, 5], seed=s).detail["step"] for s in range(10)}  # type: ignore[index]
    assert steps == {"tool 'lim_t' at $.0[4]"}


def test_sub_gets_a_quota_and_returns_its_usage() -> None:
    child = seq(lim_t, lim_t).named("lim.child.v1")
    flow = seq(lim_t, sub(child), lim_u)
    d = deploy(flow, capabilities=caps(3), mode="dev")
    result = d.dry_run(1)
    assert result.status == "ok"
    assert result.usage["calls"] == {"lim_t": 3, "lim_u": 1}  # type: ignore[index]
    over = deploy(seq(lim_t, lim_t, sub(child)), capabilities=caps(3), mode="dev").dry_run(1)
    assert over.status == "over_budget"


# -- the ledger itself -------------------------------------------------------------------


def test_reserve_grants_bounded_first_then_splits_unbounded() -> None:
    ledger = Ledger(max_calls={"t": 5}, cost=1.0)
    kids = ledger.reserve(
        [
            Estimate({"t": 2}, 0.3),
            Estimate({"t": INF}, INF),
            Estimate({"t": 1}, 0.5),
            Estimate({"t": INF}, 0.1),
        ]
    )
    assert [k.max_calls["t"] for k in kids] == [2, 1, 1, 1]
    assert kids[0].cost_limit == pytest.approx(0.3)
    assert kids[2].cost_limit == pytest.approx(0.5)
    for kid in kids:
        ledger.absorb(kid)
    assert ledger.usage() == {"calls": {}, "cost": 0.0, "tokens": 0}


def test_ledger_from_capabilities_reads_the_manifest() -> None:
    assert ledger_from_capabilities(None) is None
    assert ledger_from_capabilities({"tools": [{"name": "x"}]}) is None
    ledger = ledger_from_capabilities(
        {
            "tools": [{"name": "x", "maxCalls": 2}],
            "budget": {"cost": 0.5, "tokens": 10, "wallSeconds": 3},
        },
        start=1.0,
        clock=lambda: 0.0,
    )
    assert ledger is not None
    assert ledger.max_calls == {"x": 2}
    assert (ledger.cost_limit, ledger.token_limit, ledger.deadline) == (0.5, 10, 4.0)


def test_a_remote_sub_receives_its_quota_and_reports_usage() -> None:
    import asyncio

    from composable_agents.authoring.arrow import as_node
    from composable_agents.execution.env import InMemoryEnv
    from composable_agents.execution.interpreter import interpret

    quotas: list[Any] = []

    class RemoteEnv(InMemoryEnv):
        async def run_sub(self, ref: str, value: Any, *, activation: str, **kw: Any) -> Any:
            quotas.append((ref, activation, kw["quota"]))
            return {"__value__": value, "__usage__": {"calls": {"lim_t": 2}, "cost": 0.0, "tokens": 0}}

    child = seq(lim_t, lim_t).named("lim.remote.v1")
    ledger = Ledger(max_calls={"lim_t": 5})
    out = asyncio.run(interpret(as_node(seq(lim_t, sub(child))), 7, RemoteEnv(), ledger=ledger))
    assert out == 7
    assert quotas == [("lim.remote.v1", "$.1", {"tools": [{"name": "lim_t", "maxCalls": 4}]})]
    assert ledger.usage()["calls"] == {"lim_t": 3}
