"""Durable runs on a real Temporal dev server: parity with ``dry_run``, history shape, policy failures.

One worker (module scope) hosts ``FlowWorkflow`` on its own task queue with a
fake LLM; each test runs flows through the public client API and compares
with the local interpreter run. Failure tests assert the run fails *quickly*
with a named, non-retryable error and that no workflow task was retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import io
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("temporalio", reason="the Temporal tests need temporalio: pip install 'composable-agents[temporal]'")

import pytest_asyncio
from temporalio.api.enums.v1 import EventType

from composable_agents import Ann, alt, arr, deploy, each, iter_up_to, pure, sub, think, tool
from composable_agents.authoring.derived import human_gate, race
from composable_agents.authoring.leaves import Reasoner
from composable_agents.core.pures import DEFAULT_REGISTRY, Registry
from composable_agents.temporal.artifact import ArtifactTooLarge
from composable_agents.temporal.client import run_deployment, start_deployment
from composable_agents.temporal.devserver import DevServer
from composable_agents.temporal.worker import build_worker

pytestmark = pytest.mark.asyncio(loop_scope="module")

ROOT = Path(__file__).resolve().parents[2]
TASK_QUEUE = "ca-tests-durable"


def _load(name: str, path: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with contextlib.redirect_stdout(io.StringIO()):
        spec.loader.exec_module(module)
    return module


golden = _load("ca_golden_fixtures", ROOT / "tests" / "golden" / "fixtures.py")
quickstart = _load("quickstart", ROOT / "examples" / "quickstart.py")

# -- flows of this module (unique ``t8`` names) ------------------------------------------


@pure("t8.inc")
def t8_inc(n: int) -> int:
    return n + 1


@pure("t8.small")
def t8_small(n: int) -> bool:
    return n < 3


@pure("t8.long_enough")
def t8_long_enough(text: str) -> bool:
    return len(text) >= 12


@pure("t8.prompt")
def t8_prompt(ticket: dict[str, str]) -> str:
    return f"Reply to {ticket['id']}"


KEYS: list[str] = []
ATTEMPTS: dict[str, int] = {}


@tool(name="t8_lookup", effect="read", idempotent=True)
async def t8_lookup(ticket_id: str) -> dict[str, str]:
    return {"id": ticket_id}


@tool(name="t8_flaky", effect="read", idempotent=True, ann=Ann(retry_interval_s=0.05, max_attempts=3))
def t8_flaky(value: str, *, idempotency_key: str) -> str:
    KEYS.append(idempotency_key)
    ATTEMPTS[idempotency_key] = ATTEMPTS.get(idempotency_key, 0) + 1
    if ATTEMPTS[idempotency_key] < 2:
        raise ConnectionError("transient")
    return value.upper()


@tool(name="t8_write")
def t8_write(value: str) -> str:
    ATTEMPTS["t8_write"] = ATTEMPTS.get("t8_write", 0) + 1
    raise ConnectionError("the write failed")


T8_REPLY = Reasoner("t8_reply", "fake", reply=str)

# A tool the worker does not have, and one whose body differs on the worker.
ELSEWHERE = Registry()


@tool(name="t8_elsewhere", effect="read", registry=ELSEWHERE)
def t8_elsewhere(value: str) -> str:
    return value


@tool(name="t8_changed", effect="read", registry=ELSEWHERE)
def t8_changed_v1(value: str) -> str:
    return value + " v1"


def _changed_v2(value: str) -> str:
    return value + " v2 (edited on the worker)"


T8_CHANGED_ON_WORKER = tool(name="t8_changed", effect="read", registry=Registry())(_changed_v2)

FAKES: dict[str, Callable[[Any], Any]] = {
    "golden_writer": lambda v: f"draft: {v}",
    "golden_triage": lambda v: {"triage": v},
    "support_reply": quickstart.fake_support_reply,
    "t8_reply": lambda v: f"[t8] {v}",
}


async def fake_llm(reasoner: Any, value: Any) -> Any:
    return FAKES[reasoner.name](value)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def env(temporal_server: DevServer) -> AsyncIterator[Any]:
    client = await temporal_server.client()
    worker = build_worker(client, task_queue=TASK_QUEUE, llm=fake_llm, tools=[T8_CHANGED_ON_WORKER])
    async with worker:
        yield client


def _sid(name: str) -> str:
    return f"t8-{name}-{uuid.uuid4().hex[:10]}"


async def _both(client: Any, deployment: Any, value: Any, **kw: Any) -> tuple[Any, Any]:
    local = deployment.dry_run(value, reasoners=FAKES)
    durable = await run_deployment(deployment, client, session_id=_sid("run"), input=value, task_queue=TASK_QUEUE, **kw)
    return local, durable


def _assert_parity(local: Any, durable: Any) -> None:
    assert durable.status == local.status, (durable.status, durable.detail, local.detail)
    if local.ok:
        assert durable.raw_value == local.raw_value
        # Same key order too: dicts keep insertion order across activities and workflows (SPEC §2).
        assert json.dumps(durable.raw_value) == json.dumps(local.raw_value)
    else:
        assert durable.detail["error"] == local.detail["error"]
        assert durable.detail["message"] == local.detail["message"]
    assert durable.projection.comparable() == local.projection.comparable()


async def _history(client: Any, workflow_id: str) -> Any:
    return await client.get_workflow_handle(workflow_id).fetch_history()


def _no_task_retries(history: Any) -> None:
    failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert not failed, "a workflow task failed (it would be retried forever)"


# -- parity ---------------------------------------------------------------------------------

GOLDEN_INPUTS: list[tuple[str, Any]] = [
    ("simple_pipeline", "  Hello   World "),
    ("fan_out", "q"),
    ("switch", {"kind": "refund", "urgent": True}),
    ("switch", {"kind": "refund", "urgent": False}),
    ("switch", {"kind": "question", "text": "hi"}),
    ("switch", {"kind": "other"}),
    ("iter", "Hi"),  # the corpus's `until` reads a record from a string: a failure, in parity
    ("sub_firewall", "Some  Text"),
]


@pytest.mark.parametrize(("name", "value"), GOLDEN_INPUTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(GOLDEN_INPUTS)])
async def test_golden_parity(env: Any, name: str, value: Any) -> None:
    local, durable = await _both(env, golden.deploy_fixture(name), value)
    _assert_parity(local, durable)


async def test_flow_parity_iter_each_sub_and_examples(env: Any) -> None:
    child = (think(T8_REPLY) >> arr("std.init", key="reply")).named("t8.child.v1")
    flows = [
        (iter_up_to(4, think(T8_REPLY), until="t8.long_enough"), "x"),
        (arr("std.pluck", key="ids") >> each(t8_lookup >> t8_prompt >> think(T8_REPLY), max_parallel=2), {"ids": ["a", "b", "c"]}),
        (each(t8_lookup, max_parallel=2), []),
        (t8_lookup >> t8_prompt >> sub(child), "T-9"),
        (quickstart.triage, "Customer was charged twice."),
        (quickstart.lookup_ticket >> quickstart.ticket_prompt >> think(quickstart.support_reply), "Charged twice"),
    ]
    for flow, value in flows:
        deployment = deploy(flow)
        local, durable = await _both(env, deployment, value)
        _assert_parity(local, durable)
        assert durable.ok


async def test_continue_as_new_parity(env: Any) -> None:
    flow = alt("t8.small", arr("t8.inc") >> arr("std.continue_with"), arr("std.init", key="done"))
    deployment = deploy(flow)
    local, durable = await _both(env, deployment, 0)
    _assert_parity(local, durable)
    assert durable.raw_value == {"done": 3}
    assert durable.segments == local.segments == 4


async def test_sub_runs_as_a_child_workflow(env: Any) -> None:
    deployment = golden.deploy_fixture("sub_firewall")
    sid = _sid("sub")
    result = await run_deployment(deployment, env, session_id=sid, input="A  b", task_queue=TASK_QUEUE)
    assert result.ok
    history = await _history(env, sid)
    kinds = [e.event_type for e in history.events]
    assert EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED in kinds


# -- no bookkeeping ----------------------------------------------------------------------------


async def test_three_step_flow_has_the_hand_written_event_count(env: Any) -> None:
    deployment = deploy(t8_lookup >> t8_prompt >> think(T8_REPLY))
    for hosted in (False, True):
        sid = _sid("events")
        handle = await start_deployment(
            deployment, env, session_id=sid, input="T-1", task_queue=TASK_QUEUE, hosted=hosted
        )
        if hosted:  # this worker does not host the deployment: a clear, non-retryable failure
            result = await handle.result()
            assert result.status == "failed" and result.detail["error"] == "ArtifactNotHosted"
            continue
        result = await handle.result()
        assert result.raw_value == "[t8] Reply to T-1"
        history = await _history(env, sid)
        # started + 3 x (workflow task scheduled/started/completed) + 2 x (activity scheduled/started/completed) + completed
        assert len(history.events) == 17
        scheduled = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED]
        names = [e.activity_task_scheduled_event_attributes.activity_type.name for e in scheduled]
        assert names == ["callTool", "invokeReasoner"]


# -- retries and idempotency keys ----------------------------------------------------------------


async def test_retry_safe_tool_retries_with_one_idempotency_key(env: Any) -> None:
    KEYS.clear()
    ATTEMPTS.clear()
    sid = _sid("flaky")
    result = await run_deployment(deploy(t8_flaky), env, session_id=sid, input="ok", task_queue=TASK_QUEUE)
    assert result.raw_value == "OK"
    assert KEYS == [f"{sid}:$", f"{sid}:$"]


async def test_unsafe_write_gets_exactly_one_attempt(env: Any) -> None:
    ATTEMPTS.clear()
    result = await run_deployment(deploy(t8_write), env, session_id=_sid("write"), input="x", task_queue=TASK_QUEUE)
    assert result.status == "failed"
    assert ATTEMPTS["t8_write"] == 1
    assert "the write failed" in result.detail.get("cause", result.detail["message"])


# -- policy failures: clear and non-retryable -----------------------------------------------------


async def _fails_fast(client: Any, deployment: Any, error: str, **kw: Any) -> Any:
    sid = _sid(error)
    kw.setdefault("task_queue", TASK_QUEUE)
    t0 = time.monotonic()
    result = await asyncio.wait_for(run_deployment(deployment, client, session_id=sid, input="v", **kw), 20)
    assert time.monotonic() - t0 < 10
    assert result.status == "failed"
    assert result.detail["error"] == error, result.detail
    _no_task_retries(await _history(client, sid))
    return result


async def test_worker_missing_a_tool_fails_clearly(env: Any) -> None:
    deployment = deploy(t8_elsewhere, tools=[t8_elsewhere], registry=ELSEWHERE)
    result = await _fails_fast(env, deployment, "ToolNotFound")
    assert "t8_elsewhere" in result.detail["cause"]


async def test_tool_definition_drift_fails_clearly(env: Any) -> None:
    deployment = deploy(t8_changed_v1, tools=[t8_changed_v1], registry=ELSEWHERE)
    result = await _fails_fast(env, deployment, "ToolDefinitionMismatch")
    assert "t8_changed" in result.detail["cause"]


async def test_changed_pure_body_is_pure_drift(temporal_server: DevServer, env: Any) -> None:
    authored = Registry()
    pure("t8.drifting", registry=authored)(lambda s: s + "!")
    deployment = deploy(arr("t8.drifting"), registry=authored)
    edited = DEFAULT_REGISTRY.copy()

    def drifting(s: str) -> str:
        return s + "?"

    edited.register_pure("t8.drifting", drifting)
    queue = "ca-tests-drift"
    async with build_worker(env, task_queue=queue, registry=edited, llm=fake_llm):
        result = await _fails_fast(env, deployment, "PureDriftError", task_queue=queue)
    assert "t8.drifting" in result.detail["message"]


async def test_oversized_artifact_is_refused(env: Any) -> None:
    big = os.urandom(1_300_000).hex()  # hex of random bytes compresses about 2:1
    deployment = deploy(arr("std.init", key=big) >> arr("std.pluck", key=big))
    with pytest.raises(ArtifactTooLarge, match="inline limit"):
        await run_deployment(deployment, env, session_id=_sid("big"), input=1, task_queue=TASK_QUEUE)
    # Sent by hash to a worker that does not host it: a clear, non-retryable failure.
    await _fails_fast(env, deployment, "ArtifactNotHosted", hosted=True)


async def test_hosted_deployment_runs_by_hash(env: Any) -> None:
    deployment = deploy(t8_elsewhere, tools=[t8_elsewhere], registry=ELSEWHERE)
    queue = "ca-tests-hosted"
    async with build_worker(env, task_queue=queue, deployments=[deployment], llm=fake_llm):
        result = await run_deployment(deployment, env, session_id=_sid("hosted"), input="hi", task_queue=queue, hosted=True)
    assert result.raw_value == "hi"


# -- gates and races ------------------------------------------------------------------------------


async def test_human_gate_signal_and_timeout(env: Any) -> None:
    deployment = deploy(human_gate("ship it?") >> arr("std.init", key="shipped"))
    handle = await start_deployment(deployment, env, session_id=_sid("gate"), input="v1", task_queue=TASK_QUEUE)
    for _ in range(200):
        gates = await handle.open_gates()
        if gates:
            break
        await asyncio.sleep(0.02)
    assert gates == ["$.0"]
    await handle.submit_human("$.0", approved=True, by="ana")
    result = await handle.result()
    assert result.raw_value == {"shipped": "v1"}
    timed = deploy(human_gate("ship it?", timeout_s=0.5) >> arr("std.init", key="shipped"))
    result = await run_deployment(timed, env, session_id=_sid("gate-timeout"), input="v2", task_queue=TASK_QUEUE)
    assert result.status == "timeout"
    assert result.detail["input"] == "v2" and result.detail["approved"] is False


async def test_race_settles_on_a_success(env: Any) -> None:
    deployment = deploy(race(t8_lookup, t8_lookup >> arr("std.pluck", key="id") >> t8_lookup))
    result = await run_deployment(deployment, env, session_id=_sid("race"), input="r", task_queue=TASK_QUEUE)
    assert result.raw_value == {"id": "r"}
    (event,) = [e for e in result.projection.events if e["op"] == "par"]
    assert event["merge"] == "race"


# -- limits across a child workflow ------------------------------------------------------------


@tool(name="t8_counted", effect="read", idempotent=True)
def t8_counted(value: str) -> str:
    return value + "."


T8_COUNTED_CHILD = (t8_counted >> t8_counted).named("t8.counted.child.v1")


def _counted(limit: int) -> Any:
    caps = {
        "tools": [{"name": "t8_counted", "effect": "read", "idempotency": "native", "maxCalls": limit}],
        "subflows": ["t8.counted.child.v1"],
    }
    return deploy(t8_counted >> sub(T8_COUNTED_CHILD), capabilities=caps)


@pytest.mark.parametrize(
    "limit",
    [
        2,
        3,
    ],
)
async def test_max_calls_cross_the_child_workflow(env: Any, limit: int) -> None:
    local, durable = await _both(env, _counted(limit), "a")
    _assert_parity(local, durable)
    assert durable.usage == local.usage


# -- HTTP and MCP tools, principals -------------------------------------------------------------


async def test_http_and_mcp_tools_get_the_idempotency_key_and_principal(env: Any) -> None:
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from composable_agents import mcp, snapshot_from_listings
    from composable_agents.authoring.kernel import call, native
    from composable_agents.authoring.leaves import ToolContract, ToolDef
    from composable_agents.core.kinds import Effect, Idempotency

    seen: list[tuple[str, Any, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append(("http", self.headers["Idempotency-Key"], json.loads(self.headers["X-Principal"])))
            data = json.dumps({"echo": body}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            return

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    async def mcp_call(server: str, tool_name: str, value: Any, idempotency_key: str, *, principal: Any = None) -> Any:
        seen.append(("mcp", idempotency_key, principal))
        return {"server": server, "tool": tool_name, "value": value}

    http_tool = ToolDef(key="t8_http", contract=ToolContract(effect=Effect.READ, idempotency=Idempotency.NATIVE), kind="native")
    snapshot = snapshot_from_listings({"t8srv": {"lookup": {"inputSchema": {}}}})
    deployment = deploy(call(native("t8_http")) >> call(mcp("t8srv", "lookup")), snapshot, tools=[http_tool])
    queue = "ca-tests-remote-tools"
    url = f"http://127.0.0.1:{httpd.server_address[1]}/t8_http"
    try:
        async with build_worker(env, task_queue=queue, tool_urls={"t8_http": url}, mcp_call=mcp_call):
            sid = _sid("remote")
            result = await run_deployment(
                deployment, env, session_id=sid, input={"q": 1}, task_queue=queue, principal={"tenant": "acme"}
            )
    finally:
        httpd.shutdown()
    assert result.status == "ok", result.detail
    assert result.raw_value == {"server": "t8srv", "tool": "lookup", "value": {"echo": {"q": 1}}}
    assert seen == [("http", f"{sid}:$.0", {"tenant": "acme"}), ("mcp", f"{sid}:$.1", {"tenant": "acme"})]


@tool(name="t8_slow", effect="read", idempotent=True)
async def t8_slow(value: str) -> str:
    await asyncio.sleep(4.0)  # well past the dev server's ~1 s timer granularity
    return "slow " + value


@tool(name="t8_broken", effect="read", idempotent=True, ann=Ann(max_attempts=1))
def t8_broken(value: str) -> str:
    raise ConnectionError("down")


@tool(name="t8_fast", effect="read", idempotent=True)
def t8_fast(value: str) -> str:
    return "fast " + value


async def test_hedge_starts_the_next_branch_on_a_durable_timer_or_a_failure(env: Any) -> None:
    from composable_agents.authoring.derived import hedge

    sid = _sid("hedge")
    deployment = deploy(hedge(t8_slow, t8_fast, hedge_ms=200))
    result = await run_deployment(deployment, env, session_id=sid, input="h", task_queue=TASK_QUEUE)
    assert result.raw_value == "fast h"
    (event,) = [e for e in result.projection.events if e["op"] == "par"]
    assert event["winner"] == 1 and event["cancelled"] == [0]
    kinds = [e.event_type for e in (await _history(env, sid)).events]
    assert EventType.EVENT_TYPE_TIMER_FIRED in kinds
    # A failed first branch starts the next one at once (no timer needed), in parity with dry_run.
    local, durable = await _both(env, deploy(hedge(t8_broken, t8_fast, hedge_ms=60_000)), "h")
    _assert_parity(local, durable)
    assert durable.raw_value == "fast h"


# -- an agent loop inside a flow -------------------------------------------------------------


T8_CONTROLLER = Reasoner("t8_controller", "fake")


def _controller(view: Any) -> Any:
    if view["last"] is None:
        return {"action": "call", "tool": "t8_lookup", "input": view["input"]}
    if "reply" not in str(view["last"]):
        return {"action": "sub", "flow": "t8.agent.child.v1", "input": "agent"}
    return {"action": "finish", "value": {"trace": len(view["trace"]), "last": view["last"]}}


FAKES["t8_controller"] = _controller
T8_AGENT_CHILD = (think(T8_REPLY) >> arr("std.init", key="reply")).named("t8.agent.child.v1")


async def test_app_loop_parity(env: Any) -> None:
    from composable_agents import app

    flow = app(T8_CONTROLLER, tools=[t8_lookup], subflows=[T8_AGENT_CHILD], max_rounds=5)
    local, durable = await _both(env, deploy(flow), "T-3")
    _assert_parity(local, durable)
    assert durable.ok and durable.raw_value["trace"] == 2


T8_PLANNER = Reasoner("t8_planner", "fake")
FAKES["t8_planner"] = lambda value: {
    "op": "seq",
    "steps": [
        {"op": "arr", "pure": "std.pluck", "args": {"key": "id"}},
        {"op": "prim", "step": {"kind": "call", "tool": "t8_lookup"}},
    ],
}


async def test_staged_plan_compiles_in_the_workflow(env: Any) -> None:
    from composable_agents import stage

    local, durable = await _both(env, deploy(t8_lookup >> stage(T8_PLANNER)), "T-4")
    _assert_parity(local, durable)
    assert durable.raw_value == {"id": "T-4"}


@tool(effect="read", idempotent=True)
def t8_unsorted(record: dict[str, Any]) -> dict[str, Any]:
    return {"zeta": 1, "alpha": 2, **record}


@pure("t8.unsorted_merge")
def t8_unsorted_merge(record: dict[str, Any]) -> dict[str, Any]:
    return {"mid": 0, **record}


async def test_values_keep_insertion_order_across_the_server(env: Any) -> None:
    d = deploy(t8_unsorted >> t8_unsorted_merge, tools=[t8_unsorted])
    async with build_worker(env, task_queue=TASK_QUEUE + "-order", deployments=[d]):
        durable = await run_deployment(d, env, session_id=_sid("order"), input={"q": 1, "b": 2},
                                       task_queue=TASK_QUEUE + "-order")
    assert list(durable.raw_value) == ["mid", "zeta", "alpha", "q", "b"]
