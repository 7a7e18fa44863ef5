"""A flow's own steps as a graph: the IR tree turned into boxes and arrows.

Each leaf (tool, reasoner, pure, gate, sub-flow, agent) is a box; ``seq``
chains, ``par``/``each`` fan out from a split box and back into a merge box
that names the merge policy and reducer, ``alt`` fans out from a decision box
with the branch conditions on its edges, ``iter_up_to`` ends in its ``until``
box with a dashed edge back to the round's first step. Node ids are the IR
ids (``$.1.0``), so a picture and a projection name the same steps.

Rejected alternative: drawing the nesting as boxes inside boxes. It mirrors
the tree, but a reader follows data, and data flows along the edges drawn
here.
"""

from __future__ import annotations

from typing import Any

from composable_agents.core.ir import (
    Alt,
    App,
    Arr,
    CallStep,
    Each,
    EvalPlan,
    IterUpTo,
    Loop,
    Node,
    Par,
    Prim,
    Seq,
    SubStep,
    ThinkStep,
)
from composable_agents.core.kinds import Merge
from composable_agents.errors import ComposableAgentsError
from composable_agents.integrations.render._dag import render_dag_svg

__all__ = ["FlowRenderError", "flow_graph", "render_flow_svg"]


class FlowRenderError(ComposableAgentsError, TypeError):
    """What was passed is not a flow (an arrow, a deployment or an IR node)."""


def _root_of(flow: Any) -> tuple[Node, str | None]:
    if isinstance(flow, Node):
        return flow, flow.name
    frozen = getattr(flow, "frozen", None)
    if frozen is not None and isinstance(getattr(frozen, "node", None), Node):  # a Deployment
        return frozen.node, getattr(flow, "name", None)
    to_ir = getattr(flow, "to_ir", None)
    if callable(to_ir):  # an Arrow or a @flow
        node = to_ir()
        if isinstance(node, Node):
            return node, getattr(flow, "ref", None) or node.name
    msg = f"render_flow_svg() takes an Arrow, a @flow, a Deployment or an IR node (got {type(flow).__name__})"
    raise FlowRenderError(msg)


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[dict[str, str]] = []
        self.edges: list[tuple[str, str, str]] = []

    def box(self, nid: str, label: str, kind: str, title: str | None = None) -> str:
        self.nodes.append({"id": nid, "label": label, "kind": kind, "title": title or f"{nid}: {label}"})
        return nid

    def link(self, sources: list[str], targets: list[str], label: str = "") -> None:
        for s in sources:
            for t in targets:
                self.edges.append((s, t, label))

    def build(self, node: Node, nid: str) -> tuple[list[str], list[str]]:
        """Lay out ``node``; returns its entry and exit box ids."""
        name = node.name
        if isinstance(node, Seq):
            if not node.steps:
                one = self.box(nid, name or "ident", "pure")
                return [one], [one]
            first: list[str] | None = None
            exits: list[str] = []
            for i, step in enumerate(node.steps):
                ins, outs = self.build(step, f"{nid}.{i}")
                if first is None:
                    first = ins
                else:
                    self.link(exits, ins)
                exits = outs
            return first or [], exits
        if isinstance(node, Par):
            merge = str(node.merge)
            if node.merge is Merge.QUORUM and node.k is not None:
                merge = f"quorum {node.k}"
            if node.merge is Merge.HEDGE and node.hedge_ms is not None:
                merge = f"hedge {node.hedge_ms}ms"
            split = self.box(f"{nid}:split", name or f"par ({merge})", "control")
            join = self.box(f"{nid}:join", f"merge {node.reducer.name}" if node.reducer else f"{merge} →", "control")
            for i, branch in enumerate(node.branches):
                ins, outs = self.build(branch, f"{nid}.{i}")
                self.link([split], ins)
                self.link(outs, [join])
            return [split], [join]
        if isinstance(node, Each):
            limit = f" ≤{node.max_parallel}" if node.max_parallel else ""
            split = self.box(f"{nid}:split", name or f"each{limit}", "control")
            join = self.box(f"{nid}:join", f"collect {node.reducer.name}" if node.reducer else "collect", "control")
            ins, outs = self.build(node.body, f"{nid}.0")
            self.link([split], ins, "per item")
            self.link(outs, [join])
            return [split], [join]
        if isinstance(node, Alt):
            if node.pred is not None:
                decide = self.box(nid, name or f"if {node.pred.name}", "control")
                labels = ["true", "false"]
            else:
                selector = node.selector.name if node.selector is not None else "?"
                decide = self.box(nid, name or f"switch {selector}", "control")
                labels = [repr(c) for c in (node.cases or ())] + ["default"]
            exits = []
            for i, branch in enumerate(node.branches):
                ins, outs = self.build(branch, f"{nid}.{i}")
                self.link([decide], ins, labels[i] if i < len(labels) else str(i))
                exits.extend(outs)
            return [decide], exits
        if isinstance(node, IterUpTo):
            head = self.box(f"{nid}:rounds", name or f"iter_up_to {node.max_rounds}", "control")
            ins, outs = self.build(node.body, f"{nid}.0")
            self.link([head], ins)
            until = self.box(f"{nid}:until", f"until {node.until.name}" if node.until else "next round", "control")
            self.link(outs, [until])
            self.link([until], ins, "again")
            return [head], [until]
        if isinstance(node, Loop):
            head = self.box(f"{nid}:loop", name or "session loop", "session")
            ins, outs = self.build(node.body, f"{nid}.0")
            self.link([head], ins)
            self.link(outs, [head], "next turn")
            return [head], [head]
        one = self.box(nid, *_leaf(node))
        return [one], [one]


def _leaf(node: Node) -> tuple[str, str]:
    """Label and kind of a leaf box."""
    if isinstance(node, Prim):
        step = node.step
        if isinstance(step, CallStep):
            if step.tool == "__human_gate__":
                return node.name or "human gate", "gate"
            if step.tool == "__sleep__":
                return node.name or "sleep", "control"
            return node.name or step.tool, "tool"
        if isinstance(step, ThinkStep):
            return node.name or f"think {step.reasoner}", "reasoner"
        if isinstance(step, SubStep):
            return node.name or f"sub {step.ref}", "sub"
    if isinstance(node, Arr):
        return node.name or node.pure, "pure"
    if isinstance(node, App):
        return node.name or f"agent {node.controller}", "agent"
    if isinstance(node, EvalPlan):
        return node.name or f"plan {node.planner}", "agent"
    return node.name or str(node.OP), "pure"


def flow_graph(flow: Any) -> tuple[list[dict[str, str]], list[tuple[str, str, str]], str | None]:
    """The boxes and edges :func:`render_flow_svg` draws, plus the flow's name (for other renderers)."""
    root, name = _root_of(flow)
    builder = _Builder()
    start = builder.box("input", "input", "io")
    ins, outs = builder.build(root, "$")
    end = builder.box("output", "output", "io")
    builder.link([start], ins)
    builder.link(outs, [end])
    return builder.nodes, builder.edges, name


def render_flow_svg(arrow_or_deployment: Any, *, title: str | None = None) -> str:
    """A standalone SVG of a flow's steps (an Arrow, a ``@flow``, a Deployment or an IR node).

    ``title`` defaults to the flow's name when it has one.
    """
    nodes, edges, name = flow_graph(arrow_or_deployment)
    return render_dag_svg(nodes, edges, title=title if title is not None else name)
