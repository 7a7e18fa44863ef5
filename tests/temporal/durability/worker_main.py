"""A worker process for the durability tests: ``python worker_main.py TARGET QUEUE``.

Imports :mod:`durable_app` (its tools run in-process), shortens the sticky
queue timeout so a killed worker's workflow tasks move on within a second,
prints ``READY`` once polling, and runs until killed or SIGTERM'd.
"""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


async def main(target: str, queue: str) -> None:
    from temporalio.client import Client

    from composable_agents.temporal.worker import build_worker

    client = await Client.connect(target)
    worker = build_worker(
        client,
        task_queue=queue,
        modules=["durable_app"],
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=1),
        graceful_shutdown_timeout=timedelta(seconds=0),
        max_concurrent_activities=int(os.environ.get("CA_DURABLE_MAX_ACTIVITIES", "100")),
    )
    print("READY", flush=True)
    await worker.run()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2]))
    finally:
        sys.stdout.flush()
        os._exit(0)
