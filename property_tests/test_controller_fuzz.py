"""Fuzzing the controller and planner boundaries (issue 7, "Bad input").

Arbitrary JSON replies from a controller or a planner must end as one valid
action/plan or a typed rejection: never an exception escaping the run, never a
call to a tool outside the grant. The module counts what it generated and
prints the figures (run with ``-s`` to see them); the last test asserts that
100% of ungranted call attempts were denied.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composable_agents import Reasoner, tool
from composable_agents.agents.agent import Agent
from composable_agents.authoring.kernel import stage
from composable_agents.core.codec import walk
from composable_agents.core.ir import App, CallStep, Each, EvalPlan, Loop, Prim
from composable_agents.errors import StagedPlanRejected
from composable_agents.execution import agent_runtime, interpreter
from composable_agents.execution.agent_loop import CallTool, ControllerError, parse_action
from composable_agents.execution.env import InMemoryEnv
from composable_agents.execution.interpreter import Catalog, interpret
from composable_agents.execution.staged import check_plan, plan_context

EXECUTED: list[str] = []
STATS = {"controller_replies": 0, "planner_replies": 0, "ungranted_attempts": 0, "ungranted_denied": 0,
         "valid_actions": 0, "plans_admitted": 0, "plans_rejected": 0,
         "plans_with_unfrozen_calls": 0, "unfrozen_plans_rejected": 0}


@tool(name="fz_read", effect="read")
def fz_read(q: str) -> str:
    EXECUTED.append("fz_read")
    return f"read {q}"


@tool(name="fz_note", effect="write", idempotent=True)
def fz_note(text: str) -> str:
    EXECUTED.append("fz_note")
    return "noted"


@tool(name="fz_secret", effect="read")
def fz_secret(q: str) -> str:  # exists, never granted
    EXECUTED.append("fz_secret")
    return "secret"


@tool(name="fz_wire", effect="dangerous")
def fz_wire(amount: int) -> str:  # granted but approval-required: the loop must never call it
    EXECUTED.append("fz_wire")
    return "wired"


GRANTED = {"fz_read", "fz_note"}
NAMES = ["fz_read", "fz_note", "fz_secret", "fz_wire", "made_up", "", "FZ_READ", "fz/read", "__human_gate__"]


@pytest.fixture(scope="module", autouse=True)
def wired() -> Iterator[None]:
    original = interpreter.Program._compile

    def _compile(self, node, nid, parent, prev):  # type: ignore[no-untyped-def]
        fn = agent_runtime.route(node)
        if fn is not None:
            return fn(self, node, nid, parent, prev)
        return original(self, node, nid, parent, prev)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(interpreter.Program, "_compile", _compile)
        yield
    print(f"\n[controller fuzz] {STATS}")


json_leaf = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8)
json_value = st.recursive(
    json_leaf,
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
    max_leaves=8,
)
action_like = st.fixed_dictionaries(
    {"action": st.sampled_from(["finish", "escalate", "call", "sub", "Call", "dance", ""])},
    optional={
        "tool": st.sampled_from(NAMES) | st.text(max_size=6) | json_leaf,
        "flow": st.sampled_from(["fz.child", "nope", ""]) | json_leaf,
        "input": json_value,
        "value": json_value,
        "reason": st.text(max_size=10) | json_leaf,
        "extra": json_value,
    },
)
call_like = st.fixed_dictionaries(
    {"action": st.just("call"), "tool": st.sampled_from(NAMES), "input": st.text(max_size=5) | json_value}
)
reply = action_like | call_like | call_like | json_value | st.text(max_size=30)

AGENT = Agent("fz.agent", tools=[fz_read, fz_note, fz_wire], max_rounds=4, mode="dev")
LENIENT = Agent("fz.agent.lenient", tools=[fz_read, fz_note, fz_wire], max_rounds=4, mode="dev", controller_mode="permissive")
STATUSES = {"ok", "escalated", "max_rounds", "controller_error", "over_budget"}


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(replies=st.lists(reply, min_size=1, max_size=5), lenient=st.booleans())
def test_controller_replies_end_in_a_status_and_never_widen_authority(replies: list[Any], lenient: bool) -> None:
    agent = LENIENT if lenient else AGENT
    mode = "permissive" if lenient else "strict"
    EXECUTED.clear()
    seen: list[int] = []

    def controller(value: Any) -> Any:
        seen.append(1)
        return replies[min(len(seen) - 1, len(replies) - 1)]

    with _quiet():
        result = agent.run("q", reasoners={agent.controller: controller})
    STATS["controller_replies"] += len(seen)
    assert result.status in STATUSES, (result.status, result.detail)
    assert set(EXECUTED) <= GRANTED  # never a tool outside the grant, never the approval tool
    for i in range(len(seen)):
        action = parse_action(replies[min(i, len(replies) - 1)], mode=mode)  # type: ignore[arg-type]
        if not isinstance(action, ControllerError):
            STATS["valid_actions"] += 1
        if isinstance(action, CallTool) and action.tool not in GRANTED:
            STATS["ungranted_attempts"] += 1
    from composable_agents.agents.plans import agent_trace

    trace = agent_trace(result)
    for entry in trace:
        act = entry["action"]
        if act["action"] == "call" and act["tool"] not in GRANTED:
            assert entry["status"] == "denied"
            STATS["ungranted_denied"] += 1


class _quiet:
    def __enter__(self) -> None:
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: object) -> None:
        self._cm.__exit__(*exc)


# -- the planner boundary ------------------------------------------------------------------

CTX = plan_context([fz_read, fz_note, fz_wire])
FROZEN = {"fz_read", "fz_note", "fz_wire"}


def _calls(doc: Any) -> set[str]:
    """Tool keys a plan document calls (any depth), as the planner wrote them."""
    found: set[str] = set()
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            step = item.get("step")
            if item.get("op") == "prim" and isinstance(step, dict) and step.get("kind") == "call":
                found.add(str(step.get("tool")))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found
PLAN_TOOLS = ["fz_read", "fz_note", "fz_secret", "fz_wire", "ghost", "read", "__recv__", "__human_gate__"]

leaf_plan = st.one_of(
    st.builds(lambda t: {"op": "prim", "step": {"kind": "call", "tool": t}}, st.sampled_from(PLAN_TOOLS)),
    st.builds(lambda r: {"op": "prim", "step": {"kind": "think", "reasoner": r}}, st.sampled_from(["ghost", "fz.planner"])),
    st.builds(lambda p: {"op": "arr", "pure": p}, st.sampled_from(["ca.plan.const", "no.pure"])),
    st.just({"op": "ident"}),
    st.just({"op": "eval_plan", "planner": "p"}),
    st.just({"op": "app", "controller": "c", "tools": ["fz_secret"]}),
)
plan = st.recursive(
    leaf_plan,
    lambda kids: st.one_of(
        st.builds(lambda s: {"op": "seq", "steps": s}, st.lists(kids, min_size=1, max_size=3)),
        st.builds(lambda b, m: {"op": "par", "merge": m, "branches": b}, st.lists(kids, min_size=1, max_size=3), st.sampled_from(["all", "race"])),
        st.builds(lambda b: {"op": "each", "body": b}, kids),
        st.builds(lambda b, n: {"op": "iter_up_to", "max": n, "body": b}, kids, st.integers(1, 3)),
        st.builds(lambda b: {"op": "loop", "body": b}, kids),
    ),
    max_leaves=6,
)


@settings(max_examples=1500, deadline=None)
@given(reply=plan | json_value | st.text(max_size=40))
def test_planner_replies_compile_or_reject_never_raise(reply: Any) -> None:
    STATS["planner_replies"] += 1
    node, diags = check_plan(reply, CTX)
    if _calls(reply) - FROZEN - {"__human_gate__"}:
        STATS["plans_with_unfrozen_calls"] += 1
        if node is None:
            STATS["unfrozen_plans_rejected"] += 1
    if node is None:
        STATS["plans_rejected"] += 1
        assert diags and all(d.blocking for d in diags)
        return
    STATS["plans_admitted"] += 1
    assert not diags
    for _nid, current, _parent in walk(node):
        assert not isinstance(current, Each | EvalPlan | App | Loop)
        if isinstance(current, Prim) and isinstance(current.step, CallStep) and not current.step.tool.startswith("__"):
            assert current.step.tool in {"fz_read", "fz_note", "fz_wire"}
            assert current.step.bind == CTX.exec_hash(current.step.tool)


@settings(max_examples=300, deadline=None)
@given(reply=plan)
def test_stage_runs_only_admitted_plans(reply: Any) -> None:
    EXECUTED.clear()
    planner = Reasoner(name="fz.planner", model="m")
    catalog = Catalog(tools={t.key: t.definition for t in (fz_read, fz_note, fz_wire)}, reasoners={"fz.planner": planner})
    env = InMemoryEnv(reasoners={"fz.planner": lambda v: reply})
    try:
        asyncio.run(interpret(stage(planner).to_ir(), "q", env, catalog=catalog))
    except StagedPlanRejected:
        assert EXECUTED == []
        return
    except Exception as exc:  # noqa: BLE001 - an admitted plan may still fail at run time (e.g. a gate with no responder)
        assert not isinstance(exc, AssertionError)
    assert set(EXECUTED) <= {"fz_read", "fz_note"}  # fz_wire needs a gate; fz_secret was never frozen


def test_every_ungranted_call_was_denied() -> None:
    print(f"\n[controller fuzz] {STATS}")
    assert STATS["controller_replies"] >= 1000
    assert STATS["planner_replies"] >= 1500
    assert STATS["ungranted_denied"] == STATS["ungranted_attempts"]
    assert STATS["ungranted_attempts"] > 0
    assert STATS["unfrozen_plans_rejected"] == STATS["plans_with_unfrozen_calls"] > 0
