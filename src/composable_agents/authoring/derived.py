"""Derived combinators: they lower to ordinary kernel IR.

Sections:

* race family (``race``, ``hedge``, ``quorum``) — a ``par`` whose merge is
  ``race``/``hedge``/``quorum``; deploy's race admission checks every branch;
* ``human_gate`` — the reserved ``__human_gate__`` call;
* fan-out patterns (``map_n``, ``map_reduce``, ``vote``, ``review``) — added
  by the execution work in their own section below.

Run-time settlement (first success wins, losers cancelled, hedge timers,
quorum order) is the interpreter's job; this module only builds IR.

Static typing: the race family, ``vote`` and ``map_n`` are overloads per
shape class (floor ``Dataflow``) for same-typed branches; ``human_gate`` is a
``HumanGate``/``DecisionGate`` marker whose pass-through typing the mypy
plugin supplies (``docs/typed.md``).
"""

# One overload per shape class, most specific first (the later classes are
# supersets of the earlier ones, which mypy reports as overlapping).
# mypy: disable-error-code="overload-overlap, overload-cannot-match"

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypedDict, TypeVar, cast, overload

from composable_agents.authoring.arrow import (
    Arrow,
    Branching,
    Dataflow,
    Feedback,
    Pipeline,
    Staged,
    as_node,
    wrap,
)
from composable_agents.authoring.kernel import PureLike, pure_ref
from composable_agents.core.ir import Ann, CallStep, Node, Par, Prim, PureRef
from composable_agents.core.kinds import Merge
from composable_agents.core.source import capture_source
from composable_agents.errors import CompositionError

if TYPE_CHECKING:
    from composable_agents.authoring.leaves import Pure

__all__ = [
    "HUMAN_GATE_TOOL",
    "DecisionGate",
    "GateDecision",
    "HumanGate",
    "hedge",
    "human_gate", "map_n", "map_reduce", "quorum", "race", "review", "vote",
]

HUMAN_GATE_TOOL = "__human_gate__"

_T = TypeVar("_T")
_I = TypeVar("_I")
_O = TypeVar("_O")
_R = TypeVar("_R")
_GV = TypeVar("_GV")

_NO_SUBJECT: Any = object()
"""``human_gate``'s first argument left out (only ``prompt=`` given)."""


# -- race family ----------------------------------------------------------------------


def _branches(args: tuple[Any, ...], what: str) -> tuple[list[Arrow[Any, Any] | Node], tuple[Node, ...]]:
    if len(args) == 1 and isinstance(args[0], list | tuple):
        items = list(args[0])
    else:
        items = list(args)
    if not items:
        msg = f"{what}() needs at least one branch"
        raise CompositionError(msg)
    nodes = tuple(as_node(b, what=f"a {what} branch") for b in items)
    return items, nodes


def _common(values: Sequence[object]) -> object:
    first = values[0]
    return first if all(v == first for v in values) else Any


def _ends(items: list[Arrow[Any, Any] | Node]) -> tuple[object, object]:
    ins = [b.in_type if isinstance(b, Arrow) else Any for b in items]
    outs = [b.out_type if isinstance(b, Arrow) else Any for b in items]
    in_type = next((t for t in ins if t is not Any), Any)
    return in_type, _common(outs)


def _reducer(reduce: PureLike | None) -> tuple[PureRef | None, object | None]:
    if reduce is None:
        return None, None
    from composable_agents.authoring.leaves import Pure

    out_type = reduce.out_type if isinstance(reduce, Pure) else Any
    return pure_ref(reduce, what="reduce"), out_type


@overload
def race(
    *branches: Dataflow[_I, _O], reduce: None = None
) -> Dataflow[_I, _O]: ...
@overload
def race(
    *branches: Dataflow[_I, _O], reduce: Pure[list[_O], _R]
) -> Dataflow[_I, _R]: ...
@overload
def race(
    *branches: Dataflow[_I, _O], reduce: str | PureRef
) -> Dataflow[_I, Any]: ...
@overload
def race(
    *branches: Branching[_I, _O], reduce: None = None
) -> Branching[_I, _O]: ...
@overload
def race(
    *branches: Branching[_I, _O], reduce: Pure[list[_O], _R]
) -> Branching[_I, _R]: ...
@overload
def race(
    *branches: Branching[_I, _O], reduce: str | PureRef
) -> Branching[_I, Any]: ...
@overload
def race(
    *branches: Feedback[_I, _O], reduce: None = None
) -> Feedback[_I, _O]: ...
@overload
def race(
    *branches: Feedback[_I, _O], reduce: Pure[list[_O], _R]
) -> Feedback[_I, _R]: ...
@overload
def race(
    *branches: Feedback[_I, _O], reduce: str | PureRef
) -> Feedback[_I, Any]: ...
@overload
def race(
    *branches: Staged[_I, _O], reduce: None = None
) -> Staged[_I, _O]: ...
@overload
def race(
    *branches: Staged[_I, _O], reduce: Pure[list[_O], _R]
) -> Staged[_I, _R]: ...
@overload
def race(
    *branches: Staged[_I, _O], reduce: str | PureRef
) -> Staged[_I, Any]: ...
@overload
def race(
    *branches: Arrow[_I, _O], reduce: None = None
) -> Arrow[_I, _O]: ...
@overload
def race(
    *branches: Arrow[_I, _O], reduce: Pure[list[_O], _R]
) -> Arrow[_I, _R]: ...
@overload
def race(
    *branches: Arrow[_I, _O], reduce: str | PureRef
) -> Arrow[_I, Any]: ...
@overload
def race(
    branches: Sequence[Arrow[Any, Any] | Node],
    /,
    *,
    reduce: PureLike | None = None,
) -> Arrow[Any, Any]: ...
def race(*branches: Any, reduce: PureLike | None = None) -> Arrow[Any, Any]:
    """Run the branches concurrently; the first to **succeed** wins and the rest are cancelled.

    ``race([a, b, ...])`` or ``race(a, b, ...)``; ``reduce`` (a pure) folds the
    settled result (it receives the list of the one winning value). Every branch must be read-only or asserted idempotent
    (deploy's race admission).
    """
    items, nodes = _branches(branches, "race")
    red, red_out = _reducer(reduce)
    in_type, out_type = _ends(items)
    node = Par(branches=nodes, merge=Merge.RACE, reducer=red, src=capture_source())
    return wrap(node, in_type=in_type, out_type=red_out if red is not None else out_type)


@overload
def hedge(
    *branches: Dataflow[_I, _O], hedge_ms: int, reduce: None = None
) -> Dataflow[_I, _O]: ...
@overload
def hedge(
    *branches: Dataflow[_I, _O], hedge_ms: int, reduce: Pure[list[_O], _R]
) -> Dataflow[_I, _R]: ...
@overload
def hedge(
    *branches: Dataflow[_I, _O], hedge_ms: int, reduce: str | PureRef
) -> Dataflow[_I, Any]: ...
@overload
def hedge(
    *branches: Branching[_I, _O], hedge_ms: int, reduce: None = None
) -> Branching[_I, _O]: ...
@overload
def hedge(
    *branches: Branching[_I, _O], hedge_ms: int, reduce: Pure[list[_O], _R]
) -> Branching[_I, _R]: ...
@overload
def hedge(
    *branches: Branching[_I, _O], hedge_ms: int, reduce: str | PureRef
) -> Branching[_I, Any]: ...
@overload
def hedge(
    *branches: Feedback[_I, _O], hedge_ms: int, reduce: None = None
) -> Feedback[_I, _O]: ...
@overload
def hedge(
    *branches: Feedback[_I, _O], hedge_ms: int, reduce: Pure[list[_O], _R]
) -> Feedback[_I, _R]: ...
@overload
def hedge(
    *branches: Feedback[_I, _O], hedge_ms: int, reduce: str | PureRef
) -> Feedback[_I, Any]: ...
@overload
def hedge(
    *branches: Staged[_I, _O], hedge_ms: int, reduce: None = None
) -> Staged[_I, _O]: ...
@overload
def hedge(
    *branches: Staged[_I, _O], hedge_ms: int, reduce: Pure[list[_O], _R]
) -> Staged[_I, _R]: ...
@overload
def hedge(
    *branches: Staged[_I, _O], hedge_ms: int, reduce: str | PureRef
) -> Staged[_I, Any]: ...
@overload
def hedge(
    *branches: Arrow[_I, _O], hedge_ms: int, reduce: None = None
) -> Arrow[_I, _O]: ...
@overload
def hedge(
    *branches: Arrow[_I, _O], hedge_ms: int, reduce: Pure[list[_O], _R]
) -> Arrow[_I, _R]: ...
@overload
def hedge(
    *branches: Arrow[_I, _O], hedge_ms: int, reduce: str | PureRef
) -> Arrow[_I, Any]: ...
@overload
def hedge(
    branches: Sequence[Arrow[Any, Any] | Node],
    /,
    *,
    hedge_ms: int,
    reduce: PureLike | None = None,
) -> Arrow[Any, Any]: ...
def hedge(*branches: Any, hedge_ms: int, reduce: PureLike | None = None) -> Arrow[Any, Any]:
    """Start the first branch; start each next one only after ``hedge_ms`` without a success.

    ``hedge([a, b, ...], hedge_ms=N, reduce=...)``. Admission as for :func:`race`.
    """
    if type(hedge_ms) is not int or hedge_ms < 0:
        msg = f"`hedge_ms` must be a non-negative integer (milliseconds), got {hedge_ms!r}"
        raise CompositionError(msg)
    items, nodes = _branches(branches, "hedge")
    red, red_out = _reducer(reduce)
    in_type, out_type = _ends(items)
    node = Par(branches=nodes, merge=Merge.HEDGE, hedge_ms=hedge_ms, reducer=red, src=capture_source())
    return wrap(node, in_type=in_type, out_type=red_out if red is not None else out_type)


@overload
def quorum(
    *branches: Dataflow[_I, _O], k: int, reduce: None = None
) -> Dataflow[_I, list[_O]]: ...
@overload
def quorum(
    *branches: Dataflow[_I, _O], k: int, reduce: Pure[list[_O], _R]
) -> Dataflow[_I, _R]: ...
@overload
def quorum(
    *branches: Dataflow[_I, _O], k: int, reduce: str | PureRef
) -> Dataflow[_I, Any]: ...
@overload
def quorum(
    *branches: Branching[_I, _O], k: int, reduce: None = None
) -> Branching[_I, list[_O]]: ...
@overload
def quorum(
    *branches: Branching[_I, _O], k: int, reduce: Pure[list[_O], _R]
) -> Branching[_I, _R]: ...
@overload
def quorum(
    *branches: Branching[_I, _O], k: int, reduce: str | PureRef
) -> Branching[_I, Any]: ...
@overload
def quorum(
    *branches: Feedback[_I, _O], k: int, reduce: None = None
) -> Feedback[_I, list[_O]]: ...
@overload
def quorum(
    *branches: Feedback[_I, _O], k: int, reduce: Pure[list[_O], _R]
) -> Feedback[_I, _R]: ...
@overload
def quorum(
    *branches: Feedback[_I, _O], k: int, reduce: str | PureRef
) -> Feedback[_I, Any]: ...
@overload
def quorum(
    *branches: Staged[_I, _O], k: int, reduce: None = None
) -> Staged[_I, list[_O]]: ...
@overload
def quorum(
    *branches: Staged[_I, _O], k: int, reduce: Pure[list[_O], _R]
) -> Staged[_I, _R]: ...
@overload
def quorum(
    *branches: Staged[_I, _O], k: int, reduce: str | PureRef
) -> Staged[_I, Any]: ...
@overload
def quorum(
    *branches: Arrow[_I, _O], k: int, reduce: None = None
) -> Arrow[_I, list[_O]]: ...
@overload
def quorum(
    *branches: Arrow[_I, _O], k: int, reduce: Pure[list[_O], _R]
) -> Arrow[_I, _R]: ...
@overload
def quorum(
    *branches: Arrow[_I, _O], k: int, reduce: str | PureRef
) -> Arrow[_I, Any]: ...
@overload
def quorum(
    branches: Sequence[Arrow[Any, Any] | Node],
    /,
    *,
    k: int,
    reduce: PureLike | None = None,
) -> Arrow[Any, Any]: ...
def quorum(*branches: Any, k: int, reduce: PureLike | None = None) -> Arrow[Any, Any]:
    """Run the branches; settle once ``k`` of them succeed (the first ``k`` successes, in branch order).

    ``quorum([a, b, c], k=2, reduce=...)``. Admission as for :func:`race`.
    """
    items, nodes = _branches(branches, "quorum")
    if type(k) is not int or not 1 <= k <= len(nodes):
        msg = f"`k` must be an integer between 1 and the branch count ({len(nodes)}), got {k!r}"
        raise CompositionError(msg)
    red, red_out = _reducer(reduce)
    in_type, out_type = _ends(items)
    node = Par(branches=nodes, merge=Merge.QUORUM, k=k, reducer=red, src=capture_source())
    list_out: object = Any if out_type is Any else list[out_type]  # type: ignore[valid-type]
    return wrap(node, in_type=in_type, out_type=red_out if red is not None else list_out)


# -- human gate -----------------------------------------------------------------------


class GateDecision(TypedDict, Generic[_T]):
    """The decision record a gate yields with ``on_reject="value"`` (and ``Result.detail`` on a rejection).

    ``input`` is the value that reached the gate. A responder's extra keys are
    kept at run time but not typed.
    """

    approved: bool
    reason: str | None
    by: str | None
    input: _T


class HumanGate(Pipeline[Any, Any]):
    """``human_gate(...)``: an approval pass-through, statically ``Pipeline[T, T]``.

    Its ``Any`` ends live in the base class (no type variable), so mypy never
    collapses a composition with it to ``Any``; the plugin types ``x >> gate``
    as ``x``'s output passing through and ``gate >> y`` as ``y``'s input
    flowing in, and reports no ``any-edge`` on either side. Without the
    plugin the gate's output is ``Any``. At run time ``x >> gate`` keeps
    ``x``'s output type too (``PASSES_THROUGH``), so ``any_edges`` agrees.
    """

    __slots__ = ()

    @staticmethod
    def PASSES_THROUGH(incoming: object) -> object:
        """The gate's output type given what flows in: the same type."""
        return incoming


class DecisionGate(Pipeline[Any, Any]):
    """``human_gate(..., on_reject="value")``: statically ``Pipeline[T, T | GateDecision[T]]``.

    An approval passes the input ``T`` through; a rejection or timeout yields
    the :class:`GateDecision` record (with ``approved`` false).
    """

    __slots__ = ()

    @staticmethod
    def PASSES_THROUGH(incoming: object) -> object:
        """The gate's output type given what flows in: the input or its decision record."""
        if incoming is Any:
            return Any
        return incoming | GateDecision[incoming]  # type: ignore[valid-type]


@overload
def human_gate(
    prompt: str, /, *, timeout_s: float | None = None, on_reject: Literal["end"] = "end"
) -> HumanGate: ...
@overload
def human_gate(
    prompt: str, /, *, timeout_s: float | None = None, on_reject: Literal["value"]
) -> DecisionGate: ...
@overload
def human_gate(
    *, prompt: str, timeout_s: float | None = None, on_reject: Literal["end"] = "end"
) -> HumanGate: ...
@overload
def human_gate(
    *, prompt: str, timeout_s: float | None = None, on_reject: Literal["value"]
) -> DecisionGate: ...
@overload
def human_gate(
    subject: _GV, /, *, prompt: str, timeout_s: float | None = None, on_reject: Literal["end"] = "end"
) -> _GV: ...
@overload
def human_gate(
    subject: _GV, /, *, prompt: str, timeout_s: float | None = None, on_reject: Literal["value"]
) -> _GV | GateDecision[_GV]: ...
def human_gate(
    subject: Any = _NO_SUBJECT,
    /,
    *,
    prompt: str | None = None,
    timeout_s: float | None = None,
    on_reject: Literal["end", "value"] = "end",
) -> Any:
    """Pause for a human decision (a durable signal-wait).

    An approval passes the input through unchanged; a rejection or timeout ends
    the run (status ``rejected``/``timeout``) — or, with ``on_reject="value"``,
    returns the decision record so the flow can branch on it. Dangerous and
    approval-required tools must sit behind a gate on every path.

    Inside a ``@flow`` body, ``human_gate(h, prompt=..., timeout_s=...)`` gates
    the handle ``h``: the step appended is the gate, and its result is ``h``'s
    value once approved — so a flow (an agent's sub-flow included) can put its
    own approval right before a dangerous tool.
    """
    if subject is not _NO_SUBJECT and prompt is not None:
        gate = human_gate(prompt, timeout_s=timeout_s, on_reject=on_reject)
        return gate(subject)
    if subject is not _NO_SUBJECT:
        prompt = subject
    if prompt is None:
        msg = "human_gate needs a prompt: human_gate('Approve?') or, in a @flow body, human_gate(h, prompt='Approve?')"
        raise CompositionError(msg)
    if not isinstance(cast(object, prompt), str):
        msg = f"`prompt` must be a string, got {prompt!r}"
        raise CompositionError(msg)
    if on_reject not in ("end", "value"):
        msg = f"`on_reject` must be 'end' or 'value', got {on_reject!r}"
        raise CompositionError(msg)
    if timeout_s is not None and (
        isinstance(cast(object, timeout_s), bool)
        or not isinstance(cast(object, timeout_s), int | float)
        or not timeout_s > 0
    ):
        msg = f"`timeout_s` must be a positive number of seconds, got {timeout_s!r}"
        raise CompositionError(msg)
    ann = Ann(timeout_s=timeout_s) if timeout_s is not None else None
    step = CallStep(HUMAN_GATE_TOOL, args={"prompt": prompt, "onReject": on_reject})
    node = Prim(step=step, ann=ann, src=capture_source())
    cls = DecisionGate if on_reject == "value" else HumanGate
    return cls(node, label="human_gate")


# -- fan-out patterns (map_n, map_reduce, vote, review) ---------------------------------
#
# Owned by the execution work. Each lowers to kernel IR only: ``par``/``each``/
# ``iter_up_to`` plus std helper pures (``std.vote``, ``std.review_*``), so the
# shared interpreter runs them unchanged on every backend.


@overload
def map_n(body: Dataflow[_I, _O], n: int) -> Dataflow[_I, list[_O]]: ...
@overload
def map_n(body: Branching[_I, _O], n: int) -> Branching[_I, list[_O]]: ...
@overload
def map_n(body: Feedback[_I, _O], n: int) -> Feedback[_I, list[_O]]: ...
@overload
def map_n(body: Staged[_I, _O], n: int) -> Staged[_I, list[_O]]: ...
@overload
def map_n(body: Arrow[_I, _O], n: int) -> Arrow[_I, list[_O]]: ...
def map_n(body: Arrow[Any, Any], n: int) -> Arrow[Any, Any]:
    """Run ``body`` ``n`` times concurrently on the same input; the value is the list of results."""
    if type(n) is not int or n < 1:
        msg = f"`n` must be a positive integer, got {n!r}"
        raise CompositionError(msg)
    node = as_node(body, what="map_n body")
    item_type: object = getattr(body, "out_type", Any)
    out_type: object = Any if item_type is Any else list[item_type]  # type: ignore[valid-type]
    in_type: object = getattr(body, "in_type", Any)
    return wrap(Par(branches=(node,) * n, src=capture_source()), in_type=in_type, out_type=out_type)


def map_reduce(mapper: Arrow[Any, Any], reducer: PureLike, max_parallel: int | None = None) -> Arrow[Any, Any]:
    """``each(mapper, max_parallel=...) >> arr(reducer)``: map every item, then fold the list with a pure."""
    from composable_agents.authoring.kernel import arr, each

    return each(mapper, max_parallel=max_parallel) >> arr(reducer)


@overload
def vote(*branches: Dataflow[_I, _O], key: str | None = None) -> Dataflow[_I, _O]: ...
@overload
def vote(*branches: Branching[_I, _O], key: str | None = None) -> Branching[_I, _O]: ...
@overload
def vote(*branches: Feedback[_I, _O], key: str | None = None) -> Feedback[_I, _O]: ...
@overload
def vote(*branches: Staged[_I, _O], key: str | None = None) -> Staged[_I, _O]: ...
@overload
def vote(*branches: Arrow[_I, _O], key: str | None = None) -> Arrow[_I, _O]: ...
@overload
def vote(
    branches: Sequence[Arrow[Any, Any] | Node], /, *, key: str | None = None
) -> Arrow[Any, Any]: ...
def vote(*branches: Any, key: str | None = None) -> Arrow[Any, Any]:
    """Run the branches concurrently and return the most common result (ties: lowest branch index).

    ``key`` names a field to compare results by (the whole result otherwise);
    the winning branch's full result is returned.
    """
    from composable_agents.authoring.kernel import arr

    items, nodes = _branches(branches, "vote")
    if key is not None and not (isinstance(key, str) and key):  # type: ignore[redundant-expr,unused-ignore]
        msg = f"`key` must be a field name, got {key!r}"
        raise CompositionError(msg)
    in_type, out_type = _ends(items)
    fan = wrap(Par(branches=nodes, src=capture_source()), in_type=in_type)
    pick = arr("std.vote", key=key) if key is not None else arr("std.vote")
    return wrap(as_node(fan >> pick), in_type=in_type, out_type=out_type)


def review(worker: Arrow[Any, Any], reviewer: Arrow[Any, Any], max_rounds: int = 3) -> Arrow[Any, Any]:
    """Draft, review, repeat: until the reviewer approves or ``max_rounds`` rounds ran.

    Each round the worker receives the loop state ``{"input", "draft",
    "feedback", "approved", "rounds"}`` (``draft``/``feedback`` from the previous
    round, ``None`` at first) and returns a draft; the reviewer receives the
    state with the new draft and returns ``{"approved": bool, "feedback": ...}``.
    The value is ``{"draft", "approved", "feedback", "rounds"}``.
    """
    from composable_agents.authoring.kernel import arr, ident, iter_up_to, par, seq

    if type(max_rounds) is not int or max_rounds < 1:
        msg = f"`max_rounds` must be a positive integer, got {max_rounds!r}"
        raise CompositionError(msg)
    draft = par(ident(), worker) >> arr("std.assign", key="draft")
    verdict = par(ident(), reviewer) >> arr("std.review_verdict")
    loop = iter_up_to(max_rounds, seq(draft, verdict), until="std.review_done")
    return seq(arr("std.review_start"), loop, arr("std.review_result"))
