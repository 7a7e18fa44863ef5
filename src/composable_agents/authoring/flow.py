"""``@flow``: define-by-construction sugar over the typed core.

``@flow`` runs the decorated function **once, at definition time**, with
:class:`Handle` placeholders instead of values. Registered tools, pures,
``think(reasoner, handle)``, other flows, :func:`cond`, :func:`switch`,
:func:`switch_on`, ``each(body, items, **captures)`` and :func:`reschedule`
called with handles append steps to a dataflow graph; ``h["k"]`` plucks a
field (``std.pluck``) and ``a | b`` merges two records (``std.merge``, right
wins). The graph is then lowered to ordinary IR and returned as an
:class:`~composable_agents.authoring.arrow.Arrow`, so flows and typed arrows
mix freely (``flow >> arrow``).

Lowering rules (see ``docs/authoring.md``):

* a value used by exactly one later single-input step is fused into a chain,
  so a straight-line flow is a plain ``seq`` with no record shims;
* steps are scheduled in waves (ASAP levels of the dataflow graph):
  independent steps run in one ``par``; write/external/dangerous tool steps
  (and inlined flows or branches containing one, and ``reschedule``) are
  ordering barriers: every step written before one finishes before it starts,
  every step written after it starts after it ends;
* values that live across a wave travel either as the bare value, as the list
  a ``par`` returns when the next step consumes exactly that list
  (``a | b``), or as an env record built with ``std.init``/``std.collect``
  and read with ``std.pluck``/``std.unpack``/``std.merge(fields=...)``;
* step options ``name=``, ``retries=`` (``maxAttempts = retries + 1``),
  ``retry_interval_s=``, ``backoff_rate=``, ``timeout_s=``, ``cost_usd=``
  lower to the node's ``Ann``; JSON constant keyword arguments become static
  ``arr`` args for pures and a ``std.bind`` before tools, reasoners and flows.

Misuse of a handle (``if``/``for``/``bool()``, ``len``, ``str``, arithmetic,
attribute access, iteration), an unregistered callable, a rebinding, an
unused parameter, a foreign handle, a secret-shaped, non-JSON or oversized
constant, an unsaturated call and a non-handle return raise
:class:`~composable_agents.errors.DefineError` with the user's file and line
and a rewrite hint.
"""

from __future__ import annotations

import ast
import inspect
import sys
from collections.abc import Callable, Iterable, Mapping
from types import CodeType, FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Final, TypedDict, TypeVar, overload

from composable_agents.authoring._flow_lower import (
    _has_barrier,
    _inputs,
    _Lowering,
)
from composable_agents.authoring._flow_steps import (
    STEP_OPTIONS,
    _bind_ops,
    _hook,
    _options,
    _record_args,
    _single_arg,
    _split,
    _with_meta,
    cond,
    reschedule,
    switch,
    switch_on,
)
from composable_agents.authoring._flow_trace import (
    _ACTIVE,
    MAX_CONSTANT_BYTES,
    Args,
    Handle,
    _all_args,
    _check_rebinding,
    _current,
    _define_error,
    _fail,
    _parse_source,
    _scope_nodes,
    _Source,
    _Step,
    _Trace,
)
from composable_agents.authoring.arrow import (
    SHAPE_CLASSES,
    Arrow,
    Branching,
    Dataflow,
    Feedback,
    Pipeline,
    Staged,
    check_tags,
)
from composable_agents.authoring.leaves import TRACE_HOOKS
from composable_agents.core.kinds import Shape
from composable_agents.core.shapes import surface_shape
from composable_agents.errors import CompositionError, DefineError

if TYPE_CHECKING:
    from composable_agents.core.pures import Registry


__all__ = [
    "MAX_CONSTANT_BYTES",
    "STEP_OPTIONS",
    "Flow",
    "Handle",
    "cond",
    "flow",
    "reschedule",
    "switch",
    "switch_on",
]

I = TypeVar("I", contravariant=True)  # noqa: PLC0105 - the Arrow[I, O] convention
O = TypeVar("O", covariant=True)  # noqa: PLC0105
In = TypeVar("In")
Out = TypeVar("Out")


# -- the flow arrow -----------------------------------------------------------------------


class Flow(Arrow[I, O]):
    """The arrow ``@flow`` returns; calling it with handles inside another flow body inlines it."""

    __slots__ = ("_effects", "_fn", "_params")

    _params: tuple[str, ...]
    _fn: Callable[..., Any] | None
    _effects: bool

    @property
    def param_names(self) -> tuple[str, ...]:
        """The flow function's parameters (a multi-parameter flow takes a record of them)."""
        return self._params

    @property
    def fn(self) -> Callable[..., Any] | None:
        """The traced Python function."""
        return self._fn

    def _copy_extra(self, clone: Any) -> None:
        object.__setattr__(clone, "_params", self._params)
        object.__setattr__(clone, "_fn", self._fn)
        object.__setattr__(clone, "_effects", self._effects)

    def __call__(self, *args: Any, **kwargs: Any) -> O:
        trace = _current()
        if trace is None:
            msg = (
                f"@flow {self.label!r} is a flow, not a function: call it with handles inside another @flow "
                "body, or run it with deploy(flow).dry_run(value)"
            )
            raise CompositionError(msg)
        label = self._fn.__name__ if self._fn is not None else self.label
        handles, consts, options = _split(kwargs, self._params, f"argument of flow {label!r}")
        ann, name, ctx = _options(options, None)
        if len(self._params) == 1:
            spec: Args = ("ref", _single_arg(label, args, handles, "flow", self._params[0]))
            ops = _bind_ops(consts)
        else:
            spec = _record_args(trace, label, self._params, self._params, args, handles, consts, "flow")
            ops = _bind_ops(consts)
        node = self.to_ir()
        if ann is not None or name is not None or ctx is not None:
            node = _with_meta(node, ann, name, ctx, node.src)
        return trace.add(spec, [*ops, node], barrier=self._effects, label=label)  # type: ignore[return-value]


class _PipelineFlow(Flow[I, O], Pipeline[I, O]):
    __slots__ = ()


class _DataflowFlow(Flow[I, O], Dataflow[I, O]):
    __slots__ = ()


class _BranchingFlow(Flow[I, O], Branching[I, O]):
    __slots__ = ()


class _FeedbackFlow(Flow[I, O], Feedback[I, O]):
    __slots__ = ()


class _StagedFlow(Flow[I, O], Staged[I, O]):
    __slots__ = ()


_FLOW_CLASSES: Final[dict[Shape, type[Flow[Any, Any]]]] = {
    Shape.PIPELINE: _PipelineFlow,
    Shape.DATAFLOW: _DataflowFlow,
    Shape.BRANCHING: _BranchingFlow,
    Shape.FEEDBACK: _FeedbackFlow,
    Shape.STAGED: _StagedFlow,
    Shape.AGENT: Flow,
}
assert set(_FLOW_CLASSES) == set(SHAPE_CLASSES)


# -- @flow ------------------------------------------------------------------------------------


def _output(trace: _Trace, result: object, src: _Source | None, fn_name: str) -> tuple[int, _Step | None]:
    where = None
    if src is not None:
        returns = [n for n in _scope_nodes(src.node) if isinstance(n, ast.Return)]
        line = max((r.lineno for r in returns), default=src.node.lineno)
        where = (src.filename, line)
    if isinstance(result, Handle):
        if result._trace is not trace:
            _fail(f"@flow {fn_name!r} returns a handle of another flow ({result._trace.fn_name!r})",
                  "return a handle created in this body", where)
        return result._vid, None
    if isinstance(result, tuple | list) and result and all(isinstance(h, Handle) for h in result):
        vids = tuple(_checked_own(trace, h, fn_name, where) for h in result)
        out = trace.new_value()
        return out, _Step(len(trace.steps), ("list", vids), [], False, out, "return")
    if isinstance(result, dict) and result and all(isinstance(h, Handle) for h in result.values()):
        if not all(isinstance(k, str) for k in result):
            _fail(f"@flow {fn_name!r} returns a dict with non-string keys", "use string keys", where)
        pairs = tuple((k, _checked_own(trace, h, fn_name, where)) for k, h in result.items())
        out = trace.new_value()
        return out, _Step(len(trace.steps), ("rec", pairs), [], False, out, "return")
    shown = "None (no return statement?)" if result is None else f"a {type(result).__name__}"
    _fail(
        f"non-handle return: @flow {fn_name!r} returns {shown}",
        "return a handle (a step result), or a tuple/dict of handles; constants belong in step arguments",
        where,
    )


def _checked_own(trace: _Trace, h: Handle, fn_name: str, where: tuple[str, int] | None) -> int:
    if h._trace is not trace:
        _fail(f"@flow {fn_name!r} returns a handle of another flow ({h._trace.fn_name!r})",
              "return handles created in this body", where)
    return h._vid


def _traceback_line(tb: TracebackType | None, code: CodeType) -> tuple[str, int] | None:
    found = None
    while tb is not None:
        if tb.tb_frame.f_code is code:
            found = (code.co_filename, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _input_type(fn: Callable[..., Any], params: list[inspect.Parameter], hints: Mapping[str, Any]) -> object:
    if len(params) == 1:
        return hints.get(params[0].name, Any)
    fields = {p.name: hints.get(p.name, Any) for p in params}
    return TypedDict(f"{fn.__name__}_input", fields)  # type: ignore[operator]


def _build(
    fn: Callable[..., Any], ref: str | None, registry: Registry | None, tags: tuple[str, ...] = ()
) -> Flow[Any, Any]:
    if not hasattr(fn, "__code__"):
        msg = f"@flow decorates a Python function, got {fn!r}"
        raise CompositionError(msg)
    if inspect.iscoroutinefunction(fn) or inspect.isgeneratorfunction(fn):
        _fail(f"@flow {fn.__name__!r} is async or a generator; a flow body is a plain def run once at definition",
              "write `def` (steps may be async tools; the body itself is only traced)",
              (fn.__code__.co_filename, fn.__code__.co_firstlineno))
    src = _parse_source(fn)
    def_where = (fn.__code__.co_filename, src.node.lineno if src is not None else fn.__code__.co_firstlineno)
    params = list(inspect.signature(fn).parameters.values())
    if not params:
        _fail(f"@flow {fn.__name__!r} takes no parameter", "a flow takes its input as a parameter", def_where)
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            _fail(f"@flow {fn.__name__!r}: *args/**kwargs cannot be traced", "name every input parameter", def_where)
        if p.default is not inspect.Parameter.empty:
            _fail(f"@flow {fn.__name__!r}: parameter {p.name!r} has a default",
                  "flow parameters are the input record's fields; bind constants as step keyword arguments",
                  def_where)
    if src is not None:
        _check_rebinding(src)
    try:
        hints = inspect.get_annotations(fn, eval_str=True)
    except Exception:  # noqa: BLE001 - unresolvable annotations make the boundary untyped
        hints = {}
    trace = _Trace(fn.__name__, fn.__code__, src)
    handles: dict[str, Handle] = {}
    for p in params:
        vid = trace.new_value()
        trace.params.append(vid)
        trace.param_names[vid] = p.name
        handles[p.name] = Handle(trace, vid)
    captured: dict[str, Any] = {}

    def profiler(frame: FrameType, event: str, arg: Any) -> None:
        if event == "return" and frame.f_code is fn.__code__:
            captured.update(frame.f_locals)

    token = _ACTIVE.set((*_ACTIVE.get(), trace))
    old_profile = sys.getprofile()
    sys.setprofile(profiler)
    try:
        pos = [handles[p.name] for p in params if p.kind is not p.KEYWORD_ONLY]
        kw = {p.name: handles[p.name] for p in params if p.kind is p.KEYWORD_ONLY}
        result = fn(*pos, **kw)
    except DefineError as exc:
        body = _traceback_line(exc.__traceback__, fn.__code__)
        inside = src is not None and exc.filename == src.filename and exc.lineno is not None and (
            src.node.lineno <= exc.lineno <= (src.node.end_lineno or src.node.lineno))
        if body is None or inside:
            raise
        raise _define_error(
            f"{exc.msg.split(chr(10))[0]} (reached through an unregistered callable called from this line of "
            f"@flow {fn.__name__!r})",
            "only registered @tool/@pure functions, think(...), other @flows and the flow helpers may receive "
            "a handle; register the helper with @pure('name') or @tool, or turn it into a @flow",
            body,
        ) from exc
    except Exception as exc:
        where = _traceback_line(exc.__traceback__, fn.__code__) or def_where
        raise _define_error(
            f"unregistered callable or unsupported operation in @flow {fn.__name__!r}: "
            f"{type(exc).__name__}: {exc}",
            "a flow body runs once at definition time with handles; only registered @tool/@pure functions, "
            "think(...), other @flows, cond/switch/switch_on/each/reschedule may receive a handle — "
            "register the helper with @pure('name') or @tool",
            where,
        ) from exc
    finally:
        sys.setprofile(old_profile)
        _ACTIVE.reset(token)
        trace.closed = True
    for var, value in captured.items():
        if isinstance(value, Handle) and value._trace is trace and value._vid not in trace.param_names:
            trace.names.setdefault(value._vid, var)
    output, extra = _output(trace, result, src, fn.__name__)
    used = {v for st in trace.steps if st.index not in trace.nullary for v in _inputs(st.args)}
    if extra is not None:
        used |= set(_inputs(extra.args))
    used.add(output)
    for vid in trace.params:
        if vid not in used:
            pname = trace.param_names[vid]
            line = def_where
            if src is not None:
                for a in _all_args(src.node.args):
                    if a.arg == pname:
                        line = (src.filename, a.lineno)
            _fail(
                f"unused parameter {pname!r} of @flow {fn.__name__!r}",
                f"use {pname!r} in a step, or remove it from the signature (a flow's input is its parameters)",
                line,
            )
    node = _Lowering(trace, output, extra).lower()
    in_type = _input_type(fn, params, hints)
    out_type: object = hints.get("return", Any)
    cls = _FLOW_CLASSES[surface_shape(node)]
    arrow = cls(node, in_type=in_type, out_type=out_type, label=fn.__name__)
    object.__setattr__(arrow, "_params", tuple(p.name for p in params))
    object.__setattr__(arrow, "_fn", fn)
    object.__setattr__(arrow, "_effects", _has_barrier(node))
    if tags:
        arrow = arrow._rebuild(tags=tags)
    if ref is not None:
        arrow = arrow.named(ref, registry=registry)
    return arrow


@overload
def flow(fn: Callable[[In], Out], /) -> Flow[In, Out]: ...
@overload
def flow(fn: Callable[..., Out], /) -> Flow[Mapping[str, Any], Out]: ...
@overload
def flow(
    *, name: str | None = None, tags: Iterable[str] = (), registry: Registry | None = None
) -> _FlowDecorator: ...
def flow(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    tags: Iterable[str] = (),
    registry: Registry | None = None,
) -> Flow[Any, Any] | _FlowDecorator:
    """Trace ``fn`` once with handles and return the flow as an ``Arrow[I, O]``.

    ``I`` is the parameter's annotation (a multi-parameter flow takes a record
    of its parameters); ``O`` is the return annotation. ``@flow(name="x.v1")``
    also gives the flow a durable name (for ``sub``); ``tags=("support",)``
    labels it for ``ca`` selectors (metadata: not part of the IR or any hash).
    """
    checked = check_tags(tags)
    if fn is not None:
        return _build(fn, name, registry, checked)
    return _FlowDecorator(name, registry, checked)


class _FlowDecorator:
    """``@flow(name=...)``: the decorator with options."""

    __slots__ = ("_name", "_registry", "_tags")

    def __init__(self, name: str | None, registry: Registry | None, tags: tuple[str, ...] = ()) -> None:
        self._name = name
        self._registry = registry
        self._tags = tags

    @overload
    def __call__(self, fn: Callable[[In], Out], /) -> Flow[In, Out]: ...
    @overload
    def __call__(self, fn: Callable[..., Out], /) -> Flow[Mapping[str, Any], Out]: ...
    def __call__(self, fn: Callable[..., Any], /) -> Flow[Any, Any]:
        return _build(fn, self._name, self._registry, self._tags)


if _hook not in TRACE_HOOKS:
    TRACE_HOOKS.append(_hook)
