"""What each callable appends to a @flow trace: step options, the tracer hook, cond/switch/switch_on/reschedule.

The tracer hook (installed in the leaves' ``TRACE_HOOKS`` by :mod:`composable_agents.authoring.flow`)
routes a tool, pure, ``think``, ``each`` or flow called with handles to the function that records its
step; the control helpers record branch and reschedule steps. Rejected alternative: keeping them in
``flow.py``, which then held both the tracer's vocabulary and the decorator that lowers a trace."""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar, overload

from composable_agents.authoring import kernel as _kernel
from composable_agents.authoring._flow_lower import (
    _has_barrier,
    _tool_is_barrier,
)
from composable_agents.authoring._flow_trace import (
    Args,
    Handle,
    _bind_trace,
    _constant,
    _current,
    _fail,
    _need_trace,
    _src,
    _Trace,
)
from composable_agents.authoring.arrow import (
    Arrow,
)
from composable_agents.authoring.leaves import Pure, Think, Tool
from composable_agents.core.canonical import Json, JsonObject
from composable_agents.core.ir import (
    Alt,
    Ann,
    Arr,
    CallStep,
    ContextPolicy,
    Each,
    Ident,
    Node,
    Prim,
    PureRef,
    Seq,
    SourceLoc,
)
from composable_agents.errors import CompositionError

__all__ = ["STEP_OPTIONS", "PredLike", "cond", "reschedule", "switch", "switch_on"]

T = TypeVar("T")
R = TypeVar("R")
R2 = TypeVar("R2")

STEP_OPTIONS: Final = frozenset(
    {"name", "retries", "retry_interval_s", "backoff_rate", "timeout_s", "cost_usd", "ann", "ctx"}
)
"""Keyword arguments that configure a step instead of feeding it."""

_SLEEP: Final = "__sleep__"
_ITEMS: Final = "__items__"
_BRANCH: Final = "__branch__"
_SUBJECT: Final = "subject"


# -- step options ----------------------------------------------------------------------


def _options(opts: dict[str, Any], base: Ann | None) -> tuple[Ann | None, str | None, ContextPolicy | None]:
    """Split step options off ``opts`` (mutated) into an ``Ann``, a node name and a context policy."""
    name = opts.pop("name", None)
    ctx = opts.pop("ctx", None)
    ann = opts.pop("ann", None)
    if name is not None and (not isinstance(name, str) or not name):
        _fail(f"name={name!r}: a step name must be a non-empty string", "write name='fetch_ticket'")
    if ctx is not None and not isinstance(ctx, ContextPolicy):
        _fail(f"ctx={ctx!r} is not a ContextPolicy", "pass ctx=ContextPolicy(scope=...)")
    if ann is not None and not isinstance(ann, Ann):
        _fail(f"ann={ann!r} is not an Ann", "pass ann=Ann(...) or the step options retries=, timeout_s=, ...")
    fields: dict[str, Any] = {}
    retries = opts.pop("retries", None)
    if retries is not None:
        if type(retries) is not int or retries < 0:
            _fail(f"retries={retries!r}: retries must be a non-negative integer",
                  "retries=2 means up to 3 attempts in total")
        fields["max_attempts"] = retries + 1
    for opt, attr, minimum, strict in (
        ("timeout_s", "timeout_s", 0.0, True),
        ("retry_interval_s", "retry_interval_s", 0.0, False),
        ("backoff_rate", "backoff_rate", 1.0, False),
        ("cost_usd", "cost_usd", 0.0, False),
    ):
        value = opts.pop(opt, None)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            _fail(f"{opt}={value!r} must be a number", f"write {opt}=<number>")
        if value < minimum or (strict and value == minimum):
            bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
            _fail(f"{opt}={value!r} is out of range (must be {bound})", f"write {opt} {bound}")
        fields[attr] = value
    merged = base
    if ann is not None:
        merged = (merged or Ann()).merged(ann)
    if fields:
        merged = (merged or Ann()).merged(Ann(**fields))
    return merged, name, ctx


def _split(
    kwargs: Mapping[str, Any], params: Sequence[str], what: str
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``kwargs`` split into (handle fields, constants, step options); a parameter name wins over an option."""
    handles: dict[str, Any] = {}
    consts: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for key, value in kwargs.items():
        if key in STEP_OPTIONS and key not in params:
            options[key] = value
        elif isinstance(value, Handle):
            handles[key] = value
        else:
            consts[key] = _constant(key, value, what)
    return handles, consts, options


def _vid(h: Handle) -> int:
    _bind_trace(h)
    return h._vid


def _bind_ops(consts: Mapping[str, Json]) -> list[Node]:
    return [Arr(pure="std.bind", args={"consts": dict(consts)})] if consts else []


def _with_meta(node: Node, ann: Ann | None, name: str | None, ctx: ContextPolicy | None, src: SourceLoc | None) -> Node:
    import dataclasses

    changes: dict[str, Any] = {"src": src}
    if ann is not None and not ann.is_empty():
        changes["ann"] = ann
    if name is not None:
        changes["name"] = name
    if ctx is not None:
        changes["ctx"] = ctx
    return dataclasses.replace(node, **changes)


# -- the tracer hook --------------------------------------------------------------------


def _hook(leaf: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    trace = _current()
    if trace is None:
        for v in (*args, *kwargs.values()):
            if isinstance(v, Handle):
                _bind_trace(v)  # raises: a handle outside its body
        return NotImplemented
    if isinstance(leaf, Tool):
        return _trace_tool(trace, leaf, args, kwargs)
    if isinstance(leaf, Pure):
        return _trace_pure(trace, leaf, args, kwargs)
    if isinstance(leaf, Think):
        return _trace_think(trace, leaf, args, kwargs)
    if leaf is _kernel.each:
        return _trace_each(trace, args, kwargs)
    if isinstance(leaf, Arrow):
        return _trace_arrow(trace, leaf, args, kwargs)
    return NotImplemented


def _trace_arrow(trace: _Trace, leaf: Arrow[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Any arrow applied to one handle (a typed ``|`` choice, ``as_flow(...)``, a gate) appends it as a step."""
    label = leaf.label
    handles, consts, options = _split(kwargs, (), f"argument of {label!r}")
    if consts:
        _fail(
            f"{label!r} takes one handle, got constant keyword(s) {sorted(consts)}",
            "bind constants inside the arrow (e.g. arr(pure, **args)), then apply it to one handle",
        )
    base = leaf.to_ir()
    ann, name, ctx = _options(options, base.ann)
    vid = _single_arg(label, args, handles, "arrow")
    node = base
    if ann is not base.ann or name is not None or ctx is not None:
        node = _with_meta(base, ann, name, ctx, base.src)
    return trace.add(("ref", vid), [node], barrier=True, label=label)


def _record_args(
    trace: _Trace, label: str, params: Sequence[str], required: Sequence[str], args: tuple[Any, ...],
    handles: dict[str, Any], consts: dict[str, Any], kind: str,
) -> Args:
    """The record input of a multi-parameter step (tool or flow), checked for saturation."""
    fields: dict[str, Any] = {}
    if len(args) > len(params):
        _fail(f"{kind} {label!r} takes {len(params)} parameter(s) {list(params)}, got {len(args)} positional",
              "pass one handle per parameter, or keyword arguments by parameter name")
    for p, value in zip(params, args, strict=False):
        fields[p] = value
    for key, value in handles.items():
        if key in fields:
            _fail(f"{kind} {label!r}: parameter {key!r} is given twice", "pass each parameter once")
        fields[key] = value
    for key in consts:
        if key in fields:
            _fail(f"{kind} {label!r}: parameter {key!r} is given twice", "pass each parameter once")
        if key not in params:
            _fail(f"{kind} {label!r} has no parameter {key!r} (parameters: {list(params)})",
                  "pass constants by the step's parameter names")
    for key in fields:
        if key not in params:
            _fail(f"{kind} {label!r} has no parameter {key!r} (parameters: {list(params)})",
                  "pass handles by the step's parameter names")
    missing = [p for p in required if p not in fields and p not in consts]
    if missing:
        _fail(
            f"unsaturated {kind} {label!r}: missing argument(s) {missing}",
            f"pass every parameter: {label}({', '.join(f'{p}=...' for p in params)})",
        )
    pairs: list[tuple[str, int]] = []
    for key, value in fields.items():
        if not isinstance(value, Handle):
            consts[key] = _constant(key, value, f"argument of {label!r}")
            continue
        pairs.append((key, _vid(value)))
    if not pairs:
        _fail(f"{kind} {label!r} is called with constants only: a step needs a handle input",
              "pass at least one handle; to compute a constant, call the function outside the flow body")
    return ("rec", tuple(pairs))


def _single_arg(label: str, args: tuple[Any, ...], handles: dict[str, Any], kind: str,
                param: str | None = None) -> int:
    values = list(args)
    if param is not None and param in handles:
        values.append(handles.pop(param))
    if handles:
        _fail(f"{kind} {label!r} takes one value; got handle keyword(s) {sorted(handles)}",
              "merge records first (a | b) and pass one handle")
    if len(values) != 1:
        if not values:
            _fail(f"unsaturated {kind} {label!r}: no input handle", f"call {label}(handle)")
        _fail(f"{kind} {label!r} takes one value, got {len(values)}",
              "merge records first (a | b) and pass one handle")
    value = values[0]
    if not isinstance(value, Handle):
        _fail(
            f"{kind} {label!r} is called with a constant ({type(value).__name__}): a step needs a handle input",
            "pass a handle (a parameter or a step result); to compute a constant, call it outside the flow body",
        )
    return _vid(value)


def _trace_tool(trace: _Trace, leaf: Tool[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    d = leaf.definition
    params = list(d.params)
    handles, consts, options = _split(kwargs, params, f"argument of tool {leaf.key!r}")
    base = leaf.to_ir()
    ann, name, ctx = _options(options, base.ann)
    if d.single:
        vid = _single_arg(leaf.key, args, handles, "tool", params[0] if params else None)
        spec: Args = ("ref", vid)
    elif not params:
        if args or handles or consts:
            _fail(f"tool {leaf.key!r} takes no input, got arguments",
                  f"call it with no arguments: {leaf.key}()")
        # placed on the flow input (which it ignores); it does not count as a use of that parameter
        trace.nullary.add(len(trace.steps))
        spec = ("ref", trace.params[0])
    else:
        sig = inspect.signature(d.fn) if d.fn is not None else None
        required = [p for p in params if sig is None or sig.parameters[p].default is inspect.Parameter.empty]
        spec = _record_args(trace, leaf.key, params, required, args, handles, consts, "tool")
    node = _with_meta(base, ann, name or base.name, ctx or base.ctx, _src(f"{leaf.key}(...)"))
    return trace.add(spec, [*_bind_ops(consts), node], barrier=_tool_is_barrier(leaf.key), label=leaf.key)


def _trace_pure(trace: _Trace, leaf: Pure[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    fn = leaf.definition.fn
    try:
        sig_params = [p for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        sig_params = []
    names = [p.name for p in sig_params]
    handles, consts, options = _split(kwargs, names[1:], f"argument of pure {leaf.pure_name!r}")
    ann, name, ctx = _options(options, None)
    if not args:
        _fail(f"unsaturated pure {leaf.pure_name!r}: no input handle", f"call {leaf.pure_name}(handle)")
    first, rest = args[0], args[1:]
    for i, extra in enumerate(rest, start=1):
        if isinstance(extra, Handle):
            _fail(f"pure {leaf.pure_name!r} takes one value; got a handle as positional argument {i + 1}",
                  "merge records first (a | b) and pass one handle; other arguments are static constants")
        key = names[i] if i < len(names) else f"arg{i}"
        consts[key] = _constant(key, extra, f"argument of pure {leaf.pure_name!r}")
    if handles:
        _fail(f"pure {leaf.pure_name!r} takes one value; got handle keyword(s) {sorted(handles)}",
              "keyword arguments of a pure are static constants; merge records first (a | b)")
    vid = _single_arg(leaf.pure_name, (first,), {}, "pure")
    base = Arr(pure=leaf.pure_name, args=dict(consts) if consts else None)
    node = _with_meta(base, ann, name, ctx, _src(f"{leaf.pure_name}(...)"))
    return trace.add(("ref", vid), [node], barrier=False, label=leaf.pure_name)


def _trace_think(trace: _Trace, leaf: Think[Any, Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    handles, consts, options = _split(kwargs, [], f"argument of think({leaf.reasoner_name!r})")
    base = leaf.to_ir()
    ann, name, ctx = _options(options, base.ann)
    vid = _single_arg(f"think({leaf.reasoner_name})", args, handles, "reasoner step")
    node = _with_meta(base, ann, name or base.name, ctx or base.ctx, _src(f"think({leaf.reasoner_name!r}, ...)"))
    return trace.add(("ref", vid), [*_bind_ops(consts), node], barrier=False, label=leaf.reasoner_name)


def _arm(value: object, what: str) -> Node:
    if value is None:
        return Ident()
    if isinstance(value, Arrow):
        return value.to_ir()
    if isinstance(value, Handle):
        _fail(f"{what} is a handle; it must be an arrow (a @tool, @pure, think(r), a @flow or a kernel arrow)",
              "pass the step itself (e.g. then=summarize), not a step result")
    _fail(f"{what} must be an arrow, got {type(value).__name__}",
          "pass a @tool, @pure, think(reasoner), a @flow or a kernel arrow; wrap Python logic in @flow or @pure")


def _arm_params(body: object) -> list[str] | None:
    params = getattr(body, "param_names", None)  # a Flow (defined in flow.py, which imports this module)
    if isinstance(body, Arrow) and params is not None:
        return list(params)
    if isinstance(body, Tool) and not body.definition.single:
        return list(body.definition.params)
    return None


def _trace_each(trace: _Trace, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    kwargs = dict(kwargs)
    max_parallel = kwargs.pop("max_parallel", None)
    reducer = kwargs.pop("reducer", None)
    body, *rest = args
    if len(rest) != 1:
        _fail(f"each(body, items, ...) takes one items handle, got {len(rest)} positional value(s)",
              "write each(body, items, max_parallel=..., capture=handle)")
    items = rest[0]
    if not isinstance(items, Handle):
        _fail(f"each(body, items): items is a constant {type(items).__name__}, not a handle",
              "pass a handle to a list (a parameter or a step result)")
    body_node = _arm(body, "each body")
    if max_parallel is not None and (type(max_parallel) is not int or max_parallel < 1):
        _fail(f"max_parallel={max_parallel!r} must be a positive integer", "write max_parallel=4")
    red = _kernel.pure_ref(reducer, what="reducer") if reducer is not None else None
    handles, consts, _ = _split(kwargs, list(kwargs), "each capture")
    each_node = Each(body=body_node, max_parallel=max_parallel, reducer=red, src=_src("each(...)"))
    barrier = _has_barrier(body_node)
    if not handles and not consts:
        return trace.add(("ref", _vid(items)), [each_node], barrier=barrier, label="each")
    params = _arm_params(body)
    captured = set(handles) | set(consts)
    if params is not None:
        unknown = sorted(captured - set(params))
        if unknown:
            _fail(f"each captures {unknown} are not parameters of the body {list(params)}",
                  "name each capture after a parameter of the body")
        free = [p for p in params if p not in captured]
        if len(free) != 1:
            _fail(
                f"each body parameters {params}: captures {sorted(captured)} leave {free or 'none'} for the item",
                "capture every body parameter except exactly one, which receives each item",
            )
        item_key = free[0]
    else:
        item_key = "item"
        if "item" in captured:
            _fail("each capture 'item' collides with the per-item field", "rename the capture")
    pairs = [(_ITEMS, _vid(items)), *((k, _vid(h)) for k, h in handles.items())]
    pack_args: JsonObject = {"items": _ITEMS, "item": item_key, "fields": list(handles)}
    if consts:
        pack_args["consts"] = dict(consts)
    ops: list[Node] = [Arr(pure="std.each_pack", args=pack_args), each_node]
    return trace.add(("rec", tuple(pairs)), ops, barrier=barrier, label="each")


# -- @flow helpers: cond, switch, switch_on, reschedule -----------------------------------

PredLike = Pure[Any, Any] | str | PureRef


@overload
def cond(pred: PredLike | bool, subject: T, *, then: Arrow[T, R], orelse: None = None,
         name: str | None = None) -> R | T: ...
@overload
def cond(pred: PredLike | bool, subject: T, *, then: Arrow[T, R], orelse: Arrow[T, R2],
         name: str | None = None) -> R | R2: ...
def cond(pred: Any, subject: Any, *, then: Any, orelse: Any = None, name: str | None = None) -> Any:
    """In a ``@flow`` body: run ``then`` on ``subject`` if ``pred`` holds, else ``orelse`` (identity if omitted).

    ``pred`` is a registered pure (or its name) applied to ``subject``, or a
    handle to a boolean computed earlier.
    """
    trace = _need_trace("cond(pred, subject, then=..., orelse=...)", "use alt(pred, if_true, if_false)")
    if not isinstance(subject, Handle):
        _fail("cond(pred, subject, ...): subject must be a handle", "pass the value to branch on")
    arms = (_arm(then, "cond then="), _arm(orelse, "cond orelse="))
    barrier = any(_has_barrier(a) for a in arms)
    src = _src("cond(...)")
    if isinstance(pred, Handle):
        picked = tuple(Seq(steps=(Arr(pure="std.pluck", args={"key": _SUBJECT}), a)) for a in arms)
        node = Alt(branches=picked, pred=PureRef("std.branch_predicate"), name=name, src=src)
        spec: Args = ("rec", ((_BRANCH, _vid(pred)), (_SUBJECT, _vid(subject))))
        return trace.add(spec, [node], barrier=barrier, label="cond")
    try:
        ref = _kernel.pure_ref(pred, what="pred")
    except CompositionError as exc:
        _fail(f"cond: {exc}", "pass a @pure predicate, its registered name, or a handle to a boolean")
    node = Alt(branches=arms, pred=ref, name=name, src=src)
    return trace.add(("ref", _vid(subject)), [node], barrier=barrier, label="cond")


def _cases(cases: Mapping[Any, Any], default: Any, what: str) -> tuple[tuple[Json, ...], tuple[Node, ...]]:
    checked: object = cases
    if not isinstance(checked, Mapping) or not checked:
        _fail(f"{what}: cases must be a non-empty mapping {{value: arm}}", "write cases={'a': arm_a, 'b': arm_b}")
    keys: list[Json] = []
    arms: list[Node] = []
    for key, arm in cases.items():
        keys.append(_constant(repr(key), key, f"{what} case"))
        arms.append(_arm(arm, f"{what} case {key!r}"))
    arms.append(_arm(default, f"{what} default="))
    return tuple(keys), tuple(arms)


def switch(selector: Any, subject: T, *, cases: Mapping[Any, Arrow[Any, R]],
           default: Arrow[Any, R] | None = None, name: str | None = None) -> R:
    """In a ``@flow`` body: run the arm whose case equals ``selector``'s value, else ``default``.

    ``selector`` is a registered pure (or its name) applied to ``subject``, or
    a handle computed earlier; ``default`` omitted passes ``subject`` through.
    """
    trace = _need_trace("switch(selector, subject, cases=...)", "use alt(selector, cases=..., default=...)")
    if not isinstance(subject, Handle):
        _fail("switch(selector, subject, ...): subject must be a handle", "pass the value to route")
    keys, arms = _cases(cases, default, "switch")
    barrier = any(_has_barrier(a) for a in arms)
    src = _src("switch(...)")
    if isinstance(selector, Handle):
        picked = tuple(Seq(steps=(Arr(pure="std.pluck", args={"key": _SUBJECT}), a)) for a in arms)
        node = Alt(branches=picked, selector=PureRef("std.branch_selector"), cases=keys, name=name, src=src)
        spec: Args = ("rec", ((_BRANCH, _vid(selector)), (_SUBJECT, _vid(subject))))
        return trace.add(spec, [node], barrier=barrier, label="switch")  # type: ignore[return-value]
    try:
        ref = _kernel.pure_ref(selector, what="selector")
    except CompositionError as exc:
        _fail(f"switch: {exc}", "pass a @pure selector, its registered name, or a handle")
    node = Alt(branches=arms, selector=ref, cases=keys, name=name, src=src)
    return trace.add(("ref", _vid(subject)), [node], barrier=barrier, label="switch")  # type: ignore[return-value]


def switch_on(subject: T, *, key: str, cases: Mapping[Any, Arrow[Any, R]],
              default: Arrow[Any, R] | None = None, name: str | None = None) -> R:
    """In a ``@flow`` body: route the record ``subject`` on its field ``key`` (``std.pluck``).

    Each arm takes the variant its case selects (``{"urgent": page, "routine":
    enqueue}`` over ``Urgent | Routine``), so an arm's input is not required to
    be the whole union; the result is the join of the arms' outputs (annotate
    the flow's return type, e.g. ``-> str | int``). Every arm's input is still
    checked at run time against the value routed to it.
    """
    trace = _need_trace("switch_on(subject, key=..., cases=...)", "use alt('std.pluck', cases=..., args=...)")
    if not isinstance(subject, Handle):
        _fail("switch_on(subject, ...): subject must be a handle", "pass the record to route")
    key_obj: object = key
    if not isinstance(key_obj, str) or not key_obj:
        _fail(f"switch_on key={key!r} must be a field name", "write key='kind'")
    keys, arms = _cases(cases, default, "switch_on")
    node = Alt(branches=arms, selector=PureRef("std.pluck", {"key": key}), cases=keys, name=name,
               src=_src("switch_on(...)"))
    barrier = any(_has_barrier(a) for a in arms)
    return trace.add(("ref", _vid(subject)), [node], barrier=barrier, label="switch_on")  # type: ignore[return-value]


def reschedule(state: T, *, after_s: float, mark: Arrow[T, T] | None = None,
               name: str | None = None) -> dict[str, T]:
    """In a ``@flow`` body: end this segment and continue with ``state`` after ``after_s`` seconds.

    Lowers to the optional ``mark`` step, the reserved ``__sleep__`` call with
    ``{"seconds": after_s}``, then ``std.continue_with`` (``{"__continue__": state}``).
    It is an ordering barrier; return its handle from the flow.
    """
    trace = _need_trace("reschedule(state, after_s=...)", "build the IR with the kernel instead")
    if not isinstance(state, Handle):
        _fail("reschedule(state, ...): state must be a handle", "pass the state to continue with")
    seconds: object = after_s
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds >= 0:
        _fail(f"reschedule after_s={after_s!r} must be a non-negative number of seconds", "write after_s=3600")
    ops: list[Node] = []
    if mark is not None:
        ops.append(_arm(mark, "reschedule mark="))
    ops.append(Prim(step=CallStep(_SLEEP, args={"seconds": after_s}), name=name, src=_src("reschedule(...)")))
    ops.append(Arr(pure="std.continue_with"))
    return trace.add(("ref", _vid(state)), ops, barrier=True, label="reschedule")  # type: ignore[return-value]
