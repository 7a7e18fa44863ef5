"""What the durable verbs share: an ``llm`` from ``--fake``/``--live``, the worker loop, signal-driven shutdown.

Only the verbs import this module, and it imports ``temporalio`` (through
``composable_agents.temporal``) only inside its functions.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

from composable_agents.cli.console import console

__all__ = ["llm_for", "serve_worker", "worker_deployments"]


def llm_for(fakes: dict[str, Any], live: bool) -> Callable[..., Any] | None:
    """The worker's ``llm``: ``--fake`` functions by reasoner name, falling back to ``models.router()`` with ``--live``."""
    from composable_agents.cli.runs import live_llm

    router = live_llm() if live else None
    if not fakes:
        return router

    async def call(reasoner: Any, value: Any) -> Any:
        name = getattr(reasoner, "name", reasoner)
        fn = fakes.get(name)
        if fn is None:
            if router is None:
                msg = f"no --fake for reasoner {name!r} on this worker (and no --live)"
                raise LookupError(msg)
            out = router(reasoner, value)
        else:
            out = fn(value)
        if asyncio.iscoroutine(out):
            out = await out
        return out

    return call


def worker_deployments(project: Any, entries: list[Any]) -> list[Any]:
    """Deployments of ``entries`` a worker may host (those passing a strict deploy; others are warned about)."""
    hosted = []
    for entry in entries:
        dep = project.deployment(entry)
        if dep.blocking:
            console.warn(f"{entry.name} has blocking diagnostics; its tools are served but it is not hosted")
            continue
        hosted.append(dep)
    return hosted


async def serve_worker(
    client: Any, project: Any, deployments: list[Any], *, llm: Any, task_queue: str | None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run a worker for the project until SIGINT or SIGTERM, then shut it down cleanly."""
    from composable_agents.temporal.worker import build_worker

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    worker = build_worker(
        client, task_queue=task_queue, llm=llm, deployments=deployments, modules=project.config.modules
    )
    async with worker:
        if on_ready is not None:
            on_ready()
        await stop.wait()
