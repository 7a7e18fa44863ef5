"""Agents, sessions and human gates on a real server (one in-process worker with a scripted LLM)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

pytest.importorskip("temporalio")

import durable_app
import pytest_asyncio

from composable_agents import Agent, AgentConfig, app, arr, deploy, seq, sub
from composable_agents.agents.plans import agent_trace
from composable_agents.authoring.leaves import Reasoner
from composable_agents.errors import ChannelFull, IdempotencyConflict, SessionClosed
from composable_agents.temporal import GateNotOpen, answer_gate, gate_projection, list_open_gates
from composable_agents.temporal.client import run_deployment, start_deployment
from composable_agents.temporal.worker import build_worker

pytestmark = pytest.mark.asyncio(loop_scope="module")

QUEUE = "ca-durable-agents"
CTRL = Reasoner("dur_ctrl", "fake")
SCRIPT: list[dict[str, Any]] = [
    {"action": "call", "tool": "dur_lookup", "input": "a"},
    {"action": "call", "tool": "rm_rf", "input": "/"},  # hallucinated: denied, never executed
    {"action": "call", "tool": "dur_lookup", "input": "b"},
    {"action": "call", "tool": "dur_lookup", "input": "c"},
    {"action": "call", "tool": "dur_lookup", "input": "d"},
]
PROMPTS: list[Any] = []


def controller(view: Any) -> Any:
    PROMPTS.append(view)
    n = len(view["trace"])
    if n < len(SCRIPT):
        return SCRIPT[n]
    return {"action": "finish", "value": {"rounds": n, "last": view["last"]}}


async def fake_llm(reasoner: Any, value: Any) -> Any:
    assert reasoner.name == "dur_ctrl"
    return controller(value)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(server: Any) -> AsyncIterator[Any]:
    import os
    import tempfile

    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "store.sqlite")
    durable_app.init_store(path)
    os.environ["CA_DURABLE_STORE"] = path
    c = await server.client()
    worker = build_worker(
        c, task_queue=QUEUE, llm=fake_llm, sticky_queue_schedule_to_start_timeout=timedelta(seconds=1)
    )
    async with worker:
        yield c


async def _first_run_continued_as_new(client: Any, workflow_id: str) -> bool:
    """True when the first run of ``workflow_id`` ended by continuing as new."""
    from temporalio.api.enums.v1 import EventType

    desc = await client.get_workflow_handle(workflow_id).describe()
    first = client.get_workflow_handle(workflow_id, run_id=desc.raw_description.workflow_execution_info.first_run_id)
    history = await first.fetch_history()
    return bool(history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW)


def _sid(name: str) -> str:
    return f"dur-{name}-{uuid.uuid4().hex[:8]}"


# -- agents --------------------------------------------------------------------------------------


async def test_agent_continues_as_new_and_keeps_trace_and_counters(client: Any) -> None:
    flow = app(CTRL, tools=[durable_app.dur_lookup], max_rounds=12, budget={"cost": 1.0})
    dep = deploy(flow)
    PROMPTS.clear()
    local = dep.dry_run("go", reasoners={"dur_ctrl": controller})
    local_prompts = list(PROMPTS)
    PROMPTS.clear()
    durable_app.LOOKUPS.clear()
    durable = await run_deployment(dep, client, session_id=_sid("agent"), input="go", task_queue=QUEUE,
                                   agent_config=AgentConfig(continue_as_new_after=2))
    assert durable.status == "ok", durable.detail
    assert durable.segments == 3  # rounds 0-1, 2-3, 4-5: two continue-as-new
    assert durable.raw_value == local.raw_value == {"rounds": 5, "last": "found:d"}
    # every round saw exactly what it sees locally: the same input, trace and last observation
    assert PROMPTS == local_prompts
    trace = agent_trace(durable)
    assert trace == agent_trace(local)
    assert [e["round"] for e in trace] == [0, 1, 2, 3, 4, 5]
    denied = trace[1]
    assert denied["status"] == "denied" and denied["observation"]["reason"] == "not_granted"
    assert PROMPTS[2]["last"] == denied["observation"]  # the denial crossed the continue-as-new
    assert durable_app.LOOKUPS == ["a", "b", "c", "d"]  # the hallucinated tool never ran
    guard = [e for e in durable.projection.events if e.get("denied")]
    assert len(guard) == 1 and guard[0]["name"] == "rm_rf"
    (final,) = [e for e in durable.projection.events if e["op"] == "app" and e.get("status") == "ok"]
    assert final["rounds"] == 6
    assert durable.usage == local.usage
    assert await _first_run_continued_as_new(client, durable.run_id)


async def test_agent_budget_is_checked_across_segments(client: Any) -> None:
    flow = app(CTRL, tools=[durable_app.dur_lookup], max_rounds=12, budget={"cost": 0.0035})
    dep = deploy(flow)
    local = dep.dry_run("go", reasoners={"dur_ctrl": controller})
    durable = await run_deployment(dep, client, session_id=_sid("budget"), input="go", task_queue=QUEUE,
                                   agent_config=AgentConfig(continue_as_new_after=1))
    assert local.status == durable.status == "over_budget"
    assert durable.detail["rounds"] == local.detail["rounds"] == 3
    assert durable.detail["trace"] == local.detail["trace"]


async def test_agent_reached_through_sub_runs_as_a_child_agent_workflow(client: Any) -> None:
    inner = app(CTRL, tools=[durable_app.dur_lookup], max_rounds=12).named("dur.agent.v1")
    dep = deploy(seq(arr("dur.tag"), sub(inner)))
    wid = _sid("parent")
    durable = await run_deployment(dep, client, session_id=wid, input="go", task_queue=QUEUE,
                                   agent_config=AgentConfig(continue_as_new_after=3))
    assert durable.status == "ok", durable.detail
    assert durable.raw_value == {"rounds": 5, "last": "found:d"}
    desc = await client.get_workflow_handle(f"{wid}/$.1").describe()
    assert desc.workflow_type == "AgentWorkflow"
    assert await _first_run_continued_as_new(client, f"{wid}/$.1")


# -- human gates ---------------------------------------------------------------------------------


async def test_open_gates_lists_exactly_the_parked_gate_and_answer_gate_decides_it(client: Any) -> None:
    wid = _sid("gate")
    handle = await start_deployment(deploy(durable_app.GATED), client, session_id=wid, input="v", task_queue=QUEUE)
    for _ in range(300):
        gates = await list_open_gates(client, wid)
        if gates:
            break
        await asyncio.sleep(0.02)
    assert gates == ["$.1"]  # the gate's activation, never the enclosing seq
    projection = await gate_projection(client, wid)
    assert projection["pending"]
    with pytest.raises(GateNotOpen):
        await answer_gate(client, wid, "$.0", approved=True)
    await answer_gate(client, wid, "$.1", approved=True, by="ana", reason="looks right")
    result = await handle.result()
    assert result.status == "ok" and result.raw_value == "<<v>>"
    assert await list_open_gates(client, wid) == []


async def test_a_rejected_gate_ends_the_run_rejected(client: Any) -> None:
    wid = _sid("gate-no")
    handle = await start_deployment(deploy(durable_app.GATED), client, session_id=wid, input="v", task_queue=QUEUE)
    for _ in range(300):
        if await list_open_gates(client, wid):
            break
        await asyncio.sleep(0.02)
    await answer_gate(client, wid, "$.1", approved=False, by="bo", reason="no")
    result = await handle.result()
    assert result.status == "rejected"
    assert result.detail["approved"] is False and result.detail["by"] == "bo" and result.detail["input"] == "<v>"


# -- sessions ------------------------------------------------------------------------------------


async def _collect(handle: Any, timeout_s: float = 30) -> list[Any]:
    async def go() -> list[Any]:
        return [e async for e in handle.events()]

    return await asyncio.wait_for(go(), timeout_s)


async def test_session_turns_idempotent_resend_continue_as_new_and_close(client: Any) -> None:
    chat = Agent("dur.chat")
    handle = await chat.open(session=durable_app.CHAT, backend="temporal", client=client, task_queue=QUEUE,
                             session_id=_sid("chat"), continue_as_new_after=2)
    ack1 = await handle.send("hello", idempotency_key="k1")
    ack2 = await handle.send("again", idempotency_key="k2")
    assert ack1 == {"accepted": True, "channel": "in", "position": 0, "key": "k1"}
    assert ack2["position"] == 1
    assert await handle.send("hello", idempotency_key="k1") == ack1  # same key + payload: same ack
    with pytest.raises(IdempotencyConflict):
        await handle.send("something else", idempotency_key="k1")
    await handle.drain()
    state = await handle.state()
    assert state["carrier"] == {"n": 2, "history": ["hello", "again"]}
    assert state["segment"] == 0
    await handle.send("third", idempotency_key="k3")  # the third turn runs in a new segment
    await handle.drain()
    state = await handle.state()
    assert state["segment"] == 1 and state["turns"] == 3
    assert state["carrier"] == {"n": 3, "history": ["hello", "again", "third"]}
    assert await handle.send("hello", idempotency_key="k1") == ack1  # acks survive continue-as-new
    final = await handle.close()
    assert final["closed"] == "closed"
    events = await _collect(handle)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.payload for e in events if e.is_emit] == ["#1: hello", "#2: again", "#3: third"]
    assert [(e.turn, e.index) for e in events if e.is_turn] == [
        ("started", 0), ("done", 0), ("started", 1), ("done", 1), ("started", 2), ("done", 2)
    ]
    assert events[-1].is_closed and events[-1].reason == "closed"
    with pytest.raises(SessionClosed):
        await handle.send("late", idempotency_key="k9")
    assert await _first_run_continued_as_new(client, handle.session_id)


async def test_session_channel_full_and_tool_turns(client: Any) -> None:
    chat = Agent("dur.slowchat", tools=[durable_app.dur_apply])
    handle = await chat.open(session=durable_app.SLOW_CHAT, backend="temporal", client=client, task_queue=QUEUE,
                             session_id=_sid("slow"), capacity=1)
    await handle.send("m1")
    for _ in range(200):  # wait until turn 0 took m1 (the inbox is empty again)
        st = await handle.state()
        if st["busy"]:
            break
        await asyncio.sleep(0.01)
    await handle.send("m2")
    with pytest.raises(ChannelFull):
        await handle.send("m3")
    await handle.drain()
    await handle.close()
    events = await _collect(handle)
    assert [e.payload for e in events if e.is_emit] == ["applied:m1", "applied:m2"]
    assert not [e for e in events if e.is_error]


async def test_a_failing_turn_is_an_error_event_and_keeps_the_carrier(client: Any) -> None:
    handle = await Agent("dur.failchat").open(session=durable_app.CHAT, backend="temporal", client=client,
                                              task_queue=QUEUE, session_id=_sid("fail"))
    await handle.send("ok")
    await handle.send("boom")
    await handle.send("after")
    await handle.drain()
    state = await handle.state()
    await handle.close()
    events = await _collect(handle)
    assert state["carrier"] == {"n": 2, "history": ["ok", "after"]} and state["closed"] is None
    (error,) = [e for e in events if e.is_error]
    assert error.index == 1 and not error.fatal and "failed on purpose" in (error.reason or "")
    assert [e.payload for e in events if e.is_emit] == ["#1: ok", "#2: after"]
    assert events[-1].is_closed


async def test_an_agent_session_runs_the_agent_once_per_message(client: Any) -> None:
    agent = Agent("dur.session.agent", reasoner=CTRL, tools=[durable_app.dur_lookup], max_rounds=12)
    handle = await agent.open(backend="temporal", client=client, task_queue=QUEUE, session_id=_sid("agent-sess"))
    await handle.send("first")
    await handle.send("second")
    await handle.drain()
    await handle.close()
    events = await _collect(handle)
    emits = [e.payload for e in events if e.is_emit]
    assert emits == [{"rounds": 5, "last": "found:d"}] * 2
    assert not [e for e in events if e.is_error]


async def test_agent_and_session_histories_replay_deterministically(client: Any) -> None:
    from composable_agents.temporal.worker import build_replayer

    dep = deploy(app(CTRL, tools=[durable_app.dur_lookup], max_rounds=12))
    agent_run = await run_deployment(dep, client, session_id=_sid("replay-agent"), input="go", task_queue=QUEUE,
                                     agent_config=AgentConfig(continue_as_new_after=2))
    assert agent_run.status == "ok"
    handle = await Agent("dur.replay.chat").open(session=durable_app.CHAT, backend="temporal", client=client,
                                                 task_queue=QUEUE, session_id=_sid("replay-chat"),
                                                 continue_as_new_after=2)
    for i in range(3):
        await handle.send(f"m{i}", idempotency_key=f"k{i}")
    await handle.send("m0", idempotency_key="k0")
    await handle.close()
    replayer = build_replayer(task_queues=(QUEUE,))
    for wid in (agent_run.run_id, handle.session_id):
        history = await client.get_workflow_handle(wid).fetch_history()
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        assert result.replay_failure is None, (wid, result.replay_failure)
