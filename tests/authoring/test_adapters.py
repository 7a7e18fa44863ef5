"""Explicit Any crossings (as_type, expect), the any_edges report, and boundary checks in dry_run."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

import pytest

from composable_agents import (
    ExecutionPolicy,
    Reasoner,
    any_edges,
    as_type,
    call,
    deploy,
    expect,
    mcp,
    seq,
    think,
    tool,
)
from composable_agents.authoring.adapters import AsType
from composable_agents.core.ir import Arr
from composable_agents.errors import CompositionError, StepTypeError


class Point(TypedDict):
    kind: Literal["point"]
    x: int


class Label(TypedDict):
    kind: Literal["label"]
    text: str


@tool(effect="read", name="ta_make")
def make(n: int) -> Point:
    return {"kind": "point", "x": n}


@tool(effect="read", name="ta_lie")
def lie(n: int) -> Point:
    return {"kind": "point", "x": str(n)}  # type: ignore[typeddict-item]


@tool(effect="read", name="ta_read_x")
def read_x(p: Point) -> int:
    return p["x"]


loose = Reasoner("ta_loose", "m")
typed_prompt = Reasoner("ta_typed", "m", prompt=Point, reply=Label)


def test_as_type_lowers_to_std_expect_with_the_schema() -> None:
    step = as_type(Point)
    assert isinstance(step, AsType)
    node = step.to_ir()
    assert isinstance(node, Arr)
    assert node.pure == "std.expect"
    assert node.args is not None
    assert node.args["step"] == "as_type(Point)"
    assert node.args["schema"]["required"] == ["kind", "x"]
    assert step.out_type is Point


def test_as_type_of_several_types_checks_their_union() -> None:
    dep = deploy(think(loose) >> as_type(Point, Label))
    fine = dep.dry_run("q", reasoners={"ta_loose": lambda *a, **k: {"kind": "label", "text": "hi"}})
    assert fine.value == {"kind": "label", "text": "hi"}
    bad = dep.dry_run("q", reasoners={"ta_loose": lambda *a, **k: {"kind": "other"}})
    assert bad.status == "failed"
    assert isinstance(bad.error, StepTypeError)


def test_as_type_mismatch_names_step_path_expected_and_value() -> None:
    dep = deploy(think(loose) >> as_type(Point) >> read_x)
    res = dep.dry_run("x", reasoners={"ta_loose": lambda *a, **k: {"kind": "point", "x": "seven"}})
    assert res.status == "failed"
    err = res.error
    assert isinstance(err, StepTypeError)
    assert err.step == "as_type(Point)"
    assert err.path == "$.x"
    assert err.expected == "integer"
    assert "seven" in err.value_repr


def test_as_type_checks_even_with_check_types_off() -> None:
    dep = deploy(think(loose) >> as_type(Point), policy=ExecutionPolicy(check_types=False))
    res = dep.dry_run("x", reasoners={"ta_loose": lambda *a, **k: {"kind": "nope"}})
    assert isinstance(res.error, StepTypeError)


def test_tool_boundary_checked_in_dry_run_by_default() -> None:
    dep = deploy(lie)  # lie declares Point but returns a string x
    res = dep.dry_run(3)
    assert res.status == "failed"
    assert isinstance(res.error, StepTypeError)
    assert res.error.step == "ta_lie"
    assert res.error.path == "$.x"
    assert "'3'" in res.error.value_repr


def test_check_types_false_turns_tool_boundary_checks_off() -> None:
    dep = deploy(lie, policy=ExecutionPolicy(check_types=False))
    assert dep.dry_run(3).value == {"kind": "point", "x": "3"}


def test_expect_adds_a_checked_step_and_keeps_the_class() -> None:
    flow = expect(think(loose), Point)
    assert flow.out_type is Point
    assert any_edges(flow) == ()
    res = deploy(flow).dry_run("q", reasoners={"ta_loose": lambda *a, **k: {"kind": "point"}})
    assert isinstance(res.error, StepTypeError)
    assert res.error.step == "expect(ta_loose)"


def test_any_edges_lists_typed_to_untyped_edges_with_names() -> None:
    flow = make >> think(loose) >> call("ta_sink")
    edges = any_edges(flow)
    assert [(e.left_name, e.right_name) for e in edges] == [("ta_make", "ta_loose")]
    assert edges[0].left_type is Point


def test_any_edges_from_untyped_into_typed() -> None:
    edges = any_edges(call("ta_src") >> read_x)
    assert [(e.left_name, e.right_name) for e in edges] == [("ta_src", "ta_read_x")]


def test_any_edges_silent_for_checked_crossings_and_untyped_pairs() -> None:
    assert any_edges(make >> as_type(Point) >> read_x) == ()
    assert any_edges(think(loose) >> as_type(Point) >> read_x) == ()
    assert any_edges(seq(call(mcp("search", "web")), think("summarize"))) == ()
    assert any_edges(call("a") >> call("b")) == ()
    assert any_edges(make >> read_x) == ()


def test_any_edges_inside_nested_compositions() -> None:
    inner = make >> think(loose)
    flow = (inner & make) >> call("ta_join")
    # the fan-out's output is a typed pair, so feeding it to an untyped call is an any-edge too
    assert [(e.left_name, e.right_name) for e in any_edges(flow)] == [
        ("ta_make", "ta_loose"),
        ("ta_loose & ta_make", "ta_join"),
    ]


def test_typed_prompt_reasoner_is_not_an_any_edge() -> None:
    assert any_edges(make >> think(typed_prompt)) == ()


def test_adapters_reject_bad_arguments() -> None:
    with pytest.raises(CompositionError):
        as_type()  # type: ignore[call-overload]
    with pytest.raises(CompositionError, match="checks nothing"):
        as_type(Any)
    with pytest.raises(CompositionError, match="must be an Arrow"):
        expect("not an arrow", int)  # type: ignore[call-overload]


class GtMail(TypedDict):
    to: str


@tool(effect="read", idempotent=True)
def gt_draft(x: str) -> GtMail:
    return {"to": x}


@tool(name="gt_send_mail", effect="dangerous")  # tests/execution/test_gates.py owns the key "gt_send"
def gt_send(m: GtMail) -> bool:
    return True


def test_a_human_gate_passes_the_type_through_at_run_time() -> None:
    from composable_agents import human_gate
    from composable_agents.authoring.derived import GateDecision

    flow = gt_draft >> human_gate("send?") >> gt_send
    assert any_edges(flow) == ()
    assert flow.out_type is bool
    decision = gt_draft >> human_gate("send?", on_reject="value")
    assert decision.out_type == GtMail | GateDecision[GtMail]  # type: ignore[valid-type]
