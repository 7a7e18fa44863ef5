"""``Arrow.explain()``: what an arrow elaborates to, for people.

Walks the arrow's IR once (iteratively) and reports node kinds, the tools,
reasoners, pures and sub-flows it references, its shapes and its any-edges.
Kept out of :mod:`composable_agents.authoring.arrow` because it is a report
over the tree, not part of composing arrows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from composable_agents.authoring.arrow import Arrow, Edge, _type_name
from composable_agents.core.ir import Node
from composable_agents.core.kinds import Shape

__all__ = ["Elaboration"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Elaboration:
    """What an arrow elaborates to: its IR node kinds, references, any-edges and shapes."""

    label: str
    in_type: object
    out_type: object
    surface_shape: Shape
    closed_shape: Shape
    kinds: dict[str, int]
    tools: tuple[str, ...]
    reasoners: tuple[str, ...]
    pures: tuple[str, ...]
    subflows: tuple[str, ...]
    any_edges: tuple[Edge, ...]

    def __str__(self) -> str:
        lines = [
            f"{self.label}: {_type_name(self.in_type)} -> {_type_name(self.out_type)}",
            f"  shape: surface {self.surface_shape}, closed {self.closed_shape}",
            "  nodes: " + ", ".join(f"{k} x{n}" for k, n in sorted(self.kinds.items())),
        ]
        for title, names in (
            ("tools", self.tools),
            ("reasoners", self.reasoners),
            ("pures", self.pures),
            ("subflows", self.subflows),
        ):
            if names:
                lines.append(f"  {title}: {', '.join(names)}")
        if self.any_edges:
            lines.append(f"  any-edges ({len(self.any_edges)}):")
            lines.extend(f"    {e!r}" for e in self.any_edges)
        else:
            lines.append("  any-edges: none")
        return "\n".join(lines)


def _elaborate(arrow: Arrow[Any, Any]) -> Elaboration:
    from composable_agents.core.ir import (
        Alt,
        App,
        Arr,
        CallStep,
        Each,
        EvalPlan,
        IterUpTo,
        Par,
        Prim,
        SubStep,
        ThinkStep,
    )

    kinds: dict[str, int] = {}
    tools: dict[str, None] = {}
    reasoners: dict[str, None] = {}
    pures: dict[str, None] = {}
    subs: dict[str, None] = {}
    stack: list[Node] = [arrow.to_ir()]
    while stack:
        node = stack.pop()
        op = str(node.OP)
        kinds[op] = kinds.get(op, 0) + 1
        if isinstance(node, Prim):
            step = node.step
            if isinstance(step, CallStep):
                tools[step.tool] = None
            elif isinstance(step, ThinkStep):
                reasoners[step.reasoner] = None
            elif isinstance(step, SubStep):
                subs[step.ref] = None
        elif isinstance(node, Arr):
            pures[node.pure] = None
        elif isinstance(node, Alt | Par | Each | IterUpTo):
            for ref in (
                getattr(node, "pred", None),
                getattr(node, "selector", None),
                getattr(node, "reducer", None),
                getattr(node, "until", None),
            ):
                if ref is not None:
                    pures[ref.name] = None
        elif isinstance(node, EvalPlan):
            reasoners[node.planner] = None
        elif isinstance(node, App):
            reasoners[node.controller] = None
            for key in node.tools:
                tools[key] = None
            for ref_name in node.subflows:
                subs[ref_name] = None
        stack.extend(reversed(node.children()))
    return Elaboration(
        label=arrow.label,
        in_type=arrow.in_type,
        out_type=arrow.out_type,
        surface_shape=arrow.surface_shape,
        closed_shape=arrow.closed_shape,
        kinds=kinds,
        tools=tuple(tools),
        reasoners=tuple(reasoners),
        pures=tuple(pures),
        subflows=tuple(subs),
        any_edges=tuple(e for e in arrow.edges if e.is_any_edge),
    )
