"""The projection: one event per activation, causes, value refs, costs, scheduling attrs, bounded memory."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from composable_agents import (
    Ann,
    Reasoner,
    alt,
    arr,
    call,
    deploy,
    each,
    human_gate,
    ident,
    iter_up_to,
    par,
    pure,
    quorum,
    race,
    seq,
    sub,
    think,
    tool,
)
from composable_agents.authoring.arrow import as_node
from composable_agents.core.ir import CallStep, Prim
from composable_agents.execution.env import InMemoryEnv
from composable_agents.execution.interpreter import interpret
from composable_agents.execution.projection import DEFAULT_MAX_EVENTS, Recorder

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@tool(name="pj_inc", effect="read")
def inc(x: int) -> int:
    return x + 1


@pure("pj.double")
def double(x: int) -> int:
    return 2 * x


@pure("pj.small")
def small(x: int) -> bool:
    return x < 10


@pure("pj.big")
def big(x: int) -> bool:
    return x >= 16


@pure("pj.first")
def first(x: list[int]) -> int:
    return x[0]


R = Reasoner("pj_r", model="m")


def fake_r(value: Any) -> Any:
    return {"__value__": value, "__usage__": {"tokens": 12, "cost": 0.002}}


def events(result: Any) -> dict[str, dict[str, Any]]:
    return result.projection.by_activation()


def test_one_event_per_activation_with_parent_causes_and_value_refs() -> None:
    flow = seq(inc, arr(double), par(inc, ident()), arr(first))
    result = deploy(flow, mode="dev").dry_run(1)
    assert result.value == 5
    ev = events(result)
    assert set(ev) == {"$", "$.0", "$.1", "$.2", "$.2.0", "$.2.1", "$.3"}
    assert ev["$.0"]["op"] == "prim" and ev["$.0"]["label"] == "pj_inc"
    assert ev["$.1"]["op"] == "arr" and ev["$.1"]["causes"] == ["$.0"]
    assert ev["$.2.0"]["parent"] == "$.2" and ev["$.2.0"]["causes"] == ["$.2"]
    assert ev["$.2"]["merge"] == "all"
    values = result.projection.values
    assert values[ev["$.1"]["input"]] == 2 and values[ev["$.1"]["output"]] == 4
    assert ev["$"]["shape"] == "Dataflow"
    assert ev["$.0"]["shape"] == "Pipeline"


def test_each_alt_iter_events_carry_their_paths_and_attrs() -> None:
    flow = seq(
        each(inc),
        arr(first),
        alt(small, arr(double), inc),
        iter_up_to(5, arr(double), until=big),
    )
    result = deploy(flow, mode="dev").dry_run([1, 2])
    assert result.value == 16
    ev = events(result)
    assert {"$.0.0[0]", "$.0.0[1]"} <= set(ev)
    assert ev["$.0.0[1]"]["parent"] == "$.0"
    assert ev["$.2"]["branch"] == 0
    assert ev["$.3"]["rounds"] == 2
    assert {"$.3.0[0]", "$.3.0[1]"} <= set(ev)


def test_race_family_events_record_merge_winner_cancelled() -> None:
    @tool(name="pj_fail", effect="read")
    def fail(x: int) -> int:
        raise RuntimeError("no")

    result = deploy(seq(race(fail, inc), quorum(inc, inc, inc, k=2)), mode="dev").dry_run(
        1, policy=None
    )
    ev = events(result)
    assert ev["$.0"]["merge"] == "race" and ev["$.0"]["winner"] == 1
    assert ev["$.1"]["merge"] == "quorum" and ev["$.1"]["winner"] == [0, 1]
    assert ev["$.1"]["cancelled"] == [] or ev["$.1"]["cancelled"] == [2]
    assert result.value == [3, 3]


def test_gate_sleep_and_sub_events() -> None:
    child = seq(inc, inc).named("pj.child.v1")
    nap = Prim(step=CallStep("__sleep__", args={"seconds": 2}))
    flow = seq(human_gate("go?", timeout_s=5), nap, sub(child))
    result = deploy(flow, mode="dev").dry_run(1, gates={"approved": True, "by": "ann"})
    ev = events(result)
    assert ev["$.0"]["label"] == "human_gate"
    assert ev["$.0"]["gate"] == {"approved": True, "reason": None, "by": "ann"}
    assert ev["$.1"]["sleep"] == 2.0
    assert ev["$.2"]["sub"] == "pj.child.v1"
    assert result.value == 3


def test_costs_usage_and_cost_by_shape() -> None:
    flow = seq(
        call(inc, ann=Ann(cost_usd=0.01)), think(R), par(call(inc, ann=Ann(cost_usd=0.02)), ident())
    )
    result = deploy(flow, reasoners=[R], mode="dev").dry_run(1, reasoners={"pj_r": fake_r})
    ev = events(result)
    assert ev["$.0"]["cost"] == 0.01
    assert ev["$.1"]["usage"] == {"tokens": 12, "cost": 0.002}
    assert ev["$.1"]["cost"] == 0.002
    assert result.value == [3, 2]
    assert result.projection.cost_by_shape() == {"Pipeline": pytest.approx(0.032)}
    assert result.cost == pytest.approx(0.032)
    doc = result.projection.to_json()
    assert set(doc) >= {"events", "values", "costByShape", "pending", "dropped"}


def test_spans_have_stable_names_and_scheduling_attributes() -> None:
    a = deploy(seq(inc, race(inc, inc)), mode="dev").dry_run(1)
    b = deploy(seq(arr(double), inc, race(inc, inc)), mode="dev").dry_run(1)
    names_a = [s["name"] for s in a.projection.spans()]
    names_b = [s["name"] for s in b.projection.spans()]
    assert "prim:pj_inc" in names_a and "par:race" in names_a
    assert set(names_a) <= set(names_b)
    race_span = next(s for s in a.projection.spans() if s["name"] == "par:race")
    assert race_span["attributes"]["ca.merge"] == "race"
    assert race_span["attributes"]["ca.winner"] in (0, 1)
    assert all(
        s["parentSpanId"] in {None} | {t["spanId"] for t in a.projection.spans()}
        for s in a.projection.spans()
    )


def test_same_projection_under_every_schedule() -> None:
    flow = seq(par(inc, seq(inc, inc)), each(inc), quorum(inc, inc, k=1))
    d = deploy(flow, mode="dev")

    def comparable(seed: int) -> Any:
        p = d.dry_run([1, 2, 3], seed=seed).projection.comparable()
        return {
            k: {f: v for f, v in e.items() if f not in ("input", "output", "winner", "cancelled")}
            for k, e in p.items()
        }

    first = comparable(0)
    for seed in range(1, 8):
        assert comparable(seed) == first


def test_memory_stays_bounded_on_a_100k_step_run() -> None:
    steps = 100_000
    node = as_node(seq(*([inc] * steps)))
    env = InMemoryEnv()
    rec = Recorder()

    async def go() -> Any:
        return await interpret(node, 0, env, recorder=rec)

    out = asyncio.run(go())
    assert out == steps
    projection = rec.projection()
    assert len(projection) == DEFAULT_MAX_EVENTS
    assert projection.dropped == steps + 1 - DEFAULT_MAX_EVENTS
    assert len(env.calls) <= 10_000
    assert projection.events[-1]["activation"] == "$"
    assert projection.events[0]["activation"] == f"$.{steps - DEFAULT_MAX_EVENTS + 1}"
