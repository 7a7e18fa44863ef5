"""``mcp_caller(servers)``: a ready ``mcp_call`` with our guarantees on every call.

One pooled session per server per process (per event loop), opened on first
use and reopened after the transport breaks; calls to one server are bounded
by a semaphore. Every request carries the run's idempotency key and principal
in ``_meta``. Failures are classified for the retry policy: a reply with
``isError`` is the tool saying no (:class:`ToolRejected`, never retried); a
broken or timed-out transport is :class:`ToolUnavailable` (retried only where
the call may retry: read-only or asserted idempotent tools); before the first
call of a tool on a connection, its live listing is compared with the frozen
one (:class:`ToolDefinitionMismatch`). The caller never retries by itself: a
write whose reply was lost must not run twice, and only the frozen contract
knows which calls may repeat.

Rejected: a new connection per call (a process spawn per stdio call — the
benchmark's baseline shows what that would cost) and comparing definition
hashes (a capability grant's assertions change the hash, not the tool).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any, Self, cast

import anyio
from mcp.shared.exceptions import MCPError
from mcp.types import CONNECTION_CLOSED, INVALID_REQUEST, REQUEST_TIMEOUT

from composable_agents.compiler.capabilities import VersionConstraint
from composable_agents.core.canonical import Json, JsonObject, content_hash
from composable_agents.core.jsontext import loads_strict
from composable_agents.errors import (
    CanonicalJSONError,
    CapabilityDenied,
    StepTypeError,
    ToolDefinitionMismatch,
    ToolRejected,
    ToolUnavailable,
)
from composable_agents.integrations.mcp._server import Connection, McpServer, _unique

__all__ = [
    "IDEMPOTENCY_META",
    "PRINCIPAL_META",
    "McpCaller",
    "frozen_listing",
    "mcp_caller",
    "reply_value",
]

IDEMPOTENCY_META = "io.composable-agents/idempotency-key"
"""The ``_meta`` key carrying the call's idempotency key (identical on every attempt)."""

PRINCIPAL_META = "io.composable-agents/principal"
"""The ``_meta`` key carrying the run's principal (``null`` when the run has none)."""

_COMPARED = ("inputSchema", "outputSchema", "annotations")

# What a broken transport looks like from the SDK: closed anyio streams, socket
# errors, httpx transport errors (streamable HTTP) and JSON-RPC "connection closed".
_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    anyio.ClosedResourceError,
    anyio.BrokenResourceError,
    anyio.EndOfStream,
)
try:
    import httpx2

    _TRANSPORT_ERRORS = (*_TRANSPORT_ERRORS, httpx2.TransportError)
except ImportError:  # pragma: no cover - the SDK depends on it
    pass


def frozen_listing(definition: Any) -> JsonObject | None:
    """The compared part of a frozen MCP definition (a ``ToolDef`` or its ``definition_json()``)."""
    doc = definition.definition_json() if hasattr(definition, "definition_json") else definition
    if not isinstance(doc, Mapping):
        return None
    contract = doc.get("contract") or {}
    return {
        "inputSchema": dict(contract.get("inputSchema") or {}),
        "outputSchema": dict(contract.get("outputSchema") or {}),
        "annotations": dict(doc.get("annotations") or {}),
    }


def _live_listing(entry: Mapping[str, Any]) -> JsonObject:
    return {k: dict(entry.get(k) or {}) for k in _COMPARED}


def reply_value(result: Any) -> Json:
    """A ``CallToolResult`` as a flow value: structured content, else JSON text, else the text."""
    if result.structured_content is not None:
        return cast(Json, result.structured_content)
    texts = [block.text for block in result.content if getattr(block, "type", None) == "text"]
    if not texts:
        if not result.content:
            return None
        return [block.model_dump(by_alias=True, exclude_none=True, mode="json") for block in result.content]
    text = texts[0] if len(texts) == 1 else "\n".join(texts)
    try:
        return loads_strict(text)
    except CanonicalJSONError:
        return text


def _innermost(exc: BaseException) -> BaseException:
    """The one real error inside the SDK's task-group wrappers (``ExceptionGroup`` of one)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def _session_expired(conn: Connection, exc: MCPError) -> bool:
    """A streamable-HTTP server answered 404 for our session id (it restarted or dropped the session)."""
    return conn.server.transport == "http" and exc.code == INVALID_REQUEST and "session" in exc.message.lower()


def _error_text(result: Any) -> str:
    texts = [block.text for block in result.content if getattr(block, "type", None) == "text"]
    return " ".join(texts)[:500] or "(no message)"


class _LoopState:
    """Connections, locks and semaphores of one event loop (asyncio primitives are loop-bound)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.conns: dict[str, Connection] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.sems: dict[str, asyncio.Semaphore] = {}


class McpCaller:
    """A ready ``mcp_call(server, tool, value, idempotency_key, *, principal=None, definition=None)``.

    Build it with :func:`mcp_caller`. ``definition`` is the frozen tool
    definition (workers and local runs pass it); without one, the
    ``snapshot=`` given at construction supplies it, and with neither the
    live listing is not compared. ``pins`` (``{server: ">=1.2"}``, the
    manifest's ``mcp_servers``) are checked against each server's reported
    version whenever a connection opens. ``opened`` counts connections made
    (a stdio server is one process per connection). ``await aclose()`` (or
    ``async with``) closes every session of the current event loop.
    """

    def __init__(
        self,
        servers: Iterable[McpServer],
        *,
        snapshot: Iterable[Any] | None = None,
        pins: Mapping[str, str] | None = None,
        max_concurrency: int = 16,
    ) -> None:
        listed = list(servers)
        _unique(listed)
        if max_concurrency < 1:
            msg = f"max_concurrency must be >= 1, got {max_concurrency!r}"
            raise ValueError(msg)
        self.servers: dict[str, McpServer] = {s.name: s for s in listed}
        self.max_concurrency = max_concurrency
        self._pins = {name: (text, VersionConstraint.parse(text)) for name, text in (pins or {}).items()}
        self._frozen: dict[str, tuple[JsonObject, str]] = {}
        for definition in snapshot or ():
            if getattr(definition, "kind", None) == "mcp":
                found = frozen_listing(definition)
                if found is not None:
                    self._frozen[definition.key] = (found, content_hash(found))
        self._digests: dict[int, tuple[Any, tuple[JsonObject, str] | None]] = {}
        self._state: _LoopState | None = None
        self._checked: set[tuple[int, str, str]] = set()
        self.opened = 0

    # -- connections -----------------------------------------------------------------

    def _loop_state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._state
        if state is None or state.loop is not loop:
            # A new loop (a second asyncio.run, a test's fresh loop): the old sessions
            # belong to a loop that no longer runs and cannot be closed from here.
            state = self._state = _LoopState(loop)
        return state

    async def _connection(self, name: str) -> tuple[_LoopState, Connection]:
        server = self.servers.get(name)
        if server is None:
            known = ", ".join(sorted(self.servers)) or "none"
            msg = f"no MCP server named {name!r} was given to mcp_caller (known: {known})"
            raise ToolRejected(msg)
        state = self._loop_state()
        conn = state.conns.get(name)
        if conn is not None and not conn.dead:
            return state, conn
        lock = state.locks.setdefault(name, asyncio.Lock())
        async with lock:
            conn = state.conns.get(name)
            if conn is not None and not conn.dead:
                return state, conn
            if conn is not None:
                await conn.close()
            try:
                conn = await Connection.open(server)
            except Exception as exc:
                cause = _innermost(exc)
                msg = f"MCP server {name!r} ({server.transport}) could not be reached: {type(cause).__name__}: {cause}"
                raise ToolUnavailable(msg) from exc
            self.opened += 1
            pinned = self._pins.get(name)
            if pinned is not None and not pinned[1].allows(conn.version):
                await conn.close()
                have = conn.version or "unknown"
                msg = (
                    f"MCP server {name!r} is version {have}, which does not satisfy the pin {pinned[0]!r} "
                    "(capabilities mcp_servers:); refusing to call it"
                )
                raise CapabilityDenied(msg)
            state.conns[name] = conn
            state.sems.setdefault(name, asyncio.Semaphore(self.max_concurrency))
            return state, conn

    async def _drop(self, state: _LoopState, name: str, conn: Connection) -> None:
        conn.dead = True
        if state.conns.get(name) is conn:
            del state.conns[name]
        await conn.close()

    async def aclose(self) -> None:
        """Close every open session of the current event loop (stdio servers exit)."""
        state = self._state
        if state is None:
            return
        conns = list(state.conns.values())
        state.conns.clear()
        for conn in conns:
            if conn.loop is asyncio.get_running_loop():
                await conn.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the definition check --------------------------------------------------------------

    def _frozen_of(self, key: str, definition: Any) -> tuple[JsonObject, str] | None:
        """The frozen listing to compare with and its digest, computed once per definition object."""
        if definition is None:
            return self._frozen.get(key)
        cached = self._digests.get(id(definition))
        if cached is not None and cached[0] is definition:
            return cached[1]
        listing = frozen_listing(definition)
        found = None if listing is None else (listing, content_hash(listing))
        if len(self._digests) >= 1024:
            self._digests.clear()
        self._digests[id(definition)] = (definition, found)  # holds the object: its id stays unique
        return found

    def _check(self, conn: Connection, key: str, tool: str, definition: Any) -> None:
        found = self._frozen_of(key, definition)
        if found is None:
            return
        frozen, digest = found
        mark = (conn.serial, key, digest)
        if mark in self._checked:
            return
        entry = conn.tools.get(tool)
        version = conn.version or "unknown"
        if entry is None:
            msg = (
                f"MCP tool {key!r} is frozen in the artifact but server {conn.server.name!r} "
                f"(version {version}) no longer lists it: redeploy against a fresh snapshot"
            )
            raise ToolDefinitionMismatch(msg)
        live = _live_listing(entry)
        changed = [k for k in _COMPARED if content_hash(live[k]) != content_hash(frozen[k])]
        if changed:
            msg = (
                f"MCP tool {key!r} changed on server {conn.server.name!r} (version {version}) since the "
                f"snapshot: {', '.join(changed)} differ; the call was not made — redeploy against a fresh "
                "snapshot_from_servers(...)"
            )
            raise ToolDefinitionMismatch(msg)
        self._checked.add(mark)

    # -- the call --------------------------------------------------------------------------

    async def __call__(
        self,
        server: str,
        tool: str,
        value: Json,
        idempotency_key: str,
        *,
        principal: Json = None,
        definition: Any = None,
    ) -> Json:
        """Call ``server``'s ``tool`` with ``value`` (a JSON object of arguments, or ``None``)."""
        key = f"{server}/{tool}"
        if value is None:
            arguments: dict[str, Any] = {}
        elif type(value) is dict:
            arguments = value
        else:
            raise StepTypeError(key, "$", "an object of tool arguments", type(value).__name__)
        meta = {IDEMPOTENCY_META: idempotency_key, PRINCIPAL_META: principal}
        # A second pass only after the server said it does not know our HTTP session (it
        # restarted): that request never ran, so sending it on a new session is no repeat.
        for fresh in (False, True):
            state, conn = await self._connection(server)
            self._check(conn, key, tool, definition)
            session = conn.session
            if session is None:  # the owner task ended between lookup and use
                await self._drop(state, server, conn)
                msg = f"MCP server {server!r}: the session closed before tool {tool!r} was called"
                raise ToolUnavailable(msg)
            async with state.sems[server]:
                try:
                    result = await session.call_tool(tool, arguments, meta=cast(Any, meta))
                    break
                except MCPError as exc:
                    if exc.code == CONNECTION_CLOSED:
                        await self._drop(state, server, conn)
                        msg = f"MCP server {server!r}: the connection closed during tool {tool!r}: {exc.message}"
                        raise ToolUnavailable(msg) from exc
                    if exc.code == REQUEST_TIMEOUT:
                        msg = f"MCP server {server!r}: tool {tool!r} timed out: {exc.message}"
                        raise ToolUnavailable(msg) from exc
                    if _session_expired(conn, exc):
                        await self._drop(state, server, conn)
                        if not fresh:
                            continue
                        msg = f"MCP server {server!r} does not know the new session either: {exc.message}"
                        raise ToolUnavailable(msg) from exc
                    msg = f"MCP server {server!r} refused tool {tool!r} (JSON-RPC error {exc.code}): {exc.message}"
                    raise ToolRejected(msg) from exc
                except _TRANSPORT_ERRORS as exc:
                    await self._drop(state, server, conn)
                    msg = (
                        f"MCP server {server!r}: the transport broke during tool {tool!r}: "
                        f"{type(exc).__name__}: {exc}"
                    )
                    raise ToolUnavailable(msg) from exc
        if result.is_error:
            msg = f"MCP tool {key!r} failed (isError): {_error_text(result)}"
            raise ToolRejected(msg)
        return reply_value(result)


def mcp_caller(
    servers: Iterable[McpServer],
    *,
    snapshot: Iterable[Any] | None = None,
    pins: Mapping[str, str] | None = None,
    max_concurrency: int = 16,
) -> McpCaller:
    """A ready ``mcp_call`` for ``run_worker(mcp_call=...)`` and local runs (see :class:`McpCaller`)."""
    return McpCaller(servers, snapshot=snapshot, pins=pins, max_concurrency=max_concurrency)
