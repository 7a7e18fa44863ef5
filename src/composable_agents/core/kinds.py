"""The vocabulary of the pure core: shapes, effects, idempotency, context scopes, ops.

Every enum here is a ``StrEnum`` so its members *are* their wire strings: the IR,
capability manifests and diagnostics carry the same text a user writes in YAML.
Rejected alternative: plain ``Enum`` with ``.value`` conversions sprinkled across
the codec — one more place to get the spelling wrong.
"""

from __future__ import annotations

import enum
from typing import Final

__all__ = ["SHAPE_ORDER", "ContextScope", "Effect", "Idempotency", "Merge", "Op", "Shape"]


class Shape(enum.StrEnum):
    """A flow's place on the shape lattice ``Pipeline < Dataflow < ... < Agent``.

    The order is total, so the lattice join is ``max``. ``Shape.join`` and the
    rich comparisons use the lattice order, not string order.
    """

    PIPELINE = "Pipeline"
    DATAFLOW = "Dataflow"
    BRANCHING = "Branching"
    FEEDBACK = "Feedback"
    STAGED = "Staged"
    AGENT = "Agent"

    @property
    def rank(self) -> int:
        """The position of this shape on the lattice (``PIPELINE`` is 0)."""
        return _RANK[self]

    def join(self, *others: Shape) -> Shape:  # type: ignore[override]  # the lattice join, not str.join
        """The least shape that is at least this one and every one of ``others``."""
        best = self
        for other in others:
            if _RANK[other] > _RANK[best]:
                best = other
        return best

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Shape):
            return NotImplemented
        return _RANK[self] < _RANK[other]

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Shape):
            return NotImplemented
        return _RANK[self] <= _RANK[other]

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Shape):
            return NotImplemented
        return _RANK[self] > _RANK[other]

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Shape):
            return NotImplemented
        return _RANK[self] >= _RANK[other]

    __hash__ = enum.StrEnum.__hash__


SHAPE_ORDER: Final[tuple[Shape, ...]] = (
    Shape.PIPELINE,
    Shape.DATAFLOW,
    Shape.BRANCHING,
    Shape.FEEDBACK,
    Shape.STAGED,
    Shape.AGENT,
)
_RANK: Final[dict[Shape, int]] = {shape: i for i, shape in enumerate(SHAPE_ORDER)}


class Effect(enum.StrEnum):
    """What a tool does to the world: only ``read`` tools may race or retry freely."""

    READ = "read"
    WRITE = "write"
    EXTERNAL = "external"
    DANGEROUS = "dangerous"


class Idempotency(enum.StrEnum):
    """Whether repeating a tool call with the same idempotency key is harmless.

    ``native``: the tool is idempotent by nature or honours the key itself.
    ``required``: the tool demands a key and applies its effect once per key.
    """

    NONE = "none"
    NATIVE = "native"
    REQUIRED = "required"


class ContextScope(enum.StrEnum):
    """How much conversation/session memory a leaf reads (the ``ctx=`` of leaves)."""

    NONE = "none"
    LOCAL = "local"
    SUMMARY = "summary"
    WHOLE_SESSION = "whole_session"


class Op(enum.StrEnum):
    """The IR's node kinds (the ``"op"`` field of a node)."""

    PRIM = "prim"
    IDENT = "ident"
    ARR = "arr"
    SEQ = "seq"
    PAR = "par"
    EACH = "each"
    ALT = "alt"
    ITER_UP_TO = "iter_up_to"
    EVAL_PLAN = "eval_plan"
    APP = "app"
    LOOP = "loop"


class Merge(enum.StrEnum):
    """How a ``par`` node settles its branches."""

    ALL = "all"
    RACE = "race"
    HEDGE = "hedge"
    QUORUM = "quorum"
