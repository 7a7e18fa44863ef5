"""The typed core: operators pick the shape class, edges are recorded, n-ary typed.* forms, narrow, explain."""

from __future__ import annotations

from typing import Any, Literal, TypedDict

import pytest

from composable_agents import call, deploy, pure, tool
from composable_agents.authoring.explain import Elaboration
from composable_agents.core.kinds import Shape
from composable_agents.errors import CompositionError
from composable_agents.typed import (
    Arrow,
    Branching,
    Dataflow,
    Feedback,
    Pipeline,
    Staged,
    as_flow,
    choice,
    each,
    fanout,
    seq,
)


class Up(TypedDict):
    kind: Literal["up"]
    n: int


class Down(TypedDict):
    kind: Literal["down"]
    n: int


@tool(effect="read", name="tt_inc")
def inc(x: int) -> int:
    return x + 1


@tool(effect="read", name="tt_show")
def show(x: int) -> str:
    return f"#{x}"


@tool(effect="read", name="tt_up")
def go_up(v: Up) -> int:
    return v["n"] + 100


@tool(effect="read", name="tt_down")
def go_down(v: Down) -> int:
    return v["n"] - 100


@tool(effect="read", name="tt_len")
def length(s: str) -> int:
    return len(s)


@pure("tt.total")
def total(xs: list[int]) -> int:
    return sum(xs)


@pure("tt.add_pair")
def add_pair(pair: tuple[int, int]) -> int:
    return pair[0] + pair[1]


def test_rshift_is_pipeline_with_typed_ends() -> None:
    flow = inc >> show
    assert type(flow) is Pipeline
    assert flow.in_type is int
    assert flow.out_type is str
    assert deploy(flow).dry_run(1).value == "#2"


def test_and_is_dataflow_and_gives_a_pair() -> None:
    flow = inc & show
    assert type(flow) is Dataflow
    assert flow.out_type == tuple[int, str]
    assert deploy(flow).dry_run(4).value == (5, "#4")


def test_or_is_branching_and_routes_by_schema() -> None:
    flow = go_up | go_down
    assert type(flow) is Branching
    dep = deploy(flow)
    assert dep.dry_run({"kind": "up", "n": 1}).value == 101
    assert dep.dry_run({"kind": "down", "n": 1}).value == -99


def test_join_of_operands_and_floor() -> None:
    branching = go_up | go_down
    assert type(inc >> inc) is Pipeline
    assert type((inc & inc) >> add_pair) is Dataflow
    assert type(branching >> show) is Branching
    assert type((inc & inc) | (inc & inc)) is Branching


def test_or_on_untyped_input_is_a_construction_error() -> None:
    with pytest.raises(CompositionError, match="input type is Any"):
        call("tt_anything") | inc


def test_operands_never_change() -> None:
    before = inc.to_json()
    _ = inc >> show
    _ = inc & show
    assert inc.to_json() == before
    assert inc.edges == ()


def test_edges_record_step_names_and_types() -> None:
    flow = inc >> inc >> show
    assert [(e.left_name, e.right_name) for e in flow.edges] == [
        ("tt_inc", "tt_inc"),
        ("tt_inc", "tt_show"),
    ]
    assert all(e.left_type is int and e.right_type is int for e in flow.edges)


def test_typed_seq_matches_chained_rshift() -> None:
    assert seq(inc, inc, show).to_json() == (inc >> inc >> show).to_json()
    assert type(seq(inc, inc, show)) is Pipeline
    assert len(seq(inc, inc, show).edges) == 2


def test_typed_fanout_is_flat() -> None:
    flow = fanout(inc, show, inc)
    assert type(flow) is Dataflow
    assert flow.out_type == tuple[int, str, int]
    assert deploy(flow).dry_run(1).value == (2, "#1", 2)


def test_typed_choice_first_match_then_default() -> None:
    flow = choice(go_up, go_down, length)
    assert type(flow) is Branching
    dep = deploy(flow)
    assert dep.dry_run({"kind": "down", "n": 5}).value == -95
    assert dep.dry_run("abc").value == 3


def test_typed_each_and_reducer() -> None:
    per_item = each(inc)
    assert type(per_item) is Dataflow
    assert per_item.in_type == list[int]
    assert deploy(per_item).dry_run([1, 2]).value == [2, 3]
    assert deploy(each(inc, reducer=total)).dry_run([1, 2]).value == 5


def test_n_ary_forms_need_enough_parts() -> None:
    with pytest.raises(CompositionError):
        fanout(inc)
    with pytest.raises(CompositionError):
        choice(inc)
    with pytest.raises(CompositionError):
        seq()


def test_as_flow_is_the_same_arrow() -> None:
    flow = inc >> show
    assert as_flow(flow) is flow
    assert as_flow(inc).local_name == inc.local_name


def test_narrow_checks_the_runtime_shape() -> None:
    opaque: Arrow[int, int] = as_flow(inc >> inc)
    narrowed = opaque.narrow(Pipeline)
    assert isinstance(narrowed, Pipeline)
    wide = go_up | go_down
    assert wide.narrow(Feedback) is wide
    assert isinstance(wide.narrow(Staged), Branching)
    with pytest.raises(CompositionError, match="cannot narrow a Branching-shaped"):
        wide.narrow(Dataflow)


def test_named_is_affine() -> None:
    flow = (inc >> show).named("tt.named.v1")
    assert flow.ref == "tt.named.v1"
    assert (flow >> length).ref is None


def test_explain_reports_kinds_refs_edges_and_shapes() -> None:
    report = (call("tt_raw") >> inc >> show).explain()
    assert isinstance(report, Elaboration)
    assert report.surface_shape is Shape.PIPELINE
    assert report.tools == ("tt_raw", "tt_inc", "tt_show")
    assert report.kinds["prim"] == 3
    assert [(e.left_name, e.right_name) for e in report.any_edges] == [("tt_raw", "tt_inc")]
    text = str(report)
    assert "any-edges (1)" in text
    assert "Pipeline" in text


def test_static_ends_are_kept_for_reports() -> None:
    flow: Any = (go_up | go_down) >> show
    assert flow.out_type is str
