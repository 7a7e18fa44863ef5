"""Laws of ``@flow`` lowering.

* A generated straight-line ``@flow`` freezes to the same IR as the typed
  arrow built with ``>>``; a generated fan-out ``@flow`` to the same IR as the
  kernel ``par`` (then ``std.merge`` for ``a | b``).
* Any generated dataflow graph (pures, a read tool, a write tool, merges,
  plucks, reuse of earlier values) runs to the value a direct Python
  evaluation computes, and its write steps keep program order under any
  scheduling seed.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composable_agents import deploy, flow, pure, tool
from composable_agents.authoring.arrow import Arrow
from composable_agents.authoring.kernel import arr, par
from composable_agents.core.ir import Ann

# -- single-input building blocks --------------------------------------------------------------


@pure("fp.a")
def fp_a(value: Any, tag: str = "a") -> Any:
    return {"tag": tag, "inner": value}


@pure("fp.b")
def fp_b(value: Any) -> Any:
    return [value]


@tool(effect="read", idempotent=True)
def fp_read(value: Any) -> Any:
    return {"read": value}


@tool(effect="read", idempotent=True)
def fp_look(value: Any) -> Any:
    return {"look": value}


# an op: (kind, option) — kind picks the block, option a constant or a retry count
OPS = st.tuples(st.sampled_from(["a", "b", "read", "look"]), st.integers(min_value=0, max_value=2))


def apply_op(op: tuple[str, int], h: Any) -> Any:
    kind, opt = op
    if kind == "a":
        return fp_a(h, tag=f"t{opt}") if opt else fp_a(h)
    if kind == "b":
        return fp_b(h)
    block = fp_read if kind == "read" else fp_look
    return block(h, retries=opt) if opt else block(h)


def arrow_of(op: tuple[str, int]) -> Arrow[Any, Any]:
    kind, opt = op
    if kind == "a":
        return arr(fp_a, tag=f"t{opt}") if opt else arr(fp_a)
    if kind == "b":
        return arr(fp_b)
    block = fp_read if kind == "read" else fp_look
    return block.with_ann(Ann(max_attempts=opt + 1)) if opt else block


def chain_arrow(ops: list[tuple[str, int]]) -> Arrow[Any, Any]:
    return reduce(lambda left, right: left >> right, [arrow_of(op) for op in ops])


def apply_chain(ops: list[tuple[str, int]], h: Any) -> Any:
    vals = [h]
    for op in ops:
        vals.append(apply_op(op, vals[-1]))
    return vals[-1]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPS, min_size=1, max_size=6))
def test_straight_line_flow_freezes_like_the_typed_pipeline(ops: list[tuple[str, int]]) -> None:
    @flow
    def line(x: Any) -> Any:
        return apply_chain(ops, x)

    typed = chain_arrow(ops)
    assert line.to_json() == typed.to_json()
    assert line.surface_shape == typed.surface_shape
    assert deploy(line).flow_json == deploy(typed).flow_json


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(OPS, min_size=1, max_size=3), min_size=2, max_size=4), st.booleans())
def test_fan_out_flow_freezes_like_the_kernel_par(branches: list[list[tuple[str, int]]], merge: bool) -> None:
    if merge:
        branches = branches[:2]

    @flow
    def fan(x: Any) -> Any:
        outs = [apply_chain(ops, x) for ops in branches]
        return outs[0] | outs[1] if merge else tuple(outs)

    typed = par(*[chain_arrow(ops) for ops in branches])
    if merge:
        typed = typed >> arr("std.merge")
    assert fan.to_json() == typed.to_json()
    assert deploy(fan).flow_json == deploy(typed).flow_json


# -- random dataflow graphs run to the directly computed value ----------------------------------


@pure("fp.inc")
def fp_inc(value: dict[str, Any], key: str) -> dict[str, Any]:
    return {**value, key: value.get(key, 0) + 1}


@tool(effect="read", idempotent=True)
def fp_double(value: dict[str, Any]) -> dict[str, Any]:
    return {**value, "r": value.get("r", 0) * 2 + 1}


WRITES: list[int] = []


@tool(effect="write")
def fp_write(value: dict[str, Any]) -> dict[str, Any]:
    WRITES.append(value["_i"])
    out = {k: v for k, v in value.items() if k != "_i"}
    return {**out, "w": out.get("w", 0) + 1}


def ref_write(value: dict[str, Any], i: int) -> dict[str, Any]:
    return {**value, "w": value.get("w", 0) + 1}


# a node: (kind, first input index, second input index, key)
NODE = st.tuples(
    st.sampled_from(["inc", "double", "write", "merge"]),
    st.integers(min_value=0, max_value=50),
    st.integers(min_value=0, max_value=50),
    st.sampled_from(["p", "q"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(NODE, min_size=1, max_size=9), st.integers(min_value=0, max_value=50), st.integers(0, 3))
def test_any_graph_runs_to_the_direct_value_with_writes_in_order(
    nodes: list[tuple[str, int, int, str]], out_pick: int, seed: int
) -> None:
    def step(vals: list[Any], node: tuple[str, int, int, str], i: int, *, direct: bool) -> Any:
        kind, a, b, key = node
        x = vals[a % len(vals)]
        y = vals[b % len(vals)]
        if kind == "inc":
            return fp_inc(x, key=key)
        if kind == "double":
            return fp_double(x)
        if kind == "write":
            return ref_write(x, i) if direct else fp_write(x, _i=i)
        return {**x, **y} if direct else x | y

    def graph(seed_value: Any, *, direct: bool) -> Any:
        vals = [seed_value]
        for i, node in enumerate(nodes):
            vals.append(step(vals, node, i, direct=direct))
        # the output reuses some value; every parameter is used by the first node anyway
        return vals[-1] | vals[out_pick % len(vals)] if not direct else {
            **vals[-1], **vals[out_pick % len(vals)]}

    @flow
    def traced(x: dict[str, Any]) -> dict[str, Any]:
        return graph(x, direct=False)

    start = {"s": 1}
    expected = graph(start, direct=True)
    WRITES.clear()
    res = deploy(traced).dry_run(start, seed=seed)
    assert res.status == "ok", res.detail
    assert res.raw_value == expected
    assert WRITES == sorted(WRITES)
    assert len(WRITES) == sum(1 for n in nodes if n[0] == "write")
