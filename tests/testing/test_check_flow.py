"""check_flow on flows with planted bugs it must find, and on correct flows it must pass."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, Literal, TypedDict

import pytest
from hypothesis import strategies as st

from composable_agents import Reasoner, deploy, flow, pure, think, tool
from composable_agents.agents.agent import Agent
from composable_agents.authoring.derived import human_gate
from composable_agents.authoring.kernel import call, seq, stage
from composable_agents.testing import FlowCheckFailed, check_flow

SMALL = 40  # examples per property: enough to find every planted bug, fast on 2 cores

# -- an empty-list reply -----------------------------------------------------------------

tk_labels = Reasoner(name="tk_labels", model="fake", reply=list[str])


@pure("tk.first_label")
def tk_first_label(labels: list[str]) -> str:
    return labels[0]  # planted: the schema allows []


@pure("tk.first_or_none")
def tk_first_or_none(labels: list[str]) -> str:
    return labels[0] if labels else "none"


@flow
def tk_pick(text: str) -> str:
    return tk_first_label(think(tk_labels, text))


@flow
def tk_pick_safe(text: str) -> str:
    return tk_first_or_none(think(tk_labels, text))


def test_finds_the_empty_list_reply_and_shrinks_to_it() -> None:
    with pytest.raises(FlowCheckFailed) as info:
        check_flow(deploy(tk_pick, reasoners=[tk_labels]), st.text(max_size=8), max_examples=SMALL)
    err = info.value
    assert err.invariant == "no failure on valid replies"
    text = str(err)
    assert "tk_labels [reply, valid]: []" in text  # shrunk to the empty list
    assert "IndexError" in text
    assert 'input: ""' in text  # and the input shrunk to the simplest one


def test_passes_the_fixed_flow_and_reports_what_it_ran() -> None:
    report = check_flow(deploy(tk_pick_safe, reasoners=[tk_labels]), st.text(max_size=8), max_examples=SMALL)
    assert report.examples == SMALL
    assert set(report.statuses) <= {"ok", "failed"}
    assert report.statuses.get("ok", 0) > 0
    assert report.invalid_runs > 0  # off-schema replies were generated too (and ended in StepTypeError)


# -- an unhandled Literal variant -----------------------------------------------------------

Route = Literal["refund", "question", "spam"]


class Triage(TypedDict):
    route: Route
    note: str


tk_triage = Reasoner(name="tk_triage", model="fake", reply=Triage)
QUEUES = {"refund": "billing", "question": "support"}  # planted: no queue for "spam"


@pure("tk.queue_of")
def tk_queue_of(t: Triage) -> str:
    return QUEUES[t["route"]]


@flow
def tk_route(ticket: str) -> str:
    return tk_queue_of(think(tk_triage, ticket))


def test_finds_the_unhandled_literal_variant() -> None:
    with pytest.raises(FlowCheckFailed) as info:
        check_flow(deploy(tk_route, reasoners=[tk_triage]), st.just("ticket"), max_examples=SMALL)
    text = str(info.value)
    assert '"route":"spam"' in text
    assert "KeyError" in text


def test_inputs_default_to_the_flow_input_type() -> None:
    report = check_flow(deploy(tk_pick_safe, reasoners=[tk_labels]), max_examples=10)
    assert report.examples == 10


# -- an agent that loops until max_rounds on one reply shape ---------------------------------

tk_status = Reasoner(name="tk_status", model="fake", reply=Literal["done", "pending"])


@flow
def tk_poll(job: str) -> str:
    return think(tk_status, job)


TK_POLL = tk_poll.named("tk.poll")


def tk_waiting_controller(v: dict[str, object]) -> dict[str, object]:
    if v["last"] == "done":
        return {"action": "finish", "value": "finished"}
    # planted: on "pending" it polls again with the same input, forever
    return {"action": "sub", "flow": "tk.poll", "input": v["input"]}


def tk_bounded_controller(v: dict[str, object]) -> dict[str, object]:
    if v["last"] == "done" or len(v["trace"]) >= 2:  # type: ignore[arg-type]
        return {"action": "finish", "value": "finished"}
    return {"action": "sub", "flow": "tk.poll", "input": v["input"]}


tk_waiter = Agent("tk_waiter", reasoner=Reasoner("tk_waiter_ctl", "fake"), subflows=[TK_POLL], max_rounds=3)


def test_finds_the_agent_that_never_converges_on_one_reply_shape() -> None:
    with pytest.raises(FlowCheckFailed) as info:
        check_flow(tk_waiter, st.just("job-1"), reasoners={"tk_waiter_ctl": tk_waiting_controller}, max_examples=SMALL)
    assert info.value.invariant == "agent converges"
    assert 'tk_status [reply, valid]: "pending"' in str(info.value)


def test_passes_the_bounded_controller() -> None:
    report = check_flow(tk_waiter, st.text(max_size=4), reasoners={"tk_waiter_ctl": tk_bounded_controller}, max_examples=SMALL)
    assert report.statuses.get("ok", 0) > 0


# -- a generated controller: granted, ungranted, invented and malformed actions --------------

TK_TOOL_RUNS: list[str] = []


@tool(name="tk_lookup", effect="read", idempotent=True)
def tk_lookup(ticket: str) -> dict[str, str]:
    TK_TOOL_RUNS.append(ticket)
    return {"ticket": ticket, "queue": "billing"}


@tool(name="tk_secret", effect="read")
def tk_secret(q: str) -> str:
    TK_TOOL_RUNS.append("secret")
    return "secret"


tk_helper = Agent("tk_helper", reasoner=Reasoner("tk_helper_ctl", "fake"), tools=[tk_lookup], max_rounds=3)


def test_a_correct_agent_passes_against_every_kind_of_action() -> None:
    TK_TOOL_RUNS.clear()
    dep = tk_helper.deploy(tools=[tk_lookup, tk_secret])  # tk_secret exists but is not granted
    report = check_flow(dep, st.text(max_size=4), max_examples=60)
    # the generated controller finished, escalated, broke the protocol and ran out of rounds
    assert {"ok", "controller_error"} <= set(report.statuses)
    assert "secret" not in TK_TOOL_RUNS  # ungranted calls were denied, never run
    assert TK_TOOL_RUNS  # granted calls did run


# -- no approval-required body without a gate --------------------------------------------------

TK_SENT: list[str] = []


@tool(name="tk_send", effect="dangerous")
def tk_send(text: str) -> str:
    TK_SENT.append(text)
    return "sent"


tk_draft = Reasoner(name="tk_draft", model="fake")


def test_finds_a_dangerous_tool_that_ran_ungated_in_a_dev_deployment() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dep = deploy(seq(call(tk_send)), tools=[tk_send], mode="dev")
    with pytest.raises(FlowCheckFailed) as info:
        check_flow(dep, st.just("hello"), max_examples=5)
    assert info.value.invariant == "approval before dangerous tools"


def test_a_gated_dangerous_tool_passes_with_an_approver_and_times_out_without() -> None:
    dep = deploy(seq(human_gate("Send it?"), call(tk_send)), tools=[tk_send])
    approved = check_flow(dep, st.text(max_size=4), gates={"approved": True, "by": "qa"}, max_examples=10)
    assert approved.statuses == {"ok": 10}
    TK_SENT.clear()
    unanswered = check_flow(dep, st.text(max_size=4), max_examples=10)
    assert unanswered.statuses == {"timeout": 10}
    assert TK_SENT == []


# -- budgets ---------------------------------------------------------------------------------


def test_budgets_hold_under_a_capability_manifest() -> None:
    caps = {"tools": [{"name": "tk_upper", "maxCalls": 1}]}
    dep = deploy(seq(call(tk_upper), call(tk_upper)), tools=[tk_upper], capabilities=caps)
    report = check_flow(dep, st.text(max_size=3), max_examples=10)
    assert report.statuses == {"over_budget": 10}  # the ledger refused the second call


# -- staged plans ----------------------------------------------------------------------------

tk_planner = Reasoner(name="tk_planner", model="fake")


@tool(name="tk_upper", effect="read")
def tk_upper(text: str) -> str:
    return text.upper()


def test_a_staged_flow_passes_against_generated_plans() -> None:
    dep = deploy(seq(call(tk_upper), stage(tk_planner)), tools=[tk_upper, tk_send], reasoners=[tk_planner])
    TK_SENT.clear()
    report = check_flow(dep, st.text(max_size=4), max_examples=50)
    assert {"ok", "plan_rejected"} <= set(report.statuses)
    assert TK_SENT == []  # an ungated approval-required tool in a plan is rejected, never run


# -- escaped exceptions and determinism --------------------------------------------------------


def test_a_user_fake_that_raises_is_a_failed_run_not_an_escape() -> None:
    def broken(value: str) -> list[str]:
        raise RuntimeError("the fake itself is broken")

    with pytest.raises(FlowCheckFailed, match="RuntimeError: the fake itself is broken"):
        check_flow(deploy(tk_pick_safe, reasoners=[tk_labels]), st.just("x"), reasoners={"tk_labels": broken}, max_examples=3)


def test_finds_a_tool_whose_result_depends_on_scheduling() -> None:
    from composable_agents.authoring.kernel import par

    started: dict[str, list[str]] = {}

    def arrival(name: str) -> Any:
        async def fake(v: str, *, idempotency_key: str) -> str:
            run = idempotency_key.split(":", 1)[0]  # one order per run: the two seeds' runs differ
            started.setdefault(run, []).append(name)
            await asyncio.sleep(0)
            return "".join(started[run])

        return fake

    keys = [f"tk_branch{i}" for i in range(4)]
    branches = []
    for key in keys:

        @tool(name=key, effect="read")
        def branch(v: str) -> str:
            return v

        branches.append(branch)
    dep = deploy(par(*(call(b) for b in branches)), tools=branches)
    with pytest.raises(FlowCheckFailed) as info:
        check_flow(dep, st.just("x"), tools={k: arrival(k) for k in keys}, max_examples=5)
    assert info.value.invariant == "same result under another seed"


def test_rejects_inputs_that_are_not_a_strategy() -> None:
    with pytest.raises(TypeError, match="hypothesis strategy"):
        check_flow(deploy(tk_pick_safe, reasoners=[tk_labels]), ["not", "a", "strategy"])


async def test_check_flow_works_inside_a_running_event_loop() -> None:
    # An async test: the property runs in its own thread, so the lazy reply draws stay in one thread.
    with pytest.raises(FlowCheckFailed, match=r"tk_labels \[reply, valid\]: \[\]"):
        check_flow(deploy(tk_pick, reasoners=[tk_labels]), st.just("x"), max_examples=SMALL)
    report = check_flow(deploy(tk_pick_safe, reasoners=[tk_labels]), st.just("x"), max_examples=10)
    assert report.examples >= 1


def test_a_ledger_that_stops_counting_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # Plant the bug in the runtime itself: no ledger, so maxCalls is never enforced.
    from composable_agents.execution import local

    monkeypatch.setattr(local, "ledger_from_capabilities", lambda *a, **k: None)
    caps = {"tools": [{"name": "tk_upper", "maxCalls": 1}]}
    dep = deploy(seq(call(tk_upper), call(tk_upper)), tools=[tk_upper], capabilities=caps)
    with pytest.raises(FlowCheckFailed) as info:
        check_flow(dep, st.text(max_size=3), max_examples=5)
    assert info.value.invariant == "budget held"
    assert "maxCalls is 1" in str(info.value)


def test_an_agent_guard_that_never_refuses_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from composable_agents.execution.agent_loop import BudgetGuard

    pricey = Agent(
        "tk_pricey", reasoner=Reasoner("tk_pricey_ctl", "fake"), tools=[tk_lookup], budget=0.0025, max_rounds=6
    )
    report = check_flow(pricey, st.just("t"), max_examples=30)
    assert "over_budget" in report.statuses  # the guard refused the third controller call
    monkeypatch.setattr(BudgetGuard, "refuse", lambda self, **kw: None)
    with pytest.raises(FlowCheckFailed) as info:
        check_flow(pricey, st.just("t"), max_examples=30)
    assert info.value.invariant == "budget held"


def test_takes_an_arrow_and_hypothesis_settings() -> None:
    from hypothesis import settings

    report = check_flow(tk_pick_safe, st.text(max_size=3), settings=settings(max_examples=7, database=None))
    assert report.examples == 7
    assert report.run_seconds >= report.draw_seconds > 0


def test_a_blocked_deployment_is_refused_once_with_its_diagnostics() -> None:
    from composable_agents.errors import ValidationError

    dep = deploy(call(tk_send), tools=[tk_send], strict=False)  # APPROVAL_UNGATED: carried, refuses to run
    with pytest.raises(ValidationError, match="refuses to run"):
        check_flow(dep, st.just("x"))
