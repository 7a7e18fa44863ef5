"""Tests for the interpreter: every supported op, fakes, errors and the projection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from composable_agents import (
    Reasoner,
    alt,
    arr,
    call,
    deploy,
    each,
    iter_up_to,
    par,
    pure,
    seq,
    stage,
    sub,
    think,
    tool,
)
from composable_agents.core.ir import (
    Alt,
    Arr,
    Loop,
    Par,
    PureRef,
    Seq,
)
from composable_agents.core.kinds import Merge
from composable_agents.core.pures import Registry
from composable_agents.errors import MissingFakeError, StepFailed, StepTypeError, UnsupportedOpError
from composable_agents.execution.env import InMemoryEnv
from composable_agents.execution.interpreter import Catalog, interpret
from composable_agents.execution.projection import Recorder

# -- pures and tools (unique names: the default registry is process-wide) ------


@pure("it.inc")
def inc(x: int) -> int:
    return x + 1


@pure("it.double")
def double(x: int) -> int:
    return x * 2


@pure("it.add")
def add(x: int, n: int = 0) -> int:
    return x + n


@pure("it.is_even")
def is_even(x: int) -> bool:
    return x % 2 == 0


@pure("it.size")
def size(xs: list[Any]) -> dict[str, int]:
    return {"n": len(xs)}


@pure("it.ge")
def ge(x: int, limit: int = 0) -> bool:
    return x >= limit


@pure("it.kind")
def kind(x: dict[str, Any]) -> Any:
    return x["kind"]


@pure("it.total")
def total(xs: list[int]) -> int:
    return sum(xs)


@tool(name="it_sync_tool", effect="read")
def it_sync_tool(x: int) -> int:
    return x * 10


@tool(name="it_async_tool", effect="read")
async def it_async_tool(x: int) -> int:
    await asyncio.sleep(0)
    return x * 100


@tool(name="it_record_tool")
def it_record_tool(a: int, b: int) -> int:
    return a - b


TOOLS = [it_sync_tool, it_async_tool, it_record_tool]


def run(flow: Any, value: Any, **kwargs: Any) -> Any:
    reasoners = kwargs.pop("reasoner_defs", [])
    result = deploy(flow, tools=TOOLS, reasoners=reasoners).dry_run(value, **kwargs)
    assert result.status == "ok", result.detail
    return result


# -- seq, arr -------------------------------------------------------------------


def test_seq_threads_values_through_pures() -> None:
    assert run(seq(inc, double, inc), 3).value == 9
    assert run(inc >> double >> inc, 3).value == 9


def test_arr_with_static_args() -> None:
    assert run(arr("it.add", n=5) >> arr("it.add", n=-1), 1).value == 5
    assert run(arr(add, n=7), 0).value == 7


def test_long_seq_runs_without_recursion_limit() -> None:
    flow = seq(*([inc] * 20_000))
    result = deploy(flow, tools=[], reasoners=[]).dry_run(0, projection=False)
    assert result.value == 20_000


# -- par ------------------------------------------------------------------------


def test_par_returns_branch_order_even_when_later_branches_finish_first() -> None:
    finished: list[str] = []

    async def slow(x: int) -> int:
        for _ in range(5):
            await asyncio.sleep(0)
        finished.append("slow")
        return 1

    async def fast(x: int) -> int:
        finished.append("fast")
        return 2

    flow = par(call("it_async_tool"), call("it_sync_tool"), inc)
    assert run(flow, 2).value == [200, 20, 3]
    flow2 = par(call("it_async_tool"), call("it_sync_tool"))
    out = run(flow2, 1, tools={"it_async_tool": slow, "it_sync_tool": fast}).value
    assert out == [1, 2]
    assert finished == ["fast", "slow"]


def test_sync_par_with_reducer() -> None:
    node = Par(branches=(Arr(pure="it.inc"), Arr(pure="it.double")), reducer=PureRef("it.total"))
    assert run(node, 5).value == 16


# -- each -----------------------------------------------------------------------


def test_each_keeps_input_order() -> None:
    async def jittery(x: int) -> int:
        for _ in range(10 - x):
            await asyncio.sleep(0)
        return x * 3

    assert run(each(double), [1, 2, 3]).value == [2, 4, 6]
    assert run(each(call("it_async_tool")), [3, 1, 2], tools={"it_async_tool": jittery}).value == [9, 3, 6]


@pytest.mark.parametrize(("max_parallel", "expected_peak"), [(None, 7), (1, 1), (2, 2), (3, 3)])
def test_each_runs_in_waves_of_max_parallel(max_parallel: int | None, expected_peak: int) -> None:
    active = 0
    peak = 0
    log: list[tuple[str, int]] = []

    async def counted(x: int) -> int:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        log.append(("start", x))
        for _ in range(3):
            await asyncio.sleep(0)
        log.append(("end", x))
        active -= 1
        return -x

    items = list(range(7))
    flow = each(call("it_async_tool"), max_parallel=max_parallel)
    assert run(flow, items, tools={"it_async_tool": counted}).value == [-x for x in items]
    assert peak == expected_peak
    wave = max_parallel or len(items)
    for start in range(wave, len(items), wave):
        # no item of a wave starts before every item of the previous wave ended
        first_start = log.index(("start", start))
        assert all(log.index(("end", x)) < first_start for x in range(start - wave, start))


def test_each_empty_list_gives_empty_list_and_still_runs_the_reducer() -> None:
    assert run(each(inc), []).value == []
    assert run(each(call("it_async_tool")), []).value == []
    assert run(each(inc, reducer="it.size"), []).value == {"n": 0}
    assert run(each(call("it_async_tool"), reducer="it.size"), []).value == {"n": 0}
    assert run(each(inc, reducer="it.total"), [1, 2]).value == 5


@pytest.mark.parametrize("body", [inc, call("it_async_tool")], ids=["sync", "async"])
def test_each_rejects_a_non_list(body: Any) -> None:
    result = deploy(each(body), tools=TOOLS, reasoners=[]).dry_run({"not": "a list"})
    assert result.status == "failed"
    assert result.detail["error"] == "StepTypeError"
    assert isinstance(result.error, StepTypeError)
    assert "list" in result.error.expected


async def test_each_non_list_via_interpret_raises_step_type_error() -> None:
    node = each(call("it_async_tool")).to_ir()
    with pytest.raises(StepTypeError):
        await interpret(node, 5, InMemoryEnv(), catalog=Catalog(tools={"it_async_tool": it_async_tool.definition}))


# -- alt ------------------------------------------------------------------------


def test_alt_binary_runs_exactly_one_branch() -> None:
    calls: list[int] = []

    def spy(x: int) -> int:
        calls.append(x)
        return x

    flow = alt("it.is_even", double, call("it_sync_tool"))
    assert run(flow, 4, tools={"it_sync_tool": spy}).value == 8
    assert calls == []
    assert run(flow, 3, tools={"it_sync_tool": spy}).value == 3
    assert calls == [3]
    assert run(alt("it.ge", inc, double, args={"limit": 10}), 10).value == 11
    assert run(alt("it.ge", inc, double, args={"limit": 10}), 9).value == 18


def test_alt_switch_with_cases_and_default() -> None:
    flow = alt(
        "it.kind",
        cases={"a": arr("std.pluck", key="v") >> inc, "b": arr("std.pluck", key="v") >> double},
        default=arr("std.init", key="fallback"),
    )
    assert run(flow, {"kind": "a", "v": 5}).value == 6
    assert run(flow, {"kind": "b", "v": 5}).value == 10
    assert run(flow, {"kind": "zzz", "v": 5}).value == {"fallback": {"kind": "zzz", "v": 5}}
    # structured case values match by canonical JSON (key order does not matter)
    structured = Alt(
        branches=(Arr(pure="std.init", args={"key": "hit"}), Arr(pure="std.init", args={"key": "miss"})),
        selector=PureRef("std.pluck", {"key": "k"}),
        cases=({"x": [1], "y": None},),
    )
    assert run(structured, {"k": {"y": None, "x": [1]}}).value == {"hit": {"k": {"y": None, "x": [1]}}}
    assert list(run(structured, {"k": {"x": [2]}}).value) == ["miss"]


def test_alt_predicate_must_return_a_bool() -> None:
    flow = alt("it.inc", inc, double)
    result = deploy(flow, tools=[], reasoners=[]).dry_run(1)
    assert result.status == "failed"
    assert "not a boolean" in result.detail["message"]


# -- iter_up_to -----------------------------------------------------------------


def test_iter_up_to_without_until_runs_max_rounds() -> None:
    assert run(iter_up_to(5, inc), 0).value == 5
    result = run(iter_up_to(3, call("it_async_tool")), 1)
    assert result.value == 1_000_000


def test_iter_up_to_with_until_stops_early() -> None:
    from composable_agents.core.ir import IterUpTo

    node = IterUpTo(body=double.to_ir(), max_rounds=10, until=PureRef("it.ge", {"limit": 50}))
    result = run(node, 1)
    assert result.value == 64
    by = result.projection.by_activation()
    assert by["$"]["rounds"] == 6
    assert set(by) == {"$"} | {f"$.0[{r}]" for r in range(6)}
    assert run(iter_up_to(10, double, until="it.is_even"), 3).value == 6
    capped = IterUpTo(body=double.to_ir(), max_rounds=2, until=PureRef("it.ge", {"limit": 50}))
    assert run(capped, 1).value == 4


# -- call -------------------------------------------------------------------------


def test_call_sync_and_async_tool_bodies() -> None:
    assert run(call(it_sync_tool), 2).value == 20
    assert run(call(it_async_tool), 2).value == 200
    assert run(call("it_record_tool"), {"a": 5, "b": 3}).value == 2


def test_call_fakes_override_bodies_sync_and_async() -> None:
    async def afake(x: int) -> int:
        return -x

    assert run(call(it_sync_tool), 2, tools={"it_sync_tool": lambda x: x + 5}).value == 7
    assert run(call(it_sync_tool), 2, tools={"it_sync_tool": afake}).value == -2


def test_call_fake_receives_a_deterministic_idempotency_key() -> None:
    keys: list[str] = []

    def fake(x: int, *, idempotency_key: str) -> int:
        keys.append(idempotency_key)
        return x

    flow = each(call("it_sync_tool"))
    run(flow, [1, 2], tools={"it_sync_tool": fake}, run_id="r1")
    run(flow, [1, 2], tools={"it_sync_tool": fake}, run_id="r1")
    assert keys[:2] == keys[2:]
    assert keys[0] != keys[1] and all(k.startswith("r1:") for k in keys)


def test_tool_failure_becomes_step_failed() -> None:
    def boom(x: int) -> int:
        raise RuntimeError("kaput")

    result = deploy(call("it_record_tool"), tools=TOOLS, reasoners=[]).dry_run(
        {"a": 1, "b": 1}, tools={"it_record_tool": boom}
    )
    assert result.status == "failed"
    assert isinstance(result.error, StepFailed)
    assert result.detail["node_id"] == "$" and "kaput" in result.detail["message"]


# -- think ------------------------------------------------------------------------


WRITER = Reasoner("it_writer", "model-x")
COUNTER = Reasoner("it_counter", "model-x", reply=int)


def test_think_with_sync_and_async_fakes() -> None:
    seen: list[Any] = []

    def sync_fake(prompt: Any) -> str:
        seen.append(prompt)
        return f"draft of {prompt}"

    async def async_fake(prompt: Any) -> int:
        await asyncio.sleep(0)
        return len(prompt)

    flow = think(WRITER) >> think(COUNTER)
    result = run(flow, "topic", reasoners={"it_writer": sync_fake, "it_counter": async_fake},
                 reasoner_defs=[WRITER, COUNTER])
    assert seen == ["topic"]
    assert result.value == len("draft of topic")


def test_think_reply_is_type_checked() -> None:
    d = deploy(think(COUNTER), tools=[], reasoners=[COUNTER])
    result = d.dry_run("x", reasoners={"it_counter": lambda p: "not an int"})
    assert result.status == "failed"
    assert isinstance(result.error, StepTypeError)
    assert result.error.step == "it_counter"


def test_missing_reasoner_fakes_are_listed_all_at_once() -> None:
    third = Reasoner("it_third", "m")
    flow = think(WRITER) >> par(think(COUNTER), think(third))
    d = deploy(flow, tools=[], reasoners=[WRITER, COUNTER, third])
    with pytest.raises(MissingFakeError) as info:
        d.dry_run("x", reasoners={"it_writer": lambda p: p})
    message = str(info.value)
    assert "'it_counter'" in message and "'it_third'" in message and "'it_writer'" not in message


# -- sub ----------------------------------------------------------------------------


def test_sub_runs_a_named_flow() -> None:
    (inc >> double).named("it.child.sync.v1")
    (call("it_async_tool") >> inc).named("it.child.async.v1")
    assert run(inc >> sub("it.child.sync.v1"), 1).value == 6
    result = run(sub("it.child.async.v1") >> inc, 1)
    assert result.value == 102
    events = result.projection.by_activation()
    assert events["$.0"]["sub"] == "it.child.async.v1"
    # the child runs opaquely: its steps are not events of the parent
    assert set(events) == {"$", "$.0", "$.1"}


# -- unsupported ops ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("node", "op_name"),
    [
        # A session loop is driven turn by turn by a SessionHandle, never by the
        # flow interpreter; every other op runs (stage/app via the agent runtime).
        (Loop(body=Arr(pure="it.inc")), "loop"),
        (Seq(steps=(Arr(pure="it.inc"), Loop(body=Arr(pure="it.inc")))), "loop"),
        (Par(branches=(Arr(pure="it.inc"), Loop(body=Arr(pure="it.inc"))), merge=Merge.RACE), "loop"),
    ],
)
async def test_unsupported_ops_raise_not_implemented_naming_the_op(node: Any, op_name: str) -> None:
    with pytest.raises(NotImplementedError, match=op_name) as info:
        await interpret(node, 1, InMemoryEnv())
    assert isinstance(info.value, UnsupportedOpError)


def test_unsupported_op_through_dry_run() -> None:
    d = deploy(Loop(body=Arr(pure="it.inc")), tools=[], reasoners=[WRITER])
    with pytest.raises(NotImplementedError, match="loop"):
        d.dry_run("x")


def test_stage_runs_through_the_agent_runtime() -> None:
    d = deploy(stage(WRITER), tools=[], reasoners=[WRITER])
    plan = {"op": "arr", "pure": "it.inc"}
    result = d.dry_run(41, reasoners={"it_writer": lambda p: plan})
    assert result.status == "ok", result.detail
    assert result.value == 42


# -- interpret() directly ----------------------------------------------------------


async def test_interpret_with_in_memory_env_and_catalog() -> None:
    calls: list[Any] = []

    async def lookup(x: Any) -> Any:
        calls.append(x)
        return {"found": x}

    reg = Registry()
    reg.register_pure("it.local.wrap", lambda v: [v])
    node = seq(arr("it.local.wrap"), each(call("it_lookup_fake")), think("it_local_r")).to_ir()
    env = InMemoryEnv(tools={"it_lookup_fake": lookup}, reasoners={"it_local_r": lambda v: {"reply": v}})
    rec = Recorder()
    out = await interpret(node, "q", env, catalog=Catalog(registry=reg), recorder=rec, run_id="R")
    assert out == {"reply": [{"found": "q"}]}
    assert calls == ["q"]
    assert [c.idempotency_key for c in env.calls] == ["R:$.1.0[0]"]
    assert len(rec.projection()) == 5


# -- projection -------------------------------------------------------------------


def test_projection_has_one_event_per_activation_with_causes_and_parents() -> None:
    flow = inc >> par(double, call("it_async_tool")) >> each(inc)
    result = run(flow, 1)
    assert result.value == [5, 201]
    events = result.projection.events
    activations = [e["activation"] for e in events]
    assert len(activations) == len(set(activations))
    by = result.projection.by_activation()
    assert set(by) == {"$", "$.0", "$.1", "$.1.0", "$.1.1", "$.2", "$.2.0[0]", "$.2.0[1]"}
    assert by["$"]["parent"] is None and by["$"]["causes"] == []
    assert by["$.0"]["parent"] == "$" and by["$.0"]["causes"] == ["$"]
    assert by["$.1"]["causes"] == ["$.0"]
    assert by["$.2"]["causes"] == ["$.1"]
    assert by["$.1.0"]["parent"] == "$.1" and by["$.1.0"]["causes"] == ["$.1"]
    assert by["$.1.1"]["causes"] == ["$.1"]
    assert by["$.2.0[1]"]["parent"] == "$.2" and by["$.2.0[1]"]["causes"] == ["$.2"]
    assert by["$.1"]["op"] == "par" and by["$.1"]["shape"] == "Dataflow"
    assert by["$.1.1"]["op"] == "prim" and by["$.1.1"]["label"] == "it_async_tool"
    comparable = result.projection.comparable()
    assert comparable["$.2.0[1]"]["input"] == 200 and comparable["$.2.0[1]"]["output"] == 201
    assert comparable["$"]["input"] == 1 and comparable["$"]["output"] == [5, 201]
    values = result.projection.values
    assert values[by["$.0"]["output"]] == 2


def test_projection_can_be_turned_off() -> None:
    result = run(inc >> double, 1, projection=False)
    assert result.value == 4
    assert len(result.projection) == 0


def test_dry_run_runs_inside_a_running_event_loop() -> None:
    async def main() -> Any:
        return deploy(call(it_async_tool) >> inc, tools=TOOLS, reasoners=[]).dry_run(1).value

    assert asyncio.run(main()) == 101


# -- known bugs (reported; strict xfail so a fix turns them into real tests) --------


def test_typed_reducer_boundary_is_checked() -> None:
    result = deploy(each(arr("std.init", key="k"), reducer="it.total"), tools=[], reasoners=[]).dry_run([1, 2])
    assert result.status == "failed"
    assert isinstance(result.error, StepTypeError)
    assert result.error.step == "it.total"


def test_typed_predicate_boundary_is_checked() -> None:
    result = deploy(alt("it.is_even", inc, double), tools=[], reasoners=[]).dry_run("text")
    assert isinstance(result.error, StepTypeError)


def test_bounded_projection_is_scheduling_independent() -> None:
    async def jittery(x: int) -> int:
        for _ in range(x % 4):
            await asyncio.sleep(0)
        return x

    node = each(call("it_async_tool")).to_ir()
    kept = set()
    for seed in range(6):
        rec = Recorder(max_events=5)
        env = InMemoryEnv(tools={"it_async_tool": jittery}, seed=seed)
        asyncio.run(interpret(node, list(range(10)), env, recorder=rec))
        kept.add(tuple(sorted(rec.projection().comparable())))
    assert len(kept) == 1
