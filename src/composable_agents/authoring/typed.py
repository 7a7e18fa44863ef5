"""``composable_agents.typed``: the typed composition surface.

``seq``, ``fanout``, ``choice`` and ``each`` are the n-ary forms of ``>>``,
``&`` and ``|``: one overload per arity and shape class, most specific first,
so mypy gives the lattice join of the parts and the operator's floor (the
class whose shape the run-time ``surface_shape`` then equals). Beyond the
largest arity they fall back to ``Arrow[Any, Any]``; nest calls instead.
``as_flow`` views any arrow as the plain ``Arrow[I, O]`` a ``@flow`` gives.

Rejected: a single ``*args`` signature plus the plugin for every arity — the
overloads keep the typing exact for users who do not enable the plugin.
"""

# One overload per arity and class: the later classes are supersets of the
# earlier ones, which mypy reports as overlapping; resolution is in order.
# mypy: disable-error-code="overload-overlap, overload-cannot-match"

from __future__ import annotations

from typing import Any, TypeVar, overload

from composable_agents.authoring.adapters import as_type, expect
from composable_agents.authoring.arrow import (
    Arrow,
    Branching,
    Dataflow,
    Feedback,
    Pipeline,
    Staged,
    _join_logs,
    wrap,
)
from composable_agents.authoring.kernel import each as _kernel_each
from composable_agents.authoring.leaves import Pure
from composable_agents.core.ir import Par
from composable_agents.errors import CompositionError

__all__ = [
    "Arrow",
    "Branching",
    "Dataflow",
    "Feedback",
    "Pipeline",
    "Staged",
    "as_flow",
    "as_type",
    "choice",
    "each",
    "expect",
    "fanout",
    "seq",
]

_T0 = TypeVar("_T0")
_T1 = TypeVar("_T1")
_T2 = TypeVar("_T2")
_T3 = TypeVar("_T3")
_T4 = TypeVar("_T4")
_T5 = TypeVar("_T5")
_T6 = TypeVar("_T6")
_I = TypeVar("_I")
_I0 = TypeVar("_I0")
_I1 = TypeVar("_I1")
_I2 = TypeVar("_I2")
_I3 = TypeVar("_I3")
_I4 = TypeVar("_I4")
_A = TypeVar("_A", bound=Arrow[Any, Any])


def _arrow(value: object, fn: str) -> Arrow[Any, Any]:
    if isinstance(value, Arrow):
        return value
    msg = f"typed.{fn}() takes arrows, got {type(value).__name__}: {value!r}"
    raise CompositionError(msg)


def as_flow(arrow: Arrow[_I, _T0], /) -> Arrow[_I, _T0]:
    """``arrow`` viewed as a plain flow ``Arrow[I, O]`` (the static type a ``@flow`` has).

    The run-time object is unchanged (same node, same ``local_name``); use
    ``.narrow(Pipeline)`` (etc.) to get a shape class back with a check.
    """
    return _arrow(arrow, "as_flow")


@overload
def seq(a0: Pipeline[_T0, _T1], a1: Pipeline[_T1, _T2], /) -> Pipeline[_T0, _T2]: ...
@overload
def seq(a0: Dataflow[_T0, _T1], a1: Dataflow[_T1, _T2], /) -> Dataflow[_T0, _T2]: ...
@overload
def seq(a0: Branching[_T0, _T1], a1: Branching[_T1, _T2], /) -> Branching[_T0, _T2]: ...
@overload
def seq(a0: Feedback[_T0, _T1], a1: Feedback[_T1, _T2], /) -> Feedback[_T0, _T2]: ...
@overload
def seq(a0: Staged[_T0, _T1], a1: Staged[_T1, _T2], /) -> Staged[_T0, _T2]: ...
@overload
def seq(a0: Arrow[_T0, _T1], a1: Arrow[_T1, _T2], /) -> Arrow[_T0, _T2]: ...
@overload
def seq(
    a0: Pipeline[_T0, _T1], a1: Pipeline[_T1, _T2], a2: Pipeline[_T2, _T3], /
) -> Pipeline[_T0, _T3]: ...
@overload
def seq(
    a0: Dataflow[_T0, _T1], a1: Dataflow[_T1, _T2], a2: Dataflow[_T2, _T3], /
) -> Dataflow[_T0, _T3]: ...
@overload
def seq(
    a0: Branching[_T0, _T1], a1: Branching[_T1, _T2], a2: Branching[_T2, _T3], /
) -> Branching[_T0, _T3]: ...
@overload
def seq(
    a0: Feedback[_T0, _T1], a1: Feedback[_T1, _T2], a2: Feedback[_T2, _T3], /
) -> Feedback[_T0, _T3]: ...
@overload
def seq(
    a0: Staged[_T0, _T1], a1: Staged[_T1, _T2], a2: Staged[_T2, _T3], /
) -> Staged[_T0, _T3]: ...
@overload
def seq(a0: Arrow[_T0, _T1], a1: Arrow[_T1, _T2], a2: Arrow[_T2, _T3], /) -> Arrow[_T0, _T3]: ...
@overload
def seq(
    a0: Pipeline[_T0, _T1],
    a1: Pipeline[_T1, _T2],
    a2: Pipeline[_T2, _T3],
    a3: Pipeline[_T3, _T4],
    /,
) -> Pipeline[_T0, _T4]: ...
@overload
def seq(
    a0: Dataflow[_T0, _T1],
    a1: Dataflow[_T1, _T2],
    a2: Dataflow[_T2, _T3],
    a3: Dataflow[_T3, _T4],
    /,
) -> Dataflow[_T0, _T4]: ...
@overload
def seq(
    a0: Branching[_T0, _T1],
    a1: Branching[_T1, _T2],
    a2: Branching[_T2, _T3],
    a3: Branching[_T3, _T4],
    /,
) -> Branching[_T0, _T4]: ...
@overload
def seq(
    a0: Feedback[_T0, _T1],
    a1: Feedback[_T1, _T2],
    a2: Feedback[_T2, _T3],
    a3: Feedback[_T3, _T4],
    /,
) -> Feedback[_T0, _T4]: ...
@overload
def seq(
    a0: Staged[_T0, _T1], a1: Staged[_T1, _T2], a2: Staged[_T2, _T3], a3: Staged[_T3, _T4], /
) -> Staged[_T0, _T4]: ...
@overload
def seq(
    a0: Arrow[_T0, _T1], a1: Arrow[_T1, _T2], a2: Arrow[_T2, _T3], a3: Arrow[_T3, _T4], /
) -> Arrow[_T0, _T4]: ...
@overload
def seq(
    a0: Pipeline[_T0, _T1],
    a1: Pipeline[_T1, _T2],
    a2: Pipeline[_T2, _T3],
    a3: Pipeline[_T3, _T4],
    a4: Pipeline[_T4, _T5],
    /,
) -> Pipeline[_T0, _T5]: ...
@overload
def seq(
    a0: Dataflow[_T0, _T1],
    a1: Dataflow[_T1, _T2],
    a2: Dataflow[_T2, _T3],
    a3: Dataflow[_T3, _T4],
    a4: Dataflow[_T4, _T5],
    /,
) -> Dataflow[_T0, _T5]: ...
@overload
def seq(
    a0: Branching[_T0, _T1],
    a1: Branching[_T1, _T2],
    a2: Branching[_T2, _T3],
    a3: Branching[_T3, _T4],
    a4: Branching[_T4, _T5],
    /,
) -> Branching[_T0, _T5]: ...
@overload
def seq(
    a0: Feedback[_T0, _T1],
    a1: Feedback[_T1, _T2],
    a2: Feedback[_T2, _T3],
    a3: Feedback[_T3, _T4],
    a4: Feedback[_T4, _T5],
    /,
) -> Feedback[_T0, _T5]: ...
@overload
def seq(
    a0: Staged[_T0, _T1],
    a1: Staged[_T1, _T2],
    a2: Staged[_T2, _T3],
    a3: Staged[_T3, _T4],
    a4: Staged[_T4, _T5],
    /,
) -> Staged[_T0, _T5]: ...
@overload
def seq(
    a0: Arrow[_T0, _T1],
    a1: Arrow[_T1, _T2],
    a2: Arrow[_T2, _T3],
    a3: Arrow[_T3, _T4],
    a4: Arrow[_T4, _T5],
    /,
) -> Arrow[_T0, _T5]: ...
@overload
def seq(
    a0: Pipeline[_T0, _T1],
    a1: Pipeline[_T1, _T2],
    a2: Pipeline[_T2, _T3],
    a3: Pipeline[_T3, _T4],
    a4: Pipeline[_T4, _T5],
    a5: Pipeline[_T5, _T6],
    /,
) -> Pipeline[_T0, _T6]: ...
@overload
def seq(
    a0: Dataflow[_T0, _T1],
    a1: Dataflow[_T1, _T2],
    a2: Dataflow[_T2, _T3],
    a3: Dataflow[_T3, _T4],
    a4: Dataflow[_T4, _T5],
    a5: Dataflow[_T5, _T6],
    /,
) -> Dataflow[_T0, _T6]: ...
@overload
def seq(
    a0: Branching[_T0, _T1],
    a1: Branching[_T1, _T2],
    a2: Branching[_T2, _T3],
    a3: Branching[_T3, _T4],
    a4: Branching[_T4, _T5],
    a5: Branching[_T5, _T6],
    /,
) -> Branching[_T0, _T6]: ...
@overload
def seq(
    a0: Feedback[_T0, _T1],
    a1: Feedback[_T1, _T2],
    a2: Feedback[_T2, _T3],
    a3: Feedback[_T3, _T4],
    a4: Feedback[_T4, _T5],
    a5: Feedback[_T5, _T6],
    /,
) -> Feedback[_T0, _T6]: ...
@overload
def seq(
    a0: Staged[_T0, _T1],
    a1: Staged[_T1, _T2],
    a2: Staged[_T2, _T3],
    a3: Staged[_T3, _T4],
    a4: Staged[_T4, _T5],
    a5: Staged[_T5, _T6],
    /,
) -> Staged[_T0, _T6]: ...
@overload
def seq(
    a0: Arrow[_T0, _T1],
    a1: Arrow[_T1, _T2],
    a2: Arrow[_T2, _T3],
    a3: Arrow[_T3, _T4],
    a4: Arrow[_T4, _T5],
    a5: Arrow[_T5, _T6],
    /,
) -> Arrow[_T0, _T6]: ...
@overload
def seq(a0: _A, /) -> _A: ...
@overload
def seq(
    a0: Arrow[Any, Any],
    a1: Arrow[Any, Any],
    a2: Arrow[Any, Any],
    a3: Arrow[Any, Any],
    a4: Arrow[Any, Any],
    a5: Arrow[Any, Any],
    a6: Arrow[Any, Any],
    /,
    *more: Arrow[Any, Any],
) -> Arrow[Any, Any]: ...
def seq(*steps: Arrow[Any, Any]) -> Arrow[Any, Any]:
    """``a0 >> a1 >> ...``: n-ary sequence; the static class is the join of the steps' classes.

    Every edge is recorded (for :func:`any_edges`) exactly as with ``>>``.
    """
    if not steps:
        msg = "typed.seq() needs at least one arrow"
        raise CompositionError(msg)
    out = _arrow(steps[0], "seq")
    for step in steps[1:]:
        out = out._then(_arrow(step, "seq"))
    return out


@overload
def fanout(a0: Dataflow[_I, _T0], a1: Dataflow[_I, _T1], /) -> Dataflow[_I, tuple[_T0, _T1]]: ...
@overload
def fanout(a0: Branching[_I, _T0], a1: Branching[_I, _T1], /) -> Branching[_I, tuple[_T0, _T1]]: ...
@overload
def fanout(a0: Feedback[_I, _T0], a1: Feedback[_I, _T1], /) -> Feedback[_I, tuple[_T0, _T1]]: ...
@overload
def fanout(a0: Staged[_I, _T0], a1: Staged[_I, _T1], /) -> Staged[_I, tuple[_T0, _T1]]: ...
@overload
def fanout(a0: Arrow[_I, _T0], a1: Arrow[_I, _T1], /) -> Arrow[_I, tuple[_T0, _T1]]: ...
@overload
def fanout(
    a0: Dataflow[_I, _T0], a1: Dataflow[_I, _T1], a2: Dataflow[_I, _T2], /
) -> Dataflow[_I, tuple[_T0, _T1, _T2]]: ...
@overload
def fanout(
    a0: Branching[_I, _T0], a1: Branching[_I, _T1], a2: Branching[_I, _T2], /
) -> Branching[_I, tuple[_T0, _T1, _T2]]: ...
@overload
def fanout(
    a0: Feedback[_I, _T0], a1: Feedback[_I, _T1], a2: Feedback[_I, _T2], /
) -> Feedback[_I, tuple[_T0, _T1, _T2]]: ...
@overload
def fanout(
    a0: Staged[_I, _T0], a1: Staged[_I, _T1], a2: Staged[_I, _T2], /
) -> Staged[_I, tuple[_T0, _T1, _T2]]: ...
@overload
def fanout(
    a0: Arrow[_I, _T0], a1: Arrow[_I, _T1], a2: Arrow[_I, _T2], /
) -> Arrow[_I, tuple[_T0, _T1, _T2]]: ...
@overload
def fanout(
    a0: Dataflow[_I, _T0], a1: Dataflow[_I, _T1], a2: Dataflow[_I, _T2], a3: Dataflow[_I, _T3], /
) -> Dataflow[_I, tuple[_T0, _T1, _T2, _T3]]: ...
@overload
def fanout(
    a0: Branching[_I, _T0],
    a1: Branching[_I, _T1],
    a2: Branching[_I, _T2],
    a3: Branching[_I, _T3],
    /,
) -> Branching[_I, tuple[_T0, _T1, _T2, _T3]]: ...
@overload
def fanout(
    a0: Feedback[_I, _T0], a1: Feedback[_I, _T1], a2: Feedback[_I, _T2], a3: Feedback[_I, _T3], /
) -> Feedback[_I, tuple[_T0, _T1, _T2, _T3]]: ...
@overload
def fanout(
    a0: Staged[_I, _T0], a1: Staged[_I, _T1], a2: Staged[_I, _T2], a3: Staged[_I, _T3], /
) -> Staged[_I, tuple[_T0, _T1, _T2, _T3]]: ...
@overload
def fanout(
    a0: Arrow[_I, _T0], a1: Arrow[_I, _T1], a2: Arrow[_I, _T2], a3: Arrow[_I, _T3], /
) -> Arrow[_I, tuple[_T0, _T1, _T2, _T3]]: ...
@overload
def fanout(
    a0: Dataflow[_I, _T0],
    a1: Dataflow[_I, _T1],
    a2: Dataflow[_I, _T2],
    a3: Dataflow[_I, _T3],
    a4: Dataflow[_I, _T4],
    /,
) -> Dataflow[_I, tuple[_T0, _T1, _T2, _T3, _T4]]: ...
@overload
def fanout(
    a0: Branching[_I, _T0],
    a1: Branching[_I, _T1],
    a2: Branching[_I, _T2],
    a3: Branching[_I, _T3],
    a4: Branching[_I, _T4],
    /,
) -> Branching[_I, tuple[_T0, _T1, _T2, _T3, _T4]]: ...
@overload
def fanout(
    a0: Feedback[_I, _T0],
    a1: Feedback[_I, _T1],
    a2: Feedback[_I, _T2],
    a3: Feedback[_I, _T3],
    a4: Feedback[_I, _T4],
    /,
) -> Feedback[_I, tuple[_T0, _T1, _T2, _T3, _T4]]: ...
@overload
def fanout(
    a0: Staged[_I, _T0],
    a1: Staged[_I, _T1],
    a2: Staged[_I, _T2],
    a3: Staged[_I, _T3],
    a4: Staged[_I, _T4],
    /,
) -> Staged[_I, tuple[_T0, _T1, _T2, _T3, _T4]]: ...
@overload
def fanout(
    a0: Arrow[_I, _T0],
    a1: Arrow[_I, _T1],
    a2: Arrow[_I, _T2],
    a3: Arrow[_I, _T3],
    a4: Arrow[_I, _T4],
    /,
) -> Arrow[_I, tuple[_T0, _T1, _T2, _T3, _T4]]: ...
@overload
def fanout(
    a0: Arrow[Any, Any],
    a1: Arrow[Any, Any],
    a2: Arrow[Any, Any],
    a3: Arrow[Any, Any],
    a4: Arrow[Any, Any],
    a5: Arrow[Any, Any],
    /,
    *more: Arrow[Any, Any],
) -> Arrow[Any, tuple[Any, ...]]: ...
def fanout(*branches: Arrow[Any, Any]) -> Arrow[Any, tuple[Any, ...]]:
    """Run every branch on the same input; the value is the flat tuple of their outputs (floor Dataflow)."""
    if len(branches) < 2:
        msg = "typed.fanout() needs at least two branches"
        raise CompositionError(msg)
    arrows = [_arrow(b, "fanout") for b in branches]
    in_type: object = Any
    for a in arrows:
        if a.in_type is not Any:
            in_type = a.in_type
            break
    edges = None
    for a in arrows:
        edges = _join_logs(edges, a._edges)
    out_type: object = tuple.__class_getitem__(tuple(a.out_type for a in arrows))
    return wrap(
        Par(branches=tuple(a.to_ir() for a in arrows)),
        in_type=in_type,
        out_type=out_type,
        edges=edges,
        bounds=(all(a._bounds[0] for a in arrows), False),
    )


@overload
def choice(
    a0: Branching[_I0, _T0], a1: Branching[_I1, _T1], /
) -> Branching[_I0 | _I1, _T0 | _T1]: ...
@overload
def choice(a0: Feedback[_I0, _T0], a1: Feedback[_I1, _T1], /) -> Feedback[_I0 | _I1, _T0 | _T1]: ...
@overload
def choice(a0: Staged[_I0, _T0], a1: Staged[_I1, _T1], /) -> Staged[_I0 | _I1, _T0 | _T1]: ...
@overload
def choice(a0: Arrow[_I0, _T0], a1: Arrow[_I1, _T1], /) -> Arrow[_I0 | _I1, _T0 | _T1]: ...
@overload
def choice(
    a0: Branching[_I0, _T0], a1: Branching[_I1, _T1], a2: Branching[_I2, _T2], /
) -> Branching[_I0 | _I1 | _I2, _T0 | _T1 | _T2]: ...
@overload
def choice(
    a0: Feedback[_I0, _T0], a1: Feedback[_I1, _T1], a2: Feedback[_I2, _T2], /
) -> Feedback[_I0 | _I1 | _I2, _T0 | _T1 | _T2]: ...
@overload
def choice(
    a0: Staged[_I0, _T0], a1: Staged[_I1, _T1], a2: Staged[_I2, _T2], /
) -> Staged[_I0 | _I1 | _I2, _T0 | _T1 | _T2]: ...
@overload
def choice(
    a0: Arrow[_I0, _T0], a1: Arrow[_I1, _T1], a2: Arrow[_I2, _T2], /
) -> Arrow[_I0 | _I1 | _I2, _T0 | _T1 | _T2]: ...
@overload
def choice(
    a0: Branching[_I0, _T0],
    a1: Branching[_I1, _T1],
    a2: Branching[_I2, _T2],
    a3: Branching[_I3, _T3],
    /,
) -> Branching[_I0 | _I1 | _I2 | _I3, _T0 | _T1 | _T2 | _T3]: ...
@overload
def choice(
    a0: Feedback[_I0, _T0],
    a1: Feedback[_I1, _T1],
    a2: Feedback[_I2, _T2],
    a3: Feedback[_I3, _T3],
    /,
) -> Feedback[_I0 | _I1 | _I2 | _I3, _T0 | _T1 | _T2 | _T3]: ...
@overload
def choice(
    a0: Staged[_I0, _T0], a1: Staged[_I1, _T1], a2: Staged[_I2, _T2], a3: Staged[_I3, _T3], /
) -> Staged[_I0 | _I1 | _I2 | _I3, _T0 | _T1 | _T2 | _T3]: ...
@overload
def choice(
    a0: Arrow[_I0, _T0], a1: Arrow[_I1, _T1], a2: Arrow[_I2, _T2], a3: Arrow[_I3, _T3], /
) -> Arrow[_I0 | _I1 | _I2 | _I3, _T0 | _T1 | _T2 | _T3]: ...
@overload
def choice(
    a0: Branching[_I0, _T0],
    a1: Branching[_I1, _T1],
    a2: Branching[_I2, _T2],
    a3: Branching[_I3, _T3],
    a4: Branching[_I4, _T4],
    /,
) -> Branching[_I0 | _I1 | _I2 | _I3 | _I4, _T0 | _T1 | _T2 | _T3 | _T4]: ...
@overload
def choice(
    a0: Feedback[_I0, _T0],
    a1: Feedback[_I1, _T1],
    a2: Feedback[_I2, _T2],
    a3: Feedback[_I3, _T3],
    a4: Feedback[_I4, _T4],
    /,
) -> Feedback[_I0 | _I1 | _I2 | _I3 | _I4, _T0 | _T1 | _T2 | _T3 | _T4]: ...
@overload
def choice(
    a0: Staged[_I0, _T0],
    a1: Staged[_I1, _T1],
    a2: Staged[_I2, _T2],
    a3: Staged[_I3, _T3],
    a4: Staged[_I4, _T4],
    /,
) -> Staged[_I0 | _I1 | _I2 | _I3 | _I4, _T0 | _T1 | _T2 | _T3 | _T4]: ...
@overload
def choice(
    a0: Arrow[_I0, _T0],
    a1: Arrow[_I1, _T1],
    a2: Arrow[_I2, _T2],
    a3: Arrow[_I3, _T3],
    a4: Arrow[_I4, _T4],
    /,
) -> Arrow[_I0 | _I1 | _I2 | _I3 | _I4, _T0 | _T1 | _T2 | _T3 | _T4]: ...
@overload
def choice(
    a0: Arrow[Any, Any],
    a1: Arrow[Any, Any],
    a2: Arrow[Any, Any],
    a3: Arrow[Any, Any],
    a4: Arrow[Any, Any],
    a5: Arrow[Any, Any],
    /,
    *more: Arrow[Any, Any],
) -> Arrow[Any, Any]: ...
def choice(*arms: Arrow[Any, Any]) -> Arrow[Any, Any]:
    """Route the input to the first arm whose input type it matches; the last arm takes the rest.

    ``choice(a, b, c)`` is ``a | (b | c)`` (floor Branching); every arm but
    the last needs an input type with a JSON Schema.
    """
    if len(arms) < 2:
        msg = "typed.choice() needs at least two arms"
        raise CompositionError(msg)
    arrows = [_arrow(a, "choice") for a in arms]
    out = arrows[-1]
    for arm in reversed(arrows[:-1]):
        out = arm._choose(out)
    return out


@overload
def each(
    body: Dataflow[_I, _T0], /, *, max_parallel: int | None = None, reducer: None = None
) -> Dataflow[list[_I], list[_T0]]: ...
@overload
def each(
    body: Dataflow[_I, _T0], /, *, max_parallel: int | None = None, reducer: Pure[list[_T0], _T1]
) -> Dataflow[list[_I], _T1]: ...
@overload
def each(
    body: Branching[_I, _T0], /, *, max_parallel: int | None = None, reducer: None = None
) -> Branching[list[_I], list[_T0]]: ...
@overload
def each(
    body: Branching[_I, _T0], /, *, max_parallel: int | None = None, reducer: Pure[list[_T0], _T1]
) -> Branching[list[_I], _T1]: ...
@overload
def each(
    body: Feedback[_I, _T0], /, *, max_parallel: int | None = None, reducer: None = None
) -> Feedback[list[_I], list[_T0]]: ...
@overload
def each(
    body: Feedback[_I, _T0], /, *, max_parallel: int | None = None, reducer: Pure[list[_T0], _T1]
) -> Feedback[list[_I], _T1]: ...
@overload
def each(
    body: Staged[_I, _T0], /, *, max_parallel: int | None = None, reducer: None = None
) -> Staged[list[_I], list[_T0]]: ...
@overload
def each(
    body: Staged[_I, _T0], /, *, max_parallel: int | None = None, reducer: Pure[list[_T0], _T1]
) -> Staged[list[_I], _T1]: ...
@overload
def each(
    body: Arrow[_I, _T0], /, *, max_parallel: int | None = None, reducer: None = None
) -> Arrow[list[_I], list[_T0]]: ...
@overload
def each(
    body: Arrow[_I, _T0], /, *, max_parallel: int | None = None, reducer: Pure[list[_T0], _T1]
) -> Arrow[list[_I], _T1]: ...
def each(
    body: Arrow[Any, Any],
    /,
    *,
    max_parallel: int | None = None,
    reducer: Pure[Any, Any] | None = None,
) -> Arrow[Any, Any]:
    """Run ``body`` once per item of the input list (floor Dataflow); ``reducer`` (a ``@pure``) folds the results."""
    node = _kernel_each(_arrow(body, "each"), max_parallel=max_parallel, reducer=reducer).to_ir()
    in_type: object = Any if body.in_type is Any else list[body.in_type]  # type: ignore[name-defined]
    if reducer is not None:
        out_type: object = reducer.out_type
    else:
        out_type = Any if body.out_type is Any else list[body.out_type]  # type: ignore[name-defined]
    return wrap(node, in_type=in_type, out_type=out_type, edges=body._edges)
