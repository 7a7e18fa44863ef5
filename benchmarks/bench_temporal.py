"""Durable overhead: our FlowWorkflow vs a hand-written temporalio workflow, one dev server.

Both sides run M concurrent executions of the same 3-step flow — a read-only
idempotent tool, an inline pure, a reasoner answered by a fake LLM — on one
embedded dev server, in one process, each with its own worker (sandboxed, same
settings). Reported: throughput (runs/s) and its ratio, history events per
run, and history bytes per run (protobuf size of all events).

    python benchmarks/bench_temporal.py [--runs 100] [--rounds 3]

Module import has no side effects (the sandbox re-imports the module that
defines ``HandWritten``); the composable flow is built inside ``main``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

# -- the hand-written side ------------------------------------------------------------


@activity.defn(name="hw_lookup_ticket")
async def hw_lookup_ticket(ticket_id: str) -> dict[str, str]:
    return {"id": ticket_id, "subject": f"Cannot log in ({ticket_id})"}


@activity.defn(name="hw_llm")
async def hw_llm(prompt: str) -> str:
    return f"[support_reply] {prompt}"


def hw_prompt(ticket: dict[str, str]) -> str:
    return f"Reply kindly to: {ticket['subject']}"


@workflow.defn(name="HandWrittenTriage")
class HandWritten:
    @workflow.run
    async def run(self, ticket_id: str) -> str:
        ticket = await workflow.execute_activity(
            hw_lookup_ticket,
            ticket_id,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
        prompt = hw_prompt(ticket)
        return await workflow.execute_activity(
            hw_llm,
            prompt,
            start_to_close_timeout=timedelta(seconds=60),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )


# -- the composable side (built at run time) --------------------------------------------


def build_deployment() -> Any:
    from composable_agents import Reasoner, deploy, pure, think, tool

    @tool(name="bench_lookup_ticket", effect="read", idempotent=True)
    async def lookup_ticket(ticket_id: str) -> dict[str, str]:
        return {"id": ticket_id, "subject": f"Cannot log in ({ticket_id})"}

    @pure("bench_ticket_prompt")
    def ticket_prompt(ticket: dict[str, str]) -> str:
        return f"Reply kindly to: {ticket['subject']}"

    reply = Reasoner("bench_support_reply", model="fake", reply=str)
    return deploy(lookup_ticket >> ticket_prompt >> think(reply), tools=[lookup_ticket], reasoners=[reply])


async def fake_llm(reasoner: Any, value: Any) -> str:
    return f"[{reasoner.name}] {value}"


# -- measuring ------------------------------------------------------------------------


async def history_stats(client: Any, workflow_id: str) -> tuple[int, int]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events), sum(e.ByteSize() for e in history.events)


async def timed(runs: int, start_one: Any) -> tuple[float, list[str]]:
    ids = [uuid.uuid4().hex for _ in range(runs)]
    t0 = time.perf_counter()
    await asyncio.gather(*(start_one(i) for i in ids))
    return time.perf_counter() - t0, ids


async def main(runs: int, rounds: int) -> dict[str, Any]:
    from temporalio.worker import Worker

    from composable_agents.temporal.client import run_deployment
    from composable_agents.temporal.devserver import dev_server
    from composable_agents.temporal.worker import build_worker, workflow_runner

    deployment = build_deployment()
    out: dict[str, Any] = {"runs": runs, "rounds": rounds}
    async with dev_server() as server:
        client = await server.client()
        hw_worker = Worker(
            client,
            task_queue="bench-hand-written",
            workflows=[HandWritten],
            activities=[hw_lookup_ticket, hw_llm],
            workflow_runner=workflow_runner([__name__]),
        )
        ca_worker = build_worker(client, task_queue="bench-composable", llm=fake_llm, deployments=[deployment])

        async def hw_one(wid: str) -> None:
            result = await client.execute_workflow(
                HandWritten.run, wid[:8], id=f"hw-{wid}", task_queue="bench-hand-written"
            )
            assert result.startswith("[support_reply]"), result

        async def ca_one(wid: str, **kw: Any) -> None:
            result = await run_deployment(
                deployment, client, session_id=f"ca-{wid}", input=wid[:8], task_queue="bench-composable", **kw
            )
            assert result.ok and result.raw_value.startswith("[bench_support_reply]"), result

        async def ca_hosted(wid: str) -> None:
            await ca_one(wid, hosted=True, projection=False)

        times: dict[str, list[float]] = {"hand_written": [], "composable": [], "composable_hosted": []}
        last_ids: dict[str, str] = {}
        async with hw_worker, ca_worker:
            # Warm both sides (sandbox module caches, artifact preparation).
            await timed(5, hw_one)
            await timed(5, ca_one)
            sides = [
                ("hand_written", hw_one, "hw-"),
                ("composable", ca_one, "ca-"),
                ("composable_hosted", ca_hosted, "ca-"),
            ]
            for r in range(rounds):
                # Rotate the order each round so no side always runs first (shared-CPU noise).
                for name, fn, prefix in sides[r % 3 :] + sides[: r % 3]:
                    seconds, ids = await timed(runs, fn)
                    times[name].append(seconds)
                    last_ids[name] = prefix + ids[0]
            for name, seconds_list in times.items():
                best = min(seconds_list)
                events, size = await history_stats(client, last_ids[name])
                out[name] = {
                    "throughput_runs_per_s": round(runs / best, 1),
                    "median_runs_per_s": round(runs / statistics.median(seconds_list), 1),
                    "history_events": events,
                    "history_bytes": size,
                }
    hw = out["hand_written"]
    for name in ("composable", "composable_hosted"):
        mine = out[name]
        mine["throughput_ratio"] = round(mine["median_runs_per_s"] / hw["median_runs_per_s"], 3)
        mine["best_throughput_ratio"] = round(mine["throughput_runs_per_s"] / hw["throughput_runs_per_s"], 3)
        mine["events_vs_hand_written"] = f"{mine['history_events']} vs {hw['history_events']}"
        mine["bytes_ratio"] = round(mine["history_bytes"] / hw["history_bytes"], 2)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_temporal  # the sandbox must re-import the workflow's module by a real name

    report = asyncio.run(bench_temporal.main(args.runs, args.rounds))
    print(json.dumps(report, indent=2))
    sys.stdout.flush()
    os._exit(0)
