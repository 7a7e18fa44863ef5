"""Limits hold deterministically: the same outcome under every completion order (``seed=``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from composable_agents.core.ir import Ann, CallStep, Each, Node, Par, Prim, Seq
from composable_agents.core.kinds import Merge
from composable_agents.execution.env import InMemoryEnv
from composable_agents.execution.interpreter import interpret
from composable_agents.execution.limits import Ledger
from composable_agents.execution.result import status_of

TOOLS = ("lp_a", "lp_b", "lp_c")


def fake(key: str) -> Any:
    async def body(x: Any) -> Any:
        from composable_agents.execution.env import current_env

        # latency derived from the value: ties at one instant are common on purpose
        await current_env().sleep((len(str(x)) + len(key)) % 3)
        return [key, x] if not isinstance(x, list) or len(str(x)) < 60 else key

    return body


FAKES = {key: fake(key) for key in TOOLS}


def calls() -> st.SearchStrategy[Node]:
    costs = st.sampled_from([None, 0.1, 0.25])
    return st.tuples(st.sampled_from(TOOLS), costs).map(
        lambda p: Prim(step=CallStep(p[0]), ann=Ann(cost_usd=p[1]) if p[1] is not None else None)
    )


def trees() -> st.SearchStrategy[Node]:
    def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        kids = st.lists(children, min_size=1, max_size=3).map(tuple)
        return st.one_of(
            kids.map(lambda ks: Seq(steps=ks) if len(ks) > 1 else ks[0]),
            kids.map(lambda ks: Par(branches=ks)),
            kids.flatmap(
                lambda ks: st.integers(1, len(ks)).map(
                    lambda k: Par(branches=ks, merge=Merge.QUORUM, k=k)
                )
            ),
            st.tuples(children, st.integers(1, 2)).map(
                lambda p: Seq(
                    steps=(Par(branches=(p[0], p[0])), Each(body=p[0], max_parallel=p[1]))
                )
            ),
        )

    return st.recursive(calls(), extend, max_leaves=8)


def outcome(node: Node, limits: dict[str, int], cost: float | None, seed: int) -> tuple[Any, ...]:
    env = InMemoryEnv(tools=FAKES, seed=seed)
    ledger = Ledger(max_calls=limits, cost=cost)

    async def go() -> Any:
        return await interpret(node, 0, env, ledger=ledger)

    try:
        value = asyncio.run(go())
    except Exception as exc:  # noqa: BLE001 - every ending is an outcome to compare
        status, detail = status_of(exc)
        return (status, detail.get("limit"), detail.get("tool"), detail.get("step"))
    return ("ok", value, ledger.usage())


@settings(max_examples=60)
@given(
    node=trees(),
    limits=st.dictionaries(st.sampled_from(TOOLS), st.integers(0, 6), max_size=3),
    budget=st.none() | st.sampled_from([0.0, 0.1, 0.3, 0.5, 1.0]),
    seeds=st.lists(st.integers(0, 10_000), min_size=3, max_size=3, unique=True),
)
def test_limits_give_the_same_outcome_under_every_completion_order(
    node: Node, limits: dict[str, int], budget: float | None, seeds: list[int]
) -> None:
    reference = outcome(node, limits, budget, 0)
    for seed in seeds:
        assert outcome(node, limits, budget, seed) == reference, (seed, json.dumps(node.to_json()))


@given(node=trees(), n=st.integers(0, 5))
@settings(max_examples=40)
def test_max_calls_is_never_exceeded(node: Node, n: int) -> None:
    env = InMemoryEnv(tools=FAKES, seed=n)
    ledger = Ledger(max_calls={"lp_a": n})

    async def go() -> Any:
        return await interpret(node, 0, env, ledger=ledger)

    with contextlib.suppress(Exception):
        asyncio.run(go())
    assert ledger.calls.get("lp_a", 0) <= n
    assert sum(1 for c in env.calls if c.key == "lp_a") <= n
