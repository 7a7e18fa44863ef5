"""Sessions: long-lived, keep-messaging flows on the same IR (``Op.LOOP``).

A flow is one-shot; a session is opened once, receives messages, and streams
events back while it threads a JSON **carrier** (e.g. conversation history)
across turns.

Authoring (all lower to one ``loop`` node whose body runs once per message):

* ``scan(step, init)`` — ``step`` receives ``{"carrier": c, "msg": m}`` and
  returns ``[next_carrier, output]``; the output is emitted on the out channel;
* ``loop(body, init=...)`` — the general form: ``body`` contains exactly one
  ``recv(channel)`` (yielding ``{"carrier": c, "msg": m}``), any number of
  ``emit(channel)`` steps (publish the value, pass it through), and returns
  the next carrier;
* ``@session`` on the seed's coroutine form — ``async def chat(s): total = 0;
  while True: msg = await s.recv(); ...; await s.emit(v)`` — lowers to the
  same ``scan`` (the locals the setup assigns are the carrier; see
  :mod:`composable_agents.agents._session_coroutine`);
* ``@session`` — a plain Python turn function ``def turn(msg, count=0, ...)``
  whose parameters after the message are **loop-carried locals**: they are
  lifted into the carrier (their defaults are the initial carrier) and their
  final values carried to the next turn; the return value is emitted. A
  function that cannot be lifted raises :class:`SessionCompileError` saying to
  use ``scan``.

Rules (:class:`SessionValidationError`): the body of a loop passes **exactly
one** ``recv`` (the recv guard), in **sequential position** (reachable from the
body root through ``seq`` steps only, with no ``emit`` before it), and channel
leaves appear **only inside a session loop**, which itself is the root of a
session and does not nest.

The local backend (:class:`SessionHandle`) runs turns in memory:
``send(msg, idempotency_key=...)`` (same key and payload → the original ack;
different payload → :class:`IdempotencyConflict`; a full channel →
:class:`ChannelFull`), ``events()`` (``Emit``/``Turn``/``Error``/``Closed``,
ending on ``Closed``), ``state()``, ``open_receives()`` and ``close(reason)``.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Mapping
from typing import Any, Final

from composable_agents.agents._session_coroutine import (
    is_coroutine_session,
    lower_coroutine_session,
)
from composable_agents.authoring.arrow import Arrow, Pipeline, as_node, wrap
from composable_agents.authoring.kernel import arr, par, seq
from composable_agents.core.canonical import Json, copy_json, hash_bytes
from composable_agents.core.codec import normalize
from composable_agents.core.ir import CallStep, Loop, Node, Prim, Seq
from composable_agents.core.pures import DEFAULT_REGISTRY
from composable_agents.errors import (
    SessionCompileError,
    SessionValidationError,
)
from composable_agents.execution.sessions import (
    DEFAULT_CAPACITY,
    SessionHandle,
    _SessionEnv,
)

__all__ = [
    "check_channel_placement",
    "emit",
    "loop",
    "open_session",
    "recv",
    "scan",
    "session",
    "validate_session",
]

"""Messages a channel holds before ``send`` is rejected with :class:`ChannelFull`."""

_FIRST: Final = "ca.session.first"
_SECOND: Final = "ca.session.second"
_MSG: Final = "ca.session.msg"


def _pair(value: Json) -> list[Json]:
    if type(value) not in (list, tuple) or len(value) != 2:
        msg = f"a scan step must return [next_carrier, output], got {value!r:.80}"
        raise TypeError(msg)
    return list(value)


def _session_first(value: Json) -> Json:
    """``[a, b]`` → ``a`` (a scan turn's next carrier)."""
    return _pair(value)[0]


def _session_second(value: Json) -> Json:
    """``[a, b]`` → ``b`` (a scan turn's output)."""
    return _pair(value)[1]


def _session_msg(value: Json) -> Json:
    """``{"carrier": c, "msg": m}`` → ``m``."""
    if type(value) is not dict or "msg" not in value:
        msg = f"expected a recv record {{carrier, msg}}, got {value!r:.80}"
        raise TypeError(msg)
    return value["msg"]


DEFAULT_REGISTRY.register_pure(_FIRST, _session_first)
DEFAULT_REGISTRY.register_pure(_SECOND, _session_second)
DEFAULT_REGISTRY.register_pure(_MSG, _session_msg)


# -- leaves ----------------------------------------------------------------------------


def _channel(name: object, what: str) -> str:
    if not isinstance(name, str) or not name or name.startswith("__"):
        msg = f"`{what}` must be a non-empty channel name not starting with '__', got {name!r}"
        raise SessionValidationError(msg)
    return name


def recv(channel: str = "in") -> Pipeline[Any, Any]:
    """Wait for this turn's message on ``channel``; yields ``{"carrier": <input>, "msg": <message>}``."""
    ch = _channel(channel, "channel")
    return Pipeline(Prim(step=CallStep("__recv__", args={"channel": ch})), label=f"recv:{ch}")


def emit(channel: str = "out") -> Pipeline[Any, Any]:
    """Publish the flowing value on ``channel`` (an ``Emit`` event) and pass it through."""
    ch = _channel(channel, "channel")
    return Pipeline(Prim(step=CallStep("__emit__", args={"channel": ch})), label=f"emit:{ch}")


def _is_channel(node: Node, tool: str | None = None) -> bool:
    if not (isinstance(node, Prim) and isinstance(node.step, CallStep)):
        return False
    return node.step.tool == tool if tool is not None else node.step.tool in ("__recv__", "__emit__")


# -- validation -----------------------------------------------------------------------------


def _walk(node: Node, root_id: str) -> list[tuple[str, Node, tuple[Node, ...]]]:
    """Pre-order ``(id, node, ancestors)`` over the normal form."""
    out: list[tuple[str, Node, tuple[Node, ...]]] = []
    stack: list[tuple[str, Node, tuple[Node, ...]]] = [(root_id, node, ())]
    while stack:
        nid, current, ancestors = stack.pop()
        out.append((nid, current, ancestors))
        kids = current.children()
        for i in range(len(kids) - 1, -1, -1):
            stack.append((f"{nid}.{i}", kids[i], (*ancestors, current)))
    return out


def validate_session(flow: Arrow[Any, Any] | Node) -> list[str]:
    """Problems of a session root (empty when valid); see the module docs for the rules."""
    root = normalize(as_node(flow, what="session"))
    problems: list[str] = []
    if not isinstance(root, Loop):
        return [f"a session is a loop node at its root, got {root.OP} (build it with scan, loop or @session)"]
    body = root.body
    recvs: list[tuple[str, Node, tuple[Node, ...]]] = []
    for nid, node, ancestors in _walk(body, "$.0"):
        if isinstance(node, Loop):
            problems.append(f"{nid}: sessions do not nest (a loop inside a session body)")
        if _is_channel(node, "__recv__"):
            recvs.append((nid, node, ancestors))
    if len(recvs) != 1:
        where = ", ".join(nid for nid, _, _ in recvs) or "nowhere"
        problems.append(f"a turn must pass exactly one recv; found {len(recvs)} ({where})")
    for nid, node, ancestors in recvs:
        if any(not isinstance(a, Seq) for a in ancestors):
            kinds = ", ".join(str(a.OP) for a in ancestors if not isinstance(a, Seq))
            problems.append(f"{nid}: recv must be in sequential position (it is inside {kinds})")
            continue
        # no emit may run before the recv: walk the seq chain from the body root
        current: Node = body
        chain = [*ancestors[1:], node] if ancestors else []
        for nxt in chain:
            if isinstance(current, Seq):
                index = next(i for i, s in enumerate(current.steps) if s is nxt)
                for earlier in current.steps[:index]:
                    if any(_is_channel(n, "__emit__") for _, n, _ in _walk(earlier, "$")):
                        problems.append(f"{nid}: an emit runs before the turn's recv")
                        break
            current = nxt
    return problems


def check_channel_placement(flow: Arrow[Any, Any] | Node) -> list[str]:
    """Channel leaves outside a session loop (a flow that is not a session must have none)."""
    root = normalize(as_node(flow, what="flow"))
    out = []
    for nid, node, ancestors in _walk(root, "$"):
        if _is_channel(node) and not any(isinstance(a, Loop) for a in ancestors):
            out.append(f"{nid}: {node.step.tool} outside a session loop")  # type: ignore[attr-defined]
    return out


def _checked(node: Loop) -> Arrow[Any, Any]:
    problems = validate_session(node)
    if problems:
        raise SessionValidationError("invalid session:\n- " + "\n- ".join(problems))
    return wrap(node)


# -- authoring -------------------------------------------------------------------------------


def loop(body: Arrow[Any, Any], *, init: Json = None) -> Arrow[Any, Any]:
    """A session loop: ``body`` (with exactly one ``recv``) runs once per message; its output is the next carrier."""
    return _checked(Loop(body=as_node(body, what="loop body"), init=copy_json(init)))


def scan(step: Arrow[Any, Any], init: Json = None, *, inbox: str = "in", outbox: str = "out") -> Arrow[Any, Any]:
    """A session from a turn ``step``: ``{"carrier": c, "msg": m}`` → ``[next_carrier, output]``.

    The output is emitted on ``outbox``; ``init`` is the first carrier.
    """
    problems = check_channel_placement(as_node(step, what="scan step"))
    if problems:
        raise SessionValidationError("a scan step may not use channels itself:\n- " + "\n- ".join(problems))
    body = seq(
        recv(inbox),
        step,
        par(seq(arr(_SECOND), emit(outbox)), arr(_FIRST)),
        arr(_SECOND),
    )
    return _checked(Loop(body=body.to_ir(), init=copy_json(init)))


class _Lift(ast.NodeTransformer):
    def __init__(self, carried: list[str]) -> None:
        self.carried = carried

    def _state(self) -> ast.expr:
        return ast.Dict(
            keys=[ast.Constant(k) for k in self.carried],
            values=[ast.Name(id=k, ctx=ast.Load()) for k in self.carried],
        )

    def visit_Return(self, node: ast.Return) -> ast.Return:
        value = node.value if node.value is not None else ast.Constant(None)
        return ast.copy_location(ast.Return(value=ast.Tuple(elts=[self._state(), value], ctx=ast.Load())), node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        return node  # nested functions keep their own returns

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AsyncFunctionDef:
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.Lambda:
        return node


class _Turn:
    """A ``@session`` turn lifted to a pure ``{"carrier", "msg"}`` → ``[carrier', output]``."""

    def __init__(self, name: str, fn: Callable[..., Any], carried: dict[str, Json], digest: str) -> None:
        self.name = name
        self.fn = fn
        self.carried = carried
        self.digest = digest

    def __call__(self, value: Json) -> Json:
        if type(value) is not dict or "msg" not in value:
            msg = f"session turn {self.name!r} expects {{carrier, msg}}, got {value!r:.80}"
            raise TypeError(msg)
        carrier = value.get("carrier")
        state = dict(carrier) if type(carrier) is dict else {}
        kwargs = {k: copy_json(state.get(k, default)) for k, default in self.carried.items()}
        out = self.fn(value["msg"], **kwargs)
        if inspect.iscoroutine(out):
            try:
                out.send(None)
            except StopIteration as stop:
                out = stop.value
            else:
                out.close()
                msg = f"session turn {self.name!r} awaited something; turns run steps through scan/loop instead"
                raise SessionCompileError(msg)
        new_state, output = out
        return [copy_json(new_state), copy_json(output)]

    def __repr__(self) -> str:
        return f"<session turn {self.name} {self.digest}>"


def _lift(fn: Callable[..., Any], name: str) -> tuple[_Turn, dict[str, Json]]:
    hint = "use scan(step, init) with an explicit (carrier, msg) -> [carrier, output] turn"
    if not hasattr(fn, "__code__"):
        raise SessionCompileError(f"@session needs a plain function; {hint}")
    if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
        raise SessionCompileError(f"@session turn {name!r} is a generator; {hint}")
    if fn.__code__.co_freevars:
        free = ", ".join(fn.__code__.co_freevars)
        raise SessionCompileError(f"@session turn {name!r} captures {free} from an enclosing function; {hint}")
    params = list(inspect.signature(fn).parameters.values())
    if not params or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        raise SessionCompileError(f"@session turn {name!r} must take the message as its first parameter; {hint}")
    carried: dict[str, Json] = {}
    for p in params[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise SessionCompileError(f"@session turn {name!r}: *args/**kwargs cannot be carried; {hint}")
        if p.default is p.empty:
            raise SessionCompileError(
                f"@session turn {name!r}: loop-carried local {p.name!r} needs a default (its first value); {hint}"
            )
        try:
            carried[p.name] = copy_json(p.default)
        except Exception:  # noqa: BLE001 - any non-JSON default
            raise SessionCompileError(
                f"@session turn {name!r}: the default of {p.name!r} is not JSON; {hint}"
            ) from None
    try:
        source = textwrap.dedent(inspect.getsource(fn))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError):
        raise SessionCompileError(f"@session cannot read the source of {name!r}; {hint}") from None
    func = tree.body[0]
    if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
        raise SessionCompileError(f"@session turn {name!r} must be a def; {hint}")
    for node in ast.walk(func):
        if isinstance(node, ast.Global | ast.Nonlocal):
            raise SessionCompileError(f"@session turn {name!r} uses global/nonlocal state; {hint}")
    func.decorator_list = []
    lifter = _Lift(list(carried))
    func.body = [lifter.visit(stmt) for stmt in func.body]
    func.body.append(ast.Return(value=ast.Tuple(elts=[lifter._state(), ast.Constant(None)], ctx=ast.Load())))
    ast.fix_missing_locations(tree)
    namespace: dict[str, Any] = {}
    code = compile(tree, filename=inspect.getsourcefile(fn) or "<session>", mode="exec")
    exec(code, fn.__globals__, namespace)  # noqa: S102 - recompiling the user's own function
    lifted = namespace[func.name]
    return _Turn(name, lifted, carried, hash_bytes(source.encode("utf-8"))), carried


def session(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    inbox: str = "in",
    outbox: str = "out",
) -> Any:
    """``@session``: lift a turn function into a session (see the module docs).

    The turn becomes a registered pure named ``session.<name>`` (pinned by its
    source), so the session is ``scan(arr(turn), init=<carried defaults>)``.
    """

    def build(f: Callable[..., Any]) -> Arrow[Any, Any]:
        ref = name or f"{f.__module__}.{f.__qualname__}"
        pure_name = f"session.{ref}"
        if is_coroutine_session(f):
            # The seed's form: setup, then `while True: msg = await s.recv(); ...; await s.emit(v)`.
            body, carried, source, inbox_given, outbox_given = lower_coroutine_session(f, ref)
            turn = _Turn(ref, body, carried, hash_bytes(source.encode("utf-8")))
            DEFAULT_REGISTRY.register_pure(pure_name, turn, replace=True)
            return scan(arr(pure_name), init=carried, inbox=inbox_given or inbox, outbox=outbox_given or outbox)
        turn, carried = _lift(f, ref)
        DEFAULT_REGISTRY.register_pure(pure_name, turn, replace=True)
        return scan(arr(pure_name), init=carried, inbox=inbox, outbox=outbox)

    if fn is not None:
        return build(fn)
    return build


def _inbox_of(node: Loop) -> str:
    for _nid, current, _anc in _walk(node.body, "$.0"):
        if _is_channel(current, "__recv__"):
            return str((current.step.args or {}).get("channel", "in"))  # type: ignore[attr-defined]
    return "in"


async def open_session(
    flow: Arrow[Any, Any] | Node | None,
    *,
    agent: Any = None,
    backend: str = "local",
    reasoners: Mapping[str, Callable[..., Any]] | None = None,
    tools: Mapping[str, Callable[..., Any]] | None = None,
    llm: Callable[..., Any] | None = None,
    capacity: int | None = None,
    principal: Json = None,
    session_id: str | None = None,
    capabilities: Any = None,
    client: Any = None,
    task_queue: str | None = None,
    continue_as_new_after: int | None = None,
    heartbeat_s: float | None = None,
) -> Any:
    """Open a session on ``backend``: ``local`` (in memory) or ``temporal`` (a durable ``SessionWorkflow``).

    With ``flow=None`` and an ``agent``, each message runs the agent once and
    its answer is emitted on ``out``. ``temporal`` needs ``client`` (a
    ``temporalio.client.Client``); its tools and reasoners are served by the
    workers on ``task_queue`` (fakes are a local-backend feature), and the
    workflow continues as new every ``continue_as_new_after`` turns carrying
    the carrier. ``cma`` is not provided by this build.
    """
    if backend not in ("local", "temporal"):
        msg = (
            f"session backend {backend!r} is not provided by this build; "
            "use backend='local' (in memory) or backend='temporal' (durable)"
        )
        raise NotImplementedError(msg)
    if backend == "temporal" and client is None:
        msg = "backend='temporal' needs client=<temporalio.client.Client>"
        raise ValueError(msg)
    if backend == "temporal" and (reasoners or tools):
        msg = "backend='temporal' runs tools and reasoners on workers: fakes (reasoners=/tools=) are for backend='local'"
        raise ValueError(msg)
    if flow is None:
        if agent is None:
            msg = "open a session with session=scan(...)/loop(...)/@session, or from an Agent"
            raise SessionValidationError(msg)
        flow = loop(seq(recv(), arr(_MSG), agent, emit()), init=None)
    node = normalize(as_node(flow, what="session"))
    problems = validate_session(node)
    if problems:
        raise SessionValidationError("invalid session:\n- " + "\n- ".join(problems))
    assert isinstance(node, Loop)
    from composable_agents.compiler.deploy import deploy
    from composable_agents.execution.interpreter import Program

    tool_defs: Any = ()
    reasoner_defs: Any = ()
    if agent is not None:
        from composable_agents.agents.agent import _collect_flow

        tool_defs, reasoner_defs = agent._closure()  # the agent's own closure, in one walk
        extra_tools: dict[str, Any] = {t.key: t for t in tool_defs}
        extra_reasoners: dict[str, Any] = {r.name: r for r in reasoner_defs}
        _collect_flow(wrap(node.body), DEFAULT_REGISTRY, extra_tools, extra_reasoners, set())
        tool_defs, reasoner_defs = list(extra_tools.values()), list(extra_reasoners.values())
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dep = deploy(
            wrap(node),
            tools=tool_defs,
            reasoners=reasoner_defs,
            capabilities=capabilities,
            mode=getattr(agent, "mode", "strict"),
        )
    if backend == "temporal":
        # seam: Agent.open(backend="temporal") reaches the durable layer above this one
        from composable_agents.temporal.session_client import open_temporal_session

        return await open_temporal_session(
            dep,
            client,
            session_id=session_id,
            task_queue=task_queue,
            capacity=capacity,
            principal=principal,
            continue_as_new_after=continue_as_new_after,
            heartbeat_s=heartbeat_s,
        )
    catalog = dep.catalog()
    program = Program(dep.frozen.node.children()[0], catalog, root_id="$.0")
    fakes = dict(reasoners or {})
    if llm is not None:
        from composable_agents.execution.llm import llm_fake

        for name in program.reasoners:
            if name not in fakes:
                definition = catalog.reasoner(name)
                fakes[name] = llm_fake(llm, definition if definition is not None else name)
    missing = sorted(program.reasoners - set(fakes))
    if missing:
        from composable_agents.errors import MissingFakeError

        raise MissingFakeError(f"no fake for reasoner(s) {', '.join(map(repr, missing))}: pass reasoners={{name: fn}} or llm=")
    env = _SessionEnv(tools=dict(tools or {}), reasoners=fakes)
    frozen_root = dep.frozen.node
    assert isinstance(frozen_root, Loop)
    return SessionHandle(
        program,
        frozen_root.init,
        _inbox_of(frozen_root),
        env,
        capacity=capacity or DEFAULT_CAPACITY,
        session_id=session_id or f"session-{dep.artifact_hash[7:19]}",
        principal=principal,
    )
