"""SPEC §22.6: one approval never covers a controller-chosen number of dangerous calls.

An agent may reach an approval-required tool only through a sub-flow that
gates it itself: statically (``APPROVAL_UNGATED`` under the agent's sub-flow)
and at run time (an approval before the agent does not flow into the
sub-flows the controller picks).
"""

from __future__ import annotations

from typing import Any

import pytest

from composable_agents import call, deploy, human_gate, seq, tool
from composable_agents.agents.agent import Agent
from composable_agents.errors import ValidationError
from composable_agents.execution.env import InMemoryEnv
from composable_agents.execution.interpreter import Catalog, interpret
from composable_agents.execution.projection import Recorder

WIRES: list[int] = []


@tool(name="tra_wire", effect="dangerous", idempotency="required")
def tra_wire(amount: int) -> str:
    WIRES.append(amount)
    return f"sent {amount}"


UNGATED = seq(call(tra_wire)).named("tra.ungated.wire")
GATED = seq(human_gate("wire this amount?"), call(tra_wire)).named("tra.gated.wire")


@pytest.fixture(autouse=True)
def _reset() -> None:
    WIRES.clear()


def _twenty_subs(flow_ref: str) -> Any:
    def controller(view: Any) -> Any:
        if len(view["trace"]) < 20:
            return {"action": "sub", "flow": flow_ref, "input": 1000 + len(view["trace"])}
        return {"action": "finish", "value": "done"}

    return controller


def test_a_gate_before_an_agent_does_not_cover_its_sub_flows_statically() -> None:
    agent = Agent("tra.agent.ungated", subflows=[UNGATED], max_rounds=30)
    with pytest.raises(ValidationError) as info:
        deploy(seq(human_gate("run the agent?"), agent), tools=[tra_wire])
    codes = [(d.code, d.node_id) for d in info.value.diagnostics]
    assert any(code == "APPROVAL_UNGATED" and nid.startswith("sub:tra.ungated.wire") for code, nid in codes), codes


def test_a_sub_flow_that_gates_itself_deploys() -> None:
    agent = Agent("tra.agent.gated", subflows=[GATED], max_rounds=30)
    d = deploy(seq(human_gate("run the agent?"), agent), tools=[tra_wire])
    assert d.diagnostics == ()


async def test_one_outer_approval_does_not_let_the_controller_wire_twenty_times() -> None:
    agent = Agent("tra.agent.runtime", subflows=[UNGATED], max_rounds=30)
    flow_ = seq(human_gate("run the agent?"), agent)
    catalog = Catalog(tools={"tra_wire": tra_wire.definition}, subflows={UNGATED.ref: UNGATED.to_ir()})  # type: ignore[dict-item]
    env = InMemoryEnv(reasoners={agent.controller: _twenty_subs("tra.ungated.wire")}, gates={"approved": True})
    out = await interpret(flow_.to_ir(), 0, env, catalog=catalog, strict=True)
    assert out == "done"
    assert WIRES == []  # every controller-chosen wire was refused: the outer approval covers none of them


async def test_a_non_strict_run_still_runs_them_as_bypasses() -> None:
    agent = Agent("tra.agent.dev", subflows=[UNGATED], max_rounds=30)
    flow_ = seq(human_gate("run the agent?"), agent)
    catalog = Catalog(tools={"tra_wire": tra_wire.definition}, subflows={UNGATED.ref: UNGATED.to_ir()})  # type: ignore[dict-item]
    env = InMemoryEnv(reasoners={agent.controller: _twenty_subs("tra.ungated.wire")}, gates={"approved": True})
    rec = Recorder()
    out = await interpret(flow_.to_ir(), 0, env, catalog=catalog, strict=False, recorder=rec)
    assert out == "done" and len(WIRES) == 20  # dev mode runs them (and says so); strict refuses all 20
    subs = [e for e in rec.projection().events if e.get("sub") == "tra.ungated.wire"]
    assert len(subs) == 20


async def test_a_self_gated_sub_flow_asks_once_per_call() -> None:
    agent = Agent("tra.agent.asks", subflows=[GATED], max_rounds=30)
    asked: list[Any] = []

    def approve(view: Any) -> Any:
        asked.append(view["prompt"])
        return {"approved": True}

    catalog = Catalog(tools={"tra_wire": tra_wire.definition}, subflows={GATED.ref: GATED.to_ir()})  # type: ignore[dict-item]
    env = InMemoryEnv(reasoners={agent.controller: _twenty_subs("tra.gated.wire")}, gates=approve)
    out = await interpret(seq(human_gate("run the agent?"), agent).to_ir(), 0, env, catalog=catalog, strict=True)
    assert out == "done" and len(WIRES) == 20
    assert asked.count("wire this amount?") == 20
