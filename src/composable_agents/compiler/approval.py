"""Approval dominance (SPEC §7 step 5): dangerous work only behind a human gate.

A call to a ``dangerous`` tool, or to one whose grant says ``approval:
required``, must be dominated by a ``human_gate`` (a ``__human_gate__`` call)
on **every** path from the flow's start. The pass threads a "gated" flag
through the tree:

* ``seq``: a gate gates every later step;
* ``par`` (merge ``all``): each branch starts with the incoming flag; every
  branch must finish before the next step, so afterwards the flow is gated if
  *any* branch passed a gate;
* ``race``/``hedge``/``quorum`` and ``alt``: each branch starts with the
  incoming flag; afterwards the flow is gated only if *every* branch passed a
  gate (only the winners, or one arm, finish);
* ``each``: the body is checked with the incoming flag; an empty list skips
  it, so a gate inside never gates what follows;
* ``iter_up_to``: the first round is checked with the incoming flag; the body
  runs at least once, so a gate in it gates what follows;
* ``sub``: the frozen child is walked with the incoming flag (ids
  ``sub:<ref>...``);
* ``app``: an agent loop may never call such a tool directly
  (``CAP_APP_APPROVAL_TOOL``), whatever gates precede it; its sub-flows are
  walked **ungated** (SPEC §22.6): the controller picks how often and with
  what input a sub-flow runs, so one approval before the agent cannot cover
  them — a sub-flow reaching such a tool must gate it itself.

A gate built with ``on_reject="value"`` counts too: the run-time guard then
refuses the tool unless an approving decision dominates it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from composable_agents.compiler.capabilities import needs_approval
from composable_agents.compiler.diagnostics import Diagnostic, diag
from composable_agents.core.ir import (
    App,
    CallStep,
    Each,
    IterUpTo,
    Loop,
    Node,
    Par,
    Prim,
    Seq,
    SubStep,
)
from composable_agents.core.kinds import Merge

if TYPE_CHECKING:
    from composable_agents.compiler.freeze import Frozen

__all__ = ["GATE_TOOL", "check_approval"]

GATE_TOOL = "__human_gate__"


def check_approval(frozen: Frozen) -> list[Diagnostic]:
    """``APPROVAL_UNGATED`` and ``CAP_APP_APPROVAL_TOOL`` diagnostics of ``frozen``."""
    out: list[Diagnostic] = []
    reported: set[str] = set()
    memo: dict[tuple[str, bool], bool] = {}
    tools = frozen.tools

    def report(code: str, nid: str, message: str, node: Node) -> None:
        key = f"{code}@{nid}@{message}"
        if key not in reported:
            reported.add(key)
            out.append(diag(code, nid, message, source=node.src))

    def child(ref: str, gated: bool) -> bool:
        node = frozen.subflows.get(ref)
        if node is None:
            return gated
        key = (ref, gated)
        if key in memo:
            return memo[key]
        memo[key] = gated  # a re-entry (impossible after freeze's cycle check) stays conservative
        result = visit(node, f"sub:{ref}", gated)
        memo[key] = result
        return result

    def visit(node: Node, nid: str, gated: bool) -> bool:
        if isinstance(node, Prim):
            step = node.step
            if isinstance(step, CallStep):
                if step.tool == GATE_TOOL:
                    return True
                tool = tools.get(step.tool)
                if tool is not None and not gated and needs_approval(tool, node):
                    why = "dangerous" if str(tool.contract.effect) == "dangerous" else "approval-required"
                    report(
                        "APPROVAL_UNGATED",
                        nid,
                        f"{why} tool {step.tool!r} is reachable without a human_gate before it",
                        node,
                    )
                return gated
            if isinstance(step, SubStep):
                return gated or child(step.ref, gated)
            return gated
        if isinstance(node, Seq):
            g = gated
            for i, s in enumerate(node.steps):
                g = visit(s, f"{nid}.{i}", g)
            return g
        if isinstance(node, Each | Loop):
            visit(node.body, f"{nid}.0", gated)
            return gated
        if isinstance(node, IterUpTo):
            return visit(node.body, f"{nid}.0", gated)
        if isinstance(node, App):
            for key in node.tools:
                tool = tools.get(key)
                if tool is not None and needs_approval(tool, node):
                    report(
                        "CAP_APP_APPROVAL_TOOL",
                        nid,
                        f"agent loop lists {key!r}, which needs human approval, as a directly callable tool",
                        node,
                    )
            for ref in node.subflows:
                child(ref, False)  # a gate before the agent covers none of the controller's picks
            return gated
        kids = node.children()
        if not kids:
            return gated
        outs = [visit(k, f"{nid}.{i}", gated) for i, k in enumerate(kids)]
        if isinstance(node, Par) and node.merge is Merge.ALL:
            return gated or any(outs)
        return gated or all(outs)

    visit(frozen.node, "$", False)
    return out
