"""The combinator kernel: structural constructors that build IR directly.

Every function returns an :class:`Arrow` of the shape class naming the node's
surface shape; leaves built from names have ``Any`` ends. Kernel functions
take arrows, and names where the seed does: ``arr("pure.name")``,
``call("tool_key")``, ``think("reasoner_name")``.

Static typing: ``par``/``fanout`` of 1-5 arrows and ``each`` are overloads
per shape class, most specific first (the lattice join of the parts and the
``Dataflow`` floor, as in :mod:`composable_agents.typed`); ``par``'s JSON list
is typed as a flat tuple, like ``typed.fanout``. Inside a ``@flow`` body
``each(body, items, ...)`` is typed as the list of the body's outputs.
``call(tool)`` and ``arr(pure)`` keep a ``@tool``'s / ``@pure``'s ends (a name
gives ``Any`` ends). Every other kernel function is statically the upper bound its constructor can
promise.
"""

# One overload per arity and class: the later classes are supersets of the
# earlier ones, which mypy reports as overlapping; resolution is in order.
# mypy: disable-error-code="overload-overlap, overload-cannot-match"

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

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
from composable_agents.authoring.leaves import Pure, Reasoner, Tool, think
from composable_agents.core.canonical import Json
from composable_agents.core.ir import (
    Alt,
    Ann,
    App,
    Arr,
    CallStep,
    ContextPolicy,
    Contract,
    Each,
    EvalPlan,
    Ident,
    IterUpTo,
    Node,
    Par,
    Prim,
    PureRef,
    Seq,
    SubStep,
)
from composable_agents.core.kinds import Shape
from composable_agents.core.source import capture_source
from composable_agents.errors import CompositionError

__all__ = [
    "ToolRef",
    "alt",
    "app",
    "arr",
    "call",
    "each",
    "fanout",
    "ident",
    "iter_up_to",
    "mcp",
    "native",
    "par",
    "pure_ref",
    "seq",
    "stage",
    "sub",
    "think",
]

PureLike = str | Pure[Any, Any] | PureRef

_I = TypeVar("_I")
_T0 = TypeVar("_T0")
_T1 = TypeVar("_T1")
_T2 = TypeVar("_T2")
_T3 = TypeVar("_T3")
_T4 = TypeVar("_T4")


def pure_ref(pure: PureLike, args: Mapping[str, Json] | None = None, *, what: str = "pure") -> PureRef:
    """A :class:`PureRef` from a pure name, a ``@pure`` arrow or a ``PureRef``."""
    if isinstance(pure, PureRef):
        if args:
            return PureRef(pure.name, {**(pure.args or {}), **args})
        return pure
    if isinstance(pure, Pure):
        return PureRef(pure.pure_name, dict(args) if args else None)
    if _is_name(pure):
        return PureRef(str(pure), dict(args) if args else None)
    msg = f"`{what}` must be a pure name, a @pure function or a PureRef, got {pure!r}"
    raise CompositionError(msg)


def _is_name(value: object) -> bool:
    """A non-empty string (run-time check of user input typed as ``str``)."""
    return isinstance(value, str) and bool(value)


def _is_count(value: object) -> bool:
    """A positive ``int`` that is not a ``bool``."""
    return type(value) is int and value >= 1


def _nodes(arrows: Sequence[object], what: str) -> tuple[Node, ...]:
    if len(arrows) == 1 and isinstance(arrows[0], list | tuple):
        arrows = tuple(arrows[0])
    return tuple(as_node(a, what=what) for a in arrows)  # type: ignore[arg-type]


def seq(*steps: Arrow[Any, Any]) -> Arrow[Any, Any]:
    """Run ``steps`` in order, threading each output into the next input (``Pipeline`` floor)."""
    nodes = _nodes(steps, "a seq step")
    if not nodes:
        return wrap(Ident())
    arrows = [s for s in steps if isinstance(s, Arrow)]  # type: ignore[redundant-expr,unused-ignore]
    return wrap(
        Seq(steps=nodes, src=capture_source()),
        in_type=arrows[0].in_type if arrows else Any,
        out_type=arrows[-1].out_type if arrows else Any,
    )


@overload
def par(b0: Dataflow[_I, _T0], /) -> Dataflow[_I, tuple[_T0]]: ...
@overload
def par(b0: Branching[_I, _T0], /) -> Branching[_I, tuple[_T0]]: ...
@overload
def par(b0: Feedback[_I, _T0], /) -> Feedback[_I, tuple[_T0]]: ...
@overload
def par(b0: Staged[_I, _T0], /) -> Staged[_I, tuple[_T0]]: ...
@overload
def par(b0: Arrow[_I, _T0], /) -> Arrow[_I, tuple[_T0]]: ...
@overload
def par(b0: Dataflow[_I, _T0], b1: Dataflow[_I, _T1], /) -> Dataflow[_I, tuple[_T0, _T1]]: ...
@overload
def par(b0: Branching[_I, _T0], b1: Branching[_I, _T1], /) -> Branching[_I, tuple[_T0, _T1]]: ...
@overload
def par(b0: Feedback[_I, _T0], b1: Feedback[_I, _T1], /) -> Feedback[_I, tuple[_T0, _T1]]: ...
@overload
def par(b0: Staged[_I, _T0], b1: Staged[_I, _T1], /) -> Staged[_I, tuple[_T0, _T1]]: ...
@overload
def par(b0: Arrow[_I, _T0], b1: Arrow[_I, _T1], /) -> Arrow[_I, tuple[_T0, _T1]]: ...
@overload
def par(b0: Dataflow[_I, _T0], b1: Dataflow[_I, _T1], b2: Dataflow[_I, _T2], /) -> Dataflow[_I, tuple[_T0, _T1, _T2]]: ...
@overload
def par(b0: Branching[_I, _T0], b1: Branching[_I, _T1], b2: Branching[_I, _T2], /) -> Branching[_I, tuple[_T0, _T1, _T2]]: ...
@overload
def par(b0: Feedback[_I, _T0], b1: Feedback[_I, _T1], b2: Feedback[_I, _T2], /) -> Feedback[_I, tuple[_T0, _T1, _T2]]: ...
@overload
def par(b0: Staged[_I, _T0], b1: Staged[_I, _T1], b2: Staged[_I, _T2], /) -> Staged[_I, tuple[_T0, _T1, _T2]]: ...
@overload
def par(b0: Arrow[_I, _T0], b1: Arrow[_I, _T1], b2: Arrow[_I, _T2], /) -> Arrow[_I, tuple[_T0, _T1, _T2]]: ...
@overload
def par(b0: Dataflow[_I, _T0], b1: Dataflow[_I, _T1], b2: Dataflow[_I, _T2], b3: Dataflow[_I, _T3], /) -> Dataflow[_I, tuple[_T0, _T1, _T2, _T3]]: ...
@overload
def par(b0: Branching[_I, _T0], b1: Branching[_I, _T1], b2: Branching[_I, _T2], b3: Branching[_I, _T3], /) -> Branching[_I, tuple[_T0, _T1, _T2, _T3]]: ...
@overload
def par(b0: Feedback[_I, _T0], b1: Feedback[_I, _T1], b2: Feedback[_I, _T2], b3: Feedback[_I, _T3], /) -> Feedback[_I, tuple[_T0, _T1, _T2, _T3]]: ...
@overload
def par(b0: Staged[_I, _T0], b1: Staged[_I, _T1], b2: Staged[_I, _T2], b3: Staged[_I, _T3], /) -> Staged[_I, tuple[_T0, _T1, _T2, _T3]]: ...
@overload
def par(b0: Arrow[_I, _T0], b1: Arrow[_I, _T1], b2: Arrow[_I, _T2], b3: Arrow[_I, _T3], /) -> Arrow[_I, tuple[_T0, _T1, _T2, _T3]]: ...
@overload
def par(b0: Dataflow[_I, _T0], b1: Dataflow[_I, _T1], b2: Dataflow[_I, _T2], b3: Dataflow[_I, _T3], b4: Dataflow[_I, _T4], /) -> Dataflow[_I, tuple[_T0, _T1, _T2, _T3, _T4]]: ...
@overload
def par(b0: Branching[_I, _T0], b1: Branching[_I, _T1], b2: Branching[_I, _T2], b3: Branching[_I, _T3], b4: Branching[_I, _T4], /) -> Branching[_I, tuple[_T0, _T1, _T2, _T3, _T4]]: ...
@overload
def par(b0: Feedback[_I, _T0], b1: Feedback[_I, _T1], b2: Feedback[_I, _T2], b3: Feedback[_I, _T3], b4: Feedback[_I, _T4], /) -> Feedback[_I, tuple[_T0, _T1, _T2, _T3, _T4]]: ...
@overload
def par(b0: Staged[_I, _T0], b1: Staged[_I, _T1], b2: Staged[_I, _T2], b3: Staged[_I, _T3], b4: Staged[_I, _T4], /) -> Staged[_I, tuple[_T0, _T1, _T2, _T3, _T4]]: ...
@overload
def par(b0: Arrow[_I, _T0], b1: Arrow[_I, _T1], b2: Arrow[_I, _T2], b3: Arrow[_I, _T3], b4: Arrow[_I, _T4], /) -> Arrow[_I, tuple[_T0, _T1, _T2, _T3, _T4]]: ...
@overload
def par(*branches: Arrow[Any, Any]) -> Arrow[Any, Any]: ...
def par(*branches: Arrow[Any, Any]) -> Arrow[Any, Any]:
    """Run ``branches`` concurrently on the same input; the value is the list of results.

    Statically a flat tuple of the branches' outputs (floor ``Dataflow``) for
    1-5 branches, ``Arrow[Any, Any]`` beyond.
    """
    nodes = _nodes(branches, "a par branch")
    if not nodes:
        msg = "par() needs at least one branch"
        raise CompositionError(msg)
    return wrap(Par(branches=nodes, src=capture_source()))


if TYPE_CHECKING:
    fanout = par
else:

    def fanout(*branches: Arrow[Any, Any]) -> Arrow[Any, Any]:
        """Alias of :func:`par` (the seed's name for n-ary fan-out)."""
        return par(*branches)


@overload
def each(
    body: Dataflow[_I, _T0], *, max_parallel: int | None = None, reducer: None = None
) -> Dataflow[list[_I], list[_T0]]: ...
@overload
def each(
    body: Dataflow[_I, _T0], *, max_parallel: int | None = None, reducer: Pure[list[_T0], _T1]
) -> Dataflow[list[_I], _T1]: ...
@overload
def each(
    body: Dataflow[_I, Any], *, max_parallel: int | None = None, reducer: str | PureRef
) -> Dataflow[list[_I], Any]: ...
@overload
def each(
    body: Branching[_I, _T0], *, max_parallel: int | None = None, reducer: None = None
) -> Branching[list[_I], list[_T0]]: ...
@overload
def each(
    body: Branching[_I, _T0], *, max_parallel: int | None = None, reducer: Pure[list[_T0], _T1]
) -> Branching[list[_I], _T1]: ...
@overload
def each(
    body: Branching[_I, Any], *, max_parallel: int | None = None, reducer: str | PureRef
) -> Branching[list[_I], Any]: ...
@overload
def each(
    body: Feedback[_I, _T0], *, max_parallel: int | None = None, reducer: None = None
) -> Feedback[list[_I], list[_T0]]: ...
@overload
def each(
    body: Feedback[_I, _T0], *, max_parallel: int | None = None, reducer: Pure[list[_T0], _T1]
) -> Feedback[list[_I], _T1]: ...
@overload
def each(
    body: Feedback[_I, Any], *, max_parallel: int | None = None, reducer: str | PureRef
) -> Feedback[list[_I], Any]: ...
@overload
def each(
    body: Staged[_I, _T0], *, max_parallel: int | None = None, reducer: None = None
) -> Staged[list[_I], list[_T0]]: ...
@overload
def each(
    body: Staged[_I, _T0], *, max_parallel: int | None = None, reducer: Pure[list[_T0], _T1]
) -> Staged[list[_I], _T1]: ...
@overload
def each(
    body: Staged[_I, Any], *, max_parallel: int | None = None, reducer: str | PureRef
) -> Staged[list[_I], Any]: ...
@overload
def each(
    body: Arrow[_I, _T0], *, max_parallel: int | None = None, reducer: None = None
) -> Arrow[list[_I], list[_T0]]: ...
@overload
def each(
    body: Arrow[_I, _T0], *, max_parallel: int | None = None, reducer: Pure[list[_T0], _T1]
) -> Arrow[list[_I], _T1]: ...
@overload
def each(
    body: Arrow[_I, Any], *, max_parallel: int | None = None, reducer: str | PureRef
) -> Arrow[list[_I], Any]: ...
@overload
def each(
    body: Arrow[Any, Any], *, max_parallel: int | None = None, reducer: PureLike | None = None
) -> Arrow[Any, Any]: ...
@overload
def each(
    body: Arrow[_I, _T0],
    items: Sequence[_I],
    /,
    *,
    max_parallel: int | None = None,
    reducer: None = None,
) -> list[_T0]: ...
@overload
def each(
    body: Arrow[_I, _T0],
    items: Sequence[_I],
    /,
    *,
    max_parallel: int | None = None,
    reducer: Pure[list[_T0], _T1],
) -> _T1: ...
@overload
def each(
    body: Arrow[Mapping[str, Any], _T0],
    items: Sequence[Any],
    /,
    *,
    max_parallel: int | None = None,
    reducer: None = None,
    **captures: Any,
) -> list[_T0]: ...
@overload
def each(
    body: Arrow[Mapping[str, Any], _T0],
    items: Sequence[Any],
    /,
    *,
    max_parallel: int | None = None,
    reducer: Pure[list[_T0], _T1],
    **captures: Any,
) -> _T1: ...
@overload
def each(
    body: Arrow[Any, Any],
    items: Sequence[Any],
    /,
    *,
    max_parallel: int | None = None,
    reducer: str | PureRef,
    **captures: Any,
) -> Any: ...
def each(  # type: ignore[misc]  # the flow-body overloads' **captures may not be named "body"
    body: Arrow[Any, Any],
    *args: Any,
    max_parallel: int | None = None,
    reducer: PureLike | None = None,
    **captures: Any,
) -> Any:
    """Run ``body`` once per item of the input list, results in input order.

    ``max_parallel`` bounds each wave; ``reducer`` (a pure) folds the list.
    Inside a ``@flow`` body, ``each(body, items, **captures)`` appends a step
    (statically the list of the body's outputs, or the reducer's output); with
    captures the body takes a record (a multi-parameter tool or flow).
    """
    if args or captures:
        from composable_agents.authoring._hooks import _traced

        traced = _traced(each, (body, *args), {"max_parallel": max_parallel, "reducer": reducer, **captures})
        if traced is NotImplemented:
            msg = "each(body, items, ...) appends a step only inside a @flow body; use each(body) to build a node"
            raise CompositionError(msg)
        return traced
    if max_parallel is not None and not _is_count(max_parallel):
        msg = f"`max_parallel` must be a positive integer, got {max_parallel!r}"
        raise CompositionError(msg)
    red = pure_ref(reducer, what="reducer") if reducer is not None else None
    return wrap(
        Each(body=as_node(body, what="each body"), max_parallel=max_parallel, reducer=red, src=capture_source())
    )


def alt(
    pred: PureLike,
    if_true: Arrow[Any, Any] | None = None,
    if_false: Arrow[Any, Any] | None = None,
    *,
    cases: Mapping[Any, Arrow[Any, Any]] | None = None,
    default: Arrow[Any, Any] | None = None,
    args: Mapping[str, Json] | None = None,
) -> Arrow[Any, Any]:
    """Choose a branch with a registered pure.

    Binary: ``alt(pred, if_true, if_false)`` — ``pred(value)`` must be a bool.
    Switch: ``alt(selector, cases={v: arm, ...}, default=arm)`` — the arm whose
    case equals ``selector(value)`` runs, else ``default`` (identity if omitted).
    """
    if cases is not None:
        if if_true is not None or if_false is not None:
            msg = "alt(selector, cases=..., default=...) takes no positional branches"
            raise CompositionError(msg)
        keys = list(cases)
        arms = [as_node(cases[k], what=f"case {k!r}") for k in keys]
        arms.append(as_node(default, what="default") if default is not None else Ident())
        return wrap(
            Alt(
                branches=tuple(arms),
                selector=pure_ref(pred, args, what="selector"),
                cases=tuple(keys),
                src=capture_source(),
            )
        )
    if if_true is None or if_false is None:
        msg = "alt(pred, if_true, if_false) needs both branches (or use cases=... for a switch)"
        raise CompositionError(msg)
    return wrap(
        Alt(
            branches=(as_node(if_true, what="if_true"), as_node(if_false, what="if_false")),
            pred=pure_ref(pred, args, what="pred"),
            src=capture_source(),
        )
    )


def iter_up_to(max_rounds: int, body: Arrow[Any, Any], until: PureLike | None = None) -> Arrow[Any, Any]:
    """Feed ``body``'s output back in up to ``max_rounds`` times, or until ``until(value)``."""
    if not _is_count(max_rounds):
        msg = f"`max_rounds` must be a positive integer, got {max_rounds!r}"
        raise CompositionError(msg)
    stop = pure_ref(until, what="until") if until is not None else None
    return wrap(IterUpTo(body=as_node(body, what="iter body"), max_rounds=max_rounds, until=stop, src=capture_source()))


def ident() -> Pipeline[Any, Any]:
    """The identity arrow (vanishes inside a ``seq``)."""
    return Pipeline(Ident())


@overload
def arr(pure: Pure[_I, _T0], **args: Json) -> Pipeline[_I, _T0]: ...
@overload
def arr(pure: str | PureRef, **args: Json) -> Pipeline[Any, Any]: ...
def arr(pure: PureLike, **args: Json) -> Pipeline[Any, Any]:
    """Apply a registered pure (by name or ``@pure`` arrow) with static keyword ``args``.

    Statically a ``@pure`` keeps its ends (``Pure[I, O]`` gives
    ``Pipeline[I, O]``, as the run-time ``in_type``/``out_type``); a name or
    ``PureRef`` gives ``Pipeline[Any, Any]``.
    """
    ref = pure_ref(pure, args or None)
    in_type: object = Any
    out_type: object = Any
    if isinstance(pure, Pure):
        in_type, out_type = pure.in_type, pure.out_type
    return Pipeline(Arr(pure=ref.name, args=ref.args, src=capture_source()), in_type=in_type, out_type=out_type, label=ref.name)


class ToolRef(Pipeline[Any, Any]):
    """A reference to a tool by key (``native(name)`` / ``mcp(server, tool)``), usable as a call step."""

    __slots__ = ("_key", "_server", "_tool")

    _key: str
    _server: str | None
    _tool: str

    @property
    def key(self) -> str:
        """The tool key: ``name`` for native tools, ``server/tool`` for MCP tools."""
        return self._key

    @property
    def server(self) -> str | None:
        """The MCP server name, or ``None`` for a native tool."""
        return self._server

    @property
    def tool(self) -> str:
        """The tool's name on its server (the key for native tools)."""
        return self._tool

    def _copy_extra(self, clone: Any) -> None:
        object.__setattr__(clone, "_key", self._key)
        object.__setattr__(clone, "_server", self._server)
        object.__setattr__(clone, "_tool", self._tool)


def _tool_ref(key: str, server: str | None, tool_name: str, ann: Ann | None, ctx: ContextPolicy | None) -> ToolRef:
    ref = ToolRef(Prim(step=CallStep(key), ann=ann, ctx=ctx, src=capture_source()), label=key)
    object.__setattr__(ref, "_key", key)
    object.__setattr__(ref, "_server", server)
    object.__setattr__(ref, "_tool", tool_name)
    return ref


def native(name: str, *, ann: Ann | None = None, ctx: ContextPolicy | None = None) -> ToolRef:
    """A reference to the native tool ``name`` (also a call step)."""
    if not _is_name(name) or "/" in name:
        msg = f"`name` must be a non-empty tool name without '/', got {name!r}"
        raise CompositionError(msg)
    return _tool_ref(name, None, name, ann, ctx)


def mcp(server: str, tool: str, *, ann: Ann | None = None, ctx: ContextPolicy | None = None) -> ToolRef:
    """A reference to the MCP tool ``tool`` on ``server`` (key ``server/tool``; also a call step)."""
    for label, value in (("server", server), ("tool", tool)):
        if not _is_name(value) or "/" in value:
            msg = f"`{label}` must be a non-empty name without '/', got {value!r}"
            raise CompositionError(msg)
    return _tool_ref(f"{server}/{tool}", server, tool, ann, ctx)


@overload
def call(
    ref: Tool[_I, _T0],
    *,
    ann: Ann | None = None,
    ctx: ContextPolicy | None = None,
    name: str | None = None,
) -> Pipeline[_I, _T0]: ...
@overload
def call(
    ref: str | ToolRef,
    *,
    ann: Ann | None = None,
    ctx: ContextPolicy | None = None,
    name: str | None = None,
) -> Pipeline[Any, Any]: ...
def call(
    ref: str | ToolRef | Tool[Any, Any],
    *,
    ann: Ann | None = None,
    ctx: ContextPolicy | None = None,
    name: str | None = None,
) -> Pipeline[Any, Any]:
    """A tool-call step from a tool ref, a ``@tool`` arrow or a bare key.

    Statically a ``@tool`` keeps its ends (``Tool[I, O]`` gives
    ``Pipeline[I, O]``; a record tool ``Pipeline[Mapping[str, Any], O]``, a
    nullary tool ``Pipeline[None, O]``), as at run time; a ref or key gives
    ``Pipeline[Any, Any]``.
    """
    if isinstance(ref, Tool):
        key, in_type, out_type = ref.key, ref.in_type, ref.out_type
        base = ref.to_ir()
        ann = (base.ann or Ann()).merged(ann) if base.ann is not None or ann is not None else None
    elif isinstance(ref, ToolRef):
        key, in_type, out_type = ref.key, Any, Any
        base = ref.to_ir()
        if base.ann is not None:
            ann = base.ann.merged(ann)
        ctx = ctx or base.ctx
    elif _is_name(ref):
        key, in_type, out_type = str(ref), Any, Any
    else:
        msg = f"`ref` must be a tool key, native(...)/mcp(...) or a @tool, got {ref!r}"
        raise CompositionError(msg)
    return Pipeline(Prim(step=CallStep(key), ann=ann, ctx=ctx, name=name, src=capture_source()), in_type=in_type, out_type=out_type, label=key)


def sub(ref: str | Arrow[Any, Any], contract: Contract | None = None, *, ann: Ann | None = None) -> Pipeline[Any, Any]:
    """An opaque child flow by durable name (the parent sees a ``Pipeline``).

    ``contract`` declares the child's closed shape (default ``Pipeline``). A
    named arrow may be passed instead of its name.
    """
    in_type: object = Any
    out_type: object = Any
    if isinstance(ref, Arrow):
        if ref.ref is None:
            msg = f"sub() needs a named flow: call .named('name.v1') on {ref.label!r} first"
            raise CompositionError(msg)
        in_type, out_type = ref.in_type, ref.out_type
        key = ref.ref
        if contract is None:
            contract = Contract.of(ref.closed_shape)
    elif _is_name(ref):
        key = str(ref)
    else:
        msg = f"`ref` must be a flow name or a named Arrow, got {ref!r}"
        raise CompositionError(msg)
    step = SubStep(key, contract or Contract.of(Shape.PIPELINE))
    return Pipeline(Prim(step=step, ann=ann, src=capture_source()), in_type=in_type, out_type=out_type, label=key)


def _reasoner_name(value: Reasoner[Any, Any] | str, what: str) -> str:
    if isinstance(value, Reasoner):
        from composable_agents.core.pures import DEFAULT_REGISTRY

        DEFAULT_REGISTRY.register_reasoner(value)
        return value.name
    if _is_name(value):
        return str(value)
    msg = f"`{what}` must be a Reasoner or a reasoner name, got {value!r}"
    raise CompositionError(msg)


def stage(planner: Reasoner[Any, Any] | str, *, ann: Ann | None = None) -> Arrow[Any, Any]:
    """A staged step: the ``planner`` reasoner emits a plan (IR JSON) that is admitted and run."""
    return wrap(EvalPlan(planner=_reasoner_name(planner, "planner"), ann=ann, src=capture_source()))


def app(
    controller: Reasoner[Any, Any] | str,
    *,
    tools: Sequence[str | ToolRef | Tool[Any, Any]] = (),
    subflows: Sequence[str | Arrow[Any, Any]] = (),
    budget: Mapping[str, Json] | None = None,
    max_rounds: int | None = None,
) -> Arrow[Any, Any]:
    """The bounded agent loop: each round ``controller`` picks finish, escalate, one call or one sub."""
    keys: list[str] = []
    for t in tools:
        if isinstance(t, Tool | ToolRef):
            keys.append(t.key)
        elif _is_name(t):
            keys.append(str(t))
        else:
            msg = f"app tools must be tool keys, refs or @tools, got {t!r}"
            raise CompositionError(msg)
    refs: list[str] = []
    for f in subflows:
        if isinstance(f, Arrow):
            if f.ref is None:
                msg = f"app subflows must be named: call .named(...) on {f.label!r}"
                raise CompositionError(msg)
            refs.append(f.ref)
        elif _is_name(f):
            refs.append(str(f))
        else:
            msg = f"app subflows must be flow names or named arrows, got {f!r}"
            raise CompositionError(msg)
    if max_rounds is not None and not _is_count(max_rounds):
        msg = f"`max_rounds` must be a positive integer, got {max_rounds!r}"
        raise CompositionError(msg)
    node = App(
        controller=_reasoner_name(controller, "controller"),
        tools=tuple(keys),
        subflows=tuple(refs),
        budget=dict(budget) if budget is not None else None,
        max_rounds=max_rounds,
        src=capture_source(),
    )
    return wrap(node)
