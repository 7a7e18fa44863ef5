"""A small MCP server written with the ``mcp`` SDK, for the integration tests.

Run as ``python mcp_test_server.py stdio`` or ``python mcp_test_server.py http PORT``.
Environment:

* ``CA_MCP_LOG``: a JSON-lines file; every tool call appends ``{"tool", "args", "meta", "pid"}``
  *before* it acts, so a test can count attempts and read the ``_meta`` each one carried.
* ``CA_MCP_VERSION``: the server version it reports (default ``1.4.0``).
* ``CA_MCP_VARIANT``: ``v2`` changes ``search``'s input schema (a tool changed after a snapshot).

Tools: ``search`` (read, structured reply), ``record`` (write, records ``_meta``),
``fail`` (always ``isError``), ``crash_once`` (kills the server process on the first call
with a given idempotency key: a broken transport, then answers the retried attempt),
``echo_text`` (a plain-text reply), ``echo_json`` (JSON in a text block) and ``sleepy``
(logs its start and end, for the concurrency bound).
A separate process rather than an in-process server because the tests must see real
transports break and reconnect.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

KEY = "io.composable-agents/idempotency-key"

server: MCPServer[Any] = MCPServer(
    "research", version=os.environ.get("CA_MCP_VERSION", "1.4.0"), log_level="WARNING"
)


def _meta(ctx: Context[Any]) -> dict[str, Any]:
    meta = ctx.request_context.meta
    if meta is None:
        return {}
    if hasattr(meta, "model_dump"):
        return dict(meta.model_dump(by_alias=True, exclude_none=True))
    return dict(meta)


def _log(tool: str, args: dict[str, Any], meta: dict[str, Any]) -> list[dict[str, Any]]:
    path = os.environ.get("CA_MCP_LOG")
    if not path:
        return []
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"tool": tool, "args": args, "meta": meta, "pid": os.getpid()}) + "\n")
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


if os.environ.get("CA_MCP_VARIANT") == "v2":

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def search(query: str, limit: int, ctx: Context[Any]) -> dict[str, Any]:
        """Search the (fake) corpus; v2 takes a required limit."""
        _log("search", {"query": query, "limit": limit}, _meta(ctx))
        return {"query": query, "hits": [f"{query}-{i}" for i in range(limit)]}

else:

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def search(query: str, ctx: Context[Any]) -> dict[str, Any]:
        """Search the (fake) corpus."""
        _log("search", {"query": query}, _meta(ctx))
        return {"query": query, "hits": [f"{query}-1", f"{query}-2"]}


@server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False))
def record(note: str, ctx: Context[Any]) -> dict[str, Any]:
    """Store a note; the reply says how many calls were recorded."""
    seen = _log("record", {"note": note}, _meta(ctx))
    return {"stored": note, "count": len([e for e in seen if e["tool"] == "record"])}


@server.tool()
def fail(reason: str, ctx: Context[Any]) -> str:
    """Always fails (the reply has isError)."""
    _log("fail", {"reason": reason}, _meta(ctx))
    raise ToolError(f"refused: {reason}")


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def crash_once(note: str, ctx: Context[Any]) -> dict[str, Any]:
    """Dies on the first call with an idempotency key; answers later attempts with the same key."""
    meta = _meta(ctx)
    seen = _log("crash_once", {"note": note}, meta)
    attempts = [e for e in seen if e["tool"] == "crash_once" and e["meta"].get(KEY) == meta.get(KEY)]
    if len(attempts) == 1:
        os._exit(3)  # the transport breaks mid-call, the way a crashed server looks to a client
    return {"note": note, "attempts": len(attempts)}


@server.tool(annotations=ToolAnnotations(read_only_hint=False))
def crash_write(note: str, ctx: Context[Any]) -> dict[str, Any]:
    """A write tool that dies on the first call with a key (its lost attempt must never be repeated)."""
    meta = _meta(ctx)
    seen = _log("crash_write", {"note": note}, meta)
    attempts = [e for e in seen if e["tool"] == "crash_write" and e["meta"].get(KEY) == meta.get(KEY)]
    if len(attempts) == 1:
        os._exit(3)
    return {"note": note, "attempts": len(attempts)}


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
async def sleepy(ms: int, ctx: Context[Any]) -> dict[str, Any]:
    """Sleeps ``ms`` milliseconds; logs its start and end (so tests can see how many ran at once)."""
    meta = _meta(ctx)
    _log("sleepy", {"ms": ms, "phase": "start", "t": time.monotonic()}, meta)
    await asyncio.sleep(ms / 1000)
    _log("sleepy", {"ms": ms, "phase": "end", "t": time.monotonic()}, meta)
    return {"slept": ms}


@server.tool(structured_output=False)
def echo_text(text: str) -> str:
    """Answers with plain text."""
    return f"echo: {text}"


@server.tool(structured_output=False)
def echo_json(text: str) -> str:
    """Answers with JSON in a text block (no structured content)."""
    return json.dumps({"echo": text})


def main(argv: list[str]) -> None:
    """Serve over stdio (default) or streamable HTTP on 127.0.0.1:PORT."""
    if len(argv) > 1 and argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(argv[2]), stateless_http=False)
    else:
        server.run("stdio")


if __name__ == "__main__":
    main(sys.argv)
