"""MCP tools in local runs: ``dry_run``/``arun(..., mcp_servers=[...])`` against the real test server.

Covers every authoring surface (kernel, typed operators, ``@flow``, ``Agent``), the pin at deploy,
the idempotency key across a retried attempt, a lost write never repeated, ``isError`` never retried
and a schema changed after the snapshot.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import pytest
from mcp_fixtures import HttpMcp, keyed, read_log, stdio_server

from composable_agents import Agent, call, deploy, flow, mcp, pure
from composable_agents.compiler.snapshot import Snapshot
from composable_agents.errors import (
    ToolDefinitionMismatch,
    ToolRejected,
    ToolUnavailable,
    ValidationError,
)
from composable_agents.integrations.mcp import (
    IDEMPOTENCY_META,
    PRINCIPAL_META,
    McpServer,
    mcp_caller,
    mcp_tool,
)

KEY = IDEMPOTENCY_META


class Query(TypedDict):
    query: str


class Hits(TypedDict):
    query: str
    hits: list[str]


def _grants(*names: str, effect: str = "read", idempotency: str = "native") -> dict[str, Any]:
    return {
        "tools": [{"name": f"research/{n}", "effect": effect, "idempotency": idempotency} for n in names],
        "mcp_servers": {"research": ">=1.2"},
    }


@pure("mcp_test.count_hits")
def count_hits(value: Hits) -> int:
    return len(value["hits"])


@pure("mcp_test.as_note")
def as_note(value: Hits) -> dict[str, str]:
    return {"note": ",".join(value["hits"])}


def test_a_pin_the_snapshot_does_not_satisfy_blocks_deploy(snap: Snapshot) -> None:
    with pytest.raises(ValidationError, match=r"CAP_VERSION_PIN") as info:
        deploy(call(mcp("research", "search")), snap, capabilities={"mcp_servers": {"research": ">=2"}})
    assert "version 1.4.0" in str(info.value)
    ok = deploy(call(mcp("research", "search")), snap, capabilities={"mcp_servers": {"research": "^1.2"}})
    assert not ok.blocking


def test_kernel_call_runs_live_with_the_key_and_principal_in_meta(
    snap: Snapshot, stdio: McpServer, mcp_log: Path
) -> None:
    dep = deploy(call(mcp("research", "search")), snap, capabilities=_grants("search"))
    result = dep.dry_run({"query": "tea"}, mcp_servers=[stdio], principal={"tenant": "acme"}, run_id="r-kernel")
    assert result.status == "ok", result.detail
    assert result.value == {"query": "tea", "hits": ["tea-1", "tea-2"]}
    (entry,) = read_log(mcp_log)
    assert entry["meta"] == {KEY: "r-kernel:$", PRINCIPAL_META: {"tenant": "acme"}}


def test_typed_operators_with_mcp_tool_leaves(snap: Snapshot, stdio: McpServer, mcp_log: Path) -> None:
    search = mcp_tool(snap, "research/search", input=Query, output=Hits)
    record = mcp_tool(snap, "research/record")
    pipeline = search >> as_note >> record
    assert pipeline.in_type is Query
    dep = deploy(pipeline, capabilities={**_grants("search"), "tools": [
        {"name": "research/search", "effect": "read", "idempotency": "native"}, "research/record"]})
    result = dep.dry_run({"query": "ink"}, mcp_servers=[stdio], run_id="r-typed")
    assert result.status == "ok", result.detail
    assert result.value == {"stored": "ink-1,ink-2", "count": 1}
    assert [(e["tool"], e["meta"][KEY]) for e in read_log(mcp_log)] == [
        ("search", "r-typed:$.0"),
        ("record", "r-typed:$.2"),
    ]


def test_flow_body_calls_mcp_tool_leaves(snap: Snapshot, http_mcp: HttpMcp) -> None:
    search = mcp_tool(snap, "research/search", input=Query, output=Hits)

    @flow
    def research(q: Query) -> int:
        hits = search(q)
        return count_hits(hits)

    dep = deploy(research, capabilities=_grants("search"))
    result = dep.dry_run({"query": "moss"}, mcp_servers=[http_mcp.server], run_id="r-flow")
    assert result.status == "ok", result.detail
    assert result.value == 2
    assert [e["meta"][KEY] for e in keyed(http_mcp.log, "r-flow:")] == ["r-flow:$.0"]


async def test_agent_tools_include_mcp_tools_over_http(snap: Snapshot, http_mcp: HttpMcp) -> None:
    search = mcp_tool(snap, "research/search", input=Query, output=Hits)
    agent = Agent("mcp_test.agent", tools=[search], max_rounds=3)
    replies = iter(
        [
            {"action": "call", "tool": "research/search", "input": {"query": "fern"}},
            {"action": "finish", "value": "done"},
        ]
    )
    seen: list[Any] = []

    def controller(value: Any) -> Any:
        seen.append(value)
        return next(replies)

    result = await agent.arun(
        "go",
        reasoners={agent.controller: controller},
        capabilities=_grants("search"),
        mcp_servers=[http_mcp.server],
        run_id="r-agent",
    )
    assert result.status == "ok", result.detail
    assert seen[1]["last"] == {"query": "fern", "hits": ["fern-1", "fern-2"]}
    assert [e["tool"] for e in keyed(http_mcp.log, "r-agent:")] == ["search"]


def test_the_key_is_identical_across_a_retried_attempt(snap: Snapshot, stdio: McpServer, mcp_log: Path) -> None:
    dep = deploy(call(mcp("research", "crash_once")), snap, capabilities=_grants("crash_once"))
    result = dep.dry_run({"note": "n"}, mcp_servers=[stdio], run_id="r-retry")
    assert result.status == "ok", result.detail
    assert result.value == {"note": "n", "attempts": 2}
    entries = read_log(mcp_log)
    assert [e["meta"][KEY] for e in entries] == ["r-retry:$", "r-retry:$"]
    assert entries[0]["pid"] != entries[1]["pid"]  # the broken transport was reopened


def test_a_write_whose_reply_was_lost_is_never_repeated(snap: Snapshot, stdio: McpServer, mcp_log: Path) -> None:
    # unasserted MCP tools are write/none: exactly one attempt
    dep = deploy(call(mcp("research", "crash_write")), snap, capabilities={"mcp_servers": {"research": "*"}})
    result = dep.dry_run({"note": "once"}, mcp_servers=[stdio], run_id="r-lost")
    assert result.status == "failed"
    assert isinstance(result.error, ToolUnavailable)
    assert [e["tool"] for e in read_log(mcp_log)] == ["crash_write"]


def test_is_error_is_not_retried_even_when_retries_are_allowed(snap: Snapshot, stdio: McpServer, mcp_log: Path) -> None:
    dep = deploy(call(mcp("research", "fail")), snap, capabilities=_grants("fail"))
    result = dep.dry_run({"reason": "no"}, mcp_servers=[stdio], run_id="r-fail")
    assert result.status == "failed"
    assert isinstance(result.error, ToolRejected)
    assert "refused: no" in str(result.error)
    assert [e["tool"] for e in read_log(mcp_log)] == ["fail"]


def test_a_schema_changed_after_the_snapshot_stops_the_run_before_the_call(
    snap: Snapshot, mcp_log: Path
) -> None:
    changed = stdio_server(mcp_log, CA_MCP_VARIANT="v2")
    dep = deploy(call(mcp("research", "search")), snap, capabilities=_grants("search"))
    result = dep.dry_run({"query": "x", "limit": 1}, mcp_servers=[changed], run_id="r-drift")
    assert result.status == "failed"
    assert isinstance(result.error, ToolDefinitionMismatch)
    assert read_log(mcp_log) == []


async def test_a_fake_wins_and_a_ready_caller_is_accepted(snap: Snapshot, stdio: McpServer, mcp_log: Path) -> None:
    dep = deploy(call(mcp("research", "search")) >> call(mcp("research", "echo_text")), snap,
                 capabilities=_grants("search", "echo_text"))
    async with mcp_caller([stdio]) as caller:
        result = await dep.arun(
            {"query": "x"},
            tools={"research/search": lambda v: {"text": "faked"}},
            mcp_servers=caller,
            run_id="r-fake",
        )
        assert caller.opened == 1
    assert result.status == "ok", result.detail
    assert result.value == "echo: faked"
    assert [e["tool"] for e in read_log(mcp_log)] == []  # echo_text logs nothing; search was faked


def test_a_local_run_checks_the_pins_again_when_it_connects(snap: Snapshot, mcp_log: Path) -> None:
    from composable_agents.errors import CapabilityDenied

    downgraded = stdio_server(mcp_log, CA_MCP_VERSION="1.1.0")  # frozen at 1.4.0, now serving 1.1.0
    dep = deploy(call(mcp("research", "search")), snap, capabilities=_grants("search"))
    result = dep.dry_run({"query": "x"}, mcp_servers=[downgraded], run_id="r-pin")
    assert result.status == "failed"
    assert isinstance(result.error, CapabilityDenied)
    assert "version 1.1.0" in str(result.error)
    assert read_log(mcp_log) == []
