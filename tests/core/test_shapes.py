"""Tests for shapes: the lattice, per-op floors, joins, surface vs closed views."""

from __future__ import annotations

import pytest

from composable_agents.core.ir import (
    Alt,
    App,
    Arr,
    CallStep,
    Contract,
    Each,
    EvalPlan,
    Ident,
    IterUpTo,
    Loop,
    Node,
    Par,
    Prim,
    PureRef,
    Seq,
    SubStep,
    ThinkStep,
)
from composable_agents.core.kinds import SHAPE_ORDER, Shape
from composable_agents.core.shapes import closed_shape, shape_of, surface_shape

LEAF = Arr(pure="p")

FLOORS: list[tuple[str, Node, Shape]] = [
    ("ident", Ident(), Shape.PIPELINE),
    ("arr", LEAF, Shape.PIPELINE),
    ("call", Prim(step=CallStep("t")), Shape.PIPELINE),
    ("think", Prim(step=ThinkStep("r")), Shape.PIPELINE),
    ("seq", Seq(steps=(LEAF, Arr(pure="q"))), Shape.PIPELINE),
    ("par", Par(branches=(LEAF, LEAF)), Shape.DATAFLOW),
    ("each", Each(body=LEAF), Shape.DATAFLOW),
    ("alt", Alt(branches=(LEAF, LEAF), pred=PureRef("x")), Shape.BRANCHING),
    ("iter_up_to", IterUpTo(body=LEAF, max_rounds=2), Shape.FEEDBACK),
    ("loop", Loop(body=LEAF), Shape.FEEDBACK),
    ("eval_plan", EvalPlan(planner="pl"), Shape.STAGED),
    ("app", App(controller="c"), Shape.AGENT),
]


@pytest.mark.parametrize(("label", "node", "shape"), FLOORS, ids=[f[0] for f in FLOORS])
def test_op_floors(label: str, node: Node, shape: Shape) -> None:
    assert surface_shape(node) is shape, label
    assert closed_shape(node) is shape, label
    assert node.FLOOR is (Shape.PIPELINE if label in ("ident", "arr", "call", "think", "seq") else shape)


def test_lattice_order_and_join() -> None:
    assert list(SHAPE_ORDER) == [
        Shape.PIPELINE, Shape.DATAFLOW, Shape.BRANCHING, Shape.FEEDBACK, Shape.STAGED, Shape.AGENT
    ]
    for i, low in enumerate(SHAPE_ORDER):
        assert low.rank == i
        for high in SHAPE_ORDER[i:]:
            assert low <= high and high >= low
            assert low.join(high) is high and high.join(low) is high
    assert Shape.PIPELINE.join() is Shape.PIPELINE
    assert Shape.DATAFLOW.join(Shape.PIPELINE, Shape.FEEDBACK, Shape.BRANCHING) is Shape.FEEDBACK
    # order is the lattice, not the string order ("Agent" < "Pipeline" as text)
    assert Shape.AGENT > Shape.PIPELINE
    assert max(Shape) is Shape.AGENT


def test_composite_is_the_join_of_children_and_floor() -> None:
    loop = IterUpTo(body=LEAF, max_rounds=2)
    assert surface_shape(Seq(steps=(LEAF, loop))) is Shape.FEEDBACK
    assert surface_shape(Par(branches=(LEAF, LEAF))) is Shape.DATAFLOW
    assert surface_shape(Par(branches=(LEAF, Alt(branches=(LEAF, LEAF), pred=PureRef("x"))))) is Shape.BRANCHING
    assert surface_shape(Each(body=EvalPlan(planner="p"))) is Shape.STAGED
    assert surface_shape(Alt(branches=(LEAF, App(controller="c")), pred=PureRef("x"))) is Shape.AGENT
    # the floor wins over plain children
    assert surface_shape(IterUpTo(body=Par(branches=(LEAF,)), max_rounds=1)) is Shape.FEEDBACK


def test_sub_is_opaque_on_the_surface_and_charged_when_closed() -> None:
    firewall = Prim(step=SubStep("child.v1", Contract.agent()))
    assert surface_shape(firewall) is Shape.PIPELINE
    assert closed_shape(firewall) is Shape.AGENT
    flow = Seq(steps=(LEAF, Par(branches=(firewall, LEAF))))
    assert surface_shape(flow) is Shape.DATAFLOW
    assert closed_shape(flow) is Shape.AGENT
    assert shape_of(flow) is Shape.DATAFLOW and shape_of(flow, closed=True) is Shape.AGENT
    feedback = Prim(step=SubStep("child.v2", Contract.of("Feedback")))
    assert closed_shape(Seq(steps=(LEAF, feedback))) is Shape.FEEDBACK
    default = Prim(step=SubStep("child.v3"))
    assert closed_shape(default) is Shape.PIPELINE


def test_shapes_are_cached_per_node() -> None:
    node = Seq(steps=(LEAF, Par(branches=(LEAF, LEAF))))
    assert surface_shape(node) is Shape.DATAFLOW
    assert node._memo["surface"] is Shape.DATAFLOW
    node._memo["surface"] = Shape.AGENT  # a cached value is returned, not recomputed
    assert surface_shape(node) is Shape.AGENT


def test_deep_trees_do_not_recurse() -> None:
    node: Node = LEAF
    for _ in range(20_000):
        node = Each(body=node)
    assert surface_shape(node) is Shape.DATAFLOW
    assert closed_shape(node) is Shape.DATAFLOW


def test_arrows_are_accepted() -> None:
    from composable_agents.authoring.kernel import arr, iter_up_to

    flow = iter_up_to(3, arr("p"))
    assert surface_shape(flow) is Shape.FEEDBACK
    assert closed_shape(flow) is Shape.FEEDBACK
