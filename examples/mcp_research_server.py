"""The MCP server bundled with ``mcp_research.py``: a tiny paper library, written with the ``mcp`` SDK.

``python examples/mcp_research_server.py`` serves over stdio (what ``McpServer(command=...)``
spawns); ``python examples/mcp_research_server.py http 8000`` serves streamable HTTP on
127.0.0.1:8000/mcp. Tools: ``search`` and ``fetch`` (read-only) and ``save_note`` (a write that
applies once per idempotency key, read from the request's ``_meta``).
"""

from __future__ import annotations

import sys
from typing import Any, TypedDict

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import ToolAnnotations

KEY = "io.composable-agents/idempotency-key"

PAPERS = {
    "p1": ("Durable execution for agents", "Workflows replay from history; effects run once per key."),
    "p2": ("Typed dataflows", "Static types on every edge catch broken compositions before deploy."),
    "p3": ("Capability manifests", "Deny-by-default grants keep agents to the tools they were given."),
}

server: MCPServer[Any] = MCPServer("library", version="1.3.0", log_level="WARNING")
NOTES: dict[str, str] = {}  # idempotency key -> note id: a retried save returns the first answer


class Paper(TypedDict):
    id: str
    title: str


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def search(topic: str) -> dict[str, Any]:
    """Papers whose title shares a word with the topic (all of them when none does)."""
    words = set(topic.lower().split())
    hits = [Paper(id=k, title=t) for k, (t, _) in PAPERS.items() if words & set(t.lower().split())]
    return {"topic": topic, "papers": hits or [Paper(id=k, title=t) for k, (t, _) in PAPERS.items()]}


@server.tool(annotations=ToolAnnotations(read_only_hint=True))
def fetch(paper_id: str) -> dict[str, str]:
    """One paper's abstract."""
    title, abstract = PAPERS[paper_id]
    return {"id": paper_id, "title": title, "abstract": abstract}


@server.tool(annotations=ToolAnnotations(read_only_hint=False, idempotent_hint=True))
def save_note(topic: str, note: str, ctx: Context[Any]) -> dict[str, Any]:
    """Store a note; the same idempotency key stores it once."""
    data = dict(ctx.request_context.meta or {})
    key = str(data.get(KEY) or f"anonymous-{len(NOTES)}")
    first = key not in NOTES
    if first:
        NOTES[key] = f"note-{len(NOTES) + 1}"
    return {"id": NOTES[key], "topic": topic, "created": first}


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run("stdio")
