"""Tests for the combinator kernel: every function returns an Arrow of the right shape class."""

from __future__ import annotations

from typing import Any

import pytest

import composable_agents as ca
from composable_agents.authoring.arrow import Arrow, Branching, Dataflow, Feedback, Pipeline, Staged
from composable_agents.authoring.kernel import (
    ToolRef,
    alt,
    app,
    arr,
    call,
    each,
    fanout,
    ident,
    iter_up_to,
    mcp,
    native,
    par,
    seq,
    stage,
    sub,
    think,
)
from composable_agents.core.ir import Ann, Contract, Node, PureRef
from composable_agents.core.kinds import Shape
from composable_agents.core.pures import Registry
from composable_agents.errors import CompositionError

A = arr("k.a")
B = arr("k.b")


def check(arrow: Any, cls: type, op: str) -> dict[str, Any]:
    assert isinstance(arrow, Arrow)
    assert type(arrow) is cls or (cls is Pipeline and isinstance(arrow, Pipeline))
    node = arrow.to_ir()
    assert isinstance(node, Node)
    doc = arrow.to_json()
    assert doc["op"] == op and doc["id"] == "$"
    assert Node.from_json(doc) == node
    return doc


def test_kernel_names_are_importable_from_the_top_level() -> None:
    for name in ("seq", "par", "fanout", "each", "alt", "iter_up_to", "ident", "arr", "native", "mcp",
                 "call", "think", "sub", "stage", "app"):
        assert callable(getattr(ca, name))


def test_seq() -> None:
    doc = check(seq(A, B, A), Pipeline, "seq")
    assert [s["pure"] for s in doc["steps"]] == ["k.a", "k.b", "k.a"]
    assert seq([A, B]).to_ir() == seq(A, B).to_ir()
    assert check(seq(), Pipeline, "ident") == {"op": "ident", "id": "$"}
    assert seq(A).to_json() == A.to_json()
    assert type(seq(A, iter_up_to(2, B))) is Feedback


def test_par_and_fanout() -> None:
    doc = check(par(A, B), Dataflow, "par")
    assert doc["merge"] == "all" and len(doc["branches"]) == 2
    assert fanout(A, B).to_ir() == par(A, B).to_ir()
    assert type(par(A, alt("k.p", A, B))) is Branching


def test_each() -> None:
    doc = check(each(A, max_parallel=3, reducer="k.sum"), Dataflow, "each")
    assert doc["maxParallel"] == 3 and doc["reducer"] == {"pure": "k.sum"}
    assert "maxParallel" not in each(A).to_json()


def test_alt_binary_and_switch() -> None:
    doc = check(alt("k.p", A, B), Branching, "alt")
    assert doc["pred"] == {"pure": "k.p"}
    doc = check(alt("k.p", A, B, args={"limit": 2}), Branching, "alt")
    assert doc["pred"] == {"pure": "k.p", "args": {"limit": 2}}
    sw = check(alt("k.sel", cases={"x": A, "y": B}, default=A), Branching, "alt")
    assert sw["cases"] == ["x", "y"] and sw["selector"] == {"pure": "k.sel"}
    assert [b.get("pure") for b in sw["branches"]] == ["k.a", "k.b", "k.a"]
    no_default = alt("k.sel", cases={"x": A}).to_json()
    assert no_default["branches"][1]["op"] == "ident"
    assert alt(PureRef("k.p"), A, B).to_json()["pred"] == {"pure": "k.p"}


def test_iter_up_to() -> None:
    doc = check(iter_up_to(4, A, until="k.done"), Feedback, "iter_up_to")
    assert doc["max"] == 4 and doc["until"] == {"pure": "k.done"}
    assert "until" not in iter_up_to(1, A).to_json()


def test_ident_and_arr() -> None:
    check(ident(), Pipeline, "ident")
    doc = check(arr("k.a", n=1, xs=[1, 2]), Pipeline, "arr")
    assert doc["args"] == {"n": 1, "xs": [1, 2]}
    assert (ident() >> A).to_ir() == A.to_ir() == (A >> ident()).to_ir()


def test_pure_arrows_carry_types() -> None:
    reg = Registry()

    @ca.pure("k.typed", registry=reg)
    def typed(x: int) -> str:
        return str(x)

    leaf = arr(typed, pad=1)
    assert leaf.in_type is int and leaf.out_type is str
    assert leaf.to_json() == {"op": "arr", "id": "$", "pure": "k.typed", "args": {"pad": 1}}


def test_native_mcp_and_call() -> None:
    ref = native("lookup", ann=Ann(timeout_s=3))
    assert isinstance(ref, ToolRef) and ref.key == "lookup" and ref.server is None
    doc = check(ref, Pipeline, "prim")
    assert doc["step"] == {"kind": "call", "tool": "lookup"} and doc["ann"] == {"timeoutS": 3}
    remote = mcp("search", "web")
    assert remote.key == "search/web" and remote.server == "search" and remote.tool == "web"
    doc = check(call(remote, name="s"), Pipeline, "prim")
    assert doc["step"]["tool"] == "search/web" and doc["name"] == "s"
    assert check(call("plain"), Pipeline, "prim")["step"]["tool"] == "plain"
    merged = call(ref, ann=Ann(max_attempts=2)).to_json()
    assert merged["ann"] == {"timeoutS": 3, "maxAttempts": 2}


def test_call_of_a_tool_arrow() -> None:
    reg = Registry()

    @ca.tool(name="k_tool", effect="read", registry=reg)
    def k_tool(q: str) -> list[str]:
        return [q]

    step = call(k_tool)
    assert step.in_type is str
    assert step.to_json()["step"] == {"kind": "call", "tool": "k_tool"}
    assert k_tool("x") == ["x"]


def test_think() -> None:
    doc = check(think("k_reasoner"), Pipeline, "prim")
    assert doc["step"] == {"kind": "think", "reasoner": "k_reasoner"}
    reasoner = ca.Reasoner("k_reasoner_typed", "model-x", reply=int)
    leaf = think(reasoner, registry=Registry())
    assert leaf.out_type is int


def test_sub_by_name_and_by_named_arrow() -> None:
    doc = check(sub("child.v1"), Pipeline, "prim")
    assert doc["step"] == {"kind": "sub", "ref": "child.v1", "contract": {"shape": "Pipeline"}}
    agentish = sub("child.v2", Contract.agent())
    assert agentish.surface_shape is Shape.PIPELINE and agentish.closed_shape is Shape.AGENT
    child = iter_up_to(2, A).named("k.child.v1", registry=Registry())
    inferred = sub(child)
    assert inferred.to_json()["step"]["contract"] == {"shape": "Feedback"}
    assert type(inferred) is Pipeline


def test_stage_and_app() -> None:
    doc = check(stage("k_planner"), Staged, "eval_plan")
    assert doc["planner"] == "k_planner"
    agent = app("k_ctl", tools=["t1", native("t2"), mcp("s", "t")], subflows=["f.v1"], budget={"cost": 1},
                max_rounds=5)
    assert type(agent) is Arrow
    doc = check(agent, Arrow, "app")
    assert doc["tools"] == ["t1", "t2", "s/t"] and doc["subflows"] == ["f.v1"]
    assert doc["budget"] == {"cost": 1} and doc["maxRounds"] == 5
    assert agent.surface_shape is Shape.AGENT


def test_operators_build_the_same_ir_as_the_kernel() -> None:
    assert (A >> B).to_ir() == seq(A, B).to_ir()
    assert (A & B).to_ir() == par(A, B).to_ir()
    assert type(A & B) is Dataflow


@pytest.mark.parametrize(
    "build",
    [
        lambda: seq(A, 3),
        lambda: par(),
        lambda: par(A, "x"),
        lambda: each(3),
        lambda: each(A, max_parallel=0),
        lambda: each(A, max_parallel=True),
        lambda: each(A, reducer=3),
        lambda: alt("k.p", A),
        lambda: alt("k.p", A, None, cases={"x": A}),
        lambda: alt(3, A, B),
        lambda: alt("", A, B),
        lambda: alt("k.sel", cases={"x": 3}),
        lambda: iter_up_to(0, A),
        lambda: iter_up_to(True, A),
        lambda: iter_up_to(2, "k.a"),
        lambda: arr(""),
        lambda: arr(3),
        lambda: native("a/b"),
        lambda: native(""),
        lambda: mcp("", "x"),
        lambda: mcp("s", "a/b"),
        lambda: call(3),
        lambda: call(""),
        lambda: think(""),
        lambda: sub(""),
        lambda: sub(A),
        lambda: stage(3),
        lambda: app("c", tools=[3]),
        lambda: app("c", subflows=[A]),
        lambda: app("c", max_rounds=0),
        lambda: A >> 3,
        lambda: A & "x",
        lambda: A.named(" bad "),
        lambda: each(A, [1, 2]),
        lambda: think("r", "value"),
    ],
)
def test_bad_arguments_raise_composition_error(build: Any) -> None:
    with pytest.raises(CompositionError):
        build()


def test_arrows_are_immutable_values() -> None:
    flow = seq(A, B)
    with pytest.raises(AttributeError):
        flow._node = A.to_ir()  # type: ignore[misc]
    assert seq(A, B) == flow and hash(seq(A, B)) == hash(flow)
    assert flow.digest == flow.to_ir().digest()
