"""``ca worker``: a worker for the selection against a running server (``--address``), until Ctrl-C."""

from __future__ import annotations

import asyncio

from composable_agents.cli.common import (
    Address,
    Exclude,
    Modules,
    PathOpt,
    Selectors,
    TaskQueue,
    WorkerFakes,
    WorkerLive,
    connect,
    load,
    resolve_address,
    select_entries,
)
from composable_agents.cli.console import console

__all__ = ["worker"]


def worker(
    selectors: Selectors = None,
    exclude: Exclude = None,
    address: Address = None,
    fake: WorkerFakes = None,
    live: WorkerLive = False,
    task_queue: TaskQueue = None,
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Run a worker for the project's tools, pures and the selected deployments; Ctrl-C stops it."""
    from composable_agents.cli.durable import llm_for, serve_worker, worker_deployments
    from composable_agents.cli.runs import fakes_from

    project = load(path, modules)
    target = resolve_address(address, project.config.root)
    deployments = worker_deployments(project, select_entries(project, selectors, exclude, None))
    llm = llm_for(fakes_from(fake), live)

    async def main() -> None:
        client = await connect(target)
        await serve_worker(
            client, project, deployments, llm=llm, task_queue=task_queue,
            on_ready=lambda: console.line(f"worker on {target} hosting {len(deployments)} deployment(s)"),
        )

    asyncio.run(main())
    console.line("worker stopped")
