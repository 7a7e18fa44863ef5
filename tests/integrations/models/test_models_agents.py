"""Real-model agents: granted tools offered as provider tools, tool-use replies mapped to actions."""

from __future__ import annotations

from typing import Any

import pytest
from llm_server import LLMServer, anthropic_text, anthropic_tool, openai_tool

from composable_agents import tool
from composable_agents.agents.agent import Agent
from composable_agents.agents.plans import agent_trace
from composable_agents.authoring.leaves import Reasoner
from composable_agents.integrations.models import Router

CALLS: list[str] = []


@tool(name="ma_lookup", effect="read", idempotent=True)
def ma_lookup(ticket: str) -> dict[str, str]:
    """Look up a ticket by id.

    Returns its queue.
    """
    CALLS.append(f"lookup:{ticket}")
    return {"ticket": ticket, "queue": "billing"}


@tool(name="ma_refund", effect="write", idempotent=True)
def ma_refund(ticket: str, amount: int) -> str:
    """Refund an amount on a ticket."""
    CALLS.append(f"refund:{ticket}:{amount}")
    return "refunded"


@tool(name="ma_wire", effect="dangerous")
def ma_wire(amount: int) -> str:
    CALLS.append(f"wire:{amount}")
    return "sent"


CTL_A = Reasoner("ma_ctl_a", "anthropic:claude-haiku-4-5", system="Resolve the ticket.")
CTL_O = Reasoner("ma_ctl_o", "openai:gpt-4o-mini", system="Resolve the ticket.")


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


def test_the_controller_is_offered_granted_tools_finish_and_escalate(llm_server: LLMServer, llm: Router) -> None:
    agent = Agent("ma.offer", reasoner=CTL_A, tools=[ma_lookup, ma_refund], max_rounds=4)
    llm_server.script(
        "anthropic",
        anthropic_tool(("ma_lookup", {"input": "T-1"})),
        anthropic_tool(("ma_refund", {"ticket": "T-1", "amount": 20})),
        anthropic_tool(("finish", {"value": {"done": True}})),
    )
    result = agent.run("T-1", llm=llm)
    assert result.value == {"done": True}
    assert CALLS == ["lookup:T-1", "refund:T-1:20"]
    first = llm_server.bodies("anthropic")[0]
    tools = {t["name"]: t for t in first["tools"]}
    assert set(tools) == {"finish", "escalate", "ma_lookup", "ma_refund"}
    assert first["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    assert tools["ma_lookup"]["description"] == "Look up a ticket by id."
    # a one-argument tool's input schema is wrapped; a record tool's is its contract's input schema
    assert tools["ma_lookup"]["input_schema"] == {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}
    assert tools["ma_refund"]["input_schema"]["properties"] == {"ticket": {"type": "string"}, "amount": {"type": "integer"}}
    assert tools["escalate"]["input_schema"]["required"] == ["reason"]
    assert first["messages"] == [{"role": "user", "content": '{"input":"T-1","trace":[],"last":null}'}]
    # the next round's prompt holds the observation of the call
    second = llm_server.bodies("anthropic")[1]["messages"][0]["content"]
    assert '"last":{"ticket":"T-1","queue":"billing"}' in second
    assert [e["action"]["action"] for e in agent_trace(result)] == ["call", "call", "finish"]


def test_a_tool_never_offered_is_denied_and_fed_back(llm_server: LLMServer, llm: Router) -> None:
    agent = Agent("ma.deny", reasoner=CTL_O, tools=[ma_lookup], max_rounds=4)
    llm_server.script(
        "openai",
        openai_tool(("ma_wire", {"amount": 1000})),  # exists, never granted, never offered
        openai_tool(("rm_rf", {"path": "/"})),  # invented
        openai_tool(("finish", {"value": "gave up"})),
    )
    result = agent.run("T-2", llm=llm)
    assert result.value == "gave up"
    assert CALLS == []
    offered = [t["function"]["name"] for t in llm_server.bodies("openai")[0]["tools"]]
    assert "ma_wire" not in offered and "ma_lookup" in offered
    trace = agent_trace(result)
    assert [(e["status"], e["action"].get("tool")) for e in trace] == [
        ("denied", "ma_wire"),
        ("denied", "rm_rf"),
        ("ok", None),
    ]
    assert trace[0]["observation"] == {"denied": True, "kind": "tool", "name": "ma_wire", "reason": "not_granted"}
    denied = [e for e in result.projection.events if e.get("denied")]
    assert [e["name"] for e in denied] == ["ma_wire", "rm_rf"]
    body = llm_server.bodies("openai")[1]
    assert body["tool_choice"] == "required" and body["parallel_tool_calls"] is False
    assert '"reason":"not_granted"' in body["messages"][-1]["content"]


def test_escalate_maps_to_the_escalated_status(llm_server: LLMServer, llm: Router) -> None:
    agent = Agent("ma.esc", reasoner=CTL_A, tools=[ma_lookup])
    llm_server.script("anthropic", anthropic_tool(("escalate", {"reason": "angry customer"})))
    result = agent.run("T-3", llm=llm)
    assert result.status == "escalated"
    assert result.detail is not None and result.detail["escalation"] == "angry customer"


def test_no_tool_call_is_re_asked_once_then_controller_error(llm_server: LLMServer, llm: Router) -> None:
    agent = Agent("ma.none", reasoner=CTL_A, tools=[ma_lookup])
    llm_server.script("anthropic", anthropic_text("I think we should refund."), anthropic_text("Still thinking."))
    result = agent.run("T-4", llm=llm)
    assert result.status == "controller_error"
    assert len(llm_server.requests) == 2
    follow = llm_server.bodies("anthropic")[1]["messages"]
    assert follow[1] == {"role": "assistant", "content": [{"type": "text", "text": "I think we should refund."}]}
    assert follow[2]["role"] == "user" and "exactly one" in follow[2]["content"]
    assert CALLS == []


def test_several_tool_calls_are_re_asked_then_one_is_taken(llm_server: LLMServer, llm: Router) -> None:
    agent = Agent("ma.many", reasoner=CTL_A, tools=[ma_lookup], max_rounds=3)
    llm_server.script(
        "anthropic",
        anthropic_tool(("ma_lookup", {"input": "A"}), ("ma_lookup", {"input": "B"})),
        anthropic_tool(("finish", {"value": "one at a time"})),
    )
    result = agent.run("T-5", llm=llm)
    assert result.value == "one at a time"
    assert CALLS == []  # neither of the two calls ran
    (results,) = [m for m in llm_server.bodies("anthropic")[1]["messages"] if m["role"] == "user" and isinstance(m["content"], list)]
    assert [r["tool_use_id"] for r in results["content"]] == ["toolu_0", "toolu_1"]
    assert all(r["is_error"] for r in results["content"])


def test_several_calls_twice_is_a_controller_error(llm_server: LLMServer, llm: Router) -> None:
    agent = Agent("ma.many2", reasoner=CTL_O, tools=[ma_lookup])
    two = openai_tool(("ma_lookup", {"input": "A"}), ("finish", {"value": 1}))
    llm_server.script("openai", two, two)
    result = agent.run("T-6", llm=llm)
    assert result.status == "controller_error"
    assert result.detail is not None and result.detail["reply"]["calls"] == ["ma_lookup", "finish"]
    # OpenAI: the re-ask answers each call with a tool message
    tail = llm_server.bodies("openai")[1]["messages"][-2:]
    assert [m["role"] for m in tail] == ["tool", "tool"] and [m["tool_call_id"] for m in tail] == ["call_0", "call_1"]


def test_controller_usage_reaches_the_agent_budget(llm_server: LLMServer, llm: Router) -> None:
    agent = Agent("ma.budget", reasoner=CTL_A, tools=[ma_lookup], budget={"tokens": 500}, max_rounds=5)
    heavy = anthropic_tool(("ma_lookup", {"input": "T-7"}), input_tokens=350, output_tokens=130)
    llm_server.script("anthropic", heavy, anthropic_tool(("finish", {"value": "x"})))
    result = agent.run("T-7", llm=llm)
    assert result.status == "over_budget"
    assert result.detail is not None and result.detail["spent"]["tokens"] == 480
    assert result.detail["exceeded"] == "tokens" and result.detail["before"] == "controller"
    assert len(llm_server.requests) == 1  # the real 480 tokens leave too little for the next round's prompt
    controller_events = [e for e in result.projection.events if e.get("round") == 0 and "usage" in e]
    assert controller_events and controller_events[0]["usage"]["tokens"] == 480
    assert controller_events[0]["provider"] == "anthropic"


def test_agent_llm_given_at_construction(llm_server: LLMServer, llm: Router) -> None:
    agent = Agent("ma.ctor", reasoner=CTL_O, tools=[ma_lookup], llm=llm)
    llm_server.script("openai", openai_tool(("finish", {"value": 7})))
    assert agent.run("x").value == 7


def test_subflows_are_offered_with_a_prefix(llm_server: LLMServer, llm: Router) -> None:
    child = Agent("ma.child", reasoner=CTL_O, tools=[ma_lookup])
    parent = Agent("ma.parent", reasoner=CTL_A, tools=[child], max_rounds=3)
    llm_server.script("anthropic", anthropic_tool(("flow_ma_child", {"input": "T-8"})), anthropic_tool(("finish", {"value": "ok"})))
    llm_server.script("openai", openai_tool(("finish", {"value": {"child": "done"}})))
    result = parent.run("T-8", llm=llm)
    assert result.value == "ok"
    names = [t["name"] for t in llm_server.bodies("anthropic")[0]["tools"]]
    assert "flow_ma_child" in names
    assert llm_server.bodies("openai")[0]["messages"][-1]["content"] == '{"input":"T-8","trace":[],"last":null}'
    trace: list[Any] = agent_trace(result)
    assert trace[0]["action"] == {"action": "sub", "flow": "ma.child", "input": "T-8"}
    assert trace[0]["observation"] == {"child": "done"}
