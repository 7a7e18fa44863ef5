"""Plan extraction: an observed agent trace becomes an admitted, replayable staged plan."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from composable_agents import Reasoner, tool
from composable_agents.agents.agent import Agent
from composable_agents.agents.plans import (
    agent_trace,
    extract_plan,
    generalize_trace_to_plan,
    promote_plan,
)
from composable_agents.authoring.kernel import stage
from composable_agents.compiler.deploy import deploy
from composable_agents.errors import StagedPlanRejected
from composable_agents.execution.env import InMemoryEnv
from composable_agents.execution.interpreter import Catalog, interpret


@tool(name="px_search", effect="read", idempotent=True)
def px_search(q: str) -> dict[str, Any]:
    return {"query": q, "hits": [f"{q}-1", f"{q}-2"]}


@tool(name="px_rank", effect="read")
def px_rank(hits: dict[str, Any]) -> dict[str, Any]:
    return {"best": hits["hits"][0], "query": hits["query"]}


@tool(name="px_label", effect="read")
def px_label(record: dict[str, Any]) -> str:
    return f"{record['best']}:{record['tone']}"


AGENT = Agent("px.researcher", tools=[px_search, px_rank, px_label], max_rounds=8)


def controller(value: dict[str, Any]) -> dict[str, Any]:
    done = [e for e in value["trace"] if e["status"] == "ok"]
    step = len(value["trace"])
    if step == 0:
        return {"action": "call", "tool": "px_search", "input": value["input"]}
    if step == 1:
        return {"action": "call", "tool": "px_ghost", "input": 1}  # denied: never part of the plan
    if step == 2:
        return {"action": "call", "tool": "px_rank", "input": done[-1]["observation"]}
    if step == 3:
        best = value["last"]
        return {"action": "call", "tool": "px_label", "input": {"best": best["best"], "tone": "formal"}}
    return {"action": "finish", "value": {"label": value["last"]}}


def test_generalize_drops_denials_and_adapts_inputs() -> None:
    result = AGENT.run("durable", reasoners={AGENT.controller: controller})
    assert result.value == {"label": "durable-1:formal"}
    plan = generalize_trace_to_plan(agent_trace(result), run_input="durable", final=result.value)
    ops = [(s["op"], s.get("step", {}).get("tool") or s.get("pure")) for s in plan["steps"]]
    assert ops == [
        ("prim", "px_search"),
        ("prim", "px_rank"),
        ("arr", "std.pack"),
        ("prim", "px_label"),
        ("arr", "std.pack"),
    ]
    assert plan["steps"][2]["args"]["fields"] == {"best": {"field": "best"}, "tone": {"const": "formal"}}
    assert plan["steps"][4]["args"]["fields"] == {"label": {"input": True}}


def test_round_trip_extract_promote_replay() -> None:
    result = AGENT.run("temporal", reasoners={AGENT.controller: controller})
    extracted = extract_plan(result, AGENT, run_input="temporal")
    assert extracted.admitted, extracted.diagnostics
    promoted = promote_plan(extracted, AGENT, name="px.researcher.plan.v1")
    # 1) the plan as a plain flow reproduces the agent's answer, on other inputs too, with no controller
    dep = deploy(promoted.arrow, tools=AGENT.tool_defs())
    assert dep.dry_run("temporal").value == result.value
    assert dep.dry_run("dbos").value == {"label": "dbos-1:formal"}
    # 2) replayed through stage: a planner answers the promoted plan, bound against the parent manifest
    planner = Reasoner(name="px.planner", model="m")
    frozen = dep.catalog()
    catalog = Catalog(
        tools=frozen.tools, execution_hashes=frozen.execution_hashes, reasoners={"px.planner": planner}
    )
    env = InMemoryEnv(reasoners={"px.planner": promoted.planner()})
    out = asyncio.run(interpret(stage(planner).to_ir(), "dbos", env, catalog=catalog))
    assert out == {"label": "dbos-1:formal"}
    assert [c.key for c in env.calls] == ["px_search", "px_rank", "px_label"]
    assert all(c.execution_hash == frozen.execution_hashes[c.key] for c in env.calls)


def test_promotion_enforces_admission() -> None:
    narrow = Agent("px.narrow", tools=[px_search])
    result = AGENT.run("q", reasoners={AGENT.controller: controller})
    extracted = extract_plan(result, narrow, run_input="q")
    assert not extracted.admitted
    assert {d.code for d in extracted.diagnostics} == {"PLAN_UNKNOWN_TOOL"}
    with pytest.raises(StagedPlanRejected):
        promote_plan(extracted, narrow)


def test_empty_trace_is_identity() -> None:
    assert generalize_trace_to_plan([], run_input=1, final=1) == {"op": "ident"}
    assert generalize_trace_to_plan([], run_input=1, final=2) == {
        "op": "arr",
        "pure": "ca.plan.const",
        "args": {"const": 2},
    }
