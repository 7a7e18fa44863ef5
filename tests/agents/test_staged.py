"""Staged plans: compilation (bind, shape, budget, admission) and the stage runtime."""

from __future__ import annotations

from typing import Any

import pytest

from composable_agents import Reasoner, tool
from composable_agents.authoring.kernel import call, seq, stage
from composable_agents.compiler.deploy import deploy
from composable_agents.compiler.snapshot import snapshot_from_listings
from composable_agents.core.ir import Ann, CallStep, Prim
from composable_agents.errors import StagedPlanRejected
from composable_agents.execution.env import InMemoryEnv
from composable_agents.execution.interpreter import Catalog, interpret
from composable_agents.execution.projection import Recorder
from composable_agents.execution.staged import PlanContext, check_plan, compile_plan, plan_context


@tool(name="st_fetch", effect="read", idempotent=True, ann=Ann(cost_usd=0.02))
def st_fetch(q: str) -> dict[str, str]:
    return {"q": q, "doc": f"doc for {q}"}


@tool(name="st_summarize", effect="read")
def st_summarize(hit: dict[str, str]) -> str:
    return hit["doc"].upper()


@tool(name="st_write", effect="write")
def st_write(text: str) -> str:
    return "written"


@tool(name="st_nuke", effect="dangerous")
def st_nuke(text: str) -> str:
    return "boom"


CTX = plan_context([st_fetch, st_summarize, st_write, st_nuke])


def codes(reply: Any, ctx: PlanContext = CTX) -> list[str]:
    node, diags = check_plan(reply, ctx)
    assert (node is None) == bool(diags)
    return sorted({d.code for d in diags})


def prim(tool_key: str, **extra: Any) -> dict[str, Any]:
    return {"op": "prim", "step": {"kind": "call", "tool": tool_key, **extra}}


def test_good_plan_binds_every_call_to_its_execution_hash() -> None:
    node = compile_plan({"op": "seq", "steps": [prim("st_fetch"), prim("st_summarize")]}, CTX)
    steps = node.children()
    assert [s.step.tool for s in steps] == ["st_fetch", "st_summarize"]  # type: ignore[attr-defined]
    assert all(isinstance(s, Prim) and isinstance(s.step, CallStep) and s.step.bind == CTX.exec_hash(s.step.tool) for s in steps)


def test_invented_tool_is_rejected() -> None:
    assert codes(prim("st_delete_everything")) == ["PLAN_UNKNOWN_TOOL"]


def test_each_stage_app_loop_are_rejected() -> None:
    assert codes({"op": "each", "body": prim("st_fetch")}) == ["PLAN_EACH"]
    assert codes({"op": "eval_plan", "planner": "p"}) == ["PLAN_STAGE"]
    assert codes({"op": "app", "controller": "c", "tools": ["st_fetch"]}) == ["PLAN_APP"]
    assert codes({"op": "loop", "body": prim("st_fetch")}) == ["PLAN_LOOP"]
    assert codes(prim("__recv__")) == ["PLAN_RESERVED"]


def test_ambiguous_ref_is_rejected_unless_pinned() -> None:
    snap = snapshot_from_listings(
        {
            "search": {"web": {"inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}}},
            "news": {"web": {"inputSchema": {"type": "object"}, "annotations": {"readOnlyHint": True}}},
        }
    )
    tools = snap.tools() if hasattr(snap, "tools") else snap
    ctx = plan_context(list(tools.values()) if isinstance(tools, dict) else list(tools))
    assert codes(prim("web"), ctx) == ["PLAN_AMBIGUOUS_TOOL"]
    pinned = ctx.exec_hash("news/web")
    assert pinned is not None
    node = compile_plan(prim("web", bind=pinned), ctx)
    assert node.step.tool == "news/web"  # type: ignore[attr-defined]
    assert codes(prim("web", bind="sha256:" + "0" * 64), ctx) == ["PLAN_BIND_MISMATCH"]
    assert codes(prim("search/web"), ctx) == []


def test_shape_budget_race_and_approval_admission() -> None:
    race = {"op": "par", "merge": "race", "branches": [prim("st_fetch"), prim("st_write")]}
    assert codes(race) == ["RACE_UNSAFE"]
    assert codes(prim("st_nuke")) == ["APPROVAL_UNGATED"]
    gated = {"op": "seq", "steps": [{"op": "prim", "step": {"kind": "call", "tool": "__human_gate__", "args": {"prompt": "ok?"}}}, prim("st_nuke")]}
    assert codes(gated) == []
    loop = {"op": "iter_up_to", "max": 10, "body": prim("st_fetch")}
    assert codes(loop) == []
    assert codes(loop, plan_context(CTX, budget_usd=0.1)) == ["PLAN_BUDGET"]  # 10 x $0.02
    assert codes({"op": "arr", "pure": "no.such.pure"}) == ["PLAN_UNKNOWN_PURE"]
    assert codes({"op": "prim", "step": {"kind": "think", "reasoner": "ghost"}}) == ["PLAN_UNKNOWN_REASONER"]
    retry = {"op": "prim", "step": {"kind": "call", "tool": "st_write"}, "ann": {"maxAttempts": 3}}
    assert codes(retry) == ["RETRY_UNSAFE"]


@pytest.mark.parametrize("reply", [None, 1, "not json", "[]", {"op": "nope"}, {"plan": []}, {"op": "seq"}])
def test_garbage_is_a_parse_rejection(reply: Any) -> None:
    assert codes(reply) == ["PLAN_PARSE"]


def test_rejection_carries_every_diagnostic() -> None:
    plan = {"op": "seq", "steps": [prim("ghost1"), {"op": "each", "body": prim("ghost2")}]}
    with pytest.raises(StagedPlanRejected) as info:
        compile_plan(plan, CTX, prefix="$.3.0")
    found = sorted((d.code, d.node_id) for d in info.value.diagnostics)
    assert found == [("PLAN_EACH", "$.3.0.1"), ("PLAN_UNKNOWN_TOOL", "$.3.0.0"), ("PLAN_UNKNOWN_TOOL", "$.3.0.1.0")]
    assert info.value.detail["reason"] == "plan_rejected"


def test_compilation_is_deterministic() -> None:
    plan = {"op": "seq", "steps": [prim("st_fetch"), prim("st_summarize")]}
    assert compile_plan(plan, CTX).to_json() == compile_plan(dict(plan), CTX).to_json()


# -- the stage runtime ---------------------------------------------------------------------


async def _run_stage(planner_reply: Any, value: Any, *, budget: float | None = None) -> tuple[Any, Recorder, InMemoryEnv]:
    planner = Reasoner(name="st.planner", model="m")
    catalog = Catalog(
        tools={t.key: t.definition for t in (st_fetch, st_summarize, st_write)},
        reasoners={"st.planner": planner},
    )
    env = InMemoryEnv(reasoners={"st.planner": lambda v: planner_reply})
    rec = Recorder()
    node = seq(call(st_fetch), stage(planner, ann=Ann(cost_usd=budget) if budget is not None else None)).to_ir()
    out = await interpret(node, value, env, catalog=catalog, recorder=rec)
    return out, rec, env


async def test_stage_runs_the_admitted_plan_with_prefixed_ids() -> None:
    out, rec, env = await _run_stage(prim("st_summarize"), "temporal")
    assert out == "DOC FOR TEMPORAL"
    nodes = {e["node"] for e in rec.projection().events}
    assert "$.1.0" in nodes  # the plan's root lives under the stage node
    assert [c.key for c in env.calls] == ["st_fetch", "st_summarize"]
    assert env.calls[1].execution_hash is not None


async def test_stage_with_invented_tool_never_calls_it() -> None:
    with pytest.raises(StagedPlanRejected) as info:
        await _run_stage(prim("st_exfiltrate"), "q")
    assert info.value.status == "plan_rejected"
    assert [d.code for d in info.value.diagnostics] == ["PLAN_UNKNOWN_TOOL"]


async def test_stage_budget_comes_from_the_stage_annotation() -> None:
    plan = {"op": "iter_up_to", "max": 3, "body": {"op": "ident"}}
    out, _, _ = await _run_stage(plan, "q", budget=0.5)
    assert out == {"q": "q", "doc": "doc for q"}
    pricey = {"op": "seq", "steps": [prim("st_fetch"), prim("st_fetch")]}
    with pytest.raises(StagedPlanRejected, match="PLAN_BUDGET"):
        await _run_stage(pricey, "q", budget=0.03)


def test_stage_through_deploy_reports_plan_rejected() -> None:
    from composable_agents.agents.agent import with_status

    planner = Reasoner(name="st.planner2", model="m")
    flow = seq(call(st_fetch), stage(planner))
    dep = deploy(flow, tools=[st_fetch], reasoners=[planner])
    good = with_status(dep.dry_run("x", reasoners={"st.planner2": lambda v: {"op": "ident"}}))
    assert good.status == "ok" and good.value == {"q": "x", "doc": "doc for x"}
    bad = with_status(dep.dry_run("x", reasoners={"st.planner2": lambda v: {"op": "each", "body": prim("st_fetch")}}))
    assert bad.status == "plan_rejected"
    assert bad.detail is not None and bad.detail["diagnostics"][0]["code"] == "PLAN_EACH"
