"""Interpreter laws: agreement with a reference evaluator and determinism under any scheduling."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import runnable_env_tools, runnable_nodes

from composable_agents.core.codec import normalize
from composable_agents.core.ir import Alt, Arr, Each, Ident, IterUpTo, Node, Par, Prim, Seq
from composable_agents.core.pures import DEFAULT_REGISTRY
from composable_agents.execution.env import InMemoryEnv
from composable_agents.execution.interpreter import interpret
from composable_agents.execution.projection import Projection, Recorder, activation_id

FAKES = runnable_env_tools()


def _pure(name: str, args: dict[str, Any] | None, value: Any) -> Any:
    return DEFAULT_REGISTRY.pure(name).fn(value, **(args or {}))


def reference(node: Node, value: Any) -> Any:
    """A naive tree-walking evaluator of runnable trees (the oracle)."""
    if isinstance(node, Ident):
        return value
    if isinstance(node, Arr):
        return _pure(node.pure, node.args, value)
    if isinstance(node, Prim):
        fake = FAKES[node.step.tool]  # type: ignore[union-attr]
        out = fake(value)
        return asyncio.run(out) if asyncio.iscoroutine(out) else out
    if isinstance(node, Seq):
        for step in node.steps:
            value = reference(step, value)
        return value
    if isinstance(node, Par):
        outs = [reference(b, value) for b in node.branches]
        return _pure(node.reducer.name, node.reducer.args, outs) if node.reducer else outs
    if isinstance(node, Each):
        outs = [reference(node.body, x) for x in value]
        return _pure(node.reducer.name, node.reducer.args, outs) if node.reducer else outs
    if isinstance(node, Alt):
        assert node.pred is not None
        flag = _pure(node.pred.name, node.pred.args, value)
        return reference(node.branches[0 if flag else 1], value)
    if isinstance(node, IterUpTo):
        for _ in range(node.max_rounds):
            value = reference(node.body, value)
            if node.until is not None and _pure(node.until.name, node.until.args, value):
                break
        return value
    raise AssertionError(f"not a runnable node: {node!r}")


def reference_activations(node: Node, value: Any) -> set[str]:
    """The activation ids a run must record: one per node reached, with item/round paths."""
    out: set[str] = set()

    def visit(current: Node, nid: str, acts: tuple[int, ...], v: Any) -> Any:
        out.add(activation_id(nid, acts))
        kids = current.children()
        if isinstance(current, Seq):
            for i, step in enumerate(kids):
                v = visit(step, f"{nid}.{i}", acts, v)
            return v
        if isinstance(current, Par):
            outs = [visit(b, f"{nid}.{i}", acts, v) for i, b in enumerate(kids)]
            return _pure(current.reducer.name, current.reducer.args, outs) if current.reducer else outs
        if isinstance(current, Each):
            outs = [visit(current.body, f"{nid}.0", (*acts, i), x) for i, x in enumerate(v)]
            return _pure(current.reducer.name, current.reducer.args, outs) if current.reducer else outs
        if isinstance(current, Alt):
            assert current.pred is not None
            pick = 0 if _pure(current.pred.name, current.pred.args, v) else 1
            return visit(kids[pick], f"{nid}.{pick}", acts, v)
        if isinstance(current, IterUpTo):
            for r in range(current.max_rounds):
                v = visit(current.body, f"{nid}.0", (*acts, r), v)
                if current.until is not None and _pure(current.until.name, current.until.args, v):
                    break
            return v
        return reference(current, v)

    visit(normalize(node), "$", (), value)
    return out


def run(node: Node, value: int, seed: int | None) -> tuple[Any, Projection]:
    rec = Recorder()
    env = InMemoryEnv(tools=FAKES, seed=seed)
    out = asyncio.run(interpret(node, value, env, recorder=rec))
    return out, rec.projection()


@settings(max_examples=80)
@given(runnable_nodes(), st.integers(0, 999))
def test_interpreter_agrees_with_the_reference(node: Node, value: int) -> None:
    out, projection = run(node, value, None)
    assert out == reference(node, value)
    assert set(projection.by_activation()) == reference_activations(node, value)
    assert len(projection.events) == len(projection.by_activation())


@settings(max_examples=60)
@given(runnable_nodes(), st.integers(0, 999), st.lists(st.integers(0, 2**16), min_size=2, max_size=3))
def test_same_value_and_events_under_any_completion_order(node: Node, value: int, seeds: list[int]) -> None:
    base_value, base_projection = run(node, value, None)
    base = base_projection.comparable()
    assert len(base) == len(base_projection.events)  # one event per activation
    for seed in seeds:
        out, projection = run(node, value, seed)
        assert out == base_value
        assert projection.comparable() == base


def test_seeded_scheduler_really_changes_completion_order() -> None:
    from composable_agents.core.ir import CallStep

    node = Par(branches=tuple(Prim(step=CallStep("prop_add7")) for _ in range(6)))
    orders = set()
    for seed in range(12):
        _, projection = run(node, 4, seed)
        orders.add(tuple(e["activation"] for e in projection.events))
        assert set(projection.comparable()) == {"$"} | {f"$.{i}" for i in range(6)}
    assert len(orders) > 1


def test_dry_run_seed_gives_identical_results() -> None:
    from composable_agents import deploy
    from composable_agents.core.ir import CallStep, PureRef

    body = Seq(steps=(Prim(step=CallStep("prop_add1")), Arr(pure="prop.double")))
    node = Seq(steps=(Arr(pure="prop.spread", args={"n": 4}), Each(body=body, max_parallel=2,
                                                                    reducer=PureRef("prop.sum"))))
    with pytest.warns(UserWarning):
        d = deploy(node, tools=[], reasoners=[], mode="dev")
    results = [d.dry_run(5, tools=FAKES, seed=seed) for seed in (None, 1, 2, 3)]
    assert {r.value for r in results} == {reference(node, 5)}
    comparable = [r.projection.comparable() for r in results]
    assert all(c == comparable[0] for c in comparable)
