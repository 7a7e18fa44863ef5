"""Retries only where the frozen contract allows; one idempotency key per activation, on every attempt."""

from __future__ import annotations

from typing import Any

import pytest

from composable_agents import Ann, call, deploy, each, seq, tool
from composable_agents.execution.env import current_env, virtual_sleep

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def flaky(name: str, failures: int, log: list[tuple[str, float]], **contract: Any) -> Any:
    """A tool failing ``failures`` times, logging (key, virtual time) per attempt."""

    def body(x: int, *, idempotency_key: str) -> int:
        log.append((idempotency_key, current_env().now()))
        if len(log) <= failures:
            msg = f"{name}: transient"
            raise ConnectionError(msg)
        return x + 1

    body.__name__ = name
    return tool(name=name, **contract)(body)


def test_read_tool_retries_with_backoff_and_the_same_key() -> None:
    log: list[tuple[str, float]] = []
    t = flaky("rt_read", 2, log, effect="read")
    result = deploy(t, mode="dev").dry_run(1, run_id="r1")
    assert result.status == "ok"
    assert result.value == 2
    assert log == [("r1:$", 0.0), ("r1:$", 1.0), ("r1:$", 3.0)]  # 1s, then 2s (backoff 2)


def test_non_idempotent_write_tool_gets_exactly_one_attempt() -> None:
    log: list[tuple[str, float]] = []
    t = flaky("rt_write", 1, log, effect="write")
    result = deploy(t, mode="dev").dry_run(1)
    assert result.status == "failed"
    assert len(log) == 1


def test_explicit_max_attempts_on_unsafe_tool_is_clamped_to_one() -> None:
    log: list[tuple[str, float]] = []
    t = flaky("rt_write_ann", 1, log, effect="write")
    flow = call(t, ann=Ann(max_attempts=4))
    with pytest.warns(UserWarning):
        d = deploy(flow, mode="dev")
    assert d.dry_run(1).status == "failed"
    assert len(log) == 1


@pytest.mark.parametrize("idem", ["native", "required"])
def test_idempotent_write_tool_retries_with_one_key(idem: str) -> None:
    log: list[tuple[str, float]] = []
    t = flaky(f"rt_idem_{idem}", 2, log, effect="write", idempotency=idem)
    result = deploy(t, mode="dev").dry_run(5, run_id="idem")
    assert result.value == 6
    assert {key for key, _ in log} == {"idem:$"}
    assert len(log) == 3


def test_ann_shapes_attempts_interval_and_backoff() -> None:
    log: list[tuple[str, float]] = []
    t = flaky("rt_shaped", 3, log, effect="read")
    flow = call(t, ann=Ann(max_attempts=4, retry_interval_s=0.5, backoff_rate=3.0))
    result = deploy(flow, mode="dev").dry_run(0)
    assert result.value == 1
    assert [at for _, at in log] == [0.0, 0.5, 2.0, 6.5]


def test_ann_max_attempts_bounds_a_read_tool() -> None:
    log: list[tuple[str, float]] = []
    t = flaky("rt_bounded", 10, log, effect="read")
    flow = call(t, ann=Ann(max_attempts=2))
    assert deploy(flow, mode="dev").dry_run(0).status == "failed"
    assert len(log) == 2


def test_timeout_bounds_each_attempt_on_the_virtual_clock() -> None:
    starts: list[float] = []

    @tool(name="rt_slow", effect="read")
    async def slow(x: int) -> int:
        starts.append(current_env().now())
        await virtual_sleep(10)
        return x

    flow = call(slow, ann=Ann(timeout_s=2, max_attempts=3, retry_interval_s=1, backoff_rate=1))
    result = deploy(flow, mode="dev").dry_run(0)
    assert result.status == "failed"
    assert "timed out" in result.detail["message"]  # type: ignore[index]
    assert starts == [0.0, 3.0, 6.0]  # 2s timeout + 1s pause, three times


def test_a_fast_enough_attempt_beats_its_timeout() -> None:
    @tool(name="rt_quick", effect="write")
    async def quick(x: int) -> int:
        await virtual_sleep(1)
        return x * 2

    result = deploy(call(quick, ann=Ann(timeout_s=2)), mode="dev").dry_run(4)
    assert result.value == 8


def test_keys_are_per_activation_and_stable_across_replays() -> None:
    seen: list[str] = []

    @tool(name="rt_keyed", effect="write", idempotency="required")
    def keyed(x: Any, *, idempotency_key: str) -> Any:
        seen.append(idempotency_key)
        return x

    flow = seq(keyed, each(keyed))
    d = deploy(flow, mode="dev")
    fake_input = [1, 2]
    first = d.dry_run(fake_input, run_id="wf-7")
    assert first.status == "ok"
    keys_once = list(seen)
    seen.clear()
    d.dry_run(fake_input, run_id="wf-7")
    assert seen == keys_once  # a replay hands every call the same key
    assert keys_once == ["wf-7:$.0", "wf-7:$.1.0[0]", "wf-7:$.1.0[1]"]


def test_fakes_and_bodies_receive_principal_when_they_declare_it() -> None:
    got: list[Any] = []

    @tool(name="rt_principal", effect="read")
    def who(x: int, *, principal: Any) -> int:
        got.append(principal)
        return x

    def fake(x: int, *, principal: Any, idempotency_key: str) -> int:
        got.append((principal, idempotency_key))
        return x

    d = deploy(who, mode="dev")
    assert d.dry_run(1, principal={"tenant": "t1"}).status == "ok"
    assert (
        d.dry_run(1, principal={"tenant": "t2"}, tools={"rt_principal": fake}, run_id="p").status
        == "ok"
    )
    assert got == [{"tenant": "t1"}, ({"tenant": "t2"}, "p:$")]


def test_real_io_in_a_body_holds_the_virtual_clock() -> None:
    import asyncio

    @tool(name="rt_real_io", effect="read")
    async def real_io(x: int) -> int:
        await asyncio.sleep(0.02)  # real waiting (a network call, say): no virtual time passes
        return x + 1

    result = deploy(call(real_io, ann=Ann(timeout_s=1, max_attempts=1)), mode="dev").dry_run(1)
    assert result.status == "ok"
    assert result.value == 2
