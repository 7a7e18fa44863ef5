"""One small deployment per diagnostic code (shared by the snapshot tests and the docs check).

Every tool, reasoner, pure and flow name here is unique to this module
(``dg_`` / ``dg.``) so snapshots do not depend on what other tests register.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from composable_agents import (
    Ann,
    ContextPolicy,
    ContextScope,
    Reasoner,
    app,
    arr,
    call,
    deploy,
    iter_up_to,
    mcp,
    par,
    seq,
    sub,
    think,
    tool,
)
from composable_agents.authoring.derived import human_gate, race
from composable_agents.compiler.deploy import Deployment
from composable_agents.compiler.snapshot import snapshot_from_listings
from composable_agents.core.ir import CallStep, Par, Prim
from composable_agents.core.kinds import Merge
from composable_agents.integrations.http import http_tool

DG_WEATHER = http_tool("dg_weather", "https://api.dg.example/weather")


@tool(name="dg_read", effect="read", idempotent=True)
def dg_read(x: str) -> str:
    return x


@tool(name="dg_write")
def dg_write(x: str) -> str:
    return x


@tool(name="dg_danger", effect="dangerous")
def dg_danger(x: str) -> str:
    return x


@tool(name="dg_count", effect="read")
def dg_count(x: str) -> int:
    return len(x)


@tool(name="dg_upper", effect="read")
def dg_upper(x: str) -> str:
    return x.upper()


DG_R = Reasoner("dg_writer", "claude-haiku-4-5", system="Write.")
DG_CTRL = Reasoner("dg_ctrl", "claude-haiku-4-5", system="Decide.")
TOOLS = [dg_read, dg_write, dg_danger, dg_count, dg_upper]
REASONERS = [DG_R, DG_CTRL]

SNAPSHOT = snapshot_from_listings(
    {
        "search": {
            "web": {
                "inputSchema": {"type": "object"},
                "annotations": {"readOnlyHint": True, "idempotentHint": True},
            }
        },
        "srv": {"denied": {"inputSchema": {"type": "object"}}},
    },
    versions={"search": "1.3.0", "srv": "0.9.0"},
)

CHILD = seq(call(dg_read), call(dg_upper)).named("dg.child.v1")


def _d(flow: Any, caps: Any = None, *, snapshot: Any = None) -> Deployment[Any, Any]:
    tools = [] if snapshot is not None else TOOLS
    return deploy(flow, snapshot, tools=tools, reasoners=REASONERS, capabilities=caps, strict=False)


CASES: dict[str, Callable[[], Deployment[Any, Any]]] = {
    "UNRESOLVED_CALL": lambda: _d(seq(call(dg_read), call("dg_missing"))),
    "UNRESOLVED_REASONER": lambda: _d(think("dg_nobody")),
    "UNKNOWN_PURE": lambda: _d(seq(call(dg_read), arr("dg.nope"))),
    "UNRESOLVED_SUBFLOW": lambda: _d(sub("dg.missing.v1")),
    "MALFORMED_NODE": lambda: _d(
        Par(branches=(call(dg_read).to_ir(), call(dg_upper).to_ir()), merge=Merge.QUORUM, k=5)
    ),
    "RETRY_RANGE": lambda: _d(call(dg_read, ann=Ann(max_attempts=0, backoff_rate=0.5))),
    "RETRY_UNSAFE": lambda: _d(call(dg_write, ann=Ann(max_attempts=3))),
    "SCHEMA_MISMATCH": lambda: _d(seq(call(dg_count), call(dg_upper))),
    "SECRET_ARG": lambda: _d(seq(call(dg_read), arr("std.bind", consts={"api_key": "sk-live-0123456789abcdef"}))),
    "WHOLE_SESSION_PAR": lambda: _d(
        par(think(DG_R, ctx=ContextPolicy(scope=ContextScope.WHOLE_SESSION)), call(dg_read))
    ),
    "CAP_MANIFEST_INVALID": lambda: _d(call(dg_read), {"tools": [{"name": "dg_read", "effect": "reed"}]}),
    "CAP_TOOL_DENIED": lambda: _d(
        seq(call(mcp("search", "web")), call(mcp("srv", "denied"))),
        {"tools": [{"name": "search/web", "effect": "read", "idempotency": "native"}]},
        snapshot=SNAPSHOT,
    ),
    "CAP_APP_TOOL_DENIED": lambda: _d(app(DG_CTRL, tools=[dg_read, dg_write]), {"tools": ["dg_read"]}),
    "CAP_APP_APPROVAL_TOOL": lambda: _d(app(DG_CTRL, tools=[dg_read, dg_danger], max_rounds=3)),
    "CAP_REASONER_DENIED": lambda: _d(think(DG_R), {"reasoners": []}),
    "CAP_MODEL_DENIED": lambda: _d(think(DG_R), {"models": []}),
    "CAP_MODEL_ID_DENIED": lambda: _d(think(DG_R), {"models": ["claude-opus-4"]}),
    "CAP_SUBFLOW_DENIED": lambda: _d(seq(call(dg_read), sub(CHILD)), {"subflows": ["dg.other.v1"]}),
    "CAP_SERVER_DENIED": lambda: _d(call(mcp("srv", "denied")), {"mcp_servers": {"search": ">=1.2"}}, snapshot=SNAPSHOT),
    "CAP_VERSION_PIN": lambda: _d(call(mcp("search", "web")), {"mcp_servers": {"search": ">=2.0"}}, snapshot=SNAPSHOT),
    "NETWORK_DENIED": lambda: deploy(
        call(DG_WEATHER), tools=[DG_WEATHER], capabilities={"network": ["api.other.example"]}, strict=False
    ),
    "CAP_MEMORY_DENIED": lambda: _d(
        think(DG_R, ctx=ContextPolicy(scope=ContextScope.SUMMARY)), {"memory": ["local"]}
    ),
    "CAP_ASSERT_CONFLICT": lambda: _d(
        seq(human_gate("Send?"), call(dg_danger)), {"tools": [{"name": "dg_danger", "effect": "read"}]}
    ),
    "CAP_MAX_CALLS": lambda: _d(iter_up_to(5, call(dg_read)), {"tools": [{"name": "dg_read", "maxCalls": 3}]}),
    "RACE_UNASSERTED": lambda: _d(race(call(mcp("search", "web")), call(mcp("search", "web"))), snapshot=SNAPSHOT),
    "RACE_UNSAFE": lambda: _d(race(call(dg_read), call(dg_write))),
    "RACE_SUB": lambda: _d(race(sub(CHILD), call(dg_read))),
    "APPROVAL_UNGATED": lambda: _d(seq(call(dg_read), call(dg_danger))),
    "BUDGET_EXCEEDED": lambda: _d(
        iter_up_to(3, call(dg_read, ann=Ann(cost_usd=0.1))), {"budget": {"cost": 0.25}}
    ),
}

assert Prim and CallStep  # re-exported for tests that build raw nodes
