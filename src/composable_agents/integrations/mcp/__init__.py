"""Live MCP servers: snapshots taken from them and a pooled caller for runs (extra ``mcp``).

    from composable_agents.integrations.mcp import McpServer, mcp_caller, snapshot_from_servers

    research = McpServer("research", command="python", args=["research_server.py"])
    snap = snapshot_from_servers([research])            # tools keyed "research/<tool>"
    dep = deploy(flow, snap, capabilities={"mcp_servers": {"research": ">=1.2"}, ...})
    search = mcp_tool(snap, "research/search", input=Query, output=Hits)   # a typed leaf
    dep.dry_run(x, mcp_servers=[research])               # live calls, no fakes
    await run_worker(..., mcp_servers=[research])        # the worker builds mcp_caller(...)

Built on the official ``mcp`` SDK (``ClientSession`` over ``stdio_client`` or
``streamable_http_client``) rather than a hand-rolled JSON-RPC client, so
protocol versions, pagination and transports follow the SDK. Importing this
package without the extra raises ``ImportError`` naming
``pip install 'composable-agents[mcp]'``.
"""

from __future__ import annotations

from composable_agents.execution.tool_callers import register_mcp_caller_factory
from composable_agents.integrations.mcp._caller import (
    IDEMPOTENCY_META,
    PRINCIPAL_META,
    McpCaller,
    frozen_listing,
    mcp_caller,
    reply_value,
)
from composable_agents.integrations.mcp._leaf import mcp_tool
from composable_agents.integrations.mcp._server import (
    Connection,
    McpServer,
    asnapshot_from_servers,
    listing_of,
    snapshot_from_servers,
)

__all__ = [
    "IDEMPOTENCY_META",
    "PRINCIPAL_META",
    "Connection",
    "McpCaller",
    "McpServer",
    "asnapshot_from_servers",
    "frozen_listing",
    "listing_of",
    "mcp_caller",
    "mcp_tool",
    "reply_value",
    "snapshot_from_servers",
]

# Local runs (execution/local.py) build callers through this registry, not by importing us.
register_mcp_caller_factory(lambda servers, pins: mcp_caller(servers, pins=pins))
