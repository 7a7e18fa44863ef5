"""SPEC §22.3: plans pass deploy's range checks, the decoder's limits and bounds on loops/attempts.

Every way a plan can be wrong is a ``plan_rejected`` run (never an untyped
crash), decided before anything is compiled into the run.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from composable_agents import Ann, Reasoner, deploy, tool
from composable_agents.authoring.kernel import call, seq, stage
from composable_agents.errors import StagedPlanRejected
from composable_agents.execution.staged import (
    MAX_PLAN_ATTEMPTS,
    MAX_PLAN_BYTES,
    MAX_PLAN_NODES,
    MAX_PLAN_ROUNDS,
    check_plan,
    compile_plan,
    estimate_cost,
    plan_context,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@tool(name="tp_read", effect="read", idempotent=True, ann=Ann(cost_usd=0.25))
def tp_read(q: Any) -> Any:
    return q


@tool(name="tp_free", effect="read", idempotent=True)
def tp_free(q: Any) -> Any:
    return q


CTX = plan_context([tp_read, tp_free])
TP_PLANNER = Reasoner("tp_planner", "fake")


def prim(key: str, ann: dict[str, Any] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"op": "prim", "step": {"kind": "call", "tool": key}}
    if ann is not None:
        node["ann"] = ann
    return node


def codes(reply: Any) -> list[str]:
    node, diags = check_plan(reply, CTX)
    assert (node is None) == bool(diags)
    return sorted({d.code for d in diags})


@pytest.mark.parametrize(
    ("ann", "code"),
    [
        ({"retryIntervalS": -5}, "RETRY_RANGE"),
        ({"backoffRate": 0.5}, "RETRY_RANGE"),
        ({"maxAttempts": 0}, "RETRY_RANGE"),
        ({"maxAttempts": 10**9}, "PLAN_BOUNDS"),
        ({"timeoutS": -1}, "MALFORMED_NODE"),
        ({"timeoutS": 0}, "MALFORMED_NODE"),
        ({"costUsd": -100}, "MALFORMED_NODE"),
    ],
)
def test_plan_annotations_pass_deploys_range_checks(ann: dict[str, Any], code: str) -> None:
    assert code in codes(prim("tp_read", ann))


def test_loop_bounds() -> None:
    ok = {"op": "iter_up_to", "max": MAX_PLAN_ROUNDS, "body": prim("tp_free")}
    assert codes(ok) == []
    assert "PLAN_BOUNDS" in codes({"op": "iter_up_to", "max": MAX_PLAN_ROUNDS + 1, "body": prim("tp_free")})
    assert codes({"op": "iter_up_to", "max": 10**18, "body": prim("tp_free")}) in (["PLAN_BOUNDS"], ["PLAN_PARSE"])
    assert "PLAN_BOUNDS" in codes(prim("tp_read", {"maxAttempts": MAX_PLAN_ATTEMPTS + 1}))


@pytest.mark.parametrize(
    "reply",
    [
        {"op": "iter_up_to", "max": 10**400, "body": prim("tp_free")},
        '{"op": "iter_up_to", "max": 1' + "0" * 400 + ', "body": {"op": "ident"}}',
        '{"op": "iter_up_to", "max": 1e400, "body": {"op": "ident"}}',
        {"op": "arr", "pure": "std.init", "args": {"key": "\ud800"}},
        '{"op": "arr", "pure": "std.init", "args": {"key": "\\ud800"}}',
        {"op": "arr", "pure": "\udfff"},
        '{"op": "ident", "op": "seq", "steps": []}',
    ],
)
def test_hostile_numbers_and_strings_are_typed_rejections(reply: Any) -> None:
    with pytest.raises(StagedPlanRejected):
        compile_plan(reply, CTX)


def test_oversized_plan_text_is_rejected_before_parsing() -> None:
    text = '{"op": "seq", "steps": [' + ",".join(['{"op": "ident"}'] * (MAX_PLAN_BYTES // 14)) + "]}"
    assert len(text) > MAX_PLAN_BYTES
    t0 = time.perf_counter()
    assert codes(text) == ["PLAN_TOO_LARGE"]
    assert time.perf_counter() - t0 < 0.5  # measured, not parsed


def test_plan_with_too_many_nodes_or_too_deep_is_rejected() -> None:
    wide = {"op": "seq", "steps": [prim("tp_free")] * (MAX_PLAN_NODES + 1)}
    assert codes(wide) == ["PLAN_TOO_LARGE"]
    deep: dict[str, Any] = prim("tp_free")
    for _ in range(400):
        deep = {"op": "par", "branches": [deep]}
    assert codes(deep) in (["PLAN_TOO_LARGE"], ["PLAN_PARSE"])
    nested: Any = 1
    for _ in range(100_000):
        nested = [nested]
    assert codes({"op": "arr", "pure": "std.init", "args": {"key": nested}}) in (["PLAN_TOO_LARGE"], ["PLAN_PARSE"])


def test_annotation_can_raise_but_never_lower_the_estimate() -> None:
    assert estimate_cost(compile_plan(prim("tp_read", {"costUsd": 0}), CTX), CTX.tools) == pytest.approx(0.25)
    assert estimate_cost(compile_plan(prim("tp_read", {"costUsd": 2.0}), CTX), CTX.tools) == pytest.approx(2.0)
    assert estimate_cost(compile_plan(prim("tp_read"), CTX), CTX.tools) == pytest.approx(0.25)
    budget = plan_context(CTX, budget_usd=0.2)
    node, diags = check_plan(prim("tp_read", {"costUsd": 0}), budget)
    assert node is None and [d.code for d in diags] == ["PLAN_BUDGET"]


def _run(reply: Any, value: Any = "q") -> Any:
    flow = seq(call(tp_free), stage(TP_PLANNER))
    return deploy(flow, tools=[tp_read, tp_free]).dry_run(value, reasoners={"tp_planner": lambda v: reply})


@pytest.mark.parametrize(
    "reply",
    [
        prim("tp_read", {"retryIntervalS": -5}),
        {"op": "iter_up_to", "max": 10**400, "body": prim("tp_free")},
        {"op": "arr", "pure": "std.init", "args": {"key": "\ud800"}},
        "x" * (MAX_PLAN_BYTES + 1),
        json.dumps({"op": "seq", "steps": [prim("tp_free")] * (MAX_PLAN_NODES + 1)}),
    ],
    ids=["retry-range", "huge-int", "surrogate", "huge-text", "many-nodes"],
)
def test_any_plan_failure_ends_the_run_plan_rejected(reply: Any) -> None:
    result = _run(reply)
    assert result.status == "plan_rejected", result.detail
    assert result.detail is not None and result.detail["diagnostics"]


def test_bound_plan_calls_are_charged_the_tools_declared_cost() -> None:
    plan = {"op": "seq", "steps": [prim("tp_read", {"costUsd": 0})] * 3}
    flow = stage(TP_PLANNER)
    d = deploy(flow, tools=[tp_read, tp_free], capabilities={"tools": [{"name": "tp_read"}, {"name": "tp_free"}], "budget": {"cost": 0.6}})
    result = d.dry_run("q", reasoners={"tp_planner": lambda v: plan})
    assert result.status == "over_budget"  # 3 x $0.25 > $0.60 even though the plan said $0


def test_par_plan_reserves_the_declared_cost_it_will_be_charged() -> None:
    leaf = prim("tp_read", {"costUsd": 0})
    caps = {"tools": [{"name": "tp_read"}, {"name": "tp_free"}], "budget": {"cost": 0.6}}
    d = deploy(stage(TP_PLANNER), tools=[tp_read, tp_free], capabilities=caps)
    for plan in ({"op": "seq", "steps": [leaf, leaf]}, {"op": "par", "branches": [leaf, leaf]}):
        result = d.dry_run("q", reasoners={"tp_planner": lambda v, p=plan: p})
        assert result.status == "ok", (plan["op"], result.detail)  # 2 x $0.25 fits $0.60 in both shapes
