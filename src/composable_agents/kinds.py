"""Shim: the shape lattice and the effect/idempotency/context/op enums (see ``core.kinds``)."""

from composable_agents.core.kinds import (
    SHAPE_ORDER,
    ContextScope,
    Effect,
    Idempotency,
    Merge,
    Op,
    Shape,
)

__all__ = ["SHAPE_ORDER", "ContextScope", "Effect", "Idempotency", "Merge", "Op", "Shape"]
