"""``ca listen RUN_ID``: follow a durable run, printing each activation as the projection query shows it, until it closes.

Then the closed run is read back (``temporal.runs.fetch_run``), recorded in the
project's trace store, and its status printed; any status but ``ok`` exits 1.
Polls the ``projection`` query (a read, never part of the run's history) a
few times a second.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

from composable_agents.cli.common import (
    Address,
    Modules,
    PathOpt,
    connect,
    print_result,
    resolve_address,
)
from composable_agents.cli.console import FAILED, USAGE, abort, console

__all__ = ["follow_run", "listen"]


async def follow_run(address: str, run_id: str, *, interval_s: float = 0.2) -> tuple[Any, str | None]:
    """Print new activations of ``run_id`` until it closes; returns its ``Result`` and flow name."""
    from composable_agents.cli.live import indented_line
    from composable_agents.temporal.operate import RunNotFound, query_projection, run_is_open
    from composable_agents.temporal.runs import fetch_run

    client = await connect(address)
    seen: set[str] = set()

    async def show_new() -> None:
        doc = await query_projection(client, run_id)
        for event in (doc or {}).get("events", []):
            act = event.get("activation")
            if act in seen:
                continue
            seen.add(act)
            console.line(indented_line(event))

    try:
        while await run_is_open(client, run_id):
            await show_new()
            await asyncio.sleep(interval_s)
    except RunNotFound as exc:
        abort(f"{exc} (on {address})", USAGE)
    await show_new()
    fetched = await fetch_run(client, run_id)
    return fetched.result, fetched.flow


def listen(
    run_id: Annotated[str, typer.Argument(help="The workflow id `ca trigger` printed.")],
    address: Address = None,
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Follow a durable run until it closes, record it in the trace store; exit 1 unless it ends ok."""
    from composable_agents.cli.common import load
    from composable_agents.cli.runs import record_run

    # The project's modules register the pures the run's artifact pins (to rebuild its projection).
    project = load(path, modules)
    target = resolve_address(address, project.config.root)
    result, flow = asyncio.run(follow_run(target, run_id))
    print_result(result)
    record_run(project.config, result, flow or run_id)
    if result.status != "ok":
        abort("", FAILED)
