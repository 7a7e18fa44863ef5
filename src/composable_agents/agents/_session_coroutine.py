"""The seed's ``@session`` coroutine form, lowered to the same ``loop`` as ``scan`` (SPEC §22.10).

::

    @session
    async def chat(s):
        total = 0
        while True:
            msg = await s.recv()
            total = total + msg
            await s.emit(total)

The statements before ``while True:`` run once, at definition time, and give
the locals that live across turns — the carrier (they must be JSON). The loop
body is one turn: it starts with ``msg = await s.recv()``, may ``await
s.emit(value)`` once (the turn's output), and every local the setup assigned
is carried to the next turn. The turn is rebuilt as a plain function
``turn(msg, *, total=0) -> (carrier, output)``, exactly what the plain
turn-function form of ``@session`` produces, so both become
``scan(arr(turn), init=carrier)``.

Rejected alternative: running the coroutine itself as a long-lived task. Its
suspended frame cannot be persisted or replayed, so it would only ever work
in memory; the rewrite keeps every session durable on every backend.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from collections.abc import Callable
from typing import Any

from composable_agents.core.canonical import Json, copy_json
from composable_agents.errors import SessionCompileError

__all__ = ["is_coroutine_session", "lower_coroutine_session"]

_HINT = (
    "write the seed's form: setup statements, then `while True:` starting with `msg = await s.recv()` and "
    "ending with at most one `await s.emit(value)`; or use scan(step, init)"
)
_OUT = "__ca_emitted__"


def _source_tree(fn: Callable[..., Any]) -> tuple[str, ast.AsyncFunctionDef | None]:
    """``fn``'s dedented source (``""`` when unreadable) and its ``async def`` node."""
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return "", None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, None
    func = tree.body[0] if tree.body else None
    return source, func if isinstance(func, ast.AsyncFunctionDef) else None


def _channel_call(node: ast.AST, param: str, method: str) -> ast.Call | None:
    """``node`` as ``await <param>.<method>(...)``'s call, else ``None``."""
    if not isinstance(node, ast.Await):
        return None
    call = node.value
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == method
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == param
    ):
        return call
    return None


def _forever(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.While) and isinstance(stmt.test, ast.Constant) and stmt.test.value is True


def is_coroutine_session(fn: Callable[..., Any]) -> bool:
    """True for ``async def f(s)`` whose body has a ``while True:`` that awaits ``s.recv()``."""
    if not inspect.iscoroutinefunction(fn):
        return False
    params = list(inspect.signature(fn).parameters)
    if len(params) != 1:
        return False
    _, func = _source_tree(fn)
    if func is None:
        return False
    return any(
        _forever(stmt) and any(_channel_call(n, params[0], "recv") for n in ast.walk(stmt)) for stmt in func.body
    )


def _fail(name: str, problem: str) -> SessionCompileError:
    return SessionCompileError(f"@session coroutine {name!r}: {problem}; {_HINT}")


def _assigned(stmts: list[ast.stmt]) -> list[str]:
    names: list[str] = []
    for stmt in stmts:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id not in names:
                names.append(node.id)
    return names


def lower_coroutine_session(
    fn: Callable[..., Any], name: str
) -> tuple[Callable[..., Any], dict[str, Json], str, str | None, str | None]:
    """``(turn, carrier, source, inbox, outbox)`` for the coroutine ``fn``.

    ``turn(msg, **carrier)`` returns ``(next_carrier, output)``; ``inbox`` /
    ``outbox`` are channel names given to ``s.recv("...")`` / ``s.emit(v, "...")``
    (``None``: the defaults).
    """
    source, func = _source_tree(fn)
    if func is None:
        raise _fail(name, "its source cannot be read")
    param = func.args.args[0].arg
    loops = [i for i, stmt in enumerate(func.body) if _forever(stmt)]
    if len(loops) != 1 or loops[0] != len(func.body) - 1:
        raise _fail(name, "the body must end with exactly one `while True:` loop")
    setup, forever = func.body[: loops[0]], func.body[loops[0]]
    assert isinstance(forever, ast.While)
    for stmt in setup:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Await) or (isinstance(node, ast.Name) and node.id == param):
                raise _fail(name, f"the setup before the loop may not use {param!r} or await")
    body = list(forever.body)
    first = body[0] if body else None
    recv = None
    msg_name = None
    if isinstance(first, ast.Assign) and len(first.targets) == 1 and isinstance(first.targets[0], ast.Name):
        recv = _channel_call(first.value, param, "recv")
        msg_name = first.targets[0].id
    if recv is None or msg_name is None:
        raise _fail(name, f"each turn must start with `msg = await {param}.recv()`")
    inbox = _channel_arg(name, recv.args)
    rest = body[1:]
    emits: list[tuple[int, ast.Call]] = []
    for i, stmt in enumerate(rest):
        call = _channel_call(stmt.value, param, "emit") if isinstance(stmt, ast.Expr) else None
        if call is not None:
            emits.append((i, call))
    if len(emits) > 1:
        raise _fail(name, "a turn emits at most once (emit a list, or use loop(...) with several emit steps)")
    outbox = None
    turn_body: list[ast.stmt] = list(rest)
    if emits:
        i, call = emits[0]
        if not call.args:
            raise _fail(name, f"`await {param}.emit(value)` needs the value to emit")
        outbox = _channel_arg(name, call.args[1:])
        target = ast.Name(id=_OUT, ctx=ast.Store())
        turn_body[i] = ast.copy_location(ast.Assign(targets=[target], value=call.args[0]), rest[i])
    for stmt in turn_body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Await):
                raise _fail(name, "a turn awaits only s.recv() and s.emit(...); run steps with scan/loop instead")
            if isinstance(node, ast.Name) and node.id == param:
                raise _fail(name, f"{param!r} is used for something other than recv/emit")
            if isinstance(node, ast.Return | ast.Global | ast.Nonlocal):
                raise _fail(name, f"`{type(node).__name__.lower()}` cannot end or leave a turn")
        for node in _loop_level(stmt):
            if isinstance(node, ast.Break | ast.Continue):
                raise _fail(name, f"`{type(node).__name__.lower()}` would leave the turn (a session ends on close())")
    carrier = _initial_carrier(fn, name, setup)
    carried = list(carrier)
    state = ast.Dict(keys=[ast.Constant(k) for k in carried], values=[ast.Name(id=k, ctx=ast.Load()) for k in carried])
    turn = ast.FunctionDef(
        name="__ca_turn__",
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(arg=msg_name)],
            vararg=None,
            kwonlyargs=[ast.arg(arg=k) for k in carried],
            kw_defaults=[ast.Constant(None) for _ in carried],
            kwarg=None,
            defaults=[],
        ),
        body=[
            ast.Assign(targets=[ast.Name(id=_OUT, ctx=ast.Store())], value=ast.Constant(None)),
            *turn_body,
            ast.Return(value=ast.Tuple(elts=[state, ast.Name(id=_OUT, ctx=ast.Load())], ctx=ast.Load())),
        ],
        decorator_list=[],
        returns=None,
    )
    if sys.version_info >= (3, 12):  # the field exists from 3.12 on
        turn.type_params = []
    module = ast.Module(body=[turn], type_ignores=[])
    ast.fix_missing_locations(module)
    namespace: dict[str, Any] = {}
    code = compile(module, filename=inspect.getsourcefile(fn) or "<session>", mode="exec")
    exec(code, fn.__globals__, namespace)  # noqa: S102 - recompiling the user's own function
    return namespace["__ca_turn__"], carrier, source, inbox, outbox


def _loop_level(stmt: ast.stmt) -> list[ast.AST]:
    """Nodes of ``stmt`` that belong to the session's own loop (not to a nested loop or function)."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = [stmt]
    while stack:
        node = stack.pop()
        out.append(node)
        if node is not stmt and isinstance(node, ast.For | ast.AsyncFor | ast.While | ast.FunctionDef | ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return out


def _channel_arg(name: str, args: list[ast.expr]) -> str | None:
    if not args:
        return None
    if len(args) == 1 and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
        return args[0].value
    raise _fail(name, "a channel name must be a string constant")


def _initial_carrier(fn: Callable[..., Any], name: str, setup: list[ast.stmt]) -> dict[str, Json]:
    """Run the setup once and keep the JSON value of every local it assigned (the first carrier)."""
    module = ast.Module(body=list(setup), type_ignores=[])
    ast.fix_missing_locations(module)
    local: dict[str, Any] = {}
    try:
        exec(compile(module, inspect.getsourcefile(fn) or "<session>", "exec"), dict(fn.__globals__), local)  # noqa: S102
    except Exception as exc:  # noqa: BLE001 - any failure of the user's setup is a compile error here
        raise _fail(name, f"the setup raised {type(exc).__name__}: {exc}") from None
    carrier: dict[str, Json] = {}
    for key in _assigned(setup):
        if key not in local:
            continue
        try:
            carrier[key] = copy_json(local[key])
        except Exception:  # noqa: BLE001 - any non-JSON local
            raise _fail(name, f"the local {key!r} lives across turns but is not JSON") from None
    return carrier
