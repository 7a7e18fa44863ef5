"""Snapshots and the pooled caller against the real test server, over stdio and streamable HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from mcp_fixtures import HttpMcp, read_log, stdio_server

from composable_agents.errors import (
    CapabilityDenied,
    CompositionError,
    ToolDefinitionMismatch,
    ToolRejected,
    ToolUnavailable,
)
from composable_agents.integrations.mcp import (
    IDEMPOTENCY_META,
    PRINCIPAL_META,
    McpServer,
    asnapshot_from_servers,
    mcp_caller,
    snapshot_from_servers,
)

TOOLS = {"search", "record", "fail", "crash_once", "crash_write", "echo_text", "echo_json"}


def _check_snapshot(snap: Any) -> None:
    assert set(snap.keys()) == {f"research/{t}" for t in TOOLS}
    search = snap["research/search"]
    assert search.kind == "mcp"
    assert search.server == "research"
    assert search.server_version == "1.4.0"
    assert search.description == "Search the (fake) corpus."
    assert search.contract.input_schema["properties"]["query"]["type"] == "string"
    assert search.contract.input_schema["required"] == ["query"]
    assert search.contract.output_schema["type"] == "object"
    assert search.annotations == {"readOnlyHint": True}
    # hints are untrusted: an unasserted MCP tool is write / none whatever it claims
    assert str(search.contract.effect) == "write"
    assert str(search.contract.idempotency) == "none"
    assert snap["research/echo_text"].contract.output_schema == {}


def test_snapshot_over_stdio_lists_tools_schemas_annotations_and_version(stdio: McpServer) -> None:
    _check_snapshot(snapshot_from_servers([stdio]))


async def test_snapshot_over_http_matches_the_stdio_one(stdio: McpServer, http_mcp: HttpMcp) -> None:
    over_http = await asnapshot_from_servers([http_mcp.server])
    _check_snapshot(over_http)
    over_stdio = await asnapshot_from_servers([stdio])
    assert over_http.digest() == over_stdio.digest()


def test_server_configuration_is_checked() -> None:
    with pytest.raises(CompositionError, match="exactly one of command"):
        McpServer("x")
    with pytest.raises(CompositionError, match="exactly one of command"):
        McpServer("x", command="python", url="http://127.0.0.1:1/mcp")
    with pytest.raises(CompositionError, match="without '/'"):
        McpServer("a/b", command="python")
    with pytest.raises(CompositionError, match="two MCP servers"):
        mcp_caller([McpServer("x", command="a"), McpServer("x", command="b")])
    secret = McpServer("x", url="http://127.0.0.1:1/mcp", headers={"Authorization": "Bearer sk-live-123"})
    assert "sk-live" not in repr(secret)


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_meta_carries_key_and_principal_and_one_session_serves_many_calls(
    transport: str, mcp_log: Path, http_mcp: HttpMcp
) -> None:
    server, log = (stdio_server(mcp_log), mcp_log) if transport == "stdio" else (http_mcp.server, http_mcp.log)
    async with mcp_caller([server]) as call:
        first = await call("research", "record", {"note": "a"}, "run-1:$.0", principal={"tenant": "acme"})
        for i in range(5):
            await call("research", "search", {"query": f"q{i}"}, f"run-1:$.{i + 1}")
        assert call.opened == 1
    assert first == {"stored": "a", "count": 1}
    entries = read_log(log)
    assert entries[0]["meta"] == {IDEMPOTENCY_META: "run-1:$.0", PRINCIPAL_META: {"tenant": "acme"}}
    assert [e["meta"][IDEMPOTENCY_META] for e in entries[1:]] == [f"run-1:$.{i + 1}" for i in range(5)]
    assert len({e["pid"] for e in entries}) == 1  # no new process (or server) per call


async def test_is_error_is_a_non_retryable_rejection(stdio: McpServer, mcp_log: Path) -> None:
    async with mcp_caller([stdio]) as call:
        with pytest.raises(ToolRejected, match="refused: nope") as info:
            await call("research", "fail", {"reason": "nope"}, "k-fail")
        assert info.value.non_retryable
        # the session survives a tool failure
        assert (await call("research", "search", {"query": "x"}, "k2"))["query"] == "x"
        assert call.opened == 1
    assert [e["tool"] for e in read_log(mcp_log)] == ["fail", "search"]


async def test_a_broken_transport_is_transient_and_the_next_call_reconnects(stdio: McpServer, mcp_log: Path) -> None:
    async with mcp_caller([stdio]) as call:
        with pytest.raises(ToolUnavailable) as info:
            await call("research", "crash_once", {"note": "n"}, "k-crash")
        assert not info.value.non_retryable
        again = await call("research", "crash_once", {"note": "n"}, "k-crash")
        assert again == {"note": "n", "attempts": 2}
        assert call.opened == 2
    entries = read_log(mcp_log)
    assert [e["meta"][IDEMPOTENCY_META] for e in entries] == ["k-crash", "k-crash"]
    assert entries[0]["pid"] != entries[1]["pid"]  # a fresh server process after the crash


async def test_replies_become_values_structured_then_json_text_then_text(stdio: McpServer) -> None:
    async with mcp_caller([stdio]) as call:
        assert await call("research", "search", {"query": "z"}, "k") == {"query": "z", "hits": ["z-1", "z-2"]}
        assert await call("research", "echo_json", {"text": "hi"}, "k") == {"echo": "hi"}
        assert await call("research", "echo_text", {"text": "hi"}, "k") == "echo: hi"


async def test_a_changed_tool_schema_is_refused_before_the_call(mcp_log: Path, tmp_path: Path) -> None:
    snap = await asnapshot_from_servers([stdio_server(tmp_path / "v1.jsonl")])
    changed = stdio_server(mcp_log, CA_MCP_VARIANT="v2")
    async with mcp_caller([changed], snapshot=snap) as call:
        with pytest.raises(ToolDefinitionMismatch, match="inputSchema differ") as info:
            await call("research", "search", {"query": "x", "limit": 1}, "k")
        assert info.value.non_retryable
        # the unchanged tools still work on the same server
        assert (await call("research", "record", {"note": "ok"}, "k2"))["stored"] == "ok"
    assert [e["tool"] for e in read_log(mcp_log)] == ["record"]  # search never reached the server
    # with the frozen definition passed per call (as workers do), the same check applies
    async with mcp_caller([changed]) as call:
        with pytest.raises(ToolDefinitionMismatch):
            await call("research", "search", {"query": "x", "limit": 1}, "k", definition=snap["research/search"])
        with pytest.raises(ToolDefinitionMismatch, match="no longer lists"):
            await call("research", "gone", {}, "k", definition=snap["research/search"].definition_json())


async def test_version_pins_are_checked_when_connecting(stdio: McpServer, mcp_log: Path) -> None:
    async with mcp_caller([stdio], pins={"research": ">=2"}) as call:
        with pytest.raises(CapabilityDenied, match=r"version 1\.4\.0.*'>=2'"):
            await call("research", "search", {"query": "x"}, "k")
    async with mcp_caller([stdio], pins={"research": ">=1.2,<2"}) as call:
        assert (await call("research", "search", {"query": "x"}, "k"))["query"] == "x"
    assert [e["tool"] for e in read_log(mcp_log)] == ["search"]


async def test_bad_arguments_and_unknown_servers_are_typed_errors(stdio: McpServer) -> None:
    from composable_agents.errors import StepTypeError

    async with mcp_caller([stdio]) as call:
        with pytest.raises(StepTypeError, match="object of tool arguments"):
            await call("research", "search", ["not", "an", "object"], "k")
        with pytest.raises(ToolRejected, match="no MCP server named 'other'"):
            await call("other", "search", {}, "k")
        assert call.opened == 0
