"""Explicit ``Any`` crossings: ``as_type``, ``expect`` and the ``any_edges`` report.

The LLM/JSON boundary is ``Any``; the typed layer makes that loud instead of
hiding it. ``as_type(T)`` is a step (``Pipeline[Any, T]``) lowering to the std
pure ``std.expect`` with ``T``'s JSON Schema, so the check runs in every
backend, always (not only when ``check_types`` is on). ``expect(arrow, T)`` is
``arrow`` followed by that check. Edges into either are *checked crossings*
and never reported by :func:`any_edges` or the mypy plugin.

Rejected: a cast-only ``as_type`` (no run-time check) — a wrong model reply
would then surface far downstream as a confusing failure.
"""

from __future__ import annotations

import typing
from typing import Any, TypeVar, overload

from composable_agents.authoring.arrow import (
    Arrow,
    Branching,
    Dataflow,
    Edge,
    Feedback,
    Pipeline,
    Staged,
    type_label,
)
from composable_agents.core.ir import Arr
from composable_agents.errors import CompositionError

__all__ = ["AsType", "any_edges", "as_type", "expect"]

O = TypeVar("O", covariant=True)  # noqa: PLC0105
_T = TypeVar("_T")
_T1 = TypeVar("_T1")
_T2 = TypeVar("_T2")
_T3 = TypeVar("_T3")
_T4 = TypeVar("_T4")
_X = TypeVar("_X")


class AsType(Pipeline[Any, O]):
    """The checked crossing ``as_type(T)``: a ``Pipeline[Any, T]``.

    Its own class (no type variable in the input slot) so that mypy never
    resolves a composition with it to ``Any`` and the plugin can recognise it.
    """

    __slots__ = ()

    @property
    def target(self) -> object:
        """The checked type ``T``."""
        return self.out_type


@overload
def as_type(t: type[_T], /, *, step: str | None = None) -> AsType[_T]: ...
@overload
def as_type(t1: type[_T1], t2: type[_T2], /, *, step: str | None = None) -> AsType[_T1 | _T2]: ...
@overload
def as_type(
    t1: type[_T1], t2: type[_T2], t3: type[_T3], /, *, step: str | None = None
) -> AsType[_T1 | _T2 | _T3]: ...
@overload
def as_type(
    t1: type[_T1], t2: type[_T2], t3: type[_T3], t4: type[_T4], /, *, step: str | None = None
) -> AsType[_T1 | _T2 | _T3 | _T4]: ...
def as_type(*types: object, step: str | None = None) -> AsType[Any]:
    """A step that checks its input against ``T`` (several types: their union) and passes it on typed.

    Lowers to ``arr("std.expect", schema=<T's JSON Schema>, step=<name>)``; a
    mismatch is a :class:`StepTypeError` naming the step, the JSON path, the
    expected type and the value. ``as_type(A, B)`` checks ``A | B`` (mypy
    cannot take a union *expression* as a type argument).
    """
    if not types:
        msg = "as_type() needs at least one type"
        raise CompositionError(msg)
    tp: object = types[0] if len(types) == 1 else typing.Union[types]  # noqa: UP007
    from composable_agents.core.schema import is_any, schema_of

    if is_any(tp):
        msg = "as_type(Any) checks nothing; give the type the value must have"
        raise CompositionError(msg)
    label = f"as_type({type_label(tp)})"
    name = step or label
    node = Arr(pure="std.expect", args={"schema": schema_of(tp), "step": name})
    return AsType(node, in_type=Any, out_type=tp, label=label, bounds=(True, False))


@overload
def expect(
    arrow: Pipeline[_X, object], t: type[_T], /, *, step: str | None = None
) -> Pipeline[_X, _T]: ...
@overload
def expect(
    arrow: Dataflow[_X, object], t: type[_T], /, *, step: str | None = None
) -> Dataflow[_X, _T]: ...
@overload
def expect(
    arrow: Branching[_X, object], t: type[_T], /, *, step: str | None = None
) -> Branching[_X, _T]: ...
@overload
def expect(
    arrow: Feedback[_X, object], t: type[_T], /, *, step: str | None = None
) -> Feedback[_X, _T]: ...
@overload
def expect(
    arrow: Staged[_X, object], t: type[_T], /, *, step: str | None = None
) -> Staged[_X, _T]: ...
@overload
def expect(
    arrow: Arrow[_X, object], t: type[_T], /, *, step: str | None = None
) -> Arrow[_X, _T]: ...
@overload
def expect(
    arrow: Pipeline[_X, object], t1: type[_T1], t2: type[_T2], /, *, step: str | None = None
) -> Pipeline[_X, _T1 | _T2]: ...
@overload
def expect(
    arrow: Dataflow[_X, object], t1: type[_T1], t2: type[_T2], /, *, step: str | None = None
) -> Dataflow[_X, _T1 | _T2]: ...
@overload
def expect(
    arrow: Branching[_X, object], t1: type[_T1], t2: type[_T2], /, *, step: str | None = None
) -> Branching[_X, _T1 | _T2]: ...
@overload
def expect(
    arrow: Arrow[_X, object], t1: type[_T1], t2: type[_T2], /, *, step: str | None = None
) -> Arrow[_X, _T1 | _T2]: ...
def expect(arrow: Arrow[Any, Any], *types: object, step: str | None = None) -> Arrow[Any, Any]:
    """``arrow`` with its output checked against ``T`` (a checked crossing, never an any-edge).

    The static class is ``arrow``'s own (adding a Pipeline step never widens a shape).
    """
    given: object = arrow
    if not isinstance(given, Arrow):
        msg = f"expect(arrow, T): `arrow` must be an Arrow, got {type(given).__name__}: {given!r}"
        raise CompositionError(msg)
    check = as_type(*types, step=step or f"expect({arrow.label})")  # type: ignore[call-overload]
    return arrow >> check  # type: ignore[no-any-return]


def any_edges(arrow: Arrow[Any, Any]) -> tuple[Edge, ...]:
    """Every composition edge of ``arrow`` where exactly one side's declared type is ``Any``.

    Edges into ``as_type``/``expect`` checks are explicit crossings and never
    listed; edges between two untyped steps (both ``Any``) are not either.
    Each :class:`Edge` names the two steps and their boundary types.
    """
    given: object = arrow
    if not isinstance(given, Arrow):
        msg = f"any_edges(arrow): `arrow` must be an Arrow, got {type(given).__name__}: {given!r}"
        raise CompositionError(msg)
    return tuple(e for e in arrow.edges if e.is_any_edge)
