"""MCP servers: how to reach one (:class:`McpServer`), one live connection, and snapshots.

A connection is opened inside its own *owner task*: the SDK's transports and
``ClientSession`` are anyio task groups that must be entered and left by the
same task, while tool calls come from many tasks (activities, branches of a
``par``). Entering them in whichever task made the first call and closing them
from another — the obvious ``AsyncExitStack`` held by the caller — fails with
"exit cancel scope in a different task"; so the owner task holds the stack and
waits for a close signal, and calls only send requests over the open session.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, TextIO, cast

try:
    from mcp import ClientSession, StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client
    from mcp.types import PaginatedRequestParams
except ImportError as exc:  # pragma: no cover - depends on the environment
    msg = "MCP servers need the mcp SDK: pip install 'composable-agents[mcp]'"
    raise ImportError(msg) from exc

from composable_agents.compiler.snapshot import Snapshot, snapshot_from_listings
from composable_agents.core.canonical import JsonObject
from composable_agents.errors import CompositionError
from composable_agents.execution.local import run_coroutine

__all__ = [
    "Connection",
    "McpServer",
    "asnapshot_from_servers",
    "listing_of",
    "snapshot_from_servers",
]

_SERIALS = itertools.count(1)

_LISTED = ("name", "description", "inputSchema", "outputSchema", "annotations")


@dataclass(frozen=True, slots=True)
class McpServer:
    """Where an MCP server lives: a command to spawn (stdio) or a URL (streamable HTTP).

    ``McpServer("search", command="python", args=["server.py"])`` spawns the
    server as a child process and talks JSON-RPC over its stdin/stdout;
    ``McpServer("search", url="http://127.0.0.1:8000/mcp", headers={...})``
    connects over streamable HTTP. ``name`` is the server part of the tool keys
    (``search/web``); ``timeout_s`` bounds connecting and each request. The
    server object is configuration: it never enters an artifact (so ``env`` and
    ``headers`` may carry credentials).
    """

    name: str
    command: str | None = None
    args: Sequence[str] = ()
    env: Mapping[str, str] | None = None
    cwd: str | os.PathLike[str] | None = None
    url: str | None = None
    headers: Mapping[str, str] | None = None
    timeout_s: float = 30

    def __post_init__(self) -> None:
        if not isinstance(cast(object, self.name), str) or not self.name or "/" in self.name:
            msg = f"McpServer name must be a non-empty name without '/', got {self.name!r}"
            raise CompositionError(msg)
        if (self.command is None) == (self.url is None):
            msg = f"McpServer {self.name!r}: give exactly one of command= (stdio) or url= (streamable HTTP)"
            raise CompositionError(msg)
        if isinstance(self.args, str):
            msg = f"McpServer {self.name!r}: args= must be a sequence of strings, not one string"
            raise CompositionError(msg)
        if not self.timeout_s > 0:
            msg = f"McpServer {self.name!r}: timeout_s must be > 0, got {self.timeout_s!r}"
            raise CompositionError(msg)
        object.__setattr__(self, "args", tuple(str(a) for a in self.args))

    @property
    def transport(self) -> str:
        """``"stdio"`` or ``"http"``."""
        return "stdio" if self.command is not None else "http"

    def __repr__(self) -> str:
        # headers and env may hold credentials: keep them out of logs and tracebacks
        where = f"command={self.command!r}, args={list(self.args)!r}" if self.command else f"url={self.url!r}"
        return f"McpServer({self.name!r}, {where})"


def listing_of(tool: Any) -> JsonObject:
    """One ``tools/list`` entry as the snapshot records it (name, description, schemas, annotations)."""
    dumped = tool.model_dump(by_alias=True, exclude_none=True, mode="json")
    return {k: dumped[k] for k in _LISTED if k in dumped}


def _errlog() -> TextIO:
    # The child's stderr needs a real file descriptor (pytest and notebooks replace sys.stderr).
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return sys.__stderr__ if sys.__stderr__ is not None else open(os.devnull, "w")
    return sys.stderr


async def _enter(server: McpServer, stack: AsyncExitStack) -> ClientSession:
    if server.command is not None:
        params = StdioServerParameters(
            command=server.command,
            args=list(server.args),
            env=dict(server.env) if server.env is not None else None,
            cwd=os.fspath(server.cwd) if server.cwd is not None else None,
        )
        read, write = await stack.enter_async_context(stdio_client(params, errlog=_errlog()))
    else:
        import httpx2

        timeout = httpx2.Timeout(server.timeout_s, read=max(server.timeout_s, 300.0))
        client = create_mcp_http_client(headers=dict(server.headers or {}), timeout=timeout)
        await stack.enter_async_context(client)
        assert server.url is not None
        read, write = await stack.enter_async_context(streamable_http_client(server.url, http_client=client))
    return await stack.enter_async_context(ClientSession(read, write, read_timeout_seconds=server.timeout_s))


async def _list_tools(session: ClientSession) -> list[JsonObject]:
    out: list[JsonObject] = []
    cursor: str | None = None
    while True:
        page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor) if cursor else None)
        out.extend(listing_of(t) for t in page.tools)
        cursor = page.next_cursor
        if not cursor:
            return out


class Connection:
    """One open session to one server, held by its owner task (see the module docstring).

    ``await Connection.open(server)`` spawns/connects, initializes and lists
    the tools; ``version`` and ``tools`` (name → listing) describe the server as
    it is now; ``session`` sends requests; ``dead`` is set once a call saw the
    transport break; ``await close()`` ends the owner task, which leaves the
    transport (stopping a stdio child).
    """

    def __init__(self, server: McpServer) -> None:
        self.server = server
        self.serial = next(_SERIALS)  # ids of dead objects are reused; a serial never is
        self.session: ClientSession | None = None
        self.version: str | None = None
        self.tools: dict[str, JsonObject] = {}
        self.dead = False
        self.loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[None] = self.loop.create_future()
        self._closing = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, server: McpServer) -> Connection:
        """Connect to ``server`` (raises what connecting raised; the owner task is gone then)."""
        conn = cls(server)
        conn._task = conn.loop.create_task(conn._own(), name=f"mcp:{server.name}")
        try:
            await asyncio.wait_for(asyncio.shield(conn._ready), timeout=server.timeout_s)
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _own(self) -> None:
        try:
            async with AsyncExitStack() as stack:
                session = await _enter(self.server, stack)
                init = await session.initialize()
                self.version = init.server_info.version or None
                self.tools = {str(t["name"]): t for t in await _list_tools(session)}
                self.session = session
                self._ready.set_result(None)
                await self._closing.wait()
        except BaseException as exc:
            self.dead = True
            if not self._ready.done():
                self._ready.set_exception(exc if isinstance(exc, Exception) else ConnectionError(str(exc)))
            if isinstance(exc, asyncio.CancelledError):
                raise
        finally:
            self.dead = True
            self.session = None

    async def close(self) -> None:
        """Leave the transport (idempotent)."""
        self.dead = True
        self._closing.set()
        task = self._task
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=self.server.timeout_s)
        except BaseException:  # noqa: BLE001 - a stuck transport is abandoned, not waited on forever
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if not self._ready.done():
            self._ready.cancel()
        elif not self._ready.cancelled():
            self._ready.exception()  # retrieved, so asyncio does not warn about it


async def asnapshot_from_servers(servers: Iterable[McpServer]) -> Snapshot:
    """Connect to every server, list its tools and version, and freeze them (see ``snapshot_from_listings``).

    Tools are keyed ``server/tool``; the snapshot records each tool's
    description, input and output schema and (untrusted) annotations, and each
    server's version, which ``mcp_servers:`` pins are checked against at deploy.
    """
    listed = list(servers)
    _unique(listed)
    listings: dict[str, list[JsonObject]] = {}
    versions: dict[str, str] = {}
    for server in listed:
        conn = await Connection.open(server)
        try:
            listings[server.name] = list(conn.tools.values())
            if conn.version:
                versions[server.name] = conn.version
        finally:
            await conn.close()
    return snapshot_from_listings(listings, versions=versions)


def snapshot_from_servers(servers: Iterable[McpServer]) -> Snapshot:
    """The blocking twin of :func:`asnapshot_from_servers` (safe to call inside a running loop)."""
    return run_coroutine(asnapshot_from_servers(list(servers)))


def _unique(servers: Sequence[McpServer]) -> None:
    seen: set[str] = set()
    for s in servers:
        if not isinstance(cast(object, s), McpServer):
            msg = f"expected McpServer values, got {type(s).__name__}"
            raise CompositionError(msg)
        if s.name in seen:
            msg = f"two MCP servers are named {s.name!r}"
            raise CompositionError(msg)
        seen.add(s.name)

