"""``server/*`` grants: the run-time call limit applies to each of the server's tools."""

from __future__ import annotations

from composable_agents import call, deploy, mcp, seq, snapshot_from_listings
from composable_agents.temporal.activities import _granted

SNAP = snapshot_from_listings(
    {"wild": {"a": {"inputSchema": {}}, "b": {"inputSchema": {}}}},
)


def test_wildcard_max_calls_limits_each_tool() -> None:
    caps = {"tools": [{"name": "wild/*", "effect": "read", "idempotency": "native", "maxCalls": 1}]}
    flow = seq(call(mcp("wild", "a")), call(mcp("wild", "b")), call(mcp("wild", "a")))
    d = deploy(flow, SNAP, capabilities=caps)
    fakes = {"wild/a": lambda v: v, "wild/b": lambda v: v}
    result = d.dry_run(1, tools=fakes)
    assert result.status == "over_budget"
    assert result.detail is not None and result.detail["tool"] == "wild/a"
    once = deploy(seq(call(mcp("wild", "a")), call(mcp("wild", "b"))), SNAP, capabilities=caps)
    assert once.dry_run(1, tools=fakes).value == 1


def test_worker_allow_list_understands_wildcards() -> None:
    assert _granted("wild/a", {"wild/*"})
    assert _granted("plain", {"plain"})
    assert not _granted("other/a", {"wild/*"})
    assert not _granted("plain", {"wild/*"})
