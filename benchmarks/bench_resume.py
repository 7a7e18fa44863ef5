"""Durability figures: time to resume after a worker kill, and session turn latency.

    python benchmarks/bench_resume.py [--trials 5] [--turns 40]

Starts a dev server on a free port and worker *processes*
(``tests/temporal/durability/worker_main.py``, sticky-queue timeout 1 s).

- **Resume after a kill**: a run's first tool (``dur_apply``, 0.3 s of work)
  is running when the worker is SIGKILLed; a new worker starts at once. The
  figure is kill → run completed, for (a) a tool whose start-to-close timeout
  is 2 s and (b) a tool with a 120 s timeout run with ``heartbeat_s=1``.
- **Session turn latency**: a durable ``scan`` session (a pure turn, no
  tools); ``send`` (the Update round trip, acked) and send → its ``emit``
  event read by the client (query polling every 10 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "temporal" / "durability"))
sys.path.insert(0, str(ROOT / "src"))


async def resume_once(
    server: object, store: str, flow: object, heartbeat_s: float | None
) -> tuple[float, float, float]:
    import durable_app
    from workers import WorkerProcess

    from composable_agents import deploy
    from composable_agents.temporal.client import start_deployment

    client = await server.client()  # type: ignore[attr-defined]
    queue = f"bench-resume-{uuid.uuid4().hex[:6]}"
    first = WorkerProcess(server.target_host, queue, store)  # type: ignore[attr-defined]
    before = durable_app.rows(store, "SELECT count(*) FROM attempts")[0][0]
    kwargs = {"heartbeat_s": heartbeat_s} if heartbeat_s else {}
    handle = await start_deployment(deploy(flow), client, input="b", task_queue=queue, **kwargs)
    while durable_app.rows(store, "SELECT count(*) FROM attempts")[0][0] == before:
        await asyncio.sleep(0.005)
    first.kill()
    killed = time.monotonic()
    killed_wall = time.time()
    second = WorkerProcess(server.target_host, queue, store)  # type: ignore[attr-defined]
    try:
        result = await handle.result()
        assert result.status == "ok", result.detail
        done = time.monotonic() - killed
        retried = durable_app.rows(store, f"SELECT min(at) FROM attempts WHERE at > {killed_wall}")[0][0]
        return done, second.ready_s, retried - killed_wall
    finally:
        second.stop()


async def session_latency(server: object, store: str, turns: int) -> tuple[list[float], list[float]]:
    import durable_app
    from workers import WorkerProcess

    from composable_agents import Agent

    client = await server.client()  # type: ignore[attr-defined]
    queue = f"bench-session-{uuid.uuid4().hex[:6]}"
    worker = WorkerProcess(server.target_host, queue, store)  # type: ignore[attr-defined]
    try:
        handle = await Agent("bench.chat").open(session=durable_app.CHAT, backend="temporal", client=client,
                                                task_queue=queue, continue_as_new_after=1000)
        handle.poll_s = 0.01
        acks: list[float] = []
        emits: list[float] = []
        cursor = 0
        for i in range(turns + 3):
            t0 = time.monotonic()
            await handle.send(f"m{i}", idempotency_key=f"k{i}")
            t1 = time.monotonic()
            async for event in handle.events(after=cursor):
                cursor = event.seq
                if event.is_emit:
                    break
            t2 = time.monotonic()
            if i >= 3:  # warm-up turns excluded
                acks.append(t1 - t0)
                emits.append(t2 - t0)
        await handle.close()
        return acks, emits
    finally:
        worker.stop()


def _fmt(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, int(0.95 * len(xs)))]
    return f"median {statistics.median(xs) * 1000:.0f} ms, min {xs[0] * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--turns", type=int, default=40)
    args = parser.parse_args()

    import durable_app

    from composable_agents.temporal.devserver import DevServer

    tmp = tempfile.mkdtemp()
    store = os.path.join(tmp, "store.sqlite")
    durable_app.init_store(store)
    os.environ["CA_DURABLE_STORE"] = store
    async with DevServer() as server:
        rows = []
        for label, flow, hb in (
            ("start_to_close 2 s", durable_app.APPLY_TWICE, None),
            ("start_to_close 120 s, heartbeat_s=1", durable_app.APPLY_LONG, 1.0),
        ):
            times, ready, retried = [], [], []
            for _ in range(args.trials):
                t, r, a = await resume_once(server, store, flow, hb)
                times.append(t)
                ready.append(r)
                retried.append(a)
            rows.append((label, times, ready, retried))
        acks, emits = await session_latency(server, store, args.turns)
    print(f"resume after SIGKILL (kill -> run completed; new worker started at once; {args.trials} trials)")
    for label, times, ready, retried in rows:
        print(f"  {label}:")
        print(f"    kill -> lost attempt retried: {_fmt(retried)}")
        print(f"    kill -> run completed:        {_fmt(times)}")
        print(f"    new worker start-up:          {_fmt(ready)}")
    print(f"session turns ({args.turns}, pure turn body):")
    print(f"    send acked (Update round trip): {_fmt(acks)}")
    print(f"    send -> its emit read:          {_fmt(emits)}")


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)
