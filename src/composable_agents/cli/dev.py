"""``ca dev``: an embedded Temporal dev server plus a worker for the selection, until Ctrl-C.

Prints the server's address and writes it to ``.ca/dev.json`` (with both
PIDs), which the other durable verbs read when no ``--address`` is given.
On SIGINT or SIGTERM it stops its own worker, then its own server (by the
PID it started), and removes ``dev.json``.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated

import typer

from composable_agents.cli.common import (
    Exclude,
    Modules,
    PathOpt,
    Selectors,
    TaskQueue,
    WorkerFakes,
    WorkerLive,
    connect,
    load,
    select_entries,
)
from composable_agents.cli.console import console

__all__ = ["dev"]


def dev(
    selectors: Selectors = None,
    exclude: Exclude = None,
    port: Annotated[int | None, typer.Option("--port", help="The server's port (default: a free one).")] = None,
    db: Annotated[Path | None, typer.Option("--db", help="A SQLite file: workflows survive restarts.")] = None,
    fake: WorkerFakes = None,
    live: WorkerLive = False,
    task_queue: TaskQueue = None,
    modules: Modules = None,
    path: PathOpt = None,
) -> None:
    """Start a Temporal dev server and a worker for the selection; Ctrl-C stops both."""
    from composable_agents.cli.durable import llm_for, serve_worker, worker_deployments
    from composable_agents.cli.runs import fakes_from
    from composable_agents.temporal.devserver import DevServer

    project = load(path, modules)
    deployments = worker_deployments(project, select_entries(project, selectors, exclude, None))
    llm = llm_for(fakes_from(fake), live)
    state = project.config.state_dir
    state.mkdir(parents=True, exist_ok=True)
    info_path = state / "dev.json"
    server = DevServer(port=port, db_filename=db)
    server.start()
    try:
        info = {"address": server.target_host, "server_pid": server.pid, "pid": os.getpid(), "namespace": "default"}

        def ready() -> None:
            info_path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
            console.line(f"dev server at {server.target_host} (pid {server.pid})")
            console.line(f"worker hosting {len(deployments)} deployment(s); Ctrl-C stops both")

        async def main() -> None:
            client = await connect(server.target_host)
            await serve_worker(client, project, deployments, llm=llm, task_queue=task_queue, on_ready=ready)

        asyncio.run(main())
    finally:
        server.stop()
        info_path.unlink(missing_ok=True)
        console.line("stopped the worker and the dev server")
