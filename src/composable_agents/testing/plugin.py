"""The pytest plugin of the testing kit (``pytest11`` entry point ``composable_agents``).

Three fixtures, available in every test once the package is installed:

* ``ca_dev_server`` (session scope) — an embedded Temporal dev server on
  127.0.0.1 (:class:`~composable_agents.temporal.devserver.DevServer`),
  stopped by its own PID at the end of the session; ``await
  ca_dev_server.client()`` connects. Skips the test, naming the extra, when
  temporalio or the server binary is missing.
* ``ca_worker`` — a factory: ``async with ca_worker(deployments=[...],
  llm=...) as worker`` runs a worker hosting those deployments on the dev
  server for the block; ``await worker.run(deployment, value)`` runs one
  durably on the worker's task queue. ``llm`` defaults to the test's
  ``fake_llm``.
* ``fake_llm`` — a fresh :class:`~composable_agents.testing.fakes.FakeLLM`
  per test.

A dev server of another scope (one per module, say) is a fixture whose body
is ``yield from started_dev_server()``.

pytest imports this module on every start, in every project that installs
the package, so it imports neither hypothesis nor temporalio: the durable
fixtures import the Temporal layer when first used. Rejected: a
``conftest.py`` users copy (it drifts from the library), and a dev server per
test (seconds each).
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest

from composable_agents.testing.fakes import FakeLLM

__all__ = ["CaWorker", "ca_dev_server", "ca_worker", "fake_llm", "started_dev_server"]

_HINT = "the durable fixtures need the temporal extra: pip install 'composable-agents[temporal]'"


class CaWorker:
    """A running worker from ``ca_worker``: its ``client``, ``task_queue`` and a ``run`` helper."""

    def __init__(self, client: Any, task_queue: str, worker: Any, llm: Any) -> None:
        self.client = client
        self.task_queue = task_queue
        self.worker = worker
        self.llm = llm

    async def run(self, deployment: Any, value: Any = None, **kwargs: Any) -> Any:
        """Run ``deployment`` durably on this worker's task queue and return its ``Result``."""
        kwargs.setdefault("task_queue", self.task_queue)
        return await deployment.run(self.client, input=value, **kwargs)

    async def start(self, deployment: Any, value: Any = None, **kwargs: Any) -> Any:
        """Start ``deployment`` on this worker's task queue; returns the workflow handle."""
        kwargs.setdefault("task_queue", self.task_queue)
        return await deployment.start(self.client, input=value, **kwargs)

    def __repr__(self) -> str:
        return f"<CaWorker task_queue={self.task_queue!r}>"


@pytest.fixture
def fake_llm() -> FakeLLM:
    """A fresh ``FakeLLM`` (the ``LLM`` double): ``fake_llm.script(name, reply_or_fn)``, ``fake_llm.requests``."""
    return FakeLLM()


def started_dev_server() -> Iterator[Any]:
    """The body of a dev-server fixture of any scope: ``yield from started_dev_server()``.

    Skips the test when the ``temporal`` binary is missing, else yields a
    started :class:`~composable_agents.temporal.devserver.DevServer` and stops
    it by its PID when the fixture is torn down. Needs temporalio.
    """
    from composable_agents.temporal.devserver import DevServer, find_temporal_binary

    try:
        find_temporal_binary()
    except ImportError as exc:
        pytest.skip(str(exc))
    server = DevServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ca_dev_server() -> Iterator[Any]:
    """A Temporal dev server for the whole session (``await ca_dev_server.client()``)."""
    if importlib.util.find_spec("temporalio") is None:
        pytest.skip(_HINT)
    yield from started_dev_server()


def _queue(deployments: list[Any]) -> str:
    """The deployments' common task queue (so ``deployment.run(client)`` finds the worker), else the default."""
    from composable_agents.core.policy import DEFAULT_TASK_QUEUE

    queues = {d.policy.task_queue for d in deployments}
    return queues.pop() if len(queues) == 1 else DEFAULT_TASK_QUEUE


@pytest.fixture
def ca_worker(ca_dev_server: Any, fake_llm: FakeLLM) -> Callable[..., AbstractAsyncContextManager[CaWorker]]:
    """A factory: ``async with ca_worker(deployments=[...], llm=...) as worker`` runs a worker for the block."""

    @asynccontextmanager
    async def start(
        deployments: Iterable[Any] = (),
        llm: Any = None,
        *,
        task_queue: str | None = None,
        client: Any = None,
        **build_kwargs: Any,
    ) -> AsyncIterator[CaWorker]:
        from composable_agents.temporal.worker import build_worker

        hosted = list(deployments)
        queue = task_queue or _queue(hosted)
        connected = client if client is not None else await ca_dev_server.client()
        caller = llm if llm is not None else fake_llm
        worker = build_worker(connected, task_queue=queue, llm=caller, deployments=hosted, **build_kwargs)
        async with worker:
            yield CaWorker(connected, queue, worker, caller)

    return start
