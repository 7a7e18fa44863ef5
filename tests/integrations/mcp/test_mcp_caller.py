"""Snapshots and the pooled caller against the real test server, over stdio and streamable HTTP.

Tests that need no fresh server process share one stdio caller (``shared``, module scope) and
tell their calls apart by idempotency key; the others (a crash, a changed schema, pins, the
concurrency bound) start their own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from mcp_fixtures import HttpMcp, keyed, read_log, stdio_server

from composable_agents.compiler.snapshot import Snapshot
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
    McpCaller,
    McpServer,
    asnapshot_from_servers,
    mcp_caller,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

TOOLS = {"search", "record", "fail", "crash_once", "crash_write", "echo_text", "echo_json", "sleepy"}


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


@pytest.fixture(scope="module")
def shared_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp-shared") / "calls.jsonl"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(shared_log: Path) -> AsyncIterator[McpCaller]:
    """One pooled stdio caller for the tests that need no fresh server process."""
    async with mcp_caller([stdio_server(shared_log)]) as caller:
        yield caller


async def test_snapshot_over_stdio_lists_tools_schemas_annotations_and_version(snap: Snapshot) -> None:
    _check_snapshot(snap)  # the session's snapshot_from_servers([stdio server])


async def test_snapshot_over_http_matches_the_stdio_one(snap: Snapshot, http_mcp: HttpMcp) -> None:
    over_http = await asnapshot_from_servers([http_mcp.server])
    _check_snapshot(over_http)
    assert over_http.digest() == snap.digest()


async def test_server_configuration_is_checked() -> None:
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
    transport: str, shared: McpCaller, shared_log: Path, request: pytest.FixtureRequest
) -> None:
    if transport == "stdio":
        call, log = shared, shared_log
    else:
        running: HttpMcp = request.getfixturevalue("http_mcp")
        call, log = mcp_caller([running.server]), running.log
    run = f"meta-{transport}"
    first = await call("research", "record", {"note": "a"}, f"{run}:$.0", principal={"tenant": "acme"})
    for i in range(5):
        await call("research", "search", {"query": f"q{i}"}, f"{run}:$.{i + 1}")
    assert call.opened == 1
    if call is not shared:
        await call.aclose()
    assert first["stored"] == "a"
    entries = keyed(log, f"{run}:")
    assert entries[0]["meta"] == {IDEMPOTENCY_META: f"{run}:$.0", PRINCIPAL_META: {"tenant": "acme"}}
    assert [e["meta"][IDEMPOTENCY_META] for e in entries[1:]] == [f"{run}:$.{i + 1}" for i in range(5)]
    assert len({e["pid"] for e in entries}) == 1  # no new process (or server) per call


async def test_is_error_is_a_non_retryable_rejection(shared: McpCaller, shared_log: Path) -> None:
    with pytest.raises(ToolRejected, match="refused: nope") as info:
        await shared("research", "fail", {"reason": "nope"}, "iserr:1")
    assert info.value.non_retryable
    # the session survives a tool failure
    assert (await shared("research", "search", {"query": "x"}, "iserr:2"))["query"] == "x"
    assert shared.opened == 1
    assert [e["tool"] for e in keyed(shared_log, "iserr:")] == ["fail", "search"]


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


async def test_replies_become_values_structured_then_json_text_then_text(shared: McpCaller) -> None:
    assert await shared("research", "search", {"query": "z"}, "k") == {"query": "z", "hits": ["z-1", "z-2"]}
    assert await shared("research", "echo_json", {"text": "hi"}, "k") == {"echo": "hi"}
    assert await shared("research", "echo_text", {"text": "hi"}, "k") == "echo: hi"


async def test_a_changed_tool_schema_is_refused_before_the_call(snap: Snapshot, mcp_log: Path) -> None:
    changed = stdio_server(mcp_log, CA_MCP_VARIANT="v2")
    async with mcp_caller([changed], snapshot=snap) as call:
        with pytest.raises(ToolDefinitionMismatch, match="inputSchema differ") as info:
            await call("research", "search", {"query": "x", "limit": 1}, "k")
        assert info.value.non_retryable
        # the unchanged tools still work on the same server
        assert (await call("research", "record", {"note": "ok"}, "k2"))["stored"] == "ok"
        # with the frozen definition passed per call (as workers do), the same check applies
        with pytest.raises(ToolDefinitionMismatch):
            await call("research", "search", {"query": "x", "limit": 1}, "k", definition=snap["research/search"])
        with pytest.raises(ToolDefinitionMismatch, match="no longer lists"):
            await call("research", "gone", {}, "k", definition=snap["research/search"].definition_json())
        assert call.opened == 1
    assert [e["tool"] for e in read_log(mcp_log)] == ["record"]  # search never reached the server


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
        assert call.opened == 0  # refused before connecting: no process was started


def _max_in_flight(entries: list[dict[str, Any]]) -> int:
    running = peak = 0
    sleeps = (e for e in entries if e["tool"] == "sleepy")
    for e in sorted(sleeps, key=lambda e: (e["args"]["t"], e["args"]["phase"] == "start")):
        running += 1 if e["args"]["phase"] == "start" else -1
        peak = max(peak, running)
    return peak


async def test_concurrency_per_server_is_bounded(mcp_log: Path, shared: McpCaller, shared_log: Path) -> None:
    import asyncio

    async with mcp_caller([stdio_server(mcp_log)], max_concurrency=2) as call:
        await call("research", "echo_text", {"text": "warm"}, "k")  # connect first: the calls share one session
        replies = await asyncio.gather(*(call("research", "sleepy", {"ms": 300}, f"c2:{i}") for i in range(6)))
        assert call.opened == 1
    assert replies == [{"slept": 300}] * 6
    assert _max_in_flight(read_log(mcp_log)) == 2
    # the default bound (16) lets all six run at once on the one session
    await asyncio.gather(*(shared("research", "sleepy", {"ms": 300}, f"c16:{i}") for i in range(6)))
    assert _max_in_flight(keyed(shared_log, "c16:")) == 6
    assert shared.opened == 1


async def test_an_unreachable_server_is_transient_with_the_real_cause() -> None:
    from mcp_fixtures import free_port

    gone = McpServer("gone", url=f"http://127.0.0.1:{free_port()}/mcp", timeout_s=5)
    async with mcp_caller([gone]) as call:
        with pytest.raises(ToolUnavailable, match="could not be reached: ConnectError") as info:
            await call("gone", "search", {}, "k")
        assert not info.value.non_retryable
        assert call.opened == 0


async def test_an_http_server_restart_gets_a_new_session_without_repeating_the_call(tmp_path: Path) -> None:
    running = HttpMcp(tmp_path / "restart.jsonl")
    try:
        async with mcp_caller([running.server]) as call:
            assert (await call("research", "record", {"note": "before"}, "rs:1"))["stored"] == "before"
            running.restart()  # a new process on the same port knows nothing of our session
            after = await call("research", "record", {"note": "after"}, "rs:2")
            assert call.opened == 2
        assert after["stored"] == "after"
        entries = keyed(running.log, "rs:")
        assert [e["meta"][IDEMPOTENCY_META] for e in entries] == ["rs:1", "rs:2"]  # each call ran once
        assert entries[0]["pid"] != entries[1]["pid"]
    finally:
        running.stop()
