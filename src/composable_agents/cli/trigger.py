"""``ca trigger NAME --input ... [--wait]``: start one entry as a durable run; with ``--wait``, wait for its result.

Prints the workflow id (the run id ``listen``/``gates``/``approve`` take).
With ``--wait`` the result is recorded in the trace store, and a status
other than ``ok`` exits 1.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated, Any

import typer

from composable_agents.cli.common import (
    Address,
    Modules,
    PathOpt,
    connect,
    load,
    parse_input,
    print_result,
    resolve_address,
    strict_deployment,
)
from composable_agents.cli.console import FAILED, abort, console

__all__ = ["trigger", "trigger_entry"]


async def trigger_entry(project: Any, name: str, value: Any, *, address: str, workflow_id: str | None,
                        wait: bool, task_queue: str | None = None) -> tuple[str, Any]:
    """Start ``name`` on the server at ``address``; returns the workflow id and, with ``wait``, the ``Result``."""
    from composable_agents.temporal.client import start_deployment

    dep = strict_deployment(project, name)
    client = await connect(address)
    wid = workflow_id or f"{name}-{uuid.uuid4().hex[:12]}"
    handle = await start_deployment(dep, client, session_id=wid, input=value, task_queue=task_queue)
    if not wait:
        return handle.id, None
    return handle.id, await handle.result()


def trigger(
    name: Annotated[str, typer.Argument(help="The flow or agent to start.")],
    input_text: Annotated[str | None, typer.Option("--input", help="The input: JSON, or @file holding JSON.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the result (exit 1 unless ok).")] = False,
    workflow_id: Annotated[str | None, typer.Option("--id", help="The workflow id (default: NAME-<random>).")] = None,
    task_queue: Annotated[str | None, typer.Option("--task-queue", help="The task queue (default: the deployment's).")] = None,
    address: Address = None,
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Start a durable run on the Temporal server; prints its workflow id."""
    project = load(path, modules)
    value = parse_input(input_text)
    target = resolve_address(address, project.config.root)
    wid, result = asyncio.run(
        trigger_entry(project, name, value, address=target, workflow_id=workflow_id, wait=wait, task_queue=task_queue)
    )
    console.line(f"started {name} as {wid}")
    if result is None:
        return
    from composable_agents.cli.runs import record_run

    print_result(result)
    record_run(project.config, result, name)
    if result.status != "ok":
        abort("", FAILED)
