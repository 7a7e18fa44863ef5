"""``@flow`` internals: the trace, handles, define-time errors and constant checks.

A :class:`Handle` stands for a value that does not exist yet; everything a
flow body may do with one appends a step to the active :class:`_Trace`, and
everything else raises :class:`~composable_agents.errors.DefineError` with the
user's file and line and a rewrite hint.
"""

from __future__ import annotations

import ast
import contextvars
import inspect
import os
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from types import CodeType, FrameType
from typing import Any, Final, NoReturn

from composable_agents.authoring.arrow import Arrow
from composable_agents.core.canonical import Json, canonical_dumps, check_json
from composable_agents.core.ir import Arr, Node, SourceLoc
from composable_agents.core.secrets import looks_secret
from composable_agents.errors import CanonicalJSONError, CompositionError, DefineError

__all__ = ["MAX_CONSTANT_BYTES", "Handle"]

MAX_CONSTANT_BYTES: Final = 64 * 1024
"""The largest canonical JSON constant a flow body may capture."""

_PKG_DIR: Final = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

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
    except Exception:  # noqa: BLE001  # pragma: no cover - linecache never matters here
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
    nullary: set[int] = field(default_factory=set)
    """Indexes of steps that take no input (fed the flow input only to place them)."""

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

    def __bool__(self) -> bool:  # noqa: PLE0304
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

    def __len__(self) -> NoReturn:  # noqa: PLE0303
        _fail("len() of a handle: the value does not exist at definition time",
              "compute it in a @pure step, e.g. count(h)")

    def __contains__(self, item: object) -> NoReturn:
        _fail("`in` on a handle: the value does not exist at definition time",
              "test membership in a @pure predicate and branch with cond(pred, h, then=..., orelse=...)")

    def __str__(self) -> str:  # noqa: PLE0307
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

    def __hash__(self) -> int:  # noqa: PLE0309
        _fail("hashing a handle (a dict key or set member): the value does not exist at definition time",
              "use constant keys; route on a value with switch_on(subject, key=..., cases=...)")

    def __eq__(self, other: object) -> bool:
        _fail("comparing a handle with ==: the value does not exist at definition time", _COND_HINT)

    def __ne__(self, other: object) -> bool:
        _fail("comparing a handle with !=: the value does not exist at definition time", _COND_HINT)

    def __index__(self) -> int:  # noqa: PLE0305
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
