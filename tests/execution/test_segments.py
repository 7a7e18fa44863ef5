"""Timers, continuation segments carrying counters, principal, and WHOLE_SESSION degradation."""

from __future__ import annotations

from typing import Any

import pytest

from composable_agents import (
    ContextPolicy,
    ContextScope,
    Reasoner,
    alt,
    arr,
    deploy,
    each,
    par,
    pure,
    seq,
    think,
    tool,
)
from composable_agents.core.ir import CallStep, Prim
from composable_agents.execution.env import current_env

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

keys: list[str] = []
clock: list[float] = []


@tool(name="seg_tick", effect="write", idempotency="required")
def tick(n: int, *, idempotency_key: str) -> int:
    keys.append(idempotency_key)
    clock.append(current_env().now())
    return n + 1


@pure("seg.small")
def small(n: int) -> bool:
    return n < 3


# Only the flow's own std.continue_with continues a run (SPEC §22.1): a pure returning
# {"__continue__": n} would be ordinary data, so the flow branches to the std step.
again = alt("seg.small", arr("std.continue_with"), arr("std.init", key="done"))


def nap(seconds: float) -> Prim:
    return Prim(step=CallStep("__sleep__", args={"seconds": seconds}))


def test_sleep_is_a_timer_on_the_env_clock() -> None:
    clock.clear()
    result = deploy(seq(tick, nap(30), tick, nap(0.5), tick), mode="dev").dry_run(0)
    assert result.value == 3
    assert clock == [0.0, 30.0, 30.5]
    sleeps = [e["sleep"] for e in result.projection.events if "sleep" in e]
    assert sleeps == [30.0, 0.5]


def test_continuation_starts_new_segments_and_carries_counters() -> None:
    keys.clear()
    flow = seq(tick, again)
    caps = {
        "tools": [{"name": "seg_tick", "effect": "write", "idempotency": "required", "maxCalls": 5}]
    }
    d = deploy(flow, capabilities=caps, mode="dev")
    result = d.dry_run(0, run_id="c")
    assert result.status == "ok"
    assert result.value == {"done": 3}
    assert result.segments == 3
    assert result.usage["calls"] == {"seg_tick": 3}  # type: ignore[index]
    assert keys == ["c:$.0", "c:s1:$.0", "c:s2:$.0"]
    acts = [e["activation"] for e in result.projection.events]
    assert acts == [
        "$.0", "$.1.0", "$.1", "$", "s1:$.0", "s1:$.1.0", "s1:$.1", "s1:$", "s2:$.0", "s2:$.1.1", "s2:$.1", "s2:$",
    ]


def test_counters_carried_across_segments_hit_max_calls() -> None:
    keys.clear()
    caps = {
        "tools": [{"name": "seg_tick", "effect": "write", "idempotency": "required", "maxCalls": 2}]
    }
    result = deploy(seq(tick, again), capabilities=caps, mode="dev").dry_run(0)
    assert result.status == "over_budget"
    assert result.detail["limit"] == "maxCalls"  # type: ignore[index]
    assert len(keys) == 2
    assert result.segments == 3


def test_local_runs_bound_the_number_of_segments() -> None:
    result = deploy(seq(tick, again), mode="dev").dry_run(0, max_segments=2)
    assert result.status == "failed"
    assert "continuation segment" in result.detail["message"]  # type: ignore[index]


def test_pure_only_flow_may_continue_too() -> None:
    result = deploy(again >> arr("std.pluck", key="done"), mode="dev").dry_run(3)
    assert result.value == 3
    looping = deploy(again, mode="dev").dry_run(0, max_segments=5)
    assert looping.status == "failed"


def test_principal_reaches_reasoner_fakes_that_declare_it() -> None:
    r = Reasoner("seg_r", model="m")
    seen: list[Any] = []

    def fake(value: Any, *, principal: Any) -> Any:
        seen.append(principal)
        return value

    d = deploy(think(r), reasoners=[r], mode="dev")
    assert d.dry_run(1, reasoners={"seg_r": fake}, principal={"tenant": "a"}).value == 1
    assert seen == [{"tenant": "a"}]


def test_whole_session_context_inside_par_degrades_to_sequential() -> None:
    r = Reasoner("seg_session", model="m")
    log: list[tuple[str, float]] = []

    async def fake(value: Any) -> Any:
        env = current_env()
        log.append(("start", env.now()))
        await env.sleep(1)
        log.append(("end", env.now()))
        return value

    session = think(r, ctx=ContextPolicy(scope=ContextScope.WHOLE_SESSION))
    plain = think(r)
    d = deploy(par(session, plain), reasoners=[r], mode="dev")
    result = d.dry_run(1, reasoners={"seg_session": fake})
    assert result.value == [1, 1]
    assert log == [("start", 0), ("end", 1), ("start", 1), ("end", 2)]
    root = result.projection.by_activation()["$"]
    assert root["degraded"] is True
    log.clear()
    concurrent = deploy(par(plain, plain), reasoners=[r], mode="dev").dry_run(
        1, reasoners={"seg_session": fake}
    )
    assert concurrent.value == [1, 1]
    assert log == [("start", 0), ("start", 0), ("end", 1), ("end", 1)]
    assert "degraded" not in concurrent.projection.by_activation()["$"]


def test_whole_session_inside_each_degrades_too() -> None:
    r = Reasoner("seg_each", model="m")
    starts: list[float] = []

    async def fake(value: Any) -> Any:
        starts.append(current_env().now())
        await current_env().sleep(2)
        return value

    flow = each(think(r, ctx=ContextPolicy(scope=ContextScope.WHOLE_SESSION)))
    result = deploy(flow, reasoners=[r], mode="dev").dry_run(
        [1, 2, 3], reasoners={"seg_each": fake}
    )
    assert result.value == [1, 2, 3]
    assert starts == [0, 2, 4]
    assert result.projection.by_activation()["$"]["degraded"] is True


def test_arun_is_the_async_twin_with_threads_and_virtual_time() -> None:
    import asyncio

    from composable_agents import human_gate

    clock.clear()
    keys.clear()
    flow = seq(tick, nap(5), human_gate("go?", timeout_s=60), tick, again)
    d = deploy(flow, mode="dev")

    async def go() -> Any:
        return await d.arun(0, gates=True, run_id="a")

    result = asyncio.run(go())
    assert result.status == "ok"
    assert result.value == {"done": 4}
    assert result.segments == 2
    assert clock == [0.0, 5.0, 5.0, 10.0]  # sync bodies ran in threads; the clock stayed virtual
    assert keys == ["a:$.0", "a:$.3", "a:s1:$.0", "a:s1:$.3"]
    timed_out = asyncio.run(d.arun(0))
    assert timed_out.status == "timeout"
