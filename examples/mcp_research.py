"""Research with a live MCP server: snapshot it, pin it, grant it, run it locally and durably.

    python examples/mcp_research.py

spawns the bundled server (``mcp_research_server.py``) over stdio, freezes its tool listing
(schemas, annotations, version 1.3.0) with ``snapshot_from_servers``, types two of its tools
with ``mcp_tool``, and deploys a ``@flow`` under a capability manifest that pins the server
(``>=1.2``) and asserts what the untrusted hints only claim (``search`` is read-only, so it may
retry; ``save_note`` honours its key). ``dry_run(..., mcp_servers=[LIBRARY])`` calls the live
server; on Temporal, ``run_worker(mcp_servers=[LIBRARY])`` does the same from the worker
(``examples/run_durable.py`` runs it). Every call carries the run's idempotency key in
``_meta``: a replayed or retried save stores the note once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TypedDict

from composable_agents import Reasoner, deploy, flow, pure, think
from composable_agents.integrations.mcp import McpServer, mcp_tool, snapshot_from_servers

HERE = Path(__file__).resolve().parent
LIBRARY = McpServer("library", command=sys.executable, args=[str(HERE / "mcp_research_server.py")])


class Topic(TypedDict):
    topic: str


class Paper(TypedDict):
    id: str
    title: str


class Papers(TypedDict):
    topic: str
    papers: list[Paper]


class Note(TypedDict):
    topic: str
    note: str


class Saved(TypedDict):
    id: str
    topic: str
    created: bool


SNAPSHOT = snapshot_from_servers([LIBRARY])  # connects once, lists the tools, closes
search = mcp_tool(SNAPSHOT, "library/search", input=Topic, output=Papers)
save_note = mcp_tool(SNAPSHOT, "library/save_note", input=Note, output=Saved)

summarize = Reasoner(
    name="mcp_research.summarize",
    model="anthropic:claude-haiku-4-5-20251001",
    system='Summarize the paper titles in one sentence, as JSON {"topic": ..., "note": ...}.',
    reply=Note,
)


@pure("mcp_research.as_topic")
def as_topic(topic: str) -> Topic:
    return {"topic": topic}


@flow
def research(topic: str) -> Saved:
    papers = search(as_topic(topic))
    note = think(summarize, papers)
    return save_note(note)


CAPABILITIES = {
    "tools": [
        {"name": "library/search", "effect": "read", "idempotency": "native"},
        {"name": "library/save_note", "effect": "write", "idempotency": "required"},
    ],
    "reasoners": ["mcp_research.summarize"],
    "mcp_servers": {"library": ">=1.2"},
}

deployment = deploy(research, capabilities=CAPABILITIES)


def fake_summarize(papers: Papers) -> Note:
    titles = [p["title"] for p in papers["papers"]]
    return {"topic": papers["topic"], "note": f"{len(titles)} paper(s): " + "; ".join(titles)}


FAKES = {summarize.name: fake_summarize}

if __name__ == "__main__":
    result = deployment.dry_run("durable agents", reasoners=FAKES, mcp_servers=[LIBRARY])
    print(result.status, result.value)
