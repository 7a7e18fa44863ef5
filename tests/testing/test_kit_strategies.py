"""The kit's strategies: replies from the reply schema, bad replies, controller actions, plans."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import version
from typing import Literal, TypedDict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composable_agents import Reasoner, deploy, tool
from composable_agents.agents.agent import Agent
from composable_agents.authoring.kernel import call, seq, stage
from composable_agents.core.schema import validator_for
from composable_agents.execution.agent_loop import ControllerError, parse_action
from composable_agents.testing import (
    action_is_valid,
    actions,
    bad_replies,
    plan_is_valid,
    plans,
    replies,
    reply_is_valid,
)
from composable_agents.testing.strategies import draft7


@dataclass
class Hit:
    title: str
    score: float
    kind: Literal["doc", "faq"]
    tags: list[str]


class Answer(TypedDict):
    hits: list[Hit]
    best: Hit | None
    pair: tuple[int, str]


class Tree(TypedDict):
    name: str
    kids: list[Tree]


ks_answer = Reasoner(name="ks_answer", model="fake", reply=Answer)
ks_text = Reasoner(name="ks_text", model="fake")


def test_installed_hypothesis_is_below_the_jsonschema_breakage() -> None:
    # hypothesis-jsonschema 0.23.1 breaks on object schemas from hypothesis 6.170.10 on; the extra pins below it.
    parts = tuple(int(p) for p in version("hypothesis").split(".")[:3])
    assert parts < (6, 170, 10)


@settings(max_examples=25, database=None)
@given(replies(ks_answer))
def test_replies_are_valid_for_the_reply_type_objects_nested_and_tuples(value: object) -> None:
    assert validator_for(Answer).is_valid(value)
    assert reply_is_valid(ks_answer, value)  # type: ignore[arg-type]
    json.dumps(value)  # JSON, nothing else


@settings(max_examples=25, database=None)
@given(bad_replies(ks_answer))
def test_bad_replies_are_rejected_by_the_reply_check(value: object) -> None:
    assert not validator_for(Answer).is_valid(value)


def test_replies_reach_every_literal_variant_and_the_empty_list() -> None:
    seen: set[str] = set()
    empty = False

    @settings(max_examples=150, database=None)
    @given(replies(Reasoner(name="ks_lit", model="fake", reply=list[Literal["a", "b", "c"]])))
    def collect(value: list[str]) -> None:
        nonlocal empty
        seen.update(value)
        empty = empty or value == []

    collect()
    assert seen == {"a", "b", "c"}
    assert empty


@settings(max_examples=30, database=None)
@given(replies(ks_text), bad_replies(ks_text))
def test_a_reasoner_without_a_reply_type_answers_text(good: object, bad: object) -> None:
    assert isinstance(good, str)
    assert not isinstance(bad, str)


def test_draft7_rewrites_tuples_only() -> None:
    schema = {"type": "array", "prefixItems": [{"type": "integer"}], "items": False, "minItems": 1}
    assert draft7(schema) == {"type": "array", "items": [{"type": "integer"}], "additionalItems": False, "minItems": 1}
    assert draft7({"type": "object", "properties": {"a": {"type": "string"}}}) == {
        "type": "object",
        "properties": {"a": {"type": "string"}},
    }


@tool(name="ks_lookup", effect="read", idempotent=True)
def ks_lookup(ticket: str) -> dict[str, str]:
    return {"ticket": ticket}


@tool(name="ks_other", effect="read")
def ks_other(q: str) -> str:
    return q


@tool(name="ks_send", effect="dangerous")
def ks_send(text: str) -> str:
    return "sent"


ks_agent = Agent("ks_agent", reasoner=Reasoner("ks_agent_ctl", "fake"), tools=[ks_lookup], max_rounds=3)


def test_actions_cover_granted_ungranted_invented_and_malformed() -> None:
    dep = ks_agent.deploy(tools=[ks_lookup, ks_other])
    app = dep.frozen.node
    kinds: set[str] = set()

    @settings(max_examples=120, database=None)
    @given(actions(dep))
    def collect(reply: object) -> None:
        action = parse_action(reply)
        if isinstance(action, ControllerError):
            kinds.add("malformed")
            assert not action_is_valid(app, reply)  # type: ignore[arg-type]
            return
        assert isinstance(reply, dict)
        name = reply.get("tool")
        if name == "ks_lookup":
            kinds.add("granted")
            assert isinstance(reply["input"], str)  # from the tool's input schema
            assert action_is_valid(app, reply)  # type: ignore[arg-type]
        elif name in dep.registry.tools:  # a real tool, just not granted (ks_other, or another registered one)
            kinds.add("ungranted")
            assert not action_is_valid(app, reply)  # type: ignore[arg-type]
        elif isinstance(name, str):
            kinds.add("invented")
            assert not action_is_valid(app, reply)  # type: ignore[arg-type]
        else:
            kinds.add(str(reply["action"]))

    collect()
    assert {"granted", "ungranted", "invented", "malformed", "finish", "escalate"} <= kinds


def test_plans_are_labelled_by_the_plan_checker() -> None:
    planner = Reasoner(name="ks_planner", model="fake")
    dep = deploy(seq(call(ks_other), stage(planner)), tools=[ks_other, ks_send], reasoners=[planner])
    labels = {True: 0, False: 0}
    sent_ungated = False

    @settings(max_examples=120, database=None)
    @given(plans(dep))
    def collect(reply: object) -> None:
        nonlocal sent_ungated
        ok = plan_is_valid(dep, reply)  # type: ignore[arg-type]
        labels[ok] += 1
        if reply == {"op": "prim", "step": {"kind": "call", "tool": "ks_send"}}:
            sent_ungated = True
            assert not ok  # approval-required, no gate before it

    collect()
    assert labels[True] > 10 and labels[False] > 10
    assert sent_ungated


@given(st.data())
@settings(max_examples=10, database=None)
def test_bad_replies_for_a_literal_are_off_the_enum(data: st.DataObject) -> None:
    r = Reasoner(name="ks_route", model="fake", reply=Literal["x", "y"])
    value = data.draw(bad_replies(r))
    assert value not in ("x", "y")


def test_hypothesis_jsonschema_generates_our_object_schemas_with_the_installed_hypothesis() -> None:
    # The fallback path (schemas with $ref, patterns, ...) is hypothesis-jsonschema's from_schema:
    # it must work on object schemas with the hypothesis version pip installs under our pin.
    from hypothesis_jsonschema import from_schema

    from composable_agents.core.schema import schema_of

    strategy = from_schema(draft7(schema_of(Hit)))
    check = validator_for(Hit)

    # Slow by design (that is why plain schemas take the native path): no health check on speed.
    @settings(max_examples=15, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(strategy)
    def valid(value: object) -> None:
        assert check.is_valid(value)  # type: ignore[arg-type]

    valid()


@settings(max_examples=10, database=None)
@given(replies(Reasoner(name="ks_tree", model="fake", reply=Tree)))
def test_recursive_reply_types_resolve_their_refs(value: object) -> None:
    assert validator_for(Tree).is_valid(value)  # type: ignore[arg-type]
