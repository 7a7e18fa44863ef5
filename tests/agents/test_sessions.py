"""Sessions: authoring, validation rules, idempotent send, events, state, capacity, close."""

from __future__ import annotations

from typing import Any

import pytest

from composable_agents import pure, tool
from composable_agents.agents.agent import Agent
from composable_agents.agents.sessions import (
    check_channel_placement,
    emit,
    loop,
    recv,
    scan,
    session,
    validate_session,
)
from composable_agents.authoring.kernel import alt, arr, call, par, seq
from composable_agents.errors import (
    ChannelFull,
    IdempotencyConflict,
    SessionClosed,
    SessionCompileError,
    SessionValidationError,
)
from composable_agents.execution.sessions import SessionEvent


@pure("sess.history_turn")
def history_turn(value: dict[str, Any]) -> list[Any]:
    history = [*value["carrier"], value["msg"]]
    return [history, f"#{len(history)}: {value['msg']}"]


@pure("sess.to_carrier")
def to_carrier(value: Any) -> Any:
    return value


@pure("sess.is_question")
def is_question(value: Any) -> bool:
    return str(value).endswith("?")


@tool(name="sess_shout", effect="read")
def sess_shout(value: dict[str, Any]) -> str:
    return str(value["msg"]).upper()


CHAT = scan(history_turn, init=[])


async def collect(handle: Any) -> list[SessionEvent]:
    return [ev async for ev in handle.events()]


# -- validation rules -------------------------------------------------------------------


def test_a_turn_must_pass_exactly_one_recv() -> None:
    with pytest.raises(SessionValidationError, match="exactly one recv; found 0"):
        loop(arr(to_carrier))
    with pytest.raises(SessionValidationError, match="exactly one recv; found 2"):
        loop(seq(recv(), recv()))


def test_recv_must_be_in_sequential_position() -> None:
    with pytest.raises(SessionValidationError, match="sequential position"):
        loop(par(recv(), arr(to_carrier)))
    with pytest.raises(SessionValidationError, match="sequential position"):
        loop(alt(is_question, recv(), recv()))
    with pytest.raises(SessionValidationError, match="emit runs before"):
        loop(seq(emit(), recv(), arr("ca.session.msg")))


def test_channels_only_inside_a_session_loop() -> None:
    assert check_channel_placement(seq(recv(), emit())) == ["$.0: __recv__ outside a session loop", "$.1: __emit__ outside a session loop"]
    with pytest.raises(SessionValidationError, match="may not use channels"):
        scan(seq(recv(), arr(history_turn)))
    assert validate_session(seq(recv(), emit())) != []  # not a loop at the root
    with pytest.raises(SessionValidationError, match="channel"):
        recv("__evil__")


def test_session_sugar_lifts_loop_carried_locals() -> None:
    @session(name="sess.counter")
    def counter(msg: str, count: int = 0, seen: list[str] = []) -> str:  # noqa: B006 - the initial carrier
        count += 1
        seen = [*seen, msg]
        if msg == "skip":
            return "skipped"
        return f"{msg} ({count})"

    node = counter.to_ir()
    assert node.OP == "loop" and node.init == {"count": 0, "seen": []}  # type: ignore[attr-defined]


def test_session_sugar_refuses_what_it_cannot_lift() -> None:
    total = 0

    with pytest.raises(SessionCompileError, match="use scan"):

        @session
        def captures(msg: str) -> int:
            return total + 1

    with pytest.raises(SessionCompileError, match="needs a default"):

        @session
        def no_default(msg: str, count: int) -> int:
            return count

    with pytest.raises(SessionCompileError, match="generator"):

        @session
        def gen(msg: str):  # type: ignore[no-untyped-def]
            yield msg

    with pytest.raises(SessionCompileError, match="not JSON"):

        @session
        def bad_default(msg: str, s: set[int] = {1}) -> int:  # noqa: B006
            return 1


# -- the local backend -------------------------------------------------------------------------


async def test_scan_threads_the_carrier_and_emits_outputs() -> None:
    handle = await Agent("sess.chat").open(session=CHAT)
    await handle.send("hi")
    await handle.send("there")
    await handle.drain()
    state = await handle.state()
    assert state["carrier"] == ["hi", "there"]
    assert state["pending"] == {"in": 0}
    assert state["projection"]["events"]
    await handle.close("bye")
    events = await collect(handle)
    assert [e.payload for e in events if e.is_emit] == ["#1: hi", "#2: there"]
    assert [(e.kind, e.turn) for e in events if e.is_turn] == [
        ("turn", "started"), ("turn", "done"), ("turn", "started"), ("turn", "done")
    ]
    assert events[-1].is_closed and events[-1].reason == "bye"
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    assert all(e.channel == "out" for e in events if e.is_emit)


async def test_send_is_idempotent_per_key() -> None:
    handle = await Agent("sess.idem").open(session=CHAT)
    first = await handle.send("hello", idempotency_key="m-1")
    again = await handle.send("hello", idempotency_key="m-1")
    assert again == first
    with pytest.raises(IdempotencyConflict):
        await handle.send("something else", idempotency_key="m-1")
    await handle.drain()
    assert (await handle.state())["carrier"] == ["hello"]  # delivered once
    await handle.close()
    # after close, a replayed key still returns its ack; a new message is refused
    assert await handle.send("hello", idempotency_key="m-1") == first
    with pytest.raises(SessionClosed):
        await handle.send("late")


async def test_channel_capacity_rejects_with_channel_full() -> None:
    handle = await Agent("sess.full").open(session=CHAT, capacity=2)
    await handle.send("a")
    await handle.send("b")
    with pytest.raises(ChannelFull, match="'in' is full"):
        await handle.send("c")
    assert (await handle.state())["pending"] == {"in": 2}
    assert handle.open_receives() == ["in"]
    await handle.drain()
    await handle.send("c")  # room again after the turns ran
    await handle.close()
    assert handle.open_receives() == []
    assert (await handle.state())["carrier"] == ["a", "b", "c"]


async def test_turn_errors_are_events_and_keep_the_carrier() -> None:
    @pure("sess.fragile")
    def fragile(value: dict[str, Any]) -> list[Any]:
        if value["msg"] == "boom":
            raise ValueError("bad message")
        return [value["carrier"] + 1, value["carrier"] + 1]

    handle = await Agent("sess.err").open(session=scan(fragile, init=0))
    for msg in ("ok", "boom", "ok"):
        await handle.send(msg)
    await handle.close("done")
    events = await collect(handle)
    errors = [e for e in events if e.is_error]
    assert len(errors) == 1 and not errors[0].fatal and "bad message" in str(errors[0].reason)
    assert [e.payload for e in events if e.is_emit] == [1, 2]
    assert (await handle.state())["carrier"] == 2


async def test_loop_with_tools_and_explicit_emits() -> None:
    body = seq(recv(), call(sess_shout), emit("shout"), arr(to_carrier))
    handle = await Agent("sess.tools", tools=[sess_shout]).open(session=loop(body, init=""))
    await handle.send("hey")
    await handle.close()
    events = await collect(handle)
    assert [(e.channel, e.payload) for e in events if e.is_emit] == [("shout", "HEY")]
    assert (await handle.state())["carrier"] == "HEY"


async def test_session_sugar_runs() -> None:
    @session(name="sess.counter.run")
    def counter(msg: str, count: int = 0) -> str:
        count += 1
        return f"{msg} ({count})"

    handle = await Agent("sess.sugar").open(session=counter)
    await handle.send("a")
    await handle.send("b")
    await handle.close()
    assert [e.payload for e in await collect(handle) if e.is_emit] == ["a (1)", "b (2)"]
    assert (await handle.state())["carrier"] == {"count": 2}


async def test_agent_without_session_runs_the_agent_per_message() -> None:
    agent = Agent("sess.agent", max_rounds=2)
    handle = await agent.open(reasoners={agent.controller: lambda v: {"action": "finish", "value": f"re: {v['input']}"}})
    await handle.send("q1")
    await handle.close()
    assert [e.payload for e in await collect(handle) if e.is_emit] == ["re: q1"]


async def test_unknown_backend_is_explicit() -> None:
    with pytest.raises(NotImplementedError, match="backend"):
        await Agent("sess.nobackend").open(session=CHAT, backend="cma")


async def test_async_turn_functions_and_fatal_channel_errors() -> None:
    @session(name="sess.async.turn")
    async def shout(msg: str, n: int = 0) -> str:
        n += 1
        return msg.upper() * n

    handle = await Agent("sess.async").open(session=shout)
    await handle.send("a")
    await handle.send("b")
    await handle.close()
    assert [e.payload for e in await collect(handle) if e.is_emit] == ["A", "BB"]

    # a turn whose recv reads another channel than the message arrived on is a fatal error
    from composable_agents.execution.interpreter import Catalog, Program
    from composable_agents.execution.sessions import SessionHandle, _SessionEnv

    body = seq(recv("side"), arr("ca.session.msg"))
    program = Program(body.to_ir(), Catalog(), root_id="$.0")
    broken = SessionHandle(program, None, "in", _SessionEnv())
    await broken.send("x")
    await broken.drain()
    events = await collect(broken)
    assert events[-1].is_closed and events[-2].is_error and events[-2].fatal
