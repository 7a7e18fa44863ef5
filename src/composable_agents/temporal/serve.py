"""``python -m composable_agents.temporal.serve``: a worker process configured from the environment.

Environment (all optional):

- ``TEMPORAL_ADDRESS`` (``localhost:7233``), ``TEMPORAL_NAMESPACE`` (``default``);
- ``COMPOSABLE_AGENTS_TASK_QUEUE`` (the default task queue);
- ``COMPOSABLE_AGENTS_MODULES``: comma-separated modules to import (their
  ``@tool``/``@pure``/reasoners register; their tools run in-process);
- ``COMPOSABLE_AGENTS_TOOL_URLS``: a JSON object ``{"tool_key": "https://..."}``;
- ``COMPOSABLE_AGENTS_LLM`` / ``COMPOSABLE_AGENTS_MCP_CALL``: ``module:attribute``
  of the ``llm(reasoner, value)`` / ``mcp_call(server, tool, value, idempotency_key)`` callables;
- ``COMPOSABLE_AGENTS_HEALTH_PORT``: serve ``GET /healthz`` on 127.0.0.1 at this
  port (200 while polling, 503 while draining); unset or ``0`` disables it;
- ``COMPOSABLE_AGENTS_DRAIN_S``: seconds running activities get to finish on
  SIGTERM/SIGINT (default 30) before the worker stops;
- ``COMPOSABLE_AGENTS_STICKY_S``: the sticky-queue schedule-to-start timeout
  (seconds; the SDK default is 10): how long a workflow task cached on this
  worker waits for it before any worker may take it — shorter means faster
  recovery after this worker dies;
- ``COMPOSABLE_AGENTS_MAX_ACTIVITIES``: concurrent activities this worker runs.

The worker hosts ``FlowWorkflow``, ``AgentWorkflow`` and ``SessionWorkflow``
and the two activities.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import signal
import sys
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from composable_agents.core.policy import DEFAULT_TASK_QUEUE

__all__ = ["config_from_env", "main", "serve"]


def _load_attr(spec: str) -> Callable[..., Any]:
    module_name, _, attr = spec.partition(":")
    if not attr:
        msg = f"expected 'module:attribute', got {spec!r}"
        raise ValueError(msg)
    found: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    return found


def config_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The worker settings the environment gives (see the module doc)."""
    env = os.environ if environ is None else environ
    modules = [m.strip() for m in env.get("COMPOSABLE_AGENTS_MODULES", "").split(",") if m.strip()]
    urls = env.get("COMPOSABLE_AGENTS_TOOL_URLS")
    config: dict[str, Any] = {
        "target_host": env.get("TEMPORAL_ADDRESS", "localhost:7233"),
        "namespace": env.get("TEMPORAL_NAMESPACE", "default"),
        "task_queue": env.get("COMPOSABLE_AGENTS_TASK_QUEUE", DEFAULT_TASK_QUEUE),
        "modules": modules,
        "tool_urls": json.loads(urls) if urls else None,
        "llm": _load_attr(env["COMPOSABLE_AGENTS_LLM"]) if env.get("COMPOSABLE_AGENTS_LLM") else None,
        "mcp_call": _load_attr(env["COMPOSABLE_AGENTS_MCP_CALL"]) if env.get("COMPOSABLE_AGENTS_MCP_CALL") else None,
        "health_port": int(env.get("COMPOSABLE_AGENTS_HEALTH_PORT", "0") or 0),
        "drain_s": float(env.get("COMPOSABLE_AGENTS_DRAIN_S", "30")),
    }
    if env.get("COMPOSABLE_AGENTS_STICKY_S"):
        config["sticky_queue_schedule_to_start_timeout"] = timedelta(seconds=float(env["COMPOSABLE_AGENTS_STICKY_S"]))
    if env.get("COMPOSABLE_AGENTS_MAX_ACTIVITIES"):
        config["max_concurrent_activities"] = int(env["COMPOSABLE_AGENTS_MAX_ACTIVITIES"])
    return config


async def _health_server(port: int, state: dict[str, str]) -> asyncio.AbstractServer:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(reader.readline(), 5)
            ok = state["status"] == "serving"
            body = state["status"].encode()
            head = b"HTTP/1.1 200 OK\r\n" if ok else b"HTTP/1.1 503 Service Unavailable\r\n"
            writer.write(head + b"Content-Type: text/plain\r\nContent-Length: " + str(len(body)).encode()
                         + b"\r\nConnection: close\r\n\r\n" + body)
            await writer.drain()
        except (TimeoutError, OSError):  # a probe that hangs up early is not our problem
            return
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", port)


async def serve(**overrides: Any) -> None:
    """Run a worker until SIGTERM/SIGINT, then drain and stop (settings: env, then ``overrides``)."""
    from temporalio.client import Client

    from composable_agents.temporal.worker import build_worker

    config = {**config_from_env(), **overrides}
    health_port = int(config.pop("health_port"))
    drain_s = float(config.pop("drain_s"))
    client = await Client.connect(config.pop("target_host"), namespace=config.pop("namespace"))
    worker = build_worker(client, graceful_shutdown_timeout=timedelta(seconds=drain_s), **config)
    state = {"status": "serving"}
    server = await _health_server(health_port, state) if health_port else None
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
            pass
    running = asyncio.ensure_future(worker.run())
    waiter = asyncio.ensure_future(stop.wait())
    await asyncio.wait({running, waiter}, return_when=asyncio.FIRST_COMPLETED)
    state["status"] = "draining"
    if not running.done():
        await worker.shutdown()
    waiter.cancel()
    try:
        await running
    finally:
        if server is not None:
            server.close()
            await server.wait_closed()


def _usage() -> str:
    """The ``--help`` text: the module doc's environment list, no connection made."""
    doc = (__doc__ or "").strip()
    return "usage: python -m composable_agents.temporal.serve [--help]\n\n" + doc + "\n"


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``python -m composable_agents.temporal.serve``; ``--help``/``-h`` print usage and exit 0."""
    args = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in args):
        sys.stdout.write(_usage())
        sys.stdout.flush()
        return
    if args:
        sys.stderr.write(f"unexpected arguments {args!r}: the worker is configured from the environment\n\n{_usage()}")
        sys.stderr.flush()
        raise SystemExit(2)
    asyncio.run(serve())
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip the SDK runtime's teardown at interpreter exit


if __name__ == "__main__":
    main()
