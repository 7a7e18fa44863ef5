"""Human gates on the virtual clock, and the run-time approval guard."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from composable_agents import deploy, human_gate, par, seq, tool
from composable_agents.authoring.arrow import as_node
from composable_agents.errors import CapabilityDenied
from composable_agents.execution.env import InMemoryEnv, current_env, virtual_sleep
from composable_agents.execution.interpreter import Program, RunState
from composable_agents.execution.projection import Recorder

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

sent: list[Any] = []


@tool(name="gt_send", effect="dangerous", idempotency="required")
def send(x: Any) -> Any:
    sent.append(x)
    return {"sent": x}


def gated(**kw: Any) -> Any:
    return seq(human_gate("send it?", **kw), send)


def test_approval_passes_the_input_through() -> None:
    sent.clear()
    d = deploy(gated(timeout_s=60), mode="dev")
    for decision in (
        True,
        {"approved": True, "reason": None, "by": "ann"},
        lambda view: {"approved": True},
    ):
        result = d.dry_run("hello", gates=decision)
        assert result.status == "ok"
        assert result.value == {"sent": "hello"}
    assert sent == ["hello"] * 3
    gate_event = result.projection.by_activation()["$.0"]
    assert gate_event["gate"] == {"approved": True, "reason": None, "by": None}
    assert result.projection.value_of(gate_event["output"]) == "hello"


def test_rejection_ends_the_run_with_the_decision_record() -> None:
    sent.clear()
    d = deploy(gated(timeout_s=60), mode="dev")
    result = d.dry_run("hi", gates={"approved": False, "reason": "not today", "by": "bob"})
    assert result.status == "rejected"
    assert result.detail is not None
    assert result.detail["approved"] is False
    assert result.detail["reason"] == "not today"
    assert result.detail["by"] == "bob"
    assert result.detail["input"] == "hi"
    assert sent == []
    with pytest.raises(Exception, match="rejected"):
        _ = result.value


def test_no_responder_times_out_on_the_virtual_clock() -> None:
    d = deploy(gated(timeout_s=3600), mode="dev")
    result = d.dry_run("x")
    assert result.status == "timeout"
    assert result.detail == {
        "approved": False,
        "reason": "timeout",
        "by": None,
        "input": "x",
        "gate": "$.0",
    }


def test_a_responder_slower_than_the_timeout_times_out() -> None:
    async def slow(view: Any) -> Any:
        await virtual_sleep(120)
        return True

    d = deploy(gated(timeout_s=30), mode="dev")
    assert d.dry_run("x", gates=slow).status == "timeout"
    fast = d.dry_run("x", gates=lambda view: None)  # no decision at all
    assert fast.status == "timeout"


def test_on_reject_value_returns_the_decision_record() -> None:
    d = deploy(human_gate("ok?", timeout_s=5, on_reject="value"), mode="dev")
    rejected = d.dry_run({"a": 1}, gates={"approved": False, "reason": "no", "by": "c"})
    assert rejected.status == "ok"
    assert rejected.value == {"approved": False, "reason": "no", "by": "c", "input": {"a": 1}}
    timed_out = d.dry_run({"a": 1})
    assert timed_out.value == {
        "approved": False,
        "reason": "timeout",
        "by": None,
        "input": {"a": 1},
    }
    approved = d.dry_run({"a": 1}, gates=True)
    assert approved.value == {"a": 1}


def test_open_gates_are_listed_by_activation_while_waiting() -> None:
    seen: list[Any] = []

    async def responder(view: dict[str, Any]) -> Any:
        env = current_env()
        seen.append((view["activation"], view["prompt"], sorted(env.open_gates)))
        return True

    d = deploy(par(human_gate("a?", timeout_s=5), human_gate("b?", timeout_s=5)), mode="dev")
    result = d.dry_run(1, gates=responder)
    assert result.value == [1, 1]
    assert ("$.0", "a?", ["$.0", "$.1"]) in seen or ("$.0", "a?", ["$.0"]) in seen
    assert {s[0] for s in seen} == {"$.0", "$.1"}
    assert result.projection.pending() == []


def test_recorder_lists_pending_gates_mid_run() -> None:
    snapshots: list[list[str]] = []
    rec = Recorder()

    async def responder(view: Any) -> Any:
        snapshots.append(rec.projection().pending())
        return True

    program = Program(as_node(human_gate("wait", timeout_s=9)))
    state = RunState(InMemoryEnv(gates=responder), catalog=program.catalog, recorder=rec)
    assert asyncio.run(program.run(3, state)) == 3
    assert snapshots == [["$"]]
    assert rec.projection().pending() == []


# -- the run-time approval guard --------------------------------------------------------------


def run_strict(
    flow: Any, value: Any, gates: Any = None, *, strict: bool = True
) -> tuple[Any, Recorder]:
    program = Program(as_node(flow))
    rec = Recorder()
    state = RunState(InMemoryEnv(gates=gates), catalog=program.catalog, recorder=rec, strict=strict)
    return asyncio.run(program.run(value, state)), rec


def test_strict_guard_refuses_an_approval_tool_without_a_gate() -> None:
    sent.clear()
    with pytest.raises(CapabilityDenied, match="requires approval"):
        run_strict(send, "x")
    assert sent == []


def test_strict_guard_admits_after_an_approving_gate() -> None:
    sent.clear()
    out, _ = run_strict(gated(timeout_s=5), "x", gates=True)
    assert out == {"sent": "x"}


def test_strict_guard_refuses_after_a_rejection_returned_as_value() -> None:
    sent.clear()
    flow = seq(human_gate("ok?", timeout_s=5, on_reject="value"), send)
    with pytest.raises(CapabilityDenied):
        run_strict(flow, "x", gates=False)
    assert sent == []


def test_an_approval_in_one_par_branch_does_not_cover_a_sibling() -> None:
    sent.clear()
    flow = par(human_gate("ok?", timeout_s=5), send)
    with pytest.raises(CapabilityDenied):
        run_strict(flow, "x", gates=True)
    # after the par joins, the approval is on the path
    out, _ = run_strict(
        seq(par(human_gate("ok?", timeout_s=5), human_gate("2?", timeout_s=5)), send),
        "x",
        gates=True,
    )
    assert out == {"sent": ["x", "x"]}


def test_dev_dry_run_bypasses_and_says_so() -> None:
    sent.clear()
    d = deploy(send, mode="dev")
    result = d.dry_run("x")
    assert result.status == "ok"
    assert result.projection.by_activation()["$"]["approval_bypassed"] is True
    assert sent == ["x"]
