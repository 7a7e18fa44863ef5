"""Properties of plan admission (§22.3, §22.2): generated plans never crash the compiler, and
generated annotations never lower a call's cost estimate below the tool's declared cost."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from composable_agents import Ann, tool
from composable_agents.core.ir import Node
from composable_agents.errors import StagedPlanRejected
from composable_agents.execution.staged import check_plan, estimate_cost, plan_context


@tool(name="tpp_read", effect="read", idempotent=True, ann=Ann(cost_usd=0.5))
def tpp_read(q: Any) -> Any:
    return q


@tool(name="tpp_write", effect="write")
def tpp_write(q: Any) -> Any:
    return q


CTX = plan_context([tpp_read, tpp_write])

hostile_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.just(10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=3),
    st.none(),
)
ann_keys = st.sampled_from(["costUsd", "maxAttempts", "retryIntervalS", "backoffRate", "timeoutS", "maxParallel", "bogus"])
anns = st.dictionaries(ann_keys, hostile_numbers, max_size=3)
names = st.one_of(st.sampled_from(["tpp_read", "tpp_write", "ghost", "__sleep__", "__human_gate__"]), st.text(max_size=4))


def leaves() -> st.SearchStrategy[Any]:
    call = st.builds(
        lambda key, ann: {"op": "prim", "step": {"kind": "call", "tool": key}, **({"ann": ann} if ann else {})},
        names,
        st.one_of(st.none(), anns),
    )
    pure = st.builds(lambda p, a: {"op": "arr", "pure": p, "args": a}, st.sampled_from(["std.init", "std.pluck", "nope", "\ud800"]),
                     st.dictionaries(st.just("key"), st.one_of(st.text(max_size=3), hostile_numbers), max_size=1))
    return st.one_of(call, pure, st.just({"op": "ident"}), st.builds(dict), st.just(None), hostile_numbers)


plans = st.recursive(
    leaves(),
    lambda kids: st.one_of(
        st.builds(lambda s: {"op": "seq", "steps": s}, st.lists(kids, max_size=4)),
        st.builds(lambda b, m: {"op": "par", "merge": m, "branches": b}, st.lists(kids, max_size=3), st.sampled_from(["all", "race", "bogus"])),
        st.builds(lambda n, b: {"op": "iter_up_to", "max": n, "body": b}, hostile_numbers, kids),
        st.builds(lambda p, t, f: {"op": "alt", "pred": {"name": p}, "branches": [t, f]}, st.sampled_from(["std.matches", "x"]), kids, kids),
    ),
    max_leaves=12,
)


@given(plans)
def test_generated_plans_compile_or_are_rejected_with_diagnostics(plan: Any) -> None:
    node, diags = check_plan(plan, CTX)
    assert (node is None) == bool(diags)
    if node is not None:
        assert isinstance(node, Node)
        assert math.isfinite(estimate_cost(node, CTX.tools))


@given(hostile_numbers)
def test_generated_cost_annotations_never_lower_the_estimate(cost: Any) -> None:
    plan = {"op": "prim", "step": {"kind": "call", "tool": "tpp_read"}, "ann": {"costUsd": cost}}
    node, diags = check_plan(plan, CTX)
    if node is None:
        assert diags
        return
    est = estimate_cost(node, CTX.tools)
    assert est >= 0.5
    if type(cost) in (int, float) and math.isfinite(cost) and cost > 0.5:
        assert est == float(cost)


@given(hostile_numbers, hostile_numbers)
def test_generated_loop_and_attempt_bounds(rounds: Any, attempts: Any) -> None:
    plan = {"op": "iter_up_to", "max": rounds, "body": {"op": "prim", "step": {"kind": "call", "tool": "tpp_read"}, "ann": {"maxAttempts": attempts}}}
    try:
        node, _diags = check_plan(plan, CTX)
    except StagedPlanRejected as exc:  # pragma: no cover - check_plan never raises
        raise AssertionError(exc) from None
    if node is not None:
        from composable_agents.execution.staged import MAX_PLAN_ATTEMPTS, MAX_PLAN_ROUNDS

        assert 1 <= rounds <= MAX_PLAN_ROUNDS
        assert 1 <= attempts <= MAX_PLAN_ATTEMPTS
