"""``Arrow[I, O]``: the one currency of every authoring surface.

An arrow is an immutable value wrapping an IR node plus its static boundary
types (``in_type``/``out_type``, used by ``any_edges`` and reports) and an
optional durable name. Arrows compare and hash by content (the node digest and
the name). Composition never mutates an operand.

The shape-typed subclasses form a chain, most specific first::

    Pipeline <: Dataflow <: Branching <: Feedback <: Staged <: Arrow

``wrap(node)`` picks the class naming the node's runtime ``surface_shape``, so
``isinstance(x, Pipeline)`` holds exactly for Pipeline-shaped flows (agent
shaped flows are plain ``Arrow``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final, Generic, Self, TypeVar, overload

from composable_agents.authoring._hooks import _traced
from composable_agents.core.ir import Node
from composable_agents.core.kinds import Shape
from composable_agents.core.shapes import closed_shape, surface_shape
from composable_agents.core.source import capture_source
from composable_agents.errors import CompositionError

if TYPE_CHECKING:
    from composable_agents.authoring.explain import Elaboration
    from composable_agents.core.canonical import JsonObject
    from composable_agents.core.pures import Registry

__all__ = [
    "SHAPE_CLASSES",
    "Arrow",
    "Branching",
    "Dataflow",
    "Edge",
    "Feedback",
    "Pipeline",
    "Staged",
    "as_node",
    "check_tags",
    "type_label",
    "wrap",
]

I = TypeVar("I", contravariant=True)  # noqa: PLC0105  (the SPEC names it I)
O = TypeVar("O", covariant=True)  # noqa: PLC0105
A = TypeVar("A", bound="Arrow[Any, Any]")
# Invariant, method-scoped variables for the operator overloads: a covariant
# ``O`` cannot appear in a parameter, so each overload names ``self``'s type.
_X = TypeVar("_X")
_Y = TypeVar("_Y")
_Z = TypeVar("_Z")
_X2 = TypeVar("_X2")
_Y2 = TypeVar("_Y2")


class Edge:
    """One composition edge: ``left`` feeds ``right`` (names and boundary types).

    ``checked`` marks an explicit, run-time checked crossing (``as_type`` /
    ``expect``): such an edge is never an any-edge.
    """

    __slots__ = ("checked", "left_name", "left_type", "operator", "right_name", "right_type")

    def __init__(
        self,
        left_name: str,
        left_type: object,
        right_name: str,
        right_type: object,
        operator: str,
        checked: bool = False,
    ) -> None:
        self.left_name = left_name
        self.left_type = left_type
        self.right_name = right_name
        self.right_type = right_type
        self.operator = operator
        self.checked = checked

    @property
    def is_any_edge(self) -> bool:
        """Exactly one side's declared type is ``Any`` and the edge is not a checked crossing."""
        if self.checked:
            return False
        return (self.left_type is Any) != (self.right_type is Any)

    def __repr__(self) -> str:
        return (
            f"Edge({self.left_name!r}: {_type_name(self.left_type)} {self.operator} "
            f"{self.right_name!r}: {_type_name(self.right_type)})"
        )


def type_label(tp: object) -> str:
    """A short rendering of a boundary type: ``Any``, ``Q``, ``list[str]``, ``A | B``."""
    import types
    import typing

    if tp is Any:
        return "Any"
    if tp is None or tp is type(None):
        return "None"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(type_label(a) for a in args)
    if origin is not None and args:
        return f"{type_label(origin)}[{', '.join(type_label(a) for a in args)}]"
    if not isinstance(tp, type) and origin is None and not hasattr(tp, "__name__"):
        return repr(tp)
    name = getattr(tp, "__name__", None)
    if isinstance(name, str):
        return name
    return repr(tp).replace("typing.", "")


_type_name = type_label


class _EdgeLog:
    """A persistent log of edges: O(1) to combine, flattened on demand.

    A plain tuple would make a chain of N ``>>`` cost O(N^2).
    """

    __slots__ = ("edge", "parts")

    def __init__(self, parts: tuple[_EdgeLog | None, ...], edge: Edge | None) -> None:
        self.parts = parts
        self.edge = edge

    def __iter__(self) -> Iterator[Edge]:
        out: list[Edge] = []
        stack: list[_EdgeLog] = [self]
        while stack:
            log = stack.pop()
            if log.edge is not None:
                out.append(log.edge)
            stack.extend(p for p in reversed(log.parts) if p is not None)
        out.reverse()
        return iter(out)


class Arrow(Generic[I, O]):
    """An immutable, typed flow from ``I`` to ``O``.

    ``.to_ir()`` is the IR node, ``.to_json()`` its normal form with ids.
    Compose with ``>>`` (sequence), ``&`` (fan-out) and ``|`` (choice on the
    input's structural type).
    """

    # ``_bounds[0]``: the head is an explicit checked crossing (``as_type``), so
    # an edge into it is never an any-edge; ``_bounds[1]`` is kept for symmetry.
    __slots__ = (
        "__weakref__",
        "_bounds",
        "_edges",
        "_ends",
        "_in",
        "_label",
        "_node",
        "_out",
        "_ref",
        "_tags",
    )

    _node: Node
    _in: object
    _out: object
    _ref: str | None
    _label: str | None
    _edges: _EdgeLog | None
    _ends: tuple[str, str] | None
    _bounds: tuple[bool, bool]
    _tags: tuple[str, ...]

    def __init__(
        self,
        node: Node,
        *,
        in_type: object = Any,
        out_type: object = Any,
        ref: str | None = None,
        label: str | None = None,
        edges: _EdgeLog | None = None,
        ends: tuple[str, str] | None = None,
        bounds: tuple[bool, bool] = (False, False),
        tags: tuple[str, ...] = (),
    ) -> None:
        given: object = node  # callers outside mypy may pass anything
        if not isinstance(given, Node):
            msg = f"`node` must be an IR Node, got {node!r}"
            raise CompositionError(msg)
        object.__setattr__(self, "_node", node)
        object.__setattr__(self, "_in", in_type)
        object.__setattr__(self, "_out", out_type)
        object.__setattr__(self, "_ref", ref)
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_edges", edges)
        object.__setattr__(self, "_ends", ends)
        object.__setattr__(self, "_bounds", bounds)
        object.__setattr__(self, "_tags", tags)

    def __setattr__(self, name: str, value: object) -> None:
        msg = f"{type(self).__name__} is immutable; build a new arrow instead of setting {name!r}"
        raise AttributeError(msg)

    # -- the IR -------------------------------------------------------------

    def to_ir(self) -> Node:
        """The wrapped IR node."""
        return self._node

    def to_json(self) -> JsonObject:
        """The node's normal form as JSON with positional ids."""
        return self._node.to_json()

    @property
    def in_type(self) -> object:
        """The static input type (``Any`` when unknown)."""
        return self._in

    @property
    def out_type(self) -> object:
        """The static output type (``Any`` when unknown)."""
        return self._out

    @property
    def label(self) -> str:
        """A short human name: the durable ref, a leaf's name, or the local name."""
        return self._ref or self._label or self.local_name

    def _head(self) -> str:
        """The name of the step that first receives this arrow's input (O(1))."""
        if self._ends is not None:
            return self._ends[0]
        return self._ref or self._label or f"<{self._node.OP}>"

    def _tail(self) -> str:
        """The name of the step whose output leaves this arrow (O(1))."""
        if self._ends is not None:
            return self._ends[1]
        return self._ref or self._label or f"<{self._node.OP}>"

    @property
    def edges(self) -> tuple[Edge, ...]:
        """Every composition edge recorded while building this arrow, in order."""
        return tuple(self._edges) if self._edges is not None else ()

    # -- identity -----------------------------------------------------------

    @property
    def digest(self) -> str:
        """``sha256:`` content hash of the normal form."""
        return self._node.digest()

    @property
    def local_name(self) -> str:
        """A derived name for an anonymous arrow: ``anon.`` + 12 hex of its digest."""
        return "anon." + self._node.digest()[7:19]

    @property
    def ref(self) -> str | None:
        """The durable name given by ``.named(...)``, or ``None``."""
        return self._ref

    @property
    def tags(self) -> tuple[str, ...]:
        """Labels for selection (``ca ls tag:support``): metadata, never part of the IR or any hash."""
        return self._tags

    def named(self, ref: str, *, tags: Iterable[str] | None = None, registry: Registry | None = None) -> Self:
        """A copy with the durable name ``ref`` (and ``tags``), registered so ``sub(ref)`` finds it.

        Names and tags are affine: composing a named arrow into anything larger
        yields an anonymous, untagged arrow. ``tags=None`` keeps the current tags.
        """
        given: object = ref
        if not isinstance(given, str) or not ref or ref != ref.strip():
            msg = f"`ref` must be a non-empty string without surrounding spaces, got {ref!r}"
            raise CompositionError(msg)
        clone = self._rebuild(ref=ref, tags=self._tags if tags is None else check_tags(tags))
        from composable_agents.core.pures import DEFAULT_REGISTRY

        (registry or DEFAULT_REGISTRY).register_flow(ref, clone)
        return clone

    def _rebuild(self, **changes: Any) -> Self:
        fields: dict[str, Any] = {
            "in_type": self._in,
            "out_type": self._out,
            "ref": self._ref,
            "label": self._label,
            "edges": self._edges,
            "ends": self._ends,
            "bounds": self._bounds,
            "tags": self._tags,
        }
        fields.update(changes)
        clone = object.__new__(type(self))
        Arrow.__init__(clone, self._node, **fields)
        self._copy_extra(clone)
        return clone

    def _copy_extra(self, clone: Arrow[Any, Any]) -> None:
        """Copy subclass-specific slots onto ``clone`` (leaves override this)."""

    # -- composition --------------------------------------------------------
    #
    # The static types live in the overloads (one set per shape class, most
    # specific first, so mypy picks the lattice join of the operands and the
    # operator's floor); the run-time bodies are shared below.

    if TYPE_CHECKING:
        # Inside a ``@flow`` body, an arrow applied to a handle (a value of type ``I``)
        # appends it as a step whose result stands for an ``O``.
        def __call__(self, value: I, /) -> O: ...

    else:

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            traced = _traced(self, args, kwargs)
            if traced is not NotImplemented:
                return traced
            msg = (
                f"{self.label!r} is an arrow, not a function: apply it to a handle inside a @flow body "
                "(arrow(h)), compose it with >> / & / |, or run it with deploy(arrow).dry_run(value)"
            )
            raise CompositionError(msg)

    def __rshift__(self: Arrow[_X, _Y], other: Arrow[_Y, _Z], /) -> Arrow[_X, _Z]:
        """``self >> other``: run ``self``, feed its output to ``other``."""
        return self._then(other)

    def __and__(self: Arrow[_X, _Y], other: Arrow[_X, _Z], /) -> Arrow[_X, tuple[_Y, _Z]]:
        """``self & other``: run both on the same input; the value is ``(a, b)``."""
        return self._fan(other)

    def __or__(self: Arrow[_X, _Y], other: Arrow[_X2, _Y2], /) -> Arrow[_X | _X2, _Y | _Y2]:
        """``self | other``: route the input to ``self`` if it matches ``self``'s input type, else to ``other``."""
        return self._choose(other)

    def _then(self, other: Arrow[Any, Any]) -> Arrow[Any, Any]:
        right = _operand(other, ">>")
        from composable_agents.core.ir import Seq

        out_type = right._out
        checked = right._bounds[0]
        passing = getattr(type(right), "PASSES_THROUGH", None)
        if passing is not None:
            # A human gate passes its input on (or, with on_reject="value", the
            # input or its decision record): the value keeps the left type, and
            # the edge into the gate is no Any boundary.
            out_type = passing(self._out)
            checked = True
        edge = Edge(self._tail(), self._out, right._head(), right._in, ">>", checked=checked)
        return wrap(
            Seq(steps=(self._node, right._node), src=capture_source()),
            in_type=self._in,
            out_type=out_type,
            edges=_EdgeLog((self._edges, right._edges), edge),
            ends=(self._head(), right._tail()),
            bounds=(self._bounds[0], right._bounds[1]),
        )

    def _fan(self, other: Arrow[Any, Any]) -> Arrow[Any, Any]:
        right = _operand(other, "&")
        from composable_agents.core.ir import Par

        return wrap(
            Par(branches=(self._node, right._node), src=capture_source()),
            in_type=_meet(self._in, right._in),
            out_type=tuple[self._out, right._out],  # type: ignore[name-defined]
            edges=_join_logs(self._edges, right._edges),
            ends=(_both(self._head(), right._head(), "&"), _both(self._tail(), right._tail(), "&")),
            bounds=(self._bounds[0] and right._bounds[0], False),
        )

    def _choose(self, other: Arrow[Any, Any]) -> Arrow[Any, Any]:
        right = _operand(other, "|")
        from composable_agents.core.ir import Alt, PureRef
        from composable_agents.core.schema import is_any, schema_of

        if is_any(self._in):
            msg = (
                f"cannot build a choice `|` on {self.label!r}: its input type is Any, so there is no "
                "schema to route on; give the left arm a typed input (e.g. as_type(T) >> arm)"
            )
            raise CompositionError(msg)
        schema = schema_of(self._in)
        return wrap(
            Alt(
                branches=(self._node, right._node),
                pred=PureRef("std.matches", {"schema": schema}),
                src=capture_source(),
            ),
            in_type=_union(self._in, right._in),
            out_type=_union(self._out, right._out),
            edges=_join_logs(self._edges, right._edges),
            ends=(_both(self._head(), right._head(), "|"), _both(self._tail(), right._tail(), "|")),
            bounds=(self._bounds[0] and right._bounds[0], self._bounds[1] and right._bounds[1]),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Arrow):
            return NotImplemented
        return self._ref == other._ref and self._node == other._node

    def __hash__(self) -> int:
        return hash((self._ref, self._node.digest()))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label} {self.surface_shape}>"

    # -- shapes -------------------------------------------------------------

    @property
    def surface_shape(self) -> Shape:
        """The shape a parent sees (subs opaque)."""
        return surface_shape(self._node)

    @property
    def closed_shape(self) -> Shape:
        """The shape with subs charged at their contract shapes."""
        return closed_shape(self._node)

    @overload
    def narrow(self: Arrow[_X, _Y], cls: type[Pipeline[Any, Any]]) -> Pipeline[_X, _Y]: ...
    @overload
    def narrow(self: Arrow[_X, _Y], cls: type[Dataflow[Any, Any]]) -> Dataflow[_X, _Y]: ...
    @overload
    def narrow(self: Arrow[_X, _Y], cls: type[Branching[Any, Any]]) -> Branching[_X, _Y]: ...
    @overload
    def narrow(self: Arrow[_X, _Y], cls: type[Feedback[Any, Any]]) -> Feedback[_X, _Y]: ...
    @overload
    def narrow(self: Arrow[_X, _Y], cls: type[Staged[Any, Any]]) -> Staged[_X, _Y]: ...
    @overload
    def narrow(self: Arrow[_X, _Y], cls: type[Arrow[Any, Any]]) -> Arrow[_X, _Y]: ...
    def narrow(self, cls: type[Arrow[Any, Any]]) -> Arrow[Any, Any]:
        """This arrow as ``cls`` after checking its runtime shape fits.

        ``flow.narrow(Pipeline)`` returns a ``Pipeline`` when the flow is
        Pipeline-shaped and raises :class:`CompositionError` otherwise.
        """
        wanted = SHAPE_OF_CLASS.get(cls)
        if wanted is None:
            msg = (
                f"`cls` must be one of {', '.join(c.__name__ for c in SHAPE_OF_CLASS)}, got {cls!r}"
            )
            raise CompositionError(msg)
        actual = self.surface_shape
        if actual > wanted:
            msg = f"cannot narrow a {actual}-shaped arrow {self.label!r} to {cls.__name__}"
            raise CompositionError(msg)
        if isinstance(self, cls):
            return self
        clone = object.__new__(cls)
        Arrow.__init__(
            clone,
            self._node,
            in_type=self._in,
            out_type=self._out,
            ref=self._ref,
            label=self._label,
            edges=self._edges,
            ends=self._ends,
            bounds=self._bounds,
        )
        return clone

    def explain(self) -> Elaboration:
        """The elaboration report: node kinds, tool refs, reasoners, pures, any-edges and shapes."""
        from composable_agents.authoring.explain import (
            _elaborate,  # same layer; explain imports this module
        )

        return _elaborate(self)


class Staged(Arrow[I, O]):
    """An arrow at most Staged-shaped (a planner may emit its structure)."""

    __slots__ = ()

    @overload
    def __rshift__(self: Staged[_X, _Y], other: Staged[_Y, _Z], /) -> Staged[_X, _Z]: ...
    @overload
    def __rshift__(self: Staged[_X, _Y], other: Arrow[_Y, _Z], /) -> Arrow[_X, _Z]: ...
    def __rshift__(self, other: Arrow[Any, Any], /) -> Any:
        return self._then(other)

    @overload
    def __and__(self: Staged[_X, _Y], other: Staged[_X, _Z], /) -> Staged[_X, tuple[_Y, _Z]]: ...
    @overload
    def __and__(self: Staged[_X, _Y], other: Arrow[_X, _Z], /) -> Arrow[_X, tuple[_Y, _Z]]: ...
    def __and__(self, other: Arrow[Any, Any], /) -> Any:
        return self._fan(other)

    @overload
    def __or__(self: Staged[_X, _Y], other: Staged[_X2, _Y2], /) -> Staged[_X | _X2, _Y | _Y2]: ...
    @overload
    def __or__(self: Staged[_X, _Y], other: Arrow[_X2, _Y2], /) -> Arrow[_X | _X2, _Y | _Y2]: ...
    def __or__(self, other: Arrow[Any, Any], /) -> Any:
        return self._choose(other)


class Feedback(Staged[I, O]):
    """An arrow at most Feedback-shaped (bounded loops allowed)."""

    __slots__ = ()

    @overload  # type: ignore[override]
    def __rshift__(self: Feedback[_X, _Y], other: Feedback[_Y, _Z], /) -> Feedback[_X, _Z]: ...
    @overload
    def __rshift__(self: Feedback[_X, _Y], other: Staged[_Y, _Z], /) -> Staged[_X, _Z]: ...
    @overload
    def __rshift__(self: Feedback[_X, _Y], other: Arrow[_Y, _Z], /) -> Arrow[_X, _Z]: ...
    def __rshift__(self, other: Arrow[Any, Any], /) -> Any:
        return self._then(other)

    @overload  # type: ignore[override]
    def __and__(
        self: Feedback[_X, _Y], other: Feedback[_X, _Z], /
    ) -> Feedback[_X, tuple[_Y, _Z]]: ...
    @overload
    def __and__(self: Feedback[_X, _Y], other: Staged[_X, _Z], /) -> Staged[_X, tuple[_Y, _Z]]: ...
    @overload
    def __and__(self: Feedback[_X, _Y], other: Arrow[_X, _Z], /) -> Arrow[_X, tuple[_Y, _Z]]: ...
    def __and__(self, other: Arrow[Any, Any], /) -> Any:
        return self._fan(other)

    @overload  # type: ignore[override]
    def __or__(
        self: Feedback[_X, _Y], other: Feedback[_X2, _Y2], /
    ) -> Feedback[_X | _X2, _Y | _Y2]: ...
    @overload
    def __or__(
        self: Feedback[_X, _Y], other: Staged[_X2, _Y2], /
    ) -> Staged[_X | _X2, _Y | _Y2]: ...
    @overload
    def __or__(self: Feedback[_X, _Y], other: Arrow[_X2, _Y2], /) -> Arrow[_X | _X2, _Y | _Y2]: ...
    def __or__(self, other: Arrow[Any, Any], /) -> Any:
        return self._choose(other)


class Branching(Feedback[I, O]):
    """An arrow at most Branching-shaped (choices allowed, no loops)."""

    __slots__ = ()

    @overload  # type: ignore[override]
    def __rshift__(self: Branching[_X, _Y], other: Branching[_Y, _Z], /) -> Branching[_X, _Z]: ...
    @overload
    def __rshift__(self: Branching[_X, _Y], other: Feedback[_Y, _Z], /) -> Feedback[_X, _Z]: ...
    @overload
    def __rshift__(self: Branching[_X, _Y], other: Staged[_Y, _Z], /) -> Staged[_X, _Z]: ...
    @overload
    def __rshift__(self: Branching[_X, _Y], other: Arrow[_Y, _Z], /) -> Arrow[_X, _Z]: ...
    def __rshift__(self, other: Arrow[Any, Any], /) -> Any:
        return self._then(other)

    @overload  # type: ignore[override]
    def __and__(
        self: Branching[_X, _Y], other: Branching[_X, _Z], /
    ) -> Branching[_X, tuple[_Y, _Z]]: ...
    @overload
    def __and__(
        self: Branching[_X, _Y], other: Feedback[_X, _Z], /
    ) -> Feedback[_X, tuple[_Y, _Z]]: ...
    @overload
    def __and__(self: Branching[_X, _Y], other: Staged[_X, _Z], /) -> Staged[_X, tuple[_Y, _Z]]: ...
    @overload
    def __and__(self: Branching[_X, _Y], other: Arrow[_X, _Z], /) -> Arrow[_X, tuple[_Y, _Z]]: ...
    def __and__(self, other: Arrow[Any, Any], /) -> Any:
        return self._fan(other)

    @overload  # type: ignore[override]
    def __or__(
        self: Branching[_X, _Y], other: Branching[_X2, _Y2], /
    ) -> Branching[_X | _X2, _Y | _Y2]: ...
    @overload
    def __or__(
        self: Branching[_X, _Y], other: Feedback[_X2, _Y2], /
    ) -> Feedback[_X | _X2, _Y | _Y2]: ...
    @overload
    def __or__(
        self: Branching[_X, _Y], other: Staged[_X2, _Y2], /
    ) -> Staged[_X | _X2, _Y | _Y2]: ...
    @overload
    def __or__(self: Branching[_X, _Y], other: Arrow[_X2, _Y2], /) -> Arrow[_X | _X2, _Y | _Y2]: ...
    def __or__(self, other: Arrow[Any, Any], /) -> Any:
        return self._choose(other)


class Dataflow(Branching[I, O]):
    """An arrow at most Dataflow-shaped (fan-out allowed, no choices)."""

    __slots__ = ()

    @overload  # type: ignore[override]
    def __rshift__(self: Dataflow[_X, _Y], other: Dataflow[_Y, _Z], /) -> Dataflow[_X, _Z]: ...
    @overload
    def __rshift__(self: Dataflow[_X, _Y], other: Branching[_Y, _Z], /) -> Branching[_X, _Z]: ...
    @overload
    def __rshift__(self: Dataflow[_X, _Y], other: Feedback[_Y, _Z], /) -> Feedback[_X, _Z]: ...
    @overload
    def __rshift__(self: Dataflow[_X, _Y], other: Staged[_Y, _Z], /) -> Staged[_X, _Z]: ...
    @overload
    def __rshift__(self: Dataflow[_X, _Y], other: Arrow[_Y, _Z], /) -> Arrow[_X, _Z]: ...
    def __rshift__(self, other: Arrow[Any, Any], /) -> Any:
        return self._then(other)

    @overload  # type: ignore[override]
    def __and__(
        self: Dataflow[_X, _Y], other: Dataflow[_X, _Z], /
    ) -> Dataflow[_X, tuple[_Y, _Z]]: ...
    @overload
    def __and__(
        self: Dataflow[_X, _Y], other: Branching[_X, _Z], /
    ) -> Branching[_X, tuple[_Y, _Z]]: ...
    @overload
    def __and__(
        self: Dataflow[_X, _Y], other: Feedback[_X, _Z], /
    ) -> Feedback[_X, tuple[_Y, _Z]]: ...
    @overload
    def __and__(self: Dataflow[_X, _Y], other: Staged[_X, _Z], /) -> Staged[_X, tuple[_Y, _Z]]: ...
    @overload
    def __and__(self: Dataflow[_X, _Y], other: Arrow[_X, _Z], /) -> Arrow[_X, tuple[_Y, _Z]]: ...
    def __and__(self, other: Arrow[Any, Any], /) -> Any:
        return self._fan(other)


class Pipeline(Dataflow[I, O]):
    """A straight-line arrow: fully analyzable."""

    __slots__ = ()

    @overload  # type: ignore[override]
    def __rshift__(self: Pipeline[_X, _Y], other: Pipeline[_Y, _Z], /) -> Pipeline[_X, _Z]: ...
    @overload
    def __rshift__(self: Pipeline[_X, _Y], other: Dataflow[_Y, _Z], /) -> Dataflow[_X, _Z]: ...
    @overload
    def __rshift__(self: Pipeline[_X, _Y], other: Branching[_Y, _Z], /) -> Branching[_X, _Z]: ...
    @overload
    def __rshift__(self: Pipeline[_X, _Y], other: Feedback[_Y, _Z], /) -> Feedback[_X, _Z]: ...
    @overload
    def __rshift__(self: Pipeline[_X, _Y], other: Staged[_Y, _Z], /) -> Staged[_X, _Z]: ...
    @overload
    def __rshift__(self: Pipeline[_X, _Y], other: Arrow[_Y, _Z], /) -> Arrow[_X, _Z]: ...
    def __rshift__(self, other: Arrow[Any, Any], /) -> Any:
        return self._then(other)


SHAPE_CLASSES: Final[dict[Shape, type[Arrow[Any, Any]]]] = {
    Shape.PIPELINE: Pipeline,
    Shape.DATAFLOW: Dataflow,
    Shape.BRANCHING: Branching,
    Shape.FEEDBACK: Feedback,
    Shape.STAGED: Staged,
    Shape.AGENT: Arrow,
}
SHAPE_OF_CLASS: Final[dict[type[Arrow[Any, Any]], Shape]] = {
    cls: s for s, cls in SHAPE_CLASSES.items()
}


def _operand(value: object, operator: str) -> Arrow[Any, Any]:
    if isinstance(value, Arrow):
        return value
    msg = (
        f"the right operand of `{operator}` must be an Arrow, got {type(value).__name__}: {value!r}"
    )
    raise CompositionError(msg)


_MAX_END_NAME: Final = 60


def _both(left: str, right: str, operator: str) -> str:
    """The name of two parallel steps (``a & b``), kept short for reports."""
    name = f"{left} {operator} {right}"
    return name if len(name) <= _MAX_END_NAME else f"<{operator}>"


def _join_logs(left: _EdgeLog | None, right: _EdgeLog | None) -> _EdgeLog | None:
    if left is None:
        return right
    if right is None:
        return left
    return _EdgeLog((left, right), None)


def _meet(left: object, right: object) -> object:
    if left is Any:
        return right
    return left


def _union(left: object, right: object) -> object:
    if left is Any or right is Any:
        return Any
    if left == right:
        return left
    import typing

    return typing.Union[left, right]  # noqa: UP007


def check_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """``tags`` as a sorted tuple without duplicates; each must be a non-empty string without spaces or commas."""
    given: object = tags
    if isinstance(given, str) or not isinstance(given, Iterable):
        msg = f"`tags` must be a list or tuple of strings, got {tags!r}"
        raise CompositionError(msg)
    out = set()
    for tag in given:
        if not isinstance(tag, str) or not tag or any(ch.isspace() or ch in ",:" for ch in tag):
            msg = f"a tag must be a non-empty string without spaces, commas or colons, got {tag!r}"
            raise CompositionError(msg)
        out.add(tag)
    return tuple(sorted(out))


def as_node(value: Arrow[Any, Any] | Node, *, what: str = "argument") -> Node:
    """The IR node of an arrow (or a node itself); :class:`CompositionError` otherwise."""
    given: object = value
    if isinstance(given, Arrow):
        return given.to_ir()
    if isinstance(given, Node):
        return given
    msg = f"{what} must be an Arrow, got {type(value).__name__}: {value!r}"
    raise CompositionError(msg)


def wrap(
    node: Node,
    *,
    in_type: object = Any,
    out_type: object = Any,
    label: str | None = None,
    edges: _EdgeLog | None = None,
    ends: tuple[str, str] | None = None,
    bounds: tuple[bool, bool] = (False, False),
) -> Arrow[Any, Any]:
    """An arrow of the shape class naming ``node``'s surface shape."""
    cls = SHAPE_CLASSES[surface_shape(node)]
    return cls(
        node, in_type=in_type, out_type=out_type, label=label, edges=edges, ends=ends, bounds=bounds
    )
