"""Shapes of flows: ``surface_shape`` and ``closed_shape``.

A node's shape is the join of its op's floor and its children's shapes. The
two views differ only at ``sub``: the surface view sees a child flow as an
opaque ``Pipeline`` (the "Joined firewall"), the closed view charges the
child's declared contract shape. Both are computed once per node object (normal or
not: ``seq`` flattening never changes a shape) and cached on it, iteratively, so deep or long flows cost one linear
pass and execution never recomputes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from composable_agents.core.ir import Node, Prim, SubStep
from composable_agents.core.kinds import Shape

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["HasNode", "closed_shape", "shape_of", "surface_shape"]


class HasNode(Protocol):
    """Anything that wraps an IR node (an ``Arrow``)."""

    def to_ir(self) -> Node:
        """The wrapped IR node."""
        ...


def _node(flow: Node | HasNode) -> Node:
    return flow if isinstance(flow, Node) else flow.to_ir()


def _leaf_closed(node: Node) -> Shape:
    if isinstance(node, Prim) and isinstance(node.step, SubStep):
        return node.FLOOR.join(node.step.contract.shape)
    return node.FLOOR


def _leaf_surface(node: Node) -> Shape:
    return node.FLOOR


def _compute(root: Node, key: str, leaf: Callable[[Node], Shape]) -> Shape:
    cached = root._memo.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        memo = node._memo
        if key in memo:
            continue
        kids = node.children()
        if not kids:
            memo[key] = leaf(node)
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((kid, False) for kid in kids if key not in kid._memo)
            continue
        shape = node.FLOOR
        for kid in kids:
            kid_shape = kid._memo[key]
            shape = max(shape, kid_shape)
        memo[key] = shape
    return root._memo[key]  # type: ignore[no-any-return]


def surface_shape(flow: Node | HasNode) -> Shape:
    """The shape a parent sees: subs count as opaque ``Pipeline`` steps."""
    return _compute(_node(flow), "surface", _leaf_surface)


def closed_shape(flow: Node | HasNode) -> Shape:
    """The shape with every sub charged at its declared contract shape."""
    return _compute(_node(flow), "closed", _leaf_closed)


def shape_of(flow: Node | HasNode, *, closed: bool = False) -> Shape:
    """``closed_shape`` if ``closed`` else ``surface_shape``."""
    return closed_shape(flow) if closed else surface_shape(flow)
