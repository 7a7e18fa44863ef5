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
import contextvars
import inspect
import os
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import CodeType, FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Final, Generic, NoReturn, TypedDict, TypeVar, overload

from composable_agents.authoring import kernel as _kernel
from composable_agents.authoring.arrow import (
    SHAPE_CLASSES,
    Arrow,
    Branching,
    Dataflow,
    Feedback,
    Pipeline,
    Staged,
)
from composable_agents.authoring.leaves import TRACE_HOOKS, Pure, Think, Tool
from composable_agents.core.canonical import Json, JsonObject, canonical_dumps, check_json
from composable_agents.core.ir import (
    Alt,
    Ann,
    Arr,
    CallStep,
    ContextPolicy,
    Each,
    Ident,
    Node,
    Par,
    Prim,
    PureRef,
    Seq,
    SourceLoc,
    SubStep,
)
from composable_agents.core.kinds import Effect, Shape
from composable_agents.core.shapes import surface_shape
from composable_agents.errors import CanonicalJSONError, CompositionError, DefineError

if TYPE_CHECKING:
    from composable_agents.core.pures import Registry

__all__ = [
    "flow",
    "Flow",
    "Handle",
    "cond",
    "switch",
    "switch_on",
    "reschedule",
    "STEP_OPTIONS",
    "MAX_CONSTANT_BYTES",
]

I = TypeVar("I", contravariant=True)
O = TypeVar("O", covariant=True)
T = TypeVar("T")
R = TypeVar("R")
R2 = TypeVar("R2")
In = TypeVar("In")
Out = TypeVar("Out")

STEP_OPTIONS: Final = frozenset(
    {"name", "retries", "retry_interval_s", "backoff_rate", "timeout_s", "cost_usd", "ann", "ctx"}
)
"""Keyword arguments that configure a step instead of feeding it."""

MAX_CONSTANT_BYTES: Final = 64 * 1024
"""The largest canonical JSON constant a flow body may capture."""

_PKG_DIR: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_SLEEP: Final = "__sleep__"
_ITEMS: Final = "__items__"
_BRANCH: Final = "__branch__"
_SUBJECT: Final = "subject"


# -- source locations and errors --------------------------------------------------


def _user_frame() -> FrameType | None:
    """The innermost frame outside this package (the user's line)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = os.path.abspath(frame.f_code.co_filename)
        if not filename.startswith(_PKG_DIR + os.sep) and "beartype" not in filename:
            return frame
        frame = frame.f_back
    return None


def _where() -> tuple[str, int]:
    frame = _user_frame()
    if frame is None:
        return "<unknown>", 0
    return frame.f_code.co_filename, frame.f_lineno


def _define_error(problem: str, hint: str, where: tuple[str, int] | None = None) -> DefineError:
    filename, lineno = where if where is not None else _where()
    text = None
    try:
        import linecache

        text = linecache.getline(filename, lineno) or None
    except Exception:  # pragma: no cover - linecache never matters for the error itself
        text = None
    msg = f"{filename}:{lineno}: {problem}\n    hint: {hint}"
    err = DefineError(msg, (filename, lineno, None, text))
    err.msg = msg
    return err


def _fail(problem: str, hint: str, where: tuple[str, int] | None = None) -> NoReturn:
    raise _define_error(problem, hint, where)


# -- the trace ----------------------------------------------------------------------

Args = tuple[str, Any]
"""``("ref", vid)``, ``("list", (vid, ...))`` or ``("rec", ((key, vid), ...))``."""


@dataclass(slots=True)
class _Step:
    """One traced step: its input assembly, its IR operations and its output value."""

    index: int
    args: Args
    ops: list[Node]
    barrier: bool
    out: int
    label: str


@dataclass(slots=True)
class _Trace:
    """The state of one ``@flow`` body while it runs at definition time."""

    fn_name: str
    code: CodeType | None
    source: _Source | None
    steps: list[_Step] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    params: list[int] = field(default_factory=list)
    param_names: dict[int, str] = field(default_factory=dict)
    next_vid: int = 0
    closed: bool = False

    def new_value(self) -> int:
        vid = self.next_vid
        self.next_vid += 1
        return vid

    def handle(self, vid: int) -> Handle:
        return Handle(self, vid)

    def add(self, args: Args, ops: list[Node], *, barrier: bool, label: str) -> Handle:
        out = self.new_value()
        self.steps.append(_Step(len(self.steps), args, ops, barrier, out, label))
        return Handle(self, out)


_ACTIVE: contextvars.ContextVar[tuple[_Trace, ...]] = contextvars.ContextVar("composable_agents_flow", default=())


def _current() -> _Trace | None:
    stack = _ACTIVE.get()
    return stack[-1] if stack else None


def _need_trace(what: str, instead: str) -> _Trace:
    trace = _current()
    if trace is None:
        msg = f"{what} appends a step only inside a @flow body; {instead}"
        raise CompositionError(msg)
    return trace


# -- handles --------------------------------------------------------------------------

_COND_HINT = (
    "a handle has no value at definition time; branch with cond(pred, subject, then=..., orelse=...), "
    "switch(...) or switch_on(subject, key=..., cases=...)"
)


class Handle:
    """A placeholder for a value inside a ``@flow`` body (it has no value yet).

    Handles support exactly three operations: passing them to steps,
    ``h["field"]`` (pluck) and ``a | b`` (merge records). Everything else —
    truth tests, iteration, ``len``, ``str``, arithmetic, attribute access —
    raises :class:`DefineError` with a rewrite hint.
    """

    __slots__ = ("_trace", "_vid")

    _trace: _Trace
    _vid: int

    def __init__(self, trace: _Trace, vid: int) -> None:
        object.__setattr__(self, "_trace", trace)
        object.__setattr__(self, "_vid", vid)

    def __repr__(self) -> str:
        name = self._trace.names.get(self._vid) or f"v{self._vid}"
        return f"<Handle {name} of @flow {self._trace.fn_name}>"

    # -- supported -------------------------------------------------------------

    def __getitem__(self, key: object) -> Any:
        if isinstance(key, Handle) or not isinstance(key, str):
            _fail(
                f"h[{key!r}]: only a constant string key plucks a record field",
                "write h['field'] with a literal field name; to index a list, use each(...) or a @pure",
            )
        trace = _bind_trace(self)
        return trace.add(("ref", self._vid), [Arr(pure="std.pluck", args={"key": key}, src=_src(f"[{key!r}]"))],
                         barrier=False, label="std.pluck")

    def __or__(self, other: object) -> Any:
        if not isinstance(other, Handle):
            _fail(
                f"`handle | {type(other).__name__}`: `|` merges two handles",
                "merge two step results (a | b); bind constants with keyword arguments of the next step",
            )
        trace = _bind_trace(self)
        _bind_trace(other)
        return trace.add(("list", (self._vid, other._vid)), [Arr(pure="std.merge", src=_src("|"))],
                         barrier=False, label="std.merge")

    def __ror__(self, other: object) -> Any:
        _fail(
            f"`{type(other).__name__} | handle`: `|` merges two handles",
            "merge two step results (a | b); bind constants with keyword arguments of the next step",
        )

    # -- define-time errors ---------------------------------------------------------

    def __bool__(self) -> bool:
        kind = _construct_at_line(("if", "while", "assert", "and/or", "not", "conditional expression"))
        what = f"`{kind}` on a handle" if kind else "bool() of a handle"
        _fail(f"{what}: Python control flow cannot inspect a value that does not exist yet", _COND_HINT)

    def __iter__(self) -> NoReturn:
        kind = _construct_at_line(("for", "unpack"))
        if kind == "unpack":
            _fail(
                "tuple-unpacking a handle: the value does not exist at definition time",
                "take fields with h['a'], h['b'] (or return a record from the step)",
            )
        what = "`for` over a handle" if kind == "for" else "iterating a handle"
        _fail(f"{what}: the list does not exist at definition time",
              "run a step per item with each(body, items, **captures)")

    def __len__(self) -> NoReturn:
        _fail("len() of a handle: the value does not exist at definition time",
              "compute it in a @pure step, e.g. count(h)")

    def __contains__(self, item: object) -> NoReturn:
        _fail("`in` on a handle: the value does not exist at definition time",
              "test membership in a @pure predicate and branch with cond(pred, h, then=..., orelse=...)")

    def __str__(self) -> str:
        _fail("str() of a handle: the value does not exist at definition time",
              "format text in a @pure step (register the formatter with @pure('name'))")

    def __format__(self, spec: str) -> str:
        _fail("formatting a handle (f-string or format()): the value does not exist at definition time",
              "format text in a @pure step (register the formatter with @pure('name'))")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        _fail(f"`handle.{name}`: attribute access on a handle",
              f"pluck record fields with h[{name!r}]; call methods inside a @pure or @tool body")

    def __setattr__(self, name: str, value: object) -> NoReturn:
        _fail(f"setting `handle.{name}`: handles are immutable",
              "build a new record in a @pure step, or merge records with a | b")

    def __setitem__(self, key: object, value: object) -> NoReturn:
        _fail("item assignment on a handle: handles are immutable",
              "build a new record in a @pure step, or merge records with a | b")

    def __call__(self, *args: object, **kwargs: object) -> NoReturn:
        _fail("calling a handle: a handle is a value, not a function",
              "call a registered @tool, @pure, think(...) or another @flow with the handle")

    def __hash__(self) -> int:
        _fail("hashing a handle (a dict key or set member): the value does not exist at definition time",
              "use constant keys; route on a value with switch_on(subject, key=..., cases=...)")

    def __eq__(self, other: object) -> bool:
        _fail("comparing a handle with ==: the value does not exist at definition time", _COND_HINT)

    def __ne__(self, other: object) -> bool:
        _fail("comparing a handle with !=: the value does not exist at definition time", _COND_HINT)

    def __index__(self) -> int:
        _fail("a handle used as an index or number", "compute numbers in a @pure step")

    def __int__(self) -> int:
        _fail("int() of a handle", "compute numbers in a @pure step")

    def __float__(self) -> float:
        _fail("float() of a handle", "compute numbers in a @pure step")


def _arith(symbol: str) -> Callable[..., NoReturn]:
    def op(self: Handle, *other: object) -> NoReturn:
        _fail(f"arithmetic or comparison `{symbol}` on a handle: the value does not exist at definition time",
              "compute it in a @pure step (register the function with @pure('name'))")

    return op


for _name, _sym in (
    ("__add__", "+"), ("__radd__", "+"), ("__sub__", "-"), ("__rsub__", "-"), ("__mul__", "*"),
    ("__rmul__", "*"), ("__truediv__", "/"), ("__rtruediv__", "/"), ("__floordiv__", "//"),
    ("__rfloordiv__", "//"), ("__mod__", "%"), ("__rmod__", "%"), ("__pow__", "**"), ("__rpow__", "**"),
    ("__neg__", "-"), ("__pos__", "+"), ("__abs__", "abs"), ("__invert__", "~"), ("__lt__", "<"),
    ("__le__", "<="), ("__gt__", ">"), ("__ge__", ">="), ("__and__", "&"), ("__rand__", "&"),
    ("__xor__", "^"), ("__rxor__", "^"), ("__lshift__", "<<"), ("__rshift__", ">>"),
    ("__matmul__", "@"), ("__round__", "round"),
):
    setattr(Handle, _name, _arith(_sym))


def _bind_trace(h: Handle) -> _Trace:
    """The trace ``h`` belongs to, which must be the innermost active one."""
    trace = _current()
    if trace is None or h._trace is not trace:
        owner = h._trace.fn_name
        if trace is None:
            _fail(
                f"a handle of @flow {owner!r} is used outside its body",
                "handles exist only while their @flow body runs; call the flow with a value after deploy()",
            )
        _fail(
            f"foreign-scope capture: a handle of @flow {owner!r} is used inside @flow {trace.fn_name!r}",
            "pass the value in as a parameter of the inner flow (or as an each(..., name=handle) capture)",
        )
    if trace.closed:  # pragma: no cover - closed traces are never active
        _fail("a handle is used after its flow was built", "create steps only inside the @flow body")
    return trace


def _src(expr: str = "") -> SourceLoc | None:
    filename, lineno = _where()
    if lineno == 0:
        return None
    return SourceLoc(filename, lineno, expr)


# -- AST helpers ----------------------------------------------------------------------


@dataclass(slots=True)
class _Source:
    """The flow function's parsed source: its file, first line and ``def`` node."""

    filename: str
    first_line: int
    node: ast.FunctionDef | ast.AsyncFunctionDef


def _parse_source(fn: Callable[..., Any]) -> _Source | None:
    try:
        lines, first = inspect.getsourcelines(fn)
        filename = inspect.getsourcefile(fn) or fn.__code__.co_filename
    except (OSError, TypeError):
        return None
    text = textwrap.dedent("".join(lines))
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == fn.__name__:
            ast.increment_lineno(node, first - 1)
            return _Source(filename, first, node)
    return None


def _scope_nodes(fn_node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.AST]:
    """Every node of the function's own scope (nested defs, lambdas and comprehensions excluded)."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(fn_node.body)
    while stack:
        node = stack.pop()
        out.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef
                          | ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
                continue
            stack.append(child)
    return out


def _bound_names(node: ast.AST) -> list[ast.Name]:
    if isinstance(node, ast.Name):
        return [node]
    if isinstance(node, ast.Tuple | ast.List):
        return [n for elt in node.elts for n in _bound_names(elt)]
    if isinstance(node, ast.Starred):
        return _bound_names(node.value)
    return []


def _check_rebinding(src: _Source) -> None:
    """Names in a flow body are single-assignment: a second binding is a define error."""
    fn_node = src.node
    seen: dict[str, int] = {a.arg: a.lineno for a in _all_args(fn_node.args)}
    binds: list[tuple[ast.Name, str]] = []
    for node in _scope_nodes(fn_node):
        if isinstance(node, ast.Assign):
            binds.extend((n, "assignment") for t in node.targets for n in _bound_names(t))
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            binds.extend((n, "assignment") for n in _bound_names(node.target))
        elif isinstance(node, ast.AugAssign):
            binds.extend((n, "augmented assignment") for n in _bound_names(node.target))
        elif isinstance(node, ast.NamedExpr):
            binds.extend((n, "walrus assignment") for n in _bound_names(node.target))
        elif isinstance(node, ast.For | ast.AsyncFor):
            binds.extend((n, "for-loop target") for n in _bound_names(node.target))
        elif isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if item.optional_vars is not None:
                    binds.extend((n, "with target") for n in _bound_names(item.optional_vars))
    binds.sort(key=lambda b: (b[0].lineno, b[0].col_offset))
    for name_node, how in binds:
        name = name_node.id
        if name == "_":
            continue  # the conventional throwaway name may be reused
        if name in seen:
            _fail(
                f"rebinding {name!r} ({how}; first bound on line {seen[name]}): names in a @flow body "
                "are single-assignment",
                f"give the new value a new name (e.g. {name}_2 = ...); every name is one node of the graph",
                (src.filename, name_node.lineno),
            )
        seen[name] = name_node.lineno


def _all_args(args: ast.arguments) -> list[ast.arg]:
    out = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg is not None:
        out.append(args.vararg)
    if args.kwarg is not None:
        out.append(args.kwarg)
    return out


_CONSTRUCTS: Final[dict[type[ast.AST], str]] = {
    ast.If: "if",
    ast.While: "while",
    ast.Assert: "assert",
    ast.BoolOp: "and/or",
    ast.IfExp: "conditional expression",
    ast.For: "for",
    ast.AsyncFor: "for",
}


def _construct_at_line(wanted: tuple[str, ...]) -> str | None:
    """The control construct on the user's current line, if it is one of ``wanted``."""
    trace = _current()
    frame = _user_frame()
    if trace is None or frame is None or trace.source is None or frame.f_code is not trace.code:
        return None
    line = frame.f_lineno
    for node in ast.walk(trace.source.node):
        if getattr(node, "lineno", None) != line:
            continue
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not) and "not" in wanted:
            return "not"
        if isinstance(node, ast.Assign) and "unpack" in wanted and any(
            isinstance(t, ast.Tuple | ast.List) for t in node.targets
        ):
            return "unpack"
        kind = _CONSTRUCTS.get(type(node))
        if kind is not None and kind in wanted:
            return kind
    return None


# -- constants ------------------------------------------------------------------------


def _looks_secret(key: str | None, value: Json) -> bool:
    try:
        from composable_agents.compiler.validate import looks_secret
    except Exception:  # the validate pass is optional here; fall back to a small check
        import re

        if not isinstance(value, str) or not value:
            return False
        if key is not None and re.search(r"(?i)(api[_-]?key|secret|password|passwd|token|credential)$", key):
            return len(value) >= 4
        return bool(re.match(r"^(sk-[A-Za-z0-9_\-]{8,}|ghp_[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16}|xox[abposr]-)", value))
    return looks_secret(key, value)


def _secret_path(value: Json, key: str | None, path: str) -> str | None:
    if isinstance(value, dict):
        for k, v in value.items():
            found = _secret_path(v, k, f"{path}.{k}")
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            found = _secret_path(v, key, f"{path}[{i}]")
            if found is not None:
                return found
        return None
    return path if _looks_secret(key, value) else None


def _constant(key: str, value: object, what: str) -> Json:
    """``value`` checked as a flow constant: JSON, not secret-shaped, at most 64 KiB."""
    if isinstance(value, Handle):  # pragma: no cover - callers split handles first
        _fail(f"{what} {key!r} is a handle where a constant is expected", "pass a JSON constant")
    if isinstance(value, Arrow):
        _fail(
            f"{what} {key!r} is an arrow ({value.label!r}), not a JSON constant",
            "call the arrow with a handle to make it a step, or pass it where an arm/body is expected",
        )
    try:
        check_json(value)
    except CanonicalJSONError as exc:
        _fail(
            f"non-JSON capture: {what} {key!r} is {type(value).__name__}, which is not a JSON value ({exc})",
            "pass only JSON constants (dict/list/str/int/float/bool/None); keep clients and objects in tool bodies",
        )
    size = len(canonical_dumps(value).encode("utf-8"))
    if size > MAX_CONSTANT_BYTES:
        _fail(
            f"oversized capture: {what} {key!r} is {size} bytes of canonical JSON (limit {MAX_CONSTANT_BYTES})",
            "artifacts are not data stores: load large data in a tool step, or pass a reference (a URL or key)",
        )
    found = _secret_path(value, key, key)
    if found is not None:
        _fail(
            f"secret-shaped capture: {what} {found!r} looks like a credential",
            "never put secrets in a flow (artifacts and histories are not secret stores); read the secret "
            "inside the tool body from its environment, or pass a reference such as 'env://NAME'",
        )
    return value


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
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
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


def _no_handles(values: Sequence[object], what: str) -> None:
    for v in values:
        if isinstance(v, Handle):
            _fail(f"{what} received a handle where it needs a constant", "pass a JSON constant here")


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


# -- effects: what is an ordering barrier ---------------------------------------------

_BARRIER_EFFECTS: Final = frozenset({Effect.WRITE, Effect.EXTERNAL, Effect.DANGEROUS})


def _tool_is_barrier(key: str, registry: Registry | None = None) -> bool:
    if key == _SLEEP:
        return True
    if key.startswith("__"):
        return True
    from composable_agents.core.pures import DEFAULT_REGISTRY

    definition = (registry or DEFAULT_REGISTRY).tools.get(key)
    if definition is None:
        return True  # unknown tools are assumed to change the world
    return definition.contract.effect in _BARRIER_EFFECTS


def _has_barrier(node: Node) -> bool:
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Prim):
            if isinstance(n.step, SubStep):
                return True
            if isinstance(n.step, CallStep) and _tool_is_barrier(n.step.tool):
                return True
        stack.extend(n.children())
    return False


def _has_effect(node: Node) -> bool:
    """True when ``node`` calls a tool, a reasoner or a sub-flow anywhere inside."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Prim):
            return True
        stack.extend(n.children())
    return False


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
    return NotImplemented


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
    handles, consts, options = _split(kwargs, params if not d.single else [], f"argument of tool {leaf.key!r}")
    base = leaf.to_ir()
    ann, name, ctx = _options(options, base.ann)
    if d.single:
        vid = _single_arg(leaf.key, args, handles, "tool", params[0] if params else None)
        spec: Args = ("ref", vid)
    elif not params:
        _fail(f"tool {leaf.key!r} takes no input", "a step needs a handle input; give the tool a parameter")
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
    if isinstance(body, Flow):
        return list(body.param_names)
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


def switch(selector: Any, subject: T, *, cases: Mapping[Any, Arrow[T, R]],
           default: Arrow[T, R] | None = None, name: str | None = None) -> R:
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


def switch_on(subject: T, *, key: str, cases: Mapping[Any, Arrow[T, R]],
              default: Arrow[T, R] | None = None, name: str | None = None) -> R:
    """In a ``@flow`` body: route the record ``subject`` on its field ``key`` (``std.pluck``)."""
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


# -- the flow arrow -----------------------------------------------------------------------


class Flow(Arrow[I, O]):
    """The arrow ``@flow`` returns; calling it with handles inside another flow body inlines it."""

    __slots__ = ("_params", "_fn", "_effects")

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


# -- lowering ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Unit:
    """A fused chain of steps: scheduled as one branch."""

    args: Args
    ops: list[Node]
    barrier: bool
    out: int
    first: int
    last: int
    anchor: int
    level: int = 0


def _inputs(args: Args) -> list[int]:
    kind, payload = args
    if kind == "ref":
        return [payload]
    if kind == "list":
        return list(payload)
    return [vid for _, vid in payload]


def _seq(nodes: Sequence[Node]) -> Node:
    kept = [n for n in nodes if not (isinstance(n, Ident) and n.is_plain())]
    if not kept:
        return Ident()
    if len(kept) == 1:
        return kept[0]
    return Seq(steps=tuple(kept))


class _Lowering:
    """Lower a traced graph to IR (see the module docstring for the rules)."""

    def __init__(self, trace: _Trace, output: int, extra: _Step | None) -> None:
        self.trace = trace
        self.output = output
        steps = list(trace.steps)
        if extra is not None:
            steps.append(extra)
        self.steps = steps
        self.names: dict[int, str] = {}

    def name(self, vid: int) -> str:
        found = self.names.get(vid)
        if found is None:
            var = self.trace.param_names.get(vid) or self.trace.names.get(vid)
            found = var if var and not var.startswith("__") and var not in self.names.values() else f"v{vid}"
            while found in self.names.values():
                found = f"{found}_{vid}"
            self.names[vid] = found
        return found

    def units(self) -> list[_Unit]:
        uses: dict[int, int] = {}
        for st in self.steps:
            for vid in _inputs(st.args):
                uses[vid] = uses.get(vid, 0) + 1
        uses[self.output] = uses.get(self.output, 0) + 1
        barrier_idx = [st.index for st in self.steps if st.barrier]
        by_out: dict[int, _Unit] = {}
        units: list[_Unit] = []
        for st in self.steps:
            kind, payload = st.args
            prev = by_out.get(payload) if kind == "ref" else None
            if prev is not None and uses.get(payload) == 1:
                between = any(prev.last < b < st.index for b in barrier_idx)
                if not between and not (prev.barrier and st.barrier):
                    prev.ops.extend(st.ops)
                    del by_out[prev.out]
                    prev.out = st.out
                    if st.barrier:
                        prev.barrier = True
                        prev.anchor = st.index
                    prev.last = st.index
                    by_out[st.out] = prev
                    continue
            unit = _Unit(st.args, list(st.ops), st.barrier, st.out, st.index, st.index, st.index)
            units.append(unit)
            by_out[st.out] = unit
        return units

    def lower(self) -> Node:
        units = self.units()
        level_of: dict[int, int] = {vid: 0 for vid in self.trace.params}
        last_barrier = 0
        highest = 0  # the highest level of an effectful unit so far
        top = 0
        for u in sorted(units, key=lambda u: u.anchor):
            dep = max((level_of.get(v, 0) for v in _inputs(u.args)), default=0)
            if u.barrier:
                u.level = max(dep, highest) + 1
                last_barrier = u.level
            elif any(_has_effect(n) for n in u.ops):
                u.level = max(dep, last_barrier) + 1
            else:  # pure plumbing observes no world state: only its inputs order it
                u.level = dep + 1
            if u.barrier or any(_has_effect(n) for n in u.ops):
                highest = max(highest, u.level)
            top = max(top, u.level)
            level_of[u.out] = u.level
        waves: dict[int, list[_Unit]] = {}
        for u in units:
            waves.setdefault(u.level, []).append(u)
        for wave in waves.values():
            wave.sort(key=lambda u: u.anchor)
        # last level at which each value is consumed
        last_use: dict[int, int] = {}
        for u in units:
            for v in _inputs(u.args):
                last_use[v] = max(last_use.get(v, 0), u.level)
        last_use[self.output] = top + 1
        consumers: dict[int, list[_Unit]] = {}
        for u in units:
            for v in _inputs(u.args):
                consumers.setdefault(v, []).append(u)

        # the initial representation
        rep: tuple[str, Any]
        if len(self.trace.params) == 1:
            rep = ("single", self.trace.params[0])
        else:
            rep = ("env", {vid: self.trace.param_names[vid] for vid in self.trace.params})
            for vid in self.trace.params:
                self.names[vid] = self.trace.param_names[vid]
        available = list(self.trace.params)
        parts: list[Node] = []
        for level in range(1, top + 1):
            wave = waves.get(level, [])
            if not wave:
                continue
            live_after = [v for v in [*available, *(u.out for u in wave)] if last_use.get(v, 0) > level]
            keep = [v for v in available if v in live_after]
            nxt = waves.get(level + 1, [])
            node, rep = self.wave(rep, wave, keep, live_after, nxt, consumers, level)
            parts.append(node)
            available = live_after
        parts.extend(self.finish(rep))
        return _seq(parts)

    def finish(self, rep: tuple[str, Any]) -> list[Node]:
        kind, payload = rep
        if kind == "single":
            assert payload == self.output
            return []
        assert kind == "env"
        return [Arr(pure="std.pluck", args={"key": payload[self.output]})]

    def extract(self, rep: tuple[str, Any], args: Args) -> list[Node]:
        kind, payload = args
        rkind, rpay = rep
        if rkind == "list":
            assert kind == "list" and tuple(payload) == tuple(rpay)
            return []
        if kind == "ref":
            if rkind == "single":
                assert rpay == payload
                return []
            return [Arr(pure="std.pluck", args={"key": rpay[payload]})]
        if kind == "list":
            return [Par(branches=tuple(_seq(self.extract(rep, ("ref", v))) for v in payload))]
        pairs: tuple[tuple[str, int], ...] = payload
        if rkind == "single":
            if len(pairs) == 1:
                return [Arr(pure="std.init", args={"key": pairs[0][0]})]
            return [Arr(pure="std.pack", args={"fields": {k: {"input": True} for k, _ in pairs}})]
        env: dict[int, str] = rpay
        mapping = {k: env[v] for k, v in pairs}
        if all(k == old for k, old in mapping.items()) and set(env.values()) == set(mapping):
            return []
        return [Arr(pure="std.unpack", args={"fields": mapping})]

    def branch(self, rep: tuple[str, Any], u: _Unit) -> Node:
        return _seq([*self.extract(rep, u.args), *u.ops])

    def wave(
        self,
        rep: tuple[str, Any],
        wave: list[_Unit],
        keep: list[int],
        live_after: list[int],
        nxt: list[_Unit],
        consumers: dict[int, list[_Unit]],
        level: int,
    ) -> tuple[Node, tuple[str, Any]]:
        outs = [u.out for u in wave]
        if len(wave) == 1 and not keep:
            return self.branch(rep, wave[0]), ("single", wave[0].out)

        def only_next(values: Sequence[int], target: _Unit) -> bool:
            return all(all(c is target for c in consumers.get(v, []) if c.level > level) and v != self.output
                       for v in values)

        # list representation: the next wave is one step consuming exactly this list
        if len(nxt) == 1 and nxt[0].args[0] == "list":
            refs = list(nxt[0].args[1])
            if (set(refs) == set(live_after) and set(outs) <= set(refs)
                    and all(refs.count(o) == 1 for o in outs) and only_next(refs, nxt[0])):
                branches = []
                by_out = {u.out: u for u in wave}
                for r in refs:
                    branches.append(self.branch(rep, by_out[r]) if r in by_out else _seq(self.extract(rep, ("ref", r))))
                return Par(branches=tuple(branches)), ("list", tuple(refs))

        # env representation; name fields after the next step's record parameters when that makes it free
        keys: dict[int, str] = {}
        if len(nxt) == 1 and nxt[0].args[0] == "rec":
            pairs = nxt[0].args[1]
            vids = [v for _, v in pairs]
            if (len(set(vids)) == len(vids) and set(vids) == set(live_after) and set(outs) <= set(vids)
                    and only_next(vids, nxt[0])):
                keys = {v: k for k, v in pairs}
        for v in [*keep, *outs]:
            if v not in keys:
                keys[v] = self.name(v)
        if len(set(keys.values())) != len(keys):
            keys = {v: self.name(v) for v in [*keep, *outs]}
        branches = [self.branch(rep, u) for u in wave]
        fields = [keys[o] for o in outs]
        if keep:
            rkind, rpay = rep
            if rkind == "single":
                keeper: Node = Arr(pure="std.init", args={"key": keys[rpay]})
            else:
                mapping = {keys[v]: rpay[v] for v in keep}
                if all(k == old for k, old in mapping.items()) and set(rpay.values()) == set(mapping):
                    keeper = Ident()
                else:
                    keeper = Arr(pure="std.unpack", args={"fields": mapping})
            node: Node = Seq(steps=(Par(branches=(keeper, *branches)),
                                    Arr(pure="std.collect", args={"fields": fields})))
        else:
            first = _seq([branches[0], Arr(pure="std.init", args={"key": fields[0]})])
            if len(branches) == 1:
                node = first
            else:
                node = Seq(steps=(Par(branches=(first, *branches[1:])),
                                  Arr(pure="std.collect", args={"fields": fields[1:]})))
        return node, ("env", {v: keys[v] for v in [*keep, *outs]})


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


def _build(fn: Callable[..., Any], ref: str | None, registry: Registry | None) -> Flow[Any, Any]:
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
    except Exception:  # unresolvable annotations make the boundary untyped
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
    used = {v for st in trace.steps for v in _inputs(st.args)}
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
    if extra is not None and out_type is Any:
        out_type = Any
    cls = _FLOW_CLASSES[surface_shape(node)]
    arrow = cls(node, in_type=in_type, out_type=out_type, label=fn.__name__)
    object.__setattr__(arrow, "_params", tuple(p.name for p in params))
    object.__setattr__(arrow, "_fn", fn)
    object.__setattr__(arrow, "_effects", _has_barrier(node))
    if ref is not None:
        arrow = arrow.named(ref, registry=registry)
    return arrow


@overload
def flow(fn: Callable[[In], Out], /) -> Flow[In, Out]: ...
@overload
def flow(fn: Callable[..., Out], /) -> Flow[Mapping[str, Any], Out]: ...
@overload
def flow(
    *, name: str | None = None, registry: Registry | None = None
) -> _FlowDecorator: ...
def flow(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    registry: Registry | None = None,
) -> Flow[Any, Any] | _FlowDecorator:
    """Trace ``fn`` once with handles and return the flow as an ``Arrow[I, O]``.

    ``I`` is the parameter's annotation (a multi-parameter flow takes a record
    of its parameters); ``O`` is the return annotation. ``@flow(name="x.v1")``
    also gives the flow a durable name (for ``sub``).
    """
    if fn is not None:
        return _build(fn, name, registry)
    return _FlowDecorator(name, registry)


class _FlowDecorator:
    """``@flow(name=...)``: the decorator with options."""

    __slots__ = ("_name", "_registry")

    def __init__(self, name: str | None, registry: Registry | None) -> None:
        self._name = name
        self._registry = registry

    @overload
    def __call__(self, fn: Callable[[In], Out], /) -> Flow[In, Out]: ...
    @overload
    def __call__(self, fn: Callable[..., Out], /) -> Flow[Mapping[str, Any], Out]: ...
    def __call__(self, fn: Callable[..., Any], /) -> Flow[Any, Any]:
        return _build(fn, self._name, self._registry)


if _hook not in TRACE_HOOKS:
    TRACE_HOOKS.append(_hook)
