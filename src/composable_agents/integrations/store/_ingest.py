"""Feed durable runs into a sink out of band: one run (:func:`ingest`) or every run as it closes (:func:`follow`).

A sink is anything with ``put_run(result, *, flow=...)``: a
:class:`~composable_agents.integrations.store.TraceStore`, an
:class:`~composable_agents.integrations.otel.OtelSink`, or your own. Runs
are read from Temporal after they close (see
:mod:`composable_agents.temporal.runs`), so workflows do no projection IO
and a store that is down delays the explanation, never the run. Sinks that
take a ``parent`` (the OTel sink) get the trace carrier the client's
``TracingInterceptor`` sent, so exported spans join the client's trace.

Rejected alternative: a push from the worker after each workflow task. It
would need worker-side hooks per backend and could not see runs that other
workers executed; the visibility listing sees them all.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from composable_agents.core.pures import Registry
from composable_agents.errors import ComposableAgentsError

if TYPE_CHECKING:
    from composable_agents.compiler.deploy import Deployment
    from composable_agents.execution.result import Result

__all__ = ["RunSink", "follow", "ingest"]


class RunSink(Protocol):
    """Where ingested runs go: ``put_run(result, *, flow=None)``."""

    def put_run(self, result: Any, *, flow: str | None = None) -> Any:
        """Store or export one run."""


def _takes_parent(sink: Any) -> bool:
    try:
        return "parent" in inspect.signature(sink.put_run).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without signatures
        return False


def _check_sink(sink: Any) -> None:
    if not callable(getattr(sink, "put_run", None)):
        msg = f"`sink` must have a put_run(result, *, flow=None) method (a TraceStore or an OtelSink; got {type(sink).__name__})"
        raise ComposableAgentsError(msg)


async def ingest(
    client: Any,
    workflow_id: str,
    sink: RunSink,
    *,
    run_id: str | None = None,
    deployments: Sequence[Deployment[Any, Any]] = (),
    registry: Registry | None = None,
) -> Result[Any]:
    """Read the finished durable run ``workflow_id`` (its result, or its failure's projection) into ``sink``.

    Returns the rebuilt ``Result``. The artifact carried in the run's input
    is compiled against ``registry`` (the registered pures by default) or a
    matching deployment in ``deployments``. Ingesting a run twice stores it
    once (the store is idempotent by run id and activation).
    """
    from composable_agents.temporal.runs import fetch_run

    _check_sink(sink)
    fetched = await fetch_run(client, workflow_id, run_id=run_id, deployments=deployments, registry=registry)
    if _takes_parent(sink):
        sink.put_run(fetched.result, flow=fetched.flow, parent=fetched.carrier)  # type: ignore[call-arg]
    else:
        sink.put_run(fetched.result, flow=fetched.flow)
    return fetched.result


async def follow(
    client: Any,
    sink: RunSink,
    *,
    since: datetime | None = None,
    poll_s: float = 1.0,
    limit: int | None = None,
    stop: asyncio.Event | None = None,
    deployments: Sequence[Deployment[Any, Any]] = (),
    registry: Registry | None = None,
) -> int:
    """Ingest every flow run as it closes, until ``stop`` is set, ``limit`` runs were ingested, or cancelled.

    Polls the visibility store every ``poll_s`` seconds for runs closed since
    ``since`` (default: now, so only runs closing from here on); each closed
    run is ingested once per follower. Returns how many runs it ingested.
    A run that cannot be read here (say, its pures are not registered in
    this process) is skipped once; it never stops the follower.
    """
    from composable_agents.temporal.runs import RunNotFinished, closed_runs

    _check_sink(sink)
    if poll_s <= 0:
        msg = f"`poll_s` must be positive (got {poll_s!r})"
        raise ComposableAgentsError(msg)
    mark = since or datetime.now(UTC)
    seen: set[tuple[str, str | None]] = set()
    done = 0
    while not (stop is not None and stop.is_set()) and (limit is None or done < limit):
        # Visibility is eventually consistent and close times are coarse: look back a little.
        for run in await closed_runs(client, since=mark - timedelta(seconds=2)):
            key = (run.workflow_id, run.run_id)
            if key in seen:
                continue
            try:
                await ingest(client, run.workflow_id, sink, run_id=run.run_id, deployments=deployments, registry=registry)
            except RunNotFinished:
                continue
            except ComposableAgentsError:
                seen.add(key)  # unreadable here (unknown pures, a foreign workflow): do not retry it forever
                continue
            seen.add(key)
            done += 1
            if limit is not None and done >= limit:
                return done
        if stop is not None:
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll_s)
            except TimeoutError:
                pass
        else:
            await asyncio.sleep(poll_s)
    return done
