"""The bounded agent loop: protocol, budgets, rounds, denials, attenuation and the Agent facade."""

from __future__ import annotations

from typing import Any

import pytest

from composable_agents import Reasoner, tool
from composable_agents.agents.agent import Agent
from composable_agents.agents.plans import agent_trace
from composable_agents.authoring.kernel import seq
from composable_agents.core.ir import Ann
from composable_agents.errors import CompositionError
from composable_agents.execution.agent_loop import (
    CallSub,
    CallTool,
    ControllerError,
    Escalate,
    Finish,
    parse_action,
)


@tool(name="loop_lookup", effect="read", idempotent=True, ann=Ann(cost_usd=0.01))
def loop_lookup(ticket: str) -> dict[str, str]:
    return {"ticket": ticket, "queue": "billing"}


CALLS: list[str] = []


@tool(name="loop_refund", effect="write", idempotent=True)
def loop_refund(ticket: str) -> dict[str, str]:
    CALLS.append(ticket)
    return {"refunded": ticket}


@tool(name="loop_wire", effect="dangerous")
def loop_wire(amount: int) -> str:
    CALLS.append(f"wire:{amount}")
    return "sent"


@tool(name="loop_pricey", effect="read", ann=Ann(cost_usd=0.5))
def loop_pricey(q: str) -> str:
    CALLS.append(f"pricey:{q}")
    return "expensive answer"


@pytest.fixture(autouse=True)
def _reset() -> None:
    CALLS.clear()


def scripted(*replies: Any) -> tuple[Any, list[Any]]:
    """A fake controller answering ``replies`` in order; records every prompt it saw."""
    seen: list[Any] = []

    def controller(value: Any) -> Any:
        seen.append(value)
        return replies[min(len(seen) - 1, len(replies) - 1)]

    return controller, seen


# -- protocol ----------------------------------------------------------------------


def test_parse_action_accepts_exactly_the_four_actions() -> None:
    assert parse_action({"action": "finish", "value": [1]}) == Finish([1])
    assert parse_action({"action": "escalate", "reason": "r"}) == Escalate("r")
    assert parse_action({"action": "call", "tool": "t", "input": {"a": 1}}) == CallTool("t", {"a": 1})
    assert parse_action({"action": "sub", "flow": "f", "input": None}) == CallSub("f", None)


@pytest.mark.parametrize(
    "reply",
    [
        None,
        "finish",
        [],
        {"action": "finish"},
        {"action": "finish", "value": 1, "extra": 2},
        {"action": "call", "tool": "", "input": 1},
        {"action": "call", "tool": 3, "input": 1},
        {"action": "escalate", "reason": 5},
        {"action": "dance", "value": 1},
        {"action": "FINISH", "value": 1},
        '{"action": "finish", "value": 1}',
    ],
)
def test_strict_mode_rejects_everything_else(reply: Any) -> None:
    assert isinstance(parse_action(reply), ControllerError)


def test_permissive_mode_is_opt_in() -> None:
    assert parse_action('{"action": "FINISH"}', mode="permissive") == Finish(None)
    assert parse_action([{"action": "call", "tool": "t"}], mode="permissive") == CallTool("t", None)
    assert parse_action({"action": "finish", "value": 2, "why": "x"}, mode="permissive") == Finish(2)
    assert isinstance(parse_action("not json", mode="permissive"), ControllerError)


# -- the loop -------------------------------------------------------------------------


def test_round_input_shape_and_finish_value() -> None:
    agent = Agent("loop.basic", tools=[loop_lookup], max_rounds=4)
    ctrl, seen = scripted(
        {"action": "call", "tool": "loop_lookup", "input": "T-1"},
        {"action": "finish", "value": {"done": True}},
    )
    result = agent.run("T-1", reasoners={agent.controller: ctrl})
    assert result.status == "ok"
    assert result.value == {"done": True}
    assert seen[0] == {"input": "T-1", "trace": [], "last": None}
    assert seen[1]["last"] == {"ticket": "T-1", "queue": "billing"}
    assert seen[1]["trace"] == [
        {
            "round": 0,
            "action": {"action": "call", "tool": "loop_lookup", "input": "T-1"},
            "status": "ok",
            "observation": {"ticket": "T-1", "queue": "billing"},
        }
    ]
    trace = agent_trace(result)
    assert [e["action"]["action"] for e in trace] == ["call", "finish"]
    # the tool call was a real activation of the interpreter (cost recorded from the tool's Ann)
    labels = [e["label"] for e in result.projection.events]
    assert "loop_lookup" in labels
    assert result.cost == pytest.approx(0.01 + 2 * 0.001)


def test_invented_and_ungranted_tools_are_denied_and_fed_back() -> None:
    agent = Agent("loop.deny", tools=[loop_lookup], max_rounds=5)
    ctrl, seen = scripted(
        {"action": "call", "tool": "loop_refund", "input": "T-1"},  # exists, not granted
        {"action": "call", "tool": "made_up_tool", "input": 1},  # invented
        {"action": "sub", "flow": "no.such.flow", "input": 1},
        {"action": "finish", "value": "gave up"},
    )
    result = agent.run("T-1", reasoners={agent.controller: ctrl})
    assert result.value == "gave up"
    assert CALLS == []
    assert seen[1]["last"] == {"denied": True, "kind": "tool", "name": "loop_refund", "reason": "not_granted"}
    assert seen[2]["last"]["name"] == "made_up_tool"
    assert seen[3]["last"] == {"denied": True, "kind": "sub", "name": "no.such.flow", "reason": "not_granted"}
    statuses = [e["status"] for e in agent_trace(result)]
    assert statuses == ["denied", "denied", "denied", "ok"]
    denied = [e for e in result.projection.events if e.get("denied")]
    assert [e["name"] for e in denied] == ["loop_refund", "made_up_tool", "no.such.flow"]


def test_escalate_ends_with_status_and_reason() -> None:
    agent = Agent("loop.esc", tools=[loop_lookup])
    ctrl, _ = scripted({"action": "escalate", "reason": "needs a human"})
    result = agent.run("x", reasoners={agent.controller: ctrl})
    assert result.status == "escalated"
    assert result.detail is not None and result.detail["escalation"] == "needs a human"
    with pytest.raises(Exception, match="escalated"):
        _ = result.value


def test_max_rounds_bounds_the_loop() -> None:
    agent = Agent("loop.rounds", tools=[loop_lookup], max_rounds=3)
    ctrl, seen = scripted({"action": "call", "tool": "loop_lookup", "input": "again"})
    result = agent.run("x", reasoners={agent.controller: ctrl})
    assert result.status == "max_rounds"
    assert len(seen) == 3
    assert result.detail is not None and result.detail["rounds"] == 3 and len(result.detail["trace"]) == 3


def test_controller_error_is_a_status_not_an_exception() -> None:
    agent = Agent("loop.cerr", tools=[loop_lookup])
    ctrl, _ = scripted({"action": "finish", "value": 1, "note": "extra key"})
    result = agent.run("x", reasoners={agent.controller: ctrl})
    assert result.status == "controller_error"
    assert "unexpected note" in result.detail["error"]  # type: ignore[index]
    lenient = Agent("loop.cerr.permissive", tools=[loop_lookup], controller_mode="permissive")
    assert lenient.run("x", reasoners={lenient.controller: ctrl}).value == 1


# -- budgets ----------------------------------------------------------------------------


def test_over_budget_controller_call_is_never_made() -> None:
    agent = Agent("loop.budget0", tools=[loop_lookup], budget=0.0005)  # below one controller call (0.001)
    ctrl, seen = scripted({"action": "finish", "value": 1})
    result = agent.run("x", reasoners={agent.controller: ctrl})
    assert result.status == "over_budget"
    assert seen == []
    assert result.detail is not None and result.detail["before"] == "controller"


def test_budget_is_checked_before_each_action() -> None:
    agent = Agent("loop.budget1", tools=[loop_pricey], budget=0.1)
    ctrl, seen = scripted({"action": "call", "tool": "loop_pricey", "input": "q"}, {"action": "finish", "value": 1})
    result = agent.run("x", reasoners={agent.controller: ctrl})
    assert result.status == "over_budget"
    assert CALLS == []  # the $0.50 tool never ran
    assert len(seen) == 1
    assert result.detail["before"] == "tool:loop_pricey"  # type: ignore[index]


def test_budget_spend_accumulates_across_rounds() -> None:
    agent = Agent("loop.budget2", tools=[loop_lookup], budget={"cost": 0.025})
    ctrl, seen = scripted({"action": "call", "tool": "loop_lookup", "input": "q"})
    result = agent.run("x", reasoners={agent.controller: ctrl})
    # each round: controller 0.001 + lookup 0.01; the third round's lookup would exceed 0.025
    assert result.status == "over_budget"
    assert len(seen) == 3
    assert result.detail["spent"]["cost"] <= 0.025  # type: ignore[index]


def test_approval_tools_are_never_called_by_the_loop() -> None:
    agent = Agent("loop.approval", tools=[loop_wire], mode="dev")
    ctrl, seen = scripted({"action": "call", "tool": "loop_wire", "input": 100}, {"action": "finish", "value": 0})
    result = agent.run("x", reasoners={agent.controller: ctrl})
    assert result.value == 0
    assert CALLS == []
    assert seen[1]["last"]["reason"] == "approval_required"
    assert any(d.code == "CAP_APP_APPROVAL_TOOL" for d in agent.check())


# -- sub-agents and attenuation ---------------------------------------------------------


def test_sub_agent_tools_never_pass_up() -> None:
    refunds = Agent("loop.refunds", tools=[loop_refund], max_rounds=3)
    parent = Agent("loop.parent", tools=[loop_lookup, refunds], max_rounds=4)
    assert parent.tools == ("loop_lookup",)
    assert parent.subflows == ("loop.refunds",)
    parent_ctrl, parent_seen = scripted(
        {"action": "call", "tool": "loop_refund", "input": "T-9"},  # the child's tool: denied here
        {"action": "sub", "flow": "loop.refunds", "input": "T-9"},
        {"action": "finish", "value": "done"},
    )
    child_ctrl, child_seen = scripted(
        {"action": "call", "tool": "loop_refund", "input": "T-9"},
        {"action": "finish", "value": {"child": "ok"}},
    )
    result = parent.run(
        "T-9", reasoners={parent.controller: parent_ctrl, refunds.controller: child_ctrl}
    )
    assert result.value == "done"
    assert parent_seen[1]["last"]["reason"] == "not_granted"
    assert parent_seen[2]["last"] == {"child": "ok"}
    assert CALLS == ["T-9"]  # exactly once, through the sub-agent
    assert child_seen[0]["input"] == "T-9"


# -- construction -----------------------------------------------------------------------


def test_collisions_and_unnamed_flows_fail_at_construction() -> None:
    from composable_agents.core.pures import Registry

    @tool(name="loop_lookup_twin", effect="read")
    def twin(ticket: str) -> str:
        return ticket

    @tool(name="loop_lookup_twin", effect="write", registry=Registry())  # one key in two registries
    def other(ticket: int) -> str:
        return str(ticket)

    with pytest.raises(CompositionError, match="share the key"):
        Agent("loop.collide", tools=[twin, other])
    with pytest.raises(CompositionError, match="unnamed"):
        Agent("loop.unnamed", tools=[seq(loop_lookup, loop_lookup)])
    named = seq(loop_lookup, loop_lookup).named("loop_lookup")
    with pytest.raises(CompositionError, match="both a tool and a sub-flow"):
        Agent("loop.both", tools=[loop_lookup, named])
    with pytest.raises(CompositionError, match="reserved"):
        Agent("loop.reserved", tools=["__human_gate__"])


def test_with_tools_without_replace_are_affine() -> None:
    base = Agent("loop.base", tools=[loop_lookup], max_rounds=2)
    more = base.with_tools(loop_refund)
    assert more.tools == ("loop_lookup", "loop_refund")
    assert base.tools == ("loop_lookup",)
    assert more.ref is None and more.name.startswith("loop.base~")
    fewer = more.without("loop_lookup")
    assert fewer.tools == ("loop_refund",)
    renamed = base.replace(max_rounds=7, name="loop.base.v2")
    assert renamed.ref == "loop.base.v2" and renamed.max_rounds == 7
    with pytest.raises(CompositionError, match="unnamed"):
        Agent("loop.uses.derived", tools=[more])
    with pytest.raises(CompositionError, match="no capability"):
        base.without("nope")
    assert base.with_tools(loop_refund).name == more.name  # derived names are content hashes


def test_dev_mode_prod_gap_summary() -> None:
    agent = Agent("loop.dev", tools=[loop_wire], mode="dev")
    summary = agent.prod_gap_summary()
    assert "CAP_APP_APPROVAL_TOOL" in summary
    strict = agent.replace(mode="strict", name="loop.dev.strict")
    with pytest.raises(Exception, match="CAP_APP_APPROVAL_TOOL"):
        strict.deploy()


def test_llm_caller_receives_the_reasoner_definition() -> None:
    seen: list[Any] = []
    controller = Reasoner(name="loop.llm.controller", model="claude-haiku-4-5")

    def llm(reasoner: Any, value: Any) -> Any:
        seen.append((reasoner.name, reasoner.model))
        return {"action": "finish", "value": value["input"] * 2}

    agent = Agent("loop.llm", reasoner=controller, llm=llm)
    assert agent.run(21).value == 42
    assert seen == [("loop.llm.controller", "claude-haiku-4-5")]


def test_agent_is_an_arrow_lowering_to_app() -> None:
    agent = Agent("loop.arrow", tools=[loop_lookup], budget=0.5, max_rounds=3)
    doc = agent.to_json()
    assert doc["op"] == "app"
    assert doc["tools"] == ["loop_lookup"] and doc["budget"] == {"cost": 0.5} and doc["maxRounds"] == 3
    assert str(agent.surface_shape) == "Agent"


def test_real_usage_reported_by_the_controller_counts_against_the_budget() -> None:
    agent = Agent("loop.usage", tools=[loop_lookup], budget=0.05)
    ctrl, seen = scripted(
        {"action": "call", "tool": "loop_lookup", "input": "q", "__usage__": {"tokens": 10, "cost": 0.03}}
    )
    result = agent.run("x", reasoners={agent.controller: ctrl})
    # round 0 spends 0.03 + 0.01; round 1's controller reply spends 0.03 more, so its lookup is refused
    assert result.status == "over_budget"
    assert len(seen) == 2
    assert result.detail is not None and result.detail["before"] == "tool:loop_lookup"
    assert result.detail["spent"]["cost"] == pytest.approx(0.07)
    assert result.detail["spent"]["tokens"] == 20


async def test_arun_and_agent_as_a_sub_of_a_plain_flow() -> None:
    from composable_agents.authoring.kernel import call, sub
    from composable_agents.compiler.deploy import deploy

    inner = Agent("loop.inner", tools=[loop_lookup], max_rounds=3)
    ctrl, _ = scripted(
        {"action": "call", "tool": "loop_lookup", "input": "T-5"},
        {"action": "finish", "value": "inner done"},
    )
    result = await inner.arun("T-5", reasoners={inner.controller: ctrl})
    assert result.value == "inner done"

    outer = seq(call(loop_lookup), sub(inner))
    assert str(outer.closed_shape) == "Agent" and str(outer.surface_shape) == "Pipeline"
    dep = deploy(outer, tools=inner.tool_defs(), reasoners=inner.reasoner_defs())
    ctrl2, seen = scripted({"action": "finish", "value": "from the child"})
    out = dep.dry_run("T-6", reasoners={inner.controller: ctrl2})
    assert out.value == "from the child"
    assert seen[0]["input"] == {"ticket": "T-6", "queue": "billing"}


async def test_continue_as_new_segments_resume_the_same_loop() -> None:
    from composable_agents.errors import AgentContinue
    from composable_agents.execution.env import InMemoryEnv
    from composable_agents.execution.interpreter import Catalog, interpret

    agent = Agent("loop.segments", tools=[loop_lookup], max_rounds=9, budget=1.0)
    script = [{"action": "call", "tool": "loop_lookup", "input": f"T-{i}"} for i in range(5)]
    script.append({"action": "finish", "value": "five lookups"})
    catalog = Catalog(tools={"loop_lookup": loop_lookup.definition})

    async def run(every: int) -> tuple[Any, list[Any], int]:
        prompts: list[Any] = []

        def controller(view: Any) -> Any:
            prompts.append(view)
            return script[len(view["trace"])]

        class SegmentedEnv(InMemoryEnv):
            agent_continue_after = every

        resume: Any = None
        segments = 1
        while True:
            try:
                env = SegmentedEnv(reasoners={agent.controller: controller})
                out = await interpret(agent.to_ir(), "start", env, catalog=catalog, resume=resume)
                return out, prompts, segments
            except AgentContinue as more:  # the runner hands the state back itself, not via the input
                resume, segments = more.state["__agent_resume__"], segments + 1

    whole, whole_prompts, one = await run(0)
    split, split_prompts, many = await run(2)
    assert whole == split == "five lookups"
    assert one == 1 and many == 3  # rounds 0-1, 2-3, 4-5
    assert split_prompts == whole_prompts  # every round saw exactly the same input, trace and last
